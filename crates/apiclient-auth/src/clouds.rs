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
#[cfg(feature = "clouds-yaml")]
use serde_yaml_ng::Value;

/// The standard search directories.
pub fn default_search_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(".")];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".config/openstack"));
    }
    dirs.push(PathBuf::from("/etc/openstack"));
    dirs
}

/// One cloud's settings. `Debug` shows secret values (passwords,
/// application credential secrets, anything named like a secret) as `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CloudConfig {
    /// `auth.*` keys, stringified.
    pub auth: BTreeMap<String, String>,
    /// Top-level keys (`auth_type`, `region_name`, `interface`, `cacert`, `cert`, `key`, ...).
    pub settings: BTreeMap<String, String>,
    /// `verify`, when given.
    pub verify: Option<bool>,
    /// The file it came from.
    pub path: PathBuf,
}

impl std::fmt::Debug for CloudConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hide = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.iter()
                .map(|(k, v)| {
                    let shown = if crate::options::is_secret(k) {
                        "***".to_string()
                    } else {
                        v.clone()
                    };
                    (k.clone(), shown)
                })
                .collect()
        };
        f.debug_struct("CloudConfig")
            .field("auth", &hide(&self.auth))
            .field("settings", &hide(&self.settings))
            .field("verify", &self.verify)
            .field("path", &self.path)
            .finish()
    }
}

impl CloudConfig {
    /// The value of an option: `auth.<name>` for auth options, a top-level key otherwise.
    pub fn get(&self, name: &str) -> Option<String> {
        let top = matches!(
            name,
            "auth_type" | "region_name" | "interface" | "cacert" | "cert" | "key"
        );
        let v = if top {
            self.settings.get(name)
        } else {
            self.auth.get(name)
        };
        v.filter(|v| !v.is_empty()).cloned()
    }
}

#[cfg(feature = "clouds-yaml")]
fn first_existing(dirs: &[PathBuf], file: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(file)).find(|p| p.is_file())
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
        .map(|d| d.join("secure.yaml"))
        .filter(|p| p.is_file());
    let mut chosen = beside;
    for dir in dirs {
        let candidate = dir.join("secure.yaml");
        if is_beside(dir) || !candidate.is_file() {
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
    let path = explicit
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| first_existing(dirs, "clouds.yaml"))
        .ok_or_else(|| {
            Error::config(format!(
                "cloud '{name}' requested but no clouds.yaml found (searched {})",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let mut doc = read_yaml(&path)?;
    if let Some(secure) = secure_for(&path, dirs) {
        merge(&mut doc, read_yaml(&secure)?);
    }
    cloud_from_doc(&doc, name, path)
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

#[cfg(feature = "clouds-yaml")]
fn cloud_from_doc(doc: &Value, name: &str, path: PathBuf) -> Result<CloudConfig, Error> {
    let cloud = doc
        .get("clouds")
        .and_then(|c| c.get(name))
        .and_then(Value::as_mapping)
        .ok_or_else(|| Error::config(format!("cloud '{name}' not found in {}", path.display())))?;
    let mut out = CloudConfig {
        path,
        ..Default::default()
    };
    for (k, v) in cloud {
        let Some(k) = k.as_str() else { continue };
        match (k, v) {
            ("auth", Value::Mapping(auth)) => {
                for (ak, av) in auth {
                    if let (Some(ak), Some(av)) = (ak.as_str(), scalar(av)) {
                        out.auth
                            .insert(crate::options::canonical(ak).to_string(), av);
                    }
                }
            }
            ("verify", v) => out.verify = v.as_bool().or_else(|| scalar(v).map(|s| s != "false")),
            (k, v) => {
                if let Some(s) = scalar(v) {
                    let key = if k == "endpoint_type" { "interface" } else { k };
                    out.settings.insert(key.to_string(), s);
                }
            }
        }
    }
    Ok(out)
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
