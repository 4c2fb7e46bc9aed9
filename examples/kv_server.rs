//! Key-value server: where a multi-threaded tokio server allocates, per function, with
//! the report printed when `main` returns.
//!
//! A TCP server on `127.0.0.1` (line protocol `GET`/`SET`/`DEL`, a task per connection,
//! one `HashMap` behind a mutex) and a load client in the same program: 8 client tasks
//! send 250 requests each, then the server shuts down. The accept loop, the connection
//! handler, request parsing, command execution and the clients are `#[track_allocs]`; the
//! report covers all of the runtime's 4 worker threads, which are still running when
//! `main`'s body ends.
//!
//! Run: `cargo run --release --example kv_server`

use alloc_trace_examples::kv_server::{self, LOAD, WORKERS};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

// `WORKERS` is 4: the attribute takes a literal.
#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> std::io::Result<()> {
    let _report = alloc_trace::report_on_exit();
    let summary = kv_server::run(LOAD).await?;
    assert_eq!(summary.received, summary.served);
    assert_eq!(
        (summary.served, summary.keys_left),
        kv_server::expected_tally(LOAD)
    );
    println!("{summary} on {WORKERS} workers");
    Ok(())
} // the report is printed here, while the runtime's workers are still alive
