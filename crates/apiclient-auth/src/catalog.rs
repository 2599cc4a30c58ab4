//! The service catalog: v3 and v2 formats, selection by type, interface,
//! region and name, with the well-known service-type aliases.

use std::fmt;
use std::str::FromStr;

use apiclient_errors::EndpointError;
use serde::Deserialize;
use serde_json::Value;

use crate::wire::{V2Service, V3Catalog, V3Service};

/// An endpoint interface. Parses both forms: `public`/`publicURL`,
/// `internal`/`internalURL`, `admin`/`adminURL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Interface {
    /// `public` / `publicURL` (the default).
    #[default]
    Public,
    /// `internal` / `internalURL`.
    Internal,
    /// `admin` / `adminURL`.
    Admin,
}

impl Interface {
    /// The v3 name (`public`, `internal`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Interface {
    type Err = apiclient_errors::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "public" | "publicURL" => Ok(Interface::Public),
            "internal" | "internalURL" => Ok(Interface::Internal),
            "admin" | "adminURL" => Ok(Interface::Admin),
            other => Err(apiclient_errors::Error::invalid(
                apiclient_errors::InvalidKind::Interface,
                format!(
                    "invalid interface '{other}': expected public, internal or admin (or publicURL, internalURL, adminURL)"
                ),
            )),
        }
    }
}

/// One endpoint of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint id, when the catalog has one.
    pub id: Option<String>,
    /// Its interface.
    pub interface: Interface,
    /// Its region (`region_id`, else the legacy `region`).
    pub region: Option<String>,
    /// Its URL, with `$(project_id)s` already substituted by Keystone.
    pub url: String,
}

/// One service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service id, when the catalog has one.
    pub id: Option<String>,
    /// The service type (`compute`, `block-storage`, ...).
    pub service_type: String,
    /// The service name (`nova`, `cinderv3`, ...), when given.
    pub name: Option<String>,
    /// Its endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// What to look for in the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointFilter {
    /// The service type; aliases match (`volumev3` finds `block-storage`).
    pub service_type: String,
    /// The interface (default public).
    pub interface: Interface,
    /// Only endpoints of this region, when set.
    pub region: Option<String>,
    /// Only services of this name, when set.
    pub service_name: Option<String>,
    /// Interfaces to try, in order, when the service has no endpoint of
    /// `interface` (clouds.yaml's `valid_interfaces` after the first).
    pub fallback_interfaces: Vec<Interface>,
}

impl EndpointFilter {
    /// A filter for `service_type` on the public interface, any region.
    pub fn new(service_type: impl Into<String>) -> Self {
        EndpointFilter {
            service_type: service_type.into(),
            ..Default::default()
        }
    }

    /// Set the interface.
    pub fn interface(mut self, interface: Interface) -> Self {
        self.interface = interface;
        self
    }

    /// Set the region.
    pub fn region(mut self, region: Option<impl Into<String>>) -> Self {
        self.region = region.map(Into::into);
        self
    }

    /// Set the service name.
    pub fn service_name(mut self, name: Option<impl Into<String>>) -> Self {
        self.service_name = name.map(Into::into);
        self
    }

    /// Interfaces to fall back to, in order, when none of `interface` matches.
    pub fn fallback_interfaces(mut self, interfaces: Vec<Interface>) -> Self {
        self.fallback_interfaces = interfaces;
        self
    }
}

/// The OpenStack service-types authority data (from `os-service-types`):
/// every official service type and the historical aliases of some of them,
/// most preferred first.
const SERVICE_TYPES_JSON: &str = include_str!("../data/service-types.json");

struct ServiceTypes {
    official: Vec<String>,
    /// official type → its aliases, most preferred first
    aliases: std::collections::HashMap<String, Vec<String>>,
    /// alias → its official type
    official_of: std::collections::HashMap<String, String>,
}

fn service_types() -> &'static ServiceTypes {
    static DATA: std::sync::OnceLock<ServiceTypes> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let doc: Value = serde_json::from_str(SERVICE_TYPES_JSON).unwrap_or(Value::Null);
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        };
        let mut aliases = std::collections::HashMap::new();
        let mut official_of = std::collections::HashMap::new();
        if let Some(forward) = doc.get("forward").and_then(Value::as_object) {
            for (official, list) in forward {
                let list = strings(list);
                for alias in &list {
                    official_of.insert(alias.clone(), official.clone());
                }
                aliases.insert(official.clone(), list);
            }
        }
        ServiceTypes {
            official: strings(&doc["services"]),
            aliases,
            official_of,
        }
    })
}

/// Every official service type and alias of the service-types authority.
pub fn known_service_types() -> Vec<&'static str> {
    let data = service_types();
    let mut out: Vec<&'static str> = data.official.iter().map(String::as_str).collect();
    out.extend(data.official_of.keys().map(String::as_str));
    out
}

/// The official service type of `service_type`: itself when it is official,
/// the type it is an alias of (`volumev3` → `block-storage`), else None.
pub fn official_service_type(service_type: &str) -> Option<&'static str> {
    let data = service_types();
    if let Some(o) = data.official.iter().find(|o| *o == service_type) {
        return Some(o);
    }
    data.official_of.get(service_type).map(String::as_str)
}

/// The service types to try for `requested`, most preferred first, as the
/// service-types authority defines matches: the type itself; for an
/// official type, then its aliases; for an alias, then its official type.
/// Never one alias for another: `volumev2` does not find a `volumev3`
/// endpoint.
pub fn service_type_candidates(requested: &str) -> Vec<&str> {
    let data = service_types();
    let mut out = vec![requested];
    if let Some(aliases) = data.aliases.get(requested) {
        out.extend(aliases.iter().map(String::as_str));
    } else if let Some(official) = data.official_of.get(requested) {
        out.push(official);
    }
    out
}

/// The service catalog of a token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceCatalog {
    services: Vec<Service>,
}

impl ServiceCatalog {
    /// A catalog of these services.
    pub fn new(services: Vec<Service>) -> Self {
        ServiceCatalog { services }
    }

    /// Parse a v3 catalog (`token.catalog`, or `/v3/auth/catalog`'s `catalog`).
    /// Entries that are not well-formed are skipped, never a panic.
    pub fn from_v3(catalog: &Value) -> Self {
        V3Catalog::deserialize(catalog)
            .map(|c| Self::from_v3_services(c.0))
            .unwrap_or_default()
    }

    /// The catalog of typed v3 services; endpoints of an unknown interface are skipped.
    pub fn from_v3_services(services: Vec<V3Service>) -> Self {
        let services = services
            .into_iter()
            .map(|svc| Service {
                id: svc.id,
                service_type: svc.service_type,
                name: svc.name,
                endpoints: svc
                    .endpoints
                    .into_iter()
                    .filter_map(|ep| {
                        Some(Endpoint {
                            interface: ep.interface.parse().ok()?,
                            id: ep.id,
                            region: ep.region_id.or(ep.region),
                            url: ep.url,
                        })
                    })
                    .collect(),
            })
            .collect();
        ServiceCatalog { services }
    }

    /// Parse a v2.0 catalog (`access.serviceCatalog`).
    pub fn from_v2(catalog: &Value) -> Self {
        Vec::<serde_json::Value>::deserialize(catalog)
            .map(|list| {
                Self::from_v2_services(
                    list.iter()
                        .filter_map(|svc| V2Service::deserialize(svc).ok())
                        .collect(),
                )
            })
            .unwrap_or_default()
    }

    /// The catalog of typed v2.0 services: one endpoint per interface URL.
    pub fn from_v2_services(services: Vec<V2Service>) -> Self {
        let services = services
            .into_iter()
            .map(|svc| {
                let mut endpoints = Vec::new();
                for ep in svc.endpoints {
                    for (interface, url) in [
                        (Interface::Public, &ep.public_url),
                        (Interface::Internal, &ep.internal_url),
                        (Interface::Admin, &ep.admin_url),
                    ] {
                        if let Some(url) = url {
                            endpoints.push(Endpoint {
                                id: ep.id.clone(),
                                interface,
                                region: ep.region.clone(),
                                url: url.clone(),
                            });
                        }
                    }
                }
                Service {
                    id: None,
                    service_type: svc.service_type,
                    name: svc.name,
                    endpoints,
                }
            })
            .collect();
        ServiceCatalog { services }
    }

    /// The services, in catalog order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Whether the catalog has no service.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Every endpoint matching the filter, for the most preferred service type
    /// (of the requested type and its aliases) that has any; on the first
    /// interface (the filter's, then its fallbacks) that has any.
    pub fn endpoints_for(&self, filter: &EndpointFilter) -> Vec<(&Service, &Endpoint)> {
        let interfaces = std::iter::once(filter.interface).chain(
            filter
                .fallback_interfaces
                .iter()
                .copied()
                .filter(|i| *i != filter.interface),
        );
        for interface in interfaces {
            for candidate in service_type_candidates(&filter.service_type) {
                let found: Vec<_> = self
                    .services
                    .iter()
                    .filter(|s| s.service_type == candidate)
                    .filter(|s| {
                        filter
                            .service_name
                            .as_ref()
                            .is_none_or(|n| s.name.as_ref() == Some(n))
                    })
                    .flat_map(|s| s.endpoints.iter().map(move |e| (s, e)))
                    .filter(|(_, e)| e.interface == interface)
                    .filter(|(_, e)| filter.region.is_none() || e.region == filter.region)
                    .collect();
                if !found.is_empty() {
                    return found;
                }
            }
        }
        Vec::new()
    }

    /// The one URL matching the filter.
    ///
    /// [`EndpointError::NotFound`] names what was asked for;
    /// [`EndpointError::Ambiguous`] lists the URLs when more than one matches
    /// (set a region or a service name to choose).
    pub fn url_for(&self, filter: &EndpointFilter) -> Result<String, EndpointError> {
        let found = self.endpoints_for(filter);
        match found.as_slice() {
            [] => Err(EndpointError::NotFound(describe(filter))),
            [(_, only)] => Ok(only.url.clone()),
            many => {
                let mut urls: Vec<String> = many.iter().map(|(_, e)| e.url.clone()).collect();
                urls.dedup();
                if urls.len() == 1 {
                    Ok(urls.remove(0))
                } else {
                    Err(EndpointError::Ambiguous { endpoints: urls })
                }
            }
        }
    }
}

fn describe(filter: &EndpointFilter) -> String {
    let mut interfaces = vec![filter.interface.to_string()];
    interfaces.extend(filter.fallback_interfaces.iter().map(|i| i.to_string()));
    interfaces.dedup();
    let mut s = format!(
        "No endpoint found for service type '{}' with interface '{}'",
        filter.service_type,
        interfaces.join("' or '")
    );
    if let Some(r) = &filter.region {
        s.push_str(&format!(" in region '{r}'"));
    }
    if let Some(n) = &filter.service_name {
        s.push_str(&format!(" and service name '{n}'"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_interfaces_are_tried_in_order() {
        let ep = |interface, url: &str| Endpoint {
            id: None,
            interface,
            region: None,
            url: url.into(),
        };
        let c = ServiceCatalog::new(vec![Service {
            id: None,
            service_type: "compute".into(),
            name: None,
            endpoints: vec![
                ep(Interface::Admin, "http://admin"),
                ep(Interface::Public, "http://public"),
            ],
        }]);
        let f = EndpointFilter::new("compute").interface(Interface::Internal);
        let err = c.url_for(&f).unwrap_err().to_string();
        assert!(err.contains("'internal'"), "{err}");
        let f = f.fallback_interfaces(vec![Interface::Admin, Interface::Public]);
        assert_eq!(c.url_for(&f).unwrap(), "http://admin");
        let f = EndpointFilter::new("compute")
            .interface(Interface::Internal)
            .fallback_interfaces(vec![Interface::Public]);
        assert_eq!(c.url_for(&f).unwrap(), "http://public");
        // the primary interface wins when it has one
        let f = EndpointFilter::new("compute")
            .interface(Interface::Public)
            .fallback_interfaces(vec![Interface::Admin]);
        assert_eq!(c.url_for(&f).unwrap(), "http://public");
        let none = EndpointFilter::new("image").fallback_interfaces(vec![Interface::Admin]);
        assert!(
            c.url_for(&none)
                .unwrap_err()
                .to_string()
                .contains("'public' or 'admin'")
        );
    }

    #[test]
    fn interface_accepts_both_forms() {
        for (s, i) in [
            ("public", Interface::Public),
            ("publicURL", Interface::Public),
            ("internal", Interface::Internal),
            ("internalURL", Interface::Internal),
            ("admin", Interface::Admin),
            ("adminURL", Interface::Admin),
        ] {
            assert_eq!(s.parse::<Interface>().unwrap(), i);
        }
        assert!("private".parse::<Interface>().is_err());
    }

    #[test]
    fn aliases_match_official_types_never_each_other() {
        assert_eq!(
            service_type_candidates("block-storage"),
            [
                "block-storage",
                "volumev3",
                "volumev2",
                "volume",
                "block-store"
            ]
        );
        assert_eq!(
            service_type_candidates("volumev3"),
            ["volumev3", "block-storage"]
        );
        assert_eq!(
            service_type_candidates("volumev2"),
            ["volumev2", "block-storage"]
        );
        assert_eq!(service_type_candidates("custom"), ["custom"]);
        // the authority's data, not a hand-made table: reservation is
        // blazar's own type; resource-cluster belongs to clustering and
        // container to application-container
        assert_eq!(service_type_candidates("reservation"), ["reservation"]);
        assert_eq!(
            service_type_candidates("resource-cluster"),
            ["resource-cluster", "clustering"]
        );
        assert_eq!(
            service_type_candidates("container"),
            ["container", "application-container"]
        );
        assert_eq!(official_service_type("sharev2"), Some("shared-file-system"));
        assert_eq!(official_service_type("compute"), Some("compute"));
        assert_eq!(official_service_type("nope"), None);
        assert!(service_types().official.len() >= 40);
    }

    #[test]
    fn volumev2_never_returns_a_volumev3_endpoint() {
        let catalog = ServiceCatalog::from_v3(&serde_json::json!([
            {"type": "volumev3", "endpoints": [{"interface": "public", "url": "http://cinder/v3"}]}
        ]));
        assert!(catalog.url_for(&EndpointFilter::new("volumev2")).is_err());
        assert_eq!(
            catalog
                .url_for(&EndpointFilter::new("block-storage"))
                .unwrap(),
            "http://cinder/v3"
        );
        assert_eq!(
            catalog.url_for(&EndpointFilter::new("volumev3")).unwrap(),
            "http://cinder/v3"
        );
    }
}
