//! One timing record per attempt: method, URL, start, time to the response
//! headers, time to the last body byte, status. A streamed response is
//! recorded when its body ends (or is dropped).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use apiclient_errors::BoxError;
use bytes::Bytes;
use http::{Request, Response};
use tower::{Layer, Service};

use super::LayerFuture;
use crate::body::Body;

/// One attempt's timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// The method.
    pub method: String,
    /// The full URL (password and secret query values redacted).
    pub url: String,
    /// When it started.
    pub start: SystemTime,
    /// How long it took to the last body byte (or the error; for a streamed
    /// body dropped before its end, to the drop).
    pub elapsed: Duration,
    /// How long it took to the response headers.
    pub to_headers: Duration,
    /// The status, or None when the transport failed.
    pub status: Option<u16>,
}

/// The shared list of timings; recording is off until enabled.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    enabled: Arc<AtomicBool>,
    records: Arc<Mutex<Vec<Timing>>>,
}

impl Timings {
    /// A list that records when `enabled`.
    pub fn new(enabled: bool) -> Self {
        let t = Timings::default();
        t.set_enabled(enabled);
        t
    }

    /// Turn recording on or off.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Whether recording is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// A copy of the records (Python's `get_timings`).
    pub fn get(&self) -> Vec<Timing> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Clear the records (Python's `reset_timings`).
    pub fn reset(&self) {
        if let Ok(mut r) = self.records.lock() {
            r.clear();
        }
    }

    fn push(&self, t: Timing) {
        if let Ok(mut r) = self.records.lock() {
            r.push(t);
        }
    }
}

/// Records a [`Timing`] for every request that passes, error responses and
/// transport failures included.
///
/// ```
/// use apiclient_http::Body;
/// use apiclient_http::layers::timing::{TimingLayer, Timings};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let timings = Timings::new(true);
/// let svc = TimingLayer::new(timings.clone()).layer(service_fn(|_req: http::Request<Body>| async {
///     Ok::<_, apiclient_errors::BoxError>(http::Response::builder().status(404).body(Body::empty()).unwrap())
/// }));
/// svc.oneshot(http::Request::get("http://x/y").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(timings.get()[0].status, Some(404));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct TimingLayer {
    timings: Timings,
}

impl TimingLayer {
    /// Record into `timings`.
    pub fn new(timings: Timings) -> Self {
        TimingLayer { timings }
    }
}

impl<S> Layer<S> for TimingLayer {
    type Service = TimingService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TimingService {
            inner,
            timings: self.timings.clone(),
        }
    }
}

/// The service of [`TimingLayer`].
#[derive(Debug, Clone)]
pub struct TimingService<S> {
    inner: S,
    timings: Timings,
}

impl<S> Service<Request<Body>> for TimingService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    /// The inner future as it is when timings are off (no allocation), boxed when on.
    type Future = LayerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if let Some(a) = req.extensions().get::<crate::extensions::AttemptCount>() {
            a.add();
        }
        if !self.timings.is_enabled() {
            return LayerFuture::inner(self.inner.call(req));
        }
        let method = req.method().to_string();
        let url = apiclient_errors::redact::redact_url(&req.uri().to_string()).into_owned();
        let timings = self.timings.clone();
        let fut = self.inner.call(req);
        LayerFuture::boxed(async move {
            let start = SystemTime::now();
            let t0 = Instant::now();
            let res = fut.await;
            let to_headers = t0.elapsed();
            let mut record = Timing {
                method,
                url,
                start,
                elapsed: to_headers,
                to_headers,
                status: res.as_ref().ok().map(|r| r.status().as_u16()),
            };
            match res {
                Ok(resp) if !resp.body().is_buffered() => {
                    let (parts, body) = resp.into_parts();
                    let body = OnEnd {
                        inner: body,
                        done: Some(Box::new(move || {
                            record.elapsed = t0.elapsed();
                            timings.push(record);
                        })),
                    };
                    Ok(Response::from_parts(parts, Body::wrap(body)))
                }
                other => {
                    timings.push(record);
                    other
                }
            }
        })
    }
}

/// A body that runs `done` once: at its end, on an error, or when dropped.
struct OnEnd {
    inner: Body,
    done: Option<Box<dyn FnOnce() + Send>>,
}

impl OnEnd {
    fn finish(&mut self) {
        if let Some(f) = self.done.take() {
            f();
        }
    }
}

impl Drop for OnEnd {
    fn drop(&mut self) {
        self.finish();
    }
}

impl http_body::Body for OnEnd {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.finish();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
