//! A buffered call as one hand-written future ([`Sending`]): the stack's
//! answer within the call's deadline, then its body, then the typed
//! response or error.
//!
//! The same steps as `async fn`s nested five deep made a 4.4 KB future that
//! every level copied into the next (the request head stayed in each
//! level's state after it moved on). Here the request is held once, until
//! the first poll hands it to the stack, and the states after it hold the
//! stack's work: when no layer of the user's wraps the stack, the whole
//! call inline (its retries, its auth, the attempt and the transport's
//! exchange: about 1 KB; only the attempt's timer is allocated), else
//! the boxed stack's future, with the URL and the deadline's timer.
//! Nothing happens before the first poll, as with an `async fn`.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use apiclient_auth::transport::BoxFuture;
use apiclient_errors::{BoxError, ConnectionError, ConnectionErrorKind, Error, from_response};
use bytes::Bytes;
use http::{Method, Request, Response, Uri};
use tower::{Service, ServiceExt};

use super::direct::DirectCall;
use super::http_client::{HttpClient, is_failure};
use super::request::ApiRequest;
use super::response::ApiResponse;
use super::stack::into_error;
use crate::body::Body;
use crate::extensions::{Deadline, Target};

impl HttpClient {
    /// Send a request to an absolute URL, unauthenticated (Python's `request`).
    /// A status of 400 or more, or a redirection (not followed), is an [`Error::Http`].
    pub fn request(
        &self,
        req: ApiRequest,
    ) -> impl Future<Output = Result<ApiResponse, Error>> + Send + '_ {
        match req.into_http(None) {
            Ok(req) => self.send(req),
            Err(e) => Sending::invalid(self, e),
        }
    }

    /// Send through the stack and read the answer whole (one hand-written
    /// future: see [`Sending`]).
    pub(super) fn send(&self, req: Request<Body>) -> Sending<'_> {
        Sending::new(self, req, None)
    }

    /// [`send`](Self::send) a request relative to `target`'s endpoint (the
    /// target travels beside the request, into its extensions only for
    /// the layers that read it there).
    pub(super) fn send_to<'a>(
        &'a self,
        req: Request<Body>,
        target: Cow<'a, Target>,
    ) -> Sending<'a> {
        Sending::new(self, req, Some(target))
    }
}

/// The future of a buffered call ([`HttpClient::request`],
/// [`ServiceClient::request`](crate::ServiceClient::request) and its verbs):
/// resolves to the response, or to the typed error of a failure status.
#[must_use = "futures do nothing unless polled"]
pub(super) struct Sending<'a> {
    http: &'a HttpClient,
    method: Method,
    stage: Stage<'a>,
}

// the stages hold their parts inline: boxing the large one would cost the
// allocation this future exists to avoid
#[allow(clippy::large_enum_variant)]
enum Stage<'a> {
    /// Not polled yet, for the boxed stack: the request, and the service
    /// client's target when it is not in the request's extensions.
    Start(Request<Body>, Option<Cow<'a, Target>>),
    /// The request could not be built: the error, given on the first poll.
    Invalid(Error),
    /// The stack has the request (the client's own stack: from the start,
    /// the request unsent in the call until the first poll).
    Calling {
        answer: Answer<'a>,
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
        /// The span a subscriber listens to (the client's own stack only).
        trace: Option<Box<Trace>>,
    },
    /// A span listens to a call through layers of the user's: the call
    /// with its span, boxed whole (rare).
    Traced(BoxFuture<'static, Result<(Response<Body>, Uri), Error>>),
    /// The answer's body is not buffered yet (a stack that streams it).
    Reading {
        read: BoxFuture<'static, Result<Bytes, BoxError>>,
        parts: http::response::Parts,
        uri: Uri,
    },
    /// Finished (or failed): polled again, an error, never a panic.
    Done,
}

/// A call a tracing subscriber listens to: its `request` span, entered
/// while the call is polled, and when the call began (boxed: only a traced
/// call carries it).
struct Trace {
    span: tracing::Span,
    t0: std::time::Instant,
}

impl Trace {
    /// The call is over after `attempts` attempts: the span records them,
    /// the duration and, when the server answered, its status and request id.
    fn record(self, attempts: u32, answered: Option<&Response<Body>>) {
        self.span.record("attempts", attempts);
        self.span
            .record("duration_ms", self.t0.elapsed().as_millis() as u64);
        if let Some(resp) = answered {
            super::http_client::record_answer(&self.span, resp);
        }
    }
}

/// The stack's answer in the making: the client's own stack as one future
/// (inline, no allocation; it keeps the URL asked itself), or the boxed
/// stack's, with the URL asked.
#[allow(clippy::large_enum_variant)]
enum Answer<'a> {
    Direct(DirectCall<'a>),
    Boxed(
        BoxFuture<'static, Result<Response<Body>, BoxError>>,
        Option<Uri>,
    ),
}

impl Answer<'_> {
    /// The answer, with the absolute URL that answered (else the one
    /// asked: `asked`, or the call's own).
    fn poll_answer(
        &mut self,
        http: &HttpClient,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(Response<Body>, Uri), BoxError>> {
        match self {
            Answer::Direct(call) => {
                let Some(direct) = &http.inner.direct else {
                    return Poll::Ready(Err("the client's stack is boxed".into()));
                };
                let (resp, url) = ready!(call.poll_answer(direct, cx))?;
                let url = url.unwrap_or_else(|| call.asked());
                Poll::Ready(Ok(http.answered_at(resp, url)))
            }
            Answer::Boxed(f, asked) => {
                let resp = ready!(f.as_mut().poll(cx))?;
                let asked = asked.take().unwrap_or_default();
                Poll::Ready(Ok(http.answered(resp, asked)))
            }
        }
    }

    /// The attempts the client's own stack made (0 for the boxed stack,
    /// whose layers count them in the request's [`AttemptCount`]).
    ///
    /// [`AttemptCount`]: crate::AttemptCount
    fn attempts_made(&self) -> u32 {
        match self {
            Answer::Direct(call) => call.attempts_made(),
            Answer::Boxed(..) => 0,
        }
    }

    /// The URL asked, for an error.
    fn asked(&self) -> String {
        match self {
            Answer::Boxed(_, Some(uri)) => uri.to_string(),
            Answer::Direct(call) => call.asked().to_string(),
            Answer::Boxed(_, None) => String::new(),
        }
    }
}

/// `service` called with `req`: at once when it is ready now, else when it
/// becomes ready (tower's `Oneshot`, boxed).
fn call_when_ready(
    mut service: super::stack::HttpService,
    req: Request<Body>,
    asked: Uri,
) -> Answer<'static> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let answer: BoxFuture<'static, Result<Response<Body>, BoxError>> =
        match service.poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => Box::pin(service.call(req)),
            Poll::Ready(Err(e)) => Box::pin(std::future::ready(Err(e))),
            Poll::Pending => Box::pin(service.oneshot(req)),
        };
    Answer::Boxed(answer, Some(asked))
}

impl<'a> Sending<'a> {
    /// The call of `req` (to `target`'s service, or to the target its
    /// request carries): on the client's own stack, made here where it
    /// stays, with the request in it, unsent until the first poll (a call
    /// made on that poll and moved in would be copied whole: it is large);
    /// else the request alone, for the boxed stack.
    pub(super) fn new(
        http: &'a HttpClient,
        req: Request<Body>,
        target: Option<Cow<'a, Target>>,
    ) -> Self {
        let method = req.method().clone();
        let stage = match &http.inner.direct {
            Some(direct) => Stage::Calling {
                answer: Answer::Direct(DirectCall::unsent(direct, req, target)),
                deadline: None,
                trace: None,
            },
            None => Stage::Start(req, target),
        };
        Sending {
            http,
            method,
            stage,
        }
    }

    pub(super) fn invalid(http: &'a HttpClient, e: Error) -> Self {
        Sending {
            http,
            method: Method::GET,
            stage: Stage::Invalid(e),
        }
    }

    /// The first poll of a call on the client's own stack: its span (when
    /// a subscriber listens: entered while the call is polled), its
    /// deadline, and its first attempt sent.
    fn start_direct(
        http: &HttpClient,
        call: &mut DirectCall<'_>,
        deadline: &mut Option<Pin<Box<tokio::time::Sleep>>>,
        trace: &mut Option<Box<Trace>>,
    ) {
        let Some(direct) = &http.inner.direct else {
            return;
        };
        if let Some((req, target)) = call.unsent_mut() {
            let span = http.call_span(req, target);
            if !span.is_disabled() {
                *trace = Some(Box::new(Trace {
                    span,
                    t0: std::time::Instant::now(),
                }));
            }
            if let Some(Deadline(at)) = http.set_deadline(req) {
                *deadline = Some(Box::pin(tokio::time::sleep_until(at)));
            }
        }
        // (the first attempt is sent in the span: the curl log's request
        // line is one of its events)
        let _in = trace.as_ref().map(|t| t.span.enter());
        call.send_unsent(direct);
    }

    /// The request handed to the boxed stack (or to the traced path): the
    /// next stage.
    fn start(
        stage: &mut Stage<'a>,
        http: &HttpClient,
        mut req: Request<Body>,
        target: Option<Cow<'a, Target>>,
    ) {
        // the tower layers read the target from the request
        if let Some(t) = target {
            req.extensions_mut().insert(t.into_owned());
        }
        let span = http.call_span(&req, None);
        if !span.is_disabled() {
            let http = http.clone();
            *stage = Stage::Traced(Box::pin(async move { http.call_traced(req, span).await }));
            return;
        }
        let (req, uri, deadline) = http.with_deadline(req);
        *stage = Stage::Calling {
            answer: call_when_ready(http.inner.service.clone(), req, uri),
            deadline: deadline.map(|Deadline(at)| Box::pin(tokio::time::sleep_until(at))),
            trace: None,
        };
    }

    /// The answer, as a typed response or error (its body in hand).
    fn finish(
        &self,
        parts: http::response::Parts,
        body: Bytes,
        uri: Uri,
    ) -> Result<ApiResponse, Error> {
        let resp = ApiResponse {
            status: parts.status,
            headers: parts.headers,
            body,
            method: self.method.clone(),
            uri,
        };
        if is_failure(resp.status) {
            tracing::debug!(target: "apiclient_http", status = resp.status.as_u16(), "Request returned failure status");
            return Err(from_response(
                resp.status.as_u16(),
                &resp.headers,
                &resp.body,
                resp.method.as_str(),
                &resp.uri.to_string(),
            )
            .into());
        }
        Ok(resp)
    }

    /// The response, finished at once when its body is buffered (the
    /// usual case); else `None`, with the body's read as the next stage.
    fn take_body(&mut self, resp: Response<Body>, uri: Uri) -> Option<Result<ApiResponse, Error>> {
        let (parts, body) = resp.into_parts();
        if let Some(b) = body.as_bytes() {
            let b = b.clone();
            return Some(self.finish(parts, b, uri));
        }
        self.stage = Stage::Reading {
            read: Box::pin(body.collect_limited(usize::MAX)),
            parts,
            uri,
        };
        None
    }
}

impl Future for Sending<'_> {
    type Output = Result<ApiResponse, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.stage {
                Stage::Start(req, target) => {
                    // the request and target out, not the whole stage
                    let req = std::mem::replace(req, Request::new(Body::empty()));
                    let target = target.take();
                    Sending::start(&mut this.stage, this.http, req, target);
                }
                Stage::Invalid(_) => {
                    if let Stage::Invalid(e) = std::mem::replace(&mut this.stage, Stage::Done) {
                        return Poll::Ready(Err(e));
                    }
                }
                Stage::Calling {
                    answer,
                    deadline,
                    trace,
                } => {
                    if let Answer::Direct(call) = answer
                        && call.is_unsent()
                    {
                        Sending::start_direct(this.http, call, deadline, trace);
                    }
                    let polled = {
                        let _in = trace.as_ref().map(|t| t.span.enter());
                        answer.poll_answer(this.http, cx)
                    };
                    let result = match polled {
                        Poll::Ready(r) => r,
                        Poll::Pending => {
                            if let Some(d) = deadline
                                && d.as_mut().poll(cx).is_ready()
                            {
                                let what = answer.asked();
                                if let Some(t) = trace.take() {
                                    t.record(answer.attempts_made(), None);
                                }
                                this.stage = Stage::Done;
                                return Poll::Ready(Err(ConnectionError::new(
                                    ConnectionErrorKind::Deadline,
                                    what,
                                    None,
                                )
                                .into()));
                            }
                            return Poll::Pending;
                        }
                    };
                    if let Some(t) = trace.take() {
                        t.record(
                            answer.attempts_made(),
                            result.as_ref().ok().map(|(resp, _)| resp),
                        );
                    }
                    let (resp, uri) = match result {
                        Ok(answered) => answered,
                        Err(e) => {
                            let asked = answer.asked();
                            this.stage = Stage::Done;
                            return Poll::Ready(Err(into_error(e, &asked)));
                        }
                    };
                    this.stage = Stage::Done;
                    if let Some(done) = this.take_body(resp, uri) {
                        return Poll::Ready(done);
                    }
                }
                Stage::Traced(call) => {
                    let (resp, uri) = match call.as_mut().poll(cx) {
                        Poll::Ready(Ok(answer)) => answer,
                        Poll::Ready(Err(e)) => {
                            this.stage = Stage::Done;
                            return Poll::Ready(Err(e));
                        }
                        Poll::Pending => return Poll::Pending,
                    };
                    this.stage = Stage::Done;
                    // the traced call has been `answered` already
                    if let Some(done) = this.take_body(resp, uri) {
                        return Poll::Ready(done);
                    }
                }
                Stage::Reading { read, .. } => {
                    let read = match read.as_mut().poll(cx) {
                        Poll::Ready(r) => r,
                        Poll::Pending => return Poll::Pending,
                    };
                    let Stage::Reading { parts, uri, .. } =
                        std::mem::replace(&mut this.stage, Stage::Done)
                    else {
                        return Poll::Pending;
                    };
                    return Poll::Ready(match read {
                        Ok(body) => this.finish(parts, body, uri),
                        Err(e) => Err(into_error(e, &uri.to_string())),
                    });
                }
                Stage::Done => {
                    return Poll::Ready(Err(Error::invalid(
                        apiclient_errors::InvalidKind::State,
                        "a request future was polled after it completed",
                    )));
                }
            }
        }
    }
}
