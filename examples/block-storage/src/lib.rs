//! An example Cinder v3 client on `apiclient-base`: volumes (list, pages,
//! get, find, create, update, delete), their actions (extend, reset the
//! status, bootable) and waiters, at a negotiated `volume` microversion.
//! It has no waiter, path encoder or fake of its own: the library's
//! `Api<T>` waiters, `path` and `apiclient-fake`'s Cinder shape serve it.
//!
//! ```no_run
//! # async fn f(http: apiclient_base::HttpClient) -> Result<(), Box<dyn std::error::Error>> {
//! use example_block_storage::{BlockStorage, NewVolume};
//! let cinder = BlockStorage::connect(&http).await?;
//! let created = cinder.volumes.create(&NewVolume { size: 1, name: Some("data".into()), ..Default::default() }).await?;
//! let volume = cinder.volumes.wait_available(&created.id).await?;
//! cinder.volumes.extend(&volume.id, 2).await?;
//! cinder.volumes.delete(&volume.id).await?;
//! cinder.volumes.wait_deleted(&volume.id).await?;
//! # Ok(()) }
//! ```

mod types;

pub use types::*;

use std::time::Duration;

use apiclient_base::wait::{Wait, WaitError};
use apiclient_base::{
    Api, Error, HttpClient, Microversion, Page, PageToken, ServiceClient, WithMeta,
    impl_resource_type,
};

impl_resource_type!(Volume {
    singular: "volume",
    plural: "volumes",
    name: name,
    status: status,
    detail_path: "/volumes/detail",
});

/// The microversion this client is written for (Cinder of 2023.1 and later
/// has it).
pub const MICROVERSION: Microversion = Microversion::new(3, 71);

/// The statuses a volume waits in before it is usable or gone: everything
/// else that is not the target and starts with `error` is a failure.
const FAILURES: &[&str] = &["error", "error_*"];

/// The volumes of a block-storage service.
#[derive(Debug, Clone)]
pub struct Volumes {
    api: Api<Volume>,
    wait: Wait,
}

impl Volumes {
    /// One page of volumes, with details.
    pub async fn list(&self, query: &VolumeQuery) -> Result<WithMeta<Vec<Volume>>, Error> {
        self.api.list(query).await
    }

    /// One page and the token of the next (`volumes_links`), for a UI's
    /// "next page".
    pub async fn page(&self, query: &VolumeQuery) -> Result<Page<Volume>, Error> {
        self.api.list_page(query).await
    }

    /// The page a token of [`page`](Self::page) names.
    pub async fn page_from(&self, token: &PageToken) -> Result<Page<Volume>, Error> {
        self.api.list_page_from(token).await
    }

    /// One volume.
    pub async fn get(&self, id: &str) -> Result<WithMeta<Volume>, Error> {
        self.api.get(id).await
    }

    /// One volume, or None when there is none of that id.
    pub async fn get_opt(&self, id: &str) -> Result<Option<WithMeta<Volume>>, Error> {
        self.api.get_opt(id).await
    }

    /// By id, else by exact name.
    pub async fn find(&self, name_or_id: &str) -> Result<Volume, Error> {
        self.api.find(name_or_id).await
    }

    /// Create one (202: it is `creating`; [`wait_available`](Self::wait_available)).
    pub async fn create(&self, volume: &NewVolume) -> Result<WithMeta<Volume>, Error> {
        self.api.create(volume).await
    }

    /// Change its name or description.
    pub async fn update(&self, id: &str, update: &VolumeUpdate) -> Result<WithMeta<Volume>, Error> {
        self.api.update(id, update).await
    }

    /// Delete it (202: it is `deleting`; [`wait_deleted`](Self::wait_deleted)).
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        self.api.delete(id).await.map(|_| ())
    }

    /// Grow it to `new_size` GiB (`os-extend`; it is `extending` a while).
    pub async fn extend(&self, id: &str, new_size: u64) -> Result<(), Error> {
        self.api
            .action(
                id,
                "os-extend",
                &serde_json::json!({ "new_size": new_size }),
            )
            .await
            .map(|_| ())
    }

    /// Set its status (`os-reset_status`, an administrator's repair).
    pub async fn reset_status(&self, id: &str, status: &str) -> Result<(), Error> {
        self.api
            .action(
                id,
                "os-reset_status",
                &serde_json::json!({ "status": status }),
            )
            .await
            .map(|_| ())
    }

    /// Mark it bootable or not (`os-set_bootable`).
    pub async fn set_bootable(&self, id: &str, bootable: bool) -> Result<(), Error> {
        self.api
            .action(
                id,
                "os-set_bootable",
                &serde_json::json!({ "bootable": bootable }),
            )
            .await
            .map(|_| ())
    }

    /// Wait until it is `available` (after a create or an extend): an
    /// `error*` status ends the wait with [`WaitError::FailureState`].
    pub async fn wait_available(&self, id: &str) -> Result<WithMeta<Volume>, WaitError> {
        self.api
            .wait_for(id, &self.wait.clone().target("available"))
            .await
    }

    /// Wait until it is gone (a 404); `error_deleting` is a failure.
    pub async fn wait_deleted(&self, id: &str) -> Result<(), WaitError> {
        self.api
            .wait_for_delete_with(id, &self.wait.clone().failures(["error_deleting"]))
            .await
    }
}

/// A block-storage client: its volumes, at one microversion.
#[derive(Debug, Clone)]
pub struct BlockStorage {
    /// Volumes.
    pub volumes: Volumes,
}

impl BlockStorage {
    /// A client at exactly `microversion` (no discovery).
    pub fn at(service: ServiceClient, microversion: Microversion) -> Self {
        BlockStorage {
            volumes: Volumes {
                api: Api::new(service.with_microversion(microversion)),
                wait: Wait::new()
                    .failures(FAILURES.iter().copied())
                    .timeout(Duration::from_secs(600)),
            },
        }
    }

    /// A client of the cloud's block-storage service at [`MICROVERSION`], or
    /// the highest the cloud has below it (from 3.0).
    pub async fn connect(http: &HttpClient) -> Result<Self, Error> {
        let service = http.service_client("block-storage");
        let version = service
            .negotiate(Microversion::new(3, 0), MICROVERSION)
            .await?;
        Ok(Self::at(service, version))
    }

    /// The waits' settings: how long, how often (the default: 10 minutes,
    /// polls from 1 s growing to 15 s).
    pub fn with_wait(mut self, wait: Wait) -> Self {
        self.volumes.wait = wait.failures(FAILURES.iter().copied());
        self
    }

    /// The microversion in use.
    pub fn microversion(&self) -> Option<Microversion> {
        self.volumes.api.client().microversion()
    }
}
