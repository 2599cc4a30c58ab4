//! Human sign-in on the terminal (`--os-auth-type v3oidcdeviceauthz`,
//! `v3oidcauthcode`, `v3websso`): what the sign-in plugins ask of the user,
//! printed to stderr (stdout stays the command's output), and the browser
//! started only when asked (`--open-browser`, or `APICLIENT_OPEN_BROWSER=1`).
//!
//! The plugins get this UI through the registry the CLI loads them with
//! ([`registry`]): `PluginRegistry::default().with_signin_ui(...)`.
//! Everything printed comes from a server (the provider's verification
//! URL and code, the authorization URL, Keystone's WebSSO URL): control
//! characters are shown escaped, so it cannot drive the terminal. Nothing
//! printed is a secret: the URLs carry the `state` and the PKCE challenge,
//! never the verifier.

use std::io::Write;
use std::process::{Command, Stdio};

use apiclient_auth::PluginRegistry;
use apiclient_auth::signin::{SignInPrompt, SignInUi};
use apiclient_errors::redact::escape_controls;

/// The environment variable that asks for a browser to be started
/// (`1`, `true`, `yes`, `on`).
pub const OPEN_BROWSER_ENV: &str = "APICLIENT_OPEN_BROWSER";

/// The registry the CLI loads plugins with: the built-ins, the sign-in
/// plugins showing their prompts on the terminal, a browser started for
/// them when `open_browser` (the flag) or [`OPEN_BROWSER_ENV`] asks.
pub fn registry(open_browser: bool) -> PluginRegistry {
    PluginRegistry::default().with_signin_ui(TerminalSignIn::new(
        open_browser || env_asks(std::env::var(OPEN_BROWSER_ENV).ok().as_deref()),
    ))
}

/// Whether the value of [`OPEN_BROWSER_ENV`] asks for a browser.
fn env_asks(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// The terminal's sign-in UI: prints each prompt to stderr; for a URL to
/// open, starts the system's browser too when `open_browser`.
#[derive(Debug, Clone, Copy)]
pub struct TerminalSignIn {
    open_browser: bool,
}

impl TerminalSignIn {
    /// Print the prompts; start a browser for a URL when `open_browser`.
    pub fn new(open_browser: bool) -> Self {
        TerminalSignIn { open_browser }
    }
}

impl SignInUi for TerminalSignIn {
    fn prompt(&self, prompt: &SignInPrompt<'_>) {
        let Some(text) = message(prompt) else {
            return;
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
        if let SignInPrompt::OpenBrowser { url, .. } = *prompt
            && self.open_browser
        {
            match open_in_browser(url) {
                Ok(()) => {
                    let _ = writeln!(err, "Opening it in your browser.");
                }
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "Could not start a browser ({e}): open the URL yourself."
                    );
                }
            }
        }
        let _ = err.flush();
    }
}

/// What the terminal shows for `prompt` (`None` for a prompt this version
/// does not know).
pub fn message(prompt: &SignInPrompt<'_>) -> Option<String> {
    match *prompt {
        SignInPrompt::DeviceCode {
            verification_uri,
            verification_uri_complete,
            user_code,
            expires_in,
            ..
        } => {
            let mut text = format!(
                "Open {} and enter the code {}",
                escape_controls(verification_uri),
                escape_controls(user_code)
            );
            if let Some(complete) = verification_uri_complete {
                text.push_str(&format!(
                    "\n(or open {}, which carries the code)",
                    escape_controls(complete)
                ));
            }
            let minutes = expires_in.as_secs().div_ceil(60);
            text.push_str(&format!(
                "\nThe code is valid for {minutes} minute{}; waiting for the sign-in...",
                if minutes == 1 { "" } else { "s" }
            ));
            Some(text)
        }
        SignInPrompt::OpenBrowser {
            url, redirect_uri, ..
        } => Some(format!(
            "Open this URL in a browser to sign in:\n  {}\nWaiting for the browser to come back to {}...",
            escape_controls(url),
            escape_controls(redirect_uri)
        )),
        _ => None,
    }
}

/// Start the system's browser on `url` (an `http(s)` URL only), without
/// waiting for it: `xdg-open` (`open` on macOS, the URL handler on
/// Windows), its output discarded. The URL is one argument, never a shell
/// word.
fn open_in_browser(url: &str) -> std::io::Result<()> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not an http(s) URL",
        ));
    }
    let mut cmd = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut c = Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        Command::new("xdg-open")
    };
    let mut child = cmd
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    // reap it whenever it ends; the sign-in does not wait for the browser
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_device_flow_says_where_to_go_and_what_to_enter() {
        let shown = message(&SignInPrompt::DeviceCode {
            verification_uri: "https://idp.example/activate",
            verification_uri_complete: Some("https://idp.example/activate?user_code=WDJB-MJHT"),
            user_code: "WDJB-MJHT",
            expires_in: Duration::from_secs(600),
        })
        .unwrap();
        assert!(
            shown.starts_with("Open https://idp.example/activate and enter the code WDJB-MJHT\n"),
            "{shown}"
        );
        assert!(shown.contains("(or open https://idp.example/activate?user_code=WDJB-MJHT"));
        assert!(shown.contains("valid for 10 minutes"));
    }

    #[test]
    fn a_browser_flow_prints_the_url_and_where_it_waits() {
        let shown = message(&SignInPrompt::OpenBrowser {
            url: "https://idp.example/authorize?state=s&code_challenge=c",
            redirect_uri: "http://127.0.0.1:8050/callback",
        })
        .unwrap();
        assert!(shown.contains("\n  https://idp.example/authorize?state=s&code_challenge=c\n"));
        assert!(shown.contains("http://127.0.0.1:8050/callback"));
    }

    #[test]
    fn what_a_server_sent_cannot_drive_the_terminal() {
        let shown = message(&SignInPrompt::DeviceCode {
            verification_uri: "https://idp.example/\x1b]0;owned\x07",
            verification_uri_complete: None,
            user_code: "AB\r\nCD",
            expires_in: Duration::from_secs(60),
        })
        .unwrap();
        assert!(
            !shown.contains('\x1b') && !shown.contains('\r'),
            "{shown:?}"
        );
        assert!(shown.contains("valid for 1 minute;"));
    }

    #[test]
    fn the_browser_is_asked_for_by_the_flag_or_the_environment() {
        assert!(env_asks(Some("1")) && env_asks(Some("true")) && env_asks(Some(" Yes ")));
        assert!(!env_asks(None) && !env_asks(Some("0")) && !env_asks(Some("")));
        for name in ["v3oidcdeviceauthz", "v3oidcauthcode", "v3websso"] {
            assert!(
                registry(false).loader(name).unwrap().interactive(),
                "{name}"
            );
        }
    }

    #[test]
    fn only_web_urls_are_opened() {
        assert!(open_in_browser("file:///etc/passwd").is_err());
        assert!(open_in_browser("javascript:alert(1)").is_err());
    }
}
