//! The DHAT export (`Report::to_dhat`): every field valgrind's viewer (`dh_view.js`) reads
//! is there with the report's numbers, and the viewer's own tree builder accepts the file
//! (headless, with Node; skipped with the reason when Node or valgrind is absent).

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier, Mutex, MutexGuard, PoisonError};

use alloc_trace::report::{OUTSIDE_FRAME, UNATTRIBUTED_FRAME};
use alloc_trace::{AllocCounts, Report};
use serde_json::Value;

mod export_support;
#[path = "support/report_fixture.rs"]
mod fixture;

use export_support::{TempFile, skipped};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

const HANDLE: &str = "export_dhat::fixture::handle";
const PARSE: &str = "export_dhat::fixture::parse";
const REMEMBER: &str = "export_dhat::fixture::remember";

fn captured() -> Report {
    let _alone = alone();
    alloc_trace::capture(fixture::run).1
}

/// The fields `dh_view.js`'s `buildTree` requires at the top (`checkFields`), and those
/// it requires of a program point when `bklt` and `bkacc` are false (`checkPP`).
const TOP_FIELDS: [&str; 12] = [
    "dhatFileVersion",
    "mode",
    "verb",
    "bklt",
    "bkacc",
    "tu",
    "Mtu",
    "cmd",
    "pid",
    "te",
    "pps",
    "ftbl",
];
const PP_FIELDS: [&str; 3] = ["tb", "tbk", "fs"];

/// The program points by path (outermost first): `(tb, tbk)`.
fn points(v: &Value) -> BTreeMap<String, (u64, u64)> {
    let ftbl: Vec<&str> = v["ftbl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let mut out = BTreeMap::new();
    for pp in v["pps"].as_array().unwrap() {
        let mut frames: Vec<&str> = pp["fs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| ftbl[i.as_u64().unwrap() as usize])
            .map(|f| f.split(" (").next().unwrap())
            .collect();
        frames.reverse();
        let tb = pp["tb"].as_u64().unwrap();
        let tbk = pp["tbk"].as_u64().unwrap();
        assert!(
            out.insert(frames.join(";"), (tb, tbk)).is_none(),
            "the viewer refuses repeated frames"
        );
    }
    out
}

fn check(report: &Report, v: &Value) {
    for field in TOP_FIELDS {
        assert!(v.get(field).is_some(), "missing {field}");
    }
    assert_eq!(v["dhatFileVersion"], 2);
    assert_eq!(v["mode"], "heap");
    assert_eq!(v["verb"], "Allocated");
    assert_eq!(
        v["bklt"], false,
        "no block lifetimes: no tg, tuth, mb, gb, eb"
    );
    assert_eq!(v["bkacc"], false, "no access counts");
    assert_eq!(v["tu"], "allocs");
    assert_eq!(v["te"], report.totals().allocs);
    assert_eq!(v["pid"], std::process::id());
    assert!(v["cmd"].as_str().unwrap().contains("export_dhat"));
    let ftbl = v["ftbl"].as_array().unwrap();
    assert_eq!(ftbl[0], "[root]", "frame 0 is always the root");
    for pp in v["pps"].as_array().unwrap() {
        let keys: BTreeSet<&str> = pp.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(PP_FIELDS));
        for i in pp["fs"].as_array().unwrap() {
            let i = i.as_u64().unwrap() as usize;
            assert!(0 < i && i < ftbl.len(), "frame {i}");
        }
    }

    // Every path with its exclusive numbers, plus the outside point.
    let mut want: BTreeMap<String, (u64, u64)> = report
        .paths()
        .iter()
        .filter(|p| p.exclusive.allocs > 0 || p.exclusive.bytes_allocated > 0)
        .map(|p| {
            (
                p.path.clone(),
                (p.exclusive.bytes_allocated, p.exclusive.allocs),
            )
        })
        .collect();
    let outside = report.outside_tracked();
    if outside != AllocCounts::default() {
        want.insert(
            OUTSIDE_FRAME.to_owned(),
            (outside.bytes_allocated, outside.allocs),
        );
    }
    // A process report taken while other test threads are inside `fixture::run` has
    // their calls in flight: the export gives those allocations a point of their own.
    let in_flight = report.unattributed();
    if in_flight.allocs > 0 {
        want.insert(
            UNATTRIBUTED_FRAME.to_owned(),
            (in_flight.bytes_allocated, in_flight.allocs),
        );
    }
    let got = points(v);
    assert_eq!(got, want);
    let (tb, tbk) = got
        .values()
        .fold((0, 0), |(b, k), (tb, tbk)| (b + tb, k + tbk));
    assert_eq!(
        (tb, tbk),
        (report.totals().bytes_allocated, report.totals().allocs)
    );

    // Frames of tracked functions say where they are.
    for site in report.sites().iter().filter(|s| s.ran()) {
        let text = format!("{} ({}:{})", site.name, site.file, site.line);
        assert!(ftbl.iter().any(|f| *f == text.as_str()), "{text}");
    }
}

#[test]
fn every_field_the_viewer_reads_with_the_reports_numbers() {
    let report = captured();
    let v: Value = serde_json::from_str(&report.to_dhat()).unwrap();
    check(&report, &v);
    // The fixture (support/report_fixture.rs): (bytes, blocks) per path.
    let got = points(&v);
    assert_eq!(got[&format!("{HANDLE};{PARSE}")], (960, 20));
    assert_eq!(got[HANDLE], (1000, 10));
    assert_eq!(got[REMEMBER], (3000, 3));
    assert_eq!(got[OUTSIDE_FRAME], (32, 1));
}

#[test]
fn a_process_report_too() {
    let _alone = alone();
    fixture::run();
    std::thread::spawn(fixture::run).join().unwrap();
    let report = alloc_trace::report();
    let v: Value = serde_json::from_str(&report.to_dhat()).unwrap();
    check(&report, &v);
}

/// Process reports see the tracked calls other test threads have in flight (a capture's
/// closure is one), so the tests that take one do not run beside each other.
fn alone() -> MutexGuard<'static, ()> {
    static ALONE: Mutex<()> = Mutex::new(());
    ALONE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Three 100-byte blocks, then waits inside the call until the report is taken.
#[alloc_trace::track_allocs]
fn waits_inside(sync: &Barrier) -> usize {
    let blocks: [Vec<u8>; 3] = std::array::from_fn(|_| black_box(vec![7u8; 100]));
    sync.wait(); // allocated
    sync.wait(); // the report is taken
    blocks.iter().map(Vec::len).sum()
}

#[test]
fn a_process_report_with_a_call_in_flight() {
    let _alone = alone();
    let sync = Arc::new(Barrier::new(2));
    let inside = {
        let sync = Arc::clone(&sync);
        std::thread::spawn(move || waits_inside(&sync))
    };
    sync.wait();
    let report = alloc_trace::report();
    sync.wait();
    assert_eq!(inside.join().unwrap(), 300);
    // `waits_inside` has not ended nor called a tracked function: its blocks cannot be
    // given to it yet, and the export shows them as a point of their own.
    let v: Value = serde_json::from_str(&report.to_dhat()).unwrap();
    check(&report, &v);
    assert_eq!(points(&v)[UNATTRIBUTED_FRAME], (300, 3));
}

fn dh_view() -> Option<PathBuf> {
    [
        "/usr/libexec/valgrind/dh_view.js",
        "/usr/lib/x86_64-linux-gnu/valgrind/dh_view.js",
        "/usr/lib/valgrind/dh_view.js",
        "/usr/local/libexec/valgrind/dh_view.js",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Runs the viewer's `buildTree` on the file: `Ok(root totals)`, `Err(reason)` to skip.
fn view(file: &Path) -> Result<Value, String> {
    let viewer = dh_view().ok_or("valgrind's dh_view.js not found")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dhat_view_check.js");
    let out = Command::new("node")
        .arg(script)
        .arg(viewer)
        .arg(file)
        .output()
        .map_err(|e| format!("node: {e}"))?;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn valgrinds_viewer_builds_its_tree_from_the_file() {
    let report = captured();
    let file = TempFile::new("view.dhat.json");
    std::fs::write(file.path(), report.to_dhat()).unwrap();
    let root = match view(file.path()) {
        Ok(root) => root,
        Err(why) => return skipped("dh_view.js check", &why),
    };
    assert_eq!(root["totalBytes"], report.totals().bytes_allocated);
    assert_eq!(root["totalBlocks"], report.totals().allocs);
    // Only the totals' sort metrics: the others need lifetimes or accesses.
    assert_eq!(
        root["enabledSortMetrics"],
        serde_json::json!(["Total (bytes)", "Total (blocks)", "Total (blocks), tiny"])
    );
}

#[test]
fn the_viewer_refuses_what_it_should() {
    // The check is only worth something if the viewer says no to a broken file.
    let file = TempFile::new("broken.dhat.json");
    let mut v: Value = serde_json::from_str(&captured().to_dhat()).unwrap();
    v.as_object_mut().unwrap().remove("te");
    std::fs::write(file.path(), v.to_string()).unwrap();
    let (Some(viewer), Ok(_)) = (dh_view(), Command::new("node").arg("--version").output()) else {
        return skipped("dh_view.js check", "node or dh_view.js not found");
    };
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dhat_view_check.js"))
        .arg(viewer)
        .arg(file.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("data file is missing a field: te"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
