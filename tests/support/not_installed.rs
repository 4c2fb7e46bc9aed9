//! What alloc-trace says when `CountingAlloc` is not the global allocator, for the test
//! binaries that deliberately install none.

/// The whole message, lines to add included: the panic of every function that returns
/// numbers, and what the exit report prints instead of a table.
pub const NOT_INSTALLED: &str = "alloc-trace: `CountingAlloc` is not the global allocator, so nothing can be \
counted. Add these lines to your binary, test or bench (once per binary, e.g. at the top of `main.rs` or of \
the test file):

    #[global_allocator]
    static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
";
