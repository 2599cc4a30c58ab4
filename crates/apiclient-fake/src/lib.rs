//! Fakes for testing OpenStack-style API clients.
//!
//! A service client built on `apiclient-base` describes its resources as
//! serde structs and manages them with `Api<T>`; this crate tests it in
//! three ways, from the most canned to the most real. The client under test:
//!
//! ```
//! use apiclient_base::{Api, Error, ServiceClient, impl_resource_type};
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! struct Server { id: String, name: String }
//! impl_resource_type!(Server { singular: "server", plural: "servers", name: name });
//!
//! /// The service client under test: the names of the servers.
//! async fn server_names(compute: ServiceClient) -> Result<Vec<String>, Error> {
//!     let servers: Api<Server> = Api::new(compute);
//!     Ok(servers.list(&()).await?.iter().map(|s| s.name.clone()).collect())
//! }
//! # let _ = server_names;
//! ```
//!
//! **1. Fixtures** — exact URL and method → a 200 with this body:
//!
//! ```
//! # use apiclient_base::{Api, Error, ServiceClient, impl_resource_type};
//! # #[derive(Debug, serde::Deserialize)] struct Server { id: String, name: String }
//! # impl_resource_type!(Server { singular: "server", plural: "servers", name: name });
//! # async fn server_names(compute: ServiceClient) -> Result<Vec<String>, Error> {
//! #     let servers: Api<Server> = Api::new(compute);
//! #     Ok(servers.list(&()).await?.iter().map(|s| s.name.clone()).collect())
//! # }
//! use apiclient_fake::FakeHttpClient;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeHttpClient::new();
//! fake.fixture("/servers", "GET", vec![], json!({"servers": [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]}));
//! let http = fake.http_client().unwrap();
//! let names = server_names(http.service_client("compute")).await.unwrap();
//! assert_eq!(names, ["a", "b"]);
//! fake.assert_called("GET", "/servers", None, None);
//! # });
//! ```
//!
//! **2. Handlers** — a function per method and path pattern, which sees the
//! query, headers and body:
//!
//! ```
//! # use apiclient_base::{Api, Error, ServiceClient, impl_resource_type};
//! # #[derive(Debug, serde::Deserialize)] struct Server { id: String, name: String }
//! # impl_resource_type!(Server { singular: "server", plural: "servers", name: name });
//! # async fn server_names(compute: ServiceClient) -> Result<Vec<String>, Error> {
//! #     let servers: Api<Server> = Api::new(compute);
//! #     Ok(servers.list(&()).await?.iter().map(|s| s.name.clone()).collect())
//! # }
//! use apiclient_fake::{FakeHttpClient, TestResponse};
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeHttpClient::new();
//! fake.on("GET", "/servers", |req| {
//!     assert!(req.headers.contains_key("x-auth-token"));
//!     TestResponse::json(200, &json!({"servers": [{"id": "1", "name": "from-handler"}]}))
//!         .header("x-openstack-request-id", "req-42")
//! });
//! let http = fake.http_client().unwrap();
//! assert_eq!(server_names(http.service_client("compute")).await.unwrap(), ["from-handler"]);
//! assert_eq!(http.last_request_id().as_deref(), Some("req-42"));
//! # });
//! ```
//!
//! **3. FakeCloud** — a real HTTP server on 127.0.0.1 that behaves like
//! Keystone v3 plus Nova-, Glance- and Cinder-shaped services and a
//! Swift-like object store (its route table is on [`FakeCloud`]), with
//! fault switches and per-route counters; [`FakeCloud::http_client`] is an
//! authenticated client of it in one line:
//!
//! ```
//! # use apiclient_base::{Api, Error, ServiceClient, impl_resource_type};
//! # #[derive(Debug, serde::Deserialize)] struct Server { id: String, name: String }
//! # impl_resource_type!(Server { singular: "server", plural: "servers", name: name });
//! # async fn server_names(compute: ServiceClient) -> Result<Vec<String>, Error> {
//! #     let servers: Api<Server> = Api::new(compute);
//! #     Ok(servers.list(&()).await?.iter().map(|s| s.name.clone()).collect())
//! # }
//! use apiclient_fake::{FakeCloud, Fault};
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let cloud = FakeCloud::builder().servers(2).start().await.unwrap();
//! let compute = cloud.http_client().unwrap().service_client("compute");
//!
//! assert_eq!(server_names(compute.clone()).await.unwrap(), ["server-0", "server-1"]);
//! cloud.inject(Fault::Unauthorized, 1); // the next compute request gets a 401...
//! assert_eq!(server_names(compute).await.unwrap().len(), 2);
//! assert_eq!(cloud.count("POST /v3/auth/tokens"), 2); // ...recovered by one re-auth
//! # });
//! ```
//!
//! Services of your own go beside the built-in ones (or in their place):
//! [`FakeCloud::mount`] a handler, or [`FakeCloud::mount_service`] a tower
//! service that streams its request and answer bodies ([`MountBody`]).
//! The reference's `BaseClient` and `Manager` family
//! (`apiclient_base::compat`) run over these fakes just as well.
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
pub use cloud::{FakeCloud, FakeCloudBuilder, FakeUser, Fault, MountBody, VolumeFailure};
pub use oidc::FakeOidcProvider;
pub use raw::{RawRequest, RawServer};
