//! The report's call paths in the folded-stack format of flamegraph.pl and inferno.

use core::fmt::Write as _;

use super::{PathStats, Report};

/// What a [`Report::folded`] line counts.
///
/// ```
/// use alloc_trace::report::FoldedWeight;
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
///
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(vec![0u8; 100]));
/// let line = alloc_trace::report::OUTSIDE_FRAME;
/// assert_eq!(report.folded(FoldedWeight::Allocs), format!("{line} 1\n"));
/// assert_eq!(report.folded(FoldedWeight::Bytes), format!("{line} 100\n"));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FoldedWeight {
    /// `allocs` (reallocs included): where the allocation *rate* comes from.
    #[default]
    Allocs,
    /// Bytes allocated.
    Bytes,
    /// Bytes of the path's blocks alive at the process's peak of live bytes (the ownership
    /// view, feature `ownership`: which functions held the memory when the program held
    /// the most). Without the view, or in a capture, there is nothing to weigh: no line.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// use alloc_trace::report::FoldedWeight;
    ///
    /// let report = alloc_trace::report();
    /// if report.ownership().is_none() {
    ///     assert_eq!(report.folded(FoldedWeight::LiveAtPeak), "");
    /// }
    /// ```
    LiveAtPeak,
    /// Bytes of the path's blocks alive when the report was built (at exit: never freed),
    /// as [`LiveAtPeak`](FoldedWeight::LiveAtPeak).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// use alloc_trace::report::FoldedWeight;
    ///
    /// let (_, capture) = alloc_trace::capture(|| std::hint::black_box(vec![1u8; 8]));
    /// assert_eq!(capture.folded(FoldedWeight::LiveAtEnd), ""); // captures have no view
    /// ```
    LiveAtEnd,
}

impl FoldedWeight {
    /// The weight of a path's line.
    pub(crate) fn of_path(self, p: &PathStats) -> u64 {
        match self {
            FoldedWeight::Allocs => p.exclusive.allocs,
            FoldedWeight::Bytes => p.exclusive.bytes_allocated,
            FoldedWeight::LiveAtPeak => p.ownership.map_or(0, |h| h.at_peak.bytes),
            FoldedWeight::LiveAtEnd => p.ownership.map_or(0, |h| h.live.bytes),
        }
    }

    /// The weight of the [`OUTSIDE_FRAME`] line.
    pub(crate) fn of_outside(self, r: &Report) -> u64 {
        let outside = r.outside_tracked();
        let held = r.ownership().map(|o| o.outside);
        match self {
            FoldedWeight::Allocs => outside.allocs,
            FoldedWeight::Bytes => outside.bytes_allocated,
            FoldedWeight::LiveAtPeak => held.map_or(0, |h| h.at_peak.bytes),
            FoldedWeight::LiveAtEnd => held.map_or(0, |h| h.live.bytes),
        }
    }
}

/// The frame that stands for allocations made outside every tracked function.
///
/// ```
/// use alloc_trace::report::{FoldedWeight, OUTSIDE_FRAME};
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
///
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(Box::new(1u8)));
/// assert_eq!(report.folded(FoldedWeight::Allocs), format!("{OUTSIDE_FRAME} 1\n"));
/// ```
pub const OUTSIDE_FRAME: &str = "[outside tracked functions]";

impl Report {
    /// The call paths as folded stacks, one line per path: the tracked functions from the
    /// outermost to the innermost joined by `;`, a space, and a weight. This is the input
    /// format of [inferno](https://crates.io/crates/inferno) and `flamegraph.pl`:
    ///
    /// ```text
    /// [outside tracked functions] 190
    /// app::main;app::handle 2000
    /// app::main;app::handle;app::parse 2000
    /// ```
    ///
    /// Each line counts what calls at exactly that path did *themselves* (exclusive
    /// numbers; with [`FoldedWeight::LiveAtPeak`] and [`FoldedWeight::LiveAtEnd`], the
    /// bytes its own blocks held): flamegraph tools add the children into their parents' boxes, so a box's
    /// width is the function's inclusive total along that path. Paths with a weight of 0
    /// are left out; the lines are sorted (as inferno's `--no-sort` wants them).
    ///
    /// One more line, [`OUTSIDE_FRAME`], counts what happened outside every tracked
    /// function (start-up, untracked code, other threads' untracked work), so the
    /// flamegraph's width is the report's total and the tracked share is visible at a
    /// glance. It is omitted when that is 0.
    ///
    /// # Frames
    ///
    /// A frame is the function's [`display_name`](super::SiteStats::display_name), so two
    /// functions that share a name are two frames, `name (file:line)`. Every line is
    /// `frames weight`, which inferno and `flamegraph.pl` read back frame for frame
    /// whatever the names hold: a name given with `name = "..."` is escaped where it
    /// would break the format, and only there, as Rust writes a string's escapes:
    ///
    /// | in a name | becomes | because |
    /// |---|---|---|
    /// | `\` | `\\` | so that the escapes below are unambiguous |
    /// | `;` | `\u{3b}` | it separates frames |
    /// | newline, tab, carriage return | `\n`, `\t`, `\r` | a newline ends the line; readers split on whitespace |
    /// | any other control character | `\u{..}` (its code point in hex) | |
    /// | whitespace at the start or end | `\u{..}` (a space is `\u{20}`) | readers trim lines and frames |
    /// | the last space, if a number follows it (`fast 42`) | `\u{20}` (`fast\u{20}42`) | a trailing number reads as a second (differential) count |
    ///
    /// The escaping is one-to-one, so distinct names stay distinct frames.
    /// [`PathStats::frames`](super::PathStats::frames) holds the names unescaped.
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
    /// #[track_allocs(name = "inner; fast path")]
    /// fn inner() -> Box<u64> {
    ///     Box::new(2)
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| std::hint::black_box(outer()));
    /// assert_eq!(
    ///     report.folded(FoldedWeight::Allocs),
    ///     "outer 1\nouter;inner\\u{3b} fast path 1\n"
    /// );
    /// assert_eq!(
    ///     report.folded(FoldedWeight::Bytes),
    ///     "outer 4\nouter;inner\\u{3b} fast path 8\n"
    /// );
    /// ```
    #[must_use]
    pub fn folded(&self, weight: FoldedWeight) -> String {
        let mut lines: Vec<String> = self
            .paths
            .iter()
            .map(|p| (&p.frames, weight.of_path(p)))
            .filter(|&(_, w)| w > 0)
            .map(|(frames, w)| {
                let mut line = String::new();
                for (i, frame) in frames.iter().enumerate() {
                    if i > 0 {
                        line.push(';');
                    }
                    // Writing to a String cannot fail.
                    let _ = write!(line, "{}", Escaped(frame));
                }
                let _ = write!(line, " {w}");
                line
            })
            .collect();
        let outside = weight.of_outside(self);
        if outside > 0 {
            lines.push(format!("{OUTSIDE_FRAME} {outside}"));
        }
        lines.sort_unstable();
        let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}

/// A frame as folded stacks write it (see [`Report::folded`]).
struct Escaped<'a>(&'a str);

impl core::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = self.0;
        let lead = name.len() - name.trim_start().len();
        let trail = name.trim_end().len();
        // The space before a number that ends the name, e.g. in `fast 42`.
        let before_number = (trail == name.len())
            .then(|| name[lead..].rsplit_once(' '))
            .flatten()
            .filter(|(_, word)| reads_as_a_count(word))
            .map(|(head, _)| lead + head.len());
        for (i, c) in name.char_indices() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                ';' => f.write_str("\\u{3b}")?,
                c if c.is_control() || i < lead || i >= trail || Some(i) == before_number => {
                    write!(f, "\\u{{{:x}}}", u32::from(c))?;
                }
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Whether inferno or `flamegraph.pl` would read `word`, at the end of a line's frames, as
/// a count: digits, optionally a `.` and more digits.
fn reads_as_a_count(word: &str) -> bool {
    let (int, frac) = word.split_once('.').unwrap_or((word, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::Escaped;

    fn escaped(name: &str) -> String {
        Escaped(name).to_string()
    }

    #[test]
    fn frames_are_escaped_only_where_they_would_break() {
        assert_eq!(escaped("app::Parser::parse"), "app::Parser::parse");
        assert_eq!(escaped("name (src/a.rs:12)"), "name (src/a.rs:12)");
        assert_eq!(escaped("parse; fast path"), "parse\\u{3b} fast path");
        assert_eq!(escaped("two\nlines"), "two\\nlines");
        assert_eq!(escaped("a\tb\rc\u{1b}d\u{7f}"), "a\\tb\\rc\\u{1b}d\\u{7f}");
        assert_eq!(escaped("back\\slash"), "back\\\\slash");
        assert_eq!(escaped(" padded  "), "\\u{20}padded\\u{20}\\u{20}");
        assert_eq!(escaped("fast 42"), "fast\\u{20}42");
        assert_eq!(escaped("fast 4.2"), "fast\\u{20}4.2");
        assert_eq!(escaped("fast 42 "), "fast 42\\u{20}");
        assert_eq!(escaped("fast 42x"), "fast 42x");
        assert_eq!(escaped("v2 of 3 parts"), "v2 of 3 parts");
        assert_eq!(escaped("42"), "42");
        assert_eq!(escaped("\u{a0}nbsp"), "\\u{a0}nbsp");
        assert_eq!(escaped("caf\u{e9} \u{1f980}"), "caf\u{e9} \u{1f980}");
    }
}
