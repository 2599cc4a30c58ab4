//! Human sign-in, as keystoneauth and openstack_sdk offer it: a person
//! proves who they are in a browser (or on another device), and the plugin
//! gets a Keystone token from it.
//!
//! | plugin | options name | how |
//! | --- | --- | --- |
//! | [`OidcDeviceAuthorization`] | `v3oidcdeviceauthz` | OAuth 2.0 device authorization (RFC 8628): a code to enter at a URL, on any device; then Keystone federation |
//! | [`OidcAuthorizationCode`] | `v3oidcauthcode` | the authorization code grant with PKCE (RFC 7636) and a loopback redirect (RFC 8252); then Keystone federation |
//! | [`WebSso`] | `v3websso` | Keystone's WebSSO: Keystone's page POSTs an unscoped token to a loopback receiver |
//!
//! What the user must do is handed to a [`SignInUi`] the plugin holds (a
//! [`SignInPrompt`]: a URL and a code, or a URL to open); the default,
//! [`Silent`], shows nothing: a program with a user gives its own (the
//! `apiclient` CLI prints to stderr and, when asked, starts a browser).
//! Loaded by name from options, the plugins take the UI of
//! [`PluginRegistry::with_signin_ui`](crate::PluginRegistry::with_signin_ui).
//!
//! Every wait is bounded: the device flow by the code's lifetime
//! (`expires_in`) and its [`timeout`](OidcDeviceAuthorization::timeout),
//! the browser flows by theirs (default 300 s), and all by the caller's
//! deadline (dropping the future stops the receiver and closes its port).
//! Codes, verifiers and tokens are [`SecretString`](crate::SecretString)s;
//! what the user is shown carries the `state` and the PKCE challenge, never
//! the verifier. A token cache ([`AuthPlugin::cache_key`](crate::AuthPlugin::cache_key):
//! the auth URL, identity provider, protocol, client and scopes) spares the
//! user a second sign-in while the token is valid.
//!
//! ```
//! use apiclient_auth::signin::{OidcDeviceAuthorization, SignInPrompt};
//! use apiclient_auth::{AuthOptions, AuthPlugin, PluginRegistry};
//!
//! // typed
//! let p = OidcDeviceAuthorization::new(
//!     "https://keystone.example/v3", "myidp", "openid",
//!     "https://idp.example/.well-known/openid-configuration", "cli",
//! );
//! assert_eq!(p.auth_system(), "v3oidcdeviceauthz");
//!
//! // by name, with a UI
//! let registry = PluginRegistry::default().with_signin_ui(|p: &SignInPrompt<'_>| {
//!     if let SignInPrompt::OpenBrowser { url, .. } = p {
//!         eprintln!("Open {url} to sign in");
//!     }
//! });
//! let opts = AuthOptions::new()
//!     .with("auth_url", "https://keystone.example/v3")
//!     .with("protocol", "openid");
//! let p = registry.load(Some("v3websso"), &opts).unwrap();
//! assert_eq!(p.auth_system(), "v3websso");
//! ```

mod authcode;
mod crypto;
mod device;
pub(crate) mod errors;
mod keys;
pub(crate) mod provider;
mod receiver;
mod ui;
mod wait;
mod websso;

pub use authcode::OidcAuthorizationCode;
pub use device::OidcDeviceAuthorization;
pub use ui::{SignInPrompt, SignInUi, Silent};
pub use websso::WebSso;

pub(crate) use ui::SharedUi;
