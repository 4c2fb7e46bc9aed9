//! `block_on`: polls a future to completion on the calling thread, with a waker that does
//! nothing, for futures that never need a real wake-up (a `YieldOnce` wakes itself).
//!
//! Absolute paths only, so that `track_allocs_hygiene.rs`, which defines its own `core`
//! and `std` modules, can use it too.

/// Polls `future` until it is ready; returns its output.
pub fn block_on<F: ::core::future::Future>(future: F) -> F::Output {
    let mut future = ::core::pin::pin!(future);
    let mut cx = ::core::task::Context::from_waker(::core::task::Waker::noop());
    loop {
        if let ::core::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
