//! How a sign-in fails, typed, and in one place: the user's refusal
//! (`access_denied`), an expired device code (`expired_token`), and no
//! answer before the deadline (a timeout). A leaf.
//!
//! Refusal and expiry are [`AuthorizationFailure::SignInRefused`] and
//! [`AuthorizationFailure::SignInExpired`]; this module is the one place
//! that builds them.

use std::fmt;
use std::time::Duration;

use apiclient_errors::redact::{escape_controls, redact_url};
use apiclient_errors::{AuthorizationFailure, ConnectionError, ConnectionErrorKind, Error};

/// The user (or the provider for them) refused the sign-in at `at`.
pub(crate) fn denied(at: &str) -> Error {
    AuthorizationFailure::SignInRefused { at: at.to_string() }.into()
}

/// The device code expired before the user approved it.
pub(crate) fn expired(at: &str) -> Error {
    AuthorizationFailure::SignInExpired { at: at.to_string() }.into()
}

/// The provider refused with another OAuth error (`invalid_grant`, ...).
pub(crate) fn provider_refused(at: &str, error: &str, description: Option<&str>) -> Error {
    let what = match description {
        Some(d) => format!("{error}: {d}"),
        None => error.to_string(),
    };
    AuthorizationFailure::Other(format!(
        "the OpenID Connect provider at {} refused: {}",
        redact_url(at),
        escape_controls(&what)
    ))
    .into()
}

/// No answer came to `waiting_at` within `waited`: a timeout, its cause
/// saying what was refused meanwhile.
pub(crate) fn timed_out(waiting_at: &str, waited: Duration, refused: Vec<&'static str>) -> Error {
    ConnectionError::new(
        ConnectionErrorKind::Timeout,
        waiting_at,
        Some(Box::new(NoAnswer { waited, refused })),
    )
    .into()
}

/// The cause of a sign-in's timeout.
#[derive(Debug)]
pub(crate) struct NoAnswer {
    waited: Duration,
    refused: Vec<&'static str>,
}

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the sign-in was not completed within {} s",
            self.waited.as_secs()
        )?;
        if !self.refused.is_empty() {
            write!(
                f,
                "; {} request(s) to the receiver refused ({})",
                self.refused.len(),
                self.refused.join(", ")
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for NoAnswer {}
