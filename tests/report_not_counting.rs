//! Without `CountingAlloc` as the global allocator, the table says so loudly instead of
//! showing zeros as if they were real. (This test binary deliberately installs none.)

#[test]
fn the_table_says_nothing_was_counted() {
    let report = alloc_trace::report();
    assert!(!report.is_counting());
    let text = report.to_string();
    assert!(
        text.starts_with("!!!!!!!! NOTHING WAS COUNTED: every number below is 0 !!!!!!!!\n"),
        "{text}"
    );
    assert!(
        text.contains("alloc-trace: `CountingAlloc` is not the global allocator"),
        "{text}"
    );
    assert!(text.contains(
        "static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();"
    ));
}
