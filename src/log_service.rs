//! `examples/log_service.rs`: a request handler that builds its log line with `format!`
//! (several temporary strings per request) versus one that writes it into a reused buffer.
//! Residency stays flat in both: the difference is the allocation rate.

use std::fmt::Write as _;
use std::hint::black_box;

use alloc_trace::track_allocs;

/// Requests the example handles with each handler.
pub const REQUESTS: u32 = 100_000;

/// An incoming request. Every field is plain data: creating one allocates nothing.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// HTTP method.
    pub method: &'static str,
    /// Path requested.
    pub path: &'static str,
    /// The caller (always 4 digits here, so every log line has the same length).
    pub user: u32,
    /// Response status.
    pub status: u16,
    /// Time taken (always 3 digits here).
    pub micros: u32,
}

/// The `i`-th request of the example's traffic.
#[must_use]
pub fn request(i: u32) -> Request {
    Request {
        method: "GET",
        path: "/api/orders",
        user: 1000 + i % 9000,
        status: 200,
        micros: 100 + i % 900,
    }
}

/// Where log lines go: counts them, as a file or socket writer would, without keeping them.
#[derive(Debug, Default)]
pub struct Log {
    /// Lines written.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl Log {
    /// Writes one line.
    pub fn write_line(&mut self, line: &str) {
        self.lines += 1;
        self.bytes += black_box(line).len() as u64;
    }
}

/// Handles a request and logs it the convenient way: `format!` for each field, then one
/// more `format!` for the line. Every temporary is freed before returning (nothing kept).
#[track_allocs]
pub fn handle_with_format(req: &Request, log: &mut Log) -> u16 {
    let user = format!("user={}", req.user);
    let took = format!("took={}us", req.micros);
    let line = format!(
        "{} {} {} {} status={}",
        req.method, req.path, user, took, req.status
    );
    log.write_line(&line);
    req.status
}

/// Handles a request and writes the same log line with `write!` into `buf`, a buffer the
/// caller keeps from one request to the next: no allocation once `buf` is large enough.
#[track_allocs]
pub fn handle_with_reused_buffer(req: &Request, buf: &mut String, log: &mut Log) -> u16 {
    buf.clear();
    // Writing into a `String` cannot fail.
    let _ = write!(
        buf,
        "{} {} user={} took={}us status={}",
        req.method, req.path, req.user, req.micros, req.status
    );
    log.write_line(buf);
    req.status
}
