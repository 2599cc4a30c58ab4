//! `v3websso`: Keystone's WebSSO, the browser's sign-in that Horizon uses,
//! with a loopback receiver in Horizon's place.

use std::sync::Arc;
use std::time::Duration;

use apiclient_errors::{Error, InvalidKind};
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};

use super::authcode::DEFAULT_TIMEOUT;
use super::keys;
use super::receiver::{Incoming, Judge, Loopback, Page, Receiver, Verdict};
use super::ui::{SharedUi, SignInPrompt, SignInUi};
use crate::access::AccessInfo;
use crate::identity::{
    ApiVersion, KeystoneAuth, Method, json_request, resolve_version, send_checked,
};
use crate::oidc::segment;
use crate::plugin::AuthPlugin;
use crate::transport::{BoxFuture, SharedTransport};
use crate::user_scope::Scope;

/// `v3websso`: sign in in a browser through Keystone's WebSSO.
///
/// It starts a receiver on the loopback [`redirect_uri`](Self::redirect_uri)
/// (default `http://127.0.0.1:0/callback`) and hands Keystone's WebSSO URL
/// to its [`SignInUi`]:
/// `/v3/auth/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/websso?origin=<redirect_uri>`
/// (`/v3/auth/OS-FEDERATION/websso/{protocol}?origin=...` without an
/// [`identity_provider`](Self::identity_provider)). Keystone signs the user
/// in at the identity provider and ends with a page whose form POSTs
/// `token=<unscoped token>` to the origin: the receiver takes that POST
/// (`application/x-www-form-urlencoded`), answers the browser with a page
/// saying it may be closed, and closes. The token is then rescoped to the
/// [`scope`](Self::scope) with the `token` method, or, without a scope,
/// validated (`GET /v3/auth/tokens`) and returned as is.
///
/// Keystone sends the token only to an origin listed in its
/// `[federation] trusted_dashboard`: give a `redirect_uri` with a fixed
/// port that is listed there (the default's port 0, any free port, suits
/// a Keystone that trusts it, such as the fake cloud's).
///
/// WebSSO has no `state`: the receiver refuses (and keeps waiting on) a
/// request that is not a form POST with a token, or whose `Origin` header
/// names another site than Keystone's (a page trying to sign the user in
/// as someone else), so a stray request cannot end the sign-in. Bounded
/// by the [`timeout`](Self::timeout) (default 300 s).
///
/// ```
/// use apiclient_auth::signin::WebSso;
/// use apiclient_auth::AuthPlugin;
///
/// let p = WebSso::new("https://keystone.example/v3", "openid")
///     .identity_provider("myidp")
///     .redirect_uri("http://localhost:8050/webhook")
///     .unwrap();
/// assert_eq!(p.auth_system(), "v3websso");
/// assert!(p.cache_key().unwrap().contains("identity_provider=myidp"));
/// ```
#[derive(Clone)]
pub struct WebSso {
    pub(crate) auth_url: String,
    pub(crate) identity_provider: Option<String>,
    pub(crate) protocol: String,
    pub(crate) scope: Option<Scope>,
    pub(crate) redirect: Loopback,
    pub(crate) timeout: Duration,
    pub(crate) ui: SharedUi,
}

impl std::fmt::Debug for WebSso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSso")
            .field("auth_url", &self.auth_url)
            .field("identity_provider", &self.identity_provider)
            .field("protocol", &self.protocol)
            .field("scope", &self.scope)
            .field("redirect_uri", &self.redirect.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebSso {
    /// WebSSO at `auth_url` with `protocol` (e.g. `openid`, `saml2`).
    pub fn new(auth_url: &str, protocol: &str) -> Self {
        WebSso {
            auth_url: auth_url.to_string(),
            identity_provider: None,
            protocol: protocol.to_string(),
            scope: None,
            redirect: Loopback::any_port(),
            timeout: DEFAULT_TIMEOUT,
            ui: SharedUi::default(),
        }
    }

    /// Sign in through this identity provider (without one, Keystone picks
    /// it by the protocol's remote id).
    pub fn identity_provider(mut self, idp: &str) -> Self {
        self.identity_provider = Some(idp.to_string());
        self
    }

    /// The origin Keystone sends the token to: an `http://` URL on
    /// 127.0.0.1, `[::1]` or `localhost`, port 0 for any free port
    /// (default `http://127.0.0.1:0/callback`). Any other URL is refused
    /// ([`InvalidKind::Url`](apiclient_errors::InvalidKind::Url)).
    pub fn redirect_uri(mut self, uri: &str) -> Result<Self, Error> {
        self.redirect = Loopback::parse(uri)?;
        Ok(self)
    }

    /// The Keystone scope of the token.
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

    /// Who opens Keystone's WebSSO URL (default: nobody, see
    /// [`Silent`](super::Silent)).
    pub fn ui(mut self, ui: impl SignInUi + 'static) -> Self {
        self.ui = SharedUi(Arc::new(ui));
        self
    }

    async fn run(self, t: SharedTransport) -> Result<AccessInfo, Error> {
        let (_, base) = resolve_version(&t, &self.auth_url, ApiVersion::V3).await?;
        let path = match &self.identity_provider {
            Some(idp) => format!(
                "{base}/auth/OS-FEDERATION/identity_providers/{}/protocols/{}/websso",
                segment(idp),
                segment(&self.protocol)
            ),
            None => format!(
                "{base}/auth/OS-FEDERATION/websso/{}",
                segment(&self.protocol)
            ),
        };
        let mut url = url::Url::parse(&path).map_err(|e| {
            Error::invalid(
                InvalidKind::Url,
                format!(
                    "the WebSSO URL of auth_url '{}' is not a URL: {e}",
                    self.auth_url
                ),
            )
        })?;
        let keystone_origin = url.origin().ascii_serialization();
        let receiver = Receiver::start(&self.redirect, self.timeout, judge(keystone_origin))?;
        url.query_pairs_mut()
            .append_pair("origin", receiver.redirect_uri());
        self.ui.show(&SignInPrompt::OpenBrowser {
            url: url.as_str(),
            redirect_uri: receiver.redirect_uri(),
        });
        let token = receiver.wait().await?;
        drop(receiver);
        match self.scope {
            Some(scope) => {
                let mut auth = KeystoneAuth::new("v3websso", base, ApiVersion::V3);
                auth.methods.push(Method::Token(token));
                auth.scope = Some(scope);
                auth.run(t).await
            }
            None => validate(&t, &base, token).await,
        }
    }
}

/// The token's own record (`GET /v3/auth/tokens`, the token validating itself).
async fn validate(
    t: &SharedTransport,
    base: &str,
    token: SecretString,
) -> Result<AccessInfo, Error> {
    let url = format!("{base}/auth/tokens");
    let mut req = json_request(http::Method::GET, &url, Bytes::new())?;
    for name in ["x-auth-token", "x-subject-token"] {
        let mut v = http::HeaderValue::from_str(token.expose_secret()).map_err(|_| {
            Error::InvalidResponse {
                message: "Keystone's WebSSO token is not a valid header value".into(),
                url: String::new(),
                source: None,
            }
        })?;
        v.set_sensitive(true);
        req.headers_mut().insert(name, v);
    }
    let resp = send_checked(t, req, &url).await?;
    AccessInfo::from_v3(token, resp.body())
}

/// The rule of Keystone's answer: a form POST with a token, from no other
/// site than Keystone's.
fn judge(keystone_origin: String) -> Arc<Judge<SecretString>> {
    Arc::new(move |r: &Incoming| {
        if r.method != "POST" {
            return Verdict::Refuse(405, "not a POST");
        }
        if let Some(origin) = &r.origin
            && origin != "null"
            && !origin.eq_ignore_ascii_case(&keystone_origin)
        {
            return Verdict::Refuse(403, "a foreign origin");
        }
        let form = r.content_type.as_deref().is_some_and(|c| {
            c.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
        if !form {
            return Verdict::Refuse(415, "not a form");
        }
        match r.form("token").filter(|t| !t.is_empty()) {
            Some(token) => Verdict::Done(Ok(SecretString::from(token)), Page::SignedIn),
            None => Verdict::Refuse(400, "no token"),
        }
    })
}

impl AuthPlugin for WebSso {
    fn auth_system(&self) -> &str {
        "v3websso"
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

    /// The Keystone, the identity provider and the protocol: whoever signs
    /// in, a token of these is the user's of this machine's token cache.
    fn credentials_key(&self) -> Option<String> {
        Some(keys::credentials_key(
            self.auth_system(),
            &self.auth_url,
            self.identity_provider.as_deref(),
            &self.protocol,
            None,
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

impl From<WebSso> for Box<dyn AuthPlugin> {
    fn from(p: WebSso) -> Self {
        Box::new(p)
    }
}
