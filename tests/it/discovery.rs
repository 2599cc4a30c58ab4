//! Version discovery: cached per endpoint, and found above a project-scoped
//! endpoint (Cinder's `…/v3/<project_id>` serves no version document).

use apiclient_fake::{FakeCloud, RawServer};
use apiclient_http::microversion::Microversion;

use crate::support::builder;

fn doc(max: &str) -> Vec<u8> {
    format!(
        r#"{{"versions": [{{"id": "v3.0", "status": "CURRENT", "min_version": "3.0", "version": "{max}"}}]}}"#
    )
    .into_bytes()
}

fn json(status: u16, body: &[u8]) -> Vec<u8> {
    RawServer::response(status, &[("Content-Type", "application/json")], body)
}

/// A clone pointed at another endpoint asks that endpoint: the version
/// document belongs to the endpoint, not to the client it was cloned from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_endpoint_has_its_own_versions() {
    let cloud = FakeCloud::start().await.unwrap();
    let old = RawServer::start(|_| json(200, &doc("3.10"))).await.unwrap();
    let new = RawServer::start(|_| json(200, &doc("3.70"))).await.unwrap();
    let http = builder(&cloud).no_proxy().build().unwrap();
    let volumes = http
        .service_client("block-storage")
        .with_endpoint_override(format!("{}/v3", old.url()));
    let v = volumes
        .negotiate(Microversion::new(3, 0), Microversion::Latest)
        .await
        .unwrap();
    assert_eq!(v, Microversion::new(3, 10));
    let moved = volumes
        .clone()
        .with_endpoint_override(format!("{}/v3", new.url()));
    let v = moved
        .negotiate(Microversion::new(3, 0), Microversion::Latest)
        .await
        .unwrap();
    assert_eq!(v, Microversion::new(3, 70));
    assert_eq!(new.requests().len(), 1, "the new endpoint was asked");
    // and each is asked once
    volumes.versions().await.unwrap();
    moved.versions().await.unwrap();
    assert_eq!(old.requests().len(), 1);
    assert_eq!(new.requests().len(), 1);
}

/// As a real cinder-api answers: `GET /v3/<project>` is a 404, `/v3/` and
/// `/` carry the document (the root lists other majors too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_scoped_endpoint_is_discovered_at_its_version_root() {
    let cloud = FakeCloud::start().await.unwrap();
    let server = RawServer::start(|req| match req.target.as_str() {
        "/v3/" => json(200, &doc("3.70")),
        "/" => json(
            300,
            br#"{"versions": [{"id": "v2.0", "status": "DEPRECATED", "min_version": "", "version": ""}, {"id": "v3.0", "status": "CURRENT", "min_version": "3.0", "version": "3.71"}]}"#,
        ),
        _ => RawServer::response(
            404,
            &[("Content-Type", "text/html; charset=UTF-8")],
            b"<html><body><h1>404 Not Found</h1>The resource could not be found.</body></html>",
        ),
    })
    .await
    .unwrap();
    let http = builder(&cloud).no_proxy().build().unwrap();
    let project = http
        .authenticate()
        .await
        .unwrap()
        .project_id()
        .unwrap()
        .to_string();
    let volumes = http
        .service_client("block-storage")
        .with_endpoint_override(format!("{}/v3/{project}", server.url()));
    let v = volumes
        .negotiate(Microversion::new(3, 0), Microversion::Latest)
        .await
        .unwrap();
    assert_eq!(v, Microversion::new(3, 70));
    let asked: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(asked, [format!("/v3/{project}"), "/v3/".to_string()]);

    // where only the root answers, its v3 entry is the one kept
    let root_only = RawServer::start(|req| match req.target.as_str() {
        "/" => json(
            300,
            br#"{"versions": [{"id": "v3.0", "status": "CURRENT", "min_version": "3.0", "version": "3.71"}, {"id": "v2.0", "status": "SUPPORTED", "min_version": "2.0", "version": "2.9"}]}"#,
        ),
        _ => json(404, br#"{"itemNotFound": {"message": "no", "code": 404}}"#),
    })
    .await
    .unwrap();
    let volumes = http
        .service_client("block-storage")
        .with_endpoint_override(format!("{}/v3/{project}", root_only.url()));
    let versions = volumes.versions().await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0].id, "v3.0");
    assert_eq!(
        volumes
            .negotiate(Microversion::new(3, 0), Microversion::new(3, 50))
            .await
            .unwrap(),
        Microversion::new(3, 50)
    );

    // nowhere: the endpoint's own error
    let nowhere = RawServer::start(|_| {
        json(
            404,
            br#"{"itemNotFound": {"message": "gone", "code": 404}}"#,
        )
    })
    .await
    .unwrap();
    let err = http
        .service_client("block-storage")
        .with_endpoint_override(format!("{}/v3/{project}", nowhere.url()))
        .versions()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let url = err.as_http().and_then(|h| h.url()).unwrap_or_default();
    assert!(url.ends_with(&format!("/v3/{project}")), "{url}");
}
