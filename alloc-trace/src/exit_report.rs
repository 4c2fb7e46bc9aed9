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
//! - an `atexit` hook (Unix), armed before `main` by a constructor if `ALLOC_TRACE` is set,
//!   or by [`report_on_exit`]; it catches `std::process::exit` and programs that have no
//!   guard.
//!
//! WARNING: everything here that allocates (reading the variable, building, formatting,
//! writing and dropping the report) runs inside `per_thread::uncounted`, so the report's
//! own allocations are never counted. That section restores the counters only when it
//! ends, so the order inside it matters: the variable is read in a nested section of its
//! own (allocated and freed there) and parsed without allocating, then the report reads
//! the numbers, and only then does anything else allocate.

use core::fmt;
use std::ffi::OsStr;
use std::io::Write as _;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::gather::report;
use crate::per_thread;
use crate::report::{FoldedWeight, Report, SortBy};
use crate::sys::SysVec;

/// The environment variable that turns the exit report on and chooses its form,
/// options and destination; its values are listed in
/// [`report_on_exit`](crate::report_on_exit#alloc_trace).
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
///
/// ```no_run
/// #[global_allocator]
/// static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
///
/// fn main() {
///     let report: alloc_trace::exit_report::ExitReport = alloc_trace::report_on_exit();
///     std::hint::black_box(vec![1u8; 100]);
///     drop(report); // the table is printed here, not again at exit
/// }
/// ```
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
/// Nothing the exit report does is counted, reading `ALLOC_TRACE` included: its totals
/// are what was counted when it started.
///
/// # `ALLOC_TRACE`
///
/// Also works without a guard: when the variable is set and not empty, a constructor arms
/// the `atexit` hook before `main` (on Unix; elsewhere only a guard prints). Its value:
///
/// | value | prints | needs |
/// |---|---|---|
/// | unset, empty or blank | without a guard nothing; with one, the table on standard error | |
/// | `1`, `on`, `true`, `yes`, `stderr` | the table, on standard error | |
/// | `stdout` | the table, on standard output | |
/// | `0`, `off`, `false`, `no` | nothing (a guard prints nothing either) | |
/// | `table` | the table ([`Display`](Report#impl-Display-for-Report) of the report) | |
/// | `table,sort=COLUMN,top=N` | the table ordered by `COLUMN` (`allocs`, `bytes`, `net`, `peak`, `calls`; see [`SortBy`]), its first `N` rows; either option alone, in any order | |
/// | `json` | [`Report::to_json`](Report#method.to_json) | feature `json` |
/// | `folded`, `folded-bytes` | [`Report::folded`] weighted by allocations or bytes (input for inferno or `flamegraph.pl`) | |
/// | `folded-live-at-peak`, `folded-live-at-end` | [`Report::folded`] weighted by the bytes each path held at the process's peak, or still holds at exit (the leak flamegraph) | feature `ownership` |
/// | `dhat` | [`Report::to_dhat`](Report#method.to_dhat): DHAT's JSON, for `dh_view.html` | feature `json` |
/// | `pprof:PATH`, `pprof:stdout` | [`Report::to_pprof`](Report#method.to_pprof): a gzipped pprof profile (binary: a file or standard output, never standard error) | feature `pprof` |
/// | `FORM` | that form (any text form above), on standard error | as the form |
/// | `FORM:stderr`, `FORM:stdout` | that form, there | as the form |
/// | `FORM:PATH` | that form, in the file `PATH` (created or truncated) | as the form |
///
/// As a grammar (`[]` optional, `*()` repeated):
///
/// ```text
/// value  = switch | form *( "," option ) [ ":" dest ]
/// switch = "1" | "on" | "true" | "yes" | "stderr" | "stdout" | "0" | "off" | "false" | "no"
/// form   = "table" | "json" | "folded" | "folded-bytes" | "folded-live-at-peak"
///        | "folded-live-at-end" | "dhat" | "pprof"
/// option = "sort=" ( "allocs" | "bytes" | "net" | "peak" | "calls" ) | "top=" DIGITS
/// dest   = "stderr" | "stdout" | PATH
/// ```
///
/// - The first `:` ends the keywords: everything after it is the destination, so a path
///   may hold `:` and `,` (`table,top=5:/tmp/a,b:c.txt` writes the file `/tmp/a,b:c.txt`).
/// - Keywords (switches, forms, options, their values, `stderr` and `stdout`) compare
///   without case and ignore ASCII spaces around them: `JSON:STDOUT` prints JSON on
///   standard output.
/// - Any other destination is a path, used byte for byte: case, spaces, and on Unix any
///   bytes, UTF-8 or not. A file called `stdout` is `./stdout`.
/// - Options are the table's, each given at most once.
///
/// Every other value prints **one line** on standard error that says what is wrong, then
/// the table on standard error (never a file): an unknown form or option, a switch with
/// options or a destination (`off:x`), an option of another form (`json,top=5`), an option
/// given twice, nothing after `:`, `pprof` without a file or `stdout`, or a form whose
/// feature the program was built without (`json` and `dhat` need `json`, `pprof` needs
/// `pprof`). A file that cannot be written gets such a line and the table on standard
/// error too.
///
/// ```text
/// alloc-trace: ALLOC_TRACE="json:report.json": the `json` form needs alloc-trace's `json` feature, which this program was built without; printing the table on stderr instead
/// ```
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

/// Arms the `atexit` hook if `ALLOC_TRACE` is set and not empty, when the program starts
/// (a constructor, run before `main`: so a program with no tracked function reports too).
/// It reads the variable with `getenv`, which allocates nothing (no other thread runs
/// yet, so std's environment lock is not needed).
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

// ---- the value of `ALLOC_TRACE` -------------------------------------------------------
//
// Parsed from the bytes as they are, borrowing them: parsing allocates nothing, and a path
// is used byte for byte.

/// What `ALLOC_TRACE` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setting<'a> {
    /// Unset, empty or blank: as if there were no variable.
    Unset,
    /// `0`, `off`, `false`, `no`: nothing, not even from a guard.
    Off,
    Print(Plan<'a>),
}

/// A report to print: its form, where, and the table's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan<'a> {
    form: Form,
    dest: Dest<'a>,
    sort: SortBy,
    top: Option<usize>,
}

impl Plan<'_> {
    /// The default, and what every problem falls back to.
    const TABLE_ON_STDERR: Plan<'static> = Plan::table(Dest::Stderr);

    const fn table(dest: Dest<'_>) -> Plan<'_> {
        Plan {
            form: Form::Table,
            dest,
            sort: SortBy::Allocs,
            top: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Table,
    Json,
    Folded(FoldedWeight),
    Dhat,
    Pprof,
}

impl Form {
    const ALL: [Form; 8] = [
        Form::Table,
        Form::Json,
        Form::Folded(FoldedWeight::Allocs),
        Form::Folded(FoldedWeight::Bytes),
        Form::Folded(FoldedWeight::LiveAtPeak),
        Form::Folded(FoldedWeight::LiveAtEnd),
        Form::Dhat,
        Form::Pprof,
    ];

    const fn name(self) -> &'static str {
        match self {
            Form::Table => "table",
            Form::Json => "json",
            Form::Folded(FoldedWeight::Allocs) => "folded",
            Form::Folded(FoldedWeight::Bytes) => "folded-bytes",
            Form::Folded(FoldedWeight::LiveAtPeak) => "folded-live-at-peak",
            Form::Folded(FoldedWeight::LiveAtEnd) => "folded-live-at-end",
            Form::Dhat => "dhat",
            Form::Pprof => "pprof",
        }
    }

    /// The crate feature the form needs, if any.
    const fn feature(self) -> Option<&'static str> {
        match self {
            Form::Json | Form::Dhat => Some("json"),
            Form::Pprof => Some("pprof"),
            // Without the view there are no live bytes to weigh: the output would be empty.
            Form::Folded(FoldedWeight::LiveAtPeak | FoldedWeight::LiveAtEnd) => Some("ownership"),
            Form::Table | Form::Folded(_) => None,
        }
    }
}

/// The features of this build that forms need (a parameter of [`parse`], so that every
/// case is tested in every build).
#[derive(Clone, Copy, Debug)]
struct Features {
    json: bool,
    pprof: bool,
    ownership: bool,
}

impl Features {
    const THIS_BUILD: Features = Features {
        json: cfg!(feature = "json"),
        pprof: cfg!(feature = "pprof"),
        ownership: cfg!(feature = "ownership"),
    };

    fn has(self, feature: &str) -> bool {
        match feature {
            "json" => self.json,
            "pprof" => self.pprof,
            "ownership" => self.ownership,
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dest<'a> {
    Stderr,
    Stdout,
    File(&'a OsStr),
}

/// Why a value is refused: said in one line, before the table that replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Problem<'a> {
    UnknownForm(&'a [u8]),
    /// A word that is a whole value (`1`, `off`, `stdout`, ...) given a destination or
    /// options.
    StandsAlone(&'a [u8]),
    NoDestination,
    EmptyOption,
    UnknownOption(&'a [u8]),
    NotAColumn(&'a [u8]),
    NotARowCount(&'a [u8]),
    Repeated(&'static str),
    TableOnly(&'static str, Form),
    /// A form this build cannot write: the form, and the feature it needs.
    NeedsFeature(Form, &'static str),
    /// `pprof` (binary) without a file or `stdout`.
    BinaryOnStderr,
    /// A path that is not Unicode, on a platform whose paths must be.
    #[cfg(not(unix))]
    NotUnicode,
    /// `System` had no memory for a copy of the value.
    Unreadable,
}

const OFF: [&str; 4] = ["0", "off", "false", "no"];
const ON: [&str; 5] = ["1", "on", "true", "yes", "stderr"];

fn is(word: &[u8], keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Parses a value of `ALLOC_TRACE` (see the grammar in [`report_on_exit`]), for a build with
/// `features`.
fn parse(value: &[u8], features: Features) -> Result<Setting<'_>, Problem<'_>> {
    if value.iter().all(u8::is_ascii_whitespace) {
        return Ok(Setting::Unset);
    }
    // The first `:` ends the keywords: a destination may hold `:` and `,`.
    let (spec, dest) = match value.iter().position(|&b| b == b':') {
        Some(colon) => (&value[..colon], Some(&value[colon + 1..])),
        None => (value, None),
    };
    let mut items = spec.split(|&b| b == b',').map(<[u8]>::trim_ascii);
    let head = items.next().unwrap_or_default();
    let alone = dest.is_none() && !spec.contains(&b',');
    let whole = if OFF.iter().any(|w| is(head, w)) {
        Some(Setting::Off)
    } else if ON.iter().any(|w| is(head, w)) {
        Some(Setting::Print(Plan::TABLE_ON_STDERR))
    } else if is(head, "stdout") {
        Some(Setting::Print(Plan::table(Dest::Stdout)))
    } else {
        None
    };
    if let Some(setting) = whole {
        return if alone {
            Ok(setting)
        } else {
            Err(Problem::StandsAlone(head))
        };
    }
    let form = Form::ALL
        .into_iter()
        .find(|f| is(head, f.name()))
        .ok_or(Problem::UnknownForm(head))?;
    let mut plan = Plan {
        form,
        ..Plan::TABLE_ON_STDERR
    };
    let (mut sort, mut top) = (None, None);
    for item in items {
        if item.is_empty() {
            return Err(Problem::EmptyOption);
        }
        let Some(eq) = item.iter().position(|&b| b == b'=') else {
            return Err(Problem::UnknownOption(item));
        };
        let (key, val) = (item[..eq].trim_ascii(), item[eq + 1..].trim_ascii());
        let (name, slot) = if is(key, "sort") {
            ("sort", &mut sort)
        } else if is(key, "top") {
            ("top", &mut top)
        } else {
            return Err(Problem::UnknownOption(item));
        };
        if slot.replace(val).is_some() {
            return Err(Problem::Repeated(name));
        }
        if form != Form::Table {
            return Err(Problem::TableOnly(name, form));
        }
    }
    if let Some(sort) = sort {
        plan.sort = SortBy::ALL
            .into_iter()
            .find(|c| is(sort, c.name()))
            .ok_or(Problem::NotAColumn(sort))?;
    }
    if let Some(top) = top {
        let digits = !top.is_empty() && top.iter().all(u8::is_ascii_digit);
        let n = core::str::from_utf8(top).ok().filter(|_| digits);
        plan.top = Some(
            n.and_then(|n| n.parse().ok())
                .ok_or(Problem::NotARowCount(top))?,
        );
    }
    if let Some(dest) = dest {
        let word = dest.trim_ascii();
        plan.dest = if word.is_empty() {
            return Err(Problem::NoDestination);
        } else if is(word, "stderr") {
            Dest::Stderr
        } else if is(word, "stdout") {
            Dest::Stdout
        } else {
            Dest::File(path(dest)?)
        };
    }
    if form == Form::Pprof && plan.dest == Dest::Stderr {
        return Err(Problem::BinaryOnStderr);
    }
    if let Some(feature) = form.feature().filter(|f| !features.has(f)) {
        return Err(Problem::NeedsFeature(form, feature));
    }
    Ok(Setting::Print(plan))
}

/// A destination's bytes as a path, exactly.
#[cfg(unix)]
fn path(bytes: &[u8]) -> Result<&OsStr, Problem<'_>> {
    use std::os::unix::ffi::OsStrExt as _;
    Ok(OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn path(bytes: &[u8]) -> Result<&OsStr, Problem<'_>> {
    core::str::from_utf8(bytes)
        .map(OsStr::new)
        .map_err(|_| Problem::NotUnicode)
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::UnknownForm(word) => write!(
                f,
                "unknown form `{}` (expected `table`, `json`, `folded`, `folded-bytes`, \
                 `folded-live-at-peak`, `folded-live-at-end`, `dhat` or `pprof`, or one of `1`, \
                 `stderr`, `stdout`, `off` alone)",
                Shown(word)
            ),
            Problem::StandsAlone(word) => write!(
                f,
                "`{}` stands alone, without `:` or `,` (a form with options or a destination \
                 is e.g. `table,top=20:stdout`)",
                Shown(word)
            ),
            Problem::NoDestination => f.write_str(
                "nothing after `:` (a destination is `stderr`, `stdout` or a file path)",
            ),
            Problem::EmptyOption => f.write_str("an empty option between commas"),
            Problem::UnknownOption(item) => write!(
                f,
                "unknown option `{}` (expected `sort=COLUMN` or `top=N`)",
                Shown(item)
            ),
            Problem::NotAColumn(word) => write!(
                f,
                "`sort={}` is not a column (expected `allocs`, `bytes`, `net`, `peak` or `calls`)",
                Shown(word)
            ),
            Problem::NotARowCount(word) => {
                write!(f, "`top={}` is not a number of rows", Shown(word))
            }
            Problem::Repeated(name) => write!(f, "`{name}` is given twice"),
            Problem::TableOnly(name, form) => write!(
                f,
                "`{name}` is an option of the table, not of `{}`",
                form.name()
            ),
            Problem::NeedsFeature(form, feature) => write!(
                f,
                "the `{}` form needs alloc-trace's `{feature}` feature, which this program was \
                 built without",
                form.name()
            ),
            Problem::BinaryOnStderr => f.write_str(
                "`pprof` is a binary file: give it a path (`pprof:alloc.pb.gz`) or `stdout`",
            ),
            #[cfg(not(unix))]
            Problem::NotUnicode => f.write_str("the file path is not valid Unicode"),
            Problem::Unreadable => f.write_str("the value could not be read (out of memory)"),
        }
    }
}

/// Bytes shown as text: UTF-8 as it is (escaped like a Rust string), other bytes as
/// `\xNN`.
struct Shown<'a>(&'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                write!(f, "{}", c.escape_debug())?;
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02X}")?;
            }
        }
        Ok(())
    }
}

// ---- printing ---------------------------------------------------------------------------

/// Prints the exit report unless it was already printed.
fn print_once() {
    if DONE.swap(true, Ordering::AcqRel) {
        return;
    }
    print_now(None);
}

/// The variable's value, read under std's environment lock and copied into `System`
/// memory. The `OsString` that `var_os` returns is allocated and freed inside a nested
/// uncounted section, so the counters are as they were before: the report then reads
/// none of its setup.
enum Variable {
    Unset,
    Set(SysVec<u8>),
    Unreadable,
}

fn read_variable() -> Variable {
    per_thread::uncounted(|| {
        let Some(value) = std::env::var_os(ENV_VAR) else {
            return Variable::Unset;
        };
        let bytes = value.as_encoded_bytes();
        let mut copy = SysVec::new();
        if !copy.reserve_total(bytes.len()) {
            return Variable::Unreadable;
        }
        for &b in bytes {
            // Cannot fail: the room is reserved.
            let _ = copy.push(b);
        }
        Variable::Set(copy)
    })
}

/// Prints the report as `forced` (a value of the variable, for tests) or else
/// `ALLOC_TRACE` says.
///
/// WARNING: nothing may allocate before `report()` has read the numbers (the uncounted
/// section restores the counters only when it ends, so they include what it allocated so
/// far): the variable is read in a section of its own and parsed without allocating.
fn print_now(forced: Option<&[u8]>) {
    per_thread::uncounted(|| {
        let variable = match forced {
            Some(_) => Variable::Unset,
            None => read_variable(),
        };
        let value = match &variable {
            Variable::Set(bytes) => Some(bytes.as_slice()),
            Variable::Unset | Variable::Unreadable => forced,
        };
        let parsed = match (value, &variable) {
            (_, Variable::Unreadable) => Err(Problem::Unreadable),
            (Some(value), _) => parse(value, Features::THIS_BUILD),
            (None, _) => Ok(Setting::Unset),
        };
        let (plan, problem) = match parsed {
            Ok(Setting::Off) => return,
            // A guard without the variable: the table on stderr. The hook armed by a
            // variable that has since been removed: nothing.
            Ok(Setting::Unset) if GUARD_CREATED.load(Ordering::Relaxed) => {
                (Plan::TABLE_ON_STDERR, None)
            }
            Ok(Setting::Unset) => return,
            Ok(Setting::Print(plan)) => (plan, None),
            Err(problem) => (Plan::TABLE_ON_STDERR, Some(problem)),
        };
        let installed = crate::installed::is_installed();
        // The numbers first; everything after this may allocate.
        let report = installed.then(report);
        if let Some(problem) = problem {
            warn(format_args!(
                "{ENV_VAR}=\"{}\": {problem}; printing the table on stderr instead",
                Shown(value.unwrap_or_default())
            ));
        }
        let Some(report) = report else {
            // The same message `measure` and `report` panic with, where a table would go.
            write_stream(crate::installed::NOT_INSTALLED, Dest::Stderr);
            return;
        };
        let text = render(&report, &plan);
        match plan.dest {
            Dest::File(path) => {
                if let Err(e) = std::fs::write(path, &text) {
                    warn(format_args!(
                        "could not write the exit report to {path:?} ({e}); printing the table on stderr instead"
                    ));
                    write_stream(report.to_string(), Dest::Stderr);
                }
            }
            stream => write_stream(&text, stream),
        }
    });
}

/// The report in the plan's form, as the bytes to write.
fn render(report: &Report, plan: &Plan<'_>) -> Vec<u8> {
    match plan.form {
        Form::Table => {
            let table = report.table().sort_by(plan.sort);
            match plan.top {
                Some(n) => table.top(n).to_string(),
                None => table.to_string(),
            }
            .into_bytes()
        }
        Form::Folded(weight) => report.folded(weight).into_bytes(),
        #[cfg(feature = "json")]
        Form::Json => report.to_json().into_bytes(),
        #[cfg(feature = "json")]
        Form::Dhat => report.to_dhat().into_bytes(),
        #[cfg(feature = "pprof")]
        Form::Pprof => report.to_pprof(),
        // `parse` refuses a form whose feature this build lacks.
        #[allow(unreachable_patterns)]
        _ => report.to_string().into_bytes(),
    }
}

/// Writes to stderr or stdout. Errors (a closed pipe) cannot be reported at exit.
fn write_stream(text: impl AsRef<[u8]>, dest: Dest<'_>) {
    let text = text.as_ref();
    let _ = match dest {
        Dest::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(text).and_then(|()| out.flush())
        }
        _ => {
            let mut err = std::io::stderr().lock();
            err.write_all(text).and_then(|()| err.flush())
        }
    };
}

/// One line on stderr.
fn warn(message: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "alloc-trace: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(form: Form, dest: Dest<'_>) -> Result<Setting<'_>, Problem<'_>> {
        Ok(Setting::Print(Plan {
            form,
            ..Plan::table(dest)
        }))
    }

    fn file(path: &str) -> Dest<'_> {
        Dest::File(OsStr::new(path))
    }

    fn parse(value: &str) -> Result<Setting<'_>, Problem<'_>> {
        super::parse(value.as_bytes(), ALL_FEATURES)
    }

    const ALL_FEATURES: Features = Features {
        json: true,
        pprof: true,
        ownership: true,
    };
    const NO_FEATURES: Features = Features {
        json: false,
        pprof: false,
        ownership: false,
    };

    #[test]
    fn documented_values() {
        use Form::{Folded, Json, Table};
        let table = |dest| print(Table, dest);
        for value in ["1", "on", "true", "yes", "stderr", "table", "table:stderr"] {
            assert_eq!(parse(value), table(Dest::Stderr), "{value}");
        }
        assert_eq!(parse("stdout"), table(Dest::Stdout));
        assert_eq!(parse("table:stdout"), table(Dest::Stdout));
        assert_eq!(parse("json"), print(Json, Dest::Stderr));
        assert_eq!(parse("json:stdout"), print(Json, Dest::Stdout));
        assert_eq!(parse("json:/tmp/r.json"), print(Json, file("/tmp/r.json")));
        assert_eq!(parse("table:out.txt"), table(file("out.txt")));
        let allocs = Folded(FoldedWeight::Allocs);
        assert_eq!(parse("folded"), print(allocs, Dest::Stderr));
        let bytes = Folded(FoldedWeight::Bytes);
        assert_eq!(parse("folded-bytes:x"), print(bytes, file("x")));
        let at_peak = Folded(FoldedWeight::LiveAtPeak);
        assert_eq!(parse("folded-live-at-peak"), print(at_peak, Dest::Stderr));
        let at_end = Folded(FoldedWeight::LiveAtEnd);
        assert_eq!(parse("Folded-Live-At-End:e"), print(at_end, file("e")));
        for value in ["0", "off", "false", "no"] {
            assert_eq!(parse(value), Ok(Setting::Off), "{value}");
        }
    }

    #[test]
    fn empty_and_blank_are_unset() {
        for value in ["", " ", "\t\n"] {
            assert_eq!(parse(value), Ok(Setting::Unset), "{value:?}");
        }
    }

    #[test]
    fn keywords_ignore_case_and_spaces_around_them() {
        use Form::{Json, Table};
        assert_eq!(parse("JSON:STDOUT"), print(Json, Dest::Stdout));
        assert_eq!(parse("Json:StdErr"), print(Json, Dest::Stderr));
        assert_eq!(parse("OFF"), Ok(Setting::Off));
        assert_eq!(parse(" Stdout "), print(Table, Dest::Stdout));
        assert_eq!(parse(" table , Sort = Bytes , TOP=3 : stdout "), {
            Ok(Setting::Print(Plan {
                sort: SortBy::Bytes,
                top: Some(3),
                ..Plan::table(Dest::Stdout)
            }))
        });
    }

    #[test]
    fn paths_are_taken_byte_for_byte() {
        use Form::{Folded, Json, Table};
        // Everything after the first `:`, commas and colons included.
        assert_eq!(
            parse("folded:a:b.folded"),
            print(Folded(FoldedWeight::Allocs), file("a:b.folded"))
        );
        assert_eq!(
            parse("table,top=5:/tmp/a,b:c.txt"),
            Ok(Setting::Print(Plan {
                top: Some(5),
                ..Plan::table(file("/tmp/a,b:c.txt"))
            }))
        );
        // Case and spaces kept: only `stderr` and `stdout` are words.
        assert_eq!(parse("json:STDOUT.json"), print(Json, file("STDOUT.json")));
        assert_eq!(parse("json: r.json"), print(Json, file(" r.json")));
        assert_eq!(parse("table:./stdout"), print(Table, file("./stdout")));
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt as _;
            assert_eq!(
                super::parse(b"json:r\xff.json", ALL_FEATURES),
                print(Json, Dest::File(OsStr::from_bytes(b"r\xff.json")))
            );
        }
    }

    #[test]
    fn table_options() {
        for (value, sort, top) in [
            ("table,sort=bytes", SortBy::Bytes, None),
            ("table,top=20", SortBy::Allocs, Some(20)),
            ("table,top=0", SortBy::Allocs, Some(0)),
            ("table,sort=net,top=1", SortBy::Net, Some(1)),
            ("table,top=1,sort=peak", SortBy::Peak, Some(1)),
            ("table,sort=calls", SortBy::Calls, None),
            ("table,sort=allocs", SortBy::Allocs, None),
        ] {
            let expected = Plan {
                sort,
                top,
                ..Plan::TABLE_ON_STDERR
            };
            assert_eq!(parse(value), Ok(Setting::Print(expected)), "{value}");
        }
    }

    #[test]
    fn every_bad_value_is_one_problem() {
        use Problem::*;
        for (value, problem) in [
            ("loud", UnknownForm(b"loud")),
            ("csv:out.csv", UnknownForm(b"csv")),
            ("sort=bytes", UnknownForm(b"sort=bytes")),
            ("off:x", StandsAlone(b"off")),
            ("1:report.txt", StandsAlone(b"1")),
            ("stdout:x", StandsAlone(b"stdout")),
            ("stderr,top=3", StandsAlone(b"stderr")),
            ("json:", NoDestination),
            ("table: ", NoDestination),
            ("table,", EmptyOption),
            ("table,,top=1", EmptyOption),
            ("table,color", UnknownOption(b"color")),
            ("table,color=red", UnknownOption(b"color=red")),
            ("table,sort=size", NotAColumn(b"size")),
            ("table,sort=", NotAColumn(b"")),
            ("table,top=ten", NotARowCount(b"ten")),
            ("table,top=-1", NotARowCount(b"-1")),
            ("table,top=+1", NotARowCount(b"+1")),
            (
                "table,top=99999999999999999999999",
                NotARowCount(b"99999999999999999999999"),
            ),
            ("table,top=1,top=2", Repeated("top")),
            ("table,sort=net,sort=net", Repeated("sort")),
            ("json,top=5", TableOnly("top", Form::Json)),
            (
                "folded,sort=bytes:x",
                TableOnly("sort", Form::Folded(FoldedWeight::Allocs)),
            ),
        ] {
            assert_eq!(parse(value), Err(problem), "{value}");
        }
    }

    #[test]
    fn a_form_without_its_feature_is_a_problem_not_a_file() {
        for (value, form, feature) in [
            ("json", Form::Json, "json"),
            ("json:report.json", Form::Json, "json"),
            ("JSON:stdout", Form::Json, "json"),
            ("dhat:dhat.json", Form::Dhat, "json"),
            ("pprof:alloc.pb.gz", Form::Pprof, "pprof"),
            ("pprof:stdout", Form::Pprof, "pprof"),
            (
                "folded-live-at-peak:p.folded",
                Form::Folded(FoldedWeight::LiveAtPeak),
                "ownership",
            ),
            (
                "folded-live-at-end",
                Form::Folded(FoldedWeight::LiveAtEnd),
                "ownership",
            ),
        ] {
            assert_eq!(
                super::parse(value.as_bytes(), NO_FEATURES),
                Err(Problem::NeedsFeature(form, feature)),
                "{value}"
            );
        }
        // A syntax problem is said first.
        assert_eq!(
            super::parse(b"json,top=1:r.json", NO_FEATURES),
            Err(Problem::TableOnly("top", Form::Json))
        );
        assert_eq!(
            super::parse(b"table:r.txt", NO_FEATURES),
            print(Form::Table, file("r.txt"))
        );
        // Each feature enables its own forms only.
        let json_only = Features {
            json: true,
            ..NO_FEATURES
        };
        assert_eq!(
            super::parse(b"dhat:d.json", json_only),
            print(Form::Dhat, file("d.json"))
        );
        assert_eq!(
            super::parse(b"pprof:p.pb.gz", json_only),
            Err(Problem::NeedsFeature(Form::Pprof, "pprof"))
        );
    }

    #[test]
    fn exports_go_where_they_are_sent() {
        assert_eq!(parse("dhat"), print(Form::Dhat, Dest::Stderr));
        assert_eq!(
            parse("DHAT:dhat.json"),
            print(Form::Dhat, file("dhat.json"))
        );
        assert_eq!(parse("pprof:a.pb.gz"), print(Form::Pprof, file("a.pb.gz")));
        assert_eq!(parse("pprof:stdout"), print(Form::Pprof, Dest::Stdout));
        // Binary never goes to the terminal's error stream.
        for value in ["pprof", "pprof:stderr", "Pprof : STDERR"] {
            assert_eq!(parse(value), Err(Problem::BinaryOnStderr), "{value}");
        }
        assert_eq!(
            parse("pprof,top=3:a.pb.gz"),
            Err(Problem::TableOnly("top", Form::Pprof))
        );
    }

    #[test]
    fn problems_read_as_one_line() {
        let line = |value: &str| {
            let problem = parse(value).unwrap_err();
            format!("{ENV_VAR}=\"{}\": {problem}", Shown(value.as_bytes()))
        };
        assert_eq!(
            line("loud"),
            "ALLOC_TRACE=\"loud\": unknown form `loud` (expected `table`, `json`, `folded`, \
             `folded-bytes`, `folded-live-at-peak`, `folded-live-at-end`, `dhat` or `pprof`, or \
             one of `1`, `stderr`, `stdout`, `off` alone)"
        );
        assert_eq!(
            line("pprof"),
            "ALLOC_TRACE=\"pprof\": `pprof` is a binary file: give it a path \
             (`pprof:alloc.pb.gz`) or `stdout`"
        );
        assert_eq!(
            line("json,top=5"),
            "ALLOC_TRACE=\"json,top=5\": `top` is an option of the table, not of `json`"
        );
        assert_eq!(
            format!("{}", Problem::NeedsFeature(Form::Json, "json")),
            "the `json` form needs alloc-trace's `json` feature, which this program was built without"
        );
        assert_eq!(
            format!("{}", Problem::NeedsFeature(Form::Pprof, "pprof")),
            "the `pprof` form needs alloc-trace's `pprof` feature, which this program was built without"
        );
        assert_eq!(Shown(b"r\xff\n\"").to_string(), "r\\xFF\\n\\\"");
        for value in ["a\nb", "table,top=x\n"] {
            assert!(!line(value).contains('\n'), "{value:?}");
        }
    }

    #[test]
    fn printing_the_report_is_not_counted() {
        let path =
            std::env::temp_dir().join(format!("alloc-trace-exit-{}.txt", std::process::id()));
        let value = format!("table,top=1:{}", path.to_str().unwrap());
        let ((), stats) = crate::measure(|| print_now(Some(value.as_bytes())));
        assert_eq!(stats, crate::stats::AllocStats::default());
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(
            text.starts_with("alloc-trace report (all threads, since the program started)"),
            "{text}"
        );
    }

    /// Run by `.ci/run` in a build without the `json` feature: the value that asks for
    /// JSON in a file prints the table on stderr and writes no file.
    #[cfg(not(feature = "json"))]
    #[test]
    fn without_json_no_file_is_written() {
        let path =
            std::env::temp_dir().join(format!("alloc-trace-nojson-{}.json", std::process::id()));
        let value = format!("json:{}", path.to_str().unwrap());
        print_now(Some(value.as_bytes()));
        assert!(!path.exists(), "{}", path.display());
    }
}
