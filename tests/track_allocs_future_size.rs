//! What `#[track_allocs]` adds to an `async fn`'s future: the wrapper's own fields and
//! nothing more. Each tracked function here has an untracked twin with the same body.
//!
//! The expansion writes a tracked `async fn` as the `fn -> impl Future` rustc makes of it,
//! with the wrapper around the body's own `async move` block: the tracked future is no
//! bigger than the untracked one inside a `TrackedFuture` (a method's is 8 bytes smaller:
//! its block uses the captured `self` without moving it to a second local). An `async fn`
//! that awaited the wrapper would keep a second copy of its arguments
//! (rust-lang/rust#62958), as `awaiting_argument_512` shows.

use std::hint::black_box;

use alloc_trace::__private::{Site, track_future};
use alloc_trace::track_allocs;

#[path = "support/block_on.rs"]
mod block_on;
#[path = "support/yield_once.rs"]
mod yield_once;

use block_on::block_on;
use yield_once::YieldOnce;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// The most a tracked future may add to the one it wraps.
const MAX_ADDED: usize = 64;

#[track_allocs]
async fn small(n: u32) -> u32 {
    YieldOnce::default().await;
    n + 1
}

async fn small_untracked(n: u32) -> u32 {
    YieldOnce::default().await;
    n + 1
}

/// The argument is used after the await: an `async fn` keeps it twice (as an argument,
/// and moved into the body), tracked or not.
#[track_allocs]
async fn argument_512(buf: [u8; 512]) -> u8 {
    YieldOnce::default().await;
    buf[3]
}

async fn argument_512_untracked(buf: [u8; 512]) -> u8 {
    YieldOnce::default().await;
    buf[3]
}

/// The argument is used before the first await only: kept once.
#[track_allocs]
async fn argument_512_before_await(buf: [u8; 512]) -> u8 {
    let x = buf[3];
    YieldOnce::default().await;
    x
}

async fn argument_512_before_await_untracked(buf: [u8; 512]) -> u8 {
    let x = buf[3];
    YieldOnce::default().await;
    x
}

/// An attribute after `#[track_allocs]` that is not known to be inert (here
/// `#[must_use]`, which on an `async fn` applies to its output) keeps the `async fn`: its
/// body awaits the wrapper, which holds a second copy of the argument.
#[track_allocs]
#[must_use]
async fn awaiting_argument_512(buf: [u8; 512]) -> u8 {
    let x = buf[3];
    YieldOnce::default().await;
    x
}

struct Big([u8; 256]);

#[track_allocs]
async fn patterns((a, b): (Big, u8), _: Big, mut c: u8) -> u8 {
    YieldOnce::default().await;
    c += b;
    a.0[0] + c
}

async fn patterns_untracked((a, b): (Big, u8), _: Big, mut c: u8) -> u8 {
    YieldOnce::default().await;
    c += b;
    a.0[0] + c
}

/// 3 KiB of locals across two awaits.
#[track_allocs]
async fn large_state() -> u8 {
    let a = black_box([1u8; 1024]);
    YieldOnce::default().await;
    let b = black_box([2u8; 2048]);
    YieldOnce::default().await;
    a[0] + b[0]
}

async fn large_state_untracked() -> u8 {
    let a = black_box([1u8; 1024]);
    YieldOnce::default().await;
    let b = black_box([2u8; 2048]);
    YieldOnce::default().await;
    a[0] + b[0]
}

struct Handler(u64);

impl Handler {
    /// A method site: the runtime learns its type from the first call.
    #[track_allocs]
    async fn serve(&self, request: [u8; 100]) -> u64 {
        YieldOnce::default().await;
        self.0 + u64::from(request[0])
    }

    async fn serve_untracked(&self, request: [u8; 100]) -> u64 {
        YieldOnce::default().await;
        self.0 + u64::from(request[0])
    }
}

static SITE: Site = Site::new("the wrapper alone", file!(), line!());

/// `(name, untracked, tracked, untracked in the wrapper)` sizes, for each case.
fn sizes() -> Vec<(&'static str, usize, usize, usize)> {
    let handler = Handler(1);
    macro_rules! case {
        ($name:literal, $untracked:expr, $tracked:expr) => {
            (
                $name,
                size_of_val(&$untracked),
                size_of_val(&$tracked),
                size_of_val(&track_future(&SITE, $untracked)),
            )
        };
    }
    vec![
        case!("small", small_untracked(1), small(1)),
        case!(
            "argument_512",
            argument_512_untracked([0; 512]),
            argument_512([0; 512])
        ),
        case!(
            "argument_512_before_await",
            argument_512_before_await_untracked([0; 512]),
            argument_512_before_await([0; 512])
        ),
        case!(
            "patterns",
            patterns_untracked((Big([0; 256]), 1), Big([0; 256]), 2),
            patterns((Big([0; 256]), 1), Big([0; 256]), 2)
        ),
        case!("large_state", large_state_untracked(), large_state()),
        case!(
            "method",
            handler.serve_untracked([0; 100]),
            handler.serve([0; 100])
        ),
    ]
}

#[test]
fn the_expansion_adds_nothing_to_the_wrapped_future() {
    for (name, untracked, tracked, wrapped) in sizes() {
        println!(
            "{name}: untracked {untracked}, tracked {tracked} (+{})",
            tracked - untracked
        );
        assert!(
            tracked <= wrapped,
            "{name}: {tracked} bytes, the untracked future in the wrapper {wrapped}"
        );
    }
}

#[test]
fn an_async_fn_that_awaits_the_wrapper_keeps_its_arguments_twice() {
    let once = size_of_val(&argument_512_before_await([0; 512]));
    let twice = size_of_val(&awaiting_argument_512([0; 512]));
    assert!(twice >= once + 512, "{twice} vs {once}");
}

/// The goal: at most [`MAX_ADDED`] bytes on top of the untracked future. What is added is
/// the runtime's `TrackedFuture` fields, plus padding to their alignment (the expansion
/// adds nothing, as the test above shows), so this holds once those fields are at most
/// `MAX_ADDED - 7` bytes.
#[test]
fn a_tracked_future_adds_at_most_64_bytes() {
    let wrapper = size_of_val(&track_future(&SITE, std::future::pending::<()>()));
    for (name, untracked, tracked, _) in sizes() {
        assert!(
            tracked - untracked <= MAX_ADDED,
            "{name}: {untracked} bytes untracked, {tracked} tracked (+{}): the wrapper's \
             own fields are {wrapper} bytes",
            tracked - untracked
        );
    }
}

#[test]
fn the_tracked_futures_run() {
    let handler = Handler(1);
    let n = u64::from(block_on(small(1)))
        + u64::from(block_on(argument_512([1; 512])))
        + u64::from(block_on(argument_512_before_await([1; 512])))
        + u64::from(block_on(awaiting_argument_512([1; 512])))
        + u64::from(block_on(patterns((Big([1; 256]), 1), Big([0; 256]), 2)))
        + u64::from(block_on(large_state()))
        + block_on(handler.serve([1; 100]));
    assert_eq!(n, 2 + 1 + 1 + 1 + 4 + 3 + 2);
    let report = alloc_trace::report();
    let serve = report
        .site("track_allocs_future_size::Handler::serve")
        .unwrap();
    assert_eq!(serve.calls, 1);
}
