//! The lists `/` filters besides the DAG's and the Runs tab's (issue 45 point 7):
//! Waiting, Approvals, Errors, Audit and Schedules. Each list's selection is an index
//! into the whole list (so it stays on its item whatever is typed), drawn and acted on
//! where the filter shows it ([`shown_sel`]).
use super::actions::{Action, Tab};
use super::filter::{Filter, Row, has, move_shown, shown_sel};
use super::schedules::SchedulePick;
use super::state::UiState;
use baton_model::RunView;

impl Row for SchedulePick<'_> {
    const NOUN: &'static str = "schedule";
    const HAS_WORKFLOW: bool = true;
    /// `paused` or `active`, `failing` while its file does not load, `broken` for a
    /// file that serves none, and its last run's state.
    fn state_names() -> Vec<&'static str> {
        let mut n = vec!["active", "paused", "failing", "broken"];
        n.extend(baton_model::RunState::ALL.iter().map(|s| s.as_str()));
        n
    }
    fn states(&self) -> Vec<&str> {
        match self {
            SchedulePick::Schedule(l) => {
                let mut s = vec![if l.row.paused.is_some() {
                    "paused"
                } else {
                    "active"
                }];
                if l.error.is_some() {
                    s.push("failing");
                }
                s.extend(l.row.last_run.as_ref().map(|r| r.state.as_str()));
                s
            }
            SchedulePick::Broken(..) => vec!["broken"],
        }
    }
    fn workflow(&self) -> Option<&str> {
        match self {
            SchedulePick::Schedule(l) => Some(&l.row.workflow),
            SchedulePick::Broken(..) => None,
        }
    }
    fn has_word(&self, w: &str) -> bool {
        match self {
            SchedulePick::Schedule(l) => {
                [&l.name, &l.row.cron, &l.row.file]
                    .iter()
                    .any(|t| has(t, w))
                    || l.row
                        .paused
                        .as_ref()
                        .is_some_and(|p| has(&p.by, w) || has(&p.reason, w))
            }
            SchedulePick::Broken(f, e) => has(f, w) || has(e, w),
        }
    }
}

impl UiState {
    /// The Waiting items the filter shows (indices into `waiting`).
    pub fn shown_waiting(&self) -> Vec<usize> {
        let f = Filter::parse(&self.waiting_filter);
        if f.is_empty() {
            return (0..self.waiting.len()).collect();
        }
        // Each item with its run's row: `/` matches the run's labels too.
        let ids: std::collections::HashSet<&str> =
            self.waiting.iter().map(|w| w.run_id.as_str()).collect();
        let runs: std::collections::HashMap<&str, &baton_model::RunSummary> = self
            .runs
            .iter()
            .filter(|r| ids.contains(r.id.as_str()))
            .map(|r| (r.id.as_str(), &**r))
            .collect();
        let rows: Vec<super::filter::WaitRow> = self
            .waiting
            .iter()
            .map(|item| super::filter::WaitRow {
                item,
                run: runs.get(item.run_id.as_str()).copied(),
            })
            .collect();
        f.shown_on(&rows, &self.desk)
    }
    /// The open gates the filter shows (indices into `view.gates`).
    pub fn shown_gates(&self, view: &RunView) -> Vec<usize> {
        Filter::parse(&self.gates_filter).shown(&view.gates)
    }
    /// The errors the filter shows (indices into `view.errors`).
    pub fn shown_errors(&self, view: &RunView) -> Vec<usize> {
        Filter::parse(&self.errors_filter).shown(&view.errors)
    }
    /// The audit rows the filter shows (indices into `view.audit`).
    pub fn shown_audit(&self, view: &RunView) -> Vec<usize> {
        Filter::parse(&self.audit_filter).shown(&view.audit)
    }
    /// The Schedules tab's lines the filter shows (schedules, then broken files).
    pub fn shown_schedules(&self) -> Vec<usize> {
        let f = Filter::parse(&self.schedules_filter);
        (0..self.schedule_lines())
            .filter(|&i| self.schedule_line(i).is_some_and(|p| f.matches(&p)))
            .collect()
    }

    /// The selected gate (an index into `view.gates`), where the filter shows it.
    pub fn gate_at(&self, view: &RunView) -> Option<usize> {
        shown_sel(self.gate_sel, &self.shown_gates(view))
    }
    pub fn error_at(&self, view: &RunView) -> Option<usize> {
        shown_sel(self.error_sel, &self.shown_errors(view))
    }
    pub fn audit_at(&self, view: &RunView) -> Option<usize> {
        shown_sel(self.audit_sel, &self.shown_audit(view))
    }
    pub fn waiting_at(&self) -> Option<usize> {
        shown_sel(self.wait_sel, &self.shown_waiting())
    }
    pub fn schedule_at(&self) -> Option<usize> {
        shown_sel(self.sched_sel, &self.shown_schedules())
    }

    /// Move the selection of a filtered list tab (Waiting, Approvals, Errors, Audit,
    /// Schedules) among the rows its filter shows.
    pub(super) fn move_in_list(&mut self, view: &RunView, action: &Action) {
        let (sel, shown) = match self.tab {
            Tab::Waiting => (self.wait_sel, self.shown_waiting()),
            Tab::Approvals => (self.gate_sel, self.shown_gates(view)),
            Tab::Errors => (self.error_sel, self.shown_errors(view)),
            Tab::Audit => (self.audit_sel, self.shown_audit(view)),
            Tab::Schedules => (self.sched_sel, self.shown_schedules()),
            _ => return,
        };
        let mut sel = sel;
        move_shown(&mut sel, &shown, action);
        *match self.tab {
            Tab::Waiting => &mut self.wait_sel,
            Tab::Approvals => &mut self.gate_sel,
            Tab::Errors => &mut self.error_sel,
            Tab::Audit => &mut self.audit_sel,
            _ => &mut self.sched_sel,
        } = sel;
    }

    /// What the filter being typed looks at, under it: the one syntax, and what words
    /// match on this list.
    pub fn filter_hint(&self) -> &'static str {
        if self.overlay == Some(super::state::Overlay::Help) {
            return "words of a key, what it does or its tab";
        }
        self.tab.spec().filter.hint
    }

    /// What is wrong with the filter being typed, for the rows it filters.
    pub fn filter_problem(&self) -> Option<String> {
        let f = Filter::parse(self.active_filter());
        if self.overlay == Some(super::state::Overlay::Help) {
            return f.problem::<super::help::HelpEntry>();
        }
        (self.tab.spec().filter.problem)(&f)
    }
}

/// ` · /TEXT (N match)` after a filtered list's title; nothing without a filter.
pub(crate) fn filter_note(filter: &str, shown: usize) -> String {
    if filter.trim().is_empty() {
        String::new()
    } else {
        format!(" · /{} ({shown} match)", filter.trim())
    }
}

#[cfg(test)]
mod tests;
