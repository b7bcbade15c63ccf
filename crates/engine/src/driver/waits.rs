//! What the driver's loop waits on, each a future that never ends when there is
//! nothing to wait for, and the instant a wall-clock time arrives.
use super::*;

pub(super) async fn recv_command(
    rx: &mut Option<mpsc::Receiver<CommandRequest>>,
) -> Option<CommandRequest> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

pub(super) async fn woken(wake: &Option<baton_store::wake::WakeListener>) {
    match wake {
        Some(w) => w.woken().await,
        None => std::future::pending().await,
    }
}

pub(super) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The monotonic instant at which wall-clock `t` arrives.
pub(super) fn instant_at(t: Timestamp) -> Instant {
    let wait = t.since(Timestamp::now());
    Instant::now() + wait
}
