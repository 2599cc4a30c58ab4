//! Copies inside the crates, so that their packages are self-contained.
//! The crates' copies of the recorded responses (`crates/*/tests/fixtures/
//! {keystone,v2}/`, inside each crate so that its packaged tests are
//! self-contained) are byte-for-byte the workspace's `fixtures/`.

use std::path::Path;

#[test]
fn every_crate_fixture_copy_is_the_recorded_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut copies = 0;
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let fixtures = krate.unwrap().path().join("tests/fixtures");
        for set in ["keystone", "v2"] {
            let Ok(entries) = std::fs::read_dir(fixtures.join(set)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap();
                let recorded = root.join("fixtures").join(set).join(name);
                assert!(
                    std::fs::read(&recorded).ok() == Some(std::fs::read(&path).unwrap()),
                    "{} differs from {}",
                    path.display(),
                    recorded.display()
                );
                copies += 1;
            }
        }
    }
    assert!(copies > 40, "only {copies} fixture copies found");
}

/// Each published crate carries the workspace's LICENSE and NOTICE (copies,
/// not symlinks, so that they are in its package on every platform).
#[test]
fn every_crate_license_and_notice_is_the_workspaces() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in [
        "apiclient-errors",
        "apiclient-auth",
        "apiclient-http",
        "apiclient-base",
        "apiclient-fake",
        "apiclient-cli",
    ] {
        for file in ["LICENSE", "NOTICE"] {
            let copy = root.join("crates").join(krate).join(file);
            assert!(
                std::fs::read(&copy).ok() == Some(std::fs::read(root.join(file)).unwrap()),
                "{} is not the workspace's {file}",
                copy.display()
            );
        }
    }
}
