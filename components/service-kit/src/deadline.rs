//! Deadlines for work a component waits on (a chained call, a body read). The host's monotonic
//! clock wakes the task, so a dependency that never answers costs its deadline, not the
//! caller's whole request. Nothing here busy-polls: both sides wait on `wasi:io` pollables.

use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::Duration;

use futures::future::{select, Either};
use spin_sdk::wit::wasi::clocks0_2_0::monotonic_clock;

/// The work did not finish within its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut(pub Duration);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "timed out after {} ms", self.0.as_millis())
    }
}

/// `work`'s output, or `TimedOut` once `limit` has passed. The work is dropped on time-out,
/// which drops its host resources (a pending chained call is cancelled with them).
pub async fn within<F: Future>(limit: Duration, work: F) -> Result<F::Output, TimedOut> {
    let work = std::pin::pin!(work);
    let timer = std::pin::pin!(sleep(limit));
    match select(work, timer).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(((), _)) => Err(TimedOut(limit)),
    }
}

/// Waits for `duration` on the host's monotonic clock.
pub async fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let wake_at = monotonic_clock::now().saturating_add(nanos);
    // Kept across polls: replacing it cancels the previous registration.
    let mut registration = None;
    poll_fn(|context| {
        if monotonic_clock::now() >= wake_at {
            return Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(wake_at);
        registration = Some(spin_executor::CancelOnDropToken::from(
            spin_executor::push_waker_and_get_token(pollable, context.waker().clone()),
        ));
        Poll::Pending
    })
    .await;
    drop(registration);
}
