//! Typed constructors for the built-in plugins: what each needs is a
//! parameter, what it may take a method; no option name is a string.
//!
//! ```
//! use apiclient_auth::typed::{Scope, V3ApplicationCredential, V3Password};
//! use apiclient_auth::AuthPlugin;
//!
//! let p = V3Password::new("https://keystone.example/v3", "alice", "s3cret")
//!     .user_domain_name("Default")
//!     .scope(Scope::project_name("demo", "Default"));
//! assert_eq!(p.auth_system(), "v3password");
//! assert!(p.sufficient_options().is_ok());
//! assert!(!format!("{p:?}").contains("s3cret"));
//!
//! let ac = V3ApplicationCredential::by_id("https://keystone.example/v3", "ac-1", "secret");
//! assert_eq!(ac.auth_system(), "v3applicationcredential");
//! ```

use apiclient_errors::{AuthorizationFailure, EndpointError, Error};

use crate::access::AccessInfo;
use crate::catalog::EndpointFilter;
use crate::keystone::KeystonePlugin;
use crate::options::{AuthOptions, OptionSpec};
use crate::plugin::AuthPlugin;
use crate::transport::{BoxFuture, SharedTransport};

/// What a token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// A project by id.
    ProjectId(String),
    /// A project by name in a domain (by name).
    ProjectName {
        /// The project's name.
        name: String,
        /// Its domain's name.
        domain_name: String,
    },
    /// A domain by id.
    DomainId(String),
    /// A domain by name.
    DomainName(String),
    /// The whole deployment (`system_scope: all`).
    System,
    /// A trust by id (the token acts for the trust's trustor).
    Trust(String),
}

impl Scope {
    /// A project by name in a domain by name.
    pub fn project_name(name: impl Into<String>, domain_name: impl Into<String>) -> Self {
        Scope::ProjectName {
            name: name.into(),
            domain_name: domain_name.into(),
        }
    }

    fn apply(self, p: KeystonePlugin) -> KeystonePlugin {
        match self {
            Scope::ProjectId(id) => p.with("project_id", id),
            Scope::ProjectName { name, domain_name } => p
                .with("project_name", name)
                .with("project_domain_name", domain_name),
            Scope::DomainId(id) => p.with("domain_id", id),
            Scope::DomainName(name) => p.with("domain_name", name),
            Scope::System => p.with("system_scope", "all"),
            Scope::Trust(id) => p.with("trust_id", id),
        }
    }
}

macro_rules! typed_plugin {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(KeystonePlugin);

        impl $name {
            /// The plugin underneath (for its string options).
            pub fn into_inner(self) -> KeystonePlugin {
                self.0
            }
        }

        impl From<$name> for Box<dyn AuthPlugin> {
            fn from(p: $name) -> Self {
                Box::new(p.0)
            }
        }

        impl AuthPlugin for $name {
            fn auth_system(&self) -> &str {
                self.0.auth_system()
            }
            fn option_specs(&self) -> Vec<OptionSpec> {
                self.0.option_specs()
            }
            fn opts(&self) -> &AuthOptions {
                self.0.opts()
            }
            fn opts_mut(&mut self) -> &mut AuthOptions {
                self.0.opts_mut()
            }
            fn sufficient_options(&self) -> Result<(), AuthorizationFailure> {
                self.0.sufficient_options()
            }
            fn authenticate(
                &self,
                transport: SharedTransport,
            ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
                self.0.authenticate(transport)
            }
            fn endpoint(
                &self,
                access: &AccessInfo,
                filter: &EndpointFilter,
            ) -> Result<String, EndpointError> {
                self.0.endpoint(access, filter)
            }
            fn clear_fixed_credentials(&mut self) -> bool {
                self.0.clear_fixed_credentials()
            }
            fn invalidate(&mut self) -> bool {
                self.0.invalidate()
            }
            fn cache_key(&self) -> String {
                self.0.cache_key()
            }
        }
    };
}

typed_plugin! {
    /// `v3password`: a user's password, optionally scoped.
    V3Password
}

impl V3Password {
    /// A user by name (in the default domain unless one is set) and password.
    pub fn new(auth_url: impl Into<String>, username: &str, password: &str) -> Self {
        V3Password(
            KeystonePlugin::new("v3password")
                .unwrap_or_else(|| KeystonePlugin::no_auth(""))
                .with("auth_url", auth_url)
                .with("username", username)
                .with("password", password),
        )
    }

    /// A user by id and password.
    pub fn by_user_id(auth_url: impl Into<String>, user_id: &str, password: &str) -> Self {
        V3Password(
            KeystonePlugin::new("v3password")
                .unwrap_or_else(|| KeystonePlugin::no_auth(""))
                .with("auth_url", auth_url)
                .with("user_id", user_id)
                .with("password", password),
        )
    }

    /// The user's domain, by name.
    pub fn user_domain_name(self, name: &str) -> Self {
        V3Password(self.0.with("user_domain_name", name))
    }

    /// The user's domain, by id.
    pub fn user_domain_id(self, id: &str) -> Self {
        V3Password(self.0.with("user_domain_id", id))
    }

    /// The scope of the token.
    pub fn scope(self, scope: Scope) -> Self {
        V3Password(scope.apply(self.0))
    }
}

typed_plugin! {
    /// `v3token`: an existing token, rescoped.
    V3Token
}

impl V3Token {
    /// An existing token.
    pub fn new(auth_url: impl Into<String>, token: &str) -> Self {
        V3Token(
            KeystonePlugin::new("v3token")
                .unwrap_or_else(|| KeystonePlugin::no_auth(""))
                .with("auth_url", auth_url)
                .with("token", token),
        )
    }

    /// The scope of the new token.
    pub fn scope(self, scope: Scope) -> Self {
        V3Token(scope.apply(self.0))
    }
}

typed_plugin! {
    /// `v3applicationcredential`: an application credential (its scope is its own).
    V3ApplicationCredential
}

impl V3ApplicationCredential {
    /// An application credential by id.
    pub fn by_id(auth_url: impl Into<String>, id: &str, secret: &str) -> Self {
        V3ApplicationCredential(
            KeystonePlugin::new("v3applicationcredential")
                .unwrap_or_else(|| KeystonePlugin::no_auth(""))
                .with("auth_url", auth_url)
                .with("application_credential_id", id)
                .with("application_credential_secret", secret),
        )
    }

    /// An application credential by name, of a user by name in a domain by name.
    pub fn by_name(
        auth_url: impl Into<String>,
        name: &str,
        username: &str,
        user_domain_name: &str,
        secret: &str,
    ) -> Self {
        V3ApplicationCredential(
            KeystonePlugin::new("v3applicationcredential")
                .unwrap_or_else(|| KeystonePlugin::no_auth(""))
                .with("auth_url", auth_url)
                .with("application_credential_name", name)
                .with("username", username)
                .with("user_domain_name", user_domain_name)
                .with("application_credential_secret", secret),
        )
    }
}

typed_plugin! {
    /// `admin_token`: a fixed token for a fixed endpoint (no Keystone call).
    AdminToken
}

impl AdminToken {
    /// `token` for every request to `endpoint`.
    pub fn new(endpoint: impl Into<String>, token: impl Into<String>) -> Self {
        AdminToken(KeystonePlugin::admin_token(endpoint, token))
    }
}

typed_plugin! {
    /// `none`: no token, a fixed endpoint (a standalone service).
    NoAuth
}

impl NoAuth {
    /// Every request to `endpoint`, without a token.
    pub fn new(endpoint: impl Into<String>) -> Self {
        NoAuth(KeystonePlugin::no_auth(endpoint))
    }
}

typed_plugin! {
    /// `v3totp`: a user's time-based one-time passcode (Keystone's own TOTP
    /// credentials).
    V3Totp
}

impl V3Totp {
    /// A user by name (in the default domain unless one is set) and the
    /// current passcode.
    pub fn new(auth_url: impl Into<String>, username: &str, passcode: &str) -> Self {
        V3Totp(
            KeystonePlugin::new("v3totp")
                .unwrap_or_else(|| KeystonePlugin::no_auth(""))
                .with("auth_url", auth_url)
                .with("username", username)
                .with("passcode", passcode),
        )
    }

    /// The user's domain, by name.
    pub fn user_domain_name(self, name: &str) -> Self {
        V3Totp(self.0.with("user_domain_name", name))
    }

    /// The scope of the token.
    pub fn scope(self, scope: Scope) -> Self {
        V3Totp(scope.apply(self.0))
    }
}
