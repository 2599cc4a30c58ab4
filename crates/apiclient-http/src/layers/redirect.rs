//! Redirects: tower-http's `FollowRedirect` with a policy that never lets
//! the token leave its origin.
//!
//! The default [`RedirectPolicy`]: follow `301`, `302`, `303`, `307` and
//! `308` for `GET` and `HEAD`, on the same origin (scheme, host, port) only,
//! at most 5 hops. The layer sits inside the Auth layer, so each hop carries
//! the token of that same origin, is logged and timed. A redirect that is not
//! followed reaches the caller as an error that names `Location`
//! ([`Error::Http`](apiclient_errors::Error::Http) with
//! [`HttpError::location`](apiclient_errors::HttpError::location)).

use http::{Method, Request, Uri};
use tower::Layer;
use tower_http::follow_redirect::policy::{Action, Attempt, Policy};

use crate::body::Body;

/// Which redirects are followed: [`RedirectPolicy::default`] or
/// [`RedirectPolicy::none`], changed with the setters (new fields may come,
/// so the struct is not built by a literal).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedirectPolicy {
    /// The most redirects followed for one request (default 5; 0 follows none).
    pub max_hops: usize,
    /// The methods whose redirects are followed (default GET and HEAD).
    pub methods: Vec<Method>,
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        RedirectPolicy {
            max_hops: 5,
            methods: vec![Method::GET, Method::HEAD],
        }
    }
}

impl RedirectPolicy {
    /// The most redirects followed for one request.
    pub fn max_hops(mut self, n: usize) -> Self {
        self.max_hops = n;
        self
    }

    /// The methods whose redirects are followed.
    pub fn methods(mut self, methods: impl Into<Vec<Method>>) -> Self {
        self.methods = methods.into();
        self
    }

    /// Follow no redirect.
    pub fn none() -> Self {
        RedirectPolicy {
            max_hops: 0,
            methods: Vec::new(),
        }
    }
}

/// Scheme, host and port of an absolute URI (the default port when none).
pub(crate) fn origin(uri: &Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some((scheme, uri.host()?.to_ascii_lowercase(), port))
}

/// The per-request state of a [`RedirectPolicy`] (tower-http's `Policy`):
/// hops so far, and the extensions of the original request, put back on
/// every hop (tower-http does not carry them over).
#[derive(Debug, Clone)]
pub struct Hops {
    policy: std::sync::Arc<RedirectPolicy>,
    hops: usize,
    extensions: Option<http::Extensions>,
}

impl<E> Policy<Body, E> for Hops {
    fn redirect(&mut self, attempt: &Attempt<'_>) -> Result<Action, E> {
        let same_origin = origin(attempt.previous()).is_some()
            && origin(attempt.previous()) == origin(attempt.location());
        let allowed = self.hops < self.policy.max_hops
            && self.policy.methods.contains(attempt.previous_method())
            && same_origin;
        if !allowed {
            return Ok(Action::Stop);
        }
        self.hops += 1;
        tracing::debug!(
            target: "apiclient_http::redirect",
            status = attempt.status().as_u16(),
            location = %apiclient_errors::redact::redact_url(&attempt.location().to_string()),
            "following a redirect on the same origin"
        );
        Ok(Action::Follow)
    }

    fn on_request(&mut self, request: &mut Request<Body>) {
        match &self.extensions {
            None => self.extensions = Some(request.extensions().clone()),
            Some(ext) => *request.extensions_mut() = ext.clone(),
        }
    }

    fn clone_body(&self, body: &Body) -> Option<Body> {
        body.try_clone()
    }
}

/// Follows redirects by a [`RedirectPolicy`], for a stack built by hand
/// (the client's own stack follows them in its retry layer, with the one
/// copy of each request).
///
/// ```
/// use apiclient_http::Body;
/// use apiclient_http::layers::redirect::{RedirectLayer, RedirectPolicy};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let svc = RedirectLayer::new(RedirectPolicy::default()).layer(service_fn(|r: http::Request<Body>| async move {
///     let to = match r.uri().path() {
///         "/old" => Some("/new"),                  // same origin: followed
///         "/away" => Some("http://elsewhere/x"),   // another origin: not followed
///         _ => None,
///     };
///     let resp = match to {
///         Some(to) => http::Response::builder().status(302).header("location", to),
///         None => http::Response::builder().status(200),
///     };
///     Ok::<_, apiclient_errors::BoxError>(resp.body(Body::empty()).unwrap())
/// }));
/// let get = |p: &str| http::Request::get(format!("http://svc{p}")).body(Body::empty()).unwrap();
/// assert_eq!(svc.clone().oneshot(get("/old")).await.unwrap().status(), 200);
/// assert_eq!(svc.oneshot(get("/away")).await.unwrap().status(), 302);
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct RedirectLayer {
    policy: std::sync::Arc<RedirectPolicy>,
}

impl RedirectLayer {
    /// Follow redirects by `policy`.
    pub fn new(policy: RedirectPolicy) -> Self {
        RedirectLayer {
            policy: std::sync::Arc::new(policy),
        }
    }
}

impl<S> Layer<S> for RedirectLayer {
    type Service = FollowRedirects<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FollowRedirects {
            inner: tower_http::follow_redirect::FollowRedirect::with_policy(
                inner,
                Hops {
                    policy: self.policy.clone(),
                    hops: 0,
                    extensions: None,
                },
            ),
        }
    }
}

/// The service of [`RedirectLayer`] (tower-http's `FollowRedirect` inside,
/// a pre-1.0 type this crate keeps out of its API).
#[derive(Debug, Clone)]
pub struct FollowRedirects<S> {
    inner: tower_http::follow_redirect::FollowRedirect<S, Hops>,
}

impl<S, B> tower::Service<Request<Body>> for FollowRedirects<S>
where
    S: tower::Service<Request<Body>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future =
        apiclient_auth::transport::BoxFuture<'static, Result<http::Response<B>, S::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        Box::pin(self.inner.call(req))
    }
}
