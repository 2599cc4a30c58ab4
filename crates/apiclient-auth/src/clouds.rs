//! clouds.yaml (and secure.yaml) loading.
//!
//! Searched, first found wins: `$OS_CLIENT_CONFIG_FILE`, then `clouds.yaml` in
//! `.`, `~/.config/openstack/`, `/etc/openstack/`. A `secure.yaml` is merged
//! over it (passwords usually live there), taken from the directory of the
//! chosen `clouds.yaml`, else from the user and system directories, never
//! from the current directory alone: a `secure.yaml` planted in a working
//! directory could otherwise move `auth_url` and receive the password.
//!
//! Files over [`MAX_CONFIG_BYTES`] or nested deeper than
//! [`MAX_CONFIG_DEPTH`] are refused before parsing, so parsing time stays
//! linear in the size of the file.

use std::collections::BTreeMap;
#[cfg(feature = "clouds-yaml")]
use std::path::Path;
use std::path::PathBuf;

#[cfg(feature = "clouds-yaml")]
use apiclient_errors::BoxError;
use apiclient_errors::Error;
use secrecy::{ExposeSecret, SecretString};
#[cfg(feature = "clouds-yaml")]
use serde_yaml_ng::Value;

/// The standard search directories (from the process environment).
pub fn default_search_dirs() -> Vec<PathBuf> {
    search_dirs_from(|k| std::env::var(k).ok())
}

/// The search directories as openstacksdk orders them: `.`, then
/// `$XDG_CONFIG_HOME/openstack` (when set and absolute), `~/.config/openstack`,
/// `/etc/openstack`.
pub fn search_dirs_from(env: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(".")];
    if let Some(xdg) = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        dirs.push(xdg.join("openstack"));
    }
    if let Some(home) = env("HOME").filter(|h| !h.is_empty()) {
        let d = PathBuf::from(home).join(".config/openstack");
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    dirs.push(PathBuf::from("/etc/openstack"));
    dirs
}

/// The file names of clouds.yaml, in the order they are looked for.
pub const CLOUDS_FILES: &[&str] = &["clouds.yaml", "clouds.yml", "clouds.json"];
/// The file names of secure.yaml.
pub const SECURE_FILES: &[&str] = &["secure.yaml", "secure.yml", "secure.json"];
/// The file names of the public-cloud profiles.
pub const PUBLIC_FILES: &[&str] = &[
    "clouds-public.yaml",
    "clouds-public.yml",
    "clouds-public.json",
];

/// Per-service settings of a cloud: `<service>_endpoint_override`,
/// `<service>_api_version`, `<service>_interface`,
/// `<service>_default_microversion`, and for production use
/// `<service>_connect_retries`, `<service>_status_code_retries`,
/// `<service>_retriable_status_codes`, `<service>_rate_limit`,
/// `<service>_concurrency` (the service type with `-` as `_`, e.g.
/// `block_storage_endpoint_override`; `rate_limit: {compute: 5}` is
/// `compute_rate_limit: 5`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceSettings {
    /// A fixed endpoint for the service.
    pub endpoint_override: Option<String>,
    /// The API version asked for.
    pub api_version: Option<String>,
    /// The interface of this service's endpoints.
    pub interface: Option<String>,
    /// The microversion every request asks for by default.
    pub default_microversion: Option<String>,
    /// Retries of a request whose connection could not be made.
    pub connect_retries: Option<u32>,
    /// Retries of a request answered with a retriable status.
    pub status_code_retries: Option<u32>,
    /// The retriable statuses (keystoneauth's default is 503).
    pub retriable_status_codes: Option<Vec<u16>>,
    /// Requests per second (openstacksdk's `rate_limit`).
    pub rate_limit: Option<f64>,
    /// Requests in flight at once (openstacksdk's `concurrency`).
    pub concurrency: Option<usize>,
}

/// The fields of [`ServiceSettings`] by their clouds.yaml names, longest
/// first (so `_default_microversion` is not read as `_microversion`).
const SERVICE_FIELDS: &[&str] = &[
    "retriable_status_codes",
    "default_microversion",
    "status_code_retries",
    "endpoint_override",
    "connect_retries",
    "api_version",
    "concurrency",
    "rate_limit",
    "interface",
];

/// The settings that may stand alone at the top of a cloud, as the default
/// of every service.
const DEFAULT_FIELDS: &[&str] = &[
    "retriable_status_codes",
    "status_code_retries",
    "connect_retries",
    "concurrency",
    "rate_limit",
];

impl ServiceSettings {
    /// Set `field` (a clouds.yaml name without the service) from `value`:
    /// Ok(false) for a name that is not a field, an error for a value that
    /// is not of the field's type.
    fn set(&mut self, field: &str, value: &str) -> Result<bool, Error> {
        fn num<T: std::str::FromStr>(field: &str, v: &str) -> Result<T, Error> {
            v.trim()
                .parse()
                .map_err(|_| Error::config(format!("{field} must be a number, not '{v}'")))
        }
        match field {
            "endpoint_override" => self.endpoint_override = Some(value.to_string()),
            "api_version" => self.api_version = Some(value.to_string()),
            "interface" => self.interface = Some(value.to_string()),
            "default_microversion" => self.default_microversion = Some(value.to_string()),
            "connect_retries" => self.connect_retries = Some(num(field, value)?),
            "status_code_retries" => self.status_code_retries = Some(num(field, value)?),
            "retriable_status_codes" => {
                self.retriable_status_codes = Some(
                    value
                        .split(',')
                        .filter(|c| !c.trim().is_empty())
                        .map(|c| num(field, c))
                        .collect::<Result<_, _>>()?,
                )
            }
            "rate_limit" => {
                let r: f64 = num(field, value)?;
                if !(r.is_finite() && r > 0.0) {
                    return Err(Error::config(format!(
                        "rate_limit must be a positive number of requests per second, not '{value}'"
                    )));
                }
                self.rate_limit = Some(r);
            }
            "concurrency" => {
                let n: usize = num(field, value)?;
                if n == 0 {
                    return Err(Error::config("concurrency must be at least 1"));
                }
                self.concurrency = Some(n);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl ServiceSettings {
    /// The default microversion: `<service>_default_microversion`, else an
    /// `<service>_api_version` with a minor version (`2.53`, as
    /// `--os-compute-api-version` means it). A major version alone (`3`)
    /// names the API the catalog's endpoint already serves: None.
    ///
    /// ```
    /// use apiclient_auth::clouds::ServiceSettings;
    ///
    /// let s = |api: &str, default: Option<&str>| ServiceSettings {
    ///     api_version: Some(api.into()),
    ///     default_microversion: default.map(Into::into),
    ///     ..Default::default()
    /// };
    /// assert_eq!(s("2.53", None).microversion(), Some("2.53"));
    /// assert_eq!(s("3", None).microversion(), None);
    /// assert_eq!(s("2.0", None).microversion(), None);
    /// assert_eq!(s("2", Some("2.79")).microversion(), Some("2.79"));
    /// ```
    pub fn microversion(&self) -> Option<&str> {
        self.default_microversion.as_deref().or_else(|| {
            self.api_version.as_deref().filter(|v| {
                v.split_once('.')
                    .is_some_and(|(_, minor)| minor.trim().parse::<u32>().is_ok_and(|m| m > 0))
                    || v.trim().eq_ignore_ascii_case("latest")
            })
        })
    }
}

impl CloudConfig {
    /// The per-service settings of this cloud, by service type (`compute`,
    /// `block-storage`); a value that does not parse is left out
    /// ([`try_services`](Self::try_services) says which).
    pub fn services(&self) -> BTreeMap<String, ServiceSettings> {
        self.read_services(false).unwrap_or_default()
    }

    /// The per-service settings, or the first value that is not of its
    /// field's type (`compute_rate_limit: fast`).
    ///
    /// ```
    /// use apiclient_auth::clouds::CloudConfig;
    /// let mut cloud = CloudConfig::default();
    /// cloud.settings.insert("compute_rate_limit".into(), "5".into());
    /// cloud.settings.insert("block_storage_status_code_retries".into(), "4".into());
    /// let services = cloud.try_services().unwrap();
    /// assert_eq!(services["compute"].rate_limit, Some(5.0));
    /// assert_eq!(services["block-storage"].status_code_retries, Some(4));
    /// cloud.settings.insert("image_concurrency".into(), "many".into());
    /// assert!(cloud.try_services().is_err());
    /// ```
    pub fn try_services(&self) -> Result<BTreeMap<String, ServiceSettings>, Error> {
        self.read_services(true)
    }

    fn read_services(&self, strict: bool) -> Result<BTreeMap<String, ServiceSettings>, Error> {
        let mut out: BTreeMap<String, ServiceSettings> = BTreeMap::new();
        for (k, v) in &self.settings {
            let Some((svc, field)) = SERVICE_FIELDS.iter().find_map(|f| {
                k.strip_suffix(f)
                    .and_then(|s| s.strip_suffix('_'))
                    .filter(|s| !s.is_empty())
                    .map(|s| (s, *f))
            }) else {
                continue;
            };
            let e = out.entry(svc.replace('_', "-")).or_default();
            match e.set(field, v) {
                Err(err) if strict => {
                    return Err(Error::config(format!("{k}: {err}")));
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The settings every service has unless it has its own: the top-level
    /// `connect_retries`, `status_code_retries`, `retriable_status_codes`,
    /// `rate_limit` and `concurrency`; or the first that does not parse.
    pub fn service_defaults(&self) -> Result<ServiceSettings, Error> {
        let mut out = ServiceSettings::default();
        for f in DEFAULT_FIELDS {
            if let Some(v) = self.settings.get(*f) {
                out.set(f, v)?;
            }
        }
        Ok(out)
    }

    /// The regions the cloud lists (`regions:`), first is the default.
    pub fn regions(&self) -> Vec<String> {
        self.regions.clone()
    }
}

/// One cloud's settings, typed: secret values (passwords, application
/// credential secrets, tokens, anything named like a secret) are
/// [`SecretString`]s apart from the rest, so `Debug` cannot show them.
#[derive(Clone, Default)]
pub struct CloudConfig {
    /// `auth.*` keys that are not secret, stringified.
    pub auth: BTreeMap<String, String>,
    /// `auth.*` keys that are secret.
    pub secrets: BTreeMap<String, SecretString>,
    /// Top-level keys (`auth_type`, `region_name`, `interface`, `cacert`, `cert`, `key`, ...).
    pub settings: BTreeMap<String, String>,
    /// `verify`, when given.
    pub verify: Option<bool>,
    /// `regions:`, in order (the first is the default).
    pub regions: Vec<String>,
    /// `valid_interfaces:`, in order of preference.
    pub valid_interfaces: Vec<String>,
    /// The file it came from.
    pub path: PathBuf,
    /// The cloud's name in it.
    pub name: Option<String>,
}

impl std::fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudConfig")
            .field("auth", &self.auth)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("settings", &self.settings)
            .field("verify", &self.verify)
            .field("regions", &self.regions)
            .field("path", &self.path)
            .finish()
    }
}

impl CloudConfig {
    /// The value of an option: `auth.<name>` for auth options (a secret
    /// one exposed, for the caller to keep as a secret), a top-level key
    /// otherwise.
    pub fn get(&self, name: &str) -> Option<String> {
        let top = matches!(
            name,
            "auth_type" | "region_name" | "interface" | "cacert" | "cert" | "key"
        );
        let v = if top {
            self.settings.get(name).cloned()
        } else {
            self.auth.get(name).cloned().or_else(|| {
                self.secrets
                    .get(name)
                    .map(|s| s.expose_secret().to_string())
            })
        };
        v.filter(|v| !v.is_empty())
    }

    /// A secret `auth.*` value.
    pub fn secret(&self, name: &str) -> Option<&SecretString> {
        self.secrets.get(name)
    }
}

#[cfg(feature = "clouds-yaml")]
fn first_existing(dirs: &[PathBuf], files: &[&str]) -> Option<PathBuf> {
    dirs.iter()
        .flat_map(|d| files.iter().map(move |f| d.join(f)))
        .find(|p| p.is_file())
}

/// The largest clouds.yaml or secure.yaml read (1 MiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The deepest nesting of flow collections (`[`, `{`) accepted in a
/// configuration file: real files nest a handful of levels; the YAML parser
/// is super-linear on thousands.
pub const MAX_CONFIG_DEPTH: usize = 64;

#[cfg(feature = "clouds-yaml")]
/// Refuse a document whose flow collections nest deeper than
/// [`MAX_CONFIG_DEPTH`]. Every bracket counts, quoted or not: the count can
/// only over-estimate the parser's nesting, never hide any from it.
fn check_depth(text: &str, what: &str) -> Result<(), Error> {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if max > MAX_CONFIG_DEPTH {
        return Err(Error::config(format!(
            "{what} nests {max} levels deep (at most {MAX_CONFIG_DEPTH} are accepted)"
        )));
    }
    Ok(())
}

#[cfg(feature = "clouds-yaml")]
/// Parse YAML text after the size and depth checks.
fn parse_yaml(text: &str, what: &str) -> Result<Value, Error> {
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Error::config(format!(
            "{what} has {} bytes, more than the {MAX_CONFIG_BYTES} accepted",
            text.len()
        )));
    }
    check_depth(text, what)?;
    serde_yaml_ng::from_str(text).map_err(|e| Error::Config {
        message: format!("{what} is not valid YAML"),
        source: Some(Box::new(e) as BoxError),
    })
}

#[cfg(feature = "clouds-yaml")]
fn read_yaml(path: &Path) -> Result<Value, Error> {
    let what = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| Error::Config {
            message: format!("cannot read {what}"),
            source: Some(Box::new(e)),
        })?
        .len();
    if size > MAX_CONFIG_BYTES {
        return Err(Error::config(format!(
            "{what} has {size} bytes, more than the {MAX_CONFIG_BYTES} accepted"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        message: format!("cannot read {what}"),
        source: Some(Box::new(e)),
    })?;
    parse_yaml(&text, &what)
}

#[cfg(feature = "clouds-yaml")]
/// Whether `dir` is the current working directory (as `.` or by its path).
fn is_working_dir(dir: &Path) -> bool {
    if dir == Path::new(".") || dir.as_os_str().is_empty() {
        return true;
    }
    match (std::env::current_dir(), dir.canonicalize()) {
        (Ok(cwd), Ok(d)) => cwd.canonicalize().is_ok_and(|c| c == d),
        _ => false,
    }
}

#[cfg(feature = "clouds-yaml")]
/// The secure.yaml to merge over `clouds`: the one beside it, else one in
/// a search directory that is not the working directory. A secure.yaml in
/// the working directory with no clouds.yaml beside it is ignored, with a
/// warning.
fn secure_for(clouds: &Path, dirs: &[PathBuf]) -> Option<PathBuf> {
    let beside_dir = clouds
        .parent()
        .map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        })
        .map(Path::to_path_buf);
    let is_beside = |dir: &Path| {
        beside_dir.as_deref().is_some_and(|b| {
            b == dir || matches!((b.canonicalize(), dir.canonicalize()), (Ok(x), Ok(y)) if x == y)
        })
    };
    let beside = beside_dir
        .as_ref()
        .and_then(|d| first_existing(std::slice::from_ref(d), SECURE_FILES));
    let mut chosen = beside;
    for dir in dirs {
        let Some(candidate) = first_existing(std::slice::from_ref(dir), SECURE_FILES) else {
            continue;
        };
        if is_beside(dir) {
            continue;
        }
        if is_working_dir(dir) {
            tracing::warn!(
                target: "apiclient_auth",
                "ignoring {}: a secure.yaml in the working directory is used only beside its clouds.yaml",
                candidate.display()
            );
            continue;
        }
        if chosen.is_none() {
            chosen = Some(candidate);
        }
    }
    chosen
}

#[cfg(feature = "clouds-yaml")]
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

#[cfg(feature = "clouds-yaml")]
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(feature = "clouds-yaml")]
/// Load cloud `name` from the first clouds.yaml found, with secure.yaml merged.
pub fn load_cloud(
    dirs: &[PathBuf],
    explicit: Option<String>,
    name: &str,
) -> Result<CloudConfig, Error> {
    load_cloud_with(dirs, explicit, None, Some(name))?.ok_or_else(|| {
        Error::config(format!(
            "cloud '{name}' requested but no clouds.yaml found (searched {})",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Load a cloud: `name`, or (None) the only cloud of the file when it has
/// exactly one. `explicit` is `OS_CLIENT_CONFIG_FILE`, `secure` is
/// `OS_CLIENT_SECURE_FILE`. `Ok(None)`: no file, or no name and not exactly
/// one cloud. The cloud's `profile:` (or `cloud:`) is looked up in
/// `clouds-public.yaml` and merged under it.
#[cfg(feature = "clouds-yaml")]
pub fn load_cloud_with(
    dirs: &[PathBuf],
    explicit: Option<String>,
    secure: Option<String>,
    name: Option<&str>,
) -> Result<Option<CloudConfig>, Error> {
    let Some(path) = explicit
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| first_existing(dirs, CLOUDS_FILES))
    else {
        return Ok(None);
    };
    let mut doc = read_yaml(&path)?;
    let secure = secure
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| secure_for(&path, dirs));
    if let Some(secure) = secure {
        merge(&mut doc, read_yaml(&secure)?);
    }
    let name = match name {
        Some(n) => n.to_string(),
        None => match doc.get("clouds").and_then(Value::as_mapping) {
            Some(m) if m.len() == 1 => match m.keys().next().and_then(Value::as_str) {
                Some(only) => only.to_string(),
                None => return Ok(None),
            },
            _ => return Ok(None),
        },
    };
    apply_profile(&mut doc, &name, dirs)?;
    cloud_from_doc(&doc, &name, path).map(Some)
}

/// Merge the cloud's `profile` (from `clouds-public.yaml`'s
/// `public-clouds`) under the cloud's own settings.
#[cfg(feature = "clouds-yaml")]
fn apply_profile(doc: &mut Value, name: &str, dirs: &[PathBuf]) -> Result<(), Error> {
    let Some(cloud) = doc.get("clouds").and_then(|c| c.get(name)) else {
        return Ok(());
    };
    let Some(profile) = cloud
        .get("profile")
        .or_else(|| cloud.get("cloud"))
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Ok(());
    };
    let public = match first_existing(dirs, PUBLIC_FILES) {
        Some(p) => read_yaml(&p)?,
        None => Value::Null,
    };
    let Some(base) = public
        .get("public-clouds")
        .and_then(|p| p.get(profile.as_str()))
        .cloned()
        .or_else(|| vendor_profile(&profile))
    else {
        return Err(Error::config(format!(
            "cloud '{name}' uses profile '{profile}', which no clouds-public.yaml defines \
             and is not a known vendor ({})",
            vendor_names().join(", ")
        )));
    };
    let mut merged = base;
    if let Some(own) = doc.get("clouds").and_then(|c| c.get(name)).cloned() {
        merge(&mut merged, own);
    }
    if let Some(Value::Mapping(clouds)) = doc.get_mut("clouds") {
        clouds.insert(Value::String(name.to_string()), merged);
    }
    Ok(())
}

/// The public-cloud profiles built in (`data/vendors.json`): what
/// openstacksdk's vendor files record, for a `profile:` no
/// clouds-public.yaml defines.
#[cfg(feature = "clouds-yaml")]
const VENDORS_JSON: &str = include_str!("../data/vendors.json");

#[cfg(feature = "clouds-yaml")]
fn vendors() -> &'static Value {
    static DATA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DATA.get_or_init(|| serde_yaml_ng::from_str(VENDORS_JSON).unwrap_or(Value::Null))
}

/// The built-in profile of vendor `name`, if known.
#[cfg(feature = "clouds-yaml")]
fn vendor_profile(name: &str) -> Option<Value> {
    (!name.starts_with('_'))
        .then(|| vendors().get(name).cloned())
        .flatten()
}

/// The names of the built-in vendor profiles, sorted.
#[cfg(feature = "clouds-yaml")]
pub fn vendor_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = vendors()
        .as_mapping()
        .into_iter()
        .flat_map(|m| m.keys())
        .filter_map(Value::as_str)
        .filter(|n| !n.starts_with('_'))
        .collect();
    names.sort_unstable();
    names
}

#[cfg(feature = "clouds-yaml")]
/// Parse cloud `name` from clouds.yaml text, with secure.yaml text merged over it.
///
/// ```
/// let c = apiclient_auth::clouds::parse_cloud(
///     "clouds:\n  a:\n    region_name: R1\n    auth:\n      auth_url: http://k/v3\n",
///     Some("clouds:\n  a:\n    auth:\n      password: pw\n"),
///     "a",
/// ).unwrap();
/// assert_eq!(c.get("region_name").as_deref(), Some("R1"));
/// assert_eq!(c.get("password").as_deref(), Some("pw"));
/// ```
pub fn parse_cloud(
    clouds_yaml: &str,
    secure_yaml: Option<&str>,
    name: &str,
) -> Result<CloudConfig, Error> {
    let mut doc = parse_yaml(clouds_yaml, "clouds.yaml")?;
    if let Some(secure) = secure_yaml {
        merge(&mut doc, parse_yaml(secure, "secure.yaml")?);
    }
    cloud_from_doc(&doc, name, PathBuf::from("clouds.yaml"))
}

/// A scalar of clouds.yaml (a string, number or bool, as text); anything
/// else reads as none, never an error for the whole file.
#[cfg(feature = "clouds-yaml")]
#[derive(Debug, Clone, Default)]
struct Setting(Option<String>);

#[cfg(feature = "clouds-yaml")]
impl<'de> serde::Deserialize<'de> for Setting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Setting(scalar(&Value::deserialize(d)?)))
    }
}

/// A region of `regions:`: a name, or `{name: ..., values: {...}}`.
#[cfg(feature = "clouds-yaml")]
#[derive(Debug, Clone, Default)]
struct Region(Option<String>);

#[cfg(feature = "clouds-yaml")]
impl<'de> serde::Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(Region(
            scalar(&v).or_else(|| v.get("name").and_then(scalar)),
        ))
    }
}

/// A list of clouds.yaml (anything else reads as empty).
#[cfg(feature = "clouds-yaml")]
#[derive(Debug, Clone)]
struct List<T>(Vec<T>);

#[cfg(feature = "clouds-yaml")]
impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

#[cfg(feature = "clouds-yaml")]
impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for List<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(List(match Value::deserialize(d)? {
            Value::Sequence(items) => items
                .into_iter()
                .filter_map(|i| serde_yaml_ng::from_value(i).ok())
                .collect(),
            _ => Vec::new(),
        }))
    }
}

/// A mapping of scalars (anything else reads as empty).
#[cfg(feature = "clouds-yaml")]
#[derive(Debug, Clone, Default)]
struct Settings(BTreeMap<String, String>);

#[cfg(feature = "clouds-yaml")]
impl<'de> serde::Deserialize<'de> for Settings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = BTreeMap::new();
        if let Value::Mapping(m) = Value::deserialize(d)? {
            for (k, v) in m {
                if let (Some(k), Some(v)) = (k.as_str(), scalar(&v)) {
                    out.insert(k.to_string(), v);
                }
            }
        }
        Ok(Settings(out))
    }
}

/// One cloud of clouds.yaml as written (secure.yaml and the profile merged in).
#[cfg(feature = "clouds-yaml")]
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CloudEntry {
    auth: Settings,
    regions: List<Region>,
    valid_interfaces: List<Setting>,
    verify: Setting,
    #[serde(flatten)]
    settings: BTreeMap<String, Value>,
}

/// A top-level value of a cloud as settings: a scalar as itself, a list of
/// scalars joined with `,` (`retriable_status_codes: [502, 503]`), and a
/// `rate_limit` or `concurrency` mapping by service type as one setting
/// per service (`rate_limit: {compute: 5}` is `compute_rate_limit: 5`).
#[cfg(feature = "clouds-yaml")]
fn settings_of(key: &str, value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().filter_map(scalar).collect();
            vec![(key.to_string(), items.join(","))]
        }
        Value::Mapping(m) if matches!(key, "rate_limit" | "concurrency") => m
            .iter()
            .filter_map(|(svc, v)| {
                let svc = svc.as_str()?.replace('-', "_");
                Some((format!("{svc}_{key}"), scalar(v)?))
            })
            .collect(),
        v => scalar(v)
            .map(|v| vec![(key.to_string(), v)])
            .unwrap_or_default(),
    }
}

#[cfg(feature = "clouds-yaml")]
fn cloud_from_doc(doc: &Value, name: &str, path: PathBuf) -> Result<CloudConfig, Error> {
    let cloud = doc
        .get("clouds")
        .and_then(|c| c.get(name))
        .filter(|c| c.is_mapping())
        .cloned()
        .ok_or_else(|| Error::config(format!("cloud '{name}' not found in {}", path.display())))?;
    let entry: CloudEntry = serde_yaml_ng::from_value(cloud).map_err(|e| Error::Config {
        message: format!("cloud '{name}' in {} is not valid", path.display()),
        source: Some(Box::new(e)),
    })?;
    let mut out = CloudConfig {
        path,
        name: Some(name.to_string()),
        verify: entry.verify.0.map(|v| !v.eq_ignore_ascii_case("false")),
        regions: entry.regions.0.into_iter().filter_map(|r| r.0).collect(),
        valid_interfaces: entry
            .valid_interfaces
            .0
            .into_iter()
            .filter_map(|i| i.0)
            .collect(),
        ..Default::default()
    };
    for (k, v) in entry.auth.0 {
        let k = crate::specs::canonical(&k).to_string();
        if crate::specs::is_secret(&k) {
            out.secrets.insert(k, SecretString::from(v));
        } else {
            out.auth.insert(k, v);
        }
    }
    for (k, v) in entry.settings {
        let key = if k == "endpoint_type" {
            "interface"
        } else {
            &k
        };
        out.settings.extend(settings_of(key, &v));
    }
    // `domain_id`/`domain_name` with a project is openstacksdk's shorthand
    // for both the user's and the project's domain, not a domain scope.
    let project_scoped = ["project_name", "project_id"]
        .iter()
        .any(|k| out.auth.contains_key(*k));
    if project_scoped {
        for (short, user, project) in [
            ("domain_id", "user_domain_id", "project_domain_id"),
            ("domain_name", "user_domain_name", "project_domain_name"),
        ] {
            if let Some(v) = out.auth.remove(short) {
                out.auth
                    .entry(user.to_string())
                    .or_insert_with(|| v.clone());
                out.auth.entry(project.to_string()).or_insert(v);
            }
        }
    }
    Ok(out)
}

/// Without the `clouds-yaml` feature there is no file to read.
#[cfg(not(feature = "clouds-yaml"))]
pub fn load_cloud_with(
    dirs: &[PathBuf],
    explicit: Option<String>,
    _secure: Option<String>,
    name: Option<&str>,
) -> Result<Option<CloudConfig>, Error> {
    match name {
        Some(n) => load_cloud(dirs, explicit, n).map(Some),
        None => Ok(None),
    }
}

/// Without the `clouds-yaml` feature a named cloud is a clear error.
#[cfg(not(feature = "clouds-yaml"))]
pub fn load_cloud(
    _dirs: &[PathBuf],
    _explicit: Option<String>,
    name: &str,
) -> Result<CloudConfig, Error> {
    Err(Error::config(format!(
        "cloud '{name}' requested, but this build reads no clouds.yaml (apiclient-auth feature `clouds-yaml`)"
    )))
}
