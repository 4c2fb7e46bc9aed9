//! What a panic says: for tests that check a panic's message.

#![allow(dead_code)] // Each test binary uses a part of it.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The text of a panic's payload: its formatted message (a `String`), its literal message
/// (a `&str`), or empty for any other payload.
pub fn payload_text(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or_else(String::new, |s| (*s).to_owned()),
    }
}

/// The panic message of `f`, or `None` if it returned.
pub fn panic_message(f: impl FnOnce()) -> Option<String> {
    catch_unwind(AssertUnwindSafe(f)).err().map(payload_text)
}

/// The panic message of `f`, which must panic.
#[track_caller]
pub fn expect_panic(f: impl FnOnce()) -> String {
    panic_message(f).expect("the closure should have panicked")
}
