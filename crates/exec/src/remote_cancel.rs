//! A stop asked of an attempt that runs elsewhere (a Slurm job, a step on an SSH host):
//! the first request is kept with its grace and wakes the attempt's waiter, which does
//! the stopping its back end knows (`scancel`, a signal to the remote process group).
use super::backend::{Freezing, Stop};
use super::{ExecError, KillReason};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct CancelState {
    requested: Option<(KillReason, Duration)>,
    /// Whether a hold wants the attempt frozen now (`set_frozen`).
    frozen: bool,
    /// Its back end can freeze it (a step on an SSH host: `kill -STOP` to its group).
    freezable: bool,
}

/// Asks a remote attempt to stop (gently now, hard after the grace), or to freeze and
/// continue (a hold, where its back end can): the attempt's waiter does the signalling.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    shared: Arc<(Mutex<CancelState>, Notify, Notify)>,
}

impl CancelHandle {
    /// A handle whose attempt can be frozen (`set_frozen`).
    pub(crate) fn freezable() -> CancelHandle {
        let h = CancelHandle::default();
        h.lock().freezable = true;
        h
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CancelState> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Freeze (`stop`) or continue the attempt: the latest wish wins, and the waiter
    /// signals the attempt's group when it differs from what it last did. `false`: its
    /// back end cannot freeze it.
    pub fn set_frozen(&self, stop: bool) -> bool {
        let mut s = self.lock();
        if !s.freezable {
            return false;
        }
        s.frozen = stop;
        drop(s);
        self.shared.2.notify_one();
        true
    }

    /// Whether a hold wants the attempt frozen now.
    pub(crate) fn wants_frozen(&self) -> bool {
        self.lock().frozen
    }

    /// Wakes when the wish to freeze changes (create it before reading `wants_frozen`).
    pub(crate) fn freeze_notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.shared.2.notified()
    }

    pub fn terminate(&self, grace: Duration, reason: KillReason) {
        let mut s = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        if s.requested.is_none() {
            s.requested = Some((reason, grace));
            drop(s);
            self.shared.1.notify_one();
        }
    }

    /// The stop asked for, if any: why, and the grace before a hard stop.
    pub(crate) fn requested(&self) -> Option<(KillReason, Duration)> {
        self.shared
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .requested
    }

    /// Wakes when a stop is asked (create it before checking `requested`).
    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.shared.1.notified()
    }
}

/// A job or a remote process group: its waiter does the stopping, and the freezing
/// where its back end can (a step on an SSH host: `kill -STOP` to its group).
impl Stop for CancelHandle {
    fn terminate(&self, grace: Duration, reason: KillReason) {
        CancelHandle::terminate(self, grace, reason)
    }

    fn freeze(&self, stop: bool) -> Freezing {
        let handle = self.clone();
        Freezing::Later(Box::pin(async move {
            if handle.set_frozen(stop) {
                Ok(())
            } else {
                Err(ExecError::Freeze {
                    why: "a step on another batch system cannot be frozen (its scheduler has no suspend baton knows)".into(),
                })
            }
        }))
    }
}
