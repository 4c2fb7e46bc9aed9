//! A tracked `async fn` in flight: an accept-loop-like call that allocated in its first
//! poll and is pending, and a handler blocked in the middle of its second poll. A report
//! taken meanwhile lists each (it is not "never called"), shows its allocations so far
//! exactly, and its totals equal an independent count of every allocation, while the
//! thread that polls it is alive.
//!
//! The future is polled by hand on a thread of its own (a no-op waker), so every step is
//! in the test's hands.
//!
//! `harness = false`: see `support/oracle.rs`.

#[path = "support/oracle.rs"]
mod oracle;
#[path = "support/yield_once.rs"]
mod yield_once;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::thread;

use alloc_trace::track_allocs;
use oracle::{Checks, Oracle, Window};
use yield_once::YieldOnce;

#[global_allocator]
static ALLOC: Oracle = Oracle::new();

fn main() {
    oracle::run(
        "live_async_call",
        &[
            ("an async accept loop pending", pending_accept_loop),
            (
                "an async handler blocked inside a poll",
                blocked_inside_a_poll,
            ),
            (
                "an async handler blocked inside a poll, after a tracked call in it",
                blocked_after_a_nested_call,
            ),
        ],
    );
}

/// One allocation, so the polling thread's record and tables exist before the window.
#[track_allocs]
fn warm_up() -> Box<u64> {
    black_box(Box::new(0u64))
}

/// Like an accept loop: its first poll allocates 4 times (a `Vec` for 8 connections,
/// 8 x 24 bytes, and 3 names of 16 bytes), then it waits (is pending) until polled again;
/// it frees all 4 when it returns.
#[track_allocs]
async fn accept_loop() -> usize {
    let mut connections: Vec<String> = Vec::with_capacity(8);
    for i in 0..3u8 {
        let mut name = String::with_capacity(16);
        name.push_str("conn-");
        name.push(char::from(b'0' + i));
        connections.push(name);
    }
    YieldOnce::default().await;
    black_box(connections).len()
}

const FIRST_POLL: (u64, u64) = (4, 8 * 24 + 3 * 16);

fn pending_accept_loop() -> Checks {
    let sync = Arc::new(Barrier::new(2));
    let poller = {
        let sync = Arc::clone(&sync);
        thread::spawn(move || {
            // Kept: freeing it before the window would be one more thing published late.
            let _warm = warm_up();
            sync.wait(); // warmed up: the main thread opens its window
            sync.wait(); // window open
            let mut cx = Context::from_waker(Waker::noop());
            let mut call = pin!(accept_loop());
            let first = call.as_mut().poll(&mut cx);
            // What the thread does next is not in the call: it notes the poll.
            let polls = black_box(vec![first.is_pending()]);
            sync.wait(); // pending: the main thread looks now
            sync.wait(); // released
            let second = call.as_mut().poll(&mut cx);
            (polls, second)
        })
    };
    sync.wait();
    let window = Window::open();
    sync.wait();
    sync.wait(); // `accept_loop` is pending after its first poll
    let pending = window.close_with_report();
    sync.wait(); // release it
    let (polls, second) = poller.join().expect("poller");
    let done = alloc_trace::report();

    let mut checks = Checks::new();
    checks.eq(
        "first poll pending, second ready with 3",
        (polls, second),
        (vec![true], Poll::Ready(3)),
    );
    checks.window("accept_loop pending, its thread alive", &pending);
    let report = pending.full_report.as_ref().expect("taken");
    let site = report.site("accept_loop").expect("site");
    checks.eq(
        "accept_loop (in flight): inclusive (allocs, bytes) so far",
        (site.inclusive.allocs, site.inclusive.bytes_allocated),
        FIRST_POLL,
    );
    checks.eq(
        "accept_loop (in flight): exclusive (allocs, bytes) so far",
        (site.exclusive.allocs, site.exclusive.bytes_allocated),
        FIRST_POLL,
    );
    let table = report.to_string();
    checks.truth(
        "accept_loop (in flight) is listed in the table",
        table.contains("live_async_call::accept_loop"),
        &format!("not listed (calls = {})", site.calls),
    );
    checks.eq(
        "accept_loop: calls finished, and in flight",
        (site.calls, site.in_flight),
        (0, 1),
    );
    checks.truth(
        "accept_loop is marked as in flight in the table",
        table.contains("live_async_call::accept_loop  (1 in flight)"),
        &table,
    );
    checks.eq(
        "rows (exclusive + outside + unattributed) == totals: (allocs, bytes)",
        oracle::rows_sum(report),
        (report.totals().allocs, report.totals().bytes_allocated),
    );

    // Control, exact today: once the call has returned and its thread exited.
    let site = done.site("accept_loop").expect("site");
    checks.eq(
        "accept_loop after it returned: (calls, allocs, frees, bytes)",
        (
            site.calls,
            site.inclusive.allocs,
            site.inclusive.frees,
            site.inclusive.bytes_allocated,
        ),
        (1, FIRST_POLL.0, FIRST_POLL.0, FIRST_POLL.1),
    );
    checks
}

/// Like a handler that makes a blocking call: its first poll allocates 2 blocks (16 and
/// 32 bytes), then it is pending; its second poll allocates 3 more (64 bytes each), then
/// blocks (the main thread looks now) until released. Everything is freed when it returns.
#[track_allocs]
async fn blocking_handler(sync: Arc<Barrier>) -> usize {
    let first = black_box((vec![0u8; 16], vec![0u8; 32]));
    YieldOnce::default().await;
    let second = black_box([vec![1u8; 64], vec![2u8; 64], vec![3u8; 64]]);
    sync.wait(); // allocated everything: the main thread looks now
    sync.wait(); // released
    first.0.len() + first.1.len() + second.iter().map(Vec::len).sum::<usize>()
}

const BOTH_POLLS: (u64, u64) = (5, 16 + 32 + 3 * 64);
const FIRST_OF_BOTH: (u64, u64) = (2, 16 + 32);

fn blocked_inside_a_poll() -> Checks {
    let sync = Arc::new(Barrier::new(2));
    let poller = {
        let sync = Arc::clone(&sync);
        thread::spawn(move || {
            // Kept: freeing it before the window would be one more thing published late.
            let _warm = warm_up();
            sync.wait(); // warmed up: the main thread opens its window
            sync.wait(); // window open
            let mut cx = Context::from_waker(Waker::noop());
            let mut call = pin!(blocking_handler(Arc::clone(&sync)));
            let first = call.as_mut().poll(&mut cx);
            let second = call.as_mut().poll(&mut cx); // blocks inside, see above
            (first, second)
        })
    };
    sync.wait();
    let window = Window::open();
    sync.wait();
    sync.wait(); // `blocking_handler` is inside its second poll
    let during = window.close_with_report();
    sync.wait(); // release it
    let (first, second) = poller.join().expect("poller");

    let mut checks = Checks::new();
    checks.eq(
        "first poll pending, second ready with 240",
        (first, second),
        (Poll::Pending, Poll::Ready(240)),
    );
    checks.window("blocking_handler inside a poll, its thread alive", &during);
    let report = during.full_report.as_ref().expect("taken");
    let site = report.site("blocking_handler").expect("site");
    // What the finished first poll booked is the function's; what the running second poll
    // did so far cannot be given to a function until the poll ends: the report says so.
    checks.eq(
        "blocking_handler (in flight, in a poll): inclusive (allocs, bytes) booked",
        (site.inclusive.allocs, site.inclusive.bytes_allocated),
        FIRST_OF_BOTH,
    );
    checks.eq(
        "blocking_handler (in flight, in a poll): exclusive (allocs, bytes) booked",
        (site.exclusive.allocs, site.exclusive.bytes_allocated),
        FIRST_OF_BOTH,
    );
    let pending = report.unattributed();
    checks.eq(
        "the running poll's allocations: unattributed (allocs, bytes)",
        (pending.allocs, pending.bytes_allocated),
        (
            BOTH_POLLS.0 - FIRST_OF_BOTH.0,
            BOTH_POLLS.1 - FIRST_OF_BOTH.1,
        ),
    );
    checks.eq(
        "blocking_handler: calls finished, and in flight",
        (site.calls, site.in_flight),
        (0, 1),
    );
    let table = report.to_string();
    checks.truth(
        "blocking_handler is marked as in flight in the table",
        table.contains("live_async_call::blocking_handler  (1 in flight)"),
        &table,
    );
    checks.truth(
        "the table says what is not yet given to a function",
        table.contains("(in tracked calls in flight, not yet given to a function)"),
        &table,
    );
    checks.eq(
        "rows (exclusive + outside + unattributed) == totals: (allocs, bytes)",
        oracle::rows_sum(report),
        (report.totals().allocs, report.totals().bytes_allocated),
    );
    checks
}

/// A tracked function the handler below calls in its second poll: one 40-byte block, kept
/// by the caller.
#[track_allocs]
fn make_reply() -> Box<[u8; 40]> {
    black_box(Box::new([7u8; 40]))
}

/// Like `blocking_handler`, but its second poll first makes a tracked call that allocates
/// (so the thread has booked, and published, the handler's call path) and then blocks.
#[track_allocs]
async fn handler_with_reply(sync: Arc<Barrier>) -> usize {
    let first = black_box(vec![0u8; 16]);
    YieldOnce::default().await;
    let reply = make_reply();
    sync.wait(); // the main thread looks now
    sync.wait(); // released
    first.len() + reply.len()
}

/// Regression: the handler's call was counted in flight twice, once as started and not
/// finished, and once more as a frame on the path its thread had published (seen on the
/// tokio server of `live_kv_server` as "(0, 2), expected (0, 1)").
fn blocked_after_a_nested_call() -> Checks {
    let sync = Arc::new(Barrier::new(2));
    let poller = {
        let sync = Arc::clone(&sync);
        thread::spawn(move || {
            let _warm = warm_up();
            sync.wait(); // warmed up
            let mut cx = Context::from_waker(Waker::noop());
            let mut call = pin!(handler_with_reply(Arc::clone(&sync)));
            let first = call.as_mut().poll(&mut cx);
            let second = call.as_mut().poll(&mut cx); // blocks inside, see above
            (first, second)
        })
    };
    sync.wait();
    sync.wait(); // `handler_with_reply` is inside its second poll, after `make_reply`
    let report = alloc_trace::report();
    sync.wait(); // release it
    let (first, second) = poller.join().expect("poller");

    let mut checks = Checks::new();
    checks.eq(
        "first poll pending, second ready with 56",
        (first, second),
        (Poll::Pending, Poll::Ready(56)),
    );
    let site = report.site("handler_with_reply").expect("site");
    checks.eq(
        "handler_with_reply: calls finished, and in flight",
        (site.calls, site.in_flight),
        (0, 1),
    );
    let nested = report.site("make_reply").expect("site");
    checks.eq(
        "make_reply (returned): calls, in flight, allocs",
        (nested.calls, nested.in_flight, nested.inclusive.allocs),
        (1, 0, 1),
    );
    let table = report.to_string();
    checks.truth(
        "handler_with_reply is marked as in flight once in the table",
        table.contains("live_async_call::handler_with_reply  (1 in flight)"),
        &table,
    );
    checks
}
