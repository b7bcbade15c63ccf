//! Others' decisions are news (issue 28 point 4): a decision on the run on screen that
//! this console did not make (another shell, another operator, a timeout, `serve`)
//! becomes a notice with who, what and why, kept in the notices list (`!`).
use super::state::UiState;
use baton_model::view::AuditView;
use baton_model::{AuditAction, Command, RunView, Timestamp, same_actor};

/// How many notices the list keeps, newest last.
const KEEP: usize = 200;
/// How many of this console's own commands are remembered to tell them from others'.
const SENT: usize = 64;

/// One decision someone else recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionNotice {
    pub run_id: String,
    pub workflow: String,
    pub at: Timestamp,
    pub actor: String,
    pub action: AuditAction,
    pub step: Option<String>,
    pub reason: Option<String>,
}

impl DecisionNotice {
    /// `bob rejected deploy: “not on a Friday”`.
    pub fn text(&self) -> String {
        let what = match self.action {
            AuditAction::ApprovalVote => "voted to approve",
            AuditAction::Approved => "approved",
            AuditAction::Rejected => "rejected",
            AuditAction::TimedOut => "timed out",
            AuditAction::Voided => "voided the approval of",
            AuditAction::Retry => "retried",
            AuditAction::Mark => "marked",
            AuditAction::BudgetRaised => "raised the budget",
            AuditAction::Cancel => "cancelled the run",
            AuditAction::RunResumed => "resumed the run",
            _ => "decided",
        };
        let mut t = format!("{} {what}", self.actor);
        if let Some(s) = self.step.as_deref().filter(|s| !s.is_empty()) {
            t.push_str(&format!(" {s}"));
        }
        match self.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            Some(r) => t.push_str(&format!(": “{}”", r.replace('\n', " "))),
            None => t.push_str(" (no reason given)"),
        }
        t
    }
}

/// The audit actions that are someone's decision on a run.
fn is_decision(a: AuditAction) -> bool {
    matches!(
        a,
        AuditAction::ApprovalVote
            | AuditAction::Approved
            | AuditAction::Rejected
            | AuditAction::TimedOut
            | AuditAction::Voided
            | AuditAction::Retry
            | AuditAction::Mark
            | AuditAction::BudgetRaised
            | AuditAction::Cancel
            | AuditAction::RunResumed
    )
}

impl UiState {
    /// Remember a command this console sends on `run_id`: its decisions are not news.
    pub(super) fn note_sent(&mut self, run_id: &str, command: &Command) {
        let step = match command {
            Command::Approve { step, .. }
            | Command::Reject { step, .. }
            | Command::Retry { step, .. }
            | Command::Mark { step, .. } => Some(step.clone()),
            _ => None,
        };
        self.sent.push((run_id.to_string(), step));
        if self.sent.len() > SENT {
            self.sent.remove(0);
        }
    }

    /// Remember that this console resumes `run_id` (`R`): its resume is not news.
    pub(super) fn note_resumed(&mut self, run_id: &str) {
        self.sent.push((run_id.to_string(), None));
        if self.sent.len() > SENT {
            self.sent.remove(0);
        }
    }

    /// Whether audit row `a` of `run_id` came from this console's own commands.
    fn is_own(&self, run_id: &str, a: &AuditView) -> bool {
        same_actor(&a.actor, &self.operator)
            && self
                .sent
                .iter()
                .any(|(r, s)| r == run_id && (s.is_none() || a.step.is_none() || *s == a.step))
    }

    /// The decisions `next` records that `prev` (the same run, seen before) did not,
    /// that this console did not make: kept in the list and returned, to be shown and
    /// rung. A view of another run (the operator opened one) is no news.
    pub fn note_decisions(&mut self, prev: &RunView, next: &RunView) -> Vec<DecisionNotice> {
        if prev.run_id != next.run_id || next.audit.len() <= prev.audit.len() {
            return Vec::new();
        }
        let news: Vec<DecisionNotice> = next.audit[prev.audit.len()..]
            .iter()
            .filter(|a| is_decision(a.action) && !self.is_own(&next.run_id, a))
            .map(|a| DecisionNotice {
                run_id: next.run_id.clone(),
                workflow: next.workflow.clone(),
                at: a.at,
                actor: a.actor.clone(),
                action: a.action,
                step: a.step.clone(),
                reason: a.reason.clone(),
            })
            .collect();
        if let Some(last) = news.last() {
            // A stop stays on the status line as long as a refusal does.
            let stop = matches!(
                last.action,
                AuditAction::Rejected | AuditAction::TimedOut | AuditAction::Cancel
            );
            let more = match news.len() {
                1 => String::new(),
                n => format!(" (+{} more: ! lists them)", n - 1),
            };
            super::update::toast(self, format!("! {}{more}", last.text()), !stop);
        }
        self.notices.extend(news.iter().cloned());
        let over = self.notices.len().saturating_sub(KEEP);
        self.notices.drain(..over);
        news
    }
}
