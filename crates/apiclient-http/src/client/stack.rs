//! The stack as one type: [`HttpService`], the boxing of any tower layer
//! into it ([`StackLayer`]), in-memory transports ([`buffered_service`]), and
//! the one conversion of a stack error into a typed error.

use apiclient_errors::{BoxError, ConnectionError, ConnectionErrorKind, Error};
use bytes::Bytes;
use http::{Request, Response};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::body::Body;
use crate::transport::HyperTransport;

/// The type-erased stack: a request with its [`Body`] in, a response out
/// (buffered unless the request asked for
/// [`StreamResponse`](crate::transport::StreamResponse)).
pub type HttpService = BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>;

/// An [`HttpService`] from a function of buffered requests and responses:
/// an in-memory fake transport, a test double. The request body is read
/// whole first (a one-shot stream included).
///
/// ```
/// use apiclient_auth::KeystonePlugin;
/// use apiclient_http::{buffered_service, HttpClient};
///
/// let fake = buffered_service(|req: http::Request<bytes::Bytes>| async move {
///     Ok::<_, apiclient_errors::BoxError>(http::Response::new(bytes::Bytes::from(req.uri().path().to_string())))
/// });
/// let http = HttpClient::builder(Box::new(KeystonePlugin::admin_token("http://svc/v1", "t")))
///     .base_transport(fake)
///     .build()
///     .unwrap();
/// # let _ = http;
/// ```
pub fn buffered_service<F, Fut>(f: F) -> HttpService
where
    F: Fn(Request<Bytes>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<Bytes>, BoxError>> + Send + 'static,
{
    HttpService::new(tower::service_fn(move |req: Request<Body>| {
        let f = f.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = body.collect_limited(usize::MAX).await?;
            let resp = f(Request::from_parts(parts, bytes)).await?;
            Ok(resp.map(Body::from))
        }
    }))
}

/// A tower layer the builder can put into the stack: any `Layer` whose
/// service takes `Request<Body>`, whatever response body and error type it
/// returns (they are mapped back to [`Body`] and `BoxError`).
pub trait StackLayer: Send + 'static {
    /// The stack `svc` wrapped in this layer, boxed.
    fn wrap(self, svc: HttpService) -> HttpService;
}

impl<L, B, E> StackLayer for L
where
    L: tower::Layer<HttpService> + Send + 'static,
    L::Service: tower::Service<Request<Body>, Response = Response<B>, Error = E>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<Request<Body>>>::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError> + 'static,
{
    fn wrap(self, svc: HttpService) -> HttpService {
        boxed(self.layer(svc))
    }
}

/// Box a typed tower service (with any response body and error) as an
/// [`HttpService`].
pub(super) fn boxed<S, B, E>(svc: S) -> HttpService
where
    S: tower::Service<Request<Body>, Response = Response<B>, Error = E>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError> + 'static,
{
    HttpService::new(
        svc.map_response(|r: Response<B>| r.map(Body::wrap))
            .map_err(Into::into),
    )
}

/// A stack error as a typed error.
pub(crate) fn into_error(e: BoxError, url: &str) -> Error {
    match e.downcast::<Error>() {
        Ok(e) => *e,
        Err(other) => {
            let kind = if other.is::<tower::timeout::error::Elapsed>() {
                ConnectionErrorKind::Timeout
            } else {
                ConnectionErrorKind::Other
            };
            ConnectionError::new(kind, url, Some(other)).into()
        }
    }
}

/// The innermost service: the hyper transport itself, or whatever replaced
/// or wrapped it (`base_transport`, `layer_transport`).
#[derive(Clone)]
pub(super) enum Base {
    Hyper(HyperTransport),
    Other(HttpService),
}

impl tower::Service<Request<Body>> for Base {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = futures_util::future::Either<
        <HyperTransport as tower::Service<Request<Body>>>::Future,
        <HttpService as tower::Service<Request<Body>>>::Future,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        match self {
            Base::Hyper(h) => h.poll_ready(cx),
            Base::Other(s) => s.poll_ready(cx),
        }
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match self {
            Base::Hyper(h) => futures_util::future::Either::Left(h.call(req)),
            Base::Other(s) => futures_util::future::Either::Right(s.call(req)),
        }
    }
}

/// The stack under the retry and auth layers (defaults, limits, curl log,
/// timing, metrics, transport), as a type.
pub(super) type Bare = crate::layers::defaults::Defaults<
    crate::layers::limits::LimitsService<
        crate::layers::curl_log::CurlLog<
            crate::layers::timing::TimingService<crate::layers::metrics::MetricsService<Base>>,
        >,
    >,
>;

/// The client's stack as its parts, when no layer of the user's wraps it:
/// the retry and auth layers' work is then one future
/// ([`DirectCall`](super::direct::DirectCall)) over the bare stack, with the
/// same policies as the tower layers the boxed stack is built of.
#[derive(Clone)]
pub(super) struct Direct {
    /// A fresh retry count under the client's policies (copied per call).
    pub(super) attempts: crate::layers::retry::Attempts,
    /// The token.
    pub(super) state: std::sync::Arc<crate::token::TokenState>,
    /// The stack under retries and auth.
    pub(super) bare: Bare,
    /// The same stack's work done inline, when its transport is hyper's own
    /// and no limit is set (see [`Fused`]).
    pub(super) fused: Option<Fused>,
}

/// What the bare stack does to a request when no limit is set and its
/// timings are off (the usual case): its default headers, its curl log
/// (when a subscriber takes it), its metrics, then the transport. A call
/// does it inline, with no request extension for the layers to read its
/// target from; while timings are on, it goes through the layers instead.
#[derive(Clone)]
pub(super) struct Fused {
    /// The defaults layer's headers.
    pub(super) defaults: std::sync::Arc<[(http::HeaderName, http::HeaderValue)]>,
    /// The timing layer's switch (and list).
    pub(super) timings: crate::layers::timing::Timings,
    /// Whether the metrics layer records.
    pub(super) metrics: bool,
    /// Whether TLS verification is off (the curl log's `--insecure`).
    pub(super) insecure: bool,
    /// The transport.
    pub(super) transport: HyperTransport,
}
