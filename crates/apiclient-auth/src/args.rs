//! The auth options as a clap `Args` that a CLI flattens in.

use std::collections::BTreeMap;
use std::fmt;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::options::{
    COMMON_OPTIONS, ConfigLoader, OptionSpec, PLUGIN_OPTIONS, ResolvedConfig, SESSION_OPTIONS,
};
use crate::registry::PluginRegistry;

/// Every `--os-*` option (common, every built-in plugin's, session) plus
/// `--insecure`, for `#[command(flatten)]`.
///
/// Values are kept as given; [`AuthArgs::resolve`] applies the environment and
/// clouds.yaml under them. `Debug` hides secret values.
///
/// The derive (`#[command(flatten)]`) knows the built-in plugins' options. A
/// tool that registers its own plugins builds the arguments from its
/// registry, so their options parse too (`--os-foo`, `OS_FOO`, clouds.yaml):
///
/// ```
/// use apiclient_auth::{AuthArgs, AuthOptions, AuthPlugin, PluginLoader, PluginRegistry};
/// use apiclient_auth::options::OptionSpec;
/// use apiclient_auth::typed::NoAuth;
/// use apiclient_errors::{AuthorizationFailure, Error};
/// use clap::Command;
///
/// /// Options in, runtime plugin out.
/// #[derive(Debug)]
/// struct FooLoader;
///
/// impl PluginLoader for FooLoader {
///     fn option_specs(&self) -> Vec<OptionSpec> {
///         vec![OptionSpec { name: "foo_realm", help: "Realm", aliases: &[], secret: false }]
///     }
///     fn sufficient_options(&self, o: &AuthOptions) -> Result<(), AuthorizationFailure> {
///         if o.has("foo_realm") { Ok(()) } else { Err(AuthorizationFailure::options_missing(["foo_realm"])) }
///     }
///     fn load(&self, _name: &str, o: &AuthOptions) -> Result<Box<dyn AuthPlugin>, Error> {
///         self.sufficient_options(o)?;
///         Ok(Box::new(NoAuth::new(format!("https://{}", o.get("foo_realm").unwrap_or_default()))))
///     }
/// }
///
/// let mut registry = PluginRegistry::default();
/// registry.register_loader("foo", FooLoader);
/// let cmd = AuthArgs::augment_args_with(Command::new("tool"), &registry);
/// let m = cmd.try_get_matches_from(["tool", "--os-foo-realm", "r1"]).unwrap();
/// let args = AuthArgs::from_matches_with(&m, &registry);
/// assert_eq!(args.flags["foo_realm"], "r1");
/// ```
///
/// ```
/// use apiclient_auth::AuthArgs;
/// use clap::{Args, Command, FromArgMatches};
///
/// let cmd = AuthArgs::augment_args(Command::new("tool"));
/// let m = cmd.try_get_matches_from(["tool", "--os-username", "alice", "--os_tenant_name", "demo"]).unwrap();
/// let args = AuthArgs::from_arg_matches(&m).unwrap();
/// assert_eq!(args.flags["username"], "alice");
/// assert_eq!(args.flags["project_name"], "demo");
/// ```
#[derive(Clone, Default)]
pub struct AuthArgs {
    /// Option values given on the command line, by canonical name.
    pub flags: BTreeMap<String, String>,
    /// `--insecure`.
    pub insecure: bool,
    /// Options of registered plugins beyond the built-in ones.
    pub extra: Vec<OptionSpec>,
}

impl fmt::Debug for AuthArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: BTreeMap<&str, &str> = self
            .flags
            .iter()
            .map(|(k, v)| {
                let secret = crate::options::is_secret(k)
                    || self.extra.iter().any(|s| s.name == k && s.secret);
                (k.as_str(), if secret { "***" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("AuthArgs")
            .field("flags", &shown)
            .field("insecure", &self.insecure)
            .finish()
    }
}

fn groups() -> [(&'static str, &'static [OptionSpec]); 3] {
    [
        ("Common auth options", COMMON_OPTIONS),
        ("Auth-system options", PLUGIN_OPTIONS),
        ("Session options", SESSION_OPTIONS),
    ]
}

/// The options of `registry`'s plugins that are not built-in, once each.
pub fn registry_options(registry: &PluginRegistry) -> Vec<OptionSpec> {
    let mut out: Vec<OptionSpec> = Vec::new();
    for specs in registry.discover_auth_systems().into_values() {
        for spec in specs {
            let known = crate::options::find_spec(spec.name).is_some()
                || out.iter().any(|s| s.name == spec.name);
            if !known {
                out.push(spec);
            }
        }
    }
    out
}

/// The help of `--os-auth-type`: what it is and every name it takes.
fn auth_type_help<'a>(names: impl Iterator<Item = &'a str>) -> String {
    format!(
        "Authentication plugin: {}",
        names.collect::<Vec<_>>().join(", ")
    )
}

fn arg_for(spec: &OptionSpec, heading: &'static str) -> Arg {
    let dashed = |n: &str| format!("os-{}", n.replace('_', "-"));
    let mut env_names = vec![format!("OS_{}", spec.name.to_ascii_uppercase())];
    env_names.extend(
        spec.aliases
            .iter()
            .map(|a| format!("OS_{}", a.to_ascii_uppercase())),
    );
    let help = if spec.name == "auth_type" {
        auth_type_help(crate::keystone::BUILTIN_PLUGINS.iter().copied())
    } else {
        spec.help.to_string()
    };
    let mut arg = Arg::new(format!("os_{}", spec.name))
        .long(dashed(spec.name))
        .alias(format!("os_{}", spec.name))
        .value_name(spec.name.replace('_', "-"))
        .help(format!(
            "{help}. Defaults to env[{}].",
            env_names.join("] or env[")
        ))
        .help_heading(heading)
        .action(ArgAction::Set);
    for a in spec.aliases {
        arg = arg.visible_alias(dashed(a)).alias(format!("os_{a}"));
    }
    arg
}

impl AuthArgs {
    /// Resolve the flags with `loader`'s environment and clouds.yaml under
    /// them (the registry's extra options included).
    pub fn resolve(
        &self,
        loader: &ConfigLoader,
    ) -> Result<ResolvedConfig, apiclient_errors::Error> {
        let mut flags = self.flags.clone();
        if self.insecure {
            flags.insert("insecure".into(), "true".into());
        }
        loader.resolve_with(&flags, &self.extra)
    }

    /// `cmd` with every `--os-*` option of the built-ins and of `registry`'s
    /// plugins (theirs under "Plugin options").
    pub fn augment_args_with(cmd: Command, registry: &PluginRegistry) -> Command {
        let mut cmd = <Self as clap::Args>::augment_args(cmd).mut_arg("os_auth_type", |a| {
            a.help(format!(
                "{}. Defaults to env[OS_AUTH_TYPE] or env[OS_AUTH_SYSTEM].",
                auth_type_help(registry.names())
            ))
        });
        for spec in registry_options(registry) {
            cmd = cmd.arg(arg_for(&spec, "Plugin options"));
        }
        cmd
    }

    /// The arguments from matches of a command built by
    /// [`augment_args_with`](Self::augment_args_with) with the same registry.
    pub fn from_matches_with(m: &ArgMatches, registry: &PluginRegistry) -> Self {
        let mut out = AuthArgs {
            extra: registry_options(registry),
            ..AuthArgs::default()
        };
        out.read(m);
        out
    }

    fn read(&mut self, m: &ArgMatches) {
        let extra = self.extra.clone();
        let specs = groups()
            .into_iter()
            .flat_map(|(_, specs)| specs.iter())
            .chain(extra.iter());
        for spec in specs {
            if let Ok(Some(v)) = m.try_get_one::<String>(&format!("os_{}", spec.name)) {
                self.flags.insert(spec.name.to_string(), v.clone());
            }
        }
        if let Ok(Some(true)) = m.try_get_one::<bool>("insecure") {
            self.insecure = true;
        }
    }
}

impl clap::FromArgMatches for AuthArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = AuthArgs::default();
        out.update_from_arg_matches(m)?;
        Ok(out)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.read(m);
        Ok(())
    }
}

impl clap::Args for AuthArgs {
    fn augment_args(mut cmd: Command) -> Command {
        for (heading, specs) in groups() {
            for spec in specs {
                cmd = cmd.arg(arg_for(spec, heading));
            }
        }
        cmd.arg(
            Arg::new("insecure")
                .long("insecure")
                .action(ArgAction::SetTrue)
                .help("Turn off TLS certificate verification. Defaults to env[OS_INSECURE].")
                .help_heading("Session options"),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
