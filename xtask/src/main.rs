//! `cargo xtask`: the project's one entry point for automation.
//!
//! - `cargo xtask ci`: fmt check, clippy (`-D warnings`, all targets), every
//!   test including doctests (with real Keystones started and stopped around
//!   them; the services install and start while the workspace compiles),
//!   the keyring-feature test, `cargo publish --dry-run` of every published
//!   crate, cargo-machete (no unused dependency), and rustdoc with warnings
//!   denied.
//! - `cargo xtask keystone start|stop|status|env`: a real Keystone on loopback.
//! - `cargo xtask placement|swift|glance|cinder start|stop|status|reset`: the
//!   real Placement, Swift, Glance and cinder-api behind it.
//! - `cargo xtask bench`: the benchmarks (release build, loopback).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("keystone") => keystone(&args[1..]),
        Some(name @ ("placement" | "swift" | "glance" | "cinder")) => service(name, &args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 ci [--no-services]            fmt, clippy, tests (incl. doctests), packaging, rustdoc\n  \
                 keystone start|stop|status|env  a real Keystone on 127.0.0.1\n  \
                 placement start|stop|status|reset  a real Placement behind it (127.0.0.1:8778)\n  \
                 swift start|stop|status|reset      a real Swift behind it (127.0.0.1:8080)\n  \
                 glance start|stop|status|reset     a real Glance behind it (127.0.0.1:9292)\n  \
                 cinder start|stop|status|reset     a real cinder-api behind it (127.0.0.1:8776)\n  \
                 bench                         benchmarks (release, loopback)"
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

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn ci(args: &[String]) -> Result {
    let with_services = !args
        .iter()
        .any(|a| a == "--no-keystone" || a == "--no-services");
    // The quick checks first: a formatting slip or an import cycle fails
    // before any service is installed.
    run(cargo().args(["fmt", "--all", "--check"]))?;
    no_import_cycles()?;
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
    let tests = match (&built, &started) {
        (Ok(()), Ok(())) => run(cargo().args(["test", "--workspace"])),
        _ => Ok(()),
    };
    if with_services {
        // Always stop the servers we started, whatever the tests said.
        stop_services();
    }
    built?;
    started?;
    tests?;
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

/// Every crate that is not `publish = false` (the libraries and the CLI)
/// packages, and builds from its package alone: `cargo publish --workspace
/// --dry-run` packs them in dependency order and verifies each against the
/// ones before it through a local overlay registry (target/package). Dirty
/// trees are allowed: this checks the packages, not the commit.
fn crates_publish() -> Result {
    run(cargo().args(["publish", "--workspace", "--dry-run", "--allow-dirty"]))?;
    eprintln!("xtask ci: every published crate packages and builds from its package");
    Ok(())
}

/// No library turns on, for the program that uses it, a feature only a
/// test, the fake servers or the CLI needs: serde_json's `preserve_order`
/// (it changes map order in the whole program), tokio's multi-threaded
/// runtime, macros and signals, hyper-util's server (apiclient-fake's
/// loopback servers excepted).
fn library_features_stay_lean() -> Result {
    for krate in [
        "apiclient-errors",
        "apiclient-auth",
        "apiclient-http",
        "apiclient-base",
        "apiclient-fake",
    ] {
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

/// The cargo-machete CI uses; installed once into ~/.cargo/bin, then reused.
const MACHETE_VERSION: &str = "0.9.2";

/// No dependency that no code of its crate names (cargo-machete: a fast
/// text search, so a false positive is listed in the crate's
/// `[package.metadata.cargo-machete] ignored`).
fn no_unused_dependencies() -> Result {
    // cargo-machete takes itself for `cargo machete` (and skips that word)
    // only without CARGO_PKG_NAME, which `cargo xtask` has set.
    let machete = || {
        let mut cmd = cargo();
        cmd.arg("machete").env_remove("CARGO_PKG_NAME");
        cmd
    };
    let installed = machete()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        run(cargo().args([
            "install",
            "cargo-machete",
            "--locked",
            "--version",
            MACHETE_VERSION,
        ]))?;
    }
    run(machete().arg("--skip-target-dir"))
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
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    run(Command::new(target.join("release/apiclient-bench")).args(args))
}
