//! Numbers as the Markdown tables show them: medians and spreads of rounds, signed and
//! rounded, and a goal's row with its verdict.

use std::fmt::Write as _;

pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

/// Median, min and max of `values`.
pub(crate) fn spread(mut values: Vec<f64>) -> Option<(f64, f64, f64)> {
    let m = median(&mut values)?;
    Some((m, values[0], values[values.len() - 1]))
}

pub(crate) fn show_spread(v: Option<(f64, f64, f64)>, decimals: usize, rounds: usize) -> String {
    match v {
        None => "n/a".to_owned(),
        Some((m, lo, hi)) if rounds > 1 => {
            format!("{m:.decimals$} ({lo:.decimals$}–{hi:.decimals$})")
        }
        Some((m, _, _)) => format!("{m:.decimals$}"),
    }
}

pub(crate) fn show(v: Option<f64>, decimals: usize, sign: bool) -> String {
    match v {
        None => "n/a".to_owned(),
        Some(x) if sign => format!("{x:+.decimals$}"),
        Some(x) => format!("{x:.decimals$}"),
    }
}

/// `| goal | measured | met / missed / not measured |`.
pub(crate) fn goal_row(w: &mut String, goal: &str, measured: String, ok: Option<bool>) {
    let verdict = match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    };
    let _ = writeln!(w, "| {goal} | {measured} | {verdict} |");
}
