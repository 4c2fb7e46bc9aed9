//! Exact counts for the basic shapes of allocation, each derived from how `Box`, `Vec`
//! and `String` use the allocator.

use std::hint::black_box;

use alloc_trace::{AllocStats, CountingAlloc, measure};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

#[test]
fn box_of_u64_is_one_allocation_of_eight_bytes() {
    let (boxed, stats) = measure(|| black_box(Box::new(7u64)));
    assert_eq!(
        stats,
        AllocStats {
            allocs: 1,
            reallocs: 0,
            frees: 0,
            bytes_allocated: 8,
            bytes_freed: 0,
            peak_bytes: 8
        }
    );
    assert_eq!(stats.net_bytes(), 8, "the box outlives the closure");
    let ((), freed) = measure(|| drop(boxed));
    assert_eq!(
        (freed.frees, freed.bytes_freed, freed.net_bytes()),
        (1, 8, -8)
    );
    assert_eq!(freed.peak_bytes, 0, "freeing never raises the peak");
}

#[test]
fn zero_sized_and_empty_values_allocate_nothing() {
    let ((), stats) = measure(|| {
        black_box(Box::new(()));
        black_box(Vec::<u64>::new());
        black_box(String::new());
        black_box(Vec::<()>::with_capacity(1_000));
        let mut zsts = Vec::new();
        for _ in 0..100 {
            zsts.push(());
        }
        black_box(zsts);
    });
    assert_eq!(stats, AllocStats::default());
    assert_eq!(stats.allocs, 0);
}

/// `Vec<u32>` starts at capacity 4 and doubles: 4, 8, ..., 1024 elements of 4 bytes. The
/// first push allocates; each of the 8 doublings is a realloc, which counts as one of the
/// `allocs` (a request for a block) and one of the `frees` (it gives back the old block).
#[test]
fn vec_growth_is_nine_allocs_eight_of_them_reallocs() {
    let (v, stats) = measure(|| {
        let mut v = Vec::new();
        for i in 1..=1000u32 {
            v.push(black_box(i));
        }
        v
    });
    assert_eq!(v.capacity(), 1024);
    let sizes: Vec<u64> = (2..=12).map(|p| 1 << p).collect(); // 4 B .. 4096 B
    let new_sizes: u64 = sizes[2..].iter().sum(); // 16 B (alloc) .. 4096 B
    assert_eq!(
        new_sizes,
        16 + 32 + 64 + 128 + 256 + 512 + 1024 + 2048 + 4096
    );
    assert_eq!(
        stats,
        AllocStats {
            allocs: 1 + 8,
            reallocs: 8,
            frees: 8, // the 8 old blocks the reallocs gave back
            bytes_allocated: new_sizes,
            bytes_freed: new_sizes - 4096,
            peak_bytes: 4096,
        }
    );
    assert_eq!(stats.allocs - stats.frees, 1, "one block left: the vec's");
    assert_eq!(stats.net_bytes(), 4096);
    let ((), dropped) = measure(|| drop(v));
    assert_eq!((dropped.frees, dropped.bytes_freed), (1, 4096));
}

#[test]
fn zeroed_vec_is_counted() {
    // `vec![0; n]` asks for zeroed memory (`alloc_zeroed`): it must be counted like `alloc`.
    let ((), stats) = measure(|| drop(black_box(vec![0u8; 1_000_000])));
    assert_eq!((stats.allocs, stats.frees), (1, 1));
    assert_eq!(
        (stats.bytes_allocated, stats.bytes_freed, stats.peak_bytes),
        (1_000_000, 1_000_000, 1_000_000)
    );
}

#[test]
fn string_building_counts_every_growth() {
    // push_str grows a String by doubling from 8 bytes (the minimum for 1-byte elements).
    let (s, stats) = measure(|| {
        let mut s = String::new();
        for _ in 0..10 {
            s.push_str(black_box("abc")); // 3, 6, .., 30 bytes: capacity 8, 16, 32
        }
        s
    });
    assert_eq!(s.capacity(), 32);
    // 1 alloc (8 bytes) and 2 reallocs (to 16, to 32), each giving back the old block.
    assert_eq!((stats.allocs, stats.reallocs, stats.frees), (3, 2, 2));
    assert_eq!(
        (stats.bytes_allocated, stats.bytes_freed, stats.peak_bytes),
        (8 + 16 + 32, 8 + 16, 32)
    );
}

#[test]
fn nested_measurements_see_only_their_own_closure() {
    let ((inner, kept), outer) = measure(|| {
        let a = black_box(Box::new([0u8; 100]));
        let (b, inner) = measure(|| black_box(vec![1u8; 50]));
        drop(a);
        (inner, b)
    });
    assert_eq!(
        (inner.allocs, inner.bytes_allocated, inner.peak_bytes),
        (1, 50, 50)
    );
    assert_eq!((outer.allocs, outer.frees), (2, 1));
    assert_eq!((outer.bytes_allocated, outer.bytes_freed), (150, 100));
    assert_eq!(
        outer.peak_bytes, 150,
        "the inner measurement must not hide the outer peak"
    );
    drop(kept);
}

#[test]
fn peak_is_relative_to_the_start_of_the_measurement() {
    let held = black_box(vec![0u8; 10_000]);
    let ((), stats) = measure(|| {
        drop(black_box(vec![0u8; 300]));
        drop(black_box(vec![0u8; 200]));
    });
    assert_eq!(stats.peak_bytes, 300);
    drop(held);
}

#[test]
fn a_panicking_measurement_leaves_the_thread_consistent() {
    let result = std::panic::catch_unwind(|| {
        measure(|| {
            let _kept = black_box(vec![0u8; 64]);
            panic!("boom");
        })
    });
    assert!(result.is_err());
    // The next measurement starts from a clean window.
    let ((), stats) = measure(|| drop(black_box(vec![0u8; 16])));
    assert_eq!(
        (stats.allocs, stats.bytes_allocated, stats.peak_bytes),
        (1, 16, 16)
    );
}

#[test]
fn allocs_per_run_counts_allocs_and_reallocs_after_a_warm_up() {
    let mut calls = 0;
    let per_run = alloc_trace::allocs_per_run(10, || {
        calls += 1;
        let mut v: Vec<u8> = Vec::with_capacity(8);
        v.extend_from_slice(black_box(&[0; 9])); // 1 alloc + 1 realloc
        black_box(v);
    });
    assert_eq!(calls, 11, "one warm-up call, then the runs");
    assert_eq!(per_run, 2.0);

    let mut cache = String::new();
    let per_run = alloc_trace::allocs_per_run(5, || {
        if cache.is_empty() {
            cache.push_str("filled once, in the warm-up call");
        }
    });
    assert_eq!(per_run, 0.0);
}

#[test]
#[should_panic(expected = "alloc-trace: allocs_per_run needs at least one run")]
fn allocs_per_run_rejects_zero_runs() {
    alloc_trace::allocs_per_run(0, || {});
}

#[test]
fn a_measurement_that_unwinds_gives_the_enclosing_one_its_peak_back() {
    let ((), outer) = measure(|| {
        drop(black_box(vec![0u8; 10_000]));
        // `resume_unwind` runs no panic hook: nothing but the unwinding allocates.
        let inner = std::panic::catch_unwind(|| {
            measure(|| {
                let _kept = black_box(vec![0u8; 4096]);
                std::panic::resume_unwind(Box::new(()));
            })
        });
        assert!(inner.is_err());
    });
    // The inner window (opened at 0, its peak 4096 plus the exception's block) is closed
    // while unwinding, which raises the running peak back to the outer window's.
    assert_eq!(outer.peak_bytes, 10_000);
}
