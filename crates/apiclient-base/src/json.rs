//! Request bodies serialized in the order they are written, whatever
//! serde_json's map order.
//!
//! A `serde_json::Map` is sorted by key unless some crate in the program
//! turns on serde_json's `preserve_order` feature. The bodies this crate
//! builds are therefore never made of a `Value` it assembled itself: a
//! struct is serialized straight into its wrapper (its fields in their
//! declared order), CRUD parameters in the order they were given (a query
//! struct's fields keep theirs in `ApiRequest::query_of` itself).

use apiclient_errors::{Error, InvalidKind};
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
