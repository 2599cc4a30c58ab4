//! [`Fault`]: what the next matching requests get instead of (or before)
//! their normal answer, and the bodies that truncate or drip an answer.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use serde_json::json;

use crate::reply::{BoxError, RespBody, full, json_resp, unauthorized};

/// A fault the next matching requests get instead of (or before) their normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// 401 in Keystone's shape.
    Unauthorized,
    /// 429 with `Retry-After: <secs>`.
    TooManyRequests {
        /// The Retry-After value in seconds.
        retry_after: u64,
    },
    /// 503.
    ServiceUnavailable,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Close the connection without answering.
    DropConnection,
    /// Send half of the body, then close (Content-Length promises more).
    TruncatedBody,
    /// A 502 HTML page, as a proxy sends it.
    BadGatewayHtml,
    /// Headers and half the body at once, the rest after this long.
    StalledBody(Duration),
    /// The body in `chunks` pieces, `interval` apart.
    SlowDrip {
        /// How many pieces.
        chunks: usize,
        /// The pause between pieces.
        interval: Duration,
    },
    /// A complete 200 response whose JSON is cut in half (Content-Length matches).
    TruncatedJson,
    /// A 200 with `Content-Type: application/json` and a body that is not JSON.
    InvalidJson,
    /// The normal answer with `Connection: close` (the server closes the keep-alive connection).
    CloseConnection,
    /// An object upload answered 401 after this many bytes of its body were
    /// read (a token that expired mid-upload).
    UnauthorizedAfter(u64),
}

/// A body that sends half of its bytes, then fails: the client sees a truncated response.
struct Truncated(Option<Bytes>, bool);

impl Body for Truncated {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(b) = self.0.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if !self.1 {
            self.1 = true;
            return Poll::Ready(Some(Err("truncated on purpose".into())));
        }
        Poll::Ready(None)
    }
}

/// A body sent in pieces with pauses between them.
struct Drip {
    chunks: VecDeque<Bytes>,
    interval: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for Drip {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        match self.chunks.pop_front() {
            Some(c) => {
                if !self.chunks.is_empty() {
                    let d = self.interval;
                    self.sleep = Some(Box::pin(tokio::time::sleep(d)));
                }
                Poll::Ready(Some(Ok(Frame::data(c))))
            }
            None => Poll::Ready(None),
        }
    }
}

async fn body_bytes(resp: Response<RespBody>) -> (http::response::Parts, Bytes) {
    let (p, b) = resp.into_parts();
    (
        p,
        b.collect().await.map(|c| c.to_bytes()).unwrap_or_default(),
    )
}

fn drip(
    parts: http::response::Parts,
    bytes: Bytes,
    n: usize,
    interval: Duration,
) -> Response<RespBody> {
    let n = n.clamp(1, bytes.len().max(1));
    let size = bytes.len().div_ceil(n).max(1);
    let chunks: VecDeque<Bytes> = (0..bytes.len())
        .step_by(size)
        .map(|i| bytes.slice(i..(i + size).min(bytes.len())))
        .collect();
    let mut r = Response::from_parts(
        parts,
        Drip {
            chunks,
            interval,
            sleep: None,
        }
        .boxed(),
    );
    r.headers_mut()
        .insert("content-length", http::HeaderValue::from(bytes.len()));
    r
}

/// The answer to a request that `fault` (if one is due) falls on; `normal`
/// makes its normal answer. An error closes the connection unanswered.
pub(super) async fn answer<F>(
    fault: Option<Fault>,
    normal: impl FnOnce() -> F,
) -> Result<Response<RespBody>, BoxError>
where
    F: Future<Output = Response<RespBody>>,
{
    Ok(match fault {
        Some(Fault::DropConnection) => return Err("dropped on purpose".into()),
        Some(Fault::Unauthorized | Fault::UnauthorizedAfter(_)) => unauthorized(),
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut r = json_resp(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"overLimit": {"code": 429, "message": "Rate limit exceeded"}}),
            );
            r.headers_mut()
                .insert("retry-after", http::HeaderValue::from(retry_after));
            r
        }
        Some(Fault::ServiceUnavailable) => json_resp(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"error": {"code": 503, "message": "Service Unavailable", "title": "Service Unavailable"}}),
        ),
        Some(Fault::BadGatewayHtml) => full(
            StatusCode::BAD_GATEWAY,
            &[("content-type", "text/html".into())],
            Bytes::from_static(b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"),
        ),
        Some(Fault::TruncatedBody) => {
            let (p, b) = normal().await.into_parts();
            let bytes = b.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            let mut r = Response::from_parts(p, Truncated(Some(half), false).boxed());
            r.headers_mut().insert(
                "content-length",
                http::HeaderValue::from(bytes.len().max(2)),
            );
            r
        }
        Some(Fault::StalledBody(d)) => {
            let (p, b) = body_bytes(normal().await).await;
            drip(p, b, 2, d)
        }
        Some(Fault::SlowDrip { chunks, interval }) => {
            let (p, b) = body_bytes(normal().await).await;
            drip(p, b, chunks, interval)
        }
        Some(Fault::TruncatedJson) => {
            let (p, b) = body_bytes(normal().await).await;
            let mut r = full(
                p.status,
                &[("content-type", "application/json".into())],
                b.slice(..b.len() / 2),
            );
            *r.headers_mut() = p.headers;
            r.headers_mut().remove("content-length");
            r
        }
        Some(Fault::InvalidJson) => full(
            StatusCode::OK,
            &[("content-type", "application/json".into())],
            Bytes::from_static(b"<html>this is not JSON</html>"),
        ),
        Some(Fault::CloseConnection) => {
            let mut r = normal().await;
            r.headers_mut()
                .insert("connection", http::HeaderValue::from_static("close"));
            r
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            normal().await
        }
        None => normal().await,
    })
}
