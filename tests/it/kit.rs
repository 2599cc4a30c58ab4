//! The service-client kit of apiclient-base: the waiters (on a paused clock
//! over an in-memory service, and on a real loopback FakeCloud), pages and
//! their tokens, path segments, and the blocking facade (from a plain
//! thread, against a FakeCloud started on a runtime of its own).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiclient_base::wait::{Wait, WaitError};
use apiclient_base::{
    Api, DynamicResource, InvalidKind, Microversion, PageToken, ResourceInfo, ResourceType,
    blocking, impl_resource_type, path,
};
use apiclient_fake::{FakeCloud, FakeRequest, TestResponse};
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{builder, json_response, recording};

/// A volume API over an in-memory service answering each `GET` with the
/// next scripted reply (the last one again and again), recording when.
struct Scripted {
    api: Api<DynamicResource>,
    times: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    fn new(replies: Vec<(u16, Value)>) -> Scripted {
        let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let t2 = times.clone();
        let replies = Mutex::new(VecDeque::from(replies));
        let (http, _) = recording(move |_req| {
            t2.lock().unwrap().push(Instant::now());
            let mut r = replies.lock().unwrap();
            let (status, body) = if r.len() > 1 {
                r.pop_front().unwrap()
            } else {
                r.front().cloned().unwrap()
            };
            json_response(status, &body, Some("req-kit"))
        });
        let api = Api::dynamic(
            http.service_client("volumev3"),
            ResourceInfo::new("volume", "volumes"),
        );
        Scripted { api, times }
    }

    fn polls(&self) -> usize {
        self.times.lock().unwrap().len()
    }

    /// The pauses between polls.
    fn gaps(&self) -> Vec<Duration> {
        let t = self.times.lock().unwrap();
        t.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

fn volume(status: &str) -> (u16, Value) {
    (200, json!({"volume": {"id": "v-1", "status": status}}))
}

fn gone() -> (u16, Value) {
    (
        404,
        json!({"itemNotFound": {"code": 404, "message": "Volume v-1 could not be found."}}),
    )
}

fn close_to(got: Duration, want: Duration) -> bool {
    // the paused clock's timer ticks are milliseconds
    got >= want && got <= want + Duration::from_millis(5)
}

#[tokio::test(start_paused = true)]
async fn status_wait_backs_off_from_one_second_up_to_fifteen() {
    let mut replies: Vec<_> = (0..9).map(|_| volume("creating")).collect();
    replies.push(volume("available"));
    let s = Scripted::new(replies);
    // (the status seen, the poll's number)
    type Seen = Vec<(Option<String>, u32)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s2 = seen.clone();
    let wait = Wait::for_status("AVAILABLE").on_progress(move |p| {
        s2.lock()
            .unwrap()
            .push((p.status.map(str::to_string), p.polls));
    });
    let done = s.api.wait_for("v-1", &wait).await.unwrap();
    assert_eq!(done.status(), Some("available"));
    assert_eq!(done.meta().status, 200);
    assert_eq!(done.request_id(), Some("req-kit"));
    assert_eq!(s.polls(), 10);

    let want = [
        1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 11.390625, 15.0, 15.0,
    ];
    let gaps = s.gaps();
    assert_eq!(gaps.len(), want.len());
    for (got, want) in gaps.iter().zip(want) {
        assert!(close_to(*got, Duration::from_secs_f64(want)), "{gaps:?}");
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 10);
    assert!(
        seen[..9]
            .iter()
            .all(|(s, _)| s.as_deref() == Some("creating"))
    );
    assert_eq!(seen[9], (Some("available".to_string()), 10));
    assert_eq!(
        seen.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn the_timeout_bounds_polls_and_pauses_and_names_the_last_status() {
    let s = Scripted::new(vec![volume("creating")]);
    let start = Instant::now();
    let wait = Wait::for_status("available").timeout(Duration::from_secs(20));
    let e = s.api.wait_for("v-1", &wait).await.unwrap_err();
    let took = start.elapsed();
    match &e {
        WaitError::TimedOut {
            last_status,
            waited,
            ..
        } => {
            assert_eq!(last_status.as_deref(), Some("creating"));
            assert!(close_to(*waited, Duration::from_secs(20)), "{waited:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(close_to(took, Duration::from_secs(20)), "{took:?}");
    // every poll was before the deadline: 0, 1, 2.5, 4.75, 8.125, 13.19
    let times = s.times.lock().unwrap().clone();
    assert!(times.iter().all(|t| *t < start + Duration::from_secs(20)));
    assert_eq!(times.len(), 6);
    assert_eq!(
        e.to_string(),
        format!(
            "the wait timed out after {:.1?} (last status 'creating')",
            took
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_status_ends_the_wait_with_the_fault() {
    let s = Scripted::new(vec![
        volume("creating"),
        (
            200,
            json!({"volume": {"id": "v-1", "status": "ERROR", "fault": {"code": 500, "message": "No valid host was found."}}}),
        ),
    ]);
    match s.api.wait_for_status("v-1", "available").await {
        Err(WaitError::FailureState { status, fault, .. }) => {
            assert_eq!(status, "ERROR");
            assert_eq!(fault.as_deref(), Some("No valid host was found."));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.polls(), 2);

    // error_* by default; a target beats a failure; the failures are configurable
    let s = Scripted::new(vec![volume("error_extending")]);
    let e = s.api.wait_for_status("v-1", "available").await.unwrap_err();
    assert!(matches!(e, WaitError::FailureState { ref status, .. } if status == "error_extending"));
    let s = Scripted::new(vec![volume("error")]);
    assert!(s.api.wait_for_status("v-1", "error").await.is_ok());
    let s = Scripted::new(vec![volume("maintenance")]);
    let wait = Wait::for_status("available").failures(["maintenance"]);
    assert!(matches!(
        s.api.wait_for("v-1", &wait).await,
        Err(WaitError::FailureState { .. })
    ));
    let s = Scripted::new(vec![volume("error"), volume("available")]);
    let wait = Wait::for_status("available").failures(Vec::<String>::new());
    assert!(s.api.wait_for("v-1", &wait).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_waited_out_up_to_the_budget() {
    let bad = |status: u16| {
        (
            status,
            json!({"computeFault": {"code": status, "message": "oops"}}),
        )
    };
    let s = Scripted::new(vec![bad(500), bad(502), bad(500), volume("available")]);
    assert!(s.api.wait_for_status("v-1", "available").await.is_ok());
    assert_eq!(s.polls(), 4);

    // one more than the budget, in a row
    let s = Scripted::new(vec![
        bad(500),
        volume("creating"),
        bad(500),
        bad(500),
        bad(500),
        bad(502),
    ]);
    match s.api.wait_for_status("v-1", "available").await {
        Err(WaitError::Request(e)) => assert_eq!(e.status(), Some(502)),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.polls(), 6);

    // no budget: the first ends it; a 404 of a status wait ends it at once
    let s = Scripted::new(vec![bad(500), volume("available")]);
    let wait = Wait::for_status("available").transient_errors(0);
    assert!(
        matches!(s.api.wait_for("v-1", &wait).await, Err(WaitError::Request(e)) if e.status() == Some(500))
    );
    let s = Scripted::new(vec![gone()]);
    assert!(
        matches!(s.api.wait_for_status("v-1", "available").await, Err(WaitError::Request(e)) if e.is_not_found())
    );
    assert_eq!(s.polls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_delete_wait_ends_on_404_and_on_error_deleting() {
    // an ERROR server being deleted is on its way out: not a failure here
    let s = Scripted::new(vec![volume("deleting"), volume("ERROR"), gone()]);
    s.api.wait_for_delete("v-1").await.unwrap();
    assert_eq!(s.polls(), 3);

    let s = Scripted::new(vec![volume("deleting"), volume("error_deleting")]);
    match s.api.wait_for_delete("v-1").await {
        Err(WaitError::FailureState { status, .. }) => assert_eq!(status, "error_deleting"),
        other => panic!("{other:?}"),
    }

    let s = Scripted::new(vec![volume("deleting")]);
    let wait = Wait::new().timeout(Duration::from_secs(30));
    assert!(matches!(
        s.api.wait_for_delete_with("v-1", &wait).await,
        Err(WaitError::TimedOut { ref last_status, .. }) if last_status.as_deref() == Some("deleting")
    ));
}

#[tokio::test(start_paused = true)]
async fn a_predicate_wait_returns_the_resource_that_satisfied_it() {
    let at = |p: u32| {
        (
            200,
            json!({"volume": {"id": "v-1", "status": "creating", "progress": p}}),
        )
    };
    let s = Scripted::new(vec![at(0), at(50), at(100)]);
    let done = s
        .api
        .wait_until("v-1", |v| v.get("progress") == Some(&json!(100)))
        .await
        .unwrap();
    assert_eq!(done.get("progress"), Some(&json!(100)));
    assert_eq!(s.polls(), 3);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_wait_leaves_nothing_behind() {
    let s = Scripted::new(vec![volume("creating")]);
    let cut = tokio::time::timeout(
        Duration::from_secs(5),
        s.api.wait_for_status("v-1", "available"),
    )
    .await;
    assert!(cut.is_err(), "the wait went on");
    let polls = s.polls();
    assert!(polls >= 2, "{polls}");
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(s.polls(), polls, "a dropped wait polled again");
}

#[derive(Debug, Deserialize)]
struct Volume {
    id: String,
    status: String,
    name: Option<String>,
}

impl_resource_type!(Volume {
    singular: "volume",
    plural: "volumes",
    name: name,
    status: status,
});

#[derive(Debug, Deserialize)]
struct Statusless {
    id: String,
}

impl ResourceType for Statusless {
    const SINGULAR: &'static str = "volume";
    const PLURAL: &'static str = "volumes";
    fn id(&self) -> &str {
        &self.id
    }
}

#[tokio::test(start_paused = true)]
async fn misuse_is_a_typed_error() {
    // no target status: refused before sending
    let s = Scripted::new(vec![volume("available")]);
    match s.api.wait_for("v-1", &Wait::new()).await {
        Err(WaitError::Request(e)) => assert_eq!(e.invalid_kind(), Some(InvalidKind::Other)),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.polls(), 0);
    // a bad id: refused before sending
    assert!(matches!(
        s.api.wait_for_status("..", "available").await,
        Err(WaitError::Request(e)) if e.invalid_kind() == Some(InvalidKind::Id)
    ));
    assert_eq!(s.polls(), 0);
    // a type without a status cannot wait for one
    let statusless: Api<Statusless> =
        Api::with_info(s.api.client().clone(), ResourceInfo::of::<Statusless>());
    assert!(matches!(
        statusless.wait_for_status("v-1", "available").await,
        Err(WaitError::Request(e)) if e.invalid_kind() == Some(InvalidKind::Shape)
    ));
    assert_eq!(s.polls(), 1);
    // the typed resource reads its status through impl_resource_type!'s `status`
    let typed: Api<Volume> = Api::new(s.api.client().clone());
    let v = typed.wait_for_status("v-1", "available").await.unwrap();
    assert_eq!(
        (v.id.as_str(), v.status.as_str(), v.name.as_deref()),
        ("v-1", "available", None)
    );
}

/// A volume service mounted on a FakeCloud: `creating` for the first
/// `creating` GETs of `v-1`, then `available`; a DELETE makes it gone.
fn mount_volumes(cloud: &FakeCloud, creating: usize) -> Arc<AtomicUsize> {
    let gets = Arc::new(AtomicUsize::new(0));
    let deleted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let g = gets.clone();
    cloud.mount("kit-volume", move |req: &FakeRequest| {
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/volumes/v-1") if deleted.load(Ordering::SeqCst) => TestResponse::json(
                404,
                &json!({"itemNotFound": {"code": 404, "message": "Volume v-1 could not be found."}}),
            ),
            ("GET", "/volumes/v-1") => {
                let n = g.fetch_add(1, Ordering::SeqCst);
                let status = if n < creating { "creating" } else { "available" };
                TestResponse::json(
                    200,
                    &json!({"volume": {"id": "v-1", "name": "data", "status": status}}),
                )
            }
            ("DELETE", "/volumes/v-1") => {
                deleted.store(true, Ordering::SeqCst);
                TestResponse::new(202)
            }
            _ => TestResponse::json(404, &json!({"itemNotFound": {"code": 404, "message": "no"}})),
        }
    });
    gets
}

fn short() -> Wait {
    Wait::new()
        .backoff(Duration::from_millis(10), Duration::from_millis(50), 2.0)
        .timeout(Duration::from_secs(120))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_against_a_loopback_cloud() {
    let cloud = FakeCloud::builder().servers(0).start().await.unwrap();
    let gets = mount_volumes(&cloud, 3);
    let http = builder(&cloud).build().unwrap();
    let volumes: Api<Volume> = Api::new(http.service_client("kit-volume"));
    let v = volumes
        .wait_for("v-1", &short().target("available"))
        .await
        .unwrap();
    assert_eq!(v.status, "available");
    assert_eq!(gets.load(Ordering::SeqCst), 4);
    volumes.delete("v-1").await.unwrap();
    volumes.wait_for_delete_with("v-1", &short()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_tokens_walk_the_fake_clouds_servers() {
    let cloud = FakeCloud::builder().servers(5).start().await.unwrap();
    let http = builder(&cloud).build().unwrap();
    let servers = Api::dynamic(
        http.service_client("compute"),
        ResourceInfo::new("server", "servers").detail_path("/servers/detail"),
    );
    let mut page = servers.list_page(&json!({"limit": 2})).await.unwrap();
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    loop {
        assert_eq!(page.meta.status, 200);
        sizes.push(page.items.len());
        ids.extend(page.items.iter().map(|s| s.id().unwrap().to_string()));
        let Some(next) = page.next.take() else { break };
        // a UI keeps the token as text and gives it back
        let kept = serde_json::to_string(&next).unwrap();
        let back: PageToken = serde_json::from_str(&kept).unwrap();
        assert_eq!(back, next);
        page = servers.list_page_from(&back).await.unwrap();
    }
    assert_eq!(sizes, [2, 2, 1]);
    let all: Vec<String> = servers
        .list_all(&json!({"limit": 2}))
        .map_ok(|s| s.id().unwrap().to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, all);
    let want: Vec<String> = (0..5).map(FakeCloud::server_id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(sorted, want_sorted);

    // a token naming another collection is refused, and nothing is sent
    let before = cloud.count("GET /v2.1/os-hypervisors");
    let e = servers
        .list_page_from(&PageToken::from("/os-hypervisors?limit=1".to_string()))
        .await
        .unwrap_err();
    assert_eq!(e.invalid_kind(), Some(InvalidKind::Url));
    assert_eq!(cloud.count("GET /v2.1/os-hypervisors"), before);
}

#[tokio::test]
async fn marker_pages_glance_links_and_bad_queries() {
    // marker paging (no links): a full page goes on, a short one ends
    let items: Vec<Value> = (1..=4).map(|i| json!({"id": format!("b-{i}")})).collect();
    let (http, seen) = recording(move |req| {
        let q: Vec<(String, String)> =
            url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let get = |k: &str| q.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone());
        let limit: usize = get("limit").and_then(|l| l.parse().ok()).unwrap_or(1000);
        let start = get("marker")
            .and_then(|m| items.iter().position(|i| i["id"] == m.as_str()))
            .map_or(0, |p| p + 1);
        let page: Vec<Value> = items[start..].iter().take(limit).cloned().collect();
        if req.uri().path().ends_with("/v2/images") {
            let mut body = json!({"images": page});
            if page.len() == limit {
                body["next"] = json!(format!(
                    "/v2/images?limit={limit}&marker={}",
                    page[limit - 1]["id"].as_str().unwrap()
                ));
            }
            return json_response(200, &body, None);
        }
        json_response(200, &json!({"backups": page}), None)
    });
    let backups = Api::dynamic(
        http.service_client("volumev3"),
        ResourceInfo::new("backup", "backups"),
    );
    #[derive(serde::Serialize)]
    struct Query {
        status: &'static str,
        limit: u32,
    }
    let first = backups
        .list_page(&Query {
            status: "available",
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.next.clone().unwrap();
    assert_eq!(
        token.as_str(),
        "/backups?status=available&limit=2&marker=b-2"
    );
    let second = backups.list_page_from(&token).await.unwrap();
    let third = backups.list_page_from(&second.next.unwrap()).await.unwrap();
    assert!(third.items.is_empty());
    assert!(third.next.is_none());
    let n: Vec<DynamicResource> = backups
        .list_all(&json!({"limit": 3}))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(n.len(), 4);

    // Glance's relative next, under the endpoint's path
    let images = Api::dynamic(
        http.service_client("image"),
        ResourceInfo::new("image", "images")
            .path("/v2/images")
            .wrapped(false),
    );
    let page = images.list_page(&json!({"limit": 3})).await.unwrap();
    let next = page.next.unwrap();
    assert_eq!(next.as_str(), "/v2/images?limit=3&marker=b-3");
    let last = images.list_page_from(&next).await.unwrap();
    assert_eq!(last.items.len(), 1);
    assert!(last.next.is_none());
    let uris: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, u, _)| u.clone())
        .collect();
    assert!(
        uris.contains(&"http://svc/v1/v2/images?limit=3&marker=b-3".to_string()),
        "{uris:?}"
    );

    // a query that is not a map: an error, nothing sent
    let before = seen.lock().unwrap().len();
    let e = backups.list_page(&"limit=2").await.unwrap_err();
    assert_eq!(e.invalid_kind(), Some(InvalidKind::Query));
    let mut all = std::pin::pin!(backups.list_all(&["limit", "2"]));
    let e = all.try_next().await.unwrap_err();
    assert_eq!(e.invalid_kind(), Some(InvalidKind::Query));
    assert!(all.try_next().await.unwrap().is_none());
    assert_eq!(seen.lock().unwrap().len(), before);
}

#[tokio::test]
async fn hostile_ids_and_segments_reach_the_server_as_one_segment() {
    let (http, seen) = recording(|_| json_response(200, &json!({"volume": {"id": "x"}}), None));
    let volumes = Api::dynamic(
        http.service_client("volumev3"),
        ResourceInfo::new("volume", "volumes"),
    );
    let uuid = "9b2f0c1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b";
    for id in [
        uuid, "a/b", "../etc", "x?y=1#z", "50%", "sp ace", "ünï", "~.-_",
    ] {
        volumes.get(id).await.unwrap();
    }
    for id in ["", ".", ".."] {
        let e = volumes.get(id).await.unwrap_err();
        assert_eq!(e.invalid_kind(), Some(InvalidKind::Id), "{id:?}");
    }
    let image = "7f3e0c6a-2b1d-4c3e-9f0a-1b2c3d4e5f60";
    let tag = path!("/v2/images/{}/tags/{}", image, "web/prod?x#y").unwrap();
    http.service_client("image")
        .put(&tag, &json!({}))
        .await
        .unwrap();
    assert_eq!(
        path!("/v2/images/{}/tags/{}", image, "..")
            .unwrap_err()
            .invalid_kind(),
        Some(InvalidKind::Url)
    );
    let uris: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, u, _)| u.clone())
        .collect();
    assert_eq!(
        uris,
        [
            format!("http://svc/v1/volumes/{uuid}"),
            "http://svc/v1/volumes/a%2Fb".into(),
            "http://svc/v1/volumes/..%2Fetc".into(),
            "http://svc/v1/volumes/x%3Fy%3D1%23z".into(),
            "http://svc/v1/volumes/50%25".into(),
            "http://svc/v1/volumes/sp%20ace".into(),
            "http://svc/v1/volumes/%C3%BCn%C3%AF".into(),
            "http://svc/v1/volumes/~.-_".into(),
            format!("http://svc/v1/v2/images/{image}/tags/web%2Fprod%3Fx%23y"),
        ]
    );
}

/// The threads of blocking clients' runtimes (Linux: their names, cut to
/// 15 bytes).
fn blocking_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim_end().starts_with("apiclient-block"))
        })
        .count()
}

/// What each blocking client's thread is doing (its state, kernel wait
/// channel and system call), for a failure's message.
fn blocking_thread_states() -> String {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return String::new();
    };
    let read = |t: &std::path::Path, f: &str| {
        std::fs::read_to_string(t.join(f))
            .unwrap_or_default()
            .trim_end()
            .to_string()
    };
    tasks
        .filter_map(Result::ok)
        .map(|t| t.path())
        .filter(|t| read(t, "comm").starts_with("apiclient-block"))
        .map(|t| {
            format!(
                "{}: stat [{}] wchan [{}] syscall [{}]\n",
                t.display(),
                read(&t, "stat"),
                read(&t, "wchan"),
                read(&t, "syscall")
            )
        })
        .collect()
}

/// The blocking facade from a plain thread: the FakeCloud runs on a
/// runtime of its own; the blocking client owns another.
#[test]
fn blocking_facade_against_the_fake_cloud() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cloud = server_rt
        .block_on(FakeCloud::builder().servers(5).start())
        .unwrap();
    let gets = mount_volumes(&cloud, 2);
    assert!(tokio::runtime::Handle::try_current().is_err());

    let client = blocking::Client::new(|| builder(&cloud).build()).unwrap();
    if cfg!(target_os = "linux") {
        // (a thread names itself once it runs)
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while blocking_threads() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(blocking_threads() >= 1);
    }
    let servers = client.dynamic(
        client.service_client("compute"),
        ResourceInfo::new("server", "servers").detail_path("/servers/detail"),
    );
    let first = servers.list_page(&json!({"limit": 2})).unwrap();
    assert_eq!(first.items.len(), 2);
    let second = servers
        .list_page_from(first.next.as_ref().unwrap())
        .unwrap();
    assert_eq!(second.items.len(), 2);
    let all: Vec<DynamicResource> = servers
        .list_all(&json!({"limit": 2}))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 5);
    let one = servers.get(&FakeCloud::server_id(1)).unwrap();
    assert_eq!(one.name(), Some("server-1"));
    assert_eq!(one.meta().status, 200);
    assert!(
        servers
            .get_opt("00000000-0000-4000-8000-00000000dead")
            .unwrap()
            .is_none()
    );
    let found = servers.find("server-3").unwrap();
    assert_eq!(found.id(), Some(FakeCloud::server_id(3).as_str()));

    let created = servers
        .create(&json!({"name": "blk", "flavorRef": "1"}))
        .unwrap();
    let id = created.id().unwrap().to_string();
    let built = servers.wait_for_status(&id, "build").unwrap();
    assert_eq!(built.status(), Some("BUILD"));
    servers.delete(&id).unwrap();
    servers.wait_for_delete(&id).unwrap();
    assert!(servers.get_opt(&id).unwrap().is_none());

    // a status that changes, on a mounted service, with a typed resource
    let volumes: blocking::Api<Volume> = client.api(client.service_client("kit-volume"));
    let v = volumes
        .wait_for("v-1", &short().target("available"))
        .unwrap();
    assert_eq!(v.status, "available");
    assert_eq!(gets.load(Ordering::SeqCst), 3);

    // any future of the crate, e.g. a negotiation
    let compute = client
        .block_on(
            client
                .service_client("compute")
                .with_negotiated_microversion(Microversion::new(2, 1), Microversion::new(2, 79)),
        )
        .unwrap()
        .unwrap();
    assert_eq!(compute.microversion(), Some(Microversion::new(2, 79)));

    // inside a runtime: a typed error, never a panic, nothing sent; the
    // last holder of a blocking client may go there too
    let other = blocking::Client::new(|| builder(&cloud).build()).unwrap();
    let outer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let before = cloud.count("GET /v2.1/servers/detail");
    let s2 = servers.clone();
    outer.block_on(async move {
        let e = s2.list_page(&json!({"limit": 2})).unwrap_err();
        assert_eq!(e.invalid_kind(), Some(InvalidKind::State));
        let mut it = s2.list_all(&());
        assert!(matches!(it.next(), Some(Err(e)) if e.invalid_kind() == Some(InvalidKind::State)));
        assert!(it.next().is_none());
        assert!(matches!(
            s2.wait_for_delete("x"),
            Err(WaitError::Request(e)) if e.invalid_kind() == Some(InvalidKind::State)
        ));
        let e = other.block_on(async {}).unwrap_err();
        assert_eq!(e.invalid_kind(), Some(InvalidKind::State));
        drop(other);
    });
    assert_eq!(cloud.count("GET /v2.1/servers/detail"), before);

    // the runtime's threads go with the last holder
    drop((client, servers, volumes));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while blocking_threads() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if cfg!(target_os = "linux") {
        assert_eq!(blocking_threads(), 0, "{}", blocking_thread_states());
    }
    drop(cloud);
}
