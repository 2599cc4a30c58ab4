//! The tower layers of the stack, each in its own module and exported so a
//! user can rebuild or extend the stack.
//!
//! Order, outer to inner (request direction):
//! [`retry`] → [`auth`] → [`defaults`] → [`curl_log`] → [`timing`] → transport.
//! The client's retry layer also follows redirects and replays after a 401
//! (one copy of each request); [`redirect`] is tower-http's redirect layer
//! for stacks built by hand.

use std::future::Future;
use std::pin::Pin;

use crate::body::Body;

pub mod auth;
pub mod curl_log;
pub mod defaults;
pub mod redirect;
pub mod retry;
pub mod timing;

/// The boxed future the layers return, with a `'static` lifetime.
#[deprecated(
    since = "0.1.0",
    note = "use `apiclient_auth::transport::BoxFuture<'static, T>`, the one BoxFuture of every crate"
)]
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// `req`'s head (method, URI, version, headers, extensions) with `body`.
pub fn with_body(req: &http::Request<Body>, body: Body) -> http::Request<Body> {
    let mut out = http::Request::new(body);
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = req.uri().clone();
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
