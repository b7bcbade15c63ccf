//! The one filter `/` types on every list (issue 45 point 7): the DAG's steps, the
//! store's runs, Waiting, Approvals, Errors, Audit, Schedules and the help's keys.
//! Words separated by spaces, every one must match, case-insensitive:
//!
//! - `state:NAME`: the start of a state the row is in (`state:fail`),
//! - `wf:NAME`: part of the row's workflow,
//! - `store:NAME`: the start of the name of the row's store (a console over several
//!   stores: the Runs and Waiting tabs),
//! - `KEY=VALUE`: a run's label (or shown param) whole (the Runs and Waiting tabs),
//! - any other word: part of the row's text (ids, names, prompts, messages; a run's
//!   labels and shown params in the Runs and Waiting tabs).
//!
//! One parser ([`Filter::parse`]); each kind of row says what its states, workflow and
//! text are ([`Row`]), and nothing else.
use super::actions::Action;
use super::update::move_sel;
use baton_model::inbox::{WaitKind, Waiting};
use baton_model::view::AuditView;
use baton_model::{ErrorRecord, GateView, RunState, RunSummary, StepState, StepView};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    State(String),
    Wf(String),
    Store(String),
    Word(String),
}

/// A filter as typed, parsed once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Filter(Vec<Term>);

/// A kind of row `/` filters: what `state:`, `wf:` and free words look at.
pub(crate) trait Row {
    /// What one row is called, for a refusal (`step`, `run`, `gate`).
    const NOUN: &'static str;
    /// Whether the rows belong to several workflows (`wf:` applies).
    const HAS_WORKFLOW: bool;
    /// Every state a row of this kind can be in (empty: `state:` does not apply).
    fn state_names() -> Vec<&'static str>;
    /// The states this row is in.
    fn states(&self) -> Vec<&str>;
    fn workflow(&self) -> Option<&str>;
    /// The run the row is of, when rows are of several runs (`store:` looks its store up).
    fn run_id(&self) -> Option<&str> {
        None
    }
    /// Whether `word` (lower case) is part of the row's text.
    fn has_word(&self, word: &str) -> bool;
}

/// `word` (lower case) is part of `text`, whatever its case.
pub(super) fn has(text: &str, word: &str) -> bool {
    text.to_lowercase().contains(word)
}

impl Filter {
    pub(crate) fn parse(text: &str) -> Filter {
        Filter(
            text.split_whitespace()
                .map(|t| {
                    let t = t.to_lowercase();
                    if let Some(s) = t.strip_prefix("state:") {
                        Term::State(s.to_string())
                    } else if let Some(w) = t.strip_prefix("wf:") {
                        Term::Wf(w.to_string())
                    } else if let Some(w) = t.strip_prefix("store:") {
                        Term::Store(w.to_string())
                    } else {
                        Term::Word(t)
                    }
                })
                .collect(),
        )
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn matches<R: Row + ?Sized>(&self, row: &R) -> bool {
        self.matches_on(row, &baton_link::Desk::default())
    }

    /// Whether `row` shows, its store read from `desk`.
    pub(crate) fn matches_on<R: Row + ?Sized>(&self, row: &R, desk: &baton_link::Desk) -> bool {
        self.0.iter().all(|t| match t {
            Term::State(s) => row.states().iter().any(|st| st.starts_with(s.as_str())),
            Term::Wf(w) => row.workflow().is_some_and(|wf| has(wf, w)),
            Term::Store(s) => row
                .run_id()
                .is_some_and(|id| desk.name_of(id).to_lowercase().starts_with(s.as_str())),
            Term::Word(w) => row.has_word(w),
        })
    }

    /// What is wrong with the filter for rows of kind `R`, if anything: a term that
    /// would hide every row whatever the data (a state no row can be in, `wf:` where
    /// every row is the shown run's).
    pub(crate) fn problem<R: Row>(&self) -> Option<String> {
        let noun = R::NOUN;
        self.0.iter().find_map(|t| match t {
            Term::State(st) => {
                let names = R::state_names();
                if names.is_empty() {
                    Some(format!("`state:` does not apply to {noun}s: type words"))
                } else if names.iter().any(|n| n.starts_with(st.as_str())) {
                    None
                } else {
                    Some(format!(
                        "no {noun} state starts with `{st}`: {}",
                        names.join(", ")
                    ))
                }
            }
            Term::Wf(_) if !R::HAS_WORKFLOW => Some(format!(
                "`wf:` does not apply here: every {noun} is the shown run's"
            )),
            Term::Store(_) if !R::HAS_WORKFLOW => Some(format!(
                "`store:` does not apply here: every {noun} is the shown run's (filter the Runs or Waiting tab)"
            )),
            _ => None,
        })
    }

    /// The indices of `rows` the filter lets through, in order.
    pub(crate) fn shown<R: Row>(&self, rows: &[R]) -> Vec<usize> {
        self.shown_on(rows, &baton_link::Desk::default())
    }

    /// The indices of `rows` the filter lets through, each row's store read from `desk`.
    pub(crate) fn shown_on<R: Row>(&self, rows: &[R], desk: &baton_link::Desk) -> Vec<usize> {
        (0..rows.len())
            .filter(|&i| self.is_empty() || self.matches_on(&rows[i], desk))
            .collect()
    }
}

/// Where a list's selection is drawn and acted on: `sel` (an index into the whole
/// list, so that it stays on its item whatever the filter) when the filter shows it,
/// else the nearest shown row before it, else the first shown.
pub(crate) fn shown_sel(sel: usize, shown: &[usize]) -> Option<usize> {
    let p = shown.partition_point(|&i| i <= sel);
    p.checked_sub(1)
        .map(|p| shown[p])
        .or_else(|| shown.first().copied())
}

/// Move a list's selection (an index into the whole list) among the rows shown.
pub(crate) fn move_shown(sel: &mut usize, shown: &[usize], action: &Action) {
    let Some(cur) = shown_sel(*sel, shown) else {
        return;
    };
    let mut at = shown.partition_point(|&i| i < cur);
    move_sel(&mut at, shown.len(), action);
    *sel = shown[at.min(shown.len() - 1)];
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&t| name(t)).collect()
}

impl Row for RunSummary {
    const NOUN: &'static str = "run";
    const HAS_WORKFLOW: bool = true;
    fn state_names() -> Vec<&'static str> {
        names(RunState::ALL, RunState::as_str)
    }
    fn states(&self) -> Vec<&str> {
        vec![self.state.as_str()]
    }
    fn workflow(&self) -> Option<&str> {
        Some(&self.workflow)
    }
    fn has_word(&self, w: &str) -> bool {
        has(&self.id, w) || has(&self.workflow, w) || has(&self.operator, w) || labelled(self, w)
    }
    fn run_id(&self) -> Option<&str> {
        Some(&self.id)
    }
}

/// Whether run `r`'s labels or shown params hold `word` (lower case): a `KEY=VALUE`
/// word one of them whole (`ticket=ops-1` is not `ticket=ops-10`), any other word part
/// of a key or a value.
fn labelled(r: &RunSummary, word: &str) -> bool {
    let mut all = r.labels.iter().chain(r.params.iter());
    if word.contains('=') {
        all.any(|(k, v)| format!("{k}={v}").to_lowercase() == word)
    } else {
        all.any(|(k, v)| has(k, word) || has(v, word))
    }
}

/// A Waiting item with its run's row, whose labels and params `/` reads too.
pub(crate) struct WaitRow<'a> {
    pub(crate) item: &'a Waiting,
    pub(crate) run: Option<&'a RunSummary>,
}

impl Row for WaitRow<'_> {
    const NOUN: &'static str = <Waiting as Row>::NOUN;
    const HAS_WORKFLOW: bool = <Waiting as Row>::HAS_WORKFLOW;
    fn state_names() -> Vec<&'static str> {
        <Waiting as Row>::state_names()
    }
    fn states(&self) -> Vec<&str> {
        self.item.states()
    }
    fn workflow(&self) -> Option<&str> {
        self.item.workflow()
    }
    fn run_id(&self) -> Option<&str> {
        self.item.run_id()
    }
    fn has_word(&self, w: &str) -> bool {
        self.item.has_word(w) || self.run.is_some_and(|r| labelled(r, w))
    }
}

impl Row for StepView {
    const NOUN: &'static str = "step";
    const HAS_WORKFLOW: bool = false;
    fn state_names() -> Vec<&'static str> {
        names(StepState::ALL, StepState::as_str)
    }
    fn states(&self) -> Vec<&str> {
        vec![self.state.as_str()]
    }
    fn workflow(&self) -> Option<&str> {
        None
    }
    /// Its id, or a `for_each` instance's item (`/138` finds the instance of item 138,
    /// whichever position it has).
    fn has_word(&self, w: &str) -> bool {
        has(&self.id, w) || self.item.as_deref().is_some_and(|t| has(t, w))
    }
}

impl Row for Waiting {
    const NOUN: &'static str = "waiting item";
    const HAS_WORKFLOW: bool = true;
    /// What it waits for (`gate`, `budget`, `mark`, `resume`, `held`, `ask`) and its run's state.
    fn state_names() -> Vec<&'static str> {
        let mut n = names(WaitKind::ALL, WaitKind::as_str);
        n.extend(names(RunState::ALL, RunState::as_str));
        n
    }
    fn states(&self) -> Vec<&str> {
        vec![self.kind.as_str(), self.run_state.as_str()]
    }
    fn workflow(&self) -> Option<&str> {
        Some(&self.workflow)
    }
    fn run_id(&self) -> Option<&str> {
        Some(&self.run_id)
    }
    fn has_word(&self, w: &str) -> bool {
        [&self.run_id, &self.workflow, &self.step, &self.prompt]
            .iter()
            .any(|t| has(t, w))
            || has(&self.who(), w)
    }
}

impl Row for GateView {
    const NOUN: &'static str = "gate";
    const HAS_WORKFLOW: bool = false;
    /// An approval gate or the budget's, and `warned` once 80% of its time has passed.
    fn state_names() -> Vec<&'static str> {
        vec!["gate", "budget", "warned"]
    }
    fn states(&self) -> Vec<&str> {
        let kind = if self.step.is_some() {
            "gate"
        } else {
            "budget"
        };
        let mut s = vec![kind];
        if self.warned {
            s.push("warned");
        }
        s
    }
    fn workflow(&self) -> Option<&str> {
        None
    }
    fn has_word(&self, w: &str) -> bool {
        has(&self.step_id, w)
            || has(&self.prompt, w)
            || self.approvers.iter().any(|a| has(a, w))
            || self.approvals.iter().any(|(a, _)| has(a, w))
    }
}

impl Row for ErrorRecord {
    const NOUN: &'static str = "error";
    const HAS_WORKFLOW: bool = false;
    /// Its severity, its kind, and `open` or `closed`.
    fn state_names() -> Vec<&'static str> {
        let mut n = names(baton_model::Severity::ALL, baton_model::Severity::as_str);
        n.extend(names(
            baton_model::ErrorKind::ALL,
            baton_model::ErrorKind::as_str,
        ));
        n.extend(["open", "closed"]);
        n
    }
    fn states(&self) -> Vec<&str> {
        let open = if self.open { "open" } else { "closed" };
        vec![self.severity.as_str(), self.kind.as_str(), open]
    }
    fn workflow(&self) -> Option<&str> {
        None
    }
    fn has_word(&self, w: &str) -> bool {
        has(&self.id, w)
            || self.step.as_deref().is_some_and(|s| has(s, w))
            || has(&self.message, w)
            || has(self.kind.as_str(), w)
    }
}

impl Row for AuditView {
    const NOUN: &'static str = "audit row";
    const HAS_WORKFLOW: bool = false;
    /// Its action (`approval_vote`, `run_resumed`).
    fn state_names() -> Vec<&'static str> {
        names(baton_model::history::AuditAction::ALL, |a| a.as_str())
    }
    fn states(&self) -> Vec<&str> {
        vec![self.action.as_str()]
    }
    fn workflow(&self) -> Option<&str> {
        None
    }
    fn has_word(&self, w: &str) -> bool {
        has(&self.actor, w)
            || has(self.action.as_str(), w)
            || self.step.as_deref().is_some_and(|s| has(s, w))
            || self.reason.as_deref().is_some_and(|r| has(r, w))
            || has(&self.details, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_must_match_and_states_are_prefixes() {
        let mut r = crate::fixtures::runs()[0].clone();
        r.workflow = "nightly-etl".into();
        r.operator = "alice".into();
        r.state = RunState::Failed;
        let m = |f: &str| Filter::parse(f).matches(&r);
        assert!(m(""));
        assert!(m("state:fail wf:ETL"));
        assert!(m("ALICE nightly"));
        assert!(!m("state:succ"));
        assert!(!m("alice bob"));
        assert!(!m("wf:deploy"));
    }

    #[test]
    fn a_term_that_would_hide_every_row_says_why() {
        let p = Filter::parse("state:nope").problem::<RunSummary>().unwrap();
        assert!(p.starts_with("no run state starts with `nope`: "), "{p}");
        let p = Filter::parse("wf:x").problem::<StepView>().unwrap();
        assert!(p.contains("`wf:` does not apply here"), "{p}");
        assert_eq!(Filter::parse("state:crit").problem::<ErrorRecord>(), None);
        assert_eq!(
            Filter::parse("wf:etl state:held").problem::<Waiting>(),
            None
        );
    }

    #[test]
    fn store_names_the_start_of_a_rows_store_on_a_console_over_several() {
        use baton_link::{Desk, LinkState, StoreStatus};
        let r = crate::fixtures::runs()[0].clone();
        let status = |name: &str| StoreStatus {
            name: name.into(),
            host: "h".into(),
            state: LinkState::Connected,
        };
        let desk = Desk {
            stores: vec![status("build"), status("GPU-box")],
            of_run: [(r.id.clone(), 1)].into(),
        };
        let m = |f: &str| Filter::parse(f).matches_on(&r, &desk);
        assert!(m("store:gpu"));
        assert!(m("store:GPU-b state:"));
        assert!(!m("store:build"));
        assert!(
            !Filter::parse("store:gpu").matches(&r),
            "over one store no row has one"
        );
        let p = Filter::parse("store:gpu").problem::<StepView>().unwrap();
        assert!(p.contains("`store:` does not apply here"), "{p}");
        assert_eq!(Filter::parse("store:gpu").problem::<Waiting>(), None);
    }

    #[test]
    fn the_selection_is_an_item_the_filter_shows() {
        assert_eq!(shown_sel(3, &[1, 3, 5]), Some(3));
        assert_eq!(shown_sel(4, &[1, 3, 5]), Some(3));
        assert_eq!(shown_sel(0, &[1, 3, 5]), Some(1));
        assert_eq!(shown_sel(0, &[]), None);
        let mut sel = 4;
        move_shown(&mut sel, &[1, 3, 5], &Action::Down);
        assert_eq!(sel, 5);
        move_shown(&mut sel, &[1, 3, 5], &Action::Top);
        assert_eq!(sel, 1);
    }
}
