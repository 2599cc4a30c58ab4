//! [`ApiRequest`]: a request being built (method, URL, headers, query,
//! body, microversion), made into an HTTP request when sent.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use serde::Serialize;

use apiclient_errors::{Error, Invalid, InvalidKind};

use crate::body::Body;
use crate::layers::auth::Target;
use crate::layers::curl_log::{redact_body, redact_headers, streamed_body};
use crate::microversion::Microversion;

/// A body as `Debug` shows it: redacted bytes, or its size when streamed.
fn body_log(body: &Body) -> String {
    match body.as_bytes() {
        Some(b) => redact_body(b),
        None => streamed_body(body.len()),
    }
}

/// A request being built: method, URL (absolute, or relative to a service
/// endpoint), headers, query and body. Invalid parts are reported when it is sent.
///
/// `Debug` shows it as the curl log does: credential headers hashed, secret
/// JSON fields and URL passwords as `***`.
pub struct ApiRequest {
    method: Method,
    url: String,
    pub(super) headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Body,
    pub(super) microversion: Option<Microversion>,
    error: Option<Invalid>,
}

impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field(
                "url",
                &apiclient_errors::redact::redact_url(&self.full_url()),
            )
            .field("headers", &redact_headers(&self.headers))
            .field("body", &body_log(&self.body))
            .field("error", &self.error)
            .finish()
    }
}

impl ApiRequest {
    /// A request of `method` to `url`.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        ApiRequest {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            query: Vec::new(),
            body: Body::empty(),
            microversion: None,
            error: None,
        }
    }

    /// GET `url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::GET, url)
    }

    /// PUT `url` (add the body with [`body`](Self::body) or [`json`](Self::json)).
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::PUT, url)
    }

    /// POST `url`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::POST, url)
    }

    /// DELETE `url`.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::DELETE, url)
    }

    /// PATCH `url`. Say the patch's media type with
    /// [`set_header`](Self::set_header) (`Content-Type`) before or after
    /// [`json`](Self::json): Glance takes only
    /// `application/openstack-images-v2.1-json-patch`, other services
    /// `application/json-patch+json` or `application/merge-patch+json`.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new(Method::PATCH, url)
    }

    /// HEAD `url`.
    pub fn head(url: impl Into<String>) -> Self {
        Self::new(Method::HEAD, url)
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => {
                self.error = Some(Invalid::new(
                    InvalidKind::Header,
                    format!("invalid header '{name}'"),
                ))
            }
        }
        self
    }

    /// Set a header, replacing any value it had.
    pub fn set_header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => {
                self.error = Some(Invalid::new(
                    InvalidKind::Header,
                    format!("invalid header '{name}'"),
                ))
            }
        }
        self
    }

    /// Send `X-OpenStack-Request-ID: <id>` with this request (replacing the
    /// client's global request id).
    pub fn global_request_id(self, id: &str) -> Self {
        self.set_header("X-OpenStack-Request-ID", id)
    }

    /// Ask for this microversion (over the service client's default); the
    /// header names follow the service type.
    pub fn microversion(mut self, version: Microversion) -> Self {
        self.microversion = Some(version);
        self
    }

    /// Add the pairs of a serializable query (a struct with
    /// `#[derive(Serialize)]`, `None` fields skipped) as query parameters,
    /// in the order its fields are declared (a map's, in its own order),
    /// whatever serde_json's map order: a sequence gives one pair per item.
    pub fn query_of<Q: Serialize + ?Sized>(mut self, query: &Q) -> Self {
        // the members as written: serde_json's map order does not enter
        let members = serde_json::to_vec(query)
            .map_err(|e| format!("the query cannot be serialized: {e}"))
            .and_then(|text| match text.as_slice() {
                b"null" => Ok(Vec::new()),
                text => apiclient_errors::__private::members_in_order(text)
                    .map_err(|_| "a query must serialize to a map".to_string()),
            });
        let members = match members {
            Ok(members) => members,
            Err(message) => {
                self.error = Some(Invalid::new(InvalidKind::Query, message));
                return self;
            }
        };
        for (k, v) in members {
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => self.query.push((k, s)),
                serde_json::Value::Array(items) => {
                    for item in items {
                        let text = match item {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        self.query.push((k.clone(), text));
                    }
                }
                other => self.query.push((k, other.to_string())),
            }
        }
        self
    }

    /// Add a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// A JSON body (compact), with `Content-Type: application/json` unless
    /// the request already says its media type (a JSON-Patch or merge-patch
    /// type set with [`set_header`](Self::set_header) is kept).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(b) => {
                self.body = Body::from(b);
                if !self.headers.contains_key(http::header::CONTENT_TYPE) {
                    self.headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                }
            }
            Err(e) => {
                self.error = Some(Invalid::new(
                    InvalidKind::Body,
                    format!("body cannot be serialized as JSON: {e}"),
                ))
            }
        }
        self
    }

    /// A body: bytes (replayable), or any [`Body`]: a file
    /// ([`Body::from_file`], re-opened for a replay), a one-shot stream or
    /// reader (sent once, never replayed).
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL with the query appended.
    pub fn full_url(&self) -> String {
        if self.query.is_empty() {
            return self.url.clone();
        }
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query.iter())
            .finish();
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{q}", self.url)
    }

    pub(super) fn into_http(self, target: Option<Target>) -> Result<Request<Body>, Error> {
        let mut req = self.into_request(target.is_some())?;
        if let Some(t) = target {
            req.extensions_mut().insert(t);
        }
        Ok(req)
    }

    /// The request as sent: to an absolute URL, or (`relative`, for a
    /// service client's [`Target`], which the caller carries) to a path
    /// under the endpoint.
    pub(super) fn into_request(self, relative: bool) -> Result<Request<Body>, Error> {
        if let Some(e) = self.error {
            return Err(Error::Validation(e));
        }
        // the URL text moves into the request: no copy unless a query or a
        // leading '/' is added
        let url = if self.query.is_empty() {
            self.url
        } else {
            self.full_url()
        };
        let absolute = url.starts_with("http://") || url.starts_with("https://");
        if !relative && !absolute {
            return Err(Error::invalid(
                InvalidKind::Url,
                format!(
                    "'{}' is not an absolute URL (http:// or https://); a path needs a service client",
                    apiclient_errors::redact::redact_url(&url)
                ),
            ));
        }
        let uri_text = if relative && !absolute && !url.starts_with('/') {
            format!("/{url}")
        } else {
            url
        };
        // the text becomes the URI's bytes (no copy, and no copy of the
        // URI made: the call keeps this one, and the header a copy would
        // share its bytes by is not allocated); the text of one that may
        // not parse is kept for the error
        // (the bytes `http` refuses in a path or a query, and more: any
        // byte past ASCII, a '"' in a path; a length over its limit)
        let refused = |b: u8| !b.is_ascii_graphic() || matches!(b, b'"' | b'<' | b'>' | b'`');
        let doubtful = (absolute
            || uri_text.len() >= usize::from(u16::MAX - 1)
            || uri_text.bytes().any(refused))
        .then(|| uri_text.clone());
        let uri = http::Uri::from_maybe_shared(bytes::Bytes::from(uri_text)).map_err(|e| {
            let url = doubtful
                .as_deref()
                .map(apiclient_errors::redact::redact_url)
                .unwrap_or_default();
            Error::invalid(
                InvalidKind::Url,
                format!("invalid request URL '{url}': {e}"),
            )
        })?;
        let mut req = Request::new(self.body);
        *req.method_mut() = self.method;
        *req.uri_mut() = uri;
        *req.headers_mut() = self.headers;
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Query {
        status: &'static str,
        name: Option<&'static str>,
        tags: Vec<&'static str>,
        limit: u32,
        marker: Option<&'static str>,
    }

    /// A relative URL becomes the request's URI as it was written (a '/'
    /// put first when it has none); one that is no URI is a typed error
    /// that names it, its secrets hidden.
    #[test]
    fn a_relative_url_is_the_request_uri_or_a_typed_error() {
        let req = ApiRequest::get("/servers/x?limit=2")
            .into_request(true)
            .unwrap();
        assert_eq!(req.uri(), "/servers/x?limit=2");
        let copy = crate::layers::clone_request(&req).unwrap();
        assert_eq!(copy.uri(), req.uri());
        let req = ApiRequest::get("servers").into_request(true).unwrap();
        assert_eq!(req.uri(), "/servers");
        let e = ApiRequest::get("/servers/a b?temp_url_sig=s3cr3t")
            .into_request(true)
            .unwrap_err();
        assert_eq!(e.invalid_kind(), Some(InvalidKind::Url), "{e}");
        let text = e.to_string();
        assert!(text.contains("/servers/a b"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        // every text `http` refuses is named: its refused bytes in a
        // path or a query, a length over its limit, a bad absolute URL
        let long = format!("/{}", "a".repeat(usize::from(u16::MAX)));
        for (url, relative) in [
            ("/servers/<x>", true),
            ("/servers/`x`", true),
            ("/servers?name=\"x\"", true),
            ("/servers?name=<x>", true),
            ("/servers/\u{1}", true),
            (long.as_str(), true),
            ("http://[::1/x", false),
        ] {
            let e = ApiRequest::get(url).into_request(relative).unwrap_err();
            assert_eq!(e.invalid_kind(), Some(InvalidKind::Url), "{e}");
            let shown = &url[..url.len().min(40)];
            assert!(e.to_string().contains(shown), "{url}: {e}");
        }
    }

    #[test]
    fn a_query_keeps_its_field_order() {
        let q = Query {
            status: "ACTIVE",
            name: None,
            tags: vec!["a", "b"],
            limit: 2,
            marker: Some("m"),
        };
        let req = ApiRequest::get("/servers").query_of(&q);
        assert_eq!(
            req.full_url(),
            "/servers?status=ACTIVE&tags=a&tags=b&limit=2&marker=m"
        );
        assert!(req.error.is_none());
        let unit = ApiRequest::get("/servers").query_of(&());
        assert_eq!(unit.full_url(), "/servers");
        assert!(unit.error.is_none());
        let pairs = ApiRequest::get("/servers").query_of(&[("z", "1"), ("a", "2")]);
        assert_eq!(
            pairs.error.map(|e| e.kind()),
            Some(InvalidKind::Query),
            "not a map"
        );
    }
}
