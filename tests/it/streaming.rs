//! 1 GiB through the full stack (auth, retry, the curl log at DEBUG, timings)
//! against FakeCloud's object store: uploads from a file and from a one-shot
//! stream, a download to a file, checksums compared, and a 401 in the middle
//! of an upload.

use std::path::Path;
use std::time::Duration;

use apiclient_errors::Error;
use apiclient_fake::{FakeCloud, Fault};
use apiclient_http::{ApiRequest, Body, HttpClient};
use bytes::Bytes;
use http::Method;
use sha2::{Digest, Sha256};

use crate::support::{Capture, builder};

const GIB: u64 = 1024 * 1024 * 1024;
const BLOCK: usize = 1024 * 1024;

/// Block `i` of the test data: 1 MiB of pseudo-random bytes, stamped with
/// its index so a misplaced block changes the checksum.
fn block(seed: &[u8], i: u64) -> Bytes {
    let mut b = seed.to_vec();
    b[..8].copy_from_slice(&i.to_le_bytes());
    Bytes::from(b)
}

fn seed() -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    (0..BLOCK).map(|_| rng.u8(..)).collect()
}

/// A one-shot stream of `size` bytes of test data.
fn data_stream(size: u64) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let seed = seed();
    let blocks = size / BLOCK as u64;
    futures_util::stream::iter((0..blocks).map(move |i| Ok(block(&seed, i))))
}

async fn write_data(path: &Path, size: u64) -> String {
    use tokio::io::AsyncWriteExt;
    let seed = seed();
    let mut f = tokio::fs::File::create(path).await.unwrap();
    let mut sha = Sha256::new();
    for i in 0..size / BLOCK as u64 {
        let b = block(&seed, i);
        sha.update(&b);
        f.write_all(&b).await.unwrap();
    }
    f.flush().await.unwrap();
    hex::encode(sha.finalize())
}

fn sha256_file(path: &Path) -> String {
    use std::io::Read;
    let mut f = std::fs::File::open(path).unwrap();
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; BLOCK];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    hex::encode(sha.finalize())
}

/// The full stack with the curl log at DEBUG and timings on, logging into a
/// buffer (the log must cope with streams, not print them).
fn client(cloud: &FakeCloud) -> HttpClient {
    builder(cloud)
        .timings(true)
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap()
}

async fn put(http: &HttpClient, path: &str, body: Body) -> Result<String, Error> {
    let swift = http.service_client("object-store");
    let resp = swift
        .request(ApiRequest::new(Method::PUT, path).body(body))
        .await?;
    Ok(resp.headers()["etag"].to_str().unwrap().to_string())
}

/// On a current-thread runtime with every event at DEBUG captured (as the
/// reliability suite does), so the curl log runs at DEBUG for the whole test.
#[test]
fn a_gibibyte_up_and_down_through_the_full_stack() {
    let _asked = crate::support::every_dispatcher_asked();
    let capture = Capture::default();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(sub);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(gibibyte(capture));
}

async fn gibibyte(capture: Capture) {
    let cloud = FakeCloud::start().await.unwrap();
    let http = client(&cloud);
    let swift = http.service_client("object-store");
    swift.put("/big", &serde_json::json!({})).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.bin");
    let sum = write_data(&source, GIB).await;

    // from a file (re-openable), with a 401 after 64 MiB: one re-authentication
    // and a replay from the start of the file
    let auths = cloud.count("POST /v3/auth/tokens");
    cloud.set_fault_prefix("/v1");
    cloud.inject(Fault::UnauthorizedAfter(64 * 1024 * 1024), 1);
    let etag_file = put(
        &http,
        "/big/from-file",
        Body::from_file(&source).await.unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        cloud.count("POST /v3/auth/tokens"),
        auths + 1,
        "one re-auth"
    );

    // from a one-shot stream with a known length (Content-Length)
    let etag_stream = put(
        &http,
        "/big/from-stream",
        Body::from_stream(data_stream(GIB), Some(GIB)),
    )
    .await
    .unwrap();
    assert_eq!(etag_file, etag_stream, "the same bytes (MD5) either way");

    // a one-shot stream of unknown length (chunked) meeting a 401 mid-way:
    // one re-authentication, then a clear error; nothing is replayed
    let auths = cloud.count("POST /v3/auth/tokens");
    cloud.inject(Fault::UnauthorizedAfter(16 * 1024 * 1024), 1);
    let err = put(
        &http,
        "/big/once",
        Body::from_stream(data_stream(GIB), None),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::BodyNotReplayable { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot be replayed"), "{err}");
    assert_eq!(cloud.count("POST /v3/auth/tokens"), auths + 1);
    assert_eq!(cloud.count("PUT /v1/{account}/big/once"), 1, "sent once");

    // download to a file, streamed
    let resp = swift
        .request_streamed(ApiRequest::get("/big/from-file"))
        .await
        .unwrap();
    assert_eq!(resp.content_length(), Some(GIB));
    let target = dir.path().join("download.bin");
    let mut out = tokio::fs::File::create(&target).await.unwrap();
    let n = resp.copy_to(&mut out).await.unwrap();
    drop(out);
    assert_eq!(n, GIB);
    assert_eq!(sha256_file(&target), sum, "the download equals the source");

    // a Range GET
    let part = swift
        .request(ApiRequest::get("/big/from-stream").header("Range", "bytes=1048576-1048591"))
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.body(), &block(&seed(), 1).slice(..16));

    // the log and the timings coped: no body bytes, the sizes and both times
    let log = capture.text();
    assert!(
        log.contains("<streamed body: 1073741824 bytes>"),
        "the upload is logged by size: {}",
        log.lines()
            .filter(|l| l.contains("PUT"))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        log.contains("-d '<streamed body>'"),
        "the chunked upload too"
    );
    assert!(
        log.len() < 10 * 1024 * 1024,
        "no body in the log: {} bytes",
        log.len()
    );
    let timings = http.get_timings();
    let download = timings
        .iter()
        .find(|t| t.method == "GET" && t.url.ends_with("/big/from-file"))
        .unwrap();
    assert!(download.elapsed >= download.to_headers);
    assert_eq!(download.status, Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_basics_etag_check_listing_and_idle_timeout() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = client(&cloud);
    let swift = http.service_client("object-store");
    swift.put("/c", &serde_json::json!({})).await.unwrap();
    for name in ["a", "b", "c", "d"] {
        put(
            &http,
            &format!("/c/{name}"),
            Body::from(name.as_bytes().to_vec()),
        )
        .await
        .unwrap();
    }
    // a wrong ETag is refused, nothing stored
    let err = http
        .service_client("object-store")
        .request(
            ApiRequest::new(Method::PUT, "/c/bad")
                .header("ETag", "00000000000000000000000000000000")
                .body("payload"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    let page: serde_json::Value = swift
        .get("/c?limit=2&marker=a")
        .await
        .unwrap()
        .json()
        .unwrap();
    let names: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "c"]);
    let head = swift.head("/c/a").await.unwrap();
    assert_eq!(head.headers()["etag"], hex::encode(md5_of(b"a")));
    swift.delete("/c/a").await.unwrap();
    assert!(swift.get("/c/a").await.unwrap_err().is_not_found());

    // a streamed download that stalls meets its idle timeout
    cloud.set_fault_prefix("/v2.1");
    cloud.inject(Fault::StalledBody(Duration::from_secs(30)), 1);
    let resp = http
        .client_request_streamed(
            &http.service_client("compute"),
            ApiRequest::get("/servers"),
            Duration::from_millis(300),
        )
        .await
        .unwrap();
    let err = resp.copy_to(&mut tokio::io::sink()).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_counts_from_the_last_chunk_not_from_the_start() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = client(&cloud);
    let compute = http.service_client("compute");
    let whole = compute.get("/servers").await.unwrap().body().len() as u64;
    // 30 pieces 100 ms apart: 3 s in all, past the 2 s idle timeout, but
    // never 2 s without data
    cloud.set_fault_prefix("/v2.1");
    cloud.inject(
        Fault::SlowDrip {
            chunks: 30,
            interval: Duration::from_millis(100),
        },
        1,
    );
    let t0 = std::time::Instant::now();
    let resp = http
        .client_request_streamed(
            &compute,
            ApiRequest::get("/servers"),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    let n = resp.copy_to(&mut tokio::io::sink()).await.unwrap();
    assert_eq!(n, whole, "the whole body, however slowly");
    assert!(
        t0.elapsed() >= Duration::from_secs(2),
        "it did drip past the timeout"
    );
}

fn md5_of(b: &[u8]) -> Vec<u8> {
    use md5::Digest as _;
    md5::Md5::digest(b).to_vec()
}
