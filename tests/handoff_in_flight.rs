//! A running call is one call in flight, however many threads run work it handed off.
//! A file of its own: `[handoff]` is one site for the whole process, and no other test may
//! have a run of it in flight while this one reads the report.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;

use alloc_trace::{Handoff, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

const THREADS: usize = 4;

/// The tests take turns: each counts every `[handoff]` run in flight as its own.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `call(ready, done)`, in which `waiting` threads wait at `ready` and then at
/// `done`: the process report taken between the two, and what `call` returned.
fn report_while_waiting(
    waiting: usize,
    call: impl FnOnce(&Barrier, &Barrier) -> usize,
) -> (usize, alloc_trace::Report) {
    let ready = Barrier::new(waiting + 1);
    let done = Barrier::new(waiting + 1);
    thread::scope(|s| {
        let reader = s.spawn(|| {
            ready.wait();
            let report = alloc_trace::report();
            done.wait();
            report
        });
        let n = call(&ready, &done);
        (n, reader.join().unwrap())
    })
}

/// One allocation, freed.
#[track_allocs]
fn in_flight_child() -> usize {
    black_box(vec![1u8; 10]).len()
}

/// Books its own path (a child call that allocated ends), then hands a run off to each of
/// four threads, which wait inside it until `report` has been read.
#[track_allocs]
fn in_flight_parent(ready: &Barrier, done: &Barrier) -> usize {
    let mut n = in_flight_child();
    let here = Handoff::current();
    thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(move || {
                    here.run(|| {
                        let n = in_flight_child();
                        ready.wait();
                        done.wait();
                        n
                    })
                })
            })
            .collect();
        n += workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .sum::<usize>();
    });
    n
}

/// A running call is one call in flight, however many threads run work it handed off:
/// those threads count their `[handoff]` runs, not the call again (it was counted once
/// per thread running its work: 5 here).
#[test]
fn a_call_in_flight_counts_once_whatever_runs_its_handed_off_work() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (n, report) = report_while_waiting(THREADS, in_flight_parent);
    assert_eq!(n, 10 * (THREADS + 1));
    let in_flight = |name: &str| report.site(name).unwrap().in_flight;
    assert_eq!(in_flight("in_flight_parent"), 1);
    assert_eq!(in_flight("[handoff]"), THREADS as u64);
    assert_eq!(in_flight("in_flight_child"), 0);
}

/// As `in_flight_parent`, but runs the handed-off work on its own thread, inside the
/// call: the call is on that thread's chain, so it is in flight there.
#[track_allocs]
fn same_thread_parent(ready: &Barrier, done: &Barrier) -> usize {
    let n = in_flight_child();
    let here = Handoff::current();
    n + here.run(|| {
        let n = in_flight_child();
        ready.wait();
        done.wait();
        n
    })
}

#[test]
fn work_run_where_it_was_handed_off_leaves_its_call_in_flight() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (n, report) = report_while_waiting(1, same_thread_parent);
    assert_eq!(n, 20);
    let in_flight = |name: &str| report.site(name).unwrap().in_flight;
    assert_eq!(in_flight("same_thread_parent"), 1);
    assert_eq!(in_flight("[handoff]"), 1);
}
