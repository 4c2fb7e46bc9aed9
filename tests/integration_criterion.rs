//! alloc-trace's criterion measurements inside criterion itself: the estimates criterion
//! saves (`<output>/<group>/<bench>/new/estimates.json`) are the exact allocation counts
//! of known routines, `iter_batched` leaves the setup out, a saved baseline sees a
//! regression, and criterion runs the routine on the calling thread (which is what makes
//! per-thread counts exact).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alloc_trace::criterion::{Allocs, BytesAllocated};
use alloc_trace_examples::quickstart::{LINE, split_borrowed, split_owned};
use criterion::measurement::Measurement;
use criterion::{BatchSize, Criterion};

#[global_allocator]
static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();

/// A fresh output directory for one test (tests run in parallel).
fn output(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("integration_criterion")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Criterion as small as it gets: the counts are exact whatever the sample size.
fn criterion<M: Measurement>(measurement: M, dir: &Path) -> Criterion<M> {
    Criterion::default()
        .output_directory(dir)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(10))
        .measurement_time(Duration::from_millis(10))
        .nresamples(1001) // the fewest criterion takes without a warning
        .without_plots()
        .with_measurement(measurement)
}

/// The point estimates of criterion's saved `estimates.json` (a `new` or `change` file).
fn estimates(dir: &Path, id: &str, which: &str) -> serde_json::Value {
    let path = dir.join(id).join(which).join("estimates.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("criterion wrote no {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn point(estimates: &serde_json::Value, statistic: &str) -> f64 {
    estimates[statistic]["point_estimate"].as_f64().unwrap()
}

/// Mean, median and slope are `per_iteration`, and nothing varies.
fn assert_exact(estimates: &serde_json::Value, per_iteration: f64) {
    for statistic in ["mean", "median", "slope"] {
        assert_eq!(
            point(estimates, statistic),
            per_iteration,
            "{statistic}: {estimates}"
        );
        let interval = &estimates[statistic]["confidence_interval"];
        assert_eq!(interval["lower_bound"].as_f64(), Some(per_iteration));
        assert_eq!(interval["upper_bound"].as_f64(), Some(per_iteration));
    }
    assert_eq!(point(estimates, "std_dev"), 0.0, "{estimates}");
}

#[test]
fn saved_estimates_are_exact_allocs_per_iteration() {
    let dir = output("allocs");
    let mut c = criterion(Allocs, &dir);
    c.bench_function("split_owned", |b| b.iter(|| split_owned(black_box(LINE))));
    c.bench_function("split_borrowed", |b| {
        b.iter(|| split_borrowed(black_box(LINE)))
    });
    // "alice,42,paris": a Vec and three Strings, or the Vec alone.
    assert_exact(&estimates(&dir, "split_owned", "new"), 4.0);
    assert_exact(&estimates(&dir, "split_borrowed", "new"), 1.0);
}

#[test]
fn saved_estimates_are_exact_bytes_per_iteration() {
    let dir = output("bytes");
    let mut c = criterion(BytesAllocated, &dir);
    c.bench_function("split_owned", |b| b.iter(|| split_owned(black_box(LINE))));
    c.bench_function("split_borrowed", |b| {
        b.iter(|| split_borrowed(black_box(LINE)))
    });
    // `collect` makes room for 4 elements; the Strings hold 5, 2 and 5 bytes.
    let owned = 4 * size_of::<String>() + "alice".len() + "42".len() + "paris".len();
    let borrowed = 4 * size_of::<&str>();
    assert_exact(&estimates(&dir, "split_owned", "new"), owned as f64);
    assert_exact(&estimates(&dir, "split_borrowed", "new"), borrowed as f64);
    #[cfg(target_pointer_width = "64")]
    assert_eq!((owned, borrowed), (108, 64)); // what the example bench's docs show
}

#[test]
fn iter_batched_counts_the_routine_not_its_setup() {
    let dir = output("batched");
    let mut c = criterion(Allocs, &dir);
    c.bench_function("push_one", |b| {
        b.iter_batched(
            || Vec::<u8>::with_capacity(8), // one alloc per input: not counted
            |mut v| {
                v.extend_from_slice(b"0123456789"); // one realloc: counted
                v
            },
            BatchSize::SmallInput,
        )
    });
    assert_exact(&estimates(&dir, "push_one", "new"), 1.0);
}

#[test]
fn a_saved_baseline_sees_a_regression_exactly() {
    let dir = output("baseline");
    // Before: the borrowed split (1 alloc per line), saved as `before`.
    criterion(Allocs, &dir)
        .save_baseline("before".to_owned())
        .bench_function("split", |b| b.iter(|| split_borrowed(black_box(LINE))));
    // After, the same code: no change at all.
    criterion(Allocs, &dir)
        .retain_baseline("before".to_owned(), true)
        .bench_function("split", |b| b.iter(|| split_borrowed(black_box(LINE))));
    assert_eq!(point(&estimates(&dir, "split", "change"), "mean"), 0.0);
    // After, owned strings: 4 allocs instead of 1, a change of +300%.
    criterion(Allocs, &dir)
        .retain_baseline("before".to_owned(), true)
        .bench_function("split", |b| b.iter(|| split_owned(black_box(LINE))));
    let change = estimates(&dir, "split", "change");
    assert_eq!(point(&change, "mean"), 3.0, "{change}");
    assert_eq!(point(&change, "median"), 3.0, "{change}");
    assert_exact(&estimates(&dir, "split", "new"), 4.0);
    // `retain_baseline` compares without overwriting: the baseline still says 1.
    assert_exact(&estimates(&dir, "split", "before"), 1.0);
}

#[test]
fn criterion_runs_the_routine_on_the_calling_thread() {
    let dir = output("thread");
    let caller = std::thread::current().id();
    let mut others = 0u64;
    let mut runs = 0u64;
    criterion(Allocs, &dir).bench_function("where", |b| {
        b.iter(|| {
            runs += 1;
            if std::thread::current().id() != caller {
                others += 1;
            }
            Box::new(runs)
        })
    });
    assert!(runs > 0);
    assert_eq!(others, 0, "criterion ran the routine on another thread");
    assert_exact(&estimates(&dir, "where", "new"), 1.0);
}

/// Criterion rejects a sample whose value is 0 ("took zero time per iteration") and skips
/// the benchmark's analysis: a routine that never allocates has no estimates, and the
/// measurement says why on stderr (see the `criterion` module's docs).
#[test]
fn a_routine_that_never_allocates_has_no_estimates() {
    let dir = output("zero");
    let mut buf = String::with_capacity(64);
    criterion(Allocs, &dir).bench_function("reuse", |b| {
        b.iter(|| {
            buf.clear();
            buf.push_str(black_box("fits"));
        })
    });
    assert!(
        !dir.join("reuse")
            .join("new")
            .join("estimates.json")
            .exists()
    );
}
