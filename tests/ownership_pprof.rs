//! The pprof export with the ownership view: Go's `inuse_objects` and `inuse_space` after
//! `alloc_space`, each call path's blocks still alive, decoded by Google's Python protobuf
//! runtime (skipped, saying why, when it is not installed).
//!
//! Run by `cargo test --features ownership` (see `.ci/run`); alone on the main thread
//! (`harness = false`): the view is process-wide.

use std::hint::black_box;

use alloc_trace::report::Live;
use alloc_trace::report::pprof::SAMPLE_TYPES_WITH_OWNERSHIP;
use alloc_trace::{CountingAlloc, track_allocs};

mod export_support;

use export_support::{TempFile, python_decode, skipped};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// Returns its block: the caller holds it when the report is built.
#[track_allocs]
fn make() -> Vec<u8> {
    black_box(vec![7u8; 1000])
}

/// Frees what it allocates: holds nothing.
#[track_allocs]
fn churn() {
    drop(black_box(vec![0u8; 50]));
}

fn main() {
    let held = make();
    churn();
    let report = alloc_trace::report();
    let live = |path: &str| {
        report
            .paths()
            .iter()
            .find(|p| p.path == path)
            .and_then(|p| p.ownership)
            .map(|h| h.live)
    };
    assert_eq!(
        live("ownership_pprof::make"),
        Some(Live {
            blocks: 1,
            bytes: 1000
        })
    );
    assert_eq!(live("ownership_pprof::churn"), Some(Live::default()));

    let file = TempFile::new("ownership.pb.gz");
    std::fs::write(file.path(), report.to_pprof()).unwrap();
    let decoded = match python_decode(file.path()) {
        Ok(decoded) => decoded,
        Err(why) => {
            skipped("Python protobuf decoder", &why);
            return;
        }
    };
    let types: Vec<(String, String)> =
        serde_json::from_value(decoded["sample_type"].clone()).unwrap();
    let want: Vec<(String, String)> = SAMPLE_TYPES_WITH_OWNERSHIP
        .iter()
        .map(|&(t, u)| (t.to_owned(), u.to_owned()))
        .collect();
    assert_eq!(types, want);
    // Every sample's inuse values are its path's live blocks and bytes; they add up to the
    // process's.
    let mut total = Live::default();
    for s in decoded["samples"].as_array().unwrap() {
        let mut stack: Vec<String> = serde_json::from_value(s["stack"].clone()).unwrap();
        stack.reverse();
        let path = stack.join(";");
        let values: Vec<i64> = serde_json::from_value(s["values"].clone()).unwrap();
        assert_eq!(values.len(), 8, "{path}: {values:?}");
        let inuse = Live {
            blocks: values[2] as u64,
            bytes: values[3] as u64,
        };
        let want = live(&path).unwrap_or_else(|| {
            let o = report.ownership().unwrap();
            if path == alloc_trace::report::OUTSIDE_FRAME {
                o.outside.live
            } else {
                Live::default()
            }
        });
        assert_eq!(inuse, want, "{path}");
        total.blocks += inuse.blocks;
        total.bytes += inuse.bytes;
    }
    assert_eq!(total, report.ownership().unwrap().live);
    drop(held);
    println!("ownership_pprof: inuse values agree with the report");
}
