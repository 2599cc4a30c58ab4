//! `FakeOidcProvider`: a loopback OpenID Connect provider (discovery
//! document, OAuth 2.0 token endpoint, device authorization endpoint and a
//! browser's authorization endpoint) whose access tokens a
//! [`FakeCloud`](crate::FakeCloud) accepts at its federation endpoint.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::raw::{RawRequest, RawServer};

/// A loopback OpenID Connect provider for one client:
///
/// | Method | Path | Answer |
/// |---|---|---|
/// | GET | `/.well-known/openid-configuration` | the endpoints below |
/// | POST | `/token` | the client-credentials, password, `authorization_code` (PKCE S256 checked) and device-code (`urn:ietf:params:oauth:grant-type:device_code`) grants |
/// | POST | `/device` | a device code: `device_code`, `user_code`, `verification_uri`, `verification_uri_complete`, `expires_in`, `interval` |
/// | GET | `/authorize` | the browser's sign-in: 302 to `redirect_uri` with `code` and `state` (or `error=access_denied` after [`deny_consent`](Self::deny_consent)) |
///
/// The client authenticates by HTTP Basic, as keystoneauth sends it; for
/// the device and authorization-code grants a public client may instead
/// name itself (`client_id` in the form). The test plays the user:
/// [`approve_device`](Self::approve_device) (or
/// [`deny_device`](Self::deny_device), [`expire_device`](Self::expire_device))
/// a user code, or follow the authorization URL with an HTTP client.
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
    state: Arc<Mutex<Provider>>,
}

impl std::fmt::Debug for FakeOidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOidcProvider")
            .field("url", &self.server.url())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    Used,
}

struct Device {
    device_code: String,
    user_code: String,
    status: DeviceStatus,
    expires: Instant,
}

struct CodeGrant {
    challenge: String,
    redirect_uri: String,
    used: bool,
}

struct Provider {
    issued: HashSet<String>,
    devices: Vec<Device>,
    device_polls: Vec<Instant>,
    codes: HashMap<String, CodeGrant>,
    deny_consent: bool,
    slow_downs: usize,
    device_interval: u64,
    device_expires_in: u64,
}

impl Provider {
    fn issue(&mut self) -> String {
        let token = format!("oidc-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        self.issued.insert(token.clone());
        token
    }

    fn device(&mut self, user_code: &str) -> Option<&mut Device> {
        self.devices.iter_mut().find(|d| d.user_code == user_code)
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

fn token_answer(token: &str, scope: Option<&String>) -> Vec<u8> {
    json(
        200,
        &serde_json::json!({
            "access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": scope,
        }),
    )
}

/// Unpadded base64url (RFC 4648 §5), as PKCE's S256 wants it.
fn base64url(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn random_code(prefix: &str) -> String {
    format!(
        "{prefix}{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

/// A user code as providers show them: `WDJB-MJHT`.
fn user_code() -> String {
    const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut s: String = (0..8)
        .map(|_| char::from(LETTERS[fastrand::usize(..LETTERS.len())]))
        .collect();
    s.insert(4, '-');
    s
}

fn query_of(target: &str) -> BTreeMap<String, String> {
    let q = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

/// The provider's answer to `req`.
fn answer(
    req: &RawRequest,
    state: &Mutex<Provider>,
    client_id: &str,
    expected_client: &str,
    users: &BTreeMap<String, String>,
) -> Vec<u8> {
    let host = req.header("host").unwrap_or("127.0.0.1");
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    let path = req.target.split('?').next().unwrap_or_default();
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect();
    // HTTP Basic; or, for the grants a public client may use, its id in the form
    let client_ok = |public: bool| match req.header("authorization") {
        Some(basic) => basic == expected_client,
        None => public && form.get("client_id").map(String::as_str) == Some(client_id),
    };
    match (req.method.as_str(), path) {
        ("GET", "/.well-known/openid-configuration") => json(
            200,
            &serde_json::json!({
                "issuer": format!("http://{host}"),
                "authorization_endpoint": format!("http://{host}/authorize"),
                "token_endpoint": format!("http://{host}/token"),
                "device_authorization_endpoint": format!("http://{host}/device"),
                "grant_types_supported": ["client_credentials", "password", "authorization_code",
                    "urn:ietf:params:oauth:grant-type:device_code"],
                "code_challenge_methods_supported": ["S256"],
            }),
        ),
        ("POST", "/device") => {
            if !client_ok(true) {
                return oauth_error(401, "invalid_client", "Invalid client credentials");
            }
            let mut s = lock();
            let (device_code, code) = (random_code("dc-"), user_code());
            let expires = Instant::now() + Duration::from_secs(s.device_expires_in);
            s.devices.push(Device {
                device_code: device_code.clone(),
                user_code: code.clone(),
                status: DeviceStatus::Pending,
                expires,
            });
            json(
                200,
                &serde_json::json!({
                    "device_code": device_code,
                    "user_code": code,
                    "verification_uri": format!("http://{host}/activate"),
                    "verification_uri_complete": format!("http://{host}/activate?user_code={code}"),
                    "expires_in": s.device_expires_in,
                    "interval": s.device_interval,
                }),
            )
        }
        ("GET", "/authorize") => authorize(&req.target, &mut lock(), client_id),
        ("POST", "/token") => {
            let grant = form.get("grant_type").map(String::as_str);
            let public = matches!(
                grant,
                Some("authorization_code" | "urn:ietf:params:oauth:grant-type:device_code")
            );
            if !client_ok(public) {
                return oauth_error(401, "invalid_client", "Invalid client credentials");
            }
            let mut s = lock();
            match grant {
                Some("client_credentials") => {}
                Some("password") => {
                    let user = form.get("username").and_then(|u| users.get(u));
                    if user.is_none() || user != form.get("password") {
                        return oauth_error(400, "invalid_grant", "Invalid user credentials");
                    }
                }
                Some("authorization_code") => {
                    let code = form.get("code").cloned().unwrap_or_default();
                    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                    let Some(grant) = s.codes.get_mut(&code).filter(|g| !g.used) else {
                        return oauth_error(400, "invalid_grant", "Code not valid");
                    };
                    grant.used = true;
                    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
                        return oauth_error(400, "invalid_grant", "Incorrect redirect_uri");
                    }
                    if base64url(&Sha256::digest(verifier.as_bytes())) != grant.challenge {
                        return oauth_error(400, "invalid_grant", "PKCE verification failed");
                    }
                }
                Some("urn:ietf:params:oauth:grant-type:device_code") => {
                    let code = form.get("device_code").cloned().unwrap_or_default();
                    s.device_polls.push(Instant::now());
                    let status = match s.devices.iter_mut().find(|d| d.device_code == code) {
                        None => return oauth_error(400, "invalid_grant", "Device code not valid"),
                        Some(d) => {
                            if d.status == DeviceStatus::Pending && Instant::now() >= d.expires {
                                d.status = DeviceStatus::Expired;
                            }
                            let status = d.status;
                            if status == DeviceStatus::Approved {
                                d.status = DeviceStatus::Used;
                            }
                            status
                        }
                    };
                    match status {
                        DeviceStatus::Pending if s.slow_downs > 0 => {
                            s.slow_downs -= 1;
                            return oauth_error(400, "slow_down", "Polling too fast");
                        }
                        DeviceStatus::Pending => {
                            return oauth_error(400, "authorization_pending", "Not yet");
                        }
                        DeviceStatus::Denied => {
                            return oauth_error(400, "access_denied", "The user refused");
                        }
                        DeviceStatus::Expired => {
                            return oauth_error(400, "expired_token", "The device code expired");
                        }
                        DeviceStatus::Used => {
                            return oauth_error(400, "invalid_grant", "Device code used");
                        }
                        DeviceStatus::Approved => {}
                    }
                }
                _ => {
                    return oauth_error(400, "unsupported_grant_type", "Unsupported grant type");
                }
            }
            let token = s.issue();
            token_answer(&token, form.get("scope"))
        }
        _ => oauth_error(404, "not_found", "No such endpoint"),
    }
}

/// `GET /authorize`: 302 to the redirect URI with a code (or the user's
/// refusal), after checking the request.
fn authorize(target: &str, s: &mut MutexGuard<'_, Provider>, client_id: &str) -> Vec<u8> {
    let q = query_of(target);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != client_id {
        return oauth_error(400, "invalid_client", "Unknown client");
    }
    let Ok(mut back) = url::Url::parse(&get("redirect_uri")) else {
        return oauth_error(400, "invalid_request", "redirect_uri is not a URL");
    };
    let params: Vec<(&str, String)> = if get("response_type") != "code" {
        vec![("error", "unsupported_response_type".into())]
    } else if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        vec![
            ("error", "invalid_request".into()),
            ("error_description", "PKCE S256 is required".into()),
        ]
    } else if s.deny_consent {
        vec![
            ("error", "access_denied".into()),
            ("error_description", "The user refused".into()),
        ]
    } else {
        let code = random_code("ac-");
        s.codes.insert(
            code.clone(),
            CodeGrant {
                challenge: get("code_challenge"),
                redirect_uri: get("redirect_uri"),
                used: false,
            },
        );
        vec![("code", code)]
    };
    {
        let mut pairs = back.query_pairs_mut();
        for (k, v) in &params {
            pairs.append_pair(k, v);
        }
        if q.contains_key("state") {
            pairs.append_pair("state", &get("state"));
        }
    }
    RawServer::response(302, &[("Location", back.as_str())], b"")
}

impl FakeOidcProvider {
    /// Start a provider for one client (`client_id`, `client_secret`) and
    /// these users (name, password) of the password grant.
    pub async fn start(
        client_id: &str,
        client_secret: &str,
        users: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(Provider {
            issued: HashSet::new(),
            devices: Vec::new(),
            device_polls: Vec::new(),
            codes: HashMap::new(),
            deny_consent: false,
            slow_downs: 0,
            device_interval: 1,
            device_expires_in: 600,
        }));
        let expected_client = apiclient_auth::typed::basic_authorization(client_id, client_secret);
        let users: BTreeMap<String, String> = users
            .iter()
            .map(|(u, p)| (u.to_string(), p.to_string()))
            .collect();
        let (s2, client_id) = (state.clone(), client_id.to_string());
        let server = RawServer::start(move |req: &RawRequest| {
            answer(req, &s2, &client_id, &expected_client, &users)
        })
        .await?;
        Ok(FakeOidcProvider { server, state })
    }

    fn lock(&self) -> MutexGuard<'_, Provider> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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

    /// The device authorization endpoint's URL.
    pub fn device_authorization_url(&self) -> String {
        format!("{}/device", self.server.url())
    }

    /// The authorization endpoint's URL (what a browser opens).
    pub fn authorization_url(&self) -> String {
        format!("{}/authorize", self.server.url())
    }

    /// Issue an access token directly (as if a browser flow had).
    pub fn issue(&self) -> String {
        self.lock().issue()
    }

    /// How many access tokens it has issued.
    pub fn issued(&self) -> usize {
        self.lock().issued.len()
    }

    /// The access tokens it has issued (to check that none leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.lock().issued.iter().cloned().collect()
    }

    /// Whether an access token is one it issued: for
    /// [`FakeCloud::add_identity_provider`](crate::FakeCloud::add_identity_provider).
    pub fn validator(&self) -> impl Fn(&str) -> bool + Send + Sync + 'static {
        let state = self.state.clone();
        move |token| {
            state
                .lock()
                .map(|s| s.issued.contains(token))
                .unwrap_or(false)
        }
    }

    /// Every request it received, in order.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.server.requests()
    }

    /// The device codes issued from now on ask to be polled every
    /// `interval` seconds and expire after `expires_in` seconds (default 1
    /// and 600).
    pub fn set_device_timing(&self, interval: u64, expires_in: u64) {
        let mut s = self.lock();
        s.device_interval = interval;
        s.device_expires_in = expires_in;
    }

    /// The user approves the device code shown as `user_code`: its next
    /// poll gets an access token. False for an unknown code.
    pub fn approve_device(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceStatus::Approved)
    }

    /// The user refuses the device code `user_code`: its next poll gets
    /// `access_denied`. False for an unknown code.
    pub fn deny_device(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceStatus::Denied)
    }

    /// The device code `user_code` expires now: its next poll gets
    /// `expired_token`. False for an unknown code.
    pub fn expire_device(&self, user_code: &str) -> bool {
        self.set_device(user_code, DeviceStatus::Expired)
    }

    fn set_device(&self, user_code: &str, status: DeviceStatus) -> bool {
        match self.lock().device(user_code) {
            Some(d) => {
                d.status = status;
                true
            }
            None => false,
        }
    }

    /// The next `polls` polls of a pending device code get `slow_down`.
    pub fn slow_down(&self, polls: usize) {
        self.lock().slow_downs = polls;
    }

    /// When each device-code poll of the token endpoint arrived.
    pub fn device_polls(&self) -> Vec<Instant> {
        self.lock().device_polls.clone()
    }

    /// Whether the user refuses consent at the authorization endpoint
    /// (redirected back with `error=access_denied`) from now on.
    pub fn deny_consent(&self, deny: bool) {
        self.lock().deny_consent = deny;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_of_rfc_7636_appendix_b() {
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            base64url(&Sha256::digest(v.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn user_codes_look_like_providers() {
        let c = user_code();
        assert_eq!(c.len(), 9);
        assert_eq!(&c[4..5], "-");
    }
}
