//! An example Nova client on `apiclient-base`: servers and flavors at
//! microversion 2.79 (negotiated down when the cloud is older).
//!
//! ```no_run
//! # async fn f(http: apiclient_base::HttpClient) -> Result<(), apiclient_base::Error> {
//! use example_compute::{Compute, NewServer};
//! let nova = Compute::connect(&http).await?;
//! let created = nova.servers.create(&NewServer { name: "web-1".into(), flavor_ref: "1".into(), ..Default::default() }).await?;
//! nova.servers.reboot(&created.id, "SOFT").await?;
//! for server in nova.servers.list(&Default::default()).await?.iter() {
//!     println!("{} {:?}", server.name, server.status);
//! }
//! # Ok(()) }
//! ```

mod types;

pub use types::*;

use apiclient_base::{
    Api, Error, HttpClient, Microversion, ServiceClient, WithMeta, impl_resource_type,
};
use futures_util::Stream;

impl_resource_type!(Server {
    singular: "server",
    plural: "servers",
    name: name,
    detail_path: "/servers/detail",
});

impl_resource_type!(ServerSummary {
    singular: "server",
    plural: "servers",
    name: name,
});

impl_resource_type!(Flavor {
    singular: "flavor",
    plural: "flavors",
    name: name,
    detail_path: "/flavors/detail",
});

/// The microversion this client is written for.
pub const MICROVERSION: Microversion = Microversion::new(2, 79);

/// The servers of a compute service.
#[derive(Debug, Clone)]
pub struct Servers {
    api: Api<Server>,
}

impl Servers {
    /// One page of servers, with details.
    pub async fn list(&self, query: &ServerQuery) -> Result<WithMeta<Vec<Server>>, Error> {
        self.api.list(query).await
    }

    /// Every server (following `servers_links`), with details.
    pub fn list_all(
        &self,
        query: &ServerQuery,
    ) -> impl Stream<Item = Result<Server, Error>> + Send + 'static {
        self.api.list_all(query)
    }

    /// The summary list (id, name, links), upgradable with [`Servers::get`].
    pub async fn summaries(
        &self,
        query: &ServerQuery,
    ) -> Result<WithMeta<Vec<ServerSummary>>, Error> {
        Api::<ServerSummary>::new(self.api.client().clone())
            .list(query)
            .await
    }

    /// One server.
    pub async fn get(&self, id: &str) -> Result<WithMeta<Server>, Error> {
        self.api.get(id).await
    }

    /// By id, else by exact name.
    pub async fn find(&self, name_or_id: &str) -> Result<Server, Error> {
        self.api.find(name_or_id).await
    }

    /// Create one (202: the id and the admin password).
    pub async fn create(&self, server: &NewServer) -> Result<WithMeta<CreatedServer>, Error> {
        self.api.create_as(server).await
    }

    /// Rename it (or change other updatable fields).
    pub async fn update(&self, id: &str, name: &str) -> Result<WithMeta<Server>, Error> {
        self.api
            .update(id, &serde_json::json!({ "name": name }))
            .await
    }

    /// Delete it.
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        self.api.delete(id).await.map(|_| ())
    }

    /// Reboot it (`SOFT` or `HARD`).
    pub async fn reboot(&self, id: &str, kind: &str) -> Result<(), Error> {
        self.api
            .action(id, "reboot", &serde_json::json!({ "type": kind }))
            .await
            .map(|_| ())
    }
}

/// The flavors of a compute service.
#[derive(Debug, Clone)]
pub struct Flavors {
    api: Api<Flavor>,
}

impl Flavors {
    /// Every flavor, with details.
    pub async fn list(&self) -> Result<WithMeta<Vec<Flavor>>, Error> {
        self.api.list(&()).await
    }

    /// One flavor.
    pub async fn get(&self, id: &str) -> Result<WithMeta<Flavor>, Error> {
        self.api.get(id).await
    }

    /// By id, else by exact name.
    pub async fn find(&self, name_or_id: &str) -> Result<Flavor, Error> {
        self.api.find(name_or_id).await
    }
}

/// A compute client: its servers and flavors, at one microversion.
#[derive(Debug, Clone)]
pub struct Compute {
    /// Servers.
    pub servers: Servers,
    /// Flavors.
    pub flavors: Flavors,
}

impl Compute {
    /// A client at exactly `microversion` (no discovery).
    pub fn at(service: ServiceClient, microversion: Microversion) -> Self {
        let service = service.with_microversion(microversion);
        Compute {
            servers: Servers {
                api: Api::new(service.clone()),
            },
            flavors: Flavors {
                api: Api::new(service),
            },
        }
    }

    /// A client of the cloud's compute service at [`MICROVERSION`], or the
    /// highest the cloud has below it (from 2.1).
    pub async fn connect(http: &HttpClient) -> Result<Self, Error> {
        let service = http.service_client("compute");
        let version = service
            .negotiate(Microversion::new(2, 1), MICROVERSION)
            .await?;
        Ok(Self::at(service, version))
    }

    /// The microversion in use.
    pub fn microversion(&self) -> Option<Microversion> {
        self.servers.api.client().microversion()
    }
}
