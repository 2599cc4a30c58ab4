//! `from_response`: an HTTP error response into a typed [`HttpError`].

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::{Map, Value};

use crate::{HttpError, HttpErrorKind};

/// Build the [`HttpError`] for an error response (Python's `from_response`).
///
/// - The request id comes from `x-openstack-request-id`, else `x-compute-request-id`.
/// - `Retry-After` is parsed on every status, as delta-seconds or an HTTP-date.
/// - Message and details come from whichever JSON error shape the body uses:
///   the first-key wrapper (`{"itemNotFound": {"message", "details"}}`),
///   Keystone's `{"error": {"code", "message", "title"}}`, WSME's
///   `{"error_message": {"faultstring", "debuginfo"}}` (also as a JSON string,
///   as Ironic sends it), API-SIG `{"errors": [{"title", "detail"}]}` and a
///   top-level `{"message": ...}`. A `text/*` body becomes the details.
/// - Whatever the body (empty, `{}`, an array, invalid JSON, non-UTF-8 bytes)
///   this never panics: the status decides the kind, and the body text (if
///   any) becomes the details.
pub fn from_response(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    method: &str,
    url: &str,
) -> HttpError {
    let mut err = HttpError::new(status)
        .with_request(method, url)
        .with_headers(headers);
    err.request_id = header_str(headers, "x-openstack-request-id")
        .or_else(|| header_str(headers, "x-compute-request-id"))
        .map(str::to_owned);
    err.retry_after =
        header_str(headers, "retry-after").and_then(|v| parse_retry_after(v, SystemTime::now()));

    let content_type = header_str(headers, "content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    let body_details = (!trimmed.is_empty()).then(|| trimmed.to_string());

    let json_like = content_type.starts_with("application/json")
        || (content_type.starts_with("application/") && content_type.contains("+json"))
        || (content_type.is_empty() && trimmed.starts_with('{'));
    if json_like && let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
        if let Some(Value::Array(errors)) = obj.get("errors") {
            err.api_errors = errors
                .iter()
                .filter_map(Value::as_object)
                .map(|e| crate::http_error::ApiError {
                    status: e.get("status").and_then(|s| {
                        s.as_u64()
                            .or_else(|| s.as_str().and_then(|t| t.parse().ok()))
                            .and_then(|n| u16::try_from(n).ok())
                    }),
                    code: str_field(e, "code"),
                    title: str_field(e, "title"),
                    detail: str_field(e, "detail"),
                    request_id: str_field(e, "request_id"),
                })
                .collect();
        }
        let (message, details) = extract(&obj);
        if let Some(m) = message.filter(|m| !m.is_empty()) {
            err.message = m;
        }
        err.details = details.or(body_details);
    } else {
        err.details = body_details;
    }
    if (300..400).contains(&status) {
        if err.message == HttpErrorKind::Other.default_message()
            && let Some(reason) = http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
        {
            err.message = reason.to_string();
        }
        let location = err.location().map(str::to_owned);
        err.message = match location {
            Some(l) => format!(
                "{}: redirect to {} not followed",
                err.message,
                crate::redact::redact_url(&l)
            ),
            None => format!("{}: redirect not followed", err.message),
        };
    }
    err
}

/// Parse a `Retry-After` value: delta-seconds, or an HTTP-date relative to `now`.
///
/// A date in the past gives zero; an unparseable value gives `None`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use apiclient_errors::parse_retry_after;
///
/// assert_eq!(parse_retry_after("120", SystemTime::now()), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("soon", SystemTime::now()), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Message and details from a JSON error object, in the order of the shapes' specificity.
fn extract(body: &Map<String, Value>) -> (Option<String>, Option<String>) {
    // API-SIG: {"errors": [{"title", "detail", ...}]}: the detail says what
    // happened ("Conflict" alone does not), so it is the message.
    if let Some(Value::Array(errors)) = body.get("errors")
        && let Some(Value::Object(first)) = errors.first()
    {
        let details = str_field(first, "detail").or_else(|| str_field(first, "details"));
        let message = details
            .clone()
            .or_else(|| str_field(first, "title"))
            .or_else(|| str_field(first, "message"));
        return (message, details);
    }
    // WSME: {"error_message": {...}} or Ironic's {"error_message": "<json>"}
    match body.get("error_message") {
        Some(Value::Object(inner)) => return wsme(inner),
        Some(Value::String(s)) => {
            if let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(s) {
                return wsme(&inner);
            }
            return (Some(s.clone()).filter(|s| !s.is_empty()), None);
        }
        _ => {}
    }
    // Top level {"message": "..."} (Keystone's 405) or {"faultstring": "..."}
    let top = str_field(body, "message").or_else(|| str_field(body, "faultstring"));
    if top.is_some() {
        return (top, str_field(body, "details"));
    }
    // The first-key wrapper: {"itemNotFound": {...}}, {"error": {...}}
    match body.values().next() {
        Some(Value::Object(inner)) => {
            let message = str_field(inner, "message").or_else(|| str_field(inner, "faultstring"));
            let details = str_field(inner, "details").or_else(|| str_field(inner, "debuginfo"));
            (message, details)
        }
        Some(Value::String(s)) if body.len() == 1 => {
            (Some(s.clone()).filter(|s| !s.is_empty()), None)
        }
        _ => (None, None),
    }
}

fn wsme(inner: &Map<String, Value>) -> (Option<String>, Option<String>) {
    let message = str_field(inner, "faultstring").or_else(|| str_field(inner, "message"));
    let details = str_field(inner, "debuginfo").or_else(|| str_field(inner, "details"));
    (message, details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HttpErrorKind;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        h
    }

    #[test]
    fn retry_after_http_date_relative_to_now() {
        let now = httpdate::parse_http_date("Sun, 29 Nov 2026 00:26:21 GMT").unwrap();
        assert_eq!(
            parse_retry_after("Sun, 29 Nov 2026 00:27:21 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 29 Nov 2026 00:20:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn first_key_wrapper_nova() {
        let body = br#"{"itemNotFound": {"message": "Instance x could not be found.", "code": 404, "details": "d"}}"#;
        let e = from_response(404, &json_headers(), body, "GET", "/servers/x");
        assert_eq!(e.kind(), HttpErrorKind::NotFound);
        assert_eq!(e.message(), "Instance x could not be found.");
        assert_eq!(e.details(), Some("d"));
        assert_eq!(e.method(), Some("GET"));
        assert_eq!(e.url(), Some("/servers/x"));
    }

    #[test]
    fn first_key_without_details_falls_back_to_body_text() {
        let body = br#"{"badRequest": {"message": "fake message", "code": 400}}"#;
        let e = from_response(400, &json_headers(), body, "POST", "/x");
        assert_eq!(e.message(), "fake message");
        assert_eq!(e.details(), Some(std::str::from_utf8(body).unwrap()));
    }

    #[test]
    fn wsme_object_and_ironic_string() {
        let body =
            br#"{"error_message": {"faultstring": "Node x not found", "debuginfo": "trace"}}"#;
        let e = from_response(404, &json_headers(), body, "GET", "/nodes/x");
        assert_eq!(e.message(), "Node x not found");
        assert_eq!(e.details(), Some("trace"));

        let body =
            br#"{"error_message": "{\"faultstring\": \"Node y not found\", \"debuginfo\": null}"}"#;
        let e = from_response(404, &json_headers(), body, "GET", "/nodes/y");
        assert_eq!(e.message(), "Node y not found");
        assert_eq!(e.details(), Some(std::str::from_utf8(body).unwrap()));
    }

    #[test]
    fn api_sig_errors() {
        let body = br#"{"errors": [{"request_id": "r", "code": "compute.x", "status": 409, "title": "Conflict happened", "detail": "More detail"}]}"#;
        let e = from_response(409, &json_headers(), body, "PUT", "/x");
        assert_eq!(e.kind(), HttpErrorKind::Conflict);
        assert_eq!(e.message(), "More detail");
        assert_eq!(e.details(), Some("More detail"));
        // Placement's 409: the title alone says nothing
        let body = br#"{"errors": [{"status": 409, "title": "Conflict", "detail": "There was a conflict when trying to complete your request.\n\n resource provider generation conflict ", "code": "placement.concurrent_update", "request_id": "req-1"}]}"#;
        let e = from_response(409, &json_headers(), body, "PUT", "/x");
        assert!(e.to_string().starts_with("There was a conflict"), "{e}");
        assert_eq!(e.code(), Some("placement.concurrent_update"));
        assert_eq!(e.api_errors()[0].status, Some(409));
        assert_eq!(e.api_errors()[0].title.as_deref(), Some("Conflict"));
        assert_eq!(e.api_errors()[0].request_id.as_deref(), Some("req-1"));
        // only a title
        let body = br#"{"errors": [{"title": "Conflict"}]}"#;
        assert_eq!(
            from_response(409, &json_headers(), body, "PUT", "/x").message(),
            "Conflict"
        );
    }

    #[test]
    fn redirections_show_location_and_keep_headers() {
        let mut h = json_headers();
        h.insert("location", "http://u:pw@elsewhere/x".parse().unwrap());
        h.insert("x-auth-token", "secret-token".parse().unwrap());
        let e = from_response(302, &h, b"", "GET", "http://h/x?temp_url_sig=abc");
        assert_eq!(
            e.to_string(),
            "Found: redirect to http://u:***@elsewhere/x not followed (HTTP 302)"
        );
        assert_eq!(e.url(), Some("http://h/x?temp_url_sig=***"));
        assert!(e.headers().get("x-auth-token").is_none());
        assert_eq!(e.headers()["content-type"], "application/json");
        let e = from_response(301, &HeaderMap::new(), b"", "GET", "/x");
        assert_eq!(
            e.to_string(),
            "Moved Permanently: redirect not followed (HTTP 301)"
        );
    }

    #[test]
    fn non_object_first_value_keeps_defaults() {
        let body = br#"{"alien": 123}"#;
        let e = from_response(400, &json_headers(), body, "GET", "/x");
        assert_eq!(e.message(), "Bad Request");
        assert_eq!(e.details(), Some(r#"{"alien": 123}"#));
    }

    #[test]
    fn text_body_becomes_details() {
        let mut h = HeaderMap::new();
        h.insert("content-type", "text/plain; charset=utf-8".parse().unwrap());
        let e = from_response(502, &h, b"upstream gone\n", "GET", "/x");
        assert_eq!(e.kind(), HttpErrorKind::BadGateway);
        assert_eq!(e.message(), "Bad Gateway");
        assert_eq!(e.details(), Some("upstream gone"));
    }

    #[test]
    fn degenerate_bodies_never_panic() {
        for body in [
            &b""[..],
            b"{}",
            b"[]",
            b"[1,2]",
            b"{not json",
            b"\xff\xfe\x00",
            b"null",
            b"\"s\"",
        ] {
            let e = from_response(503, &json_headers(), body, "GET", "/x");
            assert_eq!(e.kind(), HttpErrorKind::ServiceUnavailable);
            assert_eq!(e.message(), "Service Unavailable");
            let text = String::from_utf8_lossy(body).trim().to_string();
            assert_eq!(
                e.details().map(str::to_owned),
                (!text.is_empty()).then_some(text)
            );
        }
    }

    #[test]
    fn compute_request_id_fallback_and_retry_after_on_any_status() {
        let mut h = json_headers();
        h.insert("x-compute-request-id", "req-compute".parse().unwrap());
        h.insert("retry-after", "3".parse().unwrap());
        let e = from_response(503, &h, b"", "GET", "/x");
        assert_eq!(e.request_id(), Some("req-compute"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));

        h.insert("x-openstack-request-id", "req-os".parse().unwrap());
        let e = from_response(429, &h, b"", "GET", "/x");
        assert_eq!(e.kind(), HttpErrorKind::TooManyRequests);
        assert_eq!(e.request_id(), Some("req-os"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn empty_openstack_request_id_falls_back() {
        let mut h = HeaderMap::new();
        h.insert("x-openstack-request-id", "".parse().unwrap());
        h.insert("x-compute-request-id", "req-c".parse().unwrap());
        assert_eq!(
            from_response(500, &h, b"", "GET", "/").request_id(),
            Some("req-c")
        );
    }
}
