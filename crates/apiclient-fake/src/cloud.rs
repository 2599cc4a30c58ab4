//! FakeCloud: a real HTTP server on 127.0.0.1 that behaves like Keystone v3
//! (for what this library uses), a compute-like and an image-like service,
//! with fault switches and per-route request counters.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type RespBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

/// A fault the next matching requests get instead of (or before) their normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// 401 in Keystone's shape.
    Unauthorized,
    /// 429 with `Retry-After: <secs>`.
    TooManyRequests {
        /// The Retry-After value in seconds.
        retry_after: u64,
    },
    /// 503.
    ServiceUnavailable,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Close the connection without answering.
    DropConnection,
    /// Send half of the body, then close (Content-Length promises more).
    TruncatedBody,
    /// A 502 HTML page, as a proxy sends it.
    BadGatewayHtml,
    /// Headers and half the body at once, the rest after this long.
    StalledBody(Duration),
    /// The body in `chunks` pieces, `interval` apart.
    SlowDrip {
        /// How many pieces.
        chunks: usize,
        /// The pause between pieces.
        interval: Duration,
    },
    /// A complete 200 response whose JSON is cut in half (Content-Length matches).
    TruncatedJson,
    /// A 200 with `Content-Type: application/json` and a body that is not JSON.
    InvalidJson,
    /// The normal answer with `Connection: close` (the server closes the keep-alive connection).
    CloseConnection,
    /// An object upload answered 401 after this many bytes of its body were
    /// read (a token that expired mid-upload).
    UnauthorizedAfter(u64),
}

/// A user of the fake Keystone.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// Id.
    pub id: String,
    /// Name (in domain `Default`).
    pub name: String,
    /// Password.
    pub password: String,
    /// The project it has a role on.
    pub project_id: String,
}

#[derive(Debug, Clone)]
struct TokenInfo {
    user: usize,
    scope: Value,
    methods: Vec<String>,
    expires: OffsetDateTime,
    issued: OffsetDateTime,
    revoked: bool,
}

struct State {
    base: String,
    users: Vec<FakeUser>,
    projects: Vec<(String, String)>,
    app_creds: Vec<(String, String, String, usize)>, // id, name, secret, user
    tokens: HashMap<String, TokenInfo>,
    token_lifetime: Duration,
    faults: VecDeque<Fault>,
    fault_prefix: String,
    counts: BTreeMap<String, u64>,
    servers: BTreeMap<String, Value>,
    images: Vec<Value>,
    mounted: BTreeMap<String, Mounted>,
    next_id: u64,
    /// (identity provider, protocol) → (access-token check, local user)
    federation: BTreeMap<(String, String), (TokenCheck, usize)>,
}

type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Builds a [`FakeCloud`].
#[derive(Debug, Clone)]
pub struct FakeCloudBuilder {
    token_lifetime: Duration,
    servers: usize,
    images: usize,
}

impl Default for FakeCloudBuilder {
    fn default() -> Self {
        FakeCloudBuilder {
            token_lifetime: Duration::from_secs(3600),
            servers: 5,
            images: 5,
        }
    }
}

impl FakeCloudBuilder {
    /// Tokens live this long (default one hour).
    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.token_lifetime = d;
        self
    }

    /// Start with this many servers (default 5).
    pub fn servers(mut self, n: usize) -> Self {
        self.servers = n;
        self
    }

    /// Start with this many images (default 5).
    pub fn images(mut self, n: usize) -> Self {
        self.images = n;
        self
    }

    /// Bind 127.0.0.1 on an ephemeral port and serve.
    pub async fn start(self) -> std::io::Result<FakeCloud> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let mut servers = BTreeMap::new();
        for i in 0..self.servers {
            let (id, server) = seeded_server(i);
            servers.insert(id, server);
        }
        let images = (0..self.images)
            .map(|i| json!({"id": format!("img-{i:06}"), "name": format!("image-{i}"), "status": "active"}))
            .collect();
        let state = Arc::new(Mutex::new(State {
            base: base.clone(),
            users: vec![
                FakeUser {
                    id: "u-admin".into(),
                    name: "admin".into(),
                    password: "secret".into(),
                    project_id: "p-admin".into(),
                },
                FakeUser {
                    id: "u-demo".into(),
                    name: "demo".into(),
                    password: "demopass".into(),
                    project_id: "p-demo".into(),
                },
            ],
            projects: vec![
                ("p-admin".into(), "admin".into()),
                ("p-demo".into(), "demo".into()),
            ],
            app_creds: vec![("ac-1".into(), "ci-test".into(), "appcredsecret".into(), 1)],
            tokens: HashMap::new(),
            token_lifetime: self.token_lifetime,
            faults: VecDeque::new(),
            fault_prefix: "/v2.1".into(),
            counts: BTreeMap::new(),
            servers,
            images,
            mounted: BTreeMap::new(),
            next_id: 1,
            federation: BTreeMap::new(),
        }));
        let connections = Arc::new(AtomicU64::new(0));
        let objects = Arc::new(crate::object_store::ObjectStore::new()?);
        let accept = tokio::spawn(serve(listener, state.clone(), objects, connections.clone()));
        Ok(FakeCloud {
            addr,
            base,
            state,
            accept,
            connections,
        })
    }
}

/// A running fake cloud. Stopped when dropped.
///
/// Users: `admin`/`secret` (project `admin`), `demo`/`demopass` (project
/// `demo`); application credential `ac-1` (name `ci-test`, user `demo`,
/// secret `appcredsecret`). Catalog (RegionOne): identity at `/v3`,
/// compute at `/v2.1`, image at `/image`, block-storage at `/volume/v3/<project>`,
/// object-store at `/v1/AUTH_<project>`, and every [`mount`](Self::mount)ed
/// service at `/svc/<type>`.
///
/// The compute service is Nova-shaped: UUID ids ([`server_id`](Self::server_id)),
/// `/servers` (id, name, links) and `/servers/detail`, `/flavors` and
/// `/flavors/detail`, server actions (`POST /servers/{id}/action`, 202),
/// create answering 202 with `id`, `links` and `adminPass`; it checks the
/// microversion asked for (2.1 to 2.96, `latest`; 406 outside) and echoes it
/// in `OpenStack-API-Version` and `X-OpenStack-Nova-API-Version`.
///
/// Route names for [`count`](Self::count): `"<METHOD> <path>"` with ids
/// replaced: `GET /v2.1/servers/{id}`, `GET /v2.1/flavors/{id}`,
/// `POST /v2.1/servers/{id}/action`, `GET /image/v2/images/{id}`,
/// `PUT /v1/{account}/<container>/<object>`, `POST /v3/auth/tokens`; other
/// paths as they are.
pub struct FakeCloud {
    addr: SocketAddr,
    base: String,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
    connections: Arc<AtomicU64>,
}

impl std::fmt::Debug for FakeCloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCloud")
            .field("url", &self.base)
            .finish()
    }
}

impl Drop for FakeCloud {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FakeCloud {
    /// Start with the defaults.
    pub async fn start() -> std::io::Result<FakeCloud> {
        FakeCloudBuilder::default().start().await
    }

    /// A builder.
    pub fn builder() -> FakeCloudBuilder {
        FakeCloudBuilder::default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The identity v3 URL (`<url>/v3`).
    pub fn auth_url(&self) -> String {
        format!("{}/v3", self.base)
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }

    /// The next `n` requests whose path starts with the fault prefix (default
    /// `/v2.1`, the compute service) get `fault`.
    pub fn inject(&self, fault: Fault, n: usize) {
        self.with(|s| s.faults.extend(std::iter::repeat_n(fault, n)));
    }

    /// Apply faults to paths starting with `prefix` (e.g. `/v3` or `/`).
    pub fn set_fault_prefix(&self, prefix: &str) {
        self.with(|s| s.fault_prefix = prefix.to_string());
    }

    /// How many requests `route` saw, e.g. `"POST /v3/auth/tokens"` or `"GET /v2.1/servers"`.
    pub fn count(&self, route: &str) -> u64 {
        self.with(|s| s.counts.get(route).copied().unwrap_or(0))
    }

    /// Every route's count.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.with(|s| s.counts.clone())
    }

    /// Reset the counters.
    pub fn reset_counts(&self) {
        self.with(|s| s.counts.clear());
    }

    /// Revoke every token issued so far.
    pub fn revoke_all(&self) {
        self.with(|s| s.tokens.values_mut().for_each(|t| t.revoked = true));
    }

    /// Change the lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, d: Duration) {
        self.with(|s| s.token_lifetime = d);
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.with(|s| s.tokens.len())
    }

    /// Connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// The id of seeded server `i` (`server-<i>`): UUID-shaped, as Nova's.
    pub fn server_id(i: usize) -> String {
        format!("{i:08x}-0000-4000-8000-{i:012x}")
    }

    /// Trust an identity provider: `POST
    /// /v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`
    /// with `Authorization: Bearer <token>` answers an unscoped token of
    /// `local_user` (methods `[protocol]`) when `check(token)` holds, 401
    /// otherwise; as a mapping of every federated identity to one user does.
    /// An unknown `local_user` is refused (false).
    pub fn add_identity_provider(
        &self,
        idp: &str,
        protocol: &str,
        check: impl Fn(&str) -> bool + Send + Sync + 'static,
        local_user: &str,
    ) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(user) = s.users.iter().position(|u| u.name == local_user) else {
            return false;
        };
        s.federation.insert(
            (idp.to_string(), protocol.to_string()),
            (Arc::new(check), user),
        );
        true
    }

    /// Serve `service_type` (it appears in the catalog, at
    /// `<url>/svc/<service_type>`) with `handler`: it receives the request
    /// with its path relative to that endpoint and answers a
    /// [`TestResponse`](crate::TestResponse). The token is checked first (a
    /// 401 otherwise); faults and counters apply as to the built-in services.
    ///
    /// ```
    /// use apiclient_fake::{FakeCloud, TestResponse};
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
    /// let cloud = FakeCloud::start().await.unwrap();
    /// cloud.mount("placement", |req| TestResponse::json(200, &serde_json::json!({"path": req.path})));
    /// # });
    /// ```
    pub fn mount(
        &self,
        service_type: &str,
        handler: impl Fn(&crate::FakeRequest) -> crate::TestResponse + Send + Sync + 'static,
    ) {
        self.with(|s| {
            s.mounted
                .insert(service_type.to_string(), Arc::new(handler));
        });
    }

    /// Replace the servers with `n` generated ones.
    pub fn set_servers(&self, n: usize) {
        self.with(|s| s.servers = (0..n).map(seeded_server).collect());
    }
}

async fn serve(
    listener: TcpListener,
    state: Arc<Mutex<State>>,
    objects: Arc<crate::object_store::ObjectStore>,
    connections: Arc<AtomicU64>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        connections.fetch_add(1, Ordering::Relaxed);
        let state = state.clone();
        let objects = objects.clone();
        tasks.spawn(async move {
            let svc =
                hyper::service::service_fn(move |req| handle(state.clone(), objects.clone(), req));
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
        });
        while tasks.try_join_next().is_some() {}
    }
}

fn request_id() -> String {
    format!(
        "req-{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0xfff),
        fastrand::u16(..0xfff),
        fastrand::u64(..0xffff_ffff_ffff)
    )
}

pub(crate) fn full(
    status: StatusCode,
    headers: &[(&str, String)],
    body: Bytes,
) -> Response<RespBody> {
    let mut resp = Response::new(
        http_body_util::Full::new(body)
            .map_err(|e: Infallible| match e {})
            .boxed(),
    );
    *resp.status_mut() = status;
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

pub(crate) fn json_resp(status: StatusCode, body: &Value) -> Response<RespBody> {
    full(
        status,
        &[("content-type", "application/json".into())],
        Bytes::from(body.to_string()),
    )
}

fn keystone_error(code: u16, title: &str, message: &str) -> Response<RespBody> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json_resp(
        status,
        &json!({"error": {"code": code, "message": message, "title": title}}),
    );
    if code == 401 {
        r.headers_mut().insert(
            "www-authenticate",
            http::HeaderValue::from_static("Keystone uri=\"fake\""),
        );
    }
    r
}

pub(crate) fn unauthorized() -> Response<RespBody> {
    keystone_error(
        401,
        "Unauthorized",
        "The request you have made requires authentication.",
    )
}

/// A body that sends half of its bytes, then fails: the client sees a truncated response.
struct Truncated(Option<Bytes>, bool);

impl Body for Truncated {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(b) = self.0.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if !self.1 {
            self.1 = true;
            return Poll::Ready(Some(Err("truncated on purpose".into())));
        }
        Poll::Ready(None)
    }
}

/// A body sent in pieces with pauses between them.
struct Drip {
    chunks: VecDeque<Bytes>,
    interval: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for Drip {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        match self.chunks.pop_front() {
            Some(c) => {
                if !self.chunks.is_empty() {
                    let d = self.interval;
                    self.sleep = Some(Box::pin(tokio::time::sleep(d)));
                }
                Poll::Ready(Some(Ok(Frame::data(c))))
            }
            None => Poll::Ready(None),
        }
    }
}

async fn body_bytes(resp: Response<RespBody>) -> (http::response::Parts, Bytes) {
    let (p, b) = resp.into_parts();
    (
        p,
        b.collect().await.map(|c| c.to_bytes()).unwrap_or_default(),
    )
}

fn drip(
    parts: http::response::Parts,
    bytes: Bytes,
    n: usize,
    interval: Duration,
) -> Response<RespBody> {
    let n = n.clamp(1, bytes.len().max(1));
    let size = bytes.len().div_ceil(n).max(1);
    let chunks: VecDeque<Bytes> = (0..bytes.len())
        .step_by(size)
        .map(|i| bytes.slice(i..(i + size).min(bytes.len())))
        .collect();
    let mut r = Response::from_parts(
        parts,
        Drip {
            chunks,
            interval,
            sleep: None,
        }
        .boxed(),
    );
    r.headers_mut()
        .insert("content-length", http::HeaderValue::from(bytes.len()));
    r
}

fn route_name(method: &Method, path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let norm: Vec<&str> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| match (segs.first(), i) {
            (Some(&"v2.1"), 2)
                if matches!(segs.get(1), Some(&"servers" | &"flavors")) && *s != "detail" =>
            {
                "{id}"
            }
            (Some(&"image"), 3) => "{id}",
            (Some(&"v1"), 1) => "{account}",
            _ => s,
        })
        .collect();
    format!("{method} /{}", norm.join("/"))
}

async fn handle(
    state: Arc<Mutex<State>>,
    objects: Arc<crate::object_store::ObjectStore>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, BoxError> {
    let (parts, body) = req.into_parts();
    if parts.uri.path().starts_with("/v1/AUTH_") {
        return Ok(object_request(&state, &objects, parts, body).await);
    }
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let query = query_map(&parts.uri);
    let fault = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        *s.counts
            .entry(route_name(&parts.method, &path))
            .or_default() += 1;
        if path.starts_with(&s.fault_prefix) {
            s.faults.pop_front()
        } else {
            None
        }
    };
    let rid = request_id();
    let normal = || route(&state, &parts.method, &path, &query, &parts.headers, &body);
    let mut resp = match fault {
        Some(Fault::DropConnection) => return Err("dropped on purpose".into()),
        Some(Fault::Unauthorized | Fault::UnauthorizedAfter(_)) => unauthorized(),
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut r = json_resp(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"overLimit": {"code": 429, "message": "Rate limit exceeded"}}),
            );
            r.headers_mut()
                .insert("retry-after", http::HeaderValue::from(retry_after));
            r
        }
        Some(Fault::ServiceUnavailable) => json_resp(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"error": {"code": 503, "message": "Service Unavailable", "title": "Service Unavailable"}}),
        ),
        Some(Fault::BadGatewayHtml) => full(
            StatusCode::BAD_GATEWAY,
            &[("content-type", "text/html".into())],
            Bytes::from_static(b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"),
        ),
        Some(Fault::TruncatedBody) => {
            let normal = normal();
            let (p, b) = normal.into_parts();
            let bytes = b.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            let mut r = Response::from_parts(p, Truncated(Some(half), false).boxed());
            r.headers_mut().insert(
                "content-length",
                http::HeaderValue::from(bytes.len().max(2)),
            );
            r
        }
        Some(Fault::StalledBody(d)) => {
            let (p, b) = body_bytes(normal()).await;
            drip(p, b, 2, d)
        }
        Some(Fault::SlowDrip { chunks, interval }) => {
            let (p, b) = body_bytes(normal()).await;
            drip(p, b, chunks, interval)
        }
        Some(Fault::TruncatedJson) => {
            let (p, b) = body_bytes(normal()).await;
            let mut r = full(
                p.status,
                &[("content-type", "application/json".into())],
                b.slice(..b.len() / 2),
            );
            *r.headers_mut() = p.headers;
            r.headers_mut().remove("content-length");
            r
        }
        Some(Fault::InvalidJson) => full(
            StatusCode::OK,
            &[("content-type", "application/json".into())],
            Bytes::from_static(b"<html>this is not JSON</html>"),
        ),
        Some(Fault::CloseConnection) => {
            let mut r = normal();
            r.headers_mut()
                .insert("connection", http::HeaderValue::from_static("close"));
            r
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            normal()
        }
        None => normal(),
    };
    if let Ok(v) = http::HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    Ok(resp)
}

/// The query string as a map (the last value of a repeated key wins).
fn query_map(uri: &http::Uri) -> BTreeMap<String, String> {
    uri.query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

/// The object store's requests: counted, faults applied, the token checked,
/// the body streamed (never collected).
async fn object_request(
    state: &Arc<Mutex<State>>,
    objects: &crate::object_store::ObjectStore,
    parts: http::request::Parts,
    body: Incoming,
) -> Response<RespBody> {
    let path = parts.uri.path().to_string();
    let query = query_map(&parts.uri);
    let (fault, authorized) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        *s.counts
            .entry(route_name(&parts.method, &path))
            .or_default() += 1;
        let fault = if path.starts_with(&s.fault_prefix) {
            s.faults.pop_front()
        } else {
            None
        };
        (
            fault,
            valid_token(&s, &parts.headers, "x-auth-token").is_some(),
        )
    };
    let store = |stop_after| {
        crate::object_store::handle(
            objects,
            &parts.method,
            &path,
            &query,
            &parts.headers,
            body,
            stop_after,
        )
    };
    let mut resp = match fault {
        Some(Fault::Unauthorized) => unauthorized(),
        Some(Fault::ServiceUnavailable) => json_resp(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"error": {"code": 503, "message": "Service Unavailable"}}),
        ),
        _ if !authorized => unauthorized(),
        Some(Fault::UnauthorizedAfter(n)) => store(Some(n)).await,
        _ => store(None).await,
    };
    if let Ok(v) = http::HeaderValue::from_str(&request_id()) {
        resp.headers_mut().insert("x-openstack-request-id", v);
    }
    resp
}

fn ts(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339)
        .map(|s| s.replace('Z', ".000000Z"))
        .unwrap_or_default()
}

fn version_v3(base: &str) -> Value {
    json!({"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
           "links": [{"rel": "self", "href": format!("{base}/v3/")}],
           "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]})
}

/// A mounted service's handler.
type Mounted = Arc<dyn Fn(&crate::FakeRequest) -> crate::TestResponse + Send + Sync>;

/// Seeded server `i`: `server-<i>`, ACTIVE, flavor 1.
fn seeded_server(i: usize) -> (String, Value) {
    let id = FakeCloud::server_id(i);
    let server = json!({"id": id, "name": format!("server-{i}"), "status": "ACTIVE",
        "flavor": {"id": "1"}, "metadata": {}});
    (id, server)
}

/// The flavors of the fake compute service.
fn flavors() -> Value {
    json!([
        {"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1},
        {"id": "2", "name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20},
        {"id": "3", "name": "m1.medium", "vcpus": 2, "ram": 4096, "disk": 40}
    ])
}

/// The compute microversions the fake speaks.
const COMPUTE_MIN: (u32, u32) = (2, 1);
const COMPUTE_MAX: (u32, u32) = (2, 96);

/// The microversion a compute request asks for (None: out of range or malformed).
fn compute_microversion(headers: &HeaderMap) -> Option<(u32, u32)> {
    let asked = headers
        .get("openstack-api-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("compute "))
        .or_else(|| {
            headers
                .get("x-openstack-nova-api-version")
                .and_then(|v| v.to_str().ok())
        });
    let Some(asked) = asked.map(str::trim) else {
        return Some(COMPUTE_MIN);
    };
    if asked.eq_ignore_ascii_case("latest") {
        return Some(COMPUTE_MAX);
    }
    let (a, b) = asked.split_once('.')?;
    let v = (a.parse().ok()?, b.parse().ok()?);
    (COMPUTE_MIN..=COMPUTE_MAX).contains(&v).then_some(v)
}

fn catalog(base: &str, project_id: &str) -> Value {
    let ep = |id: &str, itf: &str, url: String| json!({"id": id, "interface": itf, "region_id": "RegionOne", "url": url, "region": "RegionOne"});
    json!([
        {"endpoints": [ep("e1", "public", format!("{base}/v3/")), ep("e2", "internal", format!("{base}/v3/")), ep("e3", "admin", format!("{base}/v3/"))],
         "id": "s-identity", "type": "identity", "name": "keystone"},
        {"endpoints": [ep("e4", "public", format!("{base}/v2.1")), ep("e5", "internal", format!("{base}/v2.1")), ep("e6", "admin", format!("{base}/v2.1"))],
         "id": "s-compute", "type": "compute", "name": "nova"},
        {"endpoints": [ep("e7", "public", format!("{base}/image"))], "id": "s-image", "type": "image", "name": "glance"},
        {"endpoints": [ep("e8", "public", format!("{base}/volume/v3/{project_id}"))], "id": "s-volume", "type": "block-storage", "name": "cinderv3"},
        {"endpoints": [ep("e9", "public", format!("{base}/v1/AUTH_{project_id}"))], "id": "s-object", "type": "object-store", "name": "swift"},
    ])
}

fn catalog_with_mounts(s: &State, project_id: &str) -> Value {
    let mut cat = catalog(&s.base, project_id);
    if let Value::Array(services) = &mut cat {
        for (i, t) in s.mounted.keys().enumerate() {
            services.push(json!({"endpoints": [{"id": format!("m{i}"), "interface": "public", "region_id": "RegionOne",
                "region": "RegionOne", "url": format!("{}/svc/{t}", s.base)}], "id": format!("s-mounted-{i}"), "type": t, "name": t}));
        }
    }
    cat
}

fn token_body(s: &State, t: &TokenInfo, with_catalog: bool) -> Value {
    let u = &s.users[t.user];
    let mut tok = json!({
        "methods": t.methods,
        "user": {"domain": {"id": "default", "name": "Default"}, "id": u.id, "name": u.name, "password_expires_at": null},
        "audit_ids": ["fake-audit"],
        "expires_at": ts(t.expires),
        "issued_at": ts(t.issued),
    });
    let scoped = !t.scope.is_null();
    if let (Some(obj), Some(scope)) = (tok.as_object_mut(), t.scope.as_object()) {
        for (k, v) in scope {
            obj.insert(k.clone(), v.clone());
        }
        if scoped {
            obj.insert("is_domain".into(), json!(false));
            obj.insert(
                "roles".into(),
                json!([{"id": "r-member", "name": "member"}]),
            );
            if with_catalog {
                let pid = t
                    .scope
                    .pointer("/project/id")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                obj.insert("catalog".into(), catalog_with_mounts(s, pid));
            }
        }
    }
    json!({"token": tok})
}

fn valid_token<'a>(
    s: &'a State,
    headers: &HeaderMap,
    name: &str,
) -> Option<(&'a String, &'a TokenInfo)> {
    let tok = headers.get(name)?.to_str().ok()?;
    let (k, t) = s.tokens.get_key_value(tok)?;
    (!t.revoked && t.expires > OffsetDateTime::now_utc()).then_some((k, t))
}

fn issue(
    s: &mut State,
    user: usize,
    scope: Value,
    methods: Vec<String>,
    nocatalog: bool,
) -> Response<RespBody> {
    let now = OffsetDateTime::now_utc();
    let token = format!("gAAAAA{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let info = TokenInfo {
        user,
        scope,
        methods,
        issued: now,
        expires: now + s.token_lifetime,
        revoked: false,
    };
    let body = token_body(s, &info, !nocatalog);
    s.tokens.insert(token.clone(), info);
    let mut r = json_resp(StatusCode::CREATED, &body);
    if let Ok(v) = http::HeaderValue::from_str(&token) {
        r.headers_mut().insert("x-subject-token", v);
    }
    r
}

fn find_user(s: &State, u: &Value) -> Option<usize> {
    if let Some(id) = u.get("id").and_then(Value::as_str) {
        return s.users.iter().position(|x| x.id == id);
    }
    let name = u.get("name")?.as_str()?;
    let dom = u.get("domain")?;
    let dom_ok = dom.get("id").and_then(Value::as_str) == Some("default")
        || dom.get("name").and_then(Value::as_str) == Some("Default");
    if !dom_ok {
        return None;
    }
    s.users.iter().position(|x| x.name == name)
}

fn auth_tokens(
    s: &mut State,
    body: &[u8],
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Response<RespBody> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return keystone_error(
            400,
            "Bad Request",
            "Expecting to find valid JSON in request body. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
        );
    };
    if headers
        .get("content-type")
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| !c.starts_with("application/json"))
    {
        return keystone_error(
            400,
            "Bad Request",
            "Expecting to find application/json in Content-Type header.",
        );
    }
    let identity = &v["auth"]["identity"];
    let methods: Vec<String> = identity["methods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(String::from))
        .collect();
    let (user, inherited_scope) = match methods.first().map(String::as_str) {
        Some("password") => {
            let u = &identity["password"]["user"];
            match find_user(s, u) {
                Some(i) if u["password"].as_str() == Some(s.users[i].password.as_str()) => {
                    (i, None)
                }
                _ => return unauthorized(),
            }
        }
        Some("token") => {
            let id = identity["token"]["id"].as_str().unwrap_or("");
            match s.tokens.get(id) {
                Some(t) if !t.revoked && t.expires > OffsetDateTime::now_utc() => (t.user, None),
                _ => return unauthorized(),
            }
        }
        Some("application_credential") => {
            let ac = &identity["application_credential"];
            let found = s.app_creds.iter().find(|(id, name, _, user)| {
                ac["id"].as_str() == Some(id.as_str())
                    || (ac["name"].as_str() == Some(name.as_str())
                        && find_user(s, &ac["user"]) == Some(*user))
            });
            match found {
                Some((id, name, secret, user))
                    if ac["secret"].as_str() == Some(secret.as_str()) =>
                {
                    let pid = s.users[*user].project_id.clone();
                    let pname = s
                        .projects
                        .iter()
                        .find(|p| p.0 == pid)
                        .map(|p| p.1.clone())
                        .unwrap_or_default();
                    let scope = json!({"project": {"domain": {"id": "default", "name": "Default"}, "id": pid, "name": pname},
                                       "application_credential": {"id": id, "name": name, "restricted": true}});
                    (*user, Some(scope))
                }
                _ => return unauthorized(),
            }
        }
        _ => {
            return keystone_error(
                400,
                "Bad Request",
                "Invalid input for field 'identity/methods'.",
            );
        }
    };
    let scope = match inherited_scope {
        Some(scope) => scope,
        None => {
            let sc = &v["auth"]["scope"];
            if let Some(p) = sc.get("project") {
                let proj = s
                    .projects
                    .iter()
                    .find(|(id, name)| {
                        p["id"].as_str() == Some(id) || p["name"].as_str() == Some(name)
                    })
                    .cloned();
                match proj {
                    Some((id, name))
                        if s.users[user].project_id == id || s.users[user].name == "admin" =>
                    {
                        json!({"project": {"domain": {"id": "default", "name": "Default"}, "id": id, "name": name}})
                    }
                    _ => return unauthorized(),
                }
            } else if sc.get("domain").is_some() {
                json!({"domain": {"id": "default", "name": "Default"}})
            } else if sc.get("system").is_some() {
                json!({"system": {"all": true}})
            } else {
                Value::Null
            }
        }
    };
    issue(s, user, scope, methods, query.contains_key("nocatalog"))
}

/// `POST /v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`.
fn federated_auth(s: &mut State, path: &str, headers: &HeaderMap) -> Response<RespBody> {
    let parts: Vec<&str> = path.split('/').collect();
    // ["", "v3", "OS-FEDERATION", "identity_providers", idp, "protocols", protocol, "auth"]
    let (idp, protocol) = match parts.as_slice() {
        [_, _, _, _, idp, "protocols", protocol, "auth"] => (
            percent_encoding::percent_decode_str(idp)
                .decode_utf8_lossy()
                .into_owned(),
            percent_encoding::percent_decode_str(protocol)
                .decode_utf8_lossy()
                .into_owned(),
        ),
        _ => return keystone_error(404, "Not Found", "The resource could not be found."),
    };
    let Some((check, user)) = s.federation.get(&(idp, protocol.clone())).cloned() else {
        return keystone_error(404, "Not Found", "Could not find Identity Provider.");
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match bearer {
        Some(token) if check(token) => issue(s, user, Value::Null, vec![protocol], false),
        _ => unauthorized(),
    }
}

fn route(
    state: &Arc<Mutex<State>>,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<RespBody> {
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    let base = s.base.clone();
    let p = path.trim_end_matches('/');
    match (method.as_str(), p) {
        ("GET", "") => {
            let mut r = json_resp(
                StatusCode::MULTIPLE_CHOICES,
                &json!({"versions": {"values": [version_v3(&base)]}}),
            );
            if let Ok(v) = http::HeaderValue::from_str(&format!("{base}/v3/")) {
                r.headers_mut().insert("location", v);
            }
            r
        }
        ("GET", "/v3") => json_resp(StatusCode::OK, &json!({"version": version_v3(&base)})),
        ("POST", "/v3/auth/tokens") => auth_tokens(&mut s, body, query, headers),
        ("POST", p) if p.starts_with("/v3/OS-FEDERATION/identity_providers/") => {
            federated_auth(&mut s, p, headers)
        }
        (m @ ("GET" | "HEAD" | "DELETE"), "/v3/auth/tokens") => {
            if valid_token(&s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            let Some((subject, info)) =
                valid_token(&s, headers, "x-subject-token").map(|(k, t)| (k.clone(), t.clone()))
            else {
                return keystone_error(404, "Not Found", "Failed to validate token");
            };
            match m {
                "DELETE" => {
                    if let Some(t) = s.tokens.get_mut(&subject) {
                        t.revoked = true;
                    }
                    full(StatusCode::NO_CONTENT, &[], Bytes::new())
                }
                "HEAD" => full(
                    StatusCode::OK,
                    &[("content-type", "application/json".into())],
                    Bytes::new(),
                ),
                _ => {
                    let mut r = json_resp(StatusCode::OK, &token_body(&s, &info, true));
                    if let Ok(v) = http::HeaderValue::from_str(&subject) {
                        r.headers_mut().insert("x-subject-token", v);
                    }
                    r
                }
            }
        }
        _ if p.starts_with("/v3") => {
            keystone_error(404, "Not Found", "The resource could not be found.")
        }
        _ if p.starts_with("/svc/") => {
            if valid_token(&s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            let rest = p.trim_start_matches("/svc/");
            let (t, sub) = rest.split_once('/').unwrap_or((rest, ""));
            let Some(handler) = s.mounted.get(t).cloned() else {
                return not_found(&format!("Service {t}"));
            };
            drop(s);
            let req = crate::FakeRequest {
                method: method.clone(),
                path: format!("/{sub}"),
                params: BTreeMap::new(),
                query: query.clone(),
                headers: headers.clone(),
                body: (!body.is_empty()).then(|| {
                    serde_json::from_slice(body).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(body).into_owned())
                    })
                }),
            };
            let r = handler(&req);
            let mut resp = full(
                StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                &[],
                r.body,
            );
            for (k, v) in r.headers {
                if let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.as_bytes()),
                    http::HeaderValue::from_str(&v),
                ) {
                    resp.headers_mut().append(k, v);
                }
            }
            resp
        }
        _ if p.starts_with("/v2.1") => {
            if valid_token(&s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            let Some((a, b)) = compute_microversion(headers) else {
                return json_resp(
                    StatusCode::NOT_ACCEPTABLE,
                    &json!({"computeFault": {"code": 406, "message": format!(
                        "Version {} is not supported by the API. Minimum is {}.{} and maximum is {}.{}.",
                        headers.get("openstack-api-version").and_then(|v| v.to_str().ok()).unwrap_or("?"),
                        COMPUTE_MIN.0, COMPUTE_MIN.1, COMPUTE_MAX.0, COMPUTE_MAX.1)}}),
                );
            };
            let mut r = service_route(&mut s, method, p, query, body);
            let v = format!("{a}.{b}");
            if let (Ok(h1), Ok(h2)) = (
                http::HeaderValue::from_str(&format!("compute {v}")),
                http::HeaderValue::from_str(&v),
            ) {
                r.headers_mut().insert("openstack-api-version", h1);
                r.headers_mut().insert("x-openstack-nova-api-version", h2);
                r.headers_mut().insert(
                    "vary",
                    http::HeaderValue::from_static(
                        "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
                    ),
                );
            }
            r
        }
        _ if p.starts_with("/image") || p.starts_with("/volume") => {
            if valid_token(&s, headers, "x-auth-token").is_none() {
                return unauthorized();
            }
            service_route(&mut s, method, p, query, body)
        }
        _ => full(
            StatusCode::NOT_FOUND,
            &[("content-type", "text/html; charset=utf-8".into())],
            Bytes::from_static(
                b"<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n",
            ),
        ),
    }
}

fn not_found(what: &str) -> Response<RespBody> {
    json_resp(
        StatusCode::NOT_FOUND,
        &json!({"itemNotFound": {"code": 404, "message": format!("{what} could not be found.")}}),
    )
}

/// One page of `items` (marker + limit, default limit 1000), cloning only that page.
fn page<'a>(
    items: impl Iterator<Item = &'a Value>,
    query: &BTreeMap<String, String>,
) -> (Vec<Value>, Option<String>) {
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(1000)
        .max(1);
    let mut items = items.peekable();
    if let Some(m) = query.get("marker") {
        // skip through the marker; an unknown marker gives an empty page
        let mut found = false;
        for i in items.by_ref() {
            if i["id"].as_str() == Some(m.as_str()) {
                found = true;
                break;
            }
        }
        if !found {
            return (Vec::new(), None);
        }
    }
    let page: Vec<Value> = items.by_ref().take(limit).cloned().collect();
    let more = items.peek().is_some();
    let next = if more {
        page.last()
            .and_then(|l| l["id"].as_str())
            .map(str::to_string)
    } else {
        None
    };
    (page, next)
}

fn service_route(
    s: &mut State,
    method: &Method,
    p: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Response<RespBody> {
    let base = s.base.clone();
    match (method.as_str(), p) {
        ("GET", "/v2.1") => json_resp(
            StatusCode::OK,
            &json!({"version": {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
                    "links": [{"rel": "self", "href": format!("{base}/v2.1/")}]}}),
        ),
        ("GET", "/v2.1/servers" | "/v2.1/servers/detail") => {
            // Nova filters on the server side; here `name` and `status` match exactly.
            let all = s.servers.values().filter(|srv| {
                ["name", "status"].iter().all(|k| {
                    query
                        .get(*k)
                        .is_none_or(|want| srv[*k].as_str() == Some(want.as_str()))
                })
            });
            let (items, next) = page(all, query);
            // the summary list has id, name and links; the detail list everything
            let items: Vec<Value> = if p.ends_with("/detail") {
                items
            } else {
                items
                    .into_iter()
                    .map(|srv| json!({"id": srv["id"], "name": srv["name"],
                        "links": [{"rel": "self", "href": format!("{base}/v2.1/servers/{}", srv["id"].as_str().unwrap_or_default())}]}))
                    .collect()
            };
            let mut body = json!({"servers": items});
            if let Some(marker) = next {
                let limit = query
                    .get("limit")
                    .map(|l| format!("limit={l}&"))
                    .unwrap_or_default();
                body["servers_links"] =
                    json!([{"rel": "next", "href": format!("{base}{p}?{limit}marker={marker}")}]);
            }
            json_resp(StatusCode::OK, &body)
        }
        ("POST", "/v2.1/servers") => {
            let Ok(v) = serde_json::from_slice::<Value>(body) else {
                return json_resp(
                    StatusCode::BAD_REQUEST,
                    &json!({"badRequest": {"code": 400, "message": "Malformed request body"}}),
                );
            };
            let Some(name) = v["server"]["name"].as_str() else {
                return json_resp(
                    StatusCode::BAD_REQUEST,
                    &json!({"badRequest": {"code": 400, "message": "Invalid input for field/attribute server. Value: name is a required property"}}),
                );
            };
            let id = format!("f0000000-0000-4000-8000-{:012x}", s.next_id);
            s.next_id += 1;
            let flavor = v["server"]["flavorRef"].as_str().unwrap_or("1").to_string();
            let metadata = match &v["server"]["metadata"] {
                Value::Object(m) => Value::Object(m.clone()),
                _ => json!({}),
            };
            let server = json!({"id": id, "name": name, "status": "BUILD", "flavor": {"id": flavor},
                "metadata": metadata});
            s.servers.insert(id.clone(), server);
            // Nova answers a create with the id, links and the admin password only
            json_resp(
                StatusCode::ACCEPTED,
                &json!({"server": {"id": id, "adminPass": format!("pw{:08x}", fastrand::u32(..)),
                    "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
                    "links": [{"rel": "self", "href": format!("{base}/v2.1/servers/{id}")}]}}),
            )
        }
        ("GET", "/v2.1/flavors" | "/v2.1/flavors/detail") => {
            let all = flavors();
            let items: Vec<Value> = all
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    if p.ends_with("/detail") {
                        f.clone()
                    } else {
                        json!({"id": f["id"], "name": f["name"]})
                    }
                })
                .collect();
            json_resp(StatusCode::OK, &json!({"flavors": items}))
        }
        ("GET", _) if p.starts_with("/v2.1/flavors/") => {
            let id = p.trim_start_matches("/v2.1/flavors/");
            match flavors()
                .as_array()
                .and_then(|fs| fs.iter().find(|f| f["id"].as_str() == Some(id)).cloned())
            {
                Some(f) => json_resp(StatusCode::OK, &json!({"flavor": f})),
                None => not_found(&format!("Flavor {id}")),
            }
        }
        ("POST", _) if p.starts_with("/v2.1/servers/") && p.ends_with("/action") => {
            let id = p
                .trim_start_matches("/v2.1/servers/")
                .trim_end_matches("/action")
                .to_string();
            let action = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.as_object().and_then(|o| o.keys().next().cloned()));
            let Some(srv) = s.servers.get_mut(&id) else {
                return not_found(&format!("Instance {id}"));
            };
            match action.as_deref() {
                Some("reboot" | "os-start" | "resize" | "confirmResize" | "pause" | "unpause") => {
                    full(StatusCode::ACCEPTED, &[], Bytes::new())
                }
                Some("os-stop") => {
                    srv["status"] = json!("SHUTOFF");
                    full(StatusCode::ACCEPTED, &[], Bytes::new())
                }
                other => json_resp(
                    StatusCode::BAD_REQUEST,
                    &json!({"badRequest": {"code": 400, "message": format!("There is no such action: {}", other.unwrap_or(""))}}),
                ),
            }
        }
        (m, _) if p.starts_with("/v2.1/servers/") => {
            let id = p.trim_start_matches("/v2.1/servers/").to_string();
            match (m, s.servers.get_mut(&id)) {
                ("GET", Some(srv)) => json_resp(StatusCode::OK, &json!({"server": srv})),
                ("PUT", Some(srv)) => {
                    if let Ok(v) = serde_json::from_slice::<Value>(body)
                        && let (Some(upd), Some(obj)) =
                            (v["server"].as_object(), srv.as_object_mut())
                    {
                        for (k, val) in upd {
                            obj.insert(k.clone(), val.clone());
                        }
                    }
                    json_resp(StatusCode::OK, &json!({"server": srv}))
                }
                ("DELETE", Some(_)) => {
                    s.servers.remove(&id);
                    full(StatusCode::NO_CONTENT, &[], Bytes::new())
                }
                _ => not_found(&format!("Instance {id}")),
            }
        }
        ("GET", "/image/v2/images") => {
            let (items, next) = page(s.images.iter(), query);
            let mut body =
                json!({"images": items, "first": "/v2/images", "schema": "/v2/schemas/images"});
            if let Some(marker) = next {
                let limit = query
                    .get("limit")
                    .map(|l| format!("limit={l}&"))
                    .unwrap_or_default();
                body["next"] = json!(format!("/v2/images?{limit}marker={marker}"));
            }
            json_resp(StatusCode::OK, &body)
        }
        ("GET", _) if p.starts_with("/image/v2/images/") => {
            let id = p.trim_start_matches("/image/v2/images/");
            match s.images.iter().find(|i| i["id"].as_str() == Some(id)) {
                Some(img) => json_resp(StatusCode::OK, img),
                None => full(
                    StatusCode::NOT_FOUND,
                    &[("content-type", "text/plain".into())],
                    Bytes::from(format!("No image found with ID {id}")),
                ),
            }
        }
        _ => not_found(&format!("Resource {p}")),
    }
}
