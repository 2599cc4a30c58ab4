//! The client's own stack called as one future ([`DirectCall`]): the retry
//! layer's and the auth layer's work for a call with no layer of the user's
//! around the stack.
//!
//! Through tower, a call cloned the whole stack twice (once to call it,
//! once in tower's `Retry` for the replays), boxed the auth layer's future
//! and put the URL that answered into a map allocated on every response.
//! Here the call holds the retry count, the one copy of the request every
//! replay is made from, the service client's target (beside the request,
//! not in an extension map allocated for it and copied with it), and the
//! attempt in flight. The stack under auth is called as its own type, or,
//! while no limit is set and its timings are off, its work is done inline
//! ([`Fused`]). The policies are the layers' own: [`Attempts`]
//! decides every retry, replay after a 401 and redirect, and the auth
//! layer's [`prepare_now`], [`Sent::renews`], [`Sent::settle`] and
//! [`Sent::renewal`] do the token's work, so both paths behave alike (the
//! boxed stack, built of the tower layers, serves calls wrapped in a layer
//! of the user's and traced calls).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use apiclient_auth::transport::BoxFuture;
use apiclient_errors::BoxError;
use http::{Request, Response, Uri};
use tower::{Layer, Service, ServiceExt};

use super::stack::{Bare, Direct, Fused};
use crate::body::Body;
use crate::extensions::{RequestUrl, Target};
use crate::layers::auth::{AuthLayer, Prepared, Sent, prepare_now};
use crate::layers::metrics::Attempt;
use crate::layers::retry::Attempts;
use crate::transport::Exchange;

/// An answer, with the absolute URL that answered when the call knows it.
pub(super) type Answered = (Response<Body>, Option<Uri>);

/// One call through the [`Direct`] stack: its attempts, one at a time.
/// Polled with the stack it was made from (the caller holds it).
pub(super) struct DirectCall<'a> {
    /// The service client's target, borrowed from it for the call (None: a
    /// request to an absolute URL); or the one the request carries.
    target: Option<Cow<'a, Target>>,
    attempts: Attempts,
    /// The request, which every attempt sends a copy of (it stays in
    /// place for the whole call), or, for a one-shot body (sent once), the
    /// URL it was sent to.
    copy: Kept,
    /// The attempts sent so far (a retry, the replay after a 401 and a
    /// redirect each count one).
    made: u32,
    step: Step,
}

/// What a call keeps of its request between attempts (inline, like the
/// rest of the call: no allocation for it).
#[allow(clippy::large_enum_variant)]
enum Kept {
    /// The request: not sent yet (`sent` false), or the one every further
    /// attempt is a copy of. It stays here from the call's start to its
    /// end: an attempt copies its head, and nothing moves it (each move
    /// of a request writes its 256 bytes again, which with many calls in
    /// flight costs more than the copy's own work).
    Request { req: Request<Body>, sent: bool },
    /// No further attempt (a one-shot body, sent itself): the URL asked.
    Asked(Uri),
}

impl Kept {
    /// The URL of the request kept, or of the one asked.
    fn url(&self) -> &Uri {
        match self {
            Kept::Request { req, .. } => req.uri(),
            Kept::Asked(asked) => asked,
        }
    }

    /// The request kept, once an attempt of it was sent (the one a retry
    /// replays and a redirect rewrites).
    fn replay_mut(&mut self) -> Option<&mut Request<Body>> {
        match self {
            Kept::Request { req, sent: true } => Some(req),
            _ => None,
        }
    }

    /// The request the next attempt sends: a copy of the kept one (which
    /// stays for the attempts after it), with no URI of its own when
    /// `target` (the call's) is there to join the kept path to its
    /// endpoint (a copy of the URI would allocate the header its bytes are
    /// then shared by; the attempt reads the kept one: [`path`](Self::path)).
    /// A one-shot body is sent itself, and only its URL kept. `None` when
    /// no request is kept.
    fn next(&mut self, target: Option<&Target>) -> Option<Request<Body>> {
        let Kept::Request { req, sent } = self else {
            return None;
        };
        let Some(body) = req.body().try_clone() else {
            let asked = req.uri().clone();
            return match std::mem::replace(self, Kept::Asked(asked)) {
                Kept::Request { req, .. } => Some(req),
                Kept::Asked(_) => None,
            };
        };
        *sent = true;
        let uri = match target {
            Some(_) => Uri::default(),
            None => req.uri().clone(),
        };
        Some(crate::layers::head_with(req, uri, body))
    }

    /// The URI the attempt [`next`](Self::next) made goes to, when it
    /// carries none of its own.
    fn path(&self, target: Option<&Target>) -> Option<&Uri> {
        match (self, target) {
            (Kept::Request { req, sent: true }, Some(_)) => Some(req.uri()),
            _ => None,
        }
    }
}

/// The attempt in flight, or the wait before the next one.
#[allow(clippy::large_enum_variant)]
enum Step {
    /// Sent; `sent` settles the answer when auth prepared the request.
    Attempt {
        answer: AttemptFuture,
        sent: Option<Sent>,
    },
    /// The backoff before the next attempt.
    Waiting(Pin<Box<tokio::time::Sleep>>),
    /// Finished.
    Done,
}

/// The bare stack's future (inline), or a boxed one: a stack not ready at
/// once, a wait for a token, a renewal after a 401.
#[allow(clippy::large_enum_variant)]
enum AttemptFuture {
    /// Not sent yet: the attempt is being written in place.
    Unsent,
    /// The bare stack's work inline: the transport's attempt, its metrics
    /// (recorded for the call's service) and, when `log`, the curl log's
    /// answer lines.
    Fused {
        transfer: Transfer,
        attempt: Option<Attempt>,
        log: bool,
    },
    Inline(<Bare as Service<Request<Body>>>::Future),
    Boxed(BoxFuture<'static, Result<Response<Body>, BoxError>>),
}

impl AttemptFuture {
    /// The attempt's answer; a fused attempt's metrics are recorded for
    /// `service`, the call's service type, and `url`, the URL asked (which
    /// its errors name too).
    fn poll_answer(
        &mut self,
        cx: &mut Context<'_>,
        service: Option<&str>,
        url: Option<&Uri>,
    ) -> Poll<Result<Response<Body>, BoxError>> {
        match self {
            AttemptFuture::Fused {
                transfer,
                attempt,
                log,
            } => {
                let res = ready!(transfer.poll_transfer(cx, url));
                if let Some(attempt) = attempt.take() {
                    attempt.record_for(&res, service, url);
                }
                if *log {
                    crate::layers::curl_log::log_answer(&res);
                }
                Poll::Ready(res)
            }
            AttemptFuture::Inline(f) => Pin::new(f).poll(cx),
            AttemptFuture::Boxed(f) => f.as_mut().poll(cx),
            AttemptFuture::Unsent => {
                Poll::Ready(Err("an attempt was polled before it was sent".into()))
            }
        }
    }
}

/// The transport's attempt: a bodiless request's exchange (inline), or the
/// transport's boxed future.
#[allow(clippy::large_enum_variant)]
enum Transfer {
    Exchange(Exchange),
    Boxed(BoxFuture<'static, Result<Response<Body>, BoxError>>),
}

impl Transfer {
    /// The transport's answer to the request sent to `url`.
    fn poll_transfer(
        &mut self,
        cx: &mut Context<'_>,
        url: Option<&Uri>,
    ) -> Poll<Result<Response<Body>, BoxError>> {
        match self {
            Transfer::Exchange(x) => x.poll_exchange(cx, url),
            Transfer::Boxed(f) => f.as_mut().poll(cx),
        }
    }
}

/// `req` (to `target`'s service) sent, into `answer`: the bare stack's
/// work inline while its timings are off (and no limit is set: else there
/// is no [`Fused`]), else down the bare stack itself (with the target in
/// the request's extensions, where its layers read it).
fn send(
    answer: &mut AttemptFuture,
    direct: &Direct,
    mut req: Request<Body>,
    target: Option<&Target>,
) {
    if let Some(fused) = &direct.fused
        && !fused.timings.is_enabled()
    {
        return send_fused(answer, fused, req, target);
    }
    if let Some(t) = target
        && req.extensions().get::<Target>().is_none()
    {
        req.extensions_mut().insert(t.clone());
    }
    *answer = send_bare(&direct.bare, req);
}

/// The bare stack's work inline, in its layers' order: its default
/// headers, its curl log, its metrics, the transport; written into
/// `answer` where it stays (it is large: built here and moved there, it
/// would be copied whole).
fn send_fused(
    answer: &mut AttemptFuture,
    fused: &Fused,
    mut req: Request<Body>,
    target: Option<&Target>,
) {
    crate::layers::defaults::apply(&fused.defaults, req.headers_mut());
    let log = crate::layers::curl_log::enabled();
    if log {
        crate::layers::curl_log::log_request(&req, fused.insecure);
    }
    // one clock reading starts both the attempt's timeout and its record
    let now = tokio::time::Instant::now();
    // labelled with the call's service when it ends (no copy of it here)
    let attempt = fused.metrics.then(|| {
        let service = match target {
            Some(_) => None,
            None => req.extensions().get::<Target>().map(|t| t.filter.clone()),
        };
        Attempt::start(&req, service, now.into_std())
    });
    *answer = if fused.transport.exchanges(&req) {
        AttemptFuture::Fused {
            transfer: Transfer::Exchange(fused.transport.exchange(req, now)),
            attempt,
            log,
        }
    } else {
        AttemptFuture::Fused {
            transfer: Transfer::Boxed(fused.transport.send(req)),
            attempt,
            log,
        }
    };
}

/// `req` sent down the bare stack: at once when it is ready now (it is,
/// unless a layer of the user's wraps the transport), else when it becomes
/// ready.
fn send_bare(bare: &Bare, req: Request<Body>) -> AttemptFuture {
    let mut bare = bare.clone();
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match bare.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => AttemptFuture::Inline(bare.call(req)),
        Poll::Ready(Err(e)) => AttemptFuture::Boxed(Box::pin(std::future::ready(Err(e)))),
        Poll::Pending => AttemptFuture::Boxed(Box::pin(bare.oneshot(req))),
    }
}

/// The URL a boxed attempt's answer carries.
fn carried_url(resp: &Response<Body>) -> Option<Uri> {
    resp.extensions().get::<RequestUrl>().map(|u| u.0.clone())
}

impl<'a> DirectCall<'a> {
    /// The call of `req` on `direct` to `target`'s service (None: to an
    /// absolute URL, or to the target its request carries), not sent yet:
    /// see [`send_unsent`](Self::send_unsent). Made where it stays (it is
    /// large), then sent.
    pub(super) fn unsent(
        direct: &Direct,
        req: Request<Body>,
        target: Option<Cow<'a, Target>>,
    ) -> Self {
        DirectCall {
            target,
            attempts: direct.attempts.clone(),
            copy: Kept::Request { req, sent: false },
            made: 0,
            step: Step::Done,
        }
    }

    /// Whether the call is not sent yet.
    pub(super) fn is_unsent(&self) -> bool {
        matches!(self.copy, Kept::Request { sent: false, .. })
    }

    /// The request not sent yet, and the call's target when it has one.
    pub(super) fn unsent_mut(&mut self) -> Option<(&mut Request<Body>, Option<&Target>)> {
        match &mut self.copy {
            Kept::Request { req, sent: false } => Some((req, self.target.as_deref())),
            _ => None,
        }
    }

    /// The URL asked (the last one, after a redirect), for an answer that
    /// names none and for errors.
    pub(super) fn asked(&self) -> Uri {
        self.copy.url().clone()
    }

    /// The attempts made so far.
    pub(super) fn attempts_made(&self) -> u32 {
        self.made
    }

    /// The call's first attempt, of the request it holds (nothing when it
    /// was sent already).
    pub(super) fn send_unsent(&mut self, direct: &Direct) {
        let Kept::Request { req, sent: false } = &self.copy else {
            return;
        };
        if self.target.is_none() {
            self.target = req.extensions().get::<Target>().cloned().map(Cow::Owned);
        }
        self.attempts.for_target(self.target.as_deref());
        self.attempt(direct);
    }

    /// The next attempt: a copy of the kept request sent (see
    /// [`Kept::next`]); with none kept, the call is over.
    fn attempt(&mut self, direct: &Direct) {
        let target = self.target.as_deref();
        let Some(req) = self.copy.next(target) else {
            self.step = Step::Done;
            return;
        };
        self.made += 1;
        attempt(&mut self.step, direct, target, req, self.copy.path(target));
    }

    /// The final answer (after the retries the policy allows), with the
    /// URL that answered.
    pub(super) fn poll_answer(
        &mut self,
        direct: &Direct,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Answered, BoxError>> {
        loop {
            match &mut self.step {
                Step::Attempt { answer, sent } => {
                    let service = self
                        .target
                        .as_deref()
                        .map(|t| t.filter.service_type.as_str());
                    // the URL asked: as the auth layer made it, else as given
                    let url = match sent.as_ref() {
                        Some(sent) => Some(sent.url()),
                        None => Some(self.copy.url()),
                    };
                    let result = ready!(answer.poll_answer(cx, service, url));
                    // a 401 to renew the token for (the rare path, which
                    // takes the attempt's record; the usual one reads it
                    // in place: moved, it would be written again)
                    let (mut result, url) = match (result, sent.as_mut()) {
                        (Ok(resp), Some(s)) if s.renews(&resp) => {
                            // one renewal, as the auth layer does
                            let (Some(target), Some(s)) =
                                (self.target.as_deref().cloned(), sent.take())
                            else {
                                // (a prepared request always has its target)
                                self.step = Step::Done;
                                return Poll::Ready(Ok((resp, None)));
                            };
                            // (a re-authentication: the replay after it, made
                            // below as a retry's, is the next attempt)
                            let renewal = s.renewal(resp, direct.state.clone(), target);
                            self.step = Step::Attempt {
                                answer: AttemptFuture::Boxed(renewal),
                                sent: None,
                            };
                            continue;
                        }
                        (Ok(mut resp), Some(sent)) => {
                            let url = sent.settle(&mut resp);
                            (Ok(resp), Some(url))
                        }
                        (Ok(resp), None) => {
                            let url = carried_url(&resp);
                            (Ok(resp), url)
                        }
                        (Err(e), _) => (Err(e), None),
                    };
                    let wait = match self.copy.replay_mut() {
                        Some(replay) => {
                            let service = self
                                .target
                                .as_deref()
                                .map(|t| t.filter.service_type.as_str());
                            self.attempts.retry_for(replay, &mut result, service)
                        }
                        None => None,
                    };
                    match wait {
                        Some(wait) => self.step = Step::Waiting(wait),
                        None => {
                            self.step = Step::Done;
                            return Poll::Ready(result.map(|resp| (resp, url)));
                        }
                    }
                }
                Step::Waiting(wait) => {
                    ready!(wait.as_mut().poll(cx));
                    // the kept request stays for the attempt after this one,
                    // as tower's retry keeps its copy
                    self.attempt(direct);
                }
                Step::Done => {
                    return Poll::Ready(Err(
                        "a call was polled after its answer, or lost its request".into(),
                    ));
                }
            }
        }
    }
}

/// One attempt: the auth layer's work, then the bare stack's, written
/// into `step` (where the attempt stays); `path`, when given, is the URI
/// `req` goes to (it carries none: see [`prepare_now`]).
fn attempt(
    step: &mut Step,
    direct: &Direct,
    target: Option<&Target>,
    mut req: Request<Body>,
    path: Option<&Uri>,
) {
    // each branch writes the attempt where it stays (the record of a
    // prepared request is 216 bytes: carried out of the match, it would
    // be written twice more)
    let target = match prepare_now(&direct.state, target, &mut req, path) {
        Prepared::Ready(sent) => {
            *step = Step::Attempt {
                answer: AttemptFuture::Unsent,
                sent: Some(sent),
            };
            target
        }
        Prepared::Plain => {
            *step = Step::Attempt {
                answer: AttemptFuture::Unsent,
                sent: None,
            };
            None
        }
        Prepared::Wait => {
            // no token usable now: the auth layer's own path, which waits
            // for one (single-flight) and settles the answer itself; it
            // reads the target from the request
            if let Some(t) = target
                && req.extensions().get::<Target>().is_none()
            {
                req.extensions_mut().insert(t.clone());
            }
            let mut auth =
                AuthLayer::replaying_by_retry(direct.state.clone()).layer(direct.bare.clone());
            *step = Step::Attempt {
                answer: AttemptFuture::Boxed(auth.call(req)),
                sent: None,
            };
            return;
        }
        Prepared::Failed(e) => {
            *step = Step::Attempt {
                answer: AttemptFuture::Boxed(Box::pin(std::future::ready(Err(
                    Box::new(e) as BoxError
                )))),
                sent: None,
            };
            return;
        }
    };
    if let Step::Attempt { answer, .. } = step {
        send(answer, direct, req, target);
    }
}
