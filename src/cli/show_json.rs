//! `baton show RUN --json`: the run's view (`session::inspect`) in a versioned shape,
//! documented field by field in `docs/show-json.md`. The shape is typed here and
//! serialised by serde; a change to it bumps [`SCHEMA`] (a test holds the field list of
//! each version).
use crate::model::health::{HealthLabel, HealthTerm};
use crate::model::view::{
    AttemptJob, BudgetView, ForkLink, GoldenSignals, ParentLink, ProbeView, TriggerLink,
};
use crate::model::{ErrorRecord, RunState, RunView, StepState, StepView, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The version of the shape below; bump it (and list the difference in
/// `docs/show-json.md`) whenever a field is added, removed, renamed or retyped.
pub const SCHEMA: u32 = 11;

/// The whole document.
#[derive(Debug, Serialize)]
pub struct RunJson<'a> {
    pub schema: u32,
    pub id: &'a str,
    pub workflow: &'a str,
    pub state: RunState,
    pub driven_by: Option<&'a str>,
    /// Why a queued run waits for its concurrency group now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<&'a str>,
    pub operator: &'a str,
    /// The run's labels (`baton label`, `--label`, `$BATON_LABELS`), by key.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: &'a std::collections::BTreeMap<String, String>,
    pub source_path: &'a Path,
    /// The short hash of the run's recorded workflow text.
    pub workflow_hash: Option<&'a str>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub summary: Option<&'a str>,
    /// A fork (`baton fork`): the run it was forked from and the step it reran from.
    pub forked_from: Option<&'a ForkLink>,
    /// The runs forked from this one, oldest first, each with its step (schema 5).
    pub forked_into: &'a [ForkLink],
    /// A child run (`workflow = "…"` on a step of another run): that run, its step and
    /// the step's attempt that made it (schema 8).
    pub parent: Option<&'a ParentLink>,
    /// The event whose `[[trigger]]` started the run (schema 11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<&'a TriggerLink>,
    /// The events this run's end was, each with the run it started (schema 11).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub started: &'a [TriggerLink],
    pub health: f64,
    pub health_label: HealthLabel,
    pub quality: Option<f64>,
    pub health_terms: &'a [HealthTerm],
    /// The steps decided that failed (handled or not) or never started because a need
    /// failed, 0–1.
    pub failed_share: Option<f64>,
    /// Of the failed steps, those `allow_failure` or a failure handler dealt with.
    pub failed_handled: usize,
    /// Steps marked succeeded by an operator (`baton mark`).
    pub marked: usize,
    /// A failed run none of whose steps failed but one was rejected (`state` stays
    /// `failed`; every view reads it `rejected`).
    pub rejected: bool,
    pub signals: &'a GoldenSignals,
    pub budget: Option<BudgetJson<'a>>,
    /// The run's `deadline` and its steps', the run's first (schema 7).
    pub deadlines: Vec<DeadlineJson<'a>>,
    pub steps: Vec<StepJson<'a>>,
    pub errors: Vec<ErrorJson<'a>>,
    /// The notes on the run and its steps (`baton note`), oldest first (schema 10).
    pub notes: Vec<NoteJson<'a>>,
}

/// A note (`baton note`): when (RFC 3339), by whom, on which step (absent: the run).
#[derive(Debug, Serialize)]
pub struct NoteJson<'a> {
    pub at: String,
    pub by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<&'a str>,
    pub text: &'a str,
}

/// The budget's use: each dimension `{used, limit}` (`limit` null where the budget sets
/// none) and the ceilings that stop the next step.
#[derive(Debug, Serialize)]
pub struct BudgetJson<'a> {
    /// `cost`, `calls` and `tokens`.
    #[serde(flatten)]
    pub dimensions: BTreeMap<&'static str, BudgetUse>,
    pub exhausted: &'a [String],
    /// Each dimension's pace over the last minute (`per_minute`) and the time left to
    /// its ceiling at that pace (`left_ms`; absent without a ceiling or a pace).
    pub burn: &'a [crate::model::burn::Burn],
    /// While the budget gate is open with a deadline (its `timeout`, or the run's):
    /// when it is decided without a person (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// The budget gate was rejected: by whom (`timeout` for its timeout), why, when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<BudgetRejectedJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct BudgetRejectedJson<'a> {
    pub by: &'a str,
    pub reason: &'a str,
    pub at: Option<String>,
    pub timed_out: bool,
}

#[derive(Debug, Serialize)]
pub struct BudgetUse {
    pub used: f64,
    pub limit: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct StepJson<'a> {
    pub id: &'a str,
    pub state: StepState,
    pub attempts: u32,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub outputs: &'a BTreeMap<String, String>,
    pub inputs: &'a BTreeMap<String, String>,
    /// The inputs the approver changed from the gate's proposal, with what it proposed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub changed_inputs: &'a BTreeMap<String, String>,
    pub log_path: Option<&'a Path>,
    pub executor: &'a str,
    pub job_id: Option<&'a str>,
    pub jobs: Vec<JobJson<'a>>,
    pub cached: bool,
    pub cached_from: Option<&'a str>,
    /// In a fork: the run whose recorded outcome and outputs the step keeps, not run
    /// again (schema 5).
    pub reused_from: Option<&'a str>,
    /// A step with `workflow = "…"`: its child run (its newest attempt's; schema 8).
    pub child_run: Option<&'a str>,
    /// The files it kept (`artifacts`), each with its digest, size and the run and
    /// attempt that made it (schema 9).
    pub artifacts: &'a [crate::model::view::ArtifactView],
    pub probe: Option<ProbeJson<'a>>,
    /// Why a skipped or upstream_failed step did not run.
    pub why: Option<&'a str>,
    pub waiting_for: Option<&'a str>,
    /// A step of an interrupted run still running without its engine: its process
    /// (`{"kind":"process","step":…,"pid":…}`), job, or launch not on record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_running: Option<&'a crate::model::liveness::LeftRunning>,
    /// What each `fallback` alternative runs, in order.
    pub fallback: &'a [String],
    /// The alternative the latest attempt ran (0: the step itself).
    pub alternative: u32,
    /// A fanned-out step, once it fanned out: its instances' counts (the instances
    /// follow it in `steps`).
    pub fan_out: Option<crate::model::fan::FanCounts>,
    /// An instance: the fanned-out step it is one of (listed just before its instances).
    pub instance_of: Option<&'a str>,
    /// Set by `baton mark`: the state, who, why and when (schema 2).
    pub marked: Option<MarkJson<'a>>,
    /// Set by `baton hold` (or `exhausted = "hold"`): who, why, until when (schema 3).
    pub hold: Option<HoldJson<'a>>,
    /// Its latest attempt's `$BATON_USAGE` sums (`cost`, `tokens`, `calls`); while it
    /// runs, as far as the engine has read the file (issue 43).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<crate::model::Usage>,
    /// What its latest attempt that wrote one wrote to `$BATON_SUMMARY` (Markdown,
    /// sanitised, at most 64 KiB); absent when none (schema 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<&'a str>,
    /// A gate with `revise`: its round (`n` of `of`), the steps a push-back runs
    /// again, and while it is open the revised outputs' diff against the round before
    /// (issue 44 point 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<RoundJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct RoundJson<'a> {
    pub n: u32,
    pub of: u32,
    pub revise: Vec<&'a str>,
    pub diff: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct HoldJson<'a> {
    pub by: &'a str,
    pub reason: &'a str,
    pub at: String,
    pub until: Option<String>,
    pub frozen: bool,
    pub exhausted: bool,
    /// Frozen by the engine at a budget's ceiling: `approve --raise` continues it.
    pub budget: bool,
}

#[derive(Debug, Serialize)]
pub struct MarkJson<'a> {
    pub state: StepState,
    pub by: &'a str,
    pub reason: &'a str,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct JobJson<'a> {
    pub attempt: u32,
    pub executor: &'a str,
    pub job_id: &'a str,
    pub state: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub running_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ProbeJson<'a> {
    pub probe: crate::model::ProbeKind,
    pub check: &'a str,
    pub ok: bool,
    pub detail: &'a str,
    pub failures: u32,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct ErrorJson<'a> {
    pub id: &'a str,
    pub kind: crate::model::ErrorKind,
    pub severity: crate::model::Severity,
    pub step: Option<&'a str>,
    pub attempt: u32,
    pub message: &'a str,
    pub suggestion: &'a str,
    pub retryable: bool,
    pub open: bool,
    pub context: &'a BTreeMap<String, String>,
    pub at: String,
}

/// A run's or step's `deadline` (issue 58 point 9).
#[derive(Debug, Serialize)]
pub struct DeadlineJson<'a> {
    /// The step it is of; null: the run's own.
    pub step: Option<&'a str>,
    pub at: Option<&'a str>,
    pub zone: Option<&'a str>,
    pub within_ms: Option<u64>,
    pub due: Option<String>,
    pub missed: Option<String>,
    pub met: bool,
}

fn deadline(d: &crate::model::deadline::DeadlineView) -> DeadlineJson<'_> {
    DeadlineJson {
        step: d.step.as_deref(),
        at: d.at.as_deref(),
        zone: d.zone.as_deref(),
        within_ms: d.within_ms,
        due: time(d.due),
        missed: time(d.missed),
        met: d.met,
    }
}

fn time(t: Option<Timestamp>) -> Option<String> {
    t.map(Timestamp::to_rfc3339)
}

/// The document for `view` (pure).
pub fn of(view: &RunView) -> RunJson<'_> {
    RunJson {
        schema: SCHEMA,
        id: &view.run_id,
        workflow: &view.workflow,
        state: view.state,
        driven_by: view.driven_by.as_deref(),
        waiting_for: view.waiting_for.as_deref(),
        operator: &view.operator,
        labels: &view.labels,
        source_path: &view.source_path,
        workflow_hash: view.workflow_hash.as_deref(),
        started_at: time(view.started_at),
        finished_at: time(view.finished_at),
        summary: view.summary.as_deref(),
        forked_from: view.forked_from.as_ref(),
        forked_into: &view.forked_into,
        parent: view.parent.as_ref(),
        started_by: view.triggers.started_by.as_ref(),
        started: &view.triggers.started,
        health: view.health.score,
        health_label: view.health.label,
        quality: view.health.quality,
        health_terms: &view.health.terms,
        failed_share: view.health.failed_share,
        failed_handled: view.health.handled,
        marked: view.health.marked,
        rejected: crate::model::health::outcome::reads_rejected(
            view.state,
            view.steps.iter().map(|s| s.state),
        ),
        signals: &view.signals,
        budget: view.budget.as_ref().map(|b| budget(view, b)),
        deadlines: view.deadlines.iter().map(deadline).collect(),
        // Each instance right after its step (and the steps before it).
        steps: crate::model::fan::grouped(view, |_, _| true)
            .into_iter()
            .map(|i| step(view, &view.steps[i]))
            .collect(),
        errors: view.errors.iter().map(error).collect(),
        notes: view
            .notes
            .iter()
            .map(|n| NoteJson {
                at: n.at.to_rfc3339(),
                by: &n.by,
                step: n.step.as_deref(),
                text: &n.text,
            })
            .collect(),
    }
}

fn budget<'a>(view: &'a RunView, b: &'a BudgetView) -> BudgetJson<'a> {
    let gate = view.gates.iter().find(|g| g.step.is_none());
    BudgetJson {
        deadline: time(gate.and_then(|g| g.deadline)),
        rejected: b.rejected.as_ref().map(|r| BudgetRejectedJson {
            by: &r.by,
            reason: &r.reason,
            at: time(Some(r.at)),
            timed_out: r.timed_out,
        }),
        dimensions: b
            .dimensions()
            .into_iter()
            .map(|(dim, used, limit)| (dim, BudgetUse { used, limit }))
            .collect(),
        exhausted: &b.exhausted,
        burn: &b.burn,
    }
}

fn step<'a>(view: &'a RunView, s: &'a StepView) -> StepJson<'a> {
    let now = view.now;
    let latest = s.job();
    StepJson {
        id: &s.id,
        state: s.state,
        attempts: s.attempts,
        exit_code: s.exit_code,
        signal: s.signal,
        timed_out: s.timed_out,
        started_at: time(s.started_at),
        finished_at: time(s.finished_at),
        duration_ms: s.duration(now).map(|d| d.as_millis() as u64),
        outputs: &s.outputs,
        inputs: &s.inputs,
        changed_inputs: &s.changed_inputs,
        log_path: s.log_path.as_deref(),
        executor: s.executor(),
        job_id: latest.map(|j| j.job_id.as_str()),
        jobs: s.jobs.iter().map(job).collect(),
        cached: s.cached_from.is_some(),
        cached_from: s.cached_from.as_deref(),
        reused_from: s.reused_from.as_deref(),
        child_run: s.child_run.as_deref(),
        artifacts: &s.artifacts,
        probe: s.probe.as_deref().map(probe),
        why: s.why.as_deref(),
        waiting_for: s.waiting_for.as_deref(),
        left_running: s.left_running.as_ref(),
        fallback: &s.fallback,
        alternative: s.alternative,
        fan_out: s.fan.as_ref().map(|f| f.counts),
        instance_of: s
            .parent
            .and_then(|p| view.steps.get(p))
            .map(|p| p.id.as_str()),
        marked: s.marked.as_deref().map(|m| MarkJson {
            state: m.state,
            by: &m.by,
            reason: &m.reason,
            at: m.at.to_rfc3339(),
        }),
        hold: s.hold.as_deref().map(|h| HoldJson {
            by: &h.by,
            reason: &h.reason,
            at: h.at.to_rfc3339(),
            until: h.until.map(Timestamp::to_rfc3339),
            frozen: h.frozen,
            exhausted: h.exhausted,
            budget: h.budget,
        }),
        usage: s.usage,
        summary: s.summary.as_deref(),
        round: s.round.map(|r| {
            let open = view.gates.iter().find(|g| g.step_id == s.id);
            RoundJson {
                n: r.n,
                of: r.of,
                revise: open
                    .map_or_else(Vec::new, |g| g.revise.iter().map(String::as_str).collect()),
                diff: open
                    .map(|g| g.revision_diff.as_str())
                    .filter(|d| !d.is_empty()),
            }
        }),
    }
}

fn job(j: &AttemptJob) -> JobJson<'_> {
    JobJson {
        attempt: j.attempt,
        executor: &j.job.executor,
        job_id: &j.job.job_id,
        state: j.job.state.as_deref(),
        reason: j.job.reason.as_deref(),
        running_at: time(j.job.running_at),
    }
}

fn probe(p: &ProbeView) -> ProbeJson<'_> {
    ProbeJson {
        probe: p.probe,
        check: &p.check,
        ok: p.ok,
        detail: &p.detail,
        failures: p.failures,
        at: p.at.to_rfc3339(),
    }
}

fn error(e: &ErrorRecord) -> ErrorJson<'_> {
    ErrorJson {
        id: &e.id,
        kind: e.kind,
        severity: e.severity,
        step: e.step.as_deref(),
        attempt: e.attempt,
        message: &e.message,
        suggestion: &e.suggestion,
        retryable: e.retryable,
        open: e.open,
        context: &e.context,
        at: e.at.to_rfc3339(),
    }
}

#[cfg(test)]
mod tests;
