//! What the key-value server's `parse_request` allocates for a load, worked out from the
//! request lines alone (tests/live_kv_server.rs, tests/handoff_tokio.rs).

use alloc_trace_examples::kv_server::{Load, write_request};

/// What `parse_request` allocates for the requests of `load`: one string for a key, two
/// for a `SET` (key and value), nothing for a malformed line.
pub fn parse_allocations(load: Load) -> (u64, u64) {
    let (mut allocs, mut bytes) = (0, 0);
    let mut line = String::new();
    for client in 0..load.clients {
        for i in 0..load.requests {
            line.clear();
            write_request(client, i, load.keys, &mut line);
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            let owned = match words[0] {
                "GET" | "DEL" => &words[1..2],
                "SET" => &words[1..3],
                _ => &[][..],
            };
            allocs += owned.len() as u64;
            bytes += owned.iter().map(|w| w.len() as u64).sum::<u64>();
        }
    }
    (allocs, bytes)
}
