//! The ownership numbers of a process-wide report's rows (feature `ownership`), from what
//! `ownership::read` gathered by path id: per call path as gathered, per function summed
//! over the paths that end at it (exclusive) or pass through it (inclusive, once per
//! path), like the rate columns.

use crate::holding::Held as Raw;
use crate::ownership::Read;
use crate::paths;
use crate::report::{Held, Live, Ownership, SiteOwnership};
use crate::stats::Totals;
use crate::sys::SysVec;

/// A path's raw holdings, by id (zero if none).
fn raw(list: &SysVec<Raw>, id: u32) -> Raw {
    list.as_slice()
        .get(id as usize)
        .copied()
        .unwrap_or_default()
}

/// Signed wrapping sums as the counts a report shows (a sum read while threads ran can
/// dip below 0: shown as 0).
fn live(r: Raw) -> Live {
    Live {
        blocks: (r.blocks as i64).max(0) as u64,
        bytes: (r.bytes as i64).max(0) as u64,
    }
}

/// What path `id` holds.
pub(crate) fn path(read: &Read, id: u32) -> Held {
    Held {
        live: live(raw(&read.now, id)),
        at_peak: live(raw(&read.at_peak, id)),
    }
}

/// Whether path `id` holds anything now or held anything at the peak.
fn holds(read: &Read, id: u32) -> bool {
    raw(&read.now, id) != Raw::default() || raw(&read.at_peak, id) != Raw::default()
}

/// Adds to `shown` (the report's paths, with their exclusive numbers) every path that
/// holds something and is not there yet (a frame still running has booked nothing).
pub(crate) fn add_holding_paths(read: &Read, shown: &mut Vec<(u32, Totals)>) {
    let len = read.now.len().max(read.at_peak.len());
    let mut listed: SysVec<bool> = SysVec::new();
    let _ = listed.resize(len, false);
    for &(id, _) in shown.iter() {
        if let Some(l) = listed.as_mut_slice().get_mut(id as usize) {
            *l = true;
        }
    }
    for id in 0..len as u32 {
        if id != paths::ROOT && !listed.as_slice()[id as usize] && holds(read, id) {
            shown.push((id, Totals::ZERO));
        }
    }
}

/// Every site's numbers, by site id (`len` ids).
pub(crate) fn sites(read: &Read, len: usize) -> Vec<SiteOwnership> {
    let mut sites = vec![SiteOwnership::default(); len];
    let mut stamp: Vec<u32> = vec![0; len];
    let paths_len = read.now.len().max(read.at_peak.len());
    let add = |to: &mut Live, from: Live| {
        to.blocks += from.blocks;
        to.bytes += from.bytes;
    };
    for id in 0..paths_len as u32 {
        if id == paths::ROOT || !holds(read, id) {
            continue;
        }
        let held = path(read, id);
        let max = (raw(&read.now, id).max_bytes as i64).max(0) as u64;
        let mut cursor = id;
        let mut innermost = true;
        while let Some((parent, site_id, _)) = paths::parent_and_site(cursor) {
            let s = site_id as usize;
            if s < len {
                let site = &mut sites[s];
                if innermost {
                    add(&mut site.exclusive.live, held.live);
                    add(&mut site.exclusive.at_peak, held.at_peak);
                    site.max_live_bytes = site.max_live_bytes.max(max);
                }
                // Once per path, also when recursion puts the site on it several times.
                if stamp[s] != id {
                    stamp[s] = id;
                    add(&mut site.inclusive.live, held.live);
                    add(&mut site.inclusive.at_peak, held.at_peak);
                }
            }
            innermost = false;
            cursor = parent;
        }
    }
    sites
}

/// The process-wide numbers; `totals` are the report's (read with the view).
pub(crate) fn process(read: &Read, totals: Totals) -> Ownership {
    Ownership {
        live: Live {
            blocks: totals.allocs.saturating_sub(totals.deallocs),
            bytes: totals.bytes_allocated.saturating_sub(totals.bytes_freed),
        },
        peak: Live {
            blocks: read.peak_blocks,
            bytes: read.peak_bytes,
        },
        peak_request: read.peak_request,
        outside: path(read, paths::ROOT),
        exact: !read.peak_hidden && !read.peak_torn && read.lost == 0,
        stale_requests: read.stale,
        torn_peaks: read.torn,
        lost_updates: read.lost,
    }
}
