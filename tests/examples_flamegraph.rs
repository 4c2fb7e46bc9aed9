//! The call paths `examples/flamegraph.rs` draws, asserted exactly, and the SVG it writes.

use std::hint::black_box;

use alloc_trace::report::FoldedWeight;
use alloc_trace_examples::flamegraph::{REQUESTS, serve};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

const SERVE: &str = "alloc_trace_examples::flamegraph::serve";
const HANDLE: &str = "alloc_trace_examples::flamegraph::handle";

#[test]
fn folded_lines_are_exact() {
    let (_, report) = alloc_trace::capture(|| black_box(serve(REQUESTS)));
    // serve: its Vec of 1000 usizes (8,000 bytes). Per request, handle: a 64-byte box;
    // parse: 4 u32s (16 bytes); render: a 256-byte String. Each line is exclusive.
    assert_eq!(
        report.folded(FoldedWeight::Allocs),
        format!(
            "{SERVE} 1\n\
             {SERVE};{HANDLE} 1000\n\
             {SERVE};{HANDLE};alloc_trace_examples::flamegraph::parse 1000\n\
             {SERVE};{HANDLE};alloc_trace_examples::flamegraph::render 1000\n"
        )
    );
    assert_eq!(
        report.folded(FoldedWeight::Bytes),
        format!(
            "{SERVE} 8000\n\
             {SERVE};{HANDLE} 64000\n\
             {SERVE};{HANDLE};alloc_trace_examples::flamegraph::parse 16000\n\
             {SERVE};{HANDLE};alloc_trace_examples::flamegraph::render 256000\n"
        )
    );
}

#[test]
fn inferno_draws_the_svg() {
    let (_, report) = alloc_trace::capture(|| black_box(serve(REQUESTS)));
    let folded = report.folded(FoldedWeight::Allocs);
    let path =
        std::env::temp_dir().join(format!("alloc-trace-flamegraph-{}.svg", std::process::id()));
    let mut options = inferno::flamegraph::Options::default();
    let file = std::fs::File::create(&path).unwrap();
    inferno::flamegraph::from_lines(&mut options, folded.lines(), file).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(svg.starts_with("<?xml"), "{svg}");
    assert!(svg.contains("<svg"));
    // 3001 allocations in all; render's box holds 1000 of them.
    assert!(
        svg.contains("alloc_trace_examples::flamegraph::render (1,000 samples, 33.32%)"),
        "{svg}"
    );
}
