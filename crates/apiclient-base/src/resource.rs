//! `Resource`: a bag of attributes with typed access and lazy loading.

use std::fmt;
use std::sync::Arc;

use apiclient_errors::{Error, InvalidKind};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::future::BoxFuture;

/// What a resource type declares (Python's class attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceMeta {
    /// The type name (`Server`), used in messages and `Debug`.
    pub name: &'static str,
    /// The attribute that holds the name (`NAME_ATTR`, default `name`).
    pub name_attr: &'static str,
    /// Whether `human_id` is derived from the name (`HUMAN_ID`).
    pub human_id: bool,
}

impl ResourceMeta {
    /// A type called `name` with `NAME_ATTR = "name"` and no human id.
    pub const fn new(name: &'static str) -> Self {
        ResourceMeta {
            name,
            name_attr: "name",
            human_id: false,
        }
    }

    /// Builder: the name attribute.
    pub const fn name_attr(mut self, attr: &'static str) -> Self {
        self.name_attr = attr;
        self
    }

    /// Builder: derive `human_id` from the name.
    pub const fn with_human_id(mut self) -> Self {
        self.human_id = true;
        self
    }
}

/// A user's serde struct that serves as a typed resource.
///
/// ```
/// use apiclient_base::{Resource, ResourceMeta, TypedResource};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize, PartialEq)]
/// struct Server { id: String, name: String }
/// impl TypedResource for Server {
///     const META: ResourceMeta = ResourceMeta::new("Server");
/// }
///
/// let r = Resource::new(Server::META, serde_json::json!({"id": "1", "name": "web"}), true);
/// let s: Server = r.parse().unwrap();
/// assert_eq!(s, Server { id: "1".into(), name: "web".into() });
/// ```
pub trait TypedResource: DeserializeOwned {
    /// The resource type's declaration.
    const META: ResourceMeta;
}

/// Loads a resource by id (a manager's `get`), for lazy loading.
pub trait Loader: Send + Sync {
    /// The full resource with this id.
    fn load(&self, id: &str) -> BoxFuture<'_, Result<Resource, Error>>;
    /// The last request id of the client (recorded as `x_request_id`).
    fn last_request_id(&self) -> Option<String>;
}

/// A resource (Python's `Resource`): its attributes, whether it is fully
/// loaded, and the manager that can load it.
#[derive(Clone)]
pub struct Resource {
    meta: ResourceMeta,
    info: Map<String, Value>,
    loaded: bool,
    loader: Option<Arc<dyn Loader>>,
    x_request_id: Option<String>,
}

/// `to_slug` of oslo.utils: NFKD, ASCII only, drop `[^\w\s-]`, trim,
/// lowercase, `[-\s]+` → `-`.
///
/// ```
/// assert_eq!(apiclient_base::to_slug("256 MB Server"), "256-mb-server");
/// assert_eq!(apiclient_base::to_slug("  Crème brûlée! "), "creme-brulee");
/// ```
pub fn to_slug(value: &str) -> String {
    let ascii: String = value.nfkd().filter(char::is_ascii).collect();
    let kept: String = ascii
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || c.is_ascii_whitespace() || *c == '-')
        .collect();
    let lowered = kept.trim().to_ascii_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut in_run = false;
    for c in lowered.chars() {
        if c == '-' || c.is_ascii_whitespace() {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

impl Resource {
    /// A resource of type `meta` from a JSON object (anything else gives no attributes).
    pub fn new(meta: ResourceMeta, info: Value, loaded: bool) -> Self {
        let info = match info {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Resource {
            meta,
            info,
            loaded,
            loader: None,
            x_request_id: None,
        }
    }

    /// Attach the loader used for lazy loading.
    pub fn with_loader(mut self, loader: Arc<dyn Loader>) -> Self {
        self.loader = Some(loader);
        self
    }

    /// The type's declaration.
    pub fn meta(&self) -> &ResourceMeta {
        &self.meta
    }

    /// An attribute, without loading.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.info.get(key)
    }

    /// An attribute; when missing on a resource that is not loaded, load it
    /// (at most one `manager.get(id)`), then look again.
    pub async fn get_attr(&mut self, key: &str) -> Result<Option<&Value>, Error> {
        if !self.info.contains_key(key) && !self.loaded {
            self.load().await?;
        }
        Ok(self.info.get(key))
    }

    /// A typed attribute (`get::<String>("name")`), without loading.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.info.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| {
                Error::invalid(
                    InvalidKind::Shape,
                    format!(
                        "attribute '{key}' of {} has an unexpected type: {e}",
                        self.meta.name
                    ),
                )
            }),
        }
    }

    /// The whole resource as the user's type.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_value(Value::Object(self.info.clone())).map_err(|e| {
            Error::invalid(
                InvalidKind::Shape,
                format!("{} does not match the expected shape: {e}", self.meta.name),
            )
        })
    }

    /// The id (`id` as a string, or a number's text).
    pub fn id(&self) -> Option<String> {
        match self.info.get("id")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The name (`NAME_ATTR`).
    pub fn name(&self) -> Option<&str> {
        self.info.get(self.meta.name_attr).and_then(Value::as_str)
    }

    /// The slug of the name when the type has `HUMAN_ID`, else None.
    pub fn human_id(&self) -> Option<String> {
        if self.meta.human_id {
            self.name().map(to_slug)
        } else {
            None
        }
    }

    /// Whether it is fully loaded.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Set the loaded flag.
    pub fn set_loaded(&mut self, loaded: bool) {
        self.loaded = loaded;
    }

    /// The request id of the GET that loaded it, when the server sent one.
    pub fn x_request_id(&self) -> Option<&str> {
        self.x_request_id.as_deref()
    }

    /// Load the full resource (Python's `Resource.get()`): marks it loaded
    /// first (so a second miss does not reload), merges the fetched attributes
    /// and records `x_request_id` when the server sent one.
    pub async fn load(&mut self) -> Result<(), Error> {
        self.loaded = true;
        let (Some(loader), Some(id)) = (self.loader.clone(), self.id()) else {
            return Ok(());
        };
        let fresh = loader.load(&id).await?;
        for (k, v) in fresh.info {
            self.info.insert(k, v);
        }
        if let Some(rid) = loader.last_request_id() {
            self.x_request_id = Some(rid);
        }
        Ok(())
    }

    /// An owned copy of the attributes (Python's `to_dict`).
    pub fn to_dict(&self) -> Map<String, Value> {
        self.info.clone()
    }

    /// The attributes.
    pub fn info(&self) -> &Map<String, Value> {
        &self.info
    }
}

impl PartialEq for Resource {
    /// Same type and same id; without ids on both sides, the same attributes.
    fn eq(&self, other: &Self) -> bool {
        if self.meta.name != other.meta.name {
            return false;
        }
        match (self.id(), other.id()) {
            (Some(a), Some(b)) => a == b,
            _ => self.info == other.info,
        }
    }
}

impl fmt::Debug for Resource {
    /// `<Server id=1, name=x>`, keys sorted, values as text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = self.info.keys().filter(|k| !k.starts_with('_')).collect();
        keys.sort();
        let parts: Vec<String> = keys
            .iter()
            .map(|k| {
                let v = match &self.info[k.as_str()] {
                    Value::String(s) => s.clone(),
                    Value::Null => "None".to_string(),
                    other => other.to_string(),
                };
                format!("{k}={v}")
            })
            .collect();
        write!(f, "<{} {}>", self.meta.name, parts.join(", "))
    }
}

/// The id of a thing (Python's `getid`): a resource's truthy `uuid`, else its
/// `id`; a plain value is its own id.
pub trait GetId {
    /// The id.
    fn getid(&self) -> Option<String>;
}

impl GetId for Resource {
    fn getid(&self) -> Option<String> {
        match self.info.get("uuid") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => self.id(),
        }
    }
}

impl GetId for str {
    fn getid(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl GetId for String {
    fn getid(&self) -> Option<String> {
        Some(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SERVER: ResourceMeta = ResourceMeta::new("Server").with_human_id();

    #[test]
    fn slug() {
        assert_eq!(to_slug("256 MB Server"), "256-mb-server");
        assert_eq!(to_slug("a -- b"), "a-b");
        assert_eq!(to_slug("日本"), "");
    }

    #[test]
    fn debug_equality_and_ids() {
        let a = Resource::new(
            SERVER,
            json!({"name": "x", "id": 1, "flag": true, "none": null}),
            true,
        );
        assert_eq!(
            format!("{a:?}"),
            "<Server flag=true, id=1, name=x, none=None>"
        );
        let b = Resource::new(SERVER, json!({"id": 1, "name": "other"}), true);
        assert_eq!(a, b, "same type and id");
        let c = Resource::new(ResourceMeta::new("Flavor"), json!({"id": 1}), true);
        assert_ne!(a, c, "another type");
        let d = Resource::new(SERVER, json!({"name": "n"}), true);
        let e = Resource::new(SERVER, json!({"name": "n"}), true);
        assert_eq!(d, e, "no ids: attributes");
        assert_eq!(a.human_id().as_deref(), Some("x"));
        assert_eq!(
            Resource::new(ResourceMeta::new("F"), json!({"name": "X"}), true).human_id(),
            None
        );
        let u = Resource::new(SERVER, json!({"id": 1, "uuid": "u-1"}), true);
        assert_eq!(u.getid().as_deref(), Some("u-1"));
        assert_eq!("raw".getid().as_deref(), Some("raw"));
        assert_eq!(a.get::<i64>("id").unwrap(), Some(1));
        assert!(a.get::<String>("id").is_err());
    }
}
