//! `process_stats()` right after `std::thread::scope` returns equals an independent count
//! of every allocation, exactly, 200 times in a row: also the allocations of the scoped
//! threads' thread-local destructors, which run after `scope` has returned (it waits for
//! the threads' closures, not for their exit), one of them after a 30 ms sleep.
//!
//! Control, exact today: the same threads spawned with `std::thread::spawn` and joined
//! (`join` waits for the thread to exit, destructors included).
//!
//! `harness = false`: see `support/oracle.rs`.

#[path = "support/oracle.rs"]
mod oracle;

use std::cell::RefCell;
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use alloc_trace::AllocCounts;
use oracle::{Checks, Oracle, Window};

#[global_allocator]
static ALLOC: Oracle = Oracle::new();

fn main() {
    oracle::run(
        "live_scoped_threads",
        &[
            (
                "scope, a 30 ms sleep in one thread-local destructor",
                scope_with_slow_destructor,
            ),
            ("scope, no delay", scope_without_delay),
            ("control: spawn and join", spawn_and_join),
        ],
    );
}

const THREADS: usize = 4;
const ITERATIONS: usize = 200;
/// Each thread allocates and frees `BLOCKS` blocks of `BLOCK` bytes, and its thread-local
/// destructor one of `FAREWELL` bytes: 400,400 bytes a thread, 1,601,600 for the four.
const BLOCKS: usize = 100;
const BLOCK: usize = 4000;
const FAREWELL: usize = 400;

/// A thread-local whose destructor allocates (after `delay`, if any).
struct Farewell {
    delay: Option<Duration>,
}

impl Drop for Farewell {
    fn drop(&mut self) {
        if let Some(delay) = self.delay {
            thread::sleep(delay);
        }
        drop(black_box(vec![0u8; FAREWELL]));
    }
}

thread_local! {
    static FAREWELL_AT_EXIT: RefCell<Option<Farewell>> = const { RefCell::new(None) };
}

fn thread_body(delay: Option<Duration>) {
    for _ in 0..BLOCKS {
        drop(black_box(vec![0u8; BLOCK]));
    }
    FAREWELL_AT_EXIT.with(|f| *f.borrow_mut() = Some(Farewell { delay }));
}

/// The delay of thread `t`'s destructor.
type Delays = fn(usize) -> Option<Duration>;

fn scope_with_slow_destructor() -> Checks {
    iterate(
        "scope",
        |delays| {
            thread::scope(|s| {
                for t in 0..THREADS {
                    s.spawn(move || thread_body(delays(t)));
                }
            });
        },
        |t| (t == 0).then_some(Duration::from_millis(30)),
    )
}

fn scope_without_delay() -> Checks {
    iterate(
        "scope",
        |delays| {
            thread::scope(|s| {
                for t in 0..THREADS {
                    s.spawn(move || thread_body(delays(t)));
                }
            });
        },
        |_| None,
    )
}

fn spawn_and_join() -> Checks {
    iterate(
        "spawn + join",
        |delays| {
            let threads: Vec<_> = (0..THREADS)
                .map(|t| thread::spawn(move || thread_body(delays(t))))
                .collect();
            for t in threads {
                t.join().expect("thread");
            }
        },
        |_| None,
    )
}

/// Waits (at most a second) until the threads of the last iteration are folded into
/// today's totals, so that each iteration's numbers are its own. Not needed for the
/// comparison itself, which is made before this, at one quiet moment.
fn settle(window: &Window) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        let now = window.close();
        if now.stats == now.oracle {
            return true;
        }
        thread::sleep(Duration::from_millis(1));
    }
    false
}

fn iterate(what: &str, run: fn(Delays), delays: Delays) -> Checks {
    let mut results: Vec<(AllocCounts, AllocCounts)> = Vec::with_capacity(ITERATIONS);
    let mut unsettled = 0;
    for _ in 0..ITERATIONS {
        let window = Window::open();
        run(delays);
        let closed = window.close();
        results.push((closed.stats, closed.oracle));
        if !settle(&window) {
            unsettled += 1;
        }
    }

    let mut checks = Checks::new();
    let differ: Vec<(AllocCounts, AllocCounts)> =
        results.iter().copied().filter(|(s, o)| s != o).collect();
    let short_bytes =
        |(s, o): &(AllocCounts, AllocCounts)| o.bytes_allocated as i128 - s.bytes_allocated as i128;
    let worst = differ.iter().max_by_key(|d| short_bytes(d));
    checks.eq(
        &format!("{what}: iterations where process_stats() != oracle right after"),
        differ.len(),
        0,
    );
    if let Some((s, o)) = worst {
        checks.note(&format!(
            "largest shortfall: process_stats() {} where the oracle counted {} ({})",
            oracle::brief(*s),
            oracle::brief(*o),
            oracle::signed(*s, *o)
        ));
        let total_short: i128 = differ.iter().map(short_bytes).sum();
        checks.note(&format!(
            "bytes missing over the {} iterations that differ: {total_short}",
            differ.len()
        ));
    }
    // (Not 1,601,600: a destructor that sleeps has not allocated yet when `scope` returns.)
    checks.truth(
        &format!("{what}: the oracle saw the threads' 1,600,000 bytes of blocks each time"),
        results
            .iter()
            .all(|(_, o)| o.bytes_allocated >= (THREADS * BLOCKS * BLOCK) as u64),
        "an iteration allocated less",
    );
    checks.eq(
        &format!("{what}: iterations whose threads were never counted (1 s)"),
        unsettled,
        0,
    );
    checks
}
