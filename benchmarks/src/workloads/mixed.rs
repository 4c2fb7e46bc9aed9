//! The mixed workload of the benchmarks (see `workloads`), in a file of its own that
//! `tests/ownership_memory.rs` includes too.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::hint::black_box;

/// A realistic mix: format `strings` strings into a `Vec<String>`, clone each into a
/// `HashMap` (grown from empty), then drop both. Per string: the `format!` allocation and
/// its one growth (`format!` reserves twice its literal text, 10 bytes, and writes 13),
/// the clone, two frees, plus formatting and hashing work that does not allocate.
///
/// The map hashes with `DefaultHasher`'s fixed keys rather than `RandomState`, so that
/// instruction counts repeat exactly from run to run.
#[inline(never)]
pub fn mixed(strings: u64) {
    let list: Vec<String> = (0..strings).map(|i| format!("item-{i:08}")).collect();
    let mut map: HashMap<String, u64, BuildHasherDefault<DefaultHasher>> = HashMap::default();
    for (i, s) in list.iter().enumerate() {
        map.insert(s.clone(), i as u64);
    }
    black_box(&map);
    drop(map);
    drop(black_box(list));
}
