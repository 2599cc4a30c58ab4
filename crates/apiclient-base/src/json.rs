//! Request bodies serialized in the order they are written, whatever
//! serde_json's map order.
//!
//! A `serde_json::Map` is sorted by key unless some crate in the program
//! turns on serde_json's `preserve_order` feature. The bodies this crate
//! builds are therefore never made of a `Value` it assembled itself: a
//! struct is serialized straight into its wrapper (its fields in their
//! declared order), CRUD parameters in the order they were given, and a
//! query struct's fields in their declared order too.

use apiclient_errors::{Error, InvalidKind};
use apiclient_http::ApiRequest;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// `{key: value}`, or `value` itself when there is no key.
pub(crate) struct Wrapped<'a, B: ?Sized> {
    pub(crate) key: Option<&'a str>,
    pub(crate) value: &'a B,
}

impl<B: Serialize + ?Sized> Serialize for Wrapped<'_, B> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.key {
            Some(key) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(key, self.value)?;
                map.end()
            }
            None => self.value.serialize(s),
        }
    }
}

/// An object of `(name, value)` pairs in their order; a repeated name keeps
/// its first place and its last value, as a map would.
pub(crate) struct Fields(Vec<(String, Value)>);

impl Fields {
    pub(crate) fn new(pairs: impl IntoIterator<Item = (String, Value)>) -> Self {
        let mut fields: Vec<(String, Value)> = Vec::new();
        for (name, value) in pairs {
            match fields.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => fields.push((name, value)),
            }
        }
        Fields(fields)
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The JSON text of `{key: value}` (or `value`), or a validation error
/// naming `what`.
pub(crate) fn to_vec<B: Serialize + ?Sized>(
    key: Option<&str>,
    value: &B,
    what: &str,
) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&Wrapped { key, value }).map_err(|e| {
        Error::invalid(
            InvalidKind::Body,
            format!("the {what} cannot be serialized: {e}"),
        )
    })
}

/// `request` with the pairs of a serializable query in the order its
/// fields are declared (what `ApiRequest::query_of` adds, in the order of
/// serde_json's map: sorted unless `preserve_order` is on). A query that is
/// not a map, or does not serialize, goes to `query_of`, which says why.
pub(crate) fn with_query<Q: Serialize + ?Sized>(mut request: ApiRequest, query: &Q) -> ApiRequest {
    let members = serde_json::to_vec(query)
        .ok()
        .and_then(|text| serde_json::from_slice::<Members>(&text).ok());
    let Some(Members(members)) = members else {
        return request.query_of(query);
    };
    for (name, value) in members {
        match value {
            Value::Null => {}
            Value::String(s) => request = request.query(name, s),
            Value::Array(items) => {
                for item in items {
                    let text = match item {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    request = request.query(name.clone(), text);
                }
            }
            other => request = request.query(name, other.to_string()),
        }
    }
    request
}

/// A JSON object's members in the order they are written (`null`: none).
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object or null")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Members, E> {
                Ok(Members(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_any(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Server {
        name: &'static str,
        image_ref: &'static str,
        flavor_ref: &'static str,
    }

    #[test]
    fn a_struct_keeps_its_field_order_in_its_wrapper() {
        let body = Server {
            name: "web",
            image_ref: "i",
            flavor_ref: "f",
        };
        assert_eq!(
            to_vec(Some("server"), &body, "body").unwrap(),
            br#"{"server":{"name":"web","image_ref":"i","flavor_ref":"f"}}"#
        );
        assert_eq!(
            to_vec(None, &body, "body").unwrap(),
            br#"{"name":"web","image_ref":"i","flavor_ref":"f"}"#
        );
    }

    #[derive(serde::Serialize)]
    struct Query {
        status: &'static str,
        name: Option<&'static str>,
        tags: Vec<&'static str>,
        limit: u32,
        marker: Option<&'static str>,
    }

    #[test]
    fn a_query_keeps_its_field_order() {
        let q = Query {
            status: "ACTIVE",
            name: None,
            tags: vec!["a", "b"],
            limit: 2,
            marker: Some("m"),
        };
        assert_eq!(
            with_query(ApiRequest::get("/servers"), &q).full_url(),
            "/servers?status=ACTIVE&tags=a&tags=b&limit=2&marker=m"
        );
        assert_eq!(
            with_query(ApiRequest::get("/servers"), &()).full_url(),
            "/servers"
        );
        assert_eq!(
            with_query(ApiRequest::get("/servers"), &[("z", "1"), ("a", "2")]).full_url(),
            ApiRequest::get("/servers")
                .query_of(&[("z", "1"), ("a", "2")])
                .full_url(),
            "not a map: as query_of has it"
        );
    }

    #[test]
    fn fields_keep_their_order_and_a_repeated_name_its_first_place() {
        let fields = Fields::new([
            ("name".to_string(), Value::from("a")),
            ("domain_id".to_string(), Value::from("d1")),
            ("name".to_string(), Value::from("b")),
        ]);
        assert_eq!(
            to_vec(Some("entity"), &fields, "body").unwrap(),
            br#"{"entity":{"name":"b","domain_id":"d1"}}"#
        );
    }
}
