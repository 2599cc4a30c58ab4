//! `HttpClient`: the assembled stack, service clients, requests and responses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::transport::{BoxFuture as AuthFuture, SharedTransport, Transport};
use apiclient_auth::{
    AccessInfo, AuthPlugin, EndpointFilter, Interface, PluginRegistry, ResolvedConfig,
};
use apiclient_errors::{BoxError, ConnectionError, ConnectionErrorKind, Error, from_response};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};
use tracing::Instrument;

use crate::body::Body;
use crate::layers::auth::{AuthLayer, RequestUrl, Target};
use crate::layers::curl_log::{CurlLogLayer, redact_body, redact_headers, streamed_body};
use crate::layers::defaults::{DEFAULT_USER_AGENT, DefaultsLayer};
use crate::layers::redirect::RedirectPolicy;
use crate::layers::retry::{RetryLayer, RetryPolicy};
use crate::layers::timing::{Timing, TimingLayer, Timings};
use crate::microversion::{ApiVersion, Microversion};
use crate::store::TokenStore;
use crate::token::{Clock, TokenState};
use crate::transfer::{DigestAlgorithm, Progress, ProgressFn};
use crate::transport::{HyperTransport, ProxyConfig, StreamResponse, TlsConfig, TransportConfig};

/// A body as `Debug` shows it: redacted bytes, or its size when streamed.
fn body_log(body: &Body) -> String {
    match body.as_bytes() {
        Some(b) => redact_body(b),
        None => streamed_body(body.len()),
    }
}

/// The type-erased stack: a request with its [`Body`] in, a response out
/// (buffered unless the request asked for [`StreamResponse`]).
pub type HttpService = BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>;

/// An [`HttpService`] from a function of buffered requests and responses:
/// an in-memory fake transport, a test double. The request body is read
/// whole first (a one-shot stream included).
///
/// ```
/// use apiclient_auth::KeystonePlugin;
/// use apiclient_http::{buffered_service, HttpClient};
///
/// let fake = buffered_service(|req: http::Request<bytes::Bytes>| async move {
///     Ok::<_, apiclient_errors::BoxError>(http::Response::new(bytes::Bytes::from(req.uri().path().to_string())))
/// });
/// let http = HttpClient::builder(Box::new(KeystonePlugin::admin_token("http://svc/v1", "t")))
///     .base_transport(fake)
///     .build()
///     .unwrap();
/// # let _ = http;
/// ```
pub fn buffered_service<F, Fut>(f: F) -> HttpService
where
    F: Fn(Request<Bytes>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<Bytes>, BoxError>> + Send + 'static,
{
    HttpService::new(tower::service_fn(move |req: Request<Body>| {
        let f = f.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect_limited(usize::MAX).await?;
            let resp = f(Request::from_parts(parts, bytes)).await?;
            Ok(resp.map(Body::from))
        }
    }))
}

/// A tower layer the builder can put into the stack: any `Layer` whose
/// service takes `Request<Body>`, whatever response body and error type it
/// returns (they are mapped back to [`Body`] and `BoxError`).
pub trait StackLayer: Send + 'static {
    /// The stack `svc` wrapped in this layer, boxed.
    fn wrap(self, svc: HttpService) -> HttpService;
}

impl<L, B, E> StackLayer for L
where
    L: tower::Layer<HttpService> + Send + 'static,
    L::Service: tower::Service<Request<Body>, Response = Response<B>, Error = E>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<Request<Body>>>::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError> + 'static,
{
    fn wrap(self, svc: HttpService) -> HttpService {
        boxed(self.layer(svc))
    }
}

/// Box a typed tower service (with any response body and error) as an
/// [`HttpService`].
fn boxed<S, B, E>(svc: S) -> HttpService
where
    S: tower::Service<Request<Body>, Response = Response<B>, Error = E>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError> + 'static,
{
    HttpService::new(
        svc.map_response(|r: Response<B>| r.map(Body::wrap))
            .map_err(Into::into),
    )
}

type Wrap = Box<dyn FnOnce(HttpService) -> HttpService + Send>;

/// Builds an [`HttpClient`].
pub struct HttpClientBuilder {
    plugin: Box<dyn AuthPlugin>,
    transport: TransportConfig,
    user_agent: String,
    original_ip: Option<String>,
    timings: bool,
    retry: RetryPolicy,
    skew: Duration,
    clock: Clock,
    region: Option<String>,
    interface: Interface,
    fallback_interfaces: Vec<Interface>,
    inner_layers: Vec<Wrap>,
    outer_layers: Vec<Wrap>,
    base_transport: Option<HttpService>,
    store: Option<Arc<dyn TokenStore>>,
    operation_timeout: Option<Duration>,
    redirects: RedirectPolicy,
    global_request_id: Option<String>,
    services: std::collections::BTreeMap<String, apiclient_auth::clouds::ServiceSettings>,
}

impl std::fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("plugin", &self.plugin)
            .field("user_agent", &self.user_agent)
            .field("region", &self.region)
            .field("interface", &self.interface)
            .finish_non_exhaustive()
    }
}

impl HttpClientBuilder {
    /// A builder for `plugin` with the defaults: 10 s connect timeout, 60 s
    /// request timeout, 64 MiB response limit, TLS verification on,
    /// [`RetryPolicy::default`], token refresh 120 s before expiry, timings off.
    pub fn new(plugin: Box<dyn AuthPlugin>) -> Self {
        HttpClientBuilder {
            plugin,
            transport: TransportConfig::default(),
            user_agent: DEFAULT_USER_AGENT.to_string(),
            original_ip: None,
            timings: false,
            retry: RetryPolicy::default(),
            skew: Duration::from_secs(120),
            clock: Arc::new(time::OffsetDateTime::now_utc),
            region: None,
            interface: Interface::Public,
            fallback_interfaces: Vec::new(),
            inner_layers: Vec::new(),
            outer_layers: Vec::new(),
            base_transport: None,
            store: None,
            operation_timeout: None,
            redirects: RedirectPolicy::default(),
            global_request_id: None,
            services: std::collections::BTreeMap::new(),
        }
    }

    /// A builder from resolved options: the plugin they select, their region,
    /// interface and TLS settings.
    pub fn from_config(config: &ResolvedConfig, registry: &PluginRegistry) -> Result<Self, Error> {
        let mut b = Self::new(config.load_plugin(registry)?);
        b.region = config.region_name.clone();
        b.interface = config.interface;
        b.fallback_interfaces = config.fallback_interfaces.clone();
        b.services = config.services.clone();
        b.transport.tls = TlsConfig {
            cacert: config.cacert.as_ref().map(Into::into),
            cert: config.cert.as_ref().map(Into::into),
            key: config.key.as_ref().map(Into::into),
            insecure: config.insecure,
            ..TlsConfig::default()
        };
        Ok(b)
    }

    /// Replace the User-Agent (default `apiclient-rs/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Prepend an application's `name/version` to the User-Agent, as keystoneauth does.
    pub fn app_name(mut self, name: &str, version: &str) -> Self {
        self.user_agent = format!("{name}/{version} {}", self.user_agent);
        self
    }

    /// Send `Forwarded: for=<ip>;by=<user agent>`.
    pub fn original_ip(mut self, ip: impl Into<String>) -> Self {
        self.original_ip = Some(ip.into());
        self
    }

    /// Time for one attempt (default 60 s): from sending to the last byte
    /// of a buffered answer. An upload (a file, reader or stream body, or a
    /// buffer over 64 KiB) is bounded by its progress instead: it fails once
    /// no byte has moved for this long, so a large transfer may take longer
    /// in all; set an [`operation_timeout`](Self::operation_timeout) to bound
    /// it as a whole. A streamed answer's body is bounded per read (its idle
    /// timeout).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.transport.timeout = t;
        self
    }

    /// The most one call may take with its retries, `Retry-After` waits and
    /// re-authentication (default: none beyond what the per-attempt
    /// [`timeout`](Self::timeout) and the bounded retries imply; an upload
    /// that keeps moving is bounded only by this). A retry
    /// that would wait past it is not made: the last answer stands. Passed
    /// the deadline, the call ends with a [`ConnectionErrorKind::Deadline`]
    /// error.
    pub fn operation_timeout(mut self, t: Duration) -> Self {
        self.operation_timeout = Some(t);
        self
    }

    /// Which redirects are followed (default [`RedirectPolicy::default`]:
    /// same-origin `GET`/`HEAD`, at most 5 hops; the token never goes to
    /// another origin).
    pub fn redirects(mut self, policy: RedirectPolicy) -> Self {
        self.redirects = policy;
        self
    }

    /// Proxies (default [`ProxyConfig::FromEnv`]: `HTTP_PROXY`,
    /// `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`).
    pub fn proxy(mut self, proxy: ProxyConfig) -> Self {
        self.transport.proxy = proxy;
        self
    }

    /// No proxy, whatever the environment says.
    pub fn no_proxy(self) -> Self {
        self.proxy(ProxyConfig::None)
    }

    /// Ask for gzip/deflate responses and decode them (default on).
    pub fn compression(mut self, on: bool) -> Self {
        self.transport.compression = on;
        self
    }

    /// Send `X-OpenStack-Request-ID: <id>` on every request (keystoneauth's
    /// `global_request_id`), so the services log one id for a whole
    /// operation; a request can set its own with
    /// [`ApiRequest::global_request_id`].
    pub fn global_request_id(mut self, id: impl Into<String>) -> Self {
        self.global_request_id = Some(id.into());
        self
    }

    /// Time to establish a connection.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.transport.connect_timeout = t;
        self
    }

    /// Close pooled connections idle this long (default 90 s).
    pub fn pool_idle_timeout(mut self, t: Duration) -> Self {
        self.transport.pool_idle_timeout = t;
        self
    }

    /// The largest response body accepted.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.transport.max_response_bytes = n;
        self
    }

    /// TLS settings.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.transport.tls = tls;
        self
    }

    /// Record timings from the start.
    pub fn timings(mut self, on: bool) -> Self {
        self.timings = on;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Refresh a token this long before it expires (default 120 s).
    pub fn token_refresh_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// The clock used for expiry decisions (tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The default region of service clients.
    pub fn region_name(mut self, region: Option<String>) -> Self {
        self.region = region;
        self
    }

    /// Interfaces service clients fall back to, in order, when a service has
    /// no endpoint of the default interface (clouds.yaml's `valid_interfaces`).
    pub fn fallback_interfaces(mut self, interfaces: Vec<Interface>) -> Self {
        self.fallback_interfaces = interfaces;
        self
    }

    /// The default interface of service clients.
    pub fn interface(mut self, interface: Interface) -> Self {
        self.interface = interface;
        self
    }

    /// Wrap the transport (inside timing and logging): e.g. a tower-http layer.
    pub fn map_transport(
        mut self,
        f: impl FnOnce(HttpService) -> HttpService + Send + 'static,
    ) -> Self {
        self.inner_layers.push(Box::new(f));
        self
    }

    /// Add a tower layer around the whole stack (outside retries), e.g.
    /// tower's `ConcurrencyLimitLayer` or tower-http's `TraceLayer`: any
    /// [`StackLayer`]. Layers added first are innermost.
    pub fn layer(mut self, layer: impl StackLayer) -> Self {
        self.outer_layers.push(Box::new(move |svc| layer.wrap(svc)));
        self
    }

    /// Add a tower layer around the transport (inside timing and the curl
    /// log), as [`layer`](Self::layer) does around the stack.
    pub fn layer_transport(mut self, layer: impl StackLayer) -> Self {
        self.inner_layers.push(Box::new(move |svc| layer.wrap(svc)));
        self
    }

    /// Wrap the whole stack (outside retries): e.g. a concurrency limit.
    pub fn map_stack(
        mut self,
        f: impl FnOnce(HttpService) -> HttpService + Send + 'static,
    ) -> Self {
        self.outer_layers.push(Box::new(f));
        self
    }

    /// Use this service instead of the hyper transport (an in-memory fake).
    pub fn base_transport(mut self, svc: HttpService) -> Self {
        self.base_transport = Some(svc);
        self
    }

    /// Keep tokens in `store` between runs (consulted before the first
    /// authentication, written after every one).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<HttpClient, Error> {
        if self.transport.tls.insecure {
            tracing::warn!(
                target: "apiclient_http",
                "TLS certificate verification is off (--insecure / verify: false): any server can impersonate the cloud"
            );
        }
        // The hyper transport stays unboxed unless something wraps or
        // replaces it: cloning the stack (once per call, in tower) then
        // costs reference counts, not allocations.
        let base = if self.base_transport.is_none() && self.inner_layers.is_empty() {
            Base::Hyper(HyperTransport::new(&self.transport)?)
        } else {
            let mut base = match self.base_transport {
                Some(s) => s,
                None => HttpService::new(HyperTransport::new(&self.transport)?),
            };
            for wrap in self.inner_layers {
                base = wrap(base);
            }
            Base::Other(base)
        };
        let timings = Timings::new(self.timings);
        let bare_stack = ServiceBuilder::new()
            .layer(
                DefaultsLayer::new(&self.user_agent)
                    .original_ip(self.original_ip.as_deref())
                    .global_request_id(self.global_request_id.as_deref()),
            )
            .layer(CurlLogLayer::new(self.transport.tls.insecure))
            .layer(TimingLayer::new(timings.clone()))
            .service(base);
        // the plugins' transport is boxed; the main stack composes the
        // layers unboxed (one box and one clone fewer per call)
        let bare = HttpService::new(bare_stack.clone());
        let transport: SharedTransport = Arc::new(BareTransport(bare));
        let state = Arc::new(
            TokenState::new(self.plugin, transport.clone(), self.skew, self.clock)
                .with_store(self.store),
        );
        let mut service = boxed(
            ServiceBuilder::new()
                // one copy of each request serves retries, the replay after
                // a 401 and same-origin redirects (all in the retry layer)
                .layer(RetryLayer::new(self.retry).follow_redirects(self.redirects))
                .layer(AuthLayer::replaying_by_retry(state.clone()))
                .service(bare_stack),
        );
        for wrap in self.outer_layers {
            service = wrap(service);
        }
        Ok(HttpClient {
            inner: Arc::new(Inner {
                service,
                transport,
                state,
                timings,
                last_request_id: arc_swap::ArcSwapOption::empty(),
                clients: Mutex::new(HashMap::new()),
                operation_timeout: self.operation_timeout,
                services: self.services,
                region: self.region,
                interface: self.interface,
                fallback_interfaces: self.fallback_interfaces,
                discovery: Default::default(),
            }),
        })
    }
}

/// The innermost service: the hyper transport itself, or whatever replaced
/// or wrapped it (`base_transport`, `layer_transport`).
#[derive(Clone)]
enum Base {
    Hyper(HyperTransport),
    Other(HttpService),
}

impl tower::Service<Request<Body>> for Base {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = futures_util::future::Either<
        <HyperTransport as tower::Service<Request<Body>>>::Future,
        <HttpService as tower::Service<Request<Body>>>::Future,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        match self {
            Base::Hyper(h) => h.poll_ready(cx),
            Base::Other(s) => s.poll_ready(cx),
        }
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match self {
            Base::Hyper(h) => futures_util::future::Either::Left(h.call(req)),
            Base::Other(s) => futures_util::future::Either::Right(s.call(req)),
        }
    }
}

/// The bare stack (defaults, log, timing, transport; no auth) as the
/// transport auth plugins use.
#[derive(Clone)]
struct BareTransport(HttpService);

impl Transport for BareTransport {
    fn send(&self, request: Request<Bytes>) -> AuthFuture<'static, Result<Response<Bytes>, Error>> {
        let svc = self.0.clone();
        let url = request.uri().to_string();
        Box::pin(async move {
            let resp = svc
                .oneshot(request.map(Body::from))
                .await
                .map_err(|e| into_error(e, &url))?;
            let (parts, body) = resp.into_parts();
            let bytes = body
                .collect_limited(usize::MAX)
                .await
                .map_err(|e| into_error(e, &url))?;
            Ok(Response::from_parts(parts, bytes))
        })
    }
}

/// How many attempts (transport calls) one call made: a request extension
/// the timing layer counts, read into the call's tracing span.
#[derive(Debug, Clone, Default)]
pub struct AttemptCount(Arc<std::sync::atomic::AtomicU32>);

impl AttemptCount {
    /// Count one attempt.
    pub fn add(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The attempts so far.
    pub fn get(&self) -> u32 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// When a call must be over: a request extension set by [`HttpClient`] from
/// its operation timeout (or by a caller, for several calls at once, e.g. a
/// whole pagination). The retry layer makes no retry that would wait past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub tokio::time::Instant);

impl Deadline {
    /// Whether waiting `d` from now would pass the deadline.
    pub fn would_pass(&self, d: Duration) -> bool {
        tokio::time::Instant::now() + d >= self.0
    }
}

/// `fut`, ended by a `Deadline` connection error when `deadline` passes.
async fn within<T>(
    deadline: Option<Deadline>,
    what: &(dyn std::fmt::Display + Sync),
    fut: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match deadline {
        None => fut.await,
        Some(Deadline(at)) => tokio::time::timeout_at(at, fut).await.unwrap_or_else(|_| {
            Err(ConnectionError::new(ConnectionErrorKind::Deadline, what.to_string(), None).into())
        }),
    }
}

/// Whether a status is an error for the caller: 4xx and 5xx, and the
/// redirections, which are not followed (the error names `Location`).
/// `300 Multiple Choices` (OpenStack's version documents) and
/// `304 Not Modified` (a conditional GET) are answers, not errors.
fn is_failure(status: StatusCode) -> bool {
    let s = status.as_u16();
    s >= 400 || ((301..400).contains(&s) && s != 304)
}

/// A stack error as a typed error.
pub(crate) fn into_error(e: BoxError, url: &str) -> Error {
    match e.downcast::<Error>() {
        Ok(e) => *e,
        Err(other) => {
            let kind = if other.is::<tower::timeout::error::Elapsed>() {
                ConnectionErrorKind::Timeout
            } else {
                ConnectionErrorKind::Other
            };
            ConnectionError::new(kind, url, Some(other)).into()
        }
    }
}

struct Inner {
    service: HttpService,
    transport: SharedTransport,
    state: Arc<TokenState>,
    timings: Timings,
    /// Lock-free: written by every response, read rarely.
    last_request_id: arc_swap::ArcSwapOption<HeaderValue>,
    /// The registered service clients, as their targets only: a
    /// `ServiceClient` holds the `HttpClient`, so keeping one here would be
    /// an `Arc` cycle that never frees the pool, the token or the password.
    clients: Mutex<HashMap<String, Target>>,
    operation_timeout: Option<Duration>,
    /// Per-service settings of the configuration (endpoint override, interface).
    services: std::collections::BTreeMap<String, apiclient_auth::clouds::ServiceSettings>,
    region: Option<String>,
    interface: Interface,
    fallback_interfaces: Vec<Interface>,
    /// Version documents by endpoint.
    discovery: crate::discovery::DiscoveryCache,
}

/// The HTTP client: one connection pool and one token, shared by every
/// service client made from it. Cheap to clone; `Send + Sync`.
///
/// See the crate documentation for an example.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("state", &self.inner.state)
            .field("region", &self.inner.region)
            .field("interface", &self.inner.interface)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A builder for `plugin`.
    pub fn builder(plugin: Box<dyn AuthPlugin>) -> HttpClientBuilder {
        HttpClientBuilder::new(plugin)
    }

    /// A builder for a typed plugin (`V3Password`, `AdminToken`, ... of
    /// `apiclient_auth::typed`, or any plugin value).
    ///
    /// ```
    /// use apiclient_auth::typed::{Scope, V3Password};
    /// let builder = apiclient_http::HttpClient::builder_for(
    ///     V3Password::new("https://keystone.example/v3", "alice", "pw")
    ///         .scope(Scope::project_name("demo", "Default")),
    /// );
    /// # let _ = builder;
    /// ```
    pub fn builder_for(plugin: impl AuthPlugin + 'static) -> HttpClientBuilder {
        HttpClientBuilder::new(Box::new(plugin))
    }

    /// A client configured as the `openstack` CLI would be: `OS_*`
    /// variables, and `OS_CLOUD` (or the only cloud) of clouds.yaml.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), apiclient_errors::Error> {
    /// let http = apiclient_http::HttpClient::from_env()?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<HttpClient, Error> {
        Self::from_loader(&apiclient_auth::ConfigLoader::new(), None)
    }

    /// A client for cloud `name` of clouds.yaml (with `OS_*` over it).
    pub fn from_cloud(name: &str) -> Result<HttpClient, Error> {
        Self::from_loader(&apiclient_auth::ConfigLoader::new(), Some(name))
    }

    /// A client from `loader`'s environment and files, for cloud `cloud`
    /// when given (the built-in plugins).
    pub fn from_loader(
        loader: &apiclient_auth::ConfigLoader,
        cloud: Option<&str>,
    ) -> Result<HttpClient, Error> {
        let mut flags = std::collections::BTreeMap::new();
        if let Some(c) = cloud {
            flags.insert("cloud".to_string(), c.to_string());
        }
        let cfg = loader.resolve(&flags)?;
        HttpClientBuilder::from_config(&cfg, &PluginRegistry::default())?.build()
    }

    /// Send a request to an absolute URL, unauthenticated (Python's `request`).
    /// A status of 400 or more, or a redirection (not followed), is an [`Error::Http`].
    pub async fn request(&self, req: ApiRequest) -> Result<ApiResponse, Error> {
        let http_req = req.into_http(None)?;
        self.send(http_req).await
    }

    /// Send a request to a service (Python's `client_request`): the URL is
    /// relative to the service client's endpoint, the token is added, and a
    /// 401 causes one re-authentication and replay.
    pub async fn client_request(
        &self,
        client: &ServiceClient,
        req: ApiRequest,
    ) -> Result<ApiResponse, Error> {
        let http_req = req.into_http(Some(client.target.clone()))?;
        self.send(http_req).await
    }

    /// Like [`client_request`](Self::client_request), with the response
    /// body streamed (each read within `idle_timeout`): a 10 GiB object
    /// never sits in memory.
    pub async fn client_request_streamed(
        &self,
        client: &ServiceClient,
        req: ApiRequest,
        idle_timeout: Duration,
    ) -> Result<StreamedResponse, Error> {
        let http_req = req.into_http(Some(client.target.clone()))?;
        self.send_streamed(http_req, idle_timeout).await
    }

    /// The deadline of a call starting now, if the client has an operation timeout.
    pub fn deadline(&self) -> Option<Deadline> {
        self.inner
            .operation_timeout
            .map(|t| Deadline(tokio::time::Instant::now() + t))
    }

    /// Send through the stack within the call's deadline; the response as
    /// the stack returned it, with the absolute URL that answered.
    async fn call(&self, req: Request<Body>) -> Result<(Response<Body>, http::Uri), Error> {
        // the span's fields are computed only when it is enabled
        let span = tracing::info_span!(
            target: "apiclient_http",
            "request",
            method = %req.method(),
            url = %apiclient_errors::redact::redact_url(&req.uri().to_string()),
            service_type = req
                .extensions()
                .get::<Target>()
                .map_or("", |t| t.filter.service_type.as_str()),
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        if span.is_disabled() {
            // nobody listens: no counter, no clock, no span to enter
            return self.call_inner(req).await;
        }
        let attempts = AttemptCount::default();
        let mut req = req;
        req.extensions_mut().insert(attempts.clone());
        let t0 = std::time::Instant::now();
        let result = self.call_inner(req).instrument(span.clone()).await;
        span.record("attempts", attempts.get());
        span.record("duration_ms", t0.elapsed().as_millis() as u64);
        if let Ok((resp, _)) = &result {
            span.record("status", resp.status().as_u16());
            if let Some(id) = resp
                .headers()
                .get("x-openstack-request-id")
                .and_then(|v| v.to_str().ok())
            {
                span.record(
                    "request_id",
                    apiclient_errors::redact::display_safe(id, 256).as_ref(),
                );
            }
        }
        result
    }

    async fn call_inner(
        &self,
        mut req: Request<Body>,
    ) -> Result<(Response<Body>, http::Uri), Error> {
        let uri = req.uri().clone();
        let deadline = match req.extensions().get::<Deadline>() {
            Some(d) => Some(*d),
            None => self.deadline(),
        };
        if let Some(d) = deadline {
            req.extensions_mut().insert(d);
        }
        let call = self.inner.service.clone().oneshot(req);
        let resp = within(deadline, &uri, async {
            call.await.map_err(|e| into_error(e, &uri.to_string()))
        })
        .await?;
        // The absolute URL that answered (the Auth layer's), else the one asked for.
        let uri = resp
            .extensions()
            .get::<RequestUrl>()
            .map(|u| u.0.clone())
            .unwrap_or(uri);
        let request_id = resp.headers().get("x-openstack-request-id").cloned();
        self.inner.last_request_id.store(request_id.map(Arc::new));
        Ok((resp, uri))
    }

    async fn send(&self, req: Request<Body>) -> Result<ApiResponse, Error> {
        let method = req.method().clone();
        let (resp, uri) = self.call(req).await?;
        let (parts, body) = resp.into_parts();
        let body = match body.as_bytes() {
            Some(b) => b.clone(),
            None => body
                .collect_limited(usize::MAX)
                .await
                .map_err(|e| into_error(e, &uri.to_string()))?,
        };
        let resp = ApiResponse {
            status: parts.status,
            headers: parts.headers,
            body,
            method,
            uri,
        };
        if is_failure(resp.status) {
            tracing::debug!(target: "apiclient_http", status = resp.status.as_u16(), "Request returned failure status");
            return Err(from_response(
                resp.status.as_u16(),
                &resp.headers,
                &resp.body,
                resp.method.as_str(),
                &resp.uri.to_string(),
            )
            .into());
        }
        Ok(resp)
    }

    /// Send with a streamed response: an error status is read (at most
    /// 1 MiB) into the usual typed error; a success comes back with its
    /// body unread.
    async fn send_streamed(
        &self,
        mut req: Request<Body>,
        idle_timeout: Duration,
    ) -> Result<StreamedResponse, Error> {
        req.extensions_mut().insert(StreamResponse { idle_timeout });
        let method = req.method().clone();
        let (resp, uri) = self.call(req).await?;
        let (parts, body) = resp.into_parts();
        if is_failure(parts.status) {
            let text = body.collect_limited(1024 * 1024).await.unwrap_or_default();
            return Err(from_response(
                parts.status.as_u16(),
                &parts.headers,
                &text,
                method.as_str(),
                &uri.to_string(),
            )
            .into());
        }
        Ok(StreamedResponse {
            status: parts.status,
            headers: parts.headers,
            body,
            uri,
            method,
            progress: None,
            digests: Vec::new(),
        })
    }

    /// A service client for `service_type` with the client's default interface
    /// and region, registered so [`client`](Self::client) finds it.
    ///
    /// The configuration's settings for the service apply:
    /// `<service>_endpoint_override`, `<service>_interface`, and a default
    /// microversion (`<service>_default_microversion`, or an
    /// `<service>_api_version` such as `2.53`). A microversion that does not
    /// parse is ignored with a warning.
    pub fn service_client(&self, service_type: &str) -> ServiceClient {
        let client = self.registered_service_client(service_type);
        match self
            .service_settings(service_type)
            .and_then(|s| s.microversion())
        {
            Some(v) => match v.parse::<Microversion>() {
                Ok(mv) => client.with_microversion(mv),
                Err(e) => {
                    tracing::warn!(target: "apiclient_http", "{service_type}: {e}; no default microversion");
                    client
                }
            },
            None => client,
        }
    }

    fn registered_service_client(&self, service_type: &str) -> ServiceClient {
        if let Some(existing) = self.client(service_type) {
            return existing;
        }
        let settings = self.service_settings(service_type);
        let own: Option<Interface> = settings
            .and_then(|s| s.interface.as_deref())
            .and_then(|i| i.parse().ok());
        let filter = match own {
            // a service's own interface is the only one for it
            Some(interface) => EndpointFilter::new(service_type).interface(interface),
            None => EndpointFilter::new(service_type)
                .interface(self.inner.interface)
                .fallback_interfaces(self.inner.fallback_interfaces.clone()),
        }
        .region(self.inner.region.clone());
        let mut target = Target::new(filter);
        target.endpoint_override = settings
            .and_then(|s| s.endpoint_override.as_deref())
            .map(Arc::from);
        let client = ServiceClient {
            http: self.clone(),
            target,
            defaults: Arc::default(),
        };
        self.add_client(client.clone());
        client
    }

    /// The configuration's settings for `service_type` (`compute_endpoint_override`,
    /// `block_storage_interface`, `OS_COMPUTE_ENDPOINT_OVERRIDE`, ...): by
    /// the type itself, else by its official type or an alias of it.
    pub fn service_settings(
        &self,
        service_type: &str,
    ) -> Option<&apiclient_auth::clouds::ServiceSettings> {
        let services = &self.inner.services;
        if let Some(s) = services.get(service_type) {
            return Some(s);
        }
        let official = apiclient_auth::catalog::official_service_type(service_type)?;
        services.iter().find_map(|(k, v)| {
            (apiclient_auth::catalog::official_service_type(k) == Some(official)).then_some(v)
        })
    }

    /// Register a service client under its service type, unless one is already there.
    pub fn add_client(&self, client: ServiceClient) {
        if let Ok(mut c) = self.inner.clients.lock() {
            c.entry(client.service_type().to_string())
                .or_insert(client.target);
        }
    }

    /// The registered service client of `service_type` (`http.client("compute")`).
    pub fn client(&self, service_type: &str) -> Option<ServiceClient> {
        let target = self
            .inner
            .clients
            .lock()
            .ok()
            .and_then(|c| c.get(service_type).cloned())?;
        Some(ServiceClient {
            http: self.clone(),
            target,
            defaults: Arc::default(),
        })
    }

    /// Authenticate now (single-flight), within the operation timeout.
    pub async fn authenticate(&self) -> Result<Arc<AccessInfo>, Error> {
        within(
            self.deadline(),
            &"authentication",
            self.inner.state.authenticate(),
        )
        .await
    }

    /// A valid token, authenticating if there is none or it is about to
    /// expire, within the operation timeout.
    pub async fn access(&self) -> Result<Arc<AccessInfo>, Error> {
        let get = async { Ok(self.inner.state.get().await?.access) };
        within(self.deadline(), &"authentication", get).await
    }

    /// The shared token state.
    pub fn token_state(&self) -> &Arc<TokenState> {
        &self.inner.state
    }

    /// The transport auth plugins use (the stack without auth and retries).
    pub fn transport(&self) -> SharedTransport {
        self.inner.transport.clone()
    }

    /// The full stack as a tower service (for use with other tower code).
    pub fn service(&self) -> HttpService {
        self.inner.service.clone()
    }

    /// The `x-openstack-request-id` of the last response (None when it had
    /// none): the reference's API. It is one slot per client, so under
    /// concurrency it may belong to another call; read a result's own
    /// [`ApiResponse::request_id`] (or `WithMeta::request_id` in
    /// `apiclient-base`) instead.
    pub fn last_request_id(&self) -> Option<String> {
        let last = self.inner.last_request_id.load();
        last.as_deref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The default interface of service clients.
    pub fn default_interface(&self) -> Interface {
        self.inner.interface
    }

    /// The default region of service clients.
    pub fn default_region(&self) -> Option<&str> {
        self.inner.region.as_deref()
    }

    /// The timings list (enable, read, reset).
    pub fn timings(&self) -> &Timings {
        &self.inner.timings
    }

    /// A copy of the timings (Python's `get_timings`).
    pub fn get_timings(&self) -> Vec<Timing> {
        self.inner.timings.get()
    }

    /// Clear the timings (Python's `reset_timings`).
    pub fn reset_timings(&self) {
        self.inner.timings.reset()
    }
}

/// A client of one service (compute, image, ...): its endpoint filter and
/// cached endpoint, its default microversion and headers; the token is the
/// [`HttpClient`]'s.
#[derive(Clone, Debug)]
pub struct ServiceClient {
    http: HttpClient,
    target: Target,
    defaults: Arc<ClientDefaults>,
}

/// What every request of a service client carries unless it says otherwise.
#[derive(Debug, Default)]
struct ClientDefaults {
    microversion: Option<Microversion>,
    headers: HeaderMap,
}

impl ClientDefaults {
    fn with(&self, f: impl FnOnce(&mut ClientDefaults)) -> Arc<ClientDefaults> {
        let mut d = ClientDefaults {
            microversion: self.microversion,
            headers: self.headers.clone(),
        };
        f(&mut d);
        Arc::new(d)
    }
}

impl ServiceClient {
    /// A service client with its own filter (not registered; see [`HttpClient::add_client`]).
    pub fn new(http: &HttpClient, filter: EndpointFilter) -> Self {
        ServiceClient {
            http: http.clone(),
            target: Target::new(filter),
            defaults: Arc::default(),
        }
    }

    /// This client with a default microversion: every request asks for it
    /// (with the header names of the service type) unless it sets its own
    /// with [`ApiRequest::microversion`].
    pub fn with_microversion(mut self, version: Microversion) -> Self {
        self.defaults = self.defaults.with(|d| d.microversion = Some(version));
        self
    }

    /// This client with a header every request carries unless it sets the
    /// header itself. An invalid name or value is ignored.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.defaults = self.defaults.with(|d| {
                d.headers.insert(n, v);
            });
        }
        self
    }

    /// The default microversion, if one is set.
    pub fn microversion(&self) -> Option<Microversion> {
        self.defaults.microversion
    }

    /// The service's versions, discovered once per endpoint (and shared by
    /// the service clients of the same [`HttpClient`]): the version document
    /// of the endpoint, else of the endpoint without its project id
    /// (Cinder's `…/v3/<project_id>` serves none), else of the unversioned
    /// root, as keystoneauth discovers. A document found above the endpoint
    /// keeps only the endpoint's major version when it lists it. Nothing
    /// found is the endpoint's own error.
    pub async fn versions(&self) -> Result<Vec<ApiVersion>, Error> {
        let endpoint = self.endpoint().await?;
        let cell = self.http.inner.discovery.cell(&endpoint);
        cell.get_or_try_init(|| self.discover(&endpoint))
            .await
            .cloned()
    }

    async fn discover(&self, endpoint: &str) -> Result<Vec<ApiVersion>, Error> {
        let project_id = match self.http.access().await {
            Ok(access) => access.project_id().map(str::to_string),
            Err(_) => None,
        };
        let mut first_error = None;
        for (i, url) in crate::discovery::candidates(endpoint, project_id.as_deref())
            .into_iter()
            .enumerate()
        {
            let found = match self.request(ApiRequest::get(url)).await {
                Ok(resp) => match resp.json::<serde_json::Value>() {
                    Ok(doc) => Ok(crate::microversion::parse_versions(&doc)),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match found {
                Ok(versions) if !versions.is_empty() => {
                    return Ok(if i == 0 {
                        versions
                    } else {
                        crate::discovery::for_endpoint(endpoint, versions)
                    });
                }
                Ok(_) => {
                    first_error.get_or_insert_with(|| Error::InvalidResponse {
                        message: "no version document".into(),
                        url: endpoint.to_string(),
                        source: None,
                    });
                }
                // another answer than "not here" ends the search
                Err(e) if !(e.is_not_found() || matches!(e, Error::InvalidResponse { .. })) => {
                    return Err(first_error.unwrap_or(e));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| Error::InvalidResponse {
            message: "no version document".into(),
            url: endpoint.to_string(),
            source: None,
        }))
    }

    /// The highest microversion in `[min, max]` the service supports too
    /// (`max` may be [`Microversion::Latest`]); none in common is
    /// [`Error::UnsupportedVersion`].
    pub async fn negotiate(
        &self,
        min: Microversion,
        max: Microversion,
    ) -> Result<Microversion, Error> {
        let versions = self.versions().await?;
        let with_mv: Vec<&ApiVersion> = versions
            .iter()
            .filter(|v| v.max_microversion.is_some())
            .collect();
        with_mv
            .iter()
            .find_map(|v| v.negotiate(min, max))
            .ok_or_else(|| {
                let offered: Vec<String> = with_mv
                    .iter()
                    .map(|v| {
                        format!(
                            "{} {}..{}",
                            v.id,
                            v.min_microversion
                                .map(|m| m.to_string())
                                .unwrap_or_default(),
                            v.max_microversion
                                .map(|m| m.to_string())
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                Error::UnsupportedVersion(format!(
                    "the {} service supports no microversion in {min}..{max} (it offers {})",
                    self.service_type(),
                    if offered.is_empty() {
                        "none".to_string()
                    } else {
                        offered.join(", ")
                    }
                ))
            })
    }

    /// This client with the microversion negotiated in `[min, max]` as its default.
    pub async fn with_negotiated_microversion(
        self,
        min: Microversion,
        max: Microversion,
    ) -> Result<Self, Error> {
        let v = self.negotiate(min, max).await?;
        Ok(self.with_microversion(v))
    }

    /// `req` with this client's defaults: its headers where the request has
    /// none of that name, and its microversion unless the request has one.
    fn with_defaults(&self, mut req: ApiRequest) -> ApiRequest {
        for (k, v) in &self.defaults.headers {
            if !req.headers.contains_key(k) {
                req.headers.insert(k.clone(), v.clone());
            }
        }
        if let Some(v) = req.microversion.or(self.defaults.microversion) {
            for (name, value) in crate::microversion::headers_for(self.service_type(), v) {
                req = req.set_header(name, &value);
            }
        }
        req
    }

    /// Use a fixed endpoint instead of the catalog.
    pub fn with_endpoint_override(mut self, endpoint: impl Into<String>) -> Self {
        self.target.endpoint_override = Some(Arc::from(endpoint.into()));
        self
    }

    /// The service type.
    pub fn service_type(&self) -> &str {
        &self.target.filter.service_type
    }

    /// The endpoint filter.
    pub fn filter(&self) -> &EndpointFilter {
        &self.target.filter
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The cached endpoint, if resolved.
    pub fn cached_endpoint(&self) -> Option<String> {
        self.target
            .endpoint
            .read()
            .ok()
            .and_then(|e| e.as_deref().map(str::to_string))
    }

    /// The endpoint this client uses (authenticating if needed).
    pub async fn endpoint(&self) -> Result<String, Error> {
        if let Some(e) = self
            .target
            .endpoint_override
            .as_deref()
            .map(str::to_string)
            .or_else(|| self.cached_endpoint())
        {
            return Ok(e);
        }
        let access = self.http.access().await?;
        let endpoint = self
            .http
            .inner
            .state
            .with_plugin(|p| p.endpoint(&access, &self.target.filter))??;
        Ok(endpoint)
    }

    /// Send a request relative to the endpoint (with the client's default
    /// microversion and headers).
    pub async fn request(&self, req: ApiRequest) -> Result<ApiResponse, Error> {
        self.http
            .client_request(self, self.with_defaults(req))
            .await
    }

    /// Send a request relative to the endpoint and stream the response body
    /// (each read within 60 s; see [`HttpClient::client_request_streamed`]).
    pub async fn request_streamed(&self, req: ApiRequest) -> Result<StreamedResponse, Error> {
        self.http
            .client_request_streamed(self, self.with_defaults(req), Duration::from_secs(60))
            .await
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Result<ApiResponse, Error> {
        self.request(ApiRequest::new(Method::GET, path)).await
    }

    /// HEAD `path`.
    pub async fn head(&self, path: &str) -> Result<ApiResponse, Error> {
        self.request(ApiRequest::new(Method::HEAD, path)).await
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> Result<ApiResponse, Error> {
        self.request(ApiRequest::new(Method::DELETE, path)).await
    }

    /// POST a JSON body to `path`.
    pub async fn post<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> Result<ApiResponse, Error> {
        self.request(ApiRequest::new(Method::POST, path).json(body))
            .await
    }

    /// PUT a JSON body to `path`.
    pub async fn put<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> Result<ApiResponse, Error> {
        self.request(ApiRequest::new(Method::PUT, path).json(body))
            .await
    }

    /// PATCH a JSON body to `path`.
    pub async fn patch<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
    ) -> Result<ApiResponse, Error> {
        self.request(ApiRequest::new(Method::PATCH, path).json(body))
            .await
    }

    /// The HTTP client's last request id.
    pub fn last_request_id(&self) -> Option<String> {
        self.http.last_request_id()
    }
}

/// A request being built: method, URL (absolute, or relative to a service
/// endpoint), headers, query and body. Invalid parts are reported when it is sent.
///
/// `Debug` shows it as the curl log does: credential headers hashed, secret
/// JSON fields and URL passwords as `***`.
pub struct ApiRequest {
    method: Method,
    url: String,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Body,
    microversion: Option<Microversion>,
    error: Option<String>,
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field(
                "url",
                &apiclient_errors::redact::redact_url(&self.full_url()),
            )
            .field("headers", &redact_headers(&self.headers))
            .field("body", &body_log(&self.body))
            .field("error", &self.error)
            .finish()
    }
}

impl ApiRequest {
    /// A request of `method` to `url`.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        ApiRequest {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            query: Vec::new(),
            body: Body::empty(),
            microversion: None,
            error: None,
        }
    }

    /// GET `url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::GET, url)
    }

    /// PUT `url` (add the body with [`body`](Self::body) or [`json`](Self::json)).
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::PUT, url)
    }

    /// POST `url`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::POST, url)
    }

    /// DELETE `url`.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::DELETE, url)
    }

    /// PATCH `url`. Say the patch's media type with
    /// [`set_header`](Self::set_header) (`Content-Type`) before or after
    /// [`json`](Self::json): Glance takes only
    /// `application/openstack-images-v2.1-json-patch`, other services
    /// `application/json-patch+json` or `application/merge-patch+json`.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new(Method::PATCH, url)
    }

    /// HEAD `url`.
    pub fn head(url: impl Into<String>) -> Self {
        Self::new(Method::HEAD, url)
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => self.error = Some(format!("invalid header '{name}'")),
        }
        self
    }

    /// Set a header, replacing any value it had.
    pub fn set_header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => self.error = Some(format!("invalid header '{name}'")),
        }
        self
    }

    /// Send `X-OpenStack-Request-ID: <id>` with this request (replacing the
    /// client's global request id).
    pub fn global_request_id(self, id: &str) -> Self {
        self.set_header("X-OpenStack-Request-ID", id)
    }

    /// Ask for this microversion (over the service client's default); the
    /// header names follow the service type.
    pub fn microversion(mut self, version: Microversion) -> Self {
        self.microversion = Some(version);
        self
    }

    /// Add the pairs of a serializable query (a struct with
    /// `#[derive(Serialize)]`, `None` fields skipped) as query parameters.
    pub fn query_of<Q: Serialize + ?Sized>(mut self, query: &Q) -> Self {
        match serde_json::to_value(query) {
            Ok(serde_json::Value::Object(map)) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::Null => {}
                        serde_json::Value::String(s) => self.query.push((k, s)),
                        serde_json::Value::Array(items) => {
                            for item in items {
                                let text = match item {
                                    serde_json::Value::String(s) => s,
                                    other => other.to_string(),
                                };
                                self.query.push((k.clone(), text));
                            }
                        }
                        other => self.query.push((k, other.to_string())),
                    }
                }
            }
            Ok(serde_json::Value::Null) => {}
            Ok(_) => self.error = Some("a query must serialize to a map".into()),
            Err(e) => self.error = Some(format!("the query cannot be serialized: {e}")),
        }
        self
    }

    /// Add a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// A JSON body (compact), with `Content-Type: application/json` unless
    /// the request already says its media type (a JSON-Patch or merge-patch
    /// type set with [`set_header`](Self::set_header) is kept).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(b) => {
                self.body = Body::from(b);
                if !self.headers.contains_key(http::header::CONTENT_TYPE) {
                    self.headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
            }
            Err(e) => self.error = Some(format!("body cannot be serialized as JSON: {e}")),
        }
        self
    }

    /// A body: bytes (replayable), or any [`Body`]: a file
    /// ([`Body::from_file`], re-opened for a replay), a one-shot stream or
    /// reader (sent once, never replayed).
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL with the query appended.
    pub fn full_url(&self) -> String {
        if self.query.is_empty() {
            return self.url.clone();
        }
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query.iter())
            .finish();
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{q}", self.url)
    }

    fn into_http(self, target: Option<Target>) -> Result<Request<Body>, Error> {
        if let Some(e) = self.error {
            return Err(Error::Validation(e));
        }
        let url = self.full_url();
        let absolute = url.starts_with("http://") || url.starts_with("https://");
        if target.is_none() && !absolute {
            return Err(Error::Validation(format!(
                "'{}' is not an absolute URL (http:// or https://); a path needs a service client",
                apiclient_errors::redact::redact_url(&url)
            )));
        }
        let uri_text = if target.is_some() && !absolute && !url.starts_with('/') {
            format!("/{url}")
        } else {
            url.clone()
        };
        let mut req = Request::builder()
            .method(self.method)
            .uri(uri_text)
            .body(self.body)
            .map_err(|e| Error::Validation(format!("invalid request URL '{url}': {e}")))?;
        *req.headers_mut() = self.headers;
        if let Some(t) = target {
            req.extensions_mut().insert(t);
        }
        Ok(req)
    }
}

/// A buffered response. `Debug` redacts as the curl log does.
#[derive(Clone)]
pub struct ApiResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    method: Method,
    uri: http::Uri,
}

impl std::fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiResponse")
            .field("status", &self.status)
            .field("url", &apiclient_errors::redact::redact_url(&self.url()))
            .field("headers", &redact_headers(&self.headers))
            .field("body", &redact_body(&self.body))
            .finish()
    }
}

/// A response whose body is read as it arrives ([`ServiceClient::request_streamed`]).
///
/// It carries the answer's metadata ([`request_id`](Self::request_id),
/// [`microversion`](Self::microversion)); a download can report its
/// progress ([`on_progress`](Self::on_progress)) and be checked against a
/// digest ([`expect_digest`](Self::expect_digest),
/// [`verify_announced_md5`](Self::verify_announced_md5)): a mismatch is
/// [`Error::DigestMismatch`] at the end of the body, and
/// [`copy_to_file`](Self::copy_to_file) then leaves no file behind.
pub struct StreamedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
    uri: http::Uri,
    method: Method,
    progress: Option<ProgressFn>,
    digests: Vec<(DigestAlgorithm, String)>,
}

impl std::fmt::Debug for StreamedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedResponse")
            .field("status", &self.status)
            .field(
                "url",
                &apiclient_errors::redact::redact_url(&self.uri.to_string()),
            )
            .field("headers", &redact_headers(&self.headers))
            .finish_non_exhaustive()
    }
}

impl StreamedResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The absolute URL that answered.
    pub fn url(&self) -> String {
        self.uri.to_string()
    }

    /// The `Content-Length`, when the server sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }

    /// The `x-openstack-request-id` (or `x-compute-request-id`, Swift's
    /// `x-trans-id`), if any.
    pub fn request_id(&self) -> Option<&str> {
        request_id_of(&self.headers)
    }

    /// The microversion the service says it answered with, if it says.
    pub fn microversion(&self) -> Option<Microversion> {
        crate::microversion::from_response(&self.headers)
    }

    /// Tell `progress` of the bytes received as they arrive (the total is
    /// the `Content-Length`, when sent).
    pub fn on_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// Check the body against this digest (hex, any case) as it streams:
    /// a mismatch is [`Error::DigestMismatch`] in place of the end of the
    /// body.
    pub fn expect_digest(mut self, algorithm: DigestAlgorithm, hex: impl Into<String>) -> Self {
        self.digests
            .push((algorithm, hex.into().trim().to_ascii_lowercase()));
        self
    }

    /// Check the body against the MD5 the server announced: `Content-MD5`
    /// (hex as Glance sends it, or base64), else a plain object's `ETag`
    /// (Swift; 32 hex digits). Only a whole body is checked: a `200` to a
    /// request other than `HEAD`. Nothing is checked where no MD5 of these
    /// bytes was announced: a partial answer (206), an answer without a
    /// body, or a large-object manifest whose `ETag` is the digest of its
    /// segments' digests.
    pub fn verify_announced_md5(self) -> Self {
        if self.status != StatusCode::OK || self.method == Method::HEAD {
            return self;
        }
        let header = |name: &str| self.headers.get(name).and_then(|v| v.to_str().ok());
        let announced = header("content-md5")
            .and_then(crate::transfer::md5_from_header)
            .or_else(|| {
                let plain = header("x-static-large-object").is_none()
                    && header("x-object-manifest").is_none();
                header("etag")
                    .filter(|_| plain)
                    .and_then(crate::transfer::md5_from_hex)
            });
        match announced {
            Some(md5) => self.expect_digest(DigestAlgorithm::Md5, md5),
            None => self,
        }
    }

    /// The body as a stream of chunks (errors are typed: a read that waited
    /// past the idle timeout is a timeout; a digest that does not match is
    /// [`Error::DigestMismatch`] after the last chunk).
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, Error>> + Send {
        let url = self.uri.to_string();
        let total = self.content_length();
        let check = DigestCheck {
            hashers: self
                .digests
                .iter()
                .map(|(alg, _)| crate::transfer::Hasher::new(*alg))
                .collect(),
            expected: self.digests,
            progress: self.progress,
            done: 0,
            total,
            url,
        };
        let body = self.body.into_stream();
        futures_util::stream::unfold(
            (Box::pin(body), Some(check)),
            |(mut body, check)| async move {
                use futures_util::StreamExt;
                let mut check = check?;
                match body.next().await {
                    Some(Ok(chunk)) => {
                        check.update(&chunk);
                        Some((Ok(chunk), (body, Some(check))))
                    }
                    Some(Err(e)) => {
                        let e = into_error(e, &check.url);
                        Some((Err(e), (body, None)))
                    }
                    None => check.finish().map(|e| (Err(e), (body, None))),
                }
            },
        )
    }

    /// The body (unchecked: no progress, no digest).
    pub fn into_body(self) -> Body {
        self.body
    }

    /// Write the body to `writer` as it arrives; the number of bytes
    /// written. A failed write is [`Error::Io`].
    pub async fn copy_to<W>(self, writer: &mut W) -> Result<u64, Error>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        copy_stream(self.into_stream(), writer, None).await
    }

    /// Write the body to the file at `path` as it arrives; the number of
    /// bytes written. The data goes to a temporary file beside it, renamed
    /// over `path` once the whole body has arrived and matched its digests:
    /// a failed download leaves `path` as it was. A file that cannot be
    /// written is [`Error::Io`] naming it.
    pub async fn copy_to_file(self, path: impl AsRef<std::path::Path>) -> Result<u64, Error> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            operation: "write",
            path: Some(path.to_path_buf()),
            source,
        };
        let (part, file) = PartFile::create(path).await.map_err(io)?;
        let mut file = file;
        let copied = copy_stream(self.into_stream(), &mut file, Some(path)).await;
        let synced = match copied {
            Ok(n) => file.sync_all().await.map(|()| n).map_err(io),
            Err(e) => Err(e),
        };
        drop(file);
        let n = synced?;
        part.keep_as(path).await.map_err(io)?;
        Ok(n)
    }
}

/// A download's temporary file beside its destination: created new (never
/// through a link someone left at its name), private to the user, with a
/// name no other download picks; removed unless kept (also when the
/// download is cancelled).
struct PartFile(Option<std::path::PathBuf>);

impl PartFile {
    async fn create(dest: &std::path::Path) -> std::io::Result<(PartFile, tokio::fs::File)> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "download".into());
        let mut tries = 0;
        loop {
            let part = dest.with_file_name(format!(
                ".{name}.part-{}-{:016x}",
                std::process::id(),
                fastrand::u64(..)
            ));
            let mut open = tokio::fs::OpenOptions::new();
            open.write(true).create_new(true);
            #[cfg(unix)]
            open.mode(0o600);
            match open.open(&part).await {
                Ok(file) => return Ok((PartFile(Some(part)), file)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => {
                    tries += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Rename it over `dest`.
    async fn keep_as(mut self, dest: &std::path::Path) -> std::io::Result<()> {
        if let Some(part) = self.0.take()
            && let Err(e) = tokio::fs::rename(&part, dest).await
        {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if let Some(part) = self.0.take() {
            let _ = std::fs::remove_file(part);
        }
    }
}

/// The request id an answer carries, under any of the names services use.
fn request_id_of(headers: &HeaderMap) -> Option<&str> {
    [
        "x-openstack-request-id",
        "x-compute-request-id",
        "x-trans-id",
    ]
    .iter()
    .find_map(|h| headers.get(*h))
    .and_then(|v| v.to_str().ok())
}

/// Progress and digests of a streamed body, as it passes.
struct DigestCheck {
    hashers: Vec<crate::transfer::Hasher>,
    expected: Vec<(DigestAlgorithm, String)>,
    progress: Option<ProgressFn>,
    done: u64,
    total: Option<u64>,
    url: String,
}

impl DigestCheck {
    fn update(&mut self, chunk: &[u8]) {
        for h in &mut self.hashers {
            h.update(chunk);
        }
        self.done += chunk.len() as u64;
        if let Some(tell) = &self.progress {
            tell(Progress::new(self.done, self.total));
        }
    }

    /// The first mismatch, if any.
    fn finish(self) -> Option<Error> {
        self.hashers
            .into_iter()
            .zip(self.expected)
            .find_map(|(h, (algorithm, expected))| {
                let actual = h.finish_hex();
                (actual != expected).then(|| Error::DigestMismatch {
                    algorithm: algorithm.name(),
                    expected,
                    actual,
                    url: self.url.clone(),
                })
            })
    }
}

/// Copy `stream` into `writer`; write failures are [`Error::Io`] (naming `path`).
async fn copy_stream<W>(
    stream: impl futures_util::Stream<Item = Result<Bytes, Error>>,
    writer: &mut W,
    path: Option<&std::path::Path>,
) -> Result<u64, Error>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let io = |source| Error::Io {
        operation: "write",
        path: path.map(std::path::Path::to_path_buf),
        source,
    };
    let mut stream = std::pin::pin!(stream);
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        writer.write_all(&chunk).await.map_err(io)?;
        n += chunk.len() as u64;
    }
    writer.flush().await.map_err(io)?;
    Ok(n)
}

impl ApiResponse {
    /// The absolute URL that answered.
    pub fn url(&self) -> String {
        self.uri.to_string()
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The microversion the service says it answered with, if it says.
    pub fn microversion(&self) -> Option<Microversion> {
        crate::microversion::from_response(&self.headers)
    }

    /// The `x-openstack-request-id` (or `x-compute-request-id`, Swift's
    /// `x-trans-id`), if any.
    pub fn request_id(&self) -> Option<&str> {
        request_id_of(&self.headers)
    }

    /// Whether the response is JSON (by content type).
    pub fn is_json(&self) -> bool {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"))
    }

    /// Decode the body as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::InvalidResponse {
            message: format!("the {} response body is not the JSON expected", self.method),
            url: self.url(),
            source: Some(Box::new(e)),
        })
    }
}
