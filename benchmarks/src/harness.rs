//! What every bench binary runs. A binary installs one global allocator, lists its
//! entries (contender x workload) and hands them to [`main`], which:
//!
//! - with no arguments (or `--bench`, as `cargo bench` passes): times every entry and
//!   prints a readable table;
//! - `list`: prints the entries, one `ENTRY` line each, for the driver;
//! - `time`: times every entry, one `TIME` line each, for the driver;
//! - `time INDEX...`: the same for the given entries only;
//! - `count INDEX`: runs one entry once inside [`alloc_trace_bench_region`], the only
//!   function whose instructions the driver asks callgrind to collect
//!   (`--toggle-collect`);
//! - `memory INDEX`: takes one memory reading ([`Memory`], listed as `MEMORY` lines),
//!   one `MEMORY_RESULT` line, in a process of its own.
//!
//! `list` also prints `INFO` lines: facts about the binary the tables show (e.g. how many
//! tracked sites it has).
//!
//! Before any of these it runs the binary's [`Counted`] check, if it has one: proof that
//! the contender really counts in this build (release builds could, in principle, elide
//! allocations; a contender that was not installed would count nothing).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::workloads;

/// One line of the results: `contender` running `workload`.
pub struct Entry {
    /// Who runs it, e.g. `System` or `alloc-trace (frame)`.
    pub contender: &'static str,
    /// What runs, e.g. `churn`; a name ending in `:base` is the untracked baseline of the
    /// per-call workload of the same name (same binary, same contender).
    pub workload: &'static str,
    /// The operation results are divided by, e.g. `alloc+free pair`.
    pub unit: &'static str,
    /// Operations per iteration of `run`.
    pub ops_per_iter: u64,
    /// Threads that each run `run` at once (1 or 2).
    pub threads: usize,
    /// Iterations per timed sample; `None` to calibrate (samples of at least 10 ms).
    pub time_iters: Option<u64>,
    /// Iterations per thread under callgrind.
    pub count_iters: u64,
    /// Timed in a process of its own (as it is counted), because what it measures depends
    /// on what ran before it in the process (e.g. call paths, interned process-wide).
    pub alone: bool,
    /// The work: `run(iterations)`.
    pub run: Box<dyn Fn(u64) + Sync>,
}

impl Entry {
    /// An entry with calibrated timing, one thread, and 20,000 iterations under callgrind.
    pub fn new(
        contender: &'static str,
        workload: &'static str,
        unit: &'static str,
        run: impl Fn(u64) + Sync + 'static,
    ) -> Self {
        Self {
            contender,
            workload,
            unit,
            ops_per_iter: 1,
            threads: 1,
            time_iters: None,
            count_iters: 20_000,
            alone: false,
            run: Box::new(run),
        }
    }

    /// Sets the operations per iteration.
    #[must_use]
    pub fn ops_per_iter(mut self, ops: u64) -> Self {
        self.ops_per_iter = ops;
        self
    }

    /// Sets the number of threads running the work at once.
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Fixes the iterations per timed sample.
    #[must_use]
    pub fn time_iters(mut self, iters: u64) -> Self {
        self.time_iters = Some(iters);
        self
    }

    /// Sets the iterations per thread under callgrind.
    #[must_use]
    pub fn count_iters(mut self, iters: u64) -> Self {
        self.count_iters = iters;
        self
    }

    /// Times the entry in a process of its own (see [`Entry::alone`]).
    #[must_use]
    pub fn alone(mut self) -> Self {
        self.alone = true;
        self
    }
}

/// Runs a workload inside whatever scope a contender measures in (a tracked frame, a
/// profiler span), or directly.
pub type Scope = fn(&dyn Fn(u64), u64);

/// Runs the workload directly.
pub fn direct(run: &dyn Fn(u64), iters: u64) {
    run(iters);
}

/// The allocator workloads, each run inside `scope`: churn, churn on 2 threads, the
/// mixed workload and realloc-heavy growth.
pub fn allocator_entries(contender: &'static str, scope: Scope) -> Vec<Entry> {
    vec![
        Entry::new(contender, "churn", "alloc+free pair", move |n| {
            scope(&workloads::churn, n)
        }),
        Entry::new(contender, "churn-2t", "alloc+free pair", move |n| {
            scope(&workloads::churn, n)
        })
        .threads(2),
        Entry::new(contender, "mixed", "string", move |n| {
            scope(&workloads::mixed, n)
        })
        .time_iters(workloads::MIXED_STRINGS),
        Entry::new(contender, "realloc", "grow step", move |n| {
            scope(&workloads::realloc_growth, n)
        })
        .ops_per_iter(workloads::GROWTH_STEPS)
        .count_iters(200),
    ]
}

/// A per-call workload and its untracked baseline: `calls(n)` and `base(n)` each make
/// `n` calls of a function with the body [`workloads::leaf_work`] (or a chain of them).
/// `call-2t` runs them on 2 threads at once.
pub fn call_entries(
    contender: &'static str,
    workload: &'static str,
    calls: fn(u64),
    base: fn(u64),
) -> [Entry; 2] {
    let (base_name, threads) = match workload {
        "call" => ("call:base", 1),
        "call-2t" => ("call-2t:base", 2),
        "nested3" => ("nested3:base", 1),
        other => panic!("alloc-trace-benchmarks: no baseline name for workload {other:?}"),
    };
    [
        Entry::new(contender, workload, "call", calls)
            .threads(threads)
            .count_iters(100_000),
        Entry::new(contender, base_name, "call", base)
            .threads(threads)
            .count_iters(100_000),
    ]
}

/// A per-call workload and its baseline, for any workload name: `calls(n)` and `base(n)`
/// each do `n` iterations, and the baseline is named `{workload}:base` (the driver's
/// "extra" is the difference). Set ops per iteration, threads and callgrind iterations on
/// the returned entries (`.map(|e| e.count_iters(..))`).
pub fn per_call(
    contender: &'static str,
    workload: &'static str,
    unit: &'static str,
    calls: impl Fn(u64) + Sync + 'static,
    base: impl Fn(u64) + Sync + 'static,
) -> [Entry; 2] {
    let base_name: &'static str = Box::leak(format!("{workload}:base").into_boxed_str());
    [
        Entry::new(contender, workload, unit, calls),
        Entry::new(contender, base_name, unit, base),
    ]
}

/// Runs `work` once on each of `threads` new threads, one after another, each inside its
/// own [`alloc_trace_bench_region`]: callgrind collects per thread, and a new thread starts
/// outside the region. (The caller's spawn and join are collected too when the caller is
/// in the region: the same for a workload and its baseline, so not in the extra.)
pub fn on_new_threads(threads: u64, work: &(dyn Fn(u64) + Sync)) {
    for _ in 0..threads {
        std::thread::scope(|s| {
            s.spawn(|| alloc_trace_bench_region(work, 1));
        });
    }
}

/// A memory reading of a binary: `measure()` returns the value (in `unit`), taken once
/// in a process of its own (the driver runs `memory INDEX`), and not under callgrind.
pub struct Memory {
    /// Who, as for [`Entry::contender`].
    pub contender: &'static str,
    /// What, e.g. `tables-last-100k`; a name ending in `:base` is the baseline of the
    /// reading of the same name.
    pub workload: &'static str,
    /// `bytes`.
    pub unit: &'static str,
    /// Takes the reading.
    pub measure: Box<dyn Fn() -> f64>,
}

impl Memory {
    /// A reading in bytes.
    pub fn bytes(
        contender: &'static str,
        workload: &'static str,
        measure: impl Fn() -> f64 + 'static,
    ) -> Self {
        Self {
            contender,
            workload,
            unit: "bytes",
            measure: Box::new(measure),
        }
    }
}

/// Everything a bench binary offers the driver; [`main`] is the short form.
pub struct Bench {
    entries: Vec<Entry>,
    counted: Option<Counted>,
    memory: Vec<Memory>,
    info: Vec<(String, String)>,
}

impl Bench {
    /// A binary with these timed and counted entries.
    #[must_use]
    pub fn new(entries: Vec<Entry>) -> Self {
        Self {
            entries,
            counted: None,
            memory: Vec::new(),
            info: Vec::new(),
        }
    }

    /// Sets the counting check (see [`Counted`]).
    #[must_use]
    pub fn counted(mut self, counted: Option<Counted>) -> Self {
        self.counted = counted;
        self
    }

    /// Adds memory readings.
    #[must_use]
    pub fn memory(mut self, memory: impl IntoIterator<Item = Memory>) -> Self {
        self.memory.extend(memory);
        self
    }

    /// Adds a fact for the tables (`INFO key value`).
    #[must_use]
    pub fn info(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.info.push((key.to_owned(), value.to_string()));
        self
    }

    /// Runs the command the arguments ask for; see the module docs.
    ///
    /// # Panics
    ///
    /// On unknown arguments, and if the counting check shows that the contender does not
    /// count.
    pub fn run(self) {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let args: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|a| *a != "--bench")
            .collect();
        if let Some(counted) = self.counted {
            check_counting(counted);
        }
        let index = |i: &str| -> usize {
            i.parse()
                .expect("alloc-trace-benchmarks: an entry index is a number")
        };
        let entries = &self.entries;
        match args.as_slice() {
            [] => print_table(entries),
            ["list"] => {
                for (i, e) in entries.iter().enumerate() {
                    println!(
                        "ENTRY\t{i}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        e.contender,
                        e.workload,
                        e.unit,
                        e.ops_per_iter,
                        e.threads,
                        e.count_iters,
                        if e.alone { "alone" } else { "shared" }
                    );
                }
                for (i, m) in self.memory.iter().enumerate() {
                    println!("MEMORY\t{i}\t{}\t{}\t{}", m.contender, m.workload, m.unit);
                }
                for (k, v) in &self.info {
                    println!("INFO\t{k}\t{v}");
                }
            }
            ["time", some @ ..] => {
                let chosen: Vec<usize> = if some.is_empty() {
                    (0..entries.len()).collect()
                } else {
                    some.iter().map(|i| index(i)).collect()
                };
                for e in chosen.into_iter().map(|i| &entries[i]) {
                    let t = time(e);
                    println!(
                        "TIME\t{}\t{}\t{:.3}\t{}",
                        e.contender, e.workload, t.median_ns, t.samples
                    );
                }
            }
            ["count", i] => count(&entries[index(i)]),
            ["memory", i] => {
                let m = &self.memory[index(i)];
                let value = (m.measure)();
                println!("MEMORY_RESULT\t{}\t{}\t{value}", m.contender, m.workload);
            }
            other => panic!(
                "alloc-trace-benchmarks: unknown arguments {other:?}; use list, time [INDEX...], \
                 count INDEX or memory INDEX"
            ),
        }
    }
}

/// How a contender reports the allocations it saw while running a closure, if it can.
pub type Counted = fn(&dyn Fn()) -> u64;

/// The instructions callgrind collects: exactly those executed inside this function (it
/// is never inlined, and the driver passes `--toggle-collect=*alloc_trace_bench_region*`).
#[inline(never)]
pub fn alloc_trace_bench_region(run: &(dyn Fn(u64) + Sync), iters: u64) {
    run(black_box(iters));
}

/// The entry point of every bench binary; see the module docs. The same as
/// `Bench::new(entries).counted(counted).run()`.
///
/// # Panics
///
/// On unknown arguments, and if `counted` shows that the contender does not count.
pub fn main(entries: Vec<Entry>, counted: Option<Counted>) {
    Bench::new(entries).counted(counted).run();
}

/// Churn of 1,000 pairs must show 1,000 allocations.
fn check_counting(counted: Counted) {
    let seen = counted(&|| workloads::churn(1000));
    assert_eq!(
        seen, 1000,
        "alloc-trace-benchmarks: the contender saw {seen} of 1000 allocations"
    );
}

fn print_table(entries: &[Entry]) {
    println!("{:<34} {:<14} {:>12}  per", "contender", "workload", "time");
    for e in entries {
        let t = time(e);
        println!(
            "{:<34} {:<14} {:>9.2} ns  {}",
            e.contender, e.workload, t.median_ns, e.unit
        );
    }
}

struct Timing {
    median_ns: f64,
    samples: usize,
}

/// The median over samples of the time per operation. Samples last at least 10 ms;
/// sampling stops after 15 samples, or after 5 once 300 ms have passed, or after 3 once
/// 3 s have passed (the slowest peers on the mixed workload).
fn time(e: &Entry) -> Timing {
    const MIN_SAMPLE: Duration = Duration::from_millis(10);
    const BUDGET: Duration = Duration::from_millis(300);
    const SLOW: Duration = Duration::from_secs(3);
    sample(e, 1);
    let iters = e.time_iters.unwrap_or_else(|| {
        let mut iters = 1;
        loop {
            let took = sample(e, iters);
            if took >= MIN_SAMPLE {
                break iters;
            }
            // Aim a little past the minimum so the next try usually succeeds.
            let scale =
                (MIN_SAMPLE.as_secs_f64() * 1.2 / took.as_secs_f64().max(1e-9)).clamp(2.0, 100.0);
            iters = (iters as f64 * scale) as u64;
        }
    });
    let started = Instant::now();
    let mut per_op = Vec::new();
    loop {
        let (n, elapsed) = (per_op.len(), started.elapsed());
        if n >= 15 || (n >= 5 && elapsed >= BUDGET) || (n >= 3 && elapsed >= SLOW) {
            break;
        }
        let took = sample(e, iters);
        per_op.push(took.as_secs_f64() * 1e9 / (iters * e.ops_per_iter) as f64);
    }
    per_op.sort_by(f64::total_cmp);
    Timing {
        median_ns: per_op[per_op.len() / 2],
        samples: per_op.len(),
    }
}

/// Wall time of `iters` iterations on each of `e.threads` threads (started together).
fn sample(e: &Entry, iters: u64) -> Duration {
    if e.threads == 1 {
        let start = Instant::now();
        alloc_trace_bench_region(&*e.run, iters);
        return start.elapsed();
    }
    let barrier = Barrier::new(e.threads + 1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..e.threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    alloc_trace_bench_region(&*e.run, iters);
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for w in workers {
            w.join()
                .expect("alloc-trace-benchmarks: a worker thread panicked");
        }
        start.elapsed()
    })
}

/// One run of `e.count_iters` iterations per thread inside the collected region, after a
/// warm-up outside it (first-use costs such as a thread's first allocation stay out).
fn count(e: &Entry) {
    let warm_up = (e.count_iters / 4).max(1);
    let one_thread = || {
        (e.run)(warm_up);
        alloc_trace_bench_region(&*e.run, e.count_iters);
    };
    if e.threads == 1 {
        one_thread();
    } else {
        std::thread::scope(|s| {
            for _ in 0..e.threads {
                s.spawn(one_thread);
            }
        });
    }
}
