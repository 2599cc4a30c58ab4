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
            // no span: MessageOnly prints none, so none is built for it
            // (`enabled!` asks with a hint's metadata, neither span nor event)
            debug
                && !m.is_span()
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
///
/// An event whose only field is its message (every curl line) is written
/// through [`Sanitized`]: the text tracing-subscriber's own formatter makes
/// of it, but in one piece when there is nothing to escape, as with the curl
/// log's lines (built once, already redacted and escaped), instead of
/// character by character. Other events go through the field formatter.
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
        let fields = event.metadata().fields();
        let written = if fields.len() == 1 && fields.field("message").is_some() {
            let sanitize = writer.sanitizes_ansi_escapes();
            let mut message = MessageVisitor {
                out: Sanitized {
                    out: &mut writer,
                    sanitize,
                },
                result: Ok(()),
                not_mine: false,
            };
            event.record(&mut message);
            message.result?;
            !message.not_mine
        } else {
            false
        };
        if !written {
            tracing_subscriber::fmt::FormatFields::format_fields(ctx, writer.by_ref(), event)?;
        }
        writeln!(writer)
    }
}

/// Writes an event's message as tracing-subscriber's default field
/// formatter does (`{:?}` of the value, which for the macros' `format_args!`
/// message is its text as is), through [`Sanitized`]. An error value is left
/// to that formatter (`not_mine`), which lists its sources.
struct MessageVisitor<'a, W> {
    out: Sanitized<'a, W>,
    result: std::fmt::Result,
    not_mine: bool,
}

impl<W: std::fmt::Write> tracing::field::Visit for MessageVisitor<'_, W> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" && self.result.is_ok() {
            self.result = std::fmt::Write::write_str(&mut self.out, value);
        }
    }

    fn record_error(
        &mut self,
        _field: &tracing::field::Field,
        _value: &(dyn std::error::Error + 'static),
    ) {
        self.not_mine = true;
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && self.result.is_ok() {
            self.result = std::fmt::Write::write_fmt(&mut self.out, format_args!("{value:?}"));
        }
    }
}

/// A writer that escapes what tracing-subscriber's ANSI sanitizer escapes
/// (ESC, BEL, BS, FF, DEL as `\x1b`..., C1 controls as `\u{9b}`), and passes
/// a piece without any of them (one scan of its bytes) on in one write.
struct Sanitized<'a, W> {
    out: &'a mut W,
    sanitize: bool,
}

impl<W: std::fmt::Write> std::fmt::Write for Sanitized<'_, W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        // C1 controls are U+0080..=U+009F, in UTF-8 0xC2 0x80..=0x9F
        let candidate = |b: u8| matches!(b, 0x07 | 0x08 | 0x0c | 0x1b | 0x7f | 0xc2);
        if !self.sanitize || !s.bytes().fold(false, |hit, b| hit | candidate(b)) {
            return self.out.write_str(s);
        }
        let mut start = 0;
        for (i, c) in s.char_indices() {
            let escape = match c {
                '\x1b' => "\\x1b",
                '\x07' => "\\x07",
                '\x08' => "\\x08",
                '\x0c' => "\\x0c",
                '\x7f' => "\\x7f",
                '\u{80}'..='\u{9f}' => "",
                _ => continue,
            };
            self.out.write_str(&s[start..i])?;
            if escape.is_empty() {
                std::fmt::Write::write_fmt(self.out, format_args!("\\u{{{:x}}}", u32::from(c)))?;
            } else {
                self.out.write_str(escape)?;
            }
            start = i + c.len_utf8();
        }
        self.out.write_str(&s[start..])
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::prelude::*;

    use super::MessageOnly;

    /// What a subscriber of one fmt layer prints for the events `emit`
    /// sends: with MessageOnly, or with tracing-subscriber's own format (no
    /// time, level or target: the fields alone, as MessageOnly).
    fn printed(message_only: bool, emit: fn()) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || out.clone())
            .without_time()
            .with_target(false)
            .with_level(false)
            .with_ansi(false);
        if message_only {
            let subscriber = tracing_subscriber::registry().with(layer.event_format(MessageOnly));
            tracing::subscriber::with_default(subscriber, emit);
        } else {
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), emit);
        }
        let text = buf.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn message_only_prints_what_the_sanitizing_formatter_prints() {
        fn emit() {
            for text in [
                "REQ: curl -g -i -X 'GET' 'http://h/x' -H 'x-auth-token: {SHA256}00'",
                "esc\x1b[2J bel\x07 bs\x08 ff\x0c del\x7f csi\u{9b}[1m nel\u{85} end\u{9f}",
                "kept: tab\there, newline\nhere, cr\r, é ü ✓ \u{a0}\u{200b}",
                "\u{80}",
                "",
            ] {
                tracing::debug!(target: "apiclient_http::curl", "{}", text);
                tracing::debug!(target: "apiclient_http::curl", "RESP BODY: {}", text);
                tracing::info!(target: "apiclient_http", status = 500, "with a field {}", text);
            }
            let e = std::io::Error::other("an error\x1b[2J");
            tracing::warn!(message = &e as &(dyn std::error::Error + 'static));
        }
        let expected = printed(false, emit);
        assert!(expected.contains("esc\\x1b[2J") && expected.contains("\\u{9b}"));
        assert_eq!(printed(true, emit), expected);
    }
}
