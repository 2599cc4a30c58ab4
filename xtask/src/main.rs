//! `cargo xtask`: the project's one entry point for automation.
//!
//! - `cargo xtask ci`: fmt check, clippy (`-D warnings`, all targets), every
//!   test including doctests, and rustdoc with warnings denied.
//! - `cargo xtask keystone start|stop|status|env`: a real Keystone on loopback.
//! - `cargo xtask bench`: the benchmarks (release build, loopback).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("keystone") => keystone(&args[1..]),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 ci [--no-keystone]            fmt, clippy, tests (incl. doctests), rustdoc\n  \
                 keystone start|stop|status|env  a real Keystone on 127.0.0.1\n  \
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
    eprintln!("$ {cmd:?}");
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
    let with_keystone = !args.iter().any(|a| a == "--no-keystone");
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    if with_keystone {
        keystone(&["start".to_string()])?;
    }
    let tests = run(cargo().args(["test", "--workspace"]));
    if with_keystone {
        // Always stop the server we started, whatever the tests said.
        let _ = keystone(&["stop".to_string()]);
    }
    tests?;
    run(cargo()
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    eprintln!("xtask ci: all green");
    Ok(())
}

fn keystone(args: &[String]) -> Result {
    let script = root().join("scripts/keystone/run.sh");
    let sub = args.first().map(String::as_str).unwrap_or("status");
    run(Command::new("bash").arg(script).arg(sub).args(&args[1..]))
}

fn bench(args: &[String]) -> Result {
    run(cargo()
        .args([
            "run",
            "--release",
            "-p",
            "apiclient-tests",
            "--bin",
            "apiclient-bench",
            "--",
        ])
        .args(args))
}
