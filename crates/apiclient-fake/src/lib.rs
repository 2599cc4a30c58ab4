//! Fakes for testing OpenStack-style API clients.
//!
//! [`FakeCloud`] is a real HTTP server on 127.0.0.1 (ephemeral port) that
//! behaves like Keystone v3 for what apiclient-rs uses, with a compute-like
//! and an image-like service, fault switches and per-route counters:
//!
//! ```
//! use apiclient_fake::{FakeCloud, Fault};
//! use apiclient_auth::KeystonePlugin;
//! use apiclient_http::HttpClient;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let cloud = FakeCloud::start().await.unwrap();
//! let plugin = KeystonePlugin::new("password").unwrap()
//!     .with("auth_url", cloud.auth_url())
//!     .with("username", "demo")
//!     .with("password", "demopass")
//!     .with("project_name", "demo");
//! let http = HttpClient::builder(Box::new(plugin)).build().unwrap();
//! let compute = http.service_client("compute");
//!
//! compute.get("/servers").await.unwrap(); // authenticates once
//! cloud.inject(Fault::Unauthorized, 1); // the next compute request gets a 401...
//! let servers: serde_json::Value = compute.get("/servers").await.unwrap().json().unwrap();
//! assert_eq!(servers["servers"].as_array().unwrap().len(), 5);
//! assert_eq!(cloud.count("POST /v3/auth/tokens"), 2); // ...recovered by one re-auth
//! # });
//! ```
#![warn(missing_docs)]

mod cloud;

pub use cloud::{FakeCloud, FakeCloudBuilder, FakeUser, Fault};
