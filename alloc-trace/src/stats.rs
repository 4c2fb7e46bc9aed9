//! `AllocStats` and `AllocCounts`: what a piece of code asked of the allocator, in the
//! crate's one vocabulary.

use core::fmt::{self, Write as _};

/// What a measured piece of code asked of the allocator, on one thread: the counts of
/// [`AllocCounts`] plus the peak of live bytes.
///
/// # The words
///
/// Every surface of the crate (this type, the report's table columns and JSON keys, the
/// fields of [`assert_allocs!`](crate::assert_allocs), the `max_allocs`/`max_bytes`
/// budgets, folded weights) uses these words for these numbers:
///
/// | word | the number |
/// |---|---|
/// | `allocs` | successful requests for a block: `alloc`, `alloc_zeroed` and `realloc` calls (a `realloc` asks for a block of a new size). dhat's *blocks*, Go's *allocs/op* |
/// | `reallocs` | how many of the `allocs` were `realloc` calls (a `Vec` or `String` growing) |
/// | `frees` | blocks given back: `dealloc` calls and `realloc` calls (a `realloc` gives back its old block) |
/// | `bytes_allocated` | bytes requested: the sizes of `alloc`s and the new sizes of `realloc`s |
/// | `bytes_freed` | bytes given back: the sizes of `dealloc`s and the old sizes of `realloc`s |
/// | `net_bytes` | `bytes_allocated - bytes_freed`: what the code left allocated (a value it returned counts), negative if it freed older memory |
/// | `peak_bytes` | the most live bytes above the level at the start of the measurement |
///
/// So `allocs - frees` blocks and `net_bytes` bytes are what the code left behind: a
/// `realloc` adds one to both `allocs` and `frees`.
///
/// *Allocation rate* is `allocs` and `bytes_allocated` (how often the code asks for
/// memory, and how much); *residency* is `net_bytes` and `peak_bytes` (how much it holds).
///
/// ```
/// # use alloc_trace::{AllocStats, CountingAlloc};
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let (_, stats) = alloc_trace::measure(|| std::hint::black_box(Box::new(7u64)));
/// assert_eq!(stats.allocs, 1);
/// assert_eq!(stats.bytes_allocated, 8);
/// assert_eq!(stats.net_bytes(), 8); // the box outlives the closure
/// assert_eq!(stats.peak_bytes, 8);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct AllocStats {
    /// Successful `alloc`, `alloc_zeroed` and `realloc` calls.
    pub allocs: u64,
    /// How many of [`allocs`](Self::allocs) were `realloc` calls.
    pub reallocs: u64,
    /// `dealloc` calls plus `realloc` calls (each gives back its old block).
    pub frees: u64,
    /// Bytes requested: the sizes of allocs plus the new sizes of reallocs.
    pub bytes_allocated: u64,
    /// Bytes given back: the sizes of deallocs plus the old sizes of reallocs.
    pub bytes_freed: u64,
    /// The highest number of live bytes above the level at the start of the measurement
    /// (0 if it never rose above it).
    pub peak_bytes: u64,
}

impl AllocStats {
    /// Bytes the measured code left allocated: `bytes_allocated - bytes_freed`.
    ///
    /// Negative when it freed memory allocated before the measurement started.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let old = vec![0u8; 100];
    /// let (_, stats) = alloc_trace::measure(|| drop(old));
    /// assert_eq!(stats.net_bytes(), -100);
    /// ```
    #[must_use]
    pub const fn net_bytes(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }

    /// The counts without the peak.
    ///
    /// ```
    /// # #[global_allocator]
    /// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
    /// let (_, stats) = alloc_trace::measure(|| drop(std::hint::black_box(vec![1u8; 3])));
    /// assert_eq!(stats.counts().allocs, 1);
    /// assert_eq!(stats.counts().frees, 1);
    /// ```
    #[must_use]
    pub const fn counts(&self) -> AllocCounts {
        AllocCounts {
            allocs: self.allocs,
            reallocs: self.reallocs,
            frees: self.frees,
            bytes_allocated: self.bytes_allocated,
            bytes_freed: self.bytes_freed,
        }
    }
}

impl fmt::Display for AllocStats {
    /// `9 allocs (8 reallocs), 9 frees; 8.0 KiB allocated, 8.0 KiB freed, net 0 B, peak 4.0 KiB`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, peak {}",
            self.counts(),
            Bytes(self.peak_bytes as f64)
        )
    }
}

/// The counts of [`AllocStats`] without a peak: what [`process_stats`](crate::process_stats)
/// gives, and what a report gives for numbers added up over threads or periods, where a
/// peak of live bytes is not defined (the peaks of several threads cannot be added).
///
/// The words mean what they mean in [`AllocStats`].
///
/// ```
/// # #[global_allocator]
/// # static ALLOC: alloc_trace::CountingAlloc = alloc_trace::CountingAlloc::system();
/// let (_, report) = alloc_trace::capture(|| drop(std::hint::black_box(vec![0u8; 16])));
/// let outside: alloc_trace::AllocCounts = report.outside_tracked();
/// assert_eq!((outside.allocs, outside.frees, outside.net_bytes()), (1, 1, 0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct AllocCounts {
    /// Successful `alloc`, `alloc_zeroed` and `realloc` calls.
    pub allocs: u64,
    /// How many of [`allocs`](Self::allocs) were `realloc` calls.
    pub reallocs: u64,
    /// `dealloc` calls plus `realloc` calls (each gives back its old block).
    pub frees: u64,
    /// Bytes requested: the sizes of allocs plus the new sizes of reallocs.
    pub bytes_allocated: u64,
    /// Bytes given back: the sizes of deallocs plus the old sizes of reallocs.
    pub bytes_freed: u64,
}

impl AllocCounts {
    /// `bytes_allocated - bytes_freed`, as [`AllocStats::net_bytes`].
    ///
    /// ```
    /// let c = alloc_trace::AllocCounts { bytes_allocated: 10, bytes_freed: 25, ..Default::default() };
    /// assert_eq!(c.net_bytes(), -15);
    /// ```
    #[must_use]
    pub const fn net_bytes(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }

    /// These counts with a peak.
    ///
    /// ```
    /// let c = alloc_trace::AllocCounts { allocs: 1, bytes_allocated: 8, ..Default::default() };
    /// assert_eq!(c.with_peak(8).peak_bytes, 8);
    /// ```
    #[must_use]
    pub const fn with_peak(self, peak_bytes: u64) -> AllocStats {
        AllocStats {
            allocs: self.allocs,
            reallocs: self.reallocs,
            frees: self.frees,
            bytes_allocated: self.bytes_allocated,
            bytes_freed: self.bytes_freed,
            peak_bytes,
        }
    }
}

impl fmt::Display for AllocCounts {
    /// `9 allocs (8 reallocs), 9 frees; 8.0 KiB allocated, 8.0 KiB freed, net 0 B`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} allocs ({} reallocs), {} frees; {} allocated, {} freed, net {}",
            self.allocs,
            self.reallocs,
            self.frees,
            Bytes(self.bytes_allocated as f64),
            Bytes(self.bytes_freed as f64),
            SignedBytes(self.net_bytes()),
        )
    }
}

/// Monotonic per-thread totals, as the allocator counts them: `allocs` are `alloc` and
/// `alloc_zeroed` calls only, `deallocs` are `dealloc` calls only (reallocs are apart).
/// [`Totals::counts`] turns them into the public vocabulary. `live = bytes_allocated -
/// bytes_freed` is derived, never stored, so the hot path keeps one counter fewer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Totals {
    pub(crate) allocs: u64,
    pub(crate) reallocs: u64,
    pub(crate) deallocs: u64,
    pub(crate) bytes_allocated: u64,
    pub(crate) bytes_freed: u64,
}

impl Totals {
    pub(crate) const ZERO: Self = Self {
        allocs: 0,
        reallocs: 0,
        deallocs: 0,
        bytes_allocated: 0,
        bytes_freed: 0,
    };

    /// Requests for a block, in the public sense: allocs + reallocs.
    #[inline]
    pub(crate) const fn requests(&self) -> u64 {
        self.allocs.wrapping_add(self.reallocs)
    }

    #[inline]
    pub(crate) const fn minus(self, o: Self) -> Self {
        Self {
            allocs: self.allocs.wrapping_sub(o.allocs),
            reallocs: self.reallocs.wrapping_sub(o.reallocs),
            deallocs: self.deallocs.wrapping_sub(o.deallocs),
            bytes_allocated: self.bytes_allocated.wrapping_sub(o.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_sub(o.bytes_freed),
        }
    }

    #[inline]
    pub(crate) const fn plus(self, o: Self) -> Self {
        Self {
            allocs: self.allocs.wrapping_add(o.allocs),
            reallocs: self.reallocs.wrapping_add(o.reallocs),
            deallocs: self.deallocs.wrapping_add(o.deallocs),
            bytes_allocated: self.bytes_allocated.wrapping_add(o.bytes_allocated),
            bytes_freed: self.bytes_freed.wrapping_add(o.bytes_freed),
        }
    }

    /// In the public vocabulary (see [`AllocStats`]): a realloc is one of the `allocs` and
    /// one of the `frees`.
    pub(crate) const fn counts(self) -> AllocCounts {
        AllocCounts {
            allocs: self.allocs.wrapping_add(self.reallocs),
            reallocs: self.reallocs,
            frees: self.deallocs.wrapping_add(self.reallocs),
            bytes_allocated: self.bytes_allocated,
            bytes_freed: self.bytes_freed,
        }
    }

    pub(crate) const fn with_peak(self, peak_bytes: u64) -> AllocStats {
        self.counts().with_peak(peak_bytes)
    }
}

impl From<AllocCounts> for Totals {
    fn from(c: AllocCounts) -> Self {
        Self {
            allocs: c.allocs.wrapping_sub(c.reallocs),
            reallocs: c.reallocs,
            deallocs: c.frees.wrapping_sub(c.reallocs),
            bytes_allocated: c.bytes_allocated,
            bytes_freed: c.bytes_freed,
        }
    }
}

impl From<AllocStats> for Totals {
    fn from(s: AllocStats) -> Self {
        s.counts().into()
    }
}

/// A byte count in B, KiB, MiB or GiB. Honours width and alignment (`{:>9}`) and never
/// allocates, so tables can be printed while counting.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bytes(pub f64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        let mut buf = StackBuf::<32>::new();
        let mut value = self.0;
        if value.abs() < 1024.0 {
            // Whole bytes stay whole; a per-call mean keeps one decimal.
            if value.fract() == 0.0 {
                write!(buf, "{value:.0} B")?;
            } else {
                write!(buf, "{value:.1} B")?;
            }
        } else {
            let mut unit = UNITS[0];
            for next in UNITS {
                unit = next;
                value /= 1024.0;
                if value.abs() < 1024.0 {
                    break;
                }
            }
            write!(buf, "{value:.1} {unit}")?;
        }
        f.pad(buf.as_str())
    }
}

/// A signed byte count (net bytes kept), formatted like [`Bytes`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct SignedBytes(pub i64);

impl fmt::Display for SignedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = StackBuf::<40>::new();
        if self.0 < 0 {
            buf.write_str("-")?;
        }
        write!(buf, "{}", Bytes(self.0.unsigned_abs() as f64))?;
        f.pad(buf.as_str())
    }
}

/// A short string built on the stack, for formatting inside the allocator's reach.
pub(crate) struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    pub(crate) const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // `write_str` only ever appends whole `&str`s, so the bytes are valid UTF-8.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl<const N: usize> fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_bytes_is_allocated_minus_freed() {
        let s = AllocStats {
            bytes_allocated: 10,
            bytes_freed: 25,
            ..AllocStats::default()
        };
        assert_eq!(s.net_bytes(), -15);
    }

    #[test]
    fn bytes_are_humanised() {
        assert_eq!(Bytes(0.0).to_string(), "0 B");
        assert_eq!(Bytes(1023.0).to_string(), "1023 B");
        assert_eq!(Bytes(12.5).to_string(), "12.5 B");
        assert_eq!(Bytes(1024.0).to_string(), "1.0 KiB");
        assert_eq!(Bytes(1536.0).to_string(), "1.5 KiB");
        assert_eq!(Bytes(3.0 * 1024.0 * 1024.0).to_string(), "3.0 MiB");
        assert_eq!(Bytes(5.0 * 1024.0 * 1024.0 * 1024.0).to_string(), "5.0 GiB");
        assert_eq!(SignedBytes(-2048).to_string(), "-2.0 KiB");
        assert_eq!(format!("[{:>8}]", Bytes(4096.0)), "[ 4.0 KiB]");
    }

    #[test]
    fn display_names_every_field() {
        let s = AllocStats {
            allocs: 9,
            reallocs: 8,
            frees: 9,
            bytes_allocated: 8188,
            bytes_freed: 8188,
            peak_bytes: 4096,
        };
        assert_eq!(
            s.to_string(),
            "9 allocs (8 reallocs), 9 frees; 8.0 KiB allocated, 8.0 KiB freed, net 0 B, peak 4.0 KiB"
        );
    }
}
