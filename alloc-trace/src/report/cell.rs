//! The numbers of the table as exact integer arithmetic: humanised bytes, per-call means
//! and shares, rounded half to even like `{:.1}`, with their printed width known before
//! they are written.
//!
//! PERF: a 10,000-row table has 100,000 numbers, each measured (for the column widths)
//! and written. Float formatting would cost about as much as everything else together;
//! integer division and a digit loop into a stack buffer cost a few nanoseconds, and the
//! width is arithmetic, not a second formatting pass. Nothing allocates.

use core::fmt;

/// One cell of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cell<'s> {
    Blank,
    Text(&'s str),
    Num(Num),
}

/// A decimal number with an optional fixed number of decimals and a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Num {
    negative: bool,
    int: u64,
    frac: u64,
    frac_digits: u8,
    suffix: &'static str,
}

const UNITS: [&str; 4] = [" KiB", " MiB", " GiB", " TiB"];

/// `(n / d, n % d)`. PERF: 64-bit division when both fit (they nearly always do), which
/// is several times faster than the 128-bit one.
fn div_rem(n: u128, d: u128) -> (u128, u128) {
    match (u64::try_from(n), u64::try_from(d)) {
        (Ok(n), Ok(d)) => ((n / d).into(), (n % d).into()),
        _ => (n / d, n % d),
    }
}

/// `round(n / d)`, half to even (as `{:.N}` formatting rounds exact values).
fn round_div(n: u128, d: u128) -> u128 {
    let (q, r) = div_rem(n, d);
    match (2 * r).cmp(&d) {
        core::cmp::Ordering::Greater => q + 1,
        core::cmp::Ordering::Equal if q % 2 == 1 => q + 1,
        _ => q,
    }
}

fn saturate(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

impl Num {
    const fn whole(int: u64, suffix: &'static str) -> Self {
        Self {
            negative: false,
            int,
            frac: 0,
            frac_digits: 0,
            suffix,
        }
    }

    /// `t / 10^digits`, shown with `digits` decimals.
    fn tenths(t: u128, digits: u8, suffix: &'static str) -> Self {
        let (int, frac) = div_rem(t, 10u128.pow(u32::from(digits)));
        Self {
            negative: false,
            int: saturate(int),
            frac: saturate(frac),
            frac_digits: digits,
            suffix,
        }
    }

    pub(super) const fn count(n: u64) -> Self {
        Self::whole(n, "")
    }

    /// `n / d` bytes as the crate's `Bytes` shows a byte count: below 1 KiB whole bytes
    /// stay whole and fractions keep one decimal; above, one decimal of the largest unit
    /// (up to TiB) that keeps the number under 1024. `d == 0` counts as 0.
    pub(super) fn bytes(n: u128, d: u128) -> Self {
        if d == 0 || n == 0 {
            return Self::whole(0, " B");
        }
        if n < 1024 * d {
            let (whole, rest) = div_rem(n, d);
            return if rest == 0 {
                Self::whole(saturate(whole), " B")
            } else {
                Self::tenths(round_div(n * 10, d), 1, " B")
            };
        }
        let mut scale = d;
        let mut unit = UNITS[0];
        for next in UNITS {
            scale *= 1024;
            unit = next;
            if n < 1024 * scale {
                break;
            }
        }
        Self::tenths(round_div(n * 10, scale), 1, unit)
    }

    /// A signed byte count (bytes kept) divided by `d`, shown like [`Num::bytes`].
    pub(super) fn signed_bytes(n: i128, d: u128) -> Self {
        let mut num = Self::bytes(n.unsigned_abs(), d);
        num.negative = n < 0 && num != Self::whole(0, " B");
        num
    }

    /// The mean `n / d`: whole numbers stay whole, others keep two decimals, and a mean
    /// too small to show is `<0.01` rather than a misleading `0.00`. `d == 0` counts as 0.
    pub(super) fn per_call(n: u64, d: u64) -> Cell<'static> {
        if d == 0 || n % d == 0 {
            return Cell::Num(Self::count(n.checked_div(d).unwrap_or(0)));
        }
        match round_div(u128::from(n) * 100, u128::from(d)) {
            0 => Cell::Text("<0.01"),
            t => Cell::Num(Self::tenths(t, 2, "")),
        }
    }

    /// `part / whole` in percent with one decimal; `-` when `whole` is 0.
    pub(super) fn percent(part: u64, whole: u64) -> Cell<'static> {
        if whole == 0 {
            return Cell::Text("-");
        }
        Cell::Num(Self::tenths(
            round_div(u128::from(part) * 1000, u128::from(whole)),
            1,
            "%",
        ))
    }

    /// Characters [`Num::write`] prints.
    pub(super) fn len(&self) -> usize {
        let digits = self.int.checked_ilog10().map_or(1, |l| l as usize + 1);
        let frac = if self.frac_digits > 0 {
            1 + usize::from(self.frac_digits)
        } else {
            0
        };
        usize::from(self.negative) + digits + frac + self.suffix.len()
    }

    /// [`Num::write`] right-aligned in `width` columns. PERF: the padding, the digits and
    /// the suffix are put together on the stack and written at once: a table writes
    /// 100,000 numbers, and three small writes each (with their copies) were a fifth of
    /// formatting it.
    pub(super) fn write_right(&self, out: &mut impl fmt::Write, width: usize) -> fmt::Result {
        const CAP: usize = 64;
        let len = self.len();
        let pad = width.saturating_sub(len);
        let end = pad + len;
        if end > CAP {
            write_spaces(out, pad)?;
            return self.write(out);
        }
        let mut buf = [b' '; CAP];
        let suffix = self.suffix.as_bytes();
        let at = end - suffix.len();
        buf[at..end].copy_from_slice(suffix);
        self.digits_before(&mut buf, at);
        // Spaces, ASCII digits, '.', '-' and the suffix (a `str`): valid UTF-8.
        out.write_str(core::str::from_utf8(&buf[..end]).map_err(|_| fmt::Error)?)
    }

    pub(super) fn write(&self, out: &mut impl fmt::Write) -> fmt::Result {
        // u64::MAX has 20 digits; a sign, a point and 2 decimals make 24.
        let mut buf = [0u8; 24];
        let at = self.digits_before(&mut buf, 24);
        // Only ASCII digits, '.' and '-' were written.
        out.write_str(core::str::from_utf8(&buf[at..]).map_err(|_| fmt::Error)?)?;
        out.write_str(self.suffix)
    }

    /// Writes the number without its suffix into `buf`, ending just before `end`; returns
    /// where it starts. `buf[..end]` has room for it (see [`Num::len`]).
    #[inline(always)]
    fn digits_before(&self, buf: &mut [u8], end: usize) -> usize {
        let mut at = end;
        let mut push = |digit: u8| {
            at -= 1;
            buf[at] = digit;
        };
        let mut frac = self.frac;
        for _ in 0..self.frac_digits {
            push(b'0' + (frac % 10) as u8);
            frac /= 10;
        }
        if self.frac_digits > 0 {
            push(b'.');
        }
        let mut int = self.int;
        loop {
            push(b'0' + (int % 10) as u8);
            int /= 10;
            if int == 0 {
                break;
            }
        }
        if self.negative {
            push(b'-');
        }
        at
    }
}

impl Cell<'_> {
    /// Characters the cell prints (its text is ASCII).
    pub(super) fn len(&self) -> usize {
        match self {
            Cell::Blank => 0,
            Cell::Text(s) => s.chars().count(),
            Cell::Num(n) => n.len(),
        }
    }

    /// Writes the cell right-aligned in `width` columns.
    pub(super) fn write_right(&self, out: &mut impl fmt::Write, width: usize) -> fmt::Result {
        if let Cell::Num(n) = self {
            return n.write_right(out, width);
        }
        write_spaces(out, width.saturating_sub(self.len()))?;
        match self {
            Cell::Blank => Ok(()),
            Cell::Text(s) => out.write_str(s),
            Cell::Num(n) => n.write(out),
        }
    }
}

pub(super) fn write_spaces(out: &mut impl fmt::Write, mut n: usize) -> fmt::Result {
    const SPACES: &str = "                                ";
    while n > 0 {
        let chunk = n.min(SPACES.len());
        out.write_str(&SPACES[..chunk])?;
        n -= chunk;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Bytes;

    fn text(cell: Cell<'_>) -> String {
        let mut s = String::new();
        cell.write_right(&mut s, 0).unwrap();
        assert_eq!(s.len(), cell.len(), "{s:?}");
        s
    }

    fn bytes(n: u64, d: u64) -> String {
        text(Cell::Num(Num::bytes(n.into(), d.into())))
    }

    #[test]
    fn bytes_match_the_float_formatting_of_bytes() {
        // Whole byte counts, including exact ties (1280 B = 1.25 KiB -> 1.2, half to even).
        let mut n = 0u64;
        while n < (1 << 42) {
            assert_eq!(bytes(n, 1), Bytes(n as f64).to_string(), "{n}");
            n = n * 9 / 8 + 1;
        }
        for n in [
            1023,
            1024,
            1280,
            1536,
            1_048_575,
            1_048_576,
            32_000_000,
            67_108_800,
            5 << 30,
            3 << 40,
        ] {
            assert_eq!(bytes(n, 1), Bytes(n as f64).to_string(), "{n}");
        }
        // Means whose float value is exact.
        assert_eq!(bytes(32_760, 100), "327.6 B");
        assert_eq!(bytes(25, 2), Bytes(12.5).to_string());
        assert_eq!(bytes(3 * 1024 + 512, 2), "1.8 KiB"); // 1.75 KiB: half to even
        assert_eq!(bytes(10, 0), "0 B");
    }

    #[test]
    fn signed_bytes() {
        assert_eq!(text(Cell::Num(Num::signed_bytes(-3000, 1))), "-2.9 KiB");
        assert_eq!(text(Cell::Num(Num::signed_bytes(-64, 1))), "-64 B");
        assert_eq!(text(Cell::Num(Num::signed_bytes(0, 1))), "0 B");
        assert_eq!(text(Cell::Num(Num::signed_bytes(1, 1000))), "0.0 B");
    }

    #[test]
    fn per_call_means_and_percentages() {
        assert_eq!(text(Num::per_call(2011 * 100, 100)), "2011");
        assert_eq!(text(Num::per_call(12, 100)), "0.12");
        assert_eq!(text(Num::per_call(3, 2)), "1.50");
        assert_eq!(text(Num::per_call(1, 1000)), "<0.01");
        assert_eq!(text(Num::per_call(5, 1000)), "<0.01"); // 0.005: half to even gives 0.00
        assert_eq!(text(Num::per_call(7, 0)), "0");
        assert_eq!(text(Num::percent(10, 34)), "29.4%");
        assert_eq!(text(Num::percent(34, 34)), "100.0%");
        assert_eq!(text(Num::percent(0, 34)), "0.0%");
        assert_eq!(text(Num::percent(1, 0)), "-");
        assert_eq!(text(Cell::Num(Num::count(u64::MAX))), u64::MAX.to_string());
    }

    #[test]
    fn right_alignment() {
        let mut s = String::new();
        Cell::Num(Num::count(42)).write_right(&mut s, 6).unwrap();
        Cell::Text("x").write_right(&mut s, 40).unwrap();
        assert_eq!(s, format!("    42{:>40}", "x"));
    }

    /// The one-buffer path (padding, digits and suffix within 64 bytes) and the path for
    /// wider columns print the same as padding then [`Num::write`].
    #[test]
    fn right_alignment_in_one_write_and_beyond_it() {
        let nums = [
            Num::count(0),
            Num::count(u64::MAX),
            Num::bytes(1_536, 1),
            Num::signed_bytes(-2_500_000, 3),
            Num::tenths(123_456, 2, ""),
        ];
        for n in nums {
            for width in [0, 1, 5, 12, 40, 63, 64, 65, 100] {
                let mut fast = String::new();
                n.write_right(&mut fast, width).unwrap();
                let mut plain = String::new();
                write_spaces(&mut plain, width.saturating_sub(n.len())).unwrap();
                n.write(&mut plain).unwrap();
                assert_eq!(fast, plain, "{n:?} in {width}");
                assert_eq!(fast.len(), width.max(n.len()), "{n:?} in {width}");
            }
        }
    }
}
