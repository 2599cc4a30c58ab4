//! The HTTP stack on the wire, against FakeCloud on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use apiclient_auth::ExposeSecret;
use apiclient_errors::{ConnectionErrorKind, Error};
use apiclient_fake::{FakeCloud, Fault};
use apiclient_http::{ApiRequest, RetryPolicy, ServiceClient};
use serde_json::{Value, json};

use crate::support::{builder, with_captured_trace};

const AUTH: &str = "POST /v3/auth/tokens";

fn count_servers(v: &Value) -> usize {
    v["servers"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_causes_one_reauth_and_replays_the_same_body() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    cloud.inject(Fault::Unauthorized, 1);
    let created: Value = compute
        .post("/servers", &json!({"server": {"name": "replayed"}}))
        .await
        .unwrap()
        .json()
        .unwrap();
    let id = created["server"]["id"].as_str().unwrap();
    let shown: Value = compute
        .get(&format!("/servers/{id}"))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        shown["server"]["name"], "replayed",
        "the replay carried the same body"
    );
    assert_eq!(cloud.count(AUTH), 2);
    assert_eq!(cloud.count("POST /v2.1/servers"), 2);
    let all: Value = compute.get("/servers").await.unwrap().json().unwrap();
    assert_eq!(count_servers(&all), 6, "created exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_401_surfaces_as_unauthorized() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    cloud.inject(Fault::Unauthorized, 2);
    let err = compute.get("/servers").await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(err.request_id().unwrap().starts_with("req-"));
    assert!(
        err.to_string().contains("(HTTP 401) (Request-ID: req-"),
        "{err}"
    );
    assert_eq!(cloud.count(AUTH), 2, "exactly one re-auth");
    assert!(compute.get("/servers").await.is_ok(), "usable afterwards");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_no_renewal_can_change_names_the_url_that_answered() {
    // a fixed token cannot be renewed: the 401 itself is the answer, and
    // its error names the absolute URL asked, not the path given
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = answered.clone();
    let server = apiclient_fake::RawServer::start(move |_| {
        // the first answer a 200 (the token is then no longer new), then 401s
        match seen.fetch_add(1, Ordering::SeqCst) {
            0 => apiclient_fake::RawServer::response(200, &[], b"{}"),
            _ => apiclient_fake::RawServer::response(401, &[], b"{\"error\": {}}"),
        }
    })
    .await
    .unwrap();
    let endpoint = format!("{}/v2.1", server.url());
    let http =
        apiclient_http::HttpClient::builder(apiclient_auth::typed::AdminToken::new(&endpoint, "t"))
            .no_proxy()
            .build()
            .unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    let err = compute.get("/servers").await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    let url = err.as_http().and_then(|e| e.url()).unwrap_or_default();
    assert_eq!(url, format!("{endpoint}/servers"), "{err:?}");
    assert_eq!(server.requests().len(), 2, "the 401 is not replayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_right_after_authenticating_is_not_retried() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    cloud.inject(Fault::Unauthorized, 1);
    let err = http
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap_err();
    assert!(err.is_unauthorized());
    assert_eq!(cloud.count(AUTH), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_requests_on_an_invalidated_token_authenticate_once() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    cloud.revoke_all();
    cloud.reset_counts();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let c = compute.clone();
        tasks.spawn(async move { c.get("/servers").await.map(|_| ()) });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(cloud.count(AUTH), 1);
    assert_eq!(http.token_state().authentications(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_authenticate_once() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let c = http.service_client("compute");
        tasks.spawn(async move { c.get("/servers").await.map(|_| ()) });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(cloud.count(AUTH), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_about_to_expire_is_refreshed_before_use() {
    let cloud = FakeCloud::start().await.unwrap();
    let offset = Arc::new(AtomicI64::new(0));
    let o = offset.clone();
    let http = builder(&cloud)
        .clock(Arc::new(move || {
            time::OffsetDateTime::now_utc() + Duration::from_secs(o.load(Ordering::SeqCst) as u64)
        }))
        .build()
        .unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    let first = http.token_state().access().unwrap();
    offset.store(3600 - 100, Ordering::SeqCst); // within the 120 s skew of expiry
    compute.get("/servers").await.unwrap();
    let second = http.token_state().access().unwrap();
    assert_eq!(cloud.count(AUTH), 2, "refreshed proactively");
    assert_ne!(
        first.token().expose_secret(),
        second.token().expose_secret()
    );
    assert_eq!(cloud.count("GET /v2.1/servers"), 2, "no 401 and no replay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_on_429() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    cloud.reset_counts();
    cloud.inject(Fault::TooManyRequests { retry_after: 1 }, 1);
    let t0 = Instant::now();
    compute.get("/servers").await.unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(cloud.count("GET /v2.1/servers"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_and_post_is_not_replayed() {
    let cloud = FakeCloud::start().await.unwrap();
    let policy = RetryPolicy::default()
        .base_delay(Duration::from_millis(10))
        .max_status_retries(2);
    let http = builder(&cloud).retry(policy).build().unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    cloud.reset_counts();
    cloud.inject(Fault::ServiceUnavailable, 10);
    let err = compute.get("/servers").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(cloud.count("GET /v2.1/servers"), 3, "1 + 2 retries");
    let err = compute
        .post("/servers", &json!({"server": {"name": "x"}}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(cloud.count("POST /v2.1/servers"), 1, "not replayed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_faults_are_typed_and_the_client_recovers() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud)
        .timeout(Duration::from_millis(800))
        .retry(RetryPolicy::none())
        .max_response_bytes(64 * 1024)
        .build()
        .unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();

    let kind = |e: &Error| match e {
        Error::Connection(c) => Some(c.kind()),
        _ => None,
    };
    cloud.inject(Fault::DropConnection, 1);
    let e = compute.get("/servers").await.unwrap_err();
    assert_eq!(kind(&e), Some(ConnectionErrorKind::Closed), "{e:?}");
    compute.get("/servers").await.unwrap();

    cloud.inject(Fault::TruncatedBody, 1);
    let e = compute.get("/servers").await.unwrap_err();
    assert_eq!(kind(&e), Some(ConnectionErrorKind::Closed), "{e:?}");
    compute.get("/servers").await.unwrap();

    cloud.inject(Fault::Delay(Duration::from_secs(3)), 1);
    let t0 = Instant::now();
    let e = compute.get("/servers").await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(t0.elapsed() < Duration::from_secs(2));
    compute.get("/servers").await.unwrap();

    cloud.inject(Fault::BadGatewayHtml, 1);
    let e = compute.get("/servers").await.unwrap_err();
    assert_eq!(e.status(), Some(502));
    assert!(
        e.as_http()
            .unwrap()
            .details()
            .unwrap()
            .contains("502 Bad Gateway")
    );

    cloud.set_servers(5000);
    let Err(e) = compute
        .request(ApiRequest::get("/servers").query("limit", "5000"))
        .await
    else {
        panic!("a 5000-server page must exceed the 64 KiB limit");
    };
    assert!(
        matches!(e, Error::ResponseTooLarge { limit: 65536, .. }),
        "{e:?}"
    );
    cloud.set_servers(3);
    compute.get("/servers").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_typed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud)
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .build()
        .unwrap();
    let dead = ServiceClient::new(&http, apiclient_auth::EndpointFilter::new("compute"))
        .with_endpoint_override(format!("http://127.0.0.1:{port}/v2.1"));
    let e = dead.get("/servers").await.unwrap_err();
    match &e {
        Error::Connection(c) => assert!(c.is_refused(), "{c:?}"),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")));
    http.service_client("compute")
        .get("/servers")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timings_record_every_attempt_including_errors() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).timings(true).build().unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    let _ = compute.get("/servers/nope").await.unwrap_err();
    let t = http.get_timings();
    let seen: Vec<(String, Option<u16>)> = t
        .iter()
        .map(|t| (format!("{} {}", t.method, t.url), t.status))
        .collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        seen[0],
        (format!("POST {}/auth/tokens", cloud.auth_url()), Some(201))
    );
    assert_eq!(
        seen[1],
        (format!("GET {}/v2.1/servers", cloud.url()), Some(200))
    );
    assert_eq!(
        seen[2],
        (format!("GET {}/v2.1/servers/nope", cloud.url()), Some(404))
    );
    http.reset_timings();
    assert!(http.get_timings().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_is_nova_shaped_and_request_ids_are_tracked() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let compute = http.service_client("compute");
    let e = compute.get("/servers/abc").await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(
        e.as_http().unwrap().message(),
        "Instance abc could not be found."
    );
    assert_eq!(
        e.as_http().unwrap().url(),
        Some(format!("{}/v2.1/servers/abc", cloud.url()).as_str())
    );
    assert_eq!(http.last_request_id().as_deref(), e.request_id());
    let r = compute
        .request(ApiRequest::get("/servers").query("limit", "2"))
        .await
        .unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(count_servers(&v), 2);
    assert!(
        v["servers_links"][0]["href"]
            .as_str()
            .unwrap()
            .contains(&format!("marker={}", FakeCloud::server_id(1)))
    );
}

#[test]
fn the_debug_log_is_curl_shaped_and_carries_no_secret() {
    let ((token, subject), log) = with_captured_trace(|| async {
        let cloud = FakeCloud::start().await.unwrap();
        let http = builder(&cloud).build().unwrap();
        let compute = http.service_client("compute");
        compute.get("/servers").await.unwrap();
        cloud.inject(Fault::Unauthorized, 1);
        compute
            .post(
                "/servers",
                &json!({"server": {"name": "x", "adminPass": "root-pw-123"}}),
            )
            .await
            .unwrap();
        let t2 = http
            .token_state()
            .access()
            .unwrap()
            .token()
            .expose_secret()
            .to_string();
        // the app credential flow too
        let ac = apiclient_auth::typed::V3ApplicationCredential::by_id(
            cloud.auth_url(),
            "ac-1",
            "appcredsecret",
        );
        let h2 = apiclient_http::HttpClient::builder(ac).build().unwrap();
        h2.service_client("compute").get("/servers").await.unwrap();
        let t3 = h2
            .token_state()
            .access()
            .unwrap()
            .token()
            .expose_secret()
            .to_string();
        (t2, t3)
    });
    assert!(log.contains("REQ: curl -g -i -X 'POST'"), "{log}");
    assert!(log.contains("RESP: [201]"));
    assert!(log.contains("x-auth-token: {SHA256}"));
    assert!(log.contains("x-subject-token: {SHA256}"));
    for secret in [
        "demopass",
        "appcredsecret",
        "root-pw-123",
        token.as_str(),
        subject.as_str(),
    ] {
        assert!(!log.contains(secret), "the log holds {secret}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timings_are_complete_under_concurrency() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).timings(true).build().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let c = http.service_client("compute");
        tasks.spawn(async move { c.get(&format!("/servers?limit={i}")).await.map(|_| ()) });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let t = http.get_timings();
    assert_eq!(
        t.iter().filter(|t| t.url.contains("/v2.1/servers")).count(),
        200
    );
    assert_eq!(
        t.iter()
            .filter(|t| t.url.ends_with("/v3/auth/tokens"))
            .count(),
        1
    );
    let mut urls: Vec<&str> = t.iter().map(|t| t.url.as_str()).collect();
    urls.sort_unstable();
    urls.dedup();
    assert_eq!(
        urls.len(),
        201,
        "one record per attempt, none lost or doubled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fakecloud_validates_tokens_and_scopes_like_keystone() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let access = http.authenticate().await.unwrap();
    let identity = http.service_client("identity");
    let subject = access.token().expose_secret().to_string();
    let v: Value = identity
        .request(ApiRequest::get("/auth/tokens").header("X-Subject-Token", &subject))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["token"]["project"]["id"], "p-demo");
    identity
        .request(
            ApiRequest::new(http::Method::HEAD, "/auth/tokens").header("X-Subject-Token", &subject),
        )
        .await
        .unwrap();
    let e = identity
        .request(ApiRequest::get("/auth/tokens").header("X-Subject-Token", "gAAAAAgarbage"))
        .await
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.as_http().unwrap().message(), "Failed to validate token");

    for (extra, check) in [("domain_name", "domain"), ("system_scope", "system")] {
        let plugin = apiclient_auth::KeystonePlugin::v3_password(
            cloud.auth_url(),
            "admin",
            "Default",
            "secret",
        )
        .with(
            extra,
            if extra == "system_scope" {
                "all"
            } else {
                "Default"
            },
        );
        let a = apiclient_http::HttpClient::builder(Box::new(plugin))
            .build()
            .unwrap()
            .authenticate()
            .await
            .unwrap();
        match check {
            "domain" => assert_eq!(a.domain_id(), Some("default")),
            _ => assert_eq!(a.scope, apiclient_auth::TokenScope::System),
        }
    }
}

/// When [`closing_server`] closes a connection unanswered, as a server does
/// when it closes an idle connection just as a request is sent on it.
#[derive(Clone, Copy)]
enum Closing {
    /// Each connection answers this many requests (keep-alive), then reads
    /// the next one and closes.
    After(usize),
    /// The first request for each of these paths (on whichever connection
    /// it comes: whether the pool reuses a connection at once is a race).
    FirstOf(&'static [&'static str]),
}

/// A server that reads each request whole and answers it, or closes the
/// connection without a word as `closing` says. Returns its URL and the
/// counts of connections and request heads.
async fn closing_server(closing: Closing) -> (String, Arc<AtomicI64>, Arc<AtomicI64>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicI64::new(0));
    let heads = Arc::new(AtomicI64::new(0));
    let closed_paths = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (c2, h2) = (connections.clone(), heads.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            c2.fetch_add(1, Ordering::SeqCst);
            let heads = h2.clone();
            let closed_paths = closed_paths.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                for served in 0.. {
                    let mut length = 0usize;
                    let mut path = String::new();
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if path.is_empty() {
                            path = line.split(' ').nth(1).unwrap_or("?").to_string();
                        }
                        let line = line.trim_end().to_ascii_lowercase();
                        if let Some(v) = line.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line.is_empty() {
                            break;
                        }
                    }
                    heads.fetch_add(1, Ordering::SeqCst);
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let close = match closing {
                        Closing::After(answers) => served == answers,
                        Closing::FirstOf(paths) => {
                            let mut closed = closed_paths.lock().unwrap();
                            let first = paths.contains(&path.as_str()) && !closed.contains(&path);
                            if first {
                                closed.push(path);
                            }
                            first
                        }
                    };
                    if close {
                        return; // closes the connection
                    }
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    if reader.get_mut().write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, connections, heads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_closed_before_the_answer_is_retried_once_for_replayable_requests()
{
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let (url, connections, heads) = closing_server(Closing::FirstOf(&["/b", "/c"])).await;
    let svc = ServiceClient::new(&http, apiclient_auth::EndpointFilter::new("compute"))
        .with_endpoint_override(url);
    svc.get("/a").await.unwrap();
    // the second GET (on the kept connection, when the pool has it back
    // already) is closed unanswered: it is sent again at once, on a new
    // connection
    svc.get("/b").await.unwrap();
    assert!(connections.load(Ordering::SeqCst) >= 2);
    assert_eq!(heads.load(Ordering::SeqCst), 3);
    // a POST is not replayed: the server may have acted on it
    let e = svc.post("/c", &json!({})).await.unwrap_err();
    match &e {
        Error::Connection(c) => assert_eq!(c.kind(), ConnectionErrorKind::Closed, "{c:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(heads.load(Ordering::SeqCst), 4);

    // a server that never answers: one retry, then the typed error
    let (url, connections, heads) = closing_server(Closing::After(0)).await;
    let svc = ServiceClient::new(&http, apiclient_auth::EndpointFilter::new("compute"))
        .with_endpoint_override(url);
    let e = svc.get("/a").await.unwrap_err();
    match &e {
        Error::Connection(c) => assert_eq!(c.kind(), ConnectionErrorKind::Closed, "{c:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(heads.load(Ordering::SeqCst), 2, "one request and one retry");
    assert_eq!(connections.load(Ordering::SeqCst), 2);

    // with no retries, the first close is the answer
    let none = builder(&cloud).retry(RetryPolicy::none()).build().unwrap();
    let (url, _, heads) = closing_server(Closing::After(0)).await;
    let svc = ServiceClient::new(&none, apiclient_auth::EndpointFilter::new("compute"))
        .with_endpoint_override(url);
    svc.get("/a").await.unwrap_err();
    assert_eq!(heads.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_input_is_typed_by_kind_and_nothing_is_sent() {
    use apiclient_errors::InvalidKind;
    let cloud = FakeCloud::start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let compute = http.service_client("compute");
    compute.get("/servers").await.unwrap();
    cloud.reset_counts();
    let kind = |r: Result<apiclient_http::ApiResponse, Error>| r.unwrap_err().invalid_kind();
    assert_eq!(
        kind(
            compute
                .request(ApiRequest::get("/servers").header("bad header", "x"))
                .await
        ),
        Some(InvalidKind::Header)
    );
    assert_eq!(
        kind(
            compute
                .request(ApiRequest::get("/servers").query_of(&[1, 2]))
                .await
        ),
        Some(InvalidKind::Query)
    );
    assert_eq!(
        kind(http.request(ApiRequest::get("/servers")).await),
        Some(InvalidKind::Url),
        "a path needs a service client"
    );
    assert_eq!(
        "2.x"
            .parse::<apiclient_http::microversion::Microversion>()
            .unwrap_err()
            .invalid_kind(),
        Some(InvalidKind::Microversion)
    );
    assert_eq!(cloud.count("GET /v2.1/servers"), 0, "nothing was sent");
}

/// A client of `cloud` that retries a 503 twice, quickly; `layered`: under
/// a layer of the user's (the boxed stack of tower layers), else the
/// client's own stack.
fn retrying_client(cloud: &FakeCloud, layered: bool) -> apiclient_http::HttpClient {
    let policy = RetryPolicy::default()
        .base_delay(Duration::from_millis(10))
        .max_status_retries(2);
    let mut b = builder(cloud).retry(policy);
    if layered {
        b = b.with_layer(tower::layer::util::Identity::new());
    }
    b.build().unwrap()
}

/// The client's own stack (retries and auth fused into one future, when no
/// layer of the user's wraps it) and the same stack of tower layers (boxed,
/// under a layer of the user's) retry, renew and replay alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fused_stack_and_the_layered_stack_retry_renew_and_replay_alike() {
    for layered in [false, true] {
        let cloud = FakeCloud::start().await.unwrap();
        let http = retrying_client(&cloud, layered);
        let compute = http.service_client("compute");
        let path = if layered { "layered" } else { "fused" };

        // no token yet: the call waits for the one authentication
        let all: Value = compute.get("/servers").await.unwrap().json().unwrap();
        assert_eq!(cloud.count(AUTH), 1, "{path}");
        let before = count_servers(&all);

        // a 401: one renewal, the body replayed once
        cloud.inject(Fault::Unauthorized, 1);
        let created = compute
            .post("/servers", &json!({"server": {"name": "replayed"}}))
            .await
            .unwrap();
        assert_eq!(created.status(), 202, "{path}");
        assert!(
            created.url().ends_with("/v2.1/servers"),
            "{path}: {}",
            created.url()
        );
        assert_eq!(cloud.count(AUTH), 2, "{path}");
        assert_eq!(cloud.count("POST /v2.1/servers"), 2, "{path}");
        let all: Value = compute.get("/servers").await.unwrap().json().unwrap();
        assert_eq!(count_servers(&all), before + 1, "{path}: created once");

        // 503s: a GET is retried within the budget, a POST is not replayed
        cloud.reset_counts();
        // (3 for the GET and its 2 retries, 1 for the POST: none left over)
        cloud.inject(Fault::ServiceUnavailable, 4);
        let err = compute.get("/servers").await.unwrap_err();
        assert_eq!(err.status(), Some(503), "{path}");
        assert_eq!(cloud.count("GET /v2.1/servers"), 3, "{path}: 1 + 2 retries");
        let err = compute
            .post("/servers", &json!({"server": {"name": "x"}}))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(503), "{path}");
        assert_eq!(cloud.count("POST /v2.1/servers"), 1, "{path}: not replayed");

        // a second 401 after the renewal is the answer
        cloud.reset_counts();
        cloud.inject(Fault::Unauthorized, 2);
        let err = compute.get("/servers").await.unwrap_err();
        assert!(err.is_unauthorized(), "{path}: {err:?}");
        assert_eq!(cloud.count(AUTH), 1, "{path}: exactly one renewal");
        assert_eq!(cloud.count("GET /v2.1/servers"), 2, "{path}");
        assert!(compute.get("/servers").await.is_ok(), "{path}");
        assert!(http.last_request_id().is_some(), "{path}");
    }
}

/// A call a subscriber's `request` span listens to takes the client's own
/// stack too (the span entered while it is polled), and its span records
/// what the layered stack's does: every attempt (a retry, the replay after
/// a 401) and the final status.
#[test]
fn a_traced_call_records_its_attempts_alike_on_both_stacks() {
    let mut seen = Vec::new();
    for layered in [false, true] {
        let ((), text) = crate::support::with_captured_spans(|| async {
            let cloud = FakeCloud::start().await.unwrap();
            let http = retrying_client(&cloud, layered);
            let compute = http.service_client("compute");
            compute.get("/servers").await.unwrap();
            cloud.inject(Fault::ServiceUnavailable, 1);
            compute.get("/servers").await.unwrap();
            cloud.inject(Fault::Unauthorized, 1);
            compute
                .post("/servers", &json!({"server": {"name": "traced"}}))
                .await
                .unwrap();
            cloud.inject(Fault::Unauthorized, 2);
            assert!(compute.get("/servers").await.unwrap_err().is_unauthorized());
        });
        let field = |line: &str, name: &str| {
            let at = line.find(&format!("{name}="))? + name.len() + 1;
            Some(line[at..].split([' ', '}']).next()?.to_string())
        };
        let closes: Vec<(Option<String>, Option<String>)> = text
            .lines()
            .filter(|l| l.contains("request{") && l.contains("close"))
            .map(|l| (field(l, "attempts"), field(l, "http.response.status_code")))
            .collect();
        let path = if layered { "layered" } else { "fused" };
        let want = |a: &str, s: &str| (Some(a.to_string()), Some(s.to_string()));
        assert_eq!(
            closes,
            vec![
                want("1", "200"),
                want("2", "200"),
                want("2", "202"),
                want("2", "401"),
            ],
            "{path}: {text}"
        );
        seen.push(closes);
    }
    assert_eq!(seen[0], seen[1]);
}

/// With only the curl log listening (no span), the client's own stack logs
/// each attempt as the layered stack does: the request with its default
/// headers and its token hashed, the answer's status, headers and body.
#[test]
fn the_curl_log_is_the_same_on_the_fused_and_the_layered_stack() {
    use tracing_subscriber::layer::SubscriberExt;
    let mut lines = Vec::new();
    for layered in [false, true] {
        let _asked = crate::support::every_dispatcher_asked();
        let cap = crate::support::Capture::default();
        let sub = tracing_subscriber::registry()
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("apiclient_http::curl", tracing::Level::DEBUG),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(cap.clone())
                    .with_ansi(false),
            );
        let _guard = tracing::subscriber::set_default(sub);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let port = rt.block_on(async {
            let cloud = FakeCloud::start().await.unwrap();
            let mut b = builder(&cloud);
            if layered {
                b = b.with_layer(tower::layer::util::Identity::new());
            }
            let http = b.build().unwrap();
            let compute = http.service_client("compute");
            compute.get("/servers").await.unwrap();
            cloud.inject(Fault::ServiceUnavailable, 1);
            compute.get("/servers").await.unwrap();
            cloud.addr().port()
        });
        let text = cap.text();
        let path = if layered { "layered" } else { "fused" };
        let get = format!("REQ: curl -g -i -X 'GET' 'http://127.0.0.1:{port}/v2.1/servers'");
        // the first call, its 503 and its retry; the token's request
        assert_eq!(text.matches(&get).count(), 3, "{path}: {text}");
        assert_eq!(
            text.matches("REQ: curl -g -i -X 'POST'").count(),
            1,
            "{path}: {text}"
        );
        assert_eq!(text.matches("RESP: [200]").count(), 2, "{path}: {text}");
        assert_eq!(text.matches("RESP: [503]").count(), 1, "{path}: {text}");
        assert!(text.contains("-H 'user-agent: "), "{path}: {text}");
        assert!(
            text.contains("-H 'x-auth-token: {SHA256}"),
            "{path}: {text}"
        );
        assert!(text.contains("RESP BODY: {\"servers\""), "{path}: {text}");
        lines.push(text.matches("apiclient_http::curl: ").count());
    }
    assert_eq!(lines[0], lines[1], "as many lines on both stacks");
}
