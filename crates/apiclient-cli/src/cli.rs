//! The command line: the clap definitions of the options and commands.

use apiclient_auth::AuthArgs;
use clap::{Parser, Subcommand};

use crate::output::{Kind, OutputArgs};

/// Command-line client for OpenStack-style clouds.
#[derive(Debug, Parser)]
#[command(name = "apiclient", version, about, long_about = None, max_term_width = 120)]
pub struct Cli {
    #[command(flatten)]
    pub auth: AuthArgs,

    /// Print the requests and responses as curl commands (redacted) on stderr.
    #[arg(long, global = true)]
    pub debug: bool,

    /// Print a table of every request's time on stderr at exit.
    #[arg(long, global = true)]
    pub timing: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    /// Keep tokens in a file cache (0600) between runs, shared by the
    /// processes of this user: one authentication for many processes,
    /// another scope re-scoped from a cached token (`auth status` shows it,
    /// `auth revoke` and `cache clear` empty it).
    #[arg(long, global = true)]
    pub token_cache: bool,

    /// Start the system's browser for a browser sign-in (v3oidcauthcode,
    /// v3websso); also APICLIENT_OPEN_BROWSER=1. Without it the URL is
    /// printed on stderr.
    #[arg(long, global = true)]
    pub open_browser: bool,

    /// Seconds allowed for the whole command (every request, retry and
    /// re-authentication in it); at most one day.
    #[arg(long, value_name = "SECONDS", global = true, value_parser = parse_seconds)]
    pub timeout: Option<f64>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// The service catalog.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Endpoints.
    #[command(subcommand)]
    Endpoint(EndpointCmd),
    /// Version discovery.
    #[command(subcommand)]
    Versions(VersionsCmd),
    /// An authenticated request to a service, through the catalog.
    Request(RequestArgs),
    /// The token cache (--token-cache): what it holds, revoking its token.
    #[command(subcommand)]
    Auth(AuthCmd),
    /// The token cache's files.
    #[command(subcommand)]
    Cache(CacheCmd),
    /// The configuration: the resolved options and where each came from.
    #[command(subcommand)]
    Configuration(ConfigurationCmd),
    /// Start a fake cloud on loopback and show every feature against it.
    Demo,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff, section 1).
    Man,
}

impl Command {
    /// What the command prints as cliff would (its output options are
    /// checked before anything is sent); None: it prints no such data.
    pub fn output_kind(&self) -> Option<Kind> {
        match self {
            Command::Token(TokenCmd::Issue)
            | Command::Catalog(CatalogCmd::Show { .. })
            | Command::Endpoint(EndpointCmd::Show { .. }) => Some(Kind::One),
            Command::Catalog(CatalogCmd::List)
            | Command::Endpoint(EndpointCmd::List { .. })
            | Command::Auth(AuthCmd::Status) => Some(Kind::List),
            Command::Versions(VersionsCmd::Show { service_type, .. }) => {
                service_type.is_none().then_some(Kind::List)
            }
            Command::Configuration(ConfigurationCmd::Show { .. }) => Some(Kind::Details),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigurationCmd {
    /// The resolved configuration (flags, OS_* variables, clouds.yaml,
    /// secure.yaml, defaults) and where each value came from; secrets
    /// masked unless --unmask.
    Show {
        /// Mask secrets (the default).
        #[arg(long, conflicts_with = "unmask")]
        mask: bool,
        /// Show secrets in clear text.
        #[arg(long)]
        unmask: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCmd {
    /// What the token cache holds: for which auth URL, user and scope, expiring when (never a token).
    Status,
    /// Revoke the cached token of these credentials and scope at Keystone, and forget it.
    Revoke,
}

#[derive(Debug, Subcommand)]
pub enum CacheCmd {
    /// Remove every cached token (only the files the cache wrote).
    Clear,
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Issue a token (fields: expires, id, project_id or domain_id or system, user_id).
    Issue,
    /// Revoke a token.
    Revoke {
        /// The token to revoke.
        token: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// List the services and their endpoints.
    List,
    /// Show one service (by type or name).
    Show {
        /// Service type or name.
        service: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EndpointCmd {
    /// List the catalog's endpoints (of the token; no admin API).
    List {
        /// Only this service (type or name; aliases accepted).
        #[arg(long)]
        service: Option<String>,
        /// Only this interface: public, internal, admin.
        #[arg(long)]
        interface: Option<String>,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
    },
    /// Show one endpoint of the catalog (by id).
    Show {
        /// The endpoint's id.
        endpoint: String,
    },
    /// Print the URL the library would use for a service.
    Get {
        /// Service type (aliases accepted: volumev3 → block-storage, ...).
        service_type: String,
        /// Interface: public, internal, admin (default: --os-interface).
        #[arg(long)]
        interface: Option<String>,
        /// Region (default: --os-region-name).
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum VersionsCmd {
    /// Every service's versions, per region and interface (as `openstack
    /// versions show`); with a service type, that service's version
    /// discovery document.
    Show {
        /// A service type: print its version document as the service sends it.
        #[arg(conflicts_with_all = ["all_interfaces", "interface", "region_name", "service", "status"])]
        service_type: Option<String>,
        /// Every interface, not only --interface.
        #[arg(long, conflicts_with = "interface")]
        all_interfaces: bool,
        /// Only this interface (default: public).
        #[arg(long, value_name = "INTERFACE")]
        interface: Option<String>,
        /// Only this region.
        #[arg(long, value_name = "REGION_NAME")]
        region_name: Option<String>,
        /// Only this service (type, name or alias).
        #[arg(long, value_name = "SERVICE")]
        service: Option<String>,
        /// Only versions in this status: SUPPORTED, CURRENT, DEPRECATED,
        /// EXPERIMENTAL (the status of an unreachable service is ERROR).
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
    },
}

/// `request` arguments.
#[derive(Debug, clap::Args)]
pub struct RequestArgs {
    /// HTTP method (GET, POST, PUT, PATCH, DELETE, HEAD).
    pub method: String,
    /// Service type of the catalog (compute, image, identity, ...).
    pub service_type: String,
    /// Path relative to the service's endpoint, with any query.
    pub path: String,
    /// A JSON body, or @FILE to read it from a file.
    #[arg(long)]
    pub body: Option<String>,
    /// An extra header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// API microversion (sends OpenStack-API-Version, replacing one given with -H).
    #[arg(long)]
    pub microversion: Option<String>,
    /// The body's content type; without it --body must be JSON.
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,
    /// Print the status line and the response headers before the body.
    #[arg(short = 'i', long)]
    pub include: bool,
    /// Send this file as the body, streamed (re-read for a replay after a
    /// 401); `application/octet-stream` unless --content-type says otherwise.
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub upload_file: Option<std::path::PathBuf>,
    /// Write the response body to this file as it arrives (whole or not at
    /// all: an MD5 the server announces is checked first) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// No progress bar (one is drawn on stderr for --upload-file and
    /// --output when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

/// The longest `--timeout` accepted (one day).
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// `--timeout`: a positive, finite number of seconds up to a day.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    let t: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !(t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_SECS) {
        return Err(format!(
            "must be a positive number of seconds, at most {MAX_TIMEOUT_SECS}"
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    const WORDS: &[&str] = &[
        "--timeout",
        "-f",
        "json",
        "value",
        "table",
        "token",
        "issue",
        "revoke",
        "catalog",
        "list",
        "show",
        "endpoint",
        "get",
        "request",
        "GET",
        "--body",
        "--os-auth-url",
        "--os-password",
        "--debug",
        "--timing",
        "--insecure",
        "-H",
        "--microversion",
        "--interface",
        "--region",
        "1e30",
        "-1",
        "NaN",
        "0.000001",
        "86400",
        "86401",
        "",
        "--os_username",
        "versions",
        "demo",
        "--token-cache",
        "--content-type",
        "auth",
        "status",
        "cache",
        "clear",
        "yaml",
        "csv",
        "shell",
        "-c",
        "id",
        "--noindent",
        "--prefix",
        "--max-width",
        "--fit-width",
        "--sort-column",
        "--sort-ascending",
        "--sort-descending",
        "--quote",
        "configuration",
        "--unmask",
        "completion",
        "bash",
        "man",
        "--all-interfaces",
        "--status",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any command line parses or is refused by clap; none panics, and a
        /// `--timeout` that parses is within bounds.
        #[test]
        fn option_parsing_never_panics(
            picks in proptest::collection::vec(0..WORDS.len(), 0..8),
            free in proptest::collection::vec(any::<String>(), 0..3),
        ) {
            let mut args = vec!["apiclient".to_string()];
            args.extend(picks.iter().map(|i| WORDS[*i].to_string()));
            args.extend(free);
            if let Ok(cli) = Cli::try_parse_from(&args)
                && let Some(t) = cli.timeout
            {
                prop_assert!(t > 0.0 && t <= MAX_TIMEOUT_SECS);
                prop_assert!(Duration::try_from_secs_f64(t).is_ok());
            }
        }
    }

    #[test]
    fn parse_seconds_bounds() {
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        for bad in ["0", "-1", "1e30", "NaN", "inf", "x", "86400.5"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}
