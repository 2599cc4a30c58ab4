//! The HTTP error type and its status kinds.

use std::fmt;
use std::time::Duration;

macro_rules! kinds {
    ($( $(#[$doc:meta])* $name:ident = $status:literal, $msg:literal; )*) => {
        /// The kind of an HTTP error: one per status the reference names, plus 429.
        ///
        /// Statuses without their own kind map to [`HttpErrorKind::OtherClientError`],
        /// [`HttpErrorKind::OtherServerError`] or [`HttpErrorKind::Other`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HttpErrorKind {
            $( $(#[$doc])* $name, )*
            /// A 4xx status without a kind of its own (Python's `HTTPClientError`).
            OtherClientError,
            /// A 5xx status without a kind of its own (Python's `HttpServerError`).
            OtherServerError,
            /// Any other status (Python's `HttpError`).
            Other,
        }

        impl HttpErrorKind {
            /// The kind for an HTTP status code.
            pub fn from_status(status: u16) -> Self {
                match status {
                    $( $status => HttpErrorKind::$name, )*
                    400..=499 => HttpErrorKind::OtherClientError,
                    500..=599 => HttpErrorKind::OtherServerError,
                    _ => HttpErrorKind::Other,
                }
            }

            /// The default message of this kind (e.g. "Not Found").
            pub fn default_message(self) -> &'static str {
                match self {
                    $( HttpErrorKind::$name => $msg, )*
                    HttpErrorKind::OtherClientError => "HTTP Client Error",
                    HttpErrorKind::OtherServerError => "HTTP Server Error",
                    HttpErrorKind::Other => "HTTP Error",
                }
            }
        }
    };
}

kinds! {
    /// 300
    MultipleChoices = 300, "Multiple Choices";
    /// 400
    BadRequest = 400, "Bad Request";
    /// 401
    Unauthorized = 401, "Unauthorized";
    /// 402
    PaymentRequired = 402, "Payment Required";
    /// 403
    Forbidden = 403, "Forbidden";
    /// 404
    NotFound = 404, "Not Found";
    /// 405
    MethodNotAllowed = 405, "Method Not Allowed";
    /// 406
    NotAcceptable = 406, "Not Acceptable";
    /// 407
    ProxyAuthenticationRequired = 407, "Proxy Authentication Required";
    /// 408
    RequestTimeout = 408, "Request Timeout";
    /// 409
    Conflict = 409, "Conflict";
    /// 410
    Gone = 410, "Gone";
    /// 411
    LengthRequired = 411, "Length Required";
    /// 412
    PreconditionFailed = 412, "Precondition Failed";
    /// 413
    RequestEntityTooLarge = 413, "Request Entity Too Large";
    /// 414
    RequestUriTooLong = 414, "Request-URI Too Long";
    /// 415
    UnsupportedMediaType = 415, "Unsupported Media Type";
    /// 416
    RequestedRangeNotSatisfiable = 416, "Requested Range Not Satisfiable";
    /// 417
    ExpectationFailed = 417, "Expectation Failed";
    /// 422
    UnprocessableEntity = 422, "Unprocessable Entity";
    /// 429 (not in the Python reference; added as keystoneauth and gophercloud do)
    TooManyRequests = 429, "Too Many Requests";
    /// 500
    InternalServerError = 500, "Internal Server Error";
    /// 501
    HttpNotImplemented = 501, "Not Implemented";
    /// 502
    BadGateway = 502, "Bad Gateway";
    /// 503
    ServiceUnavailable = 503, "Service Unavailable";
    /// 504
    GatewayTimeout = 504, "Gateway Timeout";
    /// 505
    HttpVersionNotSupported = 505, "HTTP Version Not Supported";
}

/// The class of an HTTP error, as the Python hierarchy groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpErrorClass {
    /// 3xx (`HTTPRedirection`).
    Redirection,
    /// 4xx (`HTTPClientError`).
    ClientError,
    /// 5xx (`HttpServerError`).
    ServerError,
    /// Anything else (`HttpError`).
    Other,
}

impl HttpErrorClass {
    /// The class of an HTTP status code.
    pub fn from_status(status: u16) -> Self {
        match status {
            300..=399 => HttpErrorClass::Redirection,
            400..=499 => HttpErrorClass::ClientError,
            500..=599 => HttpErrorClass::ServerError,
            _ => HttpErrorClass::Other,
        }
    }
}

/// An HTTP error response (Python's `HttpError` and its subclasses).
///
/// Displays as `<message> (HTTP <status>)`, followed by
/// ` (Request-ID: <id>)` when the server sent one: always one line, with
/// whitespace runs shown as one space and other control characters escaped
/// (a message from [`from_response`](crate::from_response) is already
/// clean: see there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub(crate) status: u16,
    pub(crate) message: String,
    pub(crate) details: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) headers: http::HeaderMap,
    pub(crate) api_errors: Vec<ApiError>,
}

/// One entry of an API-SIG error body (`{"errors": [{...}]}`, as Placement,
/// Ironic and others send it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status it states.
    pub status: Option<u16>,
    /// A machine-readable code (`placement.concurrent_update`).
    pub code: Option<String>,
    /// A short title ("Conflict").
    pub title: Option<String>,
    /// What happened.
    pub detail: Option<String>,
    /// Its request id.
    pub request_id: Option<String>,
}

impl HttpError {
    /// An error for `status` with the kind's default message and nothing else.
    pub fn new(status: u16) -> Self {
        HttpError {
            status,
            message: HttpErrorKind::from_status(status)
                .default_message()
                .to_string(),
            details: None,
            method: None,
            url: None,
            request_id: None,
            retry_after: None,
            headers: http::HeaderMap::new(),
            api_errors: Vec::new(),
        }
    }

    /// Replace the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Set the details.
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// Set the request method and URL (its password and secret query values
    /// are redacted).
    pub fn with_request(mut self, method: impl Into<String>, url: impl Into<String>) -> Self {
        let url: String = url.into();
        self.method = Some(method.into());
        self.url = Some(crate::redact::redact_url(&url).into_owned());
        self
    }

    /// Keep the response headers (credential headers are never kept).
    pub fn with_headers(mut self, headers: &http::HeaderMap) -> Self {
        self.headers = headers
            .iter()
            .filter(|(k, _)| !crate::redact::is_sensitive_header(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self
    }

    /// Every entry of an API-SIG error body, in order (empty for other shapes).
    pub fn api_errors(&self) -> &[ApiError] {
        &self.api_errors
    }

    /// The API-SIG `code` of the first error (`placement.concurrent_update`), if any.
    pub fn code(&self) -> Option<&str> {
        self.api_errors.first().and_then(|e| e.code.as_deref())
    }

    /// The response headers (without credential headers).
    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    /// The `Location` of a redirection response, if it had one.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// Set the request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Set the retry-after delay.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The HTTP status as `http::StatusCode` (`None` for a number outside
    /// 100–999, which a server can send but `http` does not represent).
    pub fn status_code(&self) -> Option<http::StatusCode> {
        http::StatusCode::from_u16(self.status).ok()
    }

    /// The kind of this error.
    pub fn kind(&self) -> HttpErrorKind {
        HttpErrorKind::from_status(self.status)
    }

    /// The class of this error.
    pub fn class(&self) -> HttpErrorClass {
        HttpErrorClass::from_status(self.status)
    }

    /// The message: the server's (from [`from_response`](crate::from_response),
    /// one clean line), or the kind's default.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Details: the server's, or the response body text (raw: markup,
    /// newlines and all).
    pub fn details(&self) -> Option<&str> {
        self.details.as_deref()
    }

    /// The request method, when known.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// The request URL, when known.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The request id the server sent (`x-openstack-request-id`, else `x-compute-request-id`).
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// How long the server asked the client to wait (`Retry-After`), on any status.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether this is a 3xx.
    pub fn is_redirection(&self) -> bool {
        self.class() == HttpErrorClass::Redirection
    }

    /// Whether this is a 4xx.
    pub fn is_client_error(&self) -> bool {
        self.class() == HttpErrorClass::ClientError
    }

    /// Whether this is a 5xx.
    pub fn is_server_error(&self) -> bool {
        self.class() == HttpErrorClass::ServerError
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = crate::line::one_line(&self.message);
        write!(f, "{message} (HTTP {})", self.status)?;
        if let Some(id) = &self.request_id {
            write!(f, " (Request-ID: {})", crate::line::one_line(id))?;
        }
        Ok(())
    }
}

impl std::error::Error for HttpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_status_has_its_kind() {
        let expected = [
            (300, "Multiple Choices"),
            (400, "Bad Request"),
            (401, "Unauthorized"),
            (402, "Payment Required"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (405, "Method Not Allowed"),
            (406, "Not Acceptable"),
            (407, "Proxy Authentication Required"),
            (408, "Request Timeout"),
            (409, "Conflict"),
            (410, "Gone"),
            (411, "Length Required"),
            (412, "Precondition Failed"),
            (413, "Request Entity Too Large"),
            (414, "Request-URI Too Long"),
            (415, "Unsupported Media Type"),
            (416, "Requested Range Not Satisfiable"),
            (417, "Expectation Failed"),
            (422, "Unprocessable Entity"),
            (429, "Too Many Requests"),
            (500, "Internal Server Error"),
            (501, "Not Implemented"),
            (502, "Bad Gateway"),
            (503, "Service Unavailable"),
            (504, "Gateway Timeout"),
            (505, "HTTP Version Not Supported"),
        ];
        for (status, msg) in expected {
            let kind = HttpErrorKind::from_status(status);
            assert!(
                !matches!(
                    kind,
                    HttpErrorKind::OtherClientError
                        | HttpErrorKind::OtherServerError
                        | HttpErrorKind::Other
                ),
                "{status} has no kind"
            );
            assert_eq!(kind.default_message(), msg);
            assert_eq!(
                HttpError::new(status).to_string(),
                format!("{msg} (HTTP {status})")
            );
        }
    }

    #[test]
    fn unmapped_statuses_fall_back_to_their_class() {
        assert_eq!(
            HttpErrorKind::from_status(418),
            HttpErrorKind::OtherClientError
        );
        assert_eq!(
            HttpErrorKind::from_status(599),
            HttpErrorKind::OtherServerError
        );
        assert_eq!(HttpErrorKind::from_status(200), HttpErrorKind::Other);
        assert!(HttpError::new(418).is_client_error());
        assert!(HttpError::new(599).is_server_error());
        assert!(HttpError::new(300).is_redirection());
        assert_eq!(HttpError::new(600).class(), HttpErrorClass::Other);
        assert_eq!(
            HttpError::new(418).to_string(),
            "HTTP Client Error (HTTP 418)"
        );
    }

    #[test]
    fn display_appends_request_id() {
        let e = HttpError::new(404).with_request_id("req-abc");
        assert_eq!(e.to_string(), "Not Found (HTTP 404) (Request-ID: req-abc)");
    }
}
