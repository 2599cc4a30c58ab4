//! Retries: bounded exponential backoff with jitter for throttling and
//! unavailability statuses (honouring `Retry-After`), and for connect errors.
//!
//! Defaults ([`RetryPolicy::default`]): up to 3 retries for 429 and 503 (502
//! and 504 are yours to add), up to 2 retries for connect errors (refused,
//! connect timeout, DNS), one immediate retry when the connection closed
//! before any answer (a server closing an idle keep-alive connection as the
//! request went out); backoff 0.5 s doubling to at most 60 s (keystoneauth's),
//! with "equal jitter" (half fixed, half random); a `Retry-After` (seconds or
//! HTTP-date) replaces the backoff, capped at 60 s, and a 429 without one
//! backs off all the same.
//!
//! A connect error means the request never left: it is retried whatever
//! its method. An answer, or a connection closed after the request went out,
//! means the server may have acted on it: only idempotent methods (GET,
//! HEAD, PUT, DELETE, OPTIONS, TRACE) are then replayed, unless
//! [`RetryPolicy::retry_non_idempotent`] is set. Every replay needs a
//! replayable body (buffered or re-openable; a one-shot stream is sent
//! once), and none waits past the call's [`Deadline`]. The layer is tower's
//! `Retry` with [`Attempts`] as its policy; a service type can have its own
//! policy ([`RetryLayer::service_policies`], clouds.yaml's
//! `<service>_connect_retries` and `<service>_status_code_retries`).
//!
//! The copy of the request this layer keeps serves two more replays, so a
//! call is copied once, not once per concern: the one replay after a 401
//! that the [auth layer](super::auth) marks ([`Reauthenticated`]), and the
//! same-origin redirects of a [`RedirectPolicy`] (when set with
//! [`RetryLayer::follow_redirects`]).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use apiclient_auth::catalog::official_service_type;
use apiclient_errors::{BoxError, parse_retry_after};
use http::{Method, Request, Response};
use tower::Layer;

use super::clone_request;
use super::redirect::{RedirectPolicy, origin};
use crate::body::Body;
use crate::extensions::Target;
use crate::extensions::{Deadline, RequestUrl};
use crate::transport::{is_closed_before_answer, is_connect_error};

pub use crate::extensions::Reauthenticated;

/// When and how to retry: [`RetryPolicy::default`] or [`RetryPolicy::none`],
/// changed with the setters (the fields stay readable; new ones may come, so
/// the struct is not built by a literal).
///
/// ```
/// use apiclient_http::RetryPolicy;
/// use std::time::Duration;
/// let policy = RetryPolicy::default()
///     .max_status_retries(5)
///     .base_delay(Duration::from_millis(200));
/// assert_eq!(policy.max_status_retries, 5);
/// assert_eq!(policy.max_connect_retries, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Statuses that are retried (default 429 and 503).
    pub statuses: Vec<u16>,
    /// Retries for those statuses (default 3).
    pub max_status_retries: u32,
    /// Retries for connect errors (default 2).
    pub max_connect_retries: u32,
    /// Immediate retries, on a new connection, when the connection closed
    /// before any answer arrived (default 1): most often a keep-alive
    /// connection the server closed for idleness just as the request was
    /// sent on it. Only replayable requests, as for every retry.
    pub max_closed_retries: u32,
    /// The first backoff (default 0.5 s); it doubles each retry.
    pub base_delay: Duration,
    /// The largest backoff (default 60 s).
    pub max_delay: Duration,
    /// The largest `Retry-After` honoured (default 60 s); a longer one is cut to this.
    pub max_retry_after: Duration,
    /// Replay non-idempotent methods too (default false).
    pub retry_non_idempotent: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            statuses: vec![429, 503],
            max_status_retries: 3,
            max_connect_retries: 2,
            max_closed_retries: 1,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(60),
            retry_non_idempotent: false,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_status_retries: 0,
            max_connect_retries: 0,
            max_closed_retries: 0,
            ..Default::default()
        }
    }

    /// The statuses that are retried.
    pub fn statuses(mut self, statuses: impl Into<Vec<u16>>) -> Self {
        self.statuses = statuses.into();
        self
    }

    /// Retries for those statuses.
    pub fn max_status_retries(mut self, n: u32) -> Self {
        self.max_status_retries = n;
        self
    }

    /// Retries for connect errors.
    pub fn max_connect_retries(mut self, n: u32) -> Self {
        self.max_connect_retries = n;
        self
    }

    /// Immediate retries when the connection closed before any answer.
    pub fn max_closed_retries(mut self, n: u32) -> Self {
        self.max_closed_retries = n;
        self
    }

    /// The first backoff; it doubles each retry.
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// The largest backoff.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// The largest `Retry-After` honoured.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Replay non-idempotent methods too.
    pub fn retry_non_idempotent(mut self, on: bool) -> Self {
        self.retry_non_idempotent = on;
        self
    }

    /// The backoff before retry number `n` (0-based), with jitter.
    pub fn backoff(&self, n: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32.checked_shl(n.min(20)).unwrap_or(u32::MAX));
        let d = exp.min(self.max_delay);
        let half = d / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Whether `method` may be sent again once the server may have acted
    /// on it (idempotent, or [`retry_non_idempotent`](Self::retry_non_idempotent)).
    fn replayable(&self, method: &Method) -> bool {
        self.retry_non_idempotent
            || matches!(
                *method,
                Method::GET
                    | Method::HEAD
                    | Method::PUT
                    | Method::DELETE
                    | Method::OPTIONS
                    | Method::TRACE
            )
    }
}

/// Adds retries to a service: tower's [`Retry`](tower::retry::Retry) with
/// [`Attempts`] as its policy.
///
/// ```
/// use apiclient_http::Body;
/// use apiclient_http::layers::retry::{RetryLayer, RetryPolicy};
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let calls = Arc::new(AtomicU32::new(0));
/// let c = calls.clone();
/// let svc = RetryLayer::new(RetryPolicy::default()).layer(service_fn(move |_r: http::Request<Body>| {
///     let n = c.fetch_add(1, Ordering::SeqCst);
///     async move {
///         let status = if n == 0 { 503 } else { 200 };
///         Ok::<_, apiclient_errors::BoxError>(http::Response::builder().status(status).body(Body::empty()).unwrap())
///     }
/// }));
/// let resp = svc.oneshot(http::Request::get("http://x/").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(resp.status(), 200);
/// assert_eq!(calls.load(Ordering::SeqCst), 2);
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct RetryLayer {
    policy: Arc<RetryPolicy>,
    redirects: Option<Arc<RedirectPolicy>>,
    services: Option<Arc<ServicePolicies>>,
}

/// Retry policies by service type (official types: `block-storage` also
/// serves `volumev3` and `block_storage`).
type ServicePolicies = HashMap<&'static str, Arc<RetryPolicy>>;

impl RetryLayer {
    /// Retry with `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryLayer {
            policy: Arc::new(policy),
            redirects: None,
            services: None,
        }
    }

    /// The policy of a request to a service of one of these types (its
    /// [`Target`]), instead of the layer's own. A type the service-types
    /// authority does not know is kept as written.
    ///
    /// ```
    /// use apiclient_http::RetryPolicy;
    /// use apiclient_http::layers::retry::RetryLayer;
    /// let layer = RetryLayer::new(RetryPolicy::default())
    ///     .service_policies([("volumev3", RetryPolicy::none())]);
    /// assert_eq!(layer.policy_for(Some("block-storage")).max_status_retries, 0);
    /// assert_eq!(layer.policy_for(Some("compute")).max_status_retries, 3);
    /// assert_eq!(layer.policy_for(None).max_status_retries, 3);
    /// ```
    pub fn service_policies<S: AsRef<str>>(
        mut self,
        policies: impl IntoIterator<Item = (S, RetryPolicy)>,
    ) -> Self {
        let map: ServicePolicies = policies
            .into_iter()
            .map(|(t, p)| (service_key(t.as_ref()), Arc::new(p)))
            .collect();
        self.services = (!map.is_empty()).then(|| Arc::new(map));
        self
    }

    /// The policy a request to `service_type` is retried by.
    pub fn policy_for(&self, service_type: Option<&str>) -> &RetryPolicy {
        pick(&self.policy, self.services.as_deref(), service_type)
    }

    /// A fresh count under this layer's policies: the state of one call.
    pub(crate) fn attempts(&self) -> Attempts {
        let mut attempts = Attempts::new(self.policy.clone());
        attempts.redirects = self.redirects.clone();
        attempts.services = self.services.clone();
        attempts
    }

    /// Also follow redirects by `redirects` (same origin, its methods and
    /// hops), with the same copy of the request.
    pub fn follow_redirects(mut self, redirects: RedirectPolicy) -> Self {
        self.redirects = Some(Arc::new(redirects));
        self
    }
}

/// The key of a service type in the policies: its official type, else as
/// written (leaked once per configured type, at build time).
fn service_key(service_type: &str) -> &'static str {
    official_service_type(service_type)
        .unwrap_or_else(|| Box::leak(service_type.to_string().into_boxed_str()))
}

fn pick<'a>(
    default: &'a Arc<RetryPolicy>,
    services: Option<&'a ServicePolicies>,
    service_type: Option<&str>,
) -> &'a Arc<RetryPolicy> {
    let (Some(services), Some(t)) = (services, service_type) else {
        return default;
    };
    services
        .get(official_service_type(t).unwrap_or(t))
        .unwrap_or(default)
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        tower::retry::Retry::new(self.attempts(), inner)
    }
}

/// The service of [`RetryLayer`].
pub type Retry<S> = tower::retry::Retry<Attempts, S>;

/// The retry state of one call under a [`RetryPolicy`] (tower's
/// [`Policy`](tower::retry::Policy)): how many retries of each kind were
/// made. A request with a one-shot body is never retried; a retry whose
/// wait would pass the request's [`Deadline`] is not made.
#[derive(Debug, Clone)]
pub struct Attempts {
    policy: Arc<RetryPolicy>,
    status_retries: u32,
    connect_retries: u32,
    closed_retries: u32,
    redirects: Option<Arc<RedirectPolicy>>,
    hops: usize,
    replayed_after_401: bool,
    /// Per service type; read once, at the first answer of the call.
    services: Option<Arc<ServicePolicies>>,
}

impl Attempts {
    /// A fresh count under `policy`.
    pub fn new(policy: Arc<RetryPolicy>) -> Self {
        Attempts {
            policy,
            status_retries: 0,
            connect_retries: 0,
            closed_retries: 0,
            redirects: None,
            hops: 0,
            replayed_after_401: false,
            services: None,
        }
    }

    /// The count of a call to `target`'s service whose request does not
    /// carry its [`Target`] (the client's own stack keeps it beside): the
    /// service's policy, resolved now. Its retries are then counted with
    /// [`retry_for`](Self::retry_for).
    pub(crate) fn for_target(&mut self, target: Option<&Target>) {
        if let Some(services) = self.services.take() {
            let t = target.map(|t| t.filter.service_type.as_str());
            self.policy = pick(&self.policy, Some(&services), t).clone();
        }
    }

    /// The service's own policy, if it has one: taken the first time the
    /// call is looked at.
    fn resolve_policy(&mut self, req: &Request<Body>) {
        if let Some(services) = self.services.take() {
            let t = req
                .extensions()
                .get::<Target>()
                .map(|t| t.filter.service_type.as_str());
            self.policy = pick(&self.policy, Some(&services), t).clone();
        }
    }

    /// The absolute URL to follow a redirect answer to, when the redirect
    /// policy allows it: a same-origin `Location`, a method of the policy,
    /// hops left.
    fn redirect_to(&self, req: &Request<Body>, resp: &Response<Body>) -> Option<http::Uri> {
        let policy = self.redirects.as_ref()?;
        if !resp.status().is_redirection()
            || matches!(resp.status().as_u16(), 300 | 304 | 305)
            || self.hops >= policy.max_hops
            || !policy.methods.contains(req.method())
        {
            return None;
        }
        // the URL that answered: the auth layer's absolute one, else the request's
        let from = resp
            .extensions()
            .get::<RequestUrl>()
            .map(|u| u.0.to_string())
            .unwrap_or_else(|| req.uri().to_string());
        let location = resp.headers().get(http::header::LOCATION)?.to_str().ok()?;
        let to = url::Url::parse(&from).ok()?.join(location).ok()?;
        let to: http::Uri = to.as_str().parse().ok()?;
        let from: http::Uri = from.parse().ok()?;
        if origin(&from).is_none() || origin(&from) != origin(&to) {
            return None;
        }
        Some(to)
    }

    /// The wait before the next attempt, if there is one: what the answer
    /// (or error) and the budgets allow for `method`.
    fn delay(
        &mut self,
        method: &Method,
        result: &Result<Response<Body>, BoxError>,
    ) -> Option<(Duration, &'static str)> {
        let policy = &self.policy;
        // the server may have acted on the request: idempotent methods only
        let acted_on = |p: &RetryPolicy| p.replayable(method);
        match result {
            Ok(resp)
                if policy.statuses.contains(&resp.status().as_u16())
                    && self.status_retries < policy.max_status_retries
                    && acted_on(policy) =>
            {
                let n = self.status_retries;
                self.status_retries += 1;
                let retry_after = resp
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                let d = match retry_after {
                    Some(d) => d.min(policy.max_retry_after),
                    None => policy.backoff(n),
                };
                Some((d, "status"))
            }
            // the request never left: any method
            Err(e) if is_connect_error(e) && self.connect_retries < policy.max_connect_retries => {
                let n = self.connect_retries;
                self.connect_retries += 1;
                Some((policy.backoff(n), "connect"))
            }
            Err(e)
                if is_closed_before_answer(e)
                    && self.closed_retries < policy.max_closed_retries
                    && acted_on(policy) =>
            {
                self.closed_retries += 1;
                Some((Duration::ZERO, "closed"))
            }
            _ => None,
        }
    }
}

impl tower::retry::Policy<Request<Body>, Response<Body>, BoxError> for Attempts {
    type Future = Pin<Box<tokio::time::Sleep>>;

    fn retry(
        &mut self,
        req: &mut Request<Body>,
        result: &mut Result<Response<Body>, BoxError>,
    ) -> Option<Self::Future> {
        self.retry_for(req, result, None)
    }

    fn clone_request(&mut self, req: &Request<Body>) -> Option<Request<Body>> {
        // one copy for every replay: retries, the replay after a 401, redirects
        clone_request(req)
    }
}

impl Attempts {
    /// [`Policy::retry`](tower::retry::Policy::retry), with the service
    /// type its retries are counted for when the caller keeps the request's
    /// target beside it (else the request's [`Target`] tells).
    pub(crate) fn retry_for(
        &mut self,
        req: &mut Request<Body>,
        result: &mut Result<Response<Body>, BoxError>,
        service: Option<&str>,
    ) -> Option<Pin<Box<tokio::time::Sleep>>> {
        if let Ok(resp) = result {
            // the one replay with a renewed token, for any method
            if resp.extensions().get::<Reauthenticated>().is_some() && !self.replayed_after_401 {
                self.replayed_after_401 = true;
                // the auth layer does not renew again for this replay
                req.extensions_mut().insert(Reauthenticated);
                return Some(Box::pin(tokio::time::sleep(Duration::ZERO)));
            }
            if let Some(to) = self.redirect_to(req, resp) {
                self.hops += 1;
                tracing::debug!(
                    target: "apiclient_http::redirect",
                    status = resp.status().as_u16(),
                    location = %apiclient_errors::redact::redact_url(&to.to_string()),
                    "following a redirect on the same origin"
                );
                *req.uri_mut() = to;
                return Some(Box::pin(tokio::time::sleep(Duration::ZERO)));
            }
        }
        self.resolve_policy(req);
        let (delay, reason) = self.delay(req.method(), result)?;
        if let Some(deadline) = req.extensions().get::<Deadline>()
            && deadline.would_pass(delay)
        {
            tracing::debug!(target: "apiclient_http::retry", ?delay, "not retrying: the wait would pass the operation deadline");
            return None;
        }
        tracing::debug!(target: "apiclient_http::retry", method = %req.method(), url = %apiclient_errors::redact::redact_url(&req.uri().to_string()), ?delay, reason, "retrying");
        crate::layers::metrics::retried(req, service, reason);
        Some(Box::pin(tokio::time::sleep(delay)))
    }
}
