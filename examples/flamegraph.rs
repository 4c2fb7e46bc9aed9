//! Flamegraph: where allocations come from along call paths, drawn as an SVG.
//!
//! `serve` calls `handle` for each request, which calls `parse` and `render`. The report's
//! call paths (`Report::folded`) are written in the folded-stack format and drawn with
//! inferno: box widths are allocations (or bytes, with `bytes` as the second argument).
//!
//! Run: `cargo run --release --example flamegraph [OUT.svg] [allocs|bytes]`
//! (default: `alloc-trace-flamegraph.svg` in the current directory, weighted by allocs).
//! The folded lines are printed too; `flamegraph.pl` reads them as well.

use std::fs::File;
use std::io::BufWriter;

use alloc_trace::report::FoldedWeight;
use alloc_trace_examples::flamegraph::{REQUESTS, serve};
use inferno::flamegraph::{self, Options};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .unwrap_or_else(|| "alloc-trace-flamegraph.svg".to_owned());
    let weight = match args.next().as_deref() {
        Some("bytes") => FoldedWeight::Bytes,
        _ => FoldedWeight::Allocs,
    };

    let (_, report) = alloc_trace::capture(|| std::hint::black_box(serve(REQUESTS)));
    println!("{report}");
    let folded = report.folded(weight);
    println!("{folded}");

    let mut options = Options::default();
    options.title = "alloc-trace: allocations by call path".to_owned();
    options.count_name = match weight {
        FoldedWeight::Bytes => "bytes",
        _ => "allocations",
    }
    .to_owned();
    let svg = BufWriter::new(File::create(&out)?);
    flamegraph::from_lines(&mut options, folded.lines(), svg)?;
    println!("wrote {out}");
    Ok(())
}
