//! [`DynamicResource`]: a resource of a type known only at run time, kept
//! as the JSON object the service sent (as kube's `DynamicObject`).
//!
//! A resource decoded from JSON keeps the text of its object, verbatim
//! (a [`RawValue`]), and builds the `serde_json::Map` of it only when the
//! map itself is asked for: a `Map` is some fifteen times the size of its
//! text (a tree node per member, a `String` per key and per value), which a
//! listing of a hundred thousand resources could not afford.

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use apiclient_errors::{Error, InvalidKind};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
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
/// What it keeps: a resource decoded from JSON (a listing's, a `get`'s)
/// keeps the text of its object as the service sent it, about the size of
/// that text, and [`id`](Self::id), [`name`](Self::name),
/// [`status`](Self::status), [`fault`](Self::fault),
/// [`get_str`](Self::get_str), [`get_as`](Self::get_as) and
/// [`try_parse`](Self::try_parse) read that text. The map (a
/// `serde_json::Map`, some fifteen times the size of the text) is built the
/// first time it is touched, and then kept beside the text: through
/// [`Deref`] (`get`, `iter`, `contains_key`, ...), [`as_map`](Self::as_map),
/// [`into_map`](Self::into_map), or [`get_str`](Self::get_str) and its kin
/// when the string asked for has an escape (`\"`, `\u00e9`) in the text. An
/// edit through [`DerefMut`] (`insert`, `remove`, ...) makes the map the
/// resource and drops the text. Until then, it serializes to JSON as the
/// very text it was decoded from.
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
///
/// // decoded from JSON, it keeps the text, and writes it back as it came
/// let text = r#"{"id": "s-2", "name": "web-2"}"#;
/// let server: DynamicResource = serde_json::from_str(text).unwrap();
/// assert_eq!(server.name(), Some("web-2")); // (read from the text)
/// assert_eq!(serde_json::to_string(&server).unwrap(), text);
/// ```
#[derive(Clone, Default)]
pub struct DynamicResource {
    /// The object's JSON text, as decoded: the resource while it is `Some`
    /// (until an edit through [`DerefMut`]).
    raw: Option<Box<RawValue>>,
    /// The map of `raw`, built the first time it is asked for (unused when
    /// `raw` is `None`). Boxed, as is `object`: the resource stays a few
    /// words, whatever the size of a `Map` (an `IndexMap` under serde_json's
    /// `preserve_order`).
    parsed: OnceLock<Box<Map<String, Value>>>,
    /// The resource when `raw` is `None` (`None`: `{}`, nothing allocated).
    object: Option<Box<Map<String, Value>>>,
}

/// The map of `raw`, an object's text.
///
/// `raw` was checked to be a JSON object when it was decoded (it is text
/// serde_json read, and began with `{`), so this does not fail; were it to,
/// the map would be empty, and the resource would still serialize as its
/// text.
fn object_of(raw: &RawValue) -> Map<String, Value> {
    serde_json::from_str(raw.get()).unwrap_or_default()
}

/// `{}`, for a resource that has no map of its own.
fn empty() -> &'static Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

impl DynamicResource {
    /// An empty resource (`{}`), to fill as a create's body.
    pub fn new() -> Self {
        DynamicResource::default()
    }

    /// The text, when the map is not built: what the readers read instead.
    fn unbuilt(&self) -> Option<&RawValue> {
        match (&self.raw, self.parsed.get()) {
            (Some(raw), None) => Some(raw),
            _ => None,
        }
    }

    /// The map if it is built, else one built for the moment (not kept).
    fn map_or_temporary(&self) -> Cow<'_, Map<String, Value>> {
        match self.unbuilt() {
            Some(raw) => Cow::Owned(object_of(raw)),
            None => Cow::Borrowed(self.as_map()),
        }
    }

    /// Whether the map is built (or is the resource).
    #[cfg(test)]
    pub(crate) fn is_materialized(&self) -> bool {
        self.unbuilt().is_none()
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
        if let Some(answer) = self.unbuilt().and_then(fault_in) {
            return answer;
        }
        match self.as_map().get("fault") {
            Some(Value::Object(f)) => f.get("message").and_then(Value::as_str),
            Some(Value::String(s)) => Some(s),
            _ => self.get_str("status_reason"),
        }
    }

    /// The member `key`, if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        if let Some(answer) = self.unbuilt().and_then(|raw| str_in(raw, key)) {
            return answer;
        }
        self.as_map().get(key).and_then(Value::as_str)
    }

    /// The member `key` as a `V`: `Ok(None)` when there is none (or it is
    /// `null`), an [`InvalidKind::Shape`] error when it is not a `V`.
    pub fn get_as<V: DeserializeOwned>(&self, key: &str) -> Result<Option<V>, Error> {
        let shape = |e: serde_json::Error| {
            Error::invalid(
                InvalidKind::Shape,
                format!("the member '{key}' is not of the type asked for: {e}"),
            )
        };
        if let Some(Ok(found)) = self.unbuilt().map(|raw| member(raw, key)) {
            return match found {
                None => Ok(None),
                Some(v) if v.get() == "null" => Ok(None),
                Some(v) => serde_json::from_str(v.get()).map(Some).map_err(shape),
            };
        }
        match self.as_map().get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => V::deserialize(v).map(Some).map_err(shape),
        }
    }

    /// The whole resource as a typed `T` (an [`InvalidKind::Shape`] error
    /// when it is not one).
    pub fn try_parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let parsed = match &self.raw {
            Some(raw) => serde_json::from_str(raw.get()),
            None => T::deserialize(self.as_map()),
        };
        parsed.map_err(|e| {
            Error::invalid(
                InvalidKind::Shape,
                format!("the resource is not of the type asked for: {e}"),
            )
        })
    }

    /// The JSON object (built from the text, and kept, the first time it
    /// is asked for).
    pub fn as_map(&self) -> &Map<String, Value> {
        match (&self.raw, &self.object) {
            (Some(raw), _) => self.parsed.get_or_init(|| Box::new(object_of(raw))),
            (None, Some(object)) => object,
            (None, None) => empty(),
        }
    }

    /// The JSON object, owned.
    pub fn into_map(self) -> Map<String, Value> {
        match self.raw {
            Some(raw) => self
                .parsed
                .into_inner()
                .map_or_else(|| object_of(&raw), |parsed| *parsed),
            None => self.object.map(|object| *object).unwrap_or_default(),
        }
    }
}

/// The text of the member `key` of `raw`, an object's text (the last, if
/// the key is repeated, as in its map), nothing built: the other members
/// are skipped.
fn member<'a>(raw: &'a RawValue, key: &str) -> Result<Option<&'a RawValue>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let found = de.deserialize_map(MemberText { key })?;
    de.end()?;
    Ok(found)
}

/// Finds the text of the member `key` of an object.
struct MemberText<'k> {
    key: &'k str,
}

impl<'de> Visitor<'de> for MemberText<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(ours) = map.next_key_seed(KeyIs(self.key))? {
            if ours {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether a key is this one (unescaped, compared without a copy).
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// What the text `v` says as a string: `Some(Some(s))` for a string
/// without escapes (`s` is its text), `Some(None)` for anything but a
/// string, `None` for a string with an escape (only the map has it
/// unescaped).
fn plain_str(v: &RawValue) -> Option<Option<&str>> {
    let text = v.get();
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        None => Some(None),
        Some(s) if s.contains('\\') => None,
        Some(s) => Some(Some(s)),
    }
}

/// [`DynamicResource::get_str`] read from the text: `None` when only the
/// map can say.
fn str_in<'a>(raw: &'a RawValue, key: &str) -> Option<Option<&'a str>> {
    match member(raw, key).ok()? {
        None => Some(None),
        Some(v) => plain_str(v),
    }
}

/// [`DynamicResource::fault`] read from the text: `None` when only the map
/// can say.
fn fault_in(raw: &RawValue) -> Option<Option<&str>> {
    match member(raw, "fault").ok()? {
        Some(f) if f.get().starts_with('{') => str_in(f, "message"),
        Some(f) => match plain_str(f)? {
            Some(s) => Some(Some(s)),
            None => str_in(raw, "status_reason"),
        },
        None => str_in(raw, "status_reason"),
    }
}

impl Deref for DynamicResource {
    type Target = Map<String, Value>;

    /// The JSON object ([`as_map`](DynamicResource::as_map): built, and
    /// kept, the first time).
    fn deref(&self) -> &Map<String, Value> {
        self.as_map()
    }
}

impl DerefMut for DynamicResource {
    /// The JSON object, to edit: from now on the map is the resource (the
    /// text it was decoded from is dropped).
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        if let Some(raw) = self.raw.take() {
            let parsed = self.parsed.take();
            self.object = Some(parsed.unwrap_or_else(|| Box::new(object_of(&raw))));
        }
        self.object.get_or_insert_with(Box::default)
    }
}

impl fmt::Debug for DynamicResource {
    /// The object (built for the moment if it is not, and not kept).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DynamicResource")
            .field(&*self.map_or_temporary())
            .finish()
    }
}

impl PartialEq for DynamicResource {
    /// The same object: the same members (in any order), equal values.
    fn eq(&self, other: &Self) -> bool {
        let same_text = matches!((&self.raw, &other.raw), (Some(a), Some(b)) if a.get() == b.get());
        same_text || *self.map_or_temporary() == *other.map_or_temporary()
    }
}

/// Whether `S` is one of serde_json's serializers (`serde_json::to_*`,
/// `to_value`): those write a [`RawValue`] as its text. Any other format
/// would write it as a struct of serde_json's own, so it is given the map.
/// (The type's name is only a hint: were it to miss, the resource would
/// still serialize as the same object, from its map.)
fn writes_raw_json<S>() -> bool {
    std::any::type_name::<S>()
        .trim_start_matches("&mut ")
        .starts_with("serde_json::")
}

impl Serialize for DynamicResource {
    /// The object: to JSON, the text it was decoded from as it is, until
    /// an edit; else its map.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.raw {
            Some(raw) if writes_raw_json::<S>() => raw.serialize(serializer),
            Some(_) => self.map_or_temporary().serialize(serializer),
            None => self.as_map().serialize(serializer),
        }
    }
}

/// The name serde_json gives the [`RawValue`] it deserializes: asked for a
/// newtype struct of this name, serde_json's deserializers (`from_slice`,
/// `from_str`, `from_reader`, `from_value`) hand over the text of the value
/// (a map of one member, this name, whose value is the text), any other
/// deserializer the value itself. Were serde_json to change it, a resource
/// would be decoded into its map, as any other format's is.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl<'de> Deserialize<'de> for DynamicResource {
    /// A JSON object: from serde_json, its text, kept as it is (checked by
    /// serde_json, not built); from any other format, its map. Anything but
    /// an object is refused, as a `serde_json::Map` refuses it.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(RAW_VALUE_TOKEN, ResourceVisitor)
    }
}

/// A resource from serde_json's text of it, or from a map.
struct ResourceVisitor;

impl<'de> Visitor<'de> for ResourceVisitor {
    type Value = DynamicResource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // (as serde_json's `Map` says)
        f.write_str("a map")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Map::deserialize(d).map(DynamicResource::from)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(DynamicResource::new());
        };
        if first == RAW_VALUE_TOKEN {
            let text: String = map.next_value()?;
            return from_text(text).map_err(de::Error::custom);
        }
        let mut object = Map::new();
        object.insert(first, map.next_value()?);
        while let Some((key, value)) = map.next_entry()? {
            object.insert(key, value);
        }
        Ok(DynamicResource::from(object))
    }
}

/// The resource of `text`, serde_json's text of one value: refused unless
/// it is an object (with the error a `Map` would give).
fn from_text(text: String) -> Result<DynamicResource, serde_json::Error> {
    let raw = RawValue::from_string(text)?;
    if raw.get().starts_with('{') {
        return Ok(DynamicResource {
            raw: Some(raw),
            ..DynamicResource::default()
        });
    }
    let value: Value = serde_json::from_str(raw.get())?;
    Map::deserialize(value).map(DynamicResource::from)
}

impl From<Map<String, Value>> for DynamicResource {
    fn from(object: Map<String, Value>) -> Self {
        DynamicResource {
            object: Some(Box::new(object)),
            ..DynamicResource::default()
        }
    }
}

impl From<DynamicResource> for Value {
    fn from(resource: DynamicResource) -> Self {
        Value::Object(resource.into_map())
    }
}

impl TryFrom<Value> for DynamicResource {
    type Error = Error;

    /// The resource of a JSON object; anything else is an
    /// [`InvalidKind::Shape`] error.
    fn try_from(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(object) => Ok(DynamicResource::from(object)),
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
        if let Some(Ok(found)) = self.unbuilt().map(|raw| member(raw, &info.id_field)) {
            let v = found?;
            match plain_str(v) {
                Some(Some(s)) => return Some(Cow::Borrowed(s)),
                // (a number's text as serde_json writes it, as from the map)
                Some(None) => {
                    return serde_json::from_str::<serde_json::Number>(v.get())
                        .ok()
                        .map(|n| Cow::Owned(n.to_string()));
                }
                None => {}
            }
        }
        match self.as_map().get(&*info.id_field)? {
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

#[cfg(test)]
mod raw_tests {
    use super::*;
    use crate::api::sealed::Sealed;
    use serde_json::json;

    /// A resource decoded from `text`, as a listing decodes one.
    fn decoded(text: &str) -> DynamicResource {
        match serde_json::from_str::<DynamicResource>(text) {
            Ok(r) => r,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    const SERVER: &str = r#"{ "status": "ERROR", "id": "s-1",
        "name": "web-1", "fault": {"code": 500, "message": "No valid host"},
        "ram": 512, "tags": ["x"], "gone": null, "ratio": 1.5e0 }"#;

    #[test]
    fn readers_of_an_untouched_resource_do_not_build_the_map() {
        let servers = ResourceInfo::new("server", "servers");
        let r = decoded(SERVER);
        assert!(!r.is_materialized());
        assert_eq!(
            (r.id(), r.name(), r.status(), r.fault()),
            (
                Some("s-1"),
                Some("web-1"),
                Some("ERROR"),
                Some("No valid host")
            )
        );
        assert_eq!(r.get_str("ram"), None);
        assert_eq!(r.get_str("missing"), None);
        assert_eq!(r.get_as::<u64>("ram").ok().flatten(), Some(512));
        assert_eq!(r.get_as::<f64>("ratio").ok().flatten(), Some(1.5));
        assert_eq!(
            r.get_as::<Vec<String>>("tags").ok().flatten(),
            Some(vec!["x".to_string()])
        );
        assert!(matches!(r.get_as::<u64>("gone"), Ok(None)));
        assert!(matches!(r.get_as::<u64>("missing"), Ok(None)));
        let e = r.get_as::<u64>("tags").err();
        assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Shape));
        #[derive(Deserialize)]
        struct Server {
            id: String,
            ram: u32,
        }
        let typed: Option<Server> = r.try_parse().ok();
        assert_eq!(typed.map(|s| (s.id, s.ram)), Some(("s-1".to_string(), 512)));
        let e = r.try_parse::<Vec<u8>>().err();
        assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Shape));
        assert_eq!(r.object_id(&servers).as_deref(), Some("s-1"));
        assert_eq!(
            (r.object_name(), r.object_status(), r.object_fault()),
            (Some("web-1"), Some("ERROR"), Some("No valid host"))
        );
        // nor do Debug, equality, clone or serializing
        assert!(format!("{r:?}").contains("No valid host"));
        assert_eq!(r, r.clone());
        assert_eq!(r, decoded(SERVER));
        assert!(serde_json::to_string(&r).is_ok());
        assert!(!r.is_materialized());
        // the map is built when it is asked for, and kept
        assert_eq!(r.get("ram"), Some(&json!(512)));
        assert!(r.is_materialized());
        assert_eq!(r.name(), Some("web-1"));
        assert_eq!(r.object_id(&servers).as_deref(), Some("s-1"));
    }

    #[test]
    fn the_text_reads_as_the_map_does() {
        let servers = ResourceInfo::new("server", "servers");
        let cases = [
            json!({"id": 7, "name": "agg"}),
            json!({"id": -7.5e3}),
            json!({"id": null, "status": 3, "fault": {"code": 1}}),
            json!({"status": "error", "fault": "disk full"}),
            json!({"status": "CREATE_FAILED", "status_reason": "quota"}),
            json!({"status": "CREATE_FAILED", "fault": null, "status_reason": "quota"}),
            json!({"fault": {"message": 3}, "status_reason": "quota"}),
            json!({"fault": {"message": "a \"quoted\" caf\u{e9}"}}),
            json!({"name": "tab\there", "id": "slash/\\"}),
            json!({"nested": {"name": "inner"}, "list": [{"id": "x"}]}),
            json!({}),
        ];
        for v in cases {
            let map = DynamicResource::try_from(v.clone()).ok();
            let Some(map) = map else { panic!("{v}") };
            // escaped as Python's json.dumps does (ensure_ascii)
            let text = v.to_string().replace('\u{e9}', "\\u00e9");
            let raw = decoded(&text);
            assert_eq!(raw.object_id(&servers), map.object_id(&servers), "{v}");
            assert_eq!(
                (raw.id(), raw.name(), raw.status(), raw.fault()),
                (map.id(), map.name(), map.status(), map.fault()),
                "{v}"
            );
            assert_eq!(
                raw.get_as::<Value>("nested").ok(),
                map.get_as::<Value>("nested").ok()
            );
            assert_eq!(raw, map);
            assert_eq!(Value::from(raw), v);
        }
        // a key repeated: the last, as in the map
        let r = decoded(r#"{"name": "a", "name": "b"}"#);
        assert_eq!(r.name(), Some("b"));
        assert_eq!(r.as_map().get("name"), Some(&json!("b")));
        // an escaped key is the same key
        assert_eq!(decoded(r#"{"n\u0061me": "x"}"#).name(), Some("x"));
    }

    #[test]
    fn an_escaped_string_is_read_from_the_map() {
        let r = decoded(r#"{"name": "caf\u00e9 \"1\"", "id": "plain"}"#);
        assert_eq!(r.id(), Some("plain"));
        assert!(!r.is_materialized());
        assert_eq!(r.name(), Some("café \"1\""));
        assert!(r.is_materialized());
    }

    #[test]
    fn an_untouched_resource_serializes_as_its_text() {
        let text =
            "{\"zeta\" : 1.50, \"alpha\":[1e2, -0],\n \"name\": \"caf\\u00e9\\/x\", \"zeta\": 2}";
        let r = decoded(text);
        assert_eq!(serde_json::to_string(&r).ok().as_deref(), Some(text));
        assert_eq!(
            serde_json::to_string(&vec![r.clone(), r.clone()]).ok(),
            Some(format!("[{text},{text}]"))
        );
        let wrapped = crate::json::to_vec(Some("server"), &r, "body").ok();
        assert_eq!(wrapped, Some(format!("{{\"server\":{text}}}").into_bytes()));
        // to a Value, as the map is
        assert_eq!(
            serde_json::to_value(&r).ok(),
            serde_json::from_str::<Value>(text).ok()
        );
        assert!(!r.is_materialized());
        // built but not edited: still the text
        let _ = r.as_map();
        assert_eq!(serde_json::to_string(&r).ok().as_deref(), Some(text));
        assert!(writes_raw_json::<&mut serde_json::Serializer<Vec<u8>>>());
        assert!(writes_raw_json::<serde_json::value::Serializer>());
        assert!(!writes_raw_json::<&mut fmt::Formatter<'_>>());
    }

    #[test]
    fn an_edit_makes_the_map_the_resource() {
        let mut r = decoded(r#"{"id": "s-1", "name": "web-1"}"#);
        r.insert("name".into(), json!("web-2"));
        r.remove("id");
        assert!(r.is_materialized());
        assert_eq!((r.id(), r.name()), (None, Some("web-2")));
        assert_eq!(
            serde_json::to_string(&r).ok().as_deref(),
            Some(r#"{"name":"web-2"}"#)
        );
        assert_eq!(
            r,
            DynamicResource::try_from(json!({"name": "web-2"}))
                .ok()
                .unwrap_or_default()
        );
        // built first, then edited
        let mut r = decoded(r#"{"id": "s-1"}"#);
        assert!(r.contains_key("id"));
        r.insert("status".into(), json!("ACTIVE"));
        assert_eq!(
            serde_json::to_value(&r).ok(),
            Some(json!({"id": "s-1", "status": "ACTIVE"}))
        );
        assert_eq!(r.clone().into_map().len(), 2);
        // an empty one, edited
        let mut e = DynamicResource::default();
        assert!(e.is_empty());
        e.insert("a".into(), json!(1));
        assert_eq!(Value::from(e), json!({"a": 1}));
    }

    #[test]
    fn text_and_map_resources_compare_as_objects() {
        let raw = decoded(r#"{"b": [1, 2], "a": {"x": null}}"#);
        let map = DynamicResource::from(match json!({"a": {"x": null}, "b": [1, 2]}) {
            Value::Object(m) => m,
            _ => Map::new(),
        });
        assert_eq!(raw, map);
        assert_eq!(map, raw);
        assert_eq!(raw, decoded(r#"{"a":{"x":null},"b":[1,2]}"#));
        assert_ne!(raw, decoded(r#"{"a": {"x": null}, "b": [2, 1]}"#));
        assert_ne!(raw, DynamicResource::new());
        assert_eq!(decoded("{}"), DynamicResource::new());
        assert!(!raw.is_materialized());
        assert_eq!(raw.clone().into_map(), map.clone().into_map());
        // Debug shows the object as its map would (in the map's own order:
        // sorted, or the text's under serde_json's `preserve_order`)
        let same_map = DynamicResource::from(raw.clone().into_map());
        assert_eq!(format!("{raw:?}"), format!("{same_map:?}"));
        assert!(format!("{raw:?}").contains("\"x\": Null"));
    }

    #[test]
    fn anything_but_an_object_is_refused() {
        for text in ["[1]", "null", "1", "-2.5", "\"s\"", "true", " [] "] {
            let e = serde_json::from_str::<DynamicResource>(text).err();
            let Some(e) = e else {
                panic!("{text} was taken")
            };
            assert!(e.to_string().contains("expected a map"), "{text}: {e}");
            let v: Value = serde_json::from_str(text).unwrap_or_default();
            let e = serde_json::from_value::<DynamicResource>(v.clone()).err();
            assert!(
                e.is_some_and(|e| e.to_string().contains("expected a map")),
                "{text}"
            );
            let e = DynamicResource::try_from(v).err();
            assert_eq!(e.and_then(|e| e.invalid_kind()), Some(InvalidKind::Shape));
        }
        assert!(serde_json::from_str::<Vec<DynamicResource>>(r#"[{"id": "a"}, 1]"#).is_err());
        assert!(serde_json::from_str::<DynamicResource>(r#"{"id": }"#).is_err());
        let list = serde_json::from_slice::<Vec<DynamicResource>>(br#" [ {"id": "a"} , {} ] "#);
        assert_eq!(list.ok().map(|l| l.len()), Some(2));
    }

    #[test]
    fn from_a_value_and_from_other_deserializers() {
        // from a Value: its text
        let r = serde_json::from_value::<DynamicResource>(json!({"id": "x", "n": 1}));
        let Ok(r) = r else { panic!("{r:?}") };
        assert!(!r.is_materialized());
        assert_eq!(r.id(), Some("x"));
        // through serde's buffered content (untagged, flatten): its map
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(DynamicResource),
            #[allow(dead_code)]
            Many(Vec<DynamicResource>),
        }
        let one = serde_json::from_str::<OneOrMany>(r#"{"id": "u", "name": "n"}"#);
        let Ok(OneOrMany::One(one)) = one else {
            panic!("not one")
        };
        assert_eq!((one.id(), one.name()), (Some("u"), Some("n")));
        #[derive(Deserialize)]
        struct Outer {
            #[serde(flatten)]
            rest: DynamicResource,
        }
        let outer = serde_json::from_str::<Outer>(r#"{"id": "f", "a": [1]}"#);
        let Ok(outer) = outer else { panic!("flatten") };
        assert_eq!(
            outer.rest.get_as::<Vec<u8>>("a").ok().flatten(),
            Some(vec![1])
        );
        assert!(serde_json::from_str::<OneOrMany>("3").is_err());
    }

    #[test]
    fn it_goes_across_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<DynamicResource>();
        let r = decoded(SERVER);
        let h = std::thread::spawn(move || r.as_map().len());
        assert_eq!(h.join().ok(), Some(8));
    }
}
