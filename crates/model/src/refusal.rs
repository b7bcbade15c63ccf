//! Why a command was not applied: one type the core (and, for what happens before or
//! around the core, the session and the store) decides, which every front end shows
//! by its `Display` (one wording each) and scripts read by its stable code
//! (`reason_required`, `already_decided`, …: [`Refusal::code`], the variant's name in
//! snake_case; `docs/architecture.md` lists them).
use crate::mask::Masker;
use crate::state::{RunState, StepState};
use serde::{Deserialize, Serialize};

/// What a reason is required for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReasonFor {
    Reject,
    PushBack,
    Mark,
    RaiseBudget,
    Hold,
    Release,
}

impl std::fmt::Display for ReasonFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReasonFor::Reject => "reject",
            ReasonFor::PushBack => "push back (it is the feedback the revised steps read)",
            ReasonFor::Mark => "mark a step",
            ReasonFor::RaiseBudget => "raise the budget",
            ReasonFor::Hold => "hold",
            ReasonFor::Release => "release",
        })
    }
}

/// A command that was not applied, and why. Serialized with its code as the tag
/// (`{"code": "not_an_approver", "actor": …}`), so a verdict handed between processes
/// (the store's `commands` table) keeps its kind.
#[derive(
    Debug,
    Clone,
    PartialEq,
    thiserror::Error,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[serde(tag = "code", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Refusal {
    // The run as a whole.
    #[error("the run has not started")]
    NotStarted,
    #[error("the run is interrupted; `baton resume {run}` continues it")]
    Interrupted { run: String },
    #[error("the run already finished ({state})")]
    AlreadyFinished { state: RunState },
    #[error(
        "the run already finished; `baton retry {run} STEP` or `baton mark {run} STEP …` reopens it"
    )]
    NothingToResume { run: String },
    #[error("cancel was already requested")]
    AlreadyCancelling,
    #[error("the run is being cancelled")]
    Cancelling,
    #[error("the run's compensations already ran (its work was undone); start a new run")]
    Compensated,
    #[error("the run's timeout has passed")]
    RunTimedOut,

    // The command as given.
    #[error("a command needs the name of who gives it (an empty name is nobody)")]
    NoOperator,
    #[error("no step named `{step}` in this run")]
    NoSuchStep { step: String },
    #[error(
        "the budget gate is not a step: `baton approve {run} --raise cost=N --reason …` raises it (`cost=N` adds N to the ceiling), `baton reject {run} --budget --reason …` rejects it (no step)"
    )]
    BudgetIsRaised { run: String },
    #[error("a reason is required to {to}")]
    ReasonRequired { to: ReasonFor },
    #[error("{}", problems.join("; "))]
    InputInvalid { problems: Vec<String> },
    /// `baton label` with a key or value `model::labels` does not take, or one more
    /// label than a run holds (each problem said).
    #[error("{}", problems.join("; "))]
    BadLabels { problems: Vec<String> },
    #[error("a step can be marked succeeded or failed, not {state}")]
    MarkState { state: StepState },
    #[error("nothing to raise: give cost, calls or tokens")]
    NothingToRaise,
    #[error("a raise must be more than nothing: a cost above 0, calls or tokens of at least 1")]
    BadRaise,
    /// A text over the bound (`bounds::MAX_OPERATOR_TEXT`), however the command came:
    /// refused on record, with only a cut copy of the command kept.
    #[error("{why}")]
    TooLong { why: String },

    // Gates.
    #[error("step `{step}` has no gate")]
    NoGate { step: String },
    #[error("the gate of `{step}` was already decided ({decision})")]
    AlreadyDecided { step: String, decision: String },
    #[error("the gate of `{step}` is not open (the step is {state})")]
    NotWaiting { step: String, state: StepState },
    #[error(
        "the gate of `{step}` names no steps to revise: it can be approved or rejected, not pushed back (add `revise = [\"STEP\"]` to the gate)"
    )]
    NoRevise { step: String },
    #[error(
        "the gate of `{step}` is in its last round ({rounds} of {rounds}): approve or reject it"
    )]
    RoundsUsed { step: String, rounds: u32 },
    #[error("no ask `{ask}` in this store (`baton inbox` lists the open ones)")]
    NoAsk { ask: String },
    #[error("the ask `{ask}` is no longer open ({state})")]
    AskClosed { ask: String, state: String },
    #[error("`{actor}` is not an approver (approvers: {})", approvers.join(", "))]
    NotAnApprover {
        actor: String,
        approvers: Vec<String>,
    },
    #[error("self-approval: `{actor}` {} (allow_self_approval = false)", own(*.asked))]
    SelfApproval {
        actor: String,
        /// Of an ask (`baton ask`), not of a run's gate: said as an ask.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        asked: bool,
    },
    #[error("`{actor}` already approved this {}", subject(*.asked))]
    AlreadyApproved {
        actor: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        asked: bool,
    },
    #[error(
        "the inputs differ from the first approval of `{step}`: {}; every approval of a gate carries the same inputs (give --input {})",
        differ.join(", "),
        first.join(" --input ")
    )]
    InputsDiffer {
        step: String,
        /// What differs, input by input.
        differ: Vec<String>,
        /// The first approval's inputs, `NAME=VALUE`.
        first: Vec<String>,
    },

    // Signed gates.
    #[error(
        "the gate of `{step}` is not signed (no `signed = true`): decide it without a signature"
    )]
    NotSigned { step: String },
    #[error(
        "the gate of `{step}` takes only signed decisions (signed = true): {verb} with your SSH key through ssh-agent (`baton {verb} {run} {step} --reason …`, with SSH_AUTH_SOCK set and the key added), with a key file (`--sign-key ~/.ssh/id_ed25519`), or sign elsewhere: `baton {verb} {run} {step} --reason … --print-message > msg`, `ssh-keygen -Y sign -n baton -f KEY msg`, then `--signature msg.sig`"
    )]
    SignatureRequired {
        run: String,
        step: String,
        verb: String,
    },
    #[error("the workflow has no [approvals] allowed_signers")]
    NoAllowedSigners,
    #[error(
        "the reason holds a secret; a signed reason is kept as it was signed, so write it without the secret"
    )]
    SecretInSignedReason,
    #[error("{why}")]
    BadSignature { why: String },
    #[error(
        "key {key} signs as {} in the allowed signers, and none of them is an approver of `{step}` (approvers: {})",
        principals.join(", "),
        approvers.join(", ")
    )]
    KeyNotAnApprover {
        key: String,
        principals: Vec<String>,
        step: String,
        approvers: Vec<String>,
    },
    #[error(
        "key {key} already approved this {} (as `{actor}`): one key is one vote",
        subject(*.asked)
    )]
    KeyAlreadyVoted {
        key: String,
        actor: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        asked: bool,
    },
    #[error(
        "self-approval: key {key} is listed under `{principal}`, which is account `{account}`, who {} (allow_self_approval = false; a principal is the account named before its `@`)",
        own(*.asked)
    )]
    SelfApprovalByKey {
        key: String,
        principal: String,
        account: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        asked: bool,
    },
    #[error("signing failed: {why}")]
    SigningFailed { why: String },

    // Retry and mark.
    #[error(
        "`{step}` is {state}; only failed, rejected, cancelled or interrupted steps can be retried"
    )]
    NotRetryable { step: String, state: StepState },
    #[error("`{step}` has no failed, rejected, cancelled or interrupted instance to retry")]
    NoInstanceToRetry { step: String },
    #[error(
        "run {run} has no failed, timed-out or fail-fast-cancelled step to retry{}",
        left_one_by_one(run, left)
    )]
    NothingToRetry {
        run: String,
        /// Interrupted steps `--failed` leaves to a person, one by one.
        left: Vec<String>,
    },
    #[error(
        "`{step}` was not undone (its compensation failed): undo it by hand, then `baton mark {run} {step} --state failed --reason …`"
    )]
    NotUndone { run: String, step: String },
    #[error("`{step}` is {state} and cannot be marked now")]
    Busy { step: String, state: StepState },
    #[error("`{step}` is already {state}")]
    AlreadyInState { step: String, state: StepState },
    #[error(
        "`{step}` is waiting for approval: a gate cannot be marked; approve or reject it (`baton approve {run} {step}`) under the gate's rules"
    )]
    GateWaiting { run: String, step: String },
    #[error("`{step}` has a gate that was not approved: it cannot be marked succeeded")]
    GateNotApproved { step: String },

    // Hold and release.
    #[error("`{step}` is {state}: only a step that has not ended can be held")]
    NotHoldable { step: String, state: StepState },
    #[error("`{step}` is already held")]
    AlreadyHeld { step: String },
    #[error("`{step}` is not held")]
    NotHeld { step: String },
    #[error("nothing in the run can be {what} now")]
    NothingToHold { what: String },
    #[error("`{step}` cannot be frozen: {why}")]
    CannotFreeze { step: String, why: String },
    #[error(
        "`{step}` stays frozen: it was adopted after its engine died, and baton sees its exit only by tracing it, which was refused ({why}); let baton trace it (run baton as the step's user where ptrace is allowed: no other tracer such as strace or gdb attached to it, Yama's ptrace_scope 0 or CAP_SYS_PTRACE) and release it again, or stop it with `baton cancel {run}`"
    )]
    TraceRefused {
        run: String,
        step: String,
        why: String,
    },
    #[error("`--until` is not in the future: {until}")]
    UntilPassed { until: String },

    // Fork (`baton fork RUN --from STEP`).
    #[error(
        "run {run} is {state}: only a finished run is forked (`baton resume {run}`, `baton retry`, or wait for it to end)"
    )]
    ForkUnfinished { run: String, state: RunState },
    #[error(
        "`{step}` is an instance of `{parent}`: fork from `{parent}` (its instances run again with it)"
    )]
    ForkFromInstance { step: String, parent: String },
    #[error(
        "`{step}` cannot run in a fork of run {run}: its upstream `{upstream}` is reused and was {state} there, so it never succeeded; fork from `{upstream}` (or an earlier step) instead"
    )]
    ForkUpstreamNotSucceeded {
        run: String,
        step: String,
        upstream: String,
        state: StepState,
    },

    // The budget.
    #[error("the workflow sets no budget")]
    NoBudget,
    #[error(
        "the budget gate of run {run} is not open: nothing to reject (`baton reject {run} --budget` rejects it while the run waits at a ceiling)"
    )]
    NoBudgetGate { run: String },
    #[error("the run is {state} and no longer scheduling")]
    NotScheduling { state: RunState },

    // Delivery: the command between a front end and the engine.
    #[error(
        "the engine driving the run ({holder}) did not take the command within {wait}; it was withdrawn and will never apply"
    )]
    NotTaken { holder: String, wait: String },
    #[error("the background engine (pid {pid}) did not take the command within {wait}; see {log}")]
    NotTakenInBackground { pid: u32, wait: String, log: String },
    #[error(
        "the engine took the command but gave no answer; whether it was applied shows in `baton show {run}`"
    )]
    NoAnswer { run: String },
    #[error("expired: no engine took the command before its submitter stopped waiting")]
    Expired,
    #[error("{why}")]
    Unproven { why: String },
    #[error("not a command this baton can read: {why}")]
    Unreadable { why: String },
    #[error("{starter_only}; a command of yours is recorded for that engine")]
    StarterOnly { starter_only: String },
    #[error(
        "concurrency group `{group}` is held by run {holder} now; resume this run once that one has ended (or `baton cancel {holder}`)"
    )]
    GroupHeld { group: String, holder: String },
    #[error("the engine has stopped")]
    EngineStopped,
    #[error("this console is read-only (baton tui --readonly)")]
    ReadOnly,
    /// Resume or delete a run this console already drives.
    #[error("this console already drives the run")]
    DrivenHere,
    /// Resume a run another live engine drives.
    #[error("another engine drives the run")]
    DrivenElsewhere,
    #[error("no run is open")]
    NoRunOpen,
    #[error("{why}")]
    CannotApply { why: String },
    /// A refusal recorded before refusals had codes (an older store's verdict).
    #[error("{reason}")]
    Recorded { reason: String },
}

/// What `baton retry RUN --failed` leaves to a person (empty when nothing): the
/// interrupted steps, whose attempt may have done its work, each retried or marked by
/// name once someone knows what happened.
pub fn left_one_by_one(run: &str, left: &[String]) -> String {
    match left {
        [] => String::new(),
        [one] => format!(
            "; `{one}` was interrupted and may have done its work: `baton retry {run} {one}` or `baton mark` it once you know"
        ),
        more => format!(
            "; {} were interrupted and may have done their work: retry (`baton retry {run} STEP`) or `baton mark` each once you know",
            more.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Whose own a self-approval is: the run's starter's, or an ask's asker's.
fn own(asked: bool) -> &'static str {
    if asked {
        "asked this (an ask is answered by someone else)"
    } else {
        "started this run"
    }
}

/// What was already approved: a run's gate, or an ask.
fn subject(asked: bool) -> &'static str {
    if asked { "ask" } else { "gate" }
}

impl Refusal {
    /// This refusal of an ask (`baton ask`), said as one: the asker, not a run's
    /// starter; the ask, not a gate.
    pub fn of_ask(self) -> Refusal {
        match self {
            Refusal::SelfApproval { actor, .. } => Refusal::SelfApproval { actor, asked: true },
            Refusal::AlreadyApproved { actor, .. } => {
                Refusal::AlreadyApproved { actor, asked: true }
            }
            Refusal::KeyAlreadyVoted { key, actor, .. } => Refusal::KeyAlreadyVoted {
                key,
                actor,
                asked: true,
            },
            Refusal::SelfApprovalByKey {
                key,
                principal,
                account,
                ..
            } => Refusal::SelfApprovalByKey {
                key,
                principal,
                account,
                asked: true,
            },
            other => other,
        }
    }

    /// The stable code scripts read (`--json`'s `refused.code`, the audit).
    pub fn code(&self) -> &'static str {
        self.into()
    }

    /// Every code, in the order of the variants.
    pub const CODES: &'static [&'static str] = <Refusal as strum::VariantNames>::VARIANTS;

    /// The command as given can never apply, whatever the run's state: fix the command
    /// (a usage error, exit 2). Such a command decides nothing about the run, so the
    /// core refuses it without a record.
    pub fn fix_the_command(&self) -> bool {
        matches!(
            self,
            Refusal::ReasonRequired { .. }
                | Refusal::InputInvalid { .. }
                | Refusal::BadLabels { .. }
                | Refusal::MarkState { .. }
                | Refusal::NothingToRaise
                | Refusal::BadRaise
                | Refusal::UntilPassed { .. }
                | Refusal::ForkUnfinished { .. }
                | Refusal::ForkFromInstance { .. }
                | Refusal::ForkUpstreamNotSucceeded { .. }
                | Refusal::NoRevise { .. }
                | Refusal::RoundsUsed { .. }
        )
    }

    /// `{"code": …, "message": …}`: how every JSON output reports a refusal.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code(), "message": self.to_string() })
    }

    /// The refusal with every text in it masked (an operator's name, input or reason
    /// may hold one of the run's secrets); its code is kept.
    pub fn masked(&self, masker: &Masker) -> Refusal {
        if masker.is_empty() {
            return self.clone();
        }
        let Ok(mut v) = serde_json::to_value(self) else {
            return self.clone();
        };
        mask_value(&mut v, masker);
        serde_json::from_value(v).unwrap_or_else(|_| Refusal::Recorded {
            reason: masker.mask(&self.to_string()).into_owned(),
        })
    }
}

fn mask_value(v: &mut serde_json::Value, masker: &Masker) {
    match v {
        serde_json::Value::String(s) => *s = masker.mask(s).into_owned(),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| mask_value(x, masker)),
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k != "code" {
                    mask_value(x, masker);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The code serde tags a refusal with is strum's name of it, for every variant.
    #[test]
    fn serde_and_strum_say_the_same_code() {
        let some = [
            Refusal::NotStarted,
            Refusal::ReasonRequired {
                to: ReasonFor::Reject,
            },
            Refusal::AlreadyDecided {
                step: "ship".into(),
                decision: "approved".into(),
            },
            Refusal::NotAnApprover {
                actor: "mallory".into(),
                approvers: vec!["alice".into()],
            },
            Refusal::InputInvalid {
                problems: vec!["a".into(), "b".into()],
            },
            Refusal::Recorded {
                reason: "old".into(),
            },
        ];
        for r in some {
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(v["code"], r.code(), "{r:?}");
            assert!(Refusal::CODES.contains(&r.code()));
            let back: Refusal = serde_json::from_value(v).unwrap();
            assert_eq!(back, r);
        }
        assert_eq!(
            Refusal::ReasonRequired {
                to: ReasonFor::Reject
            }
            .to_string(),
            "a reason is required to reject"
        );
    }

    /// One of every variant. The match below has no wildcard, so a new variant does
    /// not compile until it is added here, and `every_variant_has_its_own_code` then
    /// checks it.
    fn every_variant() -> Vec<Refusal> {
        let all = [run_refusals(), gate_refusals(), step_refusals()].concat();
        for r in &all {
            match r {
                Refusal::NotStarted
                | Refusal::Interrupted { .. }
                | Refusal::AlreadyFinished { .. }
                | Refusal::NothingToResume { .. }
                | Refusal::AlreadyCancelling
                | Refusal::Cancelling
                | Refusal::Compensated
                | Refusal::RunTimedOut
                | Refusal::NoOperator
                | Refusal::NoSuchStep { .. }
                | Refusal::ForkUnfinished { .. }
                | Refusal::ForkFromInstance { .. }
                | Refusal::ForkUpstreamNotSucceeded { .. }
                | Refusal::BudgetIsRaised { .. }
                | Refusal::ReasonRequired { .. }
                | Refusal::InputInvalid { .. }
                | Refusal::BadLabels { .. }
                | Refusal::MarkState { .. }
                | Refusal::NothingToRaise
                | Refusal::BadRaise
                | Refusal::TooLong { .. }
                | Refusal::NoGate { .. }
                | Refusal::NoRevise { .. }
                | Refusal::RoundsUsed { .. }
                | Refusal::AlreadyDecided { .. }
                | Refusal::NotWaiting { .. }
                | Refusal::NoAsk { .. }
                | Refusal::AskClosed { .. }
                | Refusal::NotAnApprover { .. }
                | Refusal::SelfApproval { .. }
                | Refusal::AlreadyApproved { .. }
                | Refusal::InputsDiffer { .. }
                | Refusal::NotSigned { .. }
                | Refusal::SignatureRequired { .. }
                | Refusal::NoAllowedSigners
                | Refusal::SecretInSignedReason
                | Refusal::BadSignature { .. }
                | Refusal::KeyNotAnApprover { .. }
                | Refusal::KeyAlreadyVoted { .. }
                | Refusal::SelfApprovalByKey { .. }
                | Refusal::SigningFailed { .. }
                | Refusal::NotRetryable { .. }
                | Refusal::NoInstanceToRetry { .. }
                | Refusal::NothingToRetry { .. }
                | Refusal::NotUndone { .. }
                | Refusal::Busy { .. }
                | Refusal::AlreadyInState { .. }
                | Refusal::GateWaiting { .. }
                | Refusal::GateNotApproved { .. }
                | Refusal::NoBudget
                | Refusal::NoBudgetGate { .. }
                | Refusal::NotScheduling { .. }
                | Refusal::NotTaken { .. }
                | Refusal::NotTakenInBackground { .. }
                | Refusal::NoAnswer { .. }
                | Refusal::Expired
                | Refusal::Unproven { .. }
                | Refusal::Unreadable { .. }
                | Refusal::StarterOnly { .. }
                | Refusal::GroupHeld { .. }
                | Refusal::NotHoldable { .. }
                | Refusal::AlreadyHeld { .. }
                | Refusal::NotHeld { .. }
                | Refusal::NothingToHold { .. }
                | Refusal::CannotFreeze { .. }
                | Refusal::TraceRefused { .. }
                | Refusal::UntilPassed { .. }
                | Refusal::EngineStopped
                | Refusal::ReadOnly
                | Refusal::DrivenHere
                | Refusal::DrivenElsewhere
                | Refusal::NoRunOpen
                | Refusal::CannotApply { .. }
                | Refusal::Recorded { .. } => {}
            }
        }
        all
    }

    /// Refusals of the run's commands and their arguments.
    fn run_refusals() -> Vec<Refusal> {
        let s = |x: &str| x.to_string();
        vec![
            Refusal::NotStarted,
            Refusal::Interrupted { run: s("r") },
            Refusal::AlreadyFinished {
                state: RunState::Succeeded,
            },
            Refusal::NothingToResume { run: s("r") },
            Refusal::AlreadyCancelling,
            Refusal::Cancelling,
            Refusal::Compensated,
            Refusal::RunTimedOut,
            Refusal::NoOperator,
            Refusal::NoSuchStep { step: s("a") },
            Refusal::ForkUnfinished {
                run: s("r"),
                state: RunState::Running,
            },
            Refusal::ForkFromInstance {
                step: s("a[x]"),
                parent: s("a"),
            },
            Refusal::ForkUpstreamNotSucceeded {
                run: s("r"),
                step: s("b"),
                upstream: s("a"),
                state: StepState::Failed,
            },
            Refusal::BudgetIsRaised { run: s("r") },
            Refusal::BadLabels {
                problems: vec![s("label key `-x`: …")],
            },
            Refusal::ReasonRequired {
                to: ReasonFor::Mark,
            },
            Refusal::InputInvalid {
                problems: vec![s("p")],
            },
            Refusal::MarkState {
                state: StepState::Running,
            },
            Refusal::NothingToRaise,
            Refusal::BadRaise,
            Refusal::TooLong { why: s("w") },
        ]
    }

    /// Refusals at gates: deciding, voting, signing.
    fn gate_refusals() -> Vec<Refusal> {
        let s = |x: &str| x.to_string();
        vec![
            Refusal::NoGate { step: s("a") },
            Refusal::NoRevise { step: s("a") },
            Refusal::RoundsUsed {
                step: s("a"),
                rounds: 3,
            },
            Refusal::AlreadyDecided {
                step: s("a"),
                decision: s("approved"),
            },
            Refusal::NotWaiting {
                step: s("a"),
                state: StepState::Pending,
            },
            Refusal::NoAsk { ask: s("a") },
            Refusal::AskClosed {
                ask: s("a"),
                state: s("expired"),
            },
            Refusal::NotAnApprover {
                actor: s("m"),
                approvers: vec![s("a")],
            },
            Refusal::SelfApproval {
                actor: s("a"),
                asked: false,
            },
            Refusal::AlreadyApproved {
                actor: s("a"),
                asked: true,
            },
            Refusal::InputsDiffer {
                step: s("a"),
                differ: vec![s("d")],
                first: vec![s("k=v")],
            },
            Refusal::NotSigned { step: s("a") },
            Refusal::SignatureRequired {
                run: s("r"),
                step: s("a"),
                verb: s("approve"),
            },
            Refusal::NoAllowedSigners,
            Refusal::SecretInSignedReason,
            Refusal::BadSignature { why: s("w") },
            Refusal::KeyNotAnApprover {
                key: s("k"),
                principals: vec![s("p")],
                step: s("a"),
                approvers: vec![s("a")],
            },
            Refusal::KeyAlreadyVoted {
                key: s("k"),
                actor: s("a"),
                asked: false,
            },
            Refusal::SelfApprovalByKey {
                key: s("k"),
                principal: s("p"),
                account: s("a"),
                asked: true,
            },
            Refusal::SigningFailed { why: s("w") },
        ]
    }

    /// Refusals of a step's commands (retry, mark, hold), schedules, asks and the store.
    fn step_refusals() -> Vec<Refusal> {
        let s = |x: &str| x.to_string();
        vec![
            Refusal::NotRetryable {
                step: s("a"),
                state: StepState::Succeeded,
            },
            Refusal::NoInstanceToRetry { step: s("a") },
            Refusal::NothingToRetry {
                run: s("r"),
                left: vec![s("a")],
            },
            Refusal::NotUndone {
                run: s("r"),
                step: s("a"),
            },
            Refusal::Busy {
                step: s("a"),
                state: StepState::Running,
            },
            Refusal::AlreadyInState {
                step: s("a"),
                state: StepState::Failed,
            },
            Refusal::GateWaiting {
                run: s("r"),
                step: s("a"),
            },
            Refusal::GateNotApproved { step: s("a") },
            Refusal::NotHoldable {
                step: s("a"),
                state: StepState::Succeeded,
            },
            Refusal::AlreadyHeld { step: s("a") },
            Refusal::NotHeld { step: s("a") },
            Refusal::NothingToHold { what: s("held") },
            Refusal::CannotFreeze {
                step: s("a"),
                why: s("w"),
            },
            Refusal::TraceRefused {
                run: s("r"),
                step: s("a"),
                why: s("w"),
            },
            Refusal::UntilPassed { until: s("t") },
            Refusal::NoBudget,
            Refusal::NoBudgetGate { run: s("r") },
            Refusal::NotScheduling {
                state: RunState::Failed,
            },
            Refusal::NotTaken {
                holder: s("h"),
                wait: s("10s"),
            },
            Refusal::NotTakenInBackground {
                pid: 1,
                wait: s("10s"),
                log: s("l"),
            },
            Refusal::NoAnswer { run: s("r") },
            Refusal::Expired,
            Refusal::Unproven { why: s("w") },
            Refusal::Unreadable { why: s("w") },
            Refusal::StarterOnly {
                starter_only: s("w"),
            },
            Refusal::GroupHeld {
                group: s("g"),
                holder: s("r"),
            },
            Refusal::EngineStopped,
            Refusal::ReadOnly,
            Refusal::DrivenHere,
            Refusal::DrivenElsewhere,
            Refusal::NoRunOpen,
            Refusal::CannotApply { why: s("w") },
            Refusal::Recorded { reason: s("w") },
        ]
    }

    /// Every variant has a code of its own, which its JSON (`--json`'s `refused`, the
    /// serde form kept in events) carries, and which docs/architecture.md lists.
    #[test]
    fn every_variant_has_its_own_code() {
        let docs = include_str!("../../../docs/architecture.md");
        let mut seen = std::collections::BTreeSet::new();
        for r in every_variant() {
            let code = r.code();
            assert!(seen.insert(code), "{code}: two variants, one code");
            assert_eq!(r.json()["code"], code, "{r:?}");
            assert_eq!(r.json()["message"], r.to_string(), "{r:?}");
            assert!(!r.to_string().is_empty(), "{code} says nothing");
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(v["code"], code, "{r:?}");
            assert_eq!(serde_json::from_value::<Refusal>(v).unwrap(), r);
            assert!(
                docs.contains(&format!("`{code}`")),
                "{code} is not in docs/architecture.md's table of refusals"
            );
        }
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            {
                let mut all = Refusal::CODES.to_vec();
                all.sort_unstable();
                all
            },
            "every_variant() lists each variant once"
        );
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Refusal::CODES {
            assert!(seen.insert(*c), "{c} twice");
            assert!(c.chars().all(|x| x.is_ascii_lowercase() || x == '_'), "{c}");
        }
        assert!(Refusal::CODES.contains(&"reason_required"));
        assert!(Refusal::CODES.contains(&"not_an_approver"));
    }

    /// docs/architecture.md's table of refusals names every code.
    #[test]
    fn the_docs_list_every_code() {
        let docs = include_str!("../../../docs/architecture.md");
        for c in Refusal::CODES {
            assert!(
                docs.contains(&format!("`{c}`")),
                "{c} is not in docs/architecture.md"
            );
        }
    }

    #[test]
    fn masking_keeps_the_code() {
        let m = Masker::new(vec!["hunter2".into()]);
        let r = Refusal::InputInvalid {
            problems: vec!["`hunter2` is not one of a, b".into()],
        };
        let masked = r.masked(&m);
        assert_eq!(masked.code(), "input_invalid");
        assert!(!masked.to_string().contains("hunter2"), "{masked}");
    }
}
