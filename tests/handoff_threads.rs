//! Work handed off to threads counts for the call that handed it off, exactly: scoped
//! threads, a spawned thread that lives on after its work (read live), rayon's
//! `par_iter`, `scope` and `join`, work run on the same thread inside another call,
//! nested handoffs and panics. What a call does itself stays its exclusive numbers,
//! equal to what a `capture` of the call on its own thread sees.
//!
//! The tests run in parallel: each has sites of its own and reads the process-wide report
//! by its own paths only.

#[path = "support/below.rs"]
mod below;

use std::hint::black_box;
use std::sync::mpsc;
use std::thread;

use alloc_trace::{Handoff, Report, capture, handoff, track_allocs};
use rayon::prelude::*;

use below::below;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

const THREADS: usize = 4;

/// The site's (calls, inclusive allocs, inclusive bytes, exclusive allocs, exclusive bytes).
fn numbers(report: &Report, name: &str) -> (u64, u64, u64, u64, u64) {
    let s = report
        .site(name)
        .unwrap_or_else(|| panic!("no site {name}"));
    (
        s.calls,
        s.inclusive.allocs,
        s.inclusive.bytes_allocated,
        s.exclusive.allocs,
        s.exclusive.bytes_allocated,
    )
}

/// One allocation of `n` bytes.
#[track_allocs]
fn scoped_child(n: usize) -> usize {
    black_box(vec![1u8; n]).len()
}

/// Four scoped threads, each handed off: their work is below this call.
#[track_allocs]
fn scoped_parent(n: usize) -> usize {
    let mut lengths = black_box(Vec::with_capacity(THREADS));
    thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| s.spawn(handoff(move || scoped_child(n))))
            .collect();
        lengths.extend(workers.into_iter().map(|w| w.join().unwrap()));
    });
    lengths.iter().sum()
}

#[test]
fn scoped_threads_count_for_their_parent() {
    const N: usize = 100;
    let (sum, own) = capture(|| scoped_parent(N));
    assert_eq!(sum, THREADS * N);
    let report = alloc_trace::report();
    let t = THREADS as u64;
    assert_eq!(
        numbers(&report, "scoped_child"),
        (t, t, t * 100, t, t * 100)
    );
    let (calls, incl, incl_bytes, excl, excl_bytes) = numbers(&report, "scoped_parent");
    // Its own numbers: what this thread did in it, the threads' spawning included.
    let mine = own.site("scoped_parent").unwrap();
    assert_eq!(calls, 1);
    assert_eq!(
        (excl, excl_bytes),
        (mine.exclusive.allocs, mine.exclusive.bytes_allocated)
    );
    assert_eq!(mine.inclusive.counts(), mine.exclusive);
    // Plus exactly the children's.
    assert_eq!((incl, incl_bytes), (excl + t, excl_bytes + t * 100));
    let (under, handoff_itself) = below(&report, &["scoped_parent", "[handoff]"]);
    assert_eq!(under, (t, t * 100));
    assert_eq!(handoff_itself, (0, 0));
    assert_eq!(
        below(&report, &["scoped_parent", "[handoff]", "scoped_child"]).1,
        (t, t * 100)
    );
}

/// Two allocations: 10 and 20 bytes.
#[track_allocs]
fn live_child() -> usize {
    black_box(vec![0u8; 10]).len() + black_box(vec![0u8; 20]).len()
}

/// What `live_parent` returns: the worker's result, its go-ahead to exit, and its handle.
type Live = (
    mpsc::Receiver<usize>,
    mpsc::Sender<()>,
    thread::JoinHandle<()>,
);

/// Hands `live_child` and a 40-byte allocation of its own to a thread that stays alive.
#[track_allocs]
fn live_parent() -> Live {
    let (done, result) = mpsc::channel();
    let (go, wait) = mpsc::channel();
    let work = handoff(|| live_child() + black_box(vec![0u8; 40]).len());
    let worker = thread::spawn(move || {
        let n = work();
        done.send(n).unwrap();
        // Alive, outside every tracked call, until the test has read the report.
        wait.recv().unwrap();
    });
    (result, go, worker)
}

#[test]
fn work_counts_when_it_ends_while_its_thread_lives() {
    let ((result, go, worker), own) = capture(live_parent);
    assert_eq!(result.recv().unwrap(), 70);
    // The worker is alive: the report reads it as it is.
    let report = alloc_trace::report();
    let mine = own.site("live_parent").unwrap();
    let (calls, incl, incl_bytes, excl, excl_bytes) = numbers(&report, "live_parent");
    assert_eq!(calls, 1);
    assert_eq!(
        (excl, excl_bytes),
        (mine.exclusive.allocs, mine.exclusive.bytes_allocated)
    );
    assert_eq!((incl, incl_bytes), (excl + 3, excl_bytes + 70));
    // The handed-off closure's own allocation, and its tracked call's.
    let (all, itself) = below(&report, &["live_parent", "[handoff]"]);
    assert_eq!((all, itself), ((3, 70), (1, 40)));
    assert_eq!(numbers(&report, "live_child"), (1, 2, 30, 2, 30));
    go.send(()).unwrap();
    worker.join().unwrap();
}

/// One allocation of `x` bytes.
#[track_allocs]
fn rayon_item(x: usize) -> usize {
    black_box(vec![0u8; x]).len()
}

/// `par_iter().map`, each item handed off.
#[track_allocs]
fn rayon_caller(items: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(items.len());
    let here = Handoff::current();
    items
        .par_iter()
        .map(|&x| here.run(|| rayon_item(x)))
        .collect_into_vec(&mut out);
    out
}

#[test]
fn rayon_par_iter_counts_for_its_caller() {
    let items: Vec<usize> = (1..=64).collect();
    let (out, own) = capture(|| rayon_caller(&items));
    assert_eq!(out, items);
    let report = alloc_trace::report();
    let (n, bytes) = (items.len() as u64, items.iter().sum::<usize>() as u64);
    assert_eq!(numbers(&report, "rayon_item"), (n, n, bytes, n, bytes));
    let mine = own.site("rayon_caller").unwrap();
    let (calls, incl, incl_bytes, excl, excl_bytes) = numbers(&report, "rayon_caller");
    assert_eq!(calls, 1);
    assert_eq!(
        (excl, excl_bytes),
        (mine.exclusive.allocs, mine.exclusive.bytes_allocated)
    );
    assert_eq!((incl, incl_bytes), (excl + n, excl_bytes + bytes));
    assert_eq!(
        below(&report, &["rayon_caller", "[handoff]"]),
        ((n, bytes), (0, 0))
    );
}

/// One allocation of `x` bytes.
#[track_allocs]
fn pool_task(x: usize) -> usize {
    black_box(vec![0u8; x]).len()
}

/// `rayon::scope` (its closures take the scope: run the handoff in them) and
/// `rayon::join` (plain closures: `handoff` them).
#[track_allocs]
fn pool_caller() -> usize {
    let results = std::sync::Mutex::new(black_box(Vec::with_capacity(8)));
    let here = Handoff::current();
    rayon::scope(|s| {
        for x in [1, 2, 3, 4] {
            let results = &results;
            s.spawn(move |_| {
                let n = here.run(|| pool_task(x));
                results.lock().unwrap().push(n);
            });
        }
    });
    let (a, b) = rayon::join(handoff(|| pool_task(5)), handoff(|| pool_task(6)));
    results.into_inner().unwrap().iter().sum::<usize>() + a + b
}

#[test]
fn rayon_scope_and_join_count_for_their_caller() {
    let (sum, own) = capture(pool_caller);
    assert_eq!(sum, 21);
    let report = alloc_trace::report();
    assert_eq!(numbers(&report, "pool_task"), (6, 6, 21, 6, 21));
    let mine = own.site("pool_caller").unwrap();
    let (_, incl, incl_bytes, excl, excl_bytes) = numbers(&report, "pool_caller");
    assert_eq!(
        (excl, excl_bytes),
        (mine.exclusive.allocs, mine.exclusive.bytes_allocated)
    );
    assert_eq!((incl, incl_bytes), (excl + 6, excl_bytes + 21));
    assert_eq!(
        below(&report, &["pool_caller", "[handoff]"]),
        ((6, 21), (0, 0))
    );
}

/// 8 bytes.
#[track_allocs]
fn here_leaf() -> Box<u64> {
    black_box(Box::new(8))
}

/// Runs the work it is given: on this thread, but the work is another call's.
#[track_allocs]
fn bystander(work: impl FnOnce() -> Box<u64>) -> Box<u64> {
    let _mine = black_box(vec![0u8; 3]);
    work()
}

#[track_allocs]
fn here_parent() -> (Box<u64>, Box<u64>) {
    let own = black_box(Box::new(1u64));
    let here = Handoff::current();
    let theirs = bystander(move || here.run(here_leaf));
    (own, theirs)
}

#[test]
fn work_run_inside_another_call_counts_for_the_call_that_handed_it_off() {
    let (_, report) = capture(here_parent);
    let bystander = report.site("bystander").unwrap();
    assert_eq!(
        (bystander.inclusive.allocs, bystander.exclusive.allocs),
        (1, 1)
    );
    let parent = report.site("here_parent").unwrap();
    assert_eq!((parent.inclusive.allocs, parent.exclusive.allocs), (3, 1));
    assert_eq!(
        below(&report, &["here_parent", "[handoff]", "here_leaf"]).1,
        (1, 8)
    );
}

/// Hands work to a thread, whose work hands work to another thread before it allocates:
/// a `[handoff]` frame's path is known from its start.
#[track_allocs]
fn nesting_parent() -> usize {
    let own = black_box(vec![0u8; 1]);
    let outer = handoff(|| {
        let inner = handoff(|| black_box(vec![0u8; 5]).len());
        thread::spawn(inner).join().unwrap() + black_box(vec![0u8; 7]).len()
    });
    thread::spawn(outer).join().unwrap() + own.len()
}

#[test]
fn handoffs_nest() {
    assert_eq!(nesting_parent(), 13);
    let report = alloc_trace::report();
    let (_, incl, incl_bytes, excl, excl_bytes) = numbers(&report, "nesting_parent");
    let (all, outer_itself) = below(&report, &["nesting_parent", "[handoff]"]);
    let inner = below(&report, &["nesting_parent", "[handoff]", "[handoff]"]).1;
    assert_eq!(inner, (1, 5));
    // The outer work's own: its 7 bytes and spawning its thread.
    assert_eq!(all, (outer_itself.0 + 1, outer_itself.1 + 5));
    assert!(outer_itself.0 >= 1 && outer_itself.1 >= 7);
    assert_eq!((incl, incl_bytes), (excl + all.0, excl_bytes + all.1));
}

/// Allocates 16 bytes, then panics.
#[track_allocs]
fn panicking_parent() -> bool {
    let own = black_box(Box::new(0u8));
    let work = handoff(|| {
        let _held = black_box(vec![0u8; 16]);
        panic!("handoff_threads: the work panics");
    });
    let panicked = thread::spawn(move || std::panic::catch_unwind(work).is_err())
        .join()
        .unwrap();
    drop(own);
    panicked
}

#[test]
fn work_that_panics_is_counted_up_to_the_panic() {
    assert!(panicking_parent());
    let report = alloc_trace::report();
    let (all, itself) = below(&report, &["panicking_parent", "[handoff]"]);
    // The 16 bytes, and what the panic allocated (its payload, the unwinder's exception).
    assert_eq!(all, itself);
    assert!(itself.0 >= 1 && itself.1 >= 16);
    let (_, incl, _, excl, _) = numbers(&report, "panicking_parent");
    assert_eq!(incl, excl + itself.0);
}

/// 32 bytes.
#[track_allocs]
fn early_work() -> usize {
    black_box(vec![0u8; 32]).len()
}

/// Takes the handoff first thing, having allocated nothing.
#[track_allocs]
fn early_parent() -> impl FnOnce() -> usize + Send + 'static {
    handoff(early_work)
}

#[track_allocs]
fn early_outer() -> impl FnOnce() -> usize + Send + 'static {
    early_parent()
}

#[test]
fn work_taken_before_the_call_allocates_counts_at_the_root() {
    // The calls end without having allocated: their frames are left as they were.
    let work = early_outer();
    assert_eq!(thread::spawn(work).join().unwrap(), 32);
    let ((), after) = capture(|| drop(here_leaf()));
    let paths: Vec<&str> = after.paths().iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, [format!("{}::here_leaf", module_path!())]);
    let report = alloc_trace::report();
    // The work is at the top of its paths, in no call's numbers.
    assert_eq!(below(&report, &["[handoff]", "early_work"]).1, (1, 32));
    assert_eq!(numbers(&report, "early_parent"), (1, 0, 0, 0, 0));
    assert_eq!(numbers(&report, "early_outer"), (1, 0, 0, 0, 0));
}
