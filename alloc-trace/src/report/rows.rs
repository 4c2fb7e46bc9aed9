//! The rows of a report: per function ([`SiteStats`]) and per call path ([`PathStats`]).

use super::{Held, SiteOwnership};
use crate::stats::{AllocCounts, AllocStats};

/// What one `#[track_allocs]` function did, summed over its calls.
///
/// `inclusive` counts everything a call did, nested calls included; `exclusive` subtracts
/// what nested tracked calls did, so the exclusive numbers of all sites add up to the
/// allocations made inside tracked code. Under recursion, `inclusive` counts each
/// allocation once, at the outermost active call of the site; `calls` counts every call.
///
/// `inclusive.peak_bytes` is the highest live-bytes level any call reached above its entry
/// level. `exclusive` has no peak: a peak cannot be split between a function and the
/// functions it calls.
///
/// Calls in flight (started, not finished, when the report was built) are not in `calls`
/// but in [`in_flight`](Self::in_flight); what they did so far is in `inclusive` and
/// `exclusive`.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs]
/// fn leaf() -> usize {
///     std::hint::black_box(vec![0u8; 160]).len()
/// }
///
/// let (_, report) = alloc_trace::capture(leaf);
/// let site = report.site("leaf").unwrap();
/// assert_eq!((site.calls, site.inclusive.allocs, site.inclusive.peak_bytes), (1, 1, 160));
/// assert_eq!(site.inclusive.counts(), site.exclusive); // no nested tracked call
/// assert_eq!(site.allocs_per_call(), 1.0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct SiteStats {
    /// `module::path::function`, `module::Type::method`, or the `name = "..."` given. Two
    /// functions can share it (a nested `fn helper` in two functions of one module, say):
    /// [`display_name`](Self::display_name) tells them apart.
    pub name: String,
    /// The name every output of the report shows (table, JSON, folded stacks): `name`
    /// itself, or `name (file:line)` when another function in the same report has the
    /// same `name` (`name (file:line) #2` in the rare case that they share a line too,
    /// e.g. two functions a macro generates). It identifies the function within the
    /// report, and [`Report::site`](super::Report::site) accepts it.
    pub display_name: String,
    /// Source file of the function.
    pub file: String,
    /// Line of the function's name.
    pub line: u32,
    /// Completed calls (an `async fn` call counts once, however often it was polled).
    pub calls: u64,
    /// Everything the calls did, nested calls included.
    pub inclusive: AllocStats,
    /// What the calls did themselves: `inclusive` minus nested tracked calls.
    pub exclusive: AllocCounts,
    /// The most `allocs` any single call made, nested calls included.
    pub max_allocs_per_call: u64,
    /// Calls that had started and not finished when the report was built: a synchronous
    /// call still running on a thread (as far as the thread's attributed allocations show
    /// it, see [`report()`](crate::report())), or an `async fn` polled and not complete.
    /// Work a call handed off ([`Handoff`](crate::Handoff)) and running on other threads
    /// is in flight as `[handoff]` runs and `[task]` polls, not as more calls of the call.
    pub in_flight: u64,
    /// What the function holds: its blocks alive now and at the process's peak (feature
    /// `ownership`, process-wide reports; `None` otherwise). See [`SiteOwnership`].
    pub ownership: Option<SiteOwnership>,
}

impl SiteStats {
    /// Mean `allocs` per call, nested calls included: the allocation *rate*, Go's
    /// `allocs/op`. 0 for a function never called.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn pair() -> (Box<u8>, Box<u8>) {
    ///     (Box::new(1), Box::new(2))
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(|| {
    ///     for _ in 0..3 {
    ///         std::hint::black_box(pair());
    ///     }
    /// });
    /// let site = report.site("pair").unwrap();
    /// assert_eq!(site.allocs_per_call(), 2.0);
    /// assert_eq!(site.bytes_per_call(), 2.0);
    /// assert_eq!(site.net_bytes_per_call(), 2.0); // returned, so kept by the call
    /// ```
    #[must_use]
    pub fn allocs_per_call(&self) -> f64 {
        per_call(self.inclusive.allocs as f64, self.calls)
    }

    /// Mean bytes allocated per call, nested calls included (Go's `B/op`).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn buffer() -> usize {
    ///     std::hint::black_box(vec![0u8; 256]).len()
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(buffer);
    /// assert_eq!(report.site("buffer").unwrap().bytes_per_call(), 256.0);
    /// ```
    #[must_use]
    pub fn bytes_per_call(&self) -> f64 {
        per_call(self.inclusive.bytes_allocated as f64, self.calls)
    }

    /// Mean `net_bytes` per call (allocated minus freed, nested calls included): near zero
    /// for churn, positive for a call that leaves memory behind (a returned value, a cache,
    /// a leak).
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn churn() -> usize {
    ///     std::hint::black_box(vec![0u8; 256]).len()
    /// }
    ///
    /// let (_, report) = alloc_trace::capture(churn);
    /// assert_eq!(report.site("churn").unwrap().net_bytes_per_call(), 0.0);
    /// ```
    #[must_use]
    pub fn net_bytes_per_call(&self) -> f64 {
        per_call(self.inclusive.net_bytes() as f64, self.calls)
    }
}

impl SiteStats {
    /// Whether the function ran at all: finished calls, calls in flight, or allocations
    /// booked to it so far.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// #[alloc_trace::track_allocs]
    /// fn once() {}
    ///
    /// let (_, report) = alloc_trace::capture(once);
    /// assert!(report.site("once").unwrap().ran());
    /// ```
    #[must_use]
    pub fn ran(&self) -> bool {
        self.calls > 0
            || self.in_flight > 0
            || self.inclusive.allocs > 0
            || self.inclusive.frees > 0
    }
}

fn per_call(total: f64, calls: u64) -> f64 {
    if calls == 0 {
        0.0
    } else {
        total / calls as f64
    }
}

/// Allocations made by frames at one call path, e.g. `main;handle;parse`: what the last
/// function of the path did itself (exclusive numbers) when called along that path.
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// #[alloc_trace::track_allocs(name = "outer")]
/// fn outer() -> Box<u8> {
///     inner()
/// }
///
/// #[alloc_trace::track_allocs(name = "inner")]
/// fn inner() -> Box<u8> {
///     Box::new(1)
/// }
///
/// let (_, report) = alloc_trace::capture(|| std::hint::black_box(outer()));
/// let path = &report.paths()[0];
/// assert_eq!((path.path.as_str(), path.exclusive.allocs), ("outer;inner", 1));
/// assert_eq!(path.frames, ["outer", "inner"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PathStats {
    /// [`frames`](Self::frames) joined by `;`, for reading (a name that contains `;`
    /// makes it ambiguous: use `frames` to walk a path).
    pub path: String,
    /// The functions' [`display_name`](SiteStats::display_name)s from the outermost
    /// tracked call to the innermost, with `[...]` where frames of a very deep path were
    /// left out (see [`Report::folded`](super::Report::folded)).
    pub frames: Vec<String>,
    /// What calls at exactly this path did, nested tracked calls excluded.
    pub exclusive: AllocCounts,
    /// What blocks allocated at exactly this path hold, now and at the process's peak
    /// (feature `ownership`, process-wide reports; `None` otherwise).
    pub ownership: Option<Held>,
}

/// The [`SiteStats::display_name`] of each of `sites` (`(name, file, line)`), in order:
/// the name where it is unique among them, `name (file:line)` where it is not, and
/// `name (file:line) #k` (k from 1, in the order given) where that is not unique either.
#[cfg(any(test, feature = "json"))]
pub(crate) fn display_names(sites: &[(&str, &str, u32)]) -> Vec<String> {
    let mut naming: Vec<Naming<'_, ()>> = sites
        .iter()
        .map(|&(name, file, line)| Naming::new(name.to_owned(), file, line, ()))
        .collect();
    name_sites(&mut naming);
    naming.into_iter().map(|n| n.display).collect()
}

/// A site to give its display name (see [`name_sites`]).
pub(crate) struct Naming<'f, O> {
    pub name: String,
    pub file: &'f str,
    pub line: u32,
    /// What the caller knows the site by.
    pub of: O,
    /// What [`name_sites`] gives it: [`SiteStats::display_name`].
    pub display: String,
}

impl<'f, O> Naming<'f, O> {
    pub(crate) fn new(name: String, file: &'f str, line: u32, of: O) -> Self {
        Self {
            name,
            file,
            line,
            of,
            display: String::new(),
        }
    }

    fn key(&self) -> (&str, &str, u32) {
        (&self.name, self.file, self.line)
    }
}

/// Gives each of `sites` its `display`: its name where the name is unique among them,
/// `name (file:line)` where it is not, and `name (file:line) #k` (k from 1, in the order
/// of `sites`) where that is not unique either.
///
/// PERF: the sites stay where they are and an index of them is sorted (a site is 80
/// bytes, an index entry 8); for up to 32 sites (a capture's) the index is on the stack,
/// so only their display names are allocated.
pub(crate) fn name_sites<O>(sites: &mut [Naming<'_, O>]) {
    let mut few = [0usize; 32];
    let mut many: Vec<usize> = Vec::new();
    let order: &mut [usize] = match few.get_mut(..sites.len()) {
        Some(few) => few,
        None => {
            many.resize(sites.len(), 0);
            &mut many
        }
    };
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    order.sort_by(|&a, &b| sites[a].key().cmp(&sites[b].key()));
    let mut start = 0;
    while start < order.len() {
        let first = &sites[order[start]];
        let same_name = order[start..]
            .iter()
            .take_while(|&&i| sites[i].name == first.name)
            .count();
        let group = &order[start..start + same_name];
        start += same_name;
        if let [one] = group {
            sites[*one].display = sites[*one].name.clone();
            continue;
        }
        let mut at = 0;
        while at < group.len() {
            let key = sites[group[at]].key();
            let same_line = group[at..]
                .iter()
                .take_while(|&&i| sites[i].key() == key)
                .count();
            for (k, &i) in group[at..at + same_line].iter().enumerate() {
                let (name, file, line) = sites[i].key();
                let display = if same_line > 1 {
                    format!("{name} ({file}:{line}) #{}", k + 1)
                } else {
                    format!("{name} ({file}:{line})")
                };
                sites[i].display = display;
            }
            at += same_line;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::display_names;

    #[test]
    fn shared_names_get_their_location() {
        let names = display_names(&[
            ("app::helper", "src/a.rs", 30),
            ("app::parse", "src/a.rs", 1),
            ("app::helper", "src/a.rs", 12),
            ("gen::f", "src/m.rs", 5),
            ("gen::f", "src/m.rs", 5),
        ]);
        assert_eq!(
            names,
            [
                "app::helper (src/a.rs:30)",
                "app::parse",
                "app::helper (src/a.rs:12)",
                "gen::f (src/m.rs:5) #1",
                "gen::f (src/m.rs:5) #2",
            ]
        );
    }

    #[test]
    fn more_sites_than_the_index_on_the_stack_are_named_alike() {
        // 40 sites (the index of more than 32 is a vector): the shared names sit on both
        // sides of the 32nd, and the numbering follows the order given.
        let mut sites: Vec<(String, &str, u32)> = (0..37)
            .map(|i| (format!("app::f{i:02}"), "src/a.rs", i))
            .collect();
        sites.insert(3, ("app::f30".to_owned(), "src/b.rs", 9));
        sites.insert(35, ("gen::g".to_owned(), "src/m.rs", 5));
        sites.push(("gen::g".to_owned(), "src/m.rs", 5));
        let keys: Vec<(&str, &str, u32)> =
            sites.iter().map(|(n, f, l)| (n.as_str(), *f, *l)).collect();
        let names = display_names(&keys);
        assert_eq!(names.len(), 40);
        assert_eq!(names[0], "app::f00");
        assert_eq!(names[3], "app::f30 (src/b.rs:9)");
        assert_eq!(names[31], "app::f30 (src/a.rs:30)");
        assert_eq!(names[35], "gen::g (src/m.rs:5) #1");
        assert_eq!(names[39], "gen::g (src/m.rs:5) #2");
        let unique = names.iter().filter(|n| !n.contains('(')).count();
        assert_eq!(unique, 36);
    }
}
