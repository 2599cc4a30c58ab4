//! What a command runs with: the HTTP client built from the options (with
//! the token cache when asked), and the output format; the timing table of
//! `--timing`.

use std::time::Duration;

use apiclient_auth::{ConfigLoader, ResolvedConfig};
use apiclient_errors::Error;
use apiclient_http::{FileTokenStore, HttpClient, HttpClientBuilder};

use crate::cli::{AuthCmd, Cli, Command};
use crate::error::CliError;
use crate::output::{self, OutputArgs};

/// Everything a command needs.
pub struct Ctx {
    /// The HTTP client.
    pub http: HttpClient,
    /// The output options.
    pub out: OutputArgs,
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
        (None, Some(cfg)) => {
            HttpClientBuilder::from_config(cfg, &crate::signin::registry(cli.open_browser))?
        }
        (None, None) => {
            let cfg = cli.auth.resolve(&ConfigLoader::new())?;
            HttpClientBuilder::from_config(&cfg, &crate::signin::registry(cli.open_browser))?
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
    // `auth revoke` is about the cached token: it uses the cache, flag or not
    if cli.token_cache || matches!(cli.command, Command::Auth(AuthCmd::Revoke)) {
        match token_cache() {
            Ok(store) => b = b.token_store(std::sync::Arc::new(store)),
            Err(_) => tracing::warn!(
                "--token-cache is off: neither XDG_CACHE_HOME nor HOME is an absolute path"
            ),
        }
    }
    b.build()
}

/// The token cache of `--token-cache`: the file store in its default
/// directory (`$XDG_CACHE_HOME/apiclient-rs/tokens`, else
/// `$HOME/.cache/apiclient-rs/tokens`).
pub fn token_cache() -> Result<FileTokenStore, CliError> {
    FileTokenStore::default_dir()
        .map(FileTokenStore::new)
        .ok_or_else(|| {
            CliError::command(
                "There is no token cache: neither XDG_CACHE_HOME nor HOME is an absolute path.",
            )
        })
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
    output::plain_table(&["URL", "Seconds"], &rows)
}
