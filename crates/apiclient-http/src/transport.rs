//! The innermost service: hyper-util's pooled client over rustls, with a
//! total request timeout and a response-size limit.
//!
//! - A request with no body (the usual GET, HEAD, DELETE, a download), to
//!   a URL no proxy takes, goes on the transport's own pool instead
//!   (`transport/pool.rs`: the same connector, less work per request, its
//!   HTTP/1.1 connections driven in place by the exchange or the streamed
//!   body); every other request on hyper-util's. Each pool keeps its own
//!   idle connections.
//! - Responses are buffered (the size limit applies to the decoded body, so a
//!   gzip bomb stops at the limit) unless the request carries
//!   [`StreamResponse`]: then the body streams, each read bounded by an idle
//!   timeout.
//! - `Accept-Encoding: gzip, deflate` is sent and the answer decoded
//!   (tower-http's decompression), unless compression is switched off.
//! - Proxies: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` (upper or
//!   lower case, as curl reads them), or [`ProxyConfig::Custom`]; `https`
//!   goes through a `CONNECT` tunnel, plain `http` in absolute form, with
//!   the proxy URL's credentials as `Proxy-Authorization` (never logged).
//! - Trust: the web PKI roots, the system store (`SSL_CERT_FILE` and
//!   `SSL_CERT_DIR` honoured), `REQUESTS_CA_BUNDLE`, and the configured CA
//!   bundle (`--os-cacert`, `OS_CACERT`).

use std::error::Error as StdError;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use apiclient_errors::{BoxError, ConnectionError, ConnectionErrorKind, Error};
use bytes::Bytes;
use http::{Request, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{
    Connected, Connection, HttpConnector, capture_connection,
};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

mod pool;

use crate::body::{Body, LimitExceeded};
use crate::upload::{GateGuard, GatedBody, UploadGate, bounded};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use apiclient_auth::transport::BoxFuture;

/// TLS settings: [`TlsConfig::default`] changed with the setters (the
/// fields stay readable; new ones may come, so the struct is not built by a
/// literal).
///
/// ```
/// use apiclient_http::TlsConfig;
/// let tls = TlsConfig::default().cacert("/etc/ssl/my-ca.pem").system_roots(false);
/// assert!(tls.cacert.is_some() && !tls.insecure);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsConfig {
    /// Extra CA certificates (PEM file), trusted besides the web PKI roots.
    pub cacert: Option<std::path::PathBuf>,
    /// A client certificate chain (PEM file).
    pub cert: Option<std::path::PathBuf>,
    /// The client certificate's key (PEM file); defaults to `cert` (a combined PEM).
    pub key: Option<std::path::PathBuf>,
    /// Do not verify server certificates (`--insecure`).
    pub insecure: bool,
    /// Trust the system's certificate store too (default true), and the
    /// bundles named by `SSL_CERT_FILE`, `SSL_CERT_DIR` and `REQUESTS_CA_BUNDLE`.
    pub system_roots: bool,
    /// The environment those variables are read from (None: the process's).
    pub env_bundles: Option<Vec<std::path::PathBuf>>,
}

impl TlsConfig {
    /// Trust the CA certificates of this PEM file too.
    pub fn cacert(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.cacert = Some(path.into());
        self
    }

    /// Present this client certificate chain (PEM file).
    pub fn cert(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.cert = Some(path.into());
        self
    }

    /// The client certificate's key (PEM file), when not in the `cert` file.
    pub fn key(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.key = Some(path.into());
        self
    }

    /// Verify no server certificate (`--insecure`).
    pub fn insecure(mut self, on: bool) -> Self {
        self.insecure = on;
        self
    }

    /// Trust the system's certificate store and the environment's bundles.
    pub fn system_roots(mut self, on: bool) -> Self {
        self.system_roots = on;
        self
    }

    /// The CA bundles an environment names: `SSL_CERT_FILE`,
    /// `REQUESTS_CA_BUNDLE` (files) and the PEM files in `SSL_CERT_DIR`
    /// (`:`-separated directories), as OpenSSL, requests and keystoneauth
    /// read them.
    pub fn with_env_fn(mut self, env: impl Fn(&str) -> Option<String>) -> Self {
        self.env_bundles = Some(env_bundles(env));
        self
    }
}

fn env_bundles(env: impl Fn(&str) -> Option<String>) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for var in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"] {
        if let Some(f) = env(var).filter(|f| !f.is_empty()) {
            out.push(std::path::PathBuf::from(f));
        }
    }
    if let Some(dirs) = env("SSL_CERT_DIR") {
        for dir in dirs.split(':').filter(|d| !d.is_empty()) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.extension()
                            .is_some_and(|e| e == "pem" || e == "crt" || e == "0")
                })
                .collect();
            files.sort();
            out.extend(files);
        }
    }
    out
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            cacert: None,
            cert: None,
            key: None,
            insecure: false,
            system_roots: true,
            env_bundles: None,
        }
    }
}

/// Where requests go through a proxy.
#[derive(Clone, Default)]
pub enum ProxyConfig {
    /// From `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (or their
    /// lower-case forms), as curl and requests read them (the default). A
    /// proxy applies to loopback too unless `NO_PROXY` names it.
    #[default]
    FromEnv,
    /// No proxy at all.
    None,
    /// These rules ([`ProxyConfig::all`], [`ProxyConfig::from_env_fn`]).
    Custom(ProxyRules),
}

/// Proxy rules: which proxy each URL goes through, and which URLs go
/// direct. Made by [`ProxyConfig::all`] and [`ProxyConfig::from_env_fn`];
/// what holds them is this crate's own business (today hyper-util's
/// matcher, a pre-1.0 type that stays out of the public API).
#[derive(Clone)]
pub struct ProxyRules(Option<Arc<Matcher>>);

impl std::fmt::Debug for ProxyRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProxyRules")
    }
}

impl std::fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProxyConfig::FromEnv => f.write_str("FromEnv"),
            ProxyConfig::None => f.write_str("None"),
            ProxyConfig::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl ProxyConfig {
    /// A proxy for every `http` and `https` request (credentials in the URL
    /// become `Proxy-Authorization`), except hosts in `no_proxy` (a
    /// comma-separated list as `NO_PROXY` takes it).
    pub fn all(proxy_url: &str, no_proxy: &str) -> Self {
        ProxyConfig::Custom(ProxyRules(Some(Arc::new(
            Matcher::builder()
                .all(proxy_url.to_string())
                .no(no_proxy.to_string())
                .build(),
        ))))
    }

    /// The rules from an environment lookup (`HTTP_PROXY`, ...), e.g. a map in tests.
    pub fn from_env_fn(env: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: [&str; 2]| names.into_iter().find_map(&env).unwrap_or_default();
        // No proxy named: no rules to consult on every request.
        if !names_a_proxy(&env) {
            return ProxyConfig::Custom(ProxyRules(None));
        }
        ProxyConfig::Custom(ProxyRules(Some(Arc::new(
            Matcher::builder()
                .all(first(["ALL_PROXY", "all_proxy"]))
                .http(first(["HTTP_PROXY", "http_proxy"]))
                .https(first(["HTTPS_PROXY", "https_proxy"]))
                .no(first(["NO_PROXY", "no_proxy"]))
                .build(),
        ))))
    }

    /// The rules to consult per request; `None` when no proxy applies to
    /// any URL (then a request costs no matching at all).
    fn matcher(&self) -> Option<Arc<Matcher>> {
        match self {
            ProxyConfig::FromEnv => names_a_proxy(|name| std::env::var(name).ok())
                .then(|| Arc::new(Matcher::from_env())),
            ProxyConfig::None => None,
            ProxyConfig::Custom(rules) => rules.0.clone(),
        }
    }
}

/// The variables that name a proxy.
const PROXY_VARIABLES: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
];

/// Whether an environment names a proxy (`NO_PROXY` alone routes nothing
/// through one).
fn names_a_proxy(env: impl Fn(&str) -> Option<String>) -> bool {
    PROXY_VARIABLES
        .into_iter()
        .any(|name| env(name).is_some_and(|v| !v.trim().is_empty()))
}

/// A request extension: stream the response body instead of buffering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamResponse {
    /// The longest wait for the next chunk of the body.
    pub idle_timeout: Duration,
}

/// Transport settings: [`TransportConfig::default`], its fields changed in
/// place (new ones may come, so the struct is not built by a literal); the
/// [`HttpClientBuilder`](crate::HttpClientBuilder) sets each.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TransportConfig {
    /// TLS.
    pub tls: TlsConfig,
    /// Time allowed to establish a TCP connection (default 10 s).
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to the last body byte (default 60 s).
    pub timeout: Duration,
    /// The largest response body accepted (default 64 MiB).
    pub max_response_bytes: usize,
    /// Idle pooled connections are closed after this (default 90 s).
    pub pool_idle_timeout: Duration,
    /// Proxies (default: from the environment).
    pub proxy: ProxyConfig,
    /// Ask for and decode gzip/deflate responses (default true).
    pub compression: bool,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            tls: TlsConfig::default(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_response_bytes: 64 * 1024 * 1024,
            pool_idle_timeout: Duration::from_secs(90),
            proxy: ProxyConfig::FromEnv,
            compression: true,
        }
    }
}

/// The innermost tower service: sends a request, buffers the response.
///
/// Errors are [`apiclient_errors::Error`]s (boxed): a typed
/// [`ConnectionError`], or [`Error::ResponseTooLarge`].
#[derive(Clone)]
pub struct HyperTransport {
    /// Shared: one reference count per call instead of a clone of every part.
    client: Arc<Client<SharedConnector, Body>>,
    /// The exchange path's own pool (see [`pool`]).
    pool: pool::Pool<SharedConnector>,
    proxy: Option<Arc<Matcher>>,
    compression: bool,
    timeout: Duration,
    max_response_bytes: usize,
}

impl std::fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperTransport")
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

fn config_error(message: String, source: impl StdError + Send + Sync + 'static) -> Error {
    Error::Config {
        message,
        source: Some(Box::new(source)),
    }
}

fn read_certs(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| {
            config_error(
                format!("cannot read certificates from {}", path.display()),
                e,
            )
        })?
        .collect();
    let certs = certs.map_err(|e| config_error(format!("invalid PEM in {}", path.display()), e))?;
    if certs.is_empty() {
        return Err(Error::config(format!(
            "no certificate found in {}",
            path.display()
        )));
    }
    Ok(certs)
}

/// The system store's certificates (read once per process; `SSL_CERT_FILE`
/// and `SSL_CERT_DIR` are honoured by rustls-native-certs).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// Build the rustls client configuration.
#[deprecated(
    since = "0.1.0",
    note = "rustls is a pre-1.0 dependency: its types leave the public API; configure TLS with `TlsConfig`"
)]
pub fn rustls_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, Error> {
    client_tls(tls)
}

/// The rustls client configuration of `tls`.
fn client_tls(tls: &TlsConfig) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("TLS protocol versions".into(), e))?;
    let builder = {
        // (--insecure accepts any certificate and reads no bundle.)
        // The explicit CA bundle is read now (a bad file is a configuration
        // error at build time); the system store and the environment's
        // bundles are read at the first TLS handshake, so a client that only
        // speaks plain http (or never connects) never pays for them.
        let mut explicit = Vec::new();
        if let Some(ca) = tls.cacert.as_ref().filter(|_| !tls.insecure) {
            for cert in read_certs(ca)? {
                let mut probe = rustls::RootCertStore::empty();
                probe.add(cert.clone()).map_err(|e| {
                    config_error(format!("invalid CA certificate in {}", ca.display()), e)
                })?;
                explicit.push(cert);
            }
        }
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LazyVerifier {
                provider,
                insecure: tls.insecure,
                system: tls.system_roots,
                env_bundles: tls.env_bundles.clone(),
                explicit,
                inner: std::sync::OnceLock::new(),
            }))
    };
    // ALPN (h2, http/1.1) is set by hyper-rustls from the enabled protocols.
    let config = match &tls.cert {
        Some(cert) => {
            let chain = read_certs(cert)?;
            let key_path = tls.key.as_ref().unwrap_or(cert);
            let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
                config_error(
                    format!("cannot read a private key from {}", key_path.display()),
                    e,
                )
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| config_error("client certificate and key do not match".into(), e))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(config)
}

/// The web PKI verifier over every trusted root, built at the first
/// handshake: the web PKI roots, the system store and the environment's
/// bundles (when `system`), and the explicit CA bundle. With `insecure`
/// (`--insecure`), any server certificate is accepted; signatures are still
/// checked.
#[derive(Debug)]
struct LazyVerifier {
    provider: Arc<rustls::crypto::CryptoProvider>,
    insecure: bool,
    system: bool,
    env_bundles: Option<Vec<std::path::PathBuf>>,
    explicit: Vec<CertificateDer<'static>>,
    inner: std::sync::OnceLock<Result<Arc<rustls::client::WebPkiServerVerifier>, rustls::Error>>,
}

impl LazyVerifier {
    fn get(&self) -> Result<&Arc<rustls::client::WebPkiServerVerifier>, rustls::Error> {
        self.inner
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                if self.system {
                    // A certificate the parser refuses is skipped, as curl does.
                    let _ = roots.add_parsable_certificates(system_roots().iter().cloned());
                    let bundles = match &self.env_bundles {
                        Some(b) => b.clone(),
                        None => env_bundles(|k| std::env::var(k).ok()),
                    };
                    for bundle in bundles {
                        match read_certs(&bundle) {
                            Ok(certs) => {
                                let _ = roots.add_parsable_certificates(certs);
                            }
                            Err(e) => tracing::warn!(
                                target: "apiclient_http",
                                "ignoring the CA bundle {}: {e}",
                                bundle.display()
                            ),
                        }
                    }
                }
                let _ = roots.add_parsable_certificates(self.explicit.iter().cloned());
                rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    self.provider.clone(),
                )
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl rustls::client::danger::ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        self.get()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl HyperTransport {
    /// A transport with these settings.
    pub fn new(config: &TransportConfig) -> Result<Self, Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        let proxy = config.proxy.matcher();
        let connector = ProxyConnector {
            http,
            proxy: proxy.clone(),
        };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(client_tls(&config.tls)?)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        // The timers make the idle timeout real: without one, hyper-util's pool
        // never closes an idle connection.
        let connector = SharedConnector(Arc::new(https));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .timer(hyper_util::rt::TokioTimer::new())
            .build(connector.clone());
        Ok(HyperTransport {
            client: Arc::new(client),
            pool: pool::Pool::new(connector, config.pool_idle_timeout),
            proxy,
            compression: config.compression,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
        })
    }
}

/// Classify a transport failure by walking its cause chain (and into the
/// error an `io::Error` wraps, which `source()` skips).
pub(crate) fn classify(err: &(dyn StdError + 'static), connect: bool) -> ConnectionErrorKind {
    find_kind(err, connect, 0).unwrap_or(if connect {
        ConnectionErrorKind::Other
    } else {
        ConnectionErrorKind::Closed
    })
}

fn find_kind(
    e: &(dyn StdError + 'static),
    connect: bool,
    depth: usize,
) -> Option<ConnectionErrorKind> {
    if depth > 16 {
        return None;
    }
    if e.downcast_ref::<rustls::Error>().is_some() {
        return Some(ConnectionErrorKind::Tls);
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        if let Some(inner) = io.get_ref()
            && let Some(kind) = find_kind(inner, connect, depth + 1)
        {
            return Some(kind);
        }
        use std::io::ErrorKind as K;
        match io.kind() {
            K::ConnectionRefused => return Some(ConnectionErrorKind::Refused),
            K::TimedOut => return Some(ConnectionErrorKind::ConnectTimeout),
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                return Some(ConnectionErrorKind::Closed);
            }
            _ => {}
        }
    }
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        // hyper's `is_parse_too_large` needs its `server` feature, which a
        // client library has no use for: the parse error says it instead
        // ("message head is too large"; a test of a huge head holds it to that).
        if h.is_parse() && h.to_string().contains("too large") {
            return Some(ConnectionErrorKind::HeadTooLarge);
        }
        if h.is_parse() || h.is_parse_status() {
            return Some(ConnectionErrorKind::Malformed);
        }
        if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
            return Some(ConnectionErrorKind::Closed);
        }
    }
    let text = e.to_string();
    if text.contains("dns error") || text.contains("failed to lookup") {
        return Some(ConnectionErrorKind::Dns);
    }
    if connect && (text.contains("connect timeout") || text.contains("timed out")) {
        return Some(ConnectionErrorKind::ConnectTimeout);
    }
    e.source().and_then(|s| find_kind(s, connect, depth + 1))
}

/// The cause of a [`ConnectionErrorKind::Closed`] error when the connection
/// closed before any answer to the request arrived (no status line): the
/// server may never have seen the request, as when it closes an idle
/// keep-alive connection just as a request is sent on it.
#[derive(Debug)]
struct ClosedBeforeAnswer(BoxError);

impl std::fmt::Display for ClosedBeforeAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("closed before any answer")
    }
}

impl StdError for ClosedBeforeAnswer {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.0)
    }
}

/// Whether a boxed stack error is a connection closed before any answer
/// arrived (see [`RetryPolicy::max_closed_retries`](crate::RetryPolicy::max_closed_retries)).
pub fn is_closed_before_answer(err: &BoxError) -> bool {
    match err.downcast_ref::<Error>() {
        Some(Error::Connection(c)) => {
            c.kind() == ConnectionErrorKind::Closed
                && c.source()
                    .is_some_and(|s| s.downcast_ref::<ClosedBeforeAnswer>().is_some())
        }
        _ => false,
    }
}

/// Whether a boxed stack error is a connect-phase failure (nothing was sent).
pub fn is_connect_error(err: &BoxError) -> bool {
    match err.downcast_ref::<Error>() {
        Some(Error::Connection(c)) => matches!(
            c.kind(),
            ConnectionErrorKind::Refused
                | ConnectionErrorKind::ConnectTimeout
                | ConnectionErrorKind::Dns
        ),
        _ => false,
    }
}

/// A connector that goes through the proxy the rules choose: a `CONNECT`
/// tunnel for `https`, the proxy itself (absolute-form requests) for `http`.
#[derive(Clone)]
pub struct ProxyConnector {
    http: HttpConnector,
    proxy: Option<Arc<Matcher>>,
}

impl std::fmt::Debug for ProxyConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyConnector")
            .field("proxy", &self.proxy.is_some())
            .finish()
    }
}

/// A connection, direct or through a proxy.
///
/// A write that fails because the peer stopped reading (a broken pipe, a
/// reset) counts as done and later writes go nowhere, while reads go on: a
/// server that answered an upload early and closed leaves its answer in the
/// socket, and it is read (the upload gate in `upload.rs`).
pub struct ProxiedIo {
    io: TokioIo<TcpStream>,
    /// Plain `http` through a forward proxy: requests go in absolute form.
    http_proxy: bool,
    /// The peer stopped reading: writes are dropped.
    write_closed: bool,
}

impl ProxiedIo {
    fn new(io: TokioIo<TcpStream>, http_proxy: bool) -> Self {
        ProxiedIo {
            io,
            http_proxy,
            write_closed: false,
        }
    }

    /// A write's outcome, a failure because the peer stopped reading
    /// turned into "written".
    fn wrote(
        &mut self,
        r: Poll<std::io::Result<usize>>,
        len: usize,
    ) -> Poll<std::io::Result<usize>> {
        match r {
            Poll::Ready(Err(e)) if crate::upload::peer_stopped_reading(&e) => {
                tracing::debug!(target: "apiclient_http", "the server stopped reading ({e}); reading its answer");
                self.write_closed = true;
                Poll::Ready(Ok(len))
            }
            other => other,
        }
    }
}

impl std::fmt::Debug for ProxiedIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxiedIo")
            .field("http_proxy", &self.http_proxy)
            .finish()
    }
}

impl hyper::rt::Read for ProxiedIo {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for ProxiedIo {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.write_closed {
            return Poll::Ready(Ok(buf.len()));
        }
        let r = std::pin::Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(r, buf.len())
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.write_closed {
            return Poll::Ready(Ok(()));
        }
        match std::pin::Pin::new(&mut self.io).poll_flush(cx) {
            Poll::Ready(Err(e)) if crate::upload::peer_stopped_reading(&e) => {
                self.write_closed = true;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.write_closed {
            return Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if self.write_closed {
            return Poll::Ready(Ok(len));
        }
        let r = std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.wrote(r, len)
    }
}

impl Connection for ProxiedIo {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.http_proxy)
    }
}

/// The connector as the pool holds it: hyper-util copies its connector for
/// every request (for the connection it may have to make), and a reference
/// count costs less than a copy of the TLS configuration, the proxy rules
/// and the TCP settings. The connector itself is copied only when a
/// connection is made.
#[derive(Clone)]
pub(crate) struct SharedConnector(Arc<HttpsConnector<ProxyConnector>>);

impl tower::Service<http::Uri> for SharedConnector {
    type Response = <HttpsConnector<ProxyConnector> as tower::Service<http::Uri>>::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // the copy made per connection is the one asked (in `call`)
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let connector = (*self.0).clone();
        Box::pin(tower::ServiceExt::oneshot(connector, dst))
    }
}

impl tower::Service<http::Uri> for ProxyConnector {
    type Response = ProxiedIo;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<ProxiedIo, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::<http::Uri>::poll_ready(&mut self.http, cx).map_err(Into::into)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let mut http = self.http.clone();
        let intercept = self.proxy.as_ref().and_then(|m| m.intercept(&dst));
        Box::pin(async move {
            let Some(proxy) = intercept else {
                let io = tower::Service::call(&mut http, dst).await?;
                return Ok(ProxiedIo::new(io, false));
            };
            if dst.scheme_str() == Some("https") {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let io = tower::Service::call(&mut tunnel, dst).await.map_err(|e| {
                    Box::new(ConnectionError::new(
                        ConnectionErrorKind::Proxy,
                        apiclient_errors::redact::redact_url(&proxy.uri().to_string()),
                        Some(Box::new(e)),
                    )) as BoxError
                })?;
                Ok(ProxiedIo::new(io, false))
            } else {
                let io = tower::Service::call(&mut http, proxy.uri().clone()).await?;
                Ok(ProxiedIo::new(io, true))
            }
        })
    }
}

/// A response body whose every read must come within `idle`. The timer is
/// not moved on each chunk (a trip to tokio's timer wheel per chunk, up to
/// a hundred thousand times per GiB): each chunk notes the time, and when
/// the timer fires it is moved to `idle` after the last chunk, or ends the
/// body if that time has passed.
struct IdleTimeout {
    inner: Body,
    idle: Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// When the last chunk came (or the body was made).
    last_data: tokio::time::Instant,
    url: String,
    /// The request body's gate, ended when this answer is read or dropped.
    _gate: Option<GateGuard>,
}

impl IdleTimeout {
    /// `resp` with its body streamed, each read within `s.idle_timeout`;
    /// `gate`: the request body's, ended with the answer.
    fn streamed(
        resp: Response<Body>,
        s: StreamResponse,
        url: String,
        gate: Option<GateGuard>,
    ) -> Response<Body> {
        let (parts, inner) = resp.into_parts();
        let body = IdleTimeout {
            inner,
            idle: s.idle_timeout,
            sleep: Box::pin(tokio::time::sleep(s.idle_timeout)),
            last_data: tokio::time::Instant::now(),
            url,
            _gate: gate,
        };
        Response::from_parts(parts, Body::wrap(body))
    }
}

impl http_body::Body for IdleTimeout {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.last_data = tokio::time::Instant::now();
                Poll::Ready(frame.map(|f| {
                    f.map_err(|e| {
                        let kind = classify(&*e, false);
                        Box::new(Error::from(ConnectionError::new(
                            kind,
                            this.url.clone(),
                            Some(e),
                        ))) as BoxError
                    })
                }))
            }
            Poll::Pending => loop {
                std::task::ready!(this.sleep.as_mut().poll(cx));
                let due = this.last_data + this.idle;
                if due > tokio::time::Instant::now() {
                    // data came since the timer was set: wait from the last
                    this.sleep.as_mut().reset(due);
                    continue;
                }
                return Poll::Ready(Some(Err(Box::new(Error::from(ConnectionError::new(
                    ConnectionErrorKind::Timeout,
                    this.url.clone(),
                    Some(format!("no data for {:?}", this.idle).into()),
                ))) as BoxError)));
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A compressed response, its body decoded (gzip, deflate) by tower-http's
/// decoder, which also drops `Content-Encoding` and `Content-Length`.
async fn decompress(resp: Response<hyper::body::Incoming>) -> Result<Response<Body>, BoxError> {
    let answered = std::sync::Mutex::new(Some(resp));
    let svc = tower::service_fn(move |_req: Request<()>| {
        let resp = answered.lock().ok().and_then(|mut r| r.take());
        async move { resp.ok_or("the response was already decoded") }
    });
    tower::ServiceExt::oneshot(
        tower_http::decompression::Decompression::new(svc),
        Request::new(()),
    )
    .await
    .map(|r| r.map(Body::wrap))
    .map_err(|e| -> BoxError { e.into() })
}

/// Ask for a compressed answer, unless the request names its own encodings.
fn ask_compression(req: &mut Request<Body>) {
    // one lookup: the entry, filled when vacant
    if let http::header::Entry::Vacant(e) = req.headers_mut().entry(http::header::ACCEPT_ENCODING) {
        e.insert(http::HeaderValue::from_static("gzip,deflate"));
    }
}

/// No answer came: the typed error. A connection closed before any answer
/// (likely a keep-alive connection the server closed as the request went
/// out) is marked so that the retry layer may send the request again.
fn unanswered(e: hyper_util::client::legacy::Error, url: String) -> Error {
    let connect = e.is_connect();
    not_answered(Box::new(e), connect, url)
}

/// [`unanswered`] for an error `e` of a connection being made (`connect`)
/// or of a request sent.
fn not_answered(e: BoxError, connect: bool, url: String) -> Error {
    let kind = classify(&*e, connect);
    let source: BoxError = if kind == ConnectionErrorKind::Closed && !connect {
        Box::new(ClosedBeforeAnswer(e))
    } else {
        e
    };
    Error::from(ConnectionError::new(kind, url, Some(source)))
}

/// The answer's body could not be read whole: too large, or cut.
fn unread(e: BoxError, limit: usize, url: String) -> Error {
    if e.is::<LimitExceeded>() {
        Error::ResponseTooLarge {
            limit: limit as u64,
            url,
        }
    } else {
        let kind = classify(&*e, false);
        Error::from(ConnectionError::new(kind, url, Some(e)))
    }
}

/// The attempt ran out of its time.
fn timed_out(elapsed: crate::upload::AttemptTimedOut, url: String) -> BoxError {
    Box::new(Error::from(ConnectionError::new(
        ConnectionErrorKind::Timeout,
        url,
        Some(Box::new(elapsed)),
    )))
}

/// A compressed answer, decoded and read whole (the rare path, boxed).
async fn decoded_whole(
    resp: Response<hyper::body::Incoming>,
    limit: usize,
    url: String,
) -> Result<Response<Body>, BoxError> {
    let resp = decompress(resp).await.map_err(|e| {
        Error::from(ConnectionError::new(
            ConnectionErrorKind::Other,
            url.clone(),
            Some(e),
        ))
    })?;
    let (parts, body) = resp.into_parts();
    let bytes = body
        .collect_limited(limit)
        .await
        .map_err(|e| unread(e, limit, url))?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// A streamed answer's body on the transport's own pool: it drives its
/// HTTP/1.1 connection as it is read (the connection has no task of its
/// own), and puts the connection back once read to its end. Dropped
/// before, it closes the connection (what is left of the answer is never
/// read).
struct DrivenBody {
    body: hyper::body::Incoming,
    pooled: Option<Pooled>,
}

impl DrivenBody {
    /// A frame the body gave: at its end the connection goes back.
    fn gave(
        &mut self,
        frame: Option<Result<http_body::Frame<Bytes>, hyper::Error>>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match frame {
            None => {
                if let Some(pooled) = self.pooled.take() {
                    pooled.put_back();
                }
                Poll::Ready(None)
            }
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
            Some(Err(e)) => {
                self.pooled = None;
                Poll::Ready(Some(Err(Box::new(e))))
            }
        }
    }
}

impl Drop for DrivenBody {
    /// An answer whose end has come but was not read (a reader that stopped
    /// at `is_end_stream`, a HEAD's): its connection goes back, as from a
    /// body read to its end. Any other closes with it.
    fn drop(&mut self) {
        if self.pooled.is_none() || !http_body::Body::is_end_stream(&self.body) {
            return;
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for _ in 0..4 {
            match http_body::Body::poll_frame(std::pin::Pin::new(&mut self.body), &mut cx) {
                Poll::Ready(None) => {
                    let _ = self.gave(None);
                    return;
                }
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(_))) => return,
                Poll::Pending => {
                    if let Some(conn) = self.pooled.as_mut().and_then(Pooled::held) {
                        conn.drive(&mut cx);
                    }
                }
            }
        }
    }
}

impl http_body::Body for DrivenBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let Some(conn) = this.pooled.as_mut().and_then(Pooled::held) else {
            // HTTP/2: its connection has a task of its own
            return match std::pin::Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Ready(frame) => this.gave(frame),
                Poll::Pending => Poll::Pending,
            };
        };
        // passes over the body and the connection, until one moves nothing
        // (see `pool::InPlace`)
        let (in_place, waker) = conn.in_place();
        in_place.enter(cx.waker());
        let mut passing = Context::from_waker(&waker);
        let mut passes = 0;
        loop {
            // a chunk already handed over; else the connection reads the next
            if let Poll::Ready(frame) = std::pin::Pin::new(&mut this.body).poll_frame(&mut passing)
            {
                in_place.leave();
                return this.gave(frame);
            }
            if let Some(conn) = this.pooled.as_mut().and_then(Pooled::held) {
                conn.drive(&mut passing);
            }
            if !in_place.again(&mut passes, cx.waker()) {
                return Poll::Pending;
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// One attempt of a request with no body whose answer is read whole (the
/// usual GET, HEAD or DELETE), as [`HyperTransport::send`] makes it but
/// held inline by the caller: no box around the attempt, and the answer's
/// body read straight from hyper's. Made by [`HyperTransport::exchange`];
/// polled with the URL it was sent to (for its errors: the caller keeps
/// it, so the exchange holds no copy). A streamed download is one too,
/// ending with the answer's head (`HyperTransport::send` makes it).
pub(crate) struct Exchange {
    stage: ExchangeStage,
    /// The attempt's timeout.
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    limit: usize,
    compression: bool,
    /// On the transport's own pool: the connection the request goes on.
    pooled: Option<Pooled>,
    /// The answer's body is streamed: the exchange ends with its head.
    streamed: bool,
    /// The connection of an answer read whole, on its way back to the pool.
    returning: Option<Pooled>,
}

/// An exchange's place in the transport's own [pool](pool): the origin,
/// and the connection taken for it (an HTTP/1.1 one goes back once the
/// answer is read whole).
struct Pooled {
    pool: pool::Pool<SharedConnector>,
    origin: pool::Origin,
    conn: Option<pool::Conn>,
    /// Whether the connection was taken from the pool (not made for this
    /// request): one that closed before the request went out is replaced.
    reused: bool,
}

impl Pooled {
    /// The HTTP/1.1 connection held (it has no task of its own: its holder
    /// drives it).
    fn held(&mut self) -> Option<&mut pool::H1> {
        match &mut self.conn {
            Some(pool::Conn::H1(conn)) => Some(conn),
            _ => None,
        }
    }

    /// An answer read to its end: its HTTP/1.1 connection goes back to the
    /// pool it came from (an HTTP/2 one stays shared there).
    fn put_back(self) {
        if let Some(pool::Conn::H1(conn)) = self.conn {
            self.pool.put(self.origin, conn);
        }
    }

    /// The stage that sends `req`: at once on an idle connection ready
    /// now, else once one is ready or made.
    fn start(&mut self, req: Request<Body>) -> ExchangeStage {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        while let Some(mut conn) = self.pool.take(&self.origin) {
            self.reused = true;
            match pool::poll_ready(&mut conn, &mut cx) {
                Poll::Ready(Ok(())) => {
                    let answer = pool::send(&mut conn, req);
                    self.conn = Some(conn);
                    return ExchangeStage::Sent(answer);
                }
                // closed since it went idle: the next
                Poll::Ready(Err(_)) => continue,
                Poll::Pending => {
                    self.conn = Some(conn);
                    return ExchangeStage::Readying(Box::new(req));
                }
            }
        }
        self.reused = false;
        self.conn = None;
        ExchangeStage::Connecting(self.pool.connect(&self.origin), Box::new(req))
    }
}

// held inline: boxing the large stage would cost the allocation the
// exchange exists to avoid
#[allow(clippy::large_enum_variant)]
enum ExchangeStage {
    /// Sent; the answer's head is awaited.
    Asked(hyper_util::client::legacy::ResponseFuture),
    /// On the transport's pool: a connection made for the request.
    Connecting(pool::Connecting, Box<Request<Body>>),
    /// On the transport's pool: the connection is not ready yet.
    Readying(Box<Request<Body>>),
    /// Sent on the transport's pool; the answer's head is awaited.
    Sent(pool::Answer),
    /// The head is in; the body is read.
    Reading {
        parts: http::response::Parts,
        body: hyper::body::Incoming,
        whole: crate::body::Gathered,
    },
    /// A compressed answer: decoded and read on the general path.
    Decoding(BoxFuture<'static, Result<Response<Body>, BoxError>>),
    /// Over.
    Done,
}

impl HyperTransport {
    /// Whether `req` goes as an [`Exchange`]: it has no body and its
    /// answer is read whole (else [`send`](Self::send) takes it).
    pub(crate) fn exchanges(&self, req: &Request<Body>) -> bool {
        req.body().is_empty() && req.extensions().get::<StreamResponse>().is_none()
    }

    /// `req` (one that [`exchanges`](Self::exchanges)) sent as an
    /// [`Exchange`], its attempt's time counted from `now`.
    #[inline]
    pub(crate) fn exchange(&self, req: Request<Body>, now: tokio::time::Instant) -> Exchange {
        self.exchange_as(req, now, false)
    }

    /// `req` sent as an [`Exchange`]; `streamed`: it ends with the answer's
    /// head, its body streamed (never decoded: see [`HyperTransport::send`]).
    fn exchange_as(
        &self,
        mut req: Request<Body>,
        now: tokio::time::Instant,
        streamed: bool,
    ) -> Exchange {
        self.proxy_credentials(&mut req);
        let compression = self.compression && !streamed;
        if compression {
            ask_compression(&mut req);
        }
        let sleep = match now.checked_add(self.timeout) {
            Some(at) => tokio::time::sleep_until(at),
            None => tokio::time::sleep(self.timeout),
        };
        let mut exchange = Exchange {
            stage: ExchangeStage::Done,
            sleep: Box::pin(sleep),
            limit: self.max_response_bytes,
            compression,
            pooled: None,
            streamed,
            returning: None,
        };
        match self.pooled_origin(&req) {
            Some(origin) => {
                let pooled = exchange.pooled.insert(Pooled {
                    pool: self.pool.clone(),
                    origin,
                    conn: None,
                    reused: false,
                });
                exchange.stage = pooled.start(req);
            }
            None => exchange.stage = ExchangeStage::Asked(self.client.request(req)),
        }
        exchange
    }

    /// The origin `req` goes to on the transport's own pool: an `http` or
    /// `https` URL no proxy takes, asked in HTTP/1.1 (the default) with
    /// any method but `CONNECT`. Any other goes through hyper-util's.
    fn pooled_origin(&self, req: &Request<Body>) -> Option<pool::Origin> {
        if req.version() != http::Version::HTTP_11 || req.method() == http::Method::CONNECT {
            return None;
        }
        if let Some(proxy) = &self.proxy
            && proxy.intercept(req.uri()).is_some()
        {
            return None;
        }
        pool::Origin::of(req.uri())
    }

    /// Plain http through a forward proxy: its credentials go on the request.
    fn proxy_credentials(&self, req: &mut Request<Body>) {
        if req.uri().scheme_str() == Some("http")
            && let Some(auth) = self
                .proxy
                .as_ref()
                .and_then(|m| m.intercept(req.uri()))
                .and_then(|i| i.basic_auth().cloned())
        {
            let mut auth = auth;
            auth.set_sensitive(true);
            req.headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, auth);
        }
    }
}

impl Exchange {
    /// Over, with the error `e` made of the URL (`url`, as the caller
    /// knows it).
    #[cold]
    #[inline(never)]
    fn fail(
        &mut self,
        url: Option<&http::Uri>,
        e: impl FnOnce(String) -> BoxError,
    ) -> Poll<Result<Response<Body>, BoxError>> {
        self.stage = ExchangeStage::Done;
        Poll::Ready(Err(e(url.map(|u| u.to_string()).unwrap_or_default())))
    }

    /// The answer's head is in: its body is read next (decoded on the
    /// general path when compressed). Some when it cannot be read.
    fn answered(
        &mut self,
        resp: Response<hyper::body::Incoming>,
        url: Option<&http::Uri>,
    ) -> Option<Poll<Result<Response<Body>, BoxError>>> {
        if self.streamed {
            // the body takes the connection along: it drives it as it is read
            self.stage = ExchangeStage::Done;
            let (parts, body) = resp.into_parts();
            let body = Body::wrap(DrivenBody {
                body,
                pooled: self.pooled.take(),
            });
            return Some(Poll::Ready(Ok(Response::from_parts(parts, body))));
        }
        let limit = self.limit;
        if self.compression && resp.headers().contains_key(http::header::CONTENT_ENCODING) {
            let url = url.map(|u| u.to_string()).unwrap_or_default();
            self.stage = ExchangeStage::Decoding(Box::pin(decoded_whole(resp, limit, url)));
            return None;
        }
        let size = http_body::Body::size_hint(resp.body());
        let whole = match crate::body::Gathered::new(limit, &size) {
            Ok(whole) => whole,
            Err(e) => return Some(self.fail(url, |url| Box::new(unread(Box::new(e), limit, url)))),
        };
        let (parts, body) = resp.into_parts();
        self.stage = ExchangeStage::Reading { parts, body, whole };
        None
    }

    /// The answer was read whole: its HTTP/1.1 connection goes back to
    /// the pool it came from, once the exchange returns
    /// ([`give_back`](Self::give_back)).
    fn put_back(&mut self) {
        self.returning = self.pooled.take();
    }

    /// The connection of an answer read whole back in its pool.
    fn give_back(&mut self) {
        if let Some(pooled) = self.returning.take() {
            pooled.put_back();
        }
    }

    /// The exchange's HTTP/1.1 connection on the transport's pool (it has
    /// no task of its own: the exchange drives it).
    fn held(&mut self) -> Option<&mut pool::H1> {
        self.pooled.as_mut().and_then(Pooled::held)
    }

    /// The answer, read whole (or its head, with the body to stream); `url`
    /// is the URL the request went to.
    pub(crate) fn poll_exchange(
        &mut self,
        cx: &mut Context<'_>,
        url: Option<&http::Uri>,
    ) -> Poll<Result<Response<Body>, BoxError>> {
        loop {
            let Some((in_place, waker)) = self.held().map(|c| c.in_place()) else {
                if let Some(done) = self.poll_stages(cx, url) {
                    self.give_back();
                    return done;
                }
                if self.held().is_some() {
                    // a connection was made: driven next
                    continue;
                }
                break;
            };
            // passes over the stages and the connection, until one moves
            // nothing (see `pool::InPlace`)
            in_place.enter(cx.waker());
            let mut passing = Context::from_waker(&waker);
            let mut passes = 0;
            loop {
                if let Some(done) = self.poll_stages(&mut passing, url) {
                    // the pass ends before the connection goes back: the
                    // next holder's passes are its own
                    in_place.leave();
                    self.give_back();
                    return done;
                }
                if let Some(conn) = self.held() {
                    conn.drive(&mut passing);
                }
                if !in_place.again(&mut passes, cx.waker()) {
                    break;
                }
            }
            break;
        }
        // waiting on the server: the attempt's time runs
        if self.sleep.as_mut().poll(cx).is_ready() {
            return self.fail(url, |url| timed_out(crate::upload::AttemptTimedOut, url));
        }
        Poll::Pending
    }

    /// The stages run until one waits (None) or the exchange ends.
    #[inline]
    fn poll_stages(
        &mut self,
        cx: &mut Context<'_>,
        url: Option<&http::Uri>,
    ) -> Option<Poll<Result<Response<Body>, BoxError>>> {
        let limit = self.limit;
        loop {
            match &mut self.stage {
                ExchangeStage::Asked(asked) => match std::pin::Pin::new(asked).poll(cx) {
                    Poll::Ready(Ok(resp)) => {
                        if let Some(failed) = self.answered(resp, url) {
                            return Some(failed);
                        }
                    }
                    Poll::Ready(Err(e)) => {
                        return Some(self.fail(url, |url| Box::new(unanswered(e, url))));
                    }
                    Poll::Pending => break,
                },
                ExchangeStage::Connecting(connecting, _) => match connecting.as_mut().poll(cx) {
                    Poll::Ready(Ok(conn)) => {
                        let ExchangeStage::Connecting(_, req) =
                            std::mem::replace(&mut self.stage, ExchangeStage::Done)
                        else {
                            break;
                        };
                        if let Some(pooled) = &mut self.pooled {
                            pooled.conn = Some(conn);
                        }
                        self.stage = ExchangeStage::Readying(req);
                    }
                    Poll::Ready(Err(pool::Refused::Connect(e))) => {
                        return Some(self.fail(url, |url| Box::new(not_answered(e, true, url))));
                    }
                    Poll::Ready(Err(pool::Refused::Handshake(e))) => {
                        return Some(
                            self.fail(url, |url| Box::new(not_answered(Box::new(e), false, url))),
                        );
                    }
                    Poll::Pending => break,
                },
                ExchangeStage::Readying(_) => {
                    let Some(Pooled {
                        conn: Some(conn),
                        reused,
                        ..
                    }) = &mut self.pooled
                    else {
                        return Some(
                            self.fail(url, |_| "a pooled exchange lost its connection".into()),
                        );
                    };
                    let closed = match pool::poll_ready(conn, cx) {
                        Poll::Ready(Ok(())) => None,
                        Poll::Ready(Err(e)) => Some((e, *reused)),
                        Poll::Pending => break,
                    };
                    let ExchangeStage::Readying(req) =
                        std::mem::replace(&mut self.stage, ExchangeStage::Done)
                    else {
                        break;
                    };
                    let Some(pooled) = &mut self.pooled else {
                        break;
                    };
                    match (closed, pooled.conn.as_mut()) {
                        (None, Some(conn)) => {
                            self.stage = ExchangeStage::Sent(pool::send(conn, *req));
                        }
                        // an idle connection closed before the request
                        // went out: another
                        (Some((_, true)), _) => self.stage = pooled.start(*req),
                        (Some((e, false)), _) => {
                            return Some(
                                self.fail(url, |url| {
                                    Box::new(not_answered(Box::new(e), false, url))
                                }),
                            );
                        }
                        (None, None) => break,
                    }
                }
                ExchangeStage::Sent(answer) => match answer.as_mut().poll(cx) {
                    Poll::Ready(Ok(resp)) => {
                        if let Some(failed) = self.answered(resp, url) {
                            return Some(failed);
                        }
                    }
                    Poll::Ready(Err(mut e)) => {
                        let reused = self.pooled.as_ref().is_some_and(|p| p.reused);
                        match (e.take_message(), &mut self.pooled) {
                            // never sent, on a connection that was idle:
                            // another (as hyper-util's pool does)
                            (Some(mut req), Some(pooled)) if reused => {
                                pooled.conn = None;
                                pooled.origin.restore(&mut req);
                                self.stage = pooled.start(req);
                            }
                            _ => {
                                let e = e.into_error();
                                return Some(self.fail(url, |url| {
                                    Box::new(not_answered(Box::new(e), false, url))
                                }));
                            }
                        }
                    }
                    Poll::Pending => break,
                },
                ExchangeStage::Reading { body, whole, .. } => {
                    match http_body::Body::poll_frame(std::pin::Pin::new(body), cx) {
                        Poll::Ready(Some(Ok(frame))) => {
                            if let Ok(data) = frame.into_data()
                                && let Err(e) = whole.push(data)
                            {
                                return Some(
                                    self.fail(url, |url| Box::new(unread(Box::new(e), limit, url))),
                                );
                            }
                        }
                        Poll::Ready(Some(Err(e))) => {
                            return Some(
                                self.fail(url, |url| Box::new(unread(Box::new(e), limit, url))),
                            );
                        }
                        Poll::Ready(None) => {
                            let ExchangeStage::Reading { parts, whole, .. } =
                                std::mem::replace(&mut self.stage, ExchangeStage::Done)
                            else {
                                break;
                            };
                            self.put_back();
                            let body = Body::from(whole.finish());
                            return Some(Poll::Ready(Ok(Response::from_parts(parts, body))));
                        }
                        Poll::Pending => break,
                    }
                }
                ExchangeStage::Decoding(decoding) => match decoding.as_mut().poll(cx) {
                    Poll::Ready(out) => {
                        self.stage = ExchangeStage::Done;
                        if out.is_ok() {
                            self.put_back();
                        }
                        return Some(Poll::Ready(out));
                    }
                    Poll::Pending => break,
                },
                ExchangeStage::Done => {
                    return Some(Poll::Ready(Err(
                        "an exchange was polled after it ended".into()
                    )));
                }
            }
        }
        None
    }
}

impl tower::Service<Request<Body>> for HyperTransport {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.send(req)
    }
}

impl HyperTransport {
    /// One attempt of `req` (the service's `call`, which needs no `&mut`).
    pub(crate) fn send(
        &self,
        mut req: Request<Body>,
    ) -> BoxFuture<'static, Result<Response<Body>, BoxError>> {
        // a request with no body whose answer is read whole: as the
        // client's own stack sends it (on the same pool), boxed
        // (made at the first poll: nothing is sent, no timer made, before)
        if self.exchanges(&req) {
            let url = req.uri().clone();
            let transport = self.clone();
            let mut unsent = Some(req);
            let mut exchange = None;
            return Box::pin(std::future::poll_fn(move |cx| {
                let exchange = match (&mut exchange, unsent.take()) {
                    (Some(exchange), _) => exchange,
                    (None, Some(req)) => {
                        exchange.insert(transport.exchange(req, tokio::time::Instant::now()))
                    }
                    (None, None) => return Poll::Ready(Err("an exchange lost its request".into())),
                };
                exchange.poll_exchange(cx, Some(&url))
            }));
        }
        let stream = req.extensions().get::<StreamResponse>().copied();
        // a streamed download on the transport's own pool: its body drives
        // the connection as it is read
        if let Some(s) = stream
            && req.body().is_empty()
            && self.pooled_origin(&req).is_some()
        {
            let url = req.uri().clone();
            let transport = self.clone();
            // made at the first poll, as a buffered exchange is
            return Box::pin(async move {
                let mut exchange = transport.exchange_as(req, tokio::time::Instant::now(), true);
                let resp =
                    std::future::poll_fn(|cx| exchange.poll_exchange(cx, Some(&url))).await?;
                Ok(IdleTimeout::streamed(resp, s, url.to_string(), None))
            });
        }
        let limit = self.max_response_bytes;
        let timeout = self.timeout;
        let compression = self.compression;
        self.proxy_credentials(&mut req);
        // An upload is gated: it stops once the answer arrives (see `upload`).
        let gate = UploadGate::needed(req.body()).then(|| Arc::new(UploadGate::default()));
        // A connection that carried a body refused with an error status is
        // not reused: the server may have stopped reading it (and the
        // connection's write side may be gone).
        let capture = (!req.body().is_empty()).then(|| capture_connection(&mut req));
        let mut req = match &gate {
            Some(g) => req.map(|b| Body::wrap(GatedBody::new(b, g.clone()))),
            None => req,
        };
        // Ask for compression ourselves; a decoder wraps the body only when
        // the answer is compressed (most are not), so a plain response costs
        // nothing extra. A streamed answer is a download: its bytes are the
        // stored ones (a Swift object stored gzipped keeps its encoding and
        // the ETag of those bytes), never decoded.
        let compression = compression && stream.is_none();
        if compression {
            ask_compression(&mut req);
        }
        // The URL of errors, made into text only when one happens.
        let uri = req.uri().clone();
        // The request goes to hyper-util now (its future is lazy: nothing is
        // sent before the first poll, inside the attempt's timeout), so this
        // future holds hyper-util's, not the request.
        let pending = self.client.request(req);
        Box::pin(async move {
            let url = || uri.to_string();
            let guard = gate.clone().map(GateGuard);
            // one future for the whole attempt (no nested ones: each would
            // keep its own copy of what it captures)
            let attempt = async {
                let resp = pending.await.map_err(|e| {
                    // A local source that failed is the caller's I/O error.
                    if let Some(local) = gate.as_ref().and_then(|g| g.take_source_error()) {
                        return local;
                    }
                    unanswered(e, url())
                })?;
                if let Some(g) = &gate {
                    g.answered();
                }
                if resp.status().as_u16() >= 400
                    && let Some(meta) = capture.as_ref().map(|c| c.connection_metadata())
                    && let Some(connected) = meta.as_ref()
                {
                    connected.poison();
                }
                let resp =
                    if compression && resp.headers().contains_key(http::header::CONTENT_ENCODING) {
                        // boxed: the rare path keeps its state out of every attempt's
                        Box::pin(decompress(resp)).await.map_err(|e| {
                            Error::from(ConnectionError::new(
                                ConnectionErrorKind::Other,
                                url(),
                                Some(e),
                            ))
                        })?
                    } else {
                        resp.map(Body::wrap)
                    };
                if let Some(s) = stream {
                    return Ok(IdleTimeout::streamed(resp, s, url(), guard));
                }
                let (parts, body) = resp.into_parts();
                let bytes = body
                    .collect_limited(limit)
                    .await
                    .map_err(|e| unread(e, limit, url()))?;
                drop(guard);
                Ok::<_, Error>(Response::from_parts(parts, Body::from(bytes)))
            };
            match bounded(timeout, gate.as_deref(), attempt).await {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(e)) => Err(Box::new(e) as BoxError),
                Err(elapsed) => Err(timed_out(elapsed, url())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment that names no proxy gives no rules, so a request
    /// consults none; one that names a proxy (any of the six names) does.
    #[test]
    fn rules_only_when_a_proxy_is_named() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(ProxyConfig::from_env_fn(env(&[])).matcher().is_none());
        assert!(
            ProxyConfig::from_env_fn(env(&[("NO_PROXY", "example.com"), ("HTTP_PROXY", " ")]))
                .matcher()
                .is_none()
        );
        assert!(ProxyConfig::None.matcher().is_none());
        for name in PROXY_VARIABLES {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(vec![(name, "http://127.0.0.1:3128")].into_boxed_slice());
            let rules = ProxyConfig::from_env_fn(env(pairs)).matcher();
            assert!(rules.is_some(), "{name}");
        }
        assert!(
            ProxyConfig::all("http://127.0.0.1:3128", "")
                .matcher()
                .is_some()
        );
    }

    /// A bodiless request called through the transport's tower service is
    /// made into its exchange at the first poll: calling it outside a
    /// runtime (where no timer can be made) neither panics nor sends.
    #[test]
    fn a_bodiless_call_is_lazy() {
        let config = TransportConfig {
            proxy: ProxyConfig::None,
            ..TransportConfig::default()
        };
        let mut transport = HyperTransport::new(&config).unwrap();
        let req = Request::get("http://127.0.0.1:9/nowhere")
            .body(Body::empty())
            .unwrap();
        let call = tower::Service::call(&mut transport, req);
        drop(call);
    }
}
