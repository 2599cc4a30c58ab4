//! `cargo xtask bench`: apiclient-rs against a raw hyper baseline, on loopback.
//!
//! The servers run in child processes (this binary with `server`), so the
//! client CPU measured here is the client's alone; the server's CPU is
//! reported beside it. Results: a table on stdout and
//! `target/bench/summary.json`. Nothing here is asserted: speed and memory
//! are reported, never tested.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apiclient_auth::typed::{AdminToken, Scope, V3Password};
use apiclient_base::{BaseClient, PageStyle, Resource, ResourceMeta, paginate};
use apiclient_http::HttpClient;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting::new();

mod heap;
mod scale;

const SERVER: ResourceMeta = ResourceMeta::new("Server");

/// The runtime every part of the bench runs on: two workers, as the issue's
/// 64-task case asks.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

// ------------------------------------------------------------------ process stats

/// This process's (user, system) CPU seconds, from /proc (10 ms ticks:
/// for runs of seconds).
fn user_system_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

/// (user + system) CPU seconds of a process, from /proc.
fn cpu_seconds(pid: &str) -> f64 {
    if pid == "self" {
        // this process, in nanoseconds (the /proc/<pid>/stat ticks are 10 ms):
        // the CPU time of every live thread, from its schedstat
        let mut ns = 0u64;
        let mut any = false;
        for t in std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Some(v) = std::fs::read_to_string(t.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            {
                ns += v;
                any = true;
            }
        }
        if any {
            return ns as f64 / 1e9;
        }
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // fields after ")" start at 3 (state); utime is field 14, stime 15 → index 11, 12
    (ticks(11) + ticks(12)) / 100.0
}

/// The context switches of this process's live threads so far (voluntary and
/// not): each is a thread that slept and was woken, so a stack that adds
/// wake-ups between the connection and the reader shows here as a count,
/// which moves far less from run to run than CPU time on a shared machine.
fn context_switches() -> u64 {
    let mut n = 0;
    for t in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        n += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    n
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmHWM:")
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

// ------------------------------------------------------------------ the bench server

struct ServerState {
    base: String,
    generation: AtomicU64,
    auths: AtomicU64,
    resource: Bytes,
    /// `/v2.1/slow` requests being answered now, and the most at once (case F).
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    /// Set once `hold` slow requests were in flight together: the held ones go.
    released: std::sync::atomic::AtomicBool,
    release: tokio::sync::Notify,
}

fn resp(status: u16, body: Bytes) -> http::Response<Full<Bytes>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-openstack-request-id", "req-bench")
        .body(Full::new(body))
        .unwrap()
}

fn page(query: &str, base: &str) -> Bytes {
    let q: std::collections::HashMap<String, String> = url_pairs(query);
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(1000);
    let total: usize = q
        .get("total")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100_000);
    let start = q
        .get("marker")
        .and_then(|m| m.strip_prefix("srv-"))
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(0, |n| n + 1);
    let end = (start + limit).min(total);
    // ids sort and parse back as markers: seven digits past 999 999 items
    let width = if total > 999_999 { 7 } else { 6 };
    let mut out = String::with_capacity((end - start) * 320 + 200);
    out.push_str("{\"servers\": [");
    for i in start..end {
        if i > start {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"id\": \"srv-{i:0width$}\", \"name\": \"server-{i}\", \"status\": \"ACTIVE\", \"flavor\": {{\"id\": \"m1.small\"}}, \"image\": {{\"id\": \"cirros-0.6.2\"}}, \"addresses\": {{\"private\": [{{\"addr\": \"10.0.{}.{}\", \"version\": 4}}]}}, \"metadata\": {{\"role\": \"bench\", \"tier\": \"web\"}}, \"created\": \"2026-11-29T00:00:00Z\"}}",
            i / 250 % 250,
            i % 250
        ));
    }
    out.push(']');
    if end < total {
        out.push_str(&format!(
            ", \"servers_links\": [{{\"rel\": \"next\", \"href\": \"{base}/v2.1/servers?limit={limit}&total={total}&marker=srv-{:0width$}\"}}]",
            end - 1
        ));
    }
    out.push('}');
    Bytes::from(out)
}

fn url_pairs(q: &str) -> std::collections::HashMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn handle(
    st: Arc<ServerState>,
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let _ = body.collect().await;
    let path = parts.uri.path();
    let valid = format!("tok-{}", st.generation.load(Ordering::SeqCst));
    let authed = parts
        .headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        == Some(valid.as_str());
    Ok(match (parts.method.as_str(), path) {
        ("POST", "/v3/auth/tokens") => {
            st.auths.fetch_add(1, Ordering::SeqCst);
            let body = json!({"token": {"expires_at": "2099-01-01T00:00:00.000000Z", "methods": ["password"],
                "project": {"id": "p", "name": "bench", "domain": {"id": "default"}},
                "catalog": [{"type": "compute", "name": "nova", "endpoints": [
                    {"interface": "public", "region_id": "RegionOne", "url": format!("{}/v2.1", st.base)}]}]}});
            let mut r = resp(201, Bytes::from(body.to_string()));
            r.headers_mut().insert("x-subject-token", valid.parse().unwrap());
            r
        }
        ("POST", "/admin/revoke") => {
            st.generation.fetch_add(1, Ordering::SeqCst);
            resp(204, Bytes::new())
        }
        ("POST", "/admin/reset") => {
            st.auths.store(0, Ordering::SeqCst);
            st.max_in_flight.store(0, Ordering::SeqCst);
            st.released.store(false, Ordering::SeqCst);
            resp(204, Bytes::new())
        }
        ("GET", "/admin/stats") => resp(200, Bytes::from(json!({"auths": st.auths.load(Ordering::SeqCst),
            "in_flight": st.in_flight.load(Ordering::SeqCst), "max_in_flight": st.max_in_flight.load(Ordering::SeqCst)}).to_string())),
        _ if !authed => resp(401, Bytes::from_static(br#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#)),
        ("GET", "/v2.1/servers") => resp(200, page(parts.uri.query().unwrap_or(""), &st.base)),
        ("GET", "/v2.1/slow") => slow(&st, parts.uri.query().unwrap_or("")).await,
        ("GET", _) => resp(200, st.resource.clone()),
        _ => resp(404, Bytes::new()),
    })
}

/// `GET /v2.1/slow?ms=N[&hold=K][&after=M]`: the ~1 KB resource, answered
/// once `hold` slow requests are in flight together (then `after` ms more),
/// or after `ms` at most; the server counts them (case F).
async fn slow(st: &ServerState, query: &str) -> http::Response<Full<Bytes>> {
    let q = url_pairs(query);
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    st.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let bound = Duration::from_millis(num("ms").unwrap_or(100));
    if let Some(hold) = num("hold") {
        if now >= hold && !st.released.swap(true, Ordering::SeqCst) {
            st.release.notify_waiters();
        }
        let _ = tokio::time::timeout(bound, async {
            loop {
                let released = st.release.notified();
                if st.released.load(Ordering::SeqCst) {
                    break;
                }
                released.await;
            }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(num("after").unwrap_or(0))).await;
    } else {
        tokio::time::sleep(bound).await;
    }
    st.in_flight.fetch_sub(1, Ordering::SeqCst);
    resp(200, st.resource.clone())
}

fn run_server() {
    let rt = runtime();
    rt.block_on(async {
        // a deep accept queue: case F opens 10 000 connections at once
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(16_384).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        println!("{base}");
        let mut server = json!({"id": "srv-000001", "name": "bench-server", "status": "ACTIVE", "flavor": {"id": "m1.small"},
            "metadata": {}, "addresses": {"private": [{"addr": "10.0.0.5", "version": 4}]}});
        while server.to_string().len() < 1000 {
            let n = server["metadata"].as_object().unwrap().len();
            server["metadata"][format!("key-{n}")] = json!("value-value-value-value");
        }
        let st = Arc::new(ServerState {
            base,
            generation: AtomicU64::new(0),
            auths: AtomicU64::new(0),
            resource: Bytes::from(json!({"server": server}).to_string()),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            released: Default::default(),
            release: tokio::sync::Notify::new(),
        });
        loop {
            // out of descriptors (EMFILE): wait and accept again (backpressure)
            let tcp = match listener.accept().await {
                Ok((tcp, _)) => tcp,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let st = st.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |r| handle(st.clone(), r));
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(tcp), svc).await;
            });
        }
    });
}

struct ServerProc {
    child: Child,
    url: String,
}

/// A bench server as a client process sees it: its URL, and its process
/// (whose CPU is read beside the client's).
struct ServerAt {
    url: String,
    pid: String,
}

impl ServerProc {
    fn at(&self) -> ServerAt {
        ServerAt {
            url: self.url.clone(),
            pid: self.child.id().to_string(),
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this run is pinned (client on core 0, servers on core 1).
fn pinned() -> bool {
    std::env::var_os("APICLIENT_BENCH_PINNED").is_some()
}

fn spawn_server() -> ServerProc {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if pinned() {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("1").arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let mut child = cmd.arg("server").stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    ServerProc {
        child,
        url: line.trim().to_string(),
    }
}

// ------------------------------------------------------------------ case A

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Baseline,
    /// Raw hyper decoding into the same struct as `Typed` (its floor).
    TypedBaseline,
    Reqwest,
    Service,
    Typed,
    Resource,
    Timings,
    CurlLog,
    /// Diagnostic (`profile transport64`): the transport alone, no stack.
    Transport,
}

const VARIANTS: [Variant; 8] = [
    Variant::Baseline,
    Variant::TypedBaseline,
    Variant::Reqwest,
    Variant::Service,
    Variant::Typed,
    Variant::Resource,
    Variant::Timings,
    Variant::CurlLog,
];

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Baseline => "raw hyper-util + serde_json (baseline)",
            Variant::TypedBaseline => "raw hyper-util → serde struct (typed baseline)",
            Variant::Reqwest => "reqwest 0.12 + serde_json (peer)",
            Variant::Service => "ServiceClient::get + json (log off)",
            Variant::Typed => "Api<T>::get → serde struct",
            Variant::Resource => "Manager::get → Resource (reference path)",
            Variant::Timings => "ServiceClient::get + json, timings on",
            Variant::CurlLog => "ServiceClient::get + json, curl log DEBUG",
            Variant::Transport => "HyperTransport alone + serde_json",
        }
    }

    /// Its short name, for `APICLIENT_BENCH_VARIANTS`.
    fn key(self) -> &'static str {
        match self {
            Variant::Baseline => "baseline",
            Variant::TypedBaseline => "typed-baseline",
            Variant::Reqwest => "reqwest",
            Variant::Service => "service",
            Variant::Typed => "typed",
            Variant::Resource => "resource",
            Variant::Timings => "timings",
            Variant::CurlLog => "curl",
            Variant::Transport => "transport",
        }
    }

    /// The variant of a short name (case A's).
    fn from_key(key: &str) -> Option<Variant> {
        VARIANTS.into_iter().find(|v| v.key() == key)
    }

    /// Issue 24's goal for this variant: (the ratio it is on, its most).
    fn goal(self) -> Option<(&'static str, f64)> {
        match self {
            Variant::Service => Some(("cpu_ratio_to_baseline", 1.10)),
            Variant::Typed => Some(("cpu_ratio_to_baseline", 1.15)),
            Variant::Resource => Some(("cpu_ratio_to_baseline", 1.30)),
            Variant::CurlLog => Some(("cpu_ratio_to_log_off", 1.5)),
            _ => None,
        }
    }
}

/// The fields of a server a listing uses (the rest skipped unparsed).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct LeanServer {
    id: String,
    name: String,
    status: String,
    flavor: IdOnly,
    created: Option<String>,
}

impl apiclient_base::ResourceType for LeanServer {
    const SINGULAR: &'static str = "server";
    const PLURAL: &'static str = "servers";
    fn id(&self) -> &str {
        &self.id
    }
}

/// The bench resource, typed.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct BenchServer {
    id: String,
    name: String,
    status: String,
    flavor: IdOnly,
    #[serde(default)]
    image: Option<IdOnly>,
    addresses: std::collections::BTreeMap<String, Vec<Address>>,
    metadata: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    created: Option<String>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct IdOnly {
    id: String,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Address {
    addr: String,
    version: u8,
}

impl apiclient_base::ResourceType for BenchServer {
    const SINGULAR: &'static str = "server";
    const PLURAL: &'static str = "servers";
    fn id(&self) -> &str {
        &self.id
    }
}

/// The clients of one run: raw hyper, reqwest, and ours.
#[derive(Clone)]
struct Clients {
    raw: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    reqwest: Option<Peer>,
    service: apiclient_http::ServiceClient,
    typed: apiclient_base::Api<BenchServer>,
    base: BaseClient,
    transport: apiclient_http::HttpService,
    url: String,
}

fn transport() -> apiclient_http::HttpService {
    apiclient_http::HttpService::new(
        apiclient_http::transport::HyperTransport::new(&Default::default()).unwrap(),
    )
}

#[cfg(feature = "reqwest-peer")]
type Peer = reqwest::Client;
#[cfg(not(feature = "reqwest-peer"))]
type Peer = ();

#[cfg(feature = "reqwest-peer")]
fn peer() -> Option<Peer> {
    Some(reqwest::Client::new())
}
#[cfg(not(feature = "reqwest-peer"))]
fn peer() -> Option<Peer> {
    None
}

#[cfg(feature = "reqwest-peer")]
async fn one_reqwest(client: &Peer, url: &str) {
    let body = client
        .get(url)
        .header("x-auth-token", "tok-0")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    std::hint::black_box(v);
}
#[cfg(not(feature = "reqwest-peer"))]
async fn one_reqwest(_client: &Peer, _url: &str) {}

async fn one(variant: Variant, c: &Clients) {
    match variant {
        Variant::Baseline => one_baseline(&c.raw, &c.url).await,
        Variant::TypedBaseline => one_typed_baseline(&c.raw, &c.url).await,
        Variant::Reqwest => one_reqwest(c.reqwest.as_ref().unwrap(), &c.url).await,
        Variant::Service | Variant::Timings | Variant::CurlLog => {
            let v: Value = c
                .service
                .get("/servers/srv-000001")
                .await
                .unwrap()
                .json()
                .unwrap();
            std::hint::black_box(v);
        }
        Variant::Typed => {
            let s = c.typed.get("srv-000001").await.unwrap();
            std::hint::black_box(s);
        }
        Variant::Resource => one_full(&c.base).await,
        Variant::Transport => {
            use tower::ServiceExt;
            let req = http::Request::get(&c.url)
                .header("x-auth-token", "tok-0")
                .header("accept", "application/json")
                .body(apiclient_http::Body::empty())
                .unwrap();
            let r = c.transport.clone().oneshot(req).await.unwrap();
            let body = r.body().as_bytes().cloned().unwrap_or_default();
            std::hint::black_box(serde_json::from_slice::<Value>(&body).unwrap());
        }
    }
}

fn plugin(base: &str) -> V3Password {
    V3Password::new(format!("{base}/v3"), "bench", "pw")
        .user_domain_name("Default")
        .scope(Scope::project_name("bench", "Default"))
}

async fn one_baseline(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    url: &str,
) {
    std::hint::black_box(raw_decoded::<Value>(client, url).await);
}

/// The floor of `Api<T>::get`: raw hyper, the body decoded into the same struct.
async fn one_typed_baseline(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    url: &str,
) {
    #[derive(serde::Deserialize)]
    struct Wrapped {
        server: BenchServer,
    }
    std::hint::black_box(raw_decoded::<Wrapped>(client, url).await.server);
}

/// A GET by raw hyper-util, its body decoded into `T`.
async fn raw_decoded<T: serde::de::DeserializeOwned>(
    client: &hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
    url: &str,
) -> T {
    let req = http::Request::get(url)
        .header("x-auth-token", "tok-0")
        .header("accept", "application/json")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

/// The reference library's path: `Manager::get` → `Resource`.
async fn one_full(client: &BaseClient) {
    let r = apiclient_base::Manager::new(client.clone(), SERVER)
        .get("/servers/srv-000001", Some("server"))
        .await
        .unwrap();
    std::hint::black_box(r);
}

struct Row {
    case: String,
    variant: Variant,
    requests: usize,
    seconds: f64,
    client_cpu_us_per_req: f64,
    /// client CPU µs/request of each counted round
    rounds: Vec<f64>,
    server_cpu_s: f64,
    /// The client CPU µs/request of each round, process by process (case
    /// A runs in several: each lays out its code and heap anew); `rounds`
    /// holds them all, in the same order.
    by_process: Vec<Vec<f64>>,
}

/// What `apiclient --debug` prints, into a sink: the library's events (no
/// spans), the message alone. The curl lines come already redacted and
/// escaped (no control character), so the formatter takes them as they are,
/// as the CLI's writer does.
fn curl_log_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer;
    tracing_subscriber::fmt::layer()
        .without_time()
        .with_target(false)
        .with_level(false)
        .with_ansi(false)
        .with_ansi_sanitization(false)
        .with_writer(std::io::sink)
        .with_filter(tracing_subscriber::filter::FilterFn::new(|m| {
            !m.is_span() && m.target().starts_with("apiclient_http")
        }))
}

type Reload = tracing_subscriber::reload::Handle<
    tracing_subscriber::filter::LevelFilter,
    tracing_subscriber::Registry,
>;

/// One timed run of a variant: (seconds, client CPU seconds, server CPU seconds).
async fn run_variant(
    variant: Variant,
    server: &ServerAt,
    clients: &Clients,
    concurrency: usize,
    per_task: usize,
) -> (f64, f64, f64) {
    let server_pid = server.pid.clone();
    let server_cpu0 = cpu_seconds(&server_pid);
    let cpu0 = cpu_seconds("self");
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let clients = clients.clone();
        tasks.spawn(async move {
            for _ in 0..per_task {
                one(variant, &clients).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    (
        t0.elapsed().as_secs_f64(),
        cpu_seconds("self") - cpu0,
        cpu_seconds(&server_pid) - server_cpu0,
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `q` quantile of `v` (0 ≤ q ≤ 1), linear between the closest ranks
/// (numpy's default).
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The 90% interval of `median(a) / median(b)`: both sides resampled with
/// replacement (a fixed seed, so one run's trials give one interval).
fn ratio_interval(a: &[f64], b: &[f64]) -> [f64; 2] {
    // xorshift64: enough to pick indexes
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut pick = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut resampled_median = |v: &[f64]| median((0..v.len()).map(|_| v[pick(v.len())]).collect());
    let ratios: Vec<f64> = (0..2000)
        .map(|_| resampled_median(a) / resampled_median(b))
        .collect();
    [quantile(ratios.clone(), 0.05), quantile(ratios, 0.95)]
}

/// The interquartile spread of per-round samples: (p75 − p25) / median.
fn spread(v: &[f64]) -> f64 {
    (quantile(v.to_vec(), 0.75) - quantile(v.to_vec(), 0.25)) / quantile(v.to_vec(), 0.5)
}

/// A count of case A, overridable from the environment (for finding the
/// counts that make one run's spread small).
fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Case A: every variant, interleaved rounds (after a warm-up round), medians
/// and the interquartile spread of the rounds reported.
async fn case_a(
    server: &ServerAt,
    reload: &Reload,
    concurrency: usize,
    per_task: usize,
) -> Vec<Row> {
    let base = server.url.clone();
    let url = format!("{base}/v2.1/servers/srv-000001");
    let raw = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    // APICLIENT_BENCH_VARIANTS (e.g. `service,typed`): only these and their
    // baselines, for a quicker comparison of two builds
    let only = std::env::var("APICLIENT_BENCH_VARIANTS").ok();
    let chosen = |v: Variant| match &only {
        None => true,
        Some(list) => {
            let keys: Vec<&str> = list.split(',').map(str::trim).collect();
            v == Variant::Baseline
                || keys.contains(&v.key())
                || (v == Variant::TypedBaseline && keys.contains(&Variant::Typed.key()))
                || (v == Variant::Service && keys.contains(&Variant::CurlLog.key()))
        }
    };
    let variants: Vec<Variant> = VARIANTS
        .into_iter()
        .filter(|v| *v != Variant::Reqwest || peer().is_some())
        .filter(|v| chosen(*v))
        .collect();
    let clients: Vec<(HttpClient, Clients)> = variants
        .iter()
        .map(|v| {
            let http = HttpClient::builder(plugin(&base))
                .timings(*v == Variant::Timings)
                .build()
                .unwrap();
            let service = http.service_client("compute");
            let c = Clients {
                raw: raw.clone(),
                reqwest: peer(),
                typed: apiclient_base::Api::new(service.clone()),
                service,
                base: BaseClient::new(&http, "compute"),
                transport: transport(),
                url: url.clone(),
            };
            (http, c)
        })
        .collect();
    // Interleaved, strided rounds. A run is a sequence of short blocks, each
    // one variant's slice of a round, every variant in turn (the order
    // rotating), so a burst of load on the machine hits every variant alike;
    // and a round's slices lie at evenly spaced times over the whole run, so
    // each round's sample sees the same mix of quiet and busy moments and
    // the spread between rounds is the measurement's own, not the drift of
    // the machine's load (which every variant and round share).
    let rounds = env_count("APICLIENT_BENCH_A_ROUNDS", 7).max(1);
    let slices = env_count("APICLIENT_BENCH_A_SLICES", 24).clamp(1, per_task);
    let per_slice = per_task / slices;
    let per_task = per_slice * slices;
    let select = |variant: Variant| {
        let _ = reload.modify(|f| {
            *f = if variant == Variant::CurlLog {
                tracing_subscriber::filter::LevelFilter::DEBUG
            } else {
                tracing_subscriber::filter::LevelFilter::OFF
            }
        });
    };
    // warm-up, not counted: connections, the token, the endpoint cache, the heap, the caches
    for (i, variant) in variants.iter().enumerate() {
        select(*variant);
        run_variant(*variant, server, &clients[i].1, concurrency, per_slice).await;
    }
    let mut samples = vec![vec![(0.0, 0.0, 0.0); rounds]; variants.len()];
    for slice in 0..slices {
        for j in 0..rounds {
            // the rounds' order rotates too: no round keeps one place in a pass
            let round = (j + slice) % rounds;
            for k in 0..variants.len() {
                let i = (k + slice + j) % variants.len();
                let variant = variants[i];
                select(variant);
                clients[i].0.reset_timings();
                let (s, c, sc) =
                    run_variant(variant, server, &clients[i].1, concurrency, per_slice).await;
                let acc = &mut samples[i][round];
                acc.0 += s;
                acc.1 += c;
                acc.2 += sc;
            }
        }
    }
    let _ = reload.modify(|f| *f = tracing_subscriber::filter::LevelFilter::OFF);
    let n = concurrency * per_task;
    variants
        .iter()
        .zip(samples)
        .map(|(v, s)| {
            let seconds = median(s.iter().map(|x| x.0).collect());
            let rounds: Vec<f64> = s.iter().map(|x| x.1 * 1e6 / n as f64).collect();
            Row {
                case: format!("A: GET ~1 KB resource, {concurrency} task(s)"),
                variant: *v,
                requests: n,
                seconds,
                client_cpu_us_per_req: quantile(rounds.clone(), 0.5),
                by_process: vec![rounds.clone()],
                rounds,
                server_cpu_s: median(s.iter().map(|x| x.2).collect()),
            }
        })
        .collect()
}

/// Case A in this process against `server` (both task counts): its rows,
/// one JSON line each on stdout (`apiclient-bench a-rows <url> <pid>`).
fn case_a_child(url: &str, pid: &str, reload: &Reload) {
    let server = ServerAt {
        url: url.to_string(),
        pid: pid.to_string(),
    };
    let rt = runtime();
    let mut rows = rt.block_on(case_a(
        &server,
        reload,
        1,
        env_count("APICLIENT_BENCH_A_SEQ", 3000),
    ));
    rows.extend(rt.block_on(case_a(
        &server,
        reload,
        64,
        env_count("APICLIENT_BENCH_A_PER_TASK", 300),
    )));
    for r in rows {
        let line = json!({"case": r.case, "variant": r.variant.key(), "requests": r.requests,
            "seconds": r.seconds, "rounds": r.rounds, "server_cpu_s": r.server_cpu_s});
        println!("{line}");
    }
}

/// Case A in `APICLIENT_BENCH_A_PROCESSES` processes (3 by default), one
/// after the other: a process's code and heap layout moves its figures by
/// a few percent for the whole of its run (more than its rounds differ),
/// so each row pools the rounds of every process (its median and spreads
/// are theirs) and keeps each process's median beside them.
fn case_a_processes(server: &ServerProc) -> Vec<Row> {
    let processes = env_count("APICLIENT_BENCH_A_PROCESSES", 3).max(1);
    let at = server.at();
    let mut rows: Vec<Row> = Vec::new();
    for p in 0..processes {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["a-rows", &at.url, &at.pid])
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "case A process {p} failed");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let (Some(case), Some(variant)) = (
                v["case"].as_str(),
                v["variant"].as_str().and_then(Variant::from_key),
            ) else {
                continue;
            };
            let rounds: Vec<f64> = v["rounds"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let seconds = v["seconds"].as_f64().unwrap_or(0.0);
            let server_cpu_s = v["server_cpu_s"].as_f64().unwrap_or(0.0);
            match rows
                .iter_mut()
                .find(|r| r.case == case && r.variant == variant)
            {
                Some(row) => {
                    row.rounds.extend(rounds.iter().copied());
                    row.by_process.push(rounds);
                    // seconds and server CPU: the mean over the processes
                    let k = row.by_process.len() as f64;
                    row.seconds += (seconds - row.seconds) / k;
                    row.server_cpu_s += (server_cpu_s - row.server_cpu_s) / k;
                }
                None => rows.push(Row {
                    case: case.to_string(),
                    variant,
                    requests: v["requests"].as_u64().unwrap_or(0) as usize,
                    seconds,
                    client_cpu_us_per_req: 0.0,
                    rounds: rounds.clone(),
                    server_cpu_s,
                    by_process: vec![rounds],
                }),
            }
        }
    }
    for r in &mut rows {
        r.client_cpu_us_per_req = quantile(r.rounds.clone(), 0.5);
    }
    rows
}

/// Case A's rows: printed as a table and returned as summary rows, each
/// with its ratio and the raw numbers of what it is compared with.
fn a_summary(rows: &[Row]) -> Vec<Value> {
    println!(
        "\n{:<34} {:<46} {:>8} {:>8} {:>7} {:>7} {:>7} {:>8} {:>7} {:>13} {:>9} {:>8}",
        "case",
        "variant",
        "requests",
        "req/s",
        "µs CPU",
        "spread",
        "base µs",
        "vs base",
        "spread",
        "per process",
        "vs reqw.",
        "server s"
    );
    let mut summary = Vec::new();
    for r in rows {
        let find = |v: Variant| rows.iter().find(|x| x.case == r.case && x.variant == v);
        // Api<T>::get against the same decoding on raw hyper; the rest against raw hyper + Value
        let base = find(if r.variant == Variant::Typed {
            Variant::TypedBaseline
        } else {
            Variant::Baseline
        })
        .unwrap();
        // the spread of a variant's rounds within a process (the median
        // over the processes: their levels differ, as the machine's load does)
        let r_spread = median(r.by_process.iter().map(|p| spread(p)).collect());
        // the ratio: the median of the rounds' ratios (a round of a variant
        // and of its baseline ran in the same process, minutes apart at most)
        let ratio_rounds: Vec<f64> = r
            .rounds
            .iter()
            .zip(&base.rounds)
            .map(|(a, b)| a / b)
            .collect();
        let ratio = quantile(ratio_rounds.clone(), 0.5);
        let peer = find(Variant::Reqwest);
        let to_peer = peer.map(|p| r.client_cpu_us_per_req / p.client_cpu_us_per_req);
        let ratio_spread = spread(&ratio_rounds);
        // each process's ratio (of its medians): how far one run can move
        let by_process: Vec<f64> = r
            .by_process
            .iter()
            .zip(&base.by_process)
            .map(|(a, b)| quantile(a.clone(), 0.5) / quantile(b.clone(), 0.5))
            .collect();
        let (lo, hi) = by_process
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        println!(
            "{:<34} {:<46} {:>8} {:>8.0} {:>7.1} {:>6.1}% {:>7.1} {:>7.2}x {:>6.1}% {:>13} {:>9} {:>8.2}",
            r.case,
            r.variant.name(),
            r.requests,
            r.requests as f64 / r.seconds,
            r.client_cpu_us_per_req,
            r_spread * 100.0,
            base.client_cpu_us_per_req,
            ratio,
            ratio_spread * 100.0,
            format!("{lo:.2}–{hi:.2}x"),
            to_peer.map_or("-".to_string(), |p| format!("{p:.2}x")),
            r.server_cpu_s
        );
        let mut row = json!({"case": r.case, "variant": r.variant.name(), "requests": r.requests, "seconds": r.seconds,
            "requests_per_second": r.requests as f64 / r.seconds, "client_cpu_us_per_request": r.client_cpu_us_per_req,
            "client_cpu_spread": r_spread, "client_cpu_us_per_request_by_round": r.rounds,
            "server_cpu_seconds": r.server_cpu_s,
            "baseline": base.variant.name(), "baseline_requests": base.requests, "baseline_seconds": base.seconds,
            "baseline_client_cpu_us_per_request": base.client_cpu_us_per_req,
            "baseline_client_cpu_spread": median(base.by_process.iter().map(|p| spread(p)).collect()),
            "cpu_ratio_to_baseline": ratio,
            "cpu_ratio_spread": ratio_spread,
            "processes": by_process.len(),
            "cpu_ratio_by_process": by_process,
            "client_cpu_us_per_request_by_process": r.by_process.iter().map(|p| quantile(p.clone(), 0.5)).collect::<Vec<_>>(),
            "reqwest_client_cpu_us_per_request": peer.map(|p| p.client_cpu_us_per_req),
            "cpu_ratio_to_reqwest": to_peer});
        if r.variant == Variant::CurlLog {
            let off = find(Variant::Service).unwrap();
            row["log_off_variant"] = json!(off.variant.name());
            row["log_off_requests"] = json!(off.requests);
            row["log_off_seconds"] = json!(off.seconds);
            row["log_off_client_cpu_us_per_request"] = json!(off.client_cpu_us_per_req);
            // the median of the rounds' ratios, as for the baseline
            let to_off: Vec<f64> = r
                .rounds
                .iter()
                .zip(&off.rounds)
                .map(|(a, b)| a / b)
                .collect();
            row["cpu_ratio_to_log_off"] = json!(quantile(to_off, 0.5));
        }
        if let Some((metric, max)) = r.variant.goal() {
            set_goals(&mut row, &[(metric, max)]);
        }
        summary.push(row);
    }
    println!(
        "spread: the interquartile spread of a variant's per-round client CPU/request, (p75 − p25) / median\n\
         (within a process; the median over them); vs base: the median of its per-round ratios to the\n\
         baseline, and their spread; base µs: the baseline's client CPU/request\n\
         (Api<T>::get: the typed baseline's); per process: the lowest and highest ratio of one process's\n\
         medians (case A runs in APICLIENT_BENCH_A_PROCESSES processes, 3 by default; the rounds of all\n\
         of them are pooled)"
    );
    summary
}

/// Sets a summary row's `goal` (each metric, its most, the value measured,
/// whether it is met) and `meets_goal` (all of them).
fn set_goals(row: &mut Value, goals: &[(&str, f64)]) {
    let list: Vec<Value> = goals
        .iter()
        .map(|(metric, max)| {
            let value = row[*metric].as_f64();
            json!({"metric": metric, "max": max, "value": value, "met": value.is_some_and(|v| v <= *max)})
        })
        .collect();
    row["meets_goal"] = json!(list.iter().all(|g| g["met"] == json!(true)));
    row["goal"] = Value::Array(list);
}

/// The goals of issue 24, as the summary rows hold them.
fn goals_table(summary: &[Value]) {
    println!(
        "\ngoals (issue 24)\n{:<44} {:<46} {:<24} {:>8} {:>8} {:>4}",
        "case", "variant", "metric", "value", "goal", "met"
    );
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    for row in summary {
        for g in row["goal"].as_array().into_iter().flatten() {
            println!(
                "{:<44} {:<46} {:<24} {:>8} {:>8} {:>4}",
                cut(row["case"].as_str().unwrap_or(""), 44),
                cut(row["variant"].as_str().unwrap_or("-"), 46),
                g["metric"].as_str().unwrap_or(""),
                g["value"]
                    .as_f64()
                    .map_or("-".to_string(), |v| format!("{v:.3}")),
                format!("≤ {:.2}", g["max"].as_f64().unwrap_or(0.0)),
                if g["met"] == json!(true) { "yes" } else { "NO" }
            );
        }
    }
}

// ------------------------------------------------------------------ case B

async fn case_b(server: &ServerProc) -> Value {
    let base = server.url.clone();
    let raw = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let admin = |path: &str, method: &str| {
        http::Request::builder()
            .method(method)
            .uri(format!("{base}{path}"))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let http = HttpClient::builder(plugin(&base)).build().unwrap();
    let compute = BaseClient::new(&http, "compute");
    one_full(&compute).await;
    raw.request(admin("/admin/revoke", "POST")).await.unwrap();
    raw.request(admin("/admin/reset", "POST")).await.unwrap();
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let c = compute.clone();
        tasks.spawn(async move { c.get("/servers/srv-000001").await.map(|_| ()) });
    }
    let mut failed = 0;
    while let Some(r) = tasks.join_next().await {
        if !matches!(r, Ok(Ok(()))) {
            failed += 1;
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    let stats = raw
        .request(admin("/admin/stats", "GET"))
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    let auths = serde_json::from_slice::<Value>(&stats).unwrap()["auths"].clone();
    json!({"case": "B: 1000 concurrent requests on an invalidated token", "auth_requests": auths, "failed": failed, "seconds": seconds})
}

// ------------------------------------------------------------------ case C (in a child process each)

fn case_c_child(which: &str, base: &str) {
    let rt = runtime();
    rt.block_on(async {
        let http = HttpClient::builder(plugin(base)).build().unwrap();
        let compute = BaseClient::new(&http, "compute");
        one_full(&compute).await;
        let baseline = ALLOCATOR.allocated();
        let mut peak = 0usize;
        let mut retained = 0usize;
        let t0 = Instant::now();
        let count = if which == "lean-page" {
            let (n, kept) = typed_page::<LeanServer>(&http, baseline).await;
            retained = kept;
            n
        } else if which == "typed-page" {
            let (n, kept) = typed_page::<BenchServer>(&http, baseline).await;
            retained = kept;
            n
        } else if which == "dynamic-page" {
            // Api<DynamicResource>: each item a JSON map, no struct
            let api = apiclient_base::Api::dynamic(
                http.service_client("compute"),
                apiclient_base::ResourceInfo::new("server", "servers"),
            );
            let page = api
                .list(&std::collections::BTreeMap::from([
                    ("limit", "100000"),
                    ("total", "100000"),
                ]))
                .await
                .unwrap();
            retained = ALLOCATOR.allocated() - baseline;
            page.len()
        } else if which == "one-page" {
            // the reference library's path: Manager::list → Resources
            let items: Vec<Resource> = apiclient_base::Manager::new(compute.clone(), SERVER)
                .list("/servers?limit=100000&total=100000", Some("servers"), None)
                .await
                .unwrap();
            retained = ALLOCATOR.allocated() - baseline;
            items.len()
        } else {
            let s = paginate(
                compute,
                "/servers?limit=1000&total=100000",
                "servers",
                SERVER,
                PageStyle::Links,
            );
            futures_util::pin_mut!(s);
            let mut n = 0;
            while let Some(r) = s.next().await {
                std::hint::black_box(r.unwrap());
                n += 1;
                peak = peak.max(ALLOCATOR.allocated().saturating_sub(baseline));
            }
            n
        };
        let seconds = t0.elapsed().as_secs_f64();
        // the true peak (the allocator's high-water mark), not a sample
        peak = peak.max(ALLOCATOR.max_allocated().saturating_sub(baseline));
        println!(
            "{}",
            json!({"items": count, "seconds": seconds, "peak_heap_bytes": peak,
            "retained_heap_bytes": retained, "vm_hwm_kb": vm_hwm_kb()})
        );
    });
}

/// The one-page listing decoded into `T` straight from the bytes (no Value
/// in between): how many, and the heap they keep once the body is gone.
async fn typed_page<T: apiclient_base::ResourceType>(
    http: &HttpClient,
    baseline: usize,
) -> (usize, usize) {
    let api = apiclient_base::Api::<T>::new(http.service_client("compute"));
    let page = api
        .list(&std::collections::BTreeMap::from([
            ("limit", "100000"),
            ("total", "100000"),
        ]))
        .await
        .unwrap();
    (page.len(), ALLOCATOR.allocated() - baseline)
}

fn case_c(server: &ServerProc) -> Vec<Value> {
    // the page's JSON size, for the ratio
    let json_bytes = page("limit=100000&total=100000", &server.url).len() as f64;
    ["lean-page", "typed-page", "dynamic-page", "one-page", "paged"]
        .iter()
        .map(|which| {
            let out = Command::new(std::env::current_exe().unwrap())
                .args(["case-c", which, &server.url])
                .output()
                .unwrap();
            let mut v: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&out.stderr)}));
            v["case"] = json!(match *which {
                "lean-page" => "C: 100 000 typed structs (5 fields) from one ~30 MB page (Api::list)",
                "typed-page" => "C: 100 000 typed structs (every field, 2 maps each) from one ~30 MB page (Api::list)",
                "dynamic-page" => "C: 100 000 DynamicResources from one ~30 MB page (Api::dynamic list)",
                "one-page" => "C: 100 000 Resources from one ~30 MB page (Value, reference path)",
                _ => "C: 100 000 Resources as 100 pages of 1 000 (stream)",
            });
            v["json_bytes"] = json!(json_bytes);
            if let Some(peak) = v["peak_heap_bytes"].as_f64() {
                v["peak_heap_to_json_ratio"] = json!(peak / json_bytes);
            }
            if *which == "dynamic-page" {
                // issue 24: a one-page dynamic listing peaks at most at 3x its JSON
                set_goals(&mut v, &[("peak_heap_to_json_ratio", 3.0)]);
            }
            v
        })
        .collect()
}

// ------------------------------------------------------------------ case E

const GIB: u64 = 1024 * 1024 * 1024;
const CHUNK: usize = 1024 * 1024;

/// 1 GiB of generated data in 1 MiB chunks (the same bytes for every variant).
fn gib_stream() -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let block = Bytes::from((0..CHUNK).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    futures_util::stream::iter((0..GIB / CHUNK as u64).map(move |_| Ok(block.clone())))
}

/// A FakeCloud (object store included) in a child process: prints its auth
/// URL, serves until stdin closes.
fn run_cloud() {
    let rt = runtime();
    rt.block_on(async {
        let cloud = apiclient_fake::FakeCloud::start().await.unwrap();
        println!("{}", cloud.auth_url());
        tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await
        .unwrap();
        drop(cloud);
    });
}

/// One variant of case E in this (child) process: upload 1 GiB from a
/// stream, download it into a sink; seconds (wall and CPU) and the peak
/// RSS.
fn case_e_child(which: &str, auth_url: &str) {
    let rt = runtime();
    rt.block_on(async {
        let t = if which == "raw" {
            raw_e(auth_url).await
        } else {
            ours_e(auth_url).await
        };
        println!(
            "{}",
            json!({"upload_seconds": t.upload.wall, "download_seconds": t.download.wall,
                "upload_cpu_seconds": t.upload.cpu, "download_cpu_seconds": t.download.cpu,
                "upload_switches": t.upload.switches, "download_switches": t.download.switches,
                "bytes": t.bytes, "vm_hwm_kb": vm_hwm_kb()})
        );
    });
}

/// A transfer's wall time, this process's CPU time over it (seconds) and
/// its threads' context switches.
#[derive(Clone, Copy)]
struct Took {
    wall: f64,
    cpu: f64,
    switches: u64,
}

/// Times a transfer from now (see [`Clock::took`]).
struct Clock {
    wall: Instant,
    cpu: f64,
    switches: u64,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: cpu_seconds("self"),
            switches: context_switches(),
        }
    }

    fn took(&self) -> Took {
        Took {
            wall: self.wall.elapsed().as_secs_f64(),
            cpu: cpu_seconds("self") - self.cpu,
            switches: context_switches().saturating_sub(self.switches),
        }
    }
}

/// One trial of case E: the upload, the download, the bytes read back.
struct TrialE {
    upload: Took,
    download: Took,
    bytes: u64,
}

async fn ours_e(auth_url: &str) -> TrialE {
    let plugin = V3Password::new(auth_url, "demo", "demopass")
        .user_domain_name("Default")
        .scope(Scope::project_name("demo", "Default"));
    let http = HttpClient::builder(plugin)
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let swift = http.service_client("object-store");
    swift.put("/bench", &json!({})).await.unwrap();
    let t0 = Clock::start();
    swift
        .request(
            apiclient_http::ApiRequest::new(http::Method::PUT, "/bench/ours")
                .body(apiclient_http::Body::from_stream(gib_stream(), Some(GIB))),
        )
        .await
        .unwrap();
    let upload = t0.took();
    let t0 = Clock::start();
    let resp = swift
        .request_streamed(apiclient_http::ApiRequest::get("/bench/ours"))
        .await
        .unwrap();
    let bytes = resp.copy_to(&mut tokio::io::sink()).await.unwrap();
    let download = t0.took();
    // gone, so that the next trial's upload is not a replacement
    swift.delete("/bench/ours").await.unwrap();
    TrialE {
        upload,
        download,
        bytes,
    }
}

async fn raw_e(auth_url: &str) -> TrialE {
    type Raw = hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        apiclient_http::Body,
    >;
    let client: Raw =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "demo",
        "domain": {"id": "default"}, "password": "demopass"}}}, "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}});
    let resp = client
        .request(
            http::Request::post(format!("{auth_url}/auth/tokens"))
                .header("content-type", "application/json")
                .body(apiclient_http::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let token = resp.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string();
    let base = auth_url.trim_end_matches("/v3");
    let container = format!("{base}/v1/AUTH_p-demo/bench");
    // a request with the token
    let authed = |method: http::Method, url: String, body: apiclient_http::Body| {
        http::Request::builder()
            .method(method)
            .uri(url)
            .header("x-auth-token", &token)
            .body(body)
            .unwrap()
    };
    let put = |url: String, body: apiclient_http::Body| authed(http::Method::PUT, url, body);
    client
        .request(put(container.clone(), apiclient_http::Body::empty()))
        .await
        .unwrap();
    let t0 = Clock::start();
    let r = client
        .request(put(
            format!("{container}/raw"),
            apiclient_http::Body::from_stream(gib_stream(), Some(GIB)),
        ))
        .await
        .unwrap();
    r.into_body().collect().await.unwrap();
    let upload = t0.took();
    let t0 = Clock::start();
    let r = client
        .request(authed(
            http::Method::GET,
            format!("{container}/raw"),
            apiclient_http::Body::empty(),
        ))
        .await
        .unwrap();
    let mut body = r.into_body();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            n += data.len() as u64;
        }
    }
    let download = t0.took();
    // gone, so that the next trial's upload is not a replacement
    let gone = client
        .request(authed(
            http::Method::DELETE,
            format!("{container}/raw"),
            apiclient_http::Body::empty(),
        ))
        .await
        .unwrap();
    assert!(gone.status().is_success());
    TrialE {
        upload,
        download,
        bytes: n,
    }
}

fn case_e() -> Vec<Value> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if pinned() {
        let mut c = Command::new("taskset");
        c.arg("-c").arg("1").arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let mut cloud = cmd
        .arg("cloud")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut auth_url = String::new();
    BufReader::new(cloud.stdout.take().unwrap())
        .read_line(&mut auth_url)
        .unwrap();
    let auth_url = auth_url.trim().to_string();
    // 20 trials each, interleaved (each side first in half), each after a
    // 2 s pause, each object deleted after its trial: an upload that
    // replaced the object before it took up to 1.6 times as long
    // (whichever client made it). One 1 GiB transfer's CPU time moves by
    // 7-12% (one standard deviation) from trial to trial on this machine, for
    // either client: most of it is the kernel's copying and waking, as the
    // scheduler happens to place the threads. Sets of 6 to 13 trials of one
    // build read CPU ratios from 0.95 to 1.11; the 90% interval below says
    // how far one run's ratio can be trusted, and the context switches (a
    // count, steadier than time) show whether the stack adds wake-ups.
    let variants = [
        ("raw", "raw hyper-util streaming (baseline)"),
        ("ours", "apiclient stack (auth, retry, timing, log off)"),
    ];
    let mut trials: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    for round in 0..env_count("APICLIENT_BENCH_E_TRIALS", 20).max(1) {
        for k in 0..2 {
            let i = (k + round) % 2;
            std::thread::sleep(Duration::from_secs(2));
            let out = Command::new(&exe)
                .args(["case-e", variants[i].0, &auth_url])
                .output()
                .unwrap();
            trials[i].push(
                serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|_| json!({"error": String::from_utf8_lossy(&out.stderr)})),
            );
        }
    }
    // each measure's samples, by trial
    const MEASURES: [&str; 6] = [
        "upload_seconds",
        "download_seconds",
        "upload_cpu_seconds",
        "download_cpu_seconds",
        "upload_switches",
        "download_switches",
    ];
    let samples = |runs: &[Value], key: &str| -> Vec<f64> {
        runs.iter().filter_map(|r| r[key].as_f64()).collect()
    };
    let complete = |runs: &[Value]| MEASURES.iter().all(|k| !samples(runs, k).is_empty());
    let mut rows = Vec::new();
    for ((_, name), runs) in variants.iter().zip(&trials) {
        let mut v = runs.first().cloned().unwrap_or(Value::Null);
        if !complete(runs) {
            rows.push(v);
            continue;
        }
        v["case"] = json!("E: 1 GiB upload (one-shot stream) and download (streamed)");
        v["variant"] = json!(name);
        for key in MEASURES {
            let by_trial = samples(runs, key);
            v[key] = json!(median(by_trial.clone()));
            v[format!("{key}_by_trial")] = json!(by_trial);
        }
        // the peak over the trials
        v["peak_rss_mib"] =
            json!(samples(runs, "vm_hwm_kb").into_iter().fold(0.0, f64::max) / 1024.0);
        rows.push(v);
    }
    if complete(&trials[0]) && complete(&trials[1]) {
        let (raw, ours) = (&trials[0], &trials[1]);
        let base = rows[0].clone();
        let v = &mut rows[1];
        v["baseline"] = json!("raw hyper-util streaming (baseline)");
        for (key, ratio) in [
            ("upload_seconds", "upload_time_ratio"),
            ("download_seconds", "download_time_ratio"),
            ("upload_cpu_seconds", "upload_cpu_ratio"),
            ("download_cpu_seconds", "download_cpu_ratio"),
            ("upload_switches", "upload_switches_ratio"),
            ("download_switches", "download_switches_ratio"),
        ] {
            let (o, r) = (samples(ours, key), samples(raw, key));
            v[format!("baseline_{key}")] = base[key].clone();
            v[ratio] = json!(median(o.clone()) / median(r.clone()));
            v[format!("{ratio}_90")] = json!(ratio_interval(&o, &r));
        }
        v["baseline_peak_rss_mib"] = base["peak_rss_mib"].clone();
        let rss = |row: &Value| row["peak_rss_mib"].as_f64().unwrap_or(f64::NAN);
        v["peak_rss_ratio"] = json!(rss(v) / rss(&base));
        set_goals(
            v,
            &[
                ("upload_time_ratio", 1.05),
                ("download_time_ratio", 1.05),
                ("upload_cpu_ratio", 1.05),
                ("download_cpu_ratio", 1.05),
                ("peak_rss_mib", 64.0),
            ],
        );
    }
    drop(cloud.stdin.take());
    let _ = cloud.wait();
    rows
}

// ------------------------------------------------------------------ case D

async fn case_d() -> Value {
    let cloud = apiclient_fake::FakeCloud::start().await.unwrap();
    let exe = std::env::current_exe().unwrap();
    let cli = exe.with_file_name("apiclient");
    if !cli.exists() {
        return json!({"case": "D: apiclient token issue (cold)", "error": format!("{} not built", cli.display())});
    }
    // GNU time measures the child's peak RSS from a process of ~1 MB. python3
    // (the fallback) forks itself first, so its ~14 MB footprint is counted as
    // the child's peak (an upper bound, not the CLI's own).
    if std::path::Path::new("/usr/bin/time").exists() {
        let mut runs = Vec::new();
        for _ in 0..5 {
            let mut cmd = Command::new("/usr/bin/time");
            cmd.args(["-f", "%e %M"])
                .arg(&cli)
                .args(["token", "issue", "-f", "json"])
                .env("OS_AUTH_URL", cloud.auth_url())
                .env("OS_USERNAME", "demo")
                .env("OS_PASSWORD", "demopass")
                .env("OS_PROJECT_NAME", "demo")
                .stdout(Stdio::null());
            let t0 = Instant::now();
            let out = tokio::task::spawn_blocking(move || cmd.output())
                .await
                .unwrap()
                .unwrap();
            let seconds = t0.elapsed().as_secs_f64();
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            let f: Vec<f64> = err
                .lines()
                .last()
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if !out.status.success() || f.len() != 2 {
                return json!({"case": "D: apiclient token issue against FakeCloud", "error": err});
            }
            runs.push((seconds, f[1]));
        }
        let peak = runs.iter().map(|r| r.1).fold(0.0, f64::max);
        let mean = runs.iter().map(|r| r.0).sum::<f64>() / runs.len() as f64;
        return json!({"case": "D: apiclient token issue against FakeCloud", "measured_by": "/usr/bin/time",
            "mean_seconds_of_5": mean, "peak_rss_kb": peak, "peak_rss_mib": peak / 1024.0,
            "target_mib": 10.0});
    }
    // python3 measures the child's wall time and peak RSS (getrusage of children).
    let script = "import resource, subprocess, sys, time\n\
        t = time.time()\n\
        r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n\
        print(time.time() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n\
        sys.stderr.write(r.stderr.decode(errors='replace'))\n";
    let mut runs = Vec::new();
    for _ in 0..5 {
        let mut cmd = Command::new("python3");
        cmd.args(["-c", script])
            .arg(&cli)
            .args(["token", "issue", "-f", "json"])
            .env("OS_AUTH_URL", cloud.auth_url())
            .env("OS_USERNAME", "demo")
            .env("OS_PASSWORD", "demopass")
            .env("OS_PROJECT_NAME", "demo");
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let f: Vec<f64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() == 3 && f[2] == 0.0 {
            runs.push((f[0], f[1]));
        } else {
            return json!({"case": "D: apiclient token issue against FakeCloud", "error": String::from_utf8_lossy(&out.stderr)});
        }
    }
    let (first_s, first_kb) = runs.first().copied().unwrap_or_default();
    let mean = runs.iter().map(|r| r.0).sum::<f64>() / runs.len().max(1) as f64;
    json!({"case": "D: apiclient token issue against FakeCloud", "first_run_seconds": first_s, "mean_seconds_of_5": mean, "peak_rss_kb": first_kb})
}

// ------------------------------------------------------------------ micro (diagnostic)

/// The stack's own CPU per request over an in-memory transport, for finding
/// where time goes (`apiclient-bench micro`); not part of the report.
fn micro(only: Option<&str>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let body = Bytes::from(json!({"server": {"id": "srv-000001", "name": "x"}}).to_string());
        let b2 = body.clone();
        let canned = apiclient_http::HttpService::new(tower::service_fn(
            move |_r: http::Request<apiclient_http::Body>| {
                let b = b2.clone();
                async move {
                    Ok::<_, apiclient_errors::BoxError>(
                        http::Response::builder()
                            .header("x-openstack-request-id", "req-1")
                            .body(apiclient_http::Body::from(b))
                            .unwrap(),
                    )
                }
            },
        ));
        let http = HttpClient::builder(AdminToken::new("http://svc/v2.1", "tok"))
            .base_transport(canned.clone())
            .build()
            .unwrap();
        let compute = BaseClient::new(&http, "compute");
        let n = 200_000;
        for (name, which) in [
            ("raw service_fn", 0),
            ("HttpService only", 1),
            ("full stack", 2),
        ] {
            if only.is_some_and(|o| o != "full" || which != 2) {
                continue;
            }
            let t0 = Instant::now();
            for _ in 0..n {
                match which {
                    0 | 1 => {
                        use tower::ServiceExt;
                        let svc = if which == 0 {
                            canned.clone()
                        } else {
                            http.service()
                        };
                        let req = http::Request::get("http://svc/v2.1/servers/1")
                            .body(apiclient_http::Body::empty())
                            .unwrap();
                        let r = svc.oneshot(req).await.unwrap();
                        let body = r.body().as_bytes().cloned().unwrap_or_default();
                        std::hint::black_box(serde_json::from_slice::<Value>(&body).unwrap());
                    }
                    _ => {
                        let v: Value = compute.get("/servers/1").await.unwrap().json().unwrap();
                        std::hint::black_box(v);
                    }
                }
            }
            println!(
                "{name:<20} {:>8.0} ns/request",
                t0.elapsed().as_nanos() as f64 / n as f64
            );
        }
    });
}

/// A file read whole as an upload body reads it (`apiclient-bench file
/// [MiB]`, on /dev/shm): `Body::from_file` against tokio's `File` through a
/// 1 MiB `ReaderStream` (what `from_file` did before) and a plain blocking
/// read loop (the floor); client CPU and wall time per GiB, interleaved
/// rounds; diagnostic.
fn file_diag(mib: u64) {
    use http_body_util::BodyExt;
    let path = std::path::Path::new("/dev/shm/apiclient-bench-file");
    {
        let mut f = std::fs::File::create(path).unwrap();
        let block = vec![0x5au8; 1 << 20];
        for _ in 0..mib {
            std::io::Write::write_all(&mut f, &block).unwrap();
        }
    }
    let rt = runtime();
    let per_gib = |s: f64| s * 1024.0 / mib as f64;
    let mut rows: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("Body::from_file", vec![], vec![]),
        ("tokio File + ReaderStream 1 MiB", vec![], vec![]),
        ("std read loop 1 MiB (floor)", vec![], vec![]),
    ];
    for _round in 0..5 {
        for (i, row) in rows.iter_mut().enumerate() {
            let (c0, t0) = (cpu_seconds("self"), Instant::now());
            let n: u64 = rt.block_on(async {
                match i {
                    0 => {
                        let mut body = apiclient_http::Body::from_file(path).await.unwrap();
                        let mut n = 0;
                        while let Some(f) = body.frame().await {
                            n += f.unwrap().into_data().map_or(0, |d| d.len() as u64);
                        }
                        n
                    }
                    1 => {
                        let f = tokio::fs::File::open(path).await.unwrap();
                        let mut s = tokio_util::io::ReaderStream::with_capacity(f, 1 << 20);
                        let mut n = 0;
                        while let Some(b) = s.next().await {
                            n += b.unwrap().len() as u64;
                        }
                        n
                    }
                    _ => tokio::task::spawn_blocking(move || {
                        let mut f = std::fs::File::open(path).unwrap();
                        let mut buf = vec![0u8; 1 << 20];
                        let mut n = 0;
                        loop {
                            let k = std::io::Read::read(&mut f, &mut buf).unwrap();
                            if k == 0 {
                                break n;
                            }
                            n += k as u64;
                        }
                    })
                    .await
                    .unwrap(),
                }
            });
            assert_eq!(n, mib << 20);
            row.1.push(per_gib(cpu_seconds("self") - c0));
            row.2.push(per_gib(t0.elapsed().as_secs_f64()));
        }
    }
    let _ = std::fs::remove_file(path);
    println!("reading a {mib} MiB file on /dev/shm, median of 5 rounds, per GiB");
    for (name, cpu, wall) in &rows {
        println!(
            "{name:34} cpu {:6.3} s  wall {:6.3} s",
            median(cpu.clone()),
            median(wall.clone())
        );
    }
}

/// Raw hyper-util against `HyperTransport` on loopback (`apiclient-bench transport`); diagnostic.
fn transport_diag() {
    let server = spawn_server();
    let rt = runtime();
    rt.block_on(async {
        use tower::ServiceExt;
        let url = format!("{}/v2.1/servers/srv-000001", server.url);
        let raw = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Full<Bytes>>();
        let ours = apiclient_http::HttpService::new(
            apiclient_http::transport::HyperTransport::new(&Default::default()).unwrap(),
        );
        let mut results: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        for _round in 0..7 {
            for which in ["raw", "raw + timeout timer", "HyperTransport"] {
                let cpu0 = cpu_seconds("self");
                let n = 6000;
                for _ in 0..n {
                    match which {
                        "raw" => one_baseline(&raw, &url).await,
                        "raw + timeout timer" => {
                            tokio::time::timeout(Duration::from_secs(60), one_baseline(&raw, &url))
                                .await
                                .unwrap()
                        }
                        _ => {
                            let req = http::Request::get(&url)
                                .header("x-auth-token", "tok-0")
                                .body(apiclient_http::Body::empty())
                                .unwrap();
                            let r = ours.clone().oneshot(req).await.unwrap();
                            let body = r.body().as_bytes().cloned().unwrap_or_default();
                            std::hint::black_box(serde_json::from_slice::<Value>(&body).unwrap());
                        }
                    }
                }
                results
                    .entry(which)
                    .or_default()
                    .push((cpu_seconds("self") - cpu0) * 1e6 / n as f64);
            }
        }
        for (k, v) in results {
            println!(
                "{k:<22} median {:>6.1} µs CPU/request  {v:.0?}",
                median(v.clone())
            );
        }
    });
}

/// One variant of case A in a loop, for `perf record` (`apiclient-bench
/// profile full|baseline`); diagnostic, not part of the report.
fn profile(which: &str) {
    let server = spawn_server();
    let rt = runtime();
    let (variant, tasks) = match which {
        "baseline" => (Variant::Baseline, 1),
        "baseline64" => (Variant::Baseline, 64),
        "full64" => (Variant::Service, 64),
        "typed" => (Variant::Typed, 1),
        "typed64" => (Variant::Typed, 64),
        "typed-baseline" => (Variant::TypedBaseline, 1),
        "typed-baseline64" => (Variant::TypedBaseline, 64),
        "resource" => (Variant::Resource, 1),
        "transport64" => (Variant::Transport, 64),
        "transport" => (Variant::Transport, 1),
        "curl" => (Variant::CurlLog, 1),
        _ => (Variant::Service, 1),
    };
    rt.block_on(async {
        let url = format!("{}/v2.1/servers/srv-000001", server.url);
        let http = HttpClient::builder(plugin(&server.url)).build().unwrap();
        let service = http.service_client("compute");
        let clients = Clients {
            raw: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>(),
            reqwest: peer(),
            typed: apiclient_base::Api::new(service.clone()),
            service,
            base: BaseClient::new(&http, "compute"),
            transport: transport(),
            url,
        };
        if variant == Variant::CurlLog {
            use tracing_subscriber::layer::SubscriberExt;
            let subscriber = tracing_subscriber::registry()
                .with(tracing_subscriber::filter::LevelFilter::DEBUG)
                .with(curl_log_layer());
            let _ = tracing::subscriber::set_global_default(subscriber);
        }
        // APICLIENT_BENCH_N: the requests in all (fewer under callgrind)
        let total: usize = std::env::var("APICLIENT_BENCH_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(40_000);
        let n = (total / tasks).max(1);
        let t0 = Instant::now();
        let cpu0 = cpu_seconds("self");
        let split0 = user_system_seconds();
        run_variant(variant, &server.at(), &clients, tasks, n).await;
        let split1 = user_system_seconds();
        let per = |s: f64| s * 1e6 / (n * tasks) as f64;
        println!(
            "{which}: {:.1} µs CPU/request ({:.1} user, {:.1} system), {:.1} µs wall",
            per(cpu_seconds("self") - cpu0),
            per(split1.0 - split0.0),
            per(split1.1 - split0.1),
            per(t0.elapsed().as_secs_f64())
        );
    });
}

// ------------------------------------------------------------------ main

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("micro") => return micro(args.get(1).map(String::as_str)),
        Some("transport") => return transport_diag(),
        Some("file") => {
            return file_diag(args.get(1).and_then(|m| m.parse().ok()).unwrap_or(1024));
        }
        Some("server") => return run_server(),
        Some("case-c") => {
            ALLOCATOR.count();
            return case_c_child(&args[1], &args[2]);
        }
        Some("case-e") => return case_e_child(&args[1], &args[2]),
        Some("case-f") => {
            ALLOCATOR.count();
            return scale::child(&args[1..]);
        }
        Some("cloud") => return run_cloud(),
        Some("profile") => return profile(args.get(1).map(String::as_str).unwrap_or("full")),
        Some("c") => {
            for v in case_c(&spawn_server()) {
                println!("{}", serde_json::to_string_pretty(&v).unwrap());
            }
            return;
        }
        Some("d") => {
            let rt = runtime();
            println!(
                "{}",
                serde_json::to_string_pretty(&rt.block_on(case_d())).unwrap()
            );
            return;
        }
        _ => {}
    }
    // Pin: the measured client on core 0, the server on core 1, so the
    // scheduler does not mix their work (re-exec under taskset once).
    if !pinned() && Command::new("taskset").arg("-V").output().is_ok() {
        // case F holds 10 000 connections: the soft descriptor limit raised to
        // the hard one (prlimit; the children inherit it)
        let (soft, hard) = scale::nofile();
        let mut cmd = if soft < hard && Command::new("prlimit").arg("-V").output().is_ok() {
            let mut c = Command::new("prlimit");
            c.arg(format!("--nofile={hard}:{hard}")).arg("taskset");
            c
        } else {
            Command::new("taskset")
        };
        let status = cmd
            .arg("-c")
            .arg("0")
            .arg(std::env::current_exe().unwrap())
            .args(&args)
            .env("APICLIENT_BENCH_PINNED", "1")
            .status()
            .unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
    let (filter, reload) =
        tracing_subscriber::reload::Layer::new(tracing_subscriber::filter::LevelFilter::OFF);
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(curl_log_layer());
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // `apiclient-bench f`: case F alone (printed, summary.json untouched)
    if args.first().map(String::as_str) == Some("f") {
        let f = scale::case_f();
        scale::print(&f);
        goals_table(&f);
        return;
    }
    // `apiclient-bench e`: case E alone (printed, summary.json untouched)
    if args.first().map(String::as_str) == Some("e") {
        for v in case_e() {
            println!("{}", serde_json::to_string_pretty(&v).unwrap());
        }
        return;
    }
    // `apiclient-bench a-rows <url> <pid>`: case A in this process (one of
    // the processes `case_a_processes` runs), its rows as JSON lines
    if args.first().map(String::as_str) == Some("a-rows") {
        let (Some(url), Some(pid)) = (args.get(1), args.get(2)) else {
            eprintln!("usage: apiclient-bench a-rows <server url> <server pid>");
            std::process::exit(2);
        };
        return case_a_child(url, pid, &reload);
    }
    let server = spawn_server();
    let rt = runtime();
    let t0 = Instant::now();
    let rows = case_a_processes(&server);
    println!("case A: {:.0} s", t0.elapsed().as_secs_f64());
    // `apiclient-bench a`: case A only (for iterating on the request path)
    let only_a = args.first().map(String::as_str) == Some("a");
    let (b, c, d, e, f) = if only_a {
        (
            json!({"case": "B: skipped"}),
            Vec::new(),
            json!({"case": "D: skipped"}),
            Vec::new(),
            Vec::new(),
        )
    } else {
        (
            rt.block_on(case_b(&server)),
            case_c(&server),
            rt.block_on(case_d()),
            case_e(),
            scale::case_f(),
        )
    };

    let mut summary = a_summary(&rows);
    println!("\n{}", serde_json::to_string_pretty(&b).unwrap());
    for v in &c {
        println!("{}", serde_json::to_string_pretty(v).unwrap());
    }
    println!("{}", serde_json::to_string_pretty(&d).unwrap());
    for v in &e {
        println!("{}", serde_json::to_string_pretty(v).unwrap());
    }
    scale::print(&f);
    summary.push(b);
    summary.extend(c);
    summary.push(d);
    summary.extend(e);
    summary.extend(f);
    goals_table(&summary);
    // target/bench of the workspace, or of CARGO_TARGET_DIR when it is set
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
            std::path::PathBuf::from,
        )
        .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&Value::Array(summary)).unwrap(),
    )
    .unwrap();
    println!("\nwrote {}", dir.join("summary.json").display());
}
