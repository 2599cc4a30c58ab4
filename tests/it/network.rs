//! The conventions of real networks, on loopback: forward proxies (plain
//! HTTP and `CONNECT` + TLS), compression, trust from the environment,
//! redirects, tracing spans, typed tower layers.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::KeystonePlugin;
use apiclient_errors::{ConnectionErrorKind, Error};
use apiclient_fake::{FakeCloud, RawServer};
use apiclient_http::{ApiRequest, HttpClient, ProxyConfig, RedirectPolicy, RetryPolicy, TlsConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::support::builder;

/// Request lines a proxy saw, with their `Proxy-Authorization`.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A loopback forward proxy: absolute-form HTTP requests are forwarded,
/// `CONNECT host:port` opens a tunnel. Every request line and its
/// `Proxy-Authorization` are recorded.
struct Proxy {
    url: String,
    seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_head(
    r: &mut BufReader<tokio::net::TcpStream>,
) -> Option<(String, Vec<(String, String)>)> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let first = line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Some((first, headers))
}

impl Proxy {
    async fn start() -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let s2 = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = s2.clone();
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let Some((first, headers)) = read_head(&mut reader).await else {
                        return;
                    };
                    let auth = headers
                        .iter()
                        .find(|(k, _)| k == "proxy-authorization")
                        .map(|(_, v)| v.clone());
                    seen.lock().unwrap().push((first.clone(), auth));
                    let mut parts = first.split(' ');
                    let method = parts.next().unwrap_or_default().to_string();
                    let target = parts.next().unwrap_or_default().to_string();
                    if method == "CONNECT" {
                        let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                            return;
                        };
                        let mut client = reader.into_inner();
                        let _ = client
                            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                            .await;
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                        return;
                    }
                    // absolute form: http://host:port/path
                    let Ok(uri) = target.parse::<http::Uri>() else {
                        return;
                    };
                    let Some(authority) = uri.authority().map(|a| a.to_string()) else {
                        return;
                    };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(&authority).await else {
                        return;
                    };
                    let length: usize = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0u8; length];
                    let _ = reader.read_exact(&mut body).await;
                    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                    let mut head = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\n");
                    for (k, v) in &headers {
                        if k != "proxy-authorization" && k != "connection" {
                            head.push_str(&format!("{k}: {v}\r\n"));
                        }
                    }
                    head.push_str("\r\n");
                    let _ = upstream.write_all(head.as_bytes()).await;
                    let _ = upstream.write_all(&body).await;
                    let mut answer = Vec::new();
                    let _ = upstream.read_to_end(&mut answer).await;
                    let mut client = reader.into_inner();
                    let _ = client.write_all(&answer).await;
                    let _ = client.shutdown().await;
                });
            }
        });
        Proxy { url, seen, task }
    }

    fn with_credentials(&self) -> String {
        self.url.replace("http://", "http://proxyuser:proxy-pw@")
    }

    fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap().clone()
    }
}

/// "Basic base64(proxyuser:proxy-pw)".
const PROXY_AUTH: &str = "Basic cHJveHl1c2VyOnByb3h5LXB3";

#[test]
fn plain_http_goes_through_the_proxy_with_its_credentials() {
    let ((), log) = crate::support::with_captured_trace(|| async {
        through_a_forward_proxy().await;
    });
    assert!(log.contains("REQ: curl"), "the curl log ran");
    assert!(
        !log.contains("proxy-pw") && !log.contains("cHJveHl1c2VyOnByb3h5LXB3"),
        "{log}"
    );
}

async fn through_a_forward_proxy() {
    let cloud = FakeCloud::start().await.unwrap();
    let proxy = Proxy::start().await;
    let http = builder(&cloud)
        .proxy(ProxyConfig::all(&proxy.with_credentials(), ""))
        .build()
        .unwrap();
    let result = http
        .service_client("compute")
        .get("/servers")
        .await
        .map(|r| r.status());
    assert_eq!(result.unwrap(), 200);
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|(line, _)| line.starts_with(&format!("GET {}/v2.1/servers", cloud.url()))),
        "absolute form through the proxy: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|(_, auth)| auth.as_deref() == Some(PROXY_AUTH)),
        "{seen:?}"
    );
    assert_eq!(cloud.count("GET /v2.1/servers"), 1);

    // NO_PROXY (here lower-case, from an injected environment) skips the proxy
    let before = proxy.seen().len();
    let env = BTreeMap::from([
        ("http_proxy".to_string(), proxy.url.clone()),
        ("no_proxy".to_string(), "127.0.0.1".to_string()),
    ]);
    let http = builder(&cloud)
        .proxy(ProxyConfig::from_env_fn(|k| env.get(k).cloned()))
        .build()
        .unwrap();
    http.service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert_eq!(proxy.seen().len(), before, "NO_PROXY was honoured");
    // ... and without NO_PROXY, loopback goes through the proxy too (as curl does)
    let env = BTreeMap::from([("HTTP_PROXY".to_string(), proxy.url.clone())]);
    let http = builder(&cloud)
        .proxy(ProxyConfig::from_env_fn(|k| env.get(k).cloned()))
        .build()
        .unwrap();
    http.service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert!(proxy.seen().len() > before);

    // a dead proxy: an error that never shows the proxy's password
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let http = builder(&cloud)
        .proxy(ProxyConfig::all(
            &format!("http://u:dead-pw@127.0.0.1:{dead}"),
            "",
        ))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = http
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap_err();
    assert!(err.is_connection_error(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("dead-pw"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_goes_through_a_connect_tunnel() {
    let pki = crate::tls::pki();
    let server = crate::tls::serve(&pki).await;
    let proxy = Proxy::start().await;
    let tls = TlsConfig::default().cacert(pki.dir.path().join("ca.pem"));
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(&server)))
        .tls(tls)
        .proxy(ProxyConfig::all(&proxy.with_credentials(), ""))
        .build()
        .unwrap();
    let text = http.service_client("svc").get("/").await.unwrap().text();
    assert_eq!(text, "client-cert: no");
    let port = server.rsplit(':').next().unwrap();
    assert_eq!(
        proxy.seen(),
        [(
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1"),
            Some(PROXY_AUTH.to_string())
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_comes_from_the_environment_bundles() {
    let pki = crate::tls::pki();
    let server = crate::tls::serve(&pki).await;
    let ca = pki.dir.path().join("ca.pem").display().to_string();
    let dir = pki.dir.path().display().to_string();
    let get = |env: BTreeMap<&'static str, String>| {
        let server = server.clone();
        async move {
            let tls = TlsConfig::default().with_env_fn(|k| env.get(k).cloned());
            let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(&server)))
                .tls(tls)
                .retry(RetryPolicy::none())
                .build()
                .unwrap();
            http.service_client("svc").get("/").await.map(|r| r.text())
        }
    };
    let err = get(BTreeMap::new()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Connection(c) if c.kind() == ConnectionErrorKind::Tls),
        "an unknown CA is refused: {err:?}"
    );
    for var in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"] {
        let text = get(BTreeMap::from([(var, ca.clone())])).await.unwrap();
        assert_eq!(text, "client-cert: no", "{var}");
    }
    let text = get(BTreeMap::from([("SSL_CERT_DIR", dir)])).await.unwrap();
    assert_eq!(text, "client-cert: no", "SSL_CERT_DIR");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_answer_gives_its_connection_back() {
    // a GET's connection goes back to the pool once its answer is read
    // whole, decoded or not: one connection serves every call in turn
    let body = gzip(br#"{"servers": []}"#);
    let server = RawServer::start(move |req| {
        if req.target.contains("plain") {
            RawServer::response(200, &[("Content-Type", "application/json")], b"{}")
        } else {
            RawServer::response(200, &[("Content-Encoding", "gzip")], &body)
        }
    })
    .await
    .unwrap();
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(server.url())))
        .no_proxy()
        .build()
        .unwrap();
    let svc = http.service_client("svc");
    for path in ["/gz", "/plain", "/gz", "/gz", "/plain"] {
        let v: serde_json::Value = svc.get(path).await.unwrap().json().unwrap();
        assert!(v.is_object(), "{path}: {v}");
    }
    assert_eq!(server.requests().len(), 5);
    assert_eq!(server.connections_accepted(), 1, "one connection, reused");
}

/// A server with a 3 MiB answer at `/big` and `{}` elsewhere, and a
/// client of it.
async fn big_answer_server() -> (RawServer, usize, apiclient_http::ServiceClient) {
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let len = big.len();
    let server = RawServer::start(move |req| {
        if req.target.contains("big") {
            RawServer::response(200, &[], &big)
        } else {
            RawServer::response(200, &[("Content-Type", "application/json")], b"{}")
        }
    })
    .await
    .unwrap();
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(server.url())))
        .no_proxy()
        .build()
        .unwrap();
    let svc = http.service_client("svc");
    (server, len, svc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_download_gives_its_connection_back_at_its_end() {
    // a streamed answer's body drives its connection as it is read, and
    // puts it back once read to its end: downloads and GETs in turn, on
    // one connection
    let (server, len, svc) = big_answer_server().await;
    for round in 0..3 {
        let resp = svc.request_streamed(ApiRequest::get("/big")).await.unwrap();
        let n = resp.copy_to(&mut tokio::io::sink()).await.unwrap();
        assert_eq!(n, len as u64, "round {round}");
        let v: serde_json::Value = svc.get("/plain").await.unwrap().json().unwrap();
        assert!(v.is_object());
    }
    assert_eq!(server.requests().len(), 6);
    assert_eq!(server.connections_accepted(), 1, "one connection, reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_download_dropped_midway_closes_its_connection() {
    // the rest of the answer is never read: its connection is closed (not
    // put back with the rest on it), and the next call opens another
    use futures_util::StreamExt;
    let (server, _, svc) = big_answer_server().await;
    let resp = svc.request_streamed(ApiRequest::get("/big")).await.unwrap();
    let mut chunks = Box::pin(resp.into_stream());
    let first = chunks.next().await.unwrap().unwrap();
    assert!(!first.is_empty() && first.len() < 3 * 1024 * 1024);
    drop(chunks);
    let v: serde_json::Value = svc.get("/plain").await.unwrap().json().unwrap();
    assert!(v.is_object());
    assert_eq!(server.connections_accepted(), 2);
    // the first connection closes; the second waits idle in the pool
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.connections_open() > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        server.connections_open(),
        1,
        "the dropped download's connection closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_the_server_closed_costs_no_call() {
    // the server answers with keep-alive, then closes the connection (as
    // one does at its idle timeout): the next call goes on a new
    // connection, and none fails
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                if read_head(&mut reader).await.is_none() {
                    return;
                }
                let mut stream = reader.into_inner();
                let answer = RawServer::response(200, &[], b"{}");
                let _ = stream.write_all(&answer).await;
                // closed at once, the answer sent
            });
        }
    });
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(&url)))
        .no_proxy()
        .build()
        .unwrap();
    let svc = http.service_client("svc");
    for i in 0..4 {
        svc.get("/a")
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "each call on a connection of its own"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_is_asked_for_decoded_and_bounded_by_the_decoded_size() {
    let json = br#"{"servers": [{"id": "1"}]}"#;
    let small = gzip(json);
    let bomb = gzip(&vec![b' '; 200 * 1024 * 1024]);
    assert!(
        bomb.len() < 1024 * 1024,
        "the bomb is small: {}",
        bomb.len()
    );
    let server = RawServer::start(move |req| {
        let gz = req
            .header("accept-encoding")
            .is_some_and(|v| v.contains("gzip"));
        let body = if req.target.contains("bomb") {
            &bomb
        } else {
            &small
        };
        if gz {
            RawServer::response(
                200,
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Encoding", "gzip"),
                ],
                body,
            )
        } else {
            RawServer::response(200, &[("Content-Type", "application/json")], json)
        }
    })
    .await
    .unwrap();
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(server.url())))
        .max_response_bytes(8 * 1024 * 1024)
        .build()
        .unwrap();
    let svc = http.service_client("svc");
    let v: serde_json::Value = svc.get("/small").await.unwrap().json().unwrap();
    assert_eq!(v["servers"][0]["id"], "1");
    assert_eq!(
        server.requests()[0].header("accept-encoding"),
        Some("gzip,deflate")
    );
    let err = svc.get("/bomb").await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 8388608, .. }),
        "{err:?}"
    );

    // switched off: no Accept-Encoding, the plain answer
    let plain = HttpClient::builder(Box::new(KeystonePlugin::no_auth(server.url())))
        .compression(false)
        .build()
        .unwrap();
    plain.service_client("svc").get("/small").await.unwrap();
    assert_eq!(
        server.requests().last().unwrap().header("accept-encoding"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_origin_redirects_are_followed_with_the_token_others_are_errors() {
    let elsewhere = RawServer::start(|_| RawServer::response(200, &[], b"{}"))
        .await
        .unwrap();
    let other = elsewhere.url().to_string();
    let server = RawServer::start(move |req| match req.target.as_str() {
        "/v1/old" => RawServer::response(301, &[("Location", "/v1/new")], b""),
        "/v1/new" => {
            RawServer::response(200, &[("Content-Type", "application/json")], b"{\"ok\": 1}")
        }
        "/v1/away" => RawServer::response(302, &[("Location", &format!("{other}/steal"))], b""),
        "/v1/loop" => RawServer::response(307, &[("Location", "/v1/loop")], b""),
        _ => RawServer::response(404, &[], b""),
    })
    .await
    .unwrap();
    let fixed = KeystonePlugin::admin_token(format!("{}/v1", server.url()), "tok-r");
    let http = HttpClient::builder(Box::new(fixed)).build().unwrap();
    let svc = http.service_client("svc");
    let resp = svc.get("/old").await.unwrap();
    assert_eq!(resp.text(), "{\"ok\": 1}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter()
            .all(|r| r.header("x-auth-token") == Some("tok-r"))
    );

    let err = svc.get("/away").await.unwrap_err();
    assert_eq!(err.status(), Some(302));
    assert!(err.to_string().contains("not followed"), "{err}");
    assert_eq!(
        elsewhere.connections_accepted(),
        0,
        "never to another origin"
    );

    let before = server.requests().len();
    let err = svc.get("/loop").await.unwrap_err();
    assert_eq!(err.status(), Some(307));
    assert_eq!(
        server.requests().len() - before,
        6,
        "the first request and 5 hops"
    );

    // POST is not redirected; a policy can follow none
    let err = svc.post("/old", &serde_json::json!({})).await.unwrap_err();
    assert_eq!(err.status(), Some(301));
    let none = HttpClient::builder(Box::new(KeystonePlugin::admin_token(
        format!("{}/v1", server.url()),
        "t",
    )))
    .redirects(RedirectPolicy::none())
    .build()
    .unwrap();
    assert_eq!(
        none.service_client("svc")
            .get("/old")
            .await
            .unwrap_err()
            .status(),
        Some(301)
    );
}

#[test]
fn every_call_is_one_span_with_its_outcome_and_a_global_request_id() {
    let (seen, log) = crate::support::with_captured_spans(|| async {
        let server = RawServer::start({
            let n = Arc::new(Mutex::new(0));
            move |_req| {
                let mut n = n.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    RawServer::response(503, &[("Retry-After", "0")], b"")
                } else {
                    RawServer::response(200, &[("X-OpenStack-Request-Id", "req-span-1")], b"{}")
                }
            }
        })
        .await
        .unwrap();
        let http = HttpClient::builder(Box::new(KeystonePlugin::admin_token(
            format!("{}/v1?temp_url_sig=hidden", server.url()),
            "t",
        )))
        .global_request_id("req-global-7")
        .build()
        .unwrap();
        http.service_client("compute")
            .get("/servers")
            .await
            .unwrap();
        http.service_client("compute")
            .request(ApiRequest::get("/servers").global_request_id("req-own-8"))
            .await
            .unwrap();
        server.requests()
    });
    let closes: Vec<&str> = log.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closes.len(), 2, "{log}");
    let first = closes[0];
    for field in [
        "http.request.method=GET",
        "openstack.service_type=\"compute\"",
        "http.response.status_code=200",
        "attempts=2",
        "request_id=\"req-span-1\"",
    ] {
        assert!(first.contains(field), "{field} in {first}");
    }
    assert!(!log.contains("hidden"), "{log}");
    assert_eq!(
        seen[0].header("x-openstack-request-id"),
        Some("req-global-7")
    );
    assert_eq!(seen[2].header("x-openstack-request-id"), Some("req-own-8"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_tower_and_tower_http_layers_compose_with_the_stack() {
    let server = RawServer::start(|_| RawServer::response(200, &[], b"{}"))
        .await
        .unwrap();
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(server.url())))
        .with_layer(tower::limit::ConcurrencyLimitLayer::new(1))
        .with_layer(tower_http::set_header::SetRequestHeaderLayer::overriding(
            http::header::HeaderName::from_static("x-layer"),
            http::HeaderValue::from_static("typed"),
        ))
        .with_layer(tower_http::trace::TraceLayer::new_for_http())
        .with_transport_layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(30)))
        .build()
        .unwrap();
    http.service_client("svc").get("/x").await.unwrap();
    assert_eq!(server.requests()[0].header("x-layer"), Some("typed"));
}

/// An outer layer that is not ready on its first poll (it wakes the task
/// and is ready on the next): the call waits for readiness as tower's
/// `Oneshot` does, instead of being sent at once.
#[derive(Clone)]
struct NotReadyAtFirst {
    inner: apiclient_http::HttpService,
    polled: bool,
    pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl tower::Service<http::Request<apiclient_http::Body>> for NotReadyAtFirst {
    type Response = http::Response<apiclient_http::Body>;
    type Error = apiclient_errors::BoxError;
    type Future = <apiclient_http::HttpService as tower::Service<
        http::Request<apiclient_http::Body>,
    >>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        if !self.polled {
            self.polled = true;
            self.pending
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<apiclient_http::Body>) -> Self::Future {
        assert!(self.polled, "called before it said it was ready");
        self.inner.call(req)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outer_layer_not_ready_at_once_is_waited_for_then_called() {
    let server = RawServer::start(|_| RawServer::response(200, &[], b"{\"ok\":true}"))
        .await
        .unwrap();
    let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let p = pending.clone();
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(server.url())))
        .with_layer(tower::layer::layer_fn(move |inner| NotReadyAtFirst {
            inner,
            polled: false,
            pending: p.clone(),
        }))
        .build()
        .unwrap();
    let svc = http.service_client("svc");
    for _ in 0..3 {
        let resp = svc.get("/x").await.unwrap();
        assert_eq!(resp.json::<serde_json::Value>().unwrap()["ok"], true);
    }
    // every call met the layer not ready, and still went out once
    assert_eq!(pending.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_limit_of_one_around_the_stack_serves_parallel_calls_in_turn() {
    // the server answers each request after 100 ms, so the calls overlap
    // and all but one find the limit taken when they start
    let server = RawServer::start(|_| {
        std::thread::sleep(Duration::from_millis(100));
        RawServer::response(200, &[], b"{}")
    })
    .await
    .unwrap();
    let http = HttpClient::builder(Box::new(KeystonePlugin::no_auth(server.url())))
        .with_layer(tower::limit::ConcurrencyLimitLayer::new(1))
        .build()
        .unwrap();
    let svc = http.service_client("svc");
    let calls = (0..4).map(|_| {
        let svc = svc.clone();
        tokio::spawn(async move { svc.get("/x").await.map(|r| r.status()) })
    });
    let done = tokio::time::timeout(
        Duration::from_secs(60),
        futures_util::future::join_all(calls),
    )
    .await
    .expect("the limited calls all end");
    for r in done {
        assert_eq!(r.unwrap().unwrap(), 200);
    }
    assert_eq!(server.requests().len(), 4);
}
