//! Detach (issue 55 point 3): this engine goes, the run's work stays. The core froze
//! each running local attempt under a hold that lapses as soon as the next engine has
//! adopted it (`core::decide::detach`); here each such attempt is let go alive, and
//! this engine waits until it is: its log holds what its pipes held, its group is
//! stopped with its anchor in it. Remote attempts need nothing: they run on where they
//! are and the next engine re-attaches to their jobs.
use super::{Driver, Input};
use std::time::{Duration, Instant};

/// How long the hand-over of the frozen attempts may take before this engine goes
/// anyway (a freeze is a signal; an anchor joins its group within milliseconds).
const HANDOVER_WAIT: Duration = Duration::from_secs(5);

/// How the engine is asked to stop (`Driver::run`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stop {
    /// The exit code of the signal that stopped it, if one did.
    pub signal: Option<i32>,
    /// Hand the run to the next engine with its running steps alive instead of
    /// stopping them (`Input::Detach`).
    pub detach: bool,
    /// Cancel the run instead of interrupting it: a child run whose parent was
    /// cancelled (`session::child`), stopped by the parent's kill of its step.
    pub cancel: bool,
}

impl From<Option<i32>> for Stop {
    fn from(signal: Option<i32>) -> Stop {
        Stop {
            signal,
            detach: false,
            cancel: false,
        }
    }
}

impl Driver {
    /// Let each frozen local attempt go to the next engine alive, and wait (bounded)
    /// until each one is handed over.
    pub(super) async fn hand_over_live(&mut self) {
        let handed: Vec<_> = self
            .live
            .values()
            .filter(|l| l.frozen == Some(true))
            .filter_map(|l| l.kill.clone())
            .filter(|k| k.hand_over())
            .collect();
        let deadline = Instant::now() + HANDOVER_WAIT;
        while !handed.iter().all(|k| k.handed_over()) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// What the core hears of a stop: an interrupt, a hand-over, or a child run's cancel.
/// Public for the simulator (crates/sim), which plays a child's engine stopped by its
/// parent's cancel.
pub fn stop_input(stop: &Stop, operator: &str) -> Input {
    if stop.cancel {
        // The parent's cancel, recorded under the run's starter, who started the parent.
        return Input::Command {
            id: None,
            command: baton_model::Command::Cancel {
                operator: operator.to_string(),
                reason: Some("its parent run was cancelled".into()),
            },
        };
    }
    match (stop.signal, stop.detach) {
        (Some(code), true) => Input::Detach {
            reason: format!("signal (exit {code}): handed to a background engine"),
        },
        (None, true) => Input::Detach {
            reason: "detached: handed to a background engine".into(),
        },
        (Some(code), false) => Input::Shutdown {
            reason: format!("signal (exit {code})"),
        },
        (None, false) => Input::Shutdown {
            reason: "operator quit".into(),
        },
    }
}
