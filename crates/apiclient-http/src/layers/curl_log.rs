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

use std::fmt::Write as _;
use std::task::{Context, Poll};

use apiclient_errors::BoxError;
use http::{HeaderMap, Request, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::{Layer, Service};

use super::LayerFuture;
use crate::body::Body;

/// `{SHA256}<hex>` of a value.
pub fn hash_value(value: &[u8]) -> String {
    format!("{{SHA256}}{}", hex::encode(Sha256::digest(value)))
}

pub use apiclient_errors::redact::is_sensitive_header;
use apiclient_errors::redact::{escape_controls, is_secret_key, redact_url};

/// Headers as `Name: value` pairs, sorted, with credentials hashed,
/// borrowing what needs no change.
fn shown_headers(headers: &HeaderMap) -> Vec<(&str, std::borrow::Cow<'_, str>)> {
    let mut out: Vec<(&str, std::borrow::Cow<'_, str>)> = headers
        .iter()
        .map(|(k, v)| {
            let shown = if v.is_sensitive() || is_sensitive_header(k.as_str()) {
                std::borrow::Cow::Owned(hash_value(v.as_bytes()))
            } else {
                match std::str::from_utf8(v.as_bytes()) {
                    Ok(t) => escape_controls(t),
                    Err(_) => std::borrow::Cow::Owned(
                        escape_controls(&String::from_utf8_lossy(v.as_bytes())).into_owned(),
                    ),
                }
            };
            (k.as_str(), shown)
        })
        .collect();
    out.sort();
    out
}

/// Headers as `Name: value` pairs, sorted, with credentials hashed.
pub fn redact_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            let shown = if v.is_sensitive() || is_sensitive_header(k.as_str()) {
                hash_value(v.as_bytes())
            } else {
                escape_controls(&String::from_utf8_lossy(v.as_bytes())).into_owned()
            };
            (k.as_str().to_string(), shown)
        })
        .collect();
    out.sort();
    out
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

fn may_hold_secret(text: &str) -> bool {
    // one pass, case-insensitive, without a lowercase copy of the body: at
    // each byte that can start a hint, compare the hints that start with it
    let hay = text.as_bytes();
    hay.iter().enumerate().any(|(i, b)| {
        let first = b.to_ascii_lowercase();
        SECRET_HINTS.iter().any(|hint| {
            let h = hint.as_bytes();
            h[0] == first
                && hay
                    .get(i..i + h.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(h))
        })
    })
}

/// A body as log text, on one line: JSON with secret fields as `***`; other
/// UTF-8 text as is with control characters escaped (a CR/LF in a body can't
/// forge a log line); binary as a byte count. A body with no secret-looking
/// key name is shown as received, without re-parsing. Invalid JSON that may
/// hold a secret is shown as a byte count.
pub fn redact_body(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let text = std::str::from_utf8(body).ok();
    if let Some(t) = text
        && !may_hold_secret(t)
    {
        return escape_controls(t).into_owned();
    }
    if let Ok(mut v) = serde_json::from_slice::<Value>(body) {
        redact_value(&mut v, false);
        return v.to_string();
    }
    match text {
        Some(_) => format!(
            "<{} bytes, not shown: not JSON and may hold a secret>",
            body.len()
        ),
        None => format!("<{} bytes of binary data>", body.len()),
    }
}

fn quote(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\'') {
        std::borrow::Cow::Owned(s.replace('\'', "'\\''"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// How a body that is not buffered is logged: its length when known.
pub fn streamed_body(len: Option<u64>) -> String {
    match len {
        Some(n) => format!("<streamed body: {n} bytes>"),
        None => "<streamed body>".to_string(),
    }
}

fn body_text(body: &Body) -> Option<String> {
    match body.as_bytes() {
        Some(b) if b.is_empty() => None,
        Some(b) => Some(redact_body(b)),
        None if body.is_buffered() => None,
        None => Some(streamed_body(body.len())),
    }
}

/// The `REQ: curl ...` line for a request.
pub fn format_request(req: &Request<Body>, insecure: bool) -> String {
    let mut line = String::from("REQ: curl -g -i");
    if insecure {
        line.push_str(" --insecure");
    }
    let _ = write!(
        line,
        " -X '{}' '{}'",
        req.method(),
        quote(&escape_controls(&redact_url(&req.uri().to_string())))
    );
    for (k, v) in shown_headers(req.headers()) {
        let _ = write!(line, " -H '{}: {}'", k, quote(&v));
    }
    if let Some(body) = body_text(req.body()) {
        let _ = write!(line, " -d '{}'", quote(&body));
    }
    line
}

/// The `RESP: [status] headers` line for a response.
pub fn format_response(resp: &Response<Body>) -> String {
    let mut line = format!("RESP: [{}]", resp.status().as_u16());
    for (k, v) in shown_headers(resp.headers()) {
        let _ = write!(line, " {k}: {v}");
    }
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
        if !tracing::enabled!(target: "apiclient_http::curl", tracing::Level::DEBUG) {
            return LayerFuture::inner(self.inner.call(req));
        }
        tracing::debug!(target: "apiclient_http::curl", "{}", format_request(&req, self.insecure));
        let fut = self.inner.call(req);
        LayerFuture::boxed(async move {
            let res = fut.await;
            match &res {
                Ok(resp) => {
                    tracing::debug!(target: "apiclient_http::curl", "{}", format_response(resp));
                    if let Some(body) = body_text(resp.body()) {
                        tracing::debug!(target: "apiclient_http::curl", "RESP BODY: {body}");
                    }
                }
                Err(e) => tracing::debug!(target: "apiclient_http::curl", "RESP: error: {e}"),
            }
            res
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
