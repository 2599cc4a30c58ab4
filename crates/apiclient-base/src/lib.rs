//! Service clients, resources and managers for OpenStack-style REST APIs.
//!
//! A service client crate (your Nova, Glance or Placement client) builds on
//! this crate alone: it re-exports what a client needs ([`HttpClient`],
//! [`ServiceClient`], [`ApiRequest`], [`Error`], [`Microversion`], ...).
//!
//! **Typed resources first.** Describe a serde struct with [`ResourceType`]
//! (its keys, path, id field, update verb) and [`Api<T>`] gives list,
//! `list_all` (a `Stream` with pagination built in), get, create, update,
//! delete, action, head and find, each result carrying its own response
//! metadata ([`WithMeta`]), each call the service client's microversion:
//!
//! ```no_run
//! use apiclient_auth::typed::{Scope, V3Password};
//! use apiclient_base::{Api, Error, HttpClient, Microversion, impl_resource_type};
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! struct Flavor { id: String, name: String, ram: Option<u64> }
//!
//! impl_resource_type!(Flavor {
//!     singular: "flavor",
//!     plural: "flavors",
//!     name: name,
//!     detail_path: "/flavors/detail",
//! });
//!
//! async fn small_flavor_ram() -> Result<Option<u64>, Error> {
//!     let http = HttpClient::builder(
//!         V3Password::new("https://keystone.example.com/v3", "demo", "secret")
//!             .user_domain_name("Default")
//!             .scope(Scope::project_name("demo", "Default")),
//!     )
//!     .build()?;
//!     let compute = http
//!         .service_client("compute")
//!         .with_negotiated_microversion(Microversion::new(2, 1), Microversion::new(2, 79))
//!         .await?;
//!     let flavors: Api<Flavor> = Api::new(compute);
//!     let all = flavors.list(&()).await?;
//!     println!("{} flavors at microversion {:?}", all.len(), all.meta().microversion);
//!     let small = flavors.find("m1.small").await?;
//!     Ok(small.ram)
//! }
//! ```
//!
//! To test a service client, run it against `apiclient-fake`'s `FakeCloud`
//! or `FakeHttpClient` (this example does, in the workspace's
//! `tests/it/base_docs.rs`).
//!
//! A resource whose type is known only at run time is a [`DynamicResource`]
//! (its JSON object) in an `Api` made with [`Api::dynamic`] from a
//! [`ResourceInfo`], the collection described by values: the same calls,
//! the same find semantics. [`Api::get_opt`] is a `get` whose 404 is
//! `Ok(None)`. [`impl_resource_type!`] writes a [`ResourceType`] impl from
//! a struct's `id`, `name` and `status` fields and the collection's keys.
//!
//! **The rest of a service client's kit:**
//! - [`wait`]: [`Api::wait_for_status`], [`Api::wait_for_delete`] and
//!   [`Api::wait_until`], bounded (a timeout over polls and pauses, a
//!   backoff, a budget of transient errors), cancel-safe, with typed
//!   outcomes ([`wait::WaitError`]);
//! - pages: [`Api::list_page`] gives one [`Page`] (items, response
//!   metadata, a [`PageToken`] a UI can keep) and [`Api::list_page_from`]
//!   continues from a token; [`Api::list_all`] streams every item on the
//!   same page logic;
//! - [`path`](mod@path): [`path::segment`] encodes one value as one path segment (as
//!   `Api` does ids) and [`path!`] builds `/v2/images/{}/tags/{}` safely;
//! - `blocking` (feature `blocking`): the same calls without async, on a
//!   runtime the blocking client owns.
//!
//! ```no_run
//! use apiclient_base::wait::WaitError;
//! use apiclient_base::{Api, DynamicResource, path};
//!
//! async fn tag_when_active(
//!     images: &Api<DynamicResource>,
//!     id: &str,
//!     tag: &str,
//! ) -> Result<(), WaitError> {
//!     images.wait_for_status(id, "active").await?;
//!     let tag_path = path!("/v2/images/{}/tags/{}", id, tag)?;
//!     images.client().put(&tag_path, &serde_json::json!({})).await?;
//!     Ok(())
//! }
//! ```
//!
//! **The reference API beside it**, in [`compat`], with the Python
//! library's semantics: [`BaseClient`]; [`Resource`], a bag of attributes
//! with typed access and lazy loading; [`Manager`], [`CrudManager`] and
//! [`ManagerWithFind`]; [`find_resource`]; [`paginate`], a stream over every
//! page.
//!
//! ```no_run
//! use apiclient_base::Error;
//! use apiclient_base::compat::{BaseClient, CrudManager, HttpClient, Params, ResourceMeta, find_resource};
//!
//! const SERVER: ResourceMeta = ResourceMeta::new("Server");
//!
//! async fn create_and_find(http: &HttpClient) -> Result<(), Error> {
//!     let servers = CrudManager::new(BaseClient::new(http, "compute"), SERVER, "servers", "server");
//!     let created = servers.create(Params::new().set("name", "web-1")).await?;
//!     let found = find_resource(servers.as_ref(), "web-1").await?;
//!     assert_eq!(found.id(), created.id());
//!     Ok(())
//! }
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod client;
mod dynamic;
mod future;
mod hooks;
mod json;
mod macros;
mod manager;
mod page;
mod pagination;
pub mod path;
mod resource;
pub mod wait;

pub use api::{
    Api, ApiObject, Lazy, ResourceInfo, ResourceType, ResponseMeta, UpdateVerb, WithMeta,
};
pub use dynamic::DynamicResource;
pub use page::{Page, PageToken};

/// What [`impl_resource_type!`] expands to: not an API of its own.
#[doc(hidden)]
pub mod __private {
    pub use crate::macros::NameField;
}
pub use client::{BaseClient, get_class};

/// The reference library's API (Python's
/// `keystoneclient.openstack.common.apiclient.base` and `client`), with its
/// semantics and conformance tests: [`BaseClient`] and [`get_class`],
/// [`Resource`] (a bag of attributes with lazy loading), [`Manager`],
/// [`CrudManager`], [`ManagerWithFind`], [`find_resource`], hooks and
/// extensions, and [`paginate`].
///
/// Port Python code with it. New code describes its resources with
/// [`ResourceType`] (or [`impl_resource_type!`]) and manages them with
/// [`Api<T>`] — or [`DynamicResource`] with [`Api::dynamic`] when the type is
/// known only at run time. (These items are also at the crate root, where
/// older code imports them.)
pub mod compat {
    pub use crate::client::{BaseClient, get_class};
    pub use crate::hooks::{Extension, Hook, HookRegistry, SUPPORTED_HOOKS};
    pub use crate::manager::{
        CrudManager, Findable, Manager, ManagerWithFind, Param, Params, find_resource, is_uuid_like,
    };
    pub use crate::pagination::{PageLimits, PageStyle, page_of, paginate, paginate_with};
    pub use crate::resource::{GetId, Loader, Resource, ResourceMeta, TypedResource, to_slug};
    pub use apiclient_http::HttpClient;
}
pub use future::BoxFuture;
pub use hooks::{Extension, Hook, HookRegistry, SUPPORTED_HOOKS};
pub use manager::{
    CrudManager, Findable, Manager, ManagerWithFind, Param, Params, find_resource, is_uuid_like,
};
pub use pagination::{PageLimits, PageStyle, page_of, paginate, paginate_with};
pub use resource::{GetId, Loader, Resource, ResourceMeta, TypedResource, to_slug};

// What a service client needs, from one dependency: the errors and their
// kinds, the HTTP client, and the `bytes` and `http` crates it speaks.
pub use apiclient_errors::{
    Ambiguous, ApiError, AuthorizationFailure, ConnectionError, ConnectionErrorKind, EndpointError,
    Error, HttpError, HttpErrorClass, HttpErrorKind, Invalid, InvalidKind, Unsupported,
    VersionKind,
};
pub use apiclient_http::microversion::Microversion;
pub use apiclient_http::transfer::{DigestAlgorithm, Hasher, Progress, ProgressFn};
pub use apiclient_http::{
    ApiRequest, ApiResponse, Body, HttpClient, ServiceClient, StreamedResponse,
};
pub use bytes;
pub use http;
pub use http::Method;
