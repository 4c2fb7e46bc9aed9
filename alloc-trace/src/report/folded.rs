//! The report's call paths in the folded-stack format of flamegraph.pl and inferno.

use core::fmt::Write as _;

use super::Report;
use crate::stats::AllocCounts;

/// What a [`Report::folded`] line counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FoldedWeight {
    /// `allocs` (reallocs included): where the allocation *rate* comes from.
    #[default]
    Allocs,
    /// Bytes allocated.
    Bytes,
}

impl FoldedWeight {
    fn of(self, s: &AllocCounts) -> u64 {
        match self {
            FoldedWeight::Allocs => s.allocs,
            FoldedWeight::Bytes => s.bytes_allocated,
        }
    }
}

/// The frame that stands for allocations made outside every tracked function.
pub const OUTSIDE_FRAME: &str = "[outside tracked functions]";

impl Report {
    /// The call paths as folded stacks, one line per path: the tracked functions from the
    /// outermost to the innermost joined by `;`, a space, and a weight. This is the input
    /// format of [inferno](https://crates.io/crates/inferno) and `flamegraph.pl`:
    ///
    /// ```text
    /// app::main;app::handle 2000
    /// app::main;app::handle;app::parse 2000
    /// [outside tracked functions] 190
    /// ```
    ///
    /// Each line counts what calls at exactly that path did *themselves* (exclusive
    /// numbers): flamegraph tools add the children into their parents' boxes, so a box's
    /// width is the function's inclusive total along that path. Lines are sorted by path;
    /// paths with a weight of 0 are left out.
    ///
    /// One more line, [`OUTSIDE_FRAME`], counts what happened outside every tracked
    /// function (start-up, untracked code, other threads' untracked work), so the
    /// flamegraph's width is the report's total and the tracked share is visible at a
    /// glance. It is omitted when that is 0.
    ///
    /// # Limits of the call-path table
    ///
    /// Paths are interned in one process-wide table that grows as needed (up to 16
    /// million paths). Two bounds keep it finite:
    /// - A path keeps **128 frames**: a frame deeper than that is counted at a path made
    ///   of the outermost 127 frames, a `[...]` frame for the ones left out, and the
    ///   frame's own function, so deep recursion adds one line, not one per level, and
    ///   the innermost function keeps its own numbers.
    /// - Past 16 million paths (or for a signal handler that needs a new path while its
    ///   thread is adding one), calls are counted under
    ///   [`OVERFLOW_PATH`](crate::report::OVERFLOW_PATH).
    ///
    /// A function's own (exclusive) numbers are the sum of its paths' lines; its inclusive
    /// numbers count every line it is on, once per line. Below a `[...]` cut, the
    /// functions left out of the path miss that line in their inclusive numbers.
    ///
    /// # Examples
    ///
    /// ```
    /// use alloc_trace::{track_allocs, report::FoldedWeight};
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    ///
    /// #[track_allocs(name = "outer")]
    /// fn outer() -> (Box<u32>, Box<u64>) {
    ///     (Box::new(1), inner())
    /// }
    ///
    /// #[track_allocs(name = "inner")]
    /// fn inner() -> Box<u64> {
    ///     Box::new(2)
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(outer()));
    /// assert_eq!(report.folded(FoldedWeight::Allocs), "outer 1\nouter;inner 1\n");
    /// assert_eq!(report.folded(FoldedWeight::Bytes), "outer 4\nouter;inner 8\n");
    /// ```
    #[must_use]
    pub fn folded(&self, weight: FoldedWeight) -> String {
        let mut lines: Vec<(&str, u64)> = self
            .paths
            .iter()
            .map(|p| (p.path.as_str(), weight.of(&p.exclusive)))
            .filter(|&(_, w)| w > 0)
            .collect();
        lines.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let outside = weight.of(&self.outside_tracked());
        let mut out =
            String::with_capacity(lines.iter().map(|(p, _)| p.len() + 12).sum::<usize>() + 48);
        for (path, w) in lines {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{path} {w}");
        }
        if outside > 0 {
            let _ = writeln!(out, "{OUTSIDE_FRAME} {outside}");
        }
        out
    }
}
