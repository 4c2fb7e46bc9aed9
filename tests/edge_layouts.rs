//! Edge cases of the allocator itself: zero-sized values, requests that fail, high
//! alignment, and memory freed or reallocated on a different thread than the one that
//! allocated it. All numbers per thread (`measure`), so the tests share one binary.

use std::alloc::{GlobalAlloc, Layout, alloc, alloc_zeroed, dealloc, realloc};
use std::hint::black_box;
use std::thread;

use alloc_trace::{AllocStats, CountingAlloc, measure};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const NOTHING: AllocStats = AllocStats {
    allocs: 0,
    reallocs: 0,
    frees: 0,
    bytes_allocated: 0,
    bytes_freed: 0,
    peak_bytes: 0,
};

/// Half of the largest size a layout may have: far more memory than any machine has,
/// so every allocator refuses it (returns null).
const HUGE: usize = isize::MAX as usize / 2;

#[test]
fn zero_sized_values_never_reach_the_allocator() {
    let ((), stats) = measure(|| {
        black_box(Box::new(()));
        black_box(Box::new([0u64; 0]));
        let mut units: Vec<()> = Vec::with_capacity(1_000);
        for () in std::iter::repeat_n((), 1_000) {
            units.push(());
        }
        black_box(units);
        black_box(Vec::<u64>::new());
        black_box(Vec::<u8>::with_capacity(0));
        black_box(String::new());
        black_box(Vec::<u32>::new().into_boxed_slice());
        black_box(std::collections::HashMap::<u32, u32>::new());
    });
    assert_eq!(stats, NOTHING);
}

#[test]
fn failed_requests_are_not_counted() {
    let huge = Layout::from_size_align(HUGE, 1).unwrap();
    let small = Layout::from_size_align(16, 8).unwrap();
    let ((), stats) = measure(|| {
        // SAFETY: `huge` is not zero-sized; a null result is handled.
        let p = black_box(unsafe { alloc(huge) });
        assert!(p.is_null(), "an allocation of {HUGE} bytes succeeded");
        // SAFETY: as above. (`black_box`: release builds may otherwise drop an unused
        // allocation and assume it succeeded.)
        let p = black_box(unsafe { alloc_zeroed(huge) });
        assert!(p.is_null());
        // A failed reallocation leaves the block as it was: it is freed afterwards with
        // its old layout.
        // SAFETY: `small` is not zero-sized.
        let block = unsafe { alloc(small) };
        assert!(!block.is_null());
        // SAFETY: `block` came from `alloc(small)`; `HUGE` does not overflow `isize`
        // when rounded up to the alignment of 8.
        let grown = black_box(unsafe { realloc(block, small, HUGE) });
        assert!(grown.is_null(), "a reallocation to {HUGE} bytes succeeded");
        // SAFETY: the failed `realloc` left `block` allocated with `small`.
        unsafe { dealloc(block, small) };
        // Collections report the failure without counting anything either.
        let mut v: Vec<u8> = Vec::new();
        assert!(v.try_reserve_exact(HUGE).is_err());
        // A capacity overflow never reaches the allocator at all.
        assert!(v.try_reserve_exact(usize::MAX).is_err());
    });
    assert_eq!(
        stats,
        AllocStats {
            allocs: 1,
            reallocs: 0,
            frees: 1,
            bytes_allocated: 16,
            bytes_freed: 16,
            peak_bytes: 16,
        }
    );
}

#[test]
fn the_allocator_itself_refuses_huge_layouts_without_counting() {
    // The same through `GlobalAlloc` directly on the wrapper (not the global instance).
    let wrapper = CountingAlloc::system();
    let ((), stats) = measure(|| {
        // SAFETY: the layout is not zero-sized; a null result is handled.
        let p = black_box(unsafe { wrapper.alloc(Layout::from_size_align(HUGE, 4096).unwrap()) });
        assert!(p.is_null());
    });
    assert_eq!(stats, NOTHING);
}

#[test]
fn high_alignment_is_counted_by_size() {
    #[repr(C, align(4096))]
    struct Page([u8; 4096]);

    let page_layout = Layout::from_size_align(100, 4096).unwrap();
    let ((), stats) = measure(|| {
        let page = black_box(Box::new(Page([1; 4096])));
        assert_eq!(std::ptr::from_ref(&*page) as usize % 4096, 0);
        drop(page);

        // SAFETY: the layout is not zero-sized.
        let p = unsafe { alloc(page_layout) };
        assert!(!p.is_null());
        assert_eq!(p as usize % 4096, 0);
        // SAFETY: `p` came from `alloc(page_layout)`; 10,000 bytes at alignment 4096
        // cannot overflow `isize`.
        let q = unsafe { realloc(p, page_layout, 10_000) };
        assert!(!q.is_null());
        assert_eq!(q as usize % 4096, 0, "realloc keeps the alignment");
        // SAFETY: `q` holds 10,000 bytes with the same alignment.
        unsafe { dealloc(q, Layout::from_size_align(10_000, 4096).unwrap()) };

        let zeroed_layout = Layout::from_size_align(8192, 4096).unwrap();
        // `black_box`: a release build may otherwise remove a zeroed block that is only read.
        // SAFETY: the layout is not zero-sized.
        let z = black_box(unsafe { alloc_zeroed(zeroed_layout) });
        assert!(!z.is_null());
        // SAFETY: `z` points to 8192 initialised (zeroed) bytes, not otherwise borrowed.
        let bytes = unsafe { std::slice::from_raw_parts(z, 8192) };
        assert!(bytes.iter().all(|b| *b == 0));
        // SAFETY: `z` came from `alloc_zeroed(zeroed_layout)`.
        unsafe { dealloc(z, zeroed_layout) };
    });
    assert_eq!(
        stats,
        // Three fresh blocks and one realloc (one of the allocs, and a free of the
        // 100-byte block it replaced); every block freed.
        AllocStats {
            allocs: 3 + 1,
            reallocs: 1,
            frees: 3 + 1,
            bytes_allocated: 4096 + 100 + 10_000 + 8192,
            bytes_freed: 4096 + 100 + 10_000 + 8192,
            peak_bytes: 10_000,
        }
    );
}

#[test]
fn memory_freed_or_reallocated_on_another_thread_counts_where_it_happens() {
    // Allocated on one thread...
    let (buffer, on_allocating_thread) = thread::spawn(|| measure(|| black_box(vec![7u8; 1_000])))
        .join()
        .unwrap();
    assert_eq!(
        on_allocating_thread,
        AllocStats {
            allocs: 1,
            reallocs: 0,
            frees: 0,
            bytes_allocated: 1_000,
            bytes_freed: 0,
            peak_bytes: 1_000,
        }
    );
    // ...grown on a second (a reallocation: one alloc of the new size and one free of the
    // old block, both there)...
    let (buffer, on_growing_thread) = thread::spawn(move || {
        measure(move || {
            let mut buffer = buffer;
            buffer.reserve_exact(3_000);
            black_box(buffer)
        })
    })
    .join()
    .unwrap();
    assert_eq!(buffer.capacity(), 4_000);
    assert_eq!(
        on_growing_thread,
        AllocStats {
            allocs: 1,
            reallocs: 1,
            frees: 1,
            bytes_allocated: 4_000,
            bytes_freed: 1_000,
            peak_bytes: 3_000,
        }
    );
    // ...and freed on a third, which sees a free of memory it never allocated: its net
    // bytes are negative and it never rose above where it started.
    let ((), on_freeing_thread) = thread::spawn(move || measure(move || drop(buffer)))
        .join()
        .unwrap();
    assert_eq!(
        on_freeing_thread,
        AllocStats {
            allocs: 0,
            reallocs: 0,
            frees: 1,
            bytes_allocated: 0,
            bytes_freed: 4_000,
            peak_bytes: 0,
        }
    );
    assert_eq!(on_freeing_thread.net_bytes(), -4_000);
}
