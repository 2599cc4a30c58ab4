//! The loaders of the built-in plugins (keystoneauth's names): which options
//! each reads, which suffice, and how they become a typed runtime plugin
//! ([`crate::typed`], [`crate::oidc`], [`crate::signin`]); [`SignInLoader`]
//! gives the sign-in plugins a [`SignInUi`].
//!
//! [`KeystonePlugin`] is the reference library's plugin object for a
//! built-in: options by name (`KeystonePlugin::new("v3password").with(...)`)
//! that load the typed plugin when it authenticates.

use std::sync::Arc;

use apiclient_errors::{AuthorizationFailure, Error, InvalidKind, Receipt};
use secrecy::SecretString;
use serde_json::Value;

use crate::from_options::{SignIn, oidc_of, scope_of, signin_of, user_of};
use crate::identity::{ApiVersion, AppCred, KeystoneAuth, Method};
use crate::loader::{ConfiguredPlugin, PluginLoader};
use crate::oidc::OidcFlow;
use crate::options::{AuthOptions, COMMON_OPTIONS, OptionSpec, PLUGIN_OPTIONS};
use crate::plugin::AuthPlugin;
use crate::signin::SignInUi;
use crate::typed::{AdminToken, HttpBasic, NoAuth};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Password(ApiVersion),
    Token(ApiVersion),
    ApplicationCredential,
    Totp,
    Multifactor,
    AdminToken,
    NoAuth,
    HttpBasic,
    Oidc(OidcFlow),
    SignIn(SignIn),
}

/// The reference library's plugin object for a built-in (an alias of
/// [`ConfiguredPlugin`]): options by name, loaded into the typed plugin when
/// it authenticates.
pub type KeystonePlugin = ConfiguredPlugin;

/// The loader of a built-in plugin.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinLoader {
    kind: Kind,
}

macro_rules! builtins {
    ($($name:literal => $kind:expr),* $(,)?) => {
        /// The names of the built-in plugins (keystoneauth's names), sorted.
        pub const BUILTIN_PLUGINS: &[&str] = &[$($name),*];

        impl BuiltinLoader {
            /// The loader of the built-in plugin `name`.
            pub fn named(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(BuiltinLoader { kind: $kind }),)*
                    _ => None,
                }
            }
        }
    };
}

builtins! {
    "admin_token" => Kind::AdminToken,
    "http_basic" => Kind::HttpBasic,
    "none" => Kind::NoAuth,
    "password" => Kind::Password(ApiVersion::Auto),
    "token" => Kind::Token(ApiVersion::Auto),
    "token_endpoint" => Kind::AdminToken,
    "v2password" => Kind::Password(ApiVersion::V2),
    "v2token" => Kind::Token(ApiVersion::V2),
    "v3applicationcredential" => Kind::ApplicationCredential,
    "v3multifactor" => Kind::Multifactor,
    "v3oidcaccesstoken" => Kind::Oidc(OidcFlow::AccessToken),
    "v3oidcauthcode" => Kind::SignIn(SignIn::AuthCode),
    "v3oidcclientcredentials" => Kind::Oidc(OidcFlow::ClientCredentials),
    "v3oidcdeviceauthz" => Kind::SignIn(SignIn::Device),
    "v3oidcpassword" => Kind::Oidc(OidcFlow::Password),
    "v3password" => Kind::Password(ApiVersion::V3),
    "v3token" => Kind::Token(ApiVersion::V3),
    "v3totp" => Kind::Totp,
    "v3websso" => Kind::SignIn(SignIn::WebSso),
}

const SCOPE: &[&str] = &[
    "project_id",
    "project_name",
    "project_domain_id",
    "project_domain_name",
    "domain_id",
    "domain_name",
    "system_scope",
    "trust_id",
    "default_domain",
];

const USER: &[&str] = &["username", "user_id", "user_domain_id", "user_domain_name"];

impl ConfiguredPlugin {
    /// The built-in plugin `name`, with no options; `None` for an unknown
    /// name. (A sign-in plugin made so shows its prompts to nobody: give it
    /// a UI with [`SignInLoader`].)
    pub fn new(name: &str) -> Option<Self> {
        BuiltinLoader::named(name).map(|l| ConfiguredPlugin::with_loader(name, l))
    }

    /// `admin_token`: a fixed token for a fixed endpoint (no Keystone call).
    pub fn admin_token(endpoint: impl Into<String>, token: impl Into<String>) -> Self {
        ConfiguredPlugin::with_loader(
            "admin_token",
            BuiltinLoader {
                kind: Kind::AdminToken,
            },
        )
        .with("endpoint", endpoint)
        .with("token", token)
    }

    /// `none`: no token, a fixed endpoint.
    pub fn no_auth(endpoint: impl Into<String>) -> Self {
        ConfiguredPlugin::with_loader("none", BuiltinLoader { kind: Kind::NoAuth })
            .with("endpoint", endpoint)
    }

    /// `v3password` with a user name in a domain (by name).
    pub fn v3_password(
        auth_url: impl Into<String>,
        username: &str,
        user_domain_name: &str,
        password: &str,
    ) -> Self {
        ConfiguredPlugin::with_loader(
            "v3password",
            BuiltinLoader {
                kind: Kind::Password(ApiVersion::V3),
            },
        )
        .with("auth_url", auth_url)
        .with("username", username)
        .with("user_domain_name", user_domain_name)
        .with("password", password)
    }

    /// The JSON body a built-in Keystone plugin POSTs to `/v3/auth/tokens`
    /// (or `/v2.0/tokens`), from its options.
    ///
    /// Public so that tests (and curious users) can compare it with Keystone's
    /// documented bodies; it contains the secret, so never log it.
    pub fn request_body(&self, version_v2: bool) -> Result<Value, Error> {
        let kind = BuiltinLoader::named(self.auth_system())
            .map(|l| l.kind)
            .ok_or_else(|| {
                Error::invalid(
                    InvalidKind::Plugin,
                    format!("{} is not built in", self.auth_system()),
                )
            })?;
        let auth = keystone_auth(self.auth_system(), kind, self.opts_ref())?.ok_or_else(|| {
            Error::invalid(
                InvalidKind::Plugin,
                format!("{} does not talk to Keystone", self.auth_system()),
            )
        })?;
        let body = if version_v2 {
            serde_json::to_value(auth.v2_body()?)
        } else {
            serde_json::to_value(auth.v3_body()?)
        };
        body.map_err(|e| Error::invalid(InvalidKind::Body, e.to_string()))
    }
}

impl BuiltinLoader {
    fn names(&self) -> Vec<&'static str> {
        let mut n: Vec<&'static str> = match self.kind {
            Kind::Password(ApiVersion::V2) => vec![
                "auth_url",
                "username",
                "password",
                "project_name",
                "project_id",
            ],
            Kind::Password(_) => [&["auth_url"], USER, &["password"], SCOPE].concat(),
            Kind::Token(_) => [&["auth_url", "token"][..], SCOPE].concat(),
            Kind::Totp => [&["auth_url"], USER, &["passcode", "receipt"], SCOPE].concat(),
            Kind::Multifactor => [
                &["auth_url", "auth_methods"][..],
                USER,
                &["password", "passcode", "receipt"],
                SCOPE,
            ]
            .concat(),
            Kind::ApplicationCredential => [
                &[
                    "auth_url",
                    "application_credential_id",
                    "application_credential_name",
                    "application_credential_secret",
                ][..],
                USER,
                &["default_domain"],
            ]
            .concat(),
            Kind::AdminToken => vec!["endpoint", "token"],
            Kind::NoAuth => vec!["endpoint"],
            Kind::HttpBasic => vec!["endpoint", "username", "password"],
            Kind::Oidc(flow) => {
                let mut v = vec![
                    "auth_url",
                    "identity_provider",
                    "protocol",
                    "discovery_endpoint",
                    "access_token_endpoint",
                    "client_id",
                    "client_secret",
                    "openid_scope",
                ];
                match flow {
                    OidcFlow::AccessToken => {
                        v = vec!["auth_url", "identity_provider", "protocol", "access_token"]
                    }
                    OidcFlow::Password => v.extend(["username", "password"]),
                    OidcFlow::ClientCredentials => {}
                }
                v.extend_from_slice(SCOPE);
                v
            }
            Kind::SignIn(SignIn::Device) => [
                &[
                    "auth_url",
                    "identity_provider",
                    "protocol",
                    "client_id",
                    "client_secret",
                    "discovery_endpoint",
                    "device_authorization_endpoint",
                    "access_token_endpoint",
                    "openid_scope",
                    "signin_timeout",
                ][..],
                SCOPE,
            ]
            .concat(),
            Kind::SignIn(SignIn::AuthCode) => [
                &[
                    "auth_url",
                    "identity_provider",
                    "protocol",
                    "client_id",
                    "client_secret",
                    "discovery_endpoint",
                    "authorization_endpoint",
                    "access_token_endpoint",
                    "openid_scope",
                    "redirect_uri",
                    "code",
                    "signin_timeout",
                ][..],
                SCOPE,
            ]
            .concat(),
            Kind::SignIn(SignIn::WebSso) => [
                &[
                    "auth_url",
                    "identity_provider",
                    "protocol",
                    "redirect_uri",
                    "signin_timeout",
                ][..],
                SCOPE,
            ]
            .concat(),
        };
        n.dedup();
        n
    }

    fn missing(&self, o: &AuthOptions) -> Vec<&'static str> {
        let mut missing = Vec::new();
        let mut need = |name: &'static str, ok: bool| {
            if !ok {
                missing.push(name);
            }
        };
        let user = o.has("username") || o.has("user_id");
        match self.kind {
            Kind::Password(_) => {
                need("auth_url", o.has("auth_url"));
                need("username", user);
                need("password", o.has("password"));
            }
            Kind::Token(_) => {
                need("auth_url", o.has("auth_url"));
                need("token", o.has("token"));
            }
            Kind::Totp => {
                need("auth_url", o.has("auth_url"));
                need("username", user);
                need("passcode", o.has("passcode"));
            }
            Kind::Multifactor => {
                need("auth_url", o.has("auth_url"));
                need("auth_methods", o.has("auth_methods"));
                need("username", user);
                for m in multifactor_methods(o).unwrap_or_default() {
                    need(m.option(), o.has(m.option()));
                }
            }
            Kind::ApplicationCredential => {
                need("auth_url", o.has("auth_url"));
                let by_id = o.has("application_credential_id");
                need(
                    "application_credential_id",
                    by_id || o.has("application_credential_name"),
                );
                if !by_id && o.has("application_credential_name") {
                    need("username", user);
                }
                need(
                    "application_credential_secret",
                    o.has("application_credential_secret"),
                );
            }
            Kind::AdminToken => {
                need("endpoint", o.has("endpoint"));
                need("token", o.has("token"));
            }
            Kind::NoAuth => need("endpoint", o.has("endpoint")),
            Kind::HttpBasic => {
                need("endpoint", o.has("endpoint"));
                need("username", o.has("username"));
                need("password", o.has("password"));
            }
            Kind::Oidc(flow) => {
                need("auth_url", o.has("auth_url"));
                need("identity_provider", o.has("identity_provider"));
                need("protocol", o.has("protocol"));
                match flow {
                    OidcFlow::AccessToken => need("access_token", o.has("access_token")),
                    OidcFlow::ClientCredentials | OidcFlow::Password => {
                        need("client_id", o.has("client_id"));
                        need(
                            "discovery_endpoint",
                            o.has("discovery_endpoint") || o.has("access_token_endpoint"),
                        );
                        if flow == OidcFlow::Password {
                            need("username", o.has("username"));
                            need("password", o.has("password"));
                        }
                    }
                }
            }
            Kind::SignIn(SignIn::WebSso) => {
                need("auth_url", o.has("auth_url"));
                need("protocol", o.has("protocol"));
            }
            Kind::SignIn(flow) => {
                need("auth_url", o.has("auth_url"));
                need("identity_provider", o.has("identity_provider"));
                need("protocol", o.has("protocol"));
                need("client_id", o.has("client_id"));
                let direct = match flow {
                    SignIn::AuthCode if o.has("code") => o.has("access_token_endpoint"),
                    SignIn::AuthCode => {
                        o.has("authorization_endpoint") && o.has("access_token_endpoint")
                    }
                    _ => o.has("device_authorization_endpoint") && o.has("access_token_endpoint"),
                };
                need("discovery_endpoint", direct || o.has("discovery_endpoint"));
                if flow == SignIn::AuthCode && o.has("code") {
                    need("redirect_uri", o.has("redirect_uri"));
                }
            }
        }
        missing
    }
}

impl PluginLoader for BuiltinLoader {
    fn option_specs(&self) -> Vec<OptionSpec> {
        self.names()
            .into_iter()
            .filter_map(|n| {
                COMMON_OPTIONS
                    .iter()
                    .chain(PLUGIN_OPTIONS)
                    .find(|s| s.name == n)
                    .cloned()
            })
            .collect()
    }

    fn sufficient_options(&self, opts: &AuthOptions) -> Result<(), AuthorizationFailure> {
        let missing = self.missing(opts);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AuthorizationFailure::options_missing(missing))
        }
    }

    fn load(&self, name: &str, o: &AuthOptions) -> Result<Box<dyn AuthPlugin>, Error> {
        self.load_with(name, o, None)
    }

    fn interactive(&self) -> bool {
        matches!(self.kind, Kind::SignIn(_))
    }
}

impl BuiltinLoader {
    /// The runtime plugin; a sign-in plugin shows its prompts with `ui`.
    fn load_with(
        &self,
        name: &str,
        o: &AuthOptions,
        ui: Option<Arc<dyn SignInUi>>,
    ) -> Result<Box<dyn AuthPlugin>, Error> {
        self.sufficient_options(o)?;
        let endpoint = || o.get("endpoint").unwrap_or_default().to_string();
        let secret = |n: &str| o.expose(n).unwrap_or_default().to_string();
        Ok(match self.kind {
            Kind::AdminToken => Box::new(AdminToken::new(endpoint(), secret("token"))),
            Kind::NoAuth => Box::new(NoAuth::new(endpoint())),
            Kind::HttpBasic => Box::new(HttpBasic::new(
                endpoint(),
                o.get("username").unwrap_or_default(),
                &secret("password"),
            )),
            Kind::Oidc(flow) => Box::new(oidc_of(name, flow, o)?),
            Kind::SignIn(kind) => signin_of(kind, o, ui)?,
            kind => match keystone_auth(name, kind, o)? {
                Some(auth) => Box::new(auth),
                None => {
                    return Err(Error::invalid(
                        InvalidKind::Plugin,
                        format!("{name}: no Keystone plugin"),
                    ));
                }
            },
        })
    }
}

/// A factor of v3multifactor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Factor {
    Password,
    Totp,
}

impl Factor {
    fn option(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Totp => "passcode",
        }
    }
}

fn multifactor_methods(o: &AuthOptions) -> Result<Vec<Factor>, Error> {
    let Some(list) = o.get("auth_methods") else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| match m {
            "password" | "v3password" => Ok(Factor::Password),
            "totp" | "v3totp" => Ok(Factor::Totp),
            other => Err(Error::invalid(InvalidKind::Plugin, format!(
                "v3multifactor: unknown method '{other}' in auth_methods (known: v3password, v3totp)"
            ))),
        })
        .collect()
}

/// The Keystone authentication of a Keystone-speaking kind; `None` for the others.
fn keystone_auth(name: &str, kind: Kind, o: &AuthOptions) -> Result<Option<KeystoneAuth>, Error> {
    let secret = |n: &str| SecretString::from(o.expose(n).unwrap_or_default().to_string());
    let (api, methods) = match kind {
        Kind::Password(api) => (
            api,
            vec![Method::Password {
                user: user_of(o),
                password: secret("password"),
            }],
        ),
        Kind::Token(api) => (api, vec![Method::Token(secret("token"))]),
        Kind::Totp => (
            ApiVersion::V3,
            vec![Method::Totp {
                user: user_of(o),
                passcode: secret("passcode"),
            }],
        ),
        Kind::Multifactor => (
            ApiVersion::V3,
            multifactor_methods(o)?
                .into_iter()
                .map(|f| match f {
                    Factor::Password => Method::Password {
                        user: user_of(o),
                        password: secret("password"),
                    },
                    Factor::Totp => Method::Totp {
                        user: user_of(o),
                        passcode: secret("passcode"),
                    },
                })
                .collect(),
        ),
        Kind::ApplicationCredential => {
            let cred = match o.get("application_credential_id") {
                Some(id) => AppCred::Id(id.to_string()),
                None => AppCred::Name {
                    name: o
                        .get("application_credential_name")
                        .unwrap_or_default()
                        .to_string(),
                    user: user_of(o),
                },
            };
            (
                ApiVersion::V3,
                vec![Method::ApplicationCredential {
                    cred,
                    secret: secret("application_credential_secret"),
                }],
            )
        }
        Kind::AdminToken | Kind::NoAuth | Kind::HttpBasic | Kind::Oidc(_) | Kind::SignIn(_) => {
            return Ok(None);
        }
    };
    let mut auth = KeystoneAuth::new(name, o.get("auth_url").unwrap_or_default(), api);
    auth.methods = methods;
    auth.scope = scope_of(o)?;
    if let Some(d) = o.get("default_domain") {
        auth.default_domain = d.to_string();
    }
    auth.receipt = o.expose("receipt").map(Receipt::new);
    Ok(Some(auth))
}

/// The loader of a human sign-in plugin (`v3oidcdeviceauthz`,
/// `v3oidcauthcode`, `v3websso`) with the [`SignInUi`] its plugins show
/// their prompts with (the built-in loader's show nothing).
/// [`PluginRegistry::with_signin_ui`](crate::PluginRegistry::with_signin_ui)
/// registers the three.
///
/// ```
/// use apiclient_auth::keystone::SignInLoader;
/// use apiclient_auth::signin::SignInPrompt;
/// use apiclient_auth::{AuthOptions, PluginLoader};
///
/// let loader = SignInLoader::named("v3oidcdeviceauthz", |p: &SignInPrompt<'_>| eprintln!("{p:?}")).unwrap();
/// let opts = AuthOptions::new()
///     .with("auth_url", "https://keystone.example/v3")
///     .with("identity_provider", "myidp")
///     .with("protocol", "openid")
///     .with("client_id", "cli");
/// let err = loader.sufficient_options(&opts).unwrap_err();
/// assert_eq!(err.to_string(), "Authentication failed. Missing options: discovery_endpoint");
/// assert!(loader.interactive());
/// ```
#[derive(Clone)]
pub struct SignInLoader {
    base: BuiltinLoader,
    ui: Arc<dyn SignInUi>,
}

impl std::fmt::Debug for SignInLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInLoader")
            .field("kind", &self.base.kind)
            .finish_non_exhaustive()
    }
}

/// The names of the human sign-in plugins, sorted.
pub const SIGNIN_PLUGINS: &[&str] = &["v3oidcauthcode", "v3oidcdeviceauthz", "v3websso"];

impl SignInLoader {
    /// The loader of the sign-in plugin `name` showing its prompts with
    /// `ui`; `None` when `name` is not one of [`SIGNIN_PLUGINS`].
    pub fn named(name: &str, ui: impl SignInUi + 'static) -> Option<Self> {
        Self::shared(name, Arc::new(ui))
    }

    /// [`named`](Self::named) with a shared UI.
    pub fn shared(name: &str, ui: Arc<dyn SignInUi>) -> Option<Self> {
        let base = BuiltinLoader::named(name).filter(|b| matches!(b.kind, Kind::SignIn(_)))?;
        Some(SignInLoader { base, ui })
    }
}

impl PluginLoader for SignInLoader {
    fn option_specs(&self) -> Vec<OptionSpec> {
        self.base.option_specs()
    }

    fn sufficient_options(&self, opts: &AuthOptions) -> Result<(), AuthorizationFailure> {
        self.base.sufficient_options(opts)
    }

    fn load(&self, name: &str, opts: &AuthOptions) -> Result<Box<dyn AuthPlugin>, Error> {
        self.base.load_with(name, opts, Some(self.ui.clone()))
    }

    fn interactive(&self) -> bool {
        true
    }
}
