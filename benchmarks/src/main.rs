//! The driver: builds every bench binary, times them all in interleaved rounds, counts
//! their instructions under callgrind, and prints one set of Markdown tables of ratios to
//! `System` and extra instructions per operation, with the goals checked.
//!
//! ```text
//! cargo run --release -p alloc-trace-benchmarks [-- OPTIONS]
//!
//!   --rounds N      timing rounds (default 3); each round runs every binary once
//!   --jobs N        callgrind runs at once (default 2; instruction counts do not care)
//!   --no-time       skip timing
//!   --no-callgrind  skip instruction counts (no valgrind needed)
//!   --only A,B      only bench binaries whose name contains A or B (System always runs)
//!   --workloads A,B only entries of workload A or B (`A*`: a prefix; each with its
//!                   `:base`); `issue14` stands for the rows of issue 14 and its held goals
//!   --write         also replace the results section of BENCHMARKS.md
//! ```

mod issue14;
mod numbers;
mod report;
mod run;

use std::path::PathBuf;

use run::Options;

fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("alloc-trace-benchmarks: {message}");
            std::process::exit(2);
        }
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("alloc-trace-benchmarks: the crate sits inside the workspace")
        .to_path_buf();
    let results = run::run(&root, &options);
    let markdown = report::markdown(&results);
    println!("{markdown}");
    if options.write {
        report::write_into(&root.join("BENCHMARKS.md"), &markdown);
        eprintln!("alloc-trace-benchmarks: updated BENCHMARKS.md");
    }
}
