//! Early answers from the real services (`cargo xtask swift start`, `cargo
//! xtask glance start`): Glance's 409 to data sent to an active image
//! (gunicorn reads 64 KiB of the body, answers, closes) and Swift's 404 to an
//! object PUT into a missing container (answered before the body is read),
//! many times over with several uploads at once: every one ends in its
//! answer, never in "connection closed", and the client stops sending once
//! answered. Without the services the tests say so and pass; under CI they
//! must run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use apiclient_http::{ApiRequest, Body, ServiceClient};
use bytes::Bytes;

use crate::support::{real_demo, real_service};

const MIB: u64 = 1024 * 1024;

/// A re-openable body of `size` zero bytes whose largest count of bytes
/// handed to the connection (over every send) lands in `sent`.
fn zeros(size: u64, sent: Arc<AtomicU64>) -> Body {
    let chunk = Bytes::from(vec![0u8; 256 * 1024]);
    Body::reopenable(Some(size), move || {
        let chunk = chunk.clone();
        futures_util::stream::iter(
            (0..size.div_ceil(chunk.len() as u64))
                .map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        )
    })
    .with_progress(move |p| {
        sent.fetch_max(p.done(), Ordering::SeqCst);
    })
}

/// `runs` uploads, `parallel` at a time, each expected to end in `status`.
async fn many(
    svc: &ServiceClient,
    path: &str,
    status: u16,
    size: u64,
    runs: usize,
    parallel: usize,
) -> u64 {
    let sent = Arc::new(AtomicU64::new(0));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let (svc, path, sent, next) = (svc.clone(), path.to_string(), sent.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < runs {
                let err = svc
                    .request(
                        ApiRequest::put(path.clone())
                            .header("Content-Type", "application/octet-stream")
                            .body(zeros(size, sent.clone())),
                    )
                    .await
                    .expect_err("an error status");
                assert_eq!(err.status(), Some(status), "{err} ({err:?})");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    sent.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glance_409_to_a_large_upload_always_reaches_the_caller() {
    if !real_service(9292, "glance") {
        return;
    }
    let http = real_demo();
    let images = http.service_client("image");
    let name = format!("early-{}", std::process::id());
    let image: serde_json::Value = images
        .post(
            "/v2/images",
            &serde_json::json!({"name": name, "disk_format": "raw", "container_format": "bare"}),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    let id = image["id"].as_str().unwrap().to_string();
    let file = format!("/v2/images/{id}/file");
    images
        .request(
            ApiRequest::put(file.clone())
                .header("Content-Type", "application/octet-stream")
                .body(vec![1u8; 4096]),
        )
        .await
        .unwrap();
    // the image is active: data for it is a 409, answered before the body is read
    let most = many(&images, &file, 409, 64 * MIB, 24, 4).await;
    images.delete(&format!("/v2/images/{id}")).await.unwrap();
    assert!(most < 64 * MIB, "a whole body was sent after the answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swift_404_to_a_large_upload_stops_the_upload() {
    if !real_service(8080, "swift") {
        return;
    }
    let http = real_demo();
    let swift = http.service_client("object-store");
    let container = format!("missing-{}-{}", std::process::id(), fastrand_suffix());
    let size = 1024 * MIB;
    let most = many(&swift, &format!("/{container}/obj"), 404, size, 12, 3).await;
    // Swift answers before reading and then reads on (to discard the
    // body); the client stopped once it had the answer
    assert!(
        most < size / 2,
        "the client sent {} MiB after a 404",
        most / MIB
    );
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
}
