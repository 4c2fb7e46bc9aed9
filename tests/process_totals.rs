//! Process-wide totals are exact once threads are joined. Alone in its binary so that no
//! other test's threads run meanwhile.

#[path = "support/counts.rs"]
mod counts;
#[path = "stress_support/start_up_spy.rs"]
mod start_up_spy;

use std::hint::black_box;

use alloc_trace::{AllocStats, CountingAlloc, measure, process_stats};
use counts::minus;
use start_up_spy::StartUpSpy;

// `System` plus a spy on what std allocates on a new thread before its closure runs (nodes
// of its map of live threads, depending on how many are alive): real allocations that
// the process totals must include, but that no measurement inside the thread can see.
#[global_allocator]
static ALLOC: CountingAlloc<StartUpSpy> = CountingAlloc::new(StartUpSpy);

const THREADS: u64 = 8;
const ALLOCS: u64 = 100_000;

fn eight_threads_of_100k_allocations_are_exact_per_thread_and_process_wide() {
    let before = process_stats();
    let (per_thread, spawning) = measure(|| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || {
                    let start_up = StartUpSpy::user_code_starts();
                    // Everything the thread does on its own, start to end of the closure.
                    let stats = measure(|| {
                        for i in 0..ALLOCS {
                            drop(black_box(Box::new(i + t)));
                        }
                    })
                    .1;
                    (stats, start_up)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let after = process_stats();

    for (stats, _) in &per_thread {
        assert_eq!(
            *stats,
            AllocStats {
                allocs: ALLOCS,
                reallocs: 0,
                frees: ALLOCS,
                bytes_allocated: 8 * ALLOCS,
                bytes_freed: 8 * ALLOCS,
                peak_bytes: 8,
            }
        );
    }
    // Every allocation was seen: the workers', what std allocated on them before their
    // closures ran, and what spawning and joining cost this thread.
    let (start_up_allocs, start_up_bytes) = per_thread
        .iter()
        .fold((0, 0), |(n, b), (_, (allocs, bytes))| {
            (n + allocs, b + bytes)
        });
    let process = minus(after, before);
    assert_eq!(
        process.allocs,
        THREADS * ALLOCS + start_up_allocs + spawning.allocs
    );
    assert_eq!(
        process.bytes_allocated,
        THREADS * 8 * ALLOCS + start_up_bytes + spawning.bytes_allocated
    );
    assert_eq!(process.reallocs, spawning.reallocs);
    // Every free was seen too, including the thread handles and closures that the workers
    // free on their way out (allocated here, freed there): the one block still live is
    // `per_thread` itself.
    assert_eq!(process.frees, process.allocs - 1);
    assert_eq!(
        process.net_bytes(),
        (per_thread.capacity() * size_of::<(AllocStats, (u64, u64))>()) as i64
    );
}

/// Run on the main thread (`harness = false` in Cargo.toml): a test harness's own
/// threads would allocate while the process-wide numbers are compared.
fn main() {
    eight_threads_of_100k_allocations_are_exact_per_thread_and_process_wide();
    println!("process_totals: ok");
}
