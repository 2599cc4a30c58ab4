//! `apiclient`: an OpenStackClient-style command line built on apiclient-rs.
//!
//! ```text
//! apiclient demo                                   # every feature, against a built-in fake cloud
//! apiclient --os-cloud mycloud token issue -f json
//! apiclient catalog list
//! apiclient endpoint get compute --interface internal --region RegionOne
//! apiclient request GET compute /servers/detail
//! ```

mod commands;
mod demo;
mod output;

use std::process::ExitCode;
use std::time::Duration;

use apiclient_auth::{AuthArgs, ConfigLoader, PluginRegistry};
use apiclient_errors::Error;
use apiclient_http::{FileTokenStore, HttpClient, HttpClientBuilder};
use clap::{Parser, Subcommand};

use crate::output::Format;

/// Command-line client for OpenStack-style clouds.
#[derive(Debug, Parser)]
#[command(name = "apiclient", version, about, long_about = None, max_term_width = 120)]
pub struct Cli {
    #[command(flatten)]
    auth: AuthArgs,

    /// Print the requests and responses as curl commands (redacted) on stderr.
    #[arg(long, global = true)]
    debug: bool,

    /// Print a table of every request's time on stderr at exit.
    #[arg(long, global = true)]
    timing: bool,

    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Table, global = true)]
    format: Format,

    /// Keep tokens in a file cache (0600) between runs.
    #[arg(long, global = true)]
    token_cache: bool,

    /// Seconds allowed for each request.
    #[arg(long, value_name = "SECONDS", global = true)]
    timeout: Option<f64>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    Request(commands::RequestArgs),
    /// Start a fake cloud on loopback and show every feature against it.
    Demo,
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Issue a token (fields: expires, id, project_id or domain_id or system, user_id).
    Issue,
    /// Revoke a token.
    Revoke {
        /// The token to revoke.
        token: String,
    },
}

#[derive(Debug, Subcommand)]
enum CatalogCmd {
    /// List the services and their endpoints.
    List,
    /// Show one service (by type or name).
    Show {
        /// Service type or name.
        service: String,
    },
}

#[derive(Debug, Subcommand)]
enum EndpointCmd {
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
enum VersionsCmd {
    /// The service's version discovery document.
    Show {
        /// Service type.
        service_type: String,
    },
}

/// Everything a command needs.
pub struct Ctx {
    /// The HTTP client.
    pub http: HttpClient,
    /// The output format.
    pub format: Format,
}

fn init_logging(debug: bool) {
    if debug {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new("apiclient_http=debug"))
            .without_time()
            .with_target(false)
            .with_level(false)
            .with_ansi(false)
            .try_init();
    }
}

/// The one-line message for an error: its own text, then (with --debug) its causes.
pub fn error_line(e: &Error, debug: bool) -> String {
    let mut line = e.to_string();
    if debug {
        let mut cur = std::error::Error::source(e);
        while let Some(c) = cur {
            line.push_str(&format!(": {c}"));
            cur = c.source();
        }
    }
    line
}

/// Build the HTTP client from the options.
pub fn build_client(cli: &Cli, builder: Option<HttpClientBuilder>) -> Result<HttpClient, Error> {
    let mut b = match builder {
        Some(b) => b,
        None => {
            let cfg = cli.auth.resolve(&ConfigLoader::new())?;
            HttpClientBuilder::from_config(&cfg, &PluginRegistry::default())?
        }
    };
    b = b
        .timings(cli.timing)
        .app_name("apiclient", env!("CARGO_PKG_VERSION"));
    if let Some(t) = cli.timeout {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::Validation(format!(
                "--timeout must be a positive number of seconds, not {t}"
            )));
        }
        b = b.timeout(Duration::from_secs_f64(t));
    }
    if cli.token_cache {
        b = b.token_store(std::sync::Arc::new(FileTokenStore::new(
            FileTokenStore::default_dir(),
        )));
    }
    b.build()
}

/// The timing table (like `openstack --timing`).
pub fn timings_table(http: &HttpClient) -> String {
    let timings = http.get_timings();
    let mut rows: Vec<Vec<String>> = timings
        .iter()
        .map(|t| {
            vec![
                format!("{} {}", t.method, t.url),
                format!("{:.3}", t.elapsed.as_secs_f64()),
            ]
        })
        .collect();
    let total: f64 = timings.iter().map(|t| t.elapsed.as_secs_f64()).sum();
    rows.push(vec!["Total".into(), format!("{total:.3}")]);
    output::table(&["URL", "Seconds"], &rows)
}

async fn run(cli: &Cli) -> Result<(), Error> {
    if let Command::Demo = cli.command {
        return demo::run(cli).await;
    }
    let http = build_client(cli, None)?;
    let ctx = Ctx {
        http: http.clone(),
        format: cli.format,
    };
    let result = match &cli.command {
        Command::Token(TokenCmd::Issue) => commands::token_issue(&ctx).await,
        Command::Token(TokenCmd::Revoke { token }) => commands::token_revoke(&ctx, token).await,
        Command::Catalog(CatalogCmd::List) => commands::catalog_list(&ctx).await,
        Command::Catalog(CatalogCmd::Show { service }) => {
            commands::catalog_show(&ctx, service).await
        }
        Command::Endpoint(EndpointCmd::Get {
            service_type,
            interface,
            region,
        }) => {
            commands::endpoint_get(&ctx, service_type, interface.as_deref(), region.as_deref())
                .await
        }
        Command::Versions(VersionsCmd::Show { service_type }) => {
            commands::versions_show(&ctx, service_type).await
        }
        Command::Request(args) => commands::request(&ctx, args).await,
        Command::Demo => Ok(()),
    };
    if cli.timing {
        eprint!("{}", timings_table(&http));
    }
    result
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.debug || matches!(cli.command, Command::Demo));
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_line(&e, cli.debug));
            ExitCode::FAILURE
        }
    }
}
