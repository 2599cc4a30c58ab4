//! Running in production: client-side rate limits and concurrency caps
//! (overall and per service, fair, from the builder and clouds.yaml),
//! retries as configuration (per service, connect errors for any method,
//! answers for idempotent ones), and metrics through the `metrics` facade,
//! scraped from a Prometheus exporter. Properties only: "no more than N in
//! flight", "at most N in any second", "exactly these counts".

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiclient_auth::typed::AdminToken;
use apiclient_auth::{ConfigLoader, PluginRegistry};
use apiclient_errors::{BoxError, ConnectionError, ConnectionErrorKind, Error};
use apiclient_fake::{RawRequest, RawServer};
use apiclient_http::layers::limits::Limits;
use apiclient_http::{Body, HttpClient, HttpClientBuilder, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ok() -> Vec<u8> {
    RawServer::response(200, &[("Content-Type", "application/json")], b"{}")
}

/// A server that records when each request arrived (and its target).
async fn recording_server() -> (RawServer, Arc<Mutex<Vec<(Instant, String)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let server = RawServer::start(move |r: &RawRequest| {
        s.lock().unwrap().push((Instant::now(), r.target.clone()));
        ok()
    })
    .await
    .unwrap();
    (server, seen)
}

/// The most arrivals in any window of `window` (from each arrival on).
fn most_in_any_window(times: &[Instant], window: Duration) -> usize {
    let mut times = times.to_vec();
    times.sort();
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t - times[i] < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn client(endpoint: &str) -> HttpClientBuilder {
    HttpClient::builder(AdminToken::new(endpoint, "t")).no_proxy()
}

type Sent = Arc<Mutex<Vec<(Instant, String)>>>;

/// A transport layer that records when each attempt leaves the stack (past
/// the limits) and its path: where the rate is kept. Timing it here rather
/// than at the server keeps a busy machine's scheduling out of the figure
/// (a server task that stalls reads a backlog in a burst).
fn sent_recorder() -> (
    tower::util::MapRequestLayer<impl Fn(http::Request<Body>) -> http::Request<Body> + Clone>,
    Sent,
) {
    let sent: Sent = Arc::default();
    let s = sent.clone();
    let layer = tower::util::MapRequestLayer::new(move |req: http::Request<Body>| {
        s.lock()
            .unwrap()
            .push((Instant::now(), req.uri().path().to_string()));
        req
    });
    (layer, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_spaces_the_requests_of_its_service_only() {
    let (server, seen) = recording_server().await;
    let (recorder, sent) = sent_recorder();
    let http = client(&format!("{}/v1", server.url()))
        .service_limits("compute", Limits::default().rate(10.0))
        .with_transport_layer(recorder)
        .build()
        .unwrap();
    let compute = http.service_client("compute");
    let image = http.service_client("image");
    let t0 = Instant::now();
    let calls = (0..25).map(|i| {
        let (c, im) = (compute.clone(), image.clone());
        async move {
            c.get(&format!("/servers/{i}")).await.unwrap();
            im.get(&format!("/images/{i}")).await.unwrap();
        }
    });
    futures_util::future::join_all(calls).await;
    let elapsed = t0.elapsed();
    let of = |log: &Sent, prefix: &str| -> Vec<Instant> {
        log.lock()
            .unwrap()
            .iter()
            .filter(|(_, t)| t.starts_with(prefix))
            .map(|(at, _)| *at)
            .collect()
    };
    // the server saw every request
    let (servers, images) = (of(&seen, "/v1/servers"), of(&seen, "/v1/images"));
    assert_eq!((servers.len(), images.len()), (25, 25));
    // 10 a second, evenly spaced as they left: never more than 10 (+1 for a
    // descheduled thread) in any second, and 25 need at least 2.4 s
    let left = of(&sent, "/v1/servers");
    assert_eq!(left.len(), 25);
    assert!(
        most_in_any_window(&left, Duration::from_secs(1)) <= 11,
        "{left:?}"
    );
    assert!(elapsed >= Duration::from_millis(2_400), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overall_rate_limit_counts_every_service_together() {
    let (server, seen) = recording_server().await;
    let (recorder, sent) = sent_recorder();
    let http = client(&format!("{}/v1", server.url()))
        .overall_limits(Limits::default().rate(20.0))
        .with_transport_layer(recorder)
        .build()
        .unwrap();
    let t0 = Instant::now();
    let calls = (0..30).map(|i| {
        let svc = http.service_client(if i % 2 == 0 { "compute" } else { "image" });
        async move { svc.get("/x").await.unwrap() }
    });
    futures_util::future::join_all(calls).await;
    let elapsed = t0.elapsed();
    assert_eq!(seen.lock().unwrap().len(), 30);
    let times: Vec<Instant> = sent.lock().unwrap().iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 30);
    assert!(
        most_in_any_window(&times, Duration::from_secs(1)) <= 21,
        "{times:?}"
    );
    // 30 at 20 a second, both services together: at least 1.45 s
    assert!(elapsed >= Duration::from_millis(1_450), "{elapsed:?}");
}

/// A keep-alive server that holds every answer for `hold`, counting the
/// requests in flight (the most ever seen) and the order of arrival.
struct SlowServer {
    url: String,
    most: Arc<AtomicUsize>,
    order: Arc<Mutex<Vec<String>>>,
}

async fn slow_server(hold: Duration) -> SlowServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let (m, o) = (most.clone(), order.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (now, most, order) = (now.clone(), m.clone(), o.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // one request head (GETs: no body)
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    buf.drain(..end);
                    let target = head.split(' ').nth(1).unwrap_or("").to_string();
                    order.lock().unwrap().push(target);
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    if stream.write_all(&ok()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    SlowServer { url, most, order }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrency_cap_bounds_the_requests_in_flight() {
    let server = slow_server(Duration::from_millis(50)).await;
    let http = client(&format!("{}/v1", server.url))
        .service_limits("compute", Limits::default().concurrency(3))
        .build()
        .unwrap();
    let compute = http.service_client("compute");
    let calls = (0..24).map(|i| {
        let c = compute.clone();
        async move { c.get(&format!("/s/{i}")).await.unwrap() }
    });
    futures_util::future::join_all(calls).await;
    assert_eq!(server.order.lock().unwrap().len(), 24);
    let most = server.most.load(Ordering::SeqCst);
    assert!((1..=3).contains(&most), "{most} in flight at once");
}

#[test]
fn waiters_for_a_cap_go_in_the_order_they_came() {
    // a current-thread runtime: the tasks are first polled, and so queue,
    // in the order they were spawned
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = slow_server(Duration::from_millis(20)).await;
        let http = client(&format!("{}/v1", server.url))
            .limits(Limits::default().concurrency(1))
            .build()
            .unwrap();
        let compute = http.service_client("compute");
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let c = compute.clone();
                tokio::spawn(async move { c.get(&format!("/s/{i}")).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let order = server.order.lock().unwrap().clone();
        let expected: Vec<String> = (0..12).map(|i| format!("/v1/s/{i}")).collect();
        assert_eq!(order, expected);
        assert_eq!(server.most.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_limit_that_cannot_be_is_refused_at_build() {
    for bad in [
        Limits::default().rate(0.0),
        Limits::default().rate(-1.0),
        Limits::default().rate(f64::NAN),
        Limits::default().concurrency(0),
    ] {
        let err = client("http://svc/v1").limits(bad).build().unwrap_err();
        assert!(matches!(err, Error::Validation(_)), "{err:?}");
    }
}

/// An in-memory transport that answers by path from a script, counting
/// attempts: a connect error, a status, or 200.
fn scripted(
    script: impl Fn(&str, usize) -> Result<u16, ConnectionErrorKind> + Send + Sync + 'static,
) -> (apiclient_http::HttpService, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    let script = Arc::new(script);
    let svc =
        apiclient_http::HttpService::new(tower::service_fn(move |req: http::Request<Body>| {
            let (s, script) = (s.clone(), script.clone());
            async move {
                let key = format!("{} {}", req.method(), req.uri().path());
                let n = {
                    let mut s = s.lock().unwrap();
                    s.push(key.clone());
                    s.iter().filter(|k| **k == key).count()
                };
                match script(&key, n) {
                    Ok(status) => Ok(http::Response::builder()
                        .status(status)
                        .body(Body::from("{}"))
                        .unwrap()),
                    Err(kind) => Err(Box::new(Error::from(ConnectionError::new(
                        kind,
                        "http://svc".to_string(),
                        None,
                    ))) as BoxError),
                }
            }
        }));
    (svc, seen)
}

fn attempts(seen: &Arc<Mutex<Vec<String>>>, key: &str) -> usize {
    seen.lock().unwrap().iter().filter(|k| *k == key).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_error_is_retried_for_any_method_an_answer_only_for_idempotent_ones() {
    let (svc, seen) = scripted(|key, n| match (key, n) {
        // refused once, then accepted
        ("POST /v1/refused", 1) => Err(ConnectionErrorKind::Refused),
        ("POST /v1/unavailable", _) => Ok(503),
        ("GET /v1/unavailable", 1) => Ok(503),
        ("GET /v1/throttled", 1) => Ok(429),
        _ => Ok(200),
    });
    let http = client("http://svc/v1")
        .base_transport(svc)
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(10)))
        .build()
        .unwrap();
    let compute = http.service_client("compute");
    // the POST never left: sent again
    compute
        .post("/refused", &serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(attempts(&seen, "POST /v1/refused"), 2);
    // the server answered a POST: not sent again
    let err = compute
        .post("/unavailable", &serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(attempts(&seen, "POST /v1/unavailable"), 1);
    // a GET is, and a 429 without Retry-After backs off and is retried too
    compute.get("/unavailable").await.unwrap();
    compute.get("/throttled").await.unwrap();
    assert_eq!(attempts(&seen, "GET /v1/unavailable"), 2);
    assert_eq!(attempts(&seen, "GET /v1/throttled"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_has_its_own_retry_policy() {
    let (svc, seen) = scripted(|_, n| if n == 1 { Ok(502) } else { Ok(200) });
    let http = client("http://svc/v1")
        .base_transport(svc)
        .service_retry(
            // by an alias: the policy is the official type's
            "volumev3",
            RetryPolicy::default()
                .statuses([502, 503, 504])
                .base_delay(Duration::from_millis(10)),
        )
        .build()
        .unwrap();
    http.service_client("block-storage")
        .get("/volumes")
        .await
        .unwrap();
    assert_eq!(attempts(&seen, "GET /v1/volumes"), 2);
    // compute keeps the default (429, 503): a 502 is the answer
    let err = http
        .service_client("compute")
        .get("/servers")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(attempts(&seen, "GET /v1/servers"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouds_yaml_sets_retries_and_limits_per_service() {
    let hits: Arc<Mutex<BTreeMap<String, usize>>> = Default::default();
    let h = hits.clone();
    let server = RawServer::start(move |r: &RawRequest| {
        let n = {
            let mut h = h.lock().unwrap();
            let n = h.entry(r.target.clone()).or_default();
            *n += 1;
            *n
        };
        if n == 1 {
            RawServer::response(502, &[], b"bad gateway")
        } else {
            ok()
        }
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  c:\n    auth_type: admin_token\n    auth:\n      endpoint: {}/v1\n      token: t\n    \
             retriable_status_codes: [502, 503]\n    status_code_retries: 2\n    \
             image_status_code_retries: 0\n    rate_limit:\n      compute: 5\n    concurrency: 2\n",
            server.url()
        ),
    )
    .unwrap();
    let cfg = ConfigLoader::new()
        .with_env_map([("OS_CLOUD".to_string(), "c".to_string())].into())
        .with_search_dirs(vec![dir.path().to_path_buf()])
        .resolve(&Default::default())
        .unwrap();
    assert_eq!(
        cfg.service_defaults.retriable_status_codes,
        Some(vec![502, 503])
    );
    assert_eq!(cfg.service_defaults.concurrency, Some(2));
    assert_eq!(cfg.services["compute"].rate_limit, Some(5.0));
    assert_eq!(cfg.services["image"].status_code_retries, Some(0));
    let http = HttpClientBuilder::from_config(&cfg, &PluginRegistry::default())
        .unwrap()
        .no_proxy()
        .build()
        .unwrap();
    // compute: 502 is retriable here, and retried
    http.service_client("compute")
        .get("/servers")
        .await
        .unwrap();
    // image: no status retries
    let err = http
        .service_client("image")
        .get("/images")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    // compute's rate (5 a second) holds: 6 more requests take at least 1 s
    let compute = http.service_client("compute");
    let t0 = Instant::now();
    let calls = (0..6).map(|i| {
        let c = compute.clone();
        async move { c.get(&format!("/flavors/{i}")).await }
    });
    futures_util::future::join_all(calls).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t0.elapsed()
    );
    let hits = hits.lock().unwrap().clone();
    assert_eq!(hits.get("/v1/servers"), Some(&2));
    assert_eq!(hits.get("/v1/images"), Some(&1));

    // a value that is not a number is a configuration error, not ignored
    std::fs::write(
        dir.path().join("clouds.yaml"),
        "clouds:\n  c:\n    auth_type: none\n    auth:\n      endpoint: http://x\n    compute_rate_limit: fast\n",
    )
    .unwrap();
    let err = ConfigLoader::new()
        .with_env_map([("OS_CLOUD".to_string(), "c".to_string())].into())
        .with_search_dirs(vec![dir.path().to_path_buf()])
        .resolve(&Default::default())
        .unwrap_err();
    assert!(err.to_string().contains("compute_rate_limit"), "{err}");
}

/// Parse a Prometheus text exposition into (name, labels, value).
fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter_map(|kv| kv.split_once("=\""))
                .map(|(k, v)| (k.to_string(), v.trim_end_matches('"').to_string()))
                .collect();
            Some((name.to_string(), labels, value.parse().ok()?))
        })
        .collect()
}

fn count_of(
    samples: &[(String, BTreeMap<String, String>, f64)],
    name: &str,
    want: &[(&str, &str)],
) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_of_a_known_run_are_scraped_from_prometheus() {
    // the exporter's own listener, on a port of ours
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(([127, 0, 0, 1], port))
        .install()
        .unwrap();
    apiclient_http::layers::metrics::describe();

    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let server = RawServer::start(move |r: &RawRequest| {
        if r.target.ends_with("/missing") {
            return RawServer::response(404, &[], b"no");
        }
        // the first /flaky is a 503, then fine
        if r.target.ends_with("/flaky") && h.fetch_add(1, Ordering::SeqCst) == 0 {
            return RawServer::response(503, &[], b"later");
        }
        ok()
    })
    .await
    .unwrap();
    let server_port = server.addr().port().to_string();
    let http = client(&format!("{}/v1", server.url()))
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(10)))
        .limits(Limits::default().rate(1000.0))
        .build()
        .unwrap();
    // a service type of this test alone, so other tests' series cannot mix in
    let svc = http.service_client("metrics-test");
    for i in 0..3 {
        svc.get(&format!("/servers/{i}")).await.unwrap();
    }
    svc.get("/missing").await.unwrap_err();
    svc.get("/flaky").await.unwrap();

    // scrape, as Prometheus would
    let body = tokio::time::timeout(Duration::from_secs(60), async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    })
    .await
    .unwrap();
    let all = samples(&body);
    let ours = [
        ("openstack_service_type", "metrics-test"),
        ("server_port", server_port.as_str()),
        ("server_address", "127.0.0.1"),
        ("http_request_method", "GET"),
    ];
    let with = |extra: (&str, &str)| {
        let mut w = ours.to_vec();
        w.push(extra);
        count_of(&all, "http_client_request_duration_count", &w)
    };
    // 3 + the flaky one's second attempt; one 404; one 503
    assert_eq!(with(("http_response_status_code", "200")), 4.0, "{body}");
    assert_eq!(with(("http_response_status_code", "404")), 1.0, "{body}");
    assert_eq!(with(("http_response_status_code", "503")), 1.0, "{body}");
    assert_eq!(
        count_of(
            &all,
            "apiclient_request_retries",
            &[
                ("openstack_service_type", "metrics-test"),
                ("apiclient_retry_reason", "status"),
            ]
        ),
        1.0,
        "{body}"
    );
    // labels carry no id and no path
    assert!(!body.contains("/servers/"), "{body}");
    assert!(!body.contains("servers/1"), "{body}");
}

#[test]
fn token_issues_and_reauthentications_are_counted_by_reason() {
    // a recorder of this test alone: local to this thread, where a
    // current-thread runtime runs the client, the fake cloud and hyper
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let cloud = apiclient_fake::FakeCloud::start().await.unwrap();
            let offset = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let o = offset.clone();
            let http = crate::support::builder(&cloud)
                .clock(Arc::new(move || {
                    time::OffsetDateTime::now_utc() + Duration::from_secs(o.load(Ordering::SeqCst))
                }))
                .build()
                .unwrap();
            let compute = http.service_client("compute");
            compute.get("/servers").await.unwrap(); // initial
            offset.store(7200, Ordering::SeqCst);
            compute.get("/servers").await.unwrap(); // refresh: expiring
            offset.store(0, Ordering::SeqCst);
            cloud.revoke_all();
            compute.get("/servers").await.unwrap(); // rejected, after a 401
            http.authenticate().await.unwrap(); // explicit
        })
    });
    let all = samples(&handle.render());
    let issued = |reason: &str| {
        count_of(
            &all,
            "apiclient_auth_token_issues",
            &[
                ("apiclient_auth_reason", reason),
                ("apiclient_auth_method", "authenticate"),
                ("apiclient_auth_outcome", "ok"),
            ],
        )
    };
    let render = handle.render();
    assert_eq!(issued("initial"), 1.0, "{render}");
    assert_eq!(issued("refresh"), 1.0, "{render}");
    assert_eq!(issued("rejected"), 1.0, "{render}");
    assert_eq!(issued("explicit"), 1.0, "{render}");
    assert_eq!(
        count_of(
            &all,
            "apiclient_auth_reauthentications",
            &[("openstack_service_type", "compute")]
        ),
        1.0,
        "{render}"
    );
    // the authentication requests are on the wire too: POST, no service type
    assert_eq!(
        count_of(
            &all,
            "http_client_request_duration_count",
            &[
                ("http_request_method", "POST"),
                ("openstack_service_type", ""),
                ("http_response_status_code", "201"),
            ]
        ),
        4.0,
        "{render}"
    );
}

#[test]
fn waits_for_a_limit_are_counted_by_kind() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let (server, _) = recording_server().await;
            let http = client(&format!("{}/v1", server.url()))
                .service_limits("compute", Limits::default().rate(4.0))
                .service_limits("image", Limits::default().concurrency(1))
                .build()
                .unwrap();
            // three at once, polled together: the first goes, two wait
            let (compute, image) = (http.service_client("compute"), http.service_client("image"));
            futures_util::future::join_all((0..3).map(|_| compute.get("/s"))).await;
            futures_util::future::join_all((0..3).map(|_| image.get("/i"))).await;
        })
    });
    let render = handle.render();
    let all = samples(&render);
    let waits = |service: &str, limit: &str| {
        count_of(
            &all,
            "apiclient_limit_wait_duration_count",
            &[
                ("openstack_service_type", service),
                ("apiclient_limit", limit),
            ],
        )
    };
    assert_eq!(waits("compute", "rate"), 2.0, "{render}");
    assert_eq!(waits("image", "concurrency"), 2.0, "{render}");
    assert_eq!(waits("compute", "concurrency"), 0.0, "{render}");
}

/// The client's own stack (its layers' work done inline by the call) and
/// the same stack under a layer of the user's (the tower layers) apply a
/// service's own retry policy and record the same series: each attempt
/// with its service type and status, each retry with its service.
#[test]
fn the_fused_and_the_layered_stack_retry_and_record_alike() {
    use apiclient_fake::{FakeCloud, Fault};
    for layered in [false, true] {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let path = if layered { "layered" } else { "fused" };
        metrics::with_local_recorder(&recorder, || {
            rt.block_on(async {
                let cloud = FakeCloud::start().await.unwrap();
                // compute retries a 502 (not the default's) and not a 503
                let mut b = crate::support::builder(&cloud).service_retry(
                    "compute",
                    RetryPolicy::default()
                        .statuses([502])
                        .base_delay(Duration::from_millis(10)),
                );
                if layered {
                    b = b.with_layer(tower::layer::util::Identity::new());
                }
                let compute = b.build().unwrap().service_client("compute");
                compute.get("/servers").await.unwrap();
                cloud.inject(Fault::BadGatewayHtml, 1);
                compute.get("/servers").await.unwrap();
                cloud.inject(Fault::ServiceUnavailable, 1);
                let err = compute.get("/servers").await.unwrap_err();
                assert_eq!(err.status(), Some(503), "{path}");
                assert_eq!(cloud.count("GET /v2.1/servers"), 4, "{path}");
            })
        });
        let render = handle.render();
        let all = samples(&render);
        let attempts = |status: &str| {
            count_of(
                &all,
                "http_client_request_duration_count",
                &[
                    ("http_request_method", "GET"),
                    ("openstack_service_type", "compute"),
                    ("http_response_status_code", status),
                ],
            )
        };
        assert_eq!(attempts("200"), 2.0, "{path}: {render}");
        assert_eq!(attempts("502"), 1.0, "{path}: {render}");
        assert_eq!(attempts("503"), 1.0, "{path}: {render}");
        assert_eq!(
            count_of(
                &all,
                "apiclient_request_retries",
                &[
                    ("openstack_service_type", "compute"),
                    ("apiclient_retry_reason", "status"),
                ]
            ),
            1.0,
            "{path}: {render}"
        );
    }
}
