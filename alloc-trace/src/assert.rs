//! `assert_allocs!` and `assert_no_alloc!`: one-line allocation assertions whose failure
//! message explains what the expression did.
//!
//! The macros only parse; all the work is in one hidden function, [`check_allocs`], which runs
//! the expression under a `capture` and formats the failure.

use core::fmt;
use core::panic::Location;

use crate::gather::{Deferred, capture_deferred};
use crate::report::Report;
use crate::stats::AllocStats;

/// Evaluates an expression once, on the current thread, returns its value, and panics
/// unless what it asked of the allocator meets every condition.
///
/// ```text
/// assert_allocs!(expression, field op value, field op value, ...)
/// ```
///
/// - `field` is an [`AllocStats`] field: `allocs` (reallocs included, the number the
///   report's `allocs` column and `max_allocs` budgets count), `reallocs`, `frees`,
///   `bytes_allocated`, `bytes_freed` or `peak_bytes`, or `net_bytes` (allocated minus
///   freed, negative if the expression freed older memory). They mean what the report's
///   columns of the same names mean.
/// - `op` is `==`, `!=`, `<`, `<=`, `>` or `>=`.
/// - `value` is any integer expression (`64`, `n`, `v.len() * 4`), evaluated before the
///   expression is measured, so it may allocate freely.
///
/// Only the calling thread is counted, so tests running in parallel never disturb each
/// other. Threads the expression spawns are not counted, and neither are tasks an async
/// runtime runs on other workers.
///
/// The expression runs inside a closure: `?`, `return` and `.await` in it refer to that
/// closure (they do not compile), so evaluate fallible or async code first, or assert on a
/// block that handles the error.
///
/// # Panics
///
/// If a condition does not hold. The message shows the expression's text, every condition
/// with its expected and actual value (failed ones marked), the full statistics, the
/// tracked functions the expression called with their numbers, and the caller's file and
/// line. Also panics if [`CountingAlloc`](crate::CountingAlloc) is not the global
/// allocator, or if the expression panics.
///
/// # Examples
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::assert_allocs;
///
/// fn words(s: &str) -> Vec<&str> {
///     s.split(' ').collect()
/// }
///
/// // `collect` sizes the Vec from the iterator's lower bound (0), then grows it: the first
/// // push allocates room for 4 slices (4 * 16 bytes), and 3 words fit.
/// let w = assert_allocs!(words("a b c"), allocs == 1, reallocs == 0, bytes_allocated == 64);
/// assert_eq!(w, ["a", "b", "c"]);
/// ```
///
/// Misuse is a compile error:
///
/// ```compile_fail
/// # use alloc_trace::assert_allocs;
/// assert_allocs!(vec![1], alocs == 1); // unknown field `alocs`
/// ```
///
/// ```compile_fail
/// # use alloc_trace::assert_allocs;
/// assert_allocs!(vec![1]); // no condition: use `assert_no_alloc!` or add one
/// ```
#[macro_export]
macro_rules! assert_allocs {
    ($expr:expr $(,)?) => {
        ::core::compile_error!(
            "`assert_allocs!` needs at least one condition after the expression, e.g. \
             `assert_allocs!(f(), allocs == 1)`; to assert that nothing is allocated use \
             `assert_no_alloc!(f())`"
        )
    };
    ($expr:expr, $($field:ident $op:tt $value:expr),+ $(,)?) => {
        $crate::__private::check_allocs(
            "assert_allocs",
            ::core::stringify!($expr),
            &[$($crate::__alloc_trace_condition!($field $op $value)),+],
            || $expr,
        )
    };
    ($expr:expr, $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "`assert_allocs!` expects conditions like `allocs == 1` or `bytes_allocated <= 64` ",
            "after the expression, separated by commas; found `",
            ::core::stringify!($($rest)*),
            "`"
        ))
    };
}

/// Evaluates an expression once, on the current thread, returns its value, and panics if
/// it allocated or reallocated (frees are allowed: dropping what existed before is not an
/// allocation).
///
/// The same as `assert_allocs!(expr, allocs == 0)`; the failure message is
/// the same as [`assert_allocs!`]'s, naming the tracked functions that allocated.
///
/// # Panics
///
/// If the expression allocated or reallocated, if [`CountingAlloc`](crate::CountingAlloc)
/// is not the global allocator, or if the expression panics.
///
/// # Examples
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::assert_no_alloc;
///
/// let mut buf = Vec::with_capacity(16);
/// // The hot path reuses the buffer: pushing within capacity never allocates.
/// let len = assert_no_alloc!({
///     buf.clear();
///     buf.extend_from_slice(b"0123456789");
///     buf.len()
/// });
/// assert_eq!(len, 10);
/// ```
#[macro_export]
macro_rules! assert_no_alloc {
    ($expr:expr $(,)?) => {
        $crate::__private::check_allocs(
            "assert_no_alloc",
            ::core::stringify!($expr),
            &[$crate::__alloc_trace_condition!(allocs == 0)],
            || $expr,
        )
    };
    ($($rest:tt)*) => {
        ::core::compile_error!(
            "`assert_no_alloc!` takes one expression and no conditions, e.g. \
             `assert_no_alloc!(f())`; to check numbers use `assert_allocs!(f(), allocs == 1)`"
        )
    };
}

/// One `field op value` of `assert_allocs!`. Not public API.
///
/// The operator is matched here, so that a bad one is one error (not three about the
/// value that follows it).
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_condition {
    ($field:ident . $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "a condition names a field of the statistics directly: write `",
            ::core::stringify!($($rest)*),
            "`, not `",
            ::core::stringify!($field . $($rest)*),
            "`"
        ))
    };
    ($field:ident == $value:expr) => { $crate::__alloc_trace_condition!(@ $field Eq $value) };
    ($field:ident != $value:expr) => { $crate::__alloc_trace_condition!(@ $field Ne $value) };
    ($field:ident < $value:expr) => { $crate::__alloc_trace_condition!(@ $field Lt $value) };
    ($field:ident <= $value:expr) => { $crate::__alloc_trace_condition!(@ $field Le $value) };
    ($field:ident > $value:expr) => { $crate::__alloc_trace_condition!(@ $field Gt $value) };
    ($field:ident >= $value:expr) => { $crate::__alloc_trace_condition!(@ $field Ge $value) };
    (@ $field:ident $op:ident $value:expr) => {
        $crate::__private::Condition::new(
            $crate::__alloc_trace_field!($field),
            $crate::__private::Op::$op,
            ::core::stringify!($value),
            $crate::__private::Expected::expected($value),
        )
    };
    ($field:ident $op:tt $($value:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "unsupported operator `",
            ::core::stringify!($op),
            "` in an allocation assertion; expected `==`, `!=`, `<`, `<=`, `>` or `>=`"
        ))
    };
}

/// The field of a condition. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __alloc_trace_field {
    (allocs) => {
        $crate::__private::Field::Allocs
    };
    (reallocs) => {
        $crate::__private::Field::Reallocs
    };
    (frees) => {
        $crate::__private::Field::Frees
    };
    (bytes_allocated) => {
        $crate::__private::Field::BytesAllocated
    };
    (bytes_freed) => {
        $crate::__private::Field::BytesFreed
    };
    (peak_bytes) => {
        $crate::__private::Field::PeakBytes
    };
    (net_bytes) => {
        $crate::__private::Field::NetBytes
    };
    ($other:ident) => {
        ::core::compile_error!(::core::concat!(
            "unknown field `",
            ::core::stringify!($other),
            "` in an allocation assertion; expected `allocs`, `reallocs`, `frees`, ",
            "`bytes_allocated`, `bytes_freed`, `peak_bytes` or `net_bytes`"
        ))
    };
}

/// A statistic a condition can test. Not public API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Allocs,
    Reallocs,
    Frees,
    BytesAllocated,
    BytesFreed,
    PeakBytes,
    NetBytes,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Self::Allocs => "allocs",
            Self::Reallocs => "reallocs",
            Self::Frees => "frees",
            Self::BytesAllocated => "bytes_allocated",
            Self::BytesFreed => "bytes_freed",
            Self::PeakBytes => "peak_bytes",
            Self::NetBytes => "net_bytes",
        }
    }

    /// As `i128`, so that every `u64` field and the signed `net_bytes` compare exactly
    /// with any integer the user wrote.
    fn of(self, s: &AllocStats) -> i128 {
        match self {
            Self::Allocs => s.allocs.into(),
            Self::Reallocs => s.reallocs.into(),
            Self::Frees => s.frees.into(),
            Self::BytesAllocated => s.bytes_allocated.into(),
            Self::BytesFreed => s.bytes_freed.into(),
            Self::PeakBytes => s.peak_bytes.into(),
            Self::NetBytes => s.net_bytes().into(),
        }
    }
}

/// A comparison operator of a condition. Not public API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    fn holds(self, actual: i128, expected: i128) -> bool {
        match self {
            Self::Eq => actual == expected,
            Self::Ne => actual != expected,
            Self::Lt => actual < expected,
            Self::Le => actual <= expected,
            Self::Gt => actual > expected,
            Self::Ge => actual >= expected,
        }
    }
}

/// An integer a condition compares with. Not public API.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "allocation assertions compare with integers, not `{Self}`",
    label = "expected an integer here"
)]
pub trait Expected {
    /// The value, widened so that every integer type compares exactly.
    fn expected(self) -> i128;
}

macro_rules! expected_from {
    ($($t:ty),*) => {$(
        impl Expected for $t {
            #[inline]
            fn expected(self) -> i128 {
                // Lossless for every type listed: `usize`/`isize` are at most 64 bits on
                // every platform Rust supports.
                self as i128
            }
        }
    )*};
}

expected_from!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, i128);

impl Expected for u128 {
    #[inline]
    fn expected(self) -> i128 {
        // Beyond any count a `u64` field can hold.
        i128::try_from(self).unwrap_or(i128::MAX)
    }
}

impl<T: Expected + Copy> Expected for &T {
    #[inline]
    fn expected(self) -> i128 {
        (*self).expected()
    }
}

/// One `field op value` of an assertion. Not public API.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Condition {
    field: Field,
    op: Op,
    /// The value as written, e.g. `64` or `n * 2`.
    text: &'static str,
    expected: i128,
}

impl Condition {
    /// A condition; `text` is the value's source text.
    #[must_use]
    pub const fn new(field: Field, op: Op, text: &'static str, expected: i128) -> Self {
        Self {
            field,
            op,
            text,
            expected,
        }
    }

    fn holds(&self, stats: &AllocStats) -> bool {
        self.op.holds(self.field.of(stats), self.expected)
    }
}

/// What `assert_allocs!` and `assert_no_alloc!` expand to: runs `f` under a capture and
/// panics with an explanation unless every condition holds. Not public API.
///
/// A passing assertion checks the capture's totals and never builds its report; a
/// failing one builds it (and drops it) inside `per_thread::uncounted`. Either way the
/// assertion is invisible to measurements around it: they see exactly what `f` did.
#[doc(hidden)]
#[track_caller]
pub fn check_allocs<R>(
    macro_name: &'static str,
    expr: &'static str,
    conditions: &[Condition],
    f: impl FnOnce() -> R,
) -> R {
    let (result, stats, report) = capture_deferred(f);
    if conditions.iter().all(|c| c.holds(&stats)) {
        return result;
    }
    failed(macro_name, expr, conditions, report, Location::caller())
}

#[cold]
#[inline(never)]
#[track_caller]
fn failed(
    macro_name: &'static str,
    expr: &'static str,
    conditions: &[Condition],
    report: Deferred,
    location: &'static Location<'static>,
) -> ! {
    let report = report.build_hidden();
    // The message is ordinary (counted) memory: it travels with the panic and is freed
    // wherever the panic is caught. The report is not, so it is dropped untracked.
    let message = Failure {
        macro_name,
        expr,
        conditions,
        report: &report,
        location,
    }
    .to_string();
    crate::per_thread::uncounted(|| drop(report));
    panic!("{message}");
}

/// The failure message.
struct Failure<'a> {
    macro_name: &'static str,
    expr: &'static str,
    conditions: &'a [Condition],
    report: &'a Report,
    location: &'static Location<'static>,
}

impl fmt::Display for Failure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.report.capture_stats();
        writeln!(
            f,
            "alloc-trace: {}! failed at {}:{}:{}",
            self.macro_name,
            self.location.file(),
            self.location.line(),
            self.location.column()
        )?;
        writeln!(f, "  expression: {}", self.expr)?;
        writeln!(f, "  conditions:")?;
        // Formatting a failure allocates anyway (the message is a `String`).
        let texts: Vec<String> = self
            .conditions
            .iter()
            .map(|c| format!("{} {} {}", c.field.name(), c.op.symbol(), c.text))
            .collect();
        let expected: Vec<String> = self
            .conditions
            .iter()
            .map(|c| format!("expected {} {},", c.op.symbol(), c.expected))
            .collect();
        let width = texts.iter().map(String::len).max().unwrap_or(0);
        let width2 = expected.iter().map(String::len).max().unwrap_or(0);
        let actual: Vec<String> = self
            .conditions
            .iter()
            .map(|c| format!("actual {}", c.field.of(&stats)))
            .collect();
        let width3 = actual.iter().map(String::len).max().unwrap_or(0);
        for (((c, text), expected), actual) in self
            .conditions
            .iter()
            .zip(&texts)
            .zip(&expected)
            .zip(&actual)
        {
            let verdict = if c.holds(&stats) { "ok" } else { "<- FAILED" };
            writeln!(
                f,
                "    {text:<width$}  {expected:<width2$} {actual:<width3$}  {verdict}"
            )?;
        }
        writeln!(f, "  stats: {stats}")?;
        writeln!(f, "  what it did, per tracked function (this thread only):")?;
        // The report's table, indented under the assertion's lines.
        for line in self.report.to_string().lines() {
            if line.is_empty() {
                writeln!(f)?;
            } else {
                writeln!(f, "    {line}")?;
            }
        }
        Ok(())
    }
}
