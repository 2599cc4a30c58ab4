//! Streamed transfers: metadata on a streamed answer, digests checked as the
//! body streams, progress both ways, and files written only when whole.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_errors::Error;
use apiclient_fake::{FakeCloud, RawServer};
use apiclient_http::transfer::{DigestAlgorithm, Hasher, Progress};
use apiclient_http::{ApiRequest, Body, HttpClient};

use crate::support::builder;

fn client(cloud: &FakeCloud) -> HttpClient {
    builder(cloud)
        .timeout(Duration::from_secs(120))
        .no_proxy()
        .build()
        .unwrap()
}

fn digest(alg: DigestAlgorithm, data: &[u8]) -> String {
    let mut h = Hasher::new(alg);
    h.update(data);
    h.finish_hex()
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_checked_against_its_etag_and_digests_with_progress() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = client(&cloud);
    let swift = http.service_client("object-store");
    swift.put("/c", &serde_json::json!({})).await.unwrap();
    let bytes = data(3 * 1024 * 1024 + 17);

    // upload with progress: monotonic, ends at the length
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.bin");
    std::fs::write(&src, &bytes).unwrap();
    let up: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let u = up.clone();
    let body = Body::from_file(&src)
        .await
        .unwrap()
        .with_progress(move |p| u.lock().unwrap().push(p));
    swift
        .request(ApiRequest::put("/c/o").body(body))
        .await
        .unwrap();
    let up = up.lock().unwrap().clone();
    assert!(up.len() > 1, "progress as the bytes go: {up:?}");
    assert!(up.windows(2).all(|w| w[0].done() < w[1].done()));
    let last = up.last().unwrap();
    assert_eq!(last.done(), bytes.len() as u64);
    assert_eq!(last.total(), Some(bytes.len() as u64));

    // download: metadata, the announced MD5, SHA-256 and SHA-512, progress
    let down: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let d = down.clone();
    let resp = swift
        .request_streamed(ApiRequest::get("/c/o"))
        .await
        .unwrap();
    assert_eq!(resp.content_length(), Some(bytes.len() as u64));
    let resp = resp
        .verify_announced_md5()
        .expect_digest(
            DigestAlgorithm::Sha256,
            digest(DigestAlgorithm::Sha256, &bytes),
        )
        .expect_digest(
            DigestAlgorithm::Sha512,
            digest(DigestAlgorithm::Sha512, &bytes).to_uppercase(),
        )
        .on_progress(move |p| d.lock().unwrap().push(p));
    let dst = dir.path().join("dst.bin");
    let n = resp.copy_to_file(&dst).await.unwrap();
    assert_eq!(n, bytes.len() as u64);
    assert_eq!(std::fs::read(&dst).unwrap(), bytes);
    let down = down.lock().unwrap().clone();
    assert_eq!(down.last().unwrap().done(), bytes.len() as u64);
    assert_eq!(down.last().unwrap().total(), Some(bytes.len() as u64));

    // a wrong expected digest: a typed error, and the old file is kept
    std::fs::write(&dst, b"the old file").unwrap();
    let err = swift
        .request_streamed(ApiRequest::get("/c/o"))
        .await
        .unwrap()
        .expect_digest(DigestAlgorithm::Sha256, "00".repeat(32))
        .copy_to_file(&dst)
        .await
        .unwrap_err();
    match &err {
        Error::DigestMismatch {
            algorithm,
            expected,
            actual,
            ..
        } => {
            assert_eq!(*algorithm, "sha256");
            assert_eq!(expected, &"00".repeat(32));
            assert_eq!(actual, &digest(DigestAlgorithm::Sha256, &bytes));
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert_eq!(std::fs::read(&dst).unwrap(), b"the old file");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // a destination that cannot be written is an I/O error naming it
    let nowhere = dir.path().join("no/such/dir/file.bin");
    let err = swift
        .request_streamed(ApiRequest::get("/c/o"))
        .await
        .unwrap()
        .copy_to_file(&nowhere)
        .await
        .unwrap_err();
    match &err {
        Error::Io {
            operation, path, ..
        } => {
            assert_eq!(*operation, "write");
            assert_eq!(path.as_deref(), Some(nowhere.as_path()));
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// A body corrupted on the way (the ETag or Content-MD5 says otherwise) is
/// refused at its end; a manifest's or a partial answer's ETag is not an MD5
/// of the bytes and is not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_md5_that_does_not_match_is_refused() {
    let server = RawServer::start(|req| {
        let body = b"the bytes that arrived";
        let good = digest(DigestAlgorithm::Md5, body);
        let bad = "0123456789abcdef0123456789abcdef".to_string();
        let headers: Vec<(&str, String)> = match req.target.as_str() {
            "/etag-bad" => vec![("ETag", bad), ("X-Trans-Id", "tx123".into())],
            "/content-md5-bad" => vec![("Content-MD5", bad)],
            "/content-md5-b64" => vec![("Content-MD5", "AAAAAAAAAAAAAAAAAAAAAA==".into())],
            "/manifest" => vec![
                ("ETag", format!("\"{bad}\"")),
                ("X-Static-Large-Object", "True".into()),
            ],
            _ => vec![("ETag", good)],
        };
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        RawServer::response(200, &headers, body)
    })
    .await
    .unwrap();
    let http = HttpClient::builder(apiclient_auth::typed::NoAuth::new(server.url()))
        .no_proxy()
        .build()
        .unwrap();
    let svc = http.service_client("object-store");
    let fetch = |path: &'static str| {
        let svc = svc.clone();
        async move {
            let resp = svc.request_streamed(ApiRequest::get(path)).await.unwrap();
            let id = resp.request_id().map(str::to_string);
            let out = resp
                .verify_announced_md5()
                .copy_to(&mut tokio::io::sink())
                .await;
            (out, id)
        }
    };
    let (ok, _) = fetch("/good").await;
    assert_eq!(ok.unwrap(), 22);
    let (bad, id) = fetch("/etag-bad").await;
    assert!(
        matches!(
            bad,
            Err(Error::DigestMismatch {
                algorithm: "md5",
                ..
            })
        ),
        "{bad:?}"
    );
    assert_eq!(id.as_deref(), Some("tx123"));
    for path in ["/content-md5-bad", "/content-md5-b64"] {
        let (bad, _) = fetch(path).await;
        assert!(
            matches!(bad, Err(Error::DigestMismatch { .. })),
            "{path}: {bad:?}"
        );
    }
    let (manifest, _) = fetch("/manifest").await;
    assert_eq!(manifest.unwrap(), 22);
}

/// A streamed download is byte-exact: an object stored gzipped (Swift keeps
/// its `Content-Encoding` and the ETag of the stored bytes) is neither
/// decoded nor refused; answers without a whole body are not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_byte_exact_and_only_whole_bodies_are_checked() {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&data(100_000)).unwrap();
    let stored = gz.finish().unwrap();
    let etag = digest(DigestAlgorithm::Md5, &stored);
    let body = stored.clone();
    let server = RawServer::start(move |req| {
        let wrong = "0123456789abcdef0123456789abcdef";
        match (req.method.as_str(), req.target.as_str()) {
            ("GET", "/c/o.gz") => {
                RawServer::response(200, &[("Content-Encoding", "gzip"), ("ETag", &etag)], &body)
            }
            ("HEAD", _) => RawServer::response(200, &[("ETag", wrong)], b""),
            ("GET", "/partial") => {
                RawServer::response(206, &[("ETag", wrong), ("Content-MD5", wrong)], b"part")
            }
            ("GET", "/base64-etag") => {
                RawServer::response(200, &[("ETag", "XUFAKrxLKna5cZ2REBfFkg==")], b"other")
            }
            _ => RawServer::response(404, &[], b""),
        }
    })
    .await
    .unwrap();
    let http = HttpClient::builder(apiclient_auth::typed::NoAuth::new(server.url()))
        .no_proxy()
        .build()
        .unwrap();
    let svc = http.service_client("object-store");
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("o.gz");
    let n = svc
        .request_streamed(ApiRequest::get("/c/o.gz"))
        .await
        .unwrap()
        .verify_announced_md5()
        .copy_to_file(&dst)
        .await
        .unwrap();
    assert_eq!(n, stored.len() as u64);
    assert_eq!(
        std::fs::read(&dst).unwrap(),
        stored,
        "the stored bytes, not decoded"
    );
    for (req, path) in [
        (ApiRequest::head("/c/o.gz"), "head"),
        (ApiRequest::get("/partial"), "partial"),
        (ApiRequest::get("/base64-etag"), "b64"),
    ] {
        let resp = svc.request_streamed(req).await.unwrap();
        let out = resp
            .verify_announced_md5()
            .copy_to(&mut tokio::io::sink())
            .await;
        assert!(out.is_ok(), "{path}: {out:?}");
    }
}
