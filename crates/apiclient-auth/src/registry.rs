//! The plugin registry (Python's stevedore discovery, as explicit registration).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use apiclient_errors::{AuthorizationFailure, Error};

use crate::base_plugin::BaseAuthPlugin;
use crate::keystone::{BUILTIN_PLUGINS, BuiltinLoader, SIGNIN_PLUGINS, SignInLoader};
pub use crate::loader::PluginFactory;
use crate::loader::{ConfiguredPlugin, FactoryLoader, PluginLoader};
use crate::options::{AuthOptions, OptionSpec};
use crate::plugin::AuthPlugin;
use crate::signin::SignInUi;

/// Plugin loaders by name. [`PluginRegistry::default`] has the built-ins;
/// another crate adds its own with [`register_loader`](Self::register_loader)
/// (a [`PluginLoader`]) or [`register`](Self::register) (a factory of a
/// reference-style [`BaseAuthPlugin`]).
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
    plugins: BTreeMap<String, Arc<dyn PluginLoader>>,
}

impl fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.plugins.keys()).finish()
    }
}

impl Default for PluginRegistry {
    fn default() -> Self {
        PluginRegistry {
            plugins: BUILTIN_PLUGINS
                .iter()
                .filter_map(|n| {
                    let loader: Arc<dyn PluginLoader> = Arc::new(BuiltinLoader::named(n)?);
                    Some((n.to_string(), loader))
                })
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

    /// Register (or replace) a reference-style plugin under `name`.
    pub fn register(&mut self, name: impl Into<String>, factory: PluginFactory) -> &mut Self {
        self.register_loader(name, FactoryLoader(factory))
    }

    /// Register (or replace) a loader under `name`.
    pub fn register_loader(
        &mut self,
        name: impl Into<String>,
        loader: impl PluginLoader + 'static,
    ) -> &mut Self {
        self.plugins.insert(name.into(), Arc::new(loader));
        self
    }

    /// This registry with the human sign-in plugins (`v3oidcdeviceauthz`,
    /// `v3oidcauthcode`, `v3websso`) showing their prompts with `ui` (the
    /// default registry's show nothing): what a program with a user loads
    /// by name.
    ///
    /// ```
    /// use apiclient_auth::signin::SignInPrompt;
    /// use apiclient_auth::PluginRegistry;
    ///
    /// let registry = PluginRegistry::default().with_signin_ui(|p: &SignInPrompt<'_>| {
    ///     if let SignInPrompt::DeviceCode { verification_uri, user_code, .. } = p {
    ///         eprintln!("Open {verification_uri} and enter the code {user_code}");
    ///     }
    /// });
    /// assert!(registry.loader("v3oidcdeviceauthz").unwrap().interactive());
    /// ```
    pub fn with_signin_ui(mut self, ui: impl SignInUi + 'static) -> Self {
        let ui: Arc<dyn SignInUi> = Arc::new(ui);
        for name in SIGNIN_PLUGINS {
            if let Some(loader) = SignInLoader::shared(name, ui.clone()) {
                self.plugins.insert(name.to_string(), Arc::new(loader));
            }
        }
        self
    }

    /// The loader registered as `name`.
    pub fn loader(&self, name: &str) -> Option<&Arc<dyn PluginLoader>> {
        self.plugins.get(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plugins.keys().map(String::as_str)
    }

    /// A fresh plugin by name with no options (the reference's
    /// `load_plugin`), or `AuthSystemNotFound`.
    pub fn load_plugin(&self, name: &str) -> Result<Box<dyn BaseAuthPlugin>, Error> {
        self.configured(name)
            .map(|p| Box::new(p) as Box<dyn BaseAuthPlugin>)
    }

    fn configured(&self, name: &str) -> Result<ConfiguredPlugin, Error> {
        self.plugins
            .get(name)
            .map(|l| ConfiguredPlugin::with_shared_loader(name, l.clone()))
            .ok_or_else(|| {
                AuthorizationFailure::SystemNotFound {
                    auth_system: name.to_string(),
                }
                .into()
            })
    }

    /// The runtime plugin for these options: the loader of the named auth
    /// system (or of the alphabetical guess, as
    /// [`load_plugin_from_options`](Self::load_plugin_from_options) makes it)
    /// builds its typed plugin.
    pub fn load(
        &self,
        auth_system: Option<&str>,
        opts: &AuthOptions,
    ) -> Result<Box<dyn AuthPlugin>, Error> {
        let configured = self.load_plugin_from_options(auth_system, opts)?;
        let name = configured.auth_system().to_string();
        let loader = self.plugins.get(&name).ok_or_else(|| {
            Error::from(AuthorizationFailure::SystemNotFound {
                auth_system: name.clone(),
            })
        })?;
        loader.load(&name, configured.opts())
    }

    /// The plugin object for these options (Python's
    /// `load_plugin_from_args`): the named auth system (its options must
    /// suffice), or else every plugin in alphabetical order, the first whose
    /// options suffice. A plugin that signs a person in
    /// ([`PluginLoader::interactive`]) is never guessed: it is named.
    ///
    /// When none suffices, the error names what a user can set: the missing
    /// options of the closest plugin (the fewest missing; `password` on a
    /// tie), where the reference said only "Missing options: auth_system".
    pub fn load_plugin_from_options(
        &self,
        auth_system: Option<&str>,
        opts: &AuthOptions,
    ) -> Result<Box<dyn BaseAuthPlugin>, Error> {
        if let Some(name) = auth_system.filter(|n| !n.is_empty()) {
            let mut plugin = self.configured(name)?;
            plugin.parse_opts(opts);
            plugin.sufficient_options()?;
            return Ok(Box::new(plugin));
        }
        // Closest: the most of its options given, then `password`, then the
        // fewest missing.
        type Rank = (std::cmp::Reverse<usize>, bool, usize);
        let mut closest: Option<(Rank, Vec<String>)> = None;
        for (name, loader) in &self.plugins {
            if loader.interactive() {
                continue;
            }
            let mut plugin = self.configured(name)?;
            plugin.parse_opts(opts);
            match plugin.sufficient_options() {
                Ok(()) => return Ok(Box::new(plugin)),
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
            .map(|(n, l)| (n.clone(), l.option_specs()))
            .collect()
    }
}
