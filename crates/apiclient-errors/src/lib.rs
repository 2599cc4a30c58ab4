//! Typed errors for OpenStack-style REST API clients.
//!
//! This crate is the bottom of the apiclient-rs stack. It mirrors the Python
//! `apiclient.exceptions` hierarchy as Rust types: one [`Error`] root (the
//! Python `ClientException`), with [`AuthorizationFailure`],
//! [`ConnectionError`], [`EndpointError`] and [`HttpError`] as the families a
//! caller usually matches on, and predicates (`is_not_found()`,
//! `is_client_error()`, ...) that answer both "is this exactly X" and "is this
//! any error of the family".
//!
//! [`from_response`] turns an HTTP error response into an [`HttpError`],
//! understanding every JSON error shape OpenStack services send.
//!
//! ```
//! use apiclient_errors::{from_response, HttpErrorKind};
//! use http::HeaderMap;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("content-type", "application/json".parse().unwrap());
//! headers.insert("x-openstack-request-id", "req-1234".parse().unwrap());
//! let body = br#"{"itemNotFound": {"message": "Instance x could not be found.", "code": 404}}"#;
//!
//! let err = from_response(404, &headers, body, "GET", "http://nova/v2.1/servers/x");
//! assert_eq!(err.kind(), HttpErrorKind::NotFound);
//! assert!(err.is_client_error());
//! assert_eq!(err.request_id(), Some("req-1234"));
//! assert_eq!(
//!     err.to_string(),
//!     "Instance x could not be found. (HTTP 404) (Request-ID: req-1234)"
//! );
//! ```
#![warn(missing_docs)]

mod http_error;
mod line;
mod parse;
pub mod redact;

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

pub use http_error::{ApiError, HttpError, HttpErrorClass, HttpErrorKind};
pub use parse::{from_response, parse_retry_after};

/// Not an API: what the crates of apiclient-rs share below their own.
#[doc(hidden)]
pub mod __private {
    pub use crate::parse::members_in_order;
}

/// A boxed error, as errors travel inside tower stacks.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The result type of every apiclient-rs crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The root of every error apiclient-rs returns (Python's `ClientException`).
///
/// Match on the variants for a family, or use the `is_*` predicates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Authentication could not be performed or configured.
    #[error(transparent)]
    Authorization(#[from] AuthorizationFailure),
    /// A command (CLI-level) error with a message for the user.
    ///
    /// No library crate returns it any more: a missing resource is a 404-kind
    /// error (`is_not_found()`), more than one match [`Error::NoUniqueMatch`];
    /// a command-line program keeps its own errors beside this type.
    #[deprecated(
        since = "0.1.0",
        note = "no library returns it; match `is_not_found()` / `NoUniqueMatch`, and give a CLI its own error type"
    )]
    #[error("{0}")]
    Command(String),
    /// The server could not be reached, or the transport failed.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// No endpoint, or more than one, matched a catalog query.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// Required arguments were not supplied.
    #[error("Missing arguments: {}", missing.join(", "))]
    MissingArgs {
        /// The missing argument names.
        missing: Vec<String>,
    },
    /// More than one resource matched a query expected to be unique: which
    /// resource, which query, how many.
    #[error(transparent)]
    NoUniqueMatch(Ambiguous),
    /// A requested API version (a client version, a microversion range) is
    /// not one the client or the service offers.
    #[error(transparent)]
    UnsupportedVersion(Unsupported),
    /// Input was refused before anything was sent: what kind of input
    /// ([`Invalid::kind`]) and why.
    #[error(transparent)]
    Validation(Invalid),
    /// The server answered with an HTTP error status.
    #[error(transparent)]
    Http(Box<HttpError>),
    /// The response could not be decoded as expected (not the JSON asked for).
    #[error("invalid response{}: {message}", from_url(url))]
    InvalidResponse {
        /// What was wrong.
        message: String,
        /// The URL that was requested.
        url: String,
        /// The underlying decode error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The response body was larger than the configured limit.
    #[error(
        "response body from {} exceeds the limit of {limit} bytes",
        redact::redact_url(url)
    )]
    ResponseTooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The URL that was requested.
        url: String,
    },
    /// The server answered 401 to a request whose body was a one-shot
    /// stream: the token was renewed, but the body cannot be sent again.
    #[error(
        "the server at {} rejected the token (HTTP 401) and the streamed request body cannot be replayed; the token was renewed: send the request again with a fresh body",
        redact::redact_url(url)
    )]
    BodyNotReplayable {
        /// The URL that answered 401.
        url: String,
    },
    /// A local file or stream failed: the source of an upload could not be
    /// read, or the destination of a download written. Never a connection
    /// error: the server is not to blame.
    #[error("cannot {operation} {}", path.as_deref().map_or_else(|| "the local stream".to_string(), |p| p.display().to_string()))]
    Io {
        /// What was being done: `read` or `write`.
        operation: &'static str,
        /// The local path, when there is one.
        path: Option<std::path::PathBuf>,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A body's digest is not the one the server (or the caller) announced:
    /// the data was corrupted on the way or at rest.
    #[error(
        "the {algorithm} digest of the body from {} is {actual}, expected {expected}",
        redact::redact_url(url)
    )]
    DigestMismatch {
        /// The algorithm (`md5`, `sha256`, `sha512`).
        algorithm: &'static str,
        /// The digest announced (hex).
        expected: String,
        /// The digest of the bytes received (hex).
        actual: String,
        /// The URL of the body.
        url: String,
    },
    /// Configuration (options, clouds.yaml, certificates) is invalid.
    #[error("invalid configuration: {message}")]
    Config {
        /// What was wrong.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

/// What kind of input an [`Error::Validation`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidKind {
    /// A URL or path: not absolute where it must be, not parseable, of the
    /// wrong API version.
    Url,
    /// A header name or value (or a value that must travel in one).
    Header,
    /// A query that does not serialize to name/value pairs.
    Query,
    /// A request body that cannot be serialized, or is not of the shape the
    /// call takes (a JSON-Patch that is not an array of operations).
    Body,
    /// A resource id that cannot name one resource (empty, `.`, `..`).
    Id,
    /// A microversion that is not `MAJOR.MINOR` or `latest`.
    Microversion,
    /// An interface name that is not public, internal or admin.
    Interface,
    /// An authentication scope: more than one given, or one the API has not.
    Scope,
    /// An authentication plugin or method that cannot do what was asked
    /// (unknown, not built in, not Keystone, not on this identity API).
    Plugin,
    /// A token that would go to an origin that is not the endpoint's nor
    /// any catalog endpoint's: refused, and not sent.
    ForeignOrigin,
    /// A resource's data that does not have the shape its type declares.
    Shape,
    /// A call made in a state that does not allow it (a resource whose
    /// manager is gone, an image that is not active yet).
    State,
    /// A fake's expectation that a request did not meet (`apiclient-fake`).
    Expectation,
    /// Any other refused input.
    Other,
}

/// The payload of [`Error::Validation`]: the kind of input refused and a
/// message for a person.
///
/// ```
/// use apiclient_errors::{Error, Invalid, InvalidKind};
/// let e = Error::invalid(InvalidKind::Microversion, "invalid microversion '2.x'");
/// assert_eq!(e.invalid_kind(), Some(InvalidKind::Microversion));
/// assert!(matches!(&e, Error::Validation(i) if i.kind() == InvalidKind::Microversion));
/// assert_eq!(e.to_string(), "invalid microversion '2.x'");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    kind: InvalidKind,
    message: String,
}

impl Invalid {
    /// Input of `kind` refused, with `message` for a person.
    pub fn new(kind: InvalidKind, message: impl Into<String>) -> Self {
        Invalid {
            kind,
            message: message.into(),
        }
    }

    /// What kind of input was refused.
    pub fn kind(&self) -> InvalidKind {
        self.kind
    }

    /// Why, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The payload of [`Error::NoUniqueMatch`]: more than one resource matched
/// a query that was to name one.
///
/// ```
/// use apiclient_errors::{Ambiguous, Error};
/// let e = Error::from(Ambiguous::new("server", "'web'").with_count(2));
/// assert!(matches!(&e, Error::NoUniqueMatch(a) if a.count() == Some(2)));
/// assert_eq!(
///     e.to_string(),
///     "Multiple server matches found for 'web' (2), use an ID to be more specific."
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Multiple {resource} matches found for {query}{}, use an ID to be more specific.",
    .count.map(|n| format!(" ({n})")).unwrap_or_default()
)]
pub struct Ambiguous {
    resource: String,
    query: String,
    count: Option<usize>,
}

impl Ambiguous {
    /// More than one `resource` (its singular name) matched `query` (as a
    /// person reads it: `'web'`, `{'name': 'web'}`).
    pub fn new(resource: impl Into<String>, query: impl Into<String>) -> Self {
        Ambiguous {
            resource: resource.into(),
            query: query.into(),
            count: None,
        }
    }

    /// How many matched, when that is known.
    pub fn with_count(mut self, n: usize) -> Self {
        self.count = Some(n);
        self
    }

    /// The resource's singular name.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The query, as a person reads it.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// How many matched, when that is known.
    pub fn count(&self) -> Option<usize> {
        self.count
    }
}

/// Which version an [`Unsupported`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VersionKind {
    /// A client (major API) version a program chose among those it has
    /// (Python's `get_client_class`).
    Client,
    /// A microversion range none of the service's versions overlaps.
    Microversion,
}

/// The payload of [`Error::UnsupportedVersion`]: the version asked for and
/// those on offer.
///
/// ```
/// use apiclient_errors::{Error, Unsupported, VersionKind};
/// let e = Error::from(Unsupported::new(VersionKind::Client, "compute", "3", ["1", "2"]));
/// assert!(matches!(&e, Error::UnsupportedVersion(u) if u.offered() == ["1", "2"]));
/// assert_eq!(e.to_string(), "Invalid compute client version '3'. Must be one of: 1, 2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    kind: VersionKind,
    service: String,
    requested: String,
    offered: Vec<String>,
}

impl Unsupported {
    /// `requested` (a version, or a range `MIN..MAX`) of `kind` is not
    /// among `offered` for `service` (an API or service type name).
    pub fn new<S: Into<String>>(
        kind: VersionKind,
        service: impl Into<String>,
        requested: impl Into<String>,
        offered: impl IntoIterator<Item = S>,
    ) -> Self {
        Unsupported {
            kind,
            service: service.into(),
            requested: requested.into(),
            offered: offered.into_iter().map(Into::into).collect(),
        }
    }

    /// Which version this is about.
    pub fn kind(&self) -> VersionKind {
        self.kind
    }

    /// The API or service type.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// What was asked for.
    pub fn requested(&self) -> &str {
        &self.requested
    }

    /// What is on offer (empty: nothing).
    pub fn offered(&self) -> &[String] {
        &self.offered
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            VersionKind::Client => write!(
                f,
                "Invalid {} client version '{}'. Must be one of: {}",
                self.service,
                self.requested,
                self.offered.join(", ")
            ),
            VersionKind::Microversion => write!(
                f,
                "the {} service supports no microversion in {} (it offers {})",
                self.service,
                self.requested,
                if self.offered.is_empty() {
                    "none".to_string()
                } else {
                    self.offered.join(", ")
                }
            ),
        }
    }
}

impl StdError for Unsupported {}

impl From<Ambiguous> for Error {
    fn from(e: Ambiguous) -> Self {
        Error::NoUniqueMatch(e)
    }
}

impl From<Unsupported> for Error {
    fn from(e: Unsupported) -> Self {
        Error::UnsupportedVersion(e)
    }
}

/// ` from <url>` (redacted), or nothing when there is no URL.
fn from_url(url: &str) -> String {
    if url.is_empty() {
        String::new()
    } else {
        format!(" from {}", redact::redact_url(url))
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::Validation(e)
    }
}

impl From<HttpError> for Error {
    fn from(e: HttpError) -> Self {
        Error::Http(Box::new(e))
    }
}

impl Error {
    /// A configuration error with a message and no cause.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
            source: None,
        }
    }

    /// Input of `kind` refused before anything was sent
    /// ([`Error::Validation`]).
    pub fn invalid(kind: InvalidKind, message: impl Into<String>) -> Self {
        Error::Validation(Invalid::new(kind, message))
    }

    /// A response that is not what the API promises (a body of the wrong
    /// shape, a missing header), said by the service client that read it.
    ///
    /// ```
    /// use apiclient_errors::Error;
    /// let e = Error::invalid_response("the volume has no id");
    /// assert_eq!(e.to_string(), "invalid response: the volume has no id");
    /// ```
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Error::InvalidResponse {
            message: message.into(),
            url: String::new(),
            source: None,
        }
    }

    /// The kind of refused input, if this is an [`Error::Validation`].
    pub fn invalid_kind(&self) -> Option<InvalidKind> {
        match self {
            Error::Validation(i) => Some(i.kind()),
            _ => None,
        }
    }

    /// The HTTP error, if this is one.
    pub fn as_http(&self) -> Option<&HttpError> {
        match self {
            Error::Http(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status, if this is an HTTP error.
    pub fn status(&self) -> Option<u16> {
        self.as_http().map(HttpError::status)
    }

    /// The HTTP status as `http::StatusCode`, if this is an HTTP error.
    ///
    /// ```
    /// use apiclient_errors::{Error, HttpError};
    /// let e = Error::from(HttpError::new(409));
    /// assert_eq!(e.status_code(), Some(http::StatusCode::CONFLICT));
    /// ```
    pub fn status_code(&self) -> Option<http::StatusCode> {
        self.as_http().and_then(HttpError::status_code)
    }

    /// The HTTP error kind, if this is an HTTP error.
    pub fn http_kind(&self) -> Option<HttpErrorKind> {
        self.as_http().map(HttpError::kind)
    }

    /// The server's request id, if this is an HTTP error that carried one.
    pub fn request_id(&self) -> Option<&str> {
        self.as_http().and_then(HttpError::request_id)
    }

    /// The API-SIG error `code` (`placement.concurrent_update`), if this is
    /// an HTTP error whose body had one.
    pub fn code(&self) -> Option<&str> {
        self.as_http().and_then(HttpError::code)
    }

    /// The server's `Retry-After`, if this is an HTTP error that carried one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.as_http().and_then(HttpError::retry_after)
    }

    /// Whether this is an HTTP error.
    pub fn is_http(&self) -> bool {
        self.as_http().is_some()
    }

    /// Whether this is HTTP 404.
    pub fn is_not_found(&self) -> bool {
        self.http_kind() == Some(HttpErrorKind::NotFound)
    }

    /// Whether this is HTTP 409 (a conflict: the resource is not in a state
    /// that allows the call, or a concurrent update won).
    pub fn is_conflict(&self) -> bool {
        self.http_kind() == Some(HttpErrorKind::Conflict)
    }

    /// Whether this is HTTP 401.
    pub fn is_unauthorized(&self) -> bool {
        self.http_kind() == Some(HttpErrorKind::Unauthorized)
    }

    /// Whether this is any HTTP 4xx error (Python's `HTTPClientError`).
    pub fn is_client_error(&self) -> bool {
        self.as_http().is_some_and(HttpError::is_client_error)
    }

    /// Whether this is any HTTP 5xx error (Python's `HttpServerError`).
    pub fn is_server_error(&self) -> bool {
        self.as_http().is_some_and(HttpError::is_server_error)
    }

    /// Whether this is an [`AuthorizationFailure`] of any kind.
    pub fn is_authorization_failure(&self) -> bool {
        matches!(self, Error::Authorization(_))
    }

    /// Whether this is an [`EndpointError`] of any kind.
    pub fn is_endpoint_error(&self) -> bool {
        matches!(self, Error::Endpoint(_))
    }

    /// Whether this is a [`ConnectionError`] of any kind.
    pub fn is_connection_error(&self) -> bool {
        matches!(self, Error::Connection(_))
    }

    /// Whether this is a timeout (connect or total request).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Connection(c) if c.is_timeout())
    }
}

/// Authentication failed or could not be attempted (Python's `AuthorizationFailure`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationFailure {
    /// Options a plugin needs were not given (`AuthPluginOptionsMissing`).
    #[error("Authentication failed. Missing options: {}", opt_names.join(", "))]
    OptionsMissing {
        /// The missing option names, in the plugin's declaration order.
        opt_names: Vec<String>,
    },
    /// No auth type was named and no plugin's options suffice: `missing`
    /// are those of the closest plugin (usually `password`).
    #[error(
        "Authentication failed. Missing options: {}",
        missing.join(", ")
    )]
    NoAuthConfigured {
        /// The options the closest plugin still needs.
        missing: Vec<String>,
    },
    /// No auth plugin is registered under that name (`AuthSystemNotFound`).
    #[error("AuthSystemNotFound: '{auth_system}'")]
    SystemNotFound {
        /// The name that was asked for.
        auth_system: String,
    },
    /// Multi-factor authentication: the methods given were accepted, but
    /// the user's rules want more. Keystone answered 401 with an auth
    /// receipt; authenticating again with the receipt and one of the
    /// `required` method sets (minus what is done) completes it.
    #[error(
        "Authentication needs another factor: {} accepted; complete it with {}",
        if methods.is_empty() { "nothing".to_string() } else { methods.join(" and ") },
        required.iter().map(|set| set.join(" + ")).collect::<Vec<_>>().join(", or ")
    )]
    ReceiptRequired {
        /// The receipt (`Openstack-Auth-Receipt`) to send with the next attempt.
        receipt: Receipt,
        /// The methods already satisfied.
        methods: Vec<String>,
        /// The method sets any one of which completes the authentication.
        required: Vec<Vec<String>>,
    },
    /// A person's sign-in (a device code, a browser) was refused: the user
    /// declined, or the provider did for them (OAuth's `access_denied`).
    #[error(
        "The sign-in was refused at {} (access_denied)",
        redact::redact_url(at)
    )]
    SignInRefused {
        /// Where: the provider's endpoint that said so.
        at: String,
    },
    /// A sign-in's device code expired before the user approved it (OAuth's
    /// `expired_token`).
    #[error(
        "The device code expired before the sign-in was approved at {} (expired_token)",
        redact::redact_url(at)
    )]
    SignInExpired {
        /// Where: the provider's token endpoint.
        at: String,
    },
    /// Any other authentication failure.
    #[error("{0}")]
    Other(String),
}

/// An auth receipt of multi-factor authentication: a short-lived credential,
/// so `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt(String);

impl Receipt {
    /// A receipt from the `Openstack-Auth-Receipt` header.
    pub fn new(value: impl Into<String>) -> Self {
        Receipt(value.into())
    }

    /// The receipt itself, to send back to Keystone.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receipt([REDACTED])")
    }
}

impl AuthorizationFailure {
    /// The missing methods of a [`ReceiptRequired`](Self::ReceiptRequired):
    /// for each required set, what is not yet done (sets fully done are skipped).
    pub fn missing_methods(&self) -> Vec<Vec<String>> {
        match self {
            AuthorizationFailure::ReceiptRequired {
                methods, required, ..
            } => required
                .iter()
                .map(|set| {
                    set.iter()
                        .filter(|m| !methods.contains(m))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .filter(|set| !set.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl AuthorizationFailure {
    /// `AuthPluginOptionsMissing` for these names.
    pub fn options_missing<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        AuthorizationFailure::OptionsMissing {
            opt_names: names.into_iter().map(Into::into).collect(),
        }
    }
}

/// What went wrong on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionErrorKind {
    /// The server refused the connection (`ConnectionRefused`).
    Refused,
    /// The host name could not be resolved.
    Dns,
    /// Connecting took longer than the connect timeout.
    ConnectTimeout,
    /// The whole request took longer than the request timeout.
    Timeout,
    /// The operation (the call with its retries, waits and re-authentication)
    /// did not finish within its deadline.
    Deadline,
    /// The TLS handshake or certificate verification failed.
    Tls,
    /// The connection was closed or reset before the response was complete.
    Closed,
    /// The response head (status line and headers) was larger than allowed.
    HeadTooLarge,
    /// The response was not valid HTTP.
    Malformed,
    /// The proxy refused or failed to open a tunnel (`CONNECT`).
    Proxy,
    /// Any other transport failure.
    Other,
}

impl ConnectionErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ConnectionErrorKind::Refused => "connection refused",
            ConnectionErrorKind::Dns => "name resolution failed",
            ConnectionErrorKind::ConnectTimeout => "connect timed out",
            ConnectionErrorKind::Timeout => "request timed out",
            ConnectionErrorKind::Deadline => "the operation did not finish within its deadline",
            ConnectionErrorKind::Tls => "TLS failure",
            ConnectionErrorKind::Closed => "connection closed before the response was complete",
            ConnectionErrorKind::HeadTooLarge => {
                "the response head (status line and headers) is too large"
            }
            ConnectionErrorKind::Malformed => "the response is not valid HTTP",
            ConnectionErrorKind::Proxy => "the proxy refused or failed the tunnel",
            ConnectionErrorKind::Other => "transport error",
        }
    }
}

/// The server could not be reached or the transport failed (Python's `ConnectionError`).
///
/// The message names the URL and the kind; the transport's own error is the
/// [`source`](std::error::Error::source), never part of the message.
#[derive(Debug)]
pub struct ConnectionError {
    kind: ConnectionErrorKind,
    url: String,
    source: Option<BoxError>,
}

impl ConnectionError {
    /// A connection error of `kind` while requesting `url` (its password
    /// and secret query values are redacted).
    pub fn new(
        kind: ConnectionErrorKind,
        url: impl Into<String>,
        source: Option<BoxError>,
    ) -> Self {
        let url: String = url.into();
        ConnectionError {
            kind,
            url: redact::redact_url(&url).into_owned(),
            source,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ConnectionErrorKind {
        self.kind
    }

    /// The URL that was requested.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the server refused the connection.
    pub fn is_refused(&self) -> bool {
        self.kind == ConnectionErrorKind::Refused
    }

    /// Whether a connect or request timeout fired.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.kind,
            ConnectionErrorKind::ConnectTimeout
                | ConnectionErrorKind::Timeout
                | ConnectionErrorKind::Deadline
        )
    }
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unable to reach {}: {}", self.url, self.kind.describe())
    }
}

impl StdError for ConnectionError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// A catalog query found no endpoint, or too many (Python's `EndpointException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// No endpoint matched (`EndpointNotFound`); the message names the query.
    #[error("{0}")]
    NotFound(String),
    /// More than one endpoint matched (`AmbiguousEndpoints`).
    #[error("AmbiguousEndpoints: [{}]", endpoints.iter().map(|e| format!("'{e}'")).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// The URLs of the endpoints that matched.
        endpoints: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_missing_message_lists_names_in_order() {
        let e = AuthorizationFailure::options_missing(["auth_url", "password"]);
        assert_eq!(
            e.to_string(),
            "Authentication failed. Missing options: auth_url, password"
        );
        let e: Error = e.into();
        assert!(e.is_authorization_failure());
        assert!(!e.is_http());
    }

    #[test]
    fn auth_system_not_found_message() {
        let e = AuthorizationFailure::SystemNotFound {
            auth_system: "x".into(),
        };
        assert_eq!(e.to_string(), "AuthSystemNotFound: 'x'");
    }

    #[test]
    fn ambiguous_endpoints_message() {
        let e = EndpointError::Ambiguous {
            endpoints: vec!["http://a".into(), "http://b".into()],
        };
        assert_eq!(
            e.to_string(),
            "AmbiguousEndpoints: ['http://a', 'http://b']"
        );
        assert!(Error::from(e).is_endpoint_error());
    }

    #[test]
    fn connection_error_keeps_cause_out_of_message() {
        let cause: BoxError = "tcp connect error: Connection refused (os error 111)".into();
        let e = ConnectionError::new(
            ConnectionErrorKind::Refused,
            "http://127.0.0.1:1/v3",
            Some(cause),
        );
        assert_eq!(
            e.to_string(),
            "Unable to reach http://127.0.0.1:1/v3: connection refused"
        );
        assert!(e.source().is_some());
        assert!(e.is_refused());
        let e: Error = e.into();
        assert!(e.is_connection_error());
        assert!(!e.is_timeout());
    }

    #[test]
    fn missing_args_message() {
        let e = Error::MissingArgs {
            missing: vec!["a".into(), "b".into()],
        };
        assert_eq!(e.to_string(), "Missing arguments: a, b");
    }
}
