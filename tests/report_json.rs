//! The report as JSON: the documented schema with exact numbers, and round trips.

use alloc_trace::Report;
use alloc_trace::report::JSON_SCHEMA_VERSION;
use serde_json::Value;

#[path = "support/report_fixture.rs"]
mod fixture;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

fn captured() -> Report {
    alloc_trace::capture(fixture::run).1
}

#[test]
fn round_trip_of_a_capture() {
    let report = captured();
    let json = report.to_json();
    assert_eq!(Report::from_json(&json).unwrap(), report);
    // serde goes through the same schema.
    assert_eq!(serde_json::to_string_pretty(&report).unwrap(), json);
    assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
}

#[test]
fn round_trip_of_a_process_report() {
    fixture::run();
    let report = alloc_trace::report();
    let back = Report::from_json(&report.to_json()).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.to_string(), report.to_string(), "the same table");
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

const COUNTS: [&str; 6] = [
    "allocs",
    "bytes_allocated",
    "bytes_freed",
    "frees",
    "net_bytes",
    "reallocs",
];

#[test]
fn the_keys_are_the_documented_schema() {
    let v: Value = serde_json::from_str(&captured().to_json()).unwrap();
    assert_eq!(
        keys(&v),
        [
            "in_tracked",
            "outside_share",
            "outside_tracked",
            "paths",
            "peak_bytes",
            "schema_version",
            "scope",
            "sites",
            "threads",
            "totals",
            "tracking",
            "unattributed",
        ]
    );
    assert_eq!(
        keys(&v["threads"]),
        ["busy", "exited", "live", "unrecorded"]
    );
    for counts in ["totals", "in_tracked", "outside_tracked", "unattributed"] {
        assert_eq!(keys(&v[counts]), COUNTS, "{counts}");
    }
    let site = &v["sites"][0];
    assert_eq!(
        keys(site),
        [
            "allocs_per_call",
            "bytes_per_call",
            "calls",
            "display_name",
            "excl_share",
            "exclusive",
            "file",
            "in_flight",
            "inclusive",
            "line",
            "max_allocs_per_call",
            "name",
            "net_bytes_per_call",
        ]
    );
    let stats = [
        "allocs",
        "bytes_allocated",
        "bytes_freed",
        "frees",
        "net_bytes",
        "peak_bytes",
        "reallocs",
    ];
    assert_eq!(keys(&site["inclusive"]), stats);
    assert_eq!(
        keys(&site["exclusive"]),
        COUNTS,
        "no peak: it cannot be split"
    );
    let path = &v["paths"][0];
    assert_eq!(keys(path), ["exclusive", "frames", "path"]);
    assert_eq!(keys(&path["exclusive"]), COUNTS);
}

#[test]
fn every_number_of_the_table_is_there() {
    let report = captured();
    let v: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(v["schema_version"], JSON_SCHEMA_VERSION);
    assert_eq!(JSON_SCHEMA_VERSION, 2);
    assert_eq!(v["scope"], "capture");
    assert_eq!(v["tracking"], true);

    // Totals and outside: derived in support/report_fixture.rs. `allocs` counts the 10
    // reallocs too, and `frees` counts them as well (each gives back its old block): all
    // 34 blocks were given back.
    let totals = &v["totals"];
    assert_eq!(
        (&totals["allocs"], &totals["reallocs"], &totals["frees"]),
        (&Value::from(34), &Value::from(10), &Value::from(34))
    );
    assert_eq!(
        (&totals["bytes_allocated"], &totals["bytes_freed"]),
        (&Value::from(4992), &Value::from(4992))
    );
    assert_eq!(totals["net_bytes"], 0);
    assert_eq!(v["peak_bytes"], 3032);
    assert_eq!(v["in_tracked"]["allocs"], 33);
    let outside = &v["outside_tracked"];
    assert_eq!(
        (
            &outside["allocs"],
            &outside["frees"],
            &outside["bytes_allocated"]
        ),
        (&Value::from(1), &Value::from(4), &Value::from(32))
    );
    assert_eq!(outside["net_bytes"], -3000);
    assert_eq!(v["outside_share"], 1.0 / 34.0);

    let sites = v["sites"].as_array().unwrap();
    let site = |name: &str| {
        sites
            .iter()
            .find(|s| s["name"] == format!("report_json::fixture::{name}"))
            .unwrap()
    };
    let handle = site("handle");
    assert_eq!(handle["calls"], 10);
    assert_eq!(handle["inclusive"]["allocs"], 30);
    assert_eq!(handle["inclusive"]["reallocs"], 10);
    assert_eq!(handle["inclusive"]["frees"], 30);
    assert_eq!(handle["inclusive"]["bytes_allocated"], 1960);
    assert_eq!(handle["inclusive"]["net_bytes"], 0);
    assert_eq!(handle["inclusive"]["peak_bytes"], 164);
    assert_eq!(handle["exclusive"]["allocs"], 10);
    assert_eq!(handle["max_allocs_per_call"], 3);
    assert_eq!(
        (
            &handle["allocs_per_call"],
            &handle["bytes_per_call"],
            &handle["net_bytes_per_call"]
        ),
        (&Value::from(3.0), &Value::from(196.0), &Value::from(0.0))
    );
    assert_eq!(handle["excl_share"], 10.0 / 34.0);
    let remember = site("remember");
    assert_eq!(
        (&remember["net_bytes_per_call"], &remember["excl_share"]),
        (&Value::from(1000.0), &Value::from(3.0 / 34.0))
    );
    assert_eq!(remember["file"], "tests/support/report_fixture.rs");
    assert!(remember["line"].as_u64().unwrap() > 0);
    // A capture lists only the functions its closure ran.
    assert!(
        !sites
            .iter()
            .any(|s| s["name"] == "report_json::fixture::never_called")
    );

    let paths = v["paths"].as_array().unwrap();
    let path = |p: &str| paths.iter().find(|x| x["path"] == p).unwrap();
    assert_eq!(
        path("report_json::fixture::handle;report_json::fixture::parse")["exclusive"]["allocs"],
        20
    );
    assert_eq!(
        path("report_json::fixture::handle")["exclusive"]["bytes_allocated"],
        1000
    );
    assert_eq!(
        path("report_json::fixture::remember")["exclusive"]["net_bytes"],
        3000
    );
}

#[test]
fn a_process_report_has_no_peak() {
    fixture::run();
    let v: Value = serde_json::from_str(&alloc_trace::report().to_json()).unwrap();
    assert_eq!(v["scope"], "process");
    assert_eq!(v["peak_bytes"], Value::Null);
}

#[test]
fn another_schema_version_is_refused() {
    let json = captured().to_json();
    for other in [1, 3] {
        let json = json.replacen(
            "\"schema_version\": 2",
            &format!("\"schema_version\": {other}"),
            1,
        );
        let err = Report::from_json(&json).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "alloc-trace: JSON schema version {other} is not supported (this build reads version 2)"
            )),
            "{err}"
        );
    }
}

#[test]
fn derived_fields_are_ignored_when_reading() {
    let report = captured();
    let mut v: Value = serde_json::from_str(&report.to_json()).unwrap();
    v["outside_share"] = Value::from(0.5);
    v["outside_tracked"]["allocs"] = Value::from(99);
    v["sites"][0]["allocs_per_call"] = Value::from(1e9);
    v["sites"][0]["net_bytes_per_call"] = Value::from(-1.0);
    v["totals"]["net_bytes"] = Value::from(7);
    assert_eq!(Report::from_json(&v.to_string()).unwrap(), report);
}
