//! Cinder v3's volume shapes, as serde types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A volume as `GET /volumes/{id}` and `/volumes/detail` show it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Volume {
    /// The id (a UUID).
    pub id: String,
    /// The name (Cinder allows none).
    #[serde(default)]
    pub name: Option<String>,
    /// `creating`, `available`, `in-use`, `extending`, `deleting`, `error`, ...
    pub status: String,
    /// The size in GiB.
    pub size: u64,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// The availability zone.
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// Whether it can boot a server (`"true"`/`"false"`: Cinder sends a string).
    #[serde(default)]
    pub bootable: Option<String>,
    /// The volume type's name.
    #[serde(default)]
    pub volume_type: Option<String>,
    /// Key/value metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Whether it can be attached to several servers.
    #[serde(default)]
    pub multiattach: bool,
    /// When it was made.
    #[serde(default)]
    pub created_at: Option<String>,
}

impl Volume {
    /// Whether Cinder says it can boot a server.
    pub fn is_bootable(&self) -> bool {
        self.bootable.as_deref() == Some("true")
    }
}

/// The body of `POST /volumes`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewVolume {
    /// The size in GiB.
    pub size: u64,
    /// The name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The volume type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
    /// Key/value metadata.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The body of `PUT /volumes/{id}`: what changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VolumeUpdate {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The filters of `GET /volumes/detail`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VolumeQuery {
    /// The most volumes a page holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only volumes of this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only volumes in this status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}
