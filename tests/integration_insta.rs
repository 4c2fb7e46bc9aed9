//! Allocation snapshots through insta: a committed snapshot per assertion form (file,
//! file with exact bytes, inline), and a regression caught: the same assertion against a
//! workload that allocates more fails with insta's diff and writes no pending snapshot.
//!
//! After an intended change, `cargo insta test --review` (or `INSTA_UPDATE=always cargo
//! test --test integration_insta`) rewrites the snapshots in `tests/snapshots/`.

use std::process::Command;

use alloc_trace::{assert_allocs_snapshot, track_allocs};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// Five lines: a `Vec<Person>` that grows once (room for 4, then 8).
const PEOPLE: &str = "alice,42,paris\nbob,7,oslo\ncarol,35,lima\ndave,51,rome\neve,29,kyiv";

#[derive(Debug)]
struct Person {
    name: String,
    age: u32,
    city: String,
}

#[track_allocs(name = "people::parse")]
fn parse(text: &str, regressed: bool) -> Vec<Person> {
    text.lines().map(|line| person(line, regressed)).collect()
}

/// Two `String`s per line; the regressed version first copies every field.
#[track_allocs(name = "people::person")]
fn person(line: &str, regressed: bool) -> Person {
    if regressed {
        let fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        Person {
            name: fields[0].clone(),
            age: fields[1].parse().unwrap(),
            city: fields[2].clone(),
        }
    } else {
        let mut fields = line.split(',');
        let mut next = || fields.next().unwrap();
        Person {
            name: next().to_owned(),
            age: next().parse().unwrap(),
            city: next().to_owned(),
        }
    }
}

#[test]
fn parse_allocates_as_the_committed_snapshot_says() {
    let people = assert_allocs_snapshot!("parse_people", parse(PEOPLE, false));
    assert_eq!(people.len(), 5);
    assert_eq!((people[4].name.as_str(), people[4].age), ("eve", 29));
}

/// Bytes depend on the target: one snapshot per pointer width, through insta's
/// `snapshot_suffix` (only the 64-bit one is committed).
#[cfg(target_pointer_width = "64")]
#[test]
fn parse_with_bytes_has_a_snapshot_per_pointer_width() {
    insta::with_settings!({ snapshot_suffix => format!("{}bit", usize::BITS) }, {
        let people = assert_allocs_snapshot!("parse_people_bytes", parse(PEOPLE, false), bytes);
        assert_eq!(people[0].city, "paris");
    });
}

#[test]
fn inline_snapshot() {
    let people = assert_allocs_snapshot!(parse(PEOPLE, false), @r"
    total: allocs 12, reallocs 1, frees 1
    outside tracked functions: allocs 0, reallocs 0, frees 0
    functions (nested calls included):
      people::parse: calls 1, allocs 12, reallocs 1, frees 1
      people::person: calls 5, allocs 10, reallocs 0, frees 0
    ");
    assert_eq!(people[1].name, "bob");
}

/// Marks the child process of [`a_regression_fails_with_a_diff`].
const CHILD: &str = "ALLOC_TRACE_TEST_INSTA_REGRESSION";

/// The regressed workload against the committed `parse_people` snapshot. Does nothing
/// unless run by [`a_regression_fails_with_a_diff`], which sets insta's environment for it
/// alone (insta reads it once per process).
#[test]
fn regressed_workload_in_a_child_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let failed = std::panic::catch_unwind(|| {
        assert_allocs_snapshot!("parse_people", parse(PEOPLE, true));
    });
    let message = failed.expect_err("the regressed workload matched the snapshot");
    let message = message
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| message.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    println!("child caught: {message}");
}

#[test]
fn a_regression_fails_with_a_diff() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "regressed_workload_in_a_child_process"])
        .args(["--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .env("INSTA_UPDATE", "no") // compare only: write no `.snap.new`
        .env("INSTA_FORCE_PASS", "0") // fail even where a developer forces passes
        .env("INSTA_OUTPUT", "diff")
        .env("CI", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let all = format!("{stdout}{stderr}");
    assert!(output.status.success(), "{all}");
    assert!(
        all.contains("child caught: snapshot assertion for 'parse_people' failed"),
        "{all}"
    );
    // The diff: the old lines out, the new ones in (the regressed `person` allocates 6 per
    // line, frees 4), and the lines that did not change kept.
    for line in [
        "-old snapshot",
        "+new results",
        "│-total: allocs 12, reallocs 1, frees 1\n",
        "│+total: allocs 32, reallocs 1, frees 21\n",
        "│-  people::person: calls 5, allocs 10, reallocs 0, frees 0\n",
        "│+  people::person: calls 5, allocs 30, reallocs 0, frees 20\n",
        "│ outside tracked functions: allocs 0, reallocs 0, frees 0\n",
    ] {
        assert!(
            all.contains(line),
            "no `{line}` in the child's output:\n{all}"
        );
    }
    let pending = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots/integration_insta__parse_people.snap.new");
    assert!(
        !pending.exists(),
        "INSTA_UPDATE=no wrote {}",
        pending.display()
    );
}
