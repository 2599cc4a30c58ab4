//! `apiclient`: an OpenStackClient-style command line built on apiclient-rs.
//!
//! ```text
//! apiclient demo                                   # every feature, against a built-in fake cloud
//! apiclient --os-cloud mycloud token issue -f json
//! apiclient catalog list
//! apiclient endpoint get compute --interface internal --region RegionOne
//! apiclient request GET compute /servers/detail
//! apiclient --token-cache token issue             # one authentication for many processes
//! apiclient auth status                            # what the token cache holds (never a token)
//! apiclient auth revoke                            # revoke the cached token, forget it
//! apiclient cache clear
//! apiclient configuration show                    # the options and where each came from
//! apiclient versions show                         # every service's versions
//! apiclient token issue -f value -c id            # cliff's formats and options
//! apiclient completion bash                        # shell completion; `apiclient man`
//! ```

#[macro_use]
mod output;

mod cli;
mod commands;
mod completion;
mod configuration;
mod context;
mod demo;
mod error;
mod signin;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use apiclient_auth::{ConfigLoader, ResolvedConfig};
use apiclient_errors::{AuthorizationFailure, Error};
use apiclient_http::HttpClient;
use clap::Parser;

use crate::cli::{
    AuthCmd, CacheCmd, CatalogCmd, Cli, Command, ConfigurationCmd, EndpointCmd, TokenCmd,
    VersionsCmd,
};
use crate::context::{Ctx, build_client, timings_table};
use crate::error::CliError;
use crate::output::Kind;

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

/// Multi-factor authentication on a terminal: Keystone took the factors
/// given and wants another. Ask for it (without echo) and continue with the
/// receipt: `config` becomes `v3multifactor` with the missing methods.
fn ask_for_missing_factor(
    config: &mut ResolvedConfig,
    failure: &AuthorizationFailure,
) -> Result<(), CliError> {
    let AuthorizationFailure::ReceiptRequired { receipt, .. } = failure else {
        return Err(Error::from(failure.clone()).into());
    };
    let askable = |m: &String| m == "password" || m == "totp";
    let Some(set) = failure
        .missing_methods()
        .into_iter()
        .find(|set| set.iter().all(askable))
    else {
        return Err(Error::from(failure.clone()).into());
    };
    for method in &set {
        let (prompt, option) = match method.as_str() {
            "totp" => ("Passcode (TOTP) for the second factor: ", "passcode"),
            _ => ("Password for the second factor: ", "password"),
        };
        let value = rpassword::prompt_password(prompt)
            .map_err(|e| CliError::command(format!("cannot read the {method} factor: {e}")))?;
        config.auth.set(option, value.trim());
    }
    config.auth.set("receipt", receipt.expose());
    let methods: Vec<String> = set.iter().map(|m| format!("v3{m}")).collect();
    config.auth.set("auth_methods", methods.join(","));
    config.auth_type = Some("v3multifactor".to_string());
    Ok(())
}

async fn run(cli: &Cli) -> Result<(), CliError> {
    // what the output options cannot do for this command is refused first
    if let Some(kind) = cli.command.output_kind() {
        cli.output.check(kind)?;
    }
    match &cli.command {
        Command::Demo => {
            // it prints a token (one object) and the catalog (a list)
            cli.output.check(Kind::One)?;
            cli.output.check(Kind::List)?;
            return demo::run(cli).await;
        }
        // the token cache alone: no credentials needed
        Command::Auth(AuthCmd::Status) => return commands::auth_status(&cli.output),
        Command::Cache(CacheCmd::Clear) => return commands::cache_clear(),
        // no request: the options alone
        Command::Configuration(ConfigurationCmd::Show { unmask, .. }) => {
            return configuration::show(cli, &cli.output, *unmask);
        }
        Command::Completion { shell } => return completion::completion(*shell),
        Command::Man => return completion::man(),
        _ => {}
    }
    let mut config: Option<ResolvedConfig> = None;
    let mut prompts = 0;
    loop {
        let http = build_client(cli, None, config.as_ref())?;
        let result = dispatch(cli, &http).await;
        if let Err(CliError::Lib(Error::Authorization(
            failure @ AuthorizationFailure::ReceiptRequired { .. },
        ))) = &result
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

async fn dispatch(cli: &Cli, http: &HttpClient) -> Result<(), CliError> {
    let ctx = Ctx {
        http: http.clone(),
        out: cli.output.clone(),
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
        Command::Endpoint(EndpointCmd::List {
            service,
            interface,
            region,
        }) => {
            commands::endpoint_list(
                &ctx,
                service.as_deref(),
                interface.as_deref(),
                region.as_deref(),
            )
            .await
        }
        Command::Endpoint(EndpointCmd::Show { endpoint }) => {
            commands::endpoint_show(&ctx, endpoint).await
        }
        Command::Versions(VersionsCmd::Show {
            service_type: Some(service_type),
            ..
        }) => commands::versions_show(&ctx, service_type).await,
        Command::Versions(VersionsCmd::Show {
            service_type: None,
            all_interfaces,
            interface,
            region_name,
            service,
            status,
        }) => {
            let filter = commands::VersionsFilter {
                all_interfaces: *all_interfaces,
                interface: interface.as_deref(),
                region: region_name.as_deref(),
                service: service.as_deref(),
                status: status.as_deref(),
            };
            commands::versions_list(&ctx, &filter).await
        }
        Command::Request(args) => commands::request(&ctx, args).await,
        Command::Auth(AuthCmd::Revoke) => commands::auth_revoke(&ctx).await,
        Command::Demo
        | Command::Auth(AuthCmd::Status)
        | Command::Cache(CacheCmd::Clear)
        | Command::Configuration(_)
        | Command::Completion { .. }
        | Command::Man => Ok(()),
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
                    Err(CliError::command(format!(
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
            eprintln!("{}", e.line(cli.debug));
            ExitCode::from(e.exit_code())
        }
    }
}
