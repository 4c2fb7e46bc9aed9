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

    /// Characters the number prints (see [`Num::push_right`]).
    pub(super) fn len(&self) -> usize {
        let digits = self.int.checked_ilog10().map_or(1, |l| l as usize + 1);
        let frac = if self.frac_digits > 0 {
            1 + usize::from(self.frac_digits)
        } else {
            0
        };
        usize::from(self.negative) + digits + frac + self.suffix.len()
    }

    /// Appends the number (its sign, digits, decimals and unit) right-aligned in `width`
    /// columns to `line`. PERF: the padding, the digits and the suffix are written in
    /// place in the line's buffer: a table writes 100,000 numbers, and three small writes
    /// each (with their copies) were a fifth of formatting it.
    pub(super) fn push_right(
        &self,
        line: &mut Line<'_, impl fmt::Write>,
        width: usize,
    ) -> fmt::Result {
        let len = self.len();
        let pad = width.saturating_sub(len);
        let Some(room) = line.room(pad + len)? else {
            // Wider than a line's buffer: the padding, then the number.
            line.push_spaces(pad)?;
            // u64::MAX has 20 digits; a sign, a point and 2 decimals make 24.
            let mut digits = [0u8; 24];
            let at = self.digits_before(&mut digits, 24);
            for &c in &digits[at..] {
                line.push_ascii(c)?;
            }
            return line.push_str(self.suffix);
        };
        let suffix = self.suffix.as_bytes();
        let at = room.len() - suffix.len();
        // `room[..pad]` is spaces already (see `Line::buf`).
        // PERF: byte by byte: a suffix is at most 4 bytes, and `copy_from_slice` of a
        // length the compiler does not know is a call to `memcpy`.
        for (to, &from) in room[at..].iter_mut().zip(suffix) {
            *to = from;
        }
        self.digits_before(room, at);
        Ok(())
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

    /// Appends the cell right-aligned in `width` columns to `line`.
    pub(super) fn push_right(
        &self,
        line: &mut Line<'_, impl fmt::Write>,
        width: usize,
    ) -> fmt::Result {
        let text = match self {
            Cell::Num(n) => return n.push_right(line, width),
            Cell::Blank => "",
            Cell::Text(s) => s,
        };
        line.push_spaces(width.saturating_sub(self.len()))?;
        line.push_str(text)
    }

    /// Writes the cell right-aligned in `width` columns.
    pub(super) fn write_right(&self, out: &mut impl fmt::Write, width: usize) -> fmt::Result {
        let mut line = Line::new(out);
        self.push_right(&mut line, width)?;
        line.flush()
    }
}

/// Bytes a [`Line`] holds before it writes them.
const LINE_CAP: usize = 512;

/// A line of text put together on the stack before it is written to `out`: the bytes
/// of whole `str`s and of ASCII characters, so always valid UTF-8. PERF: a table row is
/// a dozen cells, each padded, written and separated; put together here, the row is
/// checked as UTF-8 and written once (one `write_str`, one check of the whole line),
/// instead of a check and two writes per cell. It never allocates: printing a report
/// allocates nothing.
pub(super) struct Line<'w, W: fmt::Write> {
    out: &'w mut W,
    /// The line's bytes, `buf[..len]`, and spaces after them. PERF: so that padding costs
    /// nothing but moving `len` (a `memset` call per cell, before).
    buf: [u8; LINE_CAP],
    len: usize,
}

impl<'w, W: fmt::Write> Line<'w, W> {
    pub(super) fn new(out: &'w mut W) -> Self {
        Self {
            out,
            buf: [b' '; LINE_CAP],
            len: 0,
        }
    }

    /// The next `n` bytes of the buffer, spaces, to be written now (what it held is
    /// written out first if they do not fit); `None` if `n` is more than the buffer holds.
    #[inline]
    fn room(&mut self, n: usize) -> Result<Option<&mut [u8]>, fmt::Error> {
        if self.len + n > LINE_CAP {
            self.flush()?;
        }
        if n > LINE_CAP {
            return Ok(None);
        }
        let at = self.len;
        self.len += n;
        Ok(Some(&mut self.buf[at..at + n]))
    }

    pub(super) fn push_str(&mut self, s: &str) -> fmt::Result {
        match self.room(s.len())? {
            Some(room) => room.copy_from_slice(s.as_bytes()),
            None => self.out.write_str(s)?,
        }
        Ok(())
    }

    pub(super) fn push_ascii(&mut self, c: u8) -> fmt::Result {
        debug_assert!(c.is_ascii());
        if let Some(room) = self.room(1)? {
            room[0] = c;
        }
        Ok(())
    }

    pub(super) fn push_spaces(&mut self, mut n: usize) -> fmt::Result {
        while n > 0 {
            let chunk = n.min(LINE_CAP);
            // Spaces already (see `buf`): taking the room is enough.
            let _ = self.room(chunk)?;
            n -= chunk;
        }
        Ok(())
    }

    /// Writes out what the line holds.
    pub(super) fn flush(&mut self) -> fmt::Result {
        // Never an error (see the type's docs): checked rather than assumed, so that no
        // `unsafe` is needed, and a bug would be a formatting error, not a bad `str`.
        let text = core::str::from_utf8(&self.buf[..self.len]).map_err(|_| fmt::Error)?;
        self.out.write_str(text)?;
        self.buf[..self.len].fill(b' ');
        self.len = 0;
        Ok(())
    }
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

    /// A number written in place in the line's buffer and one wider than the buffer
    /// print the same as `format!`'s padding of the digits and suffix.
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
            for width in [0, 1, 5, 12, 40, 63, 64, 65, 100, 511, 512, 513, 1200] {
                let mut fast = String::new();
                Cell::Num(n).write_right(&mut fast, width).unwrap();
                let mut digits = [0u8; 24];
                let at = n.digits_before(&mut digits, 24);
                let plain = format!(
                    "{:>width$}",
                    format!(
                        "{}{}",
                        core::str::from_utf8(&digits[at..]).unwrap(),
                        n.suffix
                    )
                );
                assert_eq!(fast, plain, "{n:?} in {width}");
                assert_eq!(fast.len(), width.max(n.len()), "{n:?} in {width}");
            }
        }
    }

    /// A line that outgrows its buffer writes what it held and goes on: the text is the
    /// same as written piece by piece, for pieces that fit, straddle or exceed it.
    #[test]
    fn a_line_longer_than_its_buffer() {
        let long = "é".repeat(LINE_CAP); // 2 bytes a character: twice the buffer
        let pieces = [
            "ab",
            long.as_str(),
            "c",
            &long[..LINE_CAP - 2],
            "dé",
            "",
            "x",
        ];
        let mut got = String::new();
        let mut line = Line::new(&mut got);
        let mut want = String::new();
        for round in 0..40 {
            for p in pieces {
                line.push_str(p).unwrap();
                want.push_str(p);
            }
            line.push_spaces(round * 37).unwrap();
            want.push_str(&" ".repeat(round * 37));
            line.push_ascii(b'|').unwrap();
            want.push('|');
        }
        line.flush().unwrap();
        assert_eq!(got, want);
    }
}
