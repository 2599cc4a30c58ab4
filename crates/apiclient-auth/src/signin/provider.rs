//! The OpenID Connect provider as the sign-in flows use it: its endpoints
//! (given, or from its discovery document), the client's authentication,
//! and the token endpoint's answers, OAuth errors included.

use apiclient_errors::{AuthorizationFailure, Error, InvalidKind};
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::errors::{denied, expired, provider_refused};
use crate::identity::{json_request, warn_if_plain};
use crate::transport::SharedTransport;
use crate::typed::basic_authorization;

/// The OAuth client: its id, and its secret when it is a confidential one
/// (sent as HTTP Basic; a public client sends its id in the form).
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) secret: Option<SecretString>,
}

/// Where the provider's endpoints are: each given, or read from the
/// discovery document.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoints {
    pub(crate) discovery: Option<String>,
    pub(crate) authorization: Option<String>,
    pub(crate) device_authorization: Option<String>,
    pub(crate) token: Option<String>,
}

#[derive(Deserialize, Default)]
struct Discovery {
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    device_authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
}

/// Which endpoint a flow needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Authorization,
    DeviceAuthorization,
}

impl Endpoints {
    /// `(the flow's endpoint, the token endpoint)`: as given, else from the
    /// discovery document (read once, only when one is not given).
    pub(crate) async fn resolve(
        &self,
        t: &SharedTransport,
        need: Need,
    ) -> Result<(String, String), Error> {
        let (first, option) = match need {
            Need::Authorization => (&self.authorization, "authorization_endpoint"),
            Need::DeviceAuthorization => {
                (&self.device_authorization, "device_authorization_endpoint")
            }
        };
        if let (Some(a), Some(t)) = (first, &self.token) {
            return Ok((a.clone(), t.clone()));
        }
        let Some(url) = &self.discovery else {
            return Err(AuthorizationFailure::options_missing(["discovery_endpoint"]).into());
        };
        warn_if_plain(url);
        let resp = t
            .send(json_request(http::Method::GET, url, Bytes::new())?)
            .await?;
        if !resp.status().is_success() {
            return Err(refusal(&resp, url));
        }
        let doc: Discovery =
            serde_json::from_slice(resp.body()).map_err(|e| Error::InvalidResponse {
                message: "the OpenID Connect discovery document is not JSON".into(),
                url: url.clone(),
                source: Some(Box::new(e)),
            })?;
        let missing = |what: &str| Error::InvalidResponse {
            message: format!(
                "the OpenID Connect discovery document has no {what} (give it as the {what} option)"
            ),
            url: url.clone(),
            source: None,
        };
        let flow = match (first, need) {
            (Some(a), _) => a.clone(),
            (None, Need::Authorization) => {
                doc.authorization_endpoint.ok_or_else(|| missing(option))?
            }
            (None, Need::DeviceAuthorization) => doc
                .device_authorization_endpoint
                .ok_or_else(|| missing(option))?,
        };
        let token = match &self.token {
            Some(t) => t.clone(),
            None => doc
                .token_endpoint
                .ok_or_else(|| missing("token_endpoint"))?,
        };
        Ok((web_url(&flow, option)?, web_url(&token, "token_endpoint")?))
    }
}

/// `url` if it is an `http(s)` URL (what a provider's endpoint, or a page
/// shown to the user, must be).
pub(crate) fn web_url(url: &str, what: &str) -> Result<String, Error> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(Error::InvalidResponse {
            message: format!("the {what} is not an http(s) URL"),
            url: String::new(),
            source: None,
        }),
    }
}

/// POST `pairs` as a form to `url`, as `client`: whatever the status.
pub(crate) async fn form_post(
    t: &SharedTransport,
    url: &str,
    client: &Client,
    pairs: &[(&str, &str)],
) -> Result<http::Response<Bytes>, Error> {
    warn_if_plain(url);
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            form.append_pair(k, v);
        }
        if client.secret.is_none() {
            // a public client names itself in the form (RFC 6749 §2.3, RFC 8628 §3.4)
            form.append_pair("client_id", &client.id);
        }
        form.finish()
    };
    let mut req = http::Request::post(url)
        .header(http::header::ACCEPT, "application/json")
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        );
    if let Some(secret) = &client.secret {
        let mut basic =
            http::HeaderValue::from_str(&basic_authorization(&client.id, secret.expose_secret()))
                .map_err(|_| {
                Error::invalid(
                    InvalidKind::Header,
                    "client_id holds characters a header cannot",
                )
            })?;
        basic.set_sensitive(true);
        req = req.header(http::header::AUTHORIZATION, basic);
    }
    let req = req.body(Bytes::from(body)).map_err(|e| Error::Config {
        message: format!("invalid endpoint '{url}'"),
        source: Some(Box::new(e)),
    })?;
    t.send(req).await
}

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Deserialize, Default, Debug)]
pub(crate) struct OAuthError {
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
}

impl OAuthError {
    pub(crate) fn of(resp: &http::Response<Bytes>) -> Self {
        serde_json::from_slice(resp.body()).unwrap_or_default()
    }
}

/// The typed error of a provider's answer that is not a success:
/// `access_denied` and `expired_token` as themselves, any other OAuth
/// error (or a bare status) as the provider's refusal.
pub(crate) fn refusal(resp: &http::Response<Bytes>, url: &str) -> Error {
    let e = OAuthError::of(resp);
    match e.error.as_deref() {
        Some("access_denied") => denied(url),
        Some("expired_token") => expired(url),
        Some(code) => provider_refused(url, code, e.error_description.as_deref()),
        None => provider_refused(url, &format!("HTTP {}", resp.status().as_u16()), None),
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
}

/// The access token of a successful token response.
pub(crate) fn access_token(resp: &http::Response<Bytes>, url: &str) -> Result<SecretString, Error> {
    let token: TokenResponse =
        serde_json::from_slice(resp.body()).map_err(|e| Error::InvalidResponse {
            message: "the identity provider's token response has no access_token".into(),
            url: url.to_string(),
            source: Some(Box::new(e)),
        })?;
    Ok(SecretString::from(token.access_token))
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("confidential", &self.secret.is_some())
            .finish()
    }
}
