//! `fork()` in a multi-threaded process, while other threads report, make tracked calls,
//! start and exit (so take the registry's lock): the child can report and make tracked
//! calls, 40 times out of 40. Its numbers carry on from the parent's history.

#![cfg(unix)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alloc_trace::track_allocs;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[track_allocs]
fn busy_work(i: usize) -> usize {
    black_box(vec![i; 4]).len()
}

#[track_allocs]
fn in_child() -> usize {
    black_box(vec![1u8; 10]).len()
}

/// In the child: report, call, report again; exit 0 if the call shows, 1 if not.
fn child() -> ! {
    let before = alloc_trace::report()
        .site("fork::in_child")
        .map_or(0, |s| s.calls);
    black_box(in_child());
    let after = alloc_trace::report();
    let calls = after.site("fork::in_child").map_or(0, |s| s.calls);
    let totals = alloc_trace::process_stats();
    let ok = calls == before + 1 && totals.allocs >= after.totals().allocs;
    // SAFETY: `_exit` ends the child at once, without running the parent's exit hooks or
    // the test harness's teardown in a process that has only this thread.
    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
}

#[test]
fn a_child_of_a_busy_multi_threaded_process_reports_and_tracks() {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..3 {
            let stop = &stop;
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    match t {
                        0 => drop(black_box(alloc_trace::report())),
                        1 => {
                            // Threads that start and exit: listed, then folded under the lock.
                            std::thread::spawn(move || black_box(busy_work(i)))
                                .join()
                                .unwrap();
                        }
                        _ => drop(black_box(busy_work(i))),
                    }
                    i += 1;
                }
            });
        }
        for round in 0..40 {
            std::thread::sleep(Duration::from_millis(2));
            // SAFETY: the child runs only `child`, which uses alloc-trace (made fork-safe
            // by its handlers) and the allocator (glibc's, fork-safe), then `_exit`s.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                child();
            }
            let status = wait_for(pid, Duration::from_secs(20));
            assert_eq!(
                status,
                Some(0),
                "round {round}: the child hung (None) or failed (Some(1))"
            );
        }
        stop.store(true, Ordering::Relaxed);
    });
}

/// The child's exit status, or `None` (after killing it) if it did not exit in time.
fn wait_for(pid: libc::pid_t, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if start.elapsed() > limit {
            // SAFETY: `pid` is our child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
