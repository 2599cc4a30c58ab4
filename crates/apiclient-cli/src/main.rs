//! `apiclient`: an OpenStackClient-style command line built on apiclient-rs.
//!
//! ```text
//! apiclient demo                                   # every feature, against a built-in fake cloud
//! apiclient --os-cloud mycloud token issue -f json
//! apiclient catalog list
//! apiclient endpoint get compute --interface internal --region RegionOne
//! apiclient request GET compute /servers/detail
//! ```

/// `print!` to stdout, ending the process quietly (exit 0) when the reader
/// has gone (`apiclient ... | head`): a closed pipe is not an error to panic on.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` as [`out!`] does it.
macro_rules! outln {
    () => { out!("\n") };
    ($($arg:tt)*) => {{
        out!($($arg)*);
        out!("\n");
    }};
}

mod commands;
mod demo;
mod output;

/// Write to stdout; a broken pipe ends the process with success.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args)
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

use std::process::ExitCode;
use std::time::Duration;

use std::io::IsTerminal;

use apiclient_auth::{AuthArgs, ConfigLoader, PluginRegistry, ResolvedConfig};
use apiclient_errors::{AuthorizationFailure, Error};
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

    /// Seconds allowed for the whole command (every request, retry and
    /// re-authentication in it); at most one day.
    #[arg(long, value_name = "SECONDS", global = true, value_parser = parse_seconds)]
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

/// The longest `--timeout` accepted (one day).
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// `--timeout`: a positive, finite number of seconds up to a day.
fn parse_seconds(s: &str) -> Result<f64, String> {
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

/// Logging on stderr: warnings always (`RUST_LOG` replaces that filter), and
/// with `--debug` the curl-style request log, unprefixed.
fn init_logging(debug: bool) {
    use tracing_subscriber::filter::{EnvFilter, FilterFn};
    use tracing_subscriber::prelude::*;
    macro_rules! fmt {
        () => {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time()
                .with_target(false)
                .with_ansi(false)
        };
    }
    if let Ok(spec) = std::env::var("RUST_LOG") {
        let spec = if debug {
            format!("{spec},apiclient_http=debug")
        } else {
            spec
        };
        let _ = tracing_subscriber::registry()
            .with(fmt!().with_filter(EnvFilter::new(spec)))
            .try_init();
        return;
    }
    let warnings = fmt!().with_filter(EnvFilter::new("warn"));
    let requests = fmt!()
        .event_format(MessageOnly)
        .with_filter(FilterFn::new(move |m| {
            debug
                && m.target().starts_with("apiclient_http")
                && *m.level() > tracing::Level::WARN
                && *m.level() <= tracing::Level::DEBUG
        }));
    let _ = tracing_subscriber::registry()
        .with(warnings)
        .with(requests)
        .try_init();
}

/// The `--debug` request log's format: the message alone (the curl lines),
/// without level, target or span context.
struct MessageOnly;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for MessageOnly
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        tracing_subscriber::fmt::FormatFields::format_fields(ctx, writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The longest server-controlled value printed as is; longer ones are cut
/// with an ellipsis.
pub const MAX_DISPLAY_CHARS: usize = 4096;

/// The one-line message for an error: its own text, then (with --debug) its
/// causes; control characters escaped and over-long text cut, so a server
/// cannot break the line or drive the terminal.
pub fn error_line(e: &Error, debug: bool) -> String {
    let mut line = e.to_string();
    if debug {
        let mut cur = std::error::Error::source(e);
        while let Some(c) = cur {
            line.push_str(&format!(": {c}"));
            cur = c.source();
        }
    }
    apiclient_errors::redact::display_safe(&line, MAX_DISPLAY_CHARS).into_owned()
}

/// The exit code for an error: 2 for what the user typed (usage), 1 otherwise.
pub fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Validation(_) | Error::MissingArgs { .. } => 2,
        _ => 1,
    }
}

/// Build the HTTP client from the options (or from `config`, the options
/// completed by a prompt).
pub fn build_client(
    cli: &Cli,
    builder: Option<HttpClientBuilder>,
    config: Option<&ResolvedConfig>,
) -> Result<HttpClient, Error> {
    let mut b = match (builder, config) {
        (Some(b), _) => b,
        (None, Some(cfg)) => HttpClientBuilder::from_config(cfg, &PluginRegistry::default())?,
        (None, None) => {
            let cfg = cli.auth.resolve(&ConfigLoader::new())?;
            HttpClientBuilder::from_config(&cfg, &PluginRegistry::default())?
        }
    };
    b = b
        .timings(cli.timing)
        .app_name("apiclient", env!("CARGO_PKG_VERSION"));
    if let Some(t) = cli
        .timeout
        .and_then(|t| Duration::try_from_secs_f64(t).ok())
    {
        b = b.timeout(t).operation_timeout(t);
    }
    if cli.token_cache {
        match FileTokenStore::default_dir() {
            Some(dir) => b = b.token_store(std::sync::Arc::new(FileTokenStore::new(dir))),
            None => tracing::warn!(
                "--token-cache is off: neither XDG_CACHE_HOME nor HOME is an absolute path"
            ),
        }
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

/// Multi-factor authentication on a terminal: Keystone took the factors
/// given and wants another. Ask for it (without echo) and continue with the
/// receipt: `config` becomes `v3multifactor` with the missing methods.
fn ask_for_missing_factor(
    config: &mut ResolvedConfig,
    failure: &AuthorizationFailure,
) -> Result<(), Error> {
    let AuthorizationFailure::ReceiptRequired { receipt, .. } = failure else {
        return Err(failure.clone().into());
    };
    let askable = |m: &String| m == "password" || m == "totp";
    let Some(set) = failure
        .missing_methods()
        .into_iter()
        .find(|set| set.iter().all(askable))
    else {
        return Err(failure.clone().into());
    };
    for method in &set {
        let (prompt, option) = match method.as_str() {
            "totp" => ("Passcode (TOTP) for the second factor: ", "passcode"),
            _ => ("Password for the second factor: ", "password"),
        };
        let value = rpassword::prompt_password(prompt)
            .map_err(|e| Error::Command(format!("cannot read the {method} factor: {e}")))?;
        config.auth.set(option, value.trim());
    }
    config.auth.set("receipt", receipt.expose());
    let methods: Vec<String> = set.iter().map(|m| format!("v3{m}")).collect();
    config.auth.set("auth_methods", methods.join(","));
    config.auth_type = Some("v3multifactor".to_string());
    Ok(())
}

async fn run(cli: &Cli) -> Result<(), Error> {
    if let Command::Demo = cli.command {
        return demo::run(cli).await;
    }
    let mut config: Option<ResolvedConfig> = None;
    let mut prompts = 0;
    loop {
        let http = build_client(cli, None, config.as_ref())?;
        let result = dispatch(cli, &http).await;
        if let Err(Error::Authorization(failure @ AuthorizationFailure::ReceiptRequired { .. })) =
            &result
            && prompts < 2
            && std::io::stdin().is_terminal()
        {
            // the service saw nothing yet: the failure was the authentication
            prompts += 1;
            let mut completed = match config.take() {
                Some(c) => c,
                None => cli.auth.resolve(&ConfigLoader::new())?,
            };
            ask_for_missing_factor(&mut completed, failure)?;
            config = Some(completed);
            continue;
        }
        if cli.timing {
            eprint!("{}", timings_table(&http));
        }
        return result;
    }
}

async fn dispatch(cli: &Cli, http: &HttpClient) -> Result<(), Error> {
    let ctx = Ctx {
        http: http.clone(),
        format: cli.format,
    };
    match &cli.command {
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
    }
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
    // --timeout bounds the whole command, whatever it waits for.
    let result = rt.block_on(async {
        match cli
            .timeout
            .and_then(|t| Duration::try_from_secs_f64(t).ok())
        {
            Some(limit) => tokio::time::timeout(limit, run(&cli))
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Command(format!(
                        "the command did not finish within --timeout {} s",
                        limit.as_secs_f64()
                    )))
                }),
            None => run(&cli).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", error_line(&e, cli.debug));
            ExitCode::from(exit_code(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use proptest::prelude::*;

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

        /// Any error text becomes one safe line.
        #[test]
        fn error_lines_are_one_safe_line(text in any::<String>()) {
            let line = error_line(&Error::Command(text), false);
            prop_assert!(!line.chars().any(char::is_control), "{:?}", line);
            prop_assert!(line.chars().count() <= MAX_DISPLAY_CHARS);
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
