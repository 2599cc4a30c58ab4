//! Default headers: `User-Agent`, `Accept`, and `Forwarded` when an original IP is set.
//! Headers the caller set are kept (unlike the Python client, which overwrote the User-Agent).

use std::task::{Context, Poll};

use http::header::{ACCEPT, HeaderValue, USER_AGENT};
use http::{HeaderName, Request};
use tower::{Layer, Service};

/// The default User-Agent: `apiclient-rs/<version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("apiclient-rs/", env!("CARGO_PKG_VERSION"));

/// Adds the default headers to every request that lacks them.
///
/// ```
/// use apiclient_http::layers::defaults::DefaultsLayer;
/// use tower::{Layer, Service, ServiceExt, service_fn};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut svc = DefaultsLayer::new("myapp/1.0 apiclient-rs/0.1").original_ip(Some("10.0.0.9")).layer(
///     service_fn(|req: http::Request<()>| async move { Ok::<_, std::convert::Infallible>(req) }),
/// );
/// let req = svc.ready().await.unwrap().call(http::Request::new(())).await.unwrap();
/// assert_eq!(req.headers()["user-agent"], "myapp/1.0 apiclient-rs/0.1");
/// assert_eq!(req.headers()["accept"], "application/json");
/// assert_eq!(req.headers()["forwarded"], "for=10.0.0.9;by=myapp/1.0 apiclient-rs/0.1");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct DefaultsLayer {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl DefaultsLayer {
    /// Defaults with this User-Agent (invalid header characters are replaced).
    pub fn new(user_agent: &str) -> Self {
        let ua = HeaderValue::from_str(user_agent)
            .unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_USER_AGENT));
        DefaultsLayer {
            headers: vec![
                (USER_AGENT, ua),
                (ACCEPT, HeaderValue::from_static("application/json")),
            ],
        }
    }

    /// Add `X-OpenStack-Request-ID: <id>` (unless the request has its own)
    /// when `id` is given and a valid header value.
    pub fn global_request_id(mut self, id: Option<&str>) -> Self {
        if let Some(v) = id.and_then(|id| HeaderValue::from_str(id).ok()) {
            self.headers
                .push((HeaderName::from_static("x-openstack-request-id"), v));
        }
        self
    }

    /// Add `Forwarded: for=<ip>;by=<user agent>` when `ip` is given.
    pub fn original_ip(mut self, ip: Option<&str>) -> Self {
        if let Some(ip) = ip {
            let ua = self.headers[0]
                .1
                .to_str()
                .unwrap_or(DEFAULT_USER_AGENT)
                .to_string();
            if let Ok(v) = HeaderValue::from_str(&format!("for={ip};by={ua}")) {
                self.headers.push((HeaderName::from_static("forwarded"), v));
            }
        }
        self
    }
}

impl DefaultsLayer {
    /// The headers this layer adds, shared.
    pub(crate) fn shared(&self) -> std::sync::Arc<[(HeaderName, HeaderValue)]> {
        self.headers.clone().into()
    }
}

/// `defaults` into `headers`, each unless the request has its own.
pub(crate) fn apply(defaults: &[(HeaderName, HeaderValue)], headers: &mut http::HeaderMap) {
    for (k, v) in defaults {
        // one lookup: the entry, filled when vacant
        if let http::header::Entry::Vacant(e) = headers.entry(k.clone()) {
            e.insert(v.clone());
        }
    }
}

impl<S> Layer<S> for DefaultsLayer {
    type Service = Defaults<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Defaults {
            inner,
            headers: self.headers.clone().into(),
        }
    }
}

/// The service of [`DefaultsLayer`].
#[derive(Debug, Clone)]
pub struct Defaults<S> {
    inner: S,
    /// Shared: cloning the service (once per call) copies no header.
    headers: std::sync::Arc<[(HeaderName, HeaderValue)]>,
}

impl<S, B> Service<Request<B>> for Defaults<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        apply(&self.headers, req.headers_mut());
        self.inner.call(req)
    }
}
