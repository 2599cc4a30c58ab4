//! Loaders: from options by name (`--os-*`, `OS_*`, clouds.yaml) to a
//! runtime plugin, as keystoneauth separates its loaders from its plugins.
//!
//! A [`PluginLoader`] declares the options it reads and which of them
//! suffice, and builds the typed runtime plugin ([`crate::typed`]). The
//! [`PluginRegistry`](crate::PluginRegistry) keeps loaders by name.
//! [`ConfiguredPlugin`] is the reference library's plugin object: a loader
//! with options, usable both as the Python API (`parse_opts`,
//! `sufficient_options`) and as a runtime plugin.
//!
//! ```
//! use apiclient_auth::loader::PluginLoader;
//! use apiclient_auth::keystone::BuiltinLoader;
//! use apiclient_auth::AuthOptions;
//!
//! let loader = BuiltinLoader::named("v3applicationcredential").unwrap();
//! let opts = AuthOptions::new()
//!     .with("auth_url", "https://keystone.example/v3")
//!     .with("application_credential_id", "ac-1");
//! let err = loader.sufficient_options(&opts).unwrap_err();
//! assert_eq!(err.to_string(), "Authentication failed. Missing options: application_credential_secret");
//! let plugin = loader
//!     .load("v3applicationcredential", &opts.with("application_credential_secret", "s"))
//!     .unwrap();
//! assert_eq!(plugin.auth_system(), "v3applicationcredential");
//! ```

use std::fmt;
use std::sync::{Arc, OnceLock};

use apiclient_errors::{AuthorizationFailure, EndpointError, Error};
use secrecy::SecretString;

use crate::access::AccessInfo;
use crate::base_plugin::BaseAuthPlugin;
use crate::catalog::EndpointFilter;
use crate::options::{AuthOptions, OptionSpec};
use crate::plugin::AuthPlugin;
use crate::transport::{BoxFuture, SharedTransport};

/// Options in, runtime plugin out.
pub trait PluginLoader: Send + Sync + fmt::Debug {
    /// The options it reads, in declaration order.
    fn option_specs(&self) -> Vec<OptionSpec>;

    /// Ok when `opts` suffice; otherwise `AuthPluginOptionsMissing` naming
    /// what is missing, in declaration order.
    fn sufficient_options(&self, opts: &AuthOptions) -> Result<(), AuthorizationFailure>;

    /// The runtime plugin for `opts`, registered as `name`.
    fn load(&self, name: &str, opts: &AuthOptions) -> Result<Box<dyn AuthPlugin>, Error>;

    /// Whether its plugin signs a person in (a browser, a code to type):
    /// such a plugin is loaded only when named, never guessed from the
    /// options given (default `false`).
    fn interactive(&self) -> bool {
        false
    }
}

/// Makes a fresh reference-style plugin with no options.
pub type PluginFactory = fn() -> Box<dyn BaseAuthPlugin>;

/// The loader of a plugin written against [`BaseAuthPlugin`]: a fresh one
/// from the factory, its options parsed.
#[derive(Clone, Copy)]
pub struct FactoryLoader(pub PluginFactory);

impl fmt::Debug for FactoryLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FactoryLoader")
    }
}

impl FactoryLoader {
    fn parsed(&self, opts: &AuthOptions) -> Box<dyn BaseAuthPlugin> {
        let mut p = (self.0)();
        p.parse_opts(opts);
        p
    }
}

impl PluginLoader for FactoryLoader {
    fn option_specs(&self) -> Vec<OptionSpec> {
        (self.0)().option_specs()
    }

    fn sufficient_options(&self, opts: &AuthOptions) -> Result<(), AuthorizationFailure> {
        self.parsed(opts).sufficient_options()
    }

    fn load(&self, _name: &str, opts: &AuthOptions) -> Result<Box<dyn AuthPlugin>, Error> {
        let p = self.parsed(opts);
        p.sufficient_options()?;
        Ok(p)
    }
}

/// A loader with options: the reference library's plugin object (what
/// [`PluginRegistry::load_plugin`](crate::PluginRegistry::load_plugin)
/// returns; [`crate::KeystonePlugin`] for the built-ins).
///
/// As a runtime plugin it loads the typed plugin from its options (once,
/// again after its options change) and delegates to it. After a 401 it drops
/// a pre-supplied `token` and `endpoint` and re-authenticates only if its
/// options still suffice, as the Python client does.
pub struct ConfiguredPlugin {
    name: String,
    loader: Arc<dyn PluginLoader>,
    opts: AuthOptions,
    loaded: OnceLock<Box<dyn AuthPlugin>>,
}

impl Clone for ConfiguredPlugin {
    fn clone(&self) -> Self {
        ConfiguredPlugin {
            name: self.name.clone(),
            loader: self.loader.clone(),
            opts: self.opts.clone(),
            loaded: OnceLock::new(),
        }
    }
}

impl fmt::Debug for ConfiguredPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfiguredPlugin")
            .field("auth_system", &self.name)
            .field("opts", &self.opts)
            .finish()
    }
}

impl ConfiguredPlugin {
    /// `loader` under `name`, with no options.
    pub fn with_loader(name: impl Into<String>, loader: impl PluginLoader + 'static) -> Self {
        Self::with_shared_loader(name, Arc::new(loader))
    }

    /// A shared `loader` under `name`, with no options.
    pub fn with_shared_loader(name: impl Into<String>, loader: Arc<dyn PluginLoader>) -> Self {
        ConfiguredPlugin {
            name: name.into(),
            loader,
            opts: AuthOptions::new(),
            loaded: OnceLock::new(),
        }
    }

    /// Builder: set an option.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.opts_mut().set(name, value);
        self
    }

    pub(crate) fn opts_ref(&self) -> &AuthOptions {
        &self.opts
    }

    /// The runtime plugin its options make, loaded once (again after its
    /// options change). Options that do not suffice are a typed error.
    pub fn runtime(&self) -> Result<&dyn AuthPlugin, Error> {
        if let Some(p) = self.loaded.get() {
            return Ok(p.as_ref());
        }
        let p = self.loader.load(&self.name, &self.opts)?;
        Ok(self.loaded.get_or_init(|| p).as_ref())
    }
}

impl AuthPlugin for ConfiguredPlugin {
    fn auth_system(&self) -> &str {
        &self.name
    }

    fn authenticate(
        &self,
        transport: SharedTransport,
    ) -> BoxFuture<'static, Result<AccessInfo, Error>> {
        match self.runtime() {
            Ok(p) => p.authenticate(transport),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }

    fn endpoint(
        &self,
        access: &AccessInfo,
        filter: &EndpointFilter,
    ) -> Result<String, EndpointError> {
        match self.runtime() {
            Ok(p) => p.endpoint(access, filter),
            Err(_) => access.token_and_endpoint(filter).map(|(_, e)| e),
        }
    }

    fn fixed_endpoint(&self) -> Option<&str> {
        self.opts.get("endpoint")
    }

    fn prepare_reauthentication(&mut self) -> bool {
        let had = self.opts.has("token") || self.opts.has("endpoint");
        if had {
            let opts = self.opts_mut();
            opts.remove("token");
            opts.remove("endpoint");
        }
        self.loader.sufficient_options(&self.opts).is_ok()
    }

    fn invalidate(&mut self) -> bool {
        self.loaded.take().is_some()
    }

    /// The key of the runtime plugin its options make (None when they do
    /// not suffice, or when that plugin has none).
    fn cache_key(&self) -> Option<String> {
        self.runtime().ok()?.cache_key()
    }

    fn credentials_key(&self) -> Option<String> {
        self.runtime().ok()?.credentials_key()
    }

    fn rescope(
        &self,
        token: &SecretString,
        transport: SharedTransport,
    ) -> Option<BoxFuture<'static, Result<AccessInfo, Error>>> {
        self.runtime().ok()?.rescope(token, transport)
    }
}

impl BaseAuthPlugin for ConfiguredPlugin {
    fn option_specs(&self) -> Vec<OptionSpec> {
        self.loader.option_specs()
    }

    fn opts(&self) -> &AuthOptions {
        &self.opts
    }

    fn opts_mut(&mut self) -> &mut AuthOptions {
        self.loaded = OnceLock::new();
        &mut self.opts
    }

    fn sufficient_options(&self) -> Result<(), AuthorizationFailure> {
        self.loader.sufficient_options(&self.opts)
    }
}
