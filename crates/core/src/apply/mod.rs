//! The fold: how each event changes the state. Nothing here decides; `decide` emits
//! events and calls `apply` for each, and `replay` calls it for stored events.
//!
//! `apply` is one arm per event kind, each a call into the file of its concern (the
//! run, a step's transition and its other facts, gates, services, jobs, the budget;
//! holds and push-backs next to their decisions). A step's fold looks its step up
//! itself and does nothing for a step the plan does not have. An event whose fold
//! reads more than three of its fields is passed whole.
use super::*;
use baton_model::EventKind;
use baton_model::history::{self, Closes};

mod budget;
mod gates;
mod jobs;
mod run;
mod services;
mod steps;
mod transition;

impl Core {
    pub(super) fn apply(&mut self, ev: &Event) {
        let at = ev.at;
        self.run_summary.apply(ev);
        self.fold_records(ev);
        match &ev.kind {
            EventKind::RunStarted { .. } => self.fold_run_started(ev),
            EventKind::RunResumed {
                auto_approve,
                operator,
            } => self.fold_run_resumed(*auto_approve, operator),
            EventKind::RunStateChanged { state, .. } => self.fold_run_state(*state),
            EventKind::RunLabelled { set, removed, .. } => self.fold_labelled(set, removed),
            EventKind::StepStateChanged { .. } => self.fold_step_state(ev),
            EventKind::StepProcess {
                step, pgid, output, ..
            } => self.fold_process(at, step, *pgid, output.as_ref()),
            EventKind::StepProbed { .. } => self.fold_probed(ev),
            EventKind::ServiceStopping { step, reason, .. } => {
                self.fold_service_stopping(step, reason)
            }
            EventKind::StepJob { .. } => self.fold_job(ev),
            // For the store's readers (what a dead engine may have left running).
            EventKind::StepLaunching { .. } => {}
            // Folded by the run's summary only.
            EventKind::StepDealtWith { .. } => {}
            EventKind::StepJobState { .. } => self.fold_job_state(ev),
            EventKind::StepFannedOut { step, instances } => self.fold_fanned_out(step, instances),
            EventKind::StepCached { step, from_run, .. } => self.fold_cached(step, from_run),
            EventKind::RunForked {
                from_run,
                from_step,
            } => self.fold_forked(from_run, from_step),
            EventKind::StepOutputsKept { step, outputs, .. } => {
                self.fold_outputs_kept(step, outputs)
            }
            EventKind::StepReused { .. } => self.fold_reused(ev),
            EventKind::ArtifactsStored { .. } => self.fold_stored(ev),
            EventKind::StepFinished { .. } => self.fold_finished(ev),
            EventKind::StepFellBack {
                step,
                attempt,
                alternative,
                ..
            } => self.fold_fell_back(step, *attempt, *alternative),
            EventKind::RetryScheduled {
                step,
                due,
                next_attempt,
                repetition,
            } => self.fold_retry_scheduled(step, *due, (*next_attempt, *repetition)),
            EventKind::ErrorRecorded { error } => self.fold_error(error),
            // Closed in `fold_records`, with every other event that closes records.
            EventKind::ErrorsClosed { .. } => {}
            EventKind::GateOpened { .. } => self.fold_gate_opened(ev),
            EventKind::GateWarning { step, .. } => self.fold_gate_warning(step),
            EventKind::ApprovalGiven { .. } => self.fold_approval(ev),
            EventKind::GateApproved { step, .. } => self.fold_gate_approved(step),
            EventKind::GateRejected { step, .. } => self.fold_gate_rejected(step),
            EventKind::GateVoided { step, .. } => self.fold_gate_voided(step),
            EventKind::GatePushedBack {
                step,
                reason,
                round,
                rerun,
                ..
            } => self.fold_pushed_back(step, round.n, reason, rerun),
            EventKind::CommandRefused { .. } => {}
            EventKind::StepRetried { step, .. } => self.fold_retried(step),
            // A decision only: each step it took up has its own `step_retried`.
            EventKind::FailedRetried { .. } => {}
            EventKind::StepMarked { .. } => self.fold_marked(ev),
            EventKind::StepHeld { .. } => self.fold_held(ev),
            EventKind::StepUsage {
                step,
                attempt,
                usage,
            } => self.fold_step_usage(step, *attempt, *usage),
            EventKind::StepReleased { step, .. } => self.fold_step_released(step, at),
            EventKind::BudgetExceeded { .. } => self.fold_budget_exceeded(ev),
            EventKind::BudgetRaised {
                cost,
                calls,
                tokens,
                ..
            } => self.fold_budget_raised(*cost, *calls, *tokens),
            EventKind::BudgetRejected {
                actor,
                reason,
                timed_out,
                ..
            } => self.fold_budget_rejected(at, actor, reason, *timed_out),
            EventKind::DeadlineMissed { step, .. } => {
                self.fold_deadline_missed(step.as_deref(), at)
            }
            EventKind::CancelRequested { .. } => self.fold_cancel_requested(),
            EventKind::CompensationStarted { .. } => self.compensation_ran = true,
            EventKind::CompensationFinished { .. } => {}
            EventKind::RunFinished { state, summary, .. } => {
                self.fold_run_finished(at, *state, summary)
            }
        }
        if self.plan.budget.is_some() {
            let totals = self.totals();
            self.burn.push(at, totals);
        }
    }

    /// The plan's index of step `id` (none for a step it does not have).
    pub(super) fn step_index(&self, id: &str) -> Option<usize> {
        self.ids.get(id).copied()
    }

    /// What every event may add to or close of the records: a decision on the audit
    /// trail, errors an event closes.
    fn fold_records(&mut self, ev: &Event) {
        if let Some(d) = history::decision(&ev.kind) {
            self.audit.push(AuditView {
                at: ev.at,
                actor: d.actor,
                action: d.action,
                step: d.step,
                reason: d.reason,
                details: d.summary,
            });
        }
        match history::errors_closed(&ev.kind) {
            Some(Closes::Ids { step, ids }) => {
                for id in ids {
                    if let Some(&n) = self.error_ids.get(id) {
                        self.errors[n].open = false;
                    }
                }
                if let Some(i) = self.step_index(step) {
                    let errors = &self.errors;
                    if let Some(m) = self.steps[i].more.written() {
                        m.open_errors.retain(|&n| errors[n].open);
                    }
                }
            }
            Some(Closes::Step(step)) => {
                if let Some(i) = self.step_index(step) {
                    let open = self.steps[i]
                        .more
                        .written()
                        .map(|m| std::mem::take(&mut m.open_errors));
                    for n in open.unwrap_or_default() {
                        self.errors[n].open = false;
                    }
                }
            }
            None => {}
        }
    }
}
