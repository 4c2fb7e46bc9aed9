//! UI tests: every user-facing compile error of the macros, with its `.stderr` snapshot.
//! Regenerate the snapshots with `TRYBUILD=overwrite cargo test --test compiletest`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
