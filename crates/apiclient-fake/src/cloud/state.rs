//! What the fake cloud knows: its users, projects, tokens, servers, images,
//! mounted services, pending faults and counters. A leaf.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use super::fault::Fault;

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

#[derive(Debug, Clone)]
pub(super) struct TokenInfo {
    pub(super) user: usize,
    pub(super) scope: Value,
    pub(super) methods: Vec<String>,
    pub(super) expires: OffsetDateTime,
    pub(super) issued: OffsetDateTime,
    pub(super) revoked: bool,
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
    pub(super) counts: BTreeMap<String, u64>,
    pub(super) servers: BTreeMap<String, Value>,
    pub(super) images: Vec<Value>,
    pub(super) mounted: BTreeMap<String, Mounted>,
    pub(super) next_id: u64,
    /// (identity provider, protocol) → (access-token check, local user)
    pub(super) federation: BTreeMap<(String, String), (TokenCheck, usize)>,
}

pub(super) type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A mounted service's handler.
pub(super) type Mounted = Arc<dyn Fn(&crate::FakeRequest) -> crate::TestResponse + Send + Sync>;
