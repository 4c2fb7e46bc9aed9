//! The CI gate (`report::baseline`): a committed baseline passes, a regression fails with
//! the diff table, `ALLOC_TRACE_BASELINE=update` rewrites the file; and every bad file
//! (missing, empty, truncated, not JSON, another program's, another kind, another
//! version, malformed) gives one error naming the file and the problem, never a pass.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::Command;

use alloc_trace::Report;
use alloc_trace::report::baseline::{self, Baseline, Check};
use alloc_trace::report::{Problem, ReadError, ReportDiff, SiteRates};

mod export_support;
#[path = "support/report_fixture.rs"]
mod fixture;

use export_support::TempFile;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn captured() -> Report {
    alloc_trace::capture(fixture::run).1
}

/// The panic message of `f`.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("it must fail, not pass");
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap()
}

fn rates(calls: u64, allocs: u64, bytes: u64) -> SiteRates {
    SiteRates::new(calls, allocs, bytes, 0)
}

/// A baseline file of `(site, rates)`.
fn baseline_file(name: &str, sites: &[(&str, SiteRates)]) -> TempFile {
    let file = TempFile::new(name);
    let json = serde_json::json!({
        "alloc_trace_baseline": 1,
        "sites": sites.iter().map(|(n, r)| (n.to_string(), serde_json::json!({
            "calls": r.calls, "allocs": r.allocs,
            "bytes_allocated": r.bytes_allocated, "net_bytes": r.net_bytes,
        }))).collect::<serde_json::Map<_, _>>(),
    });
    std::fs::write(file.path(), json.to_string()).unwrap();
    file
}

#[test]
fn the_same_numbers_pass() {
    let report = captured();
    let file = TempFile::new("same.baseline.json");
    Baseline::from_report(&report).save(file.path()).unwrap();
    baseline::check(&report, file.path());
    Check::new(file.path()).bytes_tolerance(0.0).run(&report);
    // A second capture of the same code has the same exact numbers.
    baseline::check(&captured(), file.path());
}

#[test]
fn the_file_is_sorted_exact_totals() {
    let report = captured();
    let json = Baseline::from_report(&report).to_json();
    let handle = json.find("export_baseline::fixture::handle").unwrap();
    let parse = json.find("export_baseline::fixture::parse").unwrap();
    let remember = json.find("export_baseline::fixture::remember").unwrap();
    assert!(handle < parse && parse < remember, "{json}");
    assert!(json.starts_with("{\n  \"alloc_trace_baseline\": 1,\n  \"sites\": {\n"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let h = &v["sites"]["export_baseline::fixture::handle"];
    assert_eq!(
        (
            &h["calls"],
            &h["allocs"],
            &h["bytes_allocated"],
            &h["net_bytes"]
        ),
        (
            &10.into(),
            &30.into(),
            &1960.into(),
            &serde_json::Value::from(0)
        )
    );
    assert_eq!(h["allocs_per_call"], 3.0);
    assert!(
        !json.contains("never_called"),
        "only sites that ran: {json}"
    );
}

#[test]
fn more_allocs_per_call_fail_with_the_table() {
    let report = captured();
    // The baseline says parse allocated once per call, not twice.
    let file = baseline_file(
        "regressed.baseline.json",
        &[
            ("export_baseline::fixture::handle", rates(10, 30, 1960)),
            ("export_baseline::fixture::parse", rates(10, 10, 960)),
            ("export_baseline::fixture::remember", rates(3, 3, 3000)),
        ],
    );
    let verdict = Check::new(file.path()).compare(&report).unwrap();
    assert!(!verdict.passed());
    assert_eq!(verdict.regressions().len(), 1);
    assert_eq!(verdict.regressions()[0].why, "allocs/call rose from 1 to 2");
    let message = panic_message(|| baseline::check(&report, file.path()));
    assert!(
        message.starts_with(&format!(
            "alloc-trace: allocations regressed against the baseline {}\n\
             alloc-trace diff: ",
            file.path().display()
        )),
        "{message}"
    );
    assert!(
        message
            .contains("REGRESSED export_baseline::fixture::parse: allocs/call rose from 1 to 2\n"),
        "{message}"
    );
    assert!(
        message.ends_with(
            "if this is intended, update the baseline: ALLOC_TRACE_BASELINE=update cargo test"
        ),
        "{message}"
    );
    assert!(
        verdict
            .to_markdown()
            .contains("- `export_baseline::fixture::parse`: allocs/call rose from 1 to 2")
    );
}

#[test]
fn bytes_per_call_have_a_tolerance() {
    // 5% more bytes per call: within the default 10%, not within 0.
    let before = [("f", rates(10, 10, 1000))];
    let after = [("f", rates(10, 10, 1050))];
    let diff = ReportDiff::from_rates(before, after);
    assert!(baseline::Verdict::new(diff.clone(), baseline::DEFAULT_BYTES_TOLERANCE).passed());
    let strict = baseline::Verdict::new(diff, 0.0);
    assert_eq!(
        strict.regressions()[0].why,
        "bytes/call rose from 100 to 105 (more than the tolerance of 0%)"
    );
    // 11% fails at the default.
    let diff = ReportDiff::from_rates([("f", rates(10, 10, 1000))], [("f", rates(10, 10, 1110))]);
    assert!(!baseline::Verdict::new(diff, baseline::DEFAULT_BYTES_TOLERANCE).passed());
}

#[test]
fn improvements_new_and_gone_sites() {
    let diff = ReportDiff::from_rates(
        [("better", rates(10, 20, 2000)), ("gone", rates(1, 1, 8))],
        [
            ("better", rates(10, 10, 1000)),
            ("new_free", rates(5, 0, 0)),
            ("new_allocating", rates(1, 1, 8)),
        ],
    );
    let verdict = baseline::Verdict::new(diff, 0.0);
    let failed: Vec<(&str, &str)> = verdict
        .regressions()
        .iter()
        .map(|r| (r.site.name.as_str(), r.why.as_str()))
        .collect();
    // Fewer allocations, a site gone, a new site that allocates nothing: all pass.
    assert_eq!(
        failed,
        [(
            "new_allocating",
            "new site (not in the baseline) with 1 allocs/call"
        )]
    );
}

/// Run by `update_and_unknown_values_of_the_variable` in a child process, with the
/// variable set there (it is not set in this process, which runs tests in parallel).
#[test]
#[ignore = "run by update_and_unknown_values_of_the_variable in a child process"]
fn child_checks_the_baseline() {
    let Ok(path) = std::env::var("EXPORT_BASELINE_TEST_FILE") else {
        return eprintln!("only meaningful in the child process of its parent test");
    };
    baseline::check(&captured(), path);
}

fn run_child(mode: &str, file: &Path) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_checks_the_baseline",
            "--nocapture",
        ])
        .env(baseline::ENV_VAR, mode)
        .env("EXPORT_BASELINE_TEST_FILE", file)
        .output()
        .unwrap()
}

#[test]
fn update_and_unknown_values_of_the_variable() {
    let dir = TempFile::new("update-dir");
    let file = dir.path().join("nested/allocs.baseline.json");
    // Missing: the check fails and says how to create it.
    let out = run_child("", &file);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "alloc-trace: {}: the file does not exist\nto write the baseline from this run: ALLOC_TRACE_BASELINE=update cargo test",
            file.display()
        )),
        "{stderr}"
    );
    // update writes it (and its directory), and passes.
    let out = run_child("update", &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("baseline written (ALLOC_TRACE_BASELINE=update)")
    );
    assert_eq!(
        Baseline::load(&file).unwrap(),
        Baseline::from_report(&captured())
    );
    // Then the check passes against it.
    let out = run_child("check", &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Anything else is refused.
    let out = run_child("overwrite", &file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "alloc-trace: ALLOC_TRACE_BASELINE=\"overwrite\" is not understood (expected `update`, or `check` or unset to compare)"
    ));
    std::fs::remove_dir_all(dir.path()).unwrap();
}

/// Every kind of bad file, with the problem it must be reported as.
fn bad_files(report_json: &str) -> Vec<(&'static str, String, &'static str)> {
    let half = &report_json[..report_json.len() / 2];
    vec![
        ("empty", String::new(), "the file is empty"),
        ("blank", "\n  \n".to_owned(), "the file is empty"),
        (
            "truncated",
            "{\"alloc_trace_baseline\": 1, \"sites\": {\"f\": {\"calls\": 1".to_owned(),
            "the file is truncated: its JSON ends early, at line 1 column",
        ),
        ("truncated report", half.to_owned(), "the file is truncated"),
        (
            "not json",
            "calls,allocs\n1,2\n".to_owned(),
            "the file is not JSON",
        ),
        (
            "another program",
            "{\"name\": \"left-pad\", \"version\": \"1.3.0\"}".to_owned(),
            "not a file of alloc-trace",
        ),
        (
            "an array",
            "[1, 2, 3]".to_owned(),
            "not a file of alloc-trace",
        ),
    ]
}

#[test]
fn bad_baselines_name_the_file_and_the_problem() {
    let report = captured();
    let report_json = report.to_json();
    let mut cases = bad_files(&report_json);
    cases.extend([
        (
            "a report",
            report_json.clone(),
            "this is an alloc-trace report, not a baseline",
        ),
        (
            "another version",
            "{\"alloc_trace_baseline\": 2, \"sites\": {}}".to_owned(),
            "schema version 2 is not supported (this build reads version 1)",
        ),
        (
            "a version that is not a number",
            "{\"alloc_trace_baseline\": \"1\", \"sites\": {}}".to_owned(),
            "schema version \"1\" is not supported",
        ),
        (
            "malformed",
            "{\"alloc_trace_baseline\": 1, \"sites\": {\"f\": {\"calls\": \"ten\", \"allocs\": 1, \"bytes_allocated\": 1, \"net_bytes\": 0}}}".to_owned(),
            "the file does not have the expected shape: invalid type: string \"ten\", expected u64",
        ),
        (
            "no sites",
            "{\"alloc_trace_baseline\": 1}".to_owned(),
            "the file does not have the expected shape: missing field `sites`",
        ),
    ]);
    for (case, text, problem) in cases {
        let file = TempFile::new(&format!("bad-{}.baseline.json", case.replace(' ', "-")));
        std::fs::write(file.path(), &text).unwrap();
        let prefix = format!("alloc-trace: {}: ", file.path().display());
        let err: ReadError = Baseline::load(file.path()).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&prefix) && message.contains(problem),
            "{case}: {message}"
        );
        assert_eq!(err.path, file.path());
        // The gate fails with the same message: never a pass.
        let panicked = panic_message(|| baseline::check(&report, file.path()));
        assert!(panicked.starts_with(&message), "{case}: {panicked}");
    }
}

#[test]
fn a_missing_baseline_fails() {
    let err = Baseline::load("tests/no-such.baseline.json").unwrap_err();
    assert!(matches!(err.problem, Problem::Missing));
    assert_eq!(
        err.to_string(),
        "alloc-trace: tests/no-such.baseline.json: the file does not exist"
    );
    let message = panic_message(|| baseline::check(&captured(), "tests/no-such.baseline.json"));
    assert_eq!(
        message,
        "alloc-trace: tests/no-such.baseline.json: the file does not exist\n\
         to write the baseline from this run: ALLOC_TRACE_BASELINE=update cargo test"
    );
    // A directory is not a baseline either.
    let err = Baseline::load("tests").unwrap_err();
    assert!(matches!(err.problem, Problem::Unreadable(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("alloc-trace: tests: the file cannot be read: ")
    );
}

#[test]
fn bad_report_files_name_the_file_and_the_problem() {
    let report = captured();
    let report_json = report.to_json();
    let mut cases = bad_files(&report_json);
    cases.extend([
        (
            "a baseline",
            Baseline::from_report(&report).to_json(),
            "this is an alloc-trace baseline, not a report",
        ),
        (
            "another version",
            report_json.replacen("\"schema_version\": 2", "\"schema_version\": 3", 1),
            "schema version 3 is not supported (this build reads version 2)",
        ),
        (
            "malformed",
            report_json.replacen("\"scope\": \"capture\"", "\"scope\": \"galaxy\"", 1),
            "the file does not have the expected shape: unknown variant `galaxy`",
        ),
    ]);
    for (case, text, problem) in cases {
        let file = TempFile::new(&format!("bad-{}.report.json", case.replace(' ', "-")));
        std::fs::write(file.path(), &text).unwrap();
        let message = Report::from_json_file(file.path()).unwrap_err().to_string();
        let prefix = format!("alloc-trace: {}: ", file.path().display());
        assert!(
            message.starts_with(&prefix) && message.contains(problem),
            "{case}: {message}"
        );
        // The diff of two files says which one is bad (a baseline is fine there).
        if case != "a baseline" {
            let good = TempFile::new(&format!("good-{}.report.json", case.replace(' ', "-")));
            std::fs::write(good.path(), &report_json).unwrap();
            for (before, after) in [(good.path(), file.path()), (file.path(), good.path())] {
                let err = ReportDiff::from_json_files(before, after).unwrap_err();
                assert_eq!(err.path, file.path(), "{case}");
            }
        }
    }
    let err = Report::from_json_file("no/such.json").unwrap_err();
    assert_eq!(
        err.to_string(),
        "alloc-trace: no/such.json: the file does not exist"
    );
}
