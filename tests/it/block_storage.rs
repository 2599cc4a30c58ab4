//! Against a real cinder-api 29 behind the real Keystone (`cargo xtask
//! keystone start && cargo xtask cinder start`): discovery on its
//! project-scoped endpoint, microversions, and the shapes of its errors.
//! Without them the tests say so and pass; under CI they must run.

use apiclient_http::ApiRequest;
use apiclient_http::microversion::Microversion;

use crate::support::{real_demo, real_service};

fn one_line(text: &str) {
    assert!(
        !text.contains('\n') && !text.contains('<') && !text.contains("  "),
        "not one clean line: {text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_errors_on_a_real_cinder() {
    if !real_service(8776, "cinder") {
        return;
    }
    let http = real_demo();
    let volumes = http.service_client("block-storage");
    let endpoint = volumes.endpoint().await.unwrap();
    let project = http
        .access()
        .await
        .unwrap()
        .project_id()
        .unwrap()
        .to_string();
    assert_eq!(endpoint, format!("http://127.0.0.1:8776/v3/{project}"));

    // GET on the endpoint is a 404: the versions come from /v3/ (or the root)
    let err = volumes.get("").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    one_line(&err.to_string());
    let versions = volumes.versions().await.unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0].id, "v3.0");
    let v = volumes
        .negotiate(Microversion::new(3, 0), Microversion::new(3, 70))
        .await
        .unwrap();
    assert_eq!(v, Microversion::new(3, 70));
    let latest = volumes
        .negotiate(Microversion::new(3, 0), Microversion::Latest)
        .await
        .unwrap();
    assert!(latest >= Microversion::new(3, 70), "{latest}");

    // a list at the negotiated microversion, which the answer confirms
    let volumes = volumes.with_microversion(v);
    let resp = volumes.get("/volumes/detail").await.unwrap();
    assert_eq!(resp.microversion(), Some(Microversion::new(3, 70)));
    assert!(resp.json::<serde_json::Value>().unwrap()["volumes"].is_array());

    // a missing volume: Cinder's JSON error, its message as it is
    let err = volumes
        .get("/volumes/00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert!(err.request_id().is_some_and(|id| id.starts_with("req-")));
    assert!(
        err.to_string()
            .starts_with("Volume 00000000-0000-0000-0000-000000000000 could not be found."),
        "{err}"
    );

    // the router's own 404 is webob HTML: one clean line
    let err = volumes.get("/no-such-collection").await.unwrap_err();
    assert!(err.is_not_found());
    one_line(&err.to_string());
    assert!(err.to_string().contains("could not be found"), "{err}");

    // a microversion the service does not have: 406 with its reason
    let err = volumes
        .request(ApiRequest::get("/volumes").microversion(Microversion::new(9, 99)))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(406));
    assert!(err.to_string().contains("9.99"), "{err}");
    one_line(&err.to_string());
}
