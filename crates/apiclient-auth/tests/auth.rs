//! apiclient-auth: option sources and precedence, the registry, every
//! plugin's request body against Keystone's, catalog selection on the real
//! two-region catalog, and no secret in any Debug print.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use apiclient_auth::catalog::{EndpointFilter, Interface, ServiceCatalog};
use apiclient_auth::transport::FnTransport;
use apiclient_auth::{
    AccessInfo, AuthArgs, AuthOptions, AuthPlugin, ConfigLoader, ExposeSecret, KeystonePlugin,
    PluginRegistry, SecretString,
};
use apiclient_errors::{AuthorizationFailure, EndpointError, Error};
use bytes::Bytes;
use clap::{Args, Command, FromArgMatches};
use serde_json::Value;

const KS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keystone");
const V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v2");

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KS}/{name}")).unwrap()
}

fn sample_json(name: &str) -> Value {
    serde_json::from_slice(&sample(name)).unwrap()
}

fn env(pairs: &[(&str, &str)]) -> ConfigLoader {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ConfigLoader::new()
        .with_env_map(map)
        .with_search_dirs(vec![])
}

fn flags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- options

#[test]
fn flag_beats_env_beats_clouds_yaml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        "clouds:\n  mycloud:\n    auth_type: v3password\n    region_name: RegionTwo\n    interface: internal\n    verify: false\n    cacert: /ca.pem\n    auth:\n      auth_url: http://yaml/v3\n      username: yaml-user\n      project_name: yaml-project\n      user_domain_name: YamlDomain\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("secure.yaml"),
        "clouds:\n  mycloud:\n    auth:\n      password: yaml-secret\n",
    )
    .unwrap();
    let loader = ConfigLoader::new()
        .with_env_map(BTreeMap::from([
            ("OS_CLOUD".into(), "mycloud".into()),
            ("OS_USERNAME".into(), "env-user".into()),
            ("OS_PROJECT_NAME".into(), "env-project".into()),
        ]))
        .with_search_dirs(vec![dir.path().to_path_buf()]);
    let cfg = loader
        .resolve(&flags(&[("project_name", "flag-project")]))
        .unwrap();
    assert_eq!(cfg.cloud.as_deref(), Some("mycloud"));
    assert_eq!(
        cfg.auth.get("project_name"),
        Some("flag-project"),
        "flag > env"
    );
    assert_eq!(
        cfg.auth.get("username"),
        Some("env-user"),
        "env > clouds.yaml"
    );
    assert_eq!(
        cfg.auth.get("auth_url"),
        Some("http://yaml/v3"),
        "clouds.yaml"
    );
    assert_eq!(cfg.auth.get("user_domain_name"), Some("YamlDomain"));
    assert_eq!(
        cfg.auth.expose("password"),
        Some("yaml-secret"),
        "secure.yaml merged"
    );
    assert_eq!(cfg.auth_type.as_deref(), Some("v3password"));
    assert_eq!(cfg.region_name.as_deref(), Some("RegionTwo"));
    assert_eq!(cfg.interface, Interface::Internal);
    assert_eq!(cfg.cacert.as_deref(), Some("/ca.pem"));
    assert!(cfg.insecure, "verify: false");
    assert!(!format!("{cfg:?}").contains("yaml-secret"));
}

#[test]
fn os_cloud_flag_selects_the_cloud_and_unknown_cloud_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        "clouds:\n  a:\n    auth:\n      auth_url: http://a/v3\n",
    )
    .unwrap();
    let loader = env(&[]).with_search_dirs(vec![dir.path().to_path_buf()]);
    let cfg = loader.resolve(&flags(&[("cloud", "a")])).unwrap();
    assert_eq!(cfg.auth.get("auth_url"), Some("http://a/v3"));
    let err = loader.resolve(&flags(&[("cloud", "b")])).unwrap_err();
    assert!(err.to_string().contains("cloud 'b' not found"), "{err}");

    let none = env(&[("OS_CLOUD", "x")]);
    let err = none.resolve(&BTreeMap::new()).unwrap_err();
    assert!(err.to_string().contains("no clouds.yaml found"), "{err}");
}

#[test]
fn bad_yaml_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        "clouds: [unterminated\n  password: hunter2",
    )
    .unwrap();
    let loader = env(&[("OS_CLOUD", "a")]).with_search_dirs(vec![dir.path().to_path_buf()]);
    let err = loader.resolve(&BTreeMap::new()).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"));
}

#[test]
fn env_aliases_and_empty_values() {
    let cfg = env(&[
        ("OS_TENANT_NAME", "t"),
        ("OS_AUTH_SYSTEM", "v3password"),
        ("OS_ENDPOINT_TYPE", "adminURL"),
        ("OS_PASSWORD", ""),
        ("OS_INSECURE", "true"),
    ])
    .resolve(&BTreeMap::new())
    .unwrap();
    assert_eq!(cfg.auth.get("project_name"), Some("t"));
    assert_eq!(cfg.auth_type.as_deref(), Some("v3password"));
    assert_eq!(cfg.interface, Interface::Admin);
    assert!(!cfg.auth.has("password"), "empty counts as missing");
    assert!(cfg.insecure);
}

#[test]
fn clap_accepts_both_spellings_and_aliases() {
    let cmd = AuthArgs::augment_args(Command::new("t"));
    let m = cmd
        .try_get_matches_from([
            "t",
            "--os-auth-url",
            "http://k/v3",
            "--os_user_domain_name",
            "D",
            "--os-tenant-name",
            "p",
            "--os-auth-system",
            "v3password",
            "--os-endpoint-type",
            "internal",
            "--os-password",
            "pw",
            "--insecure",
        ])
        .unwrap();
    let args = AuthArgs::from_arg_matches(&m).unwrap();
    assert_eq!(args.flags["auth_url"], "http://k/v3");
    assert_eq!(args.flags["user_domain_name"], "D");
    assert_eq!(args.flags["project_name"], "p");
    assert_eq!(args.flags["auth_type"], "v3password");
    assert_eq!(args.flags["interface"], "internal");
    assert!(args.insecure);
    assert!(!format!("{args:?}").contains("pw\""));
    let cfg = args
        .resolve(&env(&[("OS_AUTH_URL", "http://env/v3")]))
        .unwrap();
    assert_eq!(cfg.auth.get("auth_url"), Some("http://k/v3"));
    assert!(cfg.insecure);

    let help = AuthArgs::augment_args(Command::new("t"))
        .render_long_help()
        .to_string();
    for needle in [
        "--os-user-domain-name",
        "env[OS_USER_DOMAIN_NAME]",
        "--os-application-credential-secret",
        "--os-cloud",
    ] {
        assert!(help.contains(needle), "help lacks {needle}");
    }
}

// ---------------------------------------------------------------- registry

#[test]
fn registry_names_and_unknown() {
    let r = PluginRegistry::default();
    let names: Vec<_> = r.names().collect();
    assert_eq!(
        names,
        [
            "admin_token",
            "http_basic",
            "none",
            "password",
            "token",
            "token_endpoint",
            "v2password",
            "v2token",
            "v3applicationcredential",
            "v3multifactor",
            "v3oidcaccesstoken",
            "v3oidcauthcode",
            "v3oidcclientcredentials",
            "v3oidcdeviceauthz",
            "v3oidcpassword",
            "v3password",
            "v3token",
            "v3totp",
            "v3websso"
        ]
    );
    // token_endpoint is the name users type for admin_token
    let mut te = r.load_plugin("token_endpoint").unwrap();
    te.parse_opts(
        &AuthOptions::new()
            .with("endpoint", "http://svc")
            .with("token", "t"),
    );
    assert!(te.sufficient_options().is_ok());
    let access = rt()
        .block_on(te.authenticate(keystone_transport(Seen::default())))
        .unwrap();
    assert_eq!(
        te.endpoint(&access, &EndpointFilter::new("any")).unwrap(),
        "http://svc"
    );
    // v2token sends the v2.0 token body
    let v2 = KeystonePlugin::new("v2token")
        .unwrap()
        .with("auth_url", "http://k/v2.0")
        .with("token", "tok")
        .with("project_name", "p");
    assert_eq!(
        v2.request_body(true).unwrap(),
        serde_json::json!({"auth": {"token": {"id": "tok"}, "tenantName": "p"}})
    );
    let err = r.load_plugin("kerberos").unwrap_err();
    assert_eq!(err.to_string(), "AuthSystemNotFound: 'kerberos'");
    let opts = r.discover_auth_systems();
    assert!(
        opts["v3applicationcredential"]
            .iter()
            .any(|s| s.name == "application_credential_secret")
    );
}

#[test]
fn alphabetical_guessing() {
    let r = PluginRegistry::default();
    let guess = |o: AuthOptions| {
        r.load_plugin_from_options(None, &o)
            .map(|p| p.auth_system().to_string())
    };
    assert_eq!(
        guess(
            AuthOptions::new()
                .with("endpoint", "http://e")
                .with("token", "t")
        )
        .unwrap(),
        "admin_token"
    );
    assert_eq!(
        guess(AuthOptions::new().with("endpoint", "http://e")).unwrap(),
        "none"
    );
    assert_eq!(
        guess(
            AuthOptions::new()
                .with("auth_url", "http://k")
                .with("username", "u")
                .with("password", "p")
        )
        .unwrap(),
        "password"
    );
    assert_eq!(
        guess(
            AuthOptions::new()
                .with("auth_url", "http://k")
                .with("token", "t")
        )
        .unwrap(),
        "token"
    );
    assert_eq!(
        guess(
            AuthOptions::new()
                .with("auth_url", "http://k")
                .with("application_credential_id", "i")
                .with("application_credential_secret", "s")
        )
        .unwrap(),
        "v3applicationcredential"
    );
    // Nothing suffices: the error names what `password` still needs (the
    // reference's "Missing options: auth_system" names nothing a user can set;
    // where to set them is the CLI's to say).
    let err = guess(AuthOptions::new().with("username", "u")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Authentication failed. Missing options: auth_url, password"
    );
    // the closest plugin wins: an application credential id and a URL are one option short
    let err = guess(
        AuthOptions::new()
            .with("auth_url", "http://k")
            .with("application_credential_id", "i"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Authentication failed. Missing options: application_credential_secret"
    );
}

#[test]
fn named_system_reports_missing_options_in_declaration_order() {
    let r = PluginRegistry::default();
    let err = r
        .load_plugin_from_options(
            Some("v3password"),
            &AuthOptions::new().with("username", "u"),
        )
        .unwrap_err();
    match err {
        Error::Authorization(AuthorizationFailure::OptionsMissing { opt_names }) => {
            assert_eq!(opt_names, ["auth_url", "password"])
        }
        other => panic!("{other:?}"),
    }
    let err = r
        .load_plugin_from_options(
            Some("v3applicationcredential"),
            &AuthOptions::new().with("application_credential_name", "n"),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Authentication failed. Missing options: auth_url, username, application_credential_secret"
    );
    let err = r
        .load_plugin_from_options(Some("admin_token"), &AuthOptions::new().with("token", ""))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Authentication failed. Missing options: endpoint, token"
    );
}

// ---------------------------------------------------------------- request bodies

fn plugin(name: &str, opts: &[(&str, &str)]) -> KeystonePlugin {
    opts.iter()
        .fold(KeystonePlugin::new(name).unwrap(), |p, (k, v)| {
            p.with(k, *v)
        })
}

#[test]
fn password_body_matches_keystones() {
    let p = plugin(
        "v3password",
        &[
            ("auth_url", "http://127.0.0.1:5000/v3"),
            ("username", "admin"),
            ("user_domain_name", "Default"),
            ("password", "secret"),
            ("project_name", "admin"),
            ("project_domain_name", "Default"),
        ],
    );
    assert_eq!(
        p.request_body(false).unwrap(),
        sample_json("auth-request-password-project.json")
    );
    // and on the wire byte-for-byte, since both are compact JSON in the same
    // field order (the typed body's, whatever serde_json's map order)
    let typed =
        apiclient_auth::typed::V3Password::new("http://127.0.0.1:5000/v3", "admin", "secret")
            .user_domain_name("Default")
            .scope(apiclient_auth::typed::Scope::project_name(
                "admin", "Default",
            ));
    assert_eq!(
        serde_json::to_vec(&typed.request_body().unwrap()).unwrap(),
        sample("auth-request-password-project.json").trim_ascii()
    );
}

#[test]
fn appcred_bodies_match_keystones() {
    let expected = sample_json("auth-request-appcred-id.json");
    let id = expected
        .pointer("/auth/identity/application_credential/id")
        .unwrap()
        .as_str()
        .unwrap();
    let p = plugin(
        "v3applicationcredential",
        &[
            ("auth_url", "http://k/v3"),
            ("application_credential_id", id),
            ("application_credential_secret", "appcredsecret"),
        ],
    );
    assert_eq!(p.request_body(false).unwrap(), expected);

    let p = plugin(
        "v3applicationcredential",
        &[
            ("auth_url", "http://k/v3"),
            ("application_credential_name", "ci-test"),
            ("username", "demo"),
            ("user_domain_name", "Default"),
            ("application_credential_secret", "appcredsecret"),
            ("project_name", "ignored: app creds are pre-scoped"),
        ],
    );
    assert_eq!(
        p.request_body(false).unwrap(),
        sample_json("auth-request-appcred-name.json")
    );
}

#[test]
fn scopes_and_token_bodies() {
    let base = [
        ("auth_url", "http://k/v3"),
        ("user_id", "uid"),
        ("password", "pw"),
    ];
    let body = |extra: &[(&str, &str)]| {
        let mut o = base.to_vec();
        o.extend_from_slice(extra);
        plugin("v3password", &o).request_body(false)
    };
    assert_eq!(body(&[]).unwrap()["auth"].get("scope"), None, "unscoped");
    assert_eq!(
        body(&[]).unwrap()["auth"]["identity"]["password"]["user"],
        serde_json::json!({"id": "uid", "password": "pw"})
    );
    assert_eq!(
        body(&[("project_id", "p1")]).unwrap()["auth"]["scope"],
        serde_json::json!({"project": {"id": "p1"}})
    );
    assert_eq!(
        body(&[("project_name", "p"), ("project_domain_id", "d1")]).unwrap()["auth"]["scope"],
        serde_json::json!({"project": {"name": "p", "domain": {"id": "d1"}}})
    );
    assert_eq!(
        body(&[("project_name", "p")]).unwrap()["auth"]["scope"],
        serde_json::json!({"project": {"name": "p", "domain": {"id": "default"}}}),
        "default domain"
    );
    assert_eq!(
        body(&[("domain_name", "Default")]).unwrap()["auth"]["scope"],
        serde_json::json!({"domain": {"name": "Default"}})
    );
    assert_eq!(
        body(&[("system_scope", "all")]).unwrap()["auth"]["scope"],
        serde_json::json!({"system": {"all": true}})
    );
    assert!(matches!(
        body(&[("project_id", "p"), ("domain_id", "d")]),
        Err(Error::Validation(_))
    ));

    let t = plugin(
        "v3token",
        &[
            ("auth_url", "http://k/v3"),
            ("token", "gAAAA"),
            ("project_id", "p2"),
        ],
    );
    assert_eq!(
        t.request_body(false).unwrap(),
        serde_json::json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "gAAAA"}}, "scope": {"project": {"id": "p2"}}}})
    );
    let v2 = plugin(
        "v2password",
        &[
            ("auth_url", "http://k/v2.0"),
            ("username", "u"),
            ("password", "p"),
            ("project_name", "demo"),
        ],
    );
    assert_eq!(
        v2.request_body(true).unwrap(),
        serde_json::json!({"auth": {"passwordCredentials": {"username": "u", "password": "p"}, "tenantName": "demo"}})
    );
}

#[test]
fn no_plugin_debug_shows_a_secret() {
    let secrets = [
        ("password", "pw-SECRET-1"),
        ("token", "tok-SECRET-2"),
        ("application_credential_secret", "ac-SECRET-3"),
    ];
    for name in PluginRegistry::default().names() {
        let mut p = PluginRegistry::default().load_plugin(name).unwrap();
        let mut opts = AuthOptions::new()
            .with("auth_url", "http://k/v3")
            .with("endpoint", "http://e");
        for (k, v) in secrets {
            opts.set(k, v);
        }
        p.parse_opts(&opts);
        let shown = format!("{p:?} {:?} {opts:?}", p.opts());
        assert!(!shown.contains("SECRET"), "{name}: {shown}");
        assert!(
            !p.cache_key().unwrap_or_default().contains("SECRET"),
            "{name}"
        );
        assert!(
            !p.credentials_key().unwrap_or_default().contains("SECRET"),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------- cache keys

#[test]
fn cache_keys_name_the_plugin_url_user_and_scope_and_never_a_secret() {
    use apiclient_auth::typed::{Scope, V3Password};
    let alice = V3Password::new("http://k/v3", "alice", "pw-SECRET")
        .scope(Scope::project_name("p1", "Default"));
    let key = alice.cache_key().unwrap();
    assert_eq!(
        key,
        "v3password|auth_url=http://k/v3|username=alice|project_name=p1|project_domain_name=Default"
    );
    assert!(!key.contains("SECRET"));
    let bob = V3Password::new("http://k/v3", "bob", "pw-SECRET")
        .scope(Scope::project_name("p1", "Default"));
    let other_scope = V3Password::new("http://k/v3", "alice", "pw-SECRET")
        .scope(Scope::project_name("p2", "Default"));
    let other_cloud = V3Password::new("http://other/v3", "alice", "pw-SECRET")
        .scope(Scope::project_name("p1", "Default"));
    // the same name in another domain is another user
    let other_domain = V3Password::new("http://k/v3", "alice", "pw-SECRET")
        .scope(Scope::project_name("p1", "Default"))
        .default_domain("corp");
    let keys = [&bob, &other_scope, &other_cloud, &other_domain].map(|p| p.cache_key().unwrap());
    for (i, k) in keys.iter().enumerate() {
        assert_ne!(*k, key, "{k}");
        assert!(keys[i + 1..].iter().all(|o| o != k), "{k}");
    }
    // two clients of the same credentials and scope share it
    let again = V3Password::new("http://k/v3", "alice", "another-pw")
        .scope(Scope::project_name("p1", "Default"));
    assert_eq!(again.cache_key().unwrap(), key);
}

#[test]
fn plugins_that_cannot_say_whose_token_they_get_have_no_cache_key() {
    use apiclient_auth::oidc::OidcPlugin;
    use apiclient_auth::typed::{AdminToken, HttpBasic, NoAuth, V2Token, V3Token};
    let none: Vec<Box<dyn AuthPlugin>> = vec![
        Box::new(V3Token::new("http://k/v3", "tok-alice")),
        Box::new(V2Token::new("http://k/v2.0", "tok-alice")),
        Box::new(AdminToken::new("http://svc", "tok")),
        Box::new(NoAuth::new("http://svc")),
        Box::new(HttpBasic::new("http://svc", "u", "pw")),
        Box::new(OidcPlugin::access_token(
            "http://k/v3",
            "idp",
            "openid",
            "at-alice",
        )),
    ];
    for p in &none {
        assert_eq!(p.cache_key(), None, "{p:?}");
        assert_eq!(p.credentials_key(), None, "{p:?}");
    }
    // the same from options (a loaded plugin's key is its runtime plugin's)
    let token = plugin(
        "v3token",
        &[
            ("auth_url", "http://k/v3"),
            ("token", "t"),
            ("project_id", "p"),
        ],
    );
    assert_eq!(token.cache_key(), None);
    let password = plugin(
        "v3password",
        &[
            ("auth_url", "http://k/v3"),
            ("username", "u"),
            ("password", "p"),
            ("project_id", "p1"),
        ],
    );
    assert_eq!(
        password.cache_key().unwrap(),
        "v3password|auth_url=http://k/v3|username=u|project_id=p1"
    );
    let insufficient = plugin("v3password", &[("auth_url", "http://k/v3")]);
    assert_eq!(insufficient.cache_key(), None);
    // a grant names the client (and the user): it has a key
    let cc = OidcPlugin::client_credentials(
        "http://k/v3",
        "idp",
        "openid",
        "http://idp/.well-known",
        "cli",
        "s3cret",
    );
    assert_eq!(
        cc.cache_key().unwrap(),
        "v3oidcclientcredentials|auth_url=http://k/v3|identity_provider=idp|protocol=openid|client_id=cli"
    );
}

/// A plugin of one's own that does not override `cache_key` has none (it
/// cannot collide with another user's), boxed or not.
#[test]
fn a_plugin_of_your_own_has_no_cache_key_unless_it_names_one() {
    use apiclient_auth::transport::{BoxFuture, SharedTransport};
    #[derive(Debug)]
    struct Mine(&'static str);
    impl AuthPlugin for Mine {
        fn auth_system(&self) -> &str {
            self.0
        }
        fn authenticate(
            &self,
            _: SharedTransport,
        ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
            Box::pin(async { Err(Error::config("unused")) })
        }
    }
    assert_eq!(Mine("alice").cache_key(), None);
    let boxed: Box<dyn AuthPlugin> = Box::new(Mine("bob"));
    assert_eq!(boxed.cache_key(), None);
    assert_eq!(boxed.credentials_key(), None);
    assert!(
        boxed
            .rescope(
                &SecretString::from("t"),
                keystone_transport(Seen::default())
            )
            .is_none()
    );
}

#[test]
fn credentials_keys_leave_out_the_scope_and_only_users_tokens_are_rescoped() {
    use apiclient_auth::typed::{
        Scope, User, V3ApplicationCredential, V3Multifactor, V3Password, V3Totp,
    };
    let p1 =
        V3Password::new("http://k/v3", "alice", "pw").scope(Scope::project_name("p1", "Default"));
    let p2 = V3Password::new("http://k/v3", "alice", "pw").scope(Scope::ProjectId("p2".into()));
    let unscoped = V3Password::new("http://k/v3", "alice", "pw");
    let creds = p1.credentials_key().unwrap();
    assert_eq!(creds, "v3password|auth_url=http://k/v3|username=alice");
    assert_eq!(p2.credentials_key().unwrap(), creds);
    assert_eq!(unscoped.credentials_key().unwrap(), creds);
    assert_eq!(
        unscoped.cache_key().unwrap(),
        creds,
        "unscoped: the key has no scope either"
    );
    // another user, another method: other credentials
    let bob = V3Password::new("http://k/v3", "bob", "pw").scope(Scope::ProjectId("p2".into()));
    assert_ne!(bob.credentials_key().unwrap(), creds);
    let totp = V3Totp::new("http://k/v3", "alice", "123456").scope(Scope::ProjectId("p2".into()));
    assert_ne!(totp.credentials_key().unwrap(), creds);
    assert!(
        V3Multifactor::new("http://k/v3", User::name("alice"))
            .password("pw")
            .totp("1")
            .credentials_key()
            .is_some()
    );
    // no re-scoping for an application credential (its scope is its own),
    // a trust (never re-scoped) or identity v2.0
    assert_eq!(
        V3ApplicationCredential::by_id("http://k/v3", "ac", "s").credentials_key(),
        None
    );
    assert_eq!(
        p1.clone().scope(Scope::Trust("t".into())).credentials_key(),
        None
    );
    let v2 = plugin(
        "v2password",
        &[
            ("auth_url", "http://k/v2.0"),
            ("username", "u"),
            ("password", "p"),
            ("project_name", "demo"),
        ],
    );
    assert!(v2.cache_key().is_some());
    assert_eq!(v2.credentials_key(), None);
    let t = keystone_transport(Seen::default());
    assert!(
        unscoped
            .rescope(&SecretString::from("t"), t.clone())
            .is_none(),
        "no scope to go to"
    );
}

#[test]
fn rescope_sends_the_token_method_to_the_plugins_scope() {
    use apiclient_auth::typed::{Scope, V3Password};
    let seen = Seen::default();
    let p = V3Password::new("http://127.0.0.1:5000/v3", "alice", "pw-SECRET")
        .user_domain_name("Default")
        .scope(Scope::project_name("p2", "Default"));
    let fut = p
        .rescope(
            &SecretString::from("tok-of-p1"),
            keystone_transport(seen.clone()),
        )
        .unwrap();
    let access = rt().block_on(fut).unwrap();
    assert_eq!(access.token().expose_secret(), "gAAAAA-subject");
    let calls = seen.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1, "http://127.0.0.1:5000/v3/auth/tokens");
    let body: Value = serde_json::from_slice(&calls[0].2).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"auth": {"identity": {"methods": ["token"], "token": {"id": "tok-of-p1"}},
            "scope": {"project": {"name": "p2", "domain": {"name": "Default"}}}}})
    );
    assert!(
        !String::from_utf8_lossy(&calls[0].2).contains("SECRET"),
        "no password sent"
    );
}

// ---------------------------------------------------------------- authenticate over a transport

type Seen = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

fn keystone_transport(seen: Seen) -> apiclient_auth::transport::SharedTransport {
    Arc::new(FnTransport::new(move |req: http::Request<Bytes>| {
        seen.lock().unwrap().push((
            req.method().to_string(),
            req.uri().to_string(),
            req.body().to_vec(),
        ));
        let resp = match (req.method().as_str(), req.uri().path()) {
            ("GET", "/" | "/identity/") => http::Response::builder()
                .status(300)
                .body(Bytes::from(sample("version-root.json"))),
            ("POST", "/v3/auth/tokens") => http::Response::builder()
                .status(201)
                .header("x-subject-token", "gAAAAA-subject")
                .header("content-type", "application/json")
                .body(Bytes::from(sample("token-multi-catalog.json"))),
            ("POST", "/v2.0/tokens") => http::Response::builder().status(200).body(Bytes::from(
                std::fs::read(format!("{V2}/token-v2.json")).unwrap(),
            )),
            ("POST", "/bad/v3/auth/tokens") => http::Response::builder()
                .status(401)
                .header("content-type", "application/json")
                .header("x-openstack-request-id", "req-401")
                .body(Bytes::from(sample("error-401-wrong-password.json"))),
            _ => http::Response::builder().status(404).body(Bytes::new()),
        };
        std::future::ready(Ok(resp.unwrap()))
    }))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn generic_password_discovers_v3_on_an_unversioned_url() {
    for url in ["http://127.0.0.1:5000", "http://127.0.0.1:5000/"] {
        let seen = Seen::default();
        let p = plugin(
            "password",
            &[
                ("auth_url", url),
                ("username", "admin"),
                ("password", "secret"),
                ("project_name", "admin"),
            ],
        );
        let access = rt()
            .block_on(p.authenticate(keystone_transport(seen.clone())))
            .unwrap();
        let calls = seen.lock().unwrap();
        assert_eq!(calls[0].0, "GET");
        assert_eq!(calls[1].1, "http://127.0.0.1:5000/v3/auth/tokens");
        assert_eq!(access.token().expose_secret(), "gAAAAA-subject");
        assert_eq!(
            access.project_id(),
            Some("b04429d733ff4bb9bddfa248b3223ac0")
        );
        assert!(access.expires_at.is_some());
    }
}

#[test]
fn v2_password_uses_the_legacy_api_and_catalog() {
    let seen = Seen::default();
    let p = plugin(
        "password",
        &[
            ("auth_url", "http://k/v2.0"),
            ("username", "u"),
            ("password", "p"),
            ("project_name", "demo"),
        ],
    );
    let access = rt()
        .block_on(p.authenticate(keystone_transport(seen.clone())))
        .unwrap();
    assert_eq!(seen.lock().unwrap()[0].1, "http://k/v2.0/tokens");
    assert_eq!(access.token().expose_secret(), "v2-token-id-aaaabbbb");
    assert_eq!(
        access.project_id(),
        Some("fc394f2ab2df4114bde39905f800dc57")
    );
    let url = |t: &str, i| {
        access
            .catalog
            .url_for(&EndpointFilter::new(t).interface(i))
            .unwrap()
    };
    assert_eq!(
        url("compute", Interface::Public),
        "http://public:8774/v2/fc39"
    );
    assert_eq!(
        url("compute", Interface::Internal),
        "http://10.0.0.2:8774/v2/fc39"
    );
    assert_eq!(
        url("block-storage", Interface::Admin),
        "http://a:8776/v2/fc39",
        "alias volumev2"
    );
}

#[test]
fn v3_plugin_rejects_a_v2_url_and_401_is_typed() {
    let seen = Seen::default();
    let p = plugin(
        "v3password",
        &[
            ("auth_url", "http://k/v2.0"),
            ("user_id", "u"),
            ("password", "p"),
        ],
    );
    assert!(matches!(
        rt().block_on(p.authenticate(keystone_transport(seen.clone()))),
        Err(Error::Validation(_))
    ));
    let p = plugin(
        "v3password",
        &[
            ("auth_url", "http://k/bad/v3"),
            ("user_id", "u"),
            ("password", "wrong"),
        ],
    );
    let err = rt()
        .block_on(p.authenticate(keystone_transport(seen)))
        .unwrap_err();
    assert!(err.is_unauthorized());
    assert_eq!(err.request_id(), Some("req-401"));
    assert!(!err.to_string().contains("wrong"));
}

#[test]
fn admin_token_and_none_need_no_keystone() {
    let seen = Seen::default();
    let p = plugin(
        "admin_token",
        &[("endpoint", "http://svc/v1"), ("token", "ADMIN")],
    );
    let access = rt()
        .block_on(p.authenticate(keystone_transport(seen.clone())))
        .unwrap();
    let ep = p
        .endpoint(&access, &EndpointFilter::new("anything"))
        .unwrap();
    assert_eq!(
        (access.token().expose_secret(), ep.as_str()),
        ("ADMIN", "http://svc/v1")
    );
    let p = plugin("none", &[("endpoint", "http://svc/v1")]);
    let access = rt()
        .block_on(p.authenticate(keystone_transport(seen.clone())))
        .unwrap();
    assert_eq!(access.token().expose_secret(), "");
    assert!(seen.lock().unwrap().is_empty(), "no request was sent");
}

// ---------------------------------------------------------------- catalog

fn multi() -> AccessInfo {
    AccessInfo::from_v3(SecretString::from("t"), &sample("token-multi-catalog.json")).unwrap()
}

#[test]
fn catalog_selection_on_the_real_two_region_catalog() {
    let a = multi();
    let cat = &a.catalog;
    let url = |f: EndpointFilter| cat.url_for(&f);
    // compute exists in two regions: without a region it is ambiguous
    match url(EndpointFilter::new("compute")) {
        Err(EndpointError::Ambiguous { endpoints }) => {
            assert_eq!(
                endpoints,
                ["http://127.0.0.1:8774/v2.1", "http://127.0.0.1:18774/v2.1"]
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        url(EndpointFilter::new("compute").region(Some("RegionOne"))).unwrap(),
        "http://127.0.0.1:8774/v2.1"
    );
    assert_eq!(
        url(EndpointFilter::new("compute")
            .region(Some("RegionTwo"))
            .interface("internalURL".parse().unwrap()))
        .unwrap(),
        "http://127.0.0.2:18774/v2.1"
    );
    assert_eq!(
        url(EndpointFilter::new("compute")
            .region(Some("RegionOne"))
            .interface(Interface::Admin))
        .unwrap(),
        "http://127.0.0.3:8774/v2.1"
    );
    // $(project_id)s substituted by Keystone; found through the volumev3 alias
    let pid = a.project_id().unwrap();
    assert_eq!(
        url(EndpointFilter::new("volumev3")).unwrap(),
        format!("http://127.0.0.1:8776/v3/{pid}")
    );
    assert_eq!(
        url(EndpointFilter::new("object-store")).unwrap(),
        format!("http://127.0.0.1:8080/v1/AUTH_{pid}")
    );
    // region filtering is applied
    let err = url(EndpointFilter::new("object-store").region(Some("RegionOne"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "No endpoint found for service type 'object-store' with interface 'public' in region 'RegionOne'"
    );
    assert!(url(EndpointFilter::new("image").service_name(Some("glance"))).is_ok());
    assert!(url(EndpointFilter::new("image").service_name(Some("other"))).is_err());
    // identity has three interfaces at the same URL
    assert_eq!(
        url(EndpointFilter::new("identity")).unwrap(),
        "http://127.0.0.1:5000/v3/"
    );
}

#[test]
fn auth_catalog_document_parses_the_same() {
    let doc = sample_json("auth-catalog-multi.json");
    let cat = ServiceCatalog::from_v3(&doc["catalog"]);
    assert_eq!(cat, multi().catalog);
    assert_eq!(cat.services().len(), 6);
}

#[test]
fn every_token_sample_parses_with_its_scope() {
    use apiclient_auth::TokenScope as Scope;
    let scope = |f: &str| {
        AccessInfo::from_v3(SecretString::from("t"), &sample(f))
            .unwrap()
            .scope
    };
    assert!(matches!(scope("token-unscoped.json"), Scope::Unscoped));
    assert!(matches!(scope("token-system-scoped.json"), Scope::System));
    assert!(matches!(
        scope("token-domain-scoped.json"),
        Scope::Domain { .. }
    ));
    assert!(matches!(
        scope("token-appcred-id.json"),
        Scope::Project { .. }
    ));
    let a = AccessInfo::from_v3(SecretString::from("t"), &sample("token-nocatalog.json")).unwrap();
    assert!(a.catalog.is_empty());
    let a =
        AccessInfo::from_v3(SecretString::from("t"), &sample("token-appcred-name.json")).unwrap();
    assert_eq!(a.methods, ["application_credential"]);
}

// ---------------------------------------------------------------- another crate's plugin

#[derive(Debug, Default)]
struct BasicRealm {
    opts: AuthOptions,
}

impl apiclient_auth::BaseAuthPlugin for BasicRealm {
    fn option_specs(&self) -> Vec<apiclient_auth::options::OptionSpec> {
        apiclient_auth::options::COMMON_OPTIONS
            .iter()
            .chain(apiclient_auth::options::PLUGIN_OPTIONS)
            .filter(|s| ["username", "password", "endpoint"].contains(&s.name))
            .cloned()
            .collect()
    }
    fn opts(&self) -> &AuthOptions {
        &self.opts
    }
    fn opts_mut(&mut self) -> &mut AuthOptions {
        &mut self.opts
    }
    fn sufficient_options(&self) -> Result<(), AuthorizationFailure> {
        let missing: Vec<&str> = ["endpoint", "username", "password"]
            .into_iter()
            .filter(|n| !self.opts.has(n))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(AuthorizationFailure::options_missing(missing))
        }
    }
}

impl AuthPlugin for BasicRealm {
    fn auth_system(&self) -> &str {
        "basic_realm"
    }
    fn authenticate(
        &self,
        _t: apiclient_auth::transport::SharedTransport,
    ) -> apiclient_auth::transport::BoxFuture<'static, Result<AccessInfo, Error>> {
        let endpoint = self.opts.get("endpoint").map(str::to_string);
        Box::pin(async move { Ok(AccessInfo::fixed(SecretString::from("basic"), endpoint)) })
    }
}

#[test]
fn another_crate_can_register_a_plugin() {
    let mut r = PluginRegistry::default();
    r.register("basic_realm", || Box::new(BasicRealm::default()));
    let p = r.load_plugin("basic_realm").unwrap();
    assert_eq!(p.auth_system(), "basic_realm");
    let opts = AuthOptions::new()
        .with("endpoint", "http://ironic")
        .with("username", "u")
        .with("password", "p");
    // named, and guessed (alphabetically after admin_token, before http_basic)
    assert_eq!(
        r.load_plugin_from_options(Some("basic_realm"), &opts)
            .unwrap()
            .auth_system(),
        "basic_realm"
    );
    assert_eq!(
        r.load_plugin_from_options(None, &opts)
            .unwrap()
            .auth_system(),
        "basic_realm"
    );
    assert!(r.discover_auth_systems().contains_key("basic_realm"));
    // the runtime plugin the loader makes is the registered one, with its options
    let runtime = r.load(None, &opts).unwrap();
    assert_eq!(runtime.auth_system(), "basic_realm");
    let access = rt()
        .block_on(runtime.authenticate(keystone_transport(Seen::default())))
        .unwrap();
    assert_eq!(access.endpoint_override.as_deref(), Some("http://ironic"));
}
