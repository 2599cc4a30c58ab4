//! [`ApiResponse`]: a buffered answer, and the request id an answer carries.

use apiclient_errors::Error;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::layers::curl_log::{redact_body, redact_headers};
use crate::microversion::Microversion;

/// A buffered response. `Debug` redacts as the curl log does.
#[derive(Clone)]
pub struct ApiResponse {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) method: Method,
    pub(super) uri: http::Uri,
}

impl std::fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiResponse")
            .field("status", &self.status)
            .field("url", &apiclient_errors::redact::redact_url(&self.url()))
            .field("headers", &redact_headers(&self.headers))
            .field("body", &redact_body(&self.body))
            .finish()
    }
}

impl ApiResponse {
    /// The absolute URL that answered.
    pub fn url(&self) -> String {
        self.uri.to_string()
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The headers, taken out: the response keeps none after. To keep
    /// them apart from it, or to free them before its body is parsed (the
    /// parse's own small allocations then find the memory they leave).
    pub fn take_headers(&mut self) -> HeaderMap {
        std::mem::take(&mut self.headers)
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The microversion the service says it answered with, if it says.
    pub fn microversion(&self) -> Option<Microversion> {
        crate::microversion::from_response(&self.headers)
    }

    /// The `x-openstack-request-id` (or `x-compute-request-id`, Swift's
    /// `x-trans-id`), if any.
    pub fn request_id(&self) -> Option<&str> {
        request_id_of(&self.headers)
    }

    /// Whether the response is JSON (by content type).
    pub fn is_json(&self) -> bool {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"))
    }

    /// Decode the body as JSON into `T`, the response consumed: its
    /// headers are freed before the body is parsed (with many calls in
    /// flight, the parse's small allocations then find the memory they
    /// leave). An error is [`json`](Self::json)'s.
    pub fn into_json<T: DeserializeOwned>(mut self) -> Result<T, Error> {
        drop(self.take_headers());
        self.json()
    }

    /// Decode the body as JSON into `T` (the response kept: see also
    /// [`into_json`](Self::into_json)).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::InvalidResponse {
            message: format!("the {} response body is not the JSON expected", self.method),
            url: self.url(),
            source: Some(Box::new(e)),
        })
    }
}

/// `x-openstack-request-id`, as a name made once (a lookup by `&str` parses
/// the name on every call).
pub(crate) const X_OPENSTACK_REQUEST_ID: http::HeaderName =
    http::HeaderName::from_static("x-openstack-request-id");

/// The names services give the request id, in the order they are looked for.
const REQUEST_ID_HEADERS: [http::HeaderName; 3] = [
    X_OPENSTACK_REQUEST_ID,
    http::HeaderName::from_static("x-compute-request-id"),
    http::HeaderName::from_static("x-trans-id"),
];

/// The request id an answer carries, under any of the names services use.
pub(super) fn request_id_of(headers: &HeaderMap) -> Option<&str> {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|h| headers.get(h))
        .and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers taken out are the response's; it keeps none after, and
    /// its body, status and URL are as they were.
    #[test]
    fn taken_headers_leave_the_rest_of_the_response() {
        let mut headers = HeaderMap::new();
        headers.insert(X_OPENSTACK_REQUEST_ID, "req-1".parse().unwrap());
        let mut resp = ApiResponse {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(b"{\"a\":1}"),
            method: Method::GET,
            uri: http::Uri::from_static("http://h/v1/a"),
        };
        assert_eq!(resp.request_id(), Some("req-1"));
        let taken = resp.take_headers();
        assert_eq!(taken[&X_OPENSTACK_REQUEST_ID], "req-1");
        assert!(resp.headers().is_empty());
        assert_eq!(resp.request_id(), None);
        assert_eq!(resp.json::<serde_json::Value>().unwrap()["a"], 1);
        assert_eq!(
            (resp.status(), resp.url().as_str()),
            (StatusCode::OK, "http://h/v1/a")
        );
    }

    /// `into_json` decodes as `json` does, and fails as it does: the same
    /// typed error, naming the method and the URL.
    #[test]
    fn into_json_decodes_and_fails_as_json_does() {
        let response = |body: &'static [u8]| ApiResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body),
            method: Method::GET,
            uri: http::Uri::from_static("http://h/v1/a"),
        };
        let good = response(b"{\"a\":[1,2]}");
        assert_eq!(
            good.json::<serde_json::Value>().unwrap(),
            good.clone().into_json::<serde_json::Value>().unwrap()
        );
        let bad = response(b"{\"a\":");
        let kept = bad.json::<serde_json::Value>().unwrap_err().to_string();
        let consumed = bad.into_json::<serde_json::Value>().unwrap_err();
        assert!(
            matches!(consumed, Error::InvalidResponse { .. }),
            "{consumed:?}"
        );
        assert_eq!(consumed.to_string(), kept);
        assert!(
            kept.contains("GET") && kept.contains("http://h/v1/a"),
            "{kept}"
        );
    }
}
