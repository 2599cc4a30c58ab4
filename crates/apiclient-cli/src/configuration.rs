//! `configuration show` (as `openstack configuration show`): the options
//! the command line resolves to, and where each came from. The library
//! resolves without keeping provenance, so it is found here by looking at
//! each source the way the resolution reads them: a flag, then an `OS_*`
//! variable, then the cloud of clouds.yaml, the cloud itself read three
//! ways (with secure.yaml and its profile, with its profile only, as
//! written) to tell secure.yaml, the profile and clouds.yaml apart.

use std::collections::BTreeMap;
use std::path::PathBuf;

use apiclient_auth::clouds::{self, CloudConfig};
use apiclient_auth::options::{COMMON_OPTIONS, OptionSpec, PLUGIN_OPTIONS, SESSION_OPTIONS};
use apiclient_auth::{ConfigLoader, ResolvedConfig};
use serde_json::Value;

use crate::cli::Cli;
use crate::error::CliError;
use crate::output::{Cell, Listing, OutputArgs};

/// What a masked secret shows (python-openstackclient's word).
pub const REDACTED: &str = "<redacted>";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The cloud of clouds.yaml as its three readings.
struct CloudSources {
    path: PathBuf,
    /// The resolved region (`{region_name}` in a vendor's auth URL).
    region: Option<String>,
    profile: Option<String>,
    /// secure.yaml and the profile merged in (what the resolution used).
    full: CloudConfig,
    /// The profile merged in, no secure.yaml.
    without_secure: CloudConfig,
    /// clouds.yaml as written.
    own: CloudConfig,
}

impl CloudSources {
    fn load(name: &str, region: Option<String>) -> Result<Option<Self>, CliError> {
        let dirs = clouds::search_dirs_from(|k| std::env::var(k).ok());
        let explicit = env("OS_CLIENT_CONFIG_FILE");
        let Some(path) = explicit.clone().map(PathBuf::from).or_else(|| {
            dirs.iter()
                .flat_map(|d| clouds::CLOUDS_FILES.iter().map(move |f| d.join(f)))
                .find(|p| p.is_file())
        }) else {
            return Ok(None);
        };
        let full =
            clouds::load_cloud_with(&dirs, explicit, env("OS_CLIENT_SECURE_FILE"), Some(name))?;
        let Some(full) = full else {
            return Ok(None);
        };
        // clouds.yaml merged over itself: the same document, no secure.yaml
        let as_text = Some(path.display().to_string());
        let without_secure = clouds::load_cloud_with(&dirs, as_text.clone(), as_text, Some(name))?
            .unwrap_or_default();
        let size = std::fs::metadata(&path)
            .map(|m| m.len())
            .unwrap_or(u64::MAX);
        let own = if size <= clouds::MAX_CONFIG_BYTES {
            std::fs::read_to_string(&path)
                .ok()
                .and_then(|text| clouds::parse_cloud(&text, None, name).ok())
                .unwrap_or_default()
        } else {
            CloudConfig::default()
        };
        let profile = own
            .settings
            .get("profile")
            .or_else(|| own.settings.get("cloud"))
            .cloned();
        Ok(Some(CloudSources {
            path,
            region,
            profile,
            full,
            without_secure,
            own,
        }))
    }

    /// Which file gave `value` for `get`'s key: secure.yaml when the cloud
    /// without it has another value (or none), else clouds.yaml when it
    /// has it as written, else the profile.
    fn origin(&self, get: impl Fn(&CloudConfig) -> Option<String>, value: Option<&str>) -> String {
        let same = |a: Option<String>| match (a, value) {
            (Some(a), Some(v)) => {
                a == v
                    || self
                        .region
                        .as_deref()
                        .is_some_and(|r| a.replace("{region_name}", r) == v)
            }
            (None, None) => true,
            _ => false,
        };
        if !same(get(&self.without_secure)) {
            return "secure.yaml".into();
        }
        if same(get(&self.own)) {
            format!("clouds.yaml ({})", self.path.display())
        } else {
            match &self.profile {
                Some(p) => format!("profile ({p})"),
                None => format!("clouds.yaml ({})", self.path.display()),
            }
        }
    }
}

/// One resolved option's origin: its flag, its variable, the cloud.
fn origin_of(
    spec: &OptionSpec,
    flags: &BTreeMap<String, String>,
    cloud: Option<&CloudSources>,
    value: Option<&str>,
) -> Option<String> {
    let names = || std::iter::once(spec.name).chain(spec.aliases.iter().copied());
    if flags.get(spec.name).is_some_and(|v| !v.is_empty()) {
        return Some(format!("flag (--os-{})", spec.name.replace('_', "-")));
    }
    if let Some(var) = names()
        .map(|n| format!("OS_{}", n.to_ascii_uppercase()))
        .find(|v| env(v).is_some())
    {
        return Some(format!("environment ({var})"));
    }
    let cloud = cloud?;
    cloud.full.get(spec.name)?;
    Some(cloud.origin(|c| c.get(spec.name), value))
}

fn find_spec(name: &str, extra: &[OptionSpec]) -> Option<OptionSpec> {
    COMMON_OPTIONS
        .iter()
        .chain(PLUGIN_OPTIONS)
        .chain(SESSION_OPTIONS)
        .chain(extra)
        .find(|s| s.name == name)
        .cloned()
}

/// Whether a field's value is masked: a secret option, or a name with
/// `password`, `secret` or `token` in it (python-openstackclient masks
/// `password` and `token`).
fn is_secret(name: &str, cfg: &ResolvedConfig) -> bool {
    let lower = name.to_ascii_lowercase();
    cfg.auth.get_secret(name).is_some()
        || apiclient_auth::options::is_secret(name)
        || ["password", "secret", "token"]
            .iter()
            .any(|w| lower.contains(w))
}

/// The rows of `configuration show`: field, value (secrets masked unless
/// `unmask`), origin.
pub fn rows(cli: &Cli, unmask: bool) -> Result<Vec<[String; 3]>, CliError> {
    let cfg = cli.auth.resolve(&ConfigLoader::new())?;
    let flags = &cli.auth.flags;
    let extra = &cli.auth.extra;
    let cloud = match &cfg.cloud {
        Some(name) => CloudSources::load(name, cfg.region_name.clone())?,
        None => None,
    };
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut push = |field: String, value: String, origin: String| rows.push([field, value, origin]);
    let shown = |field: &str, value: String| {
        if !unmask && is_secret(field, &cfg) {
            REDACTED.to_string()
        } else {
            value
        }
    };

    if let Some(name) = &cfg.cloud {
        let origin = find_spec("cloud", extra)
            .and_then(|s| origin_of(&s, flags, None, Some(name)))
            .unwrap_or_else(|| "clouds.yaml (its only cloud)".into());
        push("cloud".into(), name.clone(), origin);
    }
    if let Some(t) = &cfg.auth_type {
        let origin = find_spec("auth_type", extra)
            .and_then(|s| origin_of(&s, flags, cloud.as_ref(), Some(t)))
            .unwrap_or_else(|| "default".into());
        push("auth_type".into(), t.clone(), origin);
    }
    for name in cfg.auth.names() {
        let value = cfg.auth.expose(name).unwrap_or_default().to_string();
        let spec = find_spec(name, extra).unwrap_or(OptionSpec {
            name: "",
            help: "",
            aliases: &[],
            secret: false,
        });
        let mut origin = if spec.name.is_empty() {
            None
        } else {
            origin_of(&spec, flags, cloud.as_ref(), Some(&value))
        };
        // openstacksdk's shorthand: a domain with a project is the user's
        // and the project's domain
        if origin.is_none()
            && let Some(short) = ["domain_id", "domain_name"]
                .into_iter()
                .find(|s| name.ends_with(s) && name != *s)
            && let Some(spec) = find_spec(short, extra)
            && let Some(o) = origin_of(&spec, flags, cloud.as_ref(), Some(&value))
        {
            origin = Some(format!("{o}, as {short}"));
        }
        let field = format!("auth.{name}");
        push(
            field.clone(),
            shown(name, value),
            origin.unwrap_or_else(|| "default".into()),
        );
    }
    let session = |name: &str, value: &str| -> Option<String> {
        find_spec(name, extra).and_then(|s| origin_of(&s, flags, cloud.as_ref(), Some(value)))
    };
    if let Some(r) = &cfg.region_name {
        let origin = session("region_name", r).unwrap_or_else(|| match &cloud {
            Some(c) => format!("clouds.yaml ({}, the first of regions)", c.path.display()),
            None => "default".into(),
        });
        push("region_name".into(), r.clone(), origin);
    }
    let interface = cfg.interface.as_str().to_string();
    let origin = session("interface", &interface).unwrap_or_else(|| match &cloud {
        Some(c) if !c.full.valid_interfaces.is_empty() => {
            format!("clouds.yaml ({}, valid_interfaces)", c.path.display())
        }
        _ => "default".into(),
    });
    push("interface".into(), interface, origin);
    if !cfg.fallback_interfaces.is_empty()
        && let Some(c) = &cloud
    {
        let all: Vec<&str> = std::iter::once(cfg.interface)
            .chain(cfg.fallback_interfaces.iter().copied())
            .map(|i| i.as_str())
            .collect();
        push(
            "valid_interfaces".into(),
            all.join(","),
            format!("clouds.yaml ({})", c.path.display()),
        );
    }
    for (name, value) in [
        ("cacert", &cfg.cacert),
        ("cert", &cfg.cert),
        ("key", &cfg.key),
    ] {
        if let Some(v) = value {
            let origin = session(name, v).unwrap_or_else(|| "default".into());
            push(name.into(), shown(name, v.clone()), origin);
        }
    }
    let verify_origin = if cli.auth.insecure {
        "flag (--insecure)".to_string()
    } else if env("OS_INSECURE").is_some() {
        "environment (OS_INSECURE)".into()
    } else if let Some(c) = cloud.as_ref().filter(|c| c.full.verify.is_some()) {
        c.origin(
            |c| c.verify.map(|v| v.to_string()),
            Some(&(!cfg.insecure).to_string()),
        )
    } else {
        "default".into()
    };
    push(
        "verify".into(),
        if cfg.insecure { "False" } else { "True" }.into(),
        verify_origin,
    );
    // the cloud's other settings, as written (per-service ones included)
    if let Some(c) = &cloud {
        let skip = [
            "auth_type",
            "region_name",
            "interface",
            "endpoint_type",
            "cacert",
            "cert",
            "key",
            "verify",
        ];
        for (k, v) in &c.full.settings {
            if skip.contains(&k.as_str()) {
                continue;
            }
            let origin = c.origin(|cc| cc.settings.get(k).cloned(), Some(v));
            push(k.clone(), shown(k, v.clone()), origin);
        }
        if !c.full.regions.is_empty() {
            push(
                "regions".into(),
                c.full.regions.join(","),
                c.origin(
                    |cc| Some(cc.regions.join(",")),
                    Some(&c.full.regions.join(",")),
                ),
            );
        }
    }
    for t in apiclient_auth::catalog::known_service_types() {
        let var = format!(
            "OS_{}_ENDPOINT_OVERRIDE",
            t.replace('-', "_").to_ascii_uppercase()
        );
        if let Some(v) = env(&var) {
            push(
                format!("{}_endpoint_override", t.replace('-', "_")),
                v,
                format!("environment ({var})"),
            );
        }
    }
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    rows.dedup_by(|a, b| a[0] == b[0]);
    Ok(rows)
}

/// `configuration show`.
pub fn show(cli: &Cli, out: &OutputArgs, unmask: bool) -> Result<(), CliError> {
    let rows = rows(cli, unmask)?;
    let mut listing = Listing::new(&["Field", "Value", "Origin"]);
    for [field, value, origin] in rows {
        listing.rows.push(vec![
            Cell::text(field),
            Cell::Plain(Value::String(value)),
            Cell::text(origin),
        ]);
    }
    out!("{}", out.details(&listing)?);
    Ok(())
}
