//! Auth options: their names, where their values come from, and precedence.
//!
//! Every option `foo_bar` is accepted as `--os-foo-bar` (and the hidden
//! `--os_foo_bar`), defaults from `OS_FOO_BAR`, and can come from the selected
//! cloud of `clouds.yaml`. Precedence: flag > environment > clouds.yaml.
//! The environment and the file system are injectable ([`ConfigLoader`]), so
//! tests never touch the real ones.

use std::collections::BTreeMap;
use std::fmt;

use apiclient_errors::Error;
use secrecy::{ExposeSecret, SecretString};

use crate::catalog::Interface;
use crate::clouds::{self, CloudConfig};

pub use crate::specs::{
    COMMON_OPTIONS, OptionSpec, PLUGIN_OPTIONS, SESSION_OPTIONS, canonical, find_spec, is_secret,
};

/// The values of auth options, by canonical name. Secret values are kept as
/// [`SecretString`] and `Debug` shows them as `***`.
#[derive(Clone, Default)]
pub struct AuthOptions {
    plain: BTreeMap<String, String>,
    secret: BTreeMap<String, SecretString>,
}

impl fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.plain {
            m.entry(k, v);
        }
        for k in self.secret.keys() {
            m.entry(k, &"***");
        }
        m.finish()
    }
}

impl AuthOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set an option (by name or alias). An empty value removes it: an empty
    /// string counts as missing.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let name = canonical(name).to_string();
        let value = value.into();
        self.plain.remove(&name);
        self.secret.remove(&name);
        if !value.is_empty() {
            if is_secret(&name) {
                self.secret.insert(name, SecretString::from(value));
            } else {
                self.plain.insert(name, value);
            }
        }
        self
    }

    /// Set an option whose value is a secret whatever its name (a plugin's
    /// option declared `secret`). An empty value removes it.
    pub fn set_secret(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let name = canonical(name).to_string();
        let value = value.into();
        self.plain.remove(&name);
        self.secret.remove(&name);
        if !value.is_empty() {
            self.secret.insert(name, SecretString::from(value));
        }
        self
    }

    /// Builder form of [`set`](Self::set).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }

    /// Remove an option.
    pub fn remove(&mut self, name: &str) {
        let name = canonical(name);
        self.plain.remove(name);
        self.secret.remove(name);
    }

    /// A non-secret option's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.plain.get(canonical(name)).map(String::as_str)
    }

    /// A secret option's value.
    pub fn get_secret(&self, name: &str) -> Option<&SecretString> {
        self.secret.get(canonical(name))
    }

    /// Whether an option (plain or secret) has a non-empty value.
    pub fn has(&self, name: &str) -> bool {
        let n = canonical(name);
        self.plain.contains_key(n) || self.secret.contains_key(n)
    }

    /// The value of any option; secrets exposed (for building request bodies only).
    pub fn expose(&self, name: &str) -> Option<&str> {
        self.get(name)
            .or_else(|| self.get_secret(name).map(|s| s.expose_secret()))
    }

    /// The names that have values.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plain
            .keys()
            .chain(self.secret.keys())
            .map(String::as_str)
    }

    /// Keep only the options named in `names`.
    pub fn retain(&mut self, names: &[&str]) {
        self.plain.retain(|k, _| names.contains(&k.as_str()));
        self.secret.retain(|k, _| names.contains(&k.as_str()));
    }
}

/// Everything the options resolve to: the plugin's options and the session's.
#[derive(Debug, Clone, Default)]
pub struct ResolvedConfig {
    /// The named auth system (`--os-auth-type`), if any.
    pub auth_type: Option<String>,
    /// The plugin options (auth_url, username, ...).
    pub auth: AuthOptions,
    /// The cloud of clouds.yaml used, if any.
    pub cloud: Option<String>,
    /// The region.
    pub region_name: Option<String>,
    /// The interface (default public).
    pub interface: Interface,
    /// Interfaces to fall back to, in order, when a service has no endpoint
    /// of `interface` (clouds.yaml's `valid_interfaces` after the first).
    pub fallback_interfaces: Vec<Interface>,
    /// A CA bundle path.
    pub cacert: Option<String>,
    /// A client certificate path.
    pub cert: Option<String>,
    /// A client key path.
    pub key: Option<String>,
    /// TLS verification off (`--insecure`, or `verify: false` in clouds.yaml).
    pub insecure: bool,
    /// Per-service settings (`<service>_endpoint_override`, `_api_version`,
    /// `_interface`, `_rate_limit`, `_connect_retries`, ... of clouds.yaml,
    /// `OS_<SERVICE>_ENDPOINT_OVERRIDE`), by service type.
    pub services: BTreeMap<String, crate::clouds::ServiceSettings>,
    /// What every service has unless it has its own: clouds.yaml's top-level
    /// `connect_retries`, `status_code_retries`, `retriable_status_codes`,
    /// `rate_limit` and `concurrency`.
    pub service_defaults: crate::clouds::ServiceSettings,
}

type EnvFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Resolves options from flags, the environment and clouds.yaml.
///
/// ```
/// use apiclient_auth::options::ConfigLoader;
/// use std::collections::BTreeMap;
///
/// let env = BTreeMap::from([
///     ("OS_AUTH_URL".to_string(), "http://env/v3".to_string()),
///     ("OS_USERNAME".to_string(), "alice".to_string()),
/// ]);
/// let loader = ConfigLoader::new().with_env_map(env).with_search_dirs(vec![]);
/// let flags = BTreeMap::from([("username".to_string(), "bob".to_string())]);
/// let cfg = loader.resolve(&flags).unwrap();
/// assert_eq!(cfg.auth.get("auth_url"), Some("http://env/v3"));
/// assert_eq!(cfg.auth.get("username"), Some("bob")); // the flag wins
/// ```
pub struct ConfigLoader {
    env: Box<EnvFn>,
    /// None: the standard directories, from the loader's environment.
    search_dirs: Option<Vec<std::path::PathBuf>>,
}

impl Default for ConfigLoader {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigLoader")
            .field("search_dirs", &self.search_dirs)
            .finish_non_exhaustive()
    }
}

impl ConfigLoader {
    /// The process environment and the standard clouds.yaml locations
    /// (`.`, `$XDG_CONFIG_HOME/openstack`, `~/.config/openstack`,
    /// `/etc/openstack`; read from the loader's environment).
    pub fn new() -> Self {
        ConfigLoader {
            env: Box::new(|k| std::env::var(k).ok()),
            search_dirs: None,
        }
    }

    fn dirs(&self) -> Vec<std::path::PathBuf> {
        match &self.search_dirs {
            Some(d) => d.clone(),
            None => clouds::search_dirs_from(|k| (self.env)(k)),
        }
    }

    /// Use this function as the environment.
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Box::new(env);
        self
    }

    /// Use this map as the environment.
    pub fn with_env_map(self, env: BTreeMap<String, String>) -> Self {
        self.with_env(move |k| env.get(k).cloned())
    }

    /// Search these directories for clouds.yaml and secure.yaml.
    pub fn with_search_dirs(mut self, dirs: Vec<std::path::PathBuf>) -> Self {
        self.search_dirs = Some(dirs);
        self
    }

    fn env(&self, name: &str) -> Option<String> {
        (self.env)(&format!("OS_{}", name.to_ascii_uppercase())).filter(|v| !v.is_empty())
    }

    /// Resolve options. `flags` maps option names (canonical or alias, e.g.
    /// `tenant_name`) to command-line values.
    pub fn resolve(&self, flags: &BTreeMap<String, String>) -> Result<ResolvedConfig, Error> {
        self.resolve_with(flags, &[])
    }

    /// Like [`resolve`](Self::resolve), also looking up `extra` option names
    /// (options of plugins registered by other crates).
    pub fn resolve_with(
        &self,
        flags: &BTreeMap<String, String>,
        extra: &[OptionSpec],
    ) -> Result<ResolvedConfig, Error> {
        let flag = |spec: &OptionSpec| -> Option<String> {
            std::iter::once(spec.name)
                .chain(spec.aliases.iter().copied())
                .find_map(|n| flags.get(n).filter(|v| !v.is_empty()).cloned())
        };
        let env = |spec: &OptionSpec| -> Option<String> {
            std::iter::once(spec.name)
                .chain(spec.aliases.iter().copied())
                .find_map(|n| self.env(n))
        };
        let mut cloud_name = find_spec("cloud").and_then(|s| flag(s).or_else(|| env(s)));
        let dirs = self.dirs();
        let configured_elsewhere = ["auth_url", "auth_type", "endpoint"]
            .iter()
            .filter_map(|n| find_spec(n))
            .any(|s| flag(s).or_else(|| env(s)).is_some());
        let cloud: Option<CloudConfig> = match &cloud_name {
            Some(name) => Some(
                clouds::load_cloud_with(
                    &dirs,
                    (self.env)("OS_CLIENT_CONFIG_FILE"),
                    (self.env)("OS_CLIENT_SECURE_FILE"),
                    Some(name),
                )?
                .ok_or_else(|| {
                    Error::config(format!(
                        "cloud '{name}' requested but no clouds.yaml found (searched {})",
                        dirs.iter()
                            .map(|d| d.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            ),
            // No cloud named and nothing configured otherwise: the only cloud
            // of clouds.yaml, as openstacksdk does.
            None if !configured_elsewhere => {
                let only = clouds::load_cloud_with(
                    &dirs,
                    (self.env)("OS_CLIENT_CONFIG_FILE"),
                    (self.env)("OS_CLIENT_SECURE_FILE"),
                    None,
                )
                .unwrap_or(None);
                if let Some(c) = &only {
                    cloud_name = c.name.clone();
                }
                only
            }
            None => None,
        };
        let pick = |spec: &OptionSpec| -> Option<String> {
            flag(spec)
                .or_else(|| env(spec))
                .or_else(|| cloud.as_ref().and_then(|c| c.get(spec.name)))
        };

        let mut cfg = ResolvedConfig::default();
        for spec in COMMON_OPTIONS.iter().chain(PLUGIN_OPTIONS).chain(extra) {
            if let Some(v) = pick(spec) {
                if spec.name == "auth_type" {
                    cfg.auth_type = Some(v);
                } else if spec.secret {
                    cfg.auth.set_secret(spec.name, v);
                } else {
                    cfg.auth.set(spec.name, v);
                }
            }
        }
        domain_shorthand(&mut cfg.auth);
        let session = |name: &str| find_spec(name).and_then(pick);
        cfg.cloud = cloud_name;
        cfg.region_name = session("region_name");
        if let Some(c) = &cloud
            && !c.regions.is_empty()
        {
            match &cfg.region_name {
                None => cfg.region_name = c.regions.first().cloned(),
                Some(r) if !c.regions.contains(r) => {
                    return Err(Error::config(format!(
                        "region '{r}' is not a region of cloud '{}' ({})",
                        cfg.cloud.as_deref().unwrap_or(""),
                        c.regions.join(", ")
                    )));
                }
                Some(_) => {}
            }
        }
        // a vendor's per-region identity URL (`https://{region_name}.example:5000/v3`)
        if let Some(url) = cfg
            .auth
            .get("auth_url")
            .filter(|u| u.contains("{region_name}"))
        {
            let Some(region) = cfg.region_name.as_deref() else {
                return Err(Error::config(format!(
                    "the auth URL {url} depends on the region: set one (region_name, or OS_REGION_NAME)"
                )));
            };
            let url = url.replace("{region_name}", region);
            cfg.auth.set("auth_url", url);
        }
        let valid: Vec<Interface> = match &cloud {
            Some(c) => c
                .valid_interfaces
                .iter()
                .map(|i| i.parse())
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        match session("interface") {
            // an interface asked for by flag or environment is the only one
            Some(i) => cfg.interface = i.parse()?,
            None => {
                if let Some((first, rest)) = valid.split_first() {
                    cfg.interface = *first;
                    cfg.fallback_interfaces = rest.to_vec();
                }
            }
        }
        if let Some(c) = &cloud {
            cfg.services = c.try_services()?;
            cfg.service_defaults = c.service_defaults()?;
        }
        // OS_<SERVICE>_ENDPOINT_OVERRIDE for the service types of the authority
        for t in crate::catalog::known_service_types() {
            let var = format!(
                "OS_{}_ENDPOINT_OVERRIDE",
                t.replace('-', "_").to_ascii_uppercase()
            );
            if let Some(v) = (self.env)(&var).filter(|v| !v.is_empty()) {
                cfg.services
                    .entry(t.to_string())
                    .or_default()
                    .endpoint_override = Some(v);
            }
        }
        cfg.cacert = session("cacert");
        cfg.cert = session("cert");
        cfg.key = session("key");
        cfg.insecure = flags.get("insecure").is_some_and(|v| truthy(v))
            || self.env("insecure").is_some_and(|v| truthy(&v))
            || cloud.as_ref().is_some_and(|c| c.verify == Some(false));
        Ok(cfg)
    }
}

/// openstacksdk's shorthand (its loader's `_handle_domain_id`), whatever the
/// sources: a domain given with a project names the user's and the
/// project's domains (those not set), not a domain scope, so
/// `OS_PROJECT_NAME` with `OS_DOMAIN_NAME` asks for a project token.
fn domain_shorthand(auth: &mut AuthOptions) {
    if !(auth.has("project_id") || auth.has("project_name")) {
        return;
    }
    for (short, user, project) in [
        ("domain_id", "user_domain_id", "project_domain_id"),
        ("domain_name", "user_domain_name", "project_domain_name"),
    ] {
        let Some(v) = auth.get(short).map(str::to_string) else {
            continue;
        };
        for key in [user, project] {
            if !auth.has(key) {
                auth.set(key, v.clone());
            }
        }
        auth.remove(short);
    }
}

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_canonicalised_and_empty_is_missing() {
        let mut o = AuthOptions::new();
        o.set("tenant_name", "demo");
        assert_eq!(o.get("project_name"), Some("demo"));
        o.set("project_name", "");
        assert!(!o.has("tenant_name"));
        o.set("password", "pw");
        assert_eq!(o.get("password"), None, "secrets are not plain");
        assert_eq!(o.expose("password"), Some("pw"));
        assert_eq!(format!("{o:?}"), r#"{"password": "***"}"#);
    }

    fn resolve(env: &[(&str, &str)], flags: &[(&str, &str)]) -> ResolvedConfig {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let flags = flags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConfigLoader::new()
            .with_env_map(env)
            .with_search_dirs(vec![])
            .resolve(&flags)
            .unwrap()
    }

    /// The domains a project-scoped password request names, and its scope.
    fn scope_of_request(cfg: &ResolvedConfig) -> serde_json::Value {
        use crate::base_plugin::BaseAuthPlugin;
        let mut plugin = crate::loader::ConfiguredPlugin::new("password").unwrap();
        *plugin.opts_mut() = cfg.auth.clone();
        plugin.request_body(false).unwrap()["auth"].clone()
    }

    #[test]
    fn a_domain_with_a_project_names_their_domains_from_every_source() {
        let base = [
            ("OS_AUTH_URL", "http://k/v3"),
            ("OS_USERNAME", "u"),
            ("OS_PASSWORD", "p"),
        ];
        // the environment alone
        let mut env = base.to_vec();
        env.extend([("OS_PROJECT_NAME", "demo"), ("OS_DOMAIN_NAME", "corp")]);
        let by_env = resolve(&env, &[]);
        // flags alone (beside the environment's credentials)
        let by_flags = resolve(&base, &[("project_name", "demo"), ("domain_name", "corp")]);
        // mixed: the project from a flag, the domain from the environment
        let mut env_domain = base.to_vec();
        env_domain.push(("OS_DOMAIN_NAME", "corp"));
        let mixed = resolve(&env_domain, &[("project_name", "demo")]);
        for cfg in [&by_env, &by_flags, &mixed] {
            assert_eq!(cfg.auth.get("domain_name"), None);
            assert_eq!(cfg.auth.get("user_domain_name"), Some("corp"));
            assert_eq!(cfg.auth.get("project_domain_name"), Some("corp"));
            let auth = scope_of_request(cfg);
            assert_eq!(auth["scope"]["project"]["name"], "demo", "{auth}");
            assert_eq!(auth["scope"]["project"]["domain"]["name"], "corp", "{auth}");
            assert_eq!(
                auth["identity"]["password"]["user"]["domain"]["name"], "corp",
                "{auth}"
            );
        }
        // a domain set for one of them is kept; the shorthand fills the other
        let mut own = env.clone();
        own.push(("OS_USER_DOMAIN_NAME", "users"));
        let cfg = resolve(&own, &[]);
        assert_eq!(cfg.auth.get("user_domain_name"), Some("users"));
        assert_eq!(cfg.auth.get("project_domain_name"), Some("corp"));
        // ids too
        let mut ids = base.to_vec();
        ids.extend([("OS_PROJECT_ID", "p1"), ("OS_DOMAIN_ID", "d1")]);
        let cfg = resolve(&ids, &[]);
        assert_eq!(cfg.auth.get("user_domain_id"), Some("d1"));
        assert_eq!(cfg.auth.get("domain_id"), None);
        // without a project, a domain is a domain scope as before
        let mut domain_only = base.to_vec();
        domain_only.push(("OS_DOMAIN_NAME", "corp"));
        let cfg = resolve(&domain_only, &[]);
        assert_eq!(cfg.auth.get("domain_name"), Some("corp"));
        assert_eq!(scope_of_request(&cfg)["scope"]["domain"]["name"], "corp");
    }
}
