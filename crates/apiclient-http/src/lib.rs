//! The HTTP client of apiclient-rs: a tower stack over hyper-util and rustls.
//!
//! ```text
//! HttpClient (Clone, Send + Sync; one transport (its connection pools), one token state; a span per call)
//!  └ Retry      one copy of the request: 429/503 and connect errors (bounded backoff
//!    │          with jitter, Retry-After), the replay after a 401, same-origin redirects
//!    └ Auth     (token, endpoint) from the shared state; proactive refresh; 401 → one re-auth
//!      └ Defaults   User-Agent, Accept, Forwarded, X-OpenStack-Request-ID
//!        └ CurlLog  `REQ: curl -g -i ...` at DEBUG, redacted
//!          └ Timing one record per attempt
//!            └ HyperTransport: its own pool for bodiless GETs and downloads, hyper-util's for the rest, proxies, rustls, gzip, timeouts, size limit
//! ```
//!
//! Every layer is exported from [`layers`]; [`HttpClientBuilder::layer`]
//! (and `layer_transport`, `map_stack`, `map_transport`) insert your own
//! tower or tower-http layers. Bodies are [`Body`]: buffered, re-openable
//! (a file) or one-shot streams; responses buffered or
//! [streamed](ServiceClient::request_streamed).
//!
//! A client from the environment (`OS_*`, as the `openstack` CLI reads it),
//! or from a cloud of `clouds.yaml` with the `clouds-yaml` feature
//! (`HttpClient::from_cloud`), is one line:
//!
//! ```no_run
//! # async fn f() -> Result<(), apiclient_errors::Error> {
//! use apiclient_http::HttpClient;
//!
//! let http = HttpClient::from_env()?;
//! let servers: serde_json::Value = http.service_client("compute").get("/servers").await?.json()?;
//! # Ok(()) }
//! ```
//!
//! In code, a plugin — typed ([`apiclient_auth::typed`]) or your own — goes
//! to [`HttpClient::builder`], the one constructor:
//!
//! ```
//! use apiclient_auth::typed::AdminToken;
//! use apiclient_http::{HttpClient, buffered_service};
//! use bytes::Bytes;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // A stand-in service, so this example needs no network.
//! let fake = buffered_service(|req: http::Request<Bytes>| async move {
//!     assert_eq!(req.uri().to_string(), "http://nova/v2.1/servers");
//!     assert!(req.headers()["x-auth-token"].is_sensitive());
//!     Ok(http::Response::builder()
//!         .header("content-type", "application/json")
//!         .header("x-openstack-request-id", "req-1")
//!         .body(Bytes::from_static(br#"{"servers": []}"#))
//!         .unwrap())
//! });
//! let http = HttpClient::builder(AdminToken::new("http://nova/v2.1", "s3cret-token"))
//!     .base_transport(fake)
//!     .build()
//!     .unwrap();
//! let compute = http.service_client("compute");
//! let body: serde_json::Value = compute.get("/servers").await.unwrap().json().unwrap();
//! assert_eq!(body["servers"], serde_json::json!([]));
//! assert_eq!(http.last_request_id().as_deref(), Some("req-1"));
//! assert!(http.client("compute").is_some());
//! # });
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod body;
mod client;
mod discovery;
mod extensions;
pub mod layers;
pub mod microversion;
pub mod store;
pub mod token;
pub mod transfer;
pub mod transport;
mod upload;

pub use body::Body;
pub use client::{
    ApiRequest, ApiResponse, HttpClient, HttpClientBuilder, HttpService, ServiceClient, StackLayer,
    StreamedResponse, buffered_service,
};
pub use extensions::{AttemptCount, Deadline};
pub use layers::redirect::RedirectPolicy;
pub use layers::retry::RetryPolicy;
pub use layers::timing::{Timing, Timings};
pub use microversion::Microversion;
#[cfg(feature = "keyring")]
pub use store::KeyringTokenStore;
pub use store::{FileTokenStore, MemoryTokenStore, TokenStore};
pub use transport::{ProxyConfig, ProxyRules, StreamResponse, TlsConfig, TransportConfig};
