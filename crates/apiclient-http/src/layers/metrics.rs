//! Metrics through the [`metrics`] facade: what the client does, for the
//! recorder the program installs (Prometheus, StatsD, OpenTelemetry, ...).
//! Without a recorder every call is a no-op of the facade.
//!
//! Names and labels follow the OpenTelemetry HTTP client conventions, plus
//! the service type. A label never carries an id, a path, a query or any
//! other value without a bound: a cloud with a million servers makes no more
//! series than one with ten.
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | [`REQUEST_DURATION`] `http.client.request.duration` (seconds): each attempt on the wire, to its answer (the whole body when buffered, the head when streamed) or its error | histogram | `http.request.method`, `server.address`, `server.port`, `openstack.service_type`, and `http.response.status_code` or `error.type` |
//! | [`RETRIES`] `apiclient.request.retries`: attempts made again | counter | `http.request.method`, `openstack.service_type`, `apiclient.retry.reason` (`status`, `connect`, `closed`) |
//! | [`REAUTHENTICATIONS`] `apiclient.auth.reauthentications`: requests answered 401 and given a renewed token | counter | `openstack.service_type` |
//! | [`LIMIT_WAIT`] `apiclient.limit.wait.duration` (seconds): a wait for a client-side limit | histogram | `openstack.service_type`, `apiclient.limit` (`rate`, `concurrency`) |
//! | [`TOKEN_ISSUES`] `apiclient.auth.token.issues`: tokens asked of the identity service (a token taken from a store is not one) | counter | `apiclient.auth.reason` (`initial`, `refresh` before expiry, `rejected` after a 401, `explicit`), `apiclient.auth.method` (`authenticate`, `rescope`), `apiclient.auth.outcome` (`ok`, `error`) |
//!
//! The request span of every call (target `apiclient_http`, name `request`)
//! carries the same names: `http.request.method`, `url.full` (redacted),
//! `openstack.service_type`, `http.response.status_code`.
//!
//! Exporting to Prometheus (the `metrics-exporter-prometheus` crate):
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! // once, at start: serve /metrics on 127.0.0.1:9000
//! metrics_exporter_prometheus::PrometheusBuilder::new()
//!     .with_http_listener(([127, 0, 0, 1], 9000))
//!     .install()?;
//! apiclient_http::layers::metrics::describe();
//! // ... build clients and use them: every request is counted
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```

use std::task::{Context, Poll};
use std::time::Instant;

use apiclient_errors::{BoxError, ConnectionErrorKind, Error};
use http::{Method, Request, Response};
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use tower::{Layer, Service};

use crate::body::Body;
use crate::extensions::Target;

/// The duration of each attempt on the wire (seconds).
pub const REQUEST_DURATION: &str = "http.client.request.duration";
/// Attempts made again by the retry policy.
pub const RETRIES: &str = "apiclient.request.retries";
/// Tokens renewed because a service answered 401.
pub const REAUTHENTICATIONS: &str = "apiclient.auth.reauthentications";
/// Waits for a client-side rate limit or concurrency cap (seconds).
pub const LIMIT_WAIT: &str = "apiclient.limit.wait.duration";
/// Authentications: the first, a refresh before expiry, a renewal after a
/// rejected token.
pub const TOKEN_ISSUES: &str = "apiclient.auth.token.issues";

/// Describe the metrics to the installed recorder (units and help texts);
/// call it once after installing one. Recording works without it.
pub fn describe() {
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Duration of HTTP client requests (each attempt on the wire)."
    );
    describe_counter!(
        RETRIES,
        Unit::Count,
        "Requests sent again by the retry policy."
    );
    describe_counter!(
        REAUTHENTICATIONS,
        Unit::Count,
        "Tokens renewed after a service answered 401."
    );
    describe_histogram!(
        LIMIT_WAIT,
        Unit::Seconds,
        "Waits for a client-side rate limit or concurrency cap."
    );
    describe_counter!(
        TOKEN_ISSUES,
        Unit::Count,
        "Authentications (first, refresh before expiry, after a rejected token)."
    );
}

/// The method as a label: the standard ones by name, any other `_OTHER`
/// (a label must not take any value a caller can make up).
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "_OTHER",
    }
}

/// The service type of a request, as a label (`""` for a request to an
/// absolute URL, such as an authentication).
pub fn service_label<B>(req: &Request<B>) -> String {
    req.extensions()
        .get::<Target>()
        .map(|t| t.filter.service_type.clone())
        .unwrap_or_default()
}

/// What kind of failure an attempt met, as a label.
fn error_label(e: &BoxError) -> &'static str {
    match e.downcast_ref::<Error>() {
        Some(Error::Connection(c)) => match c.kind() {
            ConnectionErrorKind::Refused => "connection_refused",
            ConnectionErrorKind::ConnectTimeout => "connect_timeout",
            ConnectionErrorKind::Timeout => "timeout",
            ConnectionErrorKind::Dns => "dns",
            ConnectionErrorKind::Tls => "tls",
            ConnectionErrorKind::Closed => "closed",
            ConnectionErrorKind::Deadline => "deadline",
            _ => "connection",
        },
        Some(_) => "client",
        None => "_OTHER",
    }
}

/// Count a retry of `req` for `reason`.
pub(crate) fn retried<B>(req: &Request<B>, reason: &'static str) {
    counter!(
        RETRIES,
        "http.request.method" => method_label(req.method()),
        "openstack.service_type" => service_label(req),
        "apiclient.retry.reason" => reason,
    )
    .increment(1);
}

/// Count a token renewed after a 401 from `service_type`.
pub(crate) fn reauthenticated(service_type: &str) {
    counter!(REAUTHENTICATIONS, "openstack.service_type" => service_type.to_string()).increment(1);
}

/// Count a token asked of the identity service: why, how, and whether it
/// came.
pub(crate) fn token_issued(reason: &'static str, method: &'static str, ok: bool) {
    counter!(
        TOKEN_ISSUES,
        "apiclient.auth.reason" => reason,
        "apiclient.auth.method" => method,
        "apiclient.auth.outcome" => if ok { "ok" } else { "error" },
    )
    .increment(1);
}

/// Record a wait of `limit` (`rate` or `concurrency`) for `service_type`.
pub(crate) fn waited(service_type: &str, limit: &'static str, since: Instant) {
    histogram!(
        LIMIT_WAIT,
        "openstack.service_type" => service_type.to_string(),
        "apiclient.limit" => limit,
    )
    .record(since.elapsed().as_secs_f64());
}

/// Records [`REQUEST_DURATION`] for every attempt that passes (when on).
#[derive(Debug, Clone, Copy)]
pub struct MetricsLayer {
    on: bool,
}

impl MetricsLayer {
    /// A layer that records (`on`) or passes requests through as they are.
    pub fn new(on: bool) -> Self {
        MetricsLayer { on }
    }
}

impl Default for MetricsLayer {
    /// Recording.
    fn default() -> Self {
        MetricsLayer::new(true)
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService { inner, on: self.on }
    }
}

/// The service of [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    on: bool,
}

impl<S> Service<Request<Body>> for MetricsService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError>,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if !self.on {
            return MetricsFuture {
                inner: self.inner.call(req),
                attempt: None,
            };
        }
        // what the labels need, cheaply (reference counts); the labels
        // themselves are made when the attempt ends
        let attempt = Attempt {
            method: method_label(req.method()),
            service: req.extensions().get::<Target>().map(|t| t.filter.clone()),
            uri: req.uri().clone(),
            t0: Instant::now(),
        };
        MetricsFuture {
            inner: self.inner.call(req),
            attempt: Some(attempt),
        }
    }
}

/// One attempt in flight: what its record will say.
#[derive(Debug)]
struct Attempt {
    method: &'static str,
    service: Option<std::sync::Arc<apiclient_auth::EndpointFilter>>,
    uri: http::Uri,
    t0: Instant,
}

impl Attempt {
    fn record(self, result: &Result<Response<Body>, BoxError>) {
        let (outcome_name, outcome) = match result {
            Ok(resp) => (
                "http.response.status_code",
                resp.status().as_u16().to_string(),
            ),
            Err(e) => ("error.type", error_label(e).to_string()),
        };
        let port = self.uri.port_u16().unwrap_or(match self.uri.scheme_str() {
            Some("https") => 443,
            _ => 80,
        });
        histogram!(
            REQUEST_DURATION,
            "http.request.method" => self.method,
            "server.address" => self.uri.host().unwrap_or("").to_string(),
            "server.port" => port.to_string(),
            "openstack.service_type" => self.service.map(|f| f.service_type.clone()).unwrap_or_default(),
            outcome_name => outcome,
        )
        .record(self.t0.elapsed().as_secs_f64());
    }
}

pin_project_lite::pin_project! {
    /// The future of [`MetricsService`]: the inner one, recorded when it ends.
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        attempt: Option<Attempt>,
    }
}

impl<F> std::fmt::Debug for MetricsFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsFuture").finish_non_exhaustive()
    }
}

impl<F> std::future::Future for MetricsFuture<F>
where
    F: std::future::Future<Output = Result<Response<Body>, BoxError>>,
{
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        if let Some(attempt) = this.attempt.take() {
            attempt.record(&out);
        }
        Poll::Ready(out)
    }
}
