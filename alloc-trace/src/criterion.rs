//! Allocations as a [criterion](https://docs.rs/criterion) measurement (feature
//! `criterion`): `cargo bench` shows allocations or bytes allocated per iteration where
//! it shows time, and criterion's baselines (`--save-baseline`, `--baseline`) compare them.
//!
//! ```no_run
//! // benches/allocs.rs, with `[[bench]] name = "allocs" harness = false` in Cargo.toml
//! use alloc_trace::criterion::Allocs;
//! use criterion::{criterion_group, criterion_main, Criterion};
//! use std::hint::black_box;
//!
//! #[global_allocator]
//! static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
//!
//! fn split(c: &mut Criterion<Allocs>) {
//!     c.bench_function("split_owned", |b| {
//!         b.iter(|| black_box("a,b,c").split(',').map(str::to_owned).collect::<Vec<_>>())
//!     });
//! }
//!
//! criterion_group! {
//!     name = benches;
//!     config = Criterion::default().with_measurement(Allocs);
//!     targets = split
//! }
//! criterion_main!(benches);
//! ```
//!
//! `cargo bench --bench allocs` then prints, where a time would be:
//!
//! ```text
//! split_owned             time:   [4 allocs 4 allocs 4 allocs]
//! ```
//!
//! # Exact, not sampled
//!
//! Criterion calls [`Measurement::start`] and [`Measurement::end`] around each batch of
//! iterations, on the thread that runs the routine (the bench's main thread: criterion's
//! `iter`, `iter_batched` and `iter_with_large_drop` run the routine where they are
//! called), and divides by the number of iterations itself. Counting is per thread, so
//! what criterion does on other threads never counts, and a routine that makes the same
//! requests each time gives the same number in every sample: the estimate is exact, its
//! confidence interval has zero width, and a change against a baseline is a change in the
//! code. `iter_batched` leaves the setup and the drop of the outputs out, as it does for
//! time.
//!
//! Criterion decides how many iterations to run from the wall-clock time of its warm-up,
//! so `--warm-up-time`, `--measurement-time` and `--sample-size` change how long a run
//! takes, never the number per iteration. `--quick` works too.
//!
//! A routine whose requests vary (a cache that fills, a `Vec` that grows once and is kept
//! across iterations) shows the mean per iteration, like time; measure one warmed-up call
//! with [`measure`](crate::measure) to see a single call's numbers.
//!
//! # A routine that allocates nothing
//!
//! Criterion cannot analyse a benchmark in which a sample is 0: it prints that the
//! benchmark "took zero time per iteration", saves no estimates for it and goes on with
//! the next. So a routine that never allocates (or allocates so rarely that a whole
//! sample has none) shows no number here; the first batch of 0 prints one line on stderr
//! saying so. Hold such code to zero in a test with
//! [`assert_no_alloc!`](crate::assert_no_alloc) or [`allocs_per_run`](crate::allocs_per_run),
//! which do show 0.
//!
//! # Formatting
//!
//! Values are shown plainly, in `allocs` or `B`, without prefixes (`65536 B`, not
//! `64 KiB`). Criterion turns a time into a rate with [`Throughput`]; for these
//! measurements a throughput divides instead: with `Throughput::Elements(n)` the
//! `thrpt:` line shows `allocs/elem` (or `B/elem`), with `Throughput::Bytes(n)` it shows
//! `allocs/B` (or `B/B`: bytes allocated per byte processed), with `Throughput::Bits(n)`
//! `allocs/bit` (or `B/bit`).
//!
//! The feature depends on criterion 0.8 (`default-features = false`: no plots, no
//! rayon), whose measurement traits a bench's own `criterion = "0.8"` shares; criterion
//! 0.8 needs Rust 1.86.
//!
//! # Panics
//!
//! `start` panics if [`CountingAlloc`](crate::CountingAlloc) is not the global allocator of
//! the bench binary (the message shows the lines to add), rather than report zeros.

use ::criterion::Throughput;
use ::criterion::measurement::{Measurement, ValueFormatter};

use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::installed::assert_installed;
use crate::measure::Measurement as Window;
use crate::stats::AllocStats;

/// Allocations per iteration (`allocs`: `alloc`, `alloc_zeroed` and `realloc` calls), as
/// a criterion [`Measurement`].
///
/// Use it with `Criterion::default().with_measurement(Allocs)`; a bench function then
/// takes a `&mut Criterion<Allocs>` (see the [module docs](self) for a whole bench file).
/// Criterion divides by the iterations; each batch counts exactly what the routine asked
/// for on the calling thread:
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::criterion::Allocs;
/// use criterion::measurement::Measurement;
/// use std::hint::black_box;
///
/// let start = Allocs.start();
/// for _ in 0..10 {
///     black_box("a,b,c".split(',').map(str::to_owned).collect::<Vec<_>>());
/// }
/// assert_eq!(Allocs.end(start), 40); // a Vec and three Strings, ten times
/// assert_eq!(Allocs.formatter().format_value(4.0), "4 allocs");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allocs;

/// Bytes allocated per iteration (`bytes_allocated`: the sizes of `alloc`s and the new
/// sizes of `realloc`s), as a criterion [`Measurement`].
///
/// Sizes depend on the target (a `String` is 24 bytes on 64-bit targets, 12 on 32-bit),
/// so compare baselines made on one target.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::criterion::BytesAllocated;
/// use criterion::measurement::Measurement;
/// use std::hint::black_box;
///
/// let start = BytesAllocated.start();
/// black_box(vec![0u8; 1000]);
/// black_box(String::from("hello"));
/// assert_eq!(BytesAllocated.end(start), 1005);
/// assert_eq!(BytesAllocated.formatter().format_value(65536.0), "65536 B");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BytesAllocated;

/// Where a batch of iterations started: criterion's `Intermediate` for [`Allocs`] and
/// [`BytesAllocated`], passed from `start` to `end`. Opaque.
///
/// Batches end in the reverse order they started, on the thread that started them (as
/// criterion does it); one dropped without `end` (the routine panicked) is closed and
/// leaves the thread's numbers consistent.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// use alloc_trace::criterion::{Allocs, Start};
/// use criterion::measurement::Measurement;
///
/// let start: Start = Allocs.start();
/// assert_eq!(Allocs.end(start), 0);
/// ```
#[must_use = "pass it to `end` to get the number"]
pub struct Start(Window);

impl core::fmt::Debug for Start {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Start")
    }
}

impl Start {
    #[track_caller]
    fn now() -> Self {
        assert_installed();
        Self(Window::start())
    }

    fn stats(self) -> AllocStats {
        self.0.finish()
    }
}

impl Measurement for Allocs {
    type Intermediate = Start;
    type Value = u64;

    #[track_caller]
    fn start(&self) -> Start {
        Start::now()
    }

    fn end(&self, start: Start) -> u64 {
        nonzero_or_hint(start.stats().allocs)
    }

    fn add(&self, v1: &u64, v2: &u64) -> u64 {
        v1.saturating_add(*v2)
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &Plain {
            unit: "allocs",
            per: PerUnits {
                element: "allocs/elem",
                byte: "allocs/B",
                bit: "allocs/bit",
            },
        }
    }
}

impl Measurement for BytesAllocated {
    type Intermediate = Start;
    type Value = u64;

    #[track_caller]
    fn start(&self) -> Start {
        Start::now()
    }

    fn end(&self, start: Start) -> u64 {
        nonzero_or_hint(start.stats().bytes_allocated)
    }

    fn add(&self, v1: &u64, v2: &u64) -> u64 {
        v1.saturating_add(*v2)
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &Plain {
            unit: "B",
            per: PerUnits {
                element: "B/elem",
                byte: "B/B",
                bit: "B/bit",
            },
        }
    }
}

/// `value`, after saying once per process why criterion will reject it if it is 0.
#[inline]
fn nonzero_or_hint(value: u64) -> u64 {
    if value == 0 {
        zero_hint();
    }
    value
}

#[cold]
#[inline(never)]
fn zero_hint() {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Relaxed) {
        // NOTE: after the batch's window closed, so never counted in a batch.
        eprintln!("{ZERO_HINT}");
    }
}

/// What a batch of 0 means to criterion.
const ZERO_HINT: &str = "alloc-trace: a batch of iterations made no allocation. Criterion \
rejects a sample of 0 (it says the benchmark \"took zero time per iteration\") and skips that \
benchmark's analysis: hold code that must not allocate to 0 with `assert_no_alloc!` in a test.";

/// Counts shown as they are, in one unit: no prefixes, no rates over time.
struct Plain {
    unit: &'static str,
    per: PerUnits,
}

/// The units of a value divided by a throughput's count.
struct PerUnits {
    element: &'static str,
    byte: &'static str,
    bit: &'static str,
}

impl ValueFormatter for Plain {
    fn format_value(&self, value: f64) -> String {
        format!("{} {}", plain(value), self.unit)
    }

    fn format_throughput(&self, throughput: &Throughput, value: f64) -> String {
        let mut values = [value];
        let unit = self.scale_throughputs(value, throughput, &mut values);
        format!("{} {unit}", plain(values[0]))
    }

    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        self.unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (count, unit) = match *throughput {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => {
                (n, self.per.element)
            }
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n, self.per.byte),
            Throughput::Bits(n) => (n, self.per.bit),
        };
        // NOTE: criterion requires values without NaN; a count of 0 has no per-unit value,
        // so the values stay per iteration.
        if count == 0 {
            return self.unit;
        }
        for value in values {
            *value /= count as f64;
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        self.unit
    }
}

/// `4`, `0.5`, `2.333`: whole numbers without decimals, others with up to three.
fn plain(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" || text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::hint::black_box;

    /// Three `String`s and a `Vec` of room for four: 4 allocs, no realloc.
    fn split_owned(line: &str) -> Vec<String> {
        line.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn a_batch_counts_exactly_what_its_iterations_asked_for() {
        let start = Allocs.start();
        for _ in 0..25 {
            black_box(split_owned(black_box("alice,42,paris")));
        }
        assert_eq!(Allocs.end(start), 100);

        let start = BytesAllocated.start();
        for _ in 0..25 {
            black_box(split_owned(black_box("alice,42,paris")));
        }
        let per_iteration = 4 * core::mem::size_of::<String>() as u64 + 5 + 2 + 5;
        assert_eq!(BytesAllocated.end(start), 25 * per_iteration);
    }

    #[test]
    fn reallocs_are_allocs_and_their_new_sizes_are_bytes() {
        let start = Allocs.start();
        let bytes = BytesAllocated.start();
        let mut v: Vec<u32> = Vec::new();
        for i in 0..5 {
            v.push(i); // capacity 4 (16 bytes), then one realloc to 8 (32 bytes)
        }
        black_box(&v);
        assert_eq!(BytesAllocated.end(bytes), 48);
        assert_eq!(Allocs.end(start), 2);
    }

    #[test]
    fn batches_nest_and_add_up() {
        let outer = Allocs.start();
        let inner = Allocs.start();
        black_box(Box::new(1u8));
        let first = Allocs.end(inner);
        let inner = Allocs.start();
        black_box(Box::new(2u8));
        black_box(Box::new(3u8));
        let second = Allocs.end(inner);
        assert_eq!((first, second), (1, 2));
        assert_eq!(Allocs.add(&first, &second), Allocs.end(outer));
        assert_eq!(Allocs.add(&Allocs.zero(), &7), 7);
        assert_eq!(Allocs.add(&u64::MAX, &1), u64::MAX);
    }

    #[test]
    fn other_threads_are_not_counted() {
        // The spawn itself allocates on this thread (the thread's handle and result slot),
        // the same for every spawn: what the spawned thread does must not change that.
        fn spawn_allocating(boxes: u32) -> u64 {
            let start = Allocs.start();
            std::thread::scope(|s| {
                s.spawn(|| {
                    for _ in 0..boxes {
                        black_box(Box::new(0u64));
                    }
                });
            });
            Allocs.end(start)
        }
        spawn_allocating(0);
        assert_eq!(spawn_allocating(1000), spawn_allocating(0));
    }

    #[test]
    fn an_abandoned_batch_leaves_the_thread_consistent() {
        let ((), stats) = crate::measure(|| {
            let start = Allocs.start();
            black_box(Box::new(1u8));
            drop(start);
            black_box(Box::new(2u8));
        });
        assert_eq!(stats.allocs, 2);
        assert_eq!(stats.peak_bytes, 1);
    }

    #[test]
    fn values_are_plain_counts_in_one_unit() {
        let allocs = Allocs.formatter();
        assert_eq!(allocs.format_value(4.0), "4 allocs");
        assert_eq!(allocs.format_value(0.0), "0 allocs");
        assert_eq!(allocs.format_value(0.5), "0.5 allocs");
        assert_eq!(allocs.format_value(2.0 / 3.0), "0.667 allocs");
        assert_eq!(allocs.format_value(1e-9), "0 allocs");
        let bytes = BytesAllocated.formatter();
        assert_eq!(bytes.format_value(108.0), "108 B");
        assert_eq!(bytes.format_value(3.0 * 1024.0 * 1024.0), "3145728 B");

        let mut values = [10.0, 20.0];
        assert_eq!(allocs.scale_values(15.0, &mut values), "allocs");
        assert_eq!(bytes.scale_for_machines(&mut values), "B");
        assert_eq!(values, [10.0, 20.0]);
    }

    #[test]
    fn a_throughput_divides_instead_of_making_a_rate() {
        let allocs = Allocs.formatter();
        let bytes = BytesAllocated.formatter();
        assert_eq!(
            allocs.format_throughput(&Throughput::Elements(4), 10.0),
            "2.5 allocs/elem"
        );
        assert_eq!(
            allocs.format_throughput(&Throughput::Bytes(100), 1.0),
            "0.01 allocs/B"
        );
        assert_eq!(
            bytes.format_throughput(&Throughput::BytesDecimal(64), 128.0),
            "2 B/B"
        );
        assert_eq!(
            bytes.format_throughput(&Throughput::Bits(8), 16.0),
            "2 B/bit"
        );
        let both = Throughput::ElementsAndBytes {
            elements: 2,
            bytes: 1000,
        };
        assert_eq!(bytes.format_throughput(&both, 64.0), "32 B/elem");
        assert_eq!(
            allocs.format_throughput(&Throughput::Elements(0), 3.0),
            "3 allocs"
        );

        let mut values = [8.0, 12.0];
        let unit = allocs.scale_throughputs(10.0, &Throughput::Elements(4), &mut values);
        assert_eq!((unit, values), ("allocs/elem", [2.0, 3.0]));
    }
}
