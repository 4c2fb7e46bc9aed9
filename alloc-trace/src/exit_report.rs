//! The report printed at exit: [`report_on_exit`] (re-exported at the crate root), the
//! guard it returns ([`ExitReport`]) and the variable that steers it ([`ENV_VAR`]).
//!
//! This is the crate's top layer: it builds a [`Report`] (`gather`) and shows it (`report`);
//! nothing below imports from here.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//!
//! fn main() {
//!     let _report: alloc_trace::exit_report::ExitReport = alloc_trace::report_on_exit();
//!     assert_eq!(alloc_trace::exit_report::ENV_VAR, "ALLOC_TRACE");
//! }
//! ```
//!
//! # Implementation
//!
//! Two triggers print the same report, at most once per process:
//! - the guard that [`report_on_exit`] returns, when it is dropped (end of `main`, or
//!   unwinding out of it);
//! - an `atexit` hook (Unix), armed when the first tracked function is first called if
//!   `ALLOC_TRACE` is set, or by [`report_on_exit`]; it catches `std::process::exit` and
//!   programs that have no guard.
//!
//! WARNING: everything here that allocates (reading the variable, building, formatting,
//! writing and dropping the report) runs inside `counters::untracked`, so the report's own
//! allocations are never counted.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::gather::report;
use crate::report::{FoldedWeight, Report};

/// The environment variable that turns the exit report on and chooses its form and
/// destination. See [`report_on_exit`](crate::report_on_exit).
///
/// ```
/// assert_eq!(alloc_trace::exit_report::ENV_VAR, "ALLOC_TRACE");
/// ```
pub const ENV_VAR: &str = "ALLOC_TRACE";

/// Set once the exit report has been printed (or skipped because it is off).
static DONE: AtomicBool = AtomicBool::new(false);
/// Set when a guard exists: the atexit hook then prints even without `ALLOC_TRACE`.
static GUARD_CREATED: AtomicBool = AtomicBool::new(false);
static ARM_ATEXIT: Once = Once::new();

/// Prints the process-wide [`Report`] when dropped: hold it for the whole of `main`.
///
/// Returned by [`report_on_exit`]. Dropping it prints the report once; later triggers (a
/// second guard, the `atexit` hook) print nothing.
#[must_use = "the report is printed when this guard is dropped: bind it with `let _report = ...`"]
#[derive(Debug)]
pub struct ExitReport {
    _private: (),
}

/// Prints the report when `main` ends: `let _report = alloc_trace::report_on_exit();`.
///
/// The report covers every thread since the program started, and goes where `ALLOC_TRACE`
/// says; without the variable, the table goes to standard error. The guard also prints if
/// `main` unwinds, and (on Unix) an `atexit` hook prints it if the program ends with
/// [`std::process::exit`] while the guard is alive. The report is printed at most once.
///
/// # `ALLOC_TRACE`
///
/// Also works without a guard: when set, the report is printed at exit (on Unix, from an
/// `atexit` hook armed when the first `#[track_allocs]` function is first called; a
/// program that calls none prints nothing). The value is `FORM`, `FORM:DEST` or a
/// shorthand:
///
/// | value | prints |
/// |---|---|
/// | `1`, `on`, `true`, `stderr` | the table, on standard error |
/// | `stdout` | the table, on standard output |
/// | `table`, `json`, `folded`, `folded-bytes` | that form, on standard error |
/// | `FORM:stderr`, `FORM:stdout` | that form, there |
/// | `FORM:PATH` | that form, written to the file `PATH` (created or truncated) |
/// | `0`, `off`, `false`, or empty | nothing (also silences the guard) |
///
/// `table` is the [`Display`](Report#impl-Display-for-Report) of the report, `json` is
/// `Report::to_json` (needs the `json` feature), `folded` and `folded-bytes` are
/// [`Report::folded`] weighted by allocations or by bytes (input for inferno or
/// `flamegraph.pl`). An unknown value, or `json` without the feature, prints a warning and
/// the table on standard error.
///
/// # Threads still running at exit
///
/// They keep running while the report is built (Rust ends them only after the `atexit`
/// hooks). Their numbers are as of their last tracked call that allocated; the report
/// takes only the short locks that every thread releases promptly, so it cannot deadlock
/// on them.
///
/// ```no_run
/// #[global_allocator]
/// static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
///
/// fn main() {
///     let _report = alloc_trace::report_on_exit();
///     // ... the program ...
/// } // the table is printed here
/// ```
pub fn report_on_exit() -> ExitReport {
    GUARD_CREATED.store(true, Ordering::Relaxed);
    arm_atexit();
    ExitReport { _private: () }
}

impl Drop for ExitReport {
    fn drop(&mut self) {
        print_once();
    }
}

/// Arms the `atexit` hook if `ALLOC_TRACE` is set, when the program starts (a constructor,
/// run before `main`: so a program with no tracked function reports too). It reads the
/// variable with `getenv`, which allocates nothing.
#[cfg(unix)]
mod at_start {
    extern "C" fn arm_if_asked() {
        const NAME: &core::ffi::CStr = c"ALLOC_TRACE";
        // SAFETY: `NAME` is NUL-terminated; nothing modifies the environment while
        // constructors run.
        let value = unsafe { libc::getenv(NAME.as_ptr()) };
        // SAFETY: a non-null result is a NUL-terminated string owned by the environment.
        if !value.is_null() && unsafe { *value } != 0 {
            super::arm_atexit();
        }
    }

    #[used]
    #[cfg_attr(
        any(
            target_os = "linux",
            target_os = "android",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
            target_os = "illumos",
            target_os = "solaris"
        ),
        unsafe(link_section = ".init_array")
    )]
    #[cfg_attr(
        target_vendor = "apple",
        unsafe(link_section = "__DATA,__mod_init_func")
    )]
    static ARM_IF_ASKED: extern "C" fn() = arm_if_asked;
}

fn arm_atexit() {
    ARM_ATEXIT.call_once(|| {
        #[cfg(unix)]
        {
            extern "C" fn at_exit() {
                // Nothing may unwind out of an `extern "C"` function.
                let _ = std::panic::catch_unwind(print_once);
            }
            // SAFETY: `at_exit` is an `extern "C" fn()` that never unwinds; registering it
            // has no other precondition. A failure (table full) only loses the report.
            let _ = unsafe { libc::atexit(at_exit) };
        }
    });
}

/// What `ALLOC_TRACE` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Setting {
    Off,
    Print(Form, Dest),
    /// Not understood: the value, for the warning.
    Invalid(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Table,
    Json,
    Folded(FoldedWeight),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Dest {
    Stderr,
    Stdout,
    File(PathBuf),
}

/// The variable's setting; `None` if it is unset or empty.
fn setting() -> Option<Setting> {
    let value = std::env::var_os(ENV_VAR)?;
    let value = value.to_string_lossy();
    (!value.trim().is_empty()).then(|| parse(value.trim()))
}

fn parse(value: &str) -> Setting {
    let (form, dest) = match value.split_once(':') {
        Some((form, dest)) => (form, Some(dest)),
        None => (value, None),
    };
    let form = match form.to_ascii_lowercase().as_str() {
        "0" | "off" | "false" | "no" if dest.is_none() => return Setting::Off,
        "1" | "on" | "true" | "yes" | "stderr" if dest.is_none() => Form::Table,
        "stdout" if dest.is_none() => return Setting::Print(Form::Table, Dest::Stdout),
        "table" => Form::Table,
        "json" => Form::Json,
        "folded" => Form::Folded(FoldedWeight::Allocs),
        "folded-bytes" => Form::Folded(FoldedWeight::Bytes),
        _ => return Setting::Invalid(value.to_owned()),
    };
    let dest = match dest {
        None | Some("stderr") => Dest::Stderr,
        Some("stdout") => Dest::Stdout,
        Some("") => return Setting::Invalid(value.to_owned()),
        Some(path) => Dest::File(PathBuf::from(path)),
    };
    Setting::Print(form, dest)
}

/// Prints the exit report unless it was already printed.
fn print_once() {
    if DONE.swap(true, Ordering::AcqRel) {
        return;
    }
    print_now(None);
}

/// Prints the report as `forced` or else `ALLOC_TRACE` says.
fn print_now(forced: Option<&Setting>) {
    crate::per_thread::uncounted(|| {
        let setting = match forced.cloned().or_else(setting) {
            Some(setting) => setting,
            // A guard without the variable: the table on stderr. The hook armed by a
            // variable that has since been removed: nothing.
            None if GUARD_CREATED.load(Ordering::Relaxed) => {
                Setting::Print(Form::Table, Dest::Stderr)
            }
            None => Setting::Off,
        };
        let (form, dest) = match setting {
            Setting::Off => return,
            Setting::Print(form, dest) => (form, dest),
            Setting::Invalid(value) => {
                warn(&format!(
                    "{ENV_VAR}={value:?} is not understood (expected e.g. `stderr`, `stdout`, \
                     `json:PATH`, `folded:PATH`, `table:PATH` or `off`); printing the table"
                ));
                (Form::Table, Dest::Stderr)
            }
        };
        if !crate::installed::is_installed() {
            // The same message `measure` and `report` panic with, where a table would go.
            write(crate::installed::NOT_INSTALLED, &Dest::Stderr);
            return;
        }
        let report = report();
        let text = render(&report, form);
        write(&text, &dest);
    });
}

fn render(report: &Report, form: Form) -> String {
    match form {
        Form::Table => report.to_string(),
        Form::Folded(weight) => report.folded(weight),
        #[cfg(feature = "json")]
        Form::Json => report.to_json(),
        #[cfg(not(feature = "json"))]
        Form::Json => {
            warn(&format!(
                "{ENV_VAR} asks for JSON, but alloc-trace was built without its `json` feature; printing the table"
            ));
            report.to_string()
        }
    }
}

fn write(text: &str, dest: &Dest) {
    // Errors (a closed pipe, an unwritable path) cannot be reported to the program at
    // exit; the file case gets a warning on stderr.
    match dest {
        Dest::Stderr => {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
        }
        Dest::Stdout => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        }
        Dest::File(path) => {
            if let Err(e) = std::fs::write(path, text) {
                warn(&format!(
                    "could not write the exit report to {}: {e}",
                    path.display()
                ));
            }
        }
    }
}

fn warn(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "alloc-trace: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(form: Form, dest: Dest) -> Setting {
        Setting::Print(form, dest)
    }

    #[test]
    fn settings_parse() {
        use Form::{Folded, Json, Table};
        let file = |p: &str| Dest::File(PathBuf::from(p));
        assert_eq!(parse("1"), print(Table, Dest::Stderr));
        assert_eq!(parse("stderr"), print(Table, Dest::Stderr));
        assert_eq!(parse("stdout"), print(Table, Dest::Stdout));
        assert_eq!(parse("json"), print(Json, Dest::Stderr));
        assert_eq!(parse("json:stdout"), print(Json, Dest::Stdout));
        assert_eq!(parse("json:/tmp/r.json"), print(Json, file("/tmp/r.json")));
        assert_eq!(parse("table:out.txt"), print(Table, file("out.txt")));
        assert_eq!(
            parse("folded:a:b.folded"),
            print(Folded(FoldedWeight::Allocs), file("a:b.folded"))
        );
        assert_eq!(
            parse("folded-bytes:x"),
            print(Folded(FoldedWeight::Bytes), file("x"))
        );
        assert_eq!(parse("OFF"), Setting::Off);
        assert_eq!(parse("0"), Setting::Off);
        assert_eq!(parse("verbose"), Setting::Invalid("verbose".to_owned()));
        assert_eq!(parse("json:"), Setting::Invalid("json:".to_owned()));
        assert_eq!(parse("off:x"), Setting::Invalid("off:x".to_owned()));
    }

    #[test]
    fn printing_the_report_is_not_counted() {
        let path =
            std::env::temp_dir().join(format!("alloc-trace-exit-{}.txt", std::process::id()));
        let setting = print(Form::Table, Dest::File(path.clone()));
        let ((), stats) = crate::measure(|| print_now(Some(&setting)));
        assert_eq!(stats, crate::stats::AllocStats::default());
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(
            text.starts_with("alloc-trace report (all threads, since the program started)"),
            "{text}"
        );
    }
}
