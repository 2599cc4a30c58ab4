//! The built-in runtime plugins, typed: what each needs is a parameter,
//! what it may take a method; no option name is a string, and every secret
//! is a [`SecretString`] from the moment it is given.
//!
//! ```
//! use apiclient_auth::typed::{Scope, V3ApplicationCredential, V3Password};
//! use apiclient_auth::AuthPlugin;
//!
//! let p = V3Password::new("https://keystone.example/v3", "alice", "s3cret")
//!     .user_domain_name("Default")
//!     .scope(Scope::project_name("demo", "Default"));
//! assert_eq!(p.auth_system(), "v3password");
//! assert!(!format!("{p:?}").contains("s3cret"));
//! // the body it sends is Keystone's, typed
//! let body = serde_json::to_value(p.request_body().unwrap()).unwrap();
//! assert_eq!(body["auth"]["identity"]["password"]["user"]["name"], "alice");
//! assert_eq!(body["auth"]["scope"]["project"]["domain"]["name"], "Default");
//!
//! let ac = V3ApplicationCredential::by_id("https://keystone.example/v3", "ac-1", "secret");
//! assert_eq!(ac.auth_system(), "v3applicationcredential");
//!
//! // the legacy v2.0 API has tenants and no domains
//! let v2 = apiclient_auth::typed::V2Password::new("https://keystone.example/v2.0", "alice", "s3cret")
//!     .tenant_name("demo");
//! let body = serde_json::to_value(v2.request_body().unwrap()).unwrap();
//! assert_eq!(body, serde_json::json!({"auth": {
//!     "passwordCredentials": {"username": "alice", "password": "s3cret"}, "tenantName": "demo"}}));
//! ```

use apiclient_errors::{Error, Receipt};
use secrecy::{ExposeSecret, SecretString};

use crate::access::{AccessInfo, TokenHeader};
use crate::identity::{ApiVersion, AppCred, KeystoneAuth, Method};
use crate::plugin::AuthPlugin;
use crate::transport::{BoxFuture, SharedTransport};
use crate::wire::{V2AuthRequest, V3AuthRequest};

pub use crate::user_scope::{Domain, Scope, User};

macro_rules! keystone_plugin {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(KeystoneAuth);

        impl From<$name> for Box<dyn AuthPlugin> {
            fn from(p: $name) -> Self {
                Box::new(p)
            }
        }

        impl AuthPlugin for $name {
            fn auth_system(&self) -> &str {
                self.0.auth_system()
            }
            fn authenticate(
                &self,
                transport: SharedTransport,
            ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
                self.0.authenticate(transport)
            }
            fn cache_key(&self) -> Option<String> {
                keystone_cache_key(&self.0)
            }
            fn credentials_key(&self) -> Option<String> {
                keystone_credentials_key(&self.0)
            }
            fn rescope(
                &self,
                token: &SecretString,
                transport: SharedTransport,
            ) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
                keystone_rescope(&self.0, token, transport)
            }
        }

        impl $name {
            /// The domain (id) of a user or project named without one
            /// (`default` unless set; `OS_DEFAULT_DOMAIN`).
            pub fn default_domain(mut self, id: impl Into<String>) -> Self {
                self.0.default_domain = id.into();
                self
            }
        }
    };
}

macro_rules! v3_body {
    ($($name:ident),*) => {$(
        impl $name {
            /// The body it POSTs to `/v3/auth/tokens`. It holds the secret
            /// (shown only when serialized): never log its JSON.
            pub fn request_body(&self) -> Result<V3AuthRequest, Error> {
                self.0.v3_body()
            }
        }
    )*};
}

v3_body!(V3Password, V3Token, V3ApplicationCredential, V3Totp);

macro_rules! scoped {
    ($($name:ident),*) => {$(
        impl $name {
            /// The scope of the token.
            pub fn scope(mut self, scope: Scope) -> Self {
                self.0.scope = Some(scope);
                self
            }
        }
    )*};
}

scoped!(V3Password, V3Token, V3Totp);

macro_rules! with_receipt {
    ($($name:ident),*) => {$(
        impl $name {
            /// Continue a multi-factor authentication: the receipt Keystone
            /// gave for the factor(s) already accepted.
            pub fn receipt(mut self, receipt: Receipt) -> Self {
                self.0.receipt = Some(receipt);
                self
            }
        }
    )*};
}

with_receipt!(V3Password, V3Totp);

impl AuthPlugin for KeystoneAuth {
    fn auth_system(&self) -> &str {
        &self.auth_system
    }

    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        Box::pin(self.clone().run(transport))
    }

    fn prepare_reauthentication(&mut self) -> bool {
        // a token cannot renew itself; a password, passcode or secret can try again
        !self.methods.iter().all(|m| matches!(m, Method::Token(_)))
    }

    fn cache_key(&self) -> Option<String> {
        keystone_cache_key(self)
    }

    fn credentials_key(&self) -> Option<String> {
        keystone_credentials_key(self)
    }

    fn rescope(
        &self,
        token: &SecretString,
        transport: SharedTransport,
    ) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
        keystone_rescope(self, token, transport)
    }
}

/// The token-store key of a Keystone authentication (its plugin, auth URL,
/// user or application credential, scope, and the default domain when it
/// is not `default`). None for a bare token (`v3token`, `v2token`): whose
/// token it is shows only once it is used, and a key without the user
/// would hand one user's stored token to another.
fn keystone_cache_key(auth: &KeystoneAuth) -> Option<String> {
    if auth.methods.iter().all(|m| matches!(m, Method::Token(_))) {
        return None;
    }
    let mut key = auth.key();
    if auth.default_domain != "default" {
        key.push_str("|default_domain=");
        key.push_str(&auth.default_domain);
    }
    Some(key)
}

/// The key of a Keystone user's credentials under any scope: for the
/// methods of a user (password, passcode) on identity v3, whose tokens can
/// be re-scoped; None for application credentials (their scope is their
/// own), v2.0, and trust scopes (a trust-scoped token is never re-scoped).
fn keystone_credentials_key(auth: &KeystoneAuth) -> Option<String> {
    let of_a_user = auth
        .methods
        .iter()
        .all(|m| matches!(m, Method::Password { .. } | Method::Totp { .. }));
    if !of_a_user || auth.api == ApiVersion::V2 || matches!(auth.scope, Some(Scope::Trust(_))) {
        return None;
    }
    let mut any_scope = auth.clone();
    any_scope.scope = None;
    any_scope.receipt = None;
    keystone_cache_key(&any_scope)
}

/// Keystone's `token` method to this authentication's scope (v3).
fn keystone_rescope(
    auth: &KeystoneAuth,
    token: &SecretString,
    transport: SharedTransport,
) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
    keystone_credentials_key(auth)?;
    let scope = auth.scope.clone()?;
    let mut rescope = KeystoneAuth::new(&auth.auth_system, auth.auth_url.clone(), ApiVersion::V3)
        .method(Method::Token(token.clone()));
    rescope.scope = Some(scope);
    rescope.default_domain = auth.default_domain.clone();
    Some(Box::pin(rescope.run(transport)))
}

keystone_plugin! {
    /// `v3password`: a user's password, optionally scoped.
    V3Password
}

impl V3Password {
    /// A user by name (in the default domain unless one is set) and password.
    pub fn new(auth_url: impl Into<String>, username: &str, password: &str) -> Self {
        Self::for_user(auth_url, User::name(username), password)
    }

    /// A user by id and password.
    pub fn by_user_id(auth_url: impl Into<String>, user_id: &str, password: &str) -> Self {
        Self::for_user(auth_url, User::id(user_id), password)
    }

    /// A [`User`] and password.
    pub fn for_user(auth_url: impl Into<String>, user: User, password: &str) -> Self {
        V3Password(
            KeystoneAuth::new("v3password", auth_url, ApiVersion::V3).method(Method::Password {
                user,
                password: SecretString::from(password.to_string()),
            }),
        )
    }

    /// The user's domain, by name.
    pub fn user_domain_name(self, name: &str) -> Self {
        self.user_domain(Domain::Name(name.to_string()))
    }

    /// The user's domain, by id.
    pub fn user_domain_id(self, id: &str) -> Self {
        self.user_domain(Domain::Id(id.to_string()))
    }

    fn user_domain(mut self, domain: Domain) -> Self {
        self.0.set_user_domain(&domain);
        self
    }
}

keystone_plugin! {
    /// `v3token`: an existing token, rescoped.
    V3Token
}

impl V3Token {
    /// An existing token.
    pub fn new(auth_url: impl Into<String>, token: &str) -> Self {
        V3Token(
            KeystoneAuth::new("v3token", auth_url, ApiVersion::V3)
                .method(Method::Token(SecretString::from(token.to_string()))),
        )
    }
}

keystone_plugin! {
    /// `v3applicationcredential`: an application credential (its scope is its own).
    V3ApplicationCredential
}

impl V3ApplicationCredential {
    /// An application credential by id.
    pub fn by_id(auth_url: impl Into<String>, id: &str, secret: &str) -> Self {
        Self::of(auth_url, AppCred::Id(id.to_string()), secret)
    }

    /// An application credential by name, of a user by name in a domain by name.
    pub fn by_name(
        auth_url: impl Into<String>,
        name: &str,
        username: &str,
        user_domain_name: &str,
        secret: &str,
    ) -> Self {
        let user = User::name(username).in_domain(Domain::Name(user_domain_name.to_string()));
        Self::of(
            auth_url,
            AppCred::Name {
                name: name.to_string(),
                user,
            },
            secret,
        )
    }

    /// An application credential by name, of a [`User`].
    pub fn by_name_of(auth_url: impl Into<String>, name: &str, user: User, secret: &str) -> Self {
        Self::of(
            auth_url,
            AppCred::Name {
                name: name.to_string(),
                user,
            },
            secret,
        )
    }

    fn of(auth_url: impl Into<String>, cred: AppCred, secret: &str) -> Self {
        V3ApplicationCredential(
            KeystoneAuth::new("v3applicationcredential", auth_url, ApiVersion::V3).method(
                Method::ApplicationCredential {
                    cred,
                    secret: SecretString::from(secret.to_string()),
                },
            ),
        )
    }
}

keystone_plugin! {
    /// `v3totp`: a user's time-based one-time passcode (Keystone's own TOTP
    /// credentials).
    V3Totp
}

impl V3Totp {
    /// A user by name (in the default domain unless one is set) and the
    /// current passcode.
    pub fn new(auth_url: impl Into<String>, username: &str, passcode: &str) -> Self {
        Self::for_user(auth_url, User::name(username), passcode)
    }

    /// A [`User`] and the current passcode.
    pub fn for_user(auth_url: impl Into<String>, user: User, passcode: &str) -> Self {
        V3Totp(
            KeystoneAuth::new("v3totp", auth_url, ApiVersion::V3).method(Method::Totp {
                user,
                passcode: SecretString::from(passcode.to_string()),
            }),
        )
    }

    /// The user's domain, by name.
    pub fn user_domain_name(mut self, name: &str) -> Self {
        self.0.set_user_domain(&Domain::Name(name.to_string()));
        self
    }
}

keystone_plugin! {
    /// `v2password`: a password on the legacy identity v2.0 API (no
    /// domains; a tenant is the project).
    V2Password
}

impl V2Password {
    /// A user by name and password, at a `/v2.0` auth URL (or an
    /// unversioned one: `/v2.0` is appended).
    pub fn new(auth_url: impl Into<String>, username: &str, password: &str) -> Self {
        V2Password(
            KeystoneAuth::new("v2password", auth_url, ApiVersion::V2).method(Method::Password {
                user: User::name(username),
                password: SecretString::from(password.to_string()),
            }),
        )
    }

    /// Scope to a tenant (project) by name.
    pub fn tenant_name(mut self, name: &str) -> Self {
        self.0.scope = Some(Scope::ProjectName {
            name: name.to_string(),
            domain: Domain::Default,
        });
        self
    }

    /// Scope to a tenant (project) by id.
    pub fn tenant_id(mut self, id: &str) -> Self {
        self.0.scope = Some(Scope::ProjectId(id.to_string()));
        self
    }

    /// The body it POSTs to `/v2.0/tokens` (holds the secret when serialized).
    pub fn request_body(&self) -> Result<V2AuthRequest, Error> {
        self.0.v2_body()
    }
}

keystone_plugin! {
    /// `v2token`: an existing token on the legacy identity v2.0 API.
    V2Token
}

impl V2Token {
    /// An existing token.
    pub fn new(auth_url: impl Into<String>, token: &str) -> Self {
        V2Token(
            KeystoneAuth::new("v2token", auth_url, ApiVersion::V2)
                .method(Method::Token(SecretString::from(token.to_string()))),
        )
    }

    /// Scope to a tenant (project) by name.
    pub fn tenant_name(mut self, name: &str) -> Self {
        self.0.scope = Some(Scope::ProjectName {
            name: name.to_string(),
            domain: Domain::Default,
        });
        self
    }

    /// The body it POSTs to `/v2.0/tokens` (holds the secret when serialized).
    pub fn request_body(&self) -> Result<V2AuthRequest, Error> {
        self.0.v2_body()
    }
}

/// `v3multifactor`: several methods in one request (a password and a
/// passcode, ...), for a user whose `multi_factor_auth_rules` want them;
/// or the missing factor with the receipt of the others.
///
/// ```
/// use apiclient_auth::typed::{User, V3Multifactor};
///
/// let p = V3Multifactor::new("https://keystone.example/v3", User::name("alice"))
///     .password("s3cret")
///     .totp("123456");
/// let body = serde_json::to_value(p.request_body().unwrap()).unwrap();
/// assert_eq!(body["auth"]["identity"]["methods"], serde_json::json!(["password", "totp"]));
/// assert!(!format!("{p:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone)]
pub struct V3Multifactor {
    auth: KeystoneAuth,
    user: User,
}

impl V3Multifactor {
    /// No method yet, for `user`.
    pub fn new(auth_url: impl Into<String>, user: User) -> Self {
        V3Multifactor {
            auth: KeystoneAuth::new("v3multifactor", auth_url, ApiVersion::V3),
            user,
        }
    }

    /// Add the `password` method.
    pub fn password(mut self, password: &str) -> Self {
        self.auth.methods.push(Method::Password {
            user: self.user.clone(),
            password: SecretString::from(password.to_string()),
        });
        self
    }

    /// Add the `totp` method.
    pub fn totp(mut self, passcode: &str) -> Self {
        self.auth.methods.push(Method::Totp {
            user: self.user.clone(),
            passcode: SecretString::from(passcode.to_string()),
        });
        self
    }

    /// The scope of the token.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.auth.scope = Some(scope);
        self
    }

    /// The receipt of factors given before (from
    /// [`AuthorizationFailure::ReceiptRequired`](apiclient_errors::AuthorizationFailure::ReceiptRequired)).
    pub fn receipt(mut self, receipt: Receipt) -> Self {
        self.auth.receipt = Some(receipt);
        self
    }

    /// The domain (id) of a user or project named without one.
    pub fn default_domain(mut self, id: impl Into<String>) -> Self {
        self.auth.default_domain = id.into();
        self
    }

    /// The body it POSTs to `/v3/auth/tokens` (holds the secrets when serialized).
    pub fn request_body(&self) -> Result<V3AuthRequest, Error> {
        self.auth.v3_body()
    }
}

impl AuthPlugin for V3Multifactor {
    fn auth_system(&self) -> &str {
        self.auth.auth_system()
    }
    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        self.auth.authenticate(transport)
    }
    fn cache_key(&self) -> Option<String> {
        keystone_cache_key(&self.auth)
    }
    fn credentials_key(&self) -> Option<String> {
        keystone_credentials_key(&self.auth)
    }
    fn rescope(
        &self,
        token: &SecretString,
        transport: SharedTransport,
    ) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
        keystone_rescope(&self.auth, token, transport)
    }
}

impl From<V3Multifactor> for Box<dyn AuthPlugin> {
    fn from(p: V3Multifactor) -> Self {
        Box::new(p)
    }
}

/// `admin_token` / `token_endpoint`: a fixed token for a fixed endpoint (no
/// Keystone call).
#[derive(Clone)]
pub struct AdminToken {
    endpoint: String,
    token: SecretString,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminToken")
            .field("endpoint", &self.endpoint)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

impl AdminToken {
    /// `token` for every request to `endpoint`.
    pub fn new(endpoint: impl Into<String>, token: impl Into<String>) -> Self {
        AdminToken {
            endpoint: endpoint.into(),
            token: SecretString::from(token.into()),
        }
    }
}

/// The runtime of a fixed credential (`admin_token`, `none`, `http_basic`):
/// no Keystone call, a fixed endpoint, nothing to renew after a 401, and no
/// cache key (the default `None`): nothing to store, as its token costs
/// nothing to reproduce and may be a password in disguise.
macro_rules! fixed_plugin {
    ($name:ident, $system:literal, |$s:ident| $access:expr) => {
        impl AuthPlugin for $name {
            fn auth_system(&self) -> &str {
                $system
            }
            fn authenticate(
                &self,
                _: SharedTransport,
            ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
                let $s = self;
                let access: AccessInfo = $access;
                Box::pin(async move { Ok(access) })
            }
            fn fixed_endpoint(&self) -> Option<&str> {
                Some(&self.endpoint)
            }
            fn prepare_reauthentication(&mut self) -> bool {
                false
            }
        }
    };
}

fixed_plugin!(AdminToken, "admin_token", |p| AccessInfo::fixed(
    p.token.clone(),
    Some(p.endpoint.clone())
));

/// `none`: no token, a fixed endpoint (a standalone service).
#[derive(Debug, Clone)]
pub struct NoAuth {
    endpoint: String,
}

impl NoAuth {
    /// Every request to `endpoint`, without a token.
    pub fn new(endpoint: impl Into<String>) -> Self {
        NoAuth {
            endpoint: endpoint.into(),
        }
    }
}

fixed_plugin!(NoAuth, "none", |p| AccessInfo::fixed(
    SecretString::from(""),
    Some(p.endpoint.clone())
));

/// `http_basic`: HTTP Basic authentication to a fixed endpoint (a standalone
/// Ironic, ...): every request carries `Authorization: Basic ...`, and no
/// `X-Auth-Token`.
///
/// ```
/// use apiclient_auth::typed::HttpBasic;
/// use apiclient_auth::AuthPlugin;
///
/// let p = HttpBasic::new("http://ironic:6385", "admin", "s3cret");
/// assert_eq!(p.auth_system(), "http_basic");
/// assert!(!format!("{p:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct HttpBasic {
    endpoint: String,
    username: String,
    password: SecretString,
}

impl std::fmt::Debug for HttpBasic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBasic")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

impl HttpBasic {
    /// `username` and `password` for every request to `endpoint`.
    pub fn new(endpoint: impl Into<String>, username: &str, password: &str) -> Self {
        HttpBasic {
            endpoint: endpoint.into(),
            username: username.to_string(),
            password: SecretString::from(password.to_string()),
        }
    }
}

fixed_plugin!(HttpBasic, "http_basic", |p| AccessInfo::fixed(
    SecretString::from(basic_authorization(&p.username, p.password.expose_secret())),
    Some(p.endpoint.clone())
)
.with_token_header(TokenHeader::Authorization));

/// The `Authorization` value of HTTP Basic authentication (RFC 7617):
/// `Basic base64(user:password)`. It holds the password: never log it.
///
/// ```
/// assert_eq!(apiclient_auth::typed::basic_authorization("Aladdin", "open sesame"),
///            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// ```
pub fn basic_authorization(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 with padding (RFC 4648 §4), for `Authorization: Basic`.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
