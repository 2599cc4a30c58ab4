//! `v3oidcauthcode`: the OAuth 2.0 authorization code grant with PKCE
//! (RFC 7636) and a loopback redirect (RFC 8252), as openstack_sdk signs
//! in; or, as keystoneauth's `OidcAuthorizationCode`, a code obtained
//! beforehand.

use std::sync::Arc;
use std::time::Duration;

use apiclient_errors::Error;
use secrecy::{ExposeSecret, SecretString};

use super::crypto::{Pkce, random_token};
use super::errors::{denied, provider_refused};
use super::keys;
use super::provider::{Client, Endpoints, Need, access_token, form_post, refusal};
use super::receiver::{Incoming, Judge, Loopback, Page, Receiver, Verdict};
use super::ui::{SharedUi, SignInPrompt, SignInUi};
use crate::access::AccessInfo;
use crate::oidc::federate;
use crate::plugin::AuthPlugin;
use crate::transport::{BoxFuture, SharedTransport};
use crate::user_scope::Scope;

/// How long the browser is waited for by default.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// `v3oidcauthcode`: sign in in a browser (the authorization code grant
/// with PKCE), then Keystone federation.
///
/// It starts a receiver on the loopback [`redirect_uri`](Self::redirect_uri)
/// (default `http://127.0.0.1:0/callback`: any free port), hands the
/// provider's authorization URL (`response_type=code`, a random `state`,
/// the S256 `code_challenge` of a random 64-character verifier, the OpenID
/// scope) to its [`SignInUi`], and waits for the browser to come back, at
/// most the [`timeout`](Self::timeout) (default 300 s). A request with
/// another `state` (or to another path) is answered 400 (404) and the
/// receiver keeps waiting, so a stray request cannot end the sign-in; an
/// `error=access_denied` with the right `state` is the user's refusal,
/// typed. The code is exchanged at the token endpoint with the verifier,
/// the access token at Keystone's federation endpoint, and the token
/// rescoped to the [`scope`](Self::scope). The receiver answers the browser
/// with a page saying it may be closed, and is closed on every path.
///
/// With [`code`](Self::code) (keystoneauth's `code` option) no browser is
/// involved: that code is exchanged as is.
///
/// ```
/// use apiclient_auth::signin::{OidcAuthorizationCode, SignInPrompt};
/// use apiclient_auth::AuthPlugin;
///
/// let p = OidcAuthorizationCode::new(
///     "https://keystone.example/v3", "myidp", "openid",
///     "https://idp.example/.well-known/openid-configuration", "cli",
/// )
/// .redirect_uri("http://127.0.0.1:8050/callback")
/// .unwrap()
/// .ui(|p: &SignInPrompt<'_>| {
///     if let SignInPrompt::OpenBrowser { url, .. } = p {
///         eprintln!("Open {url} to sign in");
///     }
/// });
/// assert_eq!(p.auth_system(), "v3oidcauthcode");
/// ```
#[derive(Clone)]
pub struct OidcAuthorizationCode {
    pub(crate) auth_url: String,
    pub(crate) identity_provider: String,
    pub(crate) protocol: String,
    pub(crate) client: Client,
    pub(crate) endpoints: Endpoints,
    pub(crate) openid_scope: String,
    pub(crate) scope: Option<Scope>,
    pub(crate) redirect: Loopback,
    /// A code obtained beforehand, and the redirect URI it was obtained with.
    pub(crate) given_code: Option<(SecretString, String)>,
    pub(crate) timeout: Duration,
    pub(crate) ui: SharedUi,
}

impl std::fmt::Debug for OidcAuthorizationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcAuthorizationCode")
            .field("auth_url", &self.auth_url)
            .field("identity_provider", &self.identity_provider)
            .field("protocol", &self.protocol)
            .field("client", &self.client)
            .field("endpoints", &self.endpoints)
            .field("openid_scope", &self.openid_scope)
            .field("scope", &self.scope)
            .field("redirect_uri", &self.redirect.to_string())
            .field("code_given", &self.given_code.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OidcAuthorizationCode {
    /// The authorization code flow of `client_id` at the provider of
    /// `discovery_endpoint`, federated at `auth_url` through
    /// `identity_provider` and `protocol`. A public client (PKCE is its
    /// proof) unless [`client_secret`](Self::client_secret) is set.
    pub fn new(
        auth_url: &str,
        identity_provider: &str,
        protocol: &str,
        discovery_endpoint: &str,
        client_id: &str,
    ) -> Self {
        OidcAuthorizationCode {
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
            redirect: Loopback::any_port(),
            given_code: None,
            timeout: DEFAULT_TIMEOUT,
            ui: SharedUi::default(),
        }
    }

    /// A confidential client: its secret, sent as HTTP Basic.
    pub fn client_secret(mut self, secret: &str) -> Self {
        self.client.secret = Some(SecretString::from(secret.to_string()));
        self
    }

    /// These endpoints instead of discovery: the authorization endpoint
    /// and the token endpoint.
    pub fn endpoints(mut self, authorization: &str, token: &str) -> Self {
        self.endpoints.authorization = Some(authorization.to_string());
        self.endpoints.token = Some(token.to_string());
        self
    }

    /// The token endpoint instead of discovery (enough with a given
    /// [`code`](Self::code)).
    pub fn token_endpoint(mut self, token: &str) -> Self {
        self.endpoints.token = Some(token.to_string());
        self
    }

    /// Where the browser comes back: an `http://` URL on 127.0.0.1,
    /// `[::1]` or `localhost`, port 0 for any free port (default
    /// `http://127.0.0.1:0/callback`). The provider must accept it (most
    /// accept any port of a loopback redirect, RFC 8252 §7.3). Any other
    /// URL is refused ([`InvalidKind::Url`](apiclient_errors::InvalidKind::Url)).
    pub fn redirect_uri(mut self, uri: &str) -> Result<Self, Error> {
        self.redirect = Loopback::parse(uri)?;
        Ok(self)
    }

    /// Exchange `code`, obtained beforehand with `redirect_uri`, instead of
    /// signing in in a browser (keystoneauth's `v3oidcauthcode`). A code is
    /// good once: the plugin does not authenticate again after a 401.
    pub fn code(mut self, code: &str, redirect_uri: &str) -> Self {
        self.given_code = Some((
            SecretString::from(code.to_string()),
            redirect_uri.to_string(),
        ));
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

    /// Wait at most this long for the browser (default 300 s). Past it, a
    /// timeout error.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Who opens the authorization URL (default: nobody, see
    /// [`Silent`](super::Silent)).
    pub fn ui(mut self, ui: impl SignInUi + 'static) -> Self {
        self.ui = SharedUi(Arc::new(ui));
        self
    }

    async fn run(self, t: SharedTransport) -> Result<AccessInfo, Error> {
        let access_token = self.access_token(&t).await?;
        federate(
            &t,
            "v3oidcauthcode",
            &self.auth_url,
            &self.identity_provider,
            &self.protocol,
            &access_token,
            self.scope.clone(),
        )
        .await
    }

    async fn access_token(&self, t: &SharedTransport) -> Result<SecretString, Error> {
        if let Some((code, redirect_uri)) = &self.given_code {
            let token_url = match &self.endpoints.token {
                Some(url) => url.clone(),
                None => self.endpoints.resolve(t, Need::Authorization).await?.1,
            };
            return self.exchange(t, &token_url, code, redirect_uri, None).await;
        }
        let (authorization_url, token_url) = self.endpoints.resolve(t, Need::Authorization).await?;
        let pkce = Pkce::new()?;
        let state = random_token(32)?;
        let receiver = Receiver::start(
            &self.redirect,
            self.timeout,
            judge(state.clone(), authorization_url.clone()),
        )?;
        let mut url = url::Url::parse(&authorization_url).map_err(|e| Error::InvalidResponse {
            message: "the authorization endpoint is not a URL".into(),
            url: String::new(),
            source: Some(Box::new(e)),
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client.id)
            .append_pair("redirect_uri", receiver.redirect_uri())
            .append_pair("scope", &self.openid_scope)
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256");
        self.ui.show(&SignInPrompt::OpenBrowser {
            url: url.as_str(),
            redirect_uri: receiver.redirect_uri(),
        });
        let code = receiver.wait().await?;
        let redirect_uri = receiver.redirect_uri().to_string();
        drop(receiver);
        self.exchange(t, &token_url, &code, &redirect_uri, Some(&pkce.verifier))
            .await
    }

    async fn exchange(
        &self,
        t: &SharedTransport,
        token_url: &str,
        code: &SecretString,
        redirect_uri: &str,
        verifier: Option<&SecretString>,
    ) -> Result<SecretString, Error> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.expose_secret()));
        }
        let resp = form_post(t, token_url, &self.client, &form).await?;
        if !resp.status().is_success() {
            return Err(refusal(&resp, token_url));
        }
        access_token(&resp, token_url)
    }
}

/// The rule of the redirect: a GET with this `state`, then the code or
/// the provider's error.
fn judge(state: String, authorization_url: String) -> Arc<Judge<SecretString>> {
    Arc::new(move |r: &Incoming| {
        if r.method != "GET" {
            return Verdict::Refuse(405, "not a GET");
        }
        match r.query("state") {
            Some(s) if same(&s, &state) => {}
            Some(_) => return Verdict::Refuse(400, "wrong state"),
            None => return Verdict::Refuse(400, "no state"),
        }
        if let Some(error) = r.query("error") {
            let err = match error.as_str() {
                "access_denied" => denied(&authorization_url),
                other => provider_refused(
                    &authorization_url,
                    other,
                    r.query("error_description").as_deref(),
                ),
            };
            return Verdict::Done(Err(err), Page::Failed);
        }
        match r.query("code").filter(|c| !c.is_empty()) {
            Some(code) => Verdict::Done(Ok(SecretString::from(code)), Page::SignedIn),
            None => Verdict::Done(
                Err(Error::InvalidResponse {
                    message: "the provider's redirect carries neither a code nor an error".into(),
                    url: String::new(),
                    source: None,
                }),
                Page::Failed,
            ),
        }
    })
}

/// Equal, in a time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl AuthPlugin for OidcAuthorizationCode {
    fn auth_system(&self) -> &str {
        "v3oidcauthcode"
    }

    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        Box::pin(self.clone().run(transport))
    }

    fn prepare_reauthentication(&mut self) -> bool {
        // a given code is good once; a browser can sign in again
        self.given_code.is_none()
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

impl From<OidcAuthorizationCode> for Box<dyn AuthPlugin> {
    fn from(p: OidcAuthorizationCode) -> Self {
        Box::new(p)
    }
}
