//! `completion SHELL` (clap_complete) and `man` (clap_mangen): generated
//! from the same clap definitions as the parser, so they cannot drift.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::CliError;

/// The completion script for `shell`, on stdout.
pub fn completion(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "apiclient", &mut buf);
    out!("{}", String::from_utf8_lossy(&buf));
    Ok(())
}

/// The manual page, apiclient(1), in roff on stdout.
pub fn man() -> Result<(), CliError> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| CliError::command(format!("cannot render the manual page: {e}")))?;
    out!("{}", String::from_utf8_lossy(&buf));
    Ok(())
}
