//! Managers: the `BaseManager` helpers, `CrudManager`, `ManagerWithFind`, `find_resource`.

use std::sync::Arc;

use apiclient_errors::{Ambiguous, Error, HttpError, InvalidKind};
use apiclient_http::ApiResponse;
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::BaseClient;
use crate::future::BoxFuture;
use crate::json::{Fields, Wrapped};
use crate::resource::{GetId, Loader, Resource, ResourceMeta};

/// The `BaseManager` helpers (`_list`, `_get`, `_head`, `_post`, `_put`,
/// `_patch`, `_delete`) for one resource type.
#[derive(Clone)]
pub struct Manager {
    client: BaseClient,
    meta: ResourceMeta,
    loader: Option<Arc<dyn Loader>>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("resource", &self.meta.name)
            .field("client", &self.client)
            .finish()
    }
}

fn invalid(message: String, url: &str) -> Error {
    Error::InvalidResponse {
        message,
        url: url.to_string(),
        source: None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
    }
}

impl Manager {
    /// Helpers for resources of type `meta` through `client`.
    pub fn new(client: BaseClient, meta: ResourceMeta) -> Self {
        Manager {
            client,
            meta,
            loader: None,
        }
    }

    /// Attach the loader given to the resources it returns (for lazy loading).
    pub fn with_loader(mut self, loader: Arc<dyn Loader>) -> Self {
        self.loader = Some(loader);
        self
    }

    /// The client.
    pub fn client(&self) -> &BaseClient {
        &self.client
    }

    /// The resource type.
    pub fn meta(&self) -> ResourceMeta {
        self.meta
    }

    /// A resource of this manager's type.
    pub fn resource(&self, info: Value, loaded: bool) -> Resource {
        let r = Resource::new(self.meta, info, loaded);
        match &self.loader {
            Some(l) => r.with_loader(l.clone()),
            None => r,
        }
    }

    fn extract(&self, resp: &ApiResponse, response_key: Option<&str>) -> Result<Value, Error> {
        let mut body: Value = resp.json()?;
        match response_key {
            None => Ok(body),
            // moved out of the body, not copied
            Some(k) => body
                .as_object_mut()
                .and_then(|m| m.remove(k))
                .ok_or_else(|| invalid(format!("the response has no '{k}' key"), &resp.url())),
        }
    }

    /// GET `url` (or POST `body` when given) and return the items under
    /// `response_key`, unwrapping `{"values": [...]}` and skipping empty items.
    pub async fn list(
        &self,
        url: &str,
        response_key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Vec<Resource>, Error> {
        let resp = match body.filter(|b| truthy(b)) {
            Some(b) => self.client.post(url, Some(b)).await?,
            None => self.client.get(url).await?,
        };
        let mut data = self.extract(&resp, response_key)?;
        if let Some(values) = data.get_mut("values").map(Value::take) {
            data = values;
        }
        match data {
            Value::Array(items) => Ok(items
                .into_iter()
                .filter(truthy)
                .map(|i| self.resource(i, true))
                .collect()),
            _ => Err(invalid(
                format!("expected a list of {}", self.meta.name),
                &resp.url(),
            )),
        }
    }

    /// GET one resource (marked loaded).
    pub async fn get(&self, url: &str, response_key: Option<&str>) -> Result<Resource, Error> {
        let resp = self.client.get(url).await?;
        Ok(self.resource(self.extract(&resp, response_key)?, true))
    }

    /// HEAD: true when the server answered 204.
    pub async fn head(&self, url: &str) -> Result<bool, Error> {
        Ok(self.client.head(url).await?.status().as_u16() == 204)
    }

    /// POST a JSON body and return the resource under `response_key` (not marked loaded).
    pub async fn post(
        &self,
        url: &str,
        body: &Value,
        response_key: Option<&str>,
    ) -> Result<Resource, Error> {
        Ok(self.resource(self.post_raw(url, body, response_key).await?, false))
    }

    /// POST and return the raw data (`return_raw=True`).
    pub async fn post_raw(
        &self,
        url: &str,
        body: &Value,
        response_key: Option<&str>,
    ) -> Result<Value, Error> {
        self.post_raw_of(url, body, response_key).await
    }

    async fn post_raw_of<B: Serialize + Sync + ?Sized>(
        &self,
        url: &str,
        body: &B,
        response_key: Option<&str>,
    ) -> Result<Value, Error> {
        let resp = self.client.post(url, Some(body)).await?;
        self.extract(&resp, response_key)
    }

    /// PUT; `None` when the response body is empty.
    pub async fn put(
        &self,
        url: &str,
        body: Option<&Value>,
        response_key: Option<&str>,
    ) -> Result<Option<Resource>, Error> {
        self.put_of(url, body, response_key).await
    }

    async fn put_of<B: Serialize + Sync + ?Sized>(
        &self,
        url: &str,
        body: Option<&B>,
        response_key: Option<&str>,
    ) -> Result<Option<Resource>, Error> {
        let resp = self.client.put(url, body).await?;
        if resp.body().is_empty() {
            return Ok(None);
        }
        Ok(Some(
            self.resource(self.extract(&resp, response_key)?, false),
        ))
    }

    /// PATCH and return the resource.
    pub async fn patch(
        &self,
        url: &str,
        body: Option<&Value>,
        response_key: Option<&str>,
    ) -> Result<Resource, Error> {
        self.patch_of(url, body, response_key).await
    }

    async fn patch_of<B: Serialize + Sync + ?Sized>(
        &self,
        url: &str,
        body: Option<&B>,
        response_key: Option<&str>,
    ) -> Result<Resource, Error> {
        let resp = self.client.patch(url, body).await?;
        Ok(self.resource(self.extract(&resp, response_key)?, false))
    }

    /// DELETE and return the raw response.
    pub async fn delete(&self, url: &str) -> Result<ApiResponse, Error> {
        self.client.delete(url).await
    }
}

/// A parameter of a CRUD call: a value, or a resource (which becomes `<name>_id`).
#[derive(Debug, Clone)]
pub enum Param {
    /// A value (`null` is dropped).
    Value(Value),
    /// A resource: `domain=<Resource>` becomes `domain_id=<its id>`.
    Resource(Box<Resource>),
}

/// Ordered CRUD parameters (Python's `**kwargs`).
///
/// ```
/// use apiclient_base::Params;
/// let p = Params::new().set("name", "web").set("limit", 10).set("marker", serde_json::Value::Null);
/// assert_eq!(p.filtered(), vec![("name".to_string(), "web".into()), ("limit".to_string(), 10.into())]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, Param)>);

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a value.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.push((key.to_string(), Param::Value(value.into())));
        self
    }

    /// Add a resource (sent as `<key>_id`).
    pub fn resource(mut self, key: &str, value: &Resource) -> Self {
        self.0
            .push((key.to_string(), Param::Resource(Box::new(value.clone()))));
        self
    }

    /// Python's `_filter_kwargs`: nulls dropped, resources as `<key>_id`.
    pub fn filtered(&self) -> Vec<(String, Value)> {
        self.0
            .iter()
            .filter_map(|(k, p)| match p {
                Param::Value(Value::Null) => None,
                Param::Value(v) => Some((k.clone(), v.clone())),
                Param::Resource(r) => r.getid().map(|id| (format!("{k}_id"), Value::String(id))),
            })
            .collect()
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn urlencode(pairs: &[(String, Value)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (k.clone(), as_text(v))))
        .finish()
}

fn python_repr(pairs: &[(String, Value)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("'{k}': '{s}'"),
            other => format!("'{k}': {other}"),
        })
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// A manager of a RESTful collection (Python's `CrudManager`):
/// `/<collection_key>` and `/<collection_key>/<key>_id`.
#[derive(Clone, Debug)]
pub struct CrudManager {
    manager: Manager,
    collection_key: &'static str,
    key: &'static str,
    update_verb: crate::api::UpdateVerb,
}

impl CrudManager {
    /// A manager of `collection_key` (e.g. `servers`) whose items are under `key` (`server`).
    pub fn new(
        client: BaseClient,
        meta: ResourceMeta,
        collection_key: &'static str,
        key: &'static str,
    ) -> Arc<Self> {
        Self::with_update_verb(
            client,
            meta,
            collection_key,
            key,
            crate::api::UpdateVerb::Patch,
        )
    }

    /// The same manager with `update` sent as `verb` (the reference's
    /// `PATCH` is the default; Nova-shaped APIs update with `PUT`).
    pub fn with_update_verb(
        client: BaseClient,
        meta: ResourceMeta,
        collection_key: &'static str,
        key: &'static str,
        verb: crate::api::UpdateVerb,
    ) -> Arc<Self> {
        Arc::new_cyclic(|weak: &std::sync::Weak<CrudManager>| {
            let loader: Arc<dyn Loader> = Arc::new(WeakLoader(weak.clone()));
            CrudManager {
                manager: Manager::new(client, meta).with_loader(loader),
                collection_key,
                key,
                update_verb: verb,
            }
        })
    }

    /// The helpers underneath.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    fn key_id(&self) -> String {
        format!("{}_id", self.key)
    }

    /// `base_url + "/" + collection_key`, plus `"/" + <key>_id` when given.
    pub fn build_url(&self, base_url: Option<&str>, params: &[(String, Value)]) -> String {
        let mut url = format!("{}/{}", base_url.unwrap_or(""), self.collection_key);
        if let Some((_, id)) = params.iter().find(|(k, _)| *k == self.key_id()) {
            url.push('/');
            url.push_str(&as_text(id));
        }
        url
    }

    fn query_url(&self, base_url: Option<&str>, params: &[(String, Value)]) -> String {
        let url = self.build_url(base_url, params);
        if params.is_empty() {
            url
        } else {
            format!("{url}?{}", urlencode(params))
        }
    }

    /// POST `{key: params}` to the collection (the parameters in their
    /// order).
    pub async fn create(&self, params: Params) -> Result<Resource, Error> {
        let p = params.filtered();
        let url = self.build_url(None, &p);
        let body = Wrapped {
            key: Some(self.key),
            value: &Fields::new(p),
        };
        let raw = self
            .manager
            .post_raw_of(&url, &body, Some(self.key))
            .await?;
        Ok(self.manager.resource(raw, false))
    }

    /// GET one (`<key>_id` required in `params`).
    pub async fn get(&self, params: Params) -> Result<Resource, Error> {
        let p = params.filtered();
        self.manager
            .get(&self.build_url(None, &p), Some(self.key))
            .await
    }

    /// HEAD one: true on 204.
    pub async fn head(&self, params: Params) -> Result<bool, Error> {
        self.manager
            .head(&self.build_url(None, &params.filtered()))
            .await
    }

    /// GET the collection with every parameter in the query string.
    pub async fn list(
        &self,
        base_url: Option<&str>,
        params: Params,
    ) -> Result<Vec<Resource>, Error> {
        let p = params.filtered();
        self.manager
            .list(
                &self.query_url(base_url, &p),
                Some(self.collection_key),
                None,
            )
            .await
    }

    /// PUT with no body (the reference's `put`).
    pub async fn put(
        &self,
        base_url: Option<&str>,
        params: Params,
    ) -> Result<Option<Resource>, Error> {
        self.manager
            .put(&self.build_url(base_url, &params.filtered()), None, None)
            .await
    }

    /// PUT `body` (sent as `{key: body}`) to the item of `params`' `<key>_id`
    /// (or the collection); the resource the server answers with, if any.
    pub async fn put_body(
        &self,
        base_url: Option<&str>,
        params: Params,
        body: &Value,
    ) -> Result<Option<Resource>, Error> {
        let wrapped = json!({ self.key: body });
        self.manager
            .put(
                &self.build_url(base_url, &params.filtered()),
                Some(&wrapped),
                Some(self.key),
            )
            .await
    }

    /// Update with `{key: params minus <key>_id}` by the manager's verb
    /// (`PATCH` unless made with [`with_update_verb`](Self::with_update_verb));
    /// `<key>_id` is required.
    pub async fn update(&self, params: Params) -> Result<Resource, Error> {
        let p = params.filtered();
        let key_id = self.key_id();
        if !p.iter().any(|(k, _)| *k == key_id) {
            return Err(Error::MissingArgs {
                missing: vec![key_id],
            });
        }
        let url = self.build_url(None, &p);
        let fields = Fields::new(p.into_iter().filter(|(k, _)| *k != key_id));
        let body = Wrapped {
            key: Some(self.key),
            value: &fields,
        };
        match self.update_verb {
            crate::api::UpdateVerb::Patch => {
                self.manager
                    .patch_of(&url, Some(&body), Some(self.key))
                    .await
            }
            crate::api::UpdateVerb::Put => self
                .manager
                .put_of(&url, Some(&body), Some(self.key))
                .await?
                .ok_or_else(|| Error::InvalidResponse {
                    message: format!("the update answered no '{}'", self.key),
                    url,
                    source: None,
                }),
        }
    }

    /// DELETE one.
    pub async fn delete(&self, params: Params) -> Result<ApiResponse, Error> {
        self.manager
            .delete(&self.build_url(None, &params.filtered()))
            .await
    }

    /// The one item the server's filter returns: NotFound "No `<Type>` matching
    /// {...}." for none, NoUniqueMatch for several.
    pub async fn find(&self, base_url: Option<&str>, params: Params) -> Result<Resource, Error> {
        let p = params.filtered();
        let mut found = self
            .manager
            .list(
                &self.query_url(base_url, &p),
                Some(self.collection_key),
                None,
            )
            .await?;
        exactly_one(&mut found, self.manager.meta(), &p)
    }
}

fn exactly_one(
    found: &mut Vec<Resource>,
    meta: ResourceMeta,
    p: &[(String, Value)],
) -> Result<Resource, Error> {
    match found.len() {
        0 => Err(HttpError::new(404)
            .with_message(format!("No {} matching {}.", meta.name, python_repr(p)))
            .into()),
        1 => Ok(found.remove(0)),
        n => Err(Ambiguous::new(meta.name, python_repr(p))
            .with_count(n)
            .into()),
    }
}

struct WeakLoader(std::sync::Weak<CrudManager>);

impl Loader for WeakLoader {
    fn load(&self, id: &str) -> BoxFuture<'_, Result<Resource, Error>> {
        let id = id.to_string();
        Box::pin(async move {
            let Some(m) = self.0.upgrade() else {
                return Err(Error::invalid(
                    InvalidKind::State,
                    "the manager of this resource is gone",
                ));
            };
            let key_id = m.key_id();
            m.get(Params::new().set(&key_id, id)).await
        })
    }

    fn last_request_id(&self) -> Option<String> {
        self.0
            .upgrade()
            .and_then(|m| m.manager.client().last_request_id())
    }
}

/// A manager that can list, and so find by attributes client-side (Python's `ManagerWithFind`).
pub trait ManagerWithFind: Send + Sync {
    /// The resource type.
    fn meta(&self) -> ResourceMeta;

    /// Every resource.
    fn list(&self) -> BoxFuture<'_, Result<Vec<Resource>, Error>>;

    /// Those whose attributes equal every filter (`human_id` is the computed
    /// slug); a resource without an attribute simply does not match.
    fn findall<'a>(
        &'a self,
        filters: &'a [(String, Value)],
    ) -> BoxFuture<'a, Result<Vec<Resource>, Error>> {
        Box::pin(async move {
            let all = self.list().await?;
            Ok(all
                .into_iter()
                .filter(|r| matches_all(r, filters))
                .collect())
        })
    }

    /// Exactly one match, else NotFound / NoUniqueMatch.
    fn find<'a>(
        &'a self,
        filters: &'a [(String, Value)],
    ) -> BoxFuture<'a, Result<Resource, Error>> {
        Box::pin(async move {
            let mut found = self.findall(filters).await?;
            exactly_one(&mut found, self.meta(), filters)
        })
    }
}

fn matches_all(r: &Resource, filters: &[(String, Value)]) -> bool {
    filters.iter().all(|(k, v)| {
        if k == "human_id" {
            return r.human_id().map(Value::String).as_ref() == Some(v);
        }
        r.attr(k) == Some(v)
    })
}

/// What [`find_resource`] needs of a manager.
pub trait Findable: Send + Sync {
    /// The resource type.
    fn meta(&self) -> ResourceMeta;
    /// Get by id.
    fn get_by_id<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Resource, Error>>;
    /// Exactly one resource matching the filters (NotFound / NoUniqueMatch).
    fn find_by<'a>(
        &'a self,
        filters: Vec<(String, Value)>,
    ) -> BoxFuture<'a, Result<Resource, Error>>;
    /// Whether non-numeric, non-UUID ids are tried with `get` (Python's `is_alphanum_id_allowed`).
    fn is_alphanum_id_allowed(&self) -> bool {
        false
    }
}

impl Findable for CrudManager {
    fn meta(&self) -> ResourceMeta {
        self.manager.meta()
    }

    fn get_by_id<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Resource, Error>> {
        Box::pin(async move { self.get(Params::new().set(&self.key_id(), id)).await })
    }

    fn find_by<'a>(
        &'a self,
        filters: Vec<(String, Value)>,
    ) -> BoxFuture<'a, Result<Resource, Error>> {
        Box::pin(async move {
            // human_id is computed on the client: filter the full list for it.
            if filters.iter().any(|(k, _)| k == "human_id") {
                let mut all = self.list(None, Params::new()).await?;
                all.retain(|r| matches_all(r, &filters));
                return exactly_one(&mut all, self.meta(), &filters);
            }
            let params = filters
                .into_iter()
                .fold(Params::new(), |p, (k, v)| p.set(&k, v));
            self.find(None, params).await
        })
    }
}

/// Whether `v` looks like a UUID (any case; `urn:`, `uuid:`, braces and dashes ignored).
pub fn is_uuid_like(v: &str) -> bool {
    let s = v.to_ascii_lowercase();
    let s = s.trim_start_matches("urn:").trim_start_matches("uuid:");
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, '{' | '}' | '-'))
        .collect();
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// Find a resource by integer id, UUID, alphanumeric id (when allowed),
/// human id, then name (Python's `utils.find_resource`).
///
/// None found is a 404-kind error (`is_not_found()`, its message the
/// reference's "No server with a name or ID of 'x' exists."), more than one
/// [`Error::NoUniqueMatch`], as [`Api::find`](crate::Api::find). (Python
/// raises `CommandError` for both.)
pub async fn find_resource(manager: &dyn Findable, name_or_id: &str) -> Result<Resource, Error> {
    let lower = manager.meta().name.to_ascii_lowercase();
    if name_or_id.parse::<i64>().is_ok() {
        match manager.get_by_id(name_or_id).await {
            Err(e) if e.is_not_found() => {}
            other => return other,
        }
    }
    if is_uuid_like(name_or_id) {
        return manager.get_by_id(name_or_id).await;
    }
    if manager.is_alphanum_id_allowed() {
        match manager.get_by_id(name_or_id).await {
            Err(e) if e.is_not_found() => {}
            other => return other,
        }
    }
    let multiple = || Error::from(Ambiguous::new(lower.clone(), format!("'{name_or_id}'")));
    if manager.meta().human_id {
        match manager
            .find_by(vec![("human_id".into(), Value::String(name_or_id.into()))])
            .await
        {
            Ok(r) => return Ok(r),
            Err(Error::NoUniqueMatch(_)) => return Err(multiple()),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    match manager
        .find_by(vec![(
            manager.meta().name_attr.into(),
            Value::String(name_or_id.into()),
        )])
        .await
    {
        Ok(r) => Ok(r),
        Err(Error::NoUniqueMatch(_)) => Err(multiple()),
        Err(e) if e.is_not_found() => Err(Error::from(HttpError::new(404).with_message(format!(
            "No {lower} with a name or ID of '{name_or_id}' exists."
        )))),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_like() {
        assert!(is_uuid_like("8d4e0c2c-8b3a-4a6e-9f5e-1c2d3e4f5a6b"));
        assert!(is_uuid_like("8D4E0C2C8B3A4A6E9F5E1C2D3E4F5A6B"));
        assert!(is_uuid_like(
            "urn:uuid:{8d4e0c2c-8b3a-4a6e-9f5e-1c2d3e4f5a6b}"
        ));
        assert!(!is_uuid_like("8d4e0c2c"));
        assert!(!is_uuid_like("zz4e0c2c8b3a4a6e9f5e1c2d3e4f5a6b"));
    }

    #[test]
    fn repr_like_python() {
        let p = vec![
            ("name".to_string(), Value::from("x")),
            ("n".to_string(), Value::from(1)),
        ];
        assert_eq!(python_repr(&p), "{'name': 'x', 'n': 1}");
    }
}
