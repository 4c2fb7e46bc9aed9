//! Allocations per iteration in `cargo bench`: criterion with alloc-trace's measurements
//! instead of wall-clock time, for the quickstart's two ways of splitting a line.
//!
//! ```sh
//! cargo bench --bench alloc_criterion                              # allocs and bytes per iteration
//! cargo bench --bench alloc_criterion -- --save-baseline before    # keep these numbers
//! cargo bench --bench alloc_criterion -- --baseline before         # compare a change with them
//! cargo bench --bench alloc_criterion -- --quick                   # a short run: counts are exact anyway
//! ```
//!
//! It prints (on a 64-bit target; criterion labels every value `time:`):
//!
//! ```text
//! allocs/split_owned      time:   [4 allocs 4 allocs 4 allocs]
//! allocs/split_borrowed   time:   [1 allocs 1 allocs 1 allocs]
//! bytes/split_owned       time:   [108 B 108 B 108 B]
//! bytes/split_borrowed    time:   [64 B 64 B 64 B]
//! ```
//!
//! `tests/integration_criterion.rs` checks these numbers in criterion's saved estimates.

use std::hint::black_box;

use alloc_trace::criterion::{Allocs, BytesAllocated};
use alloc_trace_examples::quickstart::{LINE, split_borrowed, split_owned};
use criterion::measurement::Measurement;
use criterion::{Criterion, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// The same two benchmarks for any measurement: the group's name says which.
fn split<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let mut group = c.benchmark_group(group);
    group.bench_function("split_owned", |b| b.iter(|| split_owned(black_box(LINE))));
    group.bench_function("split_borrowed", |b| {
        b.iter(|| split_borrowed(black_box(LINE)))
    });
    group.finish();
}

fn allocs(c: &mut Criterion<Allocs>) {
    split(c, "allocs");
}

fn bytes(c: &mut Criterion<BytesAllocated>) {
    split(c, "bytes");
}

criterion_group! {
    name = allocs_per_iteration;
    config = Criterion::default().with_measurement(Allocs);
    targets = allocs
}
criterion_group! {
    name = bytes_per_iteration;
    config = Criterion::default().with_measurement(BytesAllocated);
    targets = bytes
}
criterion_main!(allocs_per_iteration, bytes_per_iteration);
