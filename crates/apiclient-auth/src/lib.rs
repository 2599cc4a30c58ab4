//! Keystone authentication for OpenStack-style API clients.
//!
//! Typed plugins first ([`typed`], [`oidc`]): what a plugin needs is a
//! parameter, every secret a [`SecretString`] from the start.
//!
//! | plugin | typed | options name |
//! | --- | --- | --- |
//! | a password | [`typed::V3Password`], [`typed::V2Password`] | `v3password`, `v2password` (`password`: v3 or v2.0 by discovery) |
//! | a token, rescoped | [`typed::V3Token`], [`typed::V2Token`] | `v3token`, `v2token` (`token`: by discovery) |
//! | an application credential | [`typed::V3ApplicationCredential`] | `v3applicationcredential` |
//! | a TOTP passcode | [`typed::V3Totp`] | `v3totp` |
//! | several factors / an auth receipt | [`typed::V3Multifactor`] | `v3multifactor` |
//! | a fixed token and endpoint | [`typed::AdminToken`] | `admin_token`, `token_endpoint` |
//! | no auth, a fixed endpoint | [`typed::NoAuth`] | `none` |
//! | HTTP Basic (standalone Ironic) | [`typed::HttpBasic`] | `http_basic` |
//! | OpenID Connect via federation | [`oidc::OidcPlugin`] | `v3oidcaccesstoken`, `v3oidcclientcredentials`, `v3oidcpassword` |
//! | a person signing in: a device code, a browser (PKCE), Keystone's WebSSO | [`signin::OidcDeviceAuthorization`], [`signin::OidcAuthorizationCode`], [`signin::WebSso`] | `v3oidcdeviceauthz`, `v3oidcauthcode`, `v3websso` |
//!
//! Loading is apart from running, as in keystoneauth: a [`PluginLoader`]
//! reads options (`--os-foo-bar` > `OS_FOO_BAR` > clouds.yaml, see
//! [`options`] and [`clouds`]) and builds the runtime [`AuthPlugin`]; the
//! [`PluginRegistry`] keeps loaders by name, guesses one alphabetically when
//! none is named, and keeps the reference library's API
//! ([`BaseAuthPlugin`]: `parse_opts`, `sufficient_options`). What crosses
//! the wire is typed ([`wire`]): the token and catalog (v3 and v2.0),
//! parsed leniently; the auth request bodies. [`AccessInfo`] and
//! [`ServiceCatalog`] select endpoints by type (with the service-types
//! aliases), interface (with fallbacks), region and name.
//! [`transport::Transport`] is the HTTP the plugins authenticate through, so
//! this crate never depends on `apiclient-http`.
//!
//! ```
//! use apiclient_auth::typed::{Scope, V3Password};
//! use apiclient_auth::catalog::{EndpointFilter, Interface};
//! use apiclient_auth::transport::FnTransport;
//! use apiclient_auth::AuthPlugin;
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
//! let plugin = V3Password::new("http://keystone/v3", "demo", "s3cret")
//!     .scope(Scope::project_name("demo", "Default"));
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let access = rt.block_on(plugin.authenticate(Arc::new(keystone))).unwrap();
//! assert_eq!(access.project_id(), Some("p1"));
//! let url = plugin
//!     .endpoint(&access, &EndpointFilter::new("compute").interface(Interface::Public))
//!     .unwrap();
//! assert_eq!(url, "http://nova/v2.1");
//! assert!(!format!("{access:?} {plugin:?}").contains("s3cret"));
//! ```
//!
//! The same from options, as a command line or `clouds.yaml` gives them:
//!
//! ```
//! use apiclient_auth::{AuthOptions, PluginRegistry};
//!
//! let opts = AuthOptions::new()
//!     .with("auth_url", "http://keystone/v3")
//!     .with("username", "demo")
//!     .with("password", "s3cret")
//!     .with("project_name", "demo");
//! let plugin = PluginRegistry::default().load(Some("v3password"), &opts).unwrap();
//! assert_eq!(plugin.auth_system(), "v3password");
//! assert!(!format!("{plugin:?}").contains("s3cret"));
//! ```
#![warn(missing_docs)]

pub mod access;
#[cfg(feature = "cli")]
mod args;
mod base_plugin;
pub mod catalog;
pub mod clouds;
mod from_options;
mod identity;
pub mod keystone;
pub mod loader;
pub mod oidc;
pub mod options;
pub mod plugin;
pub mod registry;
pub mod signin;
mod specs;
pub mod transport;
pub mod typed;
mod user_scope;
pub mod wire;

#[allow(deprecated)]
pub use access::Scope;
pub use access::{AccessInfo, TokenHeader, TokenScope};
#[cfg(feature = "cli")]
pub use args::AuthArgs;
#[doc(hidden)]
pub use base_plugin::BaseAuthPlugin;
pub use catalog::{EndpointFilter, Interface, ServiceCatalog};
#[doc(hidden)]
pub use keystone::KeystonePlugin;
#[doc(hidden)]
pub use loader::ConfiguredPlugin;
pub use loader::PluginLoader;
pub use options::{AuthOptions, ConfigLoader, ResolvedConfig};
pub use plugin::AuthPlugin;

/// The reference library's API (Python's
/// `keystoneclient.openstack.common.apiclient.auth`), with its semantics
/// and its conformance tests: plugins as maps of options
/// ([`KeystonePlugin::new("password")`](KeystonePlugin) and the
/// `with(name, value)` calls, a [`ConfiguredPlugin`]), the
/// [`BaseAuthPlugin`] trait (`parse_opts`, `sufficient_options`,
/// `token_and_endpoint`), and the registry's `load_plugin`,
/// `load_plugin_from_options` and `discover_auth_systems`
/// ([`PluginRegistry`]).
///
/// Port Python code with it. New code takes a typed plugin
/// ([`typed`], [`oidc`]): its parameters are
/// checked at compile time and its secrets are `SecretString`s from the
/// start. (These items are also at the crate root, where older code
/// imports them.)
///
/// ```
/// use apiclient_auth::compat::KeystonePlugin;
/// let plugin = KeystonePlugin::new("password") // None: no such auth system
///     .expect("a built-in auth system")
///     .with("auth_url", "http://keystone/v3")
///     .with("username", "demo")
///     .with("password", "s3cret");
/// assert!(!format!("{plugin:?}").contains("s3cret"));
/// ```
pub mod compat {
    pub use crate::base_plugin::BaseAuthPlugin;
    pub use crate::keystone::KeystonePlugin;
    pub use crate::loader::ConfiguredPlugin;
    pub use crate::registry::PluginRegistry;
}
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
