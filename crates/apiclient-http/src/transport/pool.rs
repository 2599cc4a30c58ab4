//! The transport's own connection pool, for the exchange path: a request
//! with no body whose answer is read whole (the usual GET, HEAD, DELETE)
//! or streamed (a download), sent straight to a URL no proxy takes.
//!
//! hyper-util's pool (which serves every other request) boxes a 3 KB
//! future per request, clones its client, and spawns a task per HTTP/1
//! answer to put the connection back. Here the exchange holds the
//! connection it took, and puts it back itself once the answer's body is
//! read (a streamed body puts it back at its end); an idle connection
//! waits in a list per origin, and one reaper task closes those idle past
//! the pool's timeout.
//!
//! The connections are the transport's own connector's (its TLS, TCP and
//! timeout settings), HTTP/2 when ALPN says so: an HTTP/2 connection is
//! shared by every request to its origin, an HTTP/1.1 one serves one
//! request at a time. A request on a reused connection that closed before
//! it went out is sent again on another (as hyper-util does): it was never
//! sent.
//!
//! An HTTP/1.1 connection has no task of its own: whoever holds it drives
//! it ([`H1::drive`]), the exchange while it waits for the answer, a
//! streamed answer's body as it is read, the pool (once, without waiting)
//! when it is taken or swept. A spawned driver costs two wake-ups between
//! threads per chunk of a download (the driver hands the chunk over, the
//! reader asks for the next): driven in place, a 1 GiB download took
//! 0.68x raw hyper-util's CPU (bench case E). An idle connection is not
//! driven: one the server closed is found so when it is taken (or swept),
//! and dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use apiclient_errors::BoxError;
use http::uri::{Authority, Scheme};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::{TrySendError, http1, http2};
use hyper_util::client::legacy::connect::Connection;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::{Service, ServiceExt};

use futures_util::task::AtomicWaker;

use crate::body::Body;

/// A connection taken from the pool or made for it.
pub(crate) enum Conn {
    /// HTTP/1.1: one request at a time, driven by its holder.
    H1(H1),
    /// HTTP/2: shared, driven by a task of its own.
    H2(http2::SendRequest<Body>),
}

/// The waker an HTTP/1.1 connection, its answer's head and its answer's
/// body are polled with by their holder, in passes. The three wake each
/// other as they move (the driver hands a chunk over, the reader asks for
/// the next): such a wake, during a pass, is only noted, and the holder
/// makes another pass instead of its task being woken for nothing. A wake
/// from outside (the socket became readable) wakes the holder's task.
pub(crate) struct InPlace {
    state: AtomicU8,
    task: AtomicWaker,
}

/// A pass runs.
const PASSING: u8 = 1;
/// Something was woken during the pass.
const WOKEN: u8 = 2;
/// The most passes in one poll of the holder.
const MAX_PASSES: u32 = 32;

impl InPlace {
    /// A pass starts, for the task of `task`.
    pub(crate) fn enter(&self, task: &Waker) {
        self.task.register(task);
        self.state.store(PASSING, Ordering::Release);
    }

    /// The pass ends: whether to make another at once (something was
    /// woken during it; `passes` counts them). A holder that has made
    /// [`MAX_PASSES`], or whose task has spent its budget with the runtime,
    /// yields instead: `task` is woken to poll it again. Passes without end
    /// would keep the thread from the runtime, and a budget spent makes
    /// tokio's sockets wake their reader at once, outside a worker (a
    /// `block_on`), which here would be another pass, for ever.
    pub(crate) fn again(&self, passes: &mut u32, task: &Waker) -> bool {
        if self.state.swap(0, Ordering::AcqRel) & WOKEN == 0 {
            return false;
        }
        *passes += 1;
        if *passes >= MAX_PASSES || !tokio::task::coop::has_budget_remaining() {
            task.wake_by_ref();
            return false;
        }
        self.state.store(PASSING, Ordering::Release);
        true
    }

    /// The pass ends with what it waited for: the holder polls again
    /// without being woken.
    pub(crate) fn leave(&self) {
        self.state.store(0, Ordering::Release);
    }
}

impl std::task::Wake for InPlace {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.state.fetch_or(WOKEN, Ordering::AcqRel) & PASSING == 0 {
            self.task.wake();
        }
    }
}

/// hyper's future that reads and writes an HTTP/1.1 connection.
type Driver = Pin<Box<dyn Future<Output = Result<(), hyper::Error>> + Send>>;

/// An HTTP/1.1 connection: its sending half and its driver, which only its
/// holder polls.
pub(crate) struct H1 {
    send: http1::SendRequest<Body>,
    /// None once the connection ended.
    driver: Option<Driver>,
    /// What the holder polls the connection and its answer with.
    in_place: Arc<InPlace>,
    waker: Waker,
}

impl H1 {
    fn new(send: http1::SendRequest<Body>, driver: Driver) -> H1 {
        let in_place = Arc::new(InPlace {
            state: AtomicU8::new(0),
            task: AtomicWaker::new(),
        });
        H1 {
            send,
            driver: Some(driver),
            waker: Waker::from(in_place.clone()),
            in_place,
        }
    }

    /// The connection's [`InPlace`] state and its waker, for a pass.
    pub(crate) fn in_place(&self) -> (Arc<InPlace>, Waker) {
        (self.in_place.clone(), self.waker.clone())
    }

    /// Moves the connection along as far as it goes now (sends what was
    /// asked, reads what came, as far as the answer's reader wants); false
    /// once it has ended (the answer's futures then end with its error,
    /// when polled next).
    pub(crate) fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(driver) = &mut self.driver
            && driver.as_mut().poll(cx).is_ready()
        {
            self.driver = None;
        }
        self.driver.is_some()
    }

    /// Whether the connection can still carry a request, as far as can be
    /// told without waiting: an idle one the server closed reads its end
    /// here.
    fn open_now(&mut self) -> bool {
        self.drive(&mut Context::from_waker(std::task::Waker::noop())) && !self.send.is_closed()
    }
}

/// An answer's head on its way, boxed (hyper's future has no name).
pub(crate) type Answer =
    Pin<Box<dyn Future<Output = Result<Response<Incoming>, TrySendError<Request<Body>>>> + Send>>;

/// A connection being made.
pub(crate) type Connecting = Pin<Box<dyn Future<Output = Result<Conn, Refused>> + Send>>;

/// A connection that could not be made.
pub(crate) enum Refused {
    /// The connector's error (TCP, TLS, its timeout): a connect error.
    Connect(BoxError),
    /// The HTTP handshake's, on a connection made (as hyper-util counts
    /// it: the request's send failed, and a closed connection may be
    /// retried).
    Handshake(hyper::Error),
}

/// Where a connection goes: a scheme and an authority.
#[derive(Clone)]
pub(crate) struct Origin {
    scheme: Scheme,
    authority: Authority,
}

impl Origin {
    /// The origin of `uri`, when it is an `http` or `https` URL.
    pub(crate) fn of(uri: &Uri) -> Option<Origin> {
        let scheme = uri.scheme()?;
        if *scheme != Scheme::HTTP && *scheme != Scheme::HTTPS {
            return None;
        }
        Some(Origin {
            scheme: scheme.clone(),
            authority: uri.authority()?.clone(),
        })
    }

    /// `req`'s URI absolute again (sent to HTTP/1.1, it lost its scheme
    /// and authority), for a resend that may go out on HTTP/2.
    pub(crate) fn restore(&self, req: &mut Request<Body>) {
        if req.uri().scheme().is_some() {
            return;
        }
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(
            req.uri()
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }

    fn is(&self, host: &Host) -> bool {
        self.scheme == host.scheme && self.authority == host.authority
    }
}

/// The idle connections to one origin.
struct Host {
    scheme: Scheme,
    authority: Authority,
    /// HTTP/1.1 connections, each since when it is idle (the newest last).
    idle: Vec<(H1, Instant)>,
    /// The HTTP/2 connection, and when it was last taken.
    shared: Option<(http2::SendRequest<Body>, Instant)>,
}

impl Host {
    /// Drops what is closed, or idle since before `oldest`; whether
    /// anything is left.
    fn sweep(&mut self, oldest: Option<Instant>) -> bool {
        let fresh = |since: &Instant| oldest.is_none_or(|o| *since >= o);
        // driven under the pool's lock: the reaper's sweep comes once per
        // half timeout, and an idle connection has at most its close to read
        self.idle
            .retain_mut(|(c, since)| fresh(since) && c.open_now());
        if self
            .shared
            .as_ref()
            .is_some_and(|(c, since)| c.is_closed() || !fresh(since))
        {
            self.shared = None;
        }
        !self.idle.is_empty() || self.shared.is_some()
    }
}

struct Idle {
    hosts: Vec<Host>,
    /// The reaper task, while it runs (it may also end with its runtime,
    /// while the pool lives on, used from another).
    reaper: Option<tokio::task::JoinHandle<()>>,
}

struct Shared<C> {
    idle: Mutex<Idle>,
    timeout: Duration,
    connector: C,
}

/// The pool, whose connections `C` makes (the transport's connector):
/// shared by the transport's copies; an exchange holds it while it holds
/// one of its connections (to put it back).
pub(crate) struct Pool<C> {
    shared: Arc<Shared<C>>,
}

impl<C> Clone for Pool<C> {
    fn clone(&self) -> Self {
        Pool {
            shared: self.shared.clone(),
        }
    }
}

impl<C, Io> Pool<C>
where
    C: Service<Uri, Response = Io, Error = BoxError> + Clone + Send + Sync + 'static,
    C::Future: Send,
    Io: hyper::rt::Read + hyper::rt::Write + Connection + Unpin + Send + 'static,
{
    /// A pool whose connections are made by `connector` and closed after
    /// `timeout` idle.
    pub(crate) fn new(connector: C, timeout: Duration) -> Pool<C> {
        Pool {
            shared: Arc::new(Shared {
                idle: Mutex::new(Idle {
                    hosts: Vec::new(),
                    reaper: None,
                }),
                timeout,
                connector,
            }),
        }
    }

    /// An open connection to `origin`: the newest idle HTTP/1.1 one, or
    /// the shared HTTP/2 one; None when there is none (then
    /// [`connect`](Self::connect)).
    pub(crate) fn take(&self, origin: &Origin) -> Option<Conn> {
        loop {
            let (mut c, since) = {
                let mut idle = self.shared.idle.lock().ok()?;
                let host = idle.hosts.iter_mut().find(|h| origin.is(h))?;
                if let Some((c, since)) = &mut host.shared {
                    if !c.is_closed() {
                        *since = Instant::now();
                        return Some(Conn::H2(c.clone()));
                    }
                    host.shared = None;
                }
                host.idle.pop()?
            };
            // driven outside the lock (it reads the socket)
            if since.elapsed() < self.shared.timeout && c.open_now() {
                return Some(Conn::H1(c));
            }
        }
    }

    /// An HTTP/1.1 connection to `origin` back in the pool, once its
    /// answer was read to its end.
    pub(crate) fn put(&self, origin: Origin, conn: H1) {
        if conn.driver.is_none() || conn.send.is_closed() {
            return;
        }
        // its last holder's task is not woken by what happens while it idles
        drop(conn.in_place.task.take());
        let Ok(mut idle) = self.shared.idle.lock() else {
            return;
        };
        host(&mut idle, origin).idle.push((conn, Instant::now()));
        self.reap(&mut idle);
    }

    /// Starts the reaper unless it runs (and there is a runtime to run it).
    fn reap(&self, idle: &mut Idle) {
        if idle.reaper.as_ref().is_some_and(|r| !r.is_finished()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let task = reaper(Arc::downgrade(&self.shared), self.shared.timeout);
        idle.reaper = Some(runtime.spawn(task));
    }

    /// A new connection to `origin`; an HTTP/2 one joins the pool at once
    /// (it is shared).
    pub(crate) fn connect(&self, origin: &Origin) -> Connecting {
        let connector = self.shared.connector.clone();
        let pool = self.clone();
        let origin = origin.clone();
        Box::pin(async move {
            let dst = Uri::builder()
                .scheme(origin.scheme.clone())
                .authority(origin.authority.clone())
                .path_and_query("/")
                .build()
                .map_err(|e| Refused::Connect(Box::new(e)))?;
            let io = connector.oneshot(dst).await.map_err(Refused::Connect)?;
            if io.connected().is_negotiated_h2() {
                let (conn, driver) = http2::Builder::new(TokioExecutor::new())
                    .timer(TokioTimer::new())
                    .handshake(io)
                    .await
                    .map_err(Refused::Handshake)?;
                tokio::spawn(driver);
                pool.share(origin, conn.clone());
                Ok(Conn::H2(conn))
            } else {
                let (send, driver) = http1::handshake(io).await.map_err(Refused::Handshake)?;
                Ok(Conn::H1(H1::new(send, Box::pin(driver.with_upgrades()))))
            }
        })
    }

    /// An HTTP/2 connection to `origin` shared (unless one is already).
    fn share(&self, origin: Origin, conn: http2::SendRequest<Body>) {
        let Ok(mut idle) = self.shared.idle.lock() else {
            return;
        };
        let host = host(&mut idle, origin);
        if host.shared.as_ref().is_none_or(|(c, _)| c.is_closed()) {
            host.shared = Some((conn, Instant::now()));
        }
        self.reap(&mut idle);
    }
}

/// The entry of `origin` in `idle`, made when it has none.
fn host(idle: &mut Idle, origin: Origin) -> &mut Host {
    let hosts = &mut idle.hosts;
    let at = match hosts.iter().position(|h| origin.is(h)) {
        Some(at) => at,
        None => {
            hosts.push(Host {
                scheme: origin.scheme,
                authority: origin.authority,
                idle: Vec::new(),
                shared: None,
            });
            hosts.len() - 1
        }
    };
    &mut hosts[at]
}

/// Closes the pool's connections idle past `timeout` (a sweep each half
/// timeout); ends with the pool, or once nothing is idle.
async fn reaper<C>(shared: Weak<Shared<C>>, timeout: Duration) {
    let every = (timeout / 2).max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(every).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let Ok(mut idle) = shared.idle.lock() else {
            return;
        };
        let oldest = Instant::now().checked_sub(timeout);
        idle.hosts.retain_mut(|h| h.sweep(oldest));
        if idle.hosts.is_empty() {
            idle.reaper = None;
            return;
        }
    }
}

/// `req` made ready for `conn` and sent: to HTTP/1.1 in origin form with
/// a `Host` header (as hyper-util sends it), to HTTP/2 as it is.
pub(crate) fn send(conn: &mut Conn, mut req: Request<Body>) -> Answer {
    match conn {
        Conn::H1(c) => {
            if !req.headers().contains_key(http::header::HOST)
                && let Some(host) = host_header(req.uri())
            {
                req.headers_mut().insert(http::header::HOST, host);
            }
            origin_form(req.uri_mut());
            Box::pin(c.send.try_send_request(req))
        }
        Conn::H2(c) => Box::pin(c.try_send_request(req)),
    }
}

/// The `Host` header for `uri`: its host, and its port unless the
/// scheme's default.
fn host_header(uri: &Uri) -> Option<http::HeaderValue> {
    let host = uri.host()?;
    let default = match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    match uri.port_u16() {
        Some(port) if port != default => {
            http::HeaderValue::from_str(&format!("{host}:{port}")).ok()
        }
        _ => http::HeaderValue::from_str(host).ok(),
    }
}

/// `uri` as its path and query only.
fn origin_form(uri: &mut Uri) {
    let path = match uri.path_and_query() {
        Some(path) if path.as_str() != "/" => {
            let mut parts = http::uri::Parts::default();
            parts.path_and_query = Some(path.clone());
            Uri::from_parts(parts).unwrap_or_default()
        }
        _ => Uri::default(),
    };
    *uri = path;
}

/// Whether `conn` can take a request now (an HTTP/1.1 connection becomes
/// ready again once it has read the last answer's end); an error when it
/// closed.
pub(crate) fn poll_ready(conn: &mut Conn, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
    match conn {
        Conn::H1(c) => {
            // the connection signals it wants a request once it is driven
            // past the last answer's end
            c.drive(cx);
            c.send.poll_ready(cx)
        }
        Conn::H2(c) => c.poll_ready(cx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the wakes of a task.
    struct Task(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Task {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A task that counts its wakes, its waker, an [`InPlace`] and its waker.
    fn passes() -> (Arc<Task>, Waker, Arc<InPlace>, Waker) {
        let task = Arc::new(Task(std::sync::atomic::AtomicUsize::new(0)));
        let in_place = Arc::new(InPlace {
            state: AtomicU8::new(0),
            task: AtomicWaker::new(),
        });
        (
            task.clone(),
            Waker::from(task),
            in_place.clone(),
            Waker::from(in_place),
        )
    }

    /// A wake during a pass is noted (the holder makes another pass), not
    /// sent to the task; one after the pass reaches the task.
    #[test]
    fn a_wake_during_a_pass_is_noted_not_sent() {
        let (task, task_waker, in_place, waker) = passes();
        let sent = || task.0.load(Ordering::SeqCst);
        let mut passes = 0;
        in_place.enter(&task_waker);
        assert!(
            !in_place.again(&mut passes, &task_waker),
            "nothing woke: the pass ends"
        );
        in_place.enter(&task_waker);
        waker.wake_by_ref();
        assert_eq!(sent(), 0, "not sent during the pass");
        assert!(
            in_place.again(&mut passes, &task_waker),
            "noted: another pass"
        );
        assert!(
            !in_place.again(&mut passes, &task_waker),
            "that one moved nothing"
        );
        waker.wake_by_ref();
        assert_eq!(sent(), 1, "sent after the pass");
        in_place.enter(&task_waker);
        waker.wake_by_ref();
        in_place.leave();
        assert_eq!(sent(), 1, "a pass that ends with its answer is not woken");
    }

    /// Passes that keep waking each other end after [`MAX_PASSES`]: the
    /// task is woken to poll again (it yields its thread to the runtime).
    #[test]
    fn passes_that_never_settle_yield_to_the_runtime() {
        let (task, task_waker, in_place, waker) = passes();
        let mut passes = 0;
        in_place.enter(&task_waker);
        let mut made = 1;
        loop {
            waker.wake_by_ref();
            if !in_place.again(&mut passes, &task_waker) {
                break;
            }
            made += 1;
            assert!(made <= MAX_PASSES, "passes without end");
        }
        assert_eq!(made, MAX_PASSES);
        assert_eq!(
            task.0.load(Ordering::SeqCst),
            1,
            "the task is woken to poll again"
        );
    }

    /// A request sent to HTTP/1.1 in origin form is absolute again for a
    /// resend (which may go out on HTTP/2); an absolute one stays as it is.
    #[test]
    fn a_resend_gets_its_absolute_uri_back() {
        let asked: Uri = "https://api.example:8443/v2.1/servers?limit=2"
            .parse()
            .unwrap();
        let origin = Origin::of(&asked).unwrap();
        let mut req = Request::get(asked.clone()).body(Body::empty()).unwrap();
        origin_form(req.uri_mut());
        assert_eq!(req.uri(), "/v2.1/servers?limit=2");
        origin.restore(&mut req);
        assert_eq!(req.uri(), &asked);
        origin.restore(&mut req);
        assert_eq!(req.uri(), &asked);

        let root: Uri = "http://h/".parse().unwrap();
        let mut req = Request::get(root.clone()).body(Body::empty()).unwrap();
        origin_form(req.uri_mut());
        Origin::of(&root).unwrap().restore(&mut req);
        assert_eq!(req.uri(), "http://h/");
    }

    /// The `Host` header names the port only when it is not the scheme's
    /// default, as hyper-util's client writes it.
    #[test]
    fn the_host_header_names_a_port_that_is_not_the_default() {
        let host = |u: &str| host_header(&u.parse().unwrap()).unwrap();
        assert_eq!(host("http://h:8774/x"), "h:8774");
        assert_eq!(host("http://h:80/x"), "h");
        assert_eq!(host("https://h:443/x"), "h");
        assert_eq!(host("https://h:80/x"), "h:80");
        assert_eq!(host("http://[::1]:5000/"), "[::1]:5000");
    }

    /// Only `http` and `https` URLs with an authority have an origin here.
    #[test]
    fn an_origin_is_http_or_https() {
        assert!(Origin::of(&"ftp://h/x".parse().unwrap()).is_none());
        assert!(Origin::of(&"/x".parse().unwrap()).is_none());
        assert!(Origin::of(&"HTTPS://H:1/".parse().unwrap()).is_some());
    }
}
