//! The pprof export (`Report::to_pprof`), decoded by tools that share no code with the
//! encoder: Google's Python protobuf runtime with google/pprof's own `profile.proto`, and
//! `go tool pprof`. Every value is compared with the report. Each check is skipped, with
//! the reason printed, when its tool is not installed (scripts/install-export-decoders.sh).

use std::collections::BTreeMap;

use alloc_trace::report::pprof::{self, SAMPLE_TYPES, SAMPLE_TYPES_WITH_OWNERSHIP};
use alloc_trace::report::{OUTSIDE_FRAME, Scope, UNATTRIBUTED_FRAME};
use alloc_trace::{AllocCounts, Report};
use serde_json::Value;

mod export_support;
#[path = "support/report_fixture.rs"]
mod fixture;

use export_support::{TempFile, go_pprof, python_decode, skipped};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

const HANDLE: &str = "export_pprof::fixture::handle";
const PARSE: &str = "export_pprof::fixture::parse";
const REMEMBER: &str = "export_pprof::fixture::remember";

fn captured() -> Report {
    alloc_trace::capture(fixture::run).1
}

/// The values a sample must have, in `SAMPLE_TYPES` order.
fn values(c: &AllocCounts) -> Vec<i64> {
    vec![
        c.allocs as i64,
        c.bytes_allocated as i64,
        c.reallocs as i64,
        c.frees as i64,
        c.bytes_freed as i64,
        c.net_bytes(),
    ]
}

/// What the profile of `report` must hold: its samples by call path (outermost first,
/// joined by `;`), each with its values.
fn expected_samples(report: &Report) -> BTreeMap<String, Vec<i64>> {
    let mut want: BTreeMap<String, Vec<i64>> = report
        .paths()
        .iter()
        .map(|p| (p.path.clone(), values(&p.exclusive)))
        .collect();
    if report.unattributed() != AllocCounts::default() {
        want.insert(
            UNATTRIBUTED_FRAME.to_owned(),
            values(&report.unattributed()),
        );
    }
    if report.outside_tracked() != AllocCounts::default() {
        want.insert(OUTSIDE_FRAME.to_owned(), values(&report.outside_tracked()));
    }
    want
}

#[test]
fn sample_types_are_go_heap_order_then_alloc_traces_own() {
    assert_eq!(
        SAMPLE_TYPES,
        [
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("reallocs", "count"),
            ("frees", "count"),
            ("bytes_freed", "bytes"),
            ("net_bytes", "bytes"),
        ]
    );
    assert_eq!(pprof::DEFAULT_SAMPLE_TYPE, "alloc_objects");
}

#[test]
fn the_file_is_gzip_and_the_writer_agrees() {
    let report = captured();
    let file = TempFile::new("pprof-writer.pb.gz");
    pprof::write(&report, file.path()).unwrap();
    let bytes = std::fs::read(file.path()).unwrap();
    assert_eq!(bytes[..2], [0x1f, 0x8b], "gzip magic");
    assert_eq!(bytes, report.to_pprof(), "deterministic");
}

/// Checks the decoded profile against the report, value by value.
fn check_decoded(report: &Report, decoded: &Value) {
    let types: Vec<(String, String)> =
        serde_json::from_value(decoded["sample_type"].clone()).unwrap();
    // A process report built with the `ownership` feature carries Go's two inuse values
    // as well (checked against the ownership view in ownership_pprof.rs); the rest are
    // checked here, so this file passes with and without the feature.
    let with_ownership = report.ownership().is_some();
    let want_types: Vec<(String, String)> = if with_ownership {
        &SAMPLE_TYPES_WITH_OWNERSHIP[..]
    } else {
        &SAMPLE_TYPES[..]
    }
    .iter()
    .map(|&(t, u)| (t.to_owned(), u.to_owned()))
    .collect();
    assert_eq!(types, want_types);
    let without_inuse = |mut values: Vec<i64>| {
        if with_ownership {
            values.drain(2..4);
        }
        values
    };
    assert_eq!(
        decoded["period_type"],
        serde_json::json!(["alloc_objects", "count"])
    );
    assert_eq!(decoded["period"], 1, "every allocation counted");
    assert_eq!(decoded["default_sample_type"], "alloc_objects");
    assert_eq!(decoded["mappings"], 0);
    let comments: Vec<String> = serde_json::from_value(decoded["comments"].clone()).unwrap();
    assert!(
        comments[0].contains("exact counts, nothing sampled"),
        "{comments:?}"
    );
    let scope = match report.scope() {
        Scope::Process => "every thread",
        _ => "one closure on the calling thread",
    };
    assert!(comments[1].contains(scope), "{comments:?}");

    // Every sample: its stack leaf first, its values those of the report's path.
    let mut got: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for sample in decoded["samples"].as_array().unwrap() {
        let mut stack: Vec<String> = serde_json::from_value(sample["stack"].clone()).unwrap();
        stack.reverse();
        let values = without_inuse(serde_json::from_value(sample["values"].clone()).unwrap());
        assert_eq!(sample["labels"], 0, "no thread label");
        assert!(
            got.insert(stack.join(";"), values).is_none(),
            "one sample per path"
        );
    }
    assert_eq!(got, expected_samples(report));

    // The samples add up to the report's totals.
    let mut sum = vec![0i64; SAMPLE_TYPES.len()];
    for v in got.values() {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    assert_eq!(sum, values(&report.totals()));

    // One function per frame, with the tracked function's file and line.
    let functions = decoded["functions"].as_array().unwrap();
    let frames: std::collections::BTreeSet<&str> =
        got.keys().flat_map(|path| path.split(';')).collect();
    assert_eq!(functions.len(), frames.len());
    for f in functions {
        let name = f["name"].as_str().unwrap();
        assert_eq!(f["system_name"], name);
        match report.sites().iter().find(|s| s.name == name) {
            Some(site) => {
                assert_eq!(f["filename"], site.file.as_str(), "{name}");
                assert_eq!(f["start_line"], site.line, "{name}");
            }
            None => {
                assert!(
                    name.starts_with('['),
                    "{name} is one of alloc-trace's frames"
                );
                assert_eq!(
                    (&f["filename"], &f["start_line"]),
                    (&Value::from(""), &Value::from(0))
                );
            }
        }
    }
}

#[test]
fn google_protobuf_decodes_every_value_of_a_capture() {
    let report = captured();
    let file = TempFile::new("pprof-capture.pb.gz");
    pprof::write(&report, file.path()).unwrap();
    let decoded = match python_decode(file.path()) {
        Ok(decoded) => decoded,
        Err(why) => return skipped("Python protobuf decoder", &why),
    };
    check_decoded(&report, &decoded);
    // The fixture's numbers (support/report_fixture.rs), as the decoder read them:
    // handle's own box per call, parse's Vec (an alloc and a realloc per call), the cache.
    let sample = |path: &str| {
        decoded["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                let mut stack: Vec<String> = serde_json::from_value(s["stack"].clone()).unwrap();
                stack.reverse();
                stack.join(";") == path
            })
            .map(|s| serde_json::from_value::<Vec<i64>>(s["values"].clone()).unwrap())
            .unwrap()
    };
    // parse gives back each realloc's old block (32 bytes); handle frees its box and
    // parse's Vec (64 bytes), which is why its net is negative and parse's positive.
    assert_eq!(
        sample(&format!("{HANDLE};{PARSE}")),
        [20, 960, 10, 10, 320, 640]
    );
    assert_eq!(sample(HANDLE), [10, 1000, 0, 20, 1640, -640]);
    assert_eq!(sample(REMEMBER), [3, 3000, 0, 0, 0, 3000]);
    assert_eq!(sample(OUTSIDE_FRAME), [1, 32, 0, 4, 3032, -3000]);
}

#[test]
fn google_protobuf_decodes_every_value_of_a_process_report() {
    fixture::run();
    std::thread::spawn(fixture::run).join().unwrap();
    let report = alloc_trace::report();
    let file = TempFile::new("pprof-process.pb.gz");
    pprof::write(&report, file.path()).unwrap();
    match python_decode(file.path()) {
        Ok(decoded) => check_decoded(&report, &decoded),
        Err(why) => skipped("Python protobuf decoder", &why),
    }
}

/// `go tool pprof -raw` prints every sample with all its values and its stack.
#[test]
fn go_tool_pprof_reads_every_value() {
    let report = captured();
    let file = TempFile::new("pprof-go.pb.gz");
    pprof::write(&report, file.path()).unwrap();
    let path = file.path().to_str().unwrap();
    let raw = match go_pprof(&["-raw", path]) {
        Ok(raw) => raw,
        Err(why) => return skipped("go tool pprof", &why),
    };
    let got = parse_raw(&raw);
    assert_eq!(got, expected_samples(&report), "{raw}");
    let top = go_pprof(&["-top", path]).unwrap();
    assert!(top.contains("Type: alloc_objects"), "{top}");
    assert!(top.contains(REMEMBER), "{top}");
}

/// The samples of `go tool pprof -raw`, by path (outermost first).
fn parse_raw(raw: &str) -> BTreeMap<String, Vec<i64>> {
    // Locations: "     1: 0x0 M=0 export_pprof::fixture::handle tests/support/...:21 s=21"
    let mut names: BTreeMap<u64, String> = BTreeMap::new();
    let mut in_locations = false;
    for line in raw.lines() {
        if line.starts_with("Locations") {
            in_locations = true;
            continue;
        }
        if line.starts_with("Mappings") {
            break;
        }
        if in_locations {
            // The name is between the mapping and the last two fields (file:line, s=N).
            let (id, rest) = line.trim().split_once(": ").unwrap();
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let name = fields[2..fields.len() - 2].join(" ");
            names.insert(id.parse().unwrap(), name);
        }
    }
    // Samples: "         10       1000 ...: 1 2 " (values, then location ids).
    let mut samples = BTreeMap::new();
    let mut in_samples = false;
    for line in raw.lines() {
        if line.starts_with("Samples:") {
            in_samples = true;
            continue;
        }
        if line.starts_with("Locations") {
            break;
        }
        if !in_samples
            || !line.contains(':')
            || line.trim_start().starts_with(|c: char| c.is_alphabetic())
        {
            continue;
        }
        let (values, ids) = line.split_once(':').unwrap();
        let values: Vec<i64> = values
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let mut stack: Vec<String> = ids
            .split_whitespace()
            .map(|id| names[&id.parse::<u64>().unwrap()].clone())
            .collect();
        stack.reverse();
        samples.insert(stack.join(";"), values);
    }
    samples
}

/// `go tool pprof -diff_base=BEFORE AFTER`: the README's way to compare two runs.
#[test]
fn go_tool_pprof_diffs_two_profiles() {
    let before = captured();
    let (_, after) = alloc_trace::capture(|| {
        fixture::run();
        fixture::run();
    });
    let (b, a) = (
        TempFile::new("pprof-before.pb.gz"),
        TempFile::new("pprof-after.pb.gz"),
    );
    pprof::write(&before, b.path()).unwrap();
    pprof::write(&after, a.path()).unwrap();
    let base = format!("-diff_base={}", b.path().display());
    let top = match go_pprof(&["-top", &base, a.path().to_str().unwrap()]) {
        Ok(top) => top,
        Err(why) => return skipped("go tool pprof", &why),
    };
    // The second run adds the first run's numbers again: 34 allocations, 20 at parse.
    assert!(
        top.contains("Showing nodes accounting for 34, 100% of 34 total"),
        "{top}"
    );
    let parse = top.lines().find(|l| l.ends_with(PARSE)).unwrap();
    assert!(parse.trim_start().starts_with("20 "), "{top}");
}
