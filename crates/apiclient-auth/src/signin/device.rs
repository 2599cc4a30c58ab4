//! `v3oidcdeviceauthz`: the OAuth 2.0 device authorization grant (RFC
//! 8628), as keystoneauth's `OidcDeviceAuthorization`.

use std::time::{Duration, Instant};

use apiclient_errors::Error;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::errors::{expired, timed_out};
use super::keys;
use super::provider::{
    Client, Endpoints, Need, OAuthError, access_token, form_post, refusal, web_url,
};
use super::ui::{SharedUi, SignInPrompt, SignInUi};
use super::wait::sleep;
use crate::access::AccessInfo;
use crate::oidc::federate;
use crate::plugin::AuthPlugin;
use crate::transport::{BoxFuture, SharedTransport};
use crate::user_scope::Scope;

/// The grant type of the device flow's token requests.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The poll interval when the provider gives none (RFC 8628 §3.2).
const DEFAULT_INTERVAL: u64 = 5;
/// How much longer to wait after `slow_down` (RFC 8628 §3.5).
const SLOW_DOWN: u64 = 5;
/// The code's lifetime when the provider gives none, and the most waited.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// `v3oidcdeviceauthz`: sign in on another device (RFC 8628), then
/// Keystone federation.
///
/// It asks the provider's device authorization endpoint for a code, hands
/// the verification URL and the user code to its [`SignInUi`], and polls
/// the token endpoint (`grant_type=urn:ietf:params:oauth:grant-type:device_code`)
/// every `interval` seconds (5 more after each `slow_down`) while the
/// answer is `authorization_pending`, until the code expires (`expires_in`)
/// or the [`timeout`](Self::timeout) passes. The user's refusal
/// (`access_denied`) and an expired code (`expired_token`) are typed
/// errors. The access token is then exchanged at Keystone's federation
/// endpoint and the token rescoped to the [`scope`](Self::scope), as
/// [`OidcPlugin`](crate::oidc::OidcPlugin) does.
///
/// ```
/// use apiclient_auth::signin::{OidcDeviceAuthorization, SignInPrompt};
/// use apiclient_auth::typed::Scope;
/// use apiclient_auth::AuthPlugin;
///
/// let p = OidcDeviceAuthorization::new(
///     "https://keystone.example/v3", "myidp", "openid",
///     "https://idp.example/.well-known/openid-configuration", "cli",
/// )
/// .scope(Scope::project_name("demo", "Default"))
/// .ui(|p: &SignInPrompt<'_>| {
///     if let SignInPrompt::DeviceCode { verification_uri, user_code, .. } = p {
///         eprintln!("Open {verification_uri} and enter the code {user_code}");
///     }
/// });
/// assert_eq!(p.auth_system(), "v3oidcdeviceauthz");
/// // a token cache keeps its tokens: no second sign-in while one is valid
/// assert!(p.cache_key().unwrap().contains("client_id=cli"));
/// ```
#[derive(Clone)]
pub struct OidcDeviceAuthorization {
    pub(crate) auth_url: String,
    pub(crate) identity_provider: String,
    pub(crate) protocol: String,
    pub(crate) client: Client,
    pub(crate) endpoints: Endpoints,
    pub(crate) openid_scope: String,
    pub(crate) scope: Option<Scope>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) ui: SharedUi,
}

impl std::fmt::Debug for OidcDeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcDeviceAuthorization")
            .field("auth_url", &self.auth_url)
            .field("identity_provider", &self.identity_provider)
            .field("protocol", &self.protocol)
            .field("client", &self.client)
            .field("endpoints", &self.endpoints)
            .field("openid_scope", &self.openid_scope)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    interval: Option<u64>,
}

impl OidcDeviceAuthorization {
    /// The device flow of `client_id` at the provider of
    /// `discovery_endpoint`, federated at `auth_url` through
    /// `identity_provider` and `protocol`. A public client (no secret)
    /// unless [`client_secret`](Self::client_secret) is set.
    pub fn new(
        auth_url: &str,
        identity_provider: &str,
        protocol: &str,
        discovery_endpoint: &str,
        client_id: &str,
    ) -> Self {
        OidcDeviceAuthorization {
            auth_url: auth_url.to_string(),
            identity_provider: identity_provider.to_string(),
            protocol: protocol.to_string(),
            client: Client {
                id: client_id.to_string(),
                secret: None,
            },
            endpoints: Endpoints {
                discovery: Some(discovery_endpoint.to_string()).filter(|d| !d.is_empty()),
                ..Endpoints::default()
            },
            openid_scope: "openid profile".to_string(),
            scope: None,
            timeout: None,
            ui: SharedUi::default(),
        }
    }

    /// A confidential client: its secret, sent as HTTP Basic.
    pub fn client_secret(mut self, secret: &str) -> Self {
        self.client.secret = Some(SecretString::from(secret.to_string()));
        self
    }

    /// These endpoints instead of discovery: the device authorization
    /// endpoint and the token endpoint.
    pub fn endpoints(mut self, device_authorization: &str, token: &str) -> Self {
        self.endpoints.device_authorization = Some(device_authorization.to_string());
        self.endpoints.token = Some(token.to_string());
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

    /// Wait at most this long for the user (default: the code's lifetime,
    /// `expires_in`, at most an hour). Past it, a timeout error.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Who shows the verification URL and the code (default: nobody, see
    /// [`Silent`](super::Silent)).
    pub fn ui(mut self, ui: impl SignInUi + 'static) -> Self {
        self.ui = SharedUi(std::sync::Arc::new(ui));
        self
    }

    async fn run(self, t: SharedTransport) -> Result<AccessInfo, Error> {
        let access_token = self.access_token(&t).await?;
        federate(
            &t,
            "v3oidcdeviceauthz",
            &self.auth_url,
            &self.identity_provider,
            &self.protocol,
            &access_token,
            self.scope.clone(),
        )
        .await
    }

    async fn access_token(&self, t: &SharedTransport) -> Result<SecretString, Error> {
        let (device_url, token_url) = self.endpoints.resolve(t, Need::DeviceAuthorization).await?;
        let resp = form_post(
            t,
            &device_url,
            &self.client,
            &[("scope", &self.openid_scope)],
        )
        .await?;
        if !resp.status().is_success() {
            return Err(refusal(&resp, &device_url));
        }
        let grant: DeviceAuthorization =
            serde_json::from_slice(resp.body()).map_err(|e| Error::InvalidResponse {
                message: "the device authorization answer lacks device_code, user_code or verification_uri".into(),
                url: device_url.clone(),
                source: Some(Box::new(e)),
            })?;
        let device_code = SecretString::from(grant.device_code);
        let verification_uri = web_url(&grant.verification_uri, "verification_uri")?;
        let complete = match &grant.verification_uri_complete {
            Some(u) => Some(web_url(u, "verification_uri_complete")?),
            None => None,
        };
        let lifetime = grant
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(LONGEST_WAIT)
            .min(LONGEST_WAIT);
        let started = Instant::now();
        let expires = started + lifetime;
        let (until, by_timeout) = match self.timeout {
            Some(t) if t < lifetime => (started + t, true),
            _ => (expires, false),
        };
        let mut interval = grant.interval.unwrap_or(DEFAULT_INTERVAL).max(1);
        self.ui.show(&SignInPrompt::DeviceCode {
            verification_uri: &verification_uri,
            verification_uri_complete: complete.as_deref(),
            user_code: &grant.user_code,
            expires_in: lifetime,
        });
        tracing::debug!(target: "apiclient_auth", "sign-in: polling {} every {interval} s for up to {} s", apiclient_errors::redact::redact_url(&token_url), until.saturating_duration_since(started).as_secs());
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sleep(Duration::from_secs(interval).min(left))?.await;
            if Instant::now() >= until {
                break;
            }
            let resp = form_post(
                t,
                &token_url,
                &self.client,
                &[
                    ("grant_type", DEVICE_GRANT),
                    ("device_code", device_code.expose_secret()),
                ],
            )
            .await?;
            if resp.status().is_success() {
                return access_token(&resp, &token_url);
            }
            match OAuthError::of(&resp).error.as_deref() {
                Some("authorization_pending") => {}
                Some("slow_down") => {
                    interval += SLOW_DOWN;
                    tracing::debug!(target: "apiclient_auth", "sign-in: the provider asks to slow down; polling every {interval} s");
                }
                _ => return Err(refusal(&resp, &token_url)),
            }
        }
        if by_timeout {
            Err(timed_out(&token_url, until - started, Vec::new()))
        } else {
            Err(expired(&token_url))
        }
    }
}

impl AuthPlugin for OidcDeviceAuthorization {
    fn auth_system(&self) -> &str {
        "v3oidcdeviceauthz"
    }

    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        Box::pin(self.clone().run(transport))
    }

    fn cache_key(&self) -> Option<String> {
        Some(keys::cache_key(self.credentials_key(), self.scope.as_ref()))
    }

    /// The Keystone, the identity provider, the client and the OpenID
    /// scope: whoever signs in, a token of these is the user's of this
    /// machine's token cache.
    fn credentials_key(&self) -> Option<String> {
        Some(keys::credentials_key(
            self.auth_system(),
            &self.auth_url,
            Some(&self.identity_provider),
            &self.protocol,
            Some((&self.client.id, &self.openid_scope)),
        ))
    }

    fn rescope(
        &self,
        token: &SecretString,
        transport: SharedTransport,
    ) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
        keys::rescope(
            self.auth_system(),
            &self.auth_url,
            self.scope.as_ref()?,
            token,
            transport,
        )
    }
}

impl From<OidcDeviceAuthorization> for Box<dyn AuthPlugin> {
    fn from(p: OidcDeviceAuthorization) -> Self {
        Box::new(p)
    }
}
