//! A thread whose only allocator calls are frees (of memory another thread allocated) is
//! still folded into the process-wide totals when it exits: its first free arms the exit
//! hook, as a first allocation would. Alone in its binary so that no other test's threads
//! run meanwhile.

use std::hint::black_box;

use alloc_trace::{AllocStats, CountingAlloc, measure, process_stats};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const BOXES: u64 = 1000;

fn frees_of_a_thread_that_never_allocates_reach_the_process_totals() {
    let before = process_stats();
    let (worker_did, here) = measure(|| {
        let boxes: Vec<Box<u64>> = (0..BOXES).map(Box::new).collect();
        // std's thread start-up allocates nothing on the new thread, so the worker's
        // first allocator call is the free of the first box.
        std::thread::spawn(move || measure(|| drop(black_box(boxes))).1)
            .join()
            .unwrap()
    });
    let after = process_stats();

    assert_eq!(
        worker_did,
        AllocStats {
            allocs: 0,
            reallocs: 0,
            frees: BOXES + 1,
            bytes_allocated: 0,
            bytes_freed: 8 * BOXES + 8 * BOXES,
            peak_bytes: 0,
        },
        "the boxes and the vector holding them, nothing else"
    );
    // Everything was allocated on this thread, and everything was freed by the time the
    // worker was joined: the worker's frees (made before and outside its `measure` too)
    // are in the process totals, exactly. Without its exit hook they would be missing,
    // and the process would show only this thread's `here.frees`.
    assert_eq!(after.allocs - before.allocs, here.allocs);
    assert_eq!(
        after.bytes_allocated - before.bytes_allocated,
        here.bytes_allocated
    );
    assert_eq!(after.frees - before.frees, here.allocs);
    assert_eq!(after.bytes_freed - before.bytes_freed, here.bytes_allocated);
}

/// Run on the main thread (`harness = false` in Cargo.toml): a test harness's own
/// threads would allocate while the process-wide numbers are compared.
fn main() {
    frees_of_a_thread_that_never_allocates_reach_the_process_totals();
    println!("free_only_thread: ok");
}
