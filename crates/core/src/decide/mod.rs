//! Decisions (inputs and timers in, events applied at once and effects out): entry points and plumbing.
use super::*;
use crate::{digest, retry};
use baton_model::error::ErrorRecordBuilder;
use baton_model::suggest::Cause;
use baton_model::time::human_duration;
use baton_model::{ErrorKind, EventKind, Refusal, Severity};
use baton_workflow::{Action, OnTimeout, Template, TemplateRef, Trigger, Upstream, Verdict};

mod admission;
mod advice;
mod allowed;
mod artifacts;
mod budget;
mod budget_gate;
mod cached;
mod commands;
mod condition;
mod deadlines;
mod detach;
mod exits;
mod fanout;
mod fork;
mod gates;
mod hold;
mod jobs;
mod labels;
mod marked_artifacts;
mod marked_outputs;
mod policy;
mod push_back;
mod resolve;
mod retry_failed;
mod run;
mod saga;
mod scheduling;
mod services;
mod shared_pools;
mod signed;
mod usage;

pub(crate) use artifacts::ArtifactsRt;
pub(crate) use budget_gate::BudgetRejection;
pub use fork::{ForkPlan, Reuse};
pub(crate) use hold::HoldRt;
pub(crate) use labels::LabelsRt;
pub(crate) use push_back::RevisionRt;
pub(super) use resolve::TemplateFailure;
pub use retry_failed::FailedRetry;
pub(super) use signed::Vote;

type Fx = Vec<Effect>;

/// A step's command and environment with every template rendered (unmasked).
struct Resolved {
    action: Option<SpawnAction>,
    /// What the approval digest binds to.
    digest_action: String,
    env: BTreeMap<String, String>,
    /// Where and on what it runs (directory, executor and its options): also digested.
    place: Vec<(String, String)>,
}

impl Core {
    /// The run's first event: what it was started with.
    fn run_started(&self) -> EventKind {
        let params = self
            .cfg
            .params
            .iter()
            .map(|(k, v)| (k.clone(), self.mask(v)))
            .collect();
        EventKind::RunStarted {
            workflow: self.plan.name.clone(),
            operator: self.cfg.operator.clone(),
            params,
            seed: self.cfg.seed,
            auto_approve: self.cfg.auto_approve,
            allowed_signers: self
                .plan
                .approvals
                .as_ref()
                .map(|a| a.signers.text().to_string()),
            slot: self.cfg.slot,
            zone: self
                .has_at_deadline()
                .then(|| self.cfg.zone.clone())
                .flatten(),
            parent: self.cfg.parent.clone(),
        }
    }

    /// Start a new run: `RunStarted`, the run running, and the first spawns.
    pub fn start(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut fx = Vec::new();
        if !self.events.is_empty() {
            return fx;
        }
        self.emit(self.run_started(), now, &mut fx);
        self.record_fork(now, &mut fx);
        self.record_start_labels(now, &mut fx);
        self.emit(
            EventKind::RunStateChanged {
                state: RunState::Running,
                reason: None,
            },
            now,
            &mut fx,
        );
        self.settle(now, &mut fx);
        fx
    }

    pub fn handle(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        // Sized for a step's end (its events and the next start): grown from empty it
        // was allocated twice a call.
        let mut fx = Vec::with_capacity(8);
        if self.events.is_empty() {
            let id = match input {
                Input::Command { id, .. } => id,
                Input::UnprovenCommand { id, .. } => Some(id),
                _ => return fx,
            };
            fx.push(Effect::CommandDone {
                id,
                outcome: CommandOutcome::Refused(Refusal::NotStarted),
            });
            return fx;
        }
        match input {
            Input::Tick => {}
            Input::ProcessStarted {
                step,
                attempt,
                pgid,
                output,
            } => self.on_process_started(step, attempt, pgid, output, now, &mut fx),
            Input::JobStarted {
                step,
                attempt,
                executor,
                job_id,
            } => self.on_job_started(step, attempt, executor, job_id, now, &mut fx),
            Input::JobState {
                step,
                attempt,
                state,
                reason,
            } => self.on_job_state(step, attempt, state, reason, now, &mut fx),
            Input::StepExited(exit) => self.on_exit(exit, now, &mut fx),
            Input::Usage {
                step,
                attempt,
                usage,
            } => self.on_usage(step, attempt, usage, now, &mut fx),
            Input::CacheHit(hit) => self.on_cache_hit(hit, now, &mut fx),
            Input::ProbeResult(result) => self.on_probe_result(result, now, &mut fx),
            Input::ArtifactsCollected {
                step,
                attempt,
                result,
            } => self.on_collected(step, attempt, result, now, &mut fx),
            Input::NotifierFailed {
                step,
                kind,
                event,
                message,
            } => self.on_notifier_failed(step, kind, &event, &message, now, &mut fx),
            Input::OutputProblems {
                step,
                attempt,
                problems,
            } => self.on_output_problems(step, attempt, &problems, now, &mut fx),
            Input::CompensationExited {
                step,
                outcome,
                duration_ms,
                stderr_tail,
            } => self.on_compensation_exit(step, outcome, duration_ms, &stderr_tail, now, &mut fx),
            Input::Command { id, command } => self.on_command_input(id, &command, now, &mut fx),
            Input::UnprovenCommand {
                id,
                command,
                reason,
            } => {
                let outcome = self.refuse(&command, &reason, now, &mut fx);
                fx.push(Effect::CommandDone {
                    id: Some(id),
                    outcome,
                });
            }
            Input::ThawRefused { step, attempt, why } => {
                self.thaw_refused(step, attempt, &why, now, &mut fx)
            }
            Input::Shutdown { reason } => self.shutdown(&reason, now, &mut fx),
            Input::Detach { reason } => self.detach(&reason, now, &mut fx),
            Input::Admitted { reason } => self.admitted(reason, now, &mut fx),
            Input::Replaced { group } => self.replaced(&group, now, &mut fx),
            Input::SlotGranted { step, attempt } => self.slot_granted(step, attempt),
            Input::SlotBusy {
                step,
                attempt,
                holders,
            } => self.slot_busy(step, attempt, holders),
        }
        self.settle(now, &mut fx);
        fx
    }

    /// A notifier's command failed: a low record on the run (or on the step it was
    /// about); a notifier never stops anything.
    fn on_notifier_failed(
        &mut self,
        step: Option<usize>,
        kind: ErrorKind,
        event: &str,
        message: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let message = format!("[[notify]] on {event}: {message}");
        let b = match step.filter(|&i| i < self.steps.len()) {
            Some(i) => self.step_error(i, kind, message),
            None => ErrorRecord::builder(kind, message),
        };
        let b = b.severity(Severity::Low).context("notifier", event);
        self.record(b, Cause::Notifier, false, now, fx);
    }

    /// Approve every gate a resumed run reaches (`resume --auto-approve`; recorded with
    /// the resume). A run started with `--auto-approve` keeps it without this.
    pub fn enable_auto_approve(&mut self) {
        self.cfg.auto_approve = true;
    }

    /// After `replay`: kill what the dead engine left, mark its running steps
    /// interrupted, re-queue the idempotent ones and continue.
    pub fn resume(&mut self, operator: &str, now: Timestamp) -> Vec<Effect> {
        self.resume_before(operator, None, now)
    }

    /// [`Core::resume`] for a takeover that applies `next` at once. A cancel must start
    /// nothing (only compensations may run): before one, no step is queued again and
    /// nothing is scheduled, so the cancel decides on the state the history left.
    pub fn resume_before(
        &mut self,
        operator: &str,
        next: Option<&Command>,
        now: Timestamp,
    ) -> Vec<Effect> {
        let start = !matches!(next, Some(Command::Cancel { .. }));
        let mut fx = Vec::new();
        if self.events.is_empty() || self.finished {
            return fx;
        }
        self.emit(
            EventKind::RunResumed {
                operator: operator.to_string(),
                auto_approve: self.cfg.auto_approve,
            },
            now,
            &mut fx,
        );
        // Frozen local steps not adopted (`adopt_frozen`: their group is gone, or is
        // no longer theirs, or cannot be followed here) are stopped; an idempotent one
        // is held again below, not run. An adopted one is re-attached, still frozen.
        let frozen: Vec<(usize, HoldRt)> = (0..self.steps.len())
            .filter_map(|i| {
                let h = self.steps[i].more.hold.as_deref().filter(|h| h.frozen)?;
                Some((i, h.clone()))
            })
            .collect();
        self.stop_left_running(now, &mut fx);
        // A run still waiting for its concurrency group waits again.
        let restore = match self.decided {
            Some(d) => d,
            None if self.queued => RunState::Queued,
            None => RunState::Running,
        };
        self.emit(
            EventKind::RunStateChanged {
                state: restore,
                reason: Some(format!("resumed by {operator}")),
            },
            now,
            &mut fx,
        );
        if self.stopping() {
            let target = if self.cancel_requested {
                StepState::Cancelled
            } else {
                StepState::Skipped
            };
            self.stop_all(target, "the run is stopping", now, &mut fx);
        } else if start {
            self.restart_on_resume(frozen, now, &mut fx);
        }
        for i in 0..self.steps.len() {
            if self.steps[i].state == StepState::Compensating {
                let spec = self.compensation_spec(i);
                fx.extend(spec.map(Effect::Compensate));
            }
        }
        if start {
            self.settle(now, &mut fx);
        }
        fx
    }

    /// On resume: each step the dead engine left with a process is re-attached to
    /// (a job that outlived it), else its stale group killed and the step
    /// interrupted (or, a service baton was stopping or no step needs, succeeded).
    fn stop_left_running(&mut self, now: Timestamp, fx: &mut Fx) {
        for i in 0..self.steps.len() {
            if self.reattach(i, now, fx) || self.collect_again(i, fx) {
                continue;
            }
            let st = self.steps[i].state;
            if let Some(pgid) = self.steps[i].pgid
                && (st.has_process() || st == StepState::Interrupted)
            {
                fx.push(Effect::KillStale { pgid });
            }
            if st.has_process() {
                // A service baton was stopping, or that no step needs any more, is done.
                let done = self.plan.steps[i].service.is_some()
                    && (self.steps[i].service.stopping.is_some() || !self.needed(i));
                if done {
                    let why = self.steps[i]
                        .service
                        .stopping
                        .clone()
                        .unwrap_or_else(|| "no step needs it any more".into());
                    let reason = format!("stopped by baton ({why}; the engine stopped first)");
                    self.succeed(i, Some(reason), now, fx);
                } else {
                    self.interrupt(i, "the engine stopped while this step was running", now, fx);
                }
            }
        }
    }

    /// On resume, a run not stopping: steps frozen when the engine stopped are held
    /// again, idempotent interrupted ones run again (or wait for a service they need),
    /// and a gate the engine left undecided gets its rule.
    fn restart_on_resume(&mut self, frozen: Vec<(usize, HoldRt)>, now: Timestamp, fx: &mut Fx) {
        for (i, h) in frozen {
            if self.steps[i].state == StepState::Interrupted && self.plan.steps[i].idempotent {
                let why = format!(
                    "{} (it was frozen when the engine stopped; released, it runs again)",
                    h.reason
                );
                let what = if h.budget {
                    hold::HoldFor::Budget
                } else {
                    hold::HoldFor::Operator
                };
                let hold = hold::Hold {
                    actor: &h.by,
                    reason: &why,
                    until: h.until,
                    what,
                };
                self.hold_one(i, hold, now, fx);
            }
        }
        for i in 0..self.steps.len() {
            let st = self.steps[i].state;
            let again = st == StepState::Interrupted && self.plan.steps[i].idempotent;
            // Services were stopped with the engine: what needs one waits for it.
            if (again || st == StepState::Queued)
                && let Some(d) = self.waits_on_service(i)
            {
                let why = format!("resumed: waits for `{}` to be ready", self.id(d));
                self.set(i, StepState::Pending, Some(why), now, fx);
                continue;
            }
            if again {
                self.set(
                    i,
                    StepState::Queued,
                    Some("resumed: runs again (idempotent)".into()),
                    now,
                    fx,
                );
            }
            // An engine killed between a gate's opening and its rule's decision:
            // the rules read recorded values, so they decide as they would have.
            if st == StepState::WaitingApproval && self.steps[i].gate.votes.is_empty() {
                self.apply_policy(i, now, fx);
            }
        }
    }

    // ---- plumbing -------------------------------------------------------------------

    fn emit(&mut self, kind: EventKind, now: Timestamp, fx: &mut Fx) {
        let ev = Event {
            seq: self.events.len() as u64 + 1,
            at: now,
            kind,
        };
        self.apply(&ev);
        let moved = match &ev.kind {
            EventKind::StepStateChanged { step, .. } | EventKind::StepMarked { step, .. } => {
                self.step_index(step)
            }
            _ => None,
        };
        self.events.push(&ev);
        fx.push(Effect::Persist(ev));
        if let Some(i) = moved {
            self.tell_dealt_with(i, now, fx);
        }
    }

    /// Step `i` moved: emit `step_dealt_with` for each step whose
    /// [`Core::failure_dealt_with`] no longer reads as the events told it. The move can
    /// change it for `i`, its fan-out parent (`allow_failure` of its instances) and, if
    /// `i` handles failures (`one_failed`/`all_failed`), for every step above it.
    fn tell_dealt_with(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        use baton_workflow::Trigger;
        self.tell_dealt_with_of(i, now, fx);
        if let Some(parent) = self.plan.steps[i].instance.as_ref().map(|x| x.parent) {
            self.tell_dealt_with_of(parent, now, fx);
        }
        if matches!(
            self.plan.steps[i].when,
            Trigger::OneFailed | Trigger::AllFailed
        ) {
            let mut seen = vec![false; self.steps.len()];
            let mut stack = self.plan.steps[i].needs.clone();
            while let Some(u) = stack.pop() {
                if u < seen.len() && !std::mem::replace(&mut seen[u], true) {
                    self.tell_dealt_with_of(u, now, fx);
                    stack.extend(&self.plan.steps[u].needs);
                }
            }
        }
    }

    fn tell_dealt_with_of(&mut self, u: usize, now: Timestamp, fx: &mut Fx) {
        let dealt_with = self.failure_dealt_with(u);
        if dealt_with != self.run_summary.dealt_with(&self.plan.steps[u].id) {
            let step = self.id(u);
            self.emit(EventKind::StepDealtWith { step, dealt_with }, now, fx);
        }
    }

    pub(super) fn mask(&self, s: &str) -> String {
        self.masker.mask(s).into_owned()
    }

    /// A child-run step's environment (`child::env`), naming what holds this run's secrets.
    pub(super) fn child_env(
        &self,
        path: &std::path::Path,
        params: BTreeMap<String, String>,
    ) -> Vec<(String, String)> {
        let secrets = crate::child::Secrets {
            holds: &|v: &str| self.holds_secret(v),
            env_names: self.secret_env_names(),
        };
        crate::child::env(path, params, self.cfg.auto_approve, &secrets)
    }

    /// The environment variables this run's secrets are read from: its `secrets = [...]`
    /// and its `[secrets]` entries `{ env = "…" }` (a child-run step names them).
    pub(super) fn secret_env_names(&self) -> Vec<String> {
        let mut names = self.plan.secrets.clone();
        names.extend(
            self.plan
                .secret_sources
                .iter()
                .filter_map(|s| s.source.env_var().map(str::to_string)),
        );
        names
    }

    /// Whether `s` holds one of the run's secrets (such a value is never kept).
    pub fn holds_secret(&self, s: &str) -> bool {
        self.masker.mask(s) != s
    }

    /// Refuse `command` on record (`CommandRefused` with the refusal's code, its text
    /// and the message masked). A command wrong as given ([`Refusal::fix_the_command`]:
    /// no reason, inputs that do not fit) decides nothing about the run: it is refused
    /// without a record, as nothing else about the run was read to refuse it.
    fn refuse(
        &mut self,
        command: &Command,
        refusal: &Refusal,
        now: Timestamp,
        fx: &mut Fx,
    ) -> CommandOutcome {
        let refusal = refusal.masked(&self.masker);
        if !refusal.fix_the_command() {
            let command = self.mask_command(command);
            self.emit(
                EventKind::CommandRefused {
                    command,
                    reason: refusal.to_string(),
                    code: Some(refusal.code().to_string()),
                },
                now,
                fx,
            );
        }
        CommandOutcome::Refused(refusal)
    }

    /// The command with its operator text masked by the run's secrets, and any text
    /// over the bound cut (`model::bounds`): what may be kept anywhere (the driver
    /// rewrites the `commands` row with it).
    pub fn mask_command(&self, c: &Command) -> Command {
        c.bounded().masked(&self.masker)
    }

    fn id(&self, i: usize) -> String {
        self.plan.steps[i].id.clone()
    }

    fn set(
        &mut self,
        i: usize,
        state: StepState,
        reason: Option<String>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let attempt = if state == StepState::Running {
            self.steps[i].attempts + 1
        } else {
            self.steps[i].attempts
        };
        let kind = EventKind::StepStateChanged {
            step: self.id(i),
            state,
            attempt,
            reason: reason.map(|r| self.mask(&r)),
        };
        self.emit(kind, now, fx);
    }

    fn step_error(&self, i: usize, kind: ErrorKind, msg: impl Into<String>) -> ErrorRecordBuilder {
        ErrorRecord::builder(kind, msg).step(self.id(i), self.steps[i].attempts)
    }

    fn succeed(&mut self, i: usize, reason: Option<String>, now: Timestamp, fx: &mut Fx) {
        if !self.steps[i].more.open_errors.is_empty() {
            let ids = self.steps[i]
                .more
                .open_errors
                .iter()
                .map(|&n| self.errors[n].id.clone())
                .collect();
            self.emit(
                EventKind::ErrorsClosed {
                    step: self.id(i),
                    ids,
                },
                now,
                fx,
            );
        }
        self.set(i, StepState::Succeeded, reason, now, fx);
    }

    /// The step runs again: the record that it was interrupted describes what is over.
    fn close_interrupted(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        self.close_of_kind(i, ErrorKind::Interrupted, now, fx);
    }

    /// Close step `i`'s open records of `kind`: what they describe is over.
    pub(super) fn close_of_kind(&mut self, i: usize, kind: ErrorKind, now: Timestamp, fx: &mut Fx) {
        let ids: Vec<String> = self.steps[i]
            .more
            .open_errors
            .iter()
            .filter(|&&n| self.errors[n].kind == kind)
            .map(|&n| self.errors[n].id.clone())
            .collect();
        if !ids.is_empty() {
            let step = self.id(i);
            self.emit(EventKind::ErrorsClosed { step, ids }, now, fx);
        }
    }

    fn interrupt(&mut self, i: usize, why: &str, now: Timestamp, fx: &mut Fx) {
        let b = self
            .step_error(i, ErrorKind::Interrupted, format!("interrupted: {why}"))
            .context("attempt", self.steps[i].attempts)
            .retryable(true);
        self.record(b, Cause::EngineStopped, false, now, fx);
        self.set(i, StepState::Interrupted, Some(why.to_string()), now, fx);
    }

    fn fail_template(&mut self, i: usize, why: TemplateFailure, now: Timestamp, fx: &mut Fx) {
        let msg = why.to_string();
        let cause = self.param_behind(i).map_or(Cause::Attempt, Cause::Param);
        let b = self
            .step_error(i, ErrorKind::TemplateError, msg.clone())
            .retryable(false);
        self.record(b, cause, false, now, fx);
        self.set(i, StepState::Failed, Some(msg), now, fx);
    }

    fn shutdown(&mut self, reason: &str, now: Timestamp, fx: &mut Fx) {
        if self.finished || self.run_state == RunState::Interrupted {
            return;
        }
        for i in 0..self.steps.len() {
            if self.steps[i].state.has_process() {
                self.stop_with_engine(i, reason, now, fx);
            }
        }
        self.interrupt_run(reason, now, fx);
    }

    /// Step `i`'s process is killed with its engine: it is interrupted.
    fn stop_with_engine(&mut self, i: usize, reason: &str, now: Timestamp, fx: &mut Fx) {
        fx.push(Effect::Kill {
            step: i,
            attempt: self.steps[i].attempts,
        });
        self.interrupt(i, &format!("the engine stopped ({reason})"), now, fx);
    }

    fn interrupt_run(&mut self, reason: &str, now: Timestamp, fx: &mut Fx) {
        let kind = EventKind::RunStateChanged {
            state: RunState::Interrupted,
            reason: Some(reason.to_string()),
        };
        self.emit(kind, now, fx);
    }
}
