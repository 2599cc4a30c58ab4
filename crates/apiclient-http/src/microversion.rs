//! API microversions: the type, the headers each service reads, and the
//! negotiation against a service's version document.
//!
//! ```
//! use apiclient_http::microversion::{Microversion, headers_for};
//!
//! let v: Microversion = "2.79".parse().unwrap();
//! assert!(v > "2.9".parse().unwrap());
//! assert!(Microversion::Latest > v);
//! let headers = headers_for("compute", v);
//! assert_eq!(headers[0], ("OpenStack-API-Version", "compute 2.79".to_string()));
//! assert_eq!(headers[1], ("X-OpenStack-Nova-API-Version", "2.79".to_string()));
//! // Cinder reads "volume", whatever the catalog calls it
//! assert_eq!(headers_for("volumev3", "3.60".parse().unwrap())[0].1, "volume 3.60");
//! ```

use std::fmt;
use std::str::FromStr;

use apiclient_errors::{Error, InvalidKind};
use serde_json::Value;

/// A microversion: `major.minor`, or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Microversion {
    /// `major.minor`.
    Version(u32, u32),
    /// The highest the server supports.
    Latest,
}

impl Microversion {
    /// `major.minor`.
    pub const fn new(major: u32, minor: u32) -> Self {
        Microversion::Version(major, minor)
    }
}

impl PartialOrd for Microversion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Microversion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use Microversion::*;
        match (self, other) {
            (Latest, Latest) => std::cmp::Ordering::Equal,
            (Latest, _) => std::cmp::Ordering::Greater,
            (_, Latest) => std::cmp::Ordering::Less,
            (Version(a, b), Version(c, d)) => (a, b).cmp(&(c, d)),
        }
    }
}

impl fmt::Display for Microversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Microversion::Version(a, b) => write!(f, "{a}.{b}"),
            Microversion::Latest => f.write_str("latest"),
        }
    }
}

impl FromStr for Microversion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("latest") {
            return Ok(Microversion::Latest);
        }
        let t = t.trim_start_matches(['v', 'V']);
        let (a, b) = t.split_once('.').unwrap_or((t, "0"));
        match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) => Ok(Microversion::Version(a, b)),
            _ => Err(Error::invalid(
                InvalidKind::Microversion,
                format!("invalid microversion '{s}': expected MAJOR.MINOR or 'latest'"),
            )),
        }
    }
}

/// The service type a service's `OpenStack-API-Version` header names, as
/// keystoneauth maps it: `volume` for block storage (whatever its catalog
/// name), `shared-file-system` for `share*`, else the official type of the
/// service-types authority (or the type as given).
pub fn header_service_type(service_type: &str) -> String {
    if service_type.starts_with("volume")
        || service_type == "block-storage"
        || service_type == "block-store"
    {
        return "volume".into();
    }
    if service_type.starts_with("share") {
        return "shared-file-system".into();
    }
    apiclient_auth::catalog::official_service_type(service_type)
        .unwrap_or(service_type)
        .to_string()
}

/// The legacy per-service microversion header, for the services that read one.
fn legacy_header(header_type: &str) -> Option<&'static str> {
    match header_type {
        "compute" => Some("X-OpenStack-Nova-API-Version"),
        "baremetal" => Some("X-OpenStack-Ironic-API-Version"),
        "shared-file-system" => Some("X-OpenStack-Manila-API-Version"),
        "baremetal-introspection" => Some("X-OpenStack-Ironic-Inspector-API-Version"),
        _ => None,
    }
}

/// The headers that ask `service_type` for `version`: `OpenStack-API-Version:
/// <type> <version>` and the service's legacy header, if it has one.
pub fn headers_for(service_type: &str, version: Microversion) -> Vec<(&'static str, String)> {
    let t = header_service_type(service_type);
    let mut out = vec![("OpenStack-API-Version", format!("{t} {version}"))];
    if let Some(legacy) = legacy_header(&t) {
        out.push((legacy, version.to_string()));
    }
    out
}

/// The microversion a response says it was served with (from
/// `OpenStack-API-Version` or a legacy header), when it says.
pub fn from_response(headers: &http::HeaderMap) -> Option<Microversion> {
    // names made once: a lookup by `&str` parses the name on every call
    const OPENSTACK_API_VERSION: http::HeaderName =
        http::HeaderName::from_static("openstack-api-version");
    const LEGACY: [http::HeaderName; 3] = [
        http::HeaderName::from_static("x-openstack-nova-api-version"),
        http::HeaderName::from_static("x-openstack-ironic-api-version"),
        http::HeaderName::from_static("x-openstack-manila-api-version"),
    ];
    // One pass over the answer's few headers rather than a hashed lookup
    // per name (most answers carry none of these). As `get` would: the
    // first value of each name counts; `OpenStack-API-Version` first, then
    // the legacy names in their order.
    let mut modern: Option<Option<&str>> = None;
    let mut legacy: [Option<Option<&str>>; 3] = [None; 3];
    for (name, value) in headers {
        if *name == OPENSTACK_API_VERSION {
            modern.get_or_insert(value.to_str().ok());
        } else if let Some(i) = LEGACY.iter().position(|h| h == name) {
            legacy[i].get_or_insert(value.to_str().ok());
        }
    }
    if let Some(Some(v)) = modern {
        let version = v.rsplit(' ').next().unwrap_or(v);
        return version.parse().ok();
    }
    legacy
        .iter()
        .find_map(|v| v.flatten().and_then(|v| v.parse().ok()))
}

/// One API version of a service's version document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion {
    /// Its id (`v2.1`, `v1.0`).
    pub id: String,
    /// Its status (`CURRENT`, `SUPPORTED`, ...), when given.
    pub status: Option<String>,
    /// The lowest microversion (None: the service has no microversions).
    pub min_microversion: Option<Microversion>,
    /// The highest microversion.
    pub max_microversion: Option<Microversion>,
}

impl ApiVersion {
    /// The highest microversion in `[min, max]` that this version supports
    /// too; `Latest` as `max` means "the service's highest".
    pub fn negotiate(&self, min: Microversion, max: Microversion) -> Option<Microversion> {
        let (Some(lo), Some(hi)) = (self.min_microversion, self.max_microversion) else {
            return None;
        };
        let top = if max == Microversion::Latest {
            hi
        } else {
            max.min(hi)
        };
        (top >= min.max(lo) && top >= lo).then_some(top)
    }
}

/// The versions of a version document: `{"version": {...}}` (a versioned
/// endpoint) or `{"versions": [...]}` / `{"versions": {"values": [...]}}`.
/// Nova calls the bounds `min_version`/`version`; Placement and others
/// `min_version`/`max_version`.
pub fn parse_versions(doc: &Value) -> Vec<ApiVersion> {
    let list: Vec<&Value> = match (doc.get("version"), doc.get("versions")) {
        (Some(v @ Value::Object(_)), _) => vec![v],
        (_, Some(Value::Array(vs))) => vs.iter().collect(),
        (_, Some(v)) => v
            .get("values")
            .and_then(Value::as_array)
            .map(|vs| vs.iter().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mv = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse().ok())
    };
    list.into_iter()
        .filter_map(|v| {
            Some(ApiVersion {
                id: v.get("id")?.as_str()?.to_string(),
                status: v.get("status").and_then(Value::as_str).map(str::to_string),
                min_microversion: mv(v, "min_version"),
                max_microversion: mv(v, "max_version").or_else(|| mv(v, "version")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_order_and_display() {
        let v: Microversion = "2.79".parse().unwrap();
        assert_eq!(v, Microversion::new(2, 79));
        assert_eq!(v.to_string(), "2.79");
        assert!(Microversion::new(2, 10) > Microversion::new(2, 9));
        assert!("latest".parse::<Microversion>().unwrap() > Microversion::new(99, 0));
        assert!("2.x".parse::<Microversion>().is_err());
        assert_eq!(
            "1".parse::<Microversion>().unwrap(),
            Microversion::new(1, 0)
        );
    }

    #[test]
    fn header_names_per_service() {
        assert_eq!(
            headers_for("placement", Microversion::new(1, 39)),
            [("OpenStack-API-Version", "placement 1.39".to_string())]
        );
        assert_eq!(
            headers_for("baremetal", Microversion::new(1, 80))[1].0,
            "X-OpenStack-Ironic-API-Version"
        );
        assert_eq!(
            headers_for("sharev2", Microversion::new(2, 7))[0].1,
            "shared-file-system 2.7"
        );
        assert_eq!(
            headers_for("sharev2", Microversion::new(2, 7))[1].0,
            "X-OpenStack-Manila-API-Version"
        );
        assert_eq!(
            headers_for("block-storage", Microversion::new(3, 0))[0].1,
            "volume 3.0"
        );
        assert_eq!(
            headers_for("container-infra", Microversion::new(1, 1))[0].1,
            "container-infrastructure-management 1.1"
        );
    }

    #[test]
    fn documents_of_nova_and_placement_negotiate() {
        let nova = json!({"version": {"id": "v2.1", "status": "CURRENT", "min_version": "2.1", "version": "2.96"}});
        let v = &parse_versions(&nova)[0];
        assert_eq!(
            v.negotiate(Microversion::new(2, 1), Microversion::new(2, 79)),
            Some(Microversion::new(2, 79))
        );
        assert_eq!(
            v.negotiate(Microversion::new(2, 1), Microversion::Latest),
            Some(Microversion::new(2, 96))
        );
        assert_eq!(
            v.negotiate(Microversion::new(2, 97), Microversion::new(2, 100)),
            None
        );
        let placement = json!({"versions": [{"id": "v1.0", "max_version": "1.39", "min_version": "1.0", "status": "CURRENT"}]});
        let v = &parse_versions(&placement)[0];
        assert_eq!(
            v.negotiate(Microversion::new(1, 0), Microversion::new(1, 50)),
            Some(Microversion::new(1, 39))
        );
        let mut h = http::HeaderMap::new();
        h.insert("openstack-api-version", "placement 1.39".parse().unwrap());
        assert_eq!(from_response(&h), Some(Microversion::new(1, 39)));
    }

    /// The microversion of an answer: `OpenStack-API-Version` first (its
    /// first value), else the first legacy header, in their order, that
    /// holds one; none when no header says.
    #[test]
    fn an_answer_names_its_microversion_by_the_first_header_that_says() {
        let headers = |pairs: &[(&'static str, &[u8])]| {
            let mut h = http::HeaderMap::new();
            h.insert("content-type", "application/json".parse().unwrap());
            for (name, value) in pairs {
                h.append(*name, http::HeaderValue::from_bytes(value).unwrap());
            }
            h
        };
        assert_eq!(from_response(&headers(&[])), None);
        let both = headers(&[
            ("x-openstack-nova-api-version", b"2.1"),
            ("openstack-api-version", b"compute 2.79"),
        ]);
        assert_eq!(from_response(&both), Some(Microversion::new(2, 79)));
        // the first value of the header counts, as with `get`
        let twice = headers(&[
            ("openstack-api-version", b"compute 2.60"),
            ("openstack-api-version", b"compute 2.79"),
        ]);
        assert_eq!(from_response(&twice), Some(Microversion::new(2, 60)));
        // a modern header that is not text: the legacy ones decide
        let opaque = headers(&[
            ("openstack-api-version", b"compute \xff"),
            ("x-openstack-manila-api-version", b"2.40"),
        ]);
        assert_eq!(from_response(&opaque), Some(Microversion::new(2, 40)));
        // legacy names in their order, whatever the answer's order; one
        // that does not parse gives way to the next
        let legacy = headers(&[
            ("x-openstack-manila-api-version", b"2.40"),
            ("x-openstack-ironic-api-version", b"1.58"),
            ("x-openstack-nova-api-version", b"not a version"),
        ]);
        assert_eq!(from_response(&legacy), Some(Microversion::new(1, 58)));
        // a modern header that does not parse is the answer (none)
        let bad = headers(&[
            ("openstack-api-version", b"compute nope"),
            ("x-openstack-nova-api-version", b"2.1"),
        ]);
        assert_eq!(from_response(&bad), None);
    }
}
