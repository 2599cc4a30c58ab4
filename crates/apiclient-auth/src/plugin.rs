//! The plugin contract.

use std::fmt;

use apiclient_errors::{AuthorizationFailure, EndpointError, Error};

use crate::access::AccessInfo;
use crate::catalog::EndpointFilter;
use crate::options::{AuthOptions, OptionSpec};
use crate::transport::{BoxFuture, SharedTransport};

/// An authentication plugin (Python's `BaseAuthPlugin`).
///
/// Object-safe, `Send + Sync`. A plugin holds its options; authenticating
/// returns an [`AccessInfo`] that the HTTP client keeps (so concurrent
/// requests share one token and re-authentication is single-flight there).
/// `authenticate` returns a `'static` future: a plugin copies what it needs
/// before the first await, so the caller never holds a lock across the call.
pub trait AuthPlugin: Send + Sync + fmt::Debug {
    /// The name it is registered under (`v3password`, ...).
    fn auth_system(&self) -> &str;

    /// The options it reads, in declaration order.
    fn option_specs(&self) -> Vec<OptionSpec>;

    /// Its current options.
    fn opts(&self) -> &AuthOptions;

    /// Its options, mutably.
    fn opts_mut(&mut self) -> &mut AuthOptions;

    /// Take the values of its options from `opts` (Python's `parse_opts`).
    fn parse_opts(&mut self, opts: &AuthOptions) {
        let names: Vec<&'static str> = self.option_specs().iter().map(|s| s.name).collect();
        let mut mine = opts.clone();
        mine.retain(&names);
        *self.opts_mut() = mine;
    }

    /// Ok when its options suffice to authenticate; otherwise
    /// `AuthPluginOptionsMissing` naming what is missing, in declaration order.
    fn sufficient_options(&self) -> Result<(), AuthorizationFailure>;

    /// Authenticate through `transport`.
    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>>;

    /// The endpoint of a service, from an access record this plugin returned
    /// (the reference's `token_and_endpoint`, endpoint half).
    ///
    /// The token sent with a request is always the access record's
    /// ([`AccessInfo::token`]): a plugin chooses endpoints, never a second
    /// token. An empty endpoint is treated as none (the reference's
    /// `AuthorizationFailure("Cannot find endpoint or token for request")`),
    /// never as a request to a bare path.
    fn endpoint(
        &self,
        access: &AccessInfo,
        filter: &EndpointFilter,
    ) -> Result<String, EndpointError> {
        access
            .token_and_endpoint(filter)
            .map(|(_, endpoint)| endpoint)
    }

    /// Drop pre-supplied `token` and `endpoint` options before a re-authentication
    /// after a 401 (as the Python client does), so that a password is used.
    /// Returns whether anything was dropped.
    fn clear_fixed_credentials(&mut self) -> bool {
        let had = self.opts().has("token") || self.opts().has("endpoint");
        self.opts_mut().remove("token");
        self.opts_mut().remove("endpoint");
        had
    }

    /// Forget any cached state. Returns whether there was any.
    fn invalidate(&mut self) -> bool {
        false
    }

    /// A key that identifies the credentials (auth URL, user, scope, plugin) for
    /// a token store; never contains a secret.
    fn cache_key(&self) -> String {
        let o = self.opts();
        let parts = [
            "auth_url",
            "username",
            "user_id",
            "user_domain_name",
            "user_domain_id",
            "project_name",
            "project_id",
            "project_domain_name",
            "project_domain_id",
            "domain_name",
            "domain_id",
            "system_scope",
            "trust_id",
            "application_credential_id",
            "application_credential_name",
            "endpoint",
        ];
        let mut key = self.auth_system().to_string();
        for p in parts {
            if let Some(v) = o.get(p) {
                key.push_str(&format!("|{p}={v}"));
            }
        }
        key
    }
}
