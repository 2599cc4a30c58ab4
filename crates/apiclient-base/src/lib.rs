//! Service clients, resources and managers for OpenStack-style REST APIs.
//!
//! A service client crate (your Nova, Glance or Swift client) builds on this:
//! [`BaseClient`] talks to one service through the shared
//! [`apiclient_http::HttpClient`]; [`Resource`] is a bag of attributes with
//! typed access and lazy loading; [`Manager`], [`CrudManager`] and
//! [`ManagerWithFind`] give the reference's manager semantics;
//! [`find_resource`] finds by id or name; [`paginate`] streams every page.
//!
//! ```
//! use apiclient_base::{BaseClient, CrudManager, Params, ResourceMeta, find_resource};
//! use apiclient_fake::FakeCloud;
//! use apiclient_auth::KeystonePlugin;
//! use apiclient_http::HttpClient;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! let cloud = FakeCloud::start().await.unwrap();
//! let plugin = KeystonePlugin::new("password").unwrap()
//!     .with("auth_url", cloud.auth_url())
//!     .with("username", "demo").with("password", "demopass").with("project_name", "demo");
//! let http = HttpClient::builder(Box::new(plugin)).build().unwrap();
//!
//! const SERVER: ResourceMeta = ResourceMeta::new("Server");
//! let servers = CrudManager::new(BaseClient::new(&http, "compute"), SERVER, "servers", "server");
//! let created = servers.create(Params::new().set("name", "web-1")).await.unwrap();
//! let found = find_resource(servers.as_ref(), "web-1").await.unwrap();
//! assert_eq!(found.id(), created.id());
//! # });
//! ```
#![warn(missing_docs)]

mod api;
mod client;
mod hooks;
mod manager;
mod pagination;
mod resource;

use std::future::Future;
use std::pin::Pin;

pub use api::{Api, Lazy, ResourceType, ResponseMeta, UpdateVerb, WithMeta};
pub use client::{BaseClient, get_class};
pub use hooks::{Extension, Hook, HookRegistry, SUPPORTED_HOOKS};
pub use manager::{
    CrudManager, Findable, Manager, ManagerWithFind, Param, Params, find_resource, is_uuid_like,
};
pub use pagination::{PageLimits, PageStyle, page_of, paginate, paginate_with};
pub use resource::{GetId, Loader, Resource, ResourceMeta, TypedResource, to_slug};

// What a service client needs, from one dependency.
pub use apiclient_errors::{Error, HttpError};
pub use apiclient_http::microversion::Microversion;
pub use apiclient_http::{
    ApiRequest, ApiResponse, Body, HttpClient, ServiceClient, StreamedResponse,
};
pub use http::Method;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
