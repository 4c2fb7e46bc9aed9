//! `YieldOnce`: a future that is pending once (waking itself at once), then ready. Each
//! `.await` of it ends one poll of the enclosing future, which goes back to its executor
//! (and may move to another worker). It allocates nothing.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Default)]
pub struct YieldOnce(pub bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
