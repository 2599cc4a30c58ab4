//! The token-store keys of the sign-in plugins, and their re-scoping: a
//! token of the same Keystone, identity provider, protocol and client
//! (never a secret; the user shows only once signed in, and the store is
//! the user's own) is reused instead of signing in again.

use apiclient_errors::Error;
use secrecy::SecretString;

use crate::access::AccessInfo;
use crate::identity::{ApiVersion, CacheKey, KeystoneAuth, Method};
use crate::transport::{BoxFuture, SharedTransport};
use crate::user_scope::Scope;

/// `<auth_system>|auth_url=..|identity_provider=..|protocol=..[|client_id=..|openid_scope=..]`.
pub(crate) fn credentials_key(
    auth_system: &str,
    auth_url: &str,
    identity_provider: Option<&str>,
    protocol: &str,
    client: Option<(&str, &str)>,
) -> String {
    let mut k = CacheKey::new(auth_system);
    k.part("auth_url", auth_url);
    if let Some(idp) = identity_provider {
        k.part("identity_provider", idp);
    }
    k.part("protocol", protocol);
    if let Some((id, scope)) = client {
        k.part("client_id", id);
        k.part("openid_scope", scope);
    }
    k.finish()
}

/// The credentials key with the Keystone scope.
pub(crate) fn cache_key(credentials: Option<String>, scope: Option<&Scope>) -> String {
    let mut k = CacheKey::new(&credentials.unwrap_or_default());
    if let Some(s) = scope {
        k.scope(s);
    }
    k.finish()
}

/// A stored token of the same credentials, re-scoped with Keystone's
/// `token` method (no new sign-in).
pub(crate) fn rescope(
    auth_system: &str,
    auth_url: &str,
    scope: &Scope,
    token: &SecretString,
    transport: SharedTransport,
) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
    let mut auth = KeystoneAuth::new(auth_system, auth_url, ApiVersion::V3);
    auth.methods.push(Method::Token(token.clone()));
    auth.scope = Some(scope.clone());
    Some(Box::pin(auth.run(transport)))
}
