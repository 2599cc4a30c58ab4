//! Each layer on its own, with tower-test mocks.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::transport::FnTransport;
use apiclient_auth::{EndpointFilter, KeystonePlugin};
use apiclient_errors::{BoxError, ConnectionError, ConnectionErrorKind, Error};
use apiclient_http::Body;
use apiclient_http::layers::auth::{AuthLayer, Target};
use apiclient_http::layers::curl_log::CurlLogLayer;
use apiclient_http::layers::defaults::DefaultsLayer;
use apiclient_http::layers::retry::{RetryLayer, RetryPolicy};
use apiclient_http::layers::timing::{TimingLayer, Timings};
use apiclient_http::token::TokenState;
use bytes::Bytes;
use http::{Request, Response};
use tokio_test::assert_ready_ok;
use tower_test::mock;

type Req = Request<Body>;
type Resp = Response<Body>;

fn get(uri: &str) -> Req {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn status(code: u16) -> Resp {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn defaults_layer_fills_only_missing_headers() {
    let (mut svc, mut handle) = mock::spawn_layer::<Req, Resp, _>(
        DefaultsLayer::new("app/1 apiclient-rs/0").original_ip(Some("10.1.2.3")),
    );
    assert_ready_ok!(svc.poll_ready());
    let req = Request::get("http://x/")
        .header("accept", "text/plain")
        .body(Body::empty())
        .unwrap();
    let fut = svc.call(req);
    let (seen, send) = handle.next_request().await.unwrap();
    send.send_response(status(200));
    fut.await.unwrap();
    assert_eq!(seen.headers()["user-agent"], "app/1 apiclient-rs/0");
    assert_eq!(
        seen.headers()["accept"],
        "text/plain",
        "the caller's header is kept"
    );
    assert_eq!(
        seen.headers()["forwarded"],
        "for=10.1.2.3;by=app/1 apiclient-rs/0"
    );
}

#[tokio::test]
async fn timing_layer_records_statuses_and_failures_only_when_enabled() {
    let timings = Timings::new(true);
    let (mut svc, mut handle) =
        mock::spawn_layer::<Req, Resp, _>(TimingLayer::new(timings.clone()));
    assert_ready_ok!(svc.poll_ready());
    let fut = svc.call(get("http://x/a"));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(status(404));
    fut.await.unwrap();
    assert_ready_ok!(svc.poll_ready());
    let fut = svc.call(get("http://x/b"));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error(ConnectionError::new(
        ConnectionErrorKind::Closed,
        "http://x/b",
        None,
    ));
    assert!(fut.await.is_err());
    let t = timings.get();
    assert_eq!(
        (t[0].method.as_str(), t[0].url.as_str(), t[0].status),
        ("GET", "http://x/a", Some(404))
    );
    assert_eq!((t[1].url.as_str(), t[1].status), ("http://x/b", None));
    timings.set_enabled(false);
    assert_ready_ok!(svc.poll_ready());
    let fut = svc.call(get("http://x/c"));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(status(200));
    fut.await.unwrap();
    assert_eq!(timings.get().len(), 2);
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn curl_log_layer_logs_redacted_lines_at_debug() {
    // a second, inert dispatcher: while only one exists, tracing-core takes
    // a callsite's interest from the default of the thread that first hits
    // it, and a concurrent test without a subscriber would turn the curl
    // log's callsites off for this one
    let _asked = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let buf = Buf::default();
    let b2 = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || b2.clone())
        .with_ansi(false)
        .finish();
    let _g = tracing::subscriber::set_default(sub);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut svc, mut handle) = mock::spawn_layer::<Req, Resp, _>(CurlLogLayer::new(true));
        assert_ready_ok!(svc.poll_ready());
        let req = Request::post("http://k/v3/auth/tokens")
            .header("X-Auth-Token", "tok-SECRET")
            .body(Body::from(Bytes::from_static(br#"{"auth":{"identity":{"password":{"user":{"name":"u","password":"pw-SECRET"}}}}}"#)))
            .unwrap();
        let fut = svc.call(req);
        let (_, send) = handle.next_request().await.unwrap();
        send.send_response(
            Response::builder()
                .status(201)
                .header("X-Subject-Token", "subject-SECRET")
                .body(Body::from(Bytes::from_static(br#"{"token":{"methods":["password"]}}"#)))
                .unwrap(),
        );
        fut.await.unwrap();
    });
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("REQ: curl -g -i --insecure -X 'POST' 'http://k/v3/auth/tokens'"),
        "{log}"
    );
    assert!(log.contains("x-auth-token: {SHA256}"));
    assert!(log.contains("RESP: [201] x-subject-token: {SHA256}"));
    assert!(log.contains(r#"RESP BODY: {"token":{"methods":["password"]}}"#));
    assert!(!log.contains("SECRET"), "{log}");
}

#[tokio::test(start_paused = true)]
async fn retry_layer_backs_off_honours_retry_after_and_spares_post() {
    let policy = RetryPolicy::default().max_status_retries(2);
    let (mut svc, mut handle) = mock::spawn_layer::<Req, Resp, _>(RetryLayer::new(policy));
    assert_ready_ok!(svc.poll_ready());
    let t0 = tokio::time::Instant::now();
    let fut = tokio::spawn(svc.call(get("http://x/")));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(
        Response::builder()
            .status(429)
            .header("retry-after", "7")
            .body(Body::empty())
            .unwrap(),
    );
    let (_, send) = handle.next_request().await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_secs(7),
        "Retry-After honoured: {:?}",
        t0.elapsed()
    );
    send.send_response(status(503));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(status(503));
    let resp = fut.await.unwrap().unwrap();
    assert_eq!(
        resp.status(),
        503,
        "bounded: 1 + 2 retries, then the response stands"
    );

    assert_ready_ok!(svc.poll_ready());
    let fut = tokio::spawn(svc.call(Request::post("http://x/").body(Body::from("{}")).unwrap()));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(status(503));
    assert_eq!(
        fut.await.unwrap().unwrap().status(),
        503,
        "POST is not replayed"
    );

    assert_ready_ok!(svc.poll_ready());
    let fut = tokio::spawn(svc.call(get("http://x/")));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error(Error::from(ConnectionError::new(
        ConnectionErrorKind::Refused,
        "http://x/",
        None,
    )));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(status(200));
    assert_eq!(
        fut.await.unwrap().unwrap().status(),
        200,
        "a refused connect is retried for GET"
    );
}

#[test]
fn backoff_is_exponential_jittered_and_capped() {
    let p = RetryPolicy::default();
    for n in 0..10 {
        let d = p.backoff(n);
        let full = (p.base_delay * 2u32.pow(n)).min(p.max_delay);
        assert!(
            d >= full / 2 && d <= full,
            "retry {n}: {d:?} not in [{:?}, {full:?}]",
            full / 2
        );
    }
    assert!(p.backoff(40) <= p.max_delay);
}

fn keystone_stub(auths: Arc<AtomicUsize>) -> apiclient_auth::transport::SharedTransport {
    Arc::new(FnTransport::new(move |_req: Request<Bytes>| {
        let n = auths.fetch_add(1, Ordering::SeqCst) + 1;
        let body = r#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "project": {"id": "p"}, "catalog": [{"type": "compute", "endpoints": [{"interface": "public", "url": "http://nova/v2.1/"}]}]}}"#;
        std::future::ready(Ok::<_, Error>(
            Response::builder()
                .status(201)
                .header("x-subject-token", format!("token-{n}"))
                .body(Bytes::from(body))
                .unwrap(),
        ))
    }))
}

#[tokio::test]
async fn auth_layer_sets_the_token_joins_the_url_and_reauthenticates_once_on_401() {
    let auths = Arc::new(AtomicUsize::new(0));
    let plugin = KeystonePlugin::v3_password("http://k/v3", "u", "Default", "p");
    let state = Arc::new(TokenState::new(
        Box::new(plugin),
        keystone_stub(auths.clone()),
        Duration::from_secs(120),
        Arc::new(time::OffsetDateTime::now_utc),
    ));
    let (mut svc, mut handle) = mock::spawn_layer::<Req, Resp, _>(AuthLayer::new(state.clone()));
    let target = Target::new(EndpointFilter::new("compute"));
    let with_target = |body: &'static [u8]| {
        let mut r = Request::post("/servers")
            .body(Body::from(Bytes::from_static(body)))
            .unwrap();
        r.extensions_mut().insert(target.clone());
        r
    };

    // first request: authenticates, sets the token, joins the URL
    assert_ready_ok!(svc.poll_ready());
    let fut = tokio::spawn(svc.call(with_target(b"one")));
    let (seen, send) = handle.next_request().await.unwrap();
    assert_eq!(seen.uri(), "http://nova/v2.1/servers");
    assert_eq!(seen.headers()["x-auth-token"], "token-1");
    assert!(seen.headers()["x-auth-token"].is_sensitive());
    send.send_response(status(200));
    fut.await.unwrap().unwrap();

    // a 401 on a token that was not just issued: one re-auth, the same bytes replayed
    assert_ready_ok!(svc.poll_ready());
    let fut = tokio::spawn(svc.call(with_target(b"two")));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(status(401));
    let (replayed, send) = handle.next_request().await.unwrap();
    assert_eq!(replayed.headers()["x-auth-token"], "token-2");
    assert_eq!(replayed.body().as_bytes().unwrap().as_ref(), b"two");
    send.send_response(status(201));
    assert_eq!(fut.await.unwrap().unwrap().status(), 201);
    assert_eq!(auths.load(Ordering::SeqCst), 2);

    // a second 401 right after that re-auth is not retried again
    state.invalidate();
    assert_ready_ok!(svc.poll_ready());
    let fut = tokio::spawn(svc.call(with_target(b"three")));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(status(401));
    assert_eq!(fut.await.unwrap().unwrap().status(), 401);
    assert_eq!(auths.load(Ordering::SeqCst), 3);

    // a request without a Target passes through untouched
    assert_ready_ok!(svc.poll_ready());
    let fut = tokio::spawn(svc.call(get("http://other/x")));
    let (seen, send) = handle.next_request().await.unwrap();
    assert!(seen.headers().get("x-auth-token").is_none());
    send.send_response(status(200));
    fut.await.unwrap().unwrap();
}

#[tokio::test]
async fn user_layers_can_be_inserted_into_the_stack() {
    use tower::ServiceBuilder;
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let slow = apiclient_http::HttpService::new(tower::service_fn(move |_req: Req| {
        c2.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, BoxError>(status(200))
        }
    }));
    let http = apiclient_http::HttpClient::builder(Box::new(KeystonePlugin::no_auth("http://svc")))
        .base_transport(slow)
        .with_layer(
            ServiceBuilder::new()
                .timeout(Duration::from_millis(50))
                .concurrency_limit(1)
                .into_inner(),
        )
        .build()
        .unwrap();
    let err = http.service_client("svc").get("/").await.unwrap_err();
    assert!(err.is_timeout(), "tower's timeout layer fired: {err:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
