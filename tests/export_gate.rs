//! The CI gate as a project uses it: the test suite holds a workload to the committed
//! baseline `tests/export_gate.baseline.json`. After an intended change, rewrite it with
//! `ALLOC_TRACE_BASELINE=update cargo test --test export_gate` and commit the diff.

#[path = "../examples/exports/workload.rs"]
mod workload;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

#[test]
fn allocations_stay_within_the_baseline() {
    let (_, report) = alloc_trace::capture(|| workload::serve(workload::REQUESTS));
    alloc_trace::report::baseline::check(&report, "tests/export_gate.baseline.json");
}
