//! Hooks and extensions, scoped per manager type (not one global map).

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// The hook types the Python `Extension` recognises.
pub const SUPPORTED_HOOKS: &[&str] = &["__pre_parse_args__", "__post_parse_args__"];

/// A hook: receives (and may change) the arguments, as JSON.
pub type Hook = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// Hooks by (manager type, hook type). Hooks added for one manager type never
/// fire for another.
///
/// ```
/// use apiclient_base::HookRegistry;
/// struct Servers;
/// struct Images;
/// let hooks = HookRegistry::default();
/// hooks.add_hook::<Servers>("__pre_parse_args__", |args| args["seen"] = true.into());
/// let mut a = serde_json::json!({});
/// hooks.run_hooks::<Images>("__pre_parse_args__", &mut a);
/// assert_eq!(a, serde_json::json!({}));
/// hooks.run_hooks::<Servers>("__pre_parse_args__", &mut a);
/// assert_eq!(a["seen"], true);
/// ```
#[derive(Default)]
pub struct HookRegistry {
    map: Mutex<HashMap<(TypeId, String), Vec<Hook>>>,
}

impl fmt::Debug for HookRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("HookRegistry").field("entries", &n).finish()
    }
}

impl HookRegistry {
    /// The process-wide registry (still keyed by manager type).
    pub fn global() -> &'static HookRegistry {
        static GLOBAL: OnceLock<HookRegistry> = OnceLock::new();
        GLOBAL.get_or_init(HookRegistry::default)
    }

    /// Add `hook` for manager type `M` (Python's `add_hook`).
    pub fn add_hook<M: 'static>(
        &self,
        hook_type: &str,
        hook: impl Fn(&mut Value) + Send + Sync + 'static,
    ) {
        self.add_shared::<M>(hook_type, Arc::new(hook));
    }

    fn add_shared<M: 'static>(&self, hook_type: &str, hook: Hook) {
        if let Ok(mut m) = self.map.lock() {
            m.entry((TypeId::of::<M>(), hook_type.to_string()))
                .or_default()
                .push(hook);
        }
    }

    /// Run the hooks of `M` for `hook_type` in order (unknown types: nothing).
    pub fn run_hooks<M: 'static>(&self, hook_type: &str, args: &mut Value) {
        let hooks = self
            .map
            .lock()
            .ok()
            .and_then(|m| m.get(&(TypeId::of::<M>(), hook_type.to_string())).cloned())
            .unwrap_or_default();
        for h in hooks {
            h(args);
        }
    }
}

/// An extension (Python's `Extension`): a name, the hooks it brings, and the
/// manager it mounts on a client (see [`crate::BaseClient::add_extension`]).
#[derive(Clone)]
pub struct Extension {
    /// Its name (the attribute it is mounted under).
    pub name: String,
    hooks: Vec<(String, Hook)>,
}

impl fmt::Debug for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Extension '{}'>", self.name)
    }
}

impl Extension {
    /// An extension called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Extension {
            name: name.into(),
            hooks: Vec::new(),
        }
    }

    /// Add a hook; only [`SUPPORTED_HOOKS`] are kept, as in Python.
    pub fn hook(
        mut self,
        hook_type: &str,
        hook: impl Fn(&mut Value) + Send + Sync + 'static,
    ) -> Self {
        if SUPPORTED_HOOKS.contains(&hook_type) {
            self.hooks.push((hook_type.to_string(), Arc::new(hook)));
        }
        self
    }

    /// Register its hooks for manager type `M`.
    pub fn register<M: 'static>(&self, registry: &HookRegistry) {
        for (t, h) in &self.hooks {
            registry.add_shared::<M>(t, h.clone());
        }
    }
}
