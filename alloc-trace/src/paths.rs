//! Call paths: which chain of tracked functions led to an allocation
//! (`main;handle;parse`), interned process-wide as `(parent path, site)` pairs with dense
//! ids, so every thread and every report agrees on what an id means.
//!
//! Lookups never lock: they probe the current hash table, which is replaced (never freed)
//! when it grows. Inserting a new path takes a lock, and happens once per path in the
//! program's life; a thread's own caches (see `record`) make most lookups not reach this
//! table at all. There is no cliff: a lookup costs the same with 10 paths or 10 million.
//!
//! Bounds, documented on [`Report::folded`](crate::Report::folded):
//! - a path deeper than [`MAX_DEPTH`] frames keeps its outermost `MAX_DEPTH - 1` frames
//!   and its innermost one, so a deep frame's allocations still count for its own
//!   function;
//! - past [`CAPACITY`] paths (or if a signal handler needs a new path while its own thread
//!   is inserting one), a frame's path is [`OVERFLOW`].

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use crate::abi::off_path_fn;
use crate::lock::RawLock;
use crate::sys;

/// The root: no tracked frame active.
pub(crate) const ROOT: u32 = 0;
/// Where frames go whose path could not be interned.
pub(crate) const OVERFLOW: u32 = 1;
/// Frames kept in one path.
pub(crate) const MAX_DEPTH: u32 = 128;
/// Distinct paths kept.
pub(crate) const CAPACITY: u32 = 1 << 24;

/// In a key, marks a path whose middle was cut (see the module docs).
const CUT: u64 = 1 << 31;

/// One interned path, by id.
struct Info {
    /// `parent << 32 | site` (`| CUT`); 0 while not yet written.
    key: AtomicU64,
    depth: AtomicU32,
}

const CHUNK: usize = 1 << 12;
const CHUNKS: usize = CAPACITY as usize / CHUNK;

type InfoChunk = [Info; CHUNK];

static INFO: [AtomicPtr<InfoChunk>; CHUNKS] = [const { AtomicPtr::new(ptr::null_mut()) }; CHUNKS];

/// The next id to hand out (0 and 1 are the root and the overflow path).
static NEXT_ID: AtomicU32 = AtomicU32::new(2);

/// An open-addressing table of keys to ids, at most half full.
struct Table {
    mask: usize,
    /// `64 - log2(capacity)`: a key's start slot is the top bits of its hash.
    shift: u32,
    keys: NonNull<AtomicU64>,
    ids: NonNull<AtomicU32>,
}

static TABLE: AtomicPtr<Table> = AtomicPtr::new(ptr::null_mut());
static INSERT: RawLock = RawLock::new();

fn info(id: u32) -> Option<&'static Info> {
    let id = id as usize;
    let chunk = INFO.get(id / CHUNK)?.load(Ordering::Acquire);
    // SAFETY: published chunks are never freed; all-zero is a valid `Info`.
    unsafe { chunk.as_ref() }.and_then(|c| c.get(id % CHUNK))
}

/// Creates `id`'s chunk if needed. Called under `INSERT`.
fn info_for_insert(id: u32) -> Option<&'static Info> {
    let index = id as usize / CHUNK;
    let slot = INFO.get(index)?;
    if slot.load(Ordering::Acquire).is_null() {
        slot.store(sys::zeroed::<InfoChunk>(1)?.as_ptr(), Ordering::Release);
    }
    info(id)
}

impl Table {
    fn new(cap: usize) -> Option<&'static Table> {
        let keys = sys::zeroed::<AtomicU64>(cap)?;
        let Some(ids) = sys::zeroed::<AtomicU32>(cap) else {
            // SAFETY: just allocated with this length.
            unsafe { sys::free(keys, cap) };
            return None;
        };
        let Some(table) = sys::zeroed::<Table>(1) else {
            // SAFETY: both just allocated with this length.
            unsafe {
                sys::free(keys, cap);
                sys::free(ids, cap);
            }
            return None;
        };
        // SAFETY: `table` is valid for one `Table` and not yet shared. Tables are never
        // freed: a reader may still be probing an old one.
        unsafe {
            table.as_ptr().write(Table {
                // `cap` is a power of two (at least 1024), so neither wraps.
                mask: cap.wrapping_sub(1),
                shift: 64u32.wrapping_sub(cap.trailing_zeros()),
                keys,
                ids,
            });
            Some(&*table.as_ptr())
        }
    }

    fn key(&self, i: usize) -> &AtomicU64 {
        // SAFETY: `i <= mask`, inside the `mask + 1` keys allocated.
        unsafe { &*self.keys.as_ptr().add(i & self.mask) }
    }

    fn id(&self, i: usize) -> &AtomicU32 {
        // SAFETY: as for `key`.
        unsafe { &*self.ids.as_ptr().add(i & self.mask) }
    }

    fn find(&self, key: u64) -> Option<u32> {
        let mut i = self.start(key);
        loop {
            match self.key(i).load(Ordering::Acquire) {
                0 => return None,
                k if k == key => return Some(self.id(i).load(Ordering::Relaxed)),
                _ => i = i.wrapping_add(1),
            }
        }
    }

    /// Under `INSERT`, with room to spare.
    fn insert(&self, key: u64, id: u32) {
        let mut i = self.start(key);
        while self.key(i).load(Ordering::Relaxed) != 0 {
            i = i.wrapping_add(1);
        }
        self.id(i).store(id, Ordering::Relaxed);
        self.key(i).store(key, Ordering::Release);
    }
}

impl Table {
    /// Fibonacci hashing: the top bits of the product, which depend on every bit of the
    /// key. (Middle bits would depend on the site and only the lowest bits of the parent
    /// path: a tree whose outer functions share their inner ones would then pile up in a
    /// few runs of slots.)
    fn start(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }
}

fn current_table() -> Option<&'static Table> {
    // SAFETY: tables are published once written and never freed.
    unsafe { TABLE.load(Ordering::Acquire).as_ref() }
}

/// The depth of a path (0 for the root).
pub(crate) fn depth(path: u32) -> u32 {
    match path {
        ROOT => 0,
        OVERFLOW => MAX_DEPTH,
        id => info(id).map_or(MAX_DEPTH, |i| i.depth.load(Ordering::Acquire)),
    }
}

off_path_fn! {
    /// The id of `site` called under `parent`, interned on first use.
    #[cold]
    #[inline(never)]
    pub(crate) fn child(parent: u32, site: u32) -> u32 {
        if parent == OVERFLOW {
            return OVERFLOW;
        }
        let parent_depth = depth(parent);
        let (key, depth) = if parent_depth >= MAX_DEPTH {
            // Keep the outermost MAX_DEPTH - 1 frames and this one.
            let Some((prefix, _, _)) = parent_and_site(parent) else {
                return OVERFLOW;
            };
            ((u64::from(prefix) << 32) | u64::from(site) | CUT, MAX_DEPTH)
        } else {
            (
                (u64::from(parent) << 32) | u64::from(site),
                parent_depth.saturating_add(1),
            )
        };
        if let Some(id) = current_table().and_then(|t| t.find(key)) {
            return id;
        }
        insert(key, depth)
    }
}

fn insert(key: u64, depth: u32) -> u32 {
    // A signal handler that interrupted this thread's own insert cannot wait for it.
    let Some(_guard) = INSERT.lock() else {
        return OVERFLOW;
    };
    let mut table = current_table();
    if let Some(id) = table.and_then(|t| t.find(key)) {
        return id;
    }
    let id = NEXT_ID.load(Ordering::Relaxed);
    if id >= CAPACITY {
        return OVERFLOW;
    }
    let Some(info) = info_for_insert(id) else {
        return OVERFLOW;
    };
    info.depth.store(depth, Ordering::Relaxed);
    info.key.store(key, Ordering::Release);
    // Keep the table at most half full: grow (rehash every path) when it would not be.
    let needed = (id as usize).saturating_add(1).saturating_mul(2);
    if table.is_none_or(|t| t.mask.saturating_add(1) < needed) {
        let cap = needed.next_power_of_two().max(1024);
        let Some(bigger) = Table::new(cap) else {
            return OVERFLOW;
        };
        for old in 2..id {
            if let Some(k) = self::info(old).map(|i| i.key.load(Ordering::Relaxed)) {
                bigger.insert(k, old);
            }
        }
        TABLE.store(ptr::from_ref(bigger).cast_mut(), Ordering::Release);
        table = Some(bigger);
    }
    if let Some(t) = table {
        t.insert(key, id);
    }
    // `id < CAPACITY` (checked above): no overflow.
    NEXT_ID.store(id.saturating_add(1), Ordering::Release);
    id
}

/// `(parent, site, cut)` of an interned path; `None` for the root and the overflow path.
/// `cut` says frames between the parent and this one were left out.
pub(crate) fn parent_and_site(path: u32) -> Option<(u32, u32, bool)> {
    if path == ROOT || path == OVERFLOW {
        return None;
    }
    let key = info(path)?.key.load(Ordering::Acquire);
    (key != 0).then_some((
        (key >> 32) as u32,
        (key as u32) & !(CUT as u32),
        key & CUT != 0,
    ))
}

/// Holds the insert lock across `fork` (see `registry`).
pub(crate) fn lock_for_fork() {
    INSERT.lock_for_fork();
}

/// Releases it after `fork`, in the parent and in the child.
pub(crate) fn unlock_after_fork() {
    INSERT.force_unlock();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_decodable() {
        let a = child(ROOT, 90_001);
        let b = child(a, 90_002);
        assert_eq!(child(ROOT, 90_001), a);
        assert_eq!(child(a, 90_002), b);
        assert_ne!(a, b);
        assert_eq!(parent_and_site(b), Some((a, 90_002, false)));
        assert_eq!(parent_and_site(a), Some((ROOT, 90_001, false)));
        assert_eq!(depth(b), 2);
    }

    #[test]
    fn many_paths_grow_the_table_without_losing_any() {
        let ids: Vec<u32> = (0..5000).map(|i| child(ROOT, 80_000 + i)).collect();
        for (i, &id) in ids.iter().enumerate() {
            assert_eq!(child(ROOT, 80_000 + i as u32), id);
            assert_eq!(parent_and_site(id), Some((ROOT, 80_000 + i as u32, false)));
        }
    }

    #[test]
    fn deep_paths_keep_their_innermost_site() {
        let mut path = ROOT;
        let mut at_limit = ROOT;
        for level in 0..MAX_DEPTH + 10 {
            path = child(path, 70_000 + level);
            if level + 1 == MAX_DEPTH - 1 {
                at_limit = path;
            }
        }
        assert_eq!(depth(path), MAX_DEPTH);
        let (prefix, site, cut) = parent_and_site(path).unwrap();
        assert_eq!(
            (prefix, site, cut),
            (at_limit, 70_000 + MAX_DEPTH + 9, true)
        );
        assert_eq!(child(OVERFLOW, 5), OVERFLOW);
    }

    #[test]
    fn threads_agree_on_ids() {
        let ids: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..500).map(|i| child(ROOT, 60_000 + i)).collect()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|w| w[0] == w[1]));
    }
}
