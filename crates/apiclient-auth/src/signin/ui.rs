//! What a sign-in shows its user: the [`SignInUi`] callback and the
//! [`SignInPrompt`]s it receives. A leaf.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What an interactive sign-in asks of its user, handed to the plugin's
/// [`SignInUi`]. Nothing in it is a secret: the URLs carry the `state` and
/// the PKCE challenge, never the verifier. (New kinds of prompt may come:
/// match with a `_` arm.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInPrompt<'a> {
    /// Device authorization (`v3oidcdeviceauthz`): open `verification_uri`
    /// on any device and enter `user_code` there (or open
    /// `verification_uri_complete`, which carries the code, when the
    /// provider gives one) before `expires_in` runs out.
    DeviceCode {
        /// Where to enter the code.
        verification_uri: &'a str,
        /// The same page with the code filled in, if the provider gives one.
        verification_uri_complete: Option<&'a str>,
        /// The code to enter.
        user_code: &'a str,
        /// How long the code is valid.
        expires_in: Duration,
    },
    /// Open `url` in a browser (`v3oidcauthcode`: the provider's
    /// authorization page; `v3websso`: Keystone's WebSSO page). The sign-in
    /// ends when the browser comes back to `redirect_uri`, a receiver on
    /// this machine's loopback interface.
    OpenBrowser {
        /// The page to open.
        url: &'a str,
        /// Where the browser is sent back to (the local receiver).
        redirect_uri: &'a str,
    },
}

/// Shows a sign-in's [`SignInPrompt`] to its user: prints it, opens a
/// browser, or (in a test) follows the URL itself.
///
/// Called on the authenticating task, once per sign-in, before the plugin
/// waits for the user: return at once (start a browser, do not wait for
/// it). A closure taking `&SignInPrompt<'_>` is one.
///
/// ```
/// use apiclient_auth::signin::{SignInPrompt, SignInUi};
///
/// let ui = |p: &SignInPrompt<'_>| {
///     if let SignInPrompt::DeviceCode { verification_uri, user_code, .. } = p {
///         eprintln!("Open {verification_uri} and enter the code {user_code}");
///     }
/// };
/// fn takes(_: impl SignInUi) {}
/// takes(ui);
/// ```
pub trait SignInUi: Send + Sync {
    /// Show `prompt` to the user.
    fn prompt(&self, prompt: &SignInPrompt<'_>);
}

impl<F> SignInUi for F
where
    F: Fn(&SignInPrompt<'_>) + Send + Sync,
{
    fn prompt(&self, prompt: &SignInPrompt<'_>) {
        self(prompt)
    }
}

/// The default [`SignInUi`]: shows nothing. A program with a user gives
/// its own (the `apiclient` CLI prints to stderr).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl SignInUi for Silent {
    fn prompt(&self, _: &SignInPrompt<'_>) {}
}

/// A shared [`SignInUi`], as plugins hold it.
#[derive(Clone)]
pub(crate) struct SharedUi(pub(crate) Arc<dyn SignInUi>);

impl Default for SharedUi {
    fn default() -> Self {
        SharedUi(Arc::new(Silent))
    }
}

impl fmt::Debug for SharedUi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SignInUi")
    }
}

impl SharedUi {
    pub(crate) fn show(&self, prompt: &SignInPrompt<'_>) {
        self.0.prompt(prompt)
    }
}
