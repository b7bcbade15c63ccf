//! Detach (issue 55 point 3): this engine goes, the run's work stays. The core froze
//! each running local attempt under a hold that lapses as soon as the next engine has
//! adopted it (`core::decide::detach`); here each such attempt is let go alive, and
//! this engine waits until it is: its log holds what its pipes held, its group is
//! stopped with its anchor in it. Remote attempts need nothing: they run on where they
//! are and the next engine re-attaches to their jobs.
use super::Driver;
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
}

impl From<Option<i32>> for Stop {
    fn from(signal: Option<i32>) -> Stop {
        Stop {
            signal,
            detach: false,
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
