//! Keystone authentication for OpenStack-style API clients.
//!
//! - [`AuthPlugin`]: the object-safe plugin contract (Python's `BaseAuthPlugin`).
//! - [`PluginRegistry`]: plugins by name, with keystoneauth's names for the
//!   built-ins (`password`, `v3password`, `token`, `v3token`,
//!   `v3applicationcredential`, `admin_token`, `none`, `v2password`), and the
//!   alphabetical guess when no auth system is named.
//! - [`options`]: `--os-foo-bar` / `OS_FOO_BAR` / clouds.yaml with that
//!   precedence; [`AuthArgs`] for clap CLIs, [`ConfigLoader`] for programs.
//! - [`AccessInfo`] and [`ServiceCatalog`]: the token, its expiry and scope,
//!   and endpoint selection by type (with aliases), interface, region and name.
//! - [`transport::Transport`]: the HTTP abstraction plugins authenticate
//!   through, so this crate never depends on `apiclient-http`.
//!
//! Secrets (passwords, tokens, application-credential secrets) are
//! [`secrecy::SecretString`]s and never appear in `Debug` output or errors.
//!
//! Typed constructors first ([`typed`]): `V3Password`, `V3Token`,
//! `V3ApplicationCredential`, `V3Totp`, `AdminToken`, `NoAuth`. The registry, the
//! string options (`KeystonePlugin::new("v3password").with(...)`) and the
//! alphabetical guessing of the reference stay beside them.
//!
//! ```
//! use apiclient_auth::{AuthOptions, AuthPlugin, PluginRegistry};
//! use apiclient_auth::catalog::{EndpointFilter, Interface};
//! use apiclient_auth::transport::FnTransport;
//! use bytes::Bytes;
//! use std::sync::Arc;
//!
//! // A stand-in Keystone: answers the token request with a one-service catalog.
//! let keystone = FnTransport::new(|req: http::Request<Bytes>| async move {
//!     assert_eq!(req.uri().path(), "/v3/auth/tokens");
//!     let body = br#"{"token": {"expires_at": "2099-01-01T00:00:00.000000Z",
//!         "project": {"id": "p1", "name": "demo", "domain": {"id": "default", "name": "Default"}},
//!         "catalog": [{"type": "compute", "name": "nova", "endpoints": [
//!             {"interface": "public", "region_id": "RegionOne", "url": "http://nova/v2.1"}]}]}}"#;
//!     Ok(http::Response::builder()
//!         .status(201)
//!         .header("x-subject-token", "gAAAA-token")
//!         .body(Bytes::from_static(body))
//!         .unwrap())
//! });
//!
//! let opts = AuthOptions::new()
//!     .with("auth_url", "http://keystone/v3")
//!     .with("username", "demo")
//!     .with("password", "s3cret")
//!     .with("project_name", "demo");
//! let plugin = PluginRegistry::default().load_plugin_from_options(Some("v3password"), &opts).unwrap();
//!
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let access = rt.block_on(plugin.authenticate(Arc::new(keystone))).unwrap();
//! assert_eq!(access.project_id(), Some("p1"));
//! let url = plugin
//!     .endpoint(&access, &EndpointFilter::new("compute").interface(Interface::Public))
//!     .unwrap();
//! assert_eq!(url, "http://nova/v2.1");
//! assert!(!format!("{access:?} {plugin:?}").contains("s3cret"));
//! ```
#![warn(missing_docs)]

pub mod access;
#[cfg(feature = "cli")]
mod args;
pub mod catalog;
pub mod clouds;
mod identity;
pub mod keystone;
pub mod loader;
pub mod oidc;
pub mod options;
pub mod plugin;
pub mod registry;
pub mod transport;
pub mod typed;
pub mod wire;

pub use access::{AccessInfo, Scope, TokenHeader};
#[cfg(feature = "cli")]
pub use args::AuthArgs;
pub use catalog::{EndpointFilter, Interface, ServiceCatalog};
pub use keystone::KeystonePlugin;
pub use loader::{ConfiguredPlugin, PluginLoader};
pub use options::{AuthOptions, ConfigLoader, ResolvedConfig};
pub use plugin::{AuthPlugin, BaseAuthPlugin};
pub use registry::PluginRegistry;
pub use secrecy::{ExposeSecret, SecretString};

impl ResolvedConfig {
    /// The runtime plugin these options select, loaded by `registry`.
    pub fn load_plugin(
        &self,
        registry: &PluginRegistry,
    ) -> Result<Box<dyn AuthPlugin>, apiclient_errors::Error> {
        registry.load(self.auth_type.as_deref(), &self.auth)
    }
}
