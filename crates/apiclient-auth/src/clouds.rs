//! clouds.yaml (and secure.yaml) loading.
//!
//! Searched, first found wins: `$OS_CLIENT_CONFIG_FILE`, then `clouds.yaml` in
//! `.`, `~/.config/openstack/`, `/etc/openstack/`. A `secure.yaml` in the same
//! directories is merged over it (passwords usually live there).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apiclient_errors::{BoxError, Error};
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

/// One cloud's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

fn first_existing(dirs: &[PathBuf], file: &str) -> Option<PathBuf> {
    dirs.iter().map(|d| d.join(file)).find(|p| p.is_file())
}

fn read_yaml(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
        message: format!("cannot read {}", path.display()),
        source: Some(Box::new(e)),
    })?;
    serde_yaml_ng::from_str(&text).map_err(|e| Error::Config {
        message: format!("{} is not valid YAML", path.display()),
        source: Some(Box::new(e) as BoxError),
    })
}

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

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

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
    if let Some(secure) = first_existing(dirs, "secure.yaml") {
        merge(&mut doc, read_yaml(&secure)?);
    }
    cloud_from_doc(&doc, name, path)
}

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
    let parse = |text: &str, what: &str| {
        serde_yaml_ng::from_str::<Value>(text).map_err(|e| Error::Config {
            message: format!("{what} is not valid YAML"),
            source: Some(Box::new(e) as BoxError),
        })
    };
    let mut doc = parse(clouds_yaml, "clouds.yaml")?;
    if let Some(secure) = secure_yaml {
        merge(&mut doc, parse(secure, "secure.yaml")?);
    }
    cloud_from_doc(&doc, name, PathBuf::from("clouds.yaml"))
}

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
