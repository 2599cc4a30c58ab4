//! Mounted services: [`MountBody`], the body a streaming mount reads and
//! answers with, and the type-erased tower service behind
//! [`FakeCloud::mount_service`](crate::FakeCloud::mount_service).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use apiclient_errors::BoxError;
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use tower::{Service, ServiceExt};

/// The body of a request to a streaming mounted service, and of its answer
/// ([`FakeCloud::mount_service`](crate::FakeCloud::mount_service)): the
/// bytes as they arrive (or as they are made), never collected by the fake.
///
/// ```
/// use apiclient_fake::MountBody;
/// use http_body_util::BodyExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let chunks = futures_util::stream::iter(["ab", "cd"].map(|s| Ok::<_, std::io::Error>(bytes::Bytes::from(s))));
/// let body = MountBody::from_stream(chunks);
/// assert_eq!(&body.collect().await.unwrap().to_bytes()[..], b"abcd");
/// assert_eq!(MountBody::full("x").collect().await.unwrap().to_bytes(), "x");
/// # });
/// ```
pub struct MountBody {
    // The boxed body need only be `Send`; the mutex (never locked while
    // polling: `get_mut`) makes the wrapper `Sync`, as the server's
    // response body must be.
    inner: Mutex<UnsyncBoxBody<Bytes, BoxError>>,
}

impl std::fmt::Debug for MountBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountBody")
            .field("size_hint", &self.size_hint())
            .finish()
    }
}

impl MountBody {
    /// Any body of bytes.
    pub fn new<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        MountBody {
            inner: Mutex::new(body.map_err(Into::into).boxed_unsync()),
        }
    }

    /// No bytes.
    pub fn empty() -> Self {
        Self::new(http_body_util::Empty::new())
    }

    /// These bytes, at once (with their length known: `Content-Length`).
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self::new(http_body_util::Full::new(bytes.into()))
    }

    /// The chunks of `stream`, as they come (no length: chunked).
    pub fn from_stream<S, E>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        Self::new(http_body_util::StreamBody::new(
            stream.map_ok(Frame::data).map_err(Into::into),
        ))
    }

    fn body(&mut self) -> &mut UnsyncBoxBody<Bytes, BoxError> {
        self.inner.get_mut().unwrap_or_else(|p| p.into_inner())
    }
}

impl Body for MountBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(self.get_mut().body()).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .size_hint()
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<MountBody>, BoxError>> + Send>>;

/// A streaming mounted service, type-erased: a fresh clone of the service
/// per request, made ready, then called.
pub(super) type ServiceFn = Arc<dyn Fn(Request<MountBody>) -> BoxFuture + Send + Sync>;

/// `service` as a [`ServiceFn`].
pub(super) fn erase<S>(service: S) -> ServiceFn
where
    S: Service<Request<MountBody>, Response = Response<MountBody>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    Arc::new(move |req| {
        let svc = service.clone();
        Box::pin(async move {
            let mut svc = svc.ready_oneshot().await.map_err(Into::into)?;
            svc.call(req).await.map_err(Into::into)
        })
    })
}
