//! The ownership view's process-wide numbers agree exactly with dhat's, an independent
//! implementation, on the differential workloads (those of `tests/dhat_differential.rs`
//! plus ones that cross threads): the bytes and blocks alive at the peak ("At t-gmax":
//! dhat's `max_bytes`, `max_blocks`) and at the end ("At t-end": `curr_bytes`,
//! `curr_blocks`).
//!
//! Each workload runs alone in a child process (this binary again), because the peak is
//! process-wide and since the program started: the child does nothing before the
//! workload but read its name (with `getenv`, which does not allocate) and the process's
//! live bytes (`process_stats`, which does not either), so the peak of the whole process
//! is what was alive before (the runtime's start-up, whose own peak is what is still
//! alive then) plus the workload's peak. dhat measures from its profiler's start in its
//! own binary (`dhat-oracle`, with dhat as the global allocator: no header), so each
//! number here is compared as "ours minus what was alive before the workload".
//!
//! Run by `cargo test --features ownership` (see `.ci/run`).

#[path = "support/dhat_oracle.rs"]
mod dhat_oracle;
#[path = "support/differential.rs"]
mod differential;

use alloc_trace::CountingAlloc;
use differential::{CROSS_THREAD, OracleAtPeak, WORKLOADS};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const CHILD: &core::ffi::CStr = c"ALLOC_TRACE_OWNERSHIP_WORKLOAD";

/// The workload this process must run, if it is a child: read without allocating.
fn child_workload() -> Option<&'static str> {
    // SAFETY: `getenv` with a NUL-terminated name; nothing sets the environment here.
    let value = unsafe { libc::getenv(CHILD.as_ptr()) };
    if value.is_null() {
        return None;
    }
    // SAFETY: a non-null result of `getenv` is a NUL-terminated string that stays valid
    // while the environment is not changed.
    let bytes = unsafe { core::ffi::CStr::from_ptr(value) }.to_bytes();
    WORKLOADS
        .iter()
        .chain(CROSS_THREAD)
        .map(|(name, _)| *name)
        .find(|name| name.as_bytes() == bytes)
}

/// The child: runs `name` and prints, relative to what was alive before it, the bytes and
/// blocks alive at the peak and at the end (the workload's kept value still alive), and
/// whether the view says it is exact.
fn run_child(name: &str) {
    let before = alloc_trace::process_stats();
    let workload = WORKLOADS
        .iter()
        .chain(CROSS_THREAD)
        .find(|(n, _)| *n == name)
        .map(|(_, w)| *w)
        .expect("a workload");
    let kept = workload();
    // The report reads its numbers before it allocates anything of its own.
    let report = alloc_trace::report();
    let o = *report
        .ownership()
        .expect("built with the `ownership` feature");
    let (bytes0, blocks0) = (before.net_bytes() as u64, before.allocs - before.frees);
    println!(
        "{name} {} {} {} {} {}",
        o.peak.bytes - bytes0,
        o.peak.blocks - blocks0,
        o.live.bytes - bytes0,
        o.live.blocks - blocks0,
        o.exact
    );
    drop(kept);
}

fn dhat_numbers() -> Vec<(String, OracleAtPeak)> {
    dhat_oracle::dhat_oracle_output()
        .lines()
        .map(OracleAtPeak::from_line)
        .collect()
}

fn main() {
    if let Some(name) = child_workload() {
        run_child(name);
        return;
    }
    let expected = dhat_numbers();
    assert_eq!(expected.len(), WORKLOADS.len() + CROSS_THREAD.len());
    let me = std::env::current_exe().unwrap();
    for (name, dhat) in &expected {
        let out = std::process::Command::new(&me)
            .env(CHILD.to_str().unwrap(), name)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "workload `{name}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&name.as_str()), "{line}");
        let n = |i: usize| words[i].parse::<u64>().unwrap();
        let ours = (n(1), n(2), n(3), n(4));
        let theirs = (
            dhat.oracle.max_bytes,
            dhat.max_blocks,
            dhat.oracle.curr_bytes,
            dhat.oracle.curr_blocks,
        );
        assert_eq!(
            ours, theirs,
            "workload `{name}`: (bytes at peak, blocks at peak, bytes at end, blocks at end), \
             alloc-trace's ownership view (left) vs dhat (right)"
        );
        assert_eq!(
            words[5], "true",
            "workload `{name}`: its peak was reached one thread at a time, above anything \
             a race before it could hide"
        );
        assert!(
            dhat.oracle.total_blocks > 0,
            "workload `{name}` must allocate to be a test"
        );
        println!(
            "ok: {name}: at peak {} B in {} blocks, at end {} B in {} blocks",
            ours.0, ours.1, ours.2, ours.3
        );
    }
    println!(
        "ownership_dhat: {} workloads agree with dhat",
        expected.len()
    );
}
