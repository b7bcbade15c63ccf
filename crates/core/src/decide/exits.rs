//! A step's process exit: usage, outputs, success, retries and failure.
use super::*;

/// The error context that names an output `$BATON_OUTPUT`'s bound cut.
const CUT_OUTPUT: &str = "cut_output";
/// `$BATON_OUTPUT`'s bound as the records say it (`exec::outputs::MAX_FILE_BYTES`).
const CUT_AT: &str = "1 MiB (1048576 bytes)";

/// How an attempt ended, as its error records tell it.
pub(super) struct Ended {
    pub(super) attempt: u32,
    /// The alternative it ran, when the step has fallbacks.
    pub(super) alternative: Option<u32>,
    pub(super) duration_ms: u64,
    /// Its stderr's last lines, masked.
    pub(super) tail: String,
    pub(super) outcome: StepOutcome,
}

impl Ended {
    /// `b` with the attempt's context: which attempt (and alternative), how long it
    /// ran, its stderr's tail, its exit code or signal.
    fn context(&self, b: ErrorRecordBuilder) -> ErrorRecordBuilder {
        let mut b = b.context("attempt", self.attempt);
        if let Some(a) = self.alternative {
            b = b.context("alternative", a);
        }
        let b = b
            .context("duration_ms", self.duration_ms)
            .context("stderr_tail", &self.tail);
        match &self.outcome {
            StepOutcome::Exited { exit_code } => b.context("exit_code", exit_code),
            StepOutcome::Signalled { signal } => b.context("signal", signal),
            // Said on the record: why a step that is not idempotent was tried again.
            StepOutcome::Unreached { .. } => b.context("never_started", true),
            StepOutcome::Killed
            | StepOutcome::TimedOut
            | StepOutcome::SpawnFailed { .. }
            | StepOutcome::Lost { .. } => b,
        }
    }
}

impl Core {
    /// An attempt's run time: its executor's, unless this engine re-attached to it
    /// (after a crash, a detach: its executor then timed only the part since); then
    /// from its recorded start, frozen time included as for any attempt (issue 55
    /// point 7).
    fn attempt_life(&self, i: usize, measured: u64, now: Timestamp) -> u64 {
        let s = &self.steps[i];
        match s.started_at {
            Some(start) if s.reattached => {
                let life = u64::try_from(now.millis().saturating_sub(start.millis())).unwrap_or(0);
                measured.max(life)
            }
            _ => measured,
        }
    }

    pub(super) fn on_exit(&mut self, exit: StepExit, now: Timestamp, fx: &mut Fx) {
        let StepExit {
            step: i,
            attempt,
            outcome,
            duration_ms,
            outputs,
            usage,
            stderr_tail,
        } = exit;
        let Some(s) = self.steps.get(i) else {
            return;
        };
        // A ready service's process runs too.
        if !s.state.has_process() || s.attempts != attempt {
            return;
        }
        let outcome = match outcome {
            StepOutcome::Killed | StepOutcome::Signalled { .. } if s.timeout_kill => {
                StepOutcome::TimedOut
            }
            StepOutcome::SpawnFailed { message } => StepOutcome::SpawnFailed {
                message: self.mask(&message),
            },
            StepOutcome::Unreached { message } => StepOutcome::Unreached {
                message: self.mask(&message),
            },
            o => o,
        };
        let duration_ms = self.attempt_life(i, duration_ms, now);
        // What the step wrote to `$BATON_LABELS` rides in its outputs (`model::labels`).
        let (outputs, labelled) = baton_model::labels::split_outputs(outputs);
        let (outputs, reported, more) = baton_model::reported::split_outputs(outputs);
        let raw: BTreeMap<&str, &str> = outputs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let invalid = self.invalid_output(i, &raw);
        let (masked, withheld) = self.withhold_secrets(&raw);
        let kind = EventKind::StepFinished {
            step: self.id(i),
            attempt,
            outcome: outcome.clone(),
            duration_ms,
            outputs: masked,
            usage,
        };
        self.emit(kind, now, fx);
        self.label_from_step(i, labelled, now, fx);
        self.record_reported(i, attempt, (reported, more), now, fx);
        let alternative = self.steps[i].alternative;
        let ended = Ended {
            attempt,
            alternative: (!self.plan.steps[i].fallback.is_empty()).then_some(alternative),
            duration_ms,
            tail: self.mask(stderr_tail.as_str()),
            outcome,
        };
        if self.ended_by_stop(i, &ended, now, fx) {
            return;
        }
        let probe_failure = self.steps[i]
            .service
            .written()
            .and_then(|s| s.failure.take());
        let failed = self
            .failure_of(i, &ended.outcome, invalid, probe_failure.as_ref())
            .map(|f| self.child_failure(i, f, &ended.tail));
        if self.repeats(i, &ended, failed.is_none(), now, fx) {
            return;
        }
        let Some(failed) = failed else {
            // Its artifacts are kept first: it succeeds once they are on record.
            if !self.collect(i, attempt, fx) {
                self.succeed(i, None, now, fx);
            }
            return self.withhold_outputs(i, &withheld, now, fx);
        };
        self.attempt_failed(i, &ended, failed, probe_failure, now, fx);
    }

    /// Step `i`'s `repeat` runs it again after the execution that `ended`
    /// (`crate::repeat::again`): the next one scheduled after its interval, on the
    /// engine's clock, and on record (`retry_scheduled` with its `repetition`, so a
    /// resume goes on from it and never runs a finished one again). `false`: it does not.
    fn repeats(
        &mut self,
        i: usize,
        ended: &Ended,
        succeeded: bool,
        now: Timestamp,
        fx: &mut Fx,
    ) -> bool {
        let plan = Arc::clone(&self.plan);
        let Some(r) = plan.steps[i].repeat.as_deref() else {
            return false;
        };
        if self.stopping() {
            return false;
        }
        let exit_code = match ended.outcome {
            StepOutcome::Exited { exit_code } => Some(exit_code),
            _ => None,
        };
        let n = self.steps[i].execution.max(1);
        let mut read = None;
        let done = crate::repeat::Ended {
            n,
            exit_code,
            succeeded,
        };
        let again = crate::repeat::again(r, done, |c| {
            let e = c.eval(|name| self.read_name(name));
            read = Some(e.record(&c.text, |v| self.mask(v)));
            e.result
        });
        if !again {
            return false;
        }
        let due = now.add(r.interval);
        let kind = EventKind::RetryScheduled {
            step: self.id(i),
            next_attempt: ended.attempt + 1,
            due,
            repetition: Some(n + 1),
        };
        self.emit(kind, now, fx);
        let why = match (read, exit_code) {
            (Some(rec), _) => format!("repeat {}: {rec}", r.mode.as_str()),
            (None, Some(c)) if r.mode == baton_workflow::RepeatMode::Until => {
                format!("repeat: exited with code {c}, none of its until_exit_code")
            }
            (None, Some(c)) => format!("repeat: exited with code {c}, one of its exit_code"),
            (None, None) => "repeat".to_string(),
        };
        let of = r.limit.map(|l| format!(" of {l}")).unwrap_or_default();
        let reason = format!("{why}; execution {}{of} at {}", n + 1, due.to_rfc3339());
        self.set(i, StepState::RetryWait, Some(reason), now, fx);
        true
    }

    /// Whether step `i`'s failed attempt, `eligible` by its kind and attempts, is
    /// retried by its `retry`'s rules (`crate::retry::refused`): its exit code and its
    /// `if`, read over that attempt (its outputs are the step's now). Refused, `msg`
    /// says why.
    fn retry_rules(&self, i: usize, ended: &Ended, eligible: bool, msg: String) -> (bool, String) {
        if !eligible {
            return (false, msg);
        }
        let Some(rules) = self.plan.steps[i].retry_rules.as_deref() else {
            return (true, msg);
        };
        let exits = rules.exits;
        let code = match ended.outcome {
            StepOutcome::Exited { exit_code } => Some(exit_code),
            _ => None,
        };
        let mut read = None;
        let refusal = retry::refused(&exits, code, rules.condition.as_ref(), |c| {
            let e = c.eval(|n| match n {
                baton_workflow::condition::Name::AttemptExitCode => code.map(|c| c.to_string()),
                n => self.read_name(n),
            });
            read = Some(e.record(&c.text, |v| self.mask(v)));
            e.result
        });
        match refusal {
            None => (true, msg),
            Some(r) => {
                let why = r.say(&exits, read.as_deref());
                (false, format!("{msg}; not retried: {why}"))
            }
        }
    }

    /// The first problem with step `i`'s outputs `raw` against those it declares: one
    /// missing, or one that does not match its pattern.
    fn invalid_output(&self, i: usize, raw: &BTreeMap<&str, &str>) -> Option<String> {
        let mut invalid = None;
        for (k, spec) in &self.plan.steps[i].outputs {
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
        invalid
    }

    /// The outputs `raw` split into those passed on and the names (masked) of those
    /// withheld. An output holding a secret, in its value or its name, is withheld,
    /// not passed on as `***` (consumers see it missing); the step gets a low-severity
    /// record naming it.
    pub(super) fn withhold_secrets(
        &self,
        raw: &BTreeMap<&str, &str>,
    ) -> (BTreeMap<String, String>, Vec<String>) {
        let (kept, withheld): (Vec<_>, Vec<_>) = raw
            .iter()
            .partition(|(k, v)| !self.holds_secret(k) && !self.holds_secret(v));
        let masked = kept
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let withheld = withheld.into_iter().map(|(k, _)| self.mask(k)).collect();
        (masked, withheld)
    }

    /// An attempt that ended while the run stopped it (a cancel, fail_fast, the
    /// budget, the run's timeout) or baton stopped its service: recorded so, whatever
    /// its exit said. `false`: it ended on its own.
    fn ended_by_stop(&mut self, i: usize, ended: &Ended, now: Timestamp, fx: &mut Fx) -> bool {
        let budget = self.killed_by_budget();
        // A step that exited 0 did its work, whatever stop was asked meanwhile: one that
        // never reached it (a stalled connection to its host) must not record it as
        // stopped (issue 55 point 2).
        let did_its_work = matches!(ended.outcome, StepOutcome::Exited { exit_code: 0 });
        // An on_cancel step runs because of the cancel: its exit is its own.
        let handler = self.is_handler(i);
        let stopping =
            (self.cancel_requested && !handler) || self.stopped_by_fail_fast(i) || budget.is_some();
        if stopping && !did_its_work {
            let why = if self.cancel_requested {
                "the run was cancelled"
            } else {
                budget
                    .as_deref()
                    .unwrap_or("fail_fast: another instance failed")
            };
            let b =
                ended.context(self.step_error(i, ErrorKind::Cancelled, format!("killed: {why}")));
            self.record(b, Cause::Attempt, false, now, fx);
            self.set(i, StepState::Cancelled, Some(why.into()), now, fx);
            return true;
        }
        if let Some(why) = self.steps[i].service.stopping.clone() {
            // baton stopped it: however its process took the TERM, it did its work.
            self.succeed(i, Some(format!("stopped by baton: {why}")), now, fx);
            return true;
        }
        if self.decided.is_some() && !did_its_work && !handler {
            let b = ended
                .context(self.step_error(i, ErrorKind::Timeout, "killed: the run timed out"))
                .retryable(false);
            self.record(b, Cause::RunTimeout, false, now, fx);
            self.set(
                i,
                StepState::Failed,
                Some("the run timed out".into()),
                now,
                fx,
            );
            return true;
        }
        false
    }

    /// A child-run step's failure says how its child ended, naming it and its failed
    /// steps (its process's last line), not only its exit code.
    fn child_failure(
        &self,
        i: usize,
        (kind, message): (ErrorKind, String),
        tail: &str,
    ) -> (ErrorKind, String) {
        let child = matches!(self.plan.steps[i].action, Action::Workflow { .. });
        match crate::child::ending(tail) {
            Some(line) if child && kind == ErrorKind::ExitNonzero => {
                (kind, format!("{line}; the step {message}"))
            }
            _ => (kind, message),
        }
    }

    /// What kind of failure step `i`'s attempt that ended `outcome` was, and its
    /// message; `None`: it succeeded.
    fn failure_of(
        &self,
        i: usize,
        outcome: &StepOutcome,
        invalid: Option<String>,
        probe_failure: Option<&ProbeFailure>,
    ) -> Option<(ErrorKind, String)> {
        let step = &self.plan.steps[i];
        Some(match outcome {
            _ if probe_failure.is_some() => (
                ErrorKind::ProbeFailed,
                probe_failure.map(|f| f.message.clone()).unwrap_or_default(),
            ),
            StepOutcome::Exited { exit_code: 0 } if step.service.is_some() => {
                let waiting = self.dependants[i]
                    .iter()
                    .filter(|&&d| !settled(self.steps[d].state))
                    .count();
                (
                    ErrorKind::ServiceExited,
                    format!("the service exited (code 0) while {waiting} step(s) still need it"),
                )
            }
            StepOutcome::Exited { exit_code: 0 } => (ErrorKind::OutputInvalid, invalid?),
            StepOutcome::Exited { exit_code } => (
                ErrorKind::ExitNonzero,
                format!("exited with code {exit_code}"),
            ),
            StepOutcome::Signalled { signal } => (
                ErrorKind::KilledBySignal,
                format!("killed by signal {signal}"),
            ),
            StepOutcome::Killed => (ErrorKind::KilledBySignal, "killed".to_string()),
            StepOutcome::TimedOut => {
                let runs = step.alternative(self.steps[i].alternative);
                (
                    ErrorKind::Timeout,
                    format!(
                        "timed out after {}",
                        runs.timeout.map(human_duration).unwrap_or_default()
                    ),
                )
            }
            StepOutcome::SpawnFailed { message } => (
                ErrorKind::SpawnFailed,
                format!("could not start: {message}"),
            ),
            StepOutcome::Unreached { message } => {
                (ErrorKind::SpawnFailed, format!("never started: {message}"))
            }
            StepOutcome::Lost { reason } => (ErrorKind::Interrupted, reason.clone()),
        })
    }

    /// Step `i`'s attempt failed as `kind` said `msg`: recorded, and the step retried,
    /// fallen back, held (its retries ran out under `exhausted = "hold"`), left for a
    /// person (lost and not idempotent) or failed.
    pub(super) fn attempt_failed(
        &mut self,
        i: usize,
        ended: &Ended,
        (kind, msg): (ErrorKind, String),
        probe_failure: Option<ProbeFailure>,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let plan = Arc::clone(&self.plan);
        let step = &plan.steps[i];
        let attempt = ended.attempt;
        let lost = matches!(ended.outcome, StepOutcome::Lost { .. });
        // Its fate unknown (host gone, job lost), a step that must not run twice is not
        // run again by its retry: it waits for a person, as one interrupted by a crash.
        if lost && !step.idempotent {
            let why = format!(
                "{msg}; not run again by its retry (idempotent = false): `baton mark` it once you know what happened, or `baton retry` it"
            );
            let b = ended
                .context(self.step_error(i, kind, why.clone()))
                .retryable(false);
            self.record(b, Cause::Attempt, false, now, fx);
            self.set(i, StepState::Interrupted, Some(why), now, fx);
            return;
        }
        // Never started (its host refused the connection): tried again by its retry,
        // idempotent or not, as nothing of it ran.
        let unreached = matches!(ended.outcome, StepOutcome::Unreached { .. });
        let retryable = matches!(
            kind,
            ErrorKind::ExitNonzero
                | ErrorKind::KilledBySignal
                | ErrorKind::Timeout
                | ErrorKind::ProbeFailed
                | ErrorKind::ServiceExited
        ) || lost
            || unreached;
        let alternative = self.steps[i].alternative;
        let runs = step.alternative(alternative);
        let used = attempt.saturating_sub(self.steps[i].attempt_base);
        // An on_cancel step runs once: the stopped run schedules no retry.
        let eligible = retryable && used < runs.retry.attempts && !step.on_cancel;
        let (will_retry, msg) = self.retry_rules(i, ended, eligible, msg);
        // Its retries used, the step falls back to its next alternative, whatever failed.
        let fall_back = !will_retry && alternative + 1 < step.alternatives() && !step.on_cancel;
        let mut b = ended
            .context(self.step_error(i, kind, msg.clone()))
            .retryable(retryable);
        if let Some(f) = &probe_failure {
            b = b
                .context("probe", f.probe)
                .context("check", &f.check)
                .context("got", &f.got);
            if f.failures > 0 {
                b = b.context("failures", f.failures);
            }
        }
        let cause = match kind {
            ErrorKind::SpawnFailed => self
                .secret_behind(i, &msg)
                .map_or(Cause::Attempt, Cause::Secret),
            _ => Cause::Attempt,
        };
        self.record(b, cause, will_retry || fall_back, now, fx);
        if will_retry {
            let due = now.add(retry::delay(&runs.retry, used, self.seed, i));
            let kind = EventKind::RetryScheduled {
                step: step.id.clone(),
                next_attempt: attempt + 1,
                due,
                repetition: None,
            };
            self.emit(kind, now, fx);
            let reason = format!(
                "{msg}; attempt {} of {} at {}",
                used + 1,
                runs.retry.attempts,
                due.to_rfc3339()
            );
            self.set(i, StepState::RetryWait, Some(reason), now, fx);
        } else if fall_back {
            self.fall_back(i, attempt, alternative + 1, &msg, now, fx);
        } else if runs.retry.hold_when_exhausted && !self.stopping() {
            // `exhausted = "hold"`: it waits on the desk for a retry, a mark or a release.
            let why = format!("{msg}; its retries ran out (exhausted = \"hold\")");
            let actor = baton_model::history::ENGINE;
            let hold = hold::Hold {
                actor,
                reason: &why,
                until: None,
                what: hold::HoldFor::Exhausted,
            };
            self.hold_one(i, hold, now, fx);
        } else if step.mark_success && self.counts_as_allowed(i, StepState::Failed) {
            // Dagu's markSuccess: it reads succeeded; its error record (closed, as a
            // mark closes it) and its attempt's exit code stay on record.
            let why = format!(
                "{msg}; allowed to fail, marked succeeded (allow_failure = {{ state = \"succeeded\" }})"
            );
            self.succeed(i, Some(why), now, fx);
        } else {
            self.set(i, StepState::Failed, Some(msg), now, fx);
        }
        if step.service.is_some() {
            self.hold_dependants(i, now, fx);
        }
    }

    /// Each problem with an attempt's output becomes an error record on the step: a
    /// log that could not be written (output lost: medium) or a malformed output or
    /// usage line (ignored: low). Neither fails the step.
    pub(super) fn on_output_problems(
        &mut self,
        i: usize,
        attempt: u32,
        problems: &[OutputProblem],
        now: Timestamp,
        fx: &mut Fx,
    ) {
        if i >= self.steps.len() {
            return;
        }
        for p in problems {
            let (kind, severity, cause, message) = match p {
                OutputProblem::LogLost(m) => {
                    (ErrorKind::Storage, Severity::Medium, Cause::LogLost, m.clone())
                }
                OutputProblem::Ignored(m) => {
                    (ErrorKind::OutputInvalid, Severity::Low, Cause::BadLine, m.clone())
                }
                OutputProblem::Cut(key) => (
                    ErrorKind::OutputInvalid,
                    Severity::Medium,
                    Cause::CutOutput,
                    self.mask(&format!(
                        "output `{key}` was cut: $BATON_OUTPUT is larger than its bound, {CUT_AT}, which fell inside its value; it is not kept, and a step reading it fails"
                    )),
                ),
            };
            let mut b = self
                .step_error(i, kind, message)
                .severity(severity)
                .context("attempt", attempt);
            if let OutputProblem::Cut(key) = p {
                b = b.context(CUT_OUTPUT, self.mask(key));
            }
            self.record(b, cause, false, now, fx);
        }
    }

    /// Each `::error::`/`::warning::` the attempt reported (`model::reported`) becomes an
    /// error record of the step (medium for an error, low for a warning) carrying its
    /// `file`, `line`, `col` and `title`; the reports past the bound are counted in
    /// the last. None fails the step: its exit decides that.
    fn record_reported(
        &mut self,
        i: usize,
        attempt: u32,
        (reported, more): (Vec<baton_model::reported::Reported>, usize),
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let last = reported.len().saturating_sub(1);
        for (n, r) in reported.into_iter().enumerate() {
            let mut b = self
                .step_error(i, ErrorKind::Reported, r.message)
                .severity(r.severity)
                .retryable(false)
                .context("attempt", attempt);
            for (k, v) in r.fields {
                b = b.context(k, v);
            }
            if n == last && more > 0 {
                b = b.context("reports_not_kept", more);
            }
            self.record(b, Cause::Attempt, false, now, fx);
        }
    }

    /// Why step `step`'s output `key` has no value when a template reads it: its
    /// latest attempt's `$BATON_OUTPUT` cut it (recorded by `on_output_problems`), or
    /// it simply was not written. Looked up only on that error path.
    pub(crate) fn output_cut(&self, step: usize, key: &str) -> Option<String> {
        let s = self.steps.get(step)?;
        let id = self.plan.steps.get(step)?.id.as_str();
        self.errors
            .iter()
            .rev()
            .find(|e| {
                e.step.as_deref() == Some(id)
                    && e.attempt == s.attempts
                    && e.context.get(CUT_OUTPUT).map(String::as_str) == Some(key)
            })
            .map(|_| {
                format!(
                    "`steps.{id}.outputs.{key}` was cut: `{id}` wrote more than {CUT_AT} to $BATON_OUTPUT and the bound fell inside this value, so it is not handed on (write a large value to a file and output its path)"
                )
            })
    }

    /// The reason template `t` cannot be rendered for step `i` (`r`: the reference the
    /// renderer stopped at): a cut output says so, anything else is unresolved.
    pub(super) fn unresolved(&self, t: &Template, r: &str) -> String {
        t.refs()
            .find_map(|x| match x {
                TemplateRef::StepOutput { step, key, .. } if x.to_string() == r => {
                    self.output_cut(*step, key)
                }
                _ => None,
            })
            .unwrap_or_else(|| format!("cannot resolve `{r}`"))
    }
}

impl Core {
    /// Step `i`'s `attempt` failed for good in its alternative: the next attempt runs
    /// `alternative`, at once (its own retries then count from 1).
    fn fall_back(
        &mut self,
        i: usize,
        attempt: u32,
        alternative: u32,
        why: &str,
        now: Timestamp,
        fx: &mut Fx,
    ) {
        let step = self.id(i);
        let kind = EventKind::StepFellBack {
            step: step.clone(),
            attempt,
            alternative,
            reason: why.to_string(),
        };
        self.emit(kind, now, fx);
        let kind = EventKind::RetryScheduled {
            step,
            next_attempt: attempt + 1,
            due: now,
            repetition: None,
        };
        self.emit(kind, now, fx);
        let of = self.plan.steps[i].alternatives() - 1;
        let reason = format!("{why}; falling back to alternative {alternative} of {of}");
        self.set(i, StepState::RetryWait, Some(reason), now, fx);
    }

    /// Record the outputs withheld because their values contain a secret.
    pub(super) fn withhold_outputs(
        &mut self,
        i: usize,
        names: &[String],
        now: Timestamp,
        fx: &mut Fx,
    ) {
        for name in names {
            let b = self
                .step_error(
                    i,
                    ErrorKind::OutputInvalid,
                    format!("output `{name}` contains a secret: it is not passed to other steps"),
                )
                .severity(Severity::Low)
                .id(format!(
                    "{}#{}:secret-output:{name}",
                    self.id(i),
                    self.steps[i].attempts
                ))
                .context("output", name);
            self.record(b, Cause::SecretOutput, false, now, fx);
        }
    }
}
