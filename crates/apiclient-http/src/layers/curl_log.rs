//! The curl-style debug log, redacted.
//!
//! At DEBUG on target `apiclient_http::curl`, every request is logged as a
//! command that can be pasted into a terminal, and every response as its
//! status, headers and body:
//!
//! ```text
//! REQ: curl -g -i -X 'POST' 'http://keystone/v3/auth/tokens' -H 'Content-Type: application/json' -d '{"auth":...}'
//! RESP: [201] Content-Type: application/json X-Subject-Token: {SHA256}1f2e... x-openstack-request-id: req-...
//! RESP BODY: {"token": ...}
//! ```
//!
//! Credential headers (`X-Auth-Token`, `X-Subject-Token`, `X-Service-Token`,
//! `Authorization`, `Cookie`, `Set-Cookie`, matched case-insensitively, and
//! any header marked sensitive) become `{SHA256}<hex>`; secret fields in
//! JSON bodies become `***`, in requests and responses alike.

use std::borrow::Cow;
use std::task::{Context, Poll};

use apiclient_errors::BoxError;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::{Layer, Service};

use super::LayerFuture;
use crate::body::Body;

/// The target every line of this log is emitted on.
const TARGET: &str = "apiclient_http::curl";

/// `{SHA256}<hex>` of a value.
pub fn hash_value(value: &[u8]) -> String {
    let mut out = String::with_capacity(HASH_LEN);
    push_hash(&mut out, value);
    out
}

/// The length of [`hash_value`]'s text.
const HASH_LEN: usize = "{SHA256}".len() + 64;

/// Appends `{SHA256}<hex>` of `value` to `out`.
fn push_hash(out: &mut String, value: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("{SHA256}");
    for b in Sha256::digest(value) {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

/// Appends [`push_hash`] of a request's hashed header value, computed once
/// per value on each thread: a client sends the same token on every
/// request, and its digest is the same each time.
///
/// The last value hashed on this thread is kept beside its digest as a
/// clone (a reference count on the same bytes, never a copy): while it is
/// held its bytes cannot be freed, so a value at the same address and of
/// the same length is the same value. Only requests' values are kept: a
/// response's is a slice of the connection's read buffer, which a clone
/// would keep alive, and differs on every answer.
fn push_header_hash(out: &mut String, value: &HeaderValue) {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(HeaderValue, String)>> =
            const { std::cell::RefCell::new(None) };
    }
    let same = |held: &HeaderValue| {
        let (a, b) = (held.as_bytes(), value.as_bytes());
        a.as_ptr() == b.as_ptr() && a.len() == b.len()
    };
    let cached = LAST.try_with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            // (a subscriber that logs from inside a log line: no cache)
            push_hash(out, value.as_bytes());
            return;
        };
        match &*last {
            Some((held, digest)) if same(held) => out.push_str(digest),
            _ => {
                let mut digest = String::with_capacity(HASH_LEN);
                push_hash(&mut digest, value.as_bytes());
                out.push_str(&digest);
                *last = Some((value.clone(), digest));
            }
        }
    });
    if cached.is_err() {
        // (a thread whose locals are gone: it is ending)
        push_hash(out, value.as_bytes());
    }
}

pub use apiclient_errors::redact::is_sensitive_header;
use apiclient_errors::redact::{escape_controls, is_secret_key, redact_url};

/// Whether a header's value is shown hashed.
fn is_hashed(name: &HeaderName, value: &HeaderValue) -> bool {
    value.is_sensitive() || is_sensitive_header(name.as_str())
}

/// Appends a header's value as the log shows it: credentials hashed,
/// control characters escaped, invalid UTF-8 replaced; with `quoted`, ready
/// for a shell's single quotes.
fn push_header_value(out: &mut String, name: &HeaderName, value: &HeaderValue, quoted: bool) {
    if is_hashed(name, value) {
        push_hash(out, value.as_bytes());
        return;
    }
    // borrowed, not copied, when valid UTF-8 without a control character
    let lossy = String::from_utf8_lossy(value.as_bytes());
    let text = escape_controls(&lossy);
    if quoted {
        push_quoted(out, &text);
    } else {
        out.push_str(&text);
    }
}

/// A header's value as the log shows it (see [`push_header_value`]).
fn shown_value(name: &HeaderName, value: &HeaderValue) -> String {
    let mut out = String::new();
    push_header_value(&mut out, name, value, false);
    out
}

/// The headers in the log's order: by name, then by the value shown (the
/// shown values are computed only for a name that repeats).
fn sorted_headers(headers: &HeaderMap) -> Vec<(&HeaderName, &HeaderValue)> {
    let mut out: Vec<(&HeaderName, &HeaderValue)> = headers.iter().collect();
    out.sort_unstable_by(|a, b| {
        a.0.as_str()
            .cmp(b.0.as_str())
            .then_with(|| shown_value(a.0, a.1).cmp(&shown_value(b.0, b.1)))
    });
    out
}

/// Room the headers take in a line, about.
fn headers_len(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| {
            let value = if is_hashed(k, v) { HASH_LEN } else { v.len() };
            k.as_str().len() + value + 8
        })
        .sum()
}

/// Headers as `Name: value` pairs, sorted, with credentials hashed.
pub fn redact_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    sorted_headers(headers)
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), shown_value(k, v)))
        .collect()
}

const MASK: &str = "***";

/// Replace secret values in a JSON value, in place: the value of any key
/// [`is_secret_key`] matches (a scalar, or every string of an array; objects
/// under it are searched, so `"password": {"user": {"name": ...}}` keeps the
/// name), a scalar `token` and the `id` of a `token` object, and JSON carried
/// inside a string (Keystone's EC2 credential `blob`) redacted in place.
fn redact_value(v: &mut Value, parent_is_token: bool) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                let secret = is_secret_key(&key) || (parent_is_token && key == "id");
                match child {
                    Value::Object(_) => redact_value(child, key == "token"),
                    Value::Array(items) if secret => {
                        for item in items.iter_mut() {
                            if item.is_object() || item.is_array() {
                                redact_value(item, false);
                            } else {
                                *item = Value::String(MASK.into());
                            }
                        }
                    }
                    Value::Array(_) => redact_value(child, false),
                    Value::Null => {}
                    _ if secret || key == "token" => *child = Value::String(MASK.into()),
                    Value::String(text) => redact_embedded(text),
                    _ => {}
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact_value(i, false)),
        Value::String(text) => redact_embedded(text),
        _ => {}
    }
}

/// A JSON object or array carried inside a string, redacted and put back.
fn redact_embedded(text: &mut String) {
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) || !may_hold_secret(t) {
        return;
    }
    if let Ok(mut inner) = serde_json::from_str::<Value>(t) {
        redact_value(&mut inner, false);
        *text = inner.to_string();
    }
}

/// Substrings (lowercase) without which a body cannot hold a secret field:
/// every secret key contains one of them, and `\u` catches a key spelled
/// with JSON escapes. `code` is there for OAuth's form bodies
/// (`code=`, `code_verifier=`, `device_code=`: not JSON, so not shown) and
/// the device authorization answer's `device_code`.
const SECRET_HINTS: &[&str] = &[
    "password",
    "secret",
    "adminpass",
    "passcode",
    "passphrase",
    "private_key",
    "payload",
    "token",
    "temp_url",
    "code",
    "\\u",
];

/// The first three bytes of each hint (`\u`: two, and any byte), each with
/// the bits a byte is compared under (`0x20` folds a letter's case; `0xff`
/// matches any byte).
const HINT_PREFIXES: [([u8; 3], [u8; 3]); SECRET_HINTS.len()] = hint_prefixes();

const fn hint_prefixes() -> [([u8; 3], [u8; 3]); SECRET_HINTS.len()] {
    let mut out = [([0u8; 3], [0u8; 3]); SECRET_HINTS.len()];
    let mut i = 0;
    while i < SECRET_HINTS.len() {
        let hint = SECRET_HINTS[i].as_bytes();
        assert!(hint.len() >= 2, "a hint has two bytes at least");
        let mut j = 0;
        while j < 3 {
            if j < hint.len() {
                let b = hint[j];
                assert!(b == b.to_ascii_lowercase(), "hints are lowercase");
                out[i].0[j] = b;
                out[i].1[j] = if b.is_ascii_alphabetic() { 0x20 } else { 0 };
            } else {
                out[i].0[j] = 0xff;
                out[i].1[j] = 0xff;
            }
            j += 1;
        }
        i += 1;
    }
    out
}

/// Whether a hint's first three bytes (two for a shorter hint) are `w`,
/// case-insensitively, branch-free.
#[inline(always)]
fn starts_a_hint(w: [u8; 3]) -> bool {
    HINT_PREFIXES.iter().fold(false, |hit, (p, fold)| {
        hit | (((w[0] | fold[0]) == p[0]) & ((w[1] | fold[1]) == p[1]) & ((w[2] | fold[2]) == p[2]))
    })
}

/// The positions [`may_hold_secret`] screens at once.
const BLOCK: usize = 32;

/// Whether a hint may start at one of the first [`BLOCK`] positions of
/// `block`: the same comparisons at every position, no branch, so the
/// compiler makes vector code of it.
#[inline(always)]
fn block_may_start_a_hint(block: &[u8; BLOCK + 2]) -> bool {
    let mut hits = [false; BLOCK];
    for (k, hit) in hits.iter_mut().enumerate() {
        *hit = starts_a_hint([block[k], block[k + 1], block[k + 2]]);
    }
    hits.iter().fold(false, |any, &hit| any | hit)
}

/// For each byte, the hints (bit `i`: `SECRET_HINTS[i]`) that start with
/// it, in either case.
static HINTS_BY_FIRST_BYTE: [u16; 256] = hints_by_first_byte();

const fn hints_by_first_byte() -> [u16; 256] {
    assert!(SECRET_HINTS.len() <= 16, "one bit per hint");
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < SECRET_HINTS.len() {
        let first = SECRET_HINTS[i].as_bytes()[0];
        table[first.to_ascii_lowercase() as usize] |= 1 << i;
        table[first.to_ascii_uppercase() as usize] |= 1 << i;
        i += 1;
    }
    table
}

/// Whether a hint starts at `hay[i]`, in any case.
fn hint_at(hay: &[u8], i: usize) -> bool {
    let Some(&first) = hay.get(i) else {
        return false;
    };
    let mut hints = HINTS_BY_FIRST_BYTE[usize::from(first)];
    while hints != 0 {
        let hint = SECRET_HINTS[hints.trailing_zeros() as usize].as_bytes();
        if hay
            .get(i..i + hint.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(hint))
        {
            return true;
        }
        hints &= hints - 1;
    }
    false
}

/// Whether `text` holds one of [`SECRET_HINTS`], in any case, without a
/// lowercase copy of it: blocks of [`BLOCK`] positions are screened for
/// the first three bytes of a hint (vector code), and only a block where
/// one shows up is compared exactly.
fn may_hold_secret(text: &str) -> bool {
    let hay = text.as_bytes();
    let mut i = 0;
    while let Some(block) = hay
        .get(i..i + BLOCK + 2)
        .and_then(|b| <&[u8; BLOCK + 2]>::try_from(b).ok())
    {
        if block_may_start_a_hint(block) && (i..i + BLOCK).any(|j| hint_at(hay, j)) {
            return true;
        }
        i += BLOCK;
    }
    (i..hay.len()).any(|j| hint_at(hay, j))
}

/// A body as log text, on one line: JSON with secret fields as `***`; other
/// UTF-8 text as is with control characters escaped (a CR/LF in a body can't
/// forge a log line); binary as a byte count. A body with no secret-looking
/// key name is shown as received, without re-parsing. Invalid JSON that may
/// hold a secret is shown as a byte count.
pub fn redact_body(body: &[u8]) -> String {
    shown_body(body).into_owned()
}

/// [`redact_body`], borrowing the body when it is shown as received.
fn shown_body(body: &[u8]) -> Cow<'_, str> {
    if body.is_empty() {
        return Cow::Borrowed("");
    }
    let text = std::str::from_utf8(body).ok();
    if let Some(t) = text
        && !may_hold_secret(t)
    {
        return escape_controls(t);
    }
    if let Ok(mut v) = serde_json::from_slice::<Value>(body) {
        redact_value(&mut v, false);
        let json = v.to_string();
        // serde_json escapes C0 controls but writes DEL and C1 as they are
        return match escape_controls(&json) {
            Cow::Borrowed(_) => Cow::Owned(json),
            Cow::Owned(escaped) => Cow::Owned(escaped),
        };
    }
    Cow::Owned(match text {
        Some(_) => format!(
            "<{} bytes, not shown: not JSON and may hold a secret>",
            body.len()
        ),
        None => format!("<{} bytes of binary data>", body.len()),
    })
}

/// Appends `s` for a shell's single quotes: each `'` as `'\''`.
fn push_quoted(out: &mut String, s: &str) {
    let mut parts = s.split('\'');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for part in parts {
        out.push_str("'\\''");
        out.push_str(part);
    }
}

/// How a body that is not buffered is logged: its length when known.
pub fn streamed_body(len: Option<u64>) -> String {
    match len {
        Some(n) => format!("<streamed body: {n} bytes>"),
        None => "<streamed body>".to_string(),
    }
}

/// A body as the log shows it, `None` when there is none to show.
fn body_text(body: &Body) -> Option<Cow<'_, str>> {
    match body.as_bytes() {
        Some(b) if b.is_empty() => None,
        Some(b) => Some(shown_body(b)),
        None if body.is_buffered() => None,
        None => Some(Cow::Owned(streamed_body(body.len()))),
    }
}

/// The `REQ: curl ...` line for a request: built once, in one buffer,
/// redacted and with every control character escaped.
pub fn format_request(req: &Request<Body>, insecure: bool) -> String {
    let uri = req.uri().to_string();
    let redacted = redact_url(&uri);
    let url = escape_controls(&redacted);
    let body = body_text(req.body());
    let mut line = String::with_capacity(
        48 + url.len() + headers_len(req.headers()) + body.as_ref().map_or(0, |b| b.len() + 8),
    );
    line.push_str("REQ: curl -g -i");
    if insecure {
        line.push_str(" --insecure");
    }
    line.push_str(" -X '");
    line.push_str(req.method().as_str());
    line.push_str("' '");
    push_quoted(&mut line, &url);
    line.push('\'');
    for (k, v) in sorted_headers(req.headers()) {
        line.push_str(" -H '");
        line.push_str(k.as_str());
        line.push_str(": ");
        if is_hashed(k, v) {
            // the client's token, the same on every request
            push_header_hash(&mut line, v);
        } else {
            push_header_value(&mut line, k, v, true);
        }
        line.push('\'');
    }
    if let Some(body) = body {
        line.push_str(" -d '");
        push_quoted(&mut line, &body);
        line.push('\'');
    }
    line
}

/// The `RESP: [status] headers` line for a response: built once, in one
/// buffer, redacted and with every control character escaped.
pub fn format_response(resp: &Response<Body>) -> String {
    let mut line = String::with_capacity(16 + headers_len(resp.headers()));
    line.push_str("RESP: [");
    line.push_str(resp.status().as_str());
    line.push(']');
    for (k, v) in sorted_headers(resp.headers()) {
        line.push(' ');
        line.push_str(k.as_str());
        line.push_str(": ");
        push_header_value(&mut line, k, v, false);
    }
    line
}

/// The `RESP: error: ...` line for a request that got no response, with
/// control characters escaped.
fn format_error(e: &BoxError) -> String {
    let text = e.to_string();
    let mut line = String::with_capacity(16 + text.len());
    line.push_str("RESP: error: ");
    line.push_str(&escape_controls(&text));
    line
}

/// Logs requests and responses in curl form at DEBUG (target `apiclient_http::curl`).
///
/// ```
/// use apiclient_http::Body;
/// use apiclient_http::layers::curl_log::{CurlLogLayer, format_request, hash_value};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// let req = http::Request::get("http://h/x").header("X-Auth-Token", "t0k").body(Body::empty()).unwrap();
/// assert_eq!(
///     format_request(&req, false),
///     format!("REQ: curl -g -i -X 'GET' 'http://h/x' -H 'x-auth-token: {}'", hash_value(b"t0k"))
/// );
/// // As a layer it logs at DEBUG on target `apiclient_http::curl`:
/// let svc = CurlLogLayer::new(false).layer(service_fn(|_r: http::Request<Body>| async {
///     Ok::<_, apiclient_errors::BoxError>(http::Response::new(Body::empty()))
/// }));
/// # let _ = svc;
/// ```
#[derive(Debug, Clone, Default)]
pub struct CurlLogLayer {
    insecure: bool,
}

impl CurlLogLayer {
    /// A logger; `insecure` adds `--insecure` to the curl line.
    pub fn new(insecure: bool) -> Self {
        CurlLogLayer { insecure }
    }
}

impl<S> Layer<S> for CurlLogLayer {
    type Service = CurlLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CurlLog {
            inner,
            insecure: self.insecure,
        }
    }
}

/// The service of [`CurlLogLayer`].
#[derive(Debug, Clone)]
pub struct CurlLog<S> {
    inner: S,
    insecure: bool,
}

/// Whether a subscriber takes the log's lines (DEBUG on its target).
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::DEBUG)
}

// Each line is built once, redacted and escaped, and is the whole message
// (`format_args!("{}", line)`): a formatter writes it in one piece, and one
// whose sanitizer finds nothing to escape leaves it as it is.

/// The request's line (the layer's first half, for a caller that sends
/// the request itself).
pub(crate) fn log_request(req: &Request<Body>, insecure: bool) {
    let line = format_request(req, insecure);
    tracing::debug!(target: TARGET, "{}", line);
}

/// The answer's lines, or the error's (the layer's second half).
pub(crate) fn log_answer(res: &Result<Response<Body>, BoxError>) {
    match res {
        Ok(resp) => {
            let line = format_response(resp);
            tracing::debug!(target: TARGET, "{}", line);
            // borrowed from the response when shown as received
            if let Some(body) = body_text(resp.body()) {
                tracing::debug!(target: TARGET, "RESP BODY: {}", body);
            }
        }
        Err(e) => {
            let line = format_error(e);
            tracing::debug!(target: TARGET, "{}", line);
        }
    }
}

impl<S> Service<Request<Body>> for CurlLog<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    /// The inner future as it is when the log is off (no allocation), boxed when on.
    type Future = LayerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // nothing is built unless a subscriber takes DEBUG on this target
        if !enabled() {
            return LayerFuture::inner(self.inner.call(req));
        }
        log_request(&req, self.insecure);
        let fut = self.inner.call(req);
        LayerFuture::boxed(async move {
            let res = fut.await;
            log_answer(&res);
            res
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token shown while its thread ends (in a thread local's
    /// destructor, after the kept digest is gone) is hashed as always: no
    /// panic (which would abort the process there).
    #[test]
    fn a_token_shown_while_its_thread_ends_is_hashed() {
        struct Guard(std::sync::mpsc::Sender<String>);
        impl Drop for Guard {
            fn drop(&mut self) {
                let mut out = String::new();
                push_header_hash(&mut out, &HeaderValue::from_static("tok-1"));
                let _ = self.0.send(out);
            }
        }
        thread_local! {
            static GUARD: std::cell::RefCell<Option<Guard>> = const { std::cell::RefCell::new(None) };
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // the guard's destructor is registered first, so it runs last
            GUARD.with(|g| *g.borrow_mut() = Some(Guard(tx)));
            push_header_hash(&mut String::new(), &HeaderValue::from_static("tok-0"));
        })
        .join()
        .unwrap();
        let mut expected = String::new();
        push_hash(&mut expected, b"tok-1");
        assert_eq!(rx.recv().unwrap(), expected);
    }

    /// The request's token is hashed once per thread and shown the same on
    /// every line; a new token (even of the same length, even at an address
    /// the old one's bytes had) is hashed anew; a response's value is never
    /// kept.
    #[test]
    fn a_token_is_hashed_once_and_every_line_shows_its_own_digest() {
        let line = |token: &HeaderValue| {
            let mut req = Request::get("http://h/x").body(Body::empty()).unwrap();
            req.headers_mut().insert("x-auth-token", token.clone());
            format_request(&req, false)
        };
        let digest = |v: &[u8]| hash_value(v);
        let held = |v: &HeaderValue| {
            let mut out = String::new();
            push_header_hash(&mut out, v);
            out
        };
        let a = HeaderValue::from_str("gAAAA-token-one").unwrap();
        let first = line(&a);
        assert!(first.contains(&digest(b"gAAAA-token-one")), "{first}");
        // the same value again (the token state's clone): the kept digest
        assert_eq!(line(&a), first);
        assert_eq!(held(&a.clone()), digest(b"gAAAA-token-one"));
        // another token of the same length
        let b = HeaderValue::from_str("gAAAA-token-two").unwrap();
        let second = line(&b);
        assert!(second.contains(&digest(b"gAAAA-token-two")), "{second}");
        assert!(!second.contains(&digest(b"gAAAA-token-one")));
        // the old one dropped and a new value made many times over: each
        // is shown with its own digest, whatever address its bytes get
        drop(a);
        for i in 0..64 {
            let text = format!("gAAAA-token-{i:03}");
            let v = HeaderValue::from_str(&text).unwrap();
            assert_eq!(held(&v), digest(text.as_bytes()));
        }
        // a response's hashed value goes uncached: the next request
        // token is still compared with the last request's
        let resp = Response::builder()
            .header("x-subject-token", "gAAAA-subject")
            .body(Body::empty())
            .unwrap();
        assert!(format_response(&resp).contains(&digest(b"gAAAA-subject")));
        assert_eq!(line(&b), second);
    }

    #[test]
    fn secret_hints_are_found_in_any_case() {
        assert!(may_hold_secret(r#"{"PassWord": 1}"#));
        assert!(may_hold_secret("x-TOKEN"));
        assert!(may_hold_secret(r#"{"a\u0070": 1}"#));
        assert!(may_hold_secret("ends with secret"));
        assert!(!may_hold_secret(
            r#"{"server": {"name": "pass", "tok": "en"}}"#
        ));
        assert!(!may_hold_secret(""));
    }

    /// The hints compared at every byte, as the table-less scan did.
    fn may_hold_secret_naive(text: &str) -> bool {
        let hay = text.as_bytes();
        (0..hay.len()).any(|i| {
            SECRET_HINTS.iter().any(|hint| {
                hay.get(i..i + hint.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(hint.as_bytes()))
            })
        })
    }

    #[test]
    fn the_hint_table_finds_what_every_hint_finds() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "p".into(),
            "\\".into(),
            "\\u".into(),
            "Temp_URL".into(),
            "tempurl".into(),
            "passwor".into(),
            "xPASSPHRASEx".into(),
            "coDe".into(),
            "cod".into(),
            "Private_Key".into(),
            "private-key".into(),
            "é token é".into(),
        ];
        for hint in SECRET_HINTS {
            cases.push(hint.to_string());
            cases.push(hint.to_ascii_uppercase());
            cases.push(format!("{{\"a{hint}\": 1}}"));
            cases.push(hint[..hint.len() - 1].to_string());
            cases.push(format!("{}x", &hint[..hint.len() - 1]));
        }
        // and short strings of the hints' letters, at random
        let alphabet: Vec<char> = "pPaAsSwWoOrRdDcCeEtTkKnNiIvVyYlLmMhHuU_\\{}\"x é"
            .chars()
            .collect();
        let mut rng = fastrand::Rng::with_seed(24);
        // every hint at every place of a block and across blocks, whole or cut
        for hint in SECRET_HINTS {
            for at in 0..70 {
                let pad = "x".repeat(at);
                cases.push(format!("{pad}{}{pad}", hint.to_ascii_uppercase()));
                cases.push(format!("{pad}{hint}"));
                cases.push(format!("{pad}{}", &hint[..hint.len() - 1]));
            }
        }
        for _ in 0..50_000 {
            let len = rng.usize(0..100);
            cases.push(
                (0..len)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect(),
            );
        }
        for t in &cases {
            assert_eq!(may_hold_secret(t), may_hold_secret_naive(t), "{t:?}");
        }
    }

    /// Every line the log builds is free of control characters (C0, DEL,
    /// C1), whatever the headers, body or error carry: a formatter's
    /// sanitizer has nothing left to change.
    #[test]
    fn no_line_holds_a_control_character() {
        let clean = |line: &str| !line.chars().any(char::is_control);
        let mut req = Request::post("http://h/x?a=b")
            .header(
                "x-obs",
                HeaderValue::from_bytes(b"a\xc2\x9b[2Jb\tc").unwrap(),
            )
            .header("x-bad-utf8", HeaderValue::from_bytes(b"\xff\xfe").unwrap())
            .body(Body::from(bytes::Bytes::from_static(
                "{\"password\": \"p\", \"x\": \"del\u{7f} csi\u{9b}[2J nl\\n\"}".as_bytes(),
            )))
            .unwrap();
        let line = format_request(&req, false);
        assert!(clean(&line), "{line:?}");
        assert!(line.contains("del\\x7f csi\\u{9b}[2J"), "{line}");
        assert!(!line.contains("\"p\""), "{line}");
        *req.body_mut() = Body::from(bytes::Bytes::from_static(b"text\x1b[2J\r\n"));
        assert!(clean(&format_request(&req, true)));
        let mut resp = Response::new(Body::empty());
        *resp.headers_mut() = req.headers().clone();
        assert!(clean(&format_response(&resp)));
        let e: BoxError = "refused\r\nRESP: [200] forged\u{9b}".into();
        let line = format_error(&e);
        assert_eq!(line, "RESP: error: refused\\r\\nRESP: [200] forged\\u{9b}");
    }

    #[test]
    fn repeated_headers_are_ordered_by_the_value_shown() {
        let mut h = HeaderMap::new();
        h.append("set-cookie", "b=2".parse().unwrap());
        h.append("set-cookie", "a=1".parse().unwrap());
        h.append("vary", "z".parse().unwrap());
        h.append("vary", "a".parse().unwrap());
        h.append("accept", "x".parse().unwrap());
        let r = redact_headers(&h);
        let mut hashes = [hash_value(b"b=2"), hash_value(b"a=1")];
        hashes.sort();
        assert_eq!(
            r,
            vec![
                ("accept".into(), "x".into()),
                ("set-cookie".into(), hashes[0].clone()),
                ("set-cookie".into(), hashes[1].clone()),
                ("vary".into(), "a".into()),
                ("vary".into(), "z".into()),
            ]
        );
        let mut resp = Response::new(Body::empty());
        *resp.headers_mut() = h;
        assert_eq!(
            format_response(&resp),
            format!(
                "RESP: [200] accept: x set-cookie: {} set-cookie: {} vary: a vary: z",
                hashes[0], hashes[1]
            )
        );
    }

    #[test]
    fn quotes_in_a_request_are_closed_and_reopened() {
        let req = Request::post("http://h/x")
            .header("x-q", "it's")
            .body(Body::from(bytes::Bytes::from_static(b"{\"a\": \"b'c\"}")))
            .unwrap();
        assert_eq!(
            format_request(&req, false),
            "REQ: curl -g -i -X 'POST' 'http://h/x' -H 'x-q: it'\\''s' -d '{\"a\": \"b'\\''c\"}'"
        );
    }

    #[test]
    fn headers_hashed_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert("X-AUTH-TOKEN", "totally_bogus".parse().unwrap());
        h.insert("x-subject-token", "gAAAA".parse().unwrap());
        h.insert("x-foo", "bar".parse().unwrap());
        let r = redact_headers(&h);
        assert_eq!(r[0], ("x-auth-token".into(), hash_value(b"totally_bogus")));
        assert!(r[0].1.starts_with("{SHA256}"));
        assert_eq!(r[1].0, "x-foo");
        assert_eq!(r[2].1, hash_value(b"gAAAA"));
    }

    #[test]
    fn bodies_redacted() {
        let b = br#"{"auth":{"identity":{"methods":["password","token"],"password":{"user":{"name":"u","password":"hunter2"}},"token":{"id":"gAAAAtok"}}}}"#;
        let r = redact_body(b);
        assert!(!r.contains("hunter2") && !r.contains("gAAAAtok"), "{r}");
        assert!(r.contains(r#""name":"u""#));
        let r = redact_body(
            br#"{"application_credential":{"secret":"s3"}, "access": {"token": {"id": "v2tok"}}}"#,
        );
        assert!(!r.contains("s3\"") && !r.contains("v2tok"), "{r}");
        assert!(!redact_body(b"password=hunter2&x=1").contains("hunter2"));
        assert_eq!(redact_body(b"\xff\xfe"), "<2 bytes of binary data>");
        // nothing secret-looking: shown as received
        assert_eq!(
            redact_body(b"{\"servers\": [1, 2]}"),
            "{\"servers\": [1, 2]}"
        );
        // a key spelled with escapes still goes through the JSON redactor
        let r = redact_body(br#"{"\u0070assword": "hunter2"}"#);
        assert!(!r.contains("hunter2"), "{r}");
    }

    #[test]
    fn secrets_found_by_pattern_not_by_list() {
        let body = br#"{"db_password": "p1", "client_secret": "s1", "private_key": "k1",
            "passphrase": "ph1", "secret": {"payload": "b1", "payload_content_type": "text/plain"},
            "token": "t1", "passwords": ["p2", "p3"], "name": "visible",
            "credential": {"type": "ec2", "blob": "{\"access\": \"AK\", \"secret\": \"s2\"}"}}"#;
        let r = redact_body(body);
        for secret in ["p1", "s1", "k1", "ph1", "b1", "t1", "p2", "p3", "s2"] {
            assert!(!r.contains(&format!("\"{secret}")), "{secret} in {r}");
            assert!(!r.contains(&format!("\\\"{secret}")), "{secret} in {r}");
        }
        assert!(
            r.contains("visible") && r.contains("text/plain") && r.contains("AK"),
            "{r}"
        );
    }

    #[test]
    fn swift_temp_url_keys_and_signatures_are_hidden() {
        let req = Request::builder()
            .method("POST")
            .uri("http://swift/v1/AUTH_p/c/o?temp_url_sig=deadbeef&temp_url_expires=1")
            .header("X-Account-Meta-Temp-URL-Key", "k-one")
            .header("X-Container-Meta-Temp-URL-Key-2", "k-two")
            .body(Body::empty())
            .unwrap();
        let line = format_request(&req, false);
        assert!(
            !line.contains("deadbeef") && !line.contains("k-one") && !line.contains("k-two"),
            "{line}"
        );
        assert!(
            line.contains("temp_url_sig=***&temp_url_expires=1"),
            "{line}"
        );
    }

    #[test]
    fn streamed_bodies_are_logged_by_size() {
        let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("x"))]);
        let req = Request::put("http://swift/v1/a/c/o")
            .body(Body::from_stream(chunks, Some(1_073_741_824)))
            .unwrap();
        assert!(
            format_request(&req, false).ends_with(" -d '<streamed body: 1073741824 bytes>'"),
            "{}",
            format_request(&req, false)
        );
    }

    #[test]
    fn a_body_cannot_forge_a_log_line() {
        let r = redact_body(b"ok\r\nRESP: [200] forged\x1b[2J");
        assert!(
            !r.contains('\n') && !r.contains('\r') && !r.contains('\x1b'),
            "{r}"
        );
        assert_eq!(r, "ok\\r\\nRESP: [200] forged\\x1b[2J");
    }

    #[test]
    fn curl_line() {
        let req = Request::builder()
            .method("GET")
            .uri("http://h/foo")
            .header("X-Auth-Token", "totally_bogus")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            format_request(&req, true),
            format!(
                "REQ: curl -g -i --insecure -X 'GET' 'http://h/foo' -H 'x-auth-token: {}'",
                hash_value(b"totally_bogus")
            )
        );
    }
}
