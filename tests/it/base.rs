//! apiclient-base: managers, resources, find_resource, hooks, pagination.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use apiclient_base::{
    BaseClient, CrudManager, Findable, HookRegistry, Manager, ManagerWithFind, PageStyle, Params,
    Resource, ResourceMeta, find_resource, paginate,
};
use apiclient_errors::Error;
use apiclient_fake::FakeCloud;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::support::{builder, json_response, recording};

const SERVER: ResourceMeta = ResourceMeta::new("Server").with_human_id();

#[tokio::test]
async fn crud_urls_queries_and_bodies() {
    let (http, seen) = recording(|req| {
        let body = match (req.method().as_str(), req.uri().path()) {
            ("GET", p) if p.ends_with("/entities") => {
                json!({"entities": [{"id": "1", "name": "a"}, null, {"id": "2", "name": "b"}]})
            }
            ("HEAD", _) => {
                return http::Response::builder()
                    .status(204)
                    .body(bytes::Bytes::new())
                    .unwrap();
            }
            ("PUT", _) => {
                return http::Response::builder()
                    .status(204)
                    .body(bytes::Bytes::new())
                    .unwrap();
            }
            ("DELETE", _) => {
                return http::Response::builder()
                    .status(204)
                    .body(bytes::Bytes::new())
                    .unwrap();
            }
            _ => json!({"entity": {"id": "1", "name": "a"}}),
        };
        json_response(200, &body, None)
    });
    const ENTITY: ResourceMeta = ResourceMeta::new("Entity");
    let m = CrudManager::new(
        BaseClient::new(&http, "entity"),
        ENTITY,
        "entities",
        "entity",
    );
    let domain = Resource::new(ResourceMeta::new("Domain"), json!({"id": "d1"}), true);

    let created = m
        .create(
            Params::new()
                .set("name", "a")
                .resource("domain", &domain)
                .set("skip", Value::Null),
        )
        .await
        .unwrap();
    assert_eq!(created.id().as_deref(), Some("1"));
    assert!(!created.is_loaded(), "_post results are not marked loaded");
    m.get(Params::new().set("entity_id", "1")).await.unwrap();
    assert!(m.head(Params::new().set("entity_id", "1")).await.unwrap());
    let listed = m
        .list(
            None,
            Params::new()
                .set("name", "a b")
                .set("entity_id", Value::Null)
                .resource("domain", &domain),
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "null items are skipped");
    assert!(listed[0].is_loaded());
    m.list(Some("/projects/p1"), Params::new()).await.unwrap();
    assert_eq!(
        m.put(None, Params::new().set("entity_id", "1"))
            .await
            .unwrap(),
        None,
        "empty PUT body → None"
    );
    m.update(Params::new().set("entity_id", "1").set("name", "z"))
        .await
        .unwrap();
    let err = m.update(Params::new().set("name", "z")).await.unwrap_err();
    assert_eq!(err.to_string(), "Missing arguments: entity_id");
    m.delete(Params::new().set("entity_id", "1")).await.unwrap();

    let seen = seen.lock().unwrap().clone();
    let expect = [
        (
            "POST",
            "http://svc/v1/entities",
            r#"{"entity":{"name":"a","domain_id":"d1"}}"#,
        ),
        ("GET", "http://svc/v1/entities/1", ""),
        ("HEAD", "http://svc/v1/entities/1", ""),
        ("GET", "http://svc/v1/entities?name=a+b&domain_id=d1", ""),
        ("GET", "http://svc/v1/projects/p1/entities", ""),
        ("PUT", "http://svc/v1/entities/1", ""),
        (
            "PATCH",
            "http://svc/v1/entities/1",
            r#"{"entity":{"name":"z"}}"#,
        ),
        ("DELETE", "http://svc/v1/entities/1", ""),
    ];
    let got: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|(m, u, b)| (m.as_str(), u.as_str(), b.as_str()))
        .collect();
    assert_eq!(got, expect);
}

#[tokio::test]
async fn crud_find_outcomes() {
    let (http, _) = recording(|req| {
        let q = req.uri().query().unwrap_or("");
        let items = if q.contains("name=none") {
            json!([])
        } else if q.contains("name=dup") {
            json!([{"id": "1"}, {"id": "2"}])
        } else {
            json!([{"id": "7", "name": "one"}])
        };
        json_response(200, &json!({"entities": items}), None)
    });
    let m = CrudManager::new(
        BaseClient::new(&http, "entity"),
        ResourceMeta::new("CrudResource"),
        "entities",
        "entity",
    );
    assert_eq!(
        m.find(None, Params::new().set("name", "one"))
            .await
            .unwrap()
            .id()
            .as_deref(),
        Some("7")
    );
    let err = m
        .find(None, Params::new().set("name", "none"))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert!(
        err.to_string()
            .starts_with("No CrudResource matching {'name': 'none'}."),
        "{err}"
    );
    let err = m
        .find(None, Params::new().set("name", "dup"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoUniqueMatch(_)), "{err:?}");
}

#[tokio::test]
async fn lazy_loading_issues_one_get_and_records_the_request_id_only_when_sent() {
    for rid in [Some("req-lazy"), None] {
        let gets = Arc::new(AtomicUsize::new(0));
        let g = gets.clone();
        let (http, _) = recording(move |req| {
            if req.method() == http::Method::GET && req.uri().path() == "/v1/servers/42" {
                g.fetch_add(1, Ordering::SeqCst);
                return json_response(
                    200,
                    &json!({"server": {"id": "42", "name": "n", "flavor": "small"}}),
                    rid,
                );
            }
            json_response(200, &json!({"servers": [{"id": "42", "name": "n"}]}), None)
        });
        let m = CrudManager::new(
            BaseClient::new(&http, "compute"),
            SERVER,
            "servers",
            "server",
        );
        let mut r = m.manager().resource(json!({"id": "42"}), false);
        assert_eq!(r.get_attr("flavor").await.unwrap(), Some(&json!("small")));
        assert_eq!(
            r.get_attr("missing").await.unwrap(),
            None,
            "loaded: no second GET"
        );
        assert_eq!(r.get_attr("name").await.unwrap(), Some(&json!("n")));
        assert_eq!(gets.load(Ordering::SeqCst), 1);
        assert!(r.is_loaded());
        assert_eq!(r.x_request_id(), rid);
    }
}

struct ListOnly(Manager);

impl ManagerWithFind for ListOnly {
    fn meta(&self) -> ResourceMeta {
        self.0.meta()
    }
    fn list(&self) -> apiclient_base::BoxFuture<'_, Result<Vec<Resource>, Error>> {
        Box::pin(self.0.list("/servers", Some("servers"), None))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findall_and_find_resource_against_fakecloud() {
    let cloud = FakeCloud::builder().servers(3).start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let client = BaseClient::new(&http, "compute");
    let crud = CrudManager::new(client.clone(), SERVER, "servers", "server");
    crud.create(Params::new().set("name", "Web Server"))
        .await
        .unwrap();
    crud.create(Params::new().set("name", "dup")).await.unwrap();
    crud.create(Params::new().set("name", "dup")).await.unwrap();

    let lf = ListOnly(Manager::new(client, SERVER));
    let hits = lf
        .findall(&[("name".into(), json!("server-1"))])
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(
        lf.findall(&[("nonexistent_attr".into(), json!("x"))])
            .await
            .unwrap()
            .is_empty(),
        "missing attribute: no match"
    );
    assert_eq!(
        lf.findall(&[("human_id".into(), json!("web-server"))])
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        lf.find(&[("name".into(), json!("dup"))]).await,
        Err(Error::NoUniqueMatch(_))
    ));
    assert!(
        lf.find(&[("name".into(), json!("zzz"))])
            .await
            .unwrap_err()
            .is_not_found()
    );

    // by id, by human id, by name
    let by_id = cloud.count("GET /v2.1/servers/{id}");
    let e = find_resource(crud.as_ref(), "srv-000001")
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(
        e.as_http().unwrap().message(),
        "No server with a name or ID of 'srv-000001' exists."
    );
    assert_eq!(
        cloud.count("GET /v2.1/servers/{id}"),
        by_id,
        "an id that is neither a UUID nor an integer is not tried as an id"
    );
    assert_eq!(
        find_resource(crud.as_ref(), "web-server")
            .await
            .unwrap()
            .name(),
        Some("Web Server")
    );
    assert_eq!(
        find_resource(crud.as_ref(), "server-2")
            .await
            .unwrap()
            .id()
            .as_deref(),
        Some(FakeCloud::server_id(2).as_str())
    );
    let e = find_resource(crud.as_ref(), "dup").await.unwrap_err();
    assert!(matches!(e, Error::NoUniqueMatch(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Multiple server matches found for 'dup', use an ID to be more specific."
    );
    let e = find_resource(crud.as_ref(), "nope").await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(
        e.as_http().unwrap().message(),
        "No server with a name or ID of 'nope' exists."
    );
    // a UUID-like id goes straight to get (its 404 stands)
    assert!(
        find_resource(crud.as_ref(), "8d4e0c2c-8b3a-4a6e-9f5e-1c2d3e4f5a6b")
            .await
            .unwrap_err()
            .is_not_found()
    );

    struct AlnumIds(Arc<CrudManager>);
    impl Findable for AlnumIds {
        fn meta(&self) -> ResourceMeta {
            self.0.meta()
        }
        fn get_by_id<'a>(
            &'a self,
            id: &'a str,
        ) -> apiclient_base::BoxFuture<'a, Result<Resource, Error>> {
            self.0.get_by_id(id)
        }
        fn find_by<'a>(
            &'a self,
            f: Vec<(String, Value)>,
        ) -> apiclient_base::BoxFuture<'a, Result<Resource, Error>> {
            self.0.find_by(f)
        }
        fn is_alphanum_id_allowed(&self) -> bool {
            true
        }
    }
    let by_id = cloud.count("GET /v2.1/servers/{id}");
    assert!(
        find_resource(&AlnumIds(crud.clone()), "srv-000001")
            .await
            .is_err()
    );
    assert_eq!(
        cloud.count("GET /v2.1/servers/{id}"),
        by_id + 1,
        "with alphanumeric ids allowed, it is tried as an id first"
    );
}

#[test]
fn hooks_are_per_manager_type() {
    struct A;
    struct B;
    let reg = HookRegistry::default();
    let ext = apiclient_base::Extension::new("ext")
        .hook("__pre_parse_args__", |v| v["a"] = json!(1))
        .hook("__unsupported__", |v| v["bad"] = json!(1));
    assert_eq!(format!("{ext:?}"), "<Extension 'ext'>");
    ext.register::<A>(&reg);
    let mut args = json!({});
    reg.run_hooks::<B>("__pre_parse_args__", &mut args);
    assert_eq!(args, json!({}));
    reg.run_hooks::<A>("__pre_parse_args__", &mut args);
    reg.run_hooks::<A>("__unsupported__", &mut args);
    assert_eq!(args, json!({"a": 1}));
}

#[test]
fn extensions_mount_managers() {
    let (http, _) = recording(|_| json_response(200, &json!({}), None));
    let mut c = BaseClient::new(&http, "compute");
    c.add_extension("flavors", 42usize);
    assert_eq!(c.extension::<usize>("flavors").as_deref(), Some(&42));
    assert!(c.extension::<String>("flavors").is_none());
    assert!(http.client("compute").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_over_pages_links_and_markers() {
    let cloud = FakeCloud::builder()
        .servers(7)
        .images(5)
        .start()
        .await
        .unwrap();
    let http = builder(&cloud).build().unwrap();
    let compute = BaseClient::new(&http, "compute");
    let all: Vec<Resource> = paginate(
        compute.clone(),
        "/servers?limit=3",
        "servers",
        SERVER,
        PageStyle::Links,
    )
    .try_collect()
    .await
    .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(cloud.count("GET /v2.1/servers"), 3, "3 pages");
    let ids: Vec<String> = paginate(
        compute,
        "/servers",
        "servers",
        SERVER,
        PageStyle::Marker { limit: 3 },
    )
    .map(|r| r.unwrap().id().unwrap())
    .collect()
    .await;
    assert_eq!(ids.len(), 7);
    assert_eq!(ids[6], FakeCloud::server_id(6));
    let image = BaseClient::new(&http, "image");
    let images: Vec<Resource> = paginate(
        image,
        "/v2/images?limit=2",
        "images",
        ResourceMeta::new("Image"),
        PageStyle::Links,
    )
    .try_collect()
    .await
    .unwrap();
    assert_eq!(images.len(), 5, "glance's top-level `next`");
}

#[tokio::test]
async fn pagination_stops_on_a_server_that_repeats_a_page() {
    let (http, seen) = recording(|_| {
        json_response(
            200,
            &json!({"things": [{"id": "1"}], "things_links": [{"rel": "next", "href": "http://svc/v1/things?marker=1"}]}),
            None,
        )
    });
    let client = BaseClient::new(&http, "thing");
    let results: Vec<Result<Resource, Error>> = paginate(
        client,
        "/things",
        "things",
        ResourceMeta::new("Thing"),
        PageStyle::Links,
    )
    .collect()
    .await;
    assert_eq!(
        results.len(),
        3,
        "two pages of one item, then the loop error"
    );
    let err = results[2].as_ref().unwrap_err();
    assert!(err.to_string().contains("pagination loop"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn manager_helpers_post_lists_values_and_raw_results() {
    let (http, seen) = recording(|req| match (req.method().as_str(), req.uri().path()) {
        ("POST", "/v1/search") => json_response(
            200,
            &json!({"results": {"values": [{"id": "a"}, {}, {"id": "b"}]}}),
            None,
        ),
        ("POST", "/v1/things") => {
            json_response(200, &json!({"thing": {"id": "t1", "raw": true}}), None)
        }
        ("PATCH", _) => json_response(200, &json!({"id": "t1", "patched": true}), None),
        _ => json_response(200, &json!({"results": []}), None),
    });
    let m = Manager::new(BaseClient::new(&http, "thing"), ResourceMeta::new("Thing"));
    let found = m
        .list("/search", Some("results"), Some(&json!({"q": "x"})))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|r| r.id().unwrap()).collect::<Vec<_>>(),
        ["a", "b"],
        "values unwrapped, empty item skipped"
    );
    let raw = m
        .post_raw("/things", &json!({"thing": {}}), Some("thing"))
        .await
        .unwrap();
    assert_eq!(raw, json!({"id": "t1", "raw": true}));
    let patched = m
        .patch("/things/t1", Some(&json!({"x": 1})), None)
        .await
        .unwrap();
    assert_eq!(patched.attr("patched"), Some(&json!(true)));
    assert!(
        m.list("/empty", Some("missing"), None).await.is_err(),
        "a missing response key is an error"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].0, "POST", "a body makes _list POST");
    assert_eq!(seen[0].2, r#"{"q":"x"}"#);
}
