//! The key-value server of `examples/kv_server.rs`, run in-process on a tokio runtime with
//! 4 workers: `process_stats()` and `report().totals()` taken while the workers are alive
//! (mid-run, with the accept loop in flight, and after the run, with the workers idle)
//! equal an independent count of every allocation of the process, exactly. Mid-run, the
//! accept loop is listed in the table although it has not returned. Also checks the
//! example's deterministic numbers (its responses, and its per-site calls).
//!
//! `harness = false`: see `support/oracle.rs` for the oracle, the quiet moments at which
//! both counts are read, and why every thread that makes tracked calls makes one before
//! the numbers are compared.

#[path = "support/kv_parse.rs"]
mod kv_parse;
#[path = "support/oracle.rs"]
mod oracle;

use std::hint::black_box;
use std::sync::{Arc, Barrier};

use alloc_trace::{Report, track_allocs};
use alloc_trace_examples::kv_server::{LOAD, Server, WORKERS, expected_tally, run_load};
use kv_parse::parse_allocations;
use oracle::{Checks, Oracle, Window};

#[global_allocator]
static ALLOC: Oracle = Oracle::new();

fn main() {
    oracle::run(
        "live_kv_server",
        &[("kv server on 4 live workers", kv_server_on_live_workers)],
    );
}

/// Makes the calling thread create its alloc-trace record and tables (bookkeeping the
/// oracle would see) before the numbers are compared.
#[track_allocs]
fn warm_up() -> Box<u64> {
    black_box(Box::new(1u64))
}

fn site_of(report: &Report, name: &str) -> (u64, u64, u64) {
    report.site(name).map_or((0, 0, 0), |s| {
        (s.calls, s.inclusive.allocs, s.inclusive.bytes_allocated)
    })
}

fn kv_server_on_live_workers() -> Checks {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_io()
        .build()
        .expect("runtime");

    // Warm-up: the main thread and every worker make a tracked call before the numbers are
    // compared. Each worker's task holds it until all have made theirs, so each runs on a
    // different worker. (No tracked function of the server runs before the window: the
    // accept loop must be "never called" until the run's own call.)
    drop(warm_up());
    let all_workers = Arc::new(Barrier::new(WORKERS));
    rt.block_on(async {
        let warm: Vec<_> = (0..WORKERS)
            .map(|_| {
                let all = Arc::clone(&all_workers);
                tokio::spawn(async move {
                    drop(warm_up());
                    all.wait();
                })
            })
            .collect();
        for w in warm {
            w.await.expect("warm-up task");
        }
    });

    let start = Window::open();
    let (mid, second, received, served, keys_left) = rt.block_on(async {
        let server = Server::start().await.expect("server");
        let received = run_load(server.addr(), LOAD).await.expect("load");
        // Every client is done; the accept loop waits for a connection or the shutdown,
        // the workers are idle or ending connection tasks.
        let mid = start.close_with_report();
        let second = Window::open();
        let (served, keys_left) = server.shutdown().await.expect("shutdown");
        (mid, second, received, served, keys_left)
    });
    // The run is over; the runtime and its 4 workers are still alive.
    let end = second.close_with_report();
    drop(rt);

    let mut checks = Checks::new();
    let (expected, expected_keys) = expected_tally(LOAD);
    checks.eq(
        "responses received (the run did its work)",
        received,
        expected,
    );
    checks.eq("responses served", served, expected);
    checks.eq("keys left", keys_left, expected_keys);

    checks.window("mid-run (accept loop in flight, workers alive)", &mid);
    let mid_report = mid.full_report.as_ref().expect("taken");
    checks.eq(
        "mid-run: rows (exclusive + outside) == totals: (allocs, bytes)",
        oracle::rows_sum(mid_report),
        (
            mid_report.totals().allocs,
            mid_report.totals().bytes_allocated,
        ),
    );
    let table = mid_report.to_string();
    checks.truth(
        "mid-run: the accept loop (in flight) is listed in the table",
        table.contains("Listener::run"),
        &format!(
            "not listed; its row: {:?}",
            mid_report.site("Listener::run")
        ),
    );
    let (_, accept_allocs, _) = site_of(mid_report, "Listener::run");
    checks.truth(
        "mid-run: the accept loop's allocations so far are in its row (a task per connection)",
        accept_allocs >= u64::from(LOAD.clients),
        &format!("{accept_allocs} allocs"),
    );
    let run = mid_report.site("Listener::run").expect("site");
    checks.eq(
        "mid-run: Listener::run calls finished, and in flight",
        (run.calls, run.in_flight),
        (0, 1),
    );
    checks.truth(
        "mid-run: Listener::run is marked as in flight in the table",
        table.contains("Listener::run  (1 in flight)"),
        &table,
    );

    checks.window("after the run (workers alive and idle)", &end);
    let end_report = end.full_report.as_ref().expect("taken");
    checks.eq(
        "after the run: rows (exclusive + outside) == totals: (allocs, bytes)",
        oracle::rows_sum(end_report),
        (
            end_report.totals().allocs,
            end_report.totals().bytes_allocated,
        ),
    );

    // Per-site numbers of the run, exact today too: these calls have all returned.
    let run_calls = |name: &str| site_of(end_report, name).0;
    let n = u64::from(LOAD.clients);
    let requests = n * u64::from(LOAD.requests);
    for (name, calls) in [
        ("Listener::bind", 1),
        ("Listener::run", 1),
        ("run_load", 1),
        ("run_client", n),
        ("handle_connection", n),
        ("parse_request", requests),
        ("Store::execute", requests - expected.errors),
    ] {
        checks.eq(
            &format!("calls of {name} in the run"),
            run_calls(name),
            calls,
        );
    }
    let (_, allocs, bytes) = site_of(end_report, "parse_request");
    checks.eq(
        "parse_request in the run: (allocs, bytes)",
        (allocs, bytes),
        parse_allocations(LOAD),
    );
    checks.note(&format!(
        "the run allocated {} times in all (oracle: start to mid-run {}, then to the end {})",
        mid.oracle.allocs + end.oracle.allocs,
        mid.oracle.allocs,
        end.oracle.allocs
    ));
    checks
}
