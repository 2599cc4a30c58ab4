//! Request bodies on the wire: a server may answer before it has read them.
//!
//! Servers answer uploads early: Swift's 404 for a missing container, a 401
//! for a revoked token, a 413, Glance's 409 for data sent to an active
//! image. Many then close the connection with the rest of the body unread
//! (gunicorn reads 64 KiB of it first), and the client's next write fails
//! with a broken pipe or a reset while the answer already sits in its
//! socket. Two parts make that answer reach the caller:
//!
//! - The connection ([`crate::transport::ProxiedIo`]) treats a write that
//!   fails because the peer stopped reading as done (the bytes go nowhere)
//!   and keeps reading, so hyper parses the answer the server sent. A server
//!   that sent nothing still ends in a connection error: the read finds the
//!   connection closed.
//! - The body ([`GatedBody`]) stops sending once the answer has arrived: the
//!   rest of a 200 MiB file is not pushed at a server that has already said
//!   no. When the answer has been read, the unsent rest is abandoned and the
//!   connection closed (it is never reused with half a request on it).
//!
//! The gate also notes when bytes last moved, so the per-attempt timeout of
//! an upload measures the time without progress rather than the whole
//! transfer, and it keeps the error of a failing local source (a file that
//! cannot be read), which is reported as [`Error::Io`], never as a
//! connection failure.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use apiclient_errors::{BoxError, Error};
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body::{Frame, SizeHint};

use crate::body::Body;

/// A buffered body at most this large is written in one go: no gate.
const UNGATED_MAX: u64 = 64 * 1024;

/// What the sending side and the answering side of one attempt share.
pub(crate) struct UploadGate {
    /// The answer's head has arrived: send no more.
    answered: AtomicBool,
    /// The answer has been read (or the attempt is over): abandon the rest.
    finished: AtomicBool,
    /// When bytes last moved, in milliseconds since `start`.
    last_progress_ms: AtomicU64,
    start: std::time::Instant,
    /// The body's own source failed (a file that cannot be read).
    source_error: Mutex<Option<BoxError>>,
    waker: AtomicWaker,
}

impl Default for UploadGate {
    fn default() -> Self {
        UploadGate {
            answered: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            last_progress_ms: AtomicU64::new(0),
            start: std::time::Instant::now(),
            source_error: Mutex::new(None),
            waker: AtomicWaker::new(),
        }
    }
}

impl UploadGate {
    /// Whether `body` needs a gate: anything but a small buffered body.
    pub(crate) fn needed(body: &Body) -> bool {
        !body.is_buffered() || body.len().is_none_or(|n| n > UNGATED_MAX)
    }

    /// The answer's head has arrived.
    pub(crate) fn answered(&self) {
        self.answered.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// When bytes last moved (the gate's creation before any did).
    fn last_progress(&self) -> std::time::Instant {
        self.start + std::time::Duration::from_millis(self.last_progress_ms.load(Ordering::Acquire))
    }

    fn moved(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_progress_ms.fetch_max(ms, Ordering::AcqRel);
    }

    /// The error of the body's source, if it failed (taken once).
    pub(crate) fn take_source_error(&self) -> Option<Error> {
        let e = self.source_error.lock().ok()?.take()?;
        Some(match e.downcast::<Error>() {
            Ok(e) => *e,
            Err(e) => Error::Io {
                operation: "read",
                path: None,
                source: match e.downcast::<std::io::Error>() {
                    Ok(io) => *io,
                    Err(other) => std::io::Error::other(other),
                },
            },
        })
    }

    fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// Ends the gate when dropped: held by the attempt for a buffered answer,
/// by the answer's body for a streamed one.
pub(crate) struct GateGuard(pub(crate) Arc<UploadGate>);

impl Drop for GateGuard {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// The request body as the connection sees it. See the [module docs](self).
pub(crate) struct GatedBody {
    inner: Body,
    gate: Arc<UploadGate>,
}

impl GatedBody {
    pub(crate) fn new(inner: Body, gate: Arc<UploadGate>) -> Self {
        GatedBody { inner, gate }
    }
}

/// The server answered before the whole body was sent; the rest is not sent.
#[derive(Debug)]
struct AnsweredEarly;

impl std::fmt::Display for AnsweredEarly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server answered before the whole request body was sent")
    }
}

impl std::error::Error for AnsweredEarly {}

impl http_body::Body for GatedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let gate = &self.gate;
        // registered on every poll: the end of the attempt wakes the
        // connection even while the source itself is pending
        gate.waker.register(cx.waker());
        if gate.answered.load(Ordering::Acquire) {
            if gate.finished.load(Ordering::Acquire) {
                return Poll::Ready(Some(Err(Box::new(AnsweredEarly))));
            }
            return Poll::Pending;
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if frame.is_data() {
                    self.gate.moved();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                if let Ok(mut slot) = self.gate.source_error.lock() {
                    *slot = Some(e);
                }
                Poll::Ready(Some(Err(Box::new(SourceFailed))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// The body's source failed; the error itself is kept in the gate.
#[derive(Debug)]
struct SourceFailed;

impl std::fmt::Display for SourceFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body's source failed")
    }
}

impl std::error::Error for SourceFailed {}

/// Whether a failed write means the peer stopped reading (then the answer
/// may still be readable).
pub(crate) fn peer_stopped_reading(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
    )
}

/// Run one attempt bounded by `timeout`: the whole attempt, or, for an
/// upload, every stretch without progress: the attempt fails once no byte of
/// the body has moved for `timeout` (after the last byte, that bounds the
/// wait for the answer). A large upload may take longer than `timeout` in
/// all; a source or a server that stalls cannot. The operation timeout
/// (`HttpClientBuilder::operation_timeout`) bounds the whole call.
pub(crate) fn bounded<F: Future>(
    timeout: std::time::Duration,
    gate: Option<&UploadGate>,
    attempt: F,
) -> Bounded<'_, F> {
    let sleep = match gate {
        Some(g) => {
            tokio::time::sleep_until(tokio::time::Instant::from_std(g.last_progress() + timeout))
        }
        None => tokio::time::sleep(timeout),
    };
    Bounded {
        attempt,
        sleep,
        gate,
        timeout,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`bounded`]: the attempt and its one timer, side by
    /// side (a hand-written future, so the attempt's state is held once).
    pub(crate) struct Bounded<'g, F> {
        #[pin]
        attempt: F,
        #[pin]
        sleep: tokio::time::Sleep,
        gate: Option<&'g UploadGate>,
        timeout: std::time::Duration,
    }
}

impl<F: Future> Future for Bounded<'_, F> {
    type Output = Result<F::Output, AttemptTimedOut>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(out) = this.attempt.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        loop {
            std::task::ready!(this.sleep.as_mut().poll(cx));
            let Some(gate) = this.gate else {
                return Poll::Ready(Err(AttemptTimedOut));
            };
            // an upload that moved since: the wait starts again from then
            let idle_until = gate.last_progress() + *this.timeout;
            if idle_until <= std::time::Instant::now() {
                return Poll::Ready(Err(AttemptTimedOut));
            }
            this.sleep
                .as_mut()
                .reset(tokio::time::Instant::from_std(idle_until));
        }
    }
}

/// An attempt that ran out of its time (the source of the timeout error).
#[derive(Debug)]
pub(crate) struct AttemptTimedOut;

impl std::fmt::Display for AttemptTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for AttemptTimedOut {}
