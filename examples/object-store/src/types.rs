//! The typed values of the object store: what Swift answers (listings,
//! the metadata of an account, a container, an object) and what a caller
//! chooses (listing filters, upload and download options).

use std::collections::BTreeMap;
use std::sync::Arc;

use apiclient_base::{DigestAlgorithm, Progress, ProgressFn};
use http::HeaderMap;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// User metadata (`X-<Kind>-Meta-<key>: <value>`). Keys read back from
/// Swift are lower case (HTTP header names are case-insensitive); values
/// are UTF-8 as sent.
pub type Metadata = BTreeMap<String, String>;

/// One container of an account listing (`GET /v1/AUTH_...?format=json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ContainerEntry {
    /// The container's name.
    pub name: String,
    /// How many objects it holds.
    #[serde(default)]
    pub count: u64,
    /// The bytes its objects use.
    #[serde(default)]
    pub bytes: u64,
    /// When it last changed (Swift's ISO 8601 without a zone, UTC).
    #[serde(default)]
    pub last_modified: Option<String>,
}

/// One object of a container listing (`GET /v1/AUTH_.../<container>?format=json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ObjectEntry {
    /// The object's name.
    pub name: String,
    /// Its size in bytes (a large-object manifest: the manifest's own size).
    #[serde(default)]
    pub bytes: u64,
    /// The MD5 of its content, hex (a manifest: see [`ObjectInfo::etag`]).
    #[serde(default)]
    pub hash: String,
    /// Its media type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// When it last changed (Swift's ISO 8601 without a zone, UTC).
    #[serde(default)]
    pub last_modified: Option<String>,
}

/// The filters and page of a listing. `format=json` is always asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ListQuery {
    /// Only names starting with this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Only names after this one (the previous page's last name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Only names before this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_marker: Option<String>,
    /// At most this many entries per page (Swift's default and maximum:
    /// 10 000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl ListQuery {
    /// Names starting with `prefix`.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        ListQuery {
            prefix: Some(prefix.into()),
            ..Default::default()
        }
    }

    /// The same query with pages of at most `limit` entries.
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// An account's counters and metadata (`HEAD /v1/AUTH_...`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccountInfo {
    /// Containers in the account.
    pub container_count: u64,
    /// Objects in the account.
    pub object_count: u64,
    /// Bytes used.
    pub bytes_used: u64,
    /// `X-Account-Meta-*`, without the temp-URL keys.
    pub metadata: Metadata,
    /// `X-Account-Meta-Temp-URL-Key` (only an account owner sees it).
    pub temp_url_key: Option<SecretString>,
    /// `X-Account-Meta-Temp-URL-Key-2`, the second key (for rotation).
    pub temp_url_key_2: Option<SecretString>,
}

impl AccountInfo {
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        let mut metadata = metadata(h, "x-account-meta-");
        let temp_url_key = metadata.remove("temp-url-key").map(SecretString::from);
        let temp_url_key_2 = metadata.remove("temp-url-key-2").map(SecretString::from);
        AccountInfo {
            container_count: header_u64(h, "x-account-container-count").unwrap_or(0),
            object_count: header_u64(h, "x-account-object-count").unwrap_or(0),
            bytes_used: header_u64(h, "x-account-bytes-used").unwrap_or(0),
            metadata,
            temp_url_key,
            temp_url_key_2,
        }
    }
}

/// A container's counters, ACLs and metadata (`HEAD /v1/AUTH_.../<container>`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ContainerInfo {
    /// Objects in the container.
    pub object_count: u64,
    /// Bytes used.
    pub bytes_used: u64,
    /// The storage policy, when the cluster says.
    pub storage_policy: Option<String>,
    /// `X-Container-Read`, the read ACL.
    pub read_acl: Option<String>,
    /// `X-Container-Write`, the write ACL.
    pub write_acl: Option<String>,
    /// `X-Container-Meta-*`, without the temp-URL keys.
    pub metadata: Metadata,
    /// `X-Container-Meta-Temp-URL-Key` (a key for this container's objects only).
    pub temp_url_key: Option<SecretString>,
}

impl ContainerInfo {
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        let mut metadata = metadata(h, "x-container-meta-");
        let temp_url_key = metadata.remove("temp-url-key").map(SecretString::from);
        metadata.remove("temp-url-key-2");
        ContainerInfo {
            object_count: header_u64(h, "x-container-object-count").unwrap_or(0),
            bytes_used: header_u64(h, "x-container-bytes-used").unwrap_or(0),
            storage_policy: header(h, "x-storage-policy"),
            read_acl: header(h, "x-container-read"),
            write_acl: header(h, "x-container-write"),
            metadata,
            temp_url_key,
        }
    }
}

/// What kind of large object a manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LargeObjectKind {
    /// A static large object (SLO): a manifest listing its segments.
    Static,
    /// A dynamic large object (DLO): the objects under a prefix.
    Dynamic,
}

/// An object's size, type, ETag and metadata (from `HEAD`, or the headers of a `GET`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// The size of its content (a large object: all segments together).
    pub content_length: u64,
    /// Its media type.
    pub content_type: Option<String>,
    /// The ETag without quotes: a plain object's MD5 (hex); a static large
    /// object's is the MD5 of its segments' MD5s.
    pub etag: Option<String>,
    /// `Last-Modified`, as the server wrote it.
    pub last_modified: Option<String>,
    /// `X-Object-Meta-*`.
    pub metadata: Metadata,
    /// Set when it is a large-object manifest.
    pub large_object: Option<LargeObjectKind>,
}

impl ObjectInfo {
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        let large_object =
            if header(h, "x-static-large-object").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
                Some(LargeObjectKind::Static)
            } else if h.contains_key("x-object-manifest") {
                Some(LargeObjectKind::Dynamic)
            } else {
                None
            };
        ObjectInfo {
            content_length: header_u64(h, "content-length").unwrap_or(0),
            content_type: header(h, "content-type"),
            etag: header(h, "etag").map(|e| unquote(&e).to_string()),
            last_modified: header(h, "last-modified"),
            metadata: metadata(h, "x-object-meta-"),
            large_object,
        }
    }
}

/// An object's content read whole, with its headers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ObjectData {
    /// What the headers said.
    pub info: ObjectInfo,
    /// The content.
    pub data: bytes::Bytes,
}

/// What an upload stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Uploaded {
    /// The ETag Swift computed (the MD5 of the bytes it stored, hex),
    /// checked against the one sent or computed.
    pub etag: String,
    /// The bytes sent, when known.
    pub bytes: Option<u64>,
}

/// What a download wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Downloaded {
    /// The bytes written.
    pub bytes: u64,
    /// What the headers said.
    pub info: ObjectInfo,
}

/// How an upload's MD5 is sent and checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Md5Check {
    /// The default. A file (or bytes) is hashed before it is sent and the
    /// MD5 goes as `ETag`: Swift refuses (422) what does not match, and
    /// stores nothing. A one-shot reader is hashed as it is sent and the
    /// result compared with the `ETag` Swift answers
    /// ([`Error::DigestMismatch`](apiclient_base::Error::DigestMismatch)).
    #[default]
    Compute,
    /// This MD5 (hex) is known: sent as `ETag` without reading the source twice.
    Known(String),
    /// No check.
    Skip,
}

/// The options of an object upload: content type, metadata, MD5, progress.
#[derive(Clone, Default)]
pub struct UploadOptions {
    /// The media type (else Swift guesses it from the name).
    pub content_type: Option<String>,
    /// `X-Object-Meta-*` to store with the object.
    pub metadata: Metadata,
    /// How the MD5 is sent and checked.
    pub md5: Md5Check,
    pub(crate) progress: Option<ProgressFn>,
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("content_type", &self.content_type)
            .field("metadata", &self.metadata)
            .field("md5", &self.md5)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl UploadOptions {
    /// The defaults: no metadata, the MD5 computed and checked.
    pub fn new() -> Self {
        Self::default()
    }

    /// With this media type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// With this metadata item.
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// With this MD5 policy.
    pub fn md5(mut self, md5: Md5Check) -> Self {
        self.md5 = md5;
        self
    }

    /// Told of the bytes sent as they go (from zero again when a replay
    /// after a 401 sends the file anew).
    pub fn on_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// The options of a download: digests to check, progress.
#[derive(Clone)]
pub struct DownloadOptions {
    pub(crate) verify_etag: bool,
    pub(crate) digests: Vec<(DigestAlgorithm, String)>,
    pub(crate) progress: Option<ProgressFn>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            verify_etag: true,
            digests: Vec::new(),
            progress: None,
        }
    }
}

impl std::fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("verify_etag", &self.verify_etag)
            .field("digests", &self.digests)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl DownloadOptions {
    /// The defaults: a plain object's `ETag` (its MD5) is checked as the
    /// bytes arrive; a large object's or a partial answer's is not an MD5 of
    /// the bytes and is skipped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also check the content against this SHA-256 (hex).
    pub fn expect_sha256(self, hex: impl Into<String>) -> Self {
        self.expect_digest(DigestAlgorithm::Sha256, hex)
    }

    /// Also check the content against this digest (hex).
    pub fn expect_digest(mut self, algorithm: DigestAlgorithm, hex: impl Into<String>) -> Self {
        self.digests.push((algorithm, hex.into()));
        self
    }

    /// Do not check the `ETag`.
    pub fn skip_etag_check(mut self) -> Self {
        self.verify_etag = false;
        self
    }

    /// Told of the bytes received as they arrive.
    pub fn on_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// A header as text (lossy UTF-8: Swift's metadata values may be UTF-8).
pub(crate) fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

pub(crate) fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    header(h, name).and_then(|v| v.trim().parse().ok())
}

/// The headers under `prefix` (lower case), the prefix cut off.
pub(crate) fn metadata(h: &HeaderMap, prefix: &str) -> Metadata {
    h.iter()
        .filter_map(|(name, value)| {
            let key = name.as_str().strip_prefix(prefix)?;
            Some((
                key.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ))
        })
        .collect()
}

/// An ETag without its quotes.
pub(crate) fn unquote(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}
