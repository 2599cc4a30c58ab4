//! The example Placement client against a real Placement 16.0.0 behind the
//! real Keystone (`cargo xtask keystone start && cargo xtask placement start`).
//! Without them each test says so and passes; under CI a missing Placement
//! is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use apiclient_auth::ExposeSecret;
use apiclient_auth::typed::{Scope, V3Password};
use apiclient_base::{ApiRequest, Method, Microversion};
use apiclient_http::HttpClient;
use example_placement::{Inventories, Inventory, NewProvider, Placement, ProviderQuery, Traits};

fn running() -> bool {
    let up = |port: u16| {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        )
        .is_ok()
    };
    if up(5000) && up(8778) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must start Keystone and Placement (cargo xtask keystone start; cargo xtask placement start)"
    );
    eprintln!("skipping: needs Keystone on :5000 and Placement on :8778");
    false
}

fn admin() -> HttpClient {
    let plugin = V3Password::new("http://127.0.0.1:5000/v3", "admin", "secret")
        .user_domain_name("Default")
        .scope(Scope::project_name("admin", "Default"));
    HttpClient::builder(plugin)
        .region_name(Some("RegionOne".into()))
        .build()
        .unwrap()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", fastrand_u64())
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_inventories_traits_and_conflicts_on_a_real_placement() {
    if !running() {
        return;
    }
    let http = admin();
    let placement = Placement::connect(&http).await.unwrap();
    assert_eq!(
        placement.microversion(),
        Some(Microversion::new(1, 39)),
        "negotiated with 16.0.0"
    );

    let name = unique("rp");
    let rp = placement
        .providers
        .create(&NewProvider {
            name: name.clone(),
            uuid: None,
        })
        .await
        .unwrap();
    assert_eq!(rp.name, name);
    assert_eq!(rp.meta().microversion, Some(Microversion::new(1, 39)));
    assert!(rp.request_id().unwrap().starts_with("req-"));

    // get, find by name, list with a filter, update
    assert_eq!(placement.providers.get(&rp.uuid).await.unwrap().name, name);
    assert_eq!(placement.providers.find(&name).await.unwrap().uuid, rp.uuid);
    let listed = placement
        .providers
        .list(&ProviderQuery {
            name: Some(name.clone()),
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let renamed = placement
        .providers
        .update(&rp.uuid, &serde_json::json!({"name": format!("{name}-x")}))
        .await
        .unwrap();
    assert_eq!(renamed.name, format!("{name}-x"));

    // inventories, with the generation rule
    let inv = placement.inventories(&rp.uuid).await.unwrap().into_inner();
    let mut wanted = Inventories {
        resource_provider_generation: inv.resource_provider_generation,
        inventories: BTreeMap::from([(
            "VCPU".to_string(),
            Inventory {
                total: 8,
                reserved: 0,
                min_unit: 1,
                max_unit: 8,
                step_size: 1,
                allocation_ratio: 4.0,
            },
        )]),
    };
    let set = placement.set_inventories(&rp.uuid, &wanted).await.unwrap();
    assert_eq!(set.inventories["VCPU"].total, 8);
    // the same (now stale) generation again: Placement's 409, typed
    wanted.inventories.get_mut("VCPU").unwrap().total = 16;
    let err = placement
        .set_inventories(&rp.uuid, &wanted)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.code(), Some("placement.concurrent_update"), "{err:?}");
    assert!(
        !err.to_string().starts_with("Conflict (HTTP 409)"),
        "the detail is shown: {err}"
    );

    // traits (a custom one must exist first)
    let custom = format!("CUSTOM_{}", unique("T").replace('-', "_").to_uppercase());
    placement.create_trait(&custom).await.unwrap();
    let current = placement.traits(&rp.uuid).await.unwrap().into_inner();
    let traits = placement
        .set_traits(
            &rp.uuid,
            &Traits {
                resource_provider_generation: current.resource_provider_generation,
                traits: vec![custom.clone(), "HW_CPU_X86_AVX2".into()],
            },
        )
        .await
        .unwrap();
    assert!(traits.traits.contains(&custom));

    // delete; then it is gone
    placement.providers.delete(&rp.uuid).await.unwrap();
    assert!(
        placement
            .providers
            .get(&rp.uuid)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let missing = placement.providers.find(&name).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_costs_exactly_one_reauthentication() {
    if !running() {
        return;
    }
    let http = admin();
    let placement = Placement::connect(&http).await.unwrap();
    placement
        .providers
        .list(&ProviderQuery::default())
        .await
        .unwrap();
    let before = http.token_state().authentications();

    // revoke the client's token out of band, as another admin
    let token = http
        .token_state()
        .access()
        .unwrap()
        .token()
        .expose_secret()
        .to_string();
    let other = admin();
    other
        .service_client("identity")
        .request(ApiRequest::new(Method::DELETE, "/auth/tokens").header("X-Subject-Token", &token))
        .await
        .unwrap();

    // Placement (keystonemiddleware, no token cache) refuses it; one re-auth, the call succeeds
    placement
        .providers
        .list(&ProviderQuery::default())
        .await
        .unwrap();
    assert_eq!(
        http.token_state().authentications(),
        before + 1,
        "exactly one re-authentication"
    );
    placement
        .providers
        .list(&ProviderQuery::default())
        .await
        .unwrap();
    assert_eq!(
        http.token_state().authentications(),
        before + 1,
        "and the new token is kept"
    );
}
