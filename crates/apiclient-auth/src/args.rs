//! The auth options as a clap `Args` that a CLI flattens in.

use std::collections::BTreeMap;
use std::fmt;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::options::{
    COMMON_OPTIONS, ConfigLoader, OptionSpec, PLUGIN_OPTIONS, ResolvedConfig, SESSION_OPTIONS,
};

/// Every `--os-*` option (common, every built-in plugin's, session) plus
/// `--insecure`, for `#[command(flatten)]`.
///
/// Values are kept as given; [`AuthArgs::resolve`] applies the environment and
/// clouds.yaml under them. `Debug` hides secret values.
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
}

impl fmt::Debug for AuthArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: BTreeMap<&str, &str> = self
            .flags
            .iter()
            .map(|(k, v)| {
                let secret = crate::options::find_spec(k).is_some_and(|s| s.secret);
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

fn arg_for(spec: &OptionSpec, heading: &'static str) -> Arg {
    let dashed = |n: &str| format!("os-{}", n.replace('_', "-"));
    let mut env_names = vec![format!("OS_{}", spec.name.to_ascii_uppercase())];
    env_names.extend(
        spec.aliases
            .iter()
            .map(|a| format!("OS_{}", a.to_ascii_uppercase())),
    );
    let mut arg = Arg::new(format!("os_{}", spec.name))
        .long(dashed(spec.name))
        .alias(format!("os_{}", spec.name))
        .value_name(spec.name.replace('_', "-"))
        .help(format!(
            "{}. Defaults to env[{}].",
            spec.help,
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
    /// Resolve the flags with `loader`'s environment and clouds.yaml under them.
    pub fn resolve(
        &self,
        loader: &ConfigLoader,
    ) -> Result<ResolvedConfig, apiclient_errors::Error> {
        let mut flags = self.flags.clone();
        if self.insecure {
            flags.insert("insecure".into(), "true".into());
        }
        loader.resolve(&flags)
    }
}

impl clap::FromArgMatches for AuthArgs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = AuthArgs::default();
        out.update_from_arg_matches(m)?;
        Ok(out)
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        for (_, specs) in groups() {
            for spec in specs {
                if let Ok(Some(v)) = m.try_get_one::<String>(&format!("os_{}", spec.name)) {
                    self.flags.insert(spec.name.to_string(), v.clone());
                }
            }
        }
        if let Ok(Some(true)) = m.try_get_one::<bool>("insecure") {
            self.insecure = true;
        }
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
