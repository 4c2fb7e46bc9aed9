//! Without `CountingAlloc` as the global allocator, `report()` panics with the lines to
//! add (like `measure` and `process_stats`: one policy), and the exit report prints the
//! same message on standard error where its table would go, instead of showing zeros as
//! if they were real. (This test binary deliberately installs none.)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;

/// The whole message, lines to add included.
const NOT_INSTALLED: &str = "alloc-trace: `CountingAlloc` is not the global allocator, so nothing can be \
counted. Add these lines to your binary, test or bench (once per binary, e.g. at the top of `main.rs` or of \
the test file):

    #[global_allocator]
    static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
";

/// Set in the environment of the copy of this test binary that prints the exit report.
const CHILD: &str = "ALLOC_TRACE_NOT_COUNTING_CHILD";

fn panic_message(f: impl FnOnce()) -> Option<String> {
    let payload = catch_unwind(AssertUnwindSafe(f)).err()?;
    Some(match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(String::new, |s| (*s).to_owned()),
    })
}

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
