//! Decisions about an attempt's process group and the attempts that run as batch jobs
//! (a Slurm executor): recording the process group and the job id, cancelling a job
//! whose attempt no longer runs, and re-attaching to jobs on resume instead of
//! interrupting their steps (a job outlives its engine).
use super::super::{Core, Effect, Timer};
use baton_model::{EventKind, StepState, Timestamp};

impl Core {
    /// An attempt's process group exists: on record while it runs; one the step is
    /// no longer running (it ended, was cancelled meanwhile) is killed.
    pub(super) fn on_process_started(
        &mut self,
        step: usize,
        attempt: u32,
        pgid: i32,
        output: Option<String>,
        now: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        if let Some(s) = self.steps.get(step)
            && s.attempts == attempt
            // An adopted attempt's group is on record already.
            && s.pgid != Some(pgid)
        {
            if s.state == StepState::Running {
                let id = self.plan.steps[step].id.clone();
                self.emit(
                    EventKind::StepProcess {
                        step: id,
                        attempt,
                        pgid,
                        output,
                    },
                    now,
                    fx,
                );
            } else {
                fx.push(Effect::KillStale { pgid });
            }
        }
    }

    /// On a takeover, before [`Core::resume_before`]: a live job the dead engine
    /// submitted but did not record (found by its name), recorded if its attempt still
    /// runs, else cancelled. Nothing is scheduled here: what starts is resume's decision
    /// (and before a cancel, nothing does).
    pub fn adopt_job(
        &mut self,
        step: usize,
        attempt: u32,
        executor: String,
        job_id: String,
        now: Timestamp,
    ) -> Vec<Effect> {
        let mut fx = Vec::new();
        if !self.events.is_empty() {
            self.on_job_started(step, attempt, executor, job_id, now, &mut fx);
        }
        fx
    }

    /// A job was submitted for `attempt` of `step`: recorded while the attempt runs
    /// (resume follows it), cancelled otherwise.
    pub(crate) fn on_job_started(
        &mut self,
        step: usize,
        attempt: u32,
        executor: String,
        job_id: String,
        now: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let Some(s) = self.steps.get(step) else {
            return;
        };
        if s.attempts == attempt && s.state == StepState::Running {
            if s.more.job.as_ref().is_some_and(|(_, id)| *id == job_id) {
                return;
            }
            let id = self.plan.steps[step].id.clone();
            self.emit(
                EventKind::StepJob {
                    step: id,
                    attempt,
                    executor,
                    job_id,
                },
                now,
                fx,
            );
        } else {
            fx.push(Effect::CancelJob { executor, job_id });
        }
    }

    /// The cluster's state of a running attempt's job: recorded when it changes (a
    /// queued job's reason, then `RUNNING`), ignored for an attempt no longer running.
    pub(crate) fn on_job_state(
        &mut self,
        step: usize,
        attempt: u32,
        state: String,
        reason: Option<String>,
        now: Timestamp,
        fx: &mut Vec<Effect>,
    ) {
        let Some(s) = self.steps.get(step) else {
            return;
        };
        let Some(seen) = baton_model::view::job_of(&s.more.jobs, s.attempts) else {
            return;
        };
        if s.attempts != attempt
            || s.state != StepState::Running
            || (seen.state.as_deref() == Some(state.as_str()) && seen.reason == reason)
        {
            return;
        }
        let id = self.plan.steps[step].id.clone();
        self.emit(
            EventKind::StepJobState {
                step: id,
                attempt,
                state,
                reason,
            },
            now,
            fx,
        );
    }

    /// Steps of a run being taken over that were started but whose placement (a job id
    /// or a process group) never reached the record: the window between a launch and
    /// its commit. Only an answer from their executor can say whether they still run.
    pub fn unplaced_running(&self) -> Vec<String> {
        (0..self.steps.len())
            .filter(|&i| {
                let s = &self.steps[i];
                s.state.has_process() && s.more.job.is_none() && s.pgid.is_none()
            })
            .map(|i| self.id(i))
            .collect()
    }

    /// The frozen local attempts of a run being taken over, for the session to look
    /// for on this host: `(step, step id, attempt, pgid)`.
    pub fn frozen_local(&self) -> Vec<(usize, String, u32, i32)> {
        (0..self.steps.len())
            .filter_map(|i| {
                let s = &self.steps[i];
                let frozen = s.more.hold.as_ref().is_some_and(|h| h.frozen);
                let local = s.state == StepState::Running && s.more.job.is_none();
                (frozen && local).then_some((i, self.id(i), s.attempts, s.pgid?))
            })
            .collect()
    }

    /// On a takeover, before [`Core::resume_before`]: the frozen local attempt `attempt`
    /// of `step` outlived the dead engine in process group `pgid`, still stopped and
    /// still its own (the session read `/proc`: `exec::adopt::frozen_attempt`). Resume
    /// then follows it, still held, instead of stopping it and holding the step again
    /// (issue 43 point 1). Returns whether it will be adopted.
    pub fn adopt_frozen(&mut self, step: usize, attempt: u32, pgid: i32) -> bool {
        let ok = self.frozen_local().iter().any(|(i, _, a, g)| {
            (*i, *a, *g) == (step, attempt, pgid) && !self.adopted.contains(&step)
        });
        if ok {
            self.adopted.push(step);
        }
        ok
    }

    /// The process groups [`Core::adopt_frozen`] adopted: not leftovers to stop.
    pub fn adopted_groups(&self) -> Vec<i32> {
        self.adopted
            .iter()
            .filter_map(|&i| self.steps[i].pgid)
            .collect()
    }

    /// On resume: a running step whose job is recorded keeps running; the driver
    /// follows the job; so does an adopted frozen local attempt (its group id for a
    /// job id). Returns whether the step was re-attached.
    pub(crate) fn reattach(&mut self, i: usize, _now: Timestamp, fx: &mut Vec<Effect>) -> bool {
        let s = &self.steps[i];
        let adopted = self.adopted.contains(&i).then_some(s.pgid).flatten();
        let Some((executor, job_id)) = s
            .more
            .job
            .clone()
            .or_else(|| adopted.map(|pgid| ("local".to_string(), pgid.to_string())))
        else {
            return false;
        };
        if s.state != StepState::Running || self.stopping() {
            return false;
        }
        let attempt = s.attempts;
        // A step whose environment no longer resolves is interrupted as usual.
        let Some((action, env)) = self.resolve(i).ok().and_then(|r| Some((r.action?, r.env)))
        else {
            return false;
        };
        let spec = self.spec(i, attempt, action, env);
        let s = &mut self.steps[i];
        s.kill_sent = false;
        s.reattached = true;
        s.timeout_kill = false;
        // The step's timeout still counts from its start; an overdue one fires at once.
        if let Some(t) = s.timeout_at {
            self.timers.insert((t, Timer::StepTimeout(i)));
        }
        // Frozen when the engine stopped: it still is there (a suspended Slurm job, a
        // stopped group on an SSH host); its new handle is born knowing it (not told by
        // a `Freeze` after it: the driver keeps only the latest wish for a handle not
        // known yet, so a release in the same wake-up would leave it a bare
        // "continue" that a handle never asked to freeze takes for nothing to do).
        let frozen = s.more.hold.as_ref().is_some_and(|h| h.frozen);
        fx.push(Effect::Reattach {
            spec,
            executor,
            job_id,
            frozen,
        });
        true
    }

    /// Where step `i`'s current attempt runs when not on this machine: its executor's
    /// name when that is not a local one, or what its `requires` asks (it takes turns
    /// on the executors that offer it). `None`: a process of this machine, or what the
    /// engine runs itself (a built-in, a child run).
    pub(crate) fn launched_elsewhere(&self, i: usize) -> Option<String> {
        let step = &self.plan.steps[i];
        let runs = step.alternative(self.steps[i].alternative);
        if !matches!(
            runs.action,
            baton_workflow::Action::Shell { .. } | baton_workflow::Action::Tool { .. }
        ) {
            return None;
        }
        match self.executor_of(i).and_then(|x| self.plan.executors.get(x)) {
            Some(x) if matches!(x.kind, baton_workflow::ExecutorKind::Local) => None,
            Some(x) => Some(x.name.clone()),
            None if step.requires.is_empty() => None,
            None => {
                let offers = |x: &&baton_workflow::ExecutorSpec| {
                    step.requires.iter().all(|r| x.labels.contains(r))
                };
                let local = |x: &baton_workflow::ExecutorSpec| {
                    matches!(x.kind, baton_workflow::ExecutorKind::Local)
                };
                let all_local = self.plan.executors.iter().filter(offers).all(local);
                (!all_local).then(|| format!("requires {}", step.requires.join(",")))
            }
        }
    }
}
