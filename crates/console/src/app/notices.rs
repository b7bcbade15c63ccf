//! Others' decisions are news (issue 28 point 4, issue 45 point 5): every decision
//! recorded in the store while the console is open (any run's, a schedule's) that this
//! console did not make becomes a notice with who, what and the reason typed, kept in
//! the notices list (`!`). This console's own go to its action log (`@`,
//! `app::action_log`) instead. Own means: a command this console sent, matched by
//! run, step, account and reason, each matched once (the same account deciding from
//! another shell is news).
use super::state::UiState;
use baton_link::Act;
use baton_link::News;
use baton_model::{AuditAction, Command, Timestamp, same_actor};

/// How many notices the list keeps, newest last.
const KEEP: usize = 200;
/// How many of this console's own commands are remembered to tell them from others'.
const SENT: usize = 64;
/// The audit subject of a schedule's rows (`baton_store::schedules::AUDIT_SUBJECT`).
const SCHEDULES: &str = "schedules";

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
    /// What a schedule's row names (its schedules, its workflow), empty otherwise.
    pub subject: String,
}

impl DecisionNotice {
    /// `bob rejected deploy: “not on a Friday”`.
    pub fn text(&self) -> String {
        let what = match self.action {
            AuditAction::ApprovalVote => "voted to approve",
            AuditAction::Approved => "approved",
            AuditAction::Rejected => "rejected",
            AuditAction::TimedOut => "let time out",
            AuditAction::Voided => "voided the approval of",
            AuditAction::Retry => "retried",
            AuditAction::RetryFailed => "retried the failed steps of the run",
            AuditAction::Mark => "marked",
            AuditAction::BudgetRaised => "raised the budget",
            AuditAction::BudgetRejected => "rejected the budget gate",
            AuditAction::Cancel => "cancelled the run",
            AuditAction::RunResumed => "resumed the run",
            AuditAction::RunDeleted => "deleted the run",
            AuditAction::SchedulePaused => "paused schedule",
            AuditAction::ScheduleResumed => "resumed schedule",
            AuditAction::ScheduleTriggered => "triggered a run of",
            _ => "decided",
        };
        let mut t = format!("{} {what}", self.actor);
        for s in [self.step.as_deref().unwrap_or(""), &self.subject] {
            if !s.is_empty() {
                t.push_str(&format!(" {s}"));
            }
        }
        match self.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            Some(r) => t.push_str(&format!(": “{}”", r.replace('\n', " "))),
            None if self.action == AuditAction::TimedOut => {}
            None => t.push_str(" (no reason given)"),
        }
        t
    }
}

/// The audit actions that are someone's decision (what `!` lists).
pub(super) fn is_decision(a: AuditAction) -> bool {
    matches!(
        a,
        AuditAction::ApprovalVote
            | AuditAction::Approved
            | AuditAction::Rejected
            | AuditAction::TimedOut
            | AuditAction::Voided
            | AuditAction::Retry
            | AuditAction::RetryFailed
            | AuditAction::Mark
            | AuditAction::BudgetRaised
            | AuditAction::BudgetRejected
            | AuditAction::Cancel
            | AuditAction::RunResumed
            | AuditAction::RunDeleted
            | AuditAction::SchedulePaused
            | AuditAction::ScheduleResumed
            | AuditAction::ScheduleTriggered
    )
}

/// A command this console sent, as its audit rows will read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sent {
    run_id: String,
    /// The row that answers it (and is matched once).
    action: AuditAction,
    step: Option<String>,
    reason: Option<String>,
}

impl Sent {
    fn matches(&self, operator: &str, n: &News) -> bool {
        let step = self.step.is_none() || self.step == n.step;
        // A row without a reason (a gate's approval: its vote carries it) matches on
        // the rest.
        let reason = self.reason.is_none() || n.reason.is_none() || self.reason == n.reason;
        // An approval is the vote, then (its quorum met) the gate's approval.
        let action = n.action == self.action
            || (self.action == AuditAction::Approved && n.action == AuditAction::ApprovalVote);
        // Through a link the row names the host's account the link runs as, which the
        // link's session marks as its viewer's.
        let by_me = n.by_viewer || same_actor(&n.actor, operator);
        by_me && n.run_id == self.run_id && action && step && reason
    }
}

/// The row a command's decision is recorded as.
fn answer(command: &Command) -> (AuditAction, Option<&str>, Option<&str>) {
    match command {
        Command::Approve { step, reason, .. } => {
            (AuditAction::Approved, Some(step), reason.as_deref())
        }
        Command::Reject { step, reason, .. } => (AuditAction::Rejected, Some(step), Some(reason)),
        Command::PushBack { step, reason, .. } => {
            (AuditAction::PushedBack, Some(step), Some(reason))
        }
        Command::Retry { step, .. } => (AuditAction::Retry, Some(step), None),
        Command::RetryFailed { .. } => (AuditAction::RetryFailed, None, None),
        Command::Label { .. } => (AuditAction::Labelled, None, None),
        Command::Mark { step, reason, .. } => (AuditAction::Mark, Some(step), Some(reason)),
        Command::Cancel { reason, .. } => (AuditAction::Cancel, None, reason.as_deref()),
        Command::RaiseBudget { reason, .. } => (AuditAction::BudgetRaised, None, Some(reason)),
        Command::RejectBudget { reason, .. } => (AuditAction::BudgetRejected, None, Some(reason)),
        // One row per step held or released: any of them is this console's.
        Command::Hold { reason, .. } => (AuditAction::Hold, None, Some(reason)),
        Command::Release { reason, .. } => (AuditAction::Release, None, Some(reason)),
    }
}

impl UiState {
    fn remember(&mut self, s: Sent) {
        self.sent.push(s);
        if self.sent.len() > SENT {
            self.sent.remove(0);
        }
    }

    /// Remember a command this console sends on `run_id`: its decision is not news.
    pub(super) fn note_sent(&mut self, run_id: &str, command: &Command) {
        let (action, step, reason) = answer(command);
        self.remember(Sent {
            run_id: run_id.to_string(),
            action,
            step: step.map(str::to_string),
            reason: reason.map(str::to_string),
        });
    }

    /// Remember that this console resumes `run_id` (`R`, or a command's takeover).
    pub(super) fn note_resumed(&mut self, run_id: &str) {
        self.remember(Sent {
            run_id: run_id.to_string(),
            action: AuditAction::RunResumed,
            step: None,
            reason: None,
        });
    }

    /// Remember a schedule's pause, resume or trigger this console asks for.
    pub(super) fn note_schedule(&mut self, act: Act, reason: &str) {
        let action = match act {
            Act::Pause => AuditAction::SchedulePaused,
            Act::Resume => AuditAction::ScheduleResumed,
            Act::Trigger => AuditAction::ScheduleTriggered,
        };
        self.remember(Sent {
            run_id: SCHEDULES.into(),
            action,
            step: None,
            reason: Some(reason.to_string()),
        });
    }

    /// Whether row `n` answers a command this console sent; a match is used up (but
    /// an approval's vote, which its gate's approval follows).
    fn is_own(&mut self, n: &News) -> bool {
        let Some(i) = self.sent.iter().position(|s| s.matches(&self.operator, n)) else {
            return false;
        };
        if n.action != AuditAction::ApprovalVote {
            self.sent.remove(i);
        }
        true
    }

    /// The decisions recorded since the last call (`rows`: the feed's, newest last)
    /// that this console did not make: kept in the list and returned, to be shown and
    /// rung. An approval is one notice: the vote's reason on the gate's approval.
    pub fn note_news(&mut self, rows: &[News]) -> Vec<DecisionNotice> {
        let new: Vec<&News> = rows.iter().filter(|n| n.id > self.news_seen).collect();
        let Some(last) = new.last() else {
            return Vec::new();
        };
        self.news_seen = last.id;
        let mut news: Vec<DecisionNotice> = Vec::new();
        for n in new.iter().copied().filter(|n| is_decision(n.action)) {
            if self.is_own(n) {
                continue;
            }
            let mut reason = n.reason.clone();
            let unsaid = reason.as_deref().is_none_or(|r| r.trim().is_empty());
            if n.action == AuditAction::Approved && unsaid {
                // The vote that closed the gate carries the reason typed.
                let vote = news.iter().rposition(|d| {
                    d.action == AuditAction::ApprovalVote
                        && d.run_id == n.run_id
                        && d.step == n.step
                        && same_actor(&d.actor, &n.actor)
                });
                if let Some(i) = vote {
                    reason = news.remove(i).reason;
                }
            }
            news.push(DecisionNotice {
                workflow: self.workflow_of(&n.run_id),
                run_id: n.run_id.clone(),
                at: n.at,
                actor: n.actor.clone(),
                action: n.action,
                step: n.step.clone(),
                reason,
                subject: n.subject(),
            });
        }
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
            let on = match last.run_id.as_str() {
                SCHEDULES => String::new(),
                id => format!(
                    " [{} {}]",
                    last.workflow,
                    super::runs::short_id(id, &self.run_ids)
                ),
            };
            super::update::toast(self, format!("! {}{on}{more}", last.text()), !stop);
        }
        self.notices.extend(news.iter().cloned());
        let over = self.notices.len().saturating_sub(KEEP);
        self.notices.drain(..over);
        news
    }

    /// The workflow of a listed run (`""` when it is not listed).
    pub(crate) fn workflow_of(&self, run_id: &str) -> String {
        self.runs
            .iter()
            .find(|r| r.id == run_id)
            .map(|r| r.workflow.clone())
            .unwrap_or_default()
    }
}
