//! Replays every case listed in the shared conformance corpus's INDEX.json and compares each
//! verdict and expected field. Adding a case file (and its INDEX entry) needs no code change.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use latch_webauthn::conformance::Case;

fn corpus_dir() -> PathBuf {
    std::env::var_os("LATCH_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/conformance"
            ))
        })
}

#[test]
fn conformance_corpus() {
    let dir = corpus_dir();
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("INDEX.json"))
            .unwrap_or_else(|e| panic!("cannot read {}/INDEX.json: {e}", dir.display())),
    )
    .expect("INDEX.json is JSON");
    let cases = index["cases"].as_array().expect("INDEX.json has cases");
    let (mut passed, mut failed) = (0usize, 0usize);
    for entry in cases {
        let file = entry["file"].as_str().expect("case has a file");
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let case = Case::from_json(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let problems = match case.verify() {
            Ok(verdict) => case.mismatches(&verdict),
            Err(e) => vec![format!("could not run: {e}")],
        };
        if problems.is_empty() {
            passed += 1;
        } else {
            failed += 1;
            println!("FAIL {}: {}", case.name, problems.join("; "));
        }
    }
    println!("{passed} passed, {failed} failed");
    assert!(passed > 0, "no conformance case ran");
    assert_eq!(
        failed, 0,
        "{failed} conformance cases did not match their expectation"
    );
}
