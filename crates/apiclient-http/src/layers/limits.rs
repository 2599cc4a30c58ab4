//! Client-side limits: a rate (requests per second, evenly spaced) and a
//! concurrency cap, for all requests together and per service type, so a
//! fleet of clients stays inside what a cloud allows (some allow Keystone 60
//! requests a minute per user, a service 20 a second per project).
//!
//! Each limit is fair: waiters go in the order they came (a FIFO queue in
//! front of the rate, tokio's fair semaphore for the cap). A request takes
//! its service's limits first, then the overall ones, always in that order.
//! A slot of the cap is held until the answer's head (a streamed body does
//! not hold it); the rate counts every attempt, retries and authentication
//! requests included, because the server counts them. The waits are bounded
//! by the call's operation timeout; a wait is recorded as the
//! `apiclient.limit.wait.duration` metric.
//!
//! The rate is a GCRA bucket (the `governor` crate) of burst 1: requests go
//! out at least `1 / rate` apart.
//!
//! ```
//! use apiclient_auth::typed::AdminToken;
//! use apiclient_http::HttpClient;
//! use apiclient_http::layers::limits::Limits;
//!
//! let http = HttpClient::builder(AdminToken::new("http://nova/v2.1", "t"))
//!     // every service: at most 10 requests a second and 4 at once
//!     .limits(Limits::default().rate(10.0).concurrency(4))
//!     // the image service: 2 a second
//!     .service_limits("image", Limits::default().rate(2.0))
//!     .build()
//!     .unwrap();
//! # let _ = http;
//! ```

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apiclient_auth::catalog::official_service_type;
use apiclient_errors::{BoxError, Error, InvalidKind};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::{Request, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use super::metrics;
use crate::body::Body;
use crate::extensions::Target;

/// A rate and a concurrency cap; either may be absent (no limit).
///
/// ```
/// use apiclient_http::layers::limits::Limits;
/// let l = Limits::default().rate(0.5).concurrency(2);
/// assert_eq!(l.rate, Some(0.5));
/// assert_eq!(l.concurrency, Some(2));
/// assert!(Limits::default().is_unlimited());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// Requests per second (evenly spaced; fractions allowed: 0.5 is one
    /// request every 2 s).
    pub rate: Option<f64>,
    /// Requests in flight at once.
    pub concurrency: Option<usize>,
}

impl Limits {
    /// At most `per_second` requests a second.
    pub fn rate(mut self, per_second: f64) -> Self {
        self.rate = Some(per_second);
        self
    }

    /// At most `n` requests at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n);
        self
    }

    /// Whether neither limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.rate.is_none() && self.concurrency.is_none()
    }

    /// Refuse what cannot be a limit: a rate that is not a positive finite
    /// number, a cap of 0.
    pub fn check(&self) -> Result<(), Error> {
        if let Some(r) = self.rate
            && !(r.is_finite() && r > 0.0 && 1.0 / r > 1e-9)
        {
            return Err(Error::invalid(
                InvalidKind::Other,
                format!("a rate limit must be a positive number of requests per second, not {r}"),
            ));
        }
        if self.concurrency == Some(0) {
            return Err(Error::invalid(
                InvalidKind::Other,
                "a concurrency limit must be at least 1",
            ));
        }
        Ok(())
    }
}

/// One set of limits in force: the rate's queue and bucket, the cap's
/// semaphore.
#[derive(Debug)]
struct Limiter {
    rate: Option<(tokio::sync::Mutex<()>, DefaultDirectRateLimiter)>,
    slots: Option<Arc<Semaphore>>,
}

impl Limiter {
    fn new(limits: &Limits) -> Option<Arc<Self>> {
        if limits.is_unlimited() {
            return None;
        }
        let rate = limits.rate.map(|r| {
            let period = Duration::from_secs_f64(1.0 / r).max(Duration::from_nanos(1));
            // burst 1: evenly spaced; `with_period` only fails for a zero period
            let quota = Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
                .allow_burst(NonZeroU32::MIN);
            (tokio::sync::Mutex::new(()), RateLimiter::direct(quota))
        });
        let slots = limits.concurrency.map(|n| Arc::new(Semaphore::new(n)));
        Some(Arc::new(Limiter { rate, slots }))
    }

    /// Wait for a slot of the cap (held by the returned permit) and then
    /// for the rate, in the order the waiters came.
    async fn acquire(&self, service: &str) -> Result<Option<OwnedSemaphorePermit>, BoxError> {
        let permit = match &self.slots {
            Some(s) => {
                let t0 = Instant::now();
                let p = match s.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => {
                        let p = s.clone().acquire_owned().await?;
                        metrics::waited(service, "concurrency", t0);
                        p
                    }
                };
                Some(p)
            }
            None => None,
        };
        if let Some((queue, bucket)) = &self.rate {
            let t0 = Instant::now();
            let _turn = queue.lock().await;
            let mut waited = false;
            while let Err(not_until) = bucket.check() {
                waited = true;
                tokio::time::sleep(not_until.wait_time_from(DefaultClock::default().now())).await;
            }
            if waited {
                metrics::waited(service, "rate", t0);
            }
        }
        Ok(permit)
    }
}

/// The limits of a client: overall, per service type, and the default of
/// every service type that has none of its own.
#[derive(Debug, Default)]
struct LimitSet {
    overall: Option<Arc<Limiter>>,
    each_service: Limits,
    services: Mutex<HashMap<String, Option<Arc<Limiter>>>>,
}

impl LimitSet {
    /// The limiter of `service_type` (its official type's), made on first use.
    fn service(&self, service_type: &str) -> Option<Arc<Limiter>> {
        if service_type.is_empty() {
            return None;
        }
        let key = official_service_type(service_type).unwrap_or(service_type);
        let mut map = self.services.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = map.get(key) {
            return l.clone();
        }
        let l = Limiter::new(&self.each_service);
        map.insert(key.to_string(), l.clone());
        l
    }
}

/// Applies [`Limits`] to the requests that pass (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct LimitsLayer {
    set: Option<Arc<LimitSet>>,
}

impl LimitsLayer {
    /// `overall` for all requests together, `each_service` for every service
    /// type on its own, `services` for the named types instead (by official
    /// type: `volumev3` is `block-storage`). Unlimited everywhere: a layer
    /// that passes requests through as they are.
    pub fn new<S: AsRef<str>>(
        overall: Limits,
        each_service: Limits,
        services: impl IntoIterator<Item = (S, Limits)>,
    ) -> Result<Self, Error> {
        overall.check()?;
        each_service.check()?;
        let mut map = HashMap::new();
        for (t, l) in services {
            l.check()?;
            let t = t.as_ref();
            let key = official_service_type(t).unwrap_or(t).to_string();
            map.insert(key, Limiter::new(&l));
        }
        if overall.is_unlimited()
            && each_service.is_unlimited()
            && map.values().all(Option::is_none)
        {
            return Ok(LimitsLayer { set: None });
        }
        Ok(LimitsLayer {
            set: Some(Arc::new(LimitSet {
                overall: Limiter::new(&overall),
                each_service,
                services: Mutex::new(map),
            })),
        })
    }
}

impl LimitsLayer {
    /// Whether no limit is set (the layer then passes requests as they are).
    pub(crate) fn passes_through(&self) -> bool {
        self.set.is_none()
    }
}

impl<S> Layer<S> for LimitsLayer {
    type Service = LimitsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitsService {
            inner,
            set: self.set.clone(),
        }
    }
}

/// The service of [`LimitsLayer`].
#[derive(Debug, Clone)]
pub struct LimitsService<S> {
    inner: S,
    set: Option<Arc<LimitSet>>,
}

impl<S> Service<Request<Body>> for LimitsService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = super::LayerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let Some(set) = self.set.clone() else {
            return super::LayerFuture::inner(self.inner.call(req));
        };
        // the inner service was made ready for this call: take it, leave a clone
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        super::LayerFuture::boxed(async move {
            let service = req
                .extensions()
                .get::<Target>()
                .map(|t| t.filter.service_type.clone())
                .unwrap_or_default();
            let _service_slot = match set.service(&service) {
                Some(l) => l.acquire(&service).await?,
                None => None,
            };
            let _overall_slot = match &set.overall {
                Some(l) => l.acquire(&service).await?,
                None => None,
            };
            inner.call(req).await
        })
    }
}
