//! Mounted services: a mount of a built-in type takes its place (one
//! catalog entry, the built-in's paths gone until unmounted); a streaming
//! mount gets the request body as it arrives and streams its answer; the
//! token, faults and counters (by pattern too) apply to mounts.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_errors::BoxError;
use apiclient_fake::{FakeCloud, Fault, MountBody, TestResponse};
use apiclient_http::{ApiRequest, Body, HttpClient};
use bytes::Bytes;
use common::{eventually, raw, token};
use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use serde_json::{Value, json};

/// The catalog of the client's token: (type, name, public URL) per service.
async fn catalog(http: &HttpClient) -> Vec<(String, String, String)> {
    let access = http.access().await.unwrap();
    let body: Value = serde_json::from_slice(access.raw_body().unwrap()).unwrap();
    body["token"]["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let url = s["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["interface"] == "public")
                .unwrap()["url"]
                .as_str()
                .unwrap()
                .to_string();
            (
                s["type"].as_str().unwrap().to_string(),
                s["name"].as_str().unwrap().to_string(),
                url,
            )
        })
        .collect()
}

/// A mount of `image` (or `block-storage`) is the one entry of its type,
/// at `/svc/<type>`; the built-in's paths answer 404 while it is mounted;
/// unmounted, the built-in is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mount_of_a_builtin_type_takes_its_place() {
    let cloud = FakeCloud::start().await.unwrap();
    cloud.mount("image", |req| {
        TestResponse::json(200, &json!({"images": [], "mounted": req.path}))
    });
    cloud.mount("block-storage", |_| TestResponse::new(204));
    let http = cloud.http_client().unwrap();
    let cat = catalog(&http).await;
    let of = |t: &str| cat.iter().filter(|s| s.0 == t).cloned().collect::<Vec<_>>();
    assert_eq!(
        of("image"),
        [(
            "image".to_string(),
            "image".to_string(),
            format!("{}/svc/image", cloud.url())
        )]
    );
    assert_eq!(of("block-storage").len(), 1);
    assert_eq!(
        of("block-storage")[0].2,
        format!("{}/svc/block-storage", cloud.url())
    );
    assert_eq!(of("compute").len(), 1, "the others stay");

    let image = http.service_client("image");
    let v: Value = image.get("/v2/images").await.unwrap().json().unwrap();
    assert_eq!(v["mounted"], "/v2/images");
    let tok = token(&http).await;
    for path in [
        "/image/v2/images",
        "/image/v2/images/img-000000/file",
        "/volume/",
    ] {
        let r = raw(&cloud, "GET", path, &[("X-Auth-Token", &tok)], b"").await;
        assert_eq!(r.status, 404, "{path} is not served while mounted");
    }

    assert!(cloud.unmount("image"));
    assert!(!cloud.unmount("image"));
    let fresh = cloud.http_client().unwrap();
    let cat = catalog(&fresh).await;
    let images: Vec<_> = cat.iter().filter(|s| s.0 == "image").collect();
    assert_eq!(images.len(), 1);
    assert_eq!(
        (images[0].1.as_str(), images[0].2.clone()),
        ("glance", format!("{}/image", cloud.url()))
    );
    let v: Value = fresh
        .service_client("image")
        .get("/v2/images")
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        v["images"].as_array().unwrap().len(),
        5,
        "the built-in again"
    );
}

/// What a streaming mount saw of an upload.
#[derive(Default)]
struct Seen {
    bytes: AtomicU64,
    chunks: AtomicUsize,
    largest: AtomicUsize,
    sum: AtomicU64,
    requests: Mutex<Vec<String>>,
}

/// A mount that reads the upload chunk by chunk, noting what it saw as it
/// goes, and answers `<bytes> <sum of the bytes>`.
fn counting_mount(
    seen: Arc<Seen>,
) -> impl tower::Service<
    http::Request<MountBody>,
    Response = http::Response<MountBody>,
    Error = BoxError,
    Future: Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |req: http::Request<MountBody>| {
        let seen = seen.clone();
        async move {
            seen.requests.lock().unwrap().push(req.uri().to_string());
            let mut frames = req.into_body().into_data_stream();
            let mut sum = 0u64;
            while let Some(chunk) = frames.try_next().await? {
                sum = chunk.iter().fold(sum, |s, b| s.wrapping_add(u64::from(*b)));
                seen.sum.store(sum, Ordering::SeqCst);
                seen.chunks.fetch_add(1, Ordering::SeqCst);
                seen.largest.fetch_max(chunk.len(), Ordering::SeqCst);
                seen.bytes.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            let n = seen.bytes.load(Ordering::SeqCst);
            Ok::<_, BoxError>(http::Response::new(MountBody::full(format!("{n} {sum}"))))
        }
    })
}

/// The byte at `i` of the test data.
fn byte(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// `len` bytes made 64 KiB at a time as they are sent (never held whole by
/// the client either); after the first `gate_at` bytes, nothing more until
/// `go` fires.
fn generated(len: u64, gate_at: u64, go: tokio::sync::oneshot::Receiver<()>) -> Body {
    const CHUNK: u64 = 64 * 1024;
    let stream = futures_util::stream::unfold((0u64, Some(go)), move |(at, mut go)| async move {
        if at >= len {
            return None;
        }
        if at >= gate_at
            && let Some(go) = go.take()
        {
            let _ = go.await;
        }
        let end = (at + CHUNK).min(len);
        let chunk: Vec<u8> = (at..end).map(byte).collect();
        Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), (end, go)))
    });
    Body::from_stream(stream, Some(len))
}

/// A 32 MiB upload through a streaming mount: the service sees its first
/// MiB while the client still holds back the rest (so the fake passed the
/// body on as it came, not once whole), then every byte, in many chunks
/// none larger than a few hundred KiB; the path is relative to the mount,
/// the query kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_mount_sees_the_upload_as_it_arrives() {
    const LEN: u64 = 32 * 1024 * 1024;
    const GATE: u64 = 1024 * 1024;
    let cloud = FakeCloud::start().await.unwrap();
    let seen = Arc::new(Seen::default());
    cloud.mount_service("blobs", counting_mount(seen.clone()));
    let blobs = cloud.http_client().unwrap().service_client("blobs");
    assert_eq!(
        blobs.endpoint().await.unwrap(),
        format!("{}/svc/blobs", cloud.url())
    );

    let (go, wait) = tokio::sync::oneshot::channel();
    let upload = {
        let blobs = blobs.clone();
        tokio::spawn(async move {
            blobs
                .request(ApiRequest::put("/b/1?part=x").body(generated(LEN, GATE, wait)))
                .await
        })
    };
    eventually(
        "the service sees the first MiB before the rest is sent",
        Duration::from_secs(60),
        || {
            let seen = seen.clone();
            async move { seen.bytes.load(Ordering::SeqCst) >= GATE }
        },
    )
    .await;
    assert!(
        seen.bytes.load(Ordering::SeqCst) < LEN,
        "the rest is still held back"
    );
    go.send(()).unwrap();
    let resp = upload.await.unwrap().unwrap();
    let want_sum = (0..LEN).fold(0u64, |s, i| s.wrapping_add(u64::from(byte(i))));
    assert_eq!(resp.text(), format!("{LEN} {want_sum}"), "every byte, once");
    let chunks = seen.chunks.load(Ordering::SeqCst);
    let largest = seen.largest.load(Ordering::SeqCst);
    assert!(chunks >= 64, "many chunks: {chunks}");
    assert!(
        largest <= 4 * 1024 * 1024,
        "no chunk near the whole: {largest}"
    );
    assert_eq!(*seen.requests.lock().unwrap(), ["/b/1?part=x"]);
    assert_eq!(cloud.count_pattern("PUT /svc/blobs/b/{id}"), 1);
    assert_eq!(cloud.service_count("blobs", "PUT /b/{id}"), 1);
    assert_eq!(cloud.service_count("blobs", "/b/{id}"), 1, "any method");
    assert_eq!(cloud.count_pattern("GET /svc/blobs/b/{id}"), 0);
}

/// A streaming mount's answer streams too: 32 MiB made as they are sent,
/// read by the client as a stream, in pieces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_mount_streams_its_answer() {
    const LEN: u64 = 32 * 1024 * 1024;
    let cloud = FakeCloud::start().await.unwrap();
    cloud.mount_service(
        "blobs",
        tower::service_fn(|_req: http::Request<MountBody>| async move {
            let chunks = futures_util::stream::iter(0..LEN / (256 * 1024)).map(|i| {
                let start = i * 256 * 1024;
                Ok::<_, std::io::Error>(Bytes::from(
                    (start..start + 256 * 1024).map(byte).collect::<Vec<_>>(),
                ))
            });
            Ok::<_, BoxError>(http::Response::new(MountBody::from_stream(chunks)))
        }),
    );
    let blobs = cloud.http_client().unwrap().service_client("blobs");
    let resp = blobs
        .request_streamed(ApiRequest::get("/b/big"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), None, "chunked: made as it goes");
    let (mut n, mut pieces, mut ok) = (0u64, 0usize, true);
    let mut stream = std::pin::pin!(resp.into_stream());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        ok &= chunk
            .iter()
            .enumerate()
            .all(|(j, b)| *b == byte(n + j as u64));
        n += chunk.len() as u64;
        pieces += 1;
    }
    assert_eq!(n, LEN);
    assert!(ok, "the bytes as made");
    assert!(pieces > 1, "{pieces}");
}

/// No token, no call of the service (Keystone's 401); faults apply to the
/// mount's paths (a 503, which the client retries); a failing service is
/// a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_mount_is_behind_the_token_faults_and_counters() {
    let cloud = FakeCloud::start().await.unwrap();
    let seen = Arc::new(Seen::default());
    cloud.mount_service("blobs", counting_mount(seen.clone()));
    let r = raw(
        &cloud,
        "PUT",
        "/svc/blobs/b/1",
        &[("X-Auth-Token", "nope")],
        b"abc",
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], 401);
    assert!(seen.requests.lock().unwrap().is_empty(), "not called");

    let blobs = cloud.http_client().unwrap().service_client("blobs");
    cloud.set_fault_prefix("/svc/blobs");
    cloud.inject(Fault::ServiceUnavailable, 1);
    let resp = blobs.get("/b/2").await.unwrap();
    assert_eq!(resp.text(), "0 0");
    assert_eq!(
        cloud.count("GET /svc/blobs/b/2"),
        2,
        "the 503, then the retry"
    );
    assert_eq!(
        seen.requests.lock().unwrap().len(),
        1,
        "the service saw one"
    );

    cloud.mount_service(
        "broken",
        tower::service_fn(|_req: http::Request<MountBody>| async move {
            Err::<http::Response<MountBody>, BoxError>("it broke".into())
        }),
    );
    let err = cloud
        .http_client()
        .unwrap()
        .service_client("broken")
        .get("/x")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    let echoed = MountBody::full("ok").collect().await.unwrap().to_bytes();
    assert_eq!(echoed, "ok");
}

/// `count_pattern` and `service_count` on the built-in services: the
/// same requests by the requested path and relative to the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_routes_are_counted_by_pattern() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = cloud.http_client().unwrap();
    let image = http.service_client("image");
    for id in ["img-000000", "img-000001"] {
        image.get(&format!("/v2/images/{id}")).await.unwrap();
    }
    let volumes = http.service_client("block-storage");
    volumes.get("/volumes").await.unwrap();
    assert_eq!(cloud.count_pattern("GET /image/v2/images/{id}"), 2);
    assert_eq!(cloud.count_pattern("GET /image/v2/images/img-000001"), 1);
    assert_eq!(cloud.service_count("image", "GET /v2/images/{id}"), 2);
    assert_eq!(cloud.service_count("block-storage", "GET /volumes"), 1);
    assert_eq!(cloud.count("GET /image/v2/images/{id}"), 2);
    cloud.reset_counts();
    assert_eq!(cloud.count_pattern("GET /image/v2/images/{id}"), 0);
    assert_eq!(cloud.service_count("nothing", "GET /x"), 0);
}
