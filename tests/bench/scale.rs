//! Case F: scale. Ten thousand requests in flight at once on one client
//! against a slow loopback server (the heap each one holds, ours against raw
//! hyper-util), and `Api::list_all` over 1 000 000 items in pages of 1 000
//! (the heap stays flat). Each measurement runs in a child process
//! (`apiclient-bench case-f …`), so the allocator's counts are its alone; a
//! fresh bench server (pinned like the others) answers each in-flight run.
//! Every wait is bounded.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use crate::{ALLOCATOR, LeanServer, plugin, runtime, spawn_server, vm_hwm_kb};

/// The requests held in flight together.
const IN_FLIGHT: usize = 10_000;
/// The items `list_all` streams, and its page size.
const LIST_TOTAL: usize = 1_000_000;
const LIST_LIMIT: usize = 1_000;
/// Where the list run samples the heap (items streamed so far).
const LIST_MARKS: [usize; 4] = [10_000, 100_000, 500_000, 1_000_000];

/// The soft and hard limits on open files of this process.
pub(crate) fn nofile() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let parse = |v: Option<&str>| match v {
        Some("unlimited") => u64::MAX,
        v => v.and_then(|v| v.parse().ok()).unwrap_or(1024),
    };
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .map(|rest| {
            let mut f = rest.split_whitespace();
            (parse(f.next()), parse(f.next()))
        })
        .unwrap_or((1024, 1024))
}

/// How many requests fit: one socket each in the client (and in the
/// server, another process with the same limit), a margin left.
fn in_flight_count() -> usize {
    let (soft, _) = nofile();
    IN_FLIGHT.min(soft.saturating_sub(500) as usize)
}

// ------------------------------------------------------------------ the parent

/// Case F's summary rows.
pub(crate) fn case_f() -> Vec<Value> {
    let mut rows = Vec::new();
    let n = in_flight_count();
    let mut raw: Option<Value> = None;
    for (which, name) in [
        ("raw", "raw hyper-util + serde_json (baseline)"),
        ("ours", "ServiceClient::get + json"),
    ] {
        let server = spawn_server();
        let mut v = run_child(
            &["inflight", which, &server.url, &n.to_string()],
            Duration::from_secs(300),
        );
        drop(server);
        v["case"] = json!(format!(
            "F: {n} GETs in flight at once on one client (slow server)"
        ));
        v["variant"] = json!(name);
        v["fd_limit_soft"] = json!(nofile().0);
        if n < IN_FLIGHT {
            v["note"] = json!(format!("{IN_FLIGHT} asked, {n} fit the descriptor limit"));
        }
        match &raw {
            None => raw = Some(v.clone()),
            Some(base) => {
                v["baseline"] = base["variant"].clone();
                for k in [
                    "heap_per_request_bytes",
                    "peak_heap_bytes",
                    "held_heap_bytes",
                    "vm_hwm_kb",
                    "seconds",
                ] {
                    v[format!("baseline_{k}")] = base[k].clone();
                }
                let ratio = |v: &Value, k: &str| match (v[k].as_f64(), base[k].as_f64()) {
                    (Some(a), Some(b)) if b > 0.0 => json!(a / b),
                    _ => Value::Null,
                };
                v["heap_per_request_ratio_to_baseline"] = ratio(&v, "heap_per_request_bytes");
                v["vm_hwm_ratio_to_baseline"] = ratio(&v, "vm_hwm_kb");
            }
        }
        rows.push(v);
    }
    let server = spawn_server();
    for (which, name) in [
        ("typed", "Api::<LeanServer>::list_all"),
        ("dynamic", "Api::<DynamicResource>::list_all (Api::dynamic)"),
    ] {
        let mut v = run_child(&["list", which, &server.url], Duration::from_secs(600));
        v["case"] = json!(format!(
            "F: list_all over {LIST_TOTAL} items, pages of {LIST_LIMIT} (stream)"
        ));
        v["variant"] = json!(name);
        rows.push(v);
    }
    rows
}

/// Case F as a table (the rows are in summary.json too).
pub(crate) fn print(rows: &[Value]) {
    let f = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.0}"));
    let r = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.2}"));
    for v in rows {
        if !v["error"].is_null() {
            println!("{} / {}: error {}", v["case"], v["variant"], v["error"]);
        } else if v.get("requests").is_some() {
            println!(
                "{:<58} {:<40} max in flight {:>6}  B/request {:>7} (ratio {:>5})  held {:>10} B  peak {:>10} B  VmHWM {:>7} kB  {:>5.1} s  failed {}",
                v["case"].as_str().unwrap_or(""),
                v["variant"].as_str().unwrap_or(""),
                f(&v["max_in_flight_seen_by_server"]),
                f(&v["heap_per_request_bytes"]),
                r(&v["heap_per_request_ratio_to_baseline"]),
                f(&v["held_heap_bytes"]),
                f(&v["peak_heap_bytes"]),
                f(&v["vm_hwm_kb"]),
                v["seconds"].as_f64().unwrap_or(0.0),
                v["failed"],
            );
        } else {
            let marks: Vec<String> = LIST_MARKS
                .iter()
                .map(|m| format!("{m}: {}", f(&v["heap_bytes_after_items"][m.to_string()])))
                .collect();
            println!(
                "{:<58} {:<40} items {:>7}  heap after [{}] B  max/min {:>5}  peak {:>9} B  {:>5.1} s",
                v["case"].as_str().unwrap_or(""),
                v["variant"].as_str().unwrap_or(""),
                f(&v["items"]),
                marks.join(", "),
                r(&v["heap_max_to_min_ratio"]),
                f(&v["peak_heap_bytes"]),
                v["seconds"].as_f64().unwrap_or(0.0),
            );
        }
    }
}

/// This binary with `case-f <args>`, its JSON line, or the error; killed
/// past `limit`.
fn run_child(args: &[&str], limit: Duration) -> Value {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("case-f")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let t0 = Instant::now();
    let mut killed = false;
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    match out.lines().last().map(serde_json::from_str::<Value>) {
        Some(Ok(v)) if !killed => v,
        _ => json!({"error": if killed { format!("killed after {limit:?}") } else { err }}),
    }
}

// ------------------------------------------------------------------ the children

/// `case-f inflight raw|ours <base> <n>` or `case-f list typed|dynamic <base>`.
pub(crate) fn child(args: &[String]) {
    let rt = runtime();
    let v = match args[0].as_str() {
        "inflight" => rt.block_on(in_flight(&args[1], &args[2], args[3].parse().unwrap())),
        _ => rt.block_on(list(&args[1], &args[2])),
    };
    println!("{v}");
}

/// The bench server's counters (a blocking HTTP/1.1 request of its own).
fn server_stats(base: &str) -> Option<Value> {
    let addr = base.strip_prefix("http://")?;
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /admin/stats HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    serde_json::from_str(out.split_once("\r\n\r\n")?.1).ok()
}

enum Client {
    Raw(
        Box<
            hyper_util::client::legacy::Client<
                hyper_util::client::legacy::connect::HttpConnector,
                Full<Bytes>,
            >,
        >,
        String,
    ),
    Ours(apiclient_http::ServiceClient),
}

impl Client {
    /// GET `path` (under the compute endpoint) and decode the body into a `Value`.
    async fn get(&self, path: &str) -> Result<(), String> {
        let v: Value = match self {
            Client::Raw(raw, base) => {
                let req = http::Request::get(format!("{base}/v2.1{path}"))
                    .header("x-auth-token", "tok-0")
                    .header("accept", "application/json")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let resp = raw.request(req).await.map_err(|e| e.to_string())?;
                let body = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes();
                serde_json::from_slice(&body).map_err(|e| e.to_string())?
            }
            Client::Ours(service) => service
                .get(path)
                .await
                .and_then(|r| r.json())
                .map_err(|e| e.to_string())?,
        };
        std::hint::black_box(v);
        Ok(())
    }
}

/// `n` GETs of the slow route at once; the server holds each until all `n`
/// are in flight (at most 60 s), then 500 ms more, and counts them. The heap
/// is sampled when the server reports all `n` in flight (`held`); the peak
/// is the allocator's high-water mark.
async fn in_flight(which: &str, base: &str, n: usize) -> Value {
    let client = std::sync::Arc::new(if which == "raw" {
        Client::Raw(
            Box::new(
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http(),
            ),
            base.to_string(),
        )
    } else {
        let http = apiclient_http::HttpClient::builder(plugin(base))
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        Client::Ours(http.service_client("compute"))
    });
    // warm-up: the token, the endpoint, the pool (and their heap) exist before the count
    client.get("/servers/srv-000001").await.unwrap();
    let before = ALLOCATOR.allocated();
    let path = format!("/slow?ms=60000&hold={n}&after=500");
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, path) = (client.clone(), path.clone());
        tasks.spawn(async move { client.get(&path).await });
    }
    // watch the server until all n are in flight (bounded): the heap they hold
    let watch_base = base.to_string();
    let watcher = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Some(s) = server_stats(&watch_base)
                && s["in_flight"].as_u64() >= Some(n as u64)
            {
                return Some((ALLOCATOR.allocated(), t0.elapsed().as_secs_f64()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    });
    let mut failed = 0usize;
    let mut first_error = None;
    let joined = tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
    })
    .await;
    let seconds = t0.elapsed().as_secs_f64();
    let held = tokio::task::spawn_blocking(move || watcher.join().ok().flatten())
        .await
        .unwrap();
    let peak = ALLOCATOR.max_allocated().saturating_sub(before);
    let stats = tokio::task::spawn_blocking({
        let base = base.to_string();
        move || server_stats(&base)
    })
    .await
    .unwrap()
    .unwrap_or(Value::Null);
    json!({
        "requests": n,
        "failed": failed,
        "first_error": first_error,
        "timed_out": joined.is_err(),
        "seconds": seconds,
        "max_in_flight_seen_by_server": stats["max_in_flight"],
        "heap_before_bytes": before,
        "held_heap_bytes": held.map(|(h, _)| h.saturating_sub(before)),
        "all_in_flight_after_seconds": held.map(|(_, s)| s),
        "peak_heap_bytes": peak,
        "heap_per_request_bytes": peak as f64 / n as f64,
        "vm_hwm_kb": vm_hwm_kb(),
    })
}

/// `list_all` over [`LIST_TOTAL`] items: the heap (above what it was before
/// the listing) after 10k, 100k, 500k and 1M items, and the peak.
async fn list(which: &str, base: &str) -> Value {
    let http = apiclient_http::HttpClient::builder(plugin(base))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let service = http.service_client("compute");
    if which == "dynamic" {
        let api = apiclient_base::Api::dynamic(
            service,
            apiclient_base::ResourceInfo::new("server", "servers"),
        );
        list_run(api).await
    } else {
        list_run(apiclient_base::Api::<LeanServer>::new(service)).await
    }
}

async fn list_run<T: apiclient_base::ApiObject>(api: apiclient_base::Api<T>) -> Value {
    // warm-up: the token, the endpoint and a connection, on two small pages
    let warm = api.list_all(&BTreeMap::from([("limit", "5"), ("total", "10")]));
    assert_eq!(warm.count().await, 10);
    let baseline = ALLOCATOR.allocated();
    let limit = LIST_LIMIT.to_string();
    let total = LIST_TOTAL.to_string();
    let stream = api.list_all(&BTreeMap::from([
        ("limit", limit.as_str()),
        ("total", total.as_str()),
    ]));
    futures_util::pin_mut!(stream);
    let mut items = 0usize;
    let mut samples = serde_json::Map::new();
    let mut error = None;
    let t0 = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(500);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(item))) => {
                drop(item);
                items += 1;
                if LIST_MARKS.contains(&items) {
                    samples.insert(
                        items.to_string(),
                        json!(ALLOCATOR.allocated().saturating_sub(baseline)),
                    );
                }
            }
            Ok(Some(Err(e))) => {
                error = Some(e.to_string());
                break;
            }
            Ok(None) => break,
            Err(_) => {
                error = Some("timed out".to_string());
                break;
            }
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    let values: Vec<f64> = samples.values().filter_map(Value::as_f64).collect();
    let (min, max) = values
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    json!({
        "items": items,
        "pages": items.div_ceil(LIST_LIMIT),
        "error": error,
        "seconds": seconds,
        "items_per_second": items as f64 / seconds,
        "heap_bytes_after_items": samples,
        "heap_max_to_min_ratio": if values.is_empty() { Value::Null } else { json!(max / min) },
        "heap_max_minus_min_bytes": if values.is_empty() { Value::Null } else { json!(max - min) },
        "peak_heap_bytes": ALLOCATOR.max_allocated().saturating_sub(baseline),
        "vm_hwm_kb": vm_hwm_kb(),
    })
}
