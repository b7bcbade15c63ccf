//! `RunView`: the plain-data snapshot the console and the headless printer read. O(n).
use super::*;
use baton_model::health::{self, StepScore};
use baton_model::signals::{self, SignalFacts};
use baton_model::view::{BudgetView, GateView, GoldenSignals, RunView, StepView};
use baton_workflow::Action;

impl Core {
    pub fn view(&self, now: Timestamp) -> RunView {
        let steps: Vec<StepView> = (0..self.steps.len())
            .map(|i| self.step_view(i, now))
            .collect();
        let health = health::compute(
            self.steps.iter().enumerate().map(|(i, s)| StepScore {
                state: s.state,
                attempts: s.attempts,
                timed_out: s.timed_out,
                dealt_with: self.failure_dealt_with(i),
                marked: s
                    .more
                    .marked
                    .as_ref()
                    .is_some_and(|m| m.state == StepState::Succeeded),
            }),
            &self.errors,
        );
        RunView {
            run_id: self.cfg.run_id.clone(),
            workflow: self.plan.name.clone(),
            description: self.plan.description.clone(),
            state: self.run_state,
            driven_by: None,
            waiting_for: None,
            operator: self.operator.clone(),
            labels: self.labels.now.clone(),
            source_path: self.plan.source.clone(),
            workflow_hash: self.cfg.workflow_hash.clone(),
            started_at: self.started_at,
            finished_at: self.finished_at,
            summary: self.summary.clone(),
            forked_from: self.forked_from.clone(),
            forked_into: Vec::new(),
            triggers: Default::default(),
            parent: None,
            now,
            engine_gone_at: None,
            health,
            budget: self.plan.budget.map(|_| BudgetView {
                cost: self.ceilings.cost.map(|c| (self.used_cost, c)),
                calls: self.ceilings.calls.map(|c| (self.used_calls, c)),
                tokens: self.ceilings.tokens.map(|c| (self.used_tokens, c)),
                used_cost: self.used_cost,
                used_calls: self.used_calls,
                used_tokens: self.used_tokens,
                exhausted: self.exhausted(),
                // A finished run spends nothing more: no pace (a 5-second run's use
                // is not a rate per minute).
                burn: if self.finished {
                    Vec::new()
                } else {
                    self.burn.burns(self.totals(), self.limits(), now)
                },
                rejected: self.budget_rejected.as_ref().map(|r| {
                    baton_model::view::BudgetRejectedView {
                        by: r.actor.clone(),
                        reason: r.reason.clone(),
                        at: r.at,
                        timed_out: r.timed_out,
                    }
                }),
            }),
            deadlines: self.deadline_views(),
            steps,
            gates: self.gate_views(now),
            errors: self.errors.clone(),
            audit: self.audit.clone(),
            notes: Vec::new(),
            signals: self.signals(now),
            actions: self.run_actions(),
            version: self.events.len() as u64,
        }
    }

    /// How many of these instances read succeeded by a mark: their fan's count says so.
    fn marked_instances(&self, instances: std::ops::Range<usize>) -> usize {
        self.steps[instances]
            .iter()
            .filter(|s| {
                s.state == StepState::Succeeded
                    && s.more
                        .marked
                        .as_ref()
                        .is_some_and(|m| m.state == StepState::Succeeded)
            })
            .count()
    }

    /// Step `i` failed and the workflow took it in hand: `allow_failure`, or a step
    /// below it with a failure trigger (Airflow's `one_failed`/`all_failed`) that
    /// succeeded.
    pub(super) fn failure_dealt_with(&self, i: usize) -> bool {
        use baton_workflow::Trigger;
        if self.steps[i].state != StepState::Failed {
            return false;
        }
        if self.failure_allowed(i) {
            return true;
        }
        let mut seen = vec![false; self.steps.len()];
        let mut stack = self.dependants[i].clone();
        while let Some(d) = stack.pop() {
            if std::mem::replace(&mut seen[d], true) {
                continue;
            }
            if matches!(
                self.plan.steps[d].when,
                Trigger::OneFailed | Trigger::AllFailed
            ) && self.steps[d].state.is_success()
            {
                return true;
            }
            stack.extend(&self.dependants[d]);
        }
        false
    }

    /// What the step does, for display.
    fn action_text(&self, i: usize) -> String {
        let step = &self.plan.steps[i];
        match &step.action {
            Action::Shell { run } => self.mask(run),
            Action::Tool { tool, run } => format!("{tool}: {}", self.mask(run)),
            Action::Builtin(b) => {
                let args: Vec<String> = step.with.values().map(|t| t.to_string()).collect();
                if args.is_empty() {
                    b.name().to_string()
                } else {
                    format!("{} {}", b.name(), args.join(" "))
                }
            }
            Action::Workflow { written, .. } => format!("workflow {written}"),
            Action::None => "gate".to_string(),
        }
    }

    /// Each `fallback` alternative of step `i`, for display (secrets masked).
    fn fallback_texts(&self, i: usize) -> Vec<String> {
        let step = &self.plan.steps[i];
        (1..step.alternatives())
            .map(|k| self.mask(&step.alternative_changes(k, &self.plan.executors)))
            .collect()
    }

    /// The attempts step `i` may make before it fails for good: those of its current
    /// alternative and of every later one.
    fn max_attempts(&self, i: usize) -> u32 {
        let step = &self.plan.steps[i];
        let s = &self.steps[i];
        let later: u32 = (s.alternative..step.alternatives())
            .map(|k| step.alternative(k).retry.attempts.max(1))
            .sum();
        s.attempt_base + later
    }

    /// The ceilings that stop the next step: the one the budget gate names and any used up.
    fn exhausted(&self) -> Vec<String> {
        let b = &self.ceilings;
        let named = |d: &str| self.budget_gate.as_ref().is_some_and(|g| g.dimension == d);
        let mut out = Vec::new();
        if b.cost.is_some_and(|c| named("cost") || self.used_cost >= c) {
            out.push("cost".to_string());
        }
        if b.calls
            .is_some_and(|c| named("calls") || self.used_calls >= c)
        {
            out.push("calls".to_string());
        }
        if b.tokens
            .is_some_and(|c| named("tokens") || self.used_tokens >= c)
        {
            out.push("tokens".to_string());
        }
        out
    }

    fn step_view(&self, i: usize, now: Timestamp) -> StepView {
        let step = &self.plan.steps[i];
        let s = &self.steps[i];
        StepView {
            id: step.id.clone(),
            needs: step.needs.clone(),
            state: s.state,
            attempts: s.attempts,
            max_attempts: self.max_attempts(i),
            action: self.action_text(i),
            pool: step
                .pool
                .and_then(|p| self.plan.pools.get(p))
                .map(|p| p.name.clone()),
            has_gate: step.gate.is_some(),
            queued_at: s.queued_at,
            started_at: s.started_at,
            finished_at: s.finished_at,
            duration_ms: s.duration_ms,
            retry_at: s.retry_at,
            exit_code: s.exit_code,
            signal: s.signal,
            timed_out: s.timed_out,
            timeout_ms: step.timeout.map(|t| t.as_millis() as u64),
            outputs: s.outputs.clone(),
            error: s.last_error.map(|n| Box::new(self.errors[n].clone())),
            log_path: None,
            log_tail: Vec::new(),
            actions: self.step_actions(i, now),
            jobs: s.more.jobs.clone(),
            cached_from: s.more.cached_from.clone(),
            reused_from: s.more.reused.as_ref().map(|r| r.0.clone()),
            artifacts: self.artifact_views(i),
            waiting_for: s.more.slot_wait.clone(),
            left_running: None,
            child_run: None,
            probe: s.service.last.clone().map(Box::new),
            inputs: s
                .gate
                .inputs
                .clone()
                .filter(|_| s.gate.approved.is_some())
                .unwrap_or_default(),
            changed_inputs: s
                .gate
                .proposed
                .clone()
                .filter(|_| s.gate.approved.is_some())
                .unwrap_or_default(),
            ask: None,
            why: s.more.why.clone(),
            condition: step.condition.as_ref().map(|c| c.text.clone()),
            fallback: self.fallback_texts(i),
            alternative: s.alternative,
            fan: self.fans.get(&i).map(|f| baton_model::fan::FanView {
                instances: f.instances.clone(),
                counts: baton_model::fan::FanCounts {
                    marked: self.marked_instances(f.instances.clone()),
                    ..f.counts
                },
            }),
            parent: step.instance.as_ref().map(|x| x.parent),
            marked: s.more.marked.clone(),
            hold: self.hold_view(i),
            history: s.history.clone(),
            freezes: s.more.freezes.clone(),
            summary: None,
            usage: s.more.usage.as_deref().map(|(u, _)| *u),
            round: self.round_of(i),
            item: step
                .instance
                .as_ref()
                .filter(|x| !x.matrix)
                .map(|x| item_text(&x.value)),
        }
    }

    fn gate_views(&self, now: Timestamp) -> Vec<GateView> {
        let mut open: Vec<(Timestamp, u64, GateView)> = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            if s.state != StepState::WaitingApproval {
                continue;
            }
            if let Some(view) = self.step_gate_view(i, now) {
                open.push((s.gate.opened_at, s.gate.opened_seq, view));
            }
        }
        if let Some(bg) = &self.budget_gate {
            open.push((bg.opened_at, u64::MAX, self.budget_gate_view(bg, now)));
        }
        open.sort_by_key(|(at, seq, _)| (*at, *seq));
        open.into_iter().map(|(_, _, g)| g).collect()
    }

    /// Step `i`'s open gate as readers see it (`None`: the step has no gate).
    fn step_gate_view(&self, i: usize, now: Timestamp) -> Option<GateView> {
        let s = &self.steps[i];
        let step = &self.plan.steps[i];
        let g = step.gate.as_ref()?;
        let (env, needs_outputs) = self.gate_facts(i);
        let command = match &step.action {
            Action::None => "gate".to_string(),
            Action::Builtin(b) => match self.resolve_display(i) {
                Some(d) => d,
                None => b.name().to_string(),
            },
            _ => self.action_text(i),
        };
        // The approval covers every alternative: the approver sees them too.
        let fallback = self.fallback_texts(i);
        let command = if fallback.is_empty() {
            command
        } else {
            format!("{command} (if it fails: {})", fallback.join("; then "))
        };
        Some(GateView {
            step: Some(i),
            step_id: step.id.clone(),
            prompt: s.gate.prompt.clone(),
            opened_at: s.gate.opened_at,
            deadline: s.gate.deadline,
            warned: s.gate.warned,
            on_timeout: g.on_timeout.as_str().to_string(),
            approvers: g.approvers.clone(),
            quorum: g.quorum.max(1),
            approvals: s.gate.votes.clone(),
            allow_self_approval: g.allow_self_approval,
            command,
            needs_outputs,
            env,
            actions: self.gate_actions(Some(i), now),
            inputs: self
                .input_specs(i)
                .iter()
                .map(baton_workflow::input_of_spec)
                .collect(),
            auto: g
                .auto
                .iter()
                .enumerate()
                .map(|(k, r)| self.mask(&r.describe(k + 1)))
                .collect(),
            signed: s.gate.signed,
            round: self.round_of(i),
            revise: self
                .rerun_order(i)
                .iter()
                .map(|&r| self.plan.steps[r].id.clone())
                .collect(),
            revision_diff: self.revision_diff(i),
        })
    }

    /// The step a budget gate stopped, by its state (issue 58 point 4): one already
    /// running is frozen at the ceiling, not a "next step".
    fn budget_step_words(&self, s: &str) -> String {
        let i = self.step_index(s);
        let frozen = i.is_some_and(|i| {
            self.steps[i].state == StepState::Running
                && self.steps[i].more.hold.as_ref().is_some_and(|h| h.frozen)
        });
        match i.map(|i| self.steps[i].state) {
            _ if frozen => format!(" ({s} is frozen at the ceiling)"),
            Some(st) if st.has_process() => format!(" ({s} is running)"),
            _ => format!(" (next step: {s})"),
        }
    }

    /// The open budget gate as readers see it.
    fn budget_gate_view(&self, bg: &BudgetGate, now: Timestamp) -> GateView {
        let prompt = format!(
            "Budget exceeded: {} {} used of {}{}. Raise the budget, reject it or cancel the run.",
            bg.dimension,
            bg.used,
            bg.limit,
            bg.step
                .as_ref()
                .map(|s| self.budget_step_words(s))
                .unwrap_or_default()
        );
        // The earlier of its own timeout and the run's: what happens then.
        let (deadline, on_timeout) = match (bg.deadline, self.deadline) {
            (Some(d), run) if run.is_none_or(|r| d <= r) => (
                Some(d),
                self.plan.budget.unwrap_or_default().on_timeout.as_str(),
            ),
            (_, run) => (run, "fail"),
        };
        GateView {
            step: None,
            step_id: "budget".into(),
            prompt,
            opened_at: bg.opened_at,
            deadline,
            warned: false,
            on_timeout: on_timeout.into(),
            approvers: Vec::new(),
            quorum: 1,
            approvals: Vec::new(),
            allow_self_approval: true,
            command: String::new(),
            needs_outputs: Vec::new(),
            env: Vec::new(),
            actions: self.gate_actions(None, now),
            inputs: Vec::new(),
            auto: Vec::new(),
            signed: false,
            round: None,
            revise: Vec::new(),
            revision_diff: String::new(),
        }
    }

    /// What the approver decides on besides the command: the step's environment (and a
    /// tool's `with`) with templates resolved and secrets masked, and the outputs of
    /// other steps those templates consume, `(step, key, value)`, masked too.
    #[allow(clippy::type_complexity)]
    fn gate_facts(&self, i: usize) -> (Vec<(String, String)>, Vec<(String, String, String)>) {
        use baton_workflow::TemplateRef;
        let step = &self.plan.steps[i];
        let mut env = Vec::new();
        let mut consumed: Vec<(String, String, String)> = Vec::new();
        for (k, t) in step.env.iter().chain(step.with.iter()) {
            let v = self
                .render_view(i, t)
                .map_or_else(|| "(not resolved yet)".to_string(), |v| self.mask(&v));
            env.push((k.clone(), v));
            for r in t.refs() {
                if let TemplateRef::StepOutput { step: d, key, .. } = r {
                    let from = self.plan.steps[*d].id.clone();
                    if consumed.iter().any(|(s, k, _)| *s == from && k == key) {
                        continue;
                    }
                    let v = self
                        .output_of(*d, key)
                        .map_or_else(|| "(missing)".to_string(), |v| self.mask(&v));
                    consumed.push((from, key.clone(), v));
                }
            }
        }
        (env, consumed)
    }

    /// A builtin's resolved `with` values, masked, for the approval dialog.
    fn resolve_display(&self, i: usize) -> Option<String> {
        let step = &self.plan.steps[i];
        let Action::Builtin(b) = &step.action else {
            return None;
        };
        let mut args = Vec::new();
        for t in step.with.values() {
            args.push(self.mask(&self.render_view(i, t)?));
        }
        Some(
            format!("{} {}", b.name(), args.join(" "))
                .trim_end()
                .to_string(),
        )
    }

    fn render_view(&self, i: usize, t: &baton_workflow::Template) -> Option<String> {
        self.render(i, t).ok()
    }

    fn signals(&self, now: Timestamp) -> GoldenSignals {
        let mut d = self.durations.clone();
        d.sort_unstable();
        let (p50_ms, p95_ms) = signals::latency(&d);
        signals::golden(
            &SignalFacts {
                started_at: self.started_at,
                finished_at: self.finished_at,
                attempts_finished: self.attempts_finished,
                attempts_failed: self.attempts_failed,
                p50_ms,
                p95_ms,
                queue_depth: self.counts[si(StepState::Queued)],
                running: self.processes(),
            },
            now,
        )
    }
}

/// A `for_each` item as a list shows it: its template text on one line, at most
/// [`ITEM_CHARS`] characters.
fn item_text(v: &serde_json::Value) -> String {
    let t = baton_model::sanitize::one_line(&baton_workflow::fanout::text(v));
    match t.char_indices().nth(ITEM_CHARS) {
        Some((at, _)) => format!("{}…", &t[..at]),
        None => t,
    }
}

/// How much of an item a view carries: enough to find it by, not a document.
const ITEM_CHARS: usize = 120;
