//! `cargo xtask`: the project's one entry point for automation.
//!
//! - `cargo xtask ci`: fmt check, clippy (`-D warnings`, all targets), every
//!   test including doctests (with real Keystones started and stopped around
//!   them; the services install and start while the workspace compiles),
//!   the Swift benchmark (apiclient against curl for 1 GiB, reported, built
//!   in release at the lowest priority while the tests run; only a client
//!   error fails CI), the keyring-feature test, `cargo publish --dry-run`
//!   of every published crate, `cargo xtask deny`, `cargo xtask semver`,
//!   cargo-machete (no unused dependency), and rustdoc with warnings
//!   denied. The pinned cargo tools it needs and lacks install in the
//!   background while it builds.
//! - `cargo xtask deny`: licences, bans and sources of the whole dependency
//!   graph (cargo-deny, `deny.toml`; no advisories, no network but cargo's).
//! - `cargo xtask semver`: cargo-semver-checks of each library crate against
//!   its latest release tag (`v*` or `<crate>-v*`); nothing without a tag.
//! - `cargo xtask keystone start|stop|status|env`: a real Keystone on loopback.
//! - `cargo xtask placement|swift|glance|cinder start|stop|status|reset`: the
//!   real Placement, Swift, Glance and cinder-api behind it.
//! - `cargo xtask bench`: the benchmarks (release build, loopback).
//! - `cargo xtask bench swift`: apiclient against curl, one 1 GiB object up
//!   and down through the running Keystone and Swift (release build).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("keystone") => keystone(&args[1..]),
        Some(name @ ("placement" | "swift" | "glance" | "cinder")) => service(name, &args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("deny") => licenses_bans_sources(),
        Some("layering") => no_import_cycles().and_then(|()| runtime_never_imports_configuration()),
        Some("semver") => semver(),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 ci [--no-services]            fmt, clippy, tests (incl. doctests), packaging, deny, semver, rustdoc\n  \
                 deny                          licences, bans, sources (cargo-deny, deny.toml)\n  \
                 layering                      no import cycle; apiclient-auth's runtime imports no configuration module\n  \
                 semver                        API compatibility with the last release tag (cargo-semver-checks)\n  \
                 keystone start|stop|status|env  a real Keystone on 127.0.0.1\n  \
                 placement start|stop|status|reset  a real Placement behind it (127.0.0.1:8778)\n  \
                 swift start|stop|status|reset      a real Swift behind it (127.0.0.1:8080)\n  \
                 glance start|stop|status|reset     a real Glance behind it (127.0.0.1:9292)\n  \
                 cinder start|stop|status|reset     a real cinder-api behind it (127.0.0.1:8776)\n  \
                 bench                         benchmarks (release, loopback)\n  \
                 bench swift [--rounds N] [--size-mib N] [--budget-s N] [--settle-s N]\n                                \
                 apiclient vs curl, 1 GiB up and down through the running Swift"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(cmd: &mut Command) -> Result {
    eprintln!(
        "$ {:?} {:?}",
        cmd.get_program(),
        cmd.get_args().collect::<Vec<_>>()
    );
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo() -> Command {
    Command::new(cargo_program())
}

/// The build directory: `CARGO_TARGET_DIR` (CI sets it) or `target/`.
fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"))
}

/// The library crates: published, used by service clients.
const LIBRARIES: [&str; 5] = [
    "apiclient-errors",
    "apiclient-auth",
    "apiclient-http",
    "apiclient-base",
    "apiclient-fake",
];

fn ci(args: &[String]) -> Result {
    let with_services = !args
        .iter()
        .any(|a| a == "--no-keystone" || a == "--no-services");
    // The quick checks first: a formatting slip or an import cycle fails
    // before any service is installed.
    run(cargo().args(["fmt", "--all", "--check"]))?;
    no_import_cycles()?;
    runtime_never_imports_configuration()?;
    // The pinned cargo tools the last checks need and this machine lacks
    // (minutes of compiling on a fresh one) install in the background, on one
    // core, while the services start and the workspace compiles. Dropped
    // unfinished (an early failure), the install is killed.
    let mut wanted = vec![&DENY, &MACHETE];
    if !release_tags()?.is_empty() {
        wanted.push(&SEMVER_CHECKS);
    }
    let tools = install_in_background(&wanted)?;
    // The real services install and start (minutes on a fresh machine,
    // mostly downloads) while the workspace compiles.
    let services = with_services.then(|| std::thread::spawn(start_services));
    let built = run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
    .and_then(|()| library_dependencies_stay_lean())
    .and_then(|()| run(cargo().args(["test", "--workspace", "--no-run"])));
    let started = match services {
        Some(handle) => handle
            .join()
            .unwrap_or_else(|_| Err("the service starter panicked".into())),
        None => Ok(()),
    };
    // The Swift benchmark's release build (minutes of compiling) goes on
    // in the background, at the lowest priority, while the tests run.
    let bench_build = match (&built, &started) {
        (Ok(()), Ok(())) if with_services => bench_swift_build_in_background(),
        _ => None,
    };
    let tests = match (&built, &started) {
        (Ok(()), Ok(())) => run(cargo().args(["test", "--workspace"])),
        _ => Ok(()),
    };
    // While the services still run: the benchmark (dropped unfinished, the
    // build is killed).
    let bench = match (&tests, bench_build) {
        (Ok(()), Some(build)) => bench_swift_in_ci(build),
        _ => Ok(()),
    };
    if with_services {
        // Always stop the servers we started, whatever the tests said.
        stop_services();
    }
    built?;
    started?;
    tests?;
    bench?;
    // The OS keyring token store is behind a feature; its test skips where
    // the kernel keyring is unavailable.
    run(cargo().args([
        "test",
        "-p",
        "apiclient-http",
        "--features",
        "keyring",
        "--test",
        "keyring",
    ]))?;
    crates_publish()?;
    library_features_stay_lean()?;
    tools.finish()?;
    licenses_bans_sources()?;
    semver()?;
    no_unused_dependencies()?;
    run(cargo()
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    eprintln!("xtask ci: all green");
    Ok(())
}

/// No two files of a library crate import each other, directly or through
/// a ring (`scripts/check_import_cycles.py`).
fn no_import_cycles() -> Result {
    run(Command::new("python3")
        .arg(root().join("scripts/check_import_cycles.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1"))
}

/// apiclient-auth's runtime modules (what authenticates and picks
/// endpoints) and its configuration modules (options, clouds.yaml, the
/// registry and loaders, the clap args, the reference's option-carrying
/// plugin): configuration uses the runtime, never the other way. A runtime
/// module names no configuration module in its code; a `pub use` that keeps
/// an old public path is a name, not a use, and is allowed.
const AUTH_RUNTIME: [&str; 20] = [
    "access",
    "catalog",
    "identity",
    "oidc",
    "plugin",
    "signin/mod",
    "signin/authcode",
    "signin/crypto",
    "signin/device",
    "signin/errors",
    "signin/keys",
    "signin/provider",
    "signin/receiver",
    "signin/ui",
    "signin/wait",
    "signin/websso",
    "transport",
    "typed",
    "user_scope",
    "wire",
];
const AUTH_CONFIGURATION: [&str; 9] = [
    "args",
    "base_plugin",
    "clouds",
    "from_options",
    "keystone",
    "loader",
    "options",
    "registry",
    "specs",
];

fn runtime_never_imports_configuration() -> Result {
    let src = root().join("crates/apiclient-auth/src");
    let mut found = Vec::new();
    for module in AUTH_RUNTIME {
        let path = src.join(format!("{module}.rs"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") || code.starts_with("pub use ") {
                continue;
            }
            for config in AUTH_CONFIGURATION {
                if code.contains(&format!("crate::{config}::"))
                    || code.contains(&format!("crate::{config};"))
                {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, code));
                }
            }
        }
    }
    if found.is_empty() {
        eprintln!("xtask ci: apiclient-auth's runtime imports none of its configuration modules");
        return Ok(());
    }
    Err(format!(
        "apiclient-auth's runtime uses its configuration modules:\n{}",
        found.join("\n")
    ))
}

/// Cargo unpacks the overlay registry's packages under
/// `$CARGO_HOME/registry/src/-<hash of the overlay's path>/` and, finding
/// them there, never unpacks them again: a dry run from a path an earlier
/// one used (another checkout of an older commit) would build against that
/// commit's crates. Our crates are removed from those directories (the
/// local overlays' only: their names start with `-`) before each dry run.
fn forget_unpacked_packages() {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry").join("src")) else {
        return;
    };
    let Ok(sources) = std::fs::read_dir(&src) else {
        return;
    };
    for source in sources.flatten() {
        if !source.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(packages) = std::fs::read_dir(source.path()) else {
            continue;
        };
        for package in packages.flatten() {
            if package
                .file_name()
                .to_string_lossy()
                .starts_with("apiclient-")
            {
                let _ = std::fs::remove_dir_all(package.path());
            }
        }
    }
}

/// Every crate that is not `publish = false` (the libraries and the CLI)
/// packages, and builds from its package alone: `cargo publish --workspace
/// --dry-run` packs them in dependency order and verifies each against the
/// ones before it through a local overlay registry (target/package). Dirty
/// trees are allowed: this checks the packages, not the commit.
fn crates_publish() -> Result {
    forget_unpacked_packages();
    run(cargo().args(["publish", "--workspace", "--dry-run", "--allow-dirty"]))?;
    eprintln!("xtask ci: every published crate packages and builds from its package");
    Ok(())
}

/// No library turns on, for the program that uses it, a feature only a
/// test, the fake servers or the CLI needs: serde_json's `preserve_order`
/// (it changes map order in the whole program), tokio's multi-threaded
/// runtime, macros and signals, hyper's and hyper-util's servers
/// (apiclient-fake's loopback servers excepted).
fn library_features_stay_lean() -> Result {
    for krate in LIBRARIES {
        let out = cargo()
            .args(["tree", "-p", krate, "-e", "features", "-e", "normal"])
            .args(["--prefix", "none"])
            .current_dir(root())
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        let tree = String::from_utf8_lossy(&out.stdout);
        let mut forbidden = vec![
            "serde_json feature \"preserve_order\"",
            "tokio feature \"rt-multi-thread\"",
            "tokio feature \"macros\"",
            "tokio feature \"signal\"",
        ];
        if krate != "apiclient-fake" {
            forbidden.push("hyper-util feature \"server\"");
            forbidden.push("hyper feature \"server\"");
        }
        let found: Vec<&str> = forbidden
            .into_iter()
            .filter(|f| tree.lines().any(|l| l.starts_with(f)))
            .collect();
        if !out.status.success() || !found.is_empty() {
            return Err(format!("{krate} turns on {found:?}"));
        }
    }
    eprintln!("xtask ci: the libraries turn on no test, server or CLI feature");
    Ok(())
}

/// A cargo subcommand CI uses, at a pinned version: installed into
/// ~/.cargo/bin (`cargo install --locked`) where `cargo <subcommand>
/// --version` does not say that version, then reused.
struct Tool {
    krate: &'static str,
    version: &'static str,
    subcommand: &'static str,
}

const MACHETE: Tool = Tool {
    krate: "cargo-machete",
    version: "0.9.2",
    subcommand: "machete",
};

/// 0.20 builds with Rust 1.88 and later; `--offline` keeps it off the network.
const DENY: Tool = Tool {
    krate: "cargo-deny",
    version: "0.20.2",
    subcommand: "deny",
};

/// 0.51 reads the rustdoc JSON of Rust 1.95 (format 57).
const SEMVER_CHECKS: Tool = Tool {
    krate: "cargo-semver-checks",
    version: "0.51.0",
    subcommand: "semver-checks",
};

impl Tool {
    /// `cargo <subcommand>`. cargo-machete takes itself for `cargo machete`
    /// (and skips that word) only without CARGO_PKG_NAME, which `cargo
    /// xtask` has set.
    fn command(&self) -> Command {
        let mut cmd = cargo();
        cmd.arg(self.subcommand).env_remove("CARGO_PKG_NAME");
        cmd
    }

    /// `--version` prints `[name ]<version>`.
    fn installed(&self) -> bool {
        self.command().arg("--version").output().is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).split_whitespace().last()
                    == Some(self.version)
        })
    }

    fn ensure_installed(&self) -> Result {
        if self.installed() {
            return Ok(());
        }
        run(&mut install(&[self]))
    }
}

/// `cargo install --locked name@version...`, in cargo's own temporary build
/// directory: the workspace's (CI's CARGO_TARGET_DIR) would make it and the
/// workspace build wait for each other.
fn install(tools: &[&Tool]) -> Command {
    let mut cmd = cargo();
    cmd.args(["install", "--locked"])
        .args(tools.iter().map(|t| format!("{}@{}", t.krate, t.version)))
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

/// Starts installing those of `tools` that are not installed (nothing
/// when all are), with one build job.
fn install_in_background(tools: &[&Tool]) -> Result<Background> {
    let missing: Vec<&Tool> = tools.iter().copied().filter(|t| !t.installed()).collect();
    let what = format!(
        "cargo install {}",
        missing
            .iter()
            .map(|t| format!("{}@{}", t.krate, t.version))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if missing.is_empty() {
        return Ok(Background::nothing(what));
    }
    let mut cmd = install(&missing);
    cmd.env("CARGO_BUILD_JOBS", "1");
    Background::spawn(cmd, what, "install.log")
}

/// A command (a `cargo install`, a build) running in the background, its
/// output in a log file under the build directory's `xtask/`. Dropped
/// before `finish` (ci stopped early), it is killed.
struct Background {
    child: Option<Child>,
    what: String,
    log: PathBuf,
}

impl Background {
    /// Nothing to run: `finish` succeeds at once.
    fn nothing(what: String) -> Self {
        Self {
            child: None,
            what,
            log: PathBuf::new(),
        }
    }

    /// Starts `cmd` in the workspace root, its output in `xtask/<log>`.
    fn spawn(mut cmd: Command, what: String, log: &str) -> Result<Self> {
        let log = target_dir().join("xtask").join(log);
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let out =
            File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
        let child = cmd
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot run {what}: {e}"))?;
        eprintln!(
            "xtask ci: {what}: in the background (log: {})",
            log.display()
        );
        Ok(Self {
            child: Some(child),
            what,
            log,
        })
    }

    /// Waits for the command; on failure, shows the end of its log.
    fn finish(mut self) -> Result {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let status = child
            .wait()
            .map_err(|e| format!("cannot wait for {}: {e}", self.what))?;
        if status.success() {
            eprintln!("xtask ci: {}: done", self.what);
            return Ok(());
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        for line in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("{line}");
        }
        Err(format!(
            "{} failed with {status} (log: {})",
            self.what,
            self.log.display()
        ))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// No dependency that no code of its crate names (cargo-machete: a fast
/// text search, so a false positive is listed in the crate's
/// `[package.metadata.cargo-machete] ignored`).
fn no_unused_dependencies() -> Result {
    MACHETE.ensure_installed()?;
    run(MACHETE.command().arg("--skip-target-dir"))
}

/// Licences, bans and sources of every crate in the graph (`deny.toml`
/// says what is allowed and why). `cargo fetch` brings every crate of
/// Cargo.lock, for every target, from crates.io (the licence check reads
/// their files); cargo-deny itself then runs `--offline`: no advisory
/// database (advisories are not checked), no other download.
fn licenses_bans_sources() -> Result {
    DENY.ensure_installed()?;
    run(cargo().args(["fetch", "--locked"]))?;
    run(DENY.command().args([
        "--offline",
        "--locked",
        "check",
        "licenses",
        "bans",
        "sources",
    ]))?;
    eprintln!("xtask ci: licences, bans and sources as deny.toml allows");
    Ok(())
}

fn git(args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))
}

/// The release tags in HEAD's history: `v<version>` (every crate) or
/// `<crate>-v<version>` (one crate).
fn release_tags() -> Result<Vec<String>> {
    let out = git(&[
        "tag",
        "--list",
        "--merged",
        "HEAD",
        "v[0-9]*",
        "apiclient-*-v[0-9]*",
    ])?;
    if !out.status.success() {
        return Err(format!(
            "git tag failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The release `krate` was last published in: the nearest tag in HEAD's
/// history that is `v<version>` or `<krate>-v<version>`.
fn last_release(krate: &str) -> Result<Option<String>> {
    let own = format!("{krate}-v[0-9]*");
    let out = git(&[
        "describe",
        "--tags",
        "--abbrev=0",
        "--match",
        "v[0-9]*",
        "--match",
        &own,
        "HEAD",
    ])?;
    let tag = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok((out.status.success() && !tag.is_empty()).then_some(tag))
}

/// The published API of each library crate is compatible with its last
/// release as far as its version number says (cargo-semver-checks, the
/// tag's tree as the baseline): a breaking change fails until the crate's
/// version is bumped for it (0.x: the minor number); an unchanged version
/// is taken as a release that may add API but not break any. On the
/// tagged commit itself a crate is compared with itself. Without a release tag there is nothing to compare
/// with, and cargo-semver-checks is not even installed.
fn semver() -> Result {
    if release_tags()?.is_empty() {
        eprintln!(
            "xtask semver: no release tag (v* or apiclient-*-v*) yet: no release to compare with"
        );
        return Ok(());
    }
    // Crates grouped by baseline: one cargo-semver-checks run (one baseline
    // build) per tag.
    let mut baselines: Vec<(String, Vec<&str>)> = Vec::new();
    for krate in LIBRARIES {
        let Some(tag) = last_release(krate)? else {
            eprintln!("xtask semver: {krate}: no release tag yet, nothing to compare with");
            continue;
        };
        let manifest = format!("{tag}:crates/{krate}/Cargo.toml");
        if !git(&["cat-file", "-e", &manifest])?.status.success() {
            eprintln!("xtask semver: {krate}: not in release {tag}, nothing to compare with");
            continue;
        }
        match baselines.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, crates)) => crates.push(krate),
            None => baselines.push((tag, vec![krate])),
        }
    }
    if baselines.is_empty() {
        eprintln!("xtask semver: no library crate has a release to compare with");
        return Ok(());
    }
    SEMVER_CHECKS.ensure_installed()?;
    for (tag, crates) in &baselines {
        let mut cmd = SEMVER_CHECKS.command();
        cmd.args(["check-release", "--baseline-rev", tag]);
        for krate in crates {
            cmd.args(["--package", krate]);
        }
        run(&mut cmd)?;
        eprintln!("xtask semver: {crates:?} compatible with {tag}");
    }
    Ok(())
}

/// A service client depends on apiclient-base: it must not pull the CLI's
/// dependencies (clap, a YAML parser) unless it asks for them.
fn library_dependencies_stay_lean() -> Result {
    for krate in ["apiclient-base", "apiclient-fake"] {
        let out = cargo()
            .args(["tree", "-p", krate, "-e", "normal", "--prefix", "none"])
            .current_dir(root())
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        let tree = String::from_utf8_lossy(&out.stdout);
        let heavy: Vec<&str> = tree
            .lines()
            .filter(|l| l.starts_with("clap ") || l.starts_with("serde_yaml_ng "))
            .collect();
        if !out.status.success() || !heavy.is_empty() {
            return Err(format!("{krate} pulls CLI dependencies: {heavy:?}"));
        }
    }
    eprintln!("xtask ci: apiclient-base and apiclient-fake pull neither clap nor a YAML parser");
    Ok(())
}

/// The Keystones the integration tests use: the main one (127.0.0.1:5000,
/// seeded) and one with 5-second tokens (127.0.0.1:5001). Both run without
/// Keystone's in-process token cache, so that a revocation takes effect at
/// once (with the cache, each gunicorn thread keeps accepting a revoked token).
const KEYSTONES: &[(&str, &[(&str, &str)])] = &[
    ("main", &[("KS_CACHE", "0")]),
    (
        "short-tokens",
        &[
            ("KS_CACHE", "0"),
            ("KS_PORT", "5001"),
            ("KS_TOKEN_EXPIRATION", "5"),
            ("KS_SEED", "0"),
            ("KS_DATA", "/tmp/apiclient-rs/keystone-short-data"),
            ("KS_ETC", "/tmp/apiclient-rs/keystone-short-etc"),
        ],
    ),
];

fn keystone(args: &[String]) -> Result {
    let script = root().join("scripts/keystone/run.sh");
    let sub = args.first().map(String::as_str).unwrap_or("status");
    let instances: Vec<_> = match sub {
        // `env` prints the main instance's OS_* block only.
        "env" => KEYSTONES.iter().take(1).collect(),
        "start" | "stop" | "status" | "reset" | "purge" => KEYSTONES.iter().collect(),
        other => {
            return Err(format!(
                "unknown keystone command '{other}' (start|stop|status|env|reset|purge)"
            ));
        }
    };
    let mut failed = None;
    for (name, env) in instances {
        let mut cmd = Command::new("bash");
        cmd.arg(&script).arg(sub).envs(env.iter().copied());
        if sub != "env" {
            eprintln!("keystone ({name}):");
        }
        if let Err(e) = run(&mut cmd) {
            failed = Some(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// The real services behind the main Keystone, each run by its script in
/// `scripts/<name>/run.sh` (`start|stop|status|reset`), all on loopback:
/// Placement 16.0.0 (:8778), Swift 2.38 (:8080), Glance 33.0.0 (:9292) and
/// cinder-api 29.0.0 (:8776).
const SERVICES: &[&str] = &["placement", "swift", "glance", "cinder"];

fn service(name: &str, args: &[String]) -> Result {
    let sub = args.first().map(String::as_str).unwrap_or("status");
    if !matches!(sub, "start" | "stop" | "status" | "reset") {
        return Err(format!(
            "unknown {name} command '{sub}' (start|stop|status|reset)"
        ));
    }
    run(Command::new("bash")
        .arg(root().join(format!("scripts/{name}/run.sh")))
        .arg(sub))
}

/// Keystone, then every service behind it (one at a time: each registers
/// itself in Keystone). A failure stops what was started.
fn start_services() -> Result {
    let start = ["start".to_string()];
    keystone(&start)?;
    for name in SERVICES {
        if let Err(e) = service(name, &start) {
            stop_services();
            return Err(e);
        }
    }
    Ok(())
}

/// Stop every service and Keystone (each script stops only what it started).
fn stop_services() {
    let stop = ["stop".to_string()];
    for name in SERVICES.iter().rev() {
        let _ = service(name, &stop);
    }
    let _ = keystone(&stop);
}

fn bench(args: &[String]) -> Result {
    if args.first().map(String::as_str) == Some("swift") {
        return bench_swift(&args[1..]);
    }
    // Release build of the CLI (case D runs it) and the bench binary, then run it.
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "apiclient-cli",
        "-p",
        "apiclient-tests",
        "--bin",
        "apiclient",
        "--bin",
        "apiclient-bench",
        "--features",
        "apiclient-tests/reqwest-peer",
    ]))?;
    run(Command::new(target_dir().join("release/apiclient-bench")).args(args))
}

/// The Swift benchmark: `tests/bench_swift`, apiclient against curl for one
/// 1 GiB object up and down through the real Keystone and Swift. Exit
/// status 0: measured; 1: the client errored; 3: no measurement (no
/// service, no curl, out of time).
const BENCH_SWIFT: &str = "apiclient-bench-swift";

/// Its build: `cargo build --release -p apiclient-tests --bin apiclient-bench-swift`.
const BENCH_SWIFT_BUILD: [&str; 6] = [
    "build",
    "--release",
    "-p",
    "apiclient-tests",
    "--bin",
    BENCH_SWIFT,
];

/// The most the benchmark may take, its own budget (`--budget-s`) and the
/// cleanup after it; past it, it is killed.
const BENCH_SWIFT_BUDGET_S: u64 = 600;
const BENCH_SWIFT_KILL_AFTER: std::time::Duration = std::time::Duration::from_secs(900);

/// `cargo xtask bench swift [--rounds N] [--size-mib N] [--budget-s N] [--settle-s N]`:
/// build it, then run it against the running Keystone and Swift; any
/// failure is an error.
fn bench_swift(args: &[String]) -> Result {
    run(cargo().args(BENCH_SWIFT_BUILD))?;
    let status = run_bench_swift(args)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{BENCH_SWIFT} failed with {status}"))
    }
}

/// The release build at the lowest priority (`nice -n 19`), in the
/// background; `None` (said why) when it cannot start.
fn bench_swift_build_in_background() -> Option<Background> {
    let mut cmd = Command::new("nice");
    cmd.args(["-n", "19"])
        .arg(cargo_program())
        .args(BENCH_SWIFT_BUILD);
    let what = format!("the release build of {BENCH_SWIFT}");
    Background::spawn(cmd, what, "bench-swift-build.log")
        .map_err(|e| eprintln!("xtask ci: the Swift benchmark is skipped: {e}"))
        .ok()
}

/// In CI, once the tests passed and while the services run: the benchmark,
/// its JSON printed. Only a client error fails CI; a failed build, a
/// measurement that could not be made or a slow ratio is reported.
fn bench_swift_in_ci(build: Background) -> Result {
    if let Err(e) = build.finish() {
        eprintln!("xtask ci: warning: the Swift benchmark is skipped: {e}");
        return Ok(());
    }
    let status = match run_bench_swift(&[]) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("xtask ci: warning: the Swift benchmark did not run: {e}");
            return Ok(());
        }
    };
    match status.code() {
        Some(0) => {
            eprintln!(
                "xtask ci: the Swift benchmark measured (not a test: its ratios are reported)"
            );
            Ok(())
        }
        Some(1) => Err(format!(
            "the client failed in the Swift benchmark ({BENCH_SWIFT} exited with {status})"
        )),
        _ => {
            eprintln!(
                "xtask ci: warning: the Swift benchmark measured nothing ({BENCH_SWIFT} exited with {status})"
            );
            Ok(())
        }
    }
}

/// Runs the built benchmark with the main Keystone's `OS_*` environment,
/// killed if it outlives `BENCH_SWIFT_KILL_AFTER`.
fn run_bench_swift(args: &[String]) -> Result<std::process::ExitStatus> {
    let env = keystone_env()?;
    let mut cmd = Command::new(target_dir().join("release").join(BENCH_SWIFT));
    cmd.arg("--budget-s")
        .arg(BENCH_SWIFT_BUDGET_S.to_string())
        .args(args)
        .envs(env)
        .current_dir(root())
        .stdin(Stdio::null());
    eprintln!(
        "$ {:?} {:?}",
        cmd.get_program(),
        cmd.get_args().collect::<Vec<_>>()
    );
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {BENCH_SWIFT}: {e}"))?;
    let deadline = std::time::Instant::now() + BENCH_SWIFT_KILL_AFTER;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{BENCH_SWIFT} still ran after {BENCH_SWIFT_KILL_AFTER:?}; killed"
                ));
            }
            Err(e) => return Err(format!("cannot wait for {BENCH_SWIFT}: {e}")),
        }
    }
}

/// The main Keystone's `OS_*` variables, as `cargo xtask keystone env`
/// prints them (`export NAME=value` lines).
fn keystone_env() -> Result<Vec<(String, String)>> {
    let out = Command::new("bash")
        .arg(root().join("scripts/keystone/run.sh"))
        .arg("env")
        .envs(KEYSTONES[0].1.iter().copied())
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run scripts/keystone/run.sh env: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/keystone/run.sh env failed with {}",
            out.status
        ));
    }
    let vars: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(v);
            (k.to_string(), v.to_string())
        })
        .filter(|(k, _)| k.starts_with("OS_"))
        .collect();
    if vars.iter().any(|(k, _)| k == "OS_AUTH_URL") {
        Ok(vars)
    } else {
        Err("scripts/keystone/run.sh env printed no OS_AUTH_URL".into())
    }
}
