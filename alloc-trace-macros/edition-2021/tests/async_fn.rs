//! A tracked `async fn` in an edition-2021 crate. The expansion writes it as
//! `fn .. -> impl Future`, whose captures an edition-2021 `impl Trait` would limit to the
//! lifetimes it names; the expansion's `impl` is the macro's own (edition 2024), so the
//! future captures every lifetime, elided ones included, as an `async fn` does.
#![deny(warnings, clippy::all, clippy::pedantic)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use alloc_trace::{capture, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Two elided lifetimes, one of them in the output.
#[track_allocs]
async fn first_word<'a>(text: &'a str, separators: &[char]) -> &'a str {
    let words: Vec<&str> = black_box(text.split(separators).collect());
    words[0]
}

struct Buffer(Vec<u8>);

#[track_allocs]
impl Buffer {
    async fn copy(&self, extra: &[u8]) -> Vec<u8> {
        let mut copy = self.0.clone();
        copy.extend_from_slice(extra);
        copy
    }
}

#[test]
fn async_fns_borrow_their_arguments() {
    let (out, report) = capture(|| {
        let text = String::from("a,b");
        let word = block_on(first_word(&text, &[',']));
        let copy = block_on(Buffer(vec![1]).copy(&[2]));
        (word.len(), copy)
    });
    assert_eq!(out, (1, vec![1, 2]));
    assert_eq!(report.site("first_word").unwrap().calls, 1);
    assert_eq!(report.site("Buffer::copy").unwrap().calls, 1);
}
