//! `from_response`: an HTTP error response into a typed [`HttpError`].

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde_json::{Map, Value};

use crate::line::Line;
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
///   top-level `{"message": ...}` (Glance's webob bodies).
/// - A `text/plain` or `text/html` body (Swift, webob, a router's 404) is the
///   message: for HTML its visible text (not the `<title>`, unless nothing
///   else shows), at most 512 characters with `…`. Not for a 3xx, whose page
///   only repeats where it redirects.
/// - The message is one clean line whatever its source: tags removed
///   (`<br />`, `<h1>`; in a JSON message only HTML elements' tags, so
///   `a<b` stays), `&amp; &lt; &gt; &quot; &#39;` and numeric entities
///   decoded, each run of whitespace (newlines too) one space, trimmed, other
///   control characters escaped (`\x1b`), URL passwords and secret query
///   values redacted. The details keep the server's raw text (a `text/*`
///   body, trimmed, is the details).
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
    if json_like && let Ok(members) = members_in_order(body) {
        let first_key = members.first().map(|(k, _)| k.clone());
        let obj: Map<String, Value> = members.into_iter().collect();
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
        let (message, details) = extract(&obj, first_key.as_deref());
        if let Some(m) = message
            .map(|m| clean_text(&m, Markup::Text, usize::MAX))
            .filter(|m| !m.is_empty())
        {
            err.message = m;
        }
        err.details = details.or(body_details);
    } else {
        let markup = if content_type.starts_with("text/html")
            || content_type.starts_with("application/xhtml+xml")
        {
            Some(Markup::Document)
        } else if content_type.starts_with("text/plain") {
            Some(Markup::Text)
        } else {
            None
        };
        if let Some(markup) = markup
            && !(300..400).contains(&status)
        {
            let m = clean_text(trimmed, markup, MAX_TEXT_MESSAGE);
            if !m.is_empty() {
                err.message = m;
            }
        }
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

/// The members of the JSON object `text`, in the order they are written,
/// whatever serde_json's map order (sorted unless some crate of the program
/// turns on its `preserve_order` feature): the wrapper of an error body is
/// its first key; a query's parameters keep their fields' order
/// (apiclient-http). Anything but an object is an error.
pub fn members_in_order(text: &[u8]) -> Result<Vec<(String, Value)>, serde_json::Error> {
    serde_json::from_slice::<Members>(text).map(|m| m.0)
}

struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Message and details from a JSON error object (`first_key`: its first
/// member as written), in the order of the shapes' specificity.
fn extract(body: &Map<String, Value>, first_key: Option<&str>) -> (Option<String>, Option<String>) {
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
    match first_key.and_then(|k| body.get(k)) {
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

/// The longest message taken from a `text/plain` or `text/html` body, in
/// characters (the whole text stays in [`HttpError::details`]).
pub(crate) const MAX_TEXT_MESSAGE: usize = 512;

/// How much markup a text is taken to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Markup {
    /// An HTML (or XML) document: every tag is markup.
    Document,
    /// Text with perhaps a few HTML tags in it (webob's `<br />`): only the
    /// tags of HTML elements are markup, so `a <b` or `x<y and y>z` stay.
    Text,
}

/// `input` as one clean line: tags removed (the contents of `<script>`,
/// `<style>` and `<title>` too: the visible text is preferred, the title
/// kept only when nothing else is visible), the common entities decoded,
/// every run of whitespace one space, trimmed, other control characters
/// escaped (`\x1b`), URL secrets redacted, and cut to `max_chars` characters
/// with `…`. Linear in the input; never panics.
pub(crate) fn clean_text(input: &str, markup: Markup, max_chars: usize) -> String {
    let mut text = clean_pass(input, markup, true);
    if text.is_empty() {
        text = clean_pass(input, markup, false);
    }
    cut(redact_urls(text), max_chars)
}

/// `text` cut to `max_chars` characters, the last of them `…`, when longer.
fn cut(mut text: String, max_chars: usize) -> String {
    let max_chars = max_chars.max(1);
    if let Some((at, _)) = text.char_indices().nth(max_chars) {
        let keep = text
            .get(..at)
            .and_then(|t| t.char_indices().last())
            .map_or(0, |(last, _)| last);
        text.truncate(keep);
        text.truncate(text.trim_end().len());
        text.push('…');
    }
    text
}

/// The elements whose content is not text to show.
const HIDDEN: &[&str] = &["script", "style"];

/// The inline HTML elements: their tags separate nothing (`<b>x</b>y`).
const INLINE: &[&str] = &[
    "a", "abbr", "b", "big", "cite", "code", "em", "font", "i", "kbd", "mark", "q", "s", "samp",
    "small", "span", "strike", "strong", "sub", "sup", "tt", "u", "var",
];
/// The other HTML elements [`Markup::Text`] knows: their tags separate words.
const BLOCK: &[&str] = &[
    "address",
    "article",
    "blockquote",
    "body",
    "br",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "img",
    "li",
    "link",
    "main",
    "meta",
    "nav",
    "ol",
    "p",
    "pre",
    "script",
    "section",
    "style",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "title",
    "tr",
    "ul",
];

enum Tag {
    /// A comment, doctype or processing instruction: nothing.
    Nothing,
    /// An inline element's tag: nothing.
    Inline,
    /// Any other tag: a separator.
    Block,
    /// The opening tag of an element whose content is hidden.
    Hide(&'static str),
}

fn clean_pass(input: &str, markup: Markup, hide_title: bool) -> String {
    let mut out = Line::default();
    let mut i = 0;
    // where the next `>` is, once looked for (keeps the pass linear)
    let mut next_gt: Option<Option<usize>> = None;
    while let Some(rest) = input.get(i..) {
        let Some(c) = rest.chars().next() else { break };
        if c == '<' {
            let gt = match next_gt {
                Some(Some(g)) if g > i => Some(g),
                Some(None) => None,
                _ => {
                    let g = rest.find('>').map(|p| i + p);
                    next_gt = Some(g);
                    g
                }
            };
            if let Some((end, tag)) = tag_at(input, i, gt, markup, hide_title) {
                i = end;
                match tag {
                    Tag::Nothing | Tag::Inline => {}
                    Tag::Block => out.space(),
                    Tag::Hide(name) => {
                        out.space();
                        match find_close(input, i, name) {
                            Some(close) => i = close,
                            None => break,
                        }
                    }
                }
                continue;
            }
        } else if c == '&'
            && let Some((decoded, len)) = entity(rest)
        {
            out.push(decoded);
            i += len;
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    out.text
}

/// The markup at `i` (a `<`), with the index after it; `gt` is the next `>`.
fn tag_at(
    input: &str,
    i: usize,
    gt: Option<usize>,
    markup: Markup,
    hide_title: bool,
) -> Option<(usize, Tag)> {
    let rest = input.get(i..)?;
    if let Some(body) = rest.strip_prefix("<!--") {
        // an unclosed comment runs to the end, as in HTML
        let end = body.find("-->").map_or(input.len(), |p| i + 4 + p + 3);
        return Some((end, Tag::Nothing));
    }
    let b = rest.as_bytes();
    let after_gt = gt? + 1;
    if matches!(b.get(1), Some(b'!' | b'?')) && b.get(2).is_some_and(u8::is_ascii_alphabetic) {
        return Some((after_gt, Tag::Nothing));
    }
    let start = if b.get(1) == Some(&b'/') { 2 } else { 1 };
    let closing = start == 2;
    if !b.get(start).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let len = b
        .get(start..)?
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b':' | b'_' | b'.')))?;
    let name = rest.get(start..start + len)?.to_ascii_lowercase();
    if !matches!(
        b.get(start + len),
        Some(b'>' | b'/') | Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
    ) {
        return None;
    }
    let inline = INLINE.contains(&name.as_str());
    if markup == Markup::Text && !inline && !BLOCK.contains(&name.as_str()) {
        return None;
    }
    let self_closing = input.get(..after_gt).is_some_and(|t| t.ends_with("/>"));
    if !closing && !self_closing {
        if let Some(hidden) = HIDDEN.iter().find(|h| **h == name) {
            return Some((after_gt, Tag::Hide(hidden)));
        }
        if hide_title && name == "title" {
            return Some((after_gt, Tag::Hide("title")));
        }
    }
    Some((after_gt, if inline { Tag::Inline } else { Tag::Block }))
}

/// Where `</name` starts at or after `from` (ASCII case-insensitive).
fn find_close(input: &str, from: usize, name: &str) -> Option<usize> {
    let hay = input.as_bytes().get(from..)?;
    let needle_len = name.len() + 2;
    hay.windows(needle_len)
        .position(|w| {
            w.starts_with(b"</")
                && w.get(2..)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        })
        .map(|p| from + p)
}

/// The entity at the start of `s` (`&amp;`, `&#39;`, `&#x27;`, ...) and its length.
fn entity(s: &str) -> Option<(char, usize)> {
    let semi = s.bytes().take(12).position(|b| b == b';')?;
    let name = s.get(1..semi)?;
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => {
            let num = name.strip_prefix('#')?;
            let n = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(n)
                .filter(|c| *c != '\0')
                .unwrap_or('\u{fffd}')
        }
    };
    Some((c, semi + 1))
}

/// `text` (one line, words split by single spaces) with each word that
/// looks like a URL (or a query) redacted as
/// [`redact_url`](crate::redact::redact_url) does, and the value after a
/// secret name (`password=…`, `X-Auth-Token: …`, a WSGI page's
/// `HTTP_X_AUTH_TOKEN …`) replaced by `***`: a server's debug page may echo
/// the request.
fn redact_urls(text: String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hide_next = false;
    for (n, word) in text.split(' ').enumerate() {
        if n > 0 {
            out.push(' ');
        }
        if hide_next && !word.is_empty() {
            out.push_str("***");
            hide_next = false;
            continue;
        }
        match word.find(['=', ':']) {
            Some(i) if is_secret_name(&word[..i]) => {
                let value = &word[i + 1..];
                out.push_str(&word[..=i]);
                if value.is_empty() {
                    hide_next = true;
                } else {
                    out.push_str("***");
                }
            }
            // a bare name hides the next word only for a credential header
            // (`HTTP_X_AUTH_TOKEN gAAAA…`): prose mentions "password" freely
            None if is_credential_header(word) => {
                out.push_str(word);
                hide_next = true;
            }
            _ if word.contains("://") || word.contains('?') => {
                out.push_str(&crate::redact::redact_url(word));
            }
            _ => out.push_str(word),
        }
    }
    out
}

/// `name` without the quotes and punctuation around it.
fn bare(name: &str) -> &str {
    name.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
}

/// Whether `name` is a credential header (a WSGI `HTTP_X_AUTH_TOKEN` read
/// as `X-Auth-Token`).
fn is_credential_header(name: &str) -> bool {
    let name = bare(name);
    let header = name.strip_prefix("HTTP_").unwrap_or(name).replace('_', "-");
    !name.is_empty() && crate::redact::is_sensitive_header(&header)
}

/// Whether `name` names a secret: a secret key or a credential header.
fn is_secret_name(name: &str) -> bool {
    let key = bare(name);
    !key.is_empty() && (crate::redact::is_secret_key(key) || is_credential_header(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HttpErrorKind;
    use crate::line::one_line;

    #[test]
    fn a_debug_page_echoing_credentials_shows_none() {
        let page = "<html><body><h1>500 Internal Server Error</h1><pre>HTTP_X_AUTH_TOKEN gAAAAAsecret1\n\
                    X-Auth-Token: gAAAAAsecret2\npassword=hunter2 'admin_password': 'hunter3'\n\
                    see http://u:pw@h/x?temp_url_sig=abc plain words</pre></body></html>";
        let m = clean_text(page, Markup::Document, MAX_TEXT_MESSAGE);
        for secret in ["secret1", "secret2", "hunter2", "hunter3", ":pw@", "abc"] {
            assert!(!m.contains(secret), "{secret} in {m}");
        }
        assert!(m.contains("500 Internal Server Error"), "{m}");
        assert!(m.contains("plain words"), "{m}");
        assert!(m.contains("X-Auth-Token: ***"), "{m}");
    }

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
    fn the_first_key_is_the_first_written_whatever_the_map_order() {
        // "code" sorts before "computeFault": a sorted map (serde_json
        // without `preserve_order`) would see the number first.
        let body = br#"{"computeFault": {"message": "The server has an error."}, "code": 500}"#;
        let e = from_response(500, &json_headers(), body, "GET", "/x");
        assert_eq!(e.message(), "The server has an error.");
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
    fn text_body_is_the_message_and_the_details() {
        let mut h = HeaderMap::new();
        h.insert("content-type", "text/plain; charset=utf-8".parse().unwrap());
        let e = from_response(502, &h, b"upstream gone\n", "GET", "/x");
        assert_eq!(e.kind(), HttpErrorKind::BadGateway);
        assert_eq!(e.message(), "upstream gone");
        assert_eq!(e.details(), Some("upstream gone"));
        // only blanks or only markup: the kind's message stays
        let e = from_response(502, &h, b" \n\t ", "GET", "/x");
        assert_eq!(e.message(), "Bad Gateway");
        h.insert("content-type", "text/html".parse().unwrap());
        let e = from_response(502, &h, b"<html><body></body></html>", "GET", "/x");
        assert_eq!(e.message(), "Bad Gateway");
        assert_eq!(e.details(), Some("<html><body></body></html>"));
        // another media type: details only
        h.insert("content-type", "application/octet-stream".parse().unwrap());
        let e = from_response(502, &h, b"upstream gone", "GET", "/x");
        assert_eq!(e.message(), "Bad Gateway");
    }

    fn clean(s: &str) -> String {
        clean_text(s, Markup::Document, MAX_TEXT_MESSAGE)
    }

    #[test]
    fn html_visible_text_without_tags_title_scripts_or_comments() {
        assert_eq!(
            clean(
                "<!DOCTYPE html>\n<html><head><title>404 Not Found</title>\n<style>h1 {color: red}</style></head>\n<body><!-- x -->\n<h1>Not Found</h1><p>The resource <b>could</b> not be <a href=\"/x\">found</a>.</p><script>alert(1)</script></body></html>"
            ),
            "Not Found The resource could not be found."
        );
        // block tags separate words, inline ones do not
        assert_eq!(clean("a<br/>b<p>c</p>d<i>e</i>f"), "a b c def");
        // nothing visible but the title: the title
        assert_eq!(clean("<html><title>Gone</title></html>"), "Gone");
        // an unclosed <script> hides the rest, an unclosed comment too
        assert_eq!(clean("<p>shown</p><script>hidden"), "shown");
        assert_eq!(clean("shown<!-- hidden <p>x</p>"), "shown");
        // uppercase tags, attributes, and whitespace inside tags
        assert_eq!(clean("<H1 CLASS='x'>A</H1\n><P\n>B"), "A B");
    }

    #[test]
    fn entities_decoded_after_the_tags_are_gone() {
        assert_eq!(
            clean("a &amp; b &lt;c&gt; &quot;d&quot; &#39;e&#39; &#x27;f&apos; g&nbsp;h"),
            "a & b <c> \"d\" 'e' 'f' g h"
        );
        // an escaped tag is text, not markup
        assert_eq!(clean("&lt;br /&gt;"), "<br />");
        // unknown, unterminated or invalid entities stay as they are
        assert_eq!(
            clean("&bogus; &amp &#xZZ; AT&T"),
            "&bogus; &amp &#xZZ; AT&T"
        );
        assert_eq!(clean("&#0; &#x110000;"), "\u{fffd} \u{fffd}");
        // a control character by entity is escaped like any other
        assert_eq!(clean("x&#27;[31my"), "x\\x1b[31my");
    }

    #[test]
    fn one_line_whitespace_collapsed_controls_escaped() {
        assert_eq!(
            clean("  a\r\n\n\tb \u{85}\u{a0} c\x1b[2J\x00d\u{9b}e \n"),
            "a b c\\x1b[2J\\x00d\\u{9b}e"
        );
        assert_eq!(one_line("plain text"), "plain text");
        assert!(matches!(
            one_line("plain text"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(one_line(" a\n\nb\x07 "), "a b\\x07");
        // one_line keeps markup: it is not a parser
        assert_eq!(one_line("a <b> &amp;"), "a <b> &amp;");
    }

    #[test]
    fn text_markup_keeps_what_is_not_an_html_tag() {
        let text = |s: &str| clean_text(s, Markup::Text, usize::MAX);
        assert_eq!(
            text("No image found with ID x<br /><br />\n\n\n"),
            "No image found with ID x"
        );
        assert_eq!(text("size must be <5 and >1"), "size must be <5 and >1");
        assert_eq!(text("x<y and y>z"), "x<y and y>z");
        assert_eq!(text("a <b"), "a <b");
        assert_eq!(
            text("List<String> is <em>required</em>"),
            "List<String> is required"
        );
        // a whole document as a message is cleaned too
        assert_eq!(text("<html><h1>Oops</h1></html>"), "Oops");
        // in a document every tag is markup
        assert_eq!(clean("x<y and y>z"), "x z");
    }

    #[test]
    fn long_text_cut_with_an_ellipsis() {
        let long = format!("<p>{}</p>", "word ".repeat(500));
        let m = clean(&long);
        assert_eq!(m.chars().count(), MAX_TEXT_MESSAGE);
        assert!(
            m.ends_with("word…") || m.ends_with("wor…") || m.ends_with('…'),
            "{m}"
        );
        assert!(!m.contains(" …"), "no space before the ellipsis: {m}");
        // exactly the cap: no ellipsis
        let exact = "x".repeat(MAX_TEXT_MESSAGE);
        assert_eq!(clean(&exact), exact);
        let over = "x".repeat(MAX_TEXT_MESSAGE + 1);
        assert_eq!(
            clean(&over),
            format!("{}…", "x".repeat(MAX_TEXT_MESSAGE - 1))
        );
        // multi-byte characters count as characters
        let wide = "é".repeat(MAX_TEXT_MESSAGE * 2);
        assert_eq!(clean(&wide).chars().count(), MAX_TEXT_MESSAGE);
    }

    #[test]
    fn secrets_in_urls_of_a_page_are_redacted() {
        // redacted before the cut: a cut cannot leave a secret's head behind
        let near_cap = format!(
            "{} ?password=hunter2hunter2",
            "x".repeat(MAX_TEXT_MESSAGE - 15)
        );
        let m = clean(&near_cap);
        assert!(!m.contains("hunter"), "{m}");
        assert!(m.ends_with(" ?password=***"), "{m}");
        assert_eq!(
            clean(
                "<p>The URL https://u:pw@swift/v1/o?temp_url_sig=abc&temp_url_expires=1 was not found</p>"
            ),
            "The URL https://u:***@swift/v1/o?temp_url_sig=***&temp_url_expires=1 was not found"
        );
    }

    #[test]
    fn hostile_markup_stays_linear() {
        // each of these would be quadratic with a rescan per `<`, `&` or
        // hidden element: 2 MiB must take well under a second
        let n = 2 * 1024 * 1024;
        for unit in [
            "<a ", "<!x", "&#", "<script>", "</", "<p x='>", "<!-", "a<b ",
        ] {
            let input = unit.repeat(n / unit.len());
            let t = std::time::Instant::now();
            let _ = clean_text(&input, Markup::Document, MAX_TEXT_MESSAGE);
            let _ = clean_text(&input, Markup::Text, usize::MAX);
            assert!(
                t.elapsed() < std::time::Duration::from_secs(60),
                "{unit:?}: {:?}",
                t.elapsed()
            );
        }
    }

    #[test]
    fn redirect_pages_are_not_messages() {
        let mut h = HeaderMap::new();
        h.insert("content-type", "text/html".parse().unwrap());
        h.insert("location", "http://h/new".parse().unwrap());
        let body = br#"<html><body>You are being <a href="http://h/new?password=x">redirected</a>.</body></html>"#;
        let e = from_response(302, &h, body, "GET", "/x");
        assert_eq!(
            e.to_string(),
            "Found: redirect to http://h/new not followed (HTTP 302)"
        );
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
