//! `FakeOidcProvider`: a loopback OpenID Connect provider (discovery
//! document and OAuth 2.0 token endpoint) whose access tokens a
//! [`FakeCloud`](crate::FakeCloud) accepts at its federation endpoint.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::raw::{RawRequest, RawServer};

/// A loopback OpenID Connect provider: `GET /.well-known/openid-configuration`
/// and `POST /token` with the client-credentials and password grants (client
/// authentication by HTTP Basic, as keystoneauth sends it).
///
/// ```
/// use apiclient_fake::{FakeCloud, FakeOidcProvider};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let idp = FakeOidcProvider::start("cli", "cl1ent-secret", &[("alice", "alicepass")]).await.unwrap();
/// let cloud = FakeCloud::start().await.unwrap();
/// // the cloud's federation endpoint accepts the provider's tokens as user demo
/// cloud.add_identity_provider("myidp", "openid", idp.validator(), "demo");
/// assert!(idp.discovery_url().ends_with("/.well-known/openid-configuration"));
/// # });
/// ```
pub struct FakeOidcProvider {
    server: RawServer,
    issued: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for FakeOidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOidcProvider")
            .field("url", &self.server.url())
            .finish()
    }
}

fn json(status: u16, body: &serde_json::Value) -> Vec<u8> {
    RawServer::response(
        status,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn oauth_error(status: u16, error: &str, description: &str) -> Vec<u8> {
    json(
        status,
        &serde_json::json!({"error": error, "error_description": description}),
    )
}

impl FakeOidcProvider {
    /// Start a provider for one client (`client_id`, `client_secret`) and
    /// these users (name, password) of the password grant.
    pub async fn start(
        client_id: &str,
        client_secret: &str,
        users: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        let issued: Arc<Mutex<HashSet<String>>> = Arc::default();
        let expected_client = apiclient_auth::typed::basic_authorization(client_id, client_secret);
        let users: BTreeMap<String, String> = users
            .iter()
            .map(|(u, p)| (u.to_string(), p.to_string()))
            .collect();
        let tokens = issued.clone();
        let server = RawServer::start(move |req: &RawRequest| {
            let host = req.header("host").unwrap_or("127.0.0.1");
            match (req.method.as_str(), req.target.as_str()) {
                ("GET", "/.well-known/openid-configuration") => json(
                    200,
                    &serde_json::json!({
                        "issuer": format!("http://{host}"),
                        "token_endpoint": format!("http://{host}/token"),
                        "grant_types_supported": ["client_credentials", "password"],
                    }),
                ),
                ("POST", "/token") => {
                    if req.header("authorization") != Some(expected_client.as_str()) {
                        return oauth_error(401, "invalid_client", "Invalid client credentials");
                    }
                    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
                        .into_owned()
                        .collect();
                    let grant = form.get("grant_type").map(String::as_str);
                    let ok = match grant {
                        Some("client_credentials") => true,
                        Some("password") => {
                            let user = form.get("username").and_then(|u| users.get(u));
                            user.is_some() && user == form.get("password")
                        }
                        _ => {
                            return oauth_error(
                                400,
                                "unsupported_grant_type",
                                "Unsupported grant type",
                            );
                        }
                    };
                    if !ok {
                        return oauth_error(400, "invalid_grant", "Invalid user credentials");
                    }
                    let token =
                        format!("oidc-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
                    if let Ok(mut t) = tokens.lock() {
                        t.insert(token.clone());
                    }
                    json(
                        200,
                        &serde_json::json!({
                            "access_token": token, "token_type": "Bearer", "expires_in": 300,
                            "scope": form.get("scope"),
                        }),
                    )
                }
                _ => oauth_error(404, "not_found", "No such endpoint"),
            }
        })
        .await?;
        Ok(FakeOidcProvider { server, issued })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.server.url())
    }

    /// The token endpoint's URL.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.server.url())
    }

    /// Issue an access token directly (as if a browser flow had).
    pub fn issue(&self) -> String {
        let token = format!("oidc-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        if let Ok(mut t) = self.issued.lock() {
            t.insert(token.clone());
        }
        token
    }

    /// How many access tokens it has issued.
    pub fn issued(&self) -> usize {
        self.issued.lock().map(|t| t.len()).unwrap_or_default()
    }

    /// Whether an access token is one it issued: for
    /// [`FakeCloud::add_identity_provider`](crate::FakeCloud::add_identity_provider).
    pub fn validator(&self) -> impl Fn(&str) -> bool + Send + Sync + 'static {
        let issued = self.issued.clone();
        move |token| issued.lock().map(|t| t.contains(token)).unwrap_or(false)
    }

    /// Every request it received, in order.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.server.requests()
    }
}
