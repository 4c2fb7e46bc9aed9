//! `#[track_allocs]` built without alloc-trace's `tracking` feature emits the function as
//! written: no site, no guard, no wrapper future. Its arguments and its item are checked
//! as in a tracking build (the macro's unit tests compare both builds' errors).
#![deny(warnings)]

use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use alloc_trace::{CountingAlloc, capture, report, track_allocs};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// Pending once, then ready.
#[derive(Default)]
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Over its budget at every call: a tracking debug build would panic.
#[track_allocs(max_allocs = 0)]
fn over_budget() -> usize {
    black_box(vec![0u8; 10]).len()
}

struct Parser(u8);

#[track_allocs(max_bytes = 0)]
impl Parser {
    fn new() -> Self {
        Self(black_box(vec![1u8]).len().try_into().unwrap())
    }

    #[track_allocs(name = "parser: parse")]
    fn parse(&self) -> u8 {
        self.0
    }
}

#[track_allocs]
async fn tracked_small(n: u32) -> u32 {
    YieldOnce::default().await;
    n + 1
}

async fn plain_small(n: u32) -> u32 {
    YieldOnce::default().await;
    n + 1
}

#[track_allocs]
async fn tracked_argument(buf: [u8; 512]) -> u8 {
    let first = buf[0];
    YieldOnce::default().await;
    first
}

async fn plain_argument(buf: [u8; 512]) -> u8 {
    let first = buf[0];
    YieldOnce::default().await;
    first
}

#[track_allocs]
async fn tracked_state() -> u8 {
    let a = black_box([1u8; 1024]);
    YieldOnce::default().await;
    let b = black_box([2u8; 2048]);
    YieldOnce::default().await;
    a[0] + b[0]
}

async fn plain_state() -> u8 {
    let a = black_box([1u8; 1024]);
    YieldOnce::default().await;
    let b = black_box([2u8; 2048]);
    YieldOnce::default().await;
    a[0] + b[0]
}

#[test]
fn futures_are_the_untracked_size() {
    assert_eq!(size_of_val(&tracked_small(1)), size_of_val(&plain_small(1)));
    assert_eq!(
        size_of_val(&tracked_argument([0; 512])),
        size_of_val(&plain_argument([0; 512]))
    );
    assert_eq!(size_of_val(&tracked_state()), size_of_val(&plain_state()));
}

#[test]
fn nothing_is_recorded() {
    let (n, captured) = capture(|| {
        let parser = Parser::new();
        over_budget()
            + usize::from(parser.parse())
            + usize::try_from(block_on(tracked_small(1))).unwrap()
            + usize::from(block_on(tracked_argument([3; 512])))
            + usize::from(block_on(tracked_state()))
    });
    assert_eq!(n, 10 + 1 + 2 + 3 + 3);
    assert!(captured.sites().is_empty());
    // No site was even registered: a report lists every linked site, called or not.
    assert!(report().sites().is_empty());
}
