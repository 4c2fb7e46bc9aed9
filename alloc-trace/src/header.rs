//! The block header of the ownership view (feature `ownership`): where a block remembers
//! the call path that owns it.
//!
//! `CountingAlloc` asks its inner allocator for `size + H` bytes aligned to `H`, with
//! `H = max(align, 16)`, and hands out `base + H`: the user's pointer keeps the alignment
//! asked for, and the 16 bytes just below it are the header. Its last 8 bytes hold the
//! owning path id (a `paths` id; 0 is "outside every tracked frame") and, in debug builds,
//! a check word derived from the block's size, which `dealloc` and `realloc` verify.
//!
//! ```text
//! base                              user = base + H
//! |<------------- H ------------->|<------ size ------>|
//! |      (unused if H > 16)  |pad |path|check|  user's bytes  |
//!                             ^ user - 16     ^ user - 8, user - 4
//! ```
//!
//! The header is part of every block from its first byte to its last: a `realloc` of
//! `(base, size + H)` to `new_size + H` carries it along (the inner allocator copies it
//! with the block), so the owner is read back wherever and whenever the block is freed:
//! on another thread, after the allocating thread exited, or at the end of the program.
//! This is why the view is a compile-time feature: a block allocated before a run-time
//! switch was turned on would have no header, and `dealloc` could not tell it apart from
//! one that has (it would need a side table of every block, which is what the header
//! avoids).

// No panic path (see the crate docs, "No panic path"): this code runs inside the global
// allocator, under the crate's locks, or on every tracked call.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::panic))]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![cfg_attr(not(test), deny(clippy::unreachable, clippy::todo))]

use core::alloc::Layout;

/// The smallest header, and the alignment of every inner block.
pub(crate) const MIN: usize = 16;

/// The largest size whose block, with a 16-byte header at alignment 16, is a valid layout.
pub(crate) const MAX_SMALL: usize = isize::MAX as usize - (2 * MIN - 1);

/// The value of the debug check word for a block of `size` bytes.
const fn check_word(size: usize) -> u32 {
    (size as u32) ^ 0xA110_C8ED
}

/// `H`: the header's size (and the inner block's alignment) for a block aligned to
/// `align`.
#[inline(always)]
pub(crate) const fn offset(align: usize) -> usize {
    if align <= MIN { MIN } else { align }
}

/// The inner allocator's layout for a block of `layout`: `size + H` at alignment `H`.
/// `None` when that is not a valid layout (within `2 * H` bytes of `isize::MAX`): the
/// request fails, as a request too large for the inner allocator would.
#[inline(always)]
pub(crate) const fn outer(layout: Layout) -> Option<Layout> {
    outer_of(layout.size(), layout.align())
}

/// [`outer`] for a block of `size` bytes aligned to `align` (a power of two).
#[inline(always)]
pub(crate) const fn outer_of(size: usize, align: usize) -> Option<Layout> {
    let h = offset(align);
    // `size + h` rounded up to `h` is at most `size + 2h - 1`, which must not exceed
    // `isize::MAX`. `h` is at most `isize::MAX / 2 + 1` (a power of two no larger than
    // any valid alignment), so `2 * h - 1` does not wrap.
    let room = (isize::MAX as usize).wrapping_sub(h.wrapping_mul(2).wrapping_sub(1));
    if size > room {
        return None;
    }
    // SAFETY: `h` is a power of two (16, or `align`, which is one), and `size + h`
    // rounded up to `h` does not exceed `isize::MAX` (checked above), so neither does
    // `size + h`.
    Some(unsafe { Layout::from_size_align_unchecked(size.unchecked_add(h), h) })
}

/// The user's pointer of the inner block at `base` with an `h`-byte header: `base + h`.
///
/// `base`'s provenance is exposed here, for [`base_of`]: the pointer the user gives back
/// may carry a narrower one (code that held the block, a `Vec` say, retagged it to the
/// user's bytes alone), through which the header and the inner block cannot be reached.
/// Exposing compiles to nothing.
#[inline(always)]
pub(crate) fn user_of(base: *mut u8, h: usize) -> *mut u8 {
    let _ = base.expose_provenance();
    base.wrapping_add(h)
}

/// The inner block's pointer for a user's `user` with an `h`-byte header: `user - h`,
/// with the provenance [`user_of`] exposed (the whole inner block's).
#[inline(always)]
pub(crate) fn base_of(user: *const u8, h: usize) -> *mut u8 {
    core::ptr::with_exposed_provenance_mut(user.addr().wrapping_sub(h))
}

/// Writes the header of the block at `user` (of `size` bytes, owned by `path`).
///
/// # Safety
///
/// `user` is `base + H` for an inner block of at least `size + H` bytes at alignment
/// `H >= 16`, so `user - 8 .. user` is inside it and 4-aligned.
#[inline(always)]
pub(crate) unsafe fn write(user: *mut u8, path: u32, size: usize) {
    // SAFETY: per the contract, the 8 bytes below `user` belong to the block.
    unsafe {
        user.sub(8).cast::<u32>().write(path);
        if cfg!(debug_assertions) {
            user.sub(4).cast::<u32>().write(check_word(size));
        }
    }
}

/// The owning path of the block at `user`, of `size` bytes.
///
/// # Safety
///
/// `user` was returned by `CountingAlloc` with the ownership header, for a block of
/// `size` bytes, and is not freed yet.
#[inline(always)]
pub(crate) unsafe fn path(user: *const u8, size: usize) -> u32 {
    // SAFETY: `write` wrote the header when the block was made or last moved; it is
    // read through the inner block's provenance (see `base_of`).
    unsafe {
        debug_assert_eq!(
            base_of(user, 4).cast::<u32>().read(),
            check_word(size),
            "alloc-trace: a block's ownership header is damaged (freed with another size, \
             or not from this allocator)"
        );
        let _ = size;
        base_of(user, 8).cast::<u32>().read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_layouts() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(outer(l(0, 1)), Some(l(16, 16)));
        assert_eq!(outer(l(32, 8)), Some(l(48, 16)));
        assert_eq!(outer(l(100, 4096)), Some(l(4196, 4096)));
        // The largest request that still fits once the header is added, and the next.
        let max = isize::MAX as usize;
        assert_eq!(outer(l(max - 31, 1)), Some(l(max - 15, 16)));
        assert_eq!(outer(l(max - 30, 1)), None);
        let huge = 1usize << 61;
        assert_eq!(outer(l(8, huge)), Some(l(8 + huge, huge)));
        assert_eq!(
            outer_of(max - 2 * huge + 1, huge),
            Some(l(max - huge + 1, huge))
        );
        assert_eq!(outer_of(max - 2 * huge + 2, huge), None);
    }

    #[test]
    fn header_round_trip() {
        let mut block = [0u64; 8];
        let user = user_of(block.as_mut_ptr().cast::<u8>(), 16);
        // SAFETY: `user` is 16 bytes into a 64-byte, 8-aligned buffer.
        unsafe {
            write(user, 77, 48);
            assert_eq!(path(user, 48), 77);
        }
    }
}
