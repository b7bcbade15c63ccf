//! What waits on a person in one run (issue 28 point 1): its open gates, its exhausted
//! budget and its steps waiting for a `mark` (or a retry), each with who may decide
//! and whether `me` may. Derived from the run's read model (`RunView`), pure; the
//! store says which runs to read (`Store::runs_waiting_on_someone`), the session
//! reads them (`session::inbox`).
use super::actor::{self, GateRules};
use super::state::RunState;
use super::time::Timestamp;
use super::view::{GateView, RunView, StepView};
use serde::{Deserialize, Serialize};

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
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum WaitKind {
    /// An approval gate is open.
    Gate,
    /// The budget stopped the run: raise it (or cancel the run).
    Budget,
    /// A step the engine cannot decide by itself (interrupted and not idempotent, or
    /// its compensation failed): a person retries it or marks what it did.
    Mark,
    /// An interrupted idempotent step of a run no engine drives: its first command
    /// `baton resume` runs it again (a retry or a mark also may move it on).
    Resume,
    /// A held step (`baton hold`, or its retries ran out under `exhausted = "hold"`):
    /// a person releases it (or retries or marks it). `deadline` is its `--until`.
    Held,
    /// A `baton ask` waits for its answer (a step's, or any process's).
    Ask,
}

impl WaitKind {
    pub const ALL: &'static [WaitKind] = <WaitKind as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One thing waiting on someone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub run_id: String,
    pub workflow: String,
    /// The run's state as readers show it (`interrupted` once its engine is gone:
    /// deciding then takes the run over, as `baton approve` does).
    pub run_state: RunState,
    pub kind: WaitKind,
    /// The gated step, the step the budget stopped (`budget` when none), or the step
    /// to mark.
    pub step: String,
    /// The gate's prompt, what the budget stops, or what happened to the step.
    pub prompt: String,
    /// Who may decide: a gate's approvers (empty: anyone who may command the run).
    pub approvers: Vec<String>,
    pub quorum: u32,
    /// Who voted so far.
    pub votes: Vec<String>,
    /// Since when it waits.
    pub since: Timestamp,
    /// When a gate times out, if it does.
    pub deadline: Option<Timestamp>,
    /// Whether `me` may decide it now; when not, `why_not` is the core's refusal.
    pub mine: bool,
    pub why_not: Option<crate::Refusal>,
    /// The commands that decide it, as `baton` takes them.
    pub commands: Vec<String>,
    /// A gate's inputs, as its approve dialog asks them (any tab, any run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<super::view::InputView>,
    /// A signed gate: decided by whoever holds an approver's key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signed: bool,
    /// The ask's id, for an ask (`baton approve ask-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<String>,
    /// When the run's engine was last seen, once it is gone (`RunView::engine_gone_at`):
    /// the item's clocks stop there, as the run's do in every view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_gone_at: Option<Timestamp>,
    /// A child run's item (`workflow = "…"` on a step of another run): the parent run
    /// and step, so that the parent's operators find its gates on their desk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<super::view::ParentLink>,
    /// The account `mine` was judged for, whose decision it would be: the session's
    /// operator; over a link, the host's account the link runs as.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub viewer: String,
}

impl Waiting {
    /// The item's clock at `now`: `now`, or where its run's engine stopped (how long it
    /// waited and the time left do not move while no engine drives the run).
    pub fn clock(&self, now: Timestamp) -> Timestamp {
        self.engine_gone_at.map_or(now, |gone| gone.min(now))
    }

    /// Who may decide: the approvers (or `anyone`), with the votes so far against the
    /// quorum when it takes more than one or some were cast (`alice,bob 1/2`).
    pub fn who(&self) -> String {
        let names = if self.approvers.is_empty() {
            "anyone".to_string()
        } else {
            self.approvers.join(",")
        };
        if self.quorum > 1 || !self.votes.is_empty() {
            format!("{names} {}/{}", self.votes.len(), self.quorum.max(1))
        } else {
            names
        }
    }

    /// The time left before its deadline at `now` (zero once past), if it has one;
    /// standing where the run's engine stopped while none drives it ([`Waiting::clock`]).
    pub fn left(&self, now: Timestamp) -> Option<std::time::Duration> {
        self.deadline.map(|d| d.since(self.clock(now)))
    }
}

/// Everything in `view` waiting on someone, as `me` sees it.
pub fn waiting(view: &RunView, me: &str) -> Vec<Waiting> {
    let mut out = Vec::new();
    for g in &view.gates {
        let w = match g.step {
            None => budget_waiting(view, g),
            Some(_) => gate_waiting(view, g, me),
        };
        out.extend(w);
    }
    out.extend(view.steps.iter().filter_map(|s| held_waiting(view, s)));
    out.extend(view.steps.iter().filter_map(|s| mark_waiting(view, s)));
    for w in &mut out {
        w.viewer = me.to_string();
    }
    out
}

/// An item of `view` with nothing but its kind, step, prompt and time.
fn item(view: &RunView, kind: WaitKind, step: &str, prompt: String, since: Timestamp) -> Waiting {
    Waiting {
        run_id: view.run_id.clone(),
        workflow: view.workflow.clone(),
        run_state: view.state,
        kind,
        step: step.to_string(),
        prompt,
        approvers: Vec::new(),
        quorum: 0,
        votes: Vec::new(),
        since,
        deadline: None,
        mine: true,
        why_not: None,
        commands: Vec::new(),
        inputs: Vec::new(),
        signed: false,
        ask: None,
        engine_gone_at: view.engine_gone_at,
        parent: view.parent.clone(),
        viewer: String::new(),
    }
}

/// The open budget gate, if a ceiling can be raised.
fn budget_waiting(view: &RunView, g: &GateView) -> Option<Waiting> {
    if !g.actions.raise_budget {
        return None;
    }
    let run = &view.run_id;
    let mut w = item(
        view,
        WaitKind::Budget,
        &g.step_id,
        g.prompt.clone(),
        g.opened_at,
    );
    let raises: Vec<(&str, f64)> = view.budget.as_ref().map_or_else(Vec::new, |b| {
        b.dimensions()
            .into_iter()
            .filter(|(d, ..)| b.exhausted.iter().any(|e| e == d))
            .filter_map(|(d, _, limit)| limit.map(|l| (d, l)))
            .collect()
    });
    w.commands = vec![
        raise_command(run, &raises),
        format!("baton reject {run} --budget --reason …"),
        format!("baton cancel {run} --reason …"),
    ];
    Some(w)
}

/// An open gate of a step, if it can be decided, and whether `me` may.
fn gate_waiting(view: &RunView, g: &GateView, me: &str) -> Option<Waiting> {
    if !(g.actions.approve || g.actions.reject) {
        return None;
    }
    let run = &view.run_id;
    // A gate that can be pushed back says which round it is in.
    let prompt = match g.round {
        Some(r) => format!("{} ({r})", g.prompt),
        None => g.prompt.clone(),
    };
    let mut w = item(view, WaitKind::Gate, &g.step_id, prompt, g.opened_at);
    w.approvers = g.approvers.clone();
    w.quorum = g.quorum.max(1);
    w.votes = g.approvals.iter().map(|(a, _)| a.clone()).collect();
    w.deadline = g.deadline;
    w.inputs = g.inputs.clone();
    w.signed = g.signed;
    let rules = GateRules {
        approvers: &g.approvers,
        starter: &view.operator,
        allow_self_approval: g.allow_self_approval,
        votes: &g.approvals,
    };
    if let Err(e) = actor::may_approve(&rules, me) {
        w.mine = false;
        w.why_not = Some(e);
    }
    let inputs = approve_inputs(
        g.inputs
            .iter()
            .map(|i| (i.name.as_str(), i.required, i.default.as_deref())),
    );
    w.commands = vec![
        format!("baton approve {run} {}{inputs} --reason …", g.step_id),
        format!("baton reject {run} {} --reason …", g.step_id),
    ];
    if g.actions.push_back {
        w.commands
            .push(format!("baton push-back {run} {} --reason …", g.step_id));
    }
    Some(w)
}

/// A held step, if it can be released. A step frozen at a budget's ceiling while the
/// budget gate is open is that gate's item: a raise releases it, so it is listed once,
/// as the budget (issue 58 point 4: one row per thing to decide).
fn held_waiting(view: &RunView, s: &StepView) -> Option<Waiting> {
    let h = s.hold.as_ref().filter(|_| s.actions.release)?;
    let budget_open = view
        .gates
        .iter()
        .any(|g| g.step.is_none() && g.actions.raise_budget);
    if h.budget && budget_open {
        return None;
    }
    let run = &view.run_id;
    let mut prompt = format!("held by {}: {}", h.by, h.reason);
    if h.frozen {
        prompt.push_str(" (frozen: its process group is stopped)");
    }
    let mut w = item(view, WaitKind::Held, &s.id, prompt, h.at);
    w.deadline = h.until;
    w.commands
        .push(format!("baton release {run} {} --reason …", s.id));
    if s.actions.retry {
        w.commands.push(format!("baton retry {run} {}", s.id));
    }
    Some(w)
}

/// A stopped step only a mark (or a resume) moves on, if one is allowed.
fn mark_waiting(view: &RunView, s: &StepView) -> Option<Waiting> {
    let marks = s.actions.mark_succeeded || s.actions.mark_failed || s.actions.resume;
    if !(marks && s.state.awaits_mark()) {
        return None;
    }
    let run = &view.run_id;
    let prompt = s.error.as_ref().map_or_else(
        || format!("`{}` is {}", s.id, s.state),
        |e| {
            if e.suggestion.is_empty() {
                e.message.clone()
            } else {
                e.suggestion.clone()
            }
        },
    );
    let since = s
        .finished_at
        .or(s.error.as_ref().map(|e| e.at))
        .unwrap_or(view.now);
    let kind = if s.actions.resume {
        WaitKind::Resume
    } else {
        WaitKind::Mark
    };
    let mut w = item(view, kind, &s.id, prompt, since);
    if s.actions.resume {
        w.commands.push(format!("baton resume {run}"));
    }
    if s.actions.retry {
        w.commands.push(format!("baton retry {run} {}", s.id));
    }
    for (ok, state) in [
        (s.actions.mark_succeeded, "succeeded"),
        (s.actions.mark_failed, "failed"),
    ] {
        if ok {
            w.commands.push(format!(
                "baton mark {run} {} --state {state} --reason …",
                s.id
            ));
        }
    }
    Some(w)
}

/// The `--input NAME=…` arguments an approval must give, in order: each of a gate's
/// `inputs` (name, required, default) that is required and has no default. `baton
/// inbox`, `show` and the headless waiting line write them into the approve command,
/// so that it works as copied.
pub fn approve_inputs<'a>(
    inputs: impl IntoIterator<Item = (&'a str, bool, Option<&'a str>)>,
) -> String {
    inputs
        .into_iter()
        .filter(|(_, required, default)| *required && default.is_none())
        .map(|(name, ..)| format!(" --input {name}=…"))
        .collect()
}

/// How much a printed raise adds to a ceiling: as much again (a ceiling of 0 gets 1),
/// so that the command works as pasted; the operator edits the number.
pub fn raise_by(limit: f64) -> String {
    if limit > 0.0 && limit.is_finite() {
        format!("{limit}")
    } else {
        "1".into()
    }
}

/// The command that raises an exhausted budget (issue 45 point 4): `--raise DIM=N`
/// for each ceiling in the way (`cost` when none is known), no STEP.
pub fn raise_command(run: &str, raises: &[(&str, f64)]) -> String {
    let mut c = format!("baton approve {run}");
    if raises.is_empty() {
        c.push_str(" --raise cost=1");
    }
    for (dim, limit) in raises {
        c.push_str(&format!(" --raise {dim}={}", raise_by(*limit)));
    }
    c.push_str(" --reason …");
    c
}

/// Soonest deadline first, then the longest waiting (items without a deadline after
/// every one with).
pub fn sort(items: &mut [Waiting]) {
    items.sort_by(|a, b| {
        let key = |w: &Waiting| (w.deadline.is_none(), w.deadline, w.since);
        key(a)
            .cmp(&key(b))
            .then_with(|| a.run_id.cmp(&b.run_id))
            .then_with(|| a.step.cmp(&b.step))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(run: &str, deadline: Option<i64>, since: i64) -> Waiting {
        Waiting {
            run_id: run.into(),
            workflow: "w".into(),
            run_state: RunState::Waiting,
            kind: WaitKind::Gate,
            step: "s".into(),
            prompt: String::new(),
            approvers: Vec::new(),
            quorum: 1,
            votes: Vec::new(),
            since: Timestamp(since),
            deadline: deadline.map(Timestamp),
            mine: true,
            why_not: None,
            commands: Vec::new(),
            inputs: Vec::new(),
            signed: false,
            ask: None,
            engine_gone_at: None,
            parent: None,
            viewer: String::new(),
        }
    }

    #[test]
    fn the_soonest_deadline_comes_first_then_the_longest_waiting() {
        let mut items = vec![
            w("none-late", None, 50),
            w("later", Some(900), 10),
            w("none-early", None, 5),
            w("soon", Some(100), 40),
        ];
        sort(&mut items);
        let order: Vec<&str> = items.iter().map(|w| w.run_id.as_str()).collect();
        assert_eq!(order, ["soon", "later", "none-early", "none-late"]);
        assert_eq!(
            items[0].left(Timestamp(40)),
            Some(std::time::Duration::from_millis(60))
        );
    }

    /// Issue 45 point 6: on a run no engine drives, the time left stands where the
    /// engine was last seen, however late it is read.
    #[test]
    fn the_clock_of_an_item_stops_with_its_runs_engine() {
        let mut item = w("gone", Some(1_000), 100);
        item.engine_gone_at = Some(Timestamp(400));
        assert_eq!(item.clock(Timestamp(300)), Timestamp(300));
        assert_eq!(item.clock(Timestamp(90_000)), Timestamp(400));
        let left = Some(std::time::Duration::from_millis(600));
        assert_eq!(item.left(Timestamp(500)), left);
        assert_eq!(item.left(Timestamp(90_000)), left);
    }
}
