//! Fakes for testing OpenStack-style API clients.
//!
//! A service client built on `apiclient-base` is tested with this crate in
//! three ways, from the most canned to the most real. The client under test:
//!
//! ```
//! use apiclient_base::{BaseClient, Manager, ResourceMeta};
//! use apiclient_errors::Error;
//!
//! /// The service client under test: the names of the servers.
//! async fn server_names(client: &BaseClient) -> Result<Vec<String>, Error> {
//!     let servers = Manager::new(client.clone(), ResourceMeta::new("Server"));
//!     let list = servers.list("/servers", Some("servers"), None).await?;
//!     Ok(list.iter().filter_map(|s| s.name().map(str::to_string)).collect())
//! }
//! # let _ = server_names;
//! ```
//!
//! **1. Fixtures** — exact URL and method → a 200 with this body:
//!
//! ```
//! # use apiclient_base::{BaseClient, Manager, ResourceMeta};
//! # async fn server_names(client: &BaseClient) -> Result<Vec<String>, apiclient_errors::Error> {
//! #     let list = Manager::new(client.clone(), ResourceMeta::new("Server")).list("/servers", Some("servers"), None).await?;
//! #     Ok(list.iter().filter_map(|s| s.name().map(str::to_string)).collect())
//! # }
//! use apiclient_fake::FakeHttpClient;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeHttpClient::new();
//! fake.fixture("/servers", "GET", vec![], json!({"servers": [{"name": "a"}, {"name": "b"}]}));
//! let http = fake.http_client().unwrap();
//! let names = server_names(&BaseClient::new(&http, "compute")).await.unwrap();
//! assert_eq!(names, ["a", "b"]);
//! fake.assert_called("GET", "/servers", None, None);
//! # });
//! ```
//!
//! **2. Handlers** — a function per method and path pattern, which sees the
//! query, headers and body:
//!
//! ```
//! # use apiclient_base::{BaseClient, Manager, ResourceMeta};
//! # async fn server_names(client: &BaseClient) -> Result<Vec<String>, apiclient_errors::Error> {
//! #     let list = Manager::new(client.clone(), ResourceMeta::new("Server")).list("/servers", Some("servers"), None).await?;
//! #     Ok(list.iter().filter_map(|s| s.name().map(str::to_string)).collect())
//! # }
//! use apiclient_fake::{FakeHttpClient, TestResponse};
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeHttpClient::new();
//! fake.on("GET", "/servers", |req| {
//!     assert!(req.headers.contains_key("x-auth-token"));
//!     TestResponse::json(200, &json!({"servers": [{"name": "from-handler"}]}))
//!         .header("x-openstack-request-id", "req-42")
//! });
//! let http = fake.http_client().unwrap();
//! assert_eq!(server_names(&BaseClient::new(&http, "compute")).await.unwrap(), ["from-handler"]);
//! assert_eq!(http.last_request_id().as_deref(), Some("req-42"));
//! # });
//! ```
//!
//! **3. FakeCloud** — a real HTTP server on 127.0.0.1 that behaves like
//! Keystone v3 plus a compute-like and an image-like service, with fault
//! switches and per-route counters:
//!
//! ```
//! # use apiclient_base::{BaseClient, Manager, ResourceMeta};
//! # async fn server_names(client: &BaseClient) -> Result<Vec<String>, apiclient_errors::Error> {
//! #     let list = Manager::new(client.clone(), ResourceMeta::new("Server")).list("/servers", Some("servers"), None).await?;
//! #     Ok(list.iter().filter_map(|s| s.name().map(str::to_string)).collect())
//! # }
//! use apiclient_auth::KeystonePlugin;
//! use apiclient_fake::{FakeCloud, Fault};
//! use apiclient_http::HttpClient;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let cloud = FakeCloud::builder().servers(2).start().await.unwrap();
//! let plugin = KeystonePlugin::v3_password(cloud.auth_url(), "demo", "Default", "demopass")
//!     .with("project_name", "demo");
//! let http = HttpClient::builder(Box::new(plugin)).build().unwrap();
//! let compute = BaseClient::new(&http, "compute");
//!
//! assert_eq!(server_names(&compute).await.unwrap(), ["server-0", "server-1"]);
//! cloud.inject(Fault::Unauthorized, 1); // the next compute request gets a 401...
//! assert_eq!(server_names(&compute).await.unwrap().len(), 2);
//! assert_eq!(cloud.count("POST /v3/auth/tokens"), 2); // ...recovered by one re-auth
//! # });
//! ```
#![warn(missing_docs)]

mod client;
mod cloud;
mod object_store;
mod oidc;
mod raw;
mod reply;

pub use client::{
    Call, FAKE_ENDPOINT, FakeBody, FakeHttpClient, FakeRequest, TestResponse, assert_has_keys,
    fake_method_name,
};
pub use cloud::{FakeCloud, FakeCloudBuilder, FakeUser, Fault};
pub use oidc::FakeOidcProvider;
pub use raw::{RawRequest, RawServer};
