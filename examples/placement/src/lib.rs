//! An example Placement client on `apiclient-base`: resource providers,
//! their inventories and traits, at the highest microversion both sides
//! speak (up to 1.39), with Placement's API-SIG errors typed.
//!
//! ```no_run
//! # async fn f(http: apiclient_base::HttpClient) -> Result<(), apiclient_base::Error> {
//! use example_placement::{Placement, NewProvider};
//! let placement = Placement::connect(&http).await?;
//! let rp = placement.providers.create(&NewProvider { name: "compute-1".into(), uuid: None }).await?;
//! let inv = placement.inventories(&rp.uuid).await?;
//! println!("generation {}", inv.resource_provider_generation);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use apiclient_base::{
    Api, ApiRequest, Error, HttpClient, Microversion, ResourceType, ServiceClient, WithMeta,
};
use serde::{Deserialize, Serialize};

/// A resource provider.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceProvider {
    /// Its UUID (Placement's id field).
    pub uuid: String,
    /// Its unique name.
    pub name: String,
    /// The generation, for consistent updates.
    pub generation: u64,
    /// The parent provider, if nested.
    #[serde(default)]
    pub parent_provider_uuid: Option<String>,
}

impl ResourceType for ResourceProvider {
    const SINGULAR: &'static str = "resource_provider";
    const PLURAL: &'static str = "resource_providers";
    const ID_FIELD: &'static str = "uuid";
    const WRAPPED: bool = false;
    fn id(&self) -> &str {
        &self.uuid
    }
    fn name(&self) -> Option<&str> {
        Some(&self.name)
    }
}

/// The body of a provider create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct NewProvider {
    /// The name.
    pub name: String,
    /// A chosen UUID (else Placement makes one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}

/// The filters of a provider listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ProviderQuery {
    /// An exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One resource class's inventory.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Inventory {
    /// The amount.
    pub total: u64,
    /// Reserved for other use.
    #[serde(default)]
    pub reserved: u64,
    /// The smallest allocation.
    #[serde(default = "one")]
    pub min_unit: u64,
    /// The largest allocation.
    #[serde(default = "u64_max_unit")]
    pub max_unit: u64,
    /// The allocation step.
    #[serde(default = "one")]
    pub step_size: u64,
    /// Overcommit ratio.
    #[serde(default = "ratio")]
    pub allocation_ratio: f64,
}

fn one() -> u64 {
    1
}
fn u64_max_unit() -> u64 {
    2147483647
}
fn ratio() -> f64 {
    1.0
}

/// A provider's inventories, with the generation they are at.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Inventories {
    /// The provider generation.
    pub resource_provider_generation: u64,
    /// By resource class (`VCPU`, `MEMORY_MB`, ...).
    pub inventories: BTreeMap<String, Inventory>,
}

/// A provider's traits, with the generation they are at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Traits {
    /// The provider generation.
    pub resource_provider_generation: u64,
    /// The trait names.
    pub traits: Vec<String>,
}

/// The highest microversion this client knows.
pub const MICROVERSION: Microversion = Microversion::new(1, 39);

/// A Placement client.
#[derive(Debug, Clone)]
pub struct Placement {
    /// Resource providers.
    pub providers: Api<ResourceProvider>,
    service: ServiceClient,
}

impl Placement {
    /// The cloud's placement service at the highest microversion in 1.20..=1.39.
    pub async fn connect(http: &HttpClient) -> Result<Self, Error> {
        let service = http
            .service_client("placement")
            .with_negotiated_microversion(Microversion::new(1, 20), MICROVERSION)
            .await?;
        Ok(Placement {
            providers: Api::new(service.clone()),
            service,
        })
    }

    /// The microversion in use.
    pub fn microversion(&self) -> Option<Microversion> {
        self.service.microversion()
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: String,
    ) -> Result<WithMeta<T>, Error> {
        let resp = self.service.request(ApiRequest::get(path)).await?;
        let meta = apiclient_base::ResponseMeta::of(&resp);
        Ok(WithMeta::new(resp.json()?, meta))
    }

    async fn put_json<B: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: String,
        body: &B,
    ) -> Result<WithMeta<T>, Error> {
        let resp = self
            .service
            .request(ApiRequest::put(path).json(body))
            .await?;
        let meta = apiclient_base::ResponseMeta::of(&resp);
        Ok(WithMeta::new(resp.json()?, meta))
    }

    /// A provider's inventories.
    pub async fn inventories(&self, uuid: &str) -> Result<WithMeta<Inventories>, Error> {
        self.get_json(format!("/resource_providers/{uuid}/inventories"))
            .await
    }

    /// Replace a provider's inventories; a stale generation is a 409 with
    /// code `placement.concurrent_update`.
    pub async fn set_inventories(
        &self,
        uuid: &str,
        inv: &Inventories,
    ) -> Result<WithMeta<Inventories>, Error> {
        self.put_json(format!("/resource_providers/{uuid}/inventories"), inv)
            .await
    }

    /// A provider's traits.
    pub async fn traits(&self, uuid: &str) -> Result<WithMeta<Traits>, Error> {
        self.get_json(format!("/resource_providers/{uuid}/traits"))
            .await
    }

    /// Replace a provider's traits (custom ones must exist: [`create_trait`](Self::create_trait)).
    pub async fn set_traits(&self, uuid: &str, traits: &Traits) -> Result<WithMeta<Traits>, Error> {
        self.put_json(format!("/resource_providers/{uuid}/traits"), traits)
            .await
    }

    /// Create a custom trait (`CUSTOM_...`); an existing one is fine.
    pub async fn create_trait(&self, name: &str) -> Result<(), Error> {
        self.service
            .request(ApiRequest::put(format!("/traits/{name}")))
            .await
            .map(|_| ())
    }
}
