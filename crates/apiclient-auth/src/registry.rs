//! The plugin registry (Python's stevedore discovery, as explicit registration).

use std::collections::BTreeMap;
use std::fmt;

use apiclient_errors::{AuthorizationFailure, Error};

use crate::keystone::builtin_factories;
use crate::options::{AuthOptions, OptionSpec};
use crate::plugin::AuthPlugin;

/// Makes a fresh plugin with no options.
pub type PluginFactory = fn() -> Box<dyn AuthPlugin>;

/// Plugins by name. [`PluginRegistry::default`] has the built-ins; another
/// crate adds its own with [`register`](Self::register).
///
/// ```
/// use apiclient_auth::{AuthOptions, PluginRegistry};
///
/// let registry = PluginRegistry::default();
/// let opts = AuthOptions::new()
///     .with("auth_url", "http://keystone/v3")
///     .with("username", "demo")
///     .with("password", "s3cret");
/// // No auth system named: the first plugin (alphabetically) whose options suffice wins.
/// let plugin = registry.load_plugin_from_options(None, &opts).unwrap();
/// assert_eq!(plugin.auth_system(), "password");
/// assert!(!format!("{plugin:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct PluginRegistry {
    plugins: BTreeMap<String, PluginFactory>,
}

impl fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.plugins.keys()).finish()
    }
}

impl Default for PluginRegistry {
    fn default() -> Self {
        PluginRegistry {
            plugins: builtin_factories()
                .into_iter()
                .map(|(n, f)| (n.to_string(), f))
                .collect(),
        }
    }
}

impl PluginRegistry {
    /// An empty registry.
    pub fn empty() -> Self {
        PluginRegistry {
            plugins: BTreeMap::new(),
        }
    }

    /// Register (or replace) a plugin under `name`.
    pub fn register(&mut self, name: impl Into<String>, factory: PluginFactory) -> &mut Self {
        self.plugins.insert(name.into(), factory);
        self
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plugins.keys().map(String::as_str)
    }

    /// A fresh plugin by name, or `AuthSystemNotFound`.
    pub fn load_plugin(&self, name: &str) -> Result<Box<dyn AuthPlugin>, Error> {
        self.plugins.get(name).map(|f| f()).ok_or_else(|| {
            AuthorizationFailure::SystemNotFound {
                auth_system: name.to_string(),
            }
            .into()
        })
    }

    /// The plugin for these options (Python's `load_plugin_from_args`): the
    /// named auth system (its options must suffice), or else every plugin in
    /// alphabetical order, the first whose options suffice.
    ///
    /// When none suffices, the error names what a user can set: the missing
    /// options of the closest plugin (the fewest missing; `password` on a
    /// tie), where the reference said only "Missing options: auth_system".
    pub fn load_plugin_from_options(
        &self,
        auth_system: Option<&str>,
        opts: &AuthOptions,
    ) -> Result<Box<dyn AuthPlugin>, Error> {
        if let Some(name) = auth_system.filter(|n| !n.is_empty()) {
            let mut plugin = self.load_plugin(name)?;
            plugin.parse_opts(opts);
            plugin.sufficient_options()?;
            return Ok(plugin);
        }
        // Closest: the most of its options given, then `password`, then the
        // fewest missing.
        type Rank = (std::cmp::Reverse<usize>, bool, usize);
        let mut closest: Option<(Rank, Vec<String>)> = None;
        for (name, factory) in &self.plugins {
            let mut plugin = factory();
            plugin.parse_opts(opts);
            match plugin.sufficient_options() {
                Ok(()) => return Ok(plugin),
                Err(AuthorizationFailure::OptionsMissing { opt_names }) => {
                    let given = plugin.opts().names().count();
                    let rank = (
                        std::cmp::Reverse(given),
                        name != "password",
                        opt_names.len(),
                    );
                    if closest.as_ref().is_none_or(|(best, _)| rank < *best) {
                        closest = Some((rank, opt_names));
                    }
                }
                Err(_) => {}
            }
        }
        let missing = closest
            .map(|(_, names)| names)
            .unwrap_or_else(|| vec!["auth_type".to_string()]);
        Err(AuthorizationFailure::NoAuthConfigured { missing }.into())
    }

    /// Every plugin's options (Python's `load_auth_system_opts`), by plugin name.
    pub fn discover_auth_systems(&self) -> BTreeMap<String, Vec<OptionSpec>> {
        self.plugins
            .iter()
            .map(|(n, f)| (n.clone(), f().option_specs()))
            .collect()
    }
}
