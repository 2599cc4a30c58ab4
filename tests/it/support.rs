//! Shared helpers.

use std::io::Write;
use std::sync::{Arc, Mutex};

use apiclient_auth::typed::{AdminToken, Scope, V3Password};
use apiclient_fake::FakeCloud;
use apiclient_http::{HttpClient, HttpClientBuilder};

/// The FakeCloud's demo user, scoped to project demo: the typed plugin.
pub fn demo_plugin(cloud: &FakeCloud) -> V3Password {
    V3Password::new(cloud.auth_url(), "demo", "demopass")
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"))
}

pub fn builder(cloud: &FakeCloud) -> HttpClientBuilder {
    HttpClient::builder(demo_plugin(cloud))
}

/// A tracing writer that captures everything into a buffer.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Hold this while a test's scoped subscriber (`set_default`) must see
/// every event. While only one dispatcher exists, tracing-core decides a
/// callsite's interest, once, from the default of the thread that first
/// hits it: a callsite first hit by a concurrent test without a subscriber
/// then stays off for the test that has one (its curl log lines went
/// missing when the two ran at once). A second, inert dispatcher makes
/// tracing-core ask every live dispatcher instead.
#[must_use = "hold it until the test ends"]
pub fn every_dispatcher_asked() -> tracing::Dispatch {
    tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default())
}

/// Run `f` on a current-thread runtime with every tracing event at TRACE captured.
pub fn with_captured_trace<F: std::future::Future>(f: impl FnOnce() -> F) -> (F::Output, String) {
    captured(tracing::Level::TRACE, false, f)
}

/// Run `f` on a current-thread runtime with every INFO event and each span's
/// close (with its fields) captured.
pub fn with_captured_spans<F: std::future::Future>(f: impl FnOnce() -> F) -> (F::Output, String) {
    captured(tracing::Level::INFO, true, f)
}

/// Run `f` on a current-thread runtime, what a subscriber at `level` writes
/// captured (with each span's close when `closes`).
fn captured<F: std::future::Future>(
    level: tracing::Level,
    closes: bool,
    f: impl FnOnce() -> F,
) -> (F::Output, String) {
    use tracing_subscriber::fmt::format::FmtSpan;
    let _asked = every_dispatcher_asked();
    let cap = Capture::default();
    let sub = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_span_events(if closes {
            FmtSpan::CLOSE
        } else {
            FmtSpan::NONE
        })
        .with_writer(cap.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(sub);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(f());
    (out, cap.text())
}

/// Requests seen by a [`recording`] client: (method, URI, body).
pub type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// An HttpClient over an in-memory service: `admin_token` with endpoint
/// `http://svc/v1`; every request is recorded and answered by `respond`.
pub fn recording(
    respond: impl Fn(&http::Request<bytes::Bytes>) -> http::Response<bytes::Bytes>
    + Send
    + Sync
    + 'static,
) -> (HttpClient, Seen) {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let respond = Arc::new(respond);
    let svc = apiclient_http::buffered_service(move |req: http::Request<bytes::Bytes>| {
        s2.lock().unwrap().push((
            req.method().to_string(),
            req.uri().to_string(),
            String::from_utf8_lossy(req.body()).into_owned(),
        ));
        let resp = respond(&req);
        async move { Ok::<_, apiclient_errors::BoxError>(resp) }
    });
    let http = HttpClient::builder(AdminToken::new("http://svc/v1", "t"))
        .base_transport(svc)
        .build()
        .unwrap();
    (http, seen)
}

/// A JSON response.
pub fn json_response(
    status: u16,
    body: &serde_json::Value,
    request_id: Option<&str>,
) -> http::Response<bytes::Bytes> {
    let mut b = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(r) = request_id {
        b = b.header("x-openstack-request-id", r);
    }
    b.body(bytes::Bytes::from(body.to_string())).unwrap()
}

/// Whether Keystone (:5000) and `what` (on `port`) answer on loopback; when
/// they do not, the test says it skips, except under CI, where a missing
/// service is a failure (`cargo xtask <what> start`).
pub fn real_service(port: u16, what: &str) -> bool {
    let up = |port: u16| {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            std::time::Duration::from_secs(2),
        )
        .is_ok()
    };
    if up(5000) && up(port) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must start Keystone and {what} (cargo xtask keystone start; cargo xtask {what} start)"
    );
    eprintln!("skipping: needs Keystone on :5000 and {what} on :{port}");
    false
}

/// A client of the real Keystone's seeded demo user (project demo, role
/// member) in RegionOne.
pub fn real_demo() -> HttpClient {
    let plugin =
        apiclient_auth::typed::V3Password::new("http://127.0.0.1:5000/v3", "demo", "demopass")
            .user_domain_name("Default")
            .scope(apiclient_auth::typed::Scope::project_name(
                "demo", "Default",
            ));
    HttpClient::builder(plugin)
        .region_name(Some("RegionOne".into()))
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap()
}
