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

#[test]
fn every_number_of_the_table_is_there() {
    let report = captured();
    let v: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(v["schema_version"], JSON_SCHEMA_VERSION);
    assert_eq!(JSON_SCHEMA_VERSION, 1);
    assert_eq!(v["scope"], "capture");
    assert_eq!(v["counting"], true);

    // Totals and outside: derived in support/report_fixture.rs.
    let totals = &v["totals"];
    assert_eq!(
        (
            &totals["allocs"],
            &totals["reallocs"],
            &totals["total_allocs"]
        ),
        (&Value::from(24), &Value::from(10), &Value::from(34))
    );
    assert_eq!(
        (&totals["bytes_allocated"], &totals["bytes_freed"]),
        (&Value::from(4992), &Value::from(4992))
    );
    assert_eq!(
        (&totals["net_bytes"], &totals["peak_bytes"]),
        (&Value::from(0), &Value::from(3032))
    );
    assert_eq!(v["in_sites"]["total_allocs"], 33);
    let outside = &v["outside_sites"];
    assert_eq!(
        (&outside["total_allocs"], &outside["bytes_allocated"]),
        (&Value::from(1), &Value::from(32))
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
    assert_eq!(handle["inclusive"]["total_allocs"], 30);
    assert_eq!(handle["inclusive"]["reallocs"], 10);
    assert_eq!(handle["inclusive"]["bytes_allocated"], 1960);
    assert_eq!(handle["inclusive"]["net_bytes"], 0);
    assert_eq!(handle["inclusive"]["peak_bytes"], 164);
    assert_eq!(handle["exclusive"]["total_allocs"], 10);
    assert_eq!(handle["max_allocs_per_call"], 3);
    assert_eq!(
        (
            &handle["allocs_per_call"],
            &handle["bytes_per_call"],
            &handle["kept_per_call"]
        ),
        (&Value::from(3.0), &Value::from(196.0), &Value::from(0.0))
    );
    assert_eq!(handle["self_share"], 10.0 / 34.0);
    let remember = site("remember");
    assert_eq!(
        (&remember["kept_per_call"], &remember["self_share"]),
        (&Value::from(1000.0), &Value::from(3.0 / 34.0))
    );
    assert_eq!(remember["file"], "tests/support/report_fixture.rs");
    assert!(remember["line"].as_u64().unwrap() > 0);
    assert_eq!(site("never_called")["calls"], 0);

    let paths = v["paths"].as_array().unwrap();
    let path = |p: &str| paths.iter().find(|x| x["path"] == p).unwrap();
    assert_eq!(
        path("report_json::fixture::handle;report_json::fixture::parse")["exclusive"]["total_allocs"],
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
fn another_schema_version_is_refused() {
    let json = captured()
        .to_json()
        .replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
    let err = Report::from_json(&json).unwrap_err().to_string();
    assert!(
        err.contains(
            "alloc-trace: JSON schema version 2 is not supported (this build reads version 1)"
        ),
        "{err}"
    );
}

#[test]
fn derived_fields_are_ignored_when_reading() {
    let report = captured();
    let mut v: Value = serde_json::from_str(&report.to_json()).unwrap();
    v["outside_share"] = Value::from(0.5);
    v["sites"][0]["allocs_per_call"] = Value::from(1e9);
    v["totals"]["total_allocs"] = Value::from(7);
    assert_eq!(Report::from_json(&v.to_string()).unwrap(), report);
}
