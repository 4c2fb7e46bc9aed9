//! The `tracing` integration: what `AllocLayer` adds to a span's enter and exit (and to a
//! span's whole life: created, entered, exited, closed), beside the same spans with a
//! plain `Registry` and no layer. Both subscribers are scoped dispatchers of this thread;
//! a span keeps the subscriber it was created in, so its enter and exit do not look the
//! default up.

use std::hint::black_box;

use alloc_trace::CountingAlloc;
use alloc_trace::tracing::AllocLayer;
use alloc_trace_benchmarks::harness::{self, Bench, Entry};
use alloc_trace_benchmarks::workloads::INPUT;
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const CONTENDER: &str = "alloc-trace tracing AllocLayer";

fn with_layer() -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(AllocLayer::new()))
}

fn plain_registry() -> Dispatch {
    Dispatch::new(tracing_subscriber::registry())
}

/// `iters` enters and exits of one span (created once, before them).
fn enter_exit(dispatch: &Dispatch, iters: u64) {
    tracing::dispatcher::with_default(dispatch, || {
        let span = tracing::info_span!("bench_span");
        for _ in 0..iters {
            span.in_scope(|| black_box(black_box(&INPUT)[0]));
        }
    });
}

/// `iters` spans, each created, entered, exited and closed.
fn open_close(dispatch: &Dispatch, iters: u64) {
    tracing::dispatcher::with_default(dispatch, || {
        for _ in 0..iters {
            tracing::info_span!("bench_span").in_scope(|| black_box(black_box(&INPUT)[0]));
        }
    });
}

fn main() {
    let layered: &'static Dispatch = Box::leak(Box::new(with_layer()));
    let plain: &'static Dispatch = Box::leak(Box::new(plain_registry()));
    let mut entries: Vec<Entry> = Vec::new();
    entries.extend(harness::per_call(
        CONTENDER,
        "span-enter",
        "enter+exit",
        |n| enter_exit(layered, n),
        |n| enter_exit(plain, n),
    ));
    entries.extend(harness::per_call(
        CONTENDER,
        "span-open",
        "span",
        |n| open_close(layered, n),
        |n| open_close(plain, n),
    ));
    Bench::new(entries).run();
}
