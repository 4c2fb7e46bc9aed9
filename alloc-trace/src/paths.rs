//! Call paths: which chain of tracked functions led to an allocation
//! (`main;handle;parse`), interned in a fixed, lock-free, process-wide table.
//!
//! A path is a `(parent path, site)` pair with a small integer id; id 0 is the root (no
//! tracked frame). Interning never allocates. Two limits keep it bounded, both documented
//! on [`Report::folded`](crate::Report::folded):
//! - paths deeper than [`MAX_DEPTH`] frames are cut: deeper frames are counted at the
//!   deepest path kept (deep recursion collapses into one line);
//! - once [`CAPACITY`] distinct paths exist, new ones are counted under [`OVERFLOW`].

use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

/// Distinct call paths kept.
pub(crate) const CAPACITY: usize = 1 << 14;
/// Frames kept in one path.
pub(crate) const MAX_DEPTH: u8 = 64;
/// The root: no tracked frame active.
pub(crate) const ROOT: u32 = 0;
/// Where paths go once the table is full.
pub(crate) const OVERFLOW: u32 = CAPACITY as u32 + 1;
/// Length a per-thread path table needs to index every id.
pub(crate) const ID_LIMIT: usize = CAPACITY + 2;

/// The hash table: `parent << 32 | site` per entry; 0 means free (site ids start at 1).
static KEYS: [AtomicU64; CAPACITY] = [const { AtomicU64::new(0) }; CAPACITY];
/// The id given to the key in the same entry of `KEYS` (0: being assigned).
static IDS: [AtomicU32; CAPACITY] = [const { AtomicU32::new(0) }; CAPACITY];
/// By id (minus one): the key and the depth of the path.
static BY_ID: [AtomicU64; CAPACITY] = [const { AtomicU64::new(0) }; CAPACITY];
static DEPTHS: [AtomicU8; CAPACITY] = [const { AtomicU8::new(0) }; CAPACITY];
/// The next id to hand out. Ids are dense (1, 2, 3, ...) rather than hash positions, so
/// a thread's path table (indexed by id, see `frame::grow_paths`) stays as small as the
/// number of paths the program uses, not the size of this table.
static NEXT_ID: AtomicU32 = AtomicU32::new(1);

fn depth(path: u32) -> u8 {
    match path {
        ROOT => 0,
        OVERFLOW => MAX_DEPTH,
        id => DEPTHS[id as usize - 1].load(Ordering::Acquire),
    }
}

/// The id of `site` called under `parent`.
#[cold]
#[inline(never)]
pub(crate) fn intern(parent: u32, site: u32) -> u32 {
    if parent == OVERFLOW {
        return OVERFLOW;
    }
    let parent_depth = depth(parent);
    if parent_depth >= MAX_DEPTH {
        return parent;
    }
    let key = (u64::from(parent) << 32) | u64::from(site);
    // Fibonacci hashing spreads sequential ids over the table.
    let start = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 50) as usize;
    for probe in 0..CAPACITY {
        let index = (start + probe) % CAPACITY;
        let entry = &KEYS[index];
        let mut current = entry.load(Ordering::Acquire);
        if current == 0 {
            match entry.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    // Each entry is claimed once, so at most CAPACITY ids are handed out.
                    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                    BY_ID[id as usize - 1].store(key, Ordering::Release);
                    DEPTHS[id as usize - 1].store(parent_depth + 1, Ordering::Release);
                    IDS[index].store(id, Ordering::Release);
                    return id;
                }
                Err(winner) => current = winner,
            }
        }
        if current == key {
            return wait_for_id(index);
        }
    }
    OVERFLOW
}

/// The id of an entry another thread has just claimed: it is published right after the
/// claim (a few instructions), so this waits only if that thread was preempted there.
fn wait_for_id(index: usize) -> u32 {
    loop {
        match IDS[index].load(Ordering::Acquire) {
            0 => std::thread::yield_now(),
            id => return id,
        }
    }
}

/// `(parent, site)` of an interned path; `None` for the root and the overflow path.
pub(crate) fn parent_and_site(path: u32) -> Option<(u32, u32)> {
    if path == ROOT || path == OVERFLOW {
        return None;
    }
    let key = BY_ID[path as usize - 1].load(Ordering::Acquire);
    (key != 0).then_some(((key >> 32) as u32, key as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_decodable() {
        let a = intern(ROOT, 90_001);
        let b = intern(a, 90_002);
        assert_eq!(intern(ROOT, 90_001), a);
        assert_eq!(intern(a, 90_002), b);
        assert_ne!(a, b);
        assert_eq!(parent_and_site(b), Some((a, 90_002)));
        assert_eq!(parent_and_site(a), Some((ROOT, 90_001)));
        assert_eq!(depth(b), 2);
    }

    #[test]
    fn ids_are_dense() {
        // A new path gets the next free id (other tests may intern meanwhile), not a
        // position anywhere in the table: per-thread tables indexed by id stay small.
        let before = NEXT_ID.load(Ordering::Relaxed);
        let a = intern(ROOT, 90_201);
        let after = NEXT_ID.load(Ordering::Relaxed);
        assert!((before..after).contains(&a), "{a} not in {before}..{after}");
        assert_eq!(intern(ROOT, 90_201), a);
    }

    #[test]
    fn deep_paths_collapse_at_max_depth() {
        let mut path = ROOT;
        for _ in 0..u32::from(MAX_DEPTH) + 10 {
            path = intern(path, 90_100);
        }
        assert_eq!(depth(path), MAX_DEPTH);
        assert_eq!(intern(path, 90_100), path);
    }
}
