//! The examples of apiclient-base's documentation, run against the fakes.
//! (apiclient-base has no dev-dependency on apiclient-fake, whose own tests
//! use apiclient-base: its doctests only compile, and run here.)

use apiclient_auth::typed::{Scope, V3Password};
use apiclient_base::{
    Api, BaseClient, CrudManager, Microversion, Params, ResourceMeta, ResourceType, find_resource,
};
use apiclient_fake::{FakeCloud, FakeHttpClient, TestResponse};
use apiclient_http::HttpClient;
use serde::Deserialize;

async fn demo_client(cloud: &FakeCloud) -> HttpClient {
    let plugin = V3Password::new(cloud.auth_url(), "demo", "demopass")
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"));
    HttpClient::builder(plugin).build().unwrap()
}

/// lib.rs, "Typed resources first".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_resources_first() {
    #[derive(Debug, Deserialize)]
    struct Flavor {
        id: String,
        name: String,
        ram: Option<u64>,
    }

    impl ResourceType for Flavor {
        const SINGULAR: &'static str = "flavor";
        const PLURAL: &'static str = "flavors";
        const DETAIL_PATH: Option<&'static str> = Some("/flavors/detail");
        fn id(&self) -> &str {
            &self.id
        }
        fn name(&self) -> Option<&str> {
            Some(&self.name)
        }
    }

    let cloud = FakeCloud::start().await.unwrap();
    let http = demo_client(&cloud).await;
    let compute = http
        .service_client("compute")
        .with_negotiated_microversion(Microversion::new(2, 1), Microversion::new(2, 79))
        .await
        .unwrap();
    let flavors: Api<Flavor> = Api::new(compute);
    let small = flavors.find("m1.small").await.unwrap();
    assert_eq!(small.ram, Some(2048));
    let all = flavors.list(&()).await.unwrap();
    assert!(!all.is_empty());
    assert_eq!(all.meta().microversion, Some(Microversion::new(2, 79)));
}

/// lib.rs, "The reference API beside it".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_api_beside_it() {
    let cloud = FakeCloud::start().await.unwrap();
    let http = demo_client(&cloud).await;

    const SERVER: ResourceMeta = ResourceMeta::new("Server");
    let servers = CrudManager::new(
        BaseClient::new(&http, "compute"),
        SERVER,
        "servers",
        "server",
    );
    let created = servers
        .create(Params::new().set("name", "web-1"))
        .await
        .unwrap();
    let found = find_resource(servers.as_ref(), "web-1").await.unwrap();
    assert_eq!(found.id(), created.id());
}

/// api.rs, the module's example.
#[tokio::test]
async fn typed_get_against_fixtures() {
    #[derive(Debug, Clone, Deserialize)]
    struct Flavor {
        id: String,
        name: String,
        vcpus: u32,
    }

    impl ResourceType for Flavor {
        const SINGULAR: &'static str = "flavor";
        const PLURAL: &'static str = "flavors";
        fn id(&self) -> &str {
            &self.id
        }
        fn name(&self) -> Option<&str> {
            Some(&self.name)
        }
    }

    let fake = FakeHttpClient::new();
    fake.respond(
        "GET",
        "/flavors/1",
        TestResponse::json(
            200,
            &serde_json::json!({"flavor": {"id": "1", "name": "m1.tiny", "vcpus": 1}}),
        ),
    );
    let flavors: Api<Flavor> = Api::new(fake.http_client().unwrap().service_client("compute"));
    let f = flavors.get("1").await.unwrap();
    assert_eq!((f.name.as_str(), f.vcpus), ("m1.tiny", 1));
    assert_eq!(f.meta().status, 200);
}
