//! The serde types of the Glance v2 images API.

use std::collections::BTreeMap;

use apiclient_base::DigestAlgorithm;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A string enum of the wire: known values as variants, anything else kept
/// as sent in `Other` (a newer Glance may add values).
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value this client does not know, as the server sent it.
            Other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($text => $name::$variant,)*
                    _ => $name::Other(s),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// The status of an image.
    ImageStatus {
        /// Created, no data yet.
        Queued = "queued",
        /// Data being uploaded (`PUT /file`).
        Saving = "saving",
        /// Data staged (`PUT /stage`), not yet imported.
        Uploading = "uploading",
        /// Being imported.
        Importing = "importing",
        /// Usable.
        Active = "active",
        /// Data access disabled by an administrator.
        Deactivated = "deactivated",
        /// An upload failed: the image is unusable.
        Killed = "killed",
        /// Deleted (kept as a record).
        Deleted = "deleted",
        /// Deleted, data not yet scrubbed.
        PendingDelete = "pending_delete",
    }
);

impl ImageStatus {
    /// Whether an image in this status will never become active by itself
    /// (`killed`, `deleted`, `pending_delete`).
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            ImageStatus::Killed | ImageStatus::Deleted | ImageStatus::PendingDelete
        )
    }
}

string_enum!(
    /// Who can see an image.
    Visibility {
        /// Everyone (creating one needs the admin role by default).
        Public = "public",
        /// The owner only.
        Private = "private",
        /// The owner and the projects it is shared with (the default).
        Shared = "shared",
        /// Everyone can use it; it is not listed by default.
        Community = "community",
    }
);

string_enum!(
    /// The format of an image's disk.
    DiskFormat {
        /// A raw disk image.
        Raw = "raw",
        /// QEMU copy-on-write v2.
        Qcow2 = "qcow2",
        /// VMware.
        Vmdk = "vmdk",
        /// VirtualBox.
        Vdi = "vdi",
        /// An ISO 9660 image.
        Iso = "iso",
        /// Virtuozzo.
        Ploop = "ploop",
        /// Hyper-V (VHD).
        Vhd = "vhd",
        /// Hyper-V (VHDX).
        Vhdx = "vhdx",
        /// An Amazon kernel image.
        Aki = "aki",
        /// An Amazon ramdisk image.
        Ari = "ari",
        /// An Amazon machine image.
        Ami = "ami",
    }
);

string_enum!(
    /// The container an image's disk is in.
    ContainerFormat {
        /// No container.
        Bare = "bare",
        /// OVF.
        Ovf = "ovf",
        /// An OVA tar archive.
        Ova = "ova",
        /// An Amazon kernel image.
        Aki = "aki",
        /// An Amazon ramdisk image.
        Ari = "ari",
        /// An Amazon machine image.
        Ami = "ami",
        /// A Docker tar archive.
        Docker = "docker",
        /// A compressed archive.
        Compressed = "compressed",
    }
);

string_enum!(
    /// A sort direction.
    SortDir {
        /// Ascending.
        Asc = "asc",
        /// Descending (Glance's default).
        Desc = "desc",
    }
);

/// `null` or absent as the type's default (Glance sends `null` for some
/// fields it has no value for).
fn lenient<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An image, as `GET /v2/images/{id}` and the listings show it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Image {
    /// The UUID.
    pub id: String,
    /// The name (Glance allows none).
    #[serde(default)]
    pub name: Option<String>,
    /// The status.
    pub status: ImageStatus,
    /// Who can see it.
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// The disk format (none until set).
    #[serde(default)]
    pub disk_format: Option<DiskFormat>,
    /// The container format (none until set).
    #[serde(default)]
    pub container_format: Option<ContainerFormat>,
    /// The size of the data in bytes (none before an upload).
    #[serde(default)]
    pub size: Option<u64>,
    /// The virtual size of the disk, when known.
    #[serde(default)]
    pub virtual_size: Option<u64>,
    /// The MD5 of the data (hex; legacy).
    #[serde(default)]
    pub checksum: Option<String>,
    /// The algorithm of [`os_hash_value`](Self::os_hash_value) (`sha512` by default).
    #[serde(default)]
    pub os_hash_algo: Option<String>,
    /// The secure hash of the data (hex).
    #[serde(default)]
    pub os_hash_value: Option<String>,
    /// The minimum disk in GiB to boot it.
    #[serde(default, deserialize_with = "lenient")]
    pub min_disk: u64,
    /// The minimum RAM in MiB to boot it.
    #[serde(default, deserialize_with = "lenient")]
    pub min_ram: u64,
    /// Whether it is protected from deletion.
    #[serde(default, deserialize_with = "lenient")]
    pub protected: bool,
    /// Whether it is hidden from default listings.
    #[serde(default, deserialize_with = "lenient")]
    pub os_hidden: bool,
    /// The owning project.
    #[serde(default)]
    pub owner: Option<String>,
    /// Its tags (a set: Glance does not keep their order).
    #[serde(default, deserialize_with = "lenient")]
    pub tags: Vec<String>,
    /// When it was created (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it was last updated (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Its own path (`/v2/images/{id}`).
    #[serde(default, rename = "self")]
    pub self_link: Option<String>,
    /// The path of its data (`/v2/images/{id}/file`).
    #[serde(default)]
    pub file: Option<String>,
    /// The path of its JSON schema.
    #[serde(default)]
    pub schema: Option<String>,
    /// Every other member: the additional properties (strings in Glance)
    /// and the `os_glance_*` ones Glance maintains.
    #[serde(flatten)]
    pub properties: BTreeMap<String, Value>,
}

impl Image {
    /// An additional property's value, when it is a string.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    /// The algorithm of the secure hash, when this client knows it.
    pub fn hash_algorithm(&self) -> Option<DigestAlgorithm> {
        self.os_hash_algo
            .as_deref()
            .and_then(DigestAlgorithm::from_name)
    }

    /// The stores a failed import did not reach
    /// (`os_glance_failed_import`), when the last import failed.
    pub fn failed_import_stores(&self) -> Vec<String> {
        split_stores(self.property("os_glance_failed_import"))
    }

    /// The stores an import is still running to (`os_glance_importing_to_stores`).
    pub fn importing_to_stores(&self) -> Vec<String> {
        split_stores(self.property("os_glance_importing_to_stores"))
    }
}

fn split_stores(v: Option<&str>) -> Vec<String> {
    v.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The body of an image create (`POST /v2/images`).
///
/// ```
/// use example_image::{ContainerFormat, DiskFormat, NewImage, Visibility};
/// let new = NewImage::new("cirros")
///     .disk_format(DiskFormat::Qcow2)
///     .container_format(ContainerFormat::Bare)
///     .visibility(Visibility::Private)
///     .tag("test")
///     .min_ram(64)
///     .property("os_distro", "cirros");
/// let body = serde_json::to_value(&new).unwrap();
/// assert_eq!(body["disk_format"], "qcow2");
/// assert_eq!(body["os_distro"], "cirros");
/// assert_eq!(body["tags"], serde_json::json!(["test"]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NewImage {
    /// A chosen UUID (else Glance makes one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The disk format (required before data can be uploaded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_format: Option<DiskFormat>,
    /// The container format (required before data can be uploaded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_format: Option<ContainerFormat>,
    /// Who can see it (Glance's default: `shared`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The minimum disk in GiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_disk: Option<u64>,
    /// The minimum RAM in MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ram: Option<u64>,
    /// Protected from deletion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Hidden from default listings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_hidden: Option<bool>,
    /// Additional properties (string values, as Glance's schema wants).
    #[serde(flatten)]
    pub properties: BTreeMap<String, String>,
}

/// The members [`NewImage`] has as fields: an additional property of one of
/// these names would send the key twice.
pub(crate) const NEW_IMAGE_FIELDS: &[&str] = &[
    "id",
    "name",
    "disk_format",
    "container_format",
    "visibility",
    "tags",
    "min_disk",
    "min_ram",
    "protected",
    "os_hidden",
];

impl NewImage {
    /// An image called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        NewImage {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    /// With this UUID.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// With this disk format.
    pub fn disk_format(mut self, f: DiskFormat) -> Self {
        self.disk_format = Some(f);
        self
    }

    /// With this container format.
    pub fn container_format(mut self, f: ContainerFormat) -> Self {
        self.container_format = Some(f);
        self
    }

    /// With this visibility.
    pub fn visibility(mut self, v: Visibility) -> Self {
        self.visibility = Some(v);
        self
    }

    /// With one more tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// With this minimum disk (GiB).
    pub fn min_disk(mut self, gib: u64) -> Self {
        self.min_disk = Some(gib);
        self
    }

    /// With this minimum RAM (MiB).
    pub fn min_ram(mut self, mib: u64) -> Self {
        self.min_ram = Some(mib);
        self
    }

    /// Protected (or not) from deletion.
    pub fn protected(mut self, on: bool) -> Self {
        self.protected = Some(on);
        self
    }

    /// With an additional property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }
}

/// The filters, sorting and paging of an image listing (`GET /v2/images`).
///
/// ```
/// use example_image::{ImageQuery, ImageStatus};
/// let q = ImageQuery::new().tag("ci").status(ImageStatus::Active).limit(2);
/// let pairs = serde_json::to_value(&q).unwrap();
/// assert_eq!(pairs["tag"], serde_json::json!(["ci"]));
/// assert_eq!(pairs["limit"], 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImageQuery {
    /// An exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ImageStatus>,
    /// A visibility (`community` and `all` list what a default listing does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// The owning project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Tags the images all have (each sent as `tag=`).
    #[serde(rename = "tag", skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A disk format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_format: Option<DiskFormat>,
    /// A container format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_format: Option<ContainerFormat>,
    /// Protected ones, or unprotected ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// Hidden ones, or visible ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_hidden: Option<bool>,
    /// At least this many bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_min: Option<u64>,
    /// At most this many bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_max: Option<u64>,
    /// The sort key (`created_at` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<String>,
    /// The sort direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_dir: Option<SortDir>,
    /// The page size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The last id of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

impl ImageQuery {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }

    /// With this exact name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// In this status.
    pub fn status(mut self, status: ImageStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// With this visibility.
    pub fn visibility(mut self, v: Visibility) -> Self {
        self.visibility = Some(v);
        self
    }

    /// With this tag too.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sorted by `key` in `dir`.
    pub fn sort(mut self, key: impl Into<String>, dir: SortDir) -> Self {
        self.sort_key = Some(key.into());
        self.sort_dir = Some(dir);
        self
    }

    /// Pages of `n`.
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// After the image `id`.
    pub fn marker(mut self, id: impl Into<String>) -> Self {
        self.marker = Some(id.into());
        self
    }
}

/// One page of a listing, with Glance's links. `next` is relative to the
/// endpoint (`/v2/images?limit=2&marker=...`) and is there whenever the page
/// came back full, even when nothing follows: the page it leads to is then
/// empty and has no `next`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImagePage {
    /// The images of this page.
    pub images: Vec<Image>,
    /// The next page, if Glance says there may be one.
    #[serde(default)]
    pub next: Option<String>,
    /// The first page.
    #[serde(default)]
    pub first: Option<String>,
}

/// One operation of a JSON-Patch (RFC 6902) as Glance takes it
/// (`application/openstack-images-v2.1-json-patch`).
///
/// The constructors take a property name (escaped into a JSON pointer);
/// the `_at` ones a JSON pointer as it is (`/locations/-`).
///
/// ```
/// use example_image::PatchOp;
/// let ops = [PatchOp::replace("name", "cirros-0.6"), PatchOp::add("hw/arch", "x86_64"), PatchOp::remove("old")];
/// assert_eq!(
///     serde_json::to_value(&ops).unwrap(),
///     serde_json::json!([
///         {"op": "replace", "path": "/name", "value": "cirros-0.6"},
///         {"op": "add", "path": "/hw~1arch", "value": "x86_64"},
///         {"op": "remove", "path": "/old"},
///     ])
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
#[non_exhaustive]
pub enum PatchOp {
    /// Add a property (or replace it if it exists).
    Add {
        /// The JSON pointer.
        path: String,
        /// The value.
        value: Value,
    },
    /// Replace a property that exists.
    Replace {
        /// The JSON pointer.
        path: String,
        /// The value.
        value: Value,
    },
    /// Remove a property.
    Remove {
        /// The JSON pointer.
        path: String,
    },
}

/// `/<property>`, escaped as a JSON pointer (`~` → `~0`, `/` → `~1`).
fn pointer(property: &str) -> String {
    format!("/{}", property.replace('~', "~0").replace('/', "~1"))
}

impl PatchOp {
    /// Add the property (an additional one, or a tag list, ...).
    pub fn add(property: &str, value: impl Into<Value>) -> Self {
        Self::add_at(pointer(property), value)
    }

    /// Replace the property's value.
    pub fn replace(property: &str, value: impl Into<Value>) -> Self {
        Self::replace_at(pointer(property), value)
    }

    /// Remove the property.
    pub fn remove(property: &str) -> Self {
        Self::remove_at(pointer(property))
    }

    /// Add at a JSON pointer.
    pub fn add_at(path: impl Into<String>, value: impl Into<Value>) -> Self {
        PatchOp::Add {
            path: path.into(),
            value: value.into(),
        }
    }

    /// Replace at a JSON pointer.
    pub fn replace_at(path: impl Into<String>, value: impl Into<Value>) -> Self {
        PatchOp::Replace {
            path: path.into(),
            value: value.into(),
        }
    }

    /// Remove at a JSON pointer.
    pub fn remove_at(path: impl Into<String>) -> Self {
        PatchOp::Remove { path: path.into() }
    }

    /// The JSON pointer it applies to.
    pub fn path(&self) -> &str {
        match self {
            PatchOp::Add { path, .. }
            | PatchOp::Replace { path, .. }
            | PatchOp::Remove { path } => path,
        }
    }
}

/// How an import gets the image's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ImportMethod {
    /// From the staging area (`PUT /v2/images/{id}/stage` first).
    GlanceDirect,
    /// Glance downloads it from a URI.
    WebDownload {
        /// The URI.
        uri: String,
    },
    /// Copy the data of an active image to more stores.
    CopyImage,
}

/// The body of `POST /v2/images/{id}/import`.
///
/// ```
/// use example_image::ImportRequest;
/// assert_eq!(
///     serde_json::to_value(ImportRequest::glance_direct()).unwrap(),
///     serde_json::json!({"method": {"name": "glance-direct"}})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRequest {
    /// The method.
    pub method: ImportMethod,
    /// The stores to import to (multi-store clouds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stores: Option<Vec<String>>,
    /// Import to every store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_stores: Option<bool>,
    /// Fail the import unless every store succeeds (Glance's default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_stores_must_succeed: Option<bool>,
}

impl ImportRequest {
    /// An import with `method`, to the default store.
    pub fn new(method: ImportMethod) -> Self {
        ImportRequest {
            method,
            stores: None,
            all_stores: None,
            all_stores_must_succeed: None,
        }
    }

    /// The glance-direct import of the staged data.
    pub fn glance_direct() -> Self {
        Self::new(ImportMethod::GlanceDirect)
    }

    /// The web-download import of `uri`.
    pub fn web_download(uri: impl Into<String>) -> Self {
        Self::new(ImportMethod::WebDownload { uri: uri.into() })
    }

    /// To these stores.
    pub fn stores(mut self, stores: Vec<String>) -> Self {
        self.stores = Some(stores);
        self
    }
}
