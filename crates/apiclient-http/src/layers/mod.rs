//! The tower layers of the stack, each in its own module and exported so a
//! user can rebuild or extend the stack.
//!
//! Order, outer to inner (request direction):
//! [`retry`] → [`auth`] → [`defaults`] → [`limits`] → [`curl_log`] →
//! [`timing`] → [`metrics`] → transport. Authentication requests take the
//! inner part (from [`defaults`] on), so they are limited, logged, timed and
//! counted like every other.
//! The client's retry layer also follows redirects and replays after a 401
//! (one copy of each request); [`redirect`] is tower-http's redirect layer
//! for stacks built by hand.

use std::future::Future;
use std::pin::Pin;

use crate::body::Body;

pub mod auth;
pub mod curl_log;
pub mod defaults;
mod joined;
pub mod limits;
pub mod metrics;
pub mod redirect;
pub mod retry;
pub mod timing;

/// The boxed future the layers return, with a `'static` lifetime.
#[deprecated(
    since = "0.1.0",
    note = "use `apiclient_auth::transport::BoxFuture<'static, T>`, the one BoxFuture of every crate"
)]
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

type Boxed = apiclient_auth::transport::BoxFuture<
    'static,
    Result<http::Response<Body>, apiclient_errors::BoxError>,
>;

pin_project_lite::pin_project! {
    /// The future of the [`curl_log`] and [`timing`] services: the inner
    /// service's own future while the layer's work is off (no allocation),
    /// a boxed one while it is on.
    pub struct LayerFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Boxed { future: Boxed },
    }
}

impl<F> LayerFuture<F> {
    /// The inner future, as it is.
    pub(crate) fn inner(future: F) -> Self {
        LayerFuture {
            state: State::Inner { future },
        }
    }

    /// The layer's work, boxed.
    pub(crate) fn boxed(
        future: impl Future<Output = Result<http::Response<Body>, apiclient_errors::BoxError>>
        + Send
        + 'static,
    ) -> Self {
        LayerFuture {
            state: State::Boxed {
                future: Box::pin(future),
            },
        }
    }
}

impl<F> Future for LayerFuture<F>
where
    F: Future<Output = Result<http::Response<Body>, apiclient_errors::BoxError>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future.poll(cx),
            StateProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F> std::fmt::Debug for LayerFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerFuture").finish_non_exhaustive()
    }
}

/// `req`'s head (method, URI, version, headers, extensions) with `body`.
pub fn with_body(req: &http::Request<Body>, body: Body) -> http::Request<Body> {
    head_with(req, req.uri().clone(), body)
}

/// `req`'s head, but for its URI, `uri`, with `body`.
pub(crate) fn head_with(
    req: &http::Request<Body>,
    uri: http::Uri,
    body: Body,
) -> http::Request<Body> {
    let mut out = http::Request::new(body);
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = uri;
    *out.version_mut() = req.version();
    *out.headers_mut() = req.headers().clone();
    *out.extensions_mut() = req.extensions().clone();
    out
}

/// A copy of a request to send again: None when its body is a one-shot
/// stream (it is never replayed).
pub fn clone_request(req: &http::Request<Body>) -> Option<http::Request<Body>> {
    Some(with_body(req, req.body().try_clone()?))
}
