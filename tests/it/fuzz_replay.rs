//! Replays every fuzz corpus entry and every saved crash (fuzz/corpus/<target>,
//! fuzz/regressions/<target>) through the same target bodies `cargo fuzz`
//! runs, on the stable toolchain, so a regression fails CI.

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
fn every_fuzz_corpus_entry_and_regression_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    for (name, f) in TARGETS {
        let corpus = replay(&root.join("corpus").join(name), *f);
        let regressions = replay(&root.join("regressions").join(name), *f);
        assert!(corpus > 0, "no corpus for {name}");
        eprintln!("{name}: {corpus} corpus entries, {regressions} regressions replayed");
    }
}
