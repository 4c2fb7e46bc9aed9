//! Measurements are per thread: concurrent threads never see each other's allocations.

use std::hint::black_box;
use std::sync::Barrier;

use alloc_trace::{CountingAlloc, measure};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// `n` boxes of `size` bytes, each freed at once.
fn churn(n: u64, size: usize) {
    for _ in 0..n {
        drop(black_box(vec![0u8; size]));
    }
}

#[test]
fn two_threads_measuring_at_once_each_see_only_their_own_work() {
    let start = Barrier::new(2);
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| {
            start.wait();
            measure(|| churn(10_000, 24)).1
        });
        let b = s.spawn(|| {
            start.wait();
            measure(|| churn(3_000, 1000)).1
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(
        (
            a.allocs,
            a.frees,
            a.bytes_allocated,
            a.bytes_freed,
            a.peak_bytes
        ),
        (10_000, 10_000, 240_000, 240_000, 24)
    );
    assert_eq!(
        (
            b.allocs,
            b.frees,
            b.bytes_allocated,
            b.bytes_freed,
            b.peak_bytes
        ),
        (3_000, 3_000, 3_000_000, 3_000_000, 1000)
    );
}

#[test]
fn work_of_spawned_threads_is_not_the_callers() {
    let spawn_and_join = |n| {
        measure(|| {
            std::thread::scope(|s| {
                s.spawn(|| churn(n, 64));
            });
        })
        .1
    };
    let idle = spawn_and_join(0);
    let busy = spawn_and_join(1_000);
    // Spawning costs the caller the same few allocations whatever the thread does.
    assert_eq!(
        (busy.allocs, busy.bytes_allocated),
        (idle.allocs, idle.bytes_allocated)
    );
}

#[test]
fn memory_freed_on_another_thread_counts_where_it_is_freed() {
    let (data, made) = measure(|| black_box(vec![7u8; 4096]));
    assert_eq!((made.allocs, made.net_bytes()), (1, 4096));
    let freed = std::thread::spawn(move || measure(|| drop(data)).1)
        .join()
        .unwrap();
    assert_eq!(
        (
            freed.allocs,
            freed.frees,
            freed.bytes_freed,
            freed.net_bytes()
        ),
        (0, 1, 4096, -4096)
    );
}
