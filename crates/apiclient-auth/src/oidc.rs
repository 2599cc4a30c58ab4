//! OpenID Connect through Keystone federation: an access token from the
//! identity provider (given, or by the client-credentials or password
//! grant), exchanged at Keystone's federation endpoint
//! (`/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`)
//! for an unscoped token, then rescoped when a scope is set.
//!
//! Keystone's own federation needs a web-server module (mod_auth_openidc)
//! in front of it, which the project's test Keystone cannot run; these
//! plugins are tested against a loopback identity provider and the
//! federation endpoint of [the fake cloud](https://docs.rs/apiclient-fake).
//!
//! ```
//! use apiclient_auth::oidc::OidcPlugin;
//! use apiclient_auth::AuthPlugin;
//!
//! let p = OidcPlugin::client_credentials(
//!     "https://keystone.example/v3", "myidp", "openid",
//!     "https://idp.example/.well-known/openid-configuration", "cli", "cl1ent-secret",
//! );
//! assert_eq!(p.auth_system(), "v3oidcclientcredentials");
//! assert!(!format!("{p:?}").contains("cl1ent-secret"));
//! ```

use apiclient_errors::{AuthorizationFailure, Error};
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::access::AccessInfo;
use crate::identity::{
    ApiVersion, CacheKey, KeystoneAuth, Method, json_request, resolve_version, send_checked,
    subject_token, warn_if_plain,
};
use crate::plugin::AuthPlugin;
use crate::signin::errors::provider_refused;
use crate::signin::provider::{Client, OAuthError, access_token, form_post};
use crate::transport::{BoxFuture, SharedTransport};
use crate::user_scope::Scope;

/// How the access token is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OidcFlow {
    /// Given (`v3oidcaccesstoken`).
    AccessToken,
    /// The client-credentials grant (`v3oidcclientcredentials`).
    ClientCredentials,
    /// The resource-owner password grant (`v3oidcpassword`).
    Password,
}

/// Where the identity provider's token endpoint is.
#[derive(Debug, Clone)]
pub(crate) enum TokenEndpoint {
    /// Read from the discovery document at this URL.
    Discovery(String),
    /// This URL.
    Direct(String),
}

/// An OpenID Connect plugin (see the [module](self)).
#[derive(Clone)]
pub struct OidcPlugin {
    pub(crate) name: String,
    pub(crate) flow: OidcFlow,
    pub(crate) auth_url: String,
    pub(crate) identity_provider: String,
    pub(crate) protocol: String,
    pub(crate) access_token: Option<SecretString>,
    pub(crate) token_endpoint: Option<TokenEndpoint>,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<SecretString>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<SecretString>,
    pub(crate) openid_scope: String,
    pub(crate) scope: Option<Scope>,
}

impl std::fmt::Debug for OidcPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcPlugin")
            .field("auth_system", &self.name)
            .field("auth_url", &self.auth_url)
            .field("identity_provider", &self.identity_provider)
            .field("protocol", &self.protocol)
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl OidcPlugin {
    pub(crate) fn base(
        name: &str,
        flow: OidcFlow,
        auth_url: &str,
        idp: &str,
        protocol: &str,
    ) -> Self {
        OidcPlugin {
            name: name.to_string(),
            flow,
            auth_url: auth_url.to_string(),
            identity_provider: idp.to_string(),
            protocol: protocol.to_string(),
            access_token: None,
            token_endpoint: None,
            client_id: String::new(),
            client_secret: None,
            username: None,
            password: None,
            openid_scope: "openid profile".to_string(),
            scope: None,
        }
    }

    /// `v3oidcaccesstoken`: an access token already obtained from the provider.
    pub fn access_token(auth_url: &str, idp: &str, protocol: &str, access_token: &str) -> Self {
        let mut p = Self::base(
            "v3oidcaccesstoken",
            OidcFlow::AccessToken,
            auth_url,
            idp,
            protocol,
        );
        p.access_token = Some(SecretString::from(access_token.to_string()));
        p
    }

    /// `v3oidcclientcredentials`: the client-credentials grant, the token
    /// endpoint read from `discovery_endpoint`.
    pub fn client_credentials(
        auth_url: &str,
        idp: &str,
        protocol: &str,
        discovery_endpoint: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        let mut p = Self::base(
            "v3oidcclientcredentials",
            OidcFlow::ClientCredentials,
            auth_url,
            idp,
            protocol,
        );
        p.token_endpoint = Some(TokenEndpoint::Discovery(discovery_endpoint.to_string()));
        p.client_id = client_id.to_string();
        p.client_secret = Some(SecretString::from(client_secret.to_string()));
        p
    }

    /// `v3oidcpassword`: the resource-owner password grant.
    #[allow(clippy::too_many_arguments)]
    pub fn password(
        auth_url: &str,
        idp: &str,
        protocol: &str,
        discovery_endpoint: &str,
        client_id: &str,
        client_secret: &str,
        username: &str,
        password: &str,
    ) -> Self {
        let mut p = Self::client_credentials(
            auth_url,
            idp,
            protocol,
            discovery_endpoint,
            client_id,
            client_secret,
        );
        p.name = "v3oidcpassword".to_string();
        p.flow = OidcFlow::Password;
        p.username = Some(username.to_string());
        p.password = Some(SecretString::from(password.to_string()));
        p
    }

    /// Use this token endpoint instead of discovery.
    pub fn token_endpoint(mut self, url: &str) -> Self {
        self.token_endpoint = Some(TokenEndpoint::Direct(url.to_string()));
        self
    }

    /// The OpenID Connect scope asked of the provider (default `openid profile`).
    pub fn openid_scope(mut self, scope: &str) -> Self {
        self.openid_scope = scope.to_string();
        self
    }

    /// The Keystone scope of the token (the federated token is rescoped to it).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The access token: given, or from the provider's token endpoint.
    async fn obtain_access_token(&self, t: &SharedTransport) -> Result<SecretString, Error> {
        if self.flow == OidcFlow::AccessToken {
            return self
                .access_token
                .clone()
                .ok_or_else(|| AuthorizationFailure::options_missing(["access_token"]).into());
        }
        let endpoint = match &self.token_endpoint {
            Some(TokenEndpoint::Direct(url)) => url.clone(),
            Some(TokenEndpoint::Discovery(url)) => {
                let resp =
                    send_idp(t, json_request(http::Method::GET, url, Bytes::new())?, url).await?;
                let doc: Discovery =
                    serde_json::from_slice(resp.body()).map_err(|e| Error::InvalidResponse {
                        message: "the OpenID Connect discovery document has no token_endpoint"
                            .into(),
                        url: url.clone(),
                        source: Some(Box::new(e)),
                    })?;
                doc.token_endpoint
            }
            None => {
                return Err(AuthorizationFailure::options_missing(["discovery_endpoint"]).into());
            }
        };
        let password = self.password.as_ref().map(|p| p.expose_secret());
        let mut pairs = match self.flow {
            OidcFlow::Password => vec![
                ("grant_type", "password"),
                ("username", self.username.as_deref().unwrap_or_default()),
                ("password", password.unwrap_or_default()),
            ],
            _ => vec![("grant_type", "client_credentials")],
        };
        pairs.push(("scope", &self.openid_scope));
        // these grants authenticate the client with HTTP Basic, an empty
        // secret included
        let client = Client {
            id: self.client_id.clone(),
            secret: Some(
                self.client_secret
                    .clone()
                    .unwrap_or_else(|| SecretString::from(String::new())),
            ),
        };
        let resp = form_post(t, &endpoint, &client, &pairs).await?;
        if !resp.status().is_success() {
            return Err(refused(&resp, &endpoint));
        }
        access_token(&resp, &endpoint)
    }

    async fn run(self, t: SharedTransport) -> Result<AccessInfo, Error> {
        let access_token = self.obtain_access_token(&t).await?;
        federate(
            &t,
            &self.name,
            &self.auth_url,
            &self.identity_provider,
            &self.protocol,
            &access_token,
            self.scope.clone(),
        )
        .await
    }
}

/// Keystone federation: `access_token` (the provider's) exchanged at
/// `/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`
/// for an unscoped token, rescoped to `scope` with the `token` method when
/// one is set. `name` is the plugin's auth system.
pub(crate) async fn federate(
    t: &SharedTransport,
    name: &str,
    auth_url: &str,
    identity_provider: &str,
    protocol: &str,
    access_token: &SecretString,
    scope: Option<Scope>,
) -> Result<AccessInfo, Error> {
    let (_, base) = resolve_version(t, auth_url, ApiVersion::V3).await?;
    let url = format!(
        "{base}/OS-FEDERATION/identity_providers/{}/protocols/{}/auth",
        segment(identity_provider),
        segment(protocol)
    );
    let mut bearer = http::HeaderValue::from_str(&format!(
        "Bearer {}",
        access_token.expose_secret()
    ))
    .map_err(|_| {
        AuthorizationFailure::Other("the access token is not a valid HTTP header value".into())
    })?;
    bearer.set_sensitive(true);
    let mut req = json_request(http::Method::POST, &url, Bytes::new())?;
    req.headers_mut()
        .insert(http::header::AUTHORIZATION, bearer);
    let resp = send_checked(t, req, &url).await?;
    let token = subject_token(&resp, &url)?;
    let Some(scope) = scope else {
        return AccessInfo::from_v3(token, resp.body());
    };
    let mut rescope = KeystoneAuth::new(name, base, ApiVersion::V3);
    rescope.methods.push(Method::Token(token));
    rescope.scope = Some(scope);
    rescope.run(t.clone()).await
}

/// A path segment, percent-encoded.
pub(crate) fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A request to the identity provider; an OAuth error is a typed
/// authorization failure naming the provider's error code.
async fn send_idp(
    t: &SharedTransport,
    req: http::Request<Bytes>,
    url: &str,
) -> Result<http::Response<Bytes>, Error> {
    warn_if_plain(url);
    let resp = t.send(req).await?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    Err(refused(&resp, url))
}

/// The provider's refusal of a grant of these flows, whatever its OAuth
/// error: the provider's words, or the status.
fn refused(resp: &http::Response<Bytes>, url: &str) -> Error {
    let e = OAuthError::of(resp);
    match e.error.as_deref() {
        Some(code) => provider_refused(url, code, e.error_description.as_deref()),
        None => provider_refused(url, &format!("HTTP {}", resp.status().as_u16()), None),
    }
}

#[derive(Deserialize)]
struct Discovery {
    token_endpoint: String,
}

impl AuthPlugin for OidcPlugin {
    fn auth_system(&self) -> &str {
        &self.name
    }

    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        Box::pin(self.clone().run(transport))
    }

    fn prepare_reauthentication(&mut self) -> bool {
        // a given access token may have expired; a grant can run again
        self.flow != OidcFlow::AccessToken
    }

    fn cache_key(&self) -> Option<String> {
        let mut k = CacheKey::new(&self.credentials_key()?);
        if let Some(s) = &self.scope {
            k.scope(s);
        }
        Some(k.finish())
    }

    /// The provider, the client and (password grant) the user; None for a
    /// given access token, whose user shows only once it is exchanged.
    fn credentials_key(&self) -> Option<String> {
        if self.flow == OidcFlow::AccessToken {
            return None;
        }
        let mut k = CacheKey::new(&self.name);
        k.part("auth_url", &self.auth_url);
        k.part("identity_provider", &self.identity_provider);
        k.part("protocol", &self.protocol);
        k.part("client_id", &self.client_id);
        if let Some(u) = &self.username {
            k.part("username", u);
        }
        Some(k.finish())
    }

    /// A federated token of the same provider, client and user, re-scoped
    /// with Keystone's `token` method (no new grant at the provider).
    fn rescope(
        &self,
        token: &SecretString,
        transport: SharedTransport,
    ) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
        self.credentials_key()?;
        let mut rescope = KeystoneAuth::new(&self.name, self.auth_url.clone(), ApiVersion::V3);
        rescope.methods.push(Method::Token(token.clone()));
        rescope.scope = Some(self.scope.clone()?);
        Some(Box::pin(rescope.run(transport)))
    }
}

impl From<OidcPlugin> for Box<dyn AuthPlugin> {
    fn from(p: OidcPlugin) -> Self {
        Box::new(p)
    }
}
