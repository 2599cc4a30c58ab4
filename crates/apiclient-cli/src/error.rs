//! The CLI's errors: its own (what the user typed, what a command refuses)
//! beside the library's [`apiclient_errors::Error`], with the exit code and
//! the one-line message of each.

use std::fmt;

use apiclient_errors::Error;

use crate::output::MAX_DISPLAY_CHARS;

/// An error that ends a command.
#[derive(Debug)]
pub enum CliError {
    /// What the user typed cannot be used (a bad `--header`, HTTP method or
    /// `--body`): refused before anything is sent. Exit code 2.
    Usage(String),
    /// The command cannot do what was asked (no such service, no token to
    /// issue, an MFA factor that cannot be read, `--timeout` reached).
    /// Exit code 1.
    Command(String),
    /// An error of the library, shown as it is.
    Lib(Error),
}

impl CliError {
    /// A usage error ([`CliError::Usage`]).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    /// A command error ([`CliError::Command`]).
    pub fn command(message: impl Into<String>) -> Self {
        CliError::Command(message.into())
    }

    /// The exit code: 2 for what the user typed (usage), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Command(_) => 1,
            CliError::Lib(Error::Validation(_) | Error::MissingArgs { .. }) => 2,
            CliError::Lib(_) => 1,
        }
    }

    /// The one-line message: the error's own text, then (with --debug) its
    /// causes; control characters escaped and over-long text cut, so a
    /// server cannot break the line or drive the terminal.
    pub fn line(&self, debug: bool) -> String {
        let mut line = self.to_string();
        if debug {
            let mut cur = std::error::Error::source(self);
            while let Some(c) = cur {
                line.push_str(&format!(": {c}"));
                cur = c.source();
            }
        }
        apiclient_errors::redact::display_safe(&line, MAX_DISPLAY_CHARS).into_owned()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Command(m) => f.write_str(m),
            CliError::Lib(e) => {
                fmt::Display::fmt(e, f)?;
                f.write_str(hint(e))
            }
        }
    }
}

/// What a person at the command line can do about a library error the
/// library itself words without naming flags or variables.
fn hint(e: &Error) -> &'static str {
    use apiclient_errors::{AuthorizationFailure, EndpointError};
    match e {
        Error::Authorization(AuthorizationFailure::NoAuthConfigured { .. }) => {
            ". Set them with --os-* options or OS_* variables, or choose a cloud of clouds.yaml with --os-cloud / OS_CLOUD"
        }
        Error::Endpoint(EndpointError::Ambiguous { .. }) => {
            "; choose one with a region (--os-region-name, OS_REGION_NAME) or an interface (--os-interface, OS_INTERFACE)"
        }
        _ => "",
    }
}

/// Transparent for a library error: its causes are this error's causes.
impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Usage(_) | CliError::Command(_) => None,
            CliError::Lib(e) => e.source(),
        }
    }
}

impl From<crate::output::UsageError> for CliError {
    fn from(e: crate::output::UsageError) -> Self {
        CliError::Usage(e.0)
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Lib(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiclient_errors::InvalidKind;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any error text becomes one safe line.
        #[test]
        fn error_lines_are_one_safe_line(text in any::<String>()) {
            for e in [CliError::Command(text.clone()), CliError::Usage(text)] {
                let line = e.line(false);
                prop_assert!(!line.chars().any(char::is_control), "{:?}", line);
                prop_assert!(line.chars().count() <= MAX_DISPLAY_CHARS);
            }
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(CliError::usage("bad").exit_code(), 2);
        assert_eq!(CliError::command("no").exit_code(), 1);
        let lib = |e: Error| CliError::from(e).exit_code();
        assert_eq!(lib(Error::invalid(InvalidKind::Interface, "x")), 2);
        assert_eq!(lib(Error::MissingArgs { missing: vec![] }), 2);
        assert_eq!(lib(Error::config("x")), 1);
        assert_eq!(
            lib(Error::from(apiclient_errors::Ambiguous::new("server", "x"))),
            1
        );
    }

    #[test]
    fn the_cli_adds_its_flags_to_errors_the_library_words_without_them() {
        let e = Error::from(apiclient_errors::EndpointError::Ambiguous {
            endpoints: vec!["http://a".into(), "http://b".into()],
        });
        assert_eq!(
            e.to_string(),
            "AmbiguousEndpoints: ['http://a', 'http://b']"
        );
        assert_eq!(
            CliError::from(e).line(false),
            "AmbiguousEndpoints: ['http://a', 'http://b']; choose one with a region \
             (--os-region-name, OS_REGION_NAME) or an interface (--os-interface, OS_INTERFACE)"
        );
        let e = Error::from(apiclient_errors::AuthorizationFailure::NoAuthConfigured {
            missing: vec!["auth_url".into()],
        });
        assert!(!e.to_string().contains("--os"), "{e}");
        assert!(
            CliError::from(e)
                .line(false)
                .contains("--os-cloud / OS_CLOUD")
        );
    }

    #[test]
    fn a_library_error_is_shown_as_it_is() {
        let io = std::io::Error::other("gone");
        let e = Error::Config {
            message: "cannot read the body file f".into(),
            source: Some(Box::new(io)),
        };
        let (plain, debug) = (e.to_string(), format!("{e}: gone"));
        let e = CliError::from(e);
        assert_eq!(e.line(false), plain);
        assert_eq!(e.line(true), debug);
    }
}
