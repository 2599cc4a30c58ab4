//! The reference library's option-carrying plugin ([`BaseAuthPlugin`]).
//! Configuration side: a runtime [`AuthPlugin`] knows nothing of options.

use apiclient_errors::AuthorizationFailure;

use crate::options::{AuthOptions, OptionSpec};
use crate::plugin::AuthPlugin;

/// The reference library's plugin (Python's `BaseAuthPlugin`): it carries
/// its options by name, reads them with [`parse_opts`](Self::parse_opts)
/// and says whether they suffice. The registry's
/// [`load_plugin`](crate::PluginRegistry::load_plugin) returns one.
///
/// A plugin written against this trait registers with
/// [`PluginRegistry::register`](crate::PluginRegistry::register) and is
/// loaded from options like the built-ins.
pub trait BaseAuthPlugin: AuthPlugin {
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
}
