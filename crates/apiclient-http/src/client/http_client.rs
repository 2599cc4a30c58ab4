//! [`HttpClient`]: the shared state (stack, token, timings, registered
//! service clients), and the call and send paths: a span per call, the
//! operation deadline, buffered and streamed answers, typed errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_auth::clouds::ServiceSettings;
use apiclient_auth::transport::SharedTransport;
use apiclient_auth::{AccessInfo, Interface};
use apiclient_errors::{ConnectionError, ConnectionErrorKind, Error, from_response};
use http::{Request, Response, StatusCode};
use tower::ServiceExt;
use tracing::Instrument;

use super::stack::{HttpService, into_error};
use super::streamed::StreamedResponse;
use crate::body::Body;
use crate::extensions::{AttemptCount, Deadline, RequestUrl};
use crate::layers::auth::Target;
use crate::layers::timing::{Timing, Timings};
use crate::token::TokenState;
use crate::transport::StreamResponse;

/// `fut`, ended by a `Deadline` connection error when `deadline` passes.
async fn within<T>(
    deadline: Option<Deadline>,
    what: &(dyn std::fmt::Display + Sync),
    fut: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match deadline {
        None => fut.await,
        Some(Deadline(at)) => tokio::time::timeout_at(at, fut).await.unwrap_or_else(|_| {
            Err(ConnectionError::new(ConnectionErrorKind::Deadline, what.to_string(), None).into())
        }),
    }
}

/// Whether a status is an error for the caller: 4xx and 5xx, and the
/// redirections, which are not followed (the error names `Location`).
/// `300 Multiple Choices` (OpenStack's version documents) and
/// `304 Not Modified` (a conditional GET) are answers, not errors.
pub(super) fn is_failure(status: StatusCode) -> bool {
    let s = status.as_u16();
    s >= 400 || ((301..400).contains(&s) && s != 304)
}

/// The last response's request id, as a copy of its bytes: the header's
/// value is a slice of the buffer the connection read the answer into, and
/// keeping it would keep that whole buffer alive (and share its reference
/// count with the connection's task). An OpenStack id (`req-` and a UUID,
/// 40 bytes) is kept inline; a longer one on the heap.
#[derive(Debug, Default)]
pub(super) enum LastRequestId {
    /// The last response had none.
    #[default]
    None,
    /// Up to 64 bytes, inline.
    Inline { len: u8, bytes: [u8; 64] },
    /// A longer one.
    Long(Box<[u8]>),
}

impl LastRequestId {
    /// `id` in place of the one before, which is returned (to be dropped
    /// outside the lock).
    pub(super) fn set(&mut self, id: Option<&[u8]>) -> LastRequestId {
        let new = match id {
            None => LastRequestId::None,
            Some(id) if id.len() <= 64 => {
                let mut bytes = [0u8; 64];
                bytes[..id.len()].copy_from_slice(id);
                LastRequestId::Inline {
                    len: id.len() as u8,
                    bytes,
                }
            }
            Some(id) => LastRequestId::Long(id.into()),
        };
        std::mem::replace(self, new)
    }

    /// The id, when there is one and it is text (visible ASCII, as
    /// `HeaderValue::to_str` reads it).
    pub(super) fn get(&self) -> Option<&str> {
        let bytes = match self {
            LastRequestId::None => return None,
            LastRequestId::Inline { len, bytes } => bytes.get(..usize::from(*len))?,
            LastRequestId::Long(b) => b,
        };
        if !bytes.iter().all(|&b| b == b'\t' || (32..127).contains(&b)) {
            return None;
        }
        std::str::from_utf8(bytes).ok()
    }
}

pub(super) struct Inner {
    /// The stack, boxed (with the user's outer layers, if any).
    pub(super) service: HttpService,
    /// The same stack unboxed, when the user added no outer layer.
    pub(super) direct: Option<super::stack::Direct>,
    pub(super) transport: SharedTransport,
    pub(super) state: Arc<TokenState>,
    pub(super) timings: Timings,
    /// Written by every response, read rarely: a copy under a lock (no
    /// allocation, no reference to the response).
    pub(super) last_request_id: Mutex<LastRequestId>,
    /// The registered service clients, as their targets only: a
    /// `ServiceClient` holds the `HttpClient`, so keeping one here would be
    /// an `Arc` cycle that never frees the pool, the token or the password.
    pub(super) clients: Mutex<HashMap<String, Target>>,
    pub(super) operation_timeout: Option<Duration>,
    /// Per-service settings of the configuration (endpoint override, interface).
    pub(super) services: BTreeMap<String, ServiceSettings>,
    pub(super) region: Option<String>,
    pub(super) interface: Interface,
    pub(super) fallback_interfaces: Vec<Interface>,
    /// Version documents by endpoint.
    pub(super) discovery: crate::discovery::DiscoveryCache,
}

/// The HTTP client: one transport (its connection pools) and one token, shared by every
/// service client made from it. Cheap to clone; `Send + Sync`.
///
/// See the crate documentation for an example.
#[derive(Clone)]
pub struct HttpClient {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("state", &self.inner.state)
            .field("region", &self.inner.region)
            .field("interface", &self.inner.interface)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// The deadline of a call starting now, if the client has an operation timeout.
    pub fn deadline(&self) -> Option<Deadline> {
        self.inner
            .operation_timeout
            .map(|t| Deadline(tokio::time::Instant::now() + t))
    }

    /// The span of a call; its fields are computed only when it is enabled,
    /// and their names are the metrics' (OpenTelemetry's HTTP client
    /// conventions).
    pub(super) fn call_span(&self, req: &Request<Body>, target: Option<&Target>) -> tracing::Span {
        tracing::info_span!(
            target: "apiclient_http",
            "request",
            http.request.method = %req.method(),
            url.full = %apiclient_errors::redact::redact_url(&req.uri().to_string()),
            openstack.service_type = target
                .or_else(|| req.extensions().get::<Target>())
                .map_or("", |t| t.filter.service_type.as_str()),
            http.response.status_code = tracing::field::Empty,
            request_id = tracing::field::Empty,
            attempts = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        )
    }

    /// Send through the stack within the call's deadline; the response as
    /// the stack returned it, with the absolute URL that answered.
    async fn call(&self, req: Request<Body>) -> Result<(Response<Body>, http::Uri), Error> {
        let span = self.call_span(&req, None);
        if span.is_disabled() {
            // nobody listens: no counter, no clock, no span to enter
            return self.call_inner(req).await;
        }
        self.call_traced(req, span).await
    }

    /// [`call`](Self::call) in `span`, with the attempts, the duration, the
    /// status and the request id recorded in it.
    pub(super) async fn call_traced(
        &self,
        mut req: Request<Body>,
        span: tracing::Span,
    ) -> Result<(Response<Body>, http::Uri), Error> {
        let attempts = AttemptCount::default();
        req.extensions_mut().insert(attempts.clone());
        let t0 = std::time::Instant::now();
        let result = self.call_inner(req).instrument(span.clone()).await;
        span.record("attempts", attempts.get());
        span.record("duration_ms", t0.elapsed().as_millis() as u64);
        if let Ok((resp, _)) = &result {
            record_answer(&span, resp);
        }
        result
    }

    /// The request with its deadline (its own, else the client's operation
    /// timeout from now) in its extensions, the URL asked for, and that
    /// deadline.
    pub(super) fn with_deadline(
        &self,
        mut req: Request<Body>,
    ) -> (Request<Body>, http::Uri, Option<Deadline>) {
        let uri = req.uri().clone();
        let deadline = self.set_deadline(&mut req);
        (req, uri, deadline)
    }

    /// The call's deadline: the request's own, else the client's operation
    /// timeout's from now (then set on the request, for the retry layer).
    pub(super) fn set_deadline(&self, req: &mut Request<Body>) -> Option<Deadline> {
        let deadline = match req.extensions().get::<Deadline>() {
            Some(d) => Some(*d),
            None => self.deadline(),
        };
        if let Some(d) = deadline {
            req.extensions_mut().insert(d);
        }
        deadline
    }

    async fn call_inner(&self, req: Request<Body>) -> Result<(Response<Body>, http::Uri), Error> {
        let (req, uri, deadline) = self.with_deadline(req);
        let call = self.inner.service.clone().oneshot(req);
        let resp = within(deadline, &uri, async {
            call.await.map_err(|e| into_error(e, &uri.to_string()))
        })
        .await?;
        Ok(self.answered(resp, uri))
    }

    /// An answer of the stack: the absolute URL that answered (the Auth
    /// layer's, else `asked`), and its request id kept as the last one.
    pub(super) fn answered(
        &self,
        resp: Response<Body>,
        asked: http::Uri,
    ) -> (Response<Body>, http::Uri) {
        let uri = resp
            .extensions()
            .get::<RequestUrl>()
            .map(|u| u.0.clone())
            .unwrap_or(asked);
        self.answered_at(resp, uri)
    }

    /// An answer from `uri`: its request id noted as the last one.
    pub(super) fn answered_at(
        &self,
        resp: Response<Body>,
        uri: http::Uri,
    ) -> (Response<Body>, http::Uri) {
        let id = resp
            .headers()
            .get(&super::response::X_OPENSTACK_REQUEST_ID)
            .map(http::HeaderValue::as_bytes);
        // Under concurrency, "the last" is any of the answers arriving
        // together: an answer that finds another noting its id now leaves
        // it be, rather than wait for the lock (every response writes it:
        // waiting made the workers queue on it). Calls that do not overlap
        // never meet here, so each notes its own.
        let before = match self.inner.last_request_id.try_lock() {
            Ok(mut last) => last.set(id),
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().set(id),
            Err(std::sync::TryLockError::WouldBlock) => return (resp, uri),
        };
        drop(before); // after the lock: a long id's free happens outside it
        (resp, uri)
    }

    /// Send with a streamed response: an error status is read (at most
    /// 1 MiB) into the usual typed error; a success comes back with its
    /// body unread.
    pub(super) async fn send_streamed(
        &self,
        mut req: Request<Body>,
        idle_timeout: Duration,
    ) -> Result<StreamedResponse, Error> {
        req.extensions_mut().insert(StreamResponse { idle_timeout });
        let method = req.method().clone();
        let (resp, uri) = self.call(req).await?;
        let (parts, body) = resp.into_parts();
        if is_failure(parts.status) {
            let text = body.collect_limited(1024 * 1024).await.unwrap_or_default();
            return Err(from_response(
                parts.status.as_u16(),
                &parts.headers,
                &text,
                method.as_str(),
                &uri.to_string(),
            )
            .into());
        }
        Ok(StreamedResponse::new(
            parts.status,
            parts.headers,
            body,
            uri,
            method,
        ))
    }

    /// The configuration's settings for `service_type` (`compute_endpoint_override`,
    /// `block_storage_interface`, `OS_COMPUTE_ENDPOINT_OVERRIDE`, ...): by
    /// the type itself, else by its official type or an alias of it.
    pub fn service_settings(&self, service_type: &str) -> Option<&ServiceSettings> {
        let services = &self.inner.services;
        if let Some(s) = services.get(service_type) {
            return Some(s);
        }
        let official = apiclient_auth::catalog::official_service_type(service_type)?;
        services.iter().find_map(|(k, v)| {
            (apiclient_auth::catalog::official_service_type(k) == Some(official)).then_some(v)
        })
    }

    /// Authenticate now (single-flight), within the operation timeout.
    pub async fn authenticate(&self) -> Result<Arc<AccessInfo>, Error> {
        within(
            self.deadline(),
            &"authentication",
            self.inner.state.authenticate(),
        )
        .await
    }

    /// A valid token, authenticating if there is none or it is about to
    /// expire, within the operation timeout.
    pub async fn access(&self) -> Result<Arc<AccessInfo>, Error> {
        let get = async { Ok(self.inner.state.get().await?.access) };
        within(self.deadline(), &"authentication", get).await
    }

    /// The shared token state.
    pub fn token_state(&self) -> &Arc<TokenState> {
        &self.inner.state
    }

    /// The transport auth plugins use (the stack without auth and retries).
    pub fn transport(&self) -> SharedTransport {
        self.inner.transport.clone()
    }

    /// The full stack as a tower service (for use with other tower code).
    pub fn service(&self) -> HttpService {
        self.inner.service.clone()
    }

    /// The `x-openstack-request-id` of the last response (None when it had
    /// none): the reference's API. It is one slot per client, so under
    /// concurrency it may belong to another call (of answers arriving at
    /// the same moment, the one that noted its id first; the others do not
    /// wait to overwrite it); read a result's own
    /// [`ApiResponse::request_id`](crate::ApiResponse::request_id) (or `WithMeta::request_id` in
    /// `apiclient-base`) instead.
    pub fn last_request_id(&self) -> Option<String> {
        self.inner
            .last_request_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get()
            .map(str::to_string)
    }

    /// The default interface of service clients.
    pub fn default_interface(&self) -> Interface {
        self.inner.interface
    }

    /// The default region of service clients.
    pub fn default_region(&self) -> Option<&str> {
        self.inner.region.as_deref()
    }

    /// The timings list (enable, read, reset).
    pub fn timings(&self) -> &Timings {
        &self.inner.timings
    }

    /// A copy of the timings, by the reference's name (Python's
    /// `get_timings`); `timings().get()` in new code.
    pub fn get_timings(&self) -> Vec<Timing> {
        self.inner.timings.get()
    }

    /// Clear the timings, by the reference's name (Python's
    /// `reset_timings`); `timings().reset()` in new code.
    pub fn reset_timings(&self) {
        self.inner.timings.reset()
    }
}

/// A call's `request` span records the server's answer: its status and
/// request id.
pub(super) fn record_answer(span: &tracing::Span, resp: &Response<Body>) {
    span.record("http.response.status_code", resp.status().as_u16());
    if let Some(id) = resp
        .headers()
        .get(&super::response::X_OPENSTACK_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
    {
        span.record(
            "request_id",
            apiclient_errors::redact::display_safe(id, 256).as_ref(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::LastRequestId;

    /// The slot keeps a copy of any id (inline up to 64 bytes, else in a
    /// `String`), hands back the one it replaced, and forgets on `None`.
    #[test]
    fn the_last_request_id_is_a_copy_of_any_length() {
        let mut slot = LastRequestId::default();
        assert_eq!(slot.get(), None);
        let id = "req-1e537363-8069-40a8-995b-fed732fce4e3";
        assert!(matches!(slot.set(Some(id.as_bytes())), LastRequestId::None));
        assert_eq!(slot.get(), Some(id));
        let sixty_four = "x".repeat(64);
        let before = slot.set(Some(sixty_four.as_bytes()));
        assert_eq!(before.get(), Some(id));
        assert!(matches!(slot, LastRequestId::Inline { len: 64, .. }));
        assert_eq!(slot.get(), Some(sixty_four.as_str()));
        let long = "y".repeat(65);
        slot.set(Some(long.as_bytes()));
        assert!(matches!(slot, LastRequestId::Long(_)));
        assert_eq!(slot.get(), Some(long.as_str()));
        slot.set(Some(b""));
        assert_eq!(slot.get(), Some(""));
        // a value that is not text is there but not readable, as with to_str
        slot.set(Some("req-\u{e9}".as_bytes()));
        assert_eq!(slot.get(), None);
        slot.set(Some(b"req\x01"));
        assert_eq!(slot.get(), None);
        slot.set(Some(b"req-1\tx"));
        assert_eq!(slot.get(), Some("req-1\tx"));
        slot.set(None);
        assert_eq!(slot.get(), None);
    }

    /// An answer that finds the slot held (another answer noting its id
    /// at that moment) leaves it and goes on, never waiting for the lock;
    /// the next answer with the slot free notes its id.
    #[test]
    fn an_answer_never_waits_to_note_its_request_id() {
        let http = super::HttpClient::builder(apiclient_auth::typed::AdminToken::new(
            "http://nova/v2.1",
            "t",
        ))
        .build()
        .unwrap();
        let answer = |id: &str| {
            http::Response::builder()
                .header("x-openstack-request-id", id)
                .body(crate::body::Body::empty())
                .unwrap()
        };
        let url: http::Uri = "http://nova/v2.1/servers".parse().unwrap();
        http.answered_at(answer("req-1"), url.clone());
        assert_eq!(http.last_request_id().as_deref(), Some("req-1"));
        let held = http.inner.last_request_id.lock().unwrap();
        let (done, rx) = std::sync::mpsc::channel();
        let returned = std::thread::scope(|s| {
            s.spawn(|| {
                let (resp, at) = http.answered_at(answer("req-2"), url.clone());
                let _ = done.send((resp.status(), at));
            });
            // it returns while the slot is still held here (the lock is let
            // go either way, so a waiting answer fails the test, not hangs it)
            let returned = rx.recv_timeout(std::time::Duration::from_secs(30));
            drop(held);
            returned
        });
        let (status, at) = returned.expect("the answer waited for the lock");
        assert_eq!((status, at), (http::StatusCode::OK, url.clone()));
        assert_eq!(http.last_request_id().as_deref(), Some("req-1"));
        http.answered_at(answer("req-3"), url);
        assert_eq!(http.last_request_id().as_deref(), Some("req-3"));
    }
}
