//! The runtime plugin contract ([`AuthPlugin`]). The reference library's
//! option-carrying plugin, `BaseAuthPlugin`, is configuration and lives with
//! it (`apiclient_auth::compat::BaseAuthPlugin`).
//!
//! A runtime plugin only authenticates: it holds typed credentials
//! ([`crate::typed::V3Password`], ...) and knows nothing of option names.
//! Turning options (`--os-*`, `OS_*`, clouds.yaml) into a runtime plugin is
//! a loader's job ([`crate::loader::PluginLoader`]), as keystoneauth splits
//! its loaders from its plugins.

use std::fmt;

use apiclient_errors::{EndpointError, Error};
use secrecy::SecretString;

use crate::access::AccessInfo;
use crate::catalog::EndpointFilter;
use crate::transport::{BoxFuture, SharedTransport};

/// A runtime authentication plugin: authenticates, picks endpoints from
/// what it got, forgets, and names its credentials for a token store.
///
/// Object-safe, `Send + Sync`. Authenticating returns an [`AccessInfo`] that
/// the HTTP client keeps (so concurrent requests share one token and
/// re-authentication is single-flight there). `authenticate` returns a
/// `'static` future: a plugin copies what it needs before the first await,
/// so the caller never holds a lock across the call.
///
/// ```
/// use apiclient_auth::transport::{BoxFuture, SharedTransport};
/// use apiclient_auth::{AccessInfo, AuthPlugin, SecretString};
///
/// /// The Keystone token a secrets manager hands out for a role.
/// #[derive(Debug)]
/// struct Vault { url: String, role: String }
///
/// impl AuthPlugin for Vault {
///     fn auth_system(&self) -> &str { "vault" }
///     fn authenticate(&self, _: SharedTransport) -> BoxFuture<'static, Result<AccessInfo, apiclient_errors::Error>> {
///         Box::pin(async move {
///             // (asks the secrets manager for the role's token and its body)
///             let body = br#"{"token": {"expires_at": "2099-01-01T00:00:00Z", "user": {"id": "u-1"}, "methods": ["token"]}}"#;
///             AccessInfo::from_v3(SecretString::from("from-vault"), body)
///         })
///     }
///     // Without this its tokens are never kept in a token store: only a
///     // plugin that says whose token it gets shares one. Never a secret.
///     fn cache_key(&self) -> Option<String> {
///         Some(format!("vault|url={}|role={}", self.url, self.role))
///     }
/// }
/// let p = Vault { url: "https://vault.example".into(), role: "reader".into() };
/// assert_eq!(p.cache_key().as_deref(), Some("vault|url=https://vault.example|role=reader"));
/// ```
pub trait AuthPlugin: Send + Sync + fmt::Debug {
    /// The name it is registered under (`v3password`, ...).
    fn auth_system(&self) -> &str;

    /// Authenticate through `transport`.
    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>>;

    /// The endpoint of a service, from an access record this plugin returned
    /// (the reference's `token_and_endpoint`, endpoint half).
    ///
    /// The token sent with a request is always the access record's
    /// ([`AccessInfo::token`]): a plugin chooses endpoints, never a second
    /// token. An empty endpoint is treated as none (the reference's
    /// `AuthorizationFailure("Cannot find endpoint or token for request")`),
    /// never as a request to a bare path.
    fn endpoint(
        &self,
        access: &AccessInfo,
        filter: &EndpointFilter,
    ) -> Result<String, EndpointError> {
        access
            .token_and_endpoint(filter)
            .map(|(_, endpoint)| endpoint)
    }

    /// The endpoint configured for every service (`admin_token`, `none`,
    /// `http_basic`), if any: a stored token is used only when its endpoint
    /// is this one.
    fn fixed_endpoint(&self) -> Option<&str> {
        None
    }

    /// A request was answered 401 with this plugin's token: drop what cannot
    /// be renewed (a pre-supplied token or endpoint, as the Python client
    /// does) and say whether authenticating again may help. A fixed token
    /// answers `false`, so a 401 is returned to the caller.
    fn prepare_reauthentication(&mut self) -> bool {
        true
    }

    /// Forget any cached state. Returns whether there was any.
    fn invalidate(&mut self) -> bool {
        false
    }

    /// The key of its tokens in a token store: what identifies the
    /// credentials and the scope (auth URL, user, scope, plugin), never a
    /// secret. Two plugins with the same key share stored tokens, so a key
    /// must differ whenever the credentials or the scope do.
    ///
    /// `None` (the default) means "never stored, never loaded": a plugin
    /// that cannot say whose token it gets (a bare token, a fixed
    /// credential, a plugin of your own that does not override this) never
    /// shares a store entry with another.
    fn cache_key(&self) -> Option<String> {
        None
    }

    /// The key of its credentials under any scope (auth URL, user,
    /// plugin; no scope, never a secret): a stored token of these same
    /// credentials for another scope may be re-scoped with
    /// [`rescope`](Self::rescope) instead of authenticating again (a new
    /// password or passcode). `None` (the default): its tokens are never
    /// re-scoped, nor offered for re-scoping.
    fn credentials_key(&self) -> Option<String> {
        None
    }

    /// Authenticate to this plugin's scope with `token`, a valid token of
    /// the same credentials ([`credentials_key`](Self::credentials_key))
    /// for another scope, as Keystone's `token` method does. `None` (the
    /// default) when it cannot (no scope to go to, not Keystone v3); a
    /// failed re-scoping is followed by a normal authentication.
    fn rescope(
        &self,
        token: &SecretString,
        transport: SharedTransport,
    ) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
        let _ = (token, transport);
        None
    }
}

/// A boxed plugin is a plugin (a `Box<dyn AuthPlugin>` from a
/// `PluginLoader`, or a `Box` of a typed one): every call goes to the boxed
/// value, so `HttpClient::builder` takes boxed and unboxed plugins alike.
///
/// ```
/// use apiclient_auth::AuthPlugin;
/// use apiclient_auth::typed::AdminToken;
/// let boxed: Box<dyn AuthPlugin> = Box::new(AdminToken::new("http://svc", "t"));
/// fn name(p: impl AuthPlugin) -> String { p.auth_system().to_string() }
/// assert_eq!(name(boxed), "admin_token");
/// ```
impl<P: AuthPlugin + ?Sized> AuthPlugin for Box<P> {
    fn auth_system(&self) -> &str {
        (**self).auth_system()
    }

    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        (**self).authenticate(transport)
    }

    fn endpoint(
        &self,
        access: &AccessInfo,
        filter: &EndpointFilter,
    ) -> Result<String, EndpointError> {
        (**self).endpoint(access, filter)
    }

    fn fixed_endpoint(&self) -> Option<&str> {
        (**self).fixed_endpoint()
    }

    fn prepare_reauthentication(&mut self) -> bool {
        (**self).prepare_reauthentication()
    }

    fn invalidate(&mut self) -> bool {
        (**self).invalidate()
    }

    fn cache_key(&self) -> Option<String> {
        (**self).cache_key()
    }

    fn credentials_key(&self) -> Option<String> {
        (**self).credentials_key()
    }

    fn rescope(
        &self,
        token: &SecretString,
        transport: SharedTransport,
    ) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
        (**self).rescope(token, transport)
    }
}
