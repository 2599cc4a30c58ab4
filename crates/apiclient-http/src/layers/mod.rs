//! The tower layers of the stack, each in its own module and exported so a
//! user can rebuild or extend the stack.
//!
//! Order, outer to inner (request direction):
//! [`retry`] → [`auth`] → [`defaults`] → [`curl_log`] → [`timing`] → transport.

use std::future::Future;
use std::pin::Pin;

pub mod auth;
pub mod curl_log;
pub mod defaults;
pub mod retry;
pub mod timing;

/// The boxed future the layers return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Clone a buffered request (method, URI, version, headers, extensions, body).
pub fn clone_request(req: &http::Request<bytes::Bytes>) -> http::Request<bytes::Bytes> {
    let mut out = http::Request::new(req.body().clone());
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = req.uri().clone();
    *out.version_mut() = req.version();
    *out.headers_mut() = req.headers().clone();
    *out.extensions_mut() = req.extensions().clone();
    out
}
