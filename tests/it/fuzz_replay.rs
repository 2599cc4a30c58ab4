//! Replays every committed fuzz seed and every saved crash
//! (fuzz/seeds/<target>, fuzz/regressions/<target>), and the corpus a local
//! `scripts/fuzz.sh` grew (fuzz/corpus/<target>, not in git) when there is
//! one, through the same target bodies `cargo fuzz` runs, on the stable
//! toolchain, so a regression fails CI.

use std::path::Path;

use apiclient_fuzz_targets::TARGETS;

fn replay(dir: &Path, f: fn(&[u8])) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_file() {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| f(&data));
            assert!(result.is_ok(), "fuzz input {} panics", path.display());
            n += 1;
        }
    }
    n
}

#[test]
fn every_fuzz_seed_regression_and_grown_corpus_entry_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    for (name, f) in TARGETS {
        let seeds = replay(&root.join("seeds").join(name), *f);
        let regressions = replay(&root.join("regressions").join(name), *f);
        let grown = replay(&root.join("corpus").join(name), *f);
        assert!(seeds > 0, "no seeds for {name}");
        eprintln!(
            "{name}: {seeds} seeds, {regressions} regressions, {grown} local corpus entries replayed"
        );
    }
}
