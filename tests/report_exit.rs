//! The report printed at exit, checked on a real process (`src/bin/exit-report-probe.rs`):
//! the guard, the `ALLOC_TRACE` variable and its forms and destinations, printing once,
//! `process::exit`, panics, and threads still running at exit.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TITLE: &str = "alloc-trace report (all threads, since the program started)";

/// Runs the probe in `mode` with `ALLOC_TRACE` set to `env` (or unset), within 20 s.
fn run(mode: &str, env: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_exit-report-probe"));
    command
        .arg(mode)
        .env_remove("ALLOC_TRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(value) = env {
        command.env("ALLOC_TRACE", value);
    }
    let mut child = command.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("exit-report-probe {mode} did not exit within 20 s (deadlock at exit?)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `probe::work` row of a table, without its share (which depends on what the Rust
/// runtime allocated outside): 3 calls, 1 allocation of 100 bytes each, all freed.
const WORK_ROW: &str = "3 3 1 0 300 B 100 B 0 B 0 B 100 B";

fn assert_one_table(table: &str) {
    assert_eq!(
        table.matches(TITLE).count(),
        1,
        "exactly one report:\n{table}"
    );
    let row = table
        .lines()
        .find(|l| l.ends_with("  probe::work"))
        .unwrap_or_else(|| panic!("no row:\n{table}"));
    let tokens: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(tokens[..tokens.len() - 2].join(" "), WORK_ROW, "{table}");
    assert!(table.contains("TOTAL (all threads)"), "{table}");
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("alloc-trace-exit-{}-{name}", std::process::id()))
}

#[test]
fn the_guard_prints_the_table_on_stderr_once() {
    let out = run("guard", None);
    assert!(out.status.success());
    assert_one_table(&text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn without_guard_or_variable_nothing_is_printed() {
    let out = run("env", None);
    assert!(out.status.success());
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (String::new(), String::new())
    );
}

#[test]
fn the_variable_alone_prints_at_exit() {
    for value in ["1", "stderr", "table", "table:stderr"] {
        let out = run("env", Some(value));
        assert!(out.status.success());
        assert_one_table(&text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "ALLOC_TRACE={value}");
    }
}

#[test]
fn stdout_destination() {
    for mode in ["env", "guard"] {
        let out = run(mode, Some("stdout"));
        assert_one_table(&text(&out.stdout));
        assert_eq!(text(&out.stderr), "");
    }
}

#[test]
fn off_silences_even_the_guard() {
    let out = run("guard", Some("off"));
    assert!(out.status.success());
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (String::new(), String::new())
    );
}

#[test]
fn json_to_a_file() {
    let path = temp_path("report.json");
    let out = run("guard", Some(&format!("json:{}", path.display())));
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
    let json = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let report = alloc_trace::Report::from_json(&json).unwrap();
    assert_eq!(report.scope(), alloc_trace::report::Scope::Process);
    let work = report.site("probe::work").unwrap();
    assert_eq!(work.calls, 3);
    assert_eq!(
        work.inclusive,
        alloc_trace::AllocStats {
            allocs: 3,
            reallocs: 0,
            frees: 3,
            bytes_allocated: 300,
            bytes_freed: 300,
            peak_bytes: 100
        }
    );
    assert_eq!(report.site("probe::spin").unwrap().calls, 0);
}

#[test]
fn folded_and_table_to_files() {
    for (form, expected) in [
        ("folded", "probe::work 3\n"),
        ("folded-bytes", "probe::work 300\n"),
    ] {
        let path = temp_path(form);
        let out = run("env", Some(&format!("{form}:{}", path.display())));
        assert!(out.status.success());
        let folded = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        // The outside line's weight depends on the Rust runtime; the work line is exact.
        // Lines are sorted: `[` before `p`.
        assert!(
            folded.starts_with("[outside tracked functions] "),
            "{folded}"
        );
        assert!(folded.ends_with(&format!("\n{expected}")), "{folded}");
        assert_eq!(text(&out.stderr), "");
    }
    let path = temp_path("table.txt");
    let out = run("env", Some(&format!("table:{}", path.display())));
    assert!(out.status.success());
    let table = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_one_table(&table);
}

#[test]
fn process_exit_with_the_guard_alive_still_prints_once() {
    let out = run("exit", None);
    assert_eq!(out.status.code(), Some(3));
    assert_one_table(&text(&out.stderr));
}

#[test]
fn a_panic_in_main_still_prints_once() {
    let out = run("panic", None);
    assert_eq!(out.status.code(), Some(101));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("the probe panics"), "{stderr}");
    assert_one_table(&stderr);
}

#[test]
fn threads_still_running_at_exit_neither_block_nor_corrupt_it() {
    for (mode, env) in [
        ("threads-guard", None),
        ("threads-env", Some("1")),
        ("threads-guard", Some("json:stderr")),
    ] {
        let out = run(mode, env);
        assert!(out.status.success(), "{mode}: {out:?}");
        let stderr = text(&out.stderr);
        if env == Some("json:stderr") {
            let report = alloc_trace::Report::from_json(&stderr).unwrap();
            assert_eq!(report.site("probe::work").unwrap().calls, 3);
            assert!(report.site("probe::spin").unwrap().calls > 0, "{stderr}");
        } else {
            assert_one_table(&stderr);
            assert!(stderr.contains("  probe::spin\n"), "{stderr}");
        }
    }
}

#[test]
fn an_unknown_value_warns_and_prints_the_table() {
    let out = run("env", Some("loud"));
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("alloc-trace: ALLOC_TRACE=\"loud\" is not understood"),
        "{stderr}"
    );
    assert_one_table(&stderr);
}
