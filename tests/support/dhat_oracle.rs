//! Running the `dhat-oracle` binary (tests/dhat_differential.rs, tests/ownership_dhat.rs).

/// What the `dhat-oracle` binary prints: a line per workload (see `src/bin/dhat-oracle.rs`).
pub fn dhat_oracle_output() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dhat-oracle"))
        .output()
        .expect("alloc-trace: could not run the dhat oracle");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the dhat oracle prints UTF-8")
}
