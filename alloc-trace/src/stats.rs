//! `AllocStats`: what a piece of code asked of the allocator.

use core::fmt::{self, Write as _};

/// What a measured piece of code asked of the allocator, on one thread.
///
/// The definitions agree with dhat's: `allocs + reallocs` is dhat's `total_blocks`,
/// `bytes_allocated` its `total_bytes` and `peak_bytes` its `max_bytes`.
///
/// *Allocation rate* is `allocs`, `reallocs` and `bytes_allocated` (how often the code asks
/// for memory); *residency* is [`net_bytes`](Self::net_bytes) and `peak_bytes` (how much it
/// holds).
///
/// ```
/// # use alloc_trace::{AllocStats, CountingAlloc};
/// # #[global_allocator]
/// # static ALLOC: CountingAlloc = CountingAlloc::system();
/// let (_, stats) = alloc_trace::measure(|| std::hint::black_box(Box::new(7u64)));
/// assert_eq!(stats.allocs, 1);
/// assert_eq!(stats.bytes_allocated, 8);
/// assert_eq!(stats.net_bytes(), 8); // the box outlives the closure: kept
/// assert_eq!(stats.peak_bytes, 8);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct AllocStats {
    /// Successful `alloc` and `alloc_zeroed` calls.
    pub allocs: u64,
    /// Successful `realloc` calls (a growing `Vec` or `String` makes these).
    pub reallocs: u64,
    /// `dealloc` calls.
    pub deallocs: u64,
    /// Bytes requested: the sizes of allocs plus the new sizes of reallocs.
    pub bytes_allocated: u64,
    /// Bytes given back: the sizes of deallocs plus the old sizes of reallocs.
    pub bytes_freed: u64,
    /// The highest number of live bytes above the level at the start of the measurement
    /// (0 if it never rose above it).
    pub peak_bytes: u64,
}

impl AllocStats {
    /// Bytes the measured code kept: `bytes_allocated - bytes_freed`.
    ///
    /// Negative when it freed memory allocated before the measurement started.
    #[must_use]
    pub const fn net_bytes(&self) -> i64 {
        self.bytes_allocated.wrapping_sub(self.bytes_freed) as i64
    }

    /// Every request for fresh memory: `allocs + reallocs`.
    ///
    /// This is the number Go's `allocs/op` and dhat's `total_blocks` report, and the one
    /// [`allocs_per_run`](crate::allocs_per_run) and allocation budgets use.
    #[must_use]
    pub const fn total_allocs(&self) -> u64 {
        self.allocs.wrapping_add(self.reallocs)
    }

    /// True when the code neither allocated nor reallocated.
    #[must_use]
    pub const fn is_alloc_free(&self) -> bool {
        self.total_allocs() == 0
    }
}

impl fmt::Display for AllocStats {
    /// `3 allocs, 8 reallocs, 11 deallocs; 4.1 KiB allocated, 4.1 KiB freed, 0 B kept, peak 4.0 KiB`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} allocs, {} reallocs, {} deallocs; {} allocated, {} freed, {} kept, peak {}",
            self.allocs,
            self.reallocs,
            self.deallocs,
            Bytes(self.bytes_allocated as f64),
            Bytes(self.bytes_freed as f64),
            SignedBytes(self.net_bytes()),
            Bytes(self.peak_bytes as f64),
        )
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
            allocs: 1,
            reallocs: 8,
            deallocs: 1,
            bytes_allocated: 8188,
            bytes_freed: 8188,
            peak_bytes: 4096,
        };
        assert_eq!(
            s.to_string(),
            "1 allocs, 8 reallocs, 1 deallocs; 8.0 KiB allocated, 8.0 KiB freed, 0 B kept, peak 4.0 KiB"
        );
    }
}
