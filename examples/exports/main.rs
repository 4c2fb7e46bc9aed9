//! Exports and the CI gate: one run of a small request handler, written as a pprof
//! profile, a DHAT file and JSON, then compared with the committed baseline
//! `tests/export_gate.baseline.json` (the one `tests/export_gate.rs` holds the test
//! suite to).
//!
//! Run: `cargo run --release --example exports [OUT_DIR]` (default: the current
//! directory). It writes `alloc-trace.pb.gz` (`go tool pprof -top alloc-trace.pb.gz`),
//! `alloc-trace.dhat.json` (open it in valgrind's `dh_view.html`) and `alloc-trace.json`,
//! prints the table and the diff against the baseline (as markdown too, for a CI step
//! summary), and exits with status 1 if a site regressed.
//! `ALLOC_TRACE_BASELINE=update cargo run --example exports` rewrites the baseline.

use std::path::PathBuf;
use std::process::ExitCode;

use alloc_trace::report::baseline::{self, Check};

mod workload;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

const BASELINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/export_gate.baseline.json"
);

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".to_owned()));
    let (_, report) = alloc_trace::capture(|| workload::serve(workload::REQUESTS));
    println!("{report}");

    std::fs::create_dir_all(&out)?;
    alloc_trace::report::pprof::write(&report, &out.join("alloc-trace.pb.gz"))?;
    std::fs::write(out.join("alloc-trace.dhat.json"), report.to_dhat())?;
    std::fs::write(out.join("alloc-trace.json"), report.to_json())?;
    println!(
        "wrote alloc-trace.pb.gz, alloc-trace.dhat.json and alloc-trace.json in {}\n",
        out.display()
    );

    if std::env::var(baseline::ENV_VAR).as_deref() == Ok("update") {
        Check::new(BASELINE).run(&report);
        return Ok(ExitCode::SUCCESS);
    }
    let verdict = Check::new(BASELINE).compare(&report)?;
    println!("{verdict}");
    println!("{}", verdict.to_markdown());
    Ok(if verdict.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
