//! Authentication: resolve (token, endpoint) from the shared token state,
//! set `X-Auth-Token` (marked sensitive at birth), and on a 401 re-authenticate
//! once and replay the same bytes.
//!
//! Only requests that carry a [`Target`] extension are authenticated; others
//! pass through untouched (so the same stack serves raw requests).
//!
//! The 401 rule is the Python client's: re-authenticate once, unless this
//! request just authenticated, or the new (token, endpoint) equals the old;
//! in those cases the 401 stands.
//!
//! A request whose body is a one-shot stream is sent once: the token it
//! carries is not about to expire (the token state refreshes within its
//! skew before handing one out), and a 401 on it re-authenticates and ends
//! with [`Error::BodyNotReplayable`], so the caller can send it again with a
//! fresh body and the fresh token.
//!
//! One deliberate difference: when a valid token's catalog has no endpoint
//! for the service, the `EndpointNotFound`/`AmbiguousEndpoints` error is
//! returned at once; the Python client authenticated again first, which costs
//! an authentication per request to a service the cloud does not have.

use std::sync::Arc;
use std::task::{Context, Poll};

use apiclient_errors::redact::redact_url;
use apiclient_errors::{AuthorizationFailure, BoxError, Error, InvalidKind};
use http::{Request, Response, Uri};
use tower::{Layer, Service, ServiceExt};

use super::clone_request;
use crate::body::Body;
use crate::extensions::Reauthenticated;
use crate::token::{CurrentToken, TokenState};
use apiclient_auth::transport::BoxFuture;

pub use crate::extensions::RequestUrl;

pub use crate::extensions::Target;

pub use super::joined::concat_url;

/// Authenticates requests that carry a [`Target`].
///
/// ```
/// use apiclient_auth::{EndpointFilter, KeystonePlugin};
/// use apiclient_auth::transport::FnTransport;
/// use apiclient_http::layers::auth::{AuthLayer, Target};
/// use apiclient_http::token::TokenState;
/// use apiclient_http::Body;
/// use bytes::Bytes;
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // admin_token needs no Keystone, so the transport is never called.
/// let unused = Arc::new(FnTransport::new(|_r: http::Request<Bytes>| async {
///     Err::<http::Response<Bytes>, _>(apiclient_errors::Error::config("unused"))
/// }));
/// let plugin = KeystonePlugin::admin_token("http://svc/v1", "t0k");
/// let state = Arc::new(TokenState::new(Box::new(plugin), unused, Duration::from_secs(120), Arc::new(time::OffsetDateTime::now_utc)));
/// let svc = AuthLayer::new(state).layer(service_fn(|r: http::Request<Body>| async move {
///     assert_eq!(r.uri(), "http://svc/v1/items");
///     assert_eq!(r.headers()["x-auth-token"], "t0k");
///     Ok::<_, apiclient_errors::BoxError>(http::Response::new(Body::empty()))
/// }));
/// let mut req = http::Request::get("/items").body(Body::empty()).unwrap();
/// req.extensions_mut().insert(Target::new(EndpointFilter::new("anything")));
/// svc.oneshot(req).await.unwrap();
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct AuthLayer {
    state: Arc<TokenState>,
    replay_here: bool,
}

impl AuthLayer {
    /// Authenticate with `state`; after a 401 and a renewed token, replay
    /// the request here (this layer keeps a copy of each request for it).
    pub fn new(state: Arc<TokenState>) -> Self {
        AuthLayer {
            state,
            replay_here: true,
        }
    }

    /// Authenticate with `state`, and leave the replay after a 401 to the
    /// [retry layer](super::retry) outside: the answer is marked
    /// [`Reauthenticated`] and the retry layer's copy of the request is
    /// sent again (one copy per call, not two). The client's stack is built so.
    pub fn replaying_by_retry(state: Arc<TokenState>) -> Self {
        AuthLayer {
            state,
            replay_here: false,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth {
            inner,
            state: self.state.clone(),
            replay_here: self.replay_here,
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    state: Arc<TokenState>,
    replay_here: bool,
}

const NO_ENDPOINT: &str = "Cannot find endpoint or token for request";

/// The endpoint for `target`: the cached one, else the plugin's choice from
/// the catalog of `token` (then cached).
///
/// The reference's rule holds: a plugin that yields no endpoint (an empty
/// one, or none with no token either) is an `AuthorizationFailure`, never
/// a request to a bare path.
fn resolve(state: &TokenState, target: &Target, token: &CurrentToken) -> Result<Arc<str>, Error> {
    if let Some(endpoint) = target.cached() {
        return Ok(endpoint);
    }
    let found = state.with_plugin(|p| p.endpoint(&token.access, &target.filter))?;
    let endpoint = match found {
        Ok(e) if !e.trim().is_empty() => e,
        Ok(_) => return Err(AuthorizationFailure::Other(NO_ENDPOINT.into()).into()),
        Err(_) if token.header.is_none() => {
            return Err(AuthorizationFailure::Other(NO_ENDPOINT.into()).into());
        }
        Err(e) => return Err(e.into()),
    };
    let endpoint: Arc<str> = Arc::from(endpoint);
    if let Ok(mut e) = target.endpoint.write() {
        *e = Some(endpoint.clone());
    }
    Ok(endpoint)
}

/// Scheme, host and port (the default port for the scheme when none is given).
fn origin(uri: &Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some((scheme, host, port))
}

/// Whether `a` and `b` (absolute URLs) have the same origin.
pub fn same_origin(a: &str, b: &str) -> bool {
    match (a.parse::<Uri>(), b.parse::<Uri>()) {
        (Ok(a), Ok(b)) => origin(&a).is_some() && origin(&a) == origin(&b),
        _ => false,
    }
}

/// Whether the token may go to the absolute `uri`: its origin is the
/// endpoint's, or that of another endpoint of the token's catalog (or its
/// fixed endpoint).
fn token_may_go_to(uri: &Uri, endpoint: &str, token: &CurrentToken) -> bool {
    let Some(wanted) = origin(uri) else {
        return false;
    };
    let same = |url: &str| url.parse::<Uri>().ok().and_then(|u| origin(&u)) == Some(wanted.clone());
    same(endpoint)
        || token.access.endpoint_override.as_deref().is_some_and(same)
        || token
            .access
            .catalog
            .services()
            .iter()
            .flat_map(|s| &s.endpoints)
            .any(|e| same(&e.url))
}

/// The request as sent: its URL joined to the endpoint and the token header
/// set. An absolute URI (a pagination `next` link, a URL the caller gave)
/// gets the token only on the origin of the endpoint or of another endpoint
/// of the catalog; anywhere else it is an error, and nothing is sent.
///
/// `path`, when given, is the request's URI, kept by the caller (the
/// request then carries none of its own: a copy of a URI allocates the
/// header its bytes are then shared by).
fn authorize(
    out: &mut Request<Body>,
    path: Option<&Uri>,
    token: &CurrentToken,
    endpoint: &Arc<str>,
) -> Result<(), Error> {
    let asked = path.unwrap_or(out.uri());
    if asked.scheme().is_none() {
        let path = asked.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let not_absolute = || {
            Error::config(format!(
                "the endpoint '{}' is not an absolute URL (it needs a scheme and a host, e.g. https://host/v2.1)",
                redact_url(endpoint)
            ))
        };
        let uri = super::joined::joined(endpoint, path).ok_or_else(not_absolute)?;
        if uri.scheme().is_none() || uri.authority().is_none() {
            return Err(not_absolute());
        }
        *out.uri_mut() = uri;
    } else if token.header.is_some() && !token_may_go_to(asked, endpoint, token) {
        return Err(Error::invalid(
            InvalidKind::ForeignOrigin,
            format!(
                "refusing to send the token to {}: it is not on the origin of the service endpoint {} \
             nor of any endpoint in the catalog",
                redact_url(&asked.to_string()),
                redact_url(endpoint)
            ),
        ));
    } else if let Some(path) = path {
        *out.uri_mut() = path.clone();
    }
    if let Some(v) = &token.header {
        // names made once: `from_static` looks a name up on every call
        const X_AUTH_TOKEN: http::HeaderName = http::HeaderName::from_static("x-auth-token");
        let name = match token.access.token_header {
            apiclient_auth::TokenHeader::XAuthToken => X_AUTH_TOKEN,
            other => http::HeaderName::from_static(other.name()),
        };
        out.headers_mut().insert(name, v.clone());
    }
    Ok(())
}

impl<S> Service<Request<Body>> for Auth<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let Some(target) = req.extensions().get::<Target>().cloned() else {
            return Box::pin(self.inner.clone().oneshot(req));
        };
        // The usual call: a token valid now and an inner stack ready now.
        // The request goes down at once and only its answer is awaited, so
        // the future holds the inner one and what a 401 needs, not the
        // request; the 401's renewal and replay are boxed apart.
        if let Some(token) = self.state.current() {
            // ready now: the request goes to this very service (tower's
            // poll_ready-then-call on one instance), with no copy of it
            let mut cx = Context::from_waker(std::task::Waker::noop());
            if let Poll::Ready(Ok(())) = self.inner.poll_ready(&mut cx) {
                let mut req = req;
                let sent = match Sent::prepare(
                    &self.state,
                    &target,
                    token,
                    &mut req,
                    None,
                    self.replay_here,
                ) {
                    Ok(sent) => sent.to(target),
                    Err(e) => {
                        return Box::pin(std::future::ready(Err(Box::new(e) as BoxError)));
                    }
                };
                let answer = self.inner.call(req);
                let state = self.state.clone();
                // the replay after a 401 needs the service only when it
                // happens here (not in the retry layer above)
                let inner = self.replay_here.then(|| self.inner.clone());
                return Box::pin(async move {
                    let resp = answer.await?;
                    match sent.checked(resp) {
                        Ok(resp) => Ok(resp),
                        Err((sent, resp)) => Box::pin(sent.after_401(resp, state, inner)).await,
                    }
                });
            }
        }
        let inner = self.inner.clone();
        let state = self.state.clone();
        let replay_here = self.replay_here;
        Box::pin(async move {
            let token = state.get().await?;
            let mut req = req;
            let sent = Sent::prepare(&state, &target, token, &mut req, None, replay_here)?;
            let sent = sent.to(target);
            let resp = inner.clone().oneshot(req).await?;
            match sent.checked(resp) {
                Ok(resp) => Ok(resp),
                Err((sent, resp)) => Box::pin(sent.after_401(resp, state, Some(inner))).await,
            }
        })
    }
}

/// What [`prepare_now`] made of a request (in place), for a caller that
/// drives its answer itself (the client's own stack, which fuses this
/// layer's work with the retry layer's into one future). Made and taken
/// apart at once, never kept.
pub(crate) enum Prepared {
    /// Joined to its endpoint, with the token: send it, then settle its
    /// answer with the [`Sent`].
    Ready(Sent),
    /// No target: the request goes as it is, unauthenticated.
    Plain,
    /// No token usable now (none yet, or one due for renewal): the layer's
    /// own path, which waits for one.
    Wait,
    /// The request cannot be sent (no endpoint, a foreign origin, ...).
    Failed(Error),
}

/// What [`Auth`] does before it sends, when it need not wait: `req` (to
/// `target`, which the caller keeps beside it) with its endpoint and the
/// current token. A 401 is left to the retry layer to replay (as with
/// [`AuthLayer::replaying_by_retry`]).
///
/// `req` is made ready in place (the caller sends it where it is: a
/// request moved writes its 256 bytes again). `path`, when given, is the
/// URI to send it to (relative to the endpoint, or absolute), which the
/// caller keeps: `req`'s own is a placeholder, replaced by it (or by the
/// URL joined of it) unless the request cannot be sent.
pub(crate) fn prepare_now(
    state: &TokenState,
    target: Option<&Target>,
    req: &mut Request<Body>,
    path: Option<&Uri>,
) -> Prepared {
    // sent without a join here: to the kept URI itself
    let restore = |req: &mut Request<Body>| {
        if let Some(path) = path {
            *req.uri_mut() = path.clone();
        }
    };
    let Some(target) = target else {
        restore(req);
        return Prepared::Plain;
    };
    let Some(token) = state.current() else {
        restore(req);
        return Prepared::Wait;
    };
    match Sent::prepare(state, target, token, req, path, false) {
        Ok(sent) => Prepared::Ready(sent),
        Err(e) => Prepared::Failed(e),
    }
}

/// A request sent with a token: what its answer needs to be checked, and
/// a 401 to be renewed and replayed.
pub(crate) struct Sent {
    /// The target, for a renewal; the client's own stack keeps it itself
    /// and gives it to [`renewal`](Self::renewal).
    target: Option<Target>,
    token: CurrentToken,
    endpoint: Arc<str>,
    /// The copy for a replay after a 401 (None for a one-shot body), when
    /// this layer replays; else the retry layer's copy serves.
    replay: Option<Box<Request<Body>>>,
    replay_here: bool,
    replayable: bool,
    /// The retry layer's replay after a renewal: a 401 now is final.
    renewed_before: bool,
    url: RequestUrl,
}

impl Sent {
    /// The absolute URL the request was sent to.
    pub(crate) fn url(&self) -> &Uri {
        &self.url.0
    }

    /// `req` given its endpoint and token in place (sent to `path` when
    /// given, which replaces its URI: see [`authorize`]), and what its
    /// answer will need.
    fn prepare(
        state: &TokenState,
        target: &Target,
        token: CurrentToken,
        req: &mut Request<Body>,
        path: Option<&Uri>,
        replay_here: bool,
    ) -> Result<Sent, Error> {
        let endpoint = resolve(state, target, &token)?;
        let replayable = req.body().is_replayable();
        let renewed_before = req.extensions().get::<Reauthenticated>().is_some();
        let replay = if replay_here {
            clone_request(req).map(Box::new)
        } else {
            None
        };
        authorize(req, path, &token, &endpoint)?;
        let url = RequestUrl(req.uri().clone());
        let sent = Sent {
            target: None,
            token,
            endpoint,
            replay,
            replay_here,
            replayable,
            renewed_before,
            url,
        };
        Ok(sent)
    }

    /// The answer, marked with its URL: `Ok` when it is final, `Err` (with
    /// this request) when it is a 401 to renew the token for.
    #[allow(clippy::result_large_err)]
    fn checked(self, resp: Response<Body>) -> Result<Response<Body>, (Sent, Response<Body>)> {
        let (mut resp, url) = self.settled(resp)?;
        resp.extensions_mut().insert(RequestUrl(url));
        Ok(resp)
    }

    /// The answer, with the URL that answered kept beside it rather than
    /// in the response (a map allocated per response for nobody, when the
    /// caller drives the call itself); a redirection still carries it, for
    /// the retry layer's redirect policy. `Err` as in [`checked`](Self::checked).
    #[allow(clippy::result_large_err)]
    pub(crate) fn settled(
        mut self,
        mut resp: Response<Body>,
    ) -> Result<(Response<Body>, Uri), (Sent, Response<Body>)> {
        if !self.renews(&resp) {
            let url = self.settle(&mut resp);
            return Ok((resp, url));
        }
        resp.extensions_mut().insert(self.url.clone());
        Err((self, resp))
    }

    /// Whether `resp` is a 401 to renew the token for and replay: not
    /// when this very call authenticated, nor on the replay after a
    /// renewal (a 401 then is final).
    pub(crate) fn renews(&self, resp: &Response<Body>) -> bool {
        resp.status() == http::StatusCode::UNAUTHORIZED
            && !self.token.just_authenticated
            && !self.renewed_before
    }

    /// A final answer (one this call does not [`renew`](Self::renews)
    /// for) settled in place, as [`settled`](Self::settled) does: the URL
    /// that answered, taken out of this record (a redirection carries a
    /// copy of it).
    pub(crate) fn settle(&mut self, resp: &mut Response<Body>) -> Uri {
        if resp.status().is_redirection() {
            resp.extensions_mut().insert(self.url.clone());
        }
        std::mem::take(&mut self.url.0)
    }

    /// The renewal after `resp`, a 401 this call [`renews`](Self::renews)
    /// for, boxed (its answer carries its [`RequestUrl`], and is marked
    /// [`Reauthenticated`] when the retry layer should replay it).
    pub(crate) fn renewal(
        self,
        mut resp: Response<Body>,
        state: Arc<TokenState>,
        target: Target,
    ) -> BoxFuture<'static, Result<Response<Body>, BoxError>> {
        // (the 401 itself may be the answer: the URL that gave it)
        resp.extensions_mut().insert(self.url.clone());
        type NoService = tower::util::BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>;
        Box::pin(self.to(target).after_401::<NoService>(resp, state, None))
    }

    /// This, with the target its renewal needs.
    fn to(mut self, target: Target) -> Sent {
        self.target = Some(target);
        self
    }

    /// A 401: one re-authentication, then the replay (here, or marked for
    /// the retry layer's), unless the renewal changed nothing.
    async fn after_401<S>(
        self,
        mut resp: Response<Body>,
        state: Arc<TokenState>,
        inner: Option<S>,
    ) -> Result<Response<Body>, BoxError>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = BoxError> + Send + 'static,
        S::Future: Send + 'static,
    {
        let Sent {
            target,
            token,
            endpoint,
            replay,
            replay_here,
            replayable,
            url,
            ..
        } = self;
        // every caller gives the target (`to`): without it there is no
        // endpoint to renew for, and the 401 is the answer
        let Some(target) = target else {
            return Ok(resp);
        };
        tracing::debug!(target: "apiclient_http::auth", url = %redact_url(&url.0.to_string()), "401: re-authenticating once");
        target.clear();
        let Some(fresh) = state.refresh_after_401(token.generation).await? else {
            return Ok(resp);
        };
        let Ok(new_endpoint) = resolve(&state, &target, &fresh) else {
            return Ok(resp);
        };
        if fresh.access.same_token(&token.access) && new_endpoint == endpoint {
            return Ok(resp);
        }
        super::metrics::reauthenticated(&target.filter.service_type);
        if !replay_here && replayable {
            resp.extensions_mut().insert(Reauthenticated);
            return Ok(resp);
        }
        let (Some(replay), Some(inner)) = (replay, inner) else {
            return Err(Box::new(Error::BodyNotReplayable {
                url: url.0.to_string(),
            }) as BoxError);
        };
        let mut second = *replay;
        authorize(&mut second, None, &fresh, &new_endpoint)?;
        let url = RequestUrl(second.uri().clone());
        let mut resp = inner.oneshot(second).await?;
        resp.extensions_mut().insert(url);
        Ok(resp)
    }
}
