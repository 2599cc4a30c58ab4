//! OpenID Connect through Keystone federation, against a loopback identity
//! provider and the fake cloud's federation endpoint (Keystone's own
//! federation needs mod_auth_openidc in front of it, which cannot run here),
//! and HTTP Basic against a loopback service.

use apiclient_auth::oidc::OidcPlugin;
use apiclient_auth::typed::{HttpBasic, Scope};
use apiclient_auth::{AuthOptions, PluginRegistry};
use apiclient_errors::Error;
use apiclient_fake::{FakeCloud, FakeOidcProvider, RawServer};
use apiclient_http::HttpClient;

const CLIENT_SECRET: &str = "cl1ent-s3cret";

async fn setup() -> (FakeOidcProvider, FakeCloud) {
    let idp = FakeOidcProvider::start("apiclient", CLIENT_SECRET, &[("alice", "alicepass")])
        .await
        .unwrap();
    let cloud = FakeCloud::start().await.unwrap();
    assert!(cloud.add_identity_provider("myidp", "openid", idp.validator(), "demo"));
    (idp, cloud)
}

fn form_of(req: &apiclient_fake::RawRequest) -> std::collections::BTreeMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_discovers_the_token_endpoint_and_rescopes() {
    let (idp, cloud) = setup().await;
    let plugin = OidcPlugin::client_credentials(
        &cloud.auth_url(),
        "myidp",
        "openid",
        &idp.discovery_url(),
        "apiclient",
        CLIENT_SECRET,
    )
    .scope(Scope::project_name("demo", "Default"));
    assert!(!format!("{plugin:?}").contains(CLIENT_SECRET));
    let http = HttpClient::builder(plugin).build().unwrap();
    let access = http.authenticate().await.unwrap();
    assert_eq!(access.project_id(), Some("p-demo"));
    // the provider: discovery, then one token request with the client's Basic credentials
    let reqs = idp.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].target, "/.well-known/openid-configuration");
    assert_eq!(reqs[1].target, "/token");
    assert_eq!(
        reqs[1].header("authorization").unwrap(),
        apiclient_auth::typed::basic_authorization("apiclient", CLIENT_SECRET)
    );
    let form = form_of(&reqs[1]);
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["scope"], "openid profile");
    // the cloud: one federated authentication, one rescope
    assert_eq!(
        cloud.count("POST /v3/OS-FEDERATION/identity_providers/myidp/protocols/openid/auth"),
        1
    );
    assert_eq!(cloud.count("POST /v3/auth/tokens"), 1);
    // and the token works on a service
    let compute = http.service_client("compute");
    let r = compute.get("/servers").await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_grant_from_options_gives_an_unscoped_federated_token() {
    let (idp, cloud) = setup().await;
    let opts = AuthOptions::new()
        .with("auth_url", cloud.auth_url())
        .with("identity_provider", "myidp")
        .with("protocol", "openid")
        .with("access_token_endpoint", idp.token_url())
        .with("client_id", "apiclient")
        .with("client_secret", CLIENT_SECRET)
        .with("username", "alice")
        .with("password", "alicepass")
        .with("openid_scope", "openid");
    let plugin = PluginRegistry::default()
        .load(Some("v3oidcpassword"), &opts)
        .unwrap();
    let http = HttpClient::builder(plugin).build().unwrap();
    let access = http.authenticate().await.unwrap();
    assert_eq!(access.methods, ["openid"]);
    assert_eq!(access.scope, apiclient_auth::TokenScope::Unscoped);
    let reqs = idp.requests();
    assert_eq!(
        reqs.len(),
        1,
        "no discovery when the token endpoint is given"
    );
    let form = form_of(&reqs[0]);
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], "alice");
    assert_eq!(form["scope"], "openid");
    assert_eq!(
        cloud.count("POST /v3/auth/tokens"),
        0,
        "no rescope without a scope"
    );

    // the wrong user password: the provider's refusal, typed, without the secrets
    let plugin = PluginRegistry::default()
        .load(Some("v3oidcpassword"), &opts.with("password", "wrong-pass"))
        .unwrap();
    let err = HttpClient::builder(plugin)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Authorization(_)), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("invalid_grant"), "{shown}");
    assert!(
        !shown.contains("wrong-pass") && !shown.contains(CLIENT_SECRET),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_is_exchanged_and_a_foreign_one_refused() {
    let (idp, cloud) = setup().await;
    let token = idp.issue();
    let opts = AuthOptions::new()
        .with("auth_url", cloud.auth_url())
        .with("identity_provider", "myidp")
        .with("protocol", "openid")
        .with("access_token", &token)
        .with("project_name", "demo")
        .with("project_domain_name", "Default");
    let plugin = PluginRegistry::default().load(None, &opts).unwrap();
    assert_eq!(plugin.auth_system(), "v3oidcaccesstoken");
    let http = HttpClient::builder(plugin).build().unwrap();
    let access = http.authenticate().await.unwrap();
    assert_eq!(access.project_id(), Some("p-demo"));
    assert_eq!(idp.requests().len(), 0, "a given token needs no provider");

    // a token the provider never issued: Keystone's 401, and no token leaks
    let forged = OidcPlugin::access_token(&cloud.auth_url(), "myidp", "openid", "forged-token");
    let err = HttpClient::builder(forged)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("forged-token"));
    // an identity provider the cloud does not know: 404, typed
    let unknown = OidcPlugin::access_token(&cloud.auth_url(), "elsewhere", "openid", &token);
    let err = HttpClient::builder(unknown)
        .build()
        .unwrap()
        .authenticate()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_basic_sends_authorization_and_no_auth_token() {
    let server = RawServer::start(|req| {
        let ok = req.header("authorization")
            == Some(&apiclient_auth::typed::basic_authorization(
                "admin",
                "b4sic-pass",
            ));
        if ok {
            RawServer::response(
                200,
                &[("Content-Type", "application/json")],
                b"{\"nodes\": []}",
            )
        } else {
            RawServer::response(401, &[("WWW-Authenticate", "Basic realm=\"ironic\"")], b"")
        }
    })
    .await
    .unwrap();
    let opts = AuthOptions::new()
        .with("endpoint", format!("{}/v1", server.url()))
        .with("username", "admin")
        .with("password", "b4sic-pass");
    let cache = tempfile::tempdir().unwrap();
    for plugin in [
        PluginRegistry::default()
            .load(Some("http_basic"), &opts)
            .unwrap(),
        Box::new(HttpBasic::new(
            format!("{}/v1", server.url()),
            "admin",
            "b4sic-pass",
        )),
    ] {
        let store = std::sync::Arc::new(apiclient_http::FileTokenStore::new(cache.path()));
        let http = HttpClient::builder(plugin)
            .token_store(store)
            .build()
            .unwrap();
        let r = http
            .service_client("baremetal")
            .get("/nodes")
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    for req in server.requests() {
        assert_eq!(req.target, "/v1/nodes");
        assert!(req.header("x-auth-token").is_none(), "{req:?}");
    }
    // the Basic credentials (a password in base64) never reach the token cache
    let cached: Vec<_> = walk(cache.path());
    assert!(cached.is_empty(), "{cached:?}");
    // a wrong password: the 401 comes back once (a fixed credential is not retried)
    let before = server.requests().len();
    let wrong = HttpBasic::new(format!("{}/v1", server.url()), "admin", "nope");
    let err = HttpClient::builder(wrong)
        .build()
        .unwrap()
        .service_client("baremetal")
        .get("/nodes")
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(server.requests().len(), before + 1);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
