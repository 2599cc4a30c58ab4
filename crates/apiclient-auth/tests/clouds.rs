//! clouds.yaml as openstacksdk reads it, each feature with files in
//! temporary directories and an injected environment.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::Path;

use apiclient_auth::{ConfigLoader, Interface};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn loader(env: &[(&str, String)]) -> ConfigLoader {
    let map: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    ConfigLoader::new().with_env_map(map)
}

const CLOUD: &str = "clouds:\n  c:\n    auth:\n      auth_url: http://k/v3\n      username: u\n      project_name: p\n";

#[test]
fn xdg_config_home_comes_before_dot_config_and_yml_json_are_read() {
    let home = tempfile::tempdir().unwrap();
    let xdg = tempfile::tempdir().unwrap();
    write(
        &home.path().join(".config/openstack/clouds.yaml"),
        &CLOUD.replace("http://k/v3", "http://home/v3"),
    );
    write(
        &xdg.path().join("openstack/clouds.yml"),
        &CLOUD.replace("http://k/v3", "http://xdg/v3"),
    );
    let env = [
        ("HOME", home.path().display().to_string()),
        ("XDG_CONFIG_HOME", xdg.path().display().to_string()),
        ("OS_CLOUD", "c".to_string()),
    ];
    let cfg = loader(&env).resolve(&BTreeMap::new()).unwrap();
    assert_eq!(
        cfg.auth.get("auth_url"),
        Some("http://xdg/v3"),
        "XDG first, and .yml read"
    );
    // without XDG_CONFIG_HOME: ~/.config/openstack
    let cfg = loader(
        &env[..1]
            .iter()
            .cloned()
            .chain([("OS_CLOUD", "c".to_string())])
            .collect::<Vec<_>>(),
    )
    .resolve(&BTreeMap::new())
    .unwrap();
    assert_eq!(cfg.auth.get("auth_url"), Some("http://home/v3"));
    // clouds.json
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("clouds.json"),
        r#"{"clouds": {"j": {"auth": {"auth_url": "http://json/v3"}}}}"#,
    );
    let cfg = ConfigLoader::new()
        .with_env_map(BTreeMap::from([("OS_CLOUD".into(), "j".into())]))
        .with_search_dirs(vec![dir.path().to_path_buf()])
        .resolve(&BTreeMap::new())
        .unwrap();
    assert_eq!(cfg.auth.get("auth_url"), Some("http://json/v3"));
}

#[test]
fn the_only_cloud_is_used_when_none_is_named_and_secure_file_is_explicit() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("clouds.yaml"), CLOUD);
    let secure = dir.path().join("elsewhere/my-secure.yaml");
    write(
        &secure,
        "clouds:\n  c:\n    auth:\n      password: from-secure-file\n",
    );
    let l = |env: BTreeMap<String, String>| {
        ConfigLoader::new()
            .with_env_map(env)
            .with_search_dirs(vec![dir.path().to_path_buf()])
    };
    let cfg = l(BTreeMap::from([(
        "OS_CLIENT_SECURE_FILE".into(),
        secure.display().to_string(),
    )]))
    .resolve(&BTreeMap::new())
    .unwrap();
    assert_eq!(cfg.cloud.as_deref(), Some("c"), "the only cloud");
    assert_eq!(cfg.auth.expose("password"), Some("from-secure-file"));
    // an auth URL from the environment means: not the file's cloud
    let cfg = l(BTreeMap::from([(
        "OS_AUTH_URL".into(),
        "http://env/v3".into(),
    )]))
    .resolve(&BTreeMap::new())
    .unwrap();
    assert_eq!(cfg.cloud, None);
    assert_eq!(cfg.auth.get("username"), None);
    // two clouds: none is guessed
    write(
        &dir.path().join("clouds.yaml"),
        &format!("{CLOUD}  d:\n    auth:\n      auth_url: http://d/v3\n"),
    );
    assert_eq!(
        l(BTreeMap::new()).resolve(&BTreeMap::new()).unwrap().cloud,
        None
    );
}

#[test]
fn profiles_regions_interfaces_domains_and_per_service_settings() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("clouds-public.yaml"),
        "public-clouds:\n  vendor:\n    auth:\n      auth_url: https://vendor.example/v3\n    regions: [R1, R2]\n    identity_api_version: 3\n",
    );
    write(
        &dir.path().join("clouds.yaml"),
        "clouds:\n  v:\n    profile: vendor\n    auth:\n      username: u\n      project_name: p\n      domain_name: Acme\n    valid_interfaces: [internal, public]\n    compute_endpoint_override: http://nova.local/v2.1\n    block_storage_api_version: '3'\n    image_interface: admin\n",
    );
    let l = |env: BTreeMap<String, String>| {
        ConfigLoader::new()
            .with_env_map(env)
            .with_search_dirs(vec![dir.path().to_path_buf()])
    };
    let cloud = |extra: &[(&str, &str)]| {
        let mut env = BTreeMap::from([("OS_CLOUD".to_string(), "v".to_string())]);
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        l(env).resolve(&BTreeMap::new())
    };
    let cfg = cloud(&[]).unwrap();
    assert_eq!(
        cfg.auth.get("auth_url"),
        Some("https://vendor.example/v3"),
        "from the profile"
    );
    assert_eq!(
        cfg.region_name.as_deref(),
        Some("R1"),
        "the first region is the default"
    );
    assert_eq!(
        cfg.interface,
        Interface::Internal,
        "the first valid interface"
    );
    assert_eq!(
        cfg.fallback_interfaces,
        [Interface::Public],
        "then the others"
    );
    // domain_name with a project: both the user's and the project's domain
    assert_eq!(cfg.auth.get("user_domain_name"), Some("Acme"));
    assert_eq!(cfg.auth.get("project_domain_name"), Some("Acme"));
    assert_eq!(cfg.auth.get("domain_name"), None, "not a domain scope");
    assert_eq!(
        cfg.services["compute"].endpoint_override.as_deref(),
        Some("http://nova.local/v2.1")
    );
    assert_eq!(
        cfg.services["block-storage"].api_version.as_deref(),
        Some("3")
    );
    // a major version alone is the endpoint's API, not a microversion
    assert_eq!(cfg.services["block-storage"].microversion(), None);
    assert_eq!(cfg.services["image"].interface.as_deref(), Some("admin"));
    // each region selectable, others refused
    assert_eq!(
        cloud(&[("OS_REGION_NAME", "R2")])
            .unwrap()
            .region_name
            .as_deref(),
        Some("R2")
    );
    let err = cloud(&[("OS_REGION_NAME", "R9")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("region 'R9' is not a region of cloud 'v'"),
        "{err}"
    );
    // OS_<SERVICE>_ENDPOINT_OVERRIDE
    let cfg = cloud(&[("OS_PLACEMENT_ENDPOINT_OVERRIDE", "http://placement.local")]).unwrap();
    assert_eq!(
        cfg.services["placement"].endpoint_override.as_deref(),
        Some("http://placement.local")
    );
    // an unknown profile is a clear error
    write(
        &dir.path().join("clouds.yaml"),
        "clouds:\n  v:\n    profile: nope\n",
    );
    assert!(
        cloud(&[])
            .unwrap_err()
            .to_string()
            .contains("profile 'nope'")
    );
}

#[test]
fn os_default_domain_is_read() {
    let cfg = ConfigLoader::new()
        .with_env_map(BTreeMap::from([(
            "OS_DEFAULT_DOMAIN".into(),
            "acme".into(),
        )]))
        .with_search_dirs(vec![])
        .resolve(&BTreeMap::new())
        .unwrap();
    assert_eq!(cfg.auth.get("default_domain"), Some("acme"));
}

#[test]
fn vendor_profiles_are_built_in_and_clouds_public_yaml_overrides_them() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("clouds.yaml"),
        "clouds:\n  cc:\n    profile: citycloud\n    region_name: Fra1\n    auth:\n      username: u\n      password: p\n      project_name: x\n  vx:\n    profile: vexxhost\n    auth:\n      username: u\n  nope:\n    profile: not-a-vendor\n",
    );
    let resolve = |cloud: &str, extra: &[(&str, &str)]| {
        let mut env = BTreeMap::from([("OS_CLOUD".to_string(), cloud.to_string())]);
        for (k, v) in extra {
            env.insert(k.to_string(), v.to_string());
        }
        ConfigLoader::new()
            .with_env_map(env)
            .with_search_dirs(vec![dir.path().to_path_buf()])
            .resolve(&BTreeMap::new())
    };
    // the region goes into a per-region identity URL
    let cfg = resolve("cc", &[]).unwrap();
    assert_eq!(
        cfg.auth.get("auth_url"),
        Some("https://Fra1.citycloud.com:5000/v3/")
    );
    assert_eq!(
        resolve("cc", &[("OS_REGION_NAME", "Sto2")])
            .unwrap()
            .auth
            .get("auth_url"),
        Some("https://Sto2.citycloud.com:5000/v3/")
    );
    // a vendor's auth type and its only region are defaults
    let cfg = resolve("vx", &[]).unwrap();
    assert_eq!(
        cfg.auth.get("auth_url"),
        Some("https://auth.vexxhost.net/v3")
    );
    assert_eq!(cfg.auth_type.as_deref(), Some("v3password"));
    assert_eq!(cfg.region_name.as_deref(), Some("ca-ymq-1"));
    // an unknown profile names the known vendors
    let err = resolve("nope", &[]).unwrap_err().to_string();
    assert!(
        err.contains("profile 'not-a-vendor'") && err.contains("vexxhost"),
        "{err}"
    );
    // clouds-public.yaml wins over the built-in profile of the same name
    write(
        &dir.path().join("clouds-public.yaml"),
        "public-clouds:\n  vexxhost:\n    auth:\n      auth_url: https://mirror.example/v3\n",
    );
    assert_eq!(
        resolve("vx", &[]).unwrap().auth.get("auth_url"),
        Some("https://mirror.example/v3")
    );
    assert!(apiclient_auth::clouds::vendor_names().contains(&"ovh"));
}

#[test]
fn clouds_yaml_is_typed_with_its_secrets_apart() {
    let c = apiclient_auth::clouds::parse_cloud(
        "clouds:\n  a:\n    identity_api_version: 3\n    verify: false\n    regions: [R1, {name: R2, values: {x: 1}}, [nested]]\n    valid_interfaces: internal\n    odd: {nested: map}\n    auth:\n      auth_url: http://k/v3\n      username: u\n      tenant_name: t\n      application_credential_secret: ac-s3cret\n      weird: [1, 2]\n",
        Some("clouds:\n  a:\n    auth:\n      password: pw-s3cret\n"),
        "a",
    )
    .unwrap();
    // secrets are SecretStrings, apart from the rest
    assert!(!c.auth.contains_key("password"));
    assert!(c.secret("password").is_some());
    assert!(c.secret("application_credential_secret").is_some());
    assert_eq!(c.get("password").as_deref(), Some("pw-s3cret"));
    let shown = format!("{c:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    // scalars of any type as text; aliases canonical; odd values read as none
    assert_eq!(
        c.settings.get("identity_api_version").map(String::as_str),
        Some("3")
    );
    assert_eq!(c.verify, Some(false));
    assert_eq!(c.regions, ["R1", "R2"]);
    assert!(c.valid_interfaces.is_empty(), "not a list");
    assert_eq!(c.auth.get("project_name").map(String::as_str), Some("t"));
    assert!(!c.settings.contains_key("odd") && !c.auth.contains_key("weird"));
}
