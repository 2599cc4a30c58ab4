//! The loopback receiver a browser is sent back to: a small HTTP/1.1
//! server on 127.0.0.1 (or `[::1]`) that judges each request with the
//! flow's rule, answers the browser with a short page, and hands the first
//! accepted answer to the waiting sign-in.
//!
//! Bounded everywhere: the whole wait (a timeout error at its deadline),
//! each connection (read and write timeouts, a total of
//! [`CONNECTION_TIME`], heads and bodies of at most a few KiB), the
//! connections served at once ([`MAX_CONNECTIONS`]). A request the rule
//! refuses (a wrong `state`, another path, a foreign origin) is answered
//! with an error page and the receiver keeps waiting, so a stray request
//! cannot end the sign-in. Dropping the receiver stops it and closes its
//! port.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use apiclient_errors::{Error, InvalidKind};

use super::errors::timed_out;
use super::wait::Slot;

/// The most connections served at once (more are closed unanswered).
const MAX_CONNECTIONS: usize = 16;
/// The most time one connection may take, reading and answering.
const CONNECTION_TIME: Duration = Duration::from_secs(10);
/// The most a request head may take.
const MAX_HEAD: usize = 16 * 1024;
/// The most a request body may take (Keystone's WebSSO form: a token).
const MAX_BODY: usize = 64 * 1024;
/// How often the accept loop looks at its stop flag and deadline.
const TICK: Duration = Duration::from_millis(10);

/// A loopback redirect URI: `http://127.0.0.1:<port><path>` (or
/// `localhost`, `[::1]`); port 0 means any free port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loopback {
    /// The host as written (`127.0.0.1`, `localhost`, `[::1]`).
    host: String,
    ip: IpAddr,
    port: u16,
    path: String,
}

impl Loopback {
    /// The default: `http://127.0.0.1:0/callback` (any free port).
    pub(crate) fn any_port() -> Self {
        Loopback {
            host: "127.0.0.1".into(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            path: "/callback".into(),
        }
    }

    /// Read a redirect URI: `http`, a loopback host, no query or fragment.
    pub(crate) fn parse(uri: &str) -> Result<Self, Error> {
        let bad = |why: &str| {
            Error::invalid(
                InvalidKind::Url,
                format!(
                    "redirect_uri '{uri}' {why}: give an http:// URL on 127.0.0.1, [::1] or localhost (port 0: any free port)"
                ),
            )
        };
        let url = url::Url::parse(uri).map_err(|_| bad("is not a URL"))?;
        if url.scheme() != "http" {
            return Err(bad("is not http://"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("has a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("has credentials"));
        }
        let ip = match url.host() {
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => IpAddr::V6(ip),
            _ => return Err(bad("is not on a loopback address")),
        };
        Ok(Loopback {
            host: url.host_str().unwrap_or("127.0.0.1").to_string(),
            ip,
            port: url.port().unwrap_or(80),
            path: url.path().to_string(),
        })
    }

    fn url(&self, port: u16) -> String {
        format!("http://{}:{port}{}", self.host, self.path)
    }
}

impl std::fmt::Display for Loopback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url(self.port))
    }
}

/// A request as the receiver read it.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) method: String,
    pub(crate) path: String,
    query: String,
    pub(crate) content_type: Option<String>,
    pub(crate) origin: Option<String>,
    body: Vec<u8>,
}

impl Incoming {
    /// The value of query parameter `name` (the first).
    pub(crate) fn query(&self, name: &str) -> Option<String> {
        pair(self.query.as_bytes(), name)
    }

    /// The value of form field `name` of an urlencoded body (the first).
    pub(crate) fn form(&self, name: &str) -> Option<String> {
        pair(&self.body, name)
    }
}

fn pair(encoded: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What the flow's rule makes of a request.
pub(crate) enum Verdict<T> {
    /// The sign-in's answer (a success or its typed failure); the browser
    /// gets `page`.
    Done(Result<T, Error>, Page),
    /// Not the sign-in's answer: `status` with a page saying why; the
    /// receiver keeps waiting.
    Refuse(u16, &'static str),
}

/// The page the browser gets when the sign-in's answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Page {
    /// Signed in.
    SignedIn,
    /// The sign-in was refused or failed.
    Failed,
}

/// The rule a request is judged by.
pub(crate) type Judge<T> = dyn Fn(&Incoming) -> Verdict<T> + Send + Sync;

struct Shared<T> {
    slot: Arc<Slot<Result<T, Error>>>,
    stop: AtomicBool,
    live: AtomicUsize,
    refused: Mutex<Vec<&'static str>>,
}

/// A running receiver (see the [module](self)). Stopped, its port closed,
/// when dropped.
pub(crate) struct Receiver<T: Send + 'static> {
    redirect_uri: String,
    shared: Arc<Shared<T>>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Receiver<T> {
    /// Listen on `at`, judge requests with `judge`, give up after `timeout`.
    pub(crate) fn start(
        at: &Loopback,
        timeout: Duration,
        judge: Arc<Judge<T>>,
    ) -> Result<Self, Error> {
        let listener = TcpListener::bind((at.ip, at.port)).map_err(|e| Error::Config {
            message: format!("cannot listen on {} for the sign-in's redirect", at),
            source: Some(Box::new(e)),
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(at.port);
        listener.set_nonblocking(true).map_err(|e| Error::Config {
            message: "cannot set up the sign-in's receiver".into(),
            source: Some(Box::new(e)),
        })?;
        let redirect_uri = at.url(port);
        let shared = Arc::new(Shared {
            slot: Slot::new(),
            stop: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            refused: Mutex::new(Vec::new()),
        });
        let deadline = Instant::now() + timeout;
        let (s2, uri, path) = (shared.clone(), redirect_uri.clone(), at.path.clone());
        let thread = std::thread::Builder::new()
            .name("apiclient-signin-receiver".into())
            .spawn(move || accept_loop(listener, s2, judge, path, deadline, timeout, uri))
            .map_err(|e| Error::Config {
                message: "cannot start the sign-in's receiver".into(),
                source: Some(Box::new(e)),
            })?;
        tracing::debug!(target: "apiclient_auth", "sign-in: waiting at {redirect_uri} for up to {} s", timeout.as_secs());
        Ok(Receiver {
            redirect_uri,
            shared,
            thread: Some(thread),
        })
    }

    /// The redirect URI, with the port it listens on.
    pub(crate) fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The sign-in's answer, or the timeout error at the deadline.
    pub(crate) async fn wait(&self) -> Result<T, Error> {
        self.shared.slot.take().await
    }
}

impl<T: Send + 'static> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // the accept loop looks at the flag every TICK
            let _ = t.join();
        }
    }
}

fn accept_loop<T: Send + 'static>(
    listener: TcpListener,
    shared: Arc<Shared<T>>,
    judge: Arc<Judge<T>>,
    path: String,
    deadline: Instant,
    timeout: Duration,
    redirect_uri: String,
) {
    let path: Arc<str> = path.into();
    loop {
        if shared.stop.load(Ordering::SeqCst) || shared.slot.is_filled() {
            return;
        }
        if Instant::now() >= deadline {
            let refused = shared.refused.lock().map(|r| r.clone()).unwrap_or_default();
            shared
                .slot
                .put(Err(timed_out(&redirect_uri, timeout, refused)));
            return;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if shared.live.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    drop(stream);
                    continue;
                }
                shared.live.fetch_add(1, Ordering::SeqCst);
                let (s, j, p) = (shared.clone(), judge.clone(), path.clone());
                let spawned = std::thread::Builder::new()
                    .name("apiclient-signin-request".into())
                    .spawn(move || {
                        serve(stream, &s, &*j, &p);
                        s.live.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    shared.live.fetch_sub(1, Ordering::SeqCst);
                }
            }
            Err(_) => std::thread::sleep(TICK),
        }
    }
}

/// Read one request, judge it, answer it.
fn serve<T>(mut stream: TcpStream, shared: &Shared<T>, judge: &Judge<T>, path: &str) {
    let until = Instant::now() + CONNECTION_TIME;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(CONNECTION_TIME));
    let incoming = match read_request(&mut stream, until) {
        Ok(r) => r,
        Err(Some(status)) => {
            refuse(shared, "a malformed request");
            answer(
                &mut stream,
                status,
                &waiting_page("the request is malformed"),
            );
            return;
        }
        Err(None) => return,
    };
    let verdict = if incoming.path != path {
        Verdict::Refuse(404, "another path")
    } else {
        judge(&incoming)
    };
    match verdict {
        Verdict::Done(result, page) => {
            let ok = result.is_ok();
            if shared.slot.put(result) {
                tracing::debug!(target: "apiclient_auth", "sign-in: the receiver got its answer ({})", if ok { "accepted" } else { "a refusal" });
                let shown = match page {
                    Page::SignedIn => done_page(
                        "Signed in",
                        "You are signed in. You may close this window and return to your terminal.",
                    ),
                    Page::Failed => done_page(
                        "Sign-in failed",
                        "The sign-in did not succeed; your terminal says why. You may close this window.",
                    ),
                };
                answer(&mut stream, 200, &shown);
            } else {
                answer(
                    &mut stream,
                    409,
                    &done_page(
                        "Already answered",
                        "This sign-in already has its answer. You may close this window.",
                    ),
                );
            }
        }
        Verdict::Refuse(status, why) => {
            refuse(shared, why);
            answer(&mut stream, status, &waiting_page(why));
        }
    }
}

fn refuse<T>(shared: &Shared<T>, why: &'static str) {
    tracing::debug!(target: "apiclient_auth", "sign-in: the receiver refused a request ({why}); still waiting");
    if let Ok(mut r) = shared.refused.lock()
        && r.len() < 8
    {
        r.push(why);
    }
}

/// The request on `stream`; `Err(Some(status))` for one to refuse,
/// `Err(None)` for a connection to drop (closed, too slow).
fn read_request(stream: &mut TcpStream, until: Instant) -> Result<Incoming, Option<u16>> {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let mut read_more = |buf: &mut Vec<u8>| -> Result<(), Option<u16>> {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(None);
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => Err(None),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    };
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(Some(431));
        }
        read_more(&mut buf)?;
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| Some(400))?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version)) = (first.next(), first.next(), first.next())
    else {
        return Err(Some(400));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Some(505));
    }
    let mut content_type = None;
    let mut origin = None;
    let mut length = 0usize;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((k, v)) = line.split_once(':') else {
            return Err(Some(400));
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(v.to_string()),
            "origin" => origin = Some(v.to_string()),
            "content-length" => length = v.parse().map_err(|_| Some(400))?,
            "transfer-encoding" => return Err(Some(411)),
            _ => {}
        }
    }
    if length > MAX_BODY {
        return Err(Some(413));
    }
    let (method, target) = (method.to_string(), target.to_string());
    while buf.len() < head_end + length {
        read_more(&mut buf)?;
    }
    let body = buf[head_end..head_end + length].to_vec();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Ok(Incoming {
        method,
        path,
        query,
        content_type,
        origin,
        body,
    })
}

fn answer(stream: &mut TcpStream, status: u16, page: &str) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        page.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(page.as_bytes());
    let _ = stream.flush();
}

fn done_page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body><h1>{title}</h1><p>{text}</p></body></html>\n"
    )
}

fn waiting_page(why: &str) -> String {
    done_page(
        "Not the sign-in's answer",
        &format!("This request was not expected here ({why}). The sign-in is still waiting."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_redirects_are_taken() {
        let l = Loopback::parse("http://localhost:8050/webhook").unwrap();
        assert_eq!(l.to_string(), "http://localhost:8050/webhook");
        assert_eq!(l.ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        let l = Loopback::parse("http://[::1]:0/cb").unwrap();
        assert_eq!(l.url(4242), "http://[::1]:4242/cb");
        assert_eq!(Loopback::parse("http://127.0.0.1:0").unwrap().path, "/");
        assert_eq!(
            Loopback::any_port().to_string(),
            "http://127.0.0.1:0/callback"
        );
        for bad in [
            "https://127.0.0.1:0/cb",
            "http://example.com/cb",
            "http://10.0.0.1/cb",
            "http://127.0.0.1:0/cb?x=1",
            "http://u:p@127.0.0.1/cb",
            "not a url",
        ] {
            let err = Loopback::parse(bad).unwrap_err();
            assert_eq!(err.invalid_kind(), Some(InvalidKind::Url), "{bad}");
        }
    }

    fn get(port: u16, target: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn a_refused_request_leaves_it_waiting_and_dropping_closes_the_port() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let judge: Arc<Judge<String>> = Arc::new(|r: &Incoming| match r.query("v") {
            Some(v) if v == "ok" => Verdict::Done(Ok(v), Page::SignedIn),
            _ => Verdict::Refuse(400, "wrong value"),
        });
        let rx = Receiver::start(&Loopback::any_port(), Duration::from_secs(20), judge).unwrap();
        let port: u16 = rx
            .redirect_uri()
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/callback")
            .parse()
            .unwrap();
        assert!(get(port, "/callback?v=no").starts_with("HTTP/1.1 400"));
        assert!(get(port, "/elsewhere?v=ok").starts_with("HTTP/1.1 404"));
        let page = get(port, "/callback?v=ok");
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("You may close this window"));
        assert_eq!(rt.block_on(rx.wait()).unwrap(), "ok");
        drop(rx);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[test]
    fn no_answer_is_a_timeout_naming_what_was_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let judge: Arc<Judge<()>> = Arc::new(|_: &Incoming| Verdict::Refuse(400, "wrong state"));
        let rx = Receiver::start(&Loopback::any_port(), Duration::from_millis(300), judge).unwrap();
        let port: u16 = rx.redirect_uri()[17..rx.redirect_uri().len() - 9]
            .parse()
            .unwrap();
        assert!(get(port, "/callback?state=x").starts_with("HTTP/1.1 400"));
        let err = rt.block_on(rx.wait()).unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        let cause = std::error::Error::source(&err)
            .map(|s| s.to_string())
            .unwrap_or_default();
        assert!(cause.contains("wrong state"), "{cause}");
    }
}
