//! Against a real OpenStack Keystone 30.0.0 on 127.0.0.1 (`cargo xtask keystone start`).
//!
//! Locally, without a running Keystone, each test says so and passes; under
//! CI (`CI` set) a missing Keystone is a failure, never a silent skip.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiclient_auth::{
    AccessInfo, EndpointFilter, ExposeSecret, Interface, KeystonePlugin, TokenScope,
};
use apiclient_errors::Error;
use apiclient_http::{ApiRequest, HttpClient, RetryPolicy, ServiceClient};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

const MAIN: &str = "http://127.0.0.1:5000";
const SHORT: &str = "http://127.0.0.1:5001";

fn seed() -> Option<Value> {
    let path = std::env::var("APICLIENT_KEYSTONE_SEED")
        .unwrap_or_else(|_| "/tmp/apiclient-rs/keystone-data/seed.json".into());
    let reachable = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5000".parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok();
    let seed = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match (reachable, seed) {
        (true, Some(s)) => Some(s),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "Keystone is not running on 127.0.0.1:5000 (or {path} is missing): CI must start it with `cargo xtask keystone start`"
            )
        }
        _ => {
            eprintln!(
                "skipping: this test needs a real Keystone; run `cargo xtask keystone start`"
            );
            None
        }
    }
}

fn password(auth_url: &str, user: &str, pw: &str) -> KeystonePlugin {
    KeystonePlugin::new("v3password")
        .unwrap()
        .with("auth_url", auth_url)
        .with("username", user)
        .with("user_domain_name", "Default")
        .with("password", pw)
}

fn admin(auth_url: &str) -> KeystonePlugin {
    password(auth_url, "admin", "secret")
        .with("project_name", "admin")
        .with("project_domain_name", "Default")
}

async fn auth(plugin: KeystonePlugin) -> Result<(HttpClient, Arc<AccessInfo>), Error> {
    let http = HttpClient::builder(Box::new(plugin)).build()?;
    let access = http.authenticate().await?;
    Ok((http, access))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_with_every_scope() {
    let Some(_seed) = seed() else { return };
    let url = format!("{MAIN}/v3");
    let (_, a) = auth(admin(&url)).await.unwrap();
    assert!(
        matches!(a.scope, TokenScope::Project { ref name, .. } if name.as_deref() == Some("admin"))
    );
    assert!(a.token().expose_secret().starts_with("gAAAA"));
    assert!(!a.catalog.is_empty());
    let (_, a) = auth(password(&url, "admin", "secret").with("domain_name", "Default"))
        .await
        .unwrap();
    assert_eq!(a.domain_id(), Some("default"));
    let (_, a) = auth(password(&url, "admin", "secret").with("system_scope", "all"))
        .await
        .unwrap();
    assert_eq!(a.scope, TokenScope::System);
    let (_, a) = auth(password(&url, "admin", "secret")).await.unwrap();
    assert_eq!(a.scope, TokenScope::Unscoped);
    assert!(a.catalog.is_empty());
    // the generic plugin discovers v3 on the unversioned URL
    let generic = KeystonePlugin::new("password")
        .unwrap()
        .with("auth_url", MAIN)
        .with("username", "demo")
        .with("password", "demopass")
        .with("project_name", "demo");
    let (_, a) = auth(generic).await.unwrap();
    assert!(a.project_id().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_rescope_application_credentials_and_admin_token() {
    let Some(seed) = seed() else { return };
    let url = format!("{MAIN}/v3");
    let (_, unscoped) = auth(password(&url, "demo", "demopass")).await.unwrap();
    let rescope = KeystonePlugin::new("v3token")
        .unwrap()
        .with("auth_url", &url)
        .with("token", unscoped.token().expose_secret())
        .with("project_name", "demo");
    let (_, a) = auth(rescope).await.unwrap();
    assert_eq!(a.project_id(), seed["demo"]["project_id"].as_str());
    assert!(a.methods.contains(&"token".to_string()), "{:?}", a.methods);

    let ac = &seed["application_credential"];
    let by_id = KeystonePlugin::new("v3applicationcredential")
        .unwrap()
        .with("auth_url", &url)
        .with("application_credential_id", ac["id"].as_str().unwrap())
        .with(
            "application_credential_secret",
            ac["secret"].as_str().unwrap(),
        );
    let (_, a) = auth(by_id).await.unwrap();
    assert_eq!(a.methods, ["application_credential"]);
    let by_name = KeystonePlugin::new("v3applicationcredential")
        .unwrap()
        .with("auth_url", &url)
        .with("application_credential_name", "ci-test")
        .with("username", "demo")
        .with("user_domain_name", "Default")
        .with(
            "application_credential_secret",
            ac["secret"].as_str().unwrap(),
        );
    let (_, a) = auth(by_name).await.unwrap();
    assert_eq!(a.project_id(), seed["demo"]["project_id"].as_str());

    // admin_token: a fixed token and endpoint, no authentication request
    let (_, admin_access) = auth(admin(&url)).await.unwrap();
    let fixed = KeystonePlugin::new("admin_token")
        .unwrap()
        .with("endpoint", format!("{MAIN}/v3"))
        .with("token", admin_access.token().expose_secret());
    let http = HttpClient::builder(Box::new(fixed)).build().unwrap();
    let projects: Value = http
        .service_client("identity")
        .get("/projects")
        .await
        .unwrap()
        .json()
        .unwrap();
    let names: Vec<&str> = projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"demo") && names.contains(&"admin"),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_typed() {
    let Some(_seed) = seed() else { return };
    let url = format!("{MAIN}/v3");
    let err = auth(password(&url, "admin", "wrong-password"))
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(err.request_id().unwrap().starts_with("req-"));
    assert!(!err.to_string().contains("wrong-password"));

    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = auth(password(
        &format!("http://127.0.0.1:{dead}/v3"),
        "admin",
        "secret",
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Connection(c) if c.is_refused()),
        "{err:?}"
    );

    let v2 = KeystonePlugin::new("password")
        .unwrap()
        .with("auth_url", format!("{MAIN}/v2.0"))
        .with("username", "admin")
        .with("password", "secret");
    let err = auth(v2).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "The identity server has no v2.0 API (HTTP 404 for {MAIN}/v2.0/tokens); use a /v3 auth_url"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_selection_on_the_seeded_catalog() {
    let Some(_seed) = seed() else { return };
    let (_, a) = auth(admin(&format!("{MAIN}/v3"))).await.unwrap();
    let pid = a.project_id().unwrap().to_string();
    let url = |f: EndpointFilter| a.catalog.url_for(&f);
    assert!(
        url(EndpointFilter::new("compute")).is_err(),
        "two regions: ambiguous"
    );
    assert_eq!(
        url(EndpointFilter::new("compute").region(Some("RegionTwo"))).unwrap(),
        "http://127.0.0.1:18774/v2.1"
    );
    assert_eq!(
        url(EndpointFilter::new("compute")
            .region(Some("RegionOne"))
            .interface(Interface::Internal))
        .unwrap(),
        "http://127.0.0.2:8774/v2.1"
    );
    assert_eq!(
        url(EndpointFilter::new("compute")
            .region(Some("RegionOne"))
            .interface("adminURL".parse().unwrap()))
        .unwrap(),
        "http://127.0.0.3:8774/v2.1"
    );
    assert_eq!(
        url(EndpointFilter::new("volumev3")).unwrap(),
        format!("http://127.0.0.1:8776/v3/{pid}")
    );
    assert_eq!(
        url(EndpointFilter::new("object-store")).unwrap(),
        format!("http://127.0.0.1:8080/v1/AUTH_{pid}")
    );
    // the seed's network service is in RegionOne only (the project's Swift
    // adds RegionOne object-store endpoints when it runs)
    assert!(url(EndpointFilter::new("network").region(Some("RegionTwo"))).is_err());
}

/// A loopback proxy in front of Keystone that counts requests by "METHOD path".
///
/// Only identity requests (`/v3/auth/...`: tokens, projects, catalog) go on
/// to Keystone. Any other path is answered by the proxy itself with `200 {}`,
/// after recording the `X-Auth-Token` it carried: a one-worker, cache-less
/// Keystone needs ~270 ms to validate a token, and the properties under test
/// (one token for many concurrent callers) are the client's, not Keystone's.
struct CountingProxy {
    url: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
    /// The distinct tokens seen on locally answered requests, with counts.
    local_tokens: Arc<Mutex<BTreeMap<String, u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct ProxyState {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
    local_tokens: Arc<Mutex<BTreeMap<String, u64>>>,
    client: Proxied,
    upstream: String,
    limit: Arc<tokio::sync::Semaphore>,
}

impl CountingProxy {
    async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        // A fresh upstream connection per request: gunicorn closes idle keep-alive
        // connections after 2 s, and reusing one as it closes would drop a request.
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http::<Full<Bytes>>();
        let state = ProxyState {
            counts: Arc::default(),
            statuses: Arc::default(),
            local_tokens: Arc::default(),
            client,
            upstream: upstream.to_string(),
            // At most 4 requests at a time go on to Keystone (one gunicorn
            // worker with 4 threads, no cache).
            limit: Arc::new(tokio::sync::Semaphore::new(4)),
        };
        let s2 = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = s2.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            forward(req, state.clone())
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        CountingProxy {
            url,
            counts: state.counts,
            statuses: state.statuses,
            local_tokens: state.local_tokens,
            task,
        }
    }

    fn count(&self, route: &str) -> u64 {
        self.counts.lock().unwrap().get(route).copied().unwrap_or(0)
    }

    fn statuses(&self) -> Vec<u16> {
        self.statuses.lock().unwrap().clone()
    }
}

type Proxied = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn forward(
    req: http::Request<hyper::body::Incoming>,
    st: ProxyState,
) -> Result<http::Response<Full<Bytes>>, BoxError> {
    let (mut parts, body) = req.into_parts();
    *st.counts
        .lock()
        .unwrap()
        .entry(format!("{} {}", parts.method, parts.uri.path()))
        .or_default() += 1;
    let body = body
        .collect()
        .await
        .map_err(|e| Box::new(e) as BoxError)?
        .to_bytes();
    if !parts.uri.path().starts_with("/v3/auth/") {
        let token = parts
            .headers
            .get("x-auth-token")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        *st.local_tokens.lock().unwrap().entry(token).or_default() += 1;
        st.statuses.lock().unwrap().push(200);
        return Ok(http::Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(b"{}")))?);
    }
    let _permit = st
        .limit
        .acquire()
        .await
        .map_err(|e| Box::new(e) as BoxError)?;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    parts.uri = format!("{}{path}", st.upstream)
        .parse()
        .map_err(|e| Box::new(e) as BoxError)?;
    parts.headers.remove(http::header::HOST);
    let resp = st
        .client
        .request(http::Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(|e| Box::new(e) as BoxError)?;
    st.statuses.lock().unwrap().push(resp.status().as_u16());
    let (p, b) = resp.into_parts();
    let b = b
        .collect()
        .await
        .map_err(|e| Box::new(e) as BoxError)?
        .to_bytes();
    Ok(http::Response::from_parts(p, Full::new(b)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_issue_one_token_and_revocation_costs_one_reauth() {
    let Some(_seed) = seed() else { return };
    let proxy = CountingProxy::start(MAIN).await;
    let plugin =
        password(&format!("{}/v3", proxy.url), "demo", "demopass").with("project_name", "demo");
    let http = HttpClient::builder(Box::new(plugin)).build().unwrap();
    // identity requests go through the proxy too, so every status is seen there
    let identity = ServiceClient::new(&http, EndpointFilter::new("identity"))
        .with_endpoint_override(format!("{}/v3", proxy.url));
    // 200 concurrent authenticated requests from a fresh client, answered by
    // the proxy: every one must carry the one token Keystone issued.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let c = identity.clone();
        tasks.spawn(async move { c.get("/ping").await.map(|_| ()) });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(proxy.count("POST /v3/auth/tokens"), 1);
    assert_eq!(proxy.count("GET /v3/ping"), 200);
    let issued = http.token_state().access().unwrap();
    assert_eq!(
        *proxy.local_tokens.lock().unwrap(),
        BTreeMap::from([(issued.token().expose_secret().to_string(), 200)]),
        "all 200 requests carry the one issued token"
    );
    identity.get("/auth/projects").await.unwrap(); // the token is valid

    // revoke the current token out of band (as admin), then one request
    let current = http.token_state().access().unwrap();
    let (admin_http, _) = auth(admin(&format!("{MAIN}/v3"))).await.unwrap();
    admin_http
        .service_client("identity")
        .request(
            ApiRequest::new(http::Method::DELETE, "/auth/tokens")
                .header("X-Subject-Token", current.token().expose_secret()),
        )
        .await
        .unwrap();
    identity.get("/auth/projects").await.unwrap();
    assert_eq!(
        proxy.count("POST /v3/auth/tokens"),
        2,
        "exactly one re-auth"
    );
    assert_eq!(proxy.statuses().iter().filter(|s| **s == 401).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_second_tokens_are_refreshed_before_they_expire() {
    let Some(_seed) = seed() else { return };
    if std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5001".parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must start the 5-second-token Keystone on 127.0.0.1:5001"
        );
        eprintln!("skipping: needs the 5-second-token Keystone (cargo xtask keystone start)");
        return;
    }
    let proxy = CountingProxy::start(SHORT).await;
    let http = HttpClient::builder(Box::new(admin(&format!("{}/v3", proxy.url))))
        .token_refresh_skew(Duration::from_secs(3))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let identity = ServiceClient::new(&http, EndpointFilter::new("identity"))
        .with_endpoint_override(format!("{}/v3", proxy.url));
    // Twelve requests half a second apart, each validated by Keystone (they
    // go to /v3/auth/projects). However slow the machine, the properties hold:
    // no request meets an expired token (no 401), and the client
    // authenticates about once per token lifetime, never once per request.
    let t0 = Instant::now();
    let requests: u64 = 12;
    for _ in 0..requests {
        identity.get("/auth/projects").await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let span = t0.elapsed();
    let statuses = proxy.statuses();
    assert!(
        !statuses.contains(&401),
        "the server answered 401: {statuses:?}"
    );
    let auths = proxy.count("POST /v3/auth/tokens");
    // A 5-second token refreshed 3 s before expiry serves at most ~2 s of
    // requests (plus one request's latency), so the span needs at least
    // span/5 tokens; and one authentication per request is the most there
    // may ever be.
    let at_least = span.as_secs() / 5;
    assert!(
        auths >= at_least.max(2) && auths <= requests,
        "{auths} authentications for {requests} requests over {span:?} of 5-second tokens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_constructors_against_keystone() {
    use apiclient_auth::typed::{AdminToken, Scope, V3ApplicationCredential, V3Password, V3Token};
    let Some(seed) = seed() else { return };
    let url = format!("{MAIN}/v3");
    let http = HttpClient::builder(
        V3Password::new(&url, "demo", "demopass")
            .user_domain_name("Default")
            .scope(Scope::project_name("demo", "Default")),
    )
    .build()
    .unwrap();
    let a = http.authenticate().await.unwrap();
    assert_eq!(a.project_id(), seed["demo"]["project_id"].as_str());
    let system = HttpClient::builder(V3Password::new(&url, "admin", "secret").scope(Scope::System))
        .build()
        .unwrap();
    assert_eq!(
        system.authenticate().await.unwrap().scope,
        apiclient_auth::TokenScope::System
    );
    let rescoped = HttpClient::builder(
        V3Token::new(&url, a.token().expose_secret())
            .scope(Scope::ProjectId(a.project_id().unwrap().into())),
    )
    .build()
    .unwrap();
    assert!(
        rescoped
            .authenticate()
            .await
            .unwrap()
            .methods
            .contains(&"token".to_string())
    );
    let ac = &seed["application_credential"];
    let by_id = HttpClient::builder(V3ApplicationCredential::by_id(
        &url,
        ac["id"].as_str().unwrap(),
        ac["secret"].as_str().unwrap(),
    ))
    .build()
    .unwrap();
    assert_eq!(
        by_id.authenticate().await.unwrap().methods,
        ["application_credential"]
    );
    let fixed = HttpClient::builder(AdminToken::new(&url, a.token().expose_secret()))
        .build()
        .unwrap();
    fixed
        .service_client("identity")
        .get("/auth/projects")
        .await
        .unwrap();
}

/// RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) of a base32 secret.
fn totp(secret_b32: &str, unix: u64) -> String {
    use hmac::Mac;
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut acc, mut key) = (0u32, 0u64, Vec::new());
    for c in secret_b32.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u64;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            key.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(&(unix / 30).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    format!("{:06}", bin % 1_000_000)
}

#[test]
fn totp_matches_the_rfc_6238_vector() {
    // RFC 6238 appendix B, SHA1, T = 59 s: 94287082 (8 digits) → 287082
    assert_eq!(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59), "287082");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3totp_authenticates_with_a_computed_passcode() {
    use apiclient_auth::typed::{Scope, V3Totp};
    let Some(seed) = seed() else { return };
    let Some(secret) = seed["totp"]["secret"].as_str() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI's Keystone must be seeded with a TOTP credential"
        );
        eprintln!("skipping: this Keystone was seeded before TOTP (cargo xtask keystone reset)");
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let http = HttpClient::builder(
        V3Totp::new(format!("{MAIN}/v3"), "demo", &totp(secret, now))
            .user_domain_name("Default")
            .scope(Scope::project_name("demo", "Default")),
    )
    .build()
    .unwrap();
    let a = http.authenticate().await.unwrap();
    assert_eq!(a.methods, ["totp"]);
    assert_eq!(a.project_id(), seed["demo"]["project_id"].as_str());
    // a wrong passcode is a typed 401
    let wrong = HttpClient::builder(
        V3Totp::new(format!("{MAIN}/v3"), "demo", "000000").user_domain_name("Default"),
    )
    .build()
    .unwrap();
    let err = wrong.authenticate().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_scoped_token_acts_on_the_trustors_project() {
    use apiclient_auth::typed::{Scope, V3Password};
    let Some(seed) = seed() else { return };
    let Some(trust_id) = seed["trust"]["id"].as_str() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI's Keystone must be seeded with a trust"
        );
        eprintln!("skipping: this Keystone was seeded before trusts");
        return;
    };
    let http = HttpClient::builder(
        V3Password::new(format!("{MAIN}/v3"), "demo", "demopass")
            .user_domain_name("Default")
            .scope(Scope::Trust(trust_id.to_string())),
    )
    .build()
    .unwrap();
    let a = http.authenticate().await.unwrap();
    assert_eq!(
        a.project_id(),
        seed["trust"]["project_id"].as_str(),
        "the trustor's project"
    );
    assert_eq!(
        a.user_id.as_deref(),
        seed["demo"]["user_id"].as_str(),
        "still the trustee"
    );
    let body: Value = serde_json::from_slice(a.raw_body().unwrap()).unwrap();
    assert_eq!(body["token"]["OS-TRUST:trust"]["id"], trust_id);
    // a trust with another scope is refused before anything is sent
    let both = KeystonePlugin::new("v3password")
        .unwrap()
        .with("auth_url", format!("{MAIN}/v3"))
        .with("username", "demo")
        .with("password", "demopass")
        .with("trust_id", trust_id)
        .with("project_name", "demo");
    assert!(
        both.request_body(false)
            .unwrap_err()
            .to_string()
            .contains("trust scope")
    );
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The multi-factor user of the seed: (password, TOTP secret), or None
/// (with a say-so) on a Keystone seeded before it.
fn mfa_seed(seed: &Value) -> Option<(String, String)> {
    match (
        seed["mfa"]["password"].as_str(),
        seed["mfa"]["totp_secret"].as_str(),
    ) {
        (Some(p), Some(s)) => Some((p.to_string(), s.to_string())),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI's Keystone must be seeded with the multi-factor user"
            );
            eprintln!("skipping: this Keystone was seeded before the multi-factor user");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_factor_auth_receipt_then_the_second_factor() {
    use apiclient_auth::typed::{Scope, V3Password, V3Totp};
    use apiclient_errors::AuthorizationFailure;
    let Some(seed) = seed() else { return };
    let Some((pw, secret)) = mfa_seed(&seed) else {
        return;
    };
    // the password alone: Keystone answers 401 with an auth receipt
    let first = HttpClient::builder(
        V3Password::new(format!("{MAIN}/v3"), "mfa", &pw)
            .scope(Scope::project_name("demo", "Default")),
    )
    .build()
    .unwrap();
    let err = first.authenticate().await.unwrap_err();
    let Error::Authorization(failure @ AuthorizationFailure::ReceiptRequired { .. }) = &err else {
        panic!("expected an auth receipt, got {err:?}");
    };
    let AuthorizationFailure::ReceiptRequired {
        receipt,
        methods,
        required,
    } = failure
    else {
        unreachable!()
    };
    assert_eq!(methods, &["password"]);
    // Keystone lists a rule's methods in no fixed order
    let sorted: Vec<Vec<String>> = required
        .iter()
        .map(|set| {
            let mut set = set.clone();
            set.sort();
            set
        })
        .collect();
    assert!(sorted.contains(&vec!["password".to_string(), "totp".to_string()]));
    assert_eq!(failure.missing_methods(), vec![vec!["totp".to_string()]]);
    // neither the message nor Debug shows the receipt
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(receipt.expose()), "{shown}");
    assert!(err.to_string().contains("another factor"), "{err}");
    // the second factor with the receipt completes it
    let second = HttpClient::builder(
        V3Totp::new(format!("{MAIN}/v3"), "mfa", &totp(&secret, now_unix()))
            .receipt(receipt.clone())
            .scope(Scope::project_name("demo", "Default")),
    )
    .build()
    .unwrap();
    let a = second.authenticate().await.unwrap();
    let mut m = a.methods.clone();
    m.sort();
    assert_eq!(m, ["password", "totp"]);
    assert_eq!(a.project_id(), seed["demo"]["project_id"].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3multifactor_sends_both_factors_at_once_typed_and_from_options() {
    use apiclient_auth::typed::{Scope, User, V3Multifactor};
    let Some(seed) = seed() else { return };
    let Some((pw, secret)) = mfa_seed(&seed) else {
        return;
    };
    let typed = HttpClient::builder(
        V3Multifactor::new(format!("{MAIN}/v3"), User::name("mfa"))
            .password(&pw)
            .totp(&totp(&secret, now_unix()))
            .scope(Scope::project_name("demo", "Default")),
    )
    .build()
    .unwrap();
    let a = typed.authenticate().await.unwrap();
    assert_eq!(a.methods.len(), 2, "{:?}", a.methods);
    // the same from options, as OS_AUTH_TYPE=v3multifactor reads them
    let opts = apiclient_auth::AuthOptions::new()
        .with("auth_url", format!("{MAIN}/v3"))
        .with("auth_methods", "v3password,v3totp")
        .with("username", "mfa")
        .with("user_domain_name", "Default")
        .with("password", &pw)
        .with("passcode", totp(&secret, now_unix()))
        .with("project_name", "demo")
        .with("project_domain_name", "Default");
    let plugin = apiclient_auth::PluginRegistry::default()
        .load(Some("v3multifactor"), &opts)
        .unwrap();
    let http = HttpClient::builder(plugin).build().unwrap();
    let a = http.authenticate().await.unwrap();
    assert_eq!(a.methods.len(), 2, "{:?}", a.methods);
    assert_eq!(a.project_id(), seed["demo"]["project_id"].as_str());
    // a method list naming an unknown factor is a typed error before any request
    let bad = apiclient_auth::PluginRegistry::default().load(
        Some("v3multifactor"),
        &opts.with("auth_methods", "v3password,kerberos"),
    );
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("unknown method 'kerberos'")
    );
}

/// openstacksdk's reading of `OS_PROJECT_NAME` with `OS_DOMAIN_NAME`: the
/// domain is the user's and the project's, and the token is a project one
/// (python-openstackclient issues the same).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_with_a_domain_is_a_project_token_on_a_real_keystone() {
    let Some(seed) = seed() else { return };
    let env: BTreeMap<String, String> = [
        ("OS_AUTH_URL", format!("{MAIN}/v3")),
        ("OS_USERNAME", "demo".to_string()),
        (
            "OS_PASSWORD",
            seed["demo"]["password"]
                .as_str()
                .unwrap_or("demopass")
                .to_string(),
        ),
        ("OS_PROJECT_NAME", "demo".to_string()),
        ("OS_DOMAIN_NAME", "Default".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let cfg = apiclient_auth::ConfigLoader::new()
        .with_env_map(env)
        .with_search_dirs(vec![])
        .resolve(&BTreeMap::new())
        .unwrap();
    let http = apiclient_http::HttpClientBuilder::from_config(
        &cfg,
        &apiclient_auth::PluginRegistry::default(),
    )
    .unwrap()
    .no_proxy()
    .build()
    .unwrap();
    let access = http.authenticate().await.unwrap();
    assert_eq!(access.project_id(), seed["demo"]["project_id"].as_str());
    assert!(
        access.domain_id().is_none(),
        "a project token, not a domain one"
    );
}
