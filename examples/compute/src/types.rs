//! The serde types of the compute API (what a Nova client declares anyway).

use serde::{Deserialize, Serialize};

/// A link of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Link {
    /// `self`, `bookmark`, ...
    pub rel: String,
    /// The URL.
    pub href: String,
}

/// A reference to a flavor inside a server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct FlavorRef {
    /// The flavor id (before microversion 2.47).
    #[serde(default)]
    pub id: Option<String>,
    /// The flavor name (2.47 and later).
    #[serde(default)]
    pub original_name: Option<String>,
}

/// A server, as `/servers/detail` and `GET /servers/{id}` show it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Server {
    /// The UUID.
    pub id: String,
    /// The name.
    pub name: String,
    /// `ACTIVE`, `BUILD`, `SHUTOFF`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// The flavor.
    #[serde(default)]
    pub flavor: FlavorRef,
    /// Key/value metadata.
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// A server of the summary list (`/servers`): id, name, links.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ServerSummary {
    /// The UUID.
    pub id: String,
    /// The name.
    pub name: String,
    /// Its links.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// What a create answers (Nova gives no name or status back).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CreatedServer {
    /// The new server's UUID.
    pub id: String,
    /// The generated administrator password.
    #[serde(rename = "adminPass", default)]
    pub admin_pass: Option<String>,
    /// Its links.
    #[serde(default)]
    pub links: Vec<Link>,
}

/// The body of a server create.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct NewServer {
    /// The name.
    pub name: String,
    /// The image UUID.
    #[serde(rename = "imageRef", skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<String>,
    /// The flavor id.
    #[serde(rename = "flavorRef")]
    pub flavor_ref: String,
    /// Networks: `"auto"` or `"none"` from 2.37 on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<String>,
    /// Metadata.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// The filters of a server listing.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ServerQuery {
    /// An exact name (Nova takes a regex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The page size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The last id of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// A flavor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Flavor {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// Virtual CPUs (detail only).
    #[serde(default)]
    pub vcpus: Option<u32>,
    /// Memory in MiB (detail only).
    #[serde(default)]
    pub ram: Option<u64>,
    /// Root disk in GiB (detail only).
    #[serde(default)]
    pub disk: Option<u64>,
}
