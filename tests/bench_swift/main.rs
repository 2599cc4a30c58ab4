//! `cargo xtask bench swift`: the whole apiclient stack against curl, for the
//! same 1 GiB object, against the real Swift behind the real Keystone.
//!
//! The client's configuration is the `OS_*` environment of that Keystone
//! (`eval "$(cargo xtask keystone env)"`): a `V3Password` client finds the
//! `object-store` endpoint in the catalog, creates a container of its own,
//! and then, in interleaved rounds (curl first in even rounds, ours first
//! in odd ones), uploads one generated file on tmpfs (`/dev/shm`, else
//! `/tmp`) as `obj-curl-<round>` with `curl -T` and as `obj-ours-<round>`
//! with a re-openable file body (new objects each round: no upload replaces
//! an object just read), and downloads each into a sink (`curl -o /dev/null`, ours
//! `request_streamed` copied into `tokio::io::sink`). Curl gets the
//! client's token on its standard input (`-H @-`), never on its command
//! line. Wall time and CPU time of each transfer are kept; the medians give
//! the ratios ours/curl, compared with the goal (1.10). The objects, the
//! container and the file are removed afterwards, failed or not (a panic
//! included); those of an earlier run that was killed first are removed
//! at the start.
//!
//! Results: a JSON object on stdout and in `target/bench/swift.json`.
//! Nothing is asserted: a slow ratio is reported, never an error.
//! Exit status: 0 measured; 1 the client (apiclient) returned an error,
//! stored other bytes than curl or panicked;
//! 2 bad usage; 3 the measurement could not be made (no `OS_*`
//! environment, no curl, curl failed, a transfer timed out, a local file).
//!
//! `apiclient-bench-swift [--rounds N] [--size-mib N] [--budget-s N]
//! [--settle-s N]` (4 rounds of 1024 MiB, so each client goes first as
//! often as second; a pause of 2 s before each transfer, as a transfer that
//! starts while Swift still finishes the last one was seen to take up to
//! twice as long; no transfer goes on past the budget, 900 s from the
//! start: a measurement failure).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use apiclient_auth::ExposeSecret;
use apiclient_auth::typed::{Scope, V3Password};
use apiclient_http::{ApiRequest, Body, HttpClient, ServiceClient};
use serde_json::{Value, json};

const MIB: u64 = 1024 * 1024;
const GOAL: f64 = 1.10;
/// The longest one transfer may take (curl's `--max-time`, our outer
/// bound), less when the budget has less left.
const TRANSFER_LIMIT: Duration = Duration::from_secs(600);
/// The longest a small request (auth, container, HEAD, DELETE) may take.
const SMALL_LIMIT: Duration = Duration::from_secs(60);

/// Why there are no numbers.
enum Failure {
    /// apiclient itself returned an error: CI fails on it.
    Client(String),
    /// Anything else (environment, curl, local files, a timeout).
    Measurement(String),
}

impl Failure {
    fn message(&self) -> &str {
        match self {
            Failure::Client(m) | Failure::Measurement(m) => m,
        }
    }
}

type Outcome<T> = Result<T, Failure>;

fn measurement(what: impl Into<String>) -> Failure {
    Failure::Measurement(what.into())
}

fn client_error(what: &str, e: apiclient_errors::Error) -> Failure {
    Failure::Client(format!("{what}: {e}"))
}

struct Options {
    rounds: usize,
    size: u64,
    /// The pause before each transfer (`--settle-s`): Swift's servers were
    /// seen to take up to twice as long for a transfer that started as the
    /// last one ended, whichever client made it.
    settle: Duration,
    /// No transfer starts or goes on past it (`--budget-s`, from the start).
    deadline: Instant,
}

impl Options {
    /// The time the next transfer may take: `TRANSFER_LIMIT` or what is
    /// left of the budget.
    fn transfer_limit(&self) -> Outcome<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_secs(1) {
            return Err(measurement("the time budget (--budget-s) ran out"));
        }
        Ok(left.min(TRANSFER_LIMIT))
    }
}

fn options() -> Result<Options, String> {
    let start = Instant::now();
    let mut o = Options {
        rounds: 4,
        size: 1024 * MIB,
        settle: Duration::from_secs(2),
        deadline: start + Duration::from_secs(900),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name} takes a positive number"))
        };
        match a.as_str() {
            "--rounds" => o.rounds = number("--rounds")? as usize,
            "--size-mib" => o.size = number("--size-mib")? * MIB,
            "--budget-s" => o.deadline = start + Duration::from_secs(number("--budget-s")?),
            "--settle-s" => o.settle = Duration::from_secs(number("--settle-s")?),
            other => {
                return Err(format!(
                    "unknown argument {other:?}\nusage: apiclient-bench-swift [--rounds N] [--size-mib N] [--budget-s N] [--settle-s N]"
                ));
            }
        }
    }
    Ok(o)
}

// ------------------------------------------------------------------ process stats

/// Fields of /proc/self/stat after the command name, in seconds (USER_HZ
/// is 100 on Linux): (utime + stime, cutime + cstime), i.e. this process's
/// CPU (every thread, live or gone) and that of its waited-for children.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    // after ")": state is field 3, so utime (14) is index 11, stime 12,
    // cutime 13, cstime 14
    (at(11) + at(12), at(13) + at(14))
}

// ------------------------------------------------------------------ the data

/// `size` bytes of pseudo-random data (incompressible, each 1 MiB block
/// stamped with its index) written to `path`.
fn write_file(path: &Path, size: u64) -> std::io::Result<()> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; MIB as usize];
    for chunk in block.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes());
    }
    let mut f = std::fs::File::create(path)?;
    let mut written = 0u64;
    let mut i = 0u64;
    while written < size {
        block[..8].copy_from_slice(&i.to_le_bytes());
        let n = (size - written).min(MIB) as usize;
        f.write_all(&block[..n])?;
        written += n as u64;
        i += 1;
    }
    f.sync_all()
}

/// What each run names after itself: its file, its container.
const PREFIX: &str = "apiclient-bench-swift-";

/// tmpfs keeps the disk out of the measurement.
fn data_path() -> PathBuf {
    let dir = Path::new("/dev/shm");
    let dir = if dir.is_dir() { dir } else { Path::new("/tmp") };
    dir.join(format!("{PREFIX}{}.bin", std::process::id()))
}

/// Whether `name` (`PREFIX<pid>...`) belongs to a run whose process is
/// gone: one killed before its cleanup.
fn left_behind(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.split(['-', '.']).next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| {
            pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists()
        })
}

/// The files and containers (with their objects) of earlier runs that were
/// killed before their cleanup: a gibibyte each, in RAM. Errors ignored.
fn sweep(rt: &tokio::runtime::Runtime, swift: &ServiceClient) {
    for dir in ["/dev/shm", "/tmp"] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".bin") && left_behind(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let listing = ApiRequest::get("")
        .query("format", "json")
        .query("prefix", PREFIX);
    let Ok(resp) = bounded(
        rt,
        "listing containers",
        SMALL_LIMIT,
        swift.request(listing),
    ) else {
        return;
    };
    let names: Vec<String> = serde_json::from_slice::<Vec<Value>>(resp.body())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.get("name")?.as_str().map(str::to_string))
        .filter(|n| left_behind(n))
        .collect();
    for c in names {
        eprintln!("bench swift: removing {c}, left behind by a killed run");
        remove_container(rt, swift, &c);
    }
}

/// The container's objects (as it lists them), then the container; a 404
/// is no news.
fn remove_container(rt: &tokio::runtime::Runtime, swift: &ServiceClient, container: &str) {
    let listing = ApiRequest::get(format!("/{container}")).query("format", "json");
    let objects: Vec<String> = bounded(rt, "listing objects", SMALL_LIMIT, swift.request(listing))
        .map(|resp| {
            serde_json::from_slice::<Vec<Value>>(resp.body())
                .unwrap_or_default()
                .iter()
                .filter_map(|o| o.get("name")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let paths = objects
        .iter()
        .map(|o| format!("/{container}/{o}"))
        .chain([format!("/{container}")]);
    for path in paths {
        remove(rt, swift, &path);
    }
}

/// DELETE `path`; a 404 is no news.
fn remove(rt: &tokio::runtime::Runtime, swift: &ServiceClient, path: &str) {
    if let Err(f) = bounded(rt, "cleanup", SMALL_LIMIT, swift.delete(path))
        && !f.message().contains("404")
    {
        eprintln!("bench swift: cleanup of {path}: {}", f.message());
    }
}

// ------------------------------------------------------------------ the client

/// Whether something accepts TCP connections at the host and port of
/// `url` (a service that is not running is no client error).
fn reachable(url: &str) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
    let addr = if has_port {
        authority.to_string()
    } else {
        let port = if scheme.eq_ignore_ascii_case("https") {
            443
        } else {
            80
        };
        format!("{authority}:{port}")
    };
    addr.to_socket_addrs()
        .into_iter()
        .flatten()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(3)).is_ok())
}

fn env(name: &str) -> Outcome<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            measurement(format!(
                "{name} is not set (eval \"$(cargo xtask keystone env)\")"
            ))
        })
}

fn client() -> Outcome<HttpClient> {
    let or_default = |name: &str| env(name).unwrap_or_else(|_| "Default".to_string());
    let auth_url = env("OS_AUTH_URL")?;
    if !reachable(&auth_url) {
        return Err(measurement(format!(
            "Keystone at {auth_url} does not answer (KS_CACHE=0 bash scripts/keystone/run.sh start)"
        )));
    }
    let plugin = V3Password::new(auth_url, &env("OS_USERNAME")?, &env("OS_PASSWORD")?)
        .user_domain_name(&or_default("OS_USER_DOMAIN_NAME"))
        .scope(Scope::project_name(
            &env("OS_PROJECT_NAME")?,
            or_default("OS_PROJECT_DOMAIN_NAME"),
        ));
    HttpClient::builder(plugin)
        .region_name(
            std::env::var("OS_REGION_NAME")
                .ok()
                .filter(|r| !r.is_empty()),
        )
        .connect_timeout(Duration::from_secs(10))
        // an upload's attempt fails after this long without progress; a
        // streamed download's read after 60 s without data
        .timeout(Duration::from_secs(120))
        .operation_timeout(TRANSFER_LIMIT)
        .build()
        .map_err(|e| client_error("building the client", e))
}

/// `fut`, bounded by `limit` (past it: a measurement failure).
fn bounded<T>(
    rt: &tokio::runtime::Runtime,
    what: &str,
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, apiclient_errors::Error>>,
) -> Outcome<T> {
    match rt.block_on(async { tokio::time::timeout(limit, fut).await }) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(client_error(what, e)),
        Err(_) => Err(measurement(format!("{what}: no answer within {limit:?}"))),
    }
}

/// One transfer: wall seconds, CPU seconds, bytes moved.
#[derive(Clone, Copy)]
struct Sample {
    wall: f64,
    cpu: f64,
    bytes: u64,
}

fn ours_upload(
    rt: &tokio::runtime::Runtime,
    swift: &ServiceClient,
    path: &Path,
    object: &str,
    limit: Duration,
) -> Outcome<Sample> {
    let (c0, _) = cpu_seconds();
    let t0 = Instant::now();
    let resp = bounded(rt, "our upload", limit, async {
        let body = Body::from_file(path)
            .await
            .map_err(|source| apiclient_errors::Error::Io {
                operation: "read",
                path: Some(path.to_path_buf()),
                source,
            })?;
        swift.request(ApiRequest::put(object).body(body)).await
    })?;
    let wall = t0.elapsed().as_secs_f64();
    let (c1, _) = cpu_seconds();
    if resp.status().as_u16() != 201 {
        return Err(Failure::Client(format!(
            "our upload: {} instead of 201",
            resp.status()
        )));
    }
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    Ok(Sample {
        wall,
        cpu: c1 - c0,
        bytes,
    })
}

fn ours_download(
    rt: &tokio::runtime::Runtime,
    swift: &ServiceClient,
    object: &str,
    limit: Duration,
) -> Outcome<Sample> {
    let (c0, _) = cpu_seconds();
    let t0 = Instant::now();
    let bytes = bounded(rt, "our download", limit, async {
        let resp = swift.request_streamed(ApiRequest::get(object)).await?;
        resp.copy_to(&mut tokio::io::sink()).await
    })?;
    let wall = t0.elapsed().as_secs_f64();
    let (c1, _) = cpu_seconds();
    Ok(Sample {
        wall,
        cpu: c1 - c0,
        bytes,
    })
}

// ------------------------------------------------------------------ curl

/// `curl --version`'s first line, or why there is none.
fn curl_version() -> Outcome<String> {
    let out = Command::new("curl")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            measurement(format!(
                "curl is not available ({e}); CI installs nothing from apt, and the Swift script needs curl too"
            ))
        })?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("curl")
        .split(" (")
        .next()
        .unwrap_or("curl")
        .to_string())
}

/// Runs curl with the token on its standard input (`-H @-`), bounded by
/// `limit` (curl's `--max-time`, and a kill a little after it).
/// `-w '%{http_code} %{size}'` tells the status and the bytes moved.
fn curl(token: &str, args: &[&str], size_var: &str, want: u16, limit: Duration) -> Outcome<Sample> {
    let max_time = format!("{:.1}", limit.as_secs_f64());
    let write_out = format!("%{{http_code}} %{{{size_var}}}");
    let (_, c0) = cpu_seconds();
    let t0 = Instant::now();
    let mut child = Command::new("curl")
        .args(["-sS", "--connect-timeout", "10", "--max-time", &max_time])
        .args(["-H", "@-", "-w", &write_out])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| measurement(format!("cannot run curl: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // curl reads its header file before it connects
        let _ = writeln!(stdin, "X-Auth-Token: {token}");
    }
    let deadline = t0 + limit + Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(measurement("curl did not finish in time; killed"));
            }
            Err(e) => return Err(measurement(format!("cannot wait for curl: {e}"))),
        }
    };
    let wall = t0.elapsed().as_secs_f64();
    let (_, c1) = cpu_seconds();
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let mut words = out.split_whitespace();
    let code: u16 = words.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let bytes: u64 = words
        .next()
        .and_then(|c| c.parse::<f64>().ok())
        .map_or(0, |b| b as u64);
    if !status.success() || code != want {
        return Err(measurement(format!(
            "curl {}: exit {status}, HTTP {code}: {}",
            args.first().copied().unwrap_or(""),
            err.trim()
        )));
    }
    Ok(Sample {
        wall,
        cpu: c1 - c0,
        bytes,
    })
}

// ------------------------------------------------------------------ the bench

#[derive(Default)]
struct Series {
    curl: Vec<Sample>,
    ours: Vec<Sample>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn round3(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

impl Series {
    /// ours/curl of the median wall times.
    fn ratio(&self) -> f64 {
        let wall = |s: &[Sample]| median(&s.iter().map(|s| s.wall).collect::<Vec<_>>());
        wall(&self.ours) / wall(&self.curl)
    }

    fn report(&self, size: u64) -> Value {
        let side = |s: &[Sample]| {
            let wall: Vec<f64> = s.iter().map(|s| s.wall).collect();
            let cpu: Vec<f64> = s.iter().map(|s| s.cpu).collect();
            let m = median(&wall);
            json!({
                "wall_s": wall.iter().map(|w| round3(*w)).collect::<Vec<_>>(),
                "cpu_s": cpu.iter().map(|c| round3(*c)).collect::<Vec<_>>(),
                "median_wall_s": round3(m),
                "median_cpu_s": round3(median(&cpu)),
                "median_mib_per_s": round3(size as f64 / MIB as f64 / m),
            })
        };
        json!({
            "curl": side(&self.curl),
            "ours": side(&self.ours),
            "ratio": round3(self.ratio()),
        })
    }
}

struct Bench {
    rounds: usize,
    size: u64,
    reference: String,
    up: Series,
    down: Series,
    same_etag: Option<bool>,
}

fn run(rt: &tokio::runtime::Runtime, o: &Options, b: &mut Bench) -> Outcome<()> {
    b.reference = curl_version()?;
    let http = client()?;
    let swift = http.service_client("object-store");
    let endpoint = bounded(
        rt,
        "the object-store endpoint",
        SMALL_LIMIT,
        swift.endpoint(),
    )?;
    if !reachable(&endpoint) {
        return Err(measurement(format!(
            "Swift at {endpoint} does not answer (bash scripts/swift/run.sh start)"
        )));
    }
    let token = bounded(rt, "authentication", SMALL_LIMIT, http.access())?
        .token()
        .expose_secret()
        .to_string();
    sweep(rt, &swift);
    let file = data_path();
    let container = format!(
        "{PREFIX}{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    eprintln!(
        "bench swift: {} MiB x {} rounds, {} vs apiclient, container {container} at {endpoint}",
        o.size / MIB,
        o.rounds,
        b.reference
    );
    // a panic is caught: the cleanup below still runs
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let t = Instant::now();
        write_file(&file, o.size)
            .map_err(|e| measurement(format!("cannot write {}: {e}", file.display())))?;
        eprintln!(
            "bench swift: wrote {} in {:.1?}",
            file.display(),
            t.elapsed()
        );
        bounded(
            rt,
            "creating the container",
            SMALL_LIMIT,
            swift.request(ApiRequest::put(format!("/{container}"))),
        )?;
        measure(rt, &swift, &token, &endpoint, &container, &file, o, b)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        Err(Failure::Client(format!("panicked: {what}")))
    });
    // the objects and the container go, measured or not; then the file
    remove_container(rt, &swift, &container);
    let _ = std::fs::remove_file(&file);
    outcome
}

#[allow(clippy::too_many_arguments)]
fn measure(
    rt: &tokio::runtime::Runtime,
    swift: &ServiceClient,
    token: &str,
    endpoint: &str,
    container: &str,
    file: &Path,
    o: &Options,
    b: &mut Bench,
) -> Outcome<()> {
    let file_arg = file.to_string_lossy().into_owned();
    // Each round writes objects of its own: a PUT never replaces an object
    // just read (Swift's object server was seen to take twice as long for
    // the first upload of a round that overwrote the object the last round
    // had just downloaded, whichever client made it). A round's objects are
    // deleted once it is measured; the last round's stay for the ETag check.
    let curl_object = |round: usize| format!("/{container}/obj-curl-{round}");
    let ours_object = |round: usize| format!("/{container}/obj-ours-{round}");
    let mib = |s: &Sample| s.bytes as f64 / MIB as f64 / s.wall;
    // every transfer moved the whole object (ours short: a client error)
    let whole = |is_curl: bool, what: &str, s: &Sample| -> Outcome<()> {
        if s.bytes == o.size {
            return Ok(());
        }
        let message = format!(
            "{} {what} {} bytes, not {}",
            if is_curl { "curl" } else { "ours" },
            s.bytes,
            o.size
        );
        Err(if is_curl {
            measurement(message)
        } else {
            Failure::Client(message)
        })
    };
    for round in 0..o.rounds {
        let curl_url = format!("{}{}", endpoint.trim_end_matches('/'), curl_object(round));
        let ours_path = ours_object(round);
        // curl first in even rounds, ours first in odd ones
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_curl in order {
            std::thread::sleep(o.settle);
            let s = if is_curl {
                let s = curl(
                    token,
                    &["-T", &file_arg, "-o", "/dev/null", &curl_url],
                    "size_upload",
                    201,
                    o.transfer_limit()?,
                )?;
                b.up.curl.push(s);
                s
            } else {
                let s = ours_upload(rt, swift, file, &ours_path, o.transfer_limit()?)?;
                b.up.ours.push(s);
                s
            };
            whole(is_curl, "uploaded", &s)?;
            eprintln!(
                "bench swift: round {} upload   {:4}: {:6.2} s ({:5.0} MiB/s), cpu {:5.2} s",
                round + 1,
                if is_curl { "curl" } else { "ours" },
                s.wall,
                mib(&s),
                s.cpu
            );
        }
        for is_curl in order {
            std::thread::sleep(o.settle);
            let s = if is_curl {
                let s = curl(
                    token,
                    &["-o", "/dev/null", &curl_url],
                    "size_download",
                    200,
                    o.transfer_limit()?,
                )?;
                b.down.curl.push(s);
                s
            } else {
                let s = ours_download(rt, swift, &ours_path, o.transfer_limit()?)?;
                b.down.ours.push(s);
                s
            };
            whole(is_curl, "downloaded", &s)?;
            eprintln!(
                "bench swift: round {} download {:4}: {:6.2} s ({:5.0} MiB/s), cpu {:5.2} s",
                round + 1,
                if is_curl { "curl" } else { "ours" },
                s.wall,
                mib(&s),
                s.cpu
            );
        }
        if round + 1 < o.rounds {
            remove(rt, swift, &curl_object(round));
            remove(rt, swift, &ours_path);
        }
    }
    let last = o.rounds.saturating_sub(1);
    // both objects hold the same bytes: Swift's ETag (their MD5) says so
    let etag = |path: String| -> Outcome<String> {
        let resp = bounded(rt, "HEAD of an object", SMALL_LIMIT, swift.head(&path))?;
        Ok(resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim_matches('"')
            .to_string())
    };
    let curl_etag = etag(curl_object(last))?;
    let ours_etag = etag(ours_object(last))?;
    let same = !curl_etag.is_empty() && curl_etag == ours_etag;
    b.same_etag = Some(same);
    if !same {
        // the client sent other bytes than the file's: worse than an error
        return Err(Failure::Client(format!(
            "our object's ETag {ours_etag:?} is not curl's {curl_etag:?}"
        )));
    }
    Ok(())
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench swift: no tokio runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let mut b = Bench {
        rounds: o.rounds,
        size: o.size,
        reference: String::new(),
        up: Series::default(),
        down: Series::default(),
        same_etag: None,
    };
    let outcome = run(&rt, &o, &mut b);
    let measured = outcome.is_ok();
    let (up, down) = (b.up.ratio(), b.down.ratio());
    let meets = measured && up <= GOAL && down <= GOAL;
    let report = json!({
        "bench": "swift: apiclient vs curl, one object up and down",
        "reference": b.reference,
        "size_bytes": b.size,
        "rounds": b.rounds,
        "upload": b.up.report(b.size),
        "download": b.down.report(b.size),
        "ratio_upload": if measured { round3(up) } else { Value::Null },
        "ratio_download": if measured { round3(down) } else { Value::Null },
        "goal": GOAL,
        "meets_goal": meets,
        "same_etag": b.same_etag,
        "error": outcome.as_ref().err().map(Failure::message),
        "client_error": matches!(outcome, Err(Failure::Client(_))),
    });
    let text = serde_json::to_string_pretty(&report).unwrap_or_default();
    println!("{text}");
    // the workspace's target/bench, whatever CARGO_TARGET_DIR says
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.parent().unwrap_or(manifest).join("target/bench");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("swift.json"), format!("{text}\n")));
    match written {
        Ok(()) => eprintln!("bench swift: wrote {}", dir.join("swift.json").display()),
        Err(e) => eprintln!("bench swift: cannot write {}: {e}", dir.display()),
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Client(e)) => {
            eprintln!("bench swift: the client failed: {e}");
            ExitCode::from(1)
        }
        Err(Failure::Measurement(e)) => {
            eprintln!("bench swift: no measurement: {e}");
            ExitCode::from(3)
        }
    }
}
