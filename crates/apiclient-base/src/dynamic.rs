//! [`DynamicResource`]: a resource of a type known only at run time, kept
//! as the JSON object the service sent (as kube's `DynamicObject`).

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

use apiclient_errors::{Error, InvalidKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use apiclient_http::ServiceClient;

use crate::api::{Api, ApiObject, ResourceInfo};

/// A resource of a type known only at run time: the JSON object of one
/// resource, managed by an [`Api<DynamicResource>`](crate::Api::dynamic)
/// whose [`ResourceInfo`] describes its collection. Its members are read
/// through [`Deref`] to the object (`get`, `contains_key`, `iter`, ...);
/// [`id`](Self::id) and [`name`](Self::name) read `id` and `name`.
///
/// It serializes as the object itself, so it can be the body of a create
/// or an update (the [`Api`](crate::Api) wraps it as the collection says).
///
/// ```
/// use apiclient_base::{DynamicResource, InvalidKind};
/// use serde::Deserialize;
/// use serde_json::json;
///
/// let server = DynamicResource::try_from(json!({"id": "s-1", "name": "web-1", "status": "ACTIVE"})).unwrap();
/// assert_eq!(server.id(), Some("s-1"));
/// assert_eq!(server.name(), Some("web-1"));
/// assert_eq!(server.get_str("status"), Some("ACTIVE"));
///
/// // into a typed struct, when the type is known after all
/// #[derive(Deserialize)]
/// struct Server { id: String, status: String }
/// let typed: Server = server.try_parse().unwrap();
/// assert_eq!((typed.id.as_str(), typed.status.as_str()), ("s-1", "ACTIVE"));
///
/// // a resource is an object
/// let e = DynamicResource::try_from(json!(["not", "an", "object"])).unwrap_err();
/// assert_eq!(e.invalid_kind(), Some(InvalidKind::Shape));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DynamicResource(Map<String, Value>);

impl DynamicResource {
    /// An empty resource (`{}`), to fill as a create's body.
    pub fn new() -> Self {
        DynamicResource::default()
    }

    /// The `id` member, if it is a string. (A collection whose id field is
    /// another, such as Placement's `uuid`, reads it with
    /// [`get_str`](Self::get_str); a listing pages by the
    /// [`ResourceInfo::id_field`] of its collection.)
    pub fn id(&self) -> Option<&str> {
        self.get_str("id")
    }

    /// The `name` member, if it is a string: what [`Api::find`](crate::Api::find)
    /// matches.
    pub fn name(&self) -> Option<&str> {
        self.get_str("name")
    }

    /// The `status` member, if it is a string: what the waiters
    /// ([`Api::wait_for_status`](crate::Api::wait_for_status)) read.
    pub fn status(&self) -> Option<&str> {
        self.get_str("status")
    }

    /// Why the resource failed, if it says: the `message` of a `fault`
    /// object (Nova's servers), a `fault` string, else a `status_reason`
    /// string (Magnum, Octavia's amphorae); what a waiter's
    /// [`WaitError::FailureState`](crate::wait::WaitError::FailureState)
    /// carries.
    pub fn fault(&self) -> Option<&str> {
        match self.0.get("fault") {
            Some(Value::Object(f)) => f.get("message").and_then(Value::as_str),
            Some(Value::String(s)) => Some(s),
            _ => self.get_str("status_reason"),
        }
    }

    /// The member `key`, if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// The member `key` as a `V`: `Ok(None)` when there is none (or it is
    /// `null`), an [`InvalidKind::Shape`] error when it is not a `V`.
    pub fn get_as<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => V::deserialize(v).map(Some).map_err(|e| {
                Error::invalid(
                    InvalidKind::Shape,
                    format!("the member '{key}' is not of the type asked for: {e}"),
                )
            }),
        }
    }

    /// The whole resource as a typed `T` (an [`InvalidKind::Shape`] error
    /// when it is not one).
    pub fn try_parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&self.0).map_err(|e| {
            Error::invalid(
                InvalidKind::Shape,
                format!("the resource is not of the type asked for: {e}"),
            )
        })
    }

    /// The JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The JSON object, owned.
    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

impl Deref for DynamicResource {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl DerefMut for DynamicResource {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.0
    }
}

impl From<Map<String, Value>> for DynamicResource {
    fn from(object: Map<String, Value>) -> Self {
        DynamicResource(object)
    }
}

impl From<DynamicResource> for Value {
    fn from(resource: DynamicResource) -> Self {
        Value::Object(resource.0)
    }
}

impl TryFrom<Value> for DynamicResource {
    type Error = Error;

    /// The resource of a JSON object; anything else is an
    /// [`InvalidKind::Shape`] error.
    fn try_from(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(object) => Ok(DynamicResource(object)),
            other => Err(Error::invalid(
                InvalidKind::Shape,
                format!(
                    "a resource is a JSON object, not {}",
                    match other {
                        Value::Null => "null",
                        Value::Bool(_) => "a boolean",
                        Value::Number(_) => "a number",
                        Value::String(_) => "a string",
                        Value::Array(_) => "an array",
                        Value::Object(_) => "an object",
                    }
                ),
            )),
        }
    }
}

impl Api<DynamicResource> {
    /// The manager of a resource type known only at run time, its
    /// collection described by `info`: each resource a
    /// [`DynamicResource`] (a JSON object), every call as a typed `Api`'s.
    ///
    /// ```no_run
    /// use apiclient_base::{Api, Error, ResourceInfo, ServiceClient};
    ///
    /// async fn rename(compute: ServiceClient) -> Result<(), Error> {
    ///     let servers = Api::dynamic(compute, ResourceInfo::new("server", "servers"));
    ///     let web = servers.find("web-1").await?; // by id, else by exact name
    ///     let id = web.id().unwrap_or_default();
    ///     let renamed = servers.update(id, &serde_json::json!({"name": "web-2"})).await?;
    ///     println!("{:?} is {:?}", renamed.name(), renamed.get("status"));
    ///     Ok(())
    /// }
    /// ```
    pub fn dynamic(client: ServiceClient, info: ResourceInfo) -> Self {
        Self::with_info(client, info)
    }
}

impl ApiObject for DynamicResource {}

impl crate::api::sealed::Sealed for DynamicResource {
    /// The member `info.id_field`: a string, or a number as its text
    /// (Nova's aggregates have integer ids).
    fn object_id(&self, info: &ResourceInfo) -> Option<Cow<'_, str>> {
        match self.0.get(&*info.id_field)? {
            Value::String(s) => Some(Cow::Borrowed(s)),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    }

    fn object_name(&self) -> Option<&str> {
        self.name()
    }

    fn object_status(&self) -> Option<&str> {
        self.status()
    }

    fn object_fault(&self) -> Option<&str> {
        self.fault()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::sealed::Sealed;
    use serde_json::json;

    fn resource(v: Value) -> DynamicResource {
        match DynamicResource::try_from(v) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn ids_of_strings_and_numbers_by_the_collection_id_field() {
        let servers = ResourceInfo::new("server", "servers");
        let providers =
            ResourceInfo::new("resource_provider", "resource_providers").id_field("uuid");
        let aggregate = resource(json!({"id": 7, "name": "agg"}));
        assert_eq!(aggregate.object_id(&servers).as_deref(), Some("7"));
        assert_eq!(aggregate.id(), None);
        let rp = resource(json!({"uuid": "u-1", "name": "rp"}));
        assert_eq!(rp.object_id(&providers).as_deref(), Some("u-1"));
        assert_eq!(rp.object_id(&servers), None);
        assert_eq!(rp.object_name(), Some("rp"));
        assert_eq!(resource(json!({"id": null})).object_id(&servers), None);
    }

    #[test]
    fn status_and_fault_of_each_shape() {
        let nova = resource(
            json!({"status": "ERROR", "fault": {"code": 500, "message": "No valid host"}}),
        );
        assert_eq!(nova.object_status(), Some("ERROR"));
        assert_eq!(nova.object_fault(), Some("No valid host"));
        let text = resource(json!({"status": "error", "fault": "disk full"}));
        assert_eq!(text.fault(), Some("disk full"));
        let reason = resource(json!({"status": "CREATE_FAILED", "status_reason": "quota"}));
        assert_eq!(reason.fault(), Some("quota"));
        let cinder = resource(json!({"status": "available"}));
        assert_eq!((cinder.status(), cinder.fault()), (Some("available"), None));
        let odd = resource(json!({"status": 3, "fault": {"code": 1}}));
        assert_eq!((odd.status(), odd.fault()), (None, None));
    }

    #[test]
    fn typed_reads_and_shape_errors() {
        let r = resource(json!({"id": "a", "ram": 512, "tags": ["x"], "gone": null}));
        assert_eq!(r.get_as::<u64>("ram").ok().flatten(), Some(512));
        assert_eq!(
            r.get_as::<Vec<String>>("tags").ok().flatten(),
            Some(vec!["x".to_string()])
        );
        assert!(matches!(r.get_as::<u64>("missing"), Ok(None)));
        assert!(matches!(r.get_as::<u64>("gone"), Ok(None)));
        let e = r.get_as::<u64>("tags").err();
        assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Shape));
        let e = r.try_parse::<Vec<u8>>().err();
        assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Shape));
        for v in [json!(null), json!(1), json!("s"), json!([]), json!(true)] {
            let e = DynamicResource::try_from(v).err();
            assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Shape));
        }
    }

    #[test]
    fn serializes_as_the_object_and_edits_through_deref() {
        let mut r = DynamicResource::new();
        r.insert("name".into(), json!("web-1"));
        assert_eq!(r.name(), Some("web-1"));
        assert_eq!(
            serde_json::to_value(&r).ok(),
            Some(json!({"name": "web-1"}))
        );
        let back: Result<DynamicResource, _> = serde_json::from_value(json!({"id": "x"}));
        assert_eq!(
            back.ok().and_then(|b| b.id().map(str::to_string)),
            Some("x".into())
        );
        assert!(serde_json::from_value::<DynamicResource>(json!([1])).is_err());
        assert_eq!(Value::from(r), json!({"name": "web-1"}));
    }
}
