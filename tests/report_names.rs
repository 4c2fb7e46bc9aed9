//! Two functions that share a name stay two in every output: the table, JSON, folded
//! stacks (and the flamegraph inferno draws from them), and `Report::site` does not guess.

use std::hint::black_box;

use alloc_trace::Report;
use alloc_trace::report::FoldedWeight;

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Both nested functions are named `report_names::helper` (`module_path!()` does not see
/// the enclosing function).
fn first() -> usize {
    #[alloc_trace::track_allocs]
    fn helper() -> usize {
        black_box(vec![0u8; 10]).len()
    }
    helper()
}

fn second() -> usize {
    #[alloc_trace::track_allocs]
    fn helper() -> usize {
        black_box(vec![0u8; 20]).len() + black_box(vec![0u8; 20]).len()
    }
    helper()
}

#[alloc_trace::track_allocs]
fn caller() -> usize {
    first() + second()
}

const HELPER: &str = "report_names::helper";

fn captured() -> Report {
    alloc_trace::capture(|| black_box(caller())).1
}

/// `(display_name, bytes)` of the helpers, by bytes.
fn helpers(report: &Report) -> Vec<(String, u64)> {
    let mut helpers: Vec<(String, u64)> = report
        .sites_named("helper")
        .map(|s| (s.display_name.clone(), s.inclusive.bytes_allocated))
        .collect();
    helpers.sort_by_key(|h| h.1);
    helpers
}

#[test]
fn each_is_named_with_its_location() {
    let report = captured();
    let helpers = helpers(&report);
    assert_eq!(helpers.len(), 2, "{report}");
    for (shown, _) in &helpers {
        let site = report.site(shown).unwrap();
        assert_eq!(site.name, HELPER);
        assert_eq!(*shown, format!("{HELPER} ({}:{})", site.file, site.line));
        assert_eq!(site.file, "tests/report_names.rs");
    }
    assert_eq!((helpers[0].1, helpers[1].1), (10, 40));
    assert_ne!(helpers[0].0, helpers[1].0);
    // A unique name is shown as it is.
    let caller = report.site("caller").unwrap();
    assert_eq!(caller.display_name, caller.name);
}

#[test]
fn site_does_not_guess() {
    let report = captured();
    assert!(report.site("helper").is_none());
    assert!(report.site(HELPER).is_none());
    assert_eq!(report.sites_named(HELPER).count(), 2);
    assert_eq!(report.sites_named("helper").count(), 2);
    assert_eq!(report.sites_named("report_names::caller").count(), 1);
    // The process-wide report lists both too (and `caller`, whatever ran before).
    black_box(caller());
    let process = alloc_trace::report();
    assert!(process.site("helper").is_none());
    assert_eq!(helpers(&process).len(), 2);
}

#[test]
fn the_table_shows_both_and_says_why() {
    let report = captured();
    let table = report.to_string();
    for (shown, _) in helpers(&report) {
        assert_eq!(
            table
                .lines()
                .filter(|l| l.ends_with(&format!("  {shown}")))
                .count(),
            1,
            "{table}"
        );
    }
    assert!(
        table.contains(
            "\nnote: 2 functions shown share a name with another function (a nested `fn` in \
             two functions, a method of several impls): each is named `name (file:line)`\n"
        ),
        "{table}"
    );
    // Only the shared names carry a location, unless asked for every row.
    let caller = report.site("caller").unwrap();
    assert!(table.contains("  report_names::caller\n"), "{table}");
    let located = report.table().locations(true).to_string();
    assert!(
        located.contains(&format!(
            "  report_names::caller (tests/report_names.rs:{})\n",
            caller.line
        )),
        "{located}"
    );
    for (shown, _) in helpers(&report) {
        assert!(located.contains(&format!("  {shown}\n")), "{located}");
    }
}

#[test]
fn a_unique_name_has_no_note() {
    let (_, report) = alloc_trace::capture(|| black_box(first()));
    let table = report.to_string();
    assert_eq!(report.site("helper").unwrap().display_name, HELPER);
    assert!(!table.contains("note:"), "{table}");
}

#[test]
fn folded_stacks_and_the_flamegraph_keep_them_apart() {
    let report = captured();
    let [(small, _), (large, _)] = <[_; 2]>::try_from(helpers(&report)).unwrap();
    let folded = report.folded(FoldedWeight::Bytes);
    assert!(
        folded.contains(&format!("report_names::caller;{small} 10\n")),
        "{folded}"
    );
    assert!(
        folded.contains(&format!("report_names::caller;{large} 40\n")),
        "{folded}"
    );
    let path = report
        .paths()
        .iter()
        .find(|p| p.frames.last() == Some(&large))
        .unwrap();
    assert_eq!(path.frames, ["report_names::caller", large.as_str()]);

    let mut svg = Vec::new();
    let mut options = inferno::flamegraph::Options::default();
    inferno::flamegraph::from_lines(&mut options, folded.lines(), &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    for (frame, bytes) in [(&small, 10), (&large, 40)] {
        assert!(
            svg.contains(&format!("<title>{frame} ({bytes} samples,")),
            "{frame}:\n{svg}"
        );
    }
}

#[test]
fn json_carries_the_display_name() {
    let report = captured();
    let json = report.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let shown: Vec<&str> = v["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == HELPER)
        .map(|s| s["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 2);
    assert!(
        shown
            .iter()
            .all(|s| s.starts_with("report_names::helper ("))
    );
    assert_eq!(Report::from_json(&json).unwrap(), report);

    // A report written before `display_name` existed gets it recomputed.
    let mut old = v.clone();
    for site in old["sites"].as_array_mut().unwrap() {
        site.as_object_mut().unwrap().remove("display_name");
    }
    for path in old["paths"].as_array_mut().unwrap() {
        path.as_object_mut().unwrap().remove("frames");
    }
    let back = Report::from_json(&old.to_string()).unwrap();
    assert_eq!(helpers(&back), helpers(&report));
}

/// Two impls of one trait, the attribute on each method (not on the impl block).
trait Describe {
    fn describe(&self) -> String;
}

struct Apple;
struct Pear;

impl Describe for Apple {
    #[alloc_trace::track_allocs]
    fn describe(&self) -> String {
        "apple".to_owned()
    }
}

impl Describe for Pear {
    #[alloc_trace::track_allocs]
    fn describe(&self) -> String {
        "pear".to_owned()
    }
}

#[test]
fn every_name_a_report_shows_is_unique() {
    // Before their first calls, or whatever names the attribute gives them, the two
    // `describe` sites are two rows; so is every other pair of sites in this binary.
    let process = alloc_trace::report();
    let mut shown: Vec<&str> = process
        .sites()
        .iter()
        .map(|s| s.display_name.as_str())
        .collect();
    let all = shown.len();
    shown.sort_unstable();
    shown.dedup();
    assert_eq!(shown.len(), all, "{shown:?}");
    let describe: Vec<_> = process
        .sites()
        .iter()
        .filter(|s| s.name.ends_with("describe"))
        .collect();
    assert_eq!(describe.len(), 2, "{shown:?}");
    for site in &describe {
        assert_eq!(process.site(&site.display_name), Some(*site));
    }

    let (_, capture) = alloc_trace::capture(|| black_box((Apple.describe(), Pear.describe())));
    let names: Vec<&str> = capture
        .sites()
        .iter()
        .map(|s| s.display_name.as_str())
        .collect();
    assert_eq!(names.len(), 2);
    assert_ne!(names[0], names[1], "{capture}");
}

/// A chain of 39 tracked functions, `link01` calling `link02` and so on, the last calling
/// `caller` (and so both helpers): 42 sites mentioned, more than a capture names on the
/// stack (32), so the names are given through the vectors a process-wide report uses.
macro_rules! link {
    ($name:ident, $bytes:expr, $next:ident) => {
        #[alloc_trace::track_allocs]
        fn $name() -> usize {
            black_box(vec![0u8; $bytes]).len() + $next()
        }
    };
}
link!(link01, 1, link02);
link!(link02, 2, link03);
link!(link03, 3, link04);
link!(link04, 4, link05);
link!(link05, 5, link06);
link!(link06, 6, link07);
link!(link07, 7, link08);
link!(link08, 8, link09);
link!(link09, 9, link10);
link!(link10, 10, link11);
link!(link11, 11, link12);
link!(link12, 12, link13);
link!(link13, 13, link14);
link!(link14, 14, link15);
link!(link15, 15, link16);
link!(link16, 16, link17);
link!(link17, 17, link18);
link!(link18, 18, link19);
link!(link19, 19, link20);
link!(link20, 20, link21);
link!(link21, 21, link22);
link!(link22, 22, link23);
link!(link23, 23, link24);
link!(link24, 24, link25);
link!(link25, 25, link26);
link!(link26, 26, link27);
link!(link27, 27, link28);
link!(link28, 28, link29);
link!(link29, 29, link30);
link!(link30, 30, link31);
link!(link31, 31, link32);
link!(link32, 32, link33);
link!(link33, 33, link34);
link!(link34, 34, link35);
link!(link35, 35, link36);
link!(link36, 36, link37);
link!(link37, 37, link38);
link!(link38, 38, link39);
link!(link39, 39, caller);

#[test]
fn a_capture_that_mentions_more_sites_than_it_names_on_the_stack_names_them_all() {
    let (total, report) = alloc_trace::capture(|| black_box(link01()));
    // 1 + 2 + ... + 39 bytes, then the helpers' 10 and 20 + 20.
    assert_eq!(total, 39 * 40 / 2 + 50);
    assert_eq!(report.sites().len(), 42, "{report}");
    for i in 1..=39u64 {
        let name = format!("report_names::link{i:02}");
        let site = report
            .site(&name)
            .unwrap_or_else(|| panic!("{name}: {report}"));
        assert_eq!(site.display_name, name);
        assert_eq!(site.calls, 1);
        assert_eq!(site.exclusive.allocs, 1);
        assert_eq!(site.exclusive.bytes_allocated, i);
        // Its own and every link below it, then the three allocations under `caller`.
        assert_eq!(site.inclusive.allocs, 40 - i + 3);
        assert_eq!(site.inclusive.bytes_allocated, (i..=39).sum::<u64>() + 50);
    }
    let helpers = helpers(&report);
    assert_eq!(helpers.len(), 2, "{report}");
    assert!(
        helpers
            .iter()
            .all(|(shown, _)| shown.starts_with("report_names::helper ("))
    );
    // The deepest paths name every frame, from the outermost.
    let deepest = report
        .paths()
        .iter()
        .find(|p| p.exclusive.bytes_allocated == 40)
        .unwrap();
    let mut frames: Vec<String> = (1..=39)
        .map(|i| format!("report_names::link{i:02}"))
        .collect();
    frames.push("report_names::caller".to_owned());
    frames.push(helpers[1].0.clone());
    assert_eq!(deepest.frames, frames);
    assert_eq!(deepest.path, frames.join(";"));
    assert_eq!(report.paths().len(), 41, "{report}");
}
