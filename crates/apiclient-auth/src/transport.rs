//! The transport a plugin authenticates through.
//!
//! `apiclient-auth` sits below `apiclient-http` in the crate stack, so it
//! defines the smallest HTTP abstraction it needs: a request of buffered bytes
//! in, a response of buffered bytes out. `apiclient-http` implements it with
//! its bare stack (logging and timings, no auth layers, so no recursion), and
//! tests implement it with a closure.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use apiclient_errors::Error;
use bytes::Bytes;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends one HTTP request and returns the response, whatever its status.
///
/// Transport failures are typed ([`apiclient_errors::ConnectionError`]);
/// an HTTP error status is *not* an error at this level.
pub trait Transport: Send + Sync {
    /// Send `request`.
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>>;
}

/// A shared transport.
pub type SharedTransport = Arc<dyn Transport>;

/// A [`Transport`] made from a function (handy in tests).
///
/// ```
/// use apiclient_auth::transport::{FnTransport, Transport};
/// use bytes::Bytes;
///
/// let t = FnTransport::new(|req: http::Request<Bytes>| async move {
///     assert_eq!(req.uri().path(), "/v3");
///     Ok(http::Response::new(Bytes::from_static(b"{}")))
/// });
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let resp = rt.block_on(t.send(http::Request::get("http://k/v3").body(Bytes::new()).unwrap())).unwrap();
/// assert_eq!(resp.body().as_ref(), b"{}");
/// ```
pub struct FnTransport<F>(F);

impl<F> FnTransport<F> {
    /// Wrap `f`.
    pub fn new(f: F) -> Self {
        FnTransport(f)
    }
}

impl<F, Fut> Transport for FnTransport<F>
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<http::Response<Bytes>, Error>> + Send + 'static,
{
    fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>> {
        Box::pin((self.0)(request))
    }
}
