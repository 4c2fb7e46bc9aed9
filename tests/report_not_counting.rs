//! Without `CountingAlloc` as the global allocator, `report()` panics with the lines to
//! add (like `measure` and `process_stats`: one policy), and the exit report prints the
//! same message on standard error where its table would go, instead of showing zeros as
//! if they were real. (This test binary deliberately installs none.)

use std::process::Command;

#[path = "support/not_installed.rs"]
mod not_installed;
#[path = "support/panics.rs"]
mod panics;

use not_installed::NOT_INSTALLED;
use panics::panic_message;

/// Set in the environment of the copy of this test binary that prints the exit report.
const CHILD: &str = "ALLOC_TRACE_NOT_COUNTING_CHILD";

#[test]
fn report_panics_with_the_lines_to_add() {
    assert!(!alloc_trace::is_installed());
    let message = panic_message(|| drop(alloc_trace::report()));
    assert_eq!(message.as_deref(), Some(NOT_INSTALLED));
    assert!(NOT_INSTALLED.contains("#[global_allocator]"));
}

/// Run by `the_exit_report_prints_the_message_on_stderr` in a child process: drops an exit
/// report guard, which prints. Does nothing in the ordinary test run.
#[test]
fn exit_report_child() {
    if std::env::var_os(CHILD).is_some() {
        drop(alloc_trace::report_on_exit());
    }
}

#[test]
fn the_exit_report_prints_the_message_on_stderr() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "exit_report_child", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("ALLOC_TRACE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // The message alone, once (the guard prints; the `atexit` hook it armed does not
    // print again), and no table.
    assert_eq!(String::from_utf8_lossy(&out.stderr), NOT_INSTALLED);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("test exit_report_child ... ok"), "{stdout}");
}
