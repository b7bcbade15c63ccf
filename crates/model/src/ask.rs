//! `baton ask` (issue 44 point 5): a question a process puts to a person and waits on.
//! Run by a step it belongs to that step; by any other process it is the store's,
//! naming the asking account, pid and command line. Decided by the rules of gates
//! (`actor::may_approve`, `actor::check_approver`, a quorum), pure here; the store
//! records the votes on the audit chain, the session checks the typed inputs.
use super::actor::{self, GateRules};
use super::inbox::{WaitKind, Waiting};
use super::refusal::{ReasonFor, Refusal};
use super::state::RunState;
use super::time::Timestamp;
use super::view::InputView;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What every ask's id starts with: `baton approve ask-…` tells an ask from a run by it.
pub const ID_PREFIX: &str = "ask-";

/// The audit chain's subject of a store-level ask's decisions (a step's are its run's).
pub const AUDIT_SUBJECT: &str = "asks";

/// Most characters of the asker's command line kept on record.
pub const MAX_COMMAND: usize = 512;

/// Whether `s` names an ask rather than a run.
pub fn is_ask_id(s: &str) -> bool {
    s.starts_with(ID_PREFIX)
}

/// Where an ask stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AskState {
    Open,
    Approved,
    Rejected,
    /// Its `--timeout` passed with no decision (recorded by the asker, or read so once
    /// the asker is gone).
    Expired,
    /// Open on record, but its asker is gone (killed): nobody waits for the answer.
    Abandoned,
}

impl AskState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Who asked: the OS account, its process and its command line (bounded, sanitised,
/// secrets masked before it is stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asker {
    pub account: String,
    /// `pid N on HOST`, as a lease holder is named: whether it still lives is read the
    /// same way (`store::holder_alive`).
    pub holder: String,
    pub command: String,
}

/// One ask as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ask {
    pub id: String,
    /// The step that asked (`BATON_RUN_ID`, `BATON_STEP_ID`), if a step did.
    pub run_id: Option<String>,
    pub step_id: Option<String>,
    pub workflow: Option<String>,
    pub prompt: String,
    pub inputs: Vec<InputView>,
    pub approvers: Vec<String>,
    pub quorum: u32,
    /// `--allow-self-approval`: the asking account may approve (as a gate with
    /// `allow_self_approval = true`); never for a signed ask.
    #[serde(default)]
    pub allow_self_approval: bool,
    /// `--signed`: the allowed-signers file's text the ask was opened with; only an
    /// answer signed by a key it lists under an approver counts.
    #[serde(default)]
    pub signers: Option<String>,
    pub asker: Asker,
    pub opened_at: Timestamp,
    pub deadline: Option<Timestamp>,
    /// As recorded (`open` until decided or expired).
    pub state: AskState,
    /// (voter, reason) of the approvals counted so far.
    pub votes: Vec<(String, Option<String>)>,
    /// The inputs of the first approval: every approval carries the same.
    pub values: Option<BTreeMap<String, String>>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub reason: Option<String>,
}

impl Ask {
    /// The state readers show at `now`: an open ask past its deadline reads `expired`,
    /// one whose asker is known dead (`asker_alive` says `Some(false)`) `abandoned`.
    pub fn state_at(&self, now: Timestamp, asker_alive: Option<bool>) -> AskState {
        if self.state != AskState::Open {
            return self.state;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            AskState::Expired
        } else if asker_alive == Some(false) {
            AskState::Abandoned
        } else {
            AskState::Open
        }
    }

    /// Who asked, in a line: the step, or the account, process and command.
    pub fn who_asked(&self) -> String {
        match (&self.run_id, &self.step_id) {
            (Some(r), Some(s)) => format!("step {s} of run {r} ({})", self.asker.account),
            _ => format!(
                "{} ({}): {}",
                self.asker.account, self.asker.holder, self.asker.command
            ),
        }
    }

    fn rules(&self) -> GateRules<'_> {
        GateRules {
            approvers: &self.approvers,
            starter: &self.asker.account,
            allow_self_approval: self.allow_self_approval && self.signers.is_none(),
            votes: &self.votes,
        }
    }

    fn check_open(&self, now: Timestamp, asker_alive: Option<bool>) -> Result<(), Refusal> {
        match self.state_at(now, asker_alive) {
            AskState::Open => Ok(()),
            s => Err(Refusal::AskClosed {
                ask: self.id.clone(),
                state: s.as_str().to_string(),
            }),
        }
    }
}

/// A person's answer to an ask.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// With the checked inputs (`session::ask` resolves them against `inputs`).
    Approve {
        inputs: BTreeMap<String, String>,
        reason: Option<String>,
    },
    Reject {
        reason: String,
    },
}

/// What an answer does to an ask.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A vote counted; the quorum wants more (`votes`/`quorum`).
    Counted {
        votes: u32,
        quorum: u32,
    },
    Approved,
    Rejected,
}

impl Outcome {
    /// What an answer to ask `id` that came to this says to the one who gave it.
    pub fn said(&self, id: &str) -> String {
        match self {
            Outcome::Approved => format!("approved {id}"),
            Outcome::Rejected => format!("rejected {id}"),
            Outcome::Counted { votes, quorum } => {
                format!("vote recorded for {id} ({votes}/{quorum}); waiting for more approvers")
            }
        }
    }
}

/// Decide `answer` by `me` on `ask` at `now`, by the rules of an unsigned gate: an
/// approver, never the asking account, one vote each, the quorum; a rejection by any
/// approver, with a reason.
pub fn decide(
    ask: &Ask,
    me: &str,
    answer: &Answer,
    now: Timestamp,
    asker_alive: Option<bool>,
) -> Result<Outcome, Refusal> {
    if actor::clean_name(me).is_none() {
        return Err(Refusal::NoOperator);
    }
    ask.check_open(now, asker_alive)?;
    match answer {
        Answer::Approve { inputs, .. } => {
            actor::may_approve(&ask.rules(), me).map_err(Refusal::of_ask)?;
            if let (Some(first), Some((by, _))) = (&ask.values, ask.votes.first()) {
                actor::check_same_inputs(&ask.id, first, by, inputs)?;
            }
            let votes = ask.votes.len() as u32 + 1;
            let quorum = ask.quorum.max(1);
            Ok(if votes >= quorum {
                Outcome::Approved
            } else {
                Outcome::Counted { votes, quorum }
            })
        }
        Answer::Reject { reason } => {
            if reason.trim().is_empty() {
                return Err(Refusal::ReasonRequired {
                    to: ReasonFor::Reject,
                });
            }
            actor::check_approver(&ask.approvers, me)?;
            Ok(Outcome::Rejected)
        }
    }
}

/// A vote on an ask as proven on record (issue 56): who, the answer, and when.
pub type ProvenVote = (String, Answer, Timestamp);

/// What the ask `rules` (its question, approvers, quorum, as opened) is after the
/// proven `votes`, each decided by [`decide`] at its own time as the answerer decided it
/// (a vote `decide` refuses under `rules` does not count): its state, votes, values and
/// decision. Nothing but proven votes decides an ask.
pub fn replay(rules: &Ask, votes: impl IntoIterator<Item = ProvenVote>) -> Ask {
    let mut a = Ask {
        state: AskState::Open,
        votes: Vec::new(),
        values: None,
        decided_by: None,
        decided_at: None,
        reason: None,
        ..rules.clone()
    };
    for (who, answer, at) in votes {
        if a.state != AskState::Open {
            break;
        }
        let Ok(outcome) = decide(&a, &who, &answer, at, None) else {
            continue;
        };
        let reason = match answer {
            Answer::Approve { inputs, reason } => {
                a.values.get_or_insert(inputs);
                a.votes.push((who.clone(), reason.clone()));
                reason
            }
            Answer::Reject { reason } => Some(reason),
        };
        let state = match outcome {
            Outcome::Approved => AskState::Approved,
            Outcome::Rejected => AskState::Rejected,
            Outcome::Counted { .. } => continue,
        };
        a.state = state;
        a.decided_by = Some(who);
        a.decided_at = Some(at);
        a.reason = reason;
    }
    a
}

/// An open ask as the inbox lists it, as `me` sees it.
pub fn waiting(ask: &Ask, me: &str, run_state: Option<RunState>) -> Waiting {
    let mut w = Waiting {
        run_id: ask.run_id.clone().unwrap_or_else(|| ask.id.clone()),
        workflow: ask
            .workflow
            .clone()
            .unwrap_or_else(|| format!("ask by {}", ask.asker.account)),
        run_state: run_state.unwrap_or(RunState::Running),
        kind: WaitKind::Ask,
        step: ask
            .step_id
            .clone()
            .unwrap_or_else(|| ask.asker.holder.clone()),
        prompt: ask.prompt.clone(),
        approvers: ask.approvers.clone(),
        quorum: ask.quorum.max(1),
        votes: ask.votes.iter().map(|(a, _)| a.clone()).collect(),
        since: ask.opened_at,
        deadline: ask.deadline,
        mine: true,
        why_not: None,
        commands: vec![
            format!(
                "baton approve {}{} --reason …",
                ask.id,
                super::inbox::approve_inputs(ask.inputs.iter().map(|i| (
                    i.name.as_str(),
                    i.required,
                    i.default.as_deref()
                )),)
            ),
            format!("baton reject {} --reason …", ask.id),
        ],
        inputs: ask.inputs.clone(),
        signed: ask.signers.is_some(),
        ask: Some(ask.id.clone()),
        engine_gone_at: None,
        parent: None,
        viewer: me.to_string(),
    };
    if let Err(e) = actor::may_approve(&ask.rules(), me) {
        w.mine = false;
        w.why_not = Some(e.of_ask());
    }
    w
}

/// Why `baton ask --input SPEC` is not an input: each says what would be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputSpecError {
    #[error(
        "`{spec}`: give NAME=TYPE[:pattern], e.g. `table=string:[a-z_]+` or `env=enum:dev|prod`"
    )]
    NoType { spec: String },
    #[error("`{spec}`: an input's name is letters, digits, `_` and `-` (e.g. `table`)")]
    BadName { spec: String },
    #[error("`{spec}`: an enum's values are `a|b|c`, none empty")]
    EmptyValue { spec: String },
    #[error("`{spec}`: only a string takes a pattern (`NAME=string:REGEX`)")]
    PatternNotString { spec: String },
    #[error("`{spec}`: an enum lists its values: `{name}=enum:a|b|c`")]
    NoValues { spec: String, name: String },
    #[error("`{spec}`: unknown type `{ty}`; one of string, int, bool, enum (e.g. `{name}=string`)")]
    UnknownType {
        spec: String,
        ty: String,
        name: String,
    },
}

/// An input spec as `baton ask --input` takes it: `NAME=TYPE[:pattern]`, TYPE one of
/// `string` (its pattern a regex the value must match whole), `int`, `bool`, or
/// `enum:a|b|c`. Every input so asked is required.
pub fn parse_input(spec: &str) -> Result<InputView, InputSpecError> {
    let spec_s = || spec.to_string();
    let (name, ty) = spec
        .split_once('=')
        .ok_or_else(|| InputSpecError::NoType { spec: spec_s() })?;
    let name = name.trim();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(InputSpecError::BadName { spec: spec_s() });
    }
    let (ty, rest) = match ty.split_once(':') {
        Some((t, r)) => (t, Some(r)),
        None => (ty, None),
    };
    let mut view = InputView {
        name: name.to_string(),
        ty: ty.to_string(),
        values: Vec::new(),
        required: true,
        default: None,
        pattern: None,
        description: None,
    };
    match (ty, rest) {
        ("string", p) => view.pattern = p.map(str::to_string),
        ("int" | "bool", None) => {}
        ("enum", Some(vals)) => {
            view.values = vals.split('|').map(|v| v.trim().to_string()).collect();
            if view.values.iter().any(String::is_empty) {
                return Err(InputSpecError::EmptyValue { spec: spec_s() });
            }
        }
        ("int" | "bool", Some(_)) => {
            return Err(InputSpecError::PatternNotString { spec: spec_s() });
        }
        ("enum", None) => {
            return Err(InputSpecError::NoValues {
                spec: spec_s(),
                name: name.to_string(),
            });
        }
        _ => {
            return Err(InputSpecError::UnknownType {
                spec: spec_s(),
                ty: ty.to_string(),
                name: name.to_string(),
            });
        }
    }
    Ok(view)
}

/// The asker's command line as kept on record: its arguments joined by spaces, each
/// made one printable line, cut at [`MAX_COMMAND`] characters. Masking the secrets
/// in it is the caller's (it knows them).
pub fn command_line(args: &[String]) -> String {
    let joined = args
        .iter()
        .map(|a| crate::sanitize::strip_to_plain(crate::sanitize::one_line(a).as_bytes()))
        .collect::<Vec<_>>()
        .join(" ");
    if joined.chars().count() <= MAX_COMMAND {
        return joined;
    }
    let head: String = joined.chars().take(MAX_COMMAND).collect();
    format!("{head}…")
}

#[cfg(test)]
#[path = "ask_tests.rs"]
mod tests;
