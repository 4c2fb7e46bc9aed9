//! Spawned tasks counted for the call that spawned them: the key-value server of
//! `examples/kv_server.rs` on tokio's multi-threaded runtime, whose accept loop
//! (`Listener::run`) marks each connection's task with `in_current_site()`. The accept
//! loop's inclusive numbers are its own plus exactly what the connection handlers did, as
//! their own rows show it, on whichever workers they ran; its exclusive numbers stay its
//! own. Read with the workers still alive.

use alloc_trace_examples::kv_server::{self, LOAD, WORKERS, expected_tally};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[path = "support/below.rs"]
mod below;
#[path = "support/kv_parse.rs"]
mod kv_parse;

use below::below;
use kv_parse::parse_allocations;

#[test]
fn connection_tasks_count_for_the_accept_loop() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_io()
        .build()
        .expect("runtime");
    let summary = rt.block_on(kv_server::run(LOAD)).expect("run");
    assert_eq!((summary.served, summary.keys_left), expected_tally(LOAD));
    // The workers are alive and idle: the report reads them as they are.
    let report = alloc_trace::report();
    drop(rt);

    let clients = u64::from(LOAD.clients);
    let run = report.site("Listener::run").expect("accept loop");
    let handler = report.site("handle_connection").expect("handler");
    let task = report.site("[task]").expect("the marked tasks");
    assert_eq!((run.calls, run.in_flight), (1, 0));
    assert_eq!((handler.calls, handler.in_flight), (clients, 0));
    assert_eq!((task.calls, task.in_flight), (clients, 0));

    // Every handler ran below the accept loop's `[task]` frames, and nothing else did.
    let (under_task, task_itself) = below(&report, &["Listener::run", "[task]"]);
    let (under_handler, _) = below(&report, &["Listener::run", "[task]", "handle_connection"]);
    assert_eq!(
        under_handler,
        (handler.inclusive.allocs, handler.inclusive.bytes_allocated),
        "every handler call is below Listener::run;[task]"
    );
    assert_eq!(
        under_task,
        (task.inclusive.allocs, task.inclusive.bytes_allocated),
        "every marked task is below Listener::run"
    );
    // A task's poll is its handler's poll: the `[task]` frame adds nothing of its own.
    assert_eq!(task_itself, (0, 0));
    assert_eq!(task.exclusive, alloc_trace::AllocCounts::default());

    // The accept loop: its own numbers, plus exactly the handlers'.
    assert_eq!(
        (run.inclusive.allocs, run.inclusive.bytes_allocated),
        (
            run.exclusive.allocs + handler.inclusive.allocs,
            run.exclusive.bytes_allocated + handler.inclusive.bytes_allocated
        )
    );
    assert!(handler.inclusive.allocs > 10 * run.exclusive.allocs);
    // Its exclusive numbers are what its own paths (those ending at it) hold.
    let (_, own) = below(&report, &["Listener::run"]);
    assert_eq!(own, (run.exclusive.allocs, run.exclusive.bytes_allocated));
    // An independent count of part of the handlers' work: the request strings.
    let parse = report.site("parse_request").expect("parser");
    assert_eq!(
        (parse.inclusive.allocs, parse.inclusive.bytes_allocated),
        parse_allocations(LOAD)
    );
    let (under_parse, _) = below(
        &report,
        &[
            "Listener::run",
            "[task]",
            "handle_connection",
            "parse_request",
        ],
    );
    assert_eq!(under_parse, parse_allocations(LOAD));
    // Spawns that are not marked count where they run, as before: the clients are not
    // below `run_load`.
    let client = report.site("run_client").expect("client");
    let load = report.site("run_load").expect("load");
    assert_eq!(load.inclusive.counts(), load.exclusive);
    assert!(client.inclusive.allocs > 0);
}

#[test]
fn a_marked_future_is_16_bytes_larger() {
    use alloc_trace::InCurrentSite;
    async fn holds(buffer: Vec<u8>) -> usize {
        tokio::task::yield_now().await;
        buffer.len()
    }
    let plain = holds(Vec::new());
    let plain_size = size_of_val(&plain);
    let marked = holds(Vec::new()).in_current_site();
    // The path it is entered under, its state, and its allocations so far.
    assert_eq!(size_of_val(&marked), plain_size + 16);
    // Any future: at most 7 more, of padding.
    let tiny = async { 1u8 };
    assert!(size_of_val(&tiny.in_current_site()) <= size_of_val(&async { 1u8 }) + 16 + 7);
    drop((plain, marked));
}
