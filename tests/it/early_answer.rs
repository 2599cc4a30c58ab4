//! Servers that answer an upload before reading it: the answer reaches the
//! caller (never "connection closed"), the client stops sending once it has
//! arrived, a 401 re-authenticates and replays a re-openable body once, and a
//! local file that cannot be read is an I/O error naming it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use apiclient_errors::Error;
use apiclient_fake::FakeCloud;
use apiclient_http::{ApiRequest, Body, HttpClient};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::builder;

const MIB: u64 = 1024 * 1024;

/// How the server treats one upload.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Read this many body bytes, answer `status` with `Connection: close`,
    /// and close with the rest unread (the kernel sends a reset).
    AnswerThenClose { read_first: u64, status: u16 },
    /// Answer `status` at once, then keep reading (and counting) until the
    /// client closes.
    AnswerThenDrain { status: u16 },
    /// Read the whole body, answer 201.
    ReadAll,
}

struct EarlyServer {
    url: String,
    /// Body bytes the server read, over all connections.
    read: Arc<AtomicU64>,
    /// Requests whose head arrived.
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EarlyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server whose `n`-th request (from 0) is treated as `behave(n)`.
async fn early_server(behave: impl Fn(usize) -> Behaviour + Send + Sync + 'static) -> EarlyServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let read = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let behave = Arc::new(behave);
    let (r, q) = (read.clone(), requests.clone());
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (r, q, behave) = (r.clone(), q.clone(), behave.clone());
            tokio::spawn(async move {
                let _ = serve(sock, r, q, behave).await;
            });
        }
    });
    EarlyServer {
        url,
        read,
        requests,
        task,
    }
}

async fn serve(
    mut sock: TcpStream,
    read: Arc<AtomicU64>,
    requests: Arc<AtomicUsize>,
    behave: Arc<dyn Fn(usize) -> Behaviour + Send + Sync>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // the head
        let mut head = Vec::new();
        let body_start = loop {
            let n = sock.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
            if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let text = String::from_utf8_lossy(&head[..body_start]).to_ascii_lowercase();
        let length: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut got = (head.len() - body_start) as u64;
        read.fetch_add(got, Ordering::SeqCst);
        let n = requests.fetch_add(1, Ordering::SeqCst);
        let answer = |status: u16, close: bool| {
            let body = format!(r#"{{"message": "answered with {status}"}}"#);
            format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{body}",
                body.len(),
                if close { "Connection: close\r\n" } else { "" }
            )
        };
        match behave(n) {
            Behaviour::AnswerThenClose { read_first, status } => {
                while got < read_first.min(length) {
                    let n = sock.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    got += n as u64;
                    read.fetch_add(n as u64, Ordering::SeqCst);
                }
                sock.write_all(answer(status, true).as_bytes()).await?;
                // dropped with the rest unread: a reset
                return Ok(());
            }
            Behaviour::AnswerThenDrain { status } => {
                sock.write_all(answer(status, true).as_bytes()).await?;
                loop {
                    let n = sock.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    read.fetch_add(n as u64, Ordering::SeqCst);
                }
            }
            Behaviour::ReadAll => {
                while got < length {
                    let n = sock.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    got += n as u64;
                    read.fetch_add(n as u64, Ordering::SeqCst);
                }
                sock.write_all(answer(201, false).as_bytes()).await?;
            }
        }
    }
}

fn zeros(size: u64) -> Body {
    let chunk = Bytes::from(vec![0u8; 64 * 1024]);
    Body::reopenable(Some(size), move || {
        let chunk = chunk.clone();
        futures_util::stream::iter(
            (0..size.div_ceil(chunk.len() as u64))
                .map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        )
    })
}

fn plain_client() -> HttpClient {
    HttpClient::builder(apiclient_auth::typed::NoAuth::new(
        "http://127.0.0.1:9/unused",
    ))
    .timeout(Duration::from_secs(120))
    .no_proxy()
    .build()
    .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// gunicorn's way (Glance's 409 to data for an active image): read 64 KiB,
/// answer, close with the rest unread. Every one of many runs must end in
/// the 409, never in "connection closed".
#[test]
fn an_answer_before_the_body_is_read_reaches_the_caller_every_time() {
    runtime().block_on(async {
        let server = early_server(|_| Behaviour::AnswerThenClose {
            read_first: 64 * 1024,
            status: 409,
        })
        .await;
        let http = plain_client();
        for run in 0..40 {
            let err = http
                .request(
                    ApiRequest::put(format!("{}/v2/images/x/file", server.url))
                        .body(zeros(32 * MIB)),
                )
                .await
                .expect_err("a 409");
            assert_eq!(err.status(), Some(409), "run {run}: {err} ({err:?})");
        }
    });
}

/// The same with a one-shot stream and an answer before any body byte.
#[test]
fn an_answer_before_the_first_body_byte_reaches_the_caller() {
    runtime().block_on(async {
        let server = early_server(|_| Behaviour::AnswerThenClose {
            read_first: 0,
            status: 404,
        })
        .await;
        let http = plain_client();
        for run in 0..20 {
            let chunk = Bytes::from(vec![7u8; 64 * 1024]);
            let stream = futures_util::stream::iter(
                (0..256).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            let err = http
                .request(
                    ApiRequest::put(format!("{}/v1/AUTH_x/missing/obj", server.url))
                        .body(Body::from_stream(stream, Some(16 * MIB))),
                )
                .await
                .expect_err("a 404");
            assert!(err.is_not_found(), "run {run}: {err} ({err:?})");
        }
    });
}

/// Swift's 404 for a missing container comes at once, and the server keeps
/// reading: the client stops sending when the answer arrives instead of
/// pushing the whole body.
#[test]
fn the_client_stops_sending_once_answered() {
    runtime().block_on(async {
        let server = early_server(|_| Behaviour::AnswerThenDrain { status: 404 }).await;
        let http = plain_client();
        let size = 512 * MIB;
        let err = http
            .request(
                ApiRequest::put(format!("{}/v1/AUTH_x/missing/obj", server.url)).body(zeros(size)),
            )
            .await
            .expect_err("a 404");
        assert!(err.is_not_found(), "{err}");
        // the connection is closed once the answer is read: the server's count is final
        let mut waited = 0;
        while server.requests.load(Ordering::SeqCst) == 1 && waited < 100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += 1;
            let before = server.read.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            if server.read.load(Ordering::SeqCst) == before {
                break;
            }
        }
        let read = server.read.load(Ordering::SeqCst);
        // what was in flight (socket buffers) is bounded; far below the body
        assert!(
            read < 64 * MIB,
            "the client sent {} MiB after a 404",
            read / MIB
        );
    });
}

/// A 401 before the body is read (a revoked token): one re-authentication,
/// and the re-openable body is sent again; the first copy was cut short.
#[test]
fn an_early_401_reauthenticates_and_replays_the_body_once() {
    runtime().block_on(async {
        let cloud = FakeCloud::start().await.unwrap();
        let server = early_server(|n| {
            if n == 0 {
                Behaviour::AnswerThenClose {
                    read_first: 64 * 1024,
                    status: 401,
                }
            } else {
                Behaviour::ReadAll
            }
        })
        .await;
        let http = builder(&cloud).no_proxy().build().unwrap();
        let store = http
            .service_client("object-store")
            .with_endpoint_override(server.url.clone());
        // a token from before (the request itself did not just authenticate)
        http.authenticate().await.unwrap();
        let size = 128 * MIB;
        let resp = store
            .request(ApiRequest::put("/v1/AUTH_demo/c/o").body(zeros(size)))
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        assert_eq!(server.requests.load(Ordering::SeqCst), 2, "one replay");
        assert_eq!(cloud.tokens_issued(), 2, "one re-authentication");
        let read = server.read.load(Ordering::SeqCst);
        assert!(
            read >= size && read < size + 64 * MIB,
            "the server read {} MiB for a {} MiB body sent once and cut short once",
            read / MIB,
            size / MIB
        );
    });
}

/// A file that cannot be read mid-upload is an I/O error naming it, not a
/// connection error.
#[test]
fn an_unreadable_file_is_an_io_error_naming_it() {
    runtime().block_on(async {
        let server = early_server(|_| Behaviour::ReadAll).await;
        let http = plain_client();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.raw");
        std::fs::write(&path, vec![1u8; 1024 * 1024]).unwrap();
        let body = Body::from_file(&path).await.unwrap();
        std::fs::remove_file(&path).unwrap();
        let err = http
            .request(ApiRequest::put(format!("{}/upload", server.url)).body(body))
            .await
            .expect_err("the file is gone");
        match &err {
            Error::Io {
                operation,
                path: Some(p),
                ..
            } => {
                assert_eq!(*operation, "read");
                assert_eq!(p, &path);
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert!(err.to_string().contains("image.raw"), "{err}");
    });
}

/// A server that takes the head and then neither reads the body nor
/// answers: the upload stalls and the attempt ends in a timeout.
#[test]
fn a_stalled_upload_times_out() {
    runtime().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock); // never read, never answered
            }
        });
        let http = HttpClient::builder(apiclient_auth::typed::NoAuth::new(
            "http://127.0.0.1:9/unused",
        ))
        .timeout(Duration::from_secs(2))
        .retry(apiclient_http::layers::retry::RetryPolicy::none())
        .no_proxy()
        .build()
        .unwrap();
        let err = http
            .request(ApiRequest::put(format!("{url}/upload")).body(zeros(256 * MIB)))
            .await
            .expect_err("a timeout");
        assert!(err.is_timeout(), "{err:?}");
        hold.abort();
    });
}

/// An upload that keeps moving may take longer than the per-attempt
/// timeout: the server reads 512 KiB every 100 ms, the body needs seconds,
/// the timeout is 2 s.
#[test]
fn a_slow_upload_that_keeps_moving_outlasts_the_timeout() {
    runtime().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let size = 24 * MIB;
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut head = Vec::new();
            let start = loop {
                let n = sock.read(&mut buf).await.unwrap();
                head.extend_from_slice(&buf[..n]);
                if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let mut got = (head.len() - start) as u64;
            let began = std::time::Instant::now();
            while got < size {
                let mut slice = 0;
                while slice < 512 * 1024 && got < size {
                    let n = sock.read(&mut buf).await.unwrap();
                    assert!(n > 0);
                    slice += n;
                    got += n as u64;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sock.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            began.elapsed()
        });
        let http = HttpClient::builder(apiclient_auth::typed::NoAuth::new(
            "http://127.0.0.1:9/unused",
        ))
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .unwrap();
        let resp = http
            .request(ApiRequest::put(format!("{url}/upload")).body(zeros(size)))
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let took = server.await.unwrap();
        // the premise: the transfer itself outlasted the per-attempt timeout
        assert!(took > Duration::from_secs(2), "{took:?}");
    });
}
