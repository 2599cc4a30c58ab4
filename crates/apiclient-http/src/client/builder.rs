//! [`HttpClientBuilder`]: the settings, and the assembly of the stack
//! (retry, auth, defaults, curl log, timing, transport); the constructors of
//! [`HttpClient`] from a plugin or from the configuration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::clouds::ServiceSettings;
use apiclient_auth::transport::{BoxFuture as AuthFuture, SharedTransport, Transport};
use apiclient_auth::{AuthPlugin, Interface, PluginRegistry, ResolvedConfig};
use apiclient_errors::Error;
use bytes::Bytes;
use http::{Request, Response};
use tower::{ServiceBuilder, ServiceExt};

use super::http_client::{HttpClient, Inner};
use super::stack::{Base, Direct, Fused, HttpService, StackLayer, boxed, into_error};
use crate::body::Body;
use crate::layers::auth::AuthLayer;
use crate::layers::curl_log::CurlLogLayer;
use crate::layers::defaults::{DEFAULT_USER_AGENT, DefaultsLayer};
use crate::layers::limits::{Limits, LimitsLayer};
use crate::layers::metrics::MetricsLayer;
use crate::layers::redirect::RedirectPolicy;
use crate::layers::retry::{RetryLayer, RetryPolicy};
use crate::layers::timing::{TimingLayer, Timings};
use crate::store::TokenStore;
use crate::token::{Clock, TokenState};
use crate::transport::{HyperTransport, ProxyConfig, TlsConfig, TransportConfig};

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
    /// Whether `clock` is still the default (the system's).
    system_clock: bool,
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
    overall_limits: Limits,
    limits: Limits,
    service_limits: Vec<(String, Limits)>,
    service_retry: Vec<(String, RetryPolicy)>,
    metrics: bool,
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
    pub fn new(plugin: impl AuthPlugin + 'static) -> Self {
        Self::with_boxed(Box::new(plugin))
    }

    /// The builder of a plugin boxed already (not boxed again).
    fn with_boxed(plugin: Box<dyn AuthPlugin>) -> Self {
        HttpClientBuilder {
            plugin,
            transport: TransportConfig::default(),
            user_agent: DEFAULT_USER_AGENT.to_string(),
            original_ip: None,
            timings: false,
            retry: RetryPolicy::default(),
            skew: Duration::from_secs(120),
            clock: Arc::new(time::OffsetDateTime::now_utc),
            system_clock: true,
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
            overall_limits: Limits::default(),
            limits: Limits::default(),
            service_limits: Vec::new(),
            service_retry: Vec::new(),
            metrics: true,
        }
    }

    /// A builder from resolved options: the plugin they select, their region,
    /// interface and TLS settings.
    pub fn from_config(config: &ResolvedConfig, registry: &PluginRegistry) -> Result<Self, Error> {
        let mut b = Self::with_boxed(config.load_plugin(registry)?);
        b.region = config.region_name.clone();
        b.interface = config.interface;
        b.fallback_interfaces = config.fallback_interfaces.clone();
        b.services = config.services.clone();
        // retries and limits: the cloud's defaults, and each service's own
        let defaults = &config.service_defaults;
        b.retry = retry_with(RetryPolicy::default(), defaults);
        b.limits = limits_with(Limits::default(), defaults);
        for (service, s) in &config.services {
            if s.connect_retries.is_some()
                || s.status_code_retries.is_some()
                || s.retriable_status_codes.is_some()
            {
                b.service_retry
                    .push((service.clone(), retry_with(b.retry.clone(), s)));
            }
            if s.rate_limit.is_some() || s.concurrency.is_some() {
                b.service_limits
                    .push((service.clone(), limits_with(b.limits, s)));
            }
        }
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
    /// the deadline, the call ends with a
    /// [`ConnectionErrorKind::Deadline`](apiclient_errors::ConnectionErrorKind::Deadline)
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
    /// [`ApiRequest::global_request_id`](crate::ApiRequest::global_request_id).
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

    /// The retry policy of one service type instead of the client's
    /// (clouds.yaml's `<service>_connect_retries`,
    /// `<service>_status_code_retries`, `<service>_retriable_status_codes`).
    ///
    /// ```
    /// use apiclient_auth::typed::AdminToken;
    /// use apiclient_http::{HttpClient, RetryPolicy};
    /// let http = HttpClient::builder(AdminToken::new("http://glance/", "t"))
    ///     .service_retry("image", RetryPolicy::default().statuses([502, 503, 504]))
    ///     .build()
    ///     .unwrap();
    /// # let _ = http;
    /// ```
    pub fn service_retry(mut self, service_type: &str, policy: RetryPolicy) -> Self {
        self.service_retry.retain(|(t, _)| t != service_type);
        self.service_retry.push((service_type.to_string(), policy));
        self
    }

    /// Limits of each service type on its own (clouds.yaml's `rate_limit`
    /// and `concurrency` as numbers): every service gets its own rate and
    /// cap. See [`limits`](crate::layers::limits).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Limits of one service type instead of [`limits`](Self::limits)
    /// (clouds.yaml's `rate_limit: {compute: 5}`, `<service>_rate_limit`,
    /// `<service>_concurrency`).
    pub fn service_limits(mut self, service_type: &str, limits: Limits) -> Self {
        self.service_limits.retain(|(t, _)| t != service_type);
        self.service_limits.push((service_type.to_string(), limits));
        self
    }

    /// Limits of all requests of the client together, authentication
    /// included, whatever their service.
    pub fn overall_limits(mut self, limits: Limits) -> Self {
        self.overall_limits = limits;
        self
    }

    /// Record metrics through the `metrics` facade (default on; with no
    /// recorder installed they go nowhere). See
    /// [`metrics`](crate::layers::metrics).
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
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
        self.system_clock = false;
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

    /// Add your middleware: a tower or tower-http layer (`TraceLayer`,
    /// `ConcurrencyLimitLayer`, `SetRequestHeaderLayer`, your own) around
    /// the whole stack, outside retries and authentication, so it sees each
    /// call once; any [`StackLayer`] (a `Layer` whose service takes
    /// `Request<Body>`, whatever its response body and error). Layers added
    /// first are innermost.
    ///
    /// ```
    /// use apiclient_auth::typed::AdminToken;
    /// use apiclient_http::HttpClient;
    /// let http = HttpClient::builder(AdminToken::new("http://nova/v2.1", "t"))
    ///     .with_layer(tower::limit::ConcurrencyLimitLayer::new(8))
    ///     .build()
    ///     .unwrap();
    /// # let _ = http;
    /// ```
    pub fn with_layer(mut self, layer: impl StackLayer) -> Self {
        self.outer_layers.push(Box::new(move |svc| layer.wrap(svc)));
        self
    }

    /// Add a layer around the transport instead: inside retries, timing
    /// and the curl log, so it sees every attempt (a retried call more than
    /// once), as [`with_layer`](Self::with_layer) otherwise.
    pub fn with_transport_layer(mut self, layer: impl StackLayer) -> Self {
        self.inner_layers.push(Box::new(move |svc| layer.wrap(svc)));
        self
    }

    /// Wrap the transport (inside timing and logging).
    #[deprecated(
        since = "0.1.0",
        note = "use `with_transport_layer(tower::layer::layer_fn(f))`, or the layer itself"
    )]
    pub fn map_transport(
        self,
        f: impl FnOnce(HttpService) -> HttpService + Send + 'static,
    ) -> Self {
        self.push_inner(Box::new(f))
    }

    /// Add a tower layer around the whole stack.
    #[deprecated(since = "0.1.0", note = "renamed `with_layer`")]
    pub fn layer(self, layer: impl StackLayer) -> Self {
        self.with_layer(layer)
    }

    /// Add a tower layer around the transport.
    #[deprecated(since = "0.1.0", note = "renamed `with_transport_layer`")]
    pub fn layer_transport(self, layer: impl StackLayer) -> Self {
        self.with_transport_layer(layer)
    }

    /// Wrap the whole stack (outside retries).
    #[deprecated(
        since = "0.1.0",
        note = "use `with_layer(tower::layer::layer_fn(f))`, or the layer itself"
    )]
    pub fn map_stack(
        mut self,
        f: impl FnOnce(HttpService) -> HttpService + Send + 'static,
    ) -> Self {
        self.outer_layers.push(Box::new(f));
        self
    }

    fn push_inner(mut self, wrap: Wrap) -> Self {
        self.inner_layers.push(wrap);
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
        let limits = LimitsLayer::new(self.overall_limits, self.limits, self.service_limits)?;
        let defaults = DefaultsLayer::new(&self.user_agent)
            .original_ip(self.original_ip.as_deref())
            .global_request_id(self.global_request_id.as_deref());
        // the bare stack's work done inline by a call (see `Fused`)
        let fused = match &base {
            Base::Hyper(transport) if limits.passes_through() => Some(Fused {
                defaults: defaults.shared(),
                timings: timings.clone(),
                metrics: self.metrics,
                insecure: self.transport.tls.insecure,
                transport: transport.clone(),
            }),
            _ => None,
        };
        let bare_stack = ServiceBuilder::new()
            .layer(defaults)
            .layer(limits)
            .layer(CurlLogLayer::new(self.transport.tls.insecure))
            .layer(TimingLayer::new(timings.clone()))
            .layer(MetricsLayer::new(self.metrics))
            .service(base);
        // the plugins' transport is boxed; the main stack composes the
        // layers unboxed (one box and one clone fewer per call)
        let bare = HttpService::new(bare_stack.clone());
        let transport: SharedTransport = Arc::new(BareTransport(bare));
        let mut state = TokenState::new(self.plugin, transport.clone(), self.skew, self.clock);
        if self.system_clock {
            state = state.on_system_clock();
        }
        let state = Arc::new(state.with_store(self.store));
        // one copy of each request serves retries, the replay after a 401
        // and same-origin redirects (all in the retry layer)
        let retry = RetryLayer::new(self.retry)
            .service_policies(self.service_retry)
            .follow_redirects(self.redirects);
        // without layers of the user's around it, a call takes the stack as
        // its parts, retries and auth fused into one future (`DirectCall`)
        let direct = self.outer_layers.is_empty().then(|| Direct {
            attempts: retry.attempts(),
            state: state.clone(),
            bare: bare_stack.clone(),
            fused,
        });
        // the same stack of tower layers, boxed: for the user's layers
        let mut service = boxed(
            ServiceBuilder::new()
                .layer(retry)
                .layer(AuthLayer::replaying_by_retry(state.clone()))
                .service(bare_stack),
        );
        for wrap in self.outer_layers {
            service = wrap(service);
        }
        Ok(HttpClient {
            inner: Arc::new(Inner {
                service,
                direct,
                transport,
                state,
                timings,
                last_request_id: Mutex::new(Default::default()),
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

/// `policy` with the retry settings `s` has.
fn retry_with(mut policy: RetryPolicy, s: &ServiceSettings) -> RetryPolicy {
    if let Some(n) = s.connect_retries {
        policy.max_connect_retries = n;
    }
    if let Some(n) = s.status_code_retries {
        policy.max_status_retries = n;
    }
    if let Some(codes) = &s.retriable_status_codes {
        policy.statuses = codes.clone();
    }
    policy
}

/// `limits` with the limits `s` has.
fn limits_with(mut limits: Limits, s: &ServiceSettings) -> Limits {
    if let Some(r) = s.rate_limit {
        limits.rate = Some(r);
    }
    if let Some(n) = s.concurrency {
        limits.concurrency = Some(n);
    }
    limits
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

impl HttpClient {
    /// The way in: a builder for `plugin`, a typed plugin (`V3Password`,
    /// `AdminToken`, ... of `apiclient_auth::typed`, or your own
    /// [`AuthPlugin`]) or a boxed one (what a `PluginLoader` gives).
    ///
    /// ```
    /// use apiclient_auth::typed::{Scope, V3Password};
    /// let builder = apiclient_http::HttpClient::builder(
    ///     V3Password::new("https://keystone.example/v3", "alice", "pw")
    ///         .scope(Scope::project_name("demo", "Default")),
    /// );
    /// # let _ = builder;
    /// ```
    pub fn builder(plugin: impl AuthPlugin + 'static) -> HttpClientBuilder {
        HttpClientBuilder::new(plugin)
    }

    /// A builder for a typed plugin: [`builder`](Self::builder) takes every
    /// plugin now.
    #[deprecated(
        since = "0.1.0",
        note = "use `HttpClient::builder`, which takes any plugin"
    )]
    pub fn builder_for(plugin: impl AuthPlugin + 'static) -> HttpClientBuilder {
        HttpClientBuilder::new(plugin)
    }

    /// A client configured as the `openstack` CLI would be: `OS_*`
    /// variables, and `OS_CLOUD` (or the only cloud) of clouds.yaml.
    ///
    /// Without the `clouds-yaml` feature no clouds.yaml is read: the `OS_*`
    /// variables alone configure the client, and an `OS_CLOUD` is an
    /// [`Error::Config`] saying the build reads no clouds.yaml.
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
    ///
    /// Only with the `clouds-yaml` feature (of this crate, or
    /// `apiclient-base`'s): a build that reads no clouds.yaml does not
    /// compile the call.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), apiclient_errors::Error> {
    /// let http = apiclient_http::HttpClient::from_cloud("mycloud")?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "clouds-yaml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "clouds-yaml")))]
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
}
