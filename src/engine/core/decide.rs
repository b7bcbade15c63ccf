//! Decisions: inputs and timers in, events (applied at once) and effects out.
mod jobs;

use super::*;
use crate::engine::{digest, retry};
use crate::model::error::ErrorRecordBuilder;
use crate::model::time::human_duration;
use crate::model::{ErrorKind, EventKind, Severity};
use crate::workflow::{Action, OnTimeout, Template, TemplateRef, Trigger};

type Fx = Vec<Effect>;

/// A step's command and environment with every template rendered (unmasked).
struct Resolved {
    action: Option<SpawnAction>,
    /// What the approval digest binds to.
    digest_action: String,
    env: BTreeMap<String, String>,
}

impl Core {
    /// Start a new run: `RunStarted`, the run running, and the first spawns.
    pub fn start(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut fx = Vec::new();
        if !self.events.is_empty() {
            return fx;
        }
        let params = self
            .cfg
            .params
            .iter()
            .map(|(k, v)| (k.clone(), self.mask(v)))
            .collect();
        let kind = EventKind::RunStarted {
            workflow: self.plan.name.clone(),
            operator: self.cfg.operator.clone(),
            params,
            seed: self.cfg.seed,
        };
        self.emit(kind, now, &mut fx);
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
        let mut fx = Vec::new();
        if self.events.is_empty() {
            if let Input::Command { id, .. } = input {
                fx.push(Effect::CommandDone {
                    id,
                    outcome: CommandOutcome::Refused {
                        reason: "the run has not started".into(),
                    },
                });
            }
            return fx;
        }
        match input {
            Input::Tick => {}
            Input::ProcessStarted {
                step,
                attempt,
                pgid,
            } => {
                if let Some(s) = self.steps.get(step)
                    && s.attempts == attempt
                {
                    if s.state == StepState::Running {
                        let id = self.plan.steps[step].id.clone();
                        self.emit(
                            EventKind::StepProcess {
                                step: id,
                                attempt,
                                pgid,
                            },
                            now,
                            &mut fx,
                        );
                    } else {
                        fx.push(Effect::KillStale { pgid });
                    }
                }
            }
            Input::JobStarted {
                step,
                attempt,
                executor,
                job_id,
            } => self.on_job_started(step, attempt, executor, job_id, now, &mut fx),
            Input::StepExited {
                step,
                attempt,
                outcome,
                duration_ms,
                outputs,
                usage,
                stderr_tail,
            } => self.on_exit(
                step,
                attempt,
                outcome,
                duration_ms,
                outputs,
                usage,
                &stderr_tail,
                now,
                &mut fx,
            ),
            Input::CompensationExited {
                step,
                outcome,
                duration_ms,
                stderr_tail,
            } => self.on_compensation_exit(step, outcome, duration_ms, &stderr_tail, now, &mut fx),
            Input::Command { id, command } => {
                let result = if self.run_state == RunState::Interrupted {
                    Err("the run is interrupted; `baton resume RUN` continues it".to_string())
                } else {
                    self.on_command(&command, now, &mut fx)
                };
                let outcome = match result {
                    Ok(message) => CommandOutcome::Accepted { message },
                    Err(reason) => {
                        let reason = self.mask(&reason);
                        let command = self.mask_command(&command);
                        self.emit(
                            EventKind::CommandRefused {
                                command,
                                reason: reason.clone(),
                            },
                            now,
                            &mut fx,
                        );
                        CommandOutcome::Refused { reason }
                    }
                };
                fx.push(Effect::CommandDone { id, outcome });
            }
            Input::Shutdown { reason } => self.shutdown(&reason, now, &mut fx),
        }
        self.settle(now, &mut fx);
        fx
    }

    /// After `replay`: kill what the dead engine left, mark its running steps
    /// interrupted, re-queue the idempotent ones and continue.
    pub fn resume(&mut self, operator: &str, now: Timestamp) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.events.is_empty() || self.finished {
            return fx;
        }
        self.emit(
            EventKind::RunResumed {
                operator: operator.to_string(),
            },
            now,
            &mut fx,
        );
        for i in 0..self.steps.len() {
            if self.reattach(i, now, &mut fx) {
                continue;
            }
            let st = self.steps[i].state;
            if let Some(pgid) = self.steps[i].pgid
                && matches!(st, StepState::Running | StepState::Interrupted)
            {
                fx.push(Effect::KillStale { pgid });
            }
            if st == StepState::Running {
                self.interrupt(
                    i,
                    "the engine stopped while this step was running",
                    now,
                    &mut fx,
                );
            }
        }
        let restore = self.decided.unwrap_or(RunState::Running);
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
        } else {
            for i in 0..self.steps.len() {
                if self.steps[i].state == StepState::Interrupted && self.plan.steps[i].idempotent {
                    self.set(
                        i,
                        StepState::Queued,
                        Some("resumed: runs again (idempotent)".into()),
                        now,
                        &mut fx,
                    );
                }
            }
        }
        for i in 0..self.steps.len() {
            if self.steps[i].state == StepState::Compensating {
                let spec = self.compensation_spec(i);
                fx.extend(spec.map(Effect::Compensate));
            }
        }
        self.settle(now, &mut fx);
        fx
    }

    // ---- plumbing -------------------------------------------------------------------

    fn emit(&mut self, kind: EventKind, now: Timestamp, fx: &mut Fx) {
        let ev = Event {
            seq: self.events.len() as u64 + 1,
            at: now,
            kind,
        };
        self.apply(&ev);
        fx.push(Effect::Persist(ev.clone()));
        self.events.push(ev);
    }

    pub(super) fn mask(&self, s: &str) -> String {
        self.masker.mask(s).into_owned()
    }

    fn mask_command(&self, c: &Command) -> Command {
        let mut c = c.clone();
        match &mut c {
            Command::Approve { reason, .. } | Command::Cancel { reason, .. } => {
                if let Some(r) = reason {
                    *r = self.mask(r);
                }
            }
            Command::Reject { reason, .. }
            | Command::Mark { reason, .. }
            | Command::RaiseBudget { reason, .. } => *reason = self.mask(reason),
            Command::Retry { .. } => {}
        }
        c
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

    fn record(&mut self, b: ErrorRecordBuilder, now: Timestamp, fx: &mut Fx) {
        let mut rec = b.run(self.cfg.run_id.clone()).build(now);
        if self.error_ids.contains_key(&rec.id) {
            let base = rec.id.clone();
            let mut n = 2;
            while self.error_ids.contains_key(&format!("{base}.{n}")) {
                n += 1;
            }
            rec.id = format!("{base}.{n}");
        }
        rec.message = self.mask(&rec.message);
        for v in rec.context.values_mut() {
            *v = self.masker.mask(v).into_owned();
        }
        self.emit(EventKind::ErrorRecorded { error: rec }, now, fx);
    }

    fn step_error(&self, i: usize, kind: ErrorKind, msg: impl Into<String>) -> ErrorRecordBuilder {
        ErrorRecord::builder(kind, msg).step(self.id(i), self.steps[i].attempts)
    }

    fn succeed(&mut self, i: usize, reason: Option<String>, now: Timestamp, fx: &mut Fx) {
        if !self.steps[i].open_errors.is_empty() {
            let ids = self.steps[i]
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

    fn interrupt(&mut self, i: usize, why: &str, now: Timestamp, fx: &mut Fx) {
        let b = self
            .step_error(i, ErrorKind::Interrupted, format!("interrupted: {why}"))
            .context("attempt", self.steps[i].attempts)
            .retryable(true)
            .suggestion(if self.plan.steps[i].idempotent {
                format!("`baton resume {}` runs the step again", self.cfg.run_id)
            } else {
                format!(
                    "the step is not idempotent: check what it did, then `baton retry {r} {s}` or `baton mark {r} {s} --state succeeded --reason …`",
                    r = self.cfg.run_id,
                    s = self.id(i)
                )
            });
        self.record(b, now, fx);
        self.set(i, StepState::Interrupted, Some(why.to_string()), now, fx);
    }

    fn render(&self, t: &Template) -> Result<String, String> {
        t.render(|r| match r {
            TemplateRef::StepOutput { step, key, .. } => {
                self.steps.get(*step)?.outputs.get(key).cloned()
            }
            TemplateRef::Param(p) => self.cfg.params.get(p).cloned(),
            TemplateRef::Env(e) => self.run_env.get(e)?.as_ref().ok().cloned(),
            TemplateRef::RunId => Some(self.cfg.run_id.clone()),
        })
    }

    fn resolve(&self, i: usize) -> Result<Resolved, String> {
        let step = &self.plan.steps[i];
        let mut env = BTreeMap::new();
        for (k, v) in &self.cfg.params {
            env.insert(
                format!("BATON_PARAM_{}", k.to_uppercase().replace('-', "_")),
                v.clone(),
            );
        }
        for (k, v) in &self.run_env {
            match v {
                Ok(v) => env.insert(k.clone(), v.clone()),
                Err(r) => return Err(format!("run env {k}: cannot resolve `{r}`")),
            };
        }
        for (k, t) in &step.env {
            let v = self
                .render(t)
                .map_err(|r| format!("env {k}: cannot resolve `{r}`"))?;
            env.insert(k.clone(), v);
        }
        let mut with = BTreeMap::new();
        for (k, t) in &step.with {
            let v = self
                .render(t)
                .map_err(|r| format!("with {k}: cannot resolve `{r}`"))?;
            with.insert(k.clone(), v);
        }
        let (action, digest_action) = match &step.action {
            Action::Shell { run } => (
                Some(SpawnAction::Shell {
                    command: run.clone(),
                }),
                run.clone(),
            ),
            Action::Tool { run, .. } => {
                env.extend(with);
                (
                    Some(SpawnAction::Shell {
                        command: run.clone(),
                    }),
                    run.clone(),
                )
            }
            Action::Builtin(b) => {
                let d = format!(
                    "{} {}",
                    b.name(),
                    with.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                (Some(SpawnAction::Builtin { builtin: *b, with }), d)
            }
            Action::None => (None, "gate".to_string()),
        };
        env.insert("BATON_RUN_ID".into(), self.cfg.run_id.clone());
        env.insert("BATON_STEP_ID".into(), step.id.clone());
        Ok(Resolved {
            action,
            digest_action,
            env,
        })
    }

    fn digest_of(&self, r: &Resolved) -> String {
        let env: Vec<(String, String)> =
            r.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        digest::approval_digest(&r.digest_action, &env, &self.cfg.params, &self.masker)
    }

    fn spec(
        &self,
        i: usize,
        attempt: u32,
        action: SpawnAction,
        mut env: BTreeMap<String, String>,
    ) -> SpawnSpec {
        let step = &self.plan.steps[i];
        env.insert("BATON_ATTEMPT".into(), attempt.to_string());
        let dir = match &step.dir {
            Some(d) if d.is_absolute() => d.clone(),
            Some(d) => self.plan.base_dir.join(d),
            None => self.plan.base_dir.clone(),
        };
        SpawnSpec {
            step: i,
            step_id: step.id.clone(),
            attempt,
            action,
            dir,
            env: env.into_iter().collect(),
            timeout: step.timeout,
            secret_values: self.cfg.secret_values.clone(),
        }
    }

    fn compensation_spec(&self, i: usize) -> Option<SpawnSpec> {
        let command = self.plan.steps[i].compensate.clone()?;
        let env = match self.resolve(i) {
            Ok(r) => r.env,
            Err(_) => BTreeMap::from([
                ("BATON_RUN_ID".to_string(), self.cfg.run_id.clone()),
                ("BATON_STEP_ID".to_string(), self.id(i)),
            ]),
        };
        let mut spec = self.spec(
            i,
            self.steps[i].attempts,
            SpawnAction::Shell { command },
            env,
        );
        spec.timeout = self.plan.steps[i].timeout;
        Some(spec)
    }

    fn suggestion(&self, i: usize, kind: ErrorKind, will_retry: bool) -> String {
        let (r, s) = (&self.cfg.run_id, self.id(i));
        let fix = match kind {
            ErrorKind::ExitNonzero => format!(
                "read the log (`baton logs {r} {s}`), fix the command, then `baton retry {r} {s}`"
            ),
            ErrorKind::KilledBySignal => format!(
                "find what killed the process (OOM killer, an operator), then `baton retry {r} {s}`"
            ),
            ErrorKind::Timeout => {
                let t = self.plan.steps[i]
                    .timeout
                    .map(human_duration)
                    .unwrap_or_else(|| "none".into());
                format!(
                    "raise the step's `timeout` (now {t}) or make the command faster, then `baton retry {r} {s}`"
                )
            }
            ErrorKind::SpawnFailed => format!(
                "check that the command exists and the step's `dir` is right, then `baton retry {r} {s}`"
            ),
            ErrorKind::OutputInvalid => format!(
                "make the step append the declared outputs as key=value lines to $BATON_OUTPUT, then `baton retry {r} {s}`"
            ),
            ErrorKind::TemplateError => format!(
                "fix the `${{{{ … }}}}` reference in the workflow (the output must exist), then `baton retry {r} {s}`"
            ),
            other => crate::model::error::default_suggestion(other).to_string(),
        };
        if will_retry {
            format!("baton retries it automatically; if it keeps failing: {fix}")
        } else {
            fix
        }
    }

    fn fail_template(&mut self, i: usize, msg: String, now: Timestamp, fx: &mut Fx) {
        let sug = self.suggestion(i, ErrorKind::TemplateError, false);
        let b = self
            .step_error(i, ErrorKind::TemplateError, msg.clone())
            .retryable(false)
            .suggestion(sug);
        self.record(b, now, fx);
        self.set(i, StepState::Failed, Some(msg), now, fx);
    }

    // ---- the loop -------------------------------------------------------------------

    fn settle(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.finished || matches!(self.run_state, RunState::Interrupted | RunState::Pending) {
            return;
        }
        loop {
            let before = self.events.len();
            self.fire_timers(now, fx);
            if self.stopping() {
                self.to_eval.clear();
            } else {
                self.eval_ready(now, fx);
                self.schedule(now, fx);
            }
            self.advance_run(now, fx);
            if self.events.len() == before || self.finished {
                break;
            }
        }
    }

    fn fire_timers(&mut self, now: Timestamp, fx: &mut Fx) {
        while let Some(&(t, timer)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.remove(&(t, timer));
            match timer {
                Timer::RunDeadline => {
                    if !self.finished && self.decided.is_none() && !self.cancel_requested {
                        self.run_timeout(now, fx);
                    }
                }
                Timer::Retry(i) => {
                    self.steps[i].retry_at = None;
                    if self.steps[i].state == StepState::RetryWait && !self.stopping() {
                        let next = self.steps[i].attempts + 1;
                        self.set(
                            i,
                            StepState::Queued,
                            Some(format!("retry: attempt {next} due")),
                            now,
                            fx,
                        );
                    }
                }
                Timer::StepTimeout(i) => {
                    self.steps[i].timeout_at = None;
                    let s = &mut self.steps[i];
                    if s.state == StepState::Running && !s.kill_sent {
                        s.kill_sent = true;
                        s.timeout_kill = true;
                        fx.push(Effect::Kill {
                            step: i,
                            attempt: s.attempts,
                        });
                    }
                }
                Timer::GateWarn(i) => {
                    self.steps[i].gate.warn_at = None;
                    let g = &self.steps[i].gate;
                    if self.steps[i].state == StepState::WaitingApproval
                        && !g.warned
                        && let Some(deadline) = g.deadline
                    {
                        self.emit(
                            EventKind::GateWarning {
                                step: self.id(i),
                                deadline,
                            },
                            now,
                            fx,
                        );
                    }
                }
                Timer::GateDeadline(i) => {
                    if self.steps[i].state == StepState::WaitingApproval {
                        self.gate_timeout(i, now, fx);
                    }
                }
            }
        }
    }

    fn run_timeout(&mut self, now: Timestamp, fx: &mut Fx) {
        let t = self.plan.timeout.map(human_duration).unwrap_or_default();
        let reason = if let Some(bg) = &self.budget_gate {
            let msg = format!(
                "the run timed out after {t} waiting at the budget gate ({}: {} used of {})",
                bg.dimension, bg.used, bg.limit
            );
            let b = ErrorRecord::builder(ErrorKind::BudgetExceeded, msg.clone())
                .context("dimension", &bg.dimension)
                .context("used", bg.used)
                .context("limit", bg.limit)
                .retryable(false)
                .suggestion("raise the budget sooner (`baton approve RUN budget --raise …`) or give the run more time");
            self.record(b, now, fx);
            msg
        } else {
            let msg = format!("the run exceeded its timeout of {t}");
            let b = ErrorRecord::builder(ErrorKind::Timeout, msg.clone())
                .retryable(false)
                .suggestion(
                    "raise the workflow's `timeout` or make the slow steps faster, then run again",
                );
            self.record(b, now, fx);
            msg
        };
        self.emit(
            EventKind::RunStateChanged {
                state: RunState::Failed,
                reason: Some(reason.clone()),
            },
            now,
            fx,
        );
        self.stop_all(StepState::Skipped, &reason, now, fx);
    }

    /// Kill every running attempt; every step not settled goes to `target`.
    fn stop_all(&mut self, target: StepState, reason: &str, now: Timestamp, fx: &mut Fx) {
        for i in 0..self.steps.len() {
            let st = self.steps[i].state;
            if st == StepState::Running {
                if !self.steps[i].kill_sent {
                    self.steps[i].kill_sent = true;
                    fx.push(Effect::Kill {
                        step: i,
                        attempt: self.steps[i].attempts,
                    });
                }
            } else if !settled(st) {
                self.set(i, target, Some(reason.to_string()), now, fx);
            }
        }
    }

    fn eval_ready(&mut self, now: Timestamp, fx: &mut Fx) {
        while let Some(i) = self.to_eval.pop_front() {
            if self.steps[i].state != StepState::Pending || self.steps[i].unsettled_needs != 0 {
                continue;
            }
            let plan = Arc::clone(&self.plan);
            let step = &plan.steps[i];
            let failed_need = step
                .needs
                .iter()
                .copied()
                .find(|&d| self.steps[d].state.is_failure());
            let not_ok = step
                .needs
                .iter()
                .copied()
                .find(|&d| !self.steps[d].state.is_success());
            let skip = match step.when {
                Trigger::AllSuccess => not_ok.map(|d| {
                    format!(
                        "needs `{}`, which is {}",
                        plan.steps[d].id, self.steps[d].state
                    )
                }),
                Trigger::AllDone => None,
                Trigger::AnyFailed => failed_need
                    .is_none()
                    .then(|| "no need failed (when = any_failed)".to_string()),
            };
            if let Some(reason) = skip {
                if step.when == Trigger::AllSuccess
                    && let Some(d) = failed_need
                {
                    let b = self
                        .step_error(
                            i,
                            ErrorKind::DependencyFailed,
                            format!("skipped: `{}` {}", plan.steps[d].id, self.steps[d].state),
                        )
                        .context("need", &plan.steps[d].id)
                        .retryable(false);
                    self.record(b, now, fx);
                }
                self.set(i, StepState::Skipped, Some(reason), now, fx);
            } else if step.gate.is_some() && self.steps[i].gate.approved.is_none() {
                self.open_gate(i, now, fx);
            } else if step.action == Action::None {
                self.succeed(i, None, now, fx);
            } else {
                self.set(i, StepState::Queued, None, now, fx);
            }
        }
    }

    fn open_gate(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        let plan = Arc::clone(&self.plan);
        let Some(g) = plan.steps[i].gate.as_ref() else {
            return;
        };
        let prompt = match self.render(&g.prompt) {
            Ok(p) => p,
            Err(r) => {
                return self.fail_template(
                    i,
                    format!("gate prompt: cannot resolve `{r}`"),
                    now,
                    fx,
                );
            }
        };
        let resolved = match self.resolve(i) {
            Ok(r) => r,
            Err(m) => return self.fail_template(i, m, now, fx),
        };
        let digest = self.digest_of(&resolved);
        self.set(i, StepState::WaitingApproval, None, now, fx);
        let kind = EventKind::GateOpened {
            step: self.id(i),
            prompt: self.mask(&prompt),
            deadline: g.timeout.map(|t| now.add(t)),
            digest: digest.clone(),
            approvers: g.approvers.clone(),
            quorum: g.quorum.max(1),
        };
        self.emit(kind, now, fx);
        if self.cfg.auto_approve {
            let step = self.id(i);
            self.emit(
                EventKind::ApprovalGiven {
                    step: step.clone(),
                    actor: "auto".into(),
                    reason: Some("--auto-approve".into()),
                    digest,
                },
                now,
                fx,
            );
            self.emit(
                EventKind::GateApproved {
                    step,
                    actor: "auto".into(),
                    approvers: vec!["auto".into()],
                },
                now,
                fx,
            );
            self.after_approval(i, now, fx);
        }
    }

    fn after_approval(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        if self.plan.steps[i].action == Action::None {
            self.succeed(i, Some("approved".into()), now, fx);
        } else {
            self.set(i, StepState::Queued, Some("approved".into()), now, fx);
        }
    }

    fn gate_timeout(&mut self, i: usize, now: Timestamp, fx: &mut Fx) {
        let plan = Arc::clone(&self.plan);
        let Some(g) = plan.steps[i].gate.as_ref() else {
            return;
        };
        let t = g.timeout.map(human_duration).unwrap_or_default();
        let step = self.id(i);
        match g.on_timeout {
            OnTimeout::Approve => {
                let approvers = self.steps[i]
                    .gate
                    .votes
                    .iter()
                    .map(|v| v.0.clone())
                    .collect();
                self.emit(
                    EventKind::GateApproved {
                        step,
                        actor: "engine".into(),
                        approvers,
                    },
                    now,
                    fx,
                );
                self.after_approval(i, now, fx);
            }
            OnTimeout::Reject | OnTimeout::Fail => {
                let policy = g.on_timeout.as_str();
                let reason = format!("no decision within {t} (on_timeout = {policy})");
                self.emit(
                    EventKind::GateRejected {
                        step: step.clone(),
                        actor: "engine".into(),
                        reason: reason.clone(),
                        timed_out: true,
                    },
                    now,
                    fx,
                );
                let b = self
                    .step_error(i, ErrorKind::GateTimeout, format!("gate timed out: {reason}"))
                    .context("timeout", &t)
                    .context("votes", self.steps[i].gate.votes.len())
                    .suggestion(format!(
                        "approve sooner or raise the gate's `timeout`, then `baton retry {} {step}`",
                        self.cfg.run_id
                    ));
                self.record(b, now, fx);
                let target = if g.on_timeout == OnTimeout::Reject {
                    StepState::Rejected
                } else {
                    StepState::Failed
                };
                self.set(i, target, Some(reason), now, fx);
            }
        }
    }

    /// The oldest queued step that may start now: its pool has room and a rate token.
    fn pick(&mut self, now: Timestamp) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for l in 0..self.lanes.len() {
            while let Some(&(t, s)) = self.lanes[l].queue.front() {
                if self.steps[s].state == StepState::Queued && self.steps[s].queue_ticket == t {
                    break;
                }
                self.lanes[l].queue.pop_front();
            }
            let lane = &self.lanes[l];
            let Some(&(t, _)) = lane.queue.front() else {
                continue;
            };
            if lane.running >= lane.capacity
                || lane.bucket.as_ref().is_some_and(|b| !b.available(now))
            {
                continue;
            }
            if best.is_none_or(|(bt, _)| t < bt) {
                best = Some((t, l));
            }
        }
        best.and_then(|(_, l)| self.lanes[l].queue.front().map(|&(_, s)| s))
    }

    fn budget_block(&self, i: usize) -> Option<(&'static str, f64, f64)> {
        let b = &self.ceilings;
        if let Some(c) = b.calls
            && self.used_calls + 1 > c
        {
            return Some(("calls", self.used_calls as f64, c as f64));
        }
        if let Some(c) = b.cost
            && self.used_cost + self.plan.steps[i].cost > c + 1e-9
        {
            return Some(("cost", self.used_cost, c));
        }
        if let Some(c) = b.tokens
            && self.used_tokens >= c
        {
            return Some(("tokens", self.used_tokens as f64, c as f64));
        }
        None
    }

    fn schedule(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.budget_gate.is_some() || self.stopping() {
            return;
        }
        while self.counts[si(StepState::Running)] < self.max_parallel {
            let Some(i) = self.pick(now) else {
                break;
            };
            if let Some((dimension, used, limit)) = self.budget_block(i) {
                let kind = EventKind::BudgetExceeded {
                    dimension: dimension.into(),
                    used,
                    limit,
                    step: Some(self.id(i)),
                };
                self.emit(kind, now, fx);
                break;
            }
            let resolved = match self.resolve(i) {
                Ok(r) => r,
                Err(m) => {
                    self.fail_template(i, m, now, fx);
                    continue;
                }
            };
            if self.plan.steps[i].gate.is_some() {
                let d = self.digest_of(&resolved);
                let approved = self.steps[i].gate.approved.clone();
                if approved.as_deref() != Some(d.as_str()) {
                    if approved.is_some() {
                        let kind = EventKind::GateVoided {
                            step: self.id(i),
                            reason: "what would run changed since the approval (digest mismatch)"
                                .into(),
                        };
                        self.emit(kind, now, fx);
                    }
                    self.open_gate(i, now, fx);
                    continue;
                }
            }
            let Some(action) = resolved.action else {
                self.succeed(i, Some("approved".into()), now, fx);
                continue;
            };
            let attempt = self.steps[i].attempts + 1;
            self.set(i, StepState::Running, None, now, fx);
            let spec = self.spec(i, attempt, action, resolved.env);
            fx.push(Effect::Spawn(spec));
        }
    }

    fn advance_run(&mut self, now: Timestamp, fx: &mut Fx) {
        if self.finished {
            return;
        }
        let running = self.counts[si(StepState::Running)];
        if self.cancel_requested && self.decided.is_none() {
            if running == 0 {
                let kind = EventKind::RunStateChanged {
                    state: RunState::Cancelled,
                    reason: Some("cancelled".into()),
                };
                self.emit(kind, now, fx);
            }
            return;
        }
        if let Some(outcome) = self.decided {
            if running > 0 || self.counts[si(StepState::Compensating)] > 0 {
                return;
            }
            if outcome != RunState::Succeeded
                && let Some(i) = self.next_compensation()
            {
                self.emit(EventKind::CompensationStarted { step: self.id(i) }, now, fx);
                self.set(
                    i,
                    StepState::Compensating,
                    Some("undoing (saga)".into()),
                    now,
                    fx,
                );
                fx.extend(self.compensation_spec(i).map(Effect::Compensate));
                return;
            }
            let summary = self.summary(outcome);
            self.emit(
                EventKind::RunFinished {
                    state: outcome,
                    summary,
                },
                now,
                fx,
            );
            return;
        }
        if self.unsettled == 0 {
            let failed = self.counts[si(StepState::Failed)] + self.counts[si(StepState::Rejected)];
            let (state, reason) = if failed > 0 {
                (
                    RunState::Failed,
                    Some(format!("{failed} step(s) failed or were rejected")),
                )
            } else {
                (RunState::Succeeded, None)
            };
            self.emit(EventKind::RunStateChanged { state, reason }, now, fx);
            return;
        }
        let c = |s| self.counts[si(s)];
        let budget = self.budget_gate.is_some();
        let waiting = running == 0
            && c(StepState::RetryWait) == 0
            && (c(StepState::Queued) == 0 || budget)
            && (c(StepState::WaitingApproval) > 0 || budget || c(StepState::Interrupted) > 0);
        let want = if waiting {
            RunState::Waiting
        } else {
            RunState::Running
        };
        if want != self.run_state {
            self.emit(
                EventKind::RunStateChanged {
                    state: want,
                    reason: None,
                },
                now,
                fx,
            );
        }
    }

    fn next_compensation(&self) -> Option<usize> {
        self.completion.iter().rev().copied().find(|&i| {
            self.steps[i].state == StepState::Succeeded && self.plan.steps[i].compensate.is_some()
        })
    }

    fn summary(&self, outcome: RunState) -> String {
        let c = |s| self.counts[si(s)];
        let mut parts = Vec::new();
        for s in [
            StepState::Succeeded,
            StepState::Failed,
            StepState::Rejected,
            StepState::Skipped,
            StepState::Cancelled,
        ] {
            if c(s) > 0 {
                parts.push(format!("{} {s}", c(s)));
            }
        }
        let mut line = format!(
            "{outcome}: {}",
            if parts.is_empty() {
                "no steps".into()
            } else {
                parts.join(", ")
            }
        );
        let names = |pred: &dyn Fn(usize) -> bool| -> Vec<String> {
            let mut v: Vec<String> = (0..self.steps.len())
                .filter(|&i| pred(i))
                .map(|i| self.id(i))
                .collect();
            if v.len() > 10 {
                let more = v.len() - 10;
                v.truncate(10);
                v.push(format!("and {more} more"));
            }
            v
        };
        let undone = names(&|i| self.steps[i].state == StepState::Compensated);
        let failed = names(&|i| self.steps[i].state == StepState::CompensationFailed);
        if !undone.is_empty() {
            line.push_str(&format!("; undone: {}", undone.join(", ")));
        }
        if !failed.is_empty() {
            line.push_str(&format!(
                "; not undone (compensation failed): {}",
                failed.join(", ")
            ));
        }
        if outcome != RunState::Succeeded {
            let kept = names(&|i| self.steps[i].state == StepState::Succeeded);
            if !kept.is_empty() {
                line.push_str(&format!(
                    "; not undone (no compensate): {}",
                    kept.join(", ")
                ));
            }
        }
        line
    }

    // ---- inputs ---------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn on_exit(
        &mut self,
        i: usize,
        attempt: u32,
        outcome: StepOutcome,
        duration_ms: u64,
        outputs: Vec<(String, String)>,
        usage: Usage,
        stderr_tail: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let Some(s) = self.steps.get(i) else {
            return;
        };
        if s.state != StepState::Running || s.attempts != attempt {
            return;
        }
        let outcome = match outcome {
            StepOutcome::Killed | StepOutcome::Signalled { .. } if s.timeout_kill => {
                StepOutcome::TimedOut
            }
            StepOutcome::SpawnFailed { message } => StepOutcome::SpawnFailed {
                message: self.mask(&message),
            },
            o => o,
        };
        let plan = Arc::clone(&self.plan);
        let step = &plan.steps[i];
        let raw: BTreeMap<&str, &str> = outputs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut invalid = None;
        for (k, spec) in &step.outputs {
            match raw.get(k.as_str()) {
                None => {
                    invalid.get_or_insert_with(|| format!("declared output `{k}` is missing"));
                }
                Some(v) => {
                    if let Some(p) = &spec.pattern
                        && !p.is_match(v)
                    {
                        invalid.get_or_insert_with(|| {
                            format!(
                                "output `{k}` = `{}` does not match `{}`",
                                self.mask(v),
                                p.as_str()
                            )
                        });
                    }
                }
            }
        }
        let masked = raw
            .iter()
            .map(|(k, v)| (k.to_string(), self.mask(v)))
            .collect();
        let kind = EventKind::StepFinished {
            step: step.id.clone(),
            attempt,
            outcome: outcome.clone(),
            duration_ms,
            outputs: masked,
            usage,
        };
        self.emit(kind, now, fx);

        let tail = self.mask(stderr_tail);
        let with_context = |b: ErrorRecordBuilder| {
            let mut b = b
                .context("attempt", attempt)
                .context("duration_ms", duration_ms)
                .context("stderr_tail", &tail);
            match &outcome {
                StepOutcome::Exited { exit_code } => b = b.context("exit_code", exit_code),
                StepOutcome::Signalled { signal } => b = b.context("signal", signal),
                _ => {}
            }
            b
        };
        if self.cancel_requested {
            let b = with_context(self.step_error(
                i,
                ErrorKind::Cancelled,
                "killed: the run was cancelled",
            ));
            self.record(b, now, fx);
            self.set(
                i,
                StepState::Cancelled,
                Some("the run was cancelled".into()),
                now,
                fx,
            );
            return;
        }
        if self.decided.is_some() {
            let b =
                with_context(self.step_error(i, ErrorKind::Timeout, "killed: the run timed out"))
                    .retryable(false);
            self.record(b, now, fx);
            self.set(
                i,
                StepState::Failed,
                Some("the run timed out".into()),
                now,
                fx,
            );
            return;
        }
        let (kind, msg) = match &outcome {
            StepOutcome::Exited { exit_code: 0 } => match invalid {
                None => return self.succeed(i, None, now, fx),
                Some(m) => (ErrorKind::OutputInvalid, m),
            },
            StepOutcome::Exited { exit_code } => (
                ErrorKind::ExitNonzero,
                format!("exited with code {exit_code}"),
            ),
            StepOutcome::Signalled { signal } => (
                ErrorKind::KilledBySignal,
                format!("killed by signal {signal}"),
            ),
            StepOutcome::Killed => (ErrorKind::KilledBySignal, "killed".to_string()),
            StepOutcome::TimedOut => (
                ErrorKind::Timeout,
                format!(
                    "timed out after {}",
                    step.timeout.map(human_duration).unwrap_or_default()
                ),
            ),
            StepOutcome::SpawnFailed { message } => (
                ErrorKind::SpawnFailed,
                format!("could not start: {message}"),
            ),
            StepOutcome::Lost { reason } => (ErrorKind::Interrupted, reason.clone()),
        };
        let retryable = matches!(
            kind,
            ErrorKind::ExitNonzero | ErrorKind::KilledBySignal | ErrorKind::Timeout
        ) || matches!(outcome, StepOutcome::Lost { .. });
        let used = attempt.saturating_sub(self.steps[i].attempt_base);
        let will_retry = retryable && used < step.retry.attempts;
        let sug = self.suggestion(i, kind, will_retry);
        let b = with_context(self.step_error(i, kind, msg.clone()))
            .retryable(retryable)
            .suggestion(sug);
        self.record(b, now, fx);
        if will_retry {
            let due = now.add(retry::delay(&step.retry, used, self.seed, i));
            let kind = EventKind::RetryScheduled {
                step: step.id.clone(),
                next_attempt: attempt + 1,
                due,
            };
            self.emit(kind, now, fx);
            let reason = format!(
                "{msg}; attempt {} of {} at {}",
                used + 1,
                step.retry.attempts,
                due.to_rfc3339()
            );
            self.set(i, StepState::RetryWait, Some(reason), now, fx);
        } else {
            self.set(i, StepState::Failed, Some(msg), now, fx);
        }
    }

    fn on_compensation_exit(
        &mut self,
        i: usize,
        outcome: StepOutcome,
        duration_ms: u64,
        stderr_tail: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        if self.steps.get(i).map(|s| s.state) != Some(StepState::Compensating) {
            return;
        }
        let exit_code = match outcome {
            StepOutcome::Exited { exit_code } => Some(exit_code),
            _ => None,
        };
        let ok = exit_code == Some(0);
        self.emit(
            EventKind::CompensationFinished {
                step: self.id(i),
                ok,
                exit_code,
            },
            now,
            fx,
        );
        if ok {
            self.set(i, StepState::Compensated, Some("undone".into()), now, fx);
        } else {
            let msg = match &outcome {
                StepOutcome::Exited { exit_code } => {
                    format!("compensation exited with code {exit_code}")
                }
                StepOutcome::Signalled { signal } => {
                    format!("compensation killed by signal {signal}")
                }
                StepOutcome::TimedOut => "compensation timed out".into(),
                StepOutcome::Killed => "compensation killed".into(),
                StepOutcome::SpawnFailed { message } => {
                    format!("compensation could not start: {message}")
                }
                StepOutcome::Lost { reason } => format!("compensation lost: {reason}"),
            };
            let mut b = self
                .step_error(i, ErrorKind::CompensationFailed, msg.clone())
                .severity(Severity::Critical)
                .retryable(false)
                .context("duration_ms", duration_ms)
                .context("stderr_tail", self.mask(stderr_tail))
                .suggestion(format!(
                    "undo `{s}` by hand, then record it: `baton mark {r} {s} --state failed --reason …`",
                    s = self.id(i),
                    r = self.cfg.run_id
                ));
            if let Some(c) = exit_code {
                b = b.context("exit_code", c);
            }
            self.record(b, now, fx);
            self.set(i, StepState::CompensationFailed, Some(msg), now, fx);
        }
    }

    fn shutdown(&mut self, reason: &str, now: Timestamp, fx: &mut Fx) {
        if self.finished || self.run_state == RunState::Interrupted {
            return;
        }
        for i in 0..self.steps.len() {
            if self.steps[i].state == StepState::Running {
                fx.push(Effect::Kill {
                    step: i,
                    attempt: self.steps[i].attempts,
                });
                self.interrupt(i, &format!("the engine stopped ({reason})"), now, fx);
            }
        }
        let kind = EventKind::RunStateChanged {
            state: RunState::Interrupted,
            reason: Some(reason.to_string()),
        };
        self.emit(kind, now, fx);
    }

    fn lookup(&self, step: &str) -> Result<usize, String> {
        match self.ids.get(step) {
            Some(&i) => Ok(i),
            None if step == "budget" => Err(
                "the budget gate is raised with `baton approve RUN budget --raise cost=N --reason …` (RaiseBudget)".into(),
            ),
            None => Err(format!("no step named `{step}` in this run")),
        }
    }

    /// Skipped steps downstream of `i`, reached through skipped steps only.
    fn downstream_skipped(&self, i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue: VecDeque<usize> = self.dependants[i].iter().copied().collect();
        while let Some(d) = queue.pop_front() {
            if self.steps[d].state == StepState::Skipped && seen.insert(d) {
                out.push(d);
                queue.extend(self.dependants[d].iter().copied());
            }
        }
        out
    }

    /// Retry and mark may reopen a finished run, unless work was already undone.
    fn check_reopen(&self, now: Timestamp) -> Result<(), String> {
        if self.cancel_requested {
            return Err("the run was cancelled".into());
        }
        if self.compensation_ran {
            return Err(
                "the run's compensations already ran (its work was undone); start a new run".into(),
            );
        }
        if self.decided.is_some()
            && let Some(d) = self.deadline
            && now >= d
        {
            return Err("the run's timeout has passed".into());
        }
        Ok(())
    }

    fn reopen(&mut self, why: String, now: Timestamp, fx: &mut Fx) {
        if self.decided.is_some() {
            let kind = EventKind::RunStateChanged {
                state: RunState::Running,
                reason: Some(why),
            };
            self.emit(kind, now, fx);
        }
    }

    fn check_gate(&self, i: usize) -> Result<(), String> {
        let st = self.steps[i].state;
        if self.plan.steps[i].gate.is_none() {
            return Err(format!("step `{}` has no gate", self.id(i)));
        }
        if st != StepState::WaitingApproval {
            return Err(match self.steps[i].gate.decided {
                Some(Decision::Approved) => format!(
                    "the gate of `{}` was already decided (approved)",
                    self.id(i)
                ),
                Some(Decision::Rejected) => format!(
                    "the gate of `{}` was already decided (rejected)",
                    self.id(i)
                ),
                None => format!(
                    "the gate of `{}` is not open (the step is {st})",
                    self.id(i)
                ),
            });
        }
        Ok(())
    }

    fn check_approver(&self, i: usize, operator: &str) -> Result<(), String> {
        let approvers = self.plan.steps[i]
            .gate
            .as_ref()
            .map(|g| g.approvers.as_slice())
            .unwrap_or(&[]);
        if !approvers.is_empty() && !approvers.iter().any(|a| a == operator) {
            return Err(format!(
                "`{operator}` is not an approver (approvers: {})",
                approvers.join(", ")
            ));
        }
        Ok(())
    }

    fn on_command(&mut self, cmd: &Command, now: Timestamp, fx: &mut Fx) -> Result<String, String> {
        match cmd {
            Command::Approve {
                step,
                operator,
                reason,
            } => {
                let i = self.lookup(step)?;
                self.check_gate(i)?;
                self.check_approver(i, operator)?;
                let plan = Arc::clone(&self.plan);
                let g = plan.steps[i].gate.as_ref().ok_or("no gate")?;
                if operator == &self.operator && !g.allow_self_approval {
                    return Err(format!(
                        "self-approval: `{operator}` started this run (allow_self_approval = false)"
                    ));
                }
                if self.steps[i].gate.votes.iter().any(|(a, _)| a == operator) {
                    return Err(format!("`{operator}` already approved this gate"));
                }
                let kind = EventKind::ApprovalGiven {
                    step: step.clone(),
                    actor: operator.clone(),
                    reason: reason.as_ref().map(|r| self.mask(r)),
                    digest: self.steps[i].gate.digest.clone(),
                };
                self.emit(kind, now, fx);
                let votes = self.steps[i].gate.votes.len() as u32;
                let quorum = g.quorum.max(1);
                if votes >= quorum {
                    let approvers = self.steps[i]
                        .gate
                        .votes
                        .iter()
                        .map(|v| v.0.clone())
                        .collect();
                    let kind = EventKind::GateApproved {
                        step: step.clone(),
                        actor: operator.clone(),
                        approvers,
                    };
                    self.emit(kind, now, fx);
                    self.after_approval(i, now, fx);
                    Ok(format!("approved `{step}` ({votes}/{quorum})"))
                } else {
                    Ok(format!(
                        "vote recorded for `{step}` ({votes}/{quorum}); waiting for more approvers"
                    ))
                }
            }
            Command::Reject {
                step,
                operator,
                reason,
            } => {
                let i = self.lookup(step)?;
                self.check_gate(i)?;
                if reason.trim().is_empty() {
                    return Err("a reason is required to reject".into());
                }
                self.check_approver(i, operator)?;
                let reason = self.mask(reason);
                let kind = EventKind::GateRejected {
                    step: step.clone(),
                    actor: operator.clone(),
                    reason: reason.clone(),
                    timed_out: false,
                };
                self.emit(kind, now, fx);
                let b = self
                    .step_error(
                        i,
                        ErrorKind::GateRejected,
                        format!("rejected by {operator}: {reason}"),
                    )
                    .context("actor", operator)
                    .suggestion(format!(
                        "address the rejection, then `baton retry {} {step}` to ask again",
                        self.cfg.run_id
                    ));
                self.record(b, now, fx);
                self.set(
                    i,
                    StepState::Rejected,
                    Some(format!("rejected by {operator}: {reason}")),
                    now,
                    fx,
                );
                Ok(format!("rejected `{step}`"))
            }
            Command::Retry { step, operator } => {
                let i = self.lookup(step)?;
                let st = self.steps[i].state;
                if !matches!(
                    st,
                    StepState::Failed | StepState::Rejected | StepState::Interrupted
                ) {
                    return Err(format!(
                        "`{step}` is {st}; only failed, rejected or interrupted steps can be retried"
                    ));
                }
                self.check_reopen(now)?;
                let rearmed = self.downstream_skipped(i);
                self.reopen(format!("{operator} retried `{step}`"), now, fx);
                let kind = EventKind::StepRetried {
                    step: step.clone(),
                    actor: operator.clone(),
                    rearmed: rearmed.iter().map(|&d| self.id(d)).collect(),
                };
                self.emit(kind, now, fx);
                self.set(
                    i,
                    StepState::Pending,
                    Some(format!("retry by {operator}")),
                    now,
                    fx,
                );
                for &d in &rearmed {
                    self.set(
                        d,
                        StepState::Pending,
                        Some(format!("re-armed with `{step}`")),
                        now,
                        fx,
                    );
                }
                Ok(format!(
                    "retrying `{step}`; {} downstream step(s) re-armed",
                    rearmed.len()
                ))
            }
            Command::Mark {
                step,
                state,
                operator,
                reason,
            } => {
                let i = self.lookup(step)?;
                if !matches!(state, StepState::Succeeded | StepState::Failed) {
                    return Err(format!(
                        "a step can be marked succeeded or failed, not {state}"
                    ));
                }
                if reason.trim().is_empty() {
                    return Err("a reason is required to mark a step".into());
                }
                let st = self.steps[i].state;
                if matches!(
                    st,
                    StepState::Running
                        | StepState::Compensating
                        | StepState::Compensated
                        | StepState::CompensationFailed
                ) {
                    return Err(format!("`{step}` is {st} and cannot be marked now"));
                }
                if st == *state {
                    return Err(format!("`{step}` is already {st}"));
                }
                self.check_reopen(now)?;
                let rearmed = if *state == StepState::Succeeded {
                    self.downstream_skipped(i)
                } else {
                    Vec::new()
                };
                self.reopen(format!("{operator} marked `{step}` {state}"), now, fx);
                let reason = self.mask(reason);
                let kind = EventKind::StepMarked {
                    step: step.clone(),
                    state: *state,
                    actor: operator.clone(),
                    reason: reason.clone(),
                };
                self.emit(kind, now, fx);
                let why = Some(format!("marked by {operator}: {reason}"));
                if *state == StepState::Succeeded {
                    self.succeed(i, why, now, fx);
                    for &d in &rearmed {
                        self.set(
                            d,
                            StepState::Pending,
                            Some(format!("re-armed: `{step}` marked succeeded")),
                            now,
                            fx,
                        );
                    }
                } else {
                    self.set(i, StepState::Failed, why, now, fx);
                }
                Ok(format!("marked `{step}` {state}"))
            }
            Command::Cancel { operator, reason } => {
                if self.finished || self.decided.is_some() {
                    return Err(format!("the run already finished ({})", self.run_state));
                }
                if self.cancel_requested {
                    return Err("cancel was already requested".into());
                }
                let kind = EventKind::CancelRequested {
                    actor: operator.clone(),
                    reason: reason.as_ref().map(|r| self.mask(r)),
                };
                self.emit(kind, now, fx);
                let running = self.counts[si(StepState::Running)];
                self.stop_all(
                    StepState::Cancelled,
                    &format!("run cancelled by {operator}"),
                    now,
                    fx,
                );
                Ok(format!("cancelling: {running} running attempt(s) killed"))
            }
            Command::RaiseBudget {
                operator,
                reason,
                cost,
                calls,
                tokens,
            } => {
                if self.plan.budget.is_none() {
                    return Err("the workflow sets no budget".into());
                }
                if cost.is_none() && calls.is_none() && tokens.is_none() {
                    return Err("nothing to raise: give cost, calls or tokens".into());
                }
                if cost.is_some_and(|c| !c.is_finite() || c < 0.0) {
                    return Err("the cost raise must be a non-negative number".into());
                }
                if self.finished || self.stopping() {
                    return Err(format!(
                        "the run is {} and no longer scheduling",
                        self.run_state
                    ));
                }
                let kind = EventKind::BudgetRaised {
                    actor: operator.clone(),
                    reason: self.mask(reason),
                    cost: *cost,
                    calls: *calls,
                    tokens: *tokens,
                };
                self.emit(kind, now, fx);
                Ok("budget raised".into())
            }
        }
    }
}
