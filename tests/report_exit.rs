//! The report printed at exit, checked on a real process (`src/bin/exit-report-probe.rs`):
//! the guard, the `ALLOC_TRACE` variable (every form, option and destination, and every
//! kind of bad value), printing once, `process::exit`, panics, threads still running at
//! exit, and that nothing of the exit report is counted in the totals it prints.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TITLE: &str = "alloc-trace report (all threads, since the program started)";

/// Runs the probe in `mode` with `ALLOC_TRACE` set to `env` (or unset), within 20 s.
fn run(mode: &str, env: Option<&str>) -> Output {
    run_in(mode, env.map(OsStr::new), None)
}

/// [`run`] with any bytes in the variable, in the working directory `dir`.
fn run_in(mode: &str, env: Option<&OsStr>, dir: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_exit-report-probe"));
    command
        .arg(mode)
        .env_remove("ALLOC_TRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(value) = env {
        command.env("ALLOC_TRACE", value);
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("exit-report-probe {mode} did not exit within 20 s (deadlock at exit?)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `probe::work` row of a table, without its share (which depends on what the Rust
/// runtime allocated outside): 3 calls, 1 allocation of 100 bytes each, all freed.
const WORK_ROW: &str = "3 3 1 0 300 B 100 B 0 B 0 B 100 B";

fn assert_one_table(table: &str) {
    assert_eq!(
        table.matches(TITLE).count(),
        1,
        "exactly one report:\n{table}"
    );
    let row = table
        .lines()
        .find(|l| l.ends_with("  probe::work"))
        .unwrap_or_else(|| panic!("no row:\n{table}"));
    let tokens: Vec<&str> = row.split_whitespace().collect();
    let mut rate = &tokens[..tokens.len() - 2];
    if cfg!(feature = "ownership") {
        // live@peak and live@end: what the process held at its peak depends on the Rust
        // runtime; at exit, `probe::work` holds nothing.
        let (left, live) = rate.split_at(rate.len() - 4);
        assert_eq!(live[2..].join(" "), "0 B", "{table}");
        rate = left;
    }
    assert_eq!(rate.join(" "), WORK_ROW, "{table}");
    assert!(table.contains("TOTAL (all threads)"), "{table}");
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("alloc-trace-exit-{}-{name}", std::process::id()))
}

#[test]
fn the_guard_prints_the_table_on_stderr_once() {
    let out = run("guard", None);
    assert!(out.status.success());
    assert_one_table(&text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn without_guard_or_variable_nothing_is_printed() {
    let out = run("env", None);
    assert!(out.status.success());
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (String::new(), String::new())
    );
}

#[test]
fn the_variable_alone_prints_at_exit() {
    for value in ["1", "stderr", "table", "table:stderr"] {
        let out = run("env", Some(value));
        assert!(out.status.success());
        assert_one_table(&text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "ALLOC_TRACE={value}");
    }
}

#[test]
fn stdout_destination() {
    for mode in ["env", "guard"] {
        let out = run(mode, Some("stdout"));
        assert_one_table(&text(&out.stdout));
        assert_eq!(text(&out.stderr), "");
    }
}

#[test]
fn off_silences_even_the_guard() {
    let out = run("guard", Some("off"));
    assert!(out.status.success());
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        (String::new(), String::new())
    );
}

#[test]
fn json_to_a_file() {
    let path = temp_path("report.json");
    let out = run("guard", Some(&format!("json:{}", path.display())));
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
    let json = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let report = alloc_trace::Report::from_json(&json).unwrap();
    assert_eq!(report.scope(), alloc_trace::report::Scope::Process);
    let work = report.site("probe::work").unwrap();
    assert_eq!(work.calls, 3);
    assert_eq!(
        work.inclusive,
        alloc_trace::AllocStats {
            allocs: 3,
            reallocs: 0,
            frees: 3,
            bytes_allocated: 300,
            bytes_freed: 300,
            peak_bytes: 100
        }
    );
    assert_eq!(report.site("probe::spin").unwrap().calls, 0);
}

#[test]
fn folded_and_table_to_files() {
    for (form, expected) in [
        ("folded", "probe::work 3\n"),
        ("folded-bytes", "probe::work 300\n"),
    ] {
        let path = temp_path(form);
        let out = run("env", Some(&format!("{form}:{}", path.display())));
        assert!(out.status.success());
        let folded = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        // The outside line's weight depends on the Rust runtime; the work line is exact.
        // Lines are sorted: `[` before `p`.
        assert!(
            folded.starts_with("[outside tracked functions] "),
            "{folded}"
        );
        assert!(folded.ends_with(&format!("\n{expected}")), "{folded}");
        assert_eq!(text(&out.stderr), "");
    }
    let path = temp_path("table.txt");
    let out = run("env", Some(&format!("table:{}", path.display())));
    assert!(out.status.success());
    let table = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_one_table(&table);
}

/// The ownership view's folded forms: what each path held at the process's peak, and
/// what it never freed. Without the view, they are refused in one line (no empty file).
#[test]
fn folded_live_forms_to_files() {
    for (form, expected) in [
        (
            "folded-live-at-peak",
            "probe::big 1048576\nprobe::keep 128\n",
        ),
        ("folded-live-at-end", "probe::keep 128\n"),
    ] {
        let path = temp_path(form);
        let value = format!("{form}:{}", path.display());
        let out = run("leak-env", Some(&value));
        assert!(out.status.success());
        if cfg!(feature = "ownership") {
            let folded = std::fs::read_to_string(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            // What the Rust runtime holds is outside tracked functions; the probe's lines
            // are exact, and `probe::work` (freed at once) has none.
            let (probe, other): (Vec<&str>, Vec<&str>) =
                folded.lines().partition(|l| l.starts_with("probe::"));
            assert_eq!(probe.join("\n") + "\n", expected, "{form}:\n{folded}");
            assert!(
                other
                    .iter()
                    .all(|l| l.starts_with("[outside tracked functions] ")),
                "{form}:\n{folded}"
            );
            assert_eq!(text(&out.stderr), "");
        } else {
            let line = one_line_then_the_table(&value, &out);
            assert!(
                line.ends_with(&format!(
                    "the `{form}` form needs alloc-trace's `ownership` feature, which this \
                     program was built without{FALLBACK}"
                )),
                "{line}"
            );
            assert!(!path.exists(), "{form}: no file");
        }
    }
}

#[path = "export_support/mod.rs"]
mod export_support;

/// `dhat:FILE` writes DHAT's JSON, with `probe::work`'s exact numbers as a program point.
#[test]
fn dhat_to_a_file() {
    let path = temp_path("dhat.json");
    let out = run("env", Some(&format!("dhat:{}", path.display())));
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
    let dhat: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(dhat["dhatFileVersion"], 2);
    let frames: Vec<&str> = dhat["ftbl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let work = frames
        .iter()
        .position(|f| f.starts_with("probe::work ("))
        .unwrap_or_else(|| panic!("no probe::work frame: {frames:?}"));
    let point = dhat["pps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pp| pp["fs"].as_array().unwrap().first() == Some(&work.into()))
        .expect("a program point for probe::work");
    // 3 calls, one 100-byte block each, all freed.
    assert_eq!((&point["tb"], &point["tbk"]), (&300.into(), &3.into()));
}

/// `pprof:FILE` writes the gzipped profile; an independent decoder reads `probe::work`'s
/// exact numbers from it (the check skips, saying why, without the decoder).
#[test]
fn pprof_to_a_file() {
    let path = temp_path("alloc.pb.gz");
    let out = run("env", Some(&format!("pprof:{}", path.display())));
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes[..2], [0x1f, 0x8b], "gzip");
    let decoded = export_support::python_decode(&path);
    std::fs::remove_file(&path).unwrap();
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(why) => return export_support::skipped("Python protobuf decoder", &why),
    };
    let work = decoded["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stack"] == serde_json::json!(["probe::work"]))
        .unwrap_or_else(|| panic!("no probe::work sample: {decoded}"));
    // alloc_objects, alloc_space, (with the ownership view: inuse_objects, inuse_space,)
    // reallocs, frees, bytes freed, net.
    let values = if cfg!(feature = "ownership") {
        serde_json::json!([3, 300, 0, 0, 0, 3, 300, 0])
    } else {
        serde_json::json!([3, 300, 0, 3, 300, 0])
    };
    assert_eq!(work["values"], values);
}

/// A binary profile never goes to standard error.
#[test]
fn pprof_without_a_file_is_one_line_and_the_table() {
    let out = run("env", Some("pprof"));
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    let (line, table) = stderr.split_once('\n').unwrap();
    assert_eq!(
        line,
        "alloc-trace: ALLOC_TRACE=\"pprof\": `pprof` is a binary file: give it a path \
         (`pprof:alloc.pb.gz`) or `stdout`; printing the table on stderr instead"
    );
    assert_one_table(table);
}

#[test]
fn process_exit_with_the_guard_alive_still_prints_once() {
    let out = run("exit", None);
    assert_eq!(out.status.code(), Some(3));
    assert_one_table(&text(&out.stderr));
}

#[test]
fn a_panic_in_main_still_prints_once() {
    let out = run("panic", None);
    assert_eq!(out.status.code(), Some(101));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("the probe panics"), "{stderr}");
    assert_one_table(&stderr);
}

#[test]
fn threads_still_running_at_exit_neither_block_nor_corrupt_it() {
    for (mode, env) in [
        ("threads-guard", None),
        ("threads-env", Some("1")),
        ("threads-guard", Some("json:stderr")),
    ] {
        let out = run(mode, env);
        assert!(out.status.success(), "{mode}: {out:?}");
        let stderr = text(&out.stderr);
        if env == Some("json:stderr") {
            let report = alloc_trace::Report::from_json(&stderr).unwrap();
            assert_eq!(report.site("probe::work").unwrap().calls, 3);
            // Each of the two threads ended one call before `main` returned, and goes on.
            assert!(report.site("probe::spin").unwrap().calls >= 2, "{stderr}");
        } else {
            assert_one_table(&stderr);
            assert!(stderr.contains("  probe::spin\n"), "{stderr}");
        }
    }
}

/// A fresh empty directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = temp_path(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        Self(dir)
    }

    /// The names of the files in it.
    fn files(&self) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const FALLBACK: &str = "; printing the table on stderr instead";

/// Checks that `stderr` is one line about `value`, then the table, and returns that line.
#[track_caller]
fn one_line_then_the_table(value: &str, out: &Output) -> String {
    assert!(out.status.success(), "{out:?}");
    let stderr = text(&out.stderr);
    let (line, table) = stderr.split_once('\n').unwrap();
    assert!(
        line.starts_with(&format!("alloc-trace: ALLOC_TRACE={value:?}: "))
            && line.ends_with(FALLBACK),
        "ALLOC_TRACE={value:?}:\n{stderr}"
    );
    assert!(table.starts_with(TITLE), "ALLOC_TRACE={value:?}:\n{stderr}");
    assert!(!table.contains("alloc-trace: "), "one line:\n{stderr}");
    assert_one_table(table);
    assert_eq!(text(&out.stdout), "", "ALLOC_TRACE={value:?}");
    line.to_owned()
}

#[test]
fn an_unknown_value_warns_and_prints_the_table() {
    let line = one_line_then_the_table("loud", &run("env", Some("loud")));
    assert_eq!(
        line,
        format!(
            "alloc-trace: ALLOC_TRACE=\"loud\": unknown form `loud` (expected `table`, `json`, \
             `folded`, `folded-bytes`, `folded-live-at-peak`, `folded-live-at-end`, `dhat` or \
             `pprof`, or one of `1`, `stderr`, `stdout`, `off` alone){FALLBACK}"
        )
    );
}

#[test]
fn every_bad_value_is_one_line_and_the_table_never_a_file() {
    for (value, says) in [
        ("csv:out.csv", "unknown form `csv`"),
        ("off:out.txt", "`off` stands alone"),
        ("1:out.txt", "`1` stands alone"),
        ("stdout,top=1", "`stdout` stands alone"),
        (
            "json,top=5:out.json",
            "`top` is an option of the table, not of `json`",
        ),
        (
            "folded,sort=bytes:out.folded",
            "`sort` is an option of the table, not of `folded`",
        ),
        ("table,top=ten:out.txt", "`top=ten` is not a number of rows"),
        ("table,sort=size:out.txt", "`sort=size` is not a column"),
        ("table,top=1,top=2:out.txt", "`top` is given twice"),
        ("table,color=red:out.txt", "unknown option `color=red`"),
        ("table,,top=1:out.txt", "an empty option between commas"),
        ("json:", "nothing after `:`"),
        ("sort=bytes,top=3", "unknown form `sort=bytes`"),
    ] {
        let dir = TempDir::new("bad-value");
        for mode in ["env", "guard"] {
            let out = run_in(mode, Some(OsStr::new(value)), Some(&dir.0));
            let line = one_line_then_the_table(value, &out);
            assert!(line.contains(says), "{value}: {line}");
        }
        assert_eq!(
            dir.files(),
            Vec::<std::ffi::OsString>::new(),
            "{value}: no file"
        );
    }
}

#[test]
fn a_file_that_cannot_be_written_is_one_line_and_the_table() {
    let dir = TempDir::new("unwritable");
    let value = format!(
        "json:{}",
        dir.0.join("no-such-dir").join("r.json").display()
    );
    let out = run("env", Some(&value));
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    let (line, table) = stderr.split_once('\n').unwrap();
    assert!(
        line.starts_with("alloc-trace: could not write the exit report to \"")
            && line.ends_with(FALLBACK),
        "{stderr}"
    );
    assert_one_table(table);
}

#[test]
fn empty_or_blank_is_as_if_unset() {
    for value in ["", "  "] {
        let out = run("env", Some(value));
        assert_eq!(
            (text(&out.stdout), text(&out.stderr)),
            (String::new(), String::new()),
            "{value:?}"
        );
        let out = run("guard", Some(value));
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with(TITLE), "{value:?}: {stderr}");
        assert_one_table(&stderr);
    }
}

#[test]
fn keywords_ignore_case_a_path_keeps_it() {
    let dir = TempDir::new("case");
    for value in ["JSON:STDOUT", "Json:StdOut", " json : stdout "] {
        let out = run_in("env", Some(OsStr::new(value)), Some(&dir.0));
        assert!(out.status.success(), "{value}: {out:?}");
        let report = alloc_trace::Report::from_json(&text(&out.stdout)).unwrap();
        assert_eq!(report.site("probe::work").unwrap().calls, 3, "{value}");
        assert_eq!(text(&out.stderr), "", "{value}");
    }
    assert_eq!(
        dir.files(),
        Vec::<std::ffi::OsString>::new(),
        "no file named STDOUT"
    );
    // Anything else after `:` is a path, case and all.
    let out = run_in("env", Some(OsStr::new("Table:STDOUT.txt")), Some(&dir.0));
    assert!(out.status.success());
    assert_one_table(&std::fs::read_to_string(dir.0.join("STDOUT.txt")).unwrap());
}

#[test]
fn a_path_holds_colons_and_commas() {
    let dir = TempDir::new("punctuation");
    let path = dir.0.join("a,b:c.txt");
    let out = run("env", Some(&format!("table,top=5:{}", path.display())));
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
    assert_one_table(&std::fs::read_to_string(&path).unwrap());
}

#[cfg(unix)]
#[test]
fn a_path_that_is_not_utf8_is_used_byte_for_byte() {
    use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
    let dir = TempDir::new("bytes");
    let mut value = b"json:".to_vec();
    value.extend_from_slice(dir.0.as_os_str().as_bytes());
    value.extend_from_slice(b"/r\xff.json");
    let out = run_in("env", Some(&std::ffi::OsString::from_vec(value)), None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(
        dir.files(),
        [std::ffi::OsString::from_vec(b"r\xff.json".to_vec())]
    );
    let json = std::fs::read_to_string(dir.0.join(OsStr::from_bytes(b"r\xff.json"))).unwrap();
    assert_eq!(
        alloc_trace::Report::from_json(&json)
            .unwrap()
            .site("probe::work")
            .unwrap()
            .calls,
        3
    );
}

#[test]
fn sort_and_top_choose_the_table() {
    let out = run("env", Some("table,sort=bytes,top=1:stdout"));
    assert!(out.status.success());
    let table = text(&out.stdout);
    assert!(
        table.starts_with(&format!(
            "{TITLE}; tracked functions by bytes, largest first\n"
        )),
        "{table}"
    );
    assert_one_table(&table);
    assert!(!table.contains("more tracked"), "one function ran: {table}");

    let out = run("env", Some("TABLE , TOP=0"));
    let table = text(&out.stderr);
    assert!(table.starts_with(TITLE), "{table}");
    assert!(!table.contains("probe::work"), "{table}");
    assert!(!table.contains("no tracked function was called"), "{table}");
    assert!(
        table.contains("\n... 1 more tracked function not shown (top 0)\n"),
        "{table}"
    );
}

/// The numbers of a `BEFORE-EXIT-REPORT` or `AFTER-LINE` line of the probe: allocs,
/// reallocs, frees, bytes allocated, bytes freed.
fn totals_line(stderr: &str, label: &str) -> [u64; 5] {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no {label}:\n{stderr}"));
    let numbers: Vec<u64> = line
        .split(' ')
        .map(|kv| kv.split_once('=').unwrap().1.parse().unwrap())
        .collect();
    numbers.try_into().unwrap()
}

#[test]
fn the_totals_printed_are_those_counted_just_before() {
    let dir = TempDir::new("totals");
    let file = dir.0.join("report.json");
    let json_file = format!("json:{}", file.display());
    for mode in ["total-guard", "total-env"] {
        for value in [
            "1",
            "stderr",
            "table,sort=bytes,top=1",
            "json:stderr",
            &json_file,
        ] {
            let out = run(mode, Some(value));
            assert!(out.status.success(), "{mode} {value}: {out:?}");
            let stderr = text(&out.stderr);
            let before = totals_line(&stderr, "BEFORE-EXIT-REPORT");
            assert_eq!(
                totals_line(&stderr, "AFTER-LINE"),
                before,
                "the probe's line allocates nothing"
            );
            let report_text = match value.strip_prefix("json:") {
                Some("stderr") => stderr[stderr.find('{').unwrap()..].to_owned(),
                Some(_) => std::fs::read_to_string(&file).unwrap(),
                None => {
                    // allocs and reallocs are exact in the table.
                    let total = stderr
                        .lines()
                        .find(|l| l.ends_with("TOTAL (all threads)"))
                        .unwrap_or_else(|| panic!("{stderr}"));
                    let cells: Vec<u64> = total
                        .split_whitespace()
                        .take(2)
                        .map(|c| c.parse().unwrap())
                        .collect();
                    assert_eq!(cells, before[..2], "{mode} {value}:\n{stderr}");
                    continue;
                }
            };
            let totals = alloc_trace::Report::from_json(&report_text)
                .unwrap()
                .totals();
            assert_eq!(
                [
                    totals.allocs,
                    totals.reallocs,
                    totals.frees,
                    totals.bytes_allocated,
                    totals.bytes_freed
                ],
                before,
                "{mode} {value}: nothing of the exit report, reading ALLOC_TRACE included"
            );
        }
    }
}
