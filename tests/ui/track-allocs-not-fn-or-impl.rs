use alloc_trace::track_allocs;

#[track_allocs]
struct Struct;

#[track_allocs]
enum Enum {}

#[track_allocs]
const CONST: u8 = 0;

#[track_allocs]
static STATIC: u8 = 0;

#[track_allocs]
trait Trait {}

#[track_allocs]
mod module {}

#[track_allocs]
type Alias = u8;

fn main() {}
