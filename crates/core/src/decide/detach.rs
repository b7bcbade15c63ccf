//! Detach (issue 55 point 3): the engine goes, the work stays. A console's `q` →
//! Detach or a lost terminal hands the run to a background engine; what runs is
//! handed over alive instead of being killed and started again:
//!
//! - a remote attempt (SSH, Slurm, batch) is left as it is: the next engine re-attaches
//!   to its job on record, or finds one still being launched on its host and adopts it
//!   (`jobs.rs`, as after a crash);
//! - a local attempt is frozen under a hold of the engine's that lapses at once
//!   (`until` = now): the detaching driver has it anchored (`exec::anchor`) before it
//!   goes, so the group stays stopped and its own; the next engine adopts it
//!   (`exec::adopt`) and, its hold's time passed, lets it run on;
//! - an attempt that can be neither (a built-in, a service, one whose process is not
//!   known yet, one being stopped) is stopped and interrupted, as by a quit.
use super::hold::{Hold, HoldFor};
use super::*;

/// The reason of the hold that carries a local attempt over to the next engine.
pub(super) const HANDOVER: &str =
    "handed to the next engine (detach): it runs on as soon as that engine has adopted it";

impl Core {
    pub(super) fn detach(&mut self, reason: &str, now: Timestamp, fx: &mut Fx) {
        if self.finished || self.run_state == RunState::Interrupted {
            return;
        }
        for i in 0..self.steps.len() {
            let s = &self.steps[i];
            if !s.state.has_process() {
                continue;
            }
            let running = s.state == StepState::Running;
            // A remote attempt is left as it is, its job on record or still being
            // launched: the next engine re-attaches to the one, and asks the host for the
            // other and adopts it, as after a crash. Stopped instead, the launch's job
            // lived on while the next engine started the step again beside it (the
            // simulator's `--mix remote`, `a_step_runs_once_at_a_time`).
            let launching = s.pgid.is_none() && self.launched_elsewhere(i).is_some();
            let remote = running && (s.more.job.is_some() || launching);
            let frozen = s.more.hold.as_ref().is_some_and(|h| h.frozen);
            if remote || (running && frozen) {
                continue;
            }
            if running && s.pgid.is_some() && self.can_freeze(i).is_ok() {
                let hold = Hold {
                    actor: baton_model::history::ENGINE,
                    reason: HANDOVER,
                    until: Some(now),
                    what: HoldFor::Operator,
                };
                self.hold_one(i, hold, now, fx);
            } else {
                self.stop_with_engine(i, reason, now, fx);
            }
        }
        self.interrupt_run(reason, now, fx);
    }
}
