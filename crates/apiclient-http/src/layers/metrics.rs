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
/// `service`: the request's service type when the caller knows it (else
/// the request's [`Target`] tells).
pub(crate) fn retried<B>(req: &Request<B>, service: Option<&str>, reason: &'static str) {
    counter!(
        RETRIES,
        "http.request.method" => method_label(req.method()),
        "openstack.service_type" => service.map_or_else(|| service_label(req), str::to_string),
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
        let service = req.extensions().get::<Target>().map(|t| t.filter.clone());
        let attempt = Attempt::start(&req, service, Instant::now());
        let url = req.uri().clone();
        MetricsFuture {
            inner: self.inner.call(req),
            attempt: Some((attempt, url)),
        }
    }
}

/// One attempt in flight: what its record will say.
#[derive(Debug)]
pub(crate) struct Attempt {
    method: &'static str,
    service: Option<std::sync::Arc<apiclient_auth::EndpointFilter>>,
    t0: Instant,
}

impl Attempt {
    /// An attempt of `req` to a service of `service`'s type, started at
    /// `t0`: what the labels need, cheaply (a reference count); the labels
    /// themselves are made when it ends, with the URL the caller keeps.
    pub(crate) fn start(
        req: &Request<Body>,
        service: Option<std::sync::Arc<apiclient_auth::EndpointFilter>>,
        t0: Instant,
    ) -> Self {
        Attempt {
            method: method_label(req.method()),
            service,
            t0,
        }
    }

    /// The attempt's record: for the service type `service` when the
    /// caller knows it (else the one it started with), to the origin of
    /// `url` (its host and port label the record).
    pub(crate) fn record_for(
        self,
        result: &Result<Response<Body>, BoxError>,
        service: Option<&str>,
        url: Option<&http::Uri>,
    ) {
        let authority = url.and_then(|u| u.authority());
        let https = url.and_then(|u| u.scheme_str()) == Some("https");
        let key =
            |service: &str, outcome| duration_key(self.method, authority, https, service, outcome);
        let outcome = match result {
            Ok(resp) => Outcome::Status(resp.status().as_u16()),
            Err(e) => Outcome::Error(error_label(e)),
        };
        let seconds = self.t0.elapsed().as_secs_f64();
        let service = service
            .or_else(|| self.service.as_deref().map(|f| f.service_type.as_str()))
            .unwrap_or("");
        let uncached = || {
            let key = key(service, outcome);
            metrics::with_recorder(|r| {
                r.register_histogram(&key, &DURATION_METADATA)
                    .record(seconds)
            });
        };
        let cached = RECENT_KEYS.try_with(|cell| {
            let Ok(mut recent) = cell.try_borrow_mut() else {
                // a recorder that records from inside a record: no cache
                return uncached();
            };
            let at = match recent.iter().position(|k| {
                k.outcome == outcome
                    && k.method == self.method
                    && *k.service == *service
                    // byte for byte: `Authority`'s own `==` ignores case,
                    // and the label keeps the host as written
                    && Some(k.authority.as_str()) == authority.map(|a| a.as_str())
                    && k.https == https
            }) {
                Some(at) => at,
                None => {
                    let entry = RecentKey {
                        outcome,
                        method: self.method,
                        service: service.into(),
                        authority: authority
                            .cloned()
                            .unwrap_or_else(|| http::uri::Authority::from_static("unknown")),
                        https,
                        key: key(service, outcome),
                    };
                    if recent.len() < RECENT_KEYS_KEPT {
                        recent.push(entry);
                        recent.len() - 1
                    } else {
                        // the oldest makes room (a client talks to few origins)
                        recent.rotate_left(1);
                        let last = recent.len() - 1;
                        recent[last] = entry;
                        last
                    }
                }
            };
            let key = &recent[at].key;
            metrics::with_recorder(|r| {
                r.register_histogram(key, &DURATION_METADATA)
                    .record(seconds)
            });
        });
        if cached.is_err() {
            // (a thread whose locals are gone: it is ending)
            uncached();
        }
    }
}

/// How an attempt ended, as its label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    Error(&'static str),
}

/// The metadata `histogram!` gives [`REQUEST_DURATION`].
static DURATION_METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The key of one attempt's [`REQUEST_DURATION`] record: its labels in the
/// order `histogram!` gave them.
fn duration_key(
    method: &'static str,
    authority: Option<&http::uri::Authority>,
    https: bool,
    service: &str,
    outcome: Outcome,
) -> metrics::Key {
    let port = authority
        .and_then(|a| a.port_u16())
        .unwrap_or(if https { 443 } else { 80 });
    let (outcome_name, outcome) = match outcome {
        Outcome::Status(code) => ("http.response.status_code", code.to_string()),
        Outcome::Error(kind) => ("error.type", kind.to_string()),
    };
    metrics::Key::from_parts(
        REQUEST_DURATION,
        vec![
            metrics::Label::new("http.request.method", method),
            metrics::Label::new(
                "server.address",
                authority.map(|a| a.host()).unwrap_or("").to_string(),
            ),
            metrics::Label::new("server.port", port.to_string()),
            metrics::Label::new("openstack.service_type", service.to_string()),
            metrics::Label::new(outcome_name, outcome),
        ],
    )
}

/// The keys this thread made last, so that an attempt like an earlier one
/// (same origin, service, method and outcome: almost every one) registers
/// its record without building labels again. The recorder is asked every
/// time (the cache holds keys, not handles), so a recorder installed later
/// still gets every record.
struct RecentKey {
    outcome: Outcome,
    method: &'static str,
    service: Box<str>,
    authority: http::uri::Authority,
    https: bool,
    key: metrics::Key,
}

/// How many keys a thread keeps.
const RECENT_KEYS_KEPT: usize = 32;

thread_local! {
    static RECENT_KEYS: std::cell::RefCell<Vec<RecentKey>> = const { std::cell::RefCell::new(Vec::new()) };
}

pin_project_lite::pin_project! {
    /// The future of [`MetricsService`]: the inner one, recorded when it ends.
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        attempt: Option<(Attempt, http::Uri)>,
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
        if let Some((attempt, url)) = this.attempt.take() {
            attempt.record_for(&out, None, Some(&url));
        }
        Poll::Ready(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A recorder that keeps each histogram record as `labels=value`.
    #[derive(Default)]
    struct Keep(Arc<Mutex<Vec<String>>>);

    struct One(String, Arc<Mutex<Vec<String>>>);

    impl metrics::HistogramFn for One {
        fn record(&self, value: f64) {
            self.1
                .lock()
                .unwrap()
                .push(format!("{} {}", self.0, value >= 0.0));
        }
    }

    impl metrics::Recorder for Keep {
        fn describe_counter(&self, _: metrics::KeyName, _: Option<Unit>, _: metrics::SharedString) {
        }
        fn describe_gauge(&self, _: metrics::KeyName, _: Option<Unit>, _: metrics::SharedString) {}
        fn describe_histogram(
            &self,
            _: metrics::KeyName,
            _: Option<Unit>,
            _: metrics::SharedString,
        ) {
        }
        fn register_counter(
            &self,
            _: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Counter {
            metrics::Counter::noop()
        }
        fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
            metrics::Gauge::noop()
        }
        fn register_histogram(
            &self,
            key: &metrics::Key,
            _: &metrics::Metadata<'_>,
        ) -> metrics::Histogram {
            let labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            metrics::Histogram::from_arc(Arc::new(One(
                format!("{} {}", key.name(), labels.join(",")),
                self.0.clone(),
            )))
        }
    }

    /// An attempt of `method` to `uri` (a compute service's), ready to record.
    fn attempt(uri: &str, method: &'static str) -> Recording {
        Recording(
            Attempt {
                method,
                service: Some(Arc::new(apiclient_auth::EndpointFilter::new("compute"))),
                t0: Instant::now(),
            },
            uri.parse().unwrap(),
        )
    }

    struct Recording(Attempt, http::Uri);

    impl Recording {
        fn record(self, result: &Result<Response<Body>, BoxError>) {
            self.0.record_for(result, None, Some(&self.1));
        }
    }

    fn answered(status: u16) -> Result<Response<Body>, BoxError> {
        Ok(Response::builder()
            .status(status)
            .body(Body::empty())
            .unwrap())
    }

    /// Every attempt is recorded with its own labels, whether its key was
    /// made for it or kept from an attempt like it; a recorder sees each.
    #[test]
    fn each_attempt_is_recorded_with_its_labels() {
        let keep = Keep::default();
        let seen = keep.0.clone();
        metrics::with_local_recorder(&keep, || {
            attempt("http://h:8774/v2.1/servers/1", "GET").record(&answered(200));
            attempt("http://h:8774/v2.1/servers/2", "GET").record(&answered(200));
            attempt("http://h:8774/v2.1/servers/3", "GET").record(&answered(404));
            attempt("https://other/v2.1/servers", "POST").record(&answered(200));
            let refused: BoxError = Box::new(Error::from(apiclient_errors::ConnectionError::new(
                ConnectionErrorKind::Refused,
                "http://h:8774/",
                None,
            )));
            attempt("http://h:8774/v2.1/servers/4", "GET").record(&Err(refused));
            // the host as written: not the key of the same host in lower case
            attempt("http://H:8774/v2.1/servers/5", "GET").record(&answered(200));
        });
        let d = REQUEST_DURATION;
        let common = "http.request.method=GET,server.address=h,server.port=8774,openstack.service_type=compute";
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                format!("{d} {common},http.response.status_code=200 true"),
                format!("{d} {common},http.response.status_code=200 true"),
                format!("{d} {common},http.response.status_code=404 true"),
                format!(
                    "{d} http.request.method=POST,server.address=other,server.port=443,openstack.service_type=compute,http.response.status_code=200 true"
                ),
                format!("{d} {common},error.type=connection_refused true"),
                format!(
                    "{d} {},http.response.status_code=200 true",
                    common.replace("server.address=h", "server.address=H")
                ),
            ]
        );
    }

    /// An attempt that ends while its thread ends (in a thread local's
    /// destructor, after the kept keys are gone) is still recorded, with
    /// its labels: no panic (which would abort the process there).
    #[test]
    fn an_attempt_ending_with_its_thread_is_recorded() {
        struct Guard(std::sync::mpsc::Sender<Vec<String>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                let keep = Keep::default();
                metrics::with_local_recorder(&keep, || {
                    attempt("http://h:8774/v2.1/servers/1", "GET").record(&answered(200));
                });
                let _ = self.0.send(keep.0.lock().unwrap().clone());
            }
        }
        thread_local! {
            static GUARD: std::cell::RefCell<Option<Guard>> = const { std::cell::RefCell::new(None) };
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // the guard's destructor is registered first, so it runs last
            GUARD.with(|g| *g.borrow_mut() = Some(Guard(tx)));
            let keep = Keep::default();
            metrics::with_local_recorder(&keep, || {
                attempt("http://h:8774/v2.1/servers/0", "GET").record(&answered(200));
            });
            assert_eq!(keep.0.lock().unwrap().len(), 1);
        })
        .join()
        .unwrap();
        let seen = rx.recv().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            seen[0].contains("server.address=h,server.port=8774"),
            "{seen:?}"
        );
    }

    /// More origins than a thread keeps: each still gets its own labels.
    #[test]
    fn many_origins_each_keep_their_labels() {
        let keep = Keep::default();
        let seen = keep.0.clone();
        metrics::with_local_recorder(&keep, || {
            for round in 0..2 {
                for port in 0..(RECENT_KEYS_KEPT as u16 + 5) {
                    attempt(&format!("http://h:{}/x", 9000 + port), "GET")
                        .record(&answered(200 + round));
                }
            }
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2 * (RECENT_KEYS_KEPT + 5));
        for (i, line) in seen.iter().enumerate() {
            let port = 9000 + (i % (RECENT_KEYS_KEPT + 5));
            let status = 200 + i / (RECENT_KEYS_KEPT + 5);
            assert!(line.contains(&format!("server.port={port},")), "{line}");
            assert!(line.contains(&format!("status_code={status} ")), "{line}");
        }
    }
}
