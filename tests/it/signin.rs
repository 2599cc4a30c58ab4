//! Human sign-in (`apiclient_auth::signin`): the device flow, the
//! authorization code flow with PKCE and Keystone's WebSSO, against the
//! loopback identity provider and the fake cloud. The user's part is
//! scripted: the plugin's UI hands the test what a person would see, and a
//! plain HTTP client plays the browser, following the URLs it was given.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apiclient_auth::signin::{
    OidcAuthorizationCode, OidcDeviceAuthorization, SignInPrompt, SignInUi, WebSso,
};
use apiclient_auth::typed::Scope;
use apiclient_auth::{AuthOptions, AuthPlugin, ExposeSecret, PluginRegistry, TokenScope};
use apiclient_errors::{AuthorizationFailure, Error};
use apiclient_fake::{FakeCloud, FakeOidcProvider};
use apiclient_http::HttpClient;
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

const CLIENT_SECRET: &str = "cl1ent-s3cret";
const FEDERATION: &str = "POST /v3/OS-FEDERATION/identity_providers/myidp/protocols/openid/auth";

async fn setup() -> (Arc<FakeOidcProvider>, FakeCloud) {
    let idp = FakeOidcProvider::start("apiclient", CLIENT_SECRET, &[])
        .await
        .unwrap();
    let cloud = FakeCloud::start().await.unwrap();
    assert!(cloud.add_identity_provider("myidp", "openid", idp.validator(), "demo"));
    (Arc::new(idp), cloud)
}

// ---------------------------------------------------------------- the user

/// What the plugin showed, owned.
#[derive(Debug, Clone)]
enum Shown {
    Device {
        uri: String,
        complete: Option<String>,
        code: String,
        expires_in: Duration,
    },
    Browser {
        url: String,
        redirect_uri: String,
    },
}

/// A UI that hands what it is shown to the test.
fn user_ui() -> (impl SignInUi + 'static, mpsc::UnboundedReceiver<Shown>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let ui = move |p: &SignInPrompt<'_>| {
        let shown = match *p {
            SignInPrompt::DeviceCode {
                verification_uri,
                verification_uri_complete,
                user_code,
                expires_in,
                ..
            } => Shown::Device {
                uri: verification_uri.to_string(),
                complete: verification_uri_complete.map(str::to_string),
                code: user_code.to_string(),
                expires_in,
            },
            SignInPrompt::OpenBrowser {
                url, redirect_uri, ..
            } => Shown::Browser {
                url: url.to_string(),
                redirect_uri: redirect_uri.to_string(),
            },
            _ => return,
        };
        let _ = tx.send(shown);
    };
    (ui, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Shown>) -> Shown {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the plugin showed nothing within 10 s")
        .expect("the UI is gone")
}

async fn device_code(rx: &mut mpsc::UnboundedReceiver<Shown>) -> String {
    match next(rx).await {
        Shown::Device { code, .. } => code,
        other => panic!("{other:?}"),
    }
}

async fn browser_url(rx: &mut mpsc::UnboundedReceiver<Shown>) -> (String, String) {
    match next(rx).await {
        Shown::Browser { url, redirect_uri } => (url, redirect_uri),
        other => panic!("{other:?}"),
    }
}

/// Wait (bounded) until the provider has seen `n` device-code polls.
async fn polls(idp: &FakeOidcProvider, n: usize) {
    let until = Instant::now() + Duration::from_secs(20);
    while idp.device_polls().len() < n {
        assert!(Instant::now() < until, "fewer than {n} polls in 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------- the browser

/// An HTTP answer as the scripted browser sees it.
#[derive(Debug)]
struct Page {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a fresh connection, bounded (10 s).
async fn browse(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Page {
    let u = url::Url::parse(url).unwrap();
    let addr = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr.trim_start_matches('[').replace("]:", ":"))
            .await
            .unwrap();
        let mut req =
            format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let mut chunk = [0u8; 8192];
        // until the answer is whole: by its Content-Length, or the close
        loop {
            let n = s.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&raw);
            if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(usize::MAX);
                if rest.len() >= len {
                    break;
                }
            }
        }
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Page {
            status,
            headers,
            body: body.to_string(),
        }
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("the browser's request took over 10 s")
}

async fn get(url: &str) -> Page {
    browse("GET", url, &[], "").await
}

/// The browser at the provider's authorization page: returns its redirect.
async fn authorize(url: &str) -> String {
    let page = get(url).await;
    assert_eq!(page.status, 302, "{page:?}");
    page.header("location").unwrap().to_string()
}

fn query(url: &str) -> std::collections::BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn with_query(url: &str, name: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    u.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    u.to_string()
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap()
}

fn closed(url: &str) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port_of(url))).is_err()
}

fn s256(verifier: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let digest = sha2::Sha256::digest(verifier.as_bytes());
    let mut out = String::new();
    for c in digest.chunks(3) {
        let n = c.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - c.len()));
        for i in 0..=c.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn form_of(req: &apiclient_fake::RawRequest) -> std::collections::BTreeMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

/// Keystone's WebSSO page: the form's action and its token.
fn websso_form(html: &str) -> (String, String) {
    let attr = |after: &str| {
        let start = html.find(after).unwrap() + after.len();
        html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&")
    };
    (
        attr("action=\""),
        attr("name=\"token\" id=\"token\" value=\""),
    )
}

// ---------------------------------------------------------------- typed refusals

/// The user's refusal (`access_denied`). An `AuthorizationFailure::Other`
/// with a fixed message until apiclient-errors has a variant of its own.
fn is_denied(e: &Error) -> bool {
    matches!(
        e,
        Error::Authorization(AuthorizationFailure::SignInRefused { .. })
    )
}

/// The device code's expiry (`expired_token`), as [`is_denied`].
fn is_expired(e: &Error) -> bool {
    matches!(
        e,
        Error::Authorization(AuthorizationFailure::SignInExpired { .. })
    )
}

fn cause(e: &Error) -> String {
    std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- device flow

fn device_options(idp: &FakeOidcProvider, cloud: &FakeCloud) -> AuthOptions {
    AuthOptions::new()
        .with("auth_url", cloud.auth_url())
        .with("identity_provider", "myidp")
        .with("protocol", "openid")
        .with("client_id", "apiclient")
        .with("client_secret", CLIENT_SECRET)
        .with("discovery_endpoint", idp.discovery_url())
        .with("openid_scope", "openid")
        .with("project_name", "demo")
        .with("project_domain_name", "Default")
        // a user that fails its assertions fails the test within 30 s
        .with("signin_timeout", "30")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorization_by_name_polls_until_approved_and_scopes_the_token() {
    let (idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    let registry = PluginRegistry::default().with_signin_ui(ui);
    let plugin = registry
        .load(Some("v3oidcdeviceauthz"), &device_options(&idp, &cloud))
        .unwrap();
    assert_eq!(plugin.auth_system(), "v3oidcdeviceauthz");
    assert!(!format!("{plugin:?}").contains(CLIENT_SECRET));
    let http = HttpClient::builder(plugin).build().unwrap();
    let user = {
        let idp = idp.clone();
        tokio::spawn(async move {
            let shown = next(&mut shown).await;
            let Shown::Device {
                uri,
                complete,
                code,
                expires_in,
            } = shown
            else {
                panic!("{shown:?}")
            };
            assert_eq!(uri, format!("{}/activate", idp.url()));
            assert!(complete.unwrap().ends_with(&format!("user_code={code}")));
            assert_eq!(expires_in, Duration::from_secs(600));
            // the user takes their time: the first poll is still pending
            polls(&idp, 1).await;
            assert!(idp.approve_device(&code));
        })
    };
    let access = http.authenticate().await.unwrap();
    user.await.unwrap();
    assert_eq!(access.project_id(), Some("p-demo"));
    // the provider: discovery, the device code, then polls
    let reqs = idp.requests();
    assert_eq!(reqs[0].target, "/.well-known/openid-configuration");
    assert_eq!(reqs[1].target, "/device");
    assert_eq!(
        reqs[1].header("authorization").unwrap(),
        apiclient_auth::typed::basic_authorization("apiclient", CLIENT_SECRET)
    );
    assert_eq!(form_of(&reqs[1])["scope"], "openid");
    let token_reqs: Vec<_> = reqs.iter().filter(|r| r.target == "/token").collect();
    assert_eq!(token_reqs.len(), 2, "one pending poll, one approved");
    for r in &token_reqs {
        let form = form_of(r);
        assert_eq!(
            form["grant_type"],
            "urn:ietf:params:oauth:grant-type:device_code"
        );
        assert!(form["device_code"].starts_with("dc-"));
    }
    // honouring the interval (1 s)
    let p = idp.device_polls();
    assert!(p[1] - p[0] >= Duration::from_secs(1), "{:?}", p[1] - p[0]);
    // the cloud: one federated authentication, one rescope
    assert_eq!(cloud.count(FEDERATION), 1);
    assert_eq!(cloud.count("POST /v3/auth/tokens"), 1);
    let r = http
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorization_slows_down_by_five_seconds_when_asked() {
    let (idp, cloud) = setup().await;
    idp.slow_down(1);
    let (ui, mut shown) = user_ui();
    // a public client: no secret, its id in the form
    let plugin = OidcDeviceAuthorization::new(
        &cloud.auth_url(),
        "myidp",
        "openid",
        &idp.discovery_url(),
        "apiclient",
    )
    .ui(ui);
    let user = {
        let idp = idp.clone();
        tokio::spawn(async move {
            let code = device_code(&mut shown).await;
            polls(&idp, 1).await; // answered slow_down
            assert!(idp.approve_device(&code));
        })
    };
    let access = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    user.await.unwrap();
    assert_eq!(access.scope, TokenScope::Unscoped);
    assert_eq!(access.methods, ["openid"]);
    let p = idp.device_polls();
    assert_eq!(p.len(), 2);
    assert!(
        p[1] - p[0] >= Duration::from_secs(6),
        "after slow_down the interval is 1 + 5 s, was {:?}",
        p[1] - p[0]
    );
    for r in idp.requests().iter().filter(|r| r.method == "POST") {
        assert!(r.header("authorization").is_none(), "{r:?}");
        assert_eq!(form_of(r)["client_id"], "apiclient");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_authorization_refusal_and_expiry_are_typed() {
    let (idp, cloud) = setup().await;
    let plugin = |ui| {
        OidcDeviceAuthorization::new(
            &cloud.auth_url(),
            "myidp",
            "openid",
            &idp.discovery_url(),
            "apiclient",
        )
        .client_secret(CLIENT_SECRET)
        .ui(ui)
    };
    // the user refuses
    let (ui, mut shown) = user_ui();
    let p = plugin(ui);
    let i2 = idp.clone();
    let user = tokio::spawn(async move { assert!(i2.deny_device(&device_code(&mut shown).await)) });
    let err = HttpClient::builder(p)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    user.await.unwrap();
    assert!(is_denied(&err), "{err:?}");
    // the provider says the code expired
    let (ui, mut shown) = user_ui();
    let p = plugin(ui);
    let i2 = idp.clone();
    let user =
        tokio::spawn(async move { assert!(i2.expire_device(&device_code(&mut shown).await)) });
    let err = HttpClient::builder(p)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    user.await.unwrap();
    assert!(is_expired(&err), "{err:?}");
    // nobody approves: the wait ends with the code's lifetime (2 s)
    idp.set_device_timing(1, 2);
    let (ui, _shown) = user_ui();
    let t0 = Instant::now();
    let err = HttpClient::builder(plugin(ui))
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    assert!(is_expired(&err), "{err:?}");
    // bounded by the short timeout, not the default minutes (generous: a busy machine)
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    // or with the plugin's own timeout, shorter: a timeout
    idp.set_device_timing(1, 600);
    let (ui, _shown) = user_ui();
    let t0 = Instant::now();
    let err = HttpClient::builder(plugin(ui).timeout(Duration::from_millis(1500)))
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // bounded by the short timeout, not the default minutes (generous: a busy machine)
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert_eq!(cloud.count(FEDERATION), 0);
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(CLIENT_SECRET) && !shown.contains("dc-"),
        "{shown}"
    );
}

// ---------------------------------------------------------------- authorization code

fn authcode(idp: &FakeOidcProvider, cloud: &FakeCloud) -> OidcAuthorizationCode {
    OidcAuthorizationCode::new(
        &cloud.auth_url(),
        "myidp",
        "openid",
        &idp.discovery_url(),
        "apiclient",
    )
    .openid_scope("openid email")
    // a browser that fails its assertions fails the test within 30 s
    .timeout(Duration::from_secs(30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_with_pkce_signs_in_through_the_loopback_redirect() {
    let (idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    let plugin = authcode(&idp, &cloud)
        .scope(Scope::project_name("demo", "Default"))
        .ui(ui);
    let authorize_at = format!("{}/authorize?", idp.url());
    let browser = tokio::spawn(async move {
        let (url, redirect_uri) = browser_url(&mut shown).await;
        let q = query(&url);
        assert!(url.starts_with(&authorize_at), "{url}");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "apiclient");
        assert_eq!(q["redirect_uri"], redirect_uri);
        assert_eq!(q["scope"], "openid email");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"].len(), 43);
        assert_eq!(q["code_challenge"].len(), 43);
        assert!(!url.contains("verifier"), "{url}");
        assert!(
            redirect_uri.starts_with("http://127.0.0.1:") && redirect_uri.ends_with("/callback")
        );
        let back = authorize(&url).await;
        assert!(back.starts_with(&redirect_uri), "{back}");
        let page = get(&back).await;
        assert_eq!(page.status, 200, "{page:?}");
        assert!(page.body.contains("You may close this window"), "{page:?}");
        (q, redirect_uri)
    });
    let access = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    let (q, redirect_uri) = browser.await.unwrap();
    assert_eq!(access.project_id(), Some("p-demo"));
    // the code went to the token endpoint with the verifier of the challenge
    let reqs = idp.requests();
    let exchange = reqs.iter().find(|r| r.target == "/token").unwrap();
    let form = form_of(exchange);
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["redirect_uri"], redirect_uri);
    assert_eq!(
        form["client_id"], "apiclient",
        "a public client names itself"
    );
    assert!(exchange.header("authorization").is_none());
    let verifier = &form["code_verifier"];
    assert!((43..=128).contains(&verifier.len()));
    assert_eq!(s256(verifier), q["code_challenge"]);
    assert_eq!(cloud.count(FEDERATION), 1);
    assert_eq!(cloud.count("POST /v3/auth/tokens"), 1);
    // the receiver is closed once the answer came
    assert!(closed(&redirect_uri));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stray_redirect_is_refused_and_the_sign_in_goes_on() {
    let (idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    let plugin = authcode(&idp, &cloud).client_secret(CLIENT_SECRET).ui(ui);
    let browser = tokio::spawn(async move {
        let (url, redirect_uri) = browser_url(&mut shown).await;
        let back = authorize(&url).await;
        // another state, no state, another path, another method: refused, still waiting
        let forged = with_query(&back, "state", "forged-state");
        assert_eq!(get(&forged).await.status, 400);
        let mut stateless = url::Url::parse(&back).unwrap();
        stateless.set_query(Some("code=stolen"));
        assert_eq!(get(stateless.as_str()).await.status, 400);
        assert_eq!(get(&back.replace("/callback", "/other")).await.status, 404);
        assert_eq!(browse("POST", &back, &[], "").await.status, 405);
        // the real redirect still ends it
        let page = get(&back).await;
        assert_eq!(page.status, 200, "{page:?}");
        redirect_uri
    });
    let access = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    let redirect_uri = browser.await.unwrap();
    assert_eq!(access.methods, ["openid"]);
    assert!(closed(&redirect_uri));
    // a confidential client: HTTP Basic at the token endpoint
    let exchange = idp
        .requests()
        .into_iter()
        .find(|r| r.target == "/token")
        .unwrap();
    assert_eq!(
        exchange.header("authorization").unwrap(),
        apiclient_auth::typed::basic_authorization("apiclient", CLIENT_SECRET)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_wrong_state_before_the_deadline_is_a_timeout() {
    let (idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    let plugin = authcode(&idp, &cloud)
        .timeout(Duration::from_millis(1500))
        .ui(ui);
    let browser = tokio::spawn(async move {
        let (url, redirect_uri) = browser_url(&mut shown).await;
        let back = authorize(&url).await;
        let forged = with_query(&back, "state", "forged-state");
        assert_eq!(get(&forged).await.status, 400);
        redirect_uri
    });
    let t0 = Instant::now();
    let err = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    let redirect_uri = browser.await.unwrap();
    assert!(err.is_timeout(), "{err:?}");
    assert!(cause(&err).contains("wrong state"), "{}", cause(&err));
    // bounded by the short timeout, not the default minutes (generous: a busy machine)
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert!(closed(&redirect_uri));
    assert_eq!(
        idp.requests()
            .iter()
            .filter(|r| r.target == "/token")
            .count(),
        0,
        "the forged code was never exchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_deadline_stops_the_wait_and_closes_the_receiver() {
    let (idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    let plugin = authcode(&idp, &cloud).ui(ui); // its own timeout: 300 s
    let http = HttpClient::builder(plugin)
        .operation_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let t0 = Instant::now();
    let err = http.authenticate().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // bounded by the short timeout, not the default minutes (generous: a busy machine)
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    let (_, redirect_uri) = browser_url(&mut shown).await;
    assert!(closed(&redirect_uri), "the receiver went with the future");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_consent_is_a_typed_refusal() {
    let (idp, cloud) = setup().await;
    idp.deny_consent(true);
    let (ui, mut shown) = user_ui();
    let plugin = authcode(&idp, &cloud).ui(ui);
    let browser = tokio::spawn(async move {
        let (url, _) = browser_url(&mut shown).await;
        let back = authorize(&url).await;
        assert_eq!(query(&back)["error"], "access_denied");
        let page = get(&back).await;
        assert_eq!(page.status, 200, "{page:?}");
        assert!(page.body.contains("did not succeed"), "{page:?}");
    });
    let err = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    browser.await.unwrap();
    assert!(is_denied(&err), "{err:?}");
    assert_eq!(
        idp.requests()
            .iter()
            .filter(|r| r.target == "/token")
            .count(),
        0
    );
    assert_eq!(cloud.count(FEDERATION), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_challenge_makes_the_verifier_fail() {
    let (idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    let plugin = authcode(&idp, &cloud)
        .endpoints(&idp.authorization_url(), &idp.token_url())
        .ui(ui);
    let browser = tokio::spawn(async move {
        let (url, _) = browser_url(&mut shown).await;
        // someone between the CLI and the browser swaps the challenge
        let swapped = with_query(
            &url,
            "code_challenge",
            &s256("the attacker's own verifier, 43+ chars"),
        );
        let page = get(&authorize(&swapped).await).await;
        assert_eq!(page.status, 200, "{page:?}");
    });
    let err = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    browser.await.unwrap();
    assert!(matches!(err, Error::Authorization(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("invalid_grant") && shown.contains("PKCE"),
        "{shown}"
    );
    assert!(
        !idp.requests()
            .iter()
            .any(|r| r.target.starts_with("/.well-known")),
        "the endpoints given: no discovery"
    );
    assert_eq!(cloud.count(FEDERATION), 0);
}

// ---------------------------------------------------------------- WebSSO

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websso_posts_the_token_to_the_receiver_and_it_is_scoped() {
    let (idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    let opts = AuthOptions::new()
        .with("auth_url", cloud.auth_url())
        .with("identity_provider", "myidp")
        .with("protocol", "openid")
        .with("project_id", "p-demo")
        .with("signin_timeout", "30");
    let plugin = PluginRegistry::default()
        .with_signin_ui(ui)
        .load(Some("v3websso"), &opts)
        .unwrap();
    let origin = cloud.url().to_string();
    let bearer = format!("Bearer {}", idp.issue());
    let browser = tokio::spawn(async move {
        let (url, redirect_uri) = browser_url(&mut shown).await;
        assert!(
            url.starts_with(&format!(
                "{origin}/v3/auth/OS-FEDERATION/identity_providers/myidp/protocols/openid/websso?origin="
            )),
            "{url}"
        );
        assert_eq!(query(&url)["origin"], redirect_uri);
        // not signed in at the identity provider: Keystone refuses
        assert_eq!(get(&url).await.status, 401);
        let page = browse("GET", &url, &[("Authorization", &bearer)], "").await;
        assert_eq!(page.status, 200, "{page:?}");
        let (action, token) = websso_form(&page.body);
        assert_eq!(action, redirect_uri);
        let body = format!(
            "token={}",
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        );
        let form = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", origin.as_str()),
        ];
        let done = browse("POST", &action, &form, &body).await;
        assert_eq!(done.status, 200, "{done:?}");
        assert!(done.body.contains("You may close this window"));
        (token, redirect_uri)
    });
    let access = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    let (unscoped, redirect_uri) = browser.await.unwrap();
    assert_eq!(access.project_id(), Some("p-demo"));
    assert_ne!(
        access.token().expose_secret(),
        unscoped,
        "a new, scoped token"
    );
    assert_eq!(cloud.count("POST /v3/auth/tokens"), 1);
    assert!(closed(&redirect_uri));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websso_without_an_identity_provider_gives_the_unscoped_token_validated() {
    let (idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    // unversioned: discovery
    let plugin = WebSso::new(cloud.url(), "openid")
        .timeout(Duration::from_secs(30))
        .ui(ui);
    let bearer = format!("Bearer {}", idp.issue());
    let browser = tokio::spawn(async move {
        let (url, _) = browser_url(&mut shown).await;
        assert!(
            url.contains("/v3/auth/OS-FEDERATION/websso/openid?origin="),
            "{url}"
        );
        let page = browse("GET", &url, &[("Authorization", &bearer)], "").await;
        let (action, token) = websso_form(&page.body);
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        let done = browse("POST", &action, &form, &format!("token={token}")).await;
        assert_eq!(done.status, 200, "{done:?}");
        token
    });
    let access = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    let token = browser.await.unwrap();
    assert_eq!(access.token().expose_secret(), token);
    assert_eq!(access.scope, TokenScope::Unscoped);
    assert_eq!(access.methods, ["openid"]);
    assert_eq!(cloud.count("POST /v3/auth/tokens"), 0);
    assert_eq!(cloud.count("GET /v3/auth/tokens"), 1, "validated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websso_refuses_what_is_not_keystones_answer_and_times_out() {
    let (_idp, cloud) = setup().await;
    let (ui, mut shown) = user_ui();
    let plugin = WebSso::new(&cloud.auth_url(), "openid")
        .identity_provider("myidp")
        .timeout(Duration::from_millis(1500))
        .ui(ui);
    let browser = tokio::spawn(async move {
        let (_, redirect_uri) = browser_url(&mut shown).await;
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        // a form without a token
        let r = browse("POST", &redirect_uri, &[form], "other=1").await;
        assert_eq!(r.status, 400);
        // a token from another site's page (login CSRF)
        let r = browse(
            "POST",
            &redirect_uri,
            &[form, ("Origin", "https://evil.example")],
            "token=attackers-token",
        )
        .await;
        assert_eq!(r.status, 403);
        // not a form; not a POST
        let r = browse(
            "POST",
            &redirect_uri,
            &[("Content-Type", "application/json")],
            "{}",
        )
        .await;
        assert_eq!(r.status, 415);
        assert_eq!(get(&redirect_uri).await.status, 405);
        redirect_uri
    });
    let err = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    let redirect_uri = browser.await.unwrap();
    assert!(err.is_timeout(), "{err:?}");
    let why = cause(&err);
    assert!(
        why.contains("no token") && why.contains("a foreign origin"),
        "{why}"
    );
    assert!(closed(&redirect_uri));
    assert_eq!(cloud.count("POST /v3/auth/tokens"), 0);
}

// ---------------------------------------------------------------- token cache

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_cache_spares_a_second_sign_in() {
    let (idp, cloud) = setup().await;
    let cache = tempfile::tempdir().unwrap();
    let (ui, mut shown) = user_ui();
    let registry = PluginRegistry::default().with_signin_ui(ui);
    let opts = device_options(&idp, &cloud);
    let client = || {
        HttpClient::builder(registry.load(Some("v3oidcdeviceauthz"), &opts).unwrap())
            .token_store(Arc::new(apiclient_http::FileTokenStore::new(cache.path())))
            .build()
            .unwrap()
    };
    let first = client();
    let key = first
        .token_state()
        .with_plugin(|p| p.cache_key())
        .unwrap()
        .unwrap();
    assert_eq!(
        key,
        format!(
            "v3oidcdeviceauthz|auth_url={}|identity_provider=myidp|protocol=openid|client_id=apiclient|openid_scope=openid|project_name=demo|project_domain_name=Default",
            cloud.auth_url()
        )
    );
    let i2 = idp.clone();
    let user = tokio::spawn(async move {
        let code = device_code(&mut shown).await;
        assert!(i2.approve_device(&code));
        shown
    });
    let a = first.access().await.unwrap();
    let mut shown = user.await.unwrap();
    // another process of the same user: the cached token, no prompt
    let b = client().access().await.unwrap();
    assert_eq!(a.token().expose_secret(), b.token().expose_secret());
    assert!(shown.try_recv().is_err(), "no second prompt");
    assert_eq!(
        idp.requests()
            .iter()
            .filter(|r| r.target == "/device")
            .count(),
        1
    );
    assert_eq!(cloud.count(FEDERATION), 1);
}

// ---------------------------------------------------------------- no secret in logs

/// The three flows at TRACE, their secrets collected as the test sees them.
async fn three_sign_ins() -> Vec<String> {
    let (idp, cloud) = setup().await;
    let mut secrets = vec![CLIENT_SECRET.to_string()];
    // the device flow
    let (ui, mut shown) = user_ui();
    let plugin = OidcDeviceAuthorization::new(
        &cloud.auth_url(),
        "myidp",
        "openid",
        &idp.discovery_url(),
        "apiclient",
    )
    .client_secret(CLIENT_SECRET)
    .scope(Scope::project_name("demo", "Default"))
    .timeout(Duration::from_secs(30))
    .ui(ui);
    let i2 = idp.clone();
    let user =
        tokio::spawn(async move { assert!(i2.approve_device(&device_code(&mut shown).await)) });
    let a = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    user.await.unwrap();
    secrets.push(a.token().expose_secret().to_string());
    // the authorization code flow
    let (ui, mut shown) = user_ui();
    let plugin = authcode(&idp, &cloud)
        .client_secret(CLIENT_SECRET)
        .scope(Scope::project_name("demo", "Default"))
        .ui(ui);
    let browser = tokio::spawn(async move {
        let (url, _) = browser_url(&mut shown).await;
        let back = authorize(&url).await;
        assert_eq!(get(&back).await.status, 200);
        query(&back)["code"].clone()
    });
    let a = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    secrets.push(browser.await.unwrap());
    secrets.push(a.token().expose_secret().to_string());
    // WebSSO
    let (ui, mut shown) = user_ui();
    let plugin = WebSso::new(&cloud.auth_url(), "openid")
        .identity_provider("myidp")
        .scope(Scope::project_name("demo", "Default"))
        .timeout(Duration::from_secs(30))
        .ui(ui);
    let bearer = format!("Bearer {}", idp.issue());
    let browser = tokio::spawn(async move {
        let (url, _) = browser_url(&mut shown).await;
        let page = browse("GET", &url, &[("Authorization", &bearer)], "").await;
        let (action, token) = websso_form(&page.body);
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        assert_eq!(
            browse("POST", &action, &form, &format!("token={token}"))
                .await
                .status,
            200
        );
        token
    });
    let a = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap();
    secrets.push(browser.await.unwrap());
    secrets.push(a.token().expose_secret().to_string());
    // what the provider saw: the access tokens it issued, the device code,
    // the PKCE verifier
    secrets.extend(idp.issued_tokens());
    for r in idp.requests() {
        let form = form_of(&r);
        for k in ["device_code", "code_verifier", "code"] {
            if let Some(v) = form.get(k) {
                secrets.push(v.clone());
            }
        }
    }
    secrets
}

#[test]
fn no_token_or_client_secret_of_a_sign_in_in_the_trace_log() {
    let (secrets, log) = crate::support::with_captured_trace(three_sign_ins);
    assert!(log.contains("REQ: curl"), "the log is on");
    assert!(log.contains("sign-in"), "the flows log what they do");
    // the access tokens, the client secret, the Keystone tokens
    let tokens: Vec<&String> = secrets
        .iter()
        .filter(|s| s.starts_with("oidc-") || s.starts_with("gAAAA") || *s == CLIENT_SECRET)
        .collect();
    assert!(tokens.len() >= 8, "{}", tokens.len());
    for s in tokens {
        assert!(!log.contains(s.as_str()), "{s} is in the log");
    }
}

/// The grant's own secrets (the device code, the authorization code, the
/// PKCE verifier) travel in form bodies, which the curl log shows unless a
/// key in them looks secret: this holds once `apiclient_errors::redact`
/// knows `device_code`/`code_verifier` and the curl log redacts form
/// bodies by key.
#[test]
fn no_code_or_verifier_of_a_sign_in_in_the_trace_log() {
    let (secrets, log) = crate::support::with_captured_trace(three_sign_ins);
    let grants: Vec<&String> = secrets
        .iter()
        .filter(|s| s.starts_with("dc-") || s.starts_with("ac-") || s.len() == 64)
        .collect();
    assert!(grants.len() >= 3, "{}", grants.len());
    for s in grants {
        assert!(!log.contains(s.as_str()), "{s} is in the log");
    }
}

// ---------------------------------------------------------------- loading

#[test]
fn sign_in_plugins_load_only_when_named_and_check_their_options() {
    let registry = PluginRegistry::default();
    let oidc = AuthOptions::new()
        .with("auth_url", "https://keystone.example/v3")
        .with("identity_provider", "myidp")
        .with("protocol", "openid")
        .with("client_id", "cli")
        .with("client_secret", "s3cret")
        .with(
            "discovery_endpoint",
            "https://idp.example/.well-known/openid-configuration",
        );
    // enough for v3oidcauthcode and v3oidcdeviceauthz too: never guessed
    let guessed = registry.load(None, &oidc).unwrap();
    assert_eq!(guessed.auth_system(), "v3oidcclientcredentials");
    let websso_only = AuthOptions::new()
        .with("auth_url", "https://keystone.example/v3")
        .with("protocol", "openid");
    let err = registry.load(None, &websso_only).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Authorization(AuthorizationFailure::NoAuthConfigured { .. })
        ),
        "{err:?}"
    );
    // named, they load
    for name in ["v3oidcauthcode", "v3oidcdeviceauthz", "v3websso"] {
        let p = registry.load(Some(name), &oidc).unwrap();
        assert_eq!(p.auth_system(), name);
        let key = p.cache_key().unwrap();
        assert!(
            key.starts_with(&format!("{name}|auth_url=https://keystone.example/v3|")),
            "{key}"
        );
        assert!(
            !key.contains("s3cret") && !format!("{p:?}").contains("s3cret"),
            "{key}"
        );
    }
    // what each needs
    let missing =
        |name: &str, o: &AuthOptions| registry.load(Some(name), o).unwrap_err().to_string();
    let bare = AuthOptions::new().with("auth_url", "https://k/v3");
    assert_eq!(
        missing("v3oidcdeviceauthz", &bare),
        "Authentication failed. Missing options: identity_provider, protocol, client_id, discovery_endpoint"
    );
    assert_eq!(
        missing("v3websso", &bare),
        "Authentication failed. Missing options: protocol"
    );
    let endpoints = oidc
        .clone()
        .with("discovery_endpoint", "")
        .with("access_token_endpoint", "https://idp.example/token");
    assert_eq!(
        missing("v3oidcauthcode", &endpoints),
        "Authentication failed. Missing options: discovery_endpoint"
    );
    assert!(
        registry
            .load(
                Some("v3oidcauthcode"),
                &endpoints
                    .clone()
                    .with("authorization_endpoint", "https://idp.example/auth")
            )
            .is_ok()
    );
    // keystoneauth's form: a code obtained beforehand, with its redirect URI
    let code = endpoints.clone().with("code", "c0de-SECRET");
    assert_eq!(
        missing("v3oidcauthcode", &code),
        "Authentication failed. Missing options: redirect_uri"
    );
    let p = registry
        .load(
            Some("v3oidcauthcode"),
            &code.with("redirect_uri", "https://app.example/cb"),
        )
        .unwrap();
    assert!(!format!("{p:?}").contains("c0de-SECRET"));
    // a redirect URI off the loopback interface, a timeout that is not one
    let err = registry
        .load(
            Some("v3websso"),
            &websso_only
                .clone()
                .with("redirect_uri", "http://10.0.0.1:8050/cb"),
        )
        .unwrap_err();
    assert_eq!(
        err.invalid_kind(),
        Some(apiclient_errors::InvalidKind::Url),
        "{err:?}"
    );
    let err = registry
        .load(
            Some("v3websso"),
            &websso_only.with("signin_timeout", "soon"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("signin_timeout"), "{err}");
}
