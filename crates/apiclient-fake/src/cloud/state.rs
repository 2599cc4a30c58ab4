//! What the fake cloud knows: its users, projects, tokens, servers, images,
//! volumes, mounted services, pending faults and counters. A leaf (but for
//! the mounted services' types).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use time::OffsetDateTime;

use super::fault::Fault;
use super::mount::ServiceFn;

/// A user of the fake Keystone.
#[derive(Debug, Clone)]
pub struct FakeUser {
    /// Id.
    pub id: String,
    /// Name (in domain `Default`).
    pub name: String,
    /// Password.
    pub password: String,
    /// The project it has a role on.
    pub project_id: String,
}

/// A volume operation the fake block-storage service can be told to fail
/// ([`FakeCloud::fail_next_volume`](crate::FakeCloud::fail_next_volume)):
/// the volume then ends in the error status Cinder gives it, after the
/// same delay its success would have taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VolumeFailure {
    /// A create: `creating` → `error`.
    Create,
    /// An `os-extend`: `extending` → `error_extending`, the size unchanged.
    Extend,
    /// A delete: `deleting` → `error_deleting`, the volume kept.
    Delete,
}

#[derive(Debug, Clone)]
pub(super) struct TokenInfo {
    pub(super) user: usize,
    pub(super) scope: Value,
    pub(super) methods: Vec<String>,
    pub(super) expires: OffsetDateTime,
    pub(super) issued: OffsetDateTime,
    pub(super) revoked: bool,
}

/// Where an image's data is.
#[derive(Debug, Clone)]
pub(super) enum DataSource {
    /// A seeded image's few bytes.
    Bytes(Bytes),
    /// An upload, in the cloud's data directory.
    File(PathBuf),
}

/// An image's data and its digests (as Glance records them).
#[derive(Debug, Clone)]
pub(super) struct ImageData {
    pub(super) source: DataSource,
    pub(super) size: u64,
    pub(super) md5: String,
    pub(super) sha512: String,
}

/// An image: its JSON as Glance shows it, its data, its staged data, and
/// when a running import ends.
#[derive(Debug, Clone)]
pub(super) struct FakeImage {
    pub(super) body: Value,
    pub(super) data: Option<ImageData>,
    pub(super) staged: Option<ImageData>,
    pub(super) import_done: Option<Instant>,
}

/// What a volume becomes when its transition is over.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Settle {
    /// This status (and, for an extend, this size).
    Status(&'static str, Option<u64>),
    /// Gone (a delete).
    Gone,
}

/// A volume: every field it can show (the view picks by microversion and
/// role), its project, and its pending transition.
#[derive(Debug, Clone)]
pub(super) struct Volume {
    pub(super) body: Value,
    pub(super) project: String,
    pub(super) pending: Option<(Instant, Settle)>,
}

pub(super) struct State {
    pub(super) base: String,
    pub(super) users: Vec<FakeUser>,
    pub(super) projects: Vec<(String, String)>,
    pub(super) app_creds: Vec<(String, String, String, usize)>, // id, name, secret, user
    pub(super) tokens: HashMap<String, TokenInfo>,
    pub(super) token_lifetime: Duration,
    pub(super) faults: VecDeque<Fault>,
    pub(super) fault_prefix: String,
    /// "<METHOD> <path>" with ids replaced by `{id}` → count.
    pub(super) counts: BTreeMap<String, u64>,
    /// "<METHOD> <path>" as requested → count (for patterns).
    pub(super) paths: BTreeMap<String, u64>,
    pub(super) servers: BTreeMap<String, Value>,
    pub(super) images: Vec<FakeImage>,
    /// Where uploaded image data goes (removed with the state).
    pub(super) data_dir: tempfile::TempDir,
    /// Volumes, oldest first.
    pub(super) volumes: Vec<Volume>,
    /// How long a volume (or image import) takes to leave a transitional status.
    pub(super) status_delay: Duration,
    /// Volume operations to fail, in order.
    pub(super) volume_failures: Vec<VolumeFailure>,
    pub(super) mounted: BTreeMap<String, Mounted>,
    pub(super) next_id: u64,
    /// (identity provider, protocol) → (access-token check, local user)
    pub(super) federation: BTreeMap<(String, String), (TokenCheck, usize)>,
}

impl State {
    /// Whether a mount took the place of the built-in `service_type`.
    pub(super) fn replaced(&self, service_type: &str) -> bool {
        self.mounted.contains_key(service_type)
    }

    /// The next number of this cloud (ids, file names).
    pub(super) fn next(&mut self) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        n
    }
}

pub(super) type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A mounted service: a handler of buffered requests, or a streaming tower service.
#[derive(Clone)]
pub(super) enum Mounted {
    Handler(Arc<dyn Fn(&crate::FakeRequest) -> crate::TestResponse + Send + Sync>),
    Service(ServiceFn),
}
