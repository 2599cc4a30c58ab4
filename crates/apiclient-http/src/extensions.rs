//! The extensions the client and its layers pass along with a request or a
//! response: [`Target`], [`Deadline`] and [`AttemptCount`] on a request,
//! [`RequestUrl`] and [`Reauthenticated`] on a response. A leaf: the client, the auth, retry
//! and timing layers all read them, none from another.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use apiclient_auth::EndpointFilter;

use http::Uri;

/// How many attempts (transport calls) one call made: a request extension
/// the timing layer counts, read into the call's tracing span when the call
/// goes through layers of the user's (the client's own stack counts its
/// attempts itself, and puts none in the request).
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

/// When a call must be over: a request extension set by [`HttpClient`](crate::HttpClient) from
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

/// The absolute URL an authenticated request was sent to (a response extension).
#[derive(Debug, Clone)]
pub struct RequestUrl(pub Uri);

/// A response extension the auth layer sets on a 401 after it renewed the
/// token: the retry layer sends its copy of the request once more (with the
/// new token), whatever its retry budget and method, marked with the same
/// extension so that a second 401 is returned, not renewed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reauthenticated;

/// Where an authenticated request goes: a service of the catalog, with the
/// service client's endpoint cache. The request's URI is the path (and query)
/// relative to the endpoint.
#[derive(Debug, Clone)]
pub struct Target {
    /// What to look for in the catalog.
    pub filter: Arc<EndpointFilter>,
    /// The service client's cached endpoint (cleared on re-authentication).
    pub endpoint: Arc<RwLock<Option<Arc<str>>>>,
    /// A fixed endpoint that bypasses the catalog.
    pub endpoint_override: Option<Arc<str>>,
}

impl Target {
    /// A target for `filter` with an empty cache.
    pub fn new(filter: EndpointFilter) -> Self {
        Target {
            filter: Arc::new(filter),
            endpoint: Arc::default(),
            endpoint_override: None,
        }
    }

    pub(crate) fn cached(&self) -> Option<Arc<str>> {
        self.endpoint_override
            .clone()
            .or_else(|| self.endpoint.read().ok().and_then(|e| e.clone()))
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut e) = self.endpoint.write() {
            *e = None;
        }
    }
}
