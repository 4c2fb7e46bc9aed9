//! Workloads measured twice, by alloc-trace and by dhat (in a separate binary, since a
//! binary has one global allocator), whose numbers must agree exactly.
//!
//! Each workload returns what it keeps, so that residency (bytes and blocks still live)
//! is compared as well as the allocation rate.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;

pub type Kept = Box<dyn Any>;

/// A named workload.
pub type Workload = (&'static str, fn() -> Kept);

pub const WORKLOADS: &[Workload] = &[
    ("vec_growth", vec_growth),
    ("string_building", string_building),
    ("hashmap_insert_remove", hashmap_insert_remove),
    ("btreemap_insert_remove", btreemap_insert_remove),
    ("formatting", formatting),
    ("shrink_to_fit", shrink_to_fit),
    ("nested_collections", nested_collections),
];

fn vec_growth() -> Kept {
    let mut v = Vec::new();
    for i in 0..10_000u64 {
        v.push(black_box(i));
    }
    drop(black_box(v));
    Box::new(())
}

fn string_building() -> Kept {
    let mut s = String::new();
    for i in 0..1_000 {
        write!(s, "{i},").unwrap();
    }
    let mut joined = String::new();
    for word in ["alpha", "beta", "gamma"] {
        joined = joined + word + " ";
    }
    Box::new((black_box(s), black_box(joined)))
}

fn hashmap_insert_remove() -> Kept {
    let mut map: HashMap<u64, String> = HashMap::new();
    for i in 0..1_000u64 {
        map.insert(i, i.to_string());
    }
    for i in (0..1_000u64).step_by(2) {
        map.remove(&i);
    }
    Box::new(black_box(map))
}

fn btreemap_insert_remove() -> Kept {
    let mut map = BTreeMap::new();
    for i in 0..2_000u32 {
        map.insert(i.wrapping_mul(2_654_435_761), vec![i; 3]);
    }
    for i in 0..1_000u32 {
        map.remove(&i.wrapping_mul(2_654_435_761));
    }
    Box::new(black_box(map))
}

fn formatting() -> Kept {
    let mut total = 0;
    for i in 0..500 {
        let line = format!(
            "request {i}: {:?} took {:.2} ms",
            [i, i + 1],
            f64::from(i) / 3.0
        );
        total += black_box(line).len();
    }
    Box::new(total)
}

fn shrink_to_fit() -> Kept {
    let mut v: Vec<u32> = Vec::with_capacity(1_000);
    v.extend(0..10);
    v.shrink_to_fit();
    let mut s = String::with_capacity(4096);
    s.push_str("short");
    s.shrink_to_fit();
    Box::new((black_box(v), black_box(s)))
}

fn nested_collections() -> Kept {
    let rows: Vec<Vec<String>> = (0..100)
        .map(|r| (0..r % 7).map(|c| format!("{r}:{c}")).collect())
        .collect();
    let kept: Vec<String> = rows
        .into_iter()
        .flatten()
        .filter(|s| s.ends_with('3'))
        .collect();
    Box::new(black_box(kept))
}

/// One workload's numbers in dhat's terms.
#[derive(Debug, PartialEq, Eq)]
pub struct Oracle {
    pub total_blocks: u64,
    pub total_bytes: u64,
    pub curr_blocks: u64,
    pub curr_bytes: u64,
    pub max_bytes: u64,
}

impl Oracle {
    // This file is compiled into both the oracle (which writes lines) and the test (which
    // reads them): each uses one of the two.
    #[allow(dead_code)]
    pub fn to_line(&self, name: &str) -> String {
        format!(
            "{name} {} {} {} {} {}",
            self.total_blocks, self.total_bytes, self.curr_blocks, self.curr_bytes, self.max_bytes
        )
    }

    #[allow(dead_code)]
    pub fn from_line(line: &str) -> (String, Oracle) {
        let mut words = line.split_whitespace();
        let name = words.next().expect("a workload name").to_owned();
        let mut n = || {
            words
                .next()
                .expect("five numbers")
                .parse::<u64>()
                .expect("a number")
        };
        let oracle = Oracle {
            total_blocks: n(),
            total_bytes: n(),
            curr_blocks: n(),
            curr_bytes: n(),
            max_bytes: n(),
        };
        (name, oracle)
    }
}
