//! Selections are identities (issue 45 point 3): each list's selection is the run, gate,
//! error, audit row, waiting item or schedule it is on, not a row number. The shell
//! takes what is selected before new data replaces the old ([`UiState::picked`]) and
//! puts each selection back on the same thing after ([`UiState::keep_picked`]): a
//! run `serve` starts, a gate that opens, a re-sort, a filter typed (`/`), never moves
//! the highlight onto another item between a look and a key.
use super::state::UiState;
use baton_model::view::AuditView;
use baton_model::{RunView, inbox::Waiting};

/// What each list's selection is on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Picked {
    /// The shown run's id: its gates, errors and audit rows are kept only on the same run.
    run_shown: String,
    run: Option<String>,
    /// The Waiting item selected, and its place among the rows shown.
    waiting: Option<(Waiting, usize)>,
    gate: Option<String>,
    error: Option<String>,
    audit: Option<AuditView>,
    schedule: Option<String>,
}

/// The identity of a Waiting item: its run, step and what it waits for.
fn waiting_key(w: &Waiting) -> (String, String, baton_model::inbox::WaitKind) {
    (w.run_id.clone(), w.step.clone(), w.kind)
}

/// `sel` clamped to a list of `n`.
fn at(sel: usize, n: usize) -> Option<usize> {
    (n > 0).then(|| sel.min(n - 1))
}

impl UiState {
    /// The Waiting item chosen, even while a filter hides it (`app::lists`: it is
    /// selected again once shown), and its place among the rows shown; none while the
    /// selection is on an item gone from the list.
    fn picked_waiting(&self) -> Option<(Waiting, usize)> {
        if self.wait_gone.is_some() {
            return None;
        }
        let i = at(self.wait_sel, self.waiting.len())?;
        let place = self.shown_waiting().partition_point(|&s| s < i);
        Some((self.waiting[i].clone(), place))
    }

    /// The Waiting selection back on its item; an item gone from the list (decided,
    /// or its run went on) keeps the selection in its place, so that nothing that can
    /// be decided slides under it (issue 76 point 1); one that comes back takes it again.
    fn keep_waiting(&mut self, was: Option<&(Waiting, usize)>) {
        let find = |ui: &UiState, w: &Waiting| {
            let key = waiting_key(w);
            ui.waiting.iter().position(|x| waiting_key(x) == key)
        };
        if let Some(gone) = &self.wait_gone {
            if let Some(i) = find(self, &gone.item) {
                self.wait_sel = i;
                self.wait_gone = None;
            }
            return;
        }
        let Some((item, place)) = was else {
            return;
        };
        match find(self, item) {
            Some(i) => self.wait_sel = i,
            // Only where the operator looks (a decision's dialog is opened there): an
            // item gone while another tab is on screen leaves no greyed row behind.
            None if self.tab == super::Tab::Waiting => {
                self.wait_gone = Some(super::waiting::WaitGone {
                    item: item.clone(),
                    at: *place,
                })
            }
            None => {}
        }
    }

    /// What every list's selection is on now, with `view` the run on screen.
    pub fn picked(&self, view: &RunView) -> Picked {
        let now = self.store_clock(view);
        Picked {
            run_shown: view.run_id.clone(),
            // Only where it is on screen: the Runs tab's order is a sort of the whole
            // store, not paid for on every turn of another tab.
            run: (self.tab == super::Tab::Runs)
                .then(|| self.selected_run(now).map(|r| r.id.clone()))
                .flatten(),
            // The item chosen, even while a filter hides it (`app::lists`): it is
            // selected again once shown.
            waiting: self.picked_waiting(),
            gate: at(self.gate_sel, view.gates.len()).map(|i| view.gates[i].step_id.clone()),
            error: at(self.error_sel, view.errors.len()).map(|i| view.errors[i].id.clone()),
            audit: at(self.audit_sel, view.audit.len()).map(|i| view.audit[i].clone()),
            schedule: at(self.sched_sel, self.schedules.rows.len())
                .map(|i| self.schedules.rows[i].name.clone()),
        }
    }

    /// Put each selection back on what `was` says it was on, now that the lists are
    /// `view`'s and this state's; one whose item went keeps its row (clamped).
    pub fn keep_picked(&mut self, view: &RunView, was: &Picked) {
        let now = self.store_clock(view);
        if let Some(i) = was.run.as_deref().and_then(|id| self.run_row(now, id)) {
            self.run_sel = i;
        }
        self.keep_waiting(was.waiting.as_ref());
        if let Some(name) = &was.schedule
            && let Some(i) = self.schedules.rows.iter().position(|l| &l.name == name)
        {
            self.sched_sel = i;
        }
        if was.run_shown != view.run_id {
            return;
        }
        if let Some(step) = &was.gate
            && let Some(i) = view.gates.iter().position(|g| &g.step_id == step)
        {
            self.gate_sel = i;
        }
        if let Some(id) = &was.error
            && let Some(i) = view.errors.iter().position(|e| &e.id == id)
        {
            self.error_sel = i;
        }
        if let Some(row) = &was.audit
            && let Some(i) = view.audit.iter().position(|a| a == row)
        {
            self.audit_sel = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::app::{Action, Tab, UiState, update};
    use crate::fixtures;
    use std::sync::Arc;

    /// A run added above the selection (as `serve` starts one), the list re-sorted, and
    /// a run removed: the selection stays on the same run.
    #[test]
    fn the_runs_selection_stays_on_its_run() {
        let v = fixtures::release();
        let mut ui = UiState::new("alice");
        let mut runs = fixtures::runs();
        ui.set_runs(Arc::new(runs.iter().cloned().map(Arc::new).collect()));
        update(&mut ui, &v, Action::GoTab(Tab::Runs));
        update(&mut ui, &v, Action::Down);
        update(&mut ui, &v, Action::Down);
        let now = ui.store_clock(&v);
        let id = ui.selected_run(now).unwrap().id.clone();
        let was = ui.picked(&v);
        // A newer run arrives at the top.
        let mut newest = runs[0].clone();
        newest.id = "01ZZZZZZZZZZZZZZZZZZZZZZZZ".into();
        newest.started_at = baton_model::Timestamp(newest.started_at.0 + 60_000);
        runs.insert(0, newest);
        ui.set_runs(Arc::new(runs.iter().cloned().map(Arc::new).collect()));
        ui.keep_picked(&v, &was);
        assert_eq!(ui.selected_run(now).unwrap().id, id);
        // Re-sorted by the operator: still on it.
        update(&mut ui, &v, Action::Sort);
        assert_eq!(ui.selected_run(now).unwrap().id, id);
        // The first run deleted elsewhere.
        let was = ui.picked(&v);
        let first = ui.visible_runs(now)[0];
        let gone = ui.runs[first].id.clone();
        assert_ne!(gone, id);
        runs.retain(|r| r.id != gone);
        ui.set_runs(Arc::new(runs.iter().cloned().map(Arc::new).collect()));
        ui.keep_picked(&v, &was);
        assert_eq!(ui.selected_run(now).unwrap().id, id);
    }

    /// A gate opening before the selected one, an error and an audit row added above:
    /// each selection stays on its item; on another run they are not carried over.
    #[test]
    fn gate_error_audit_and_waiting_selections_stay_on_their_items() {
        let v = fixtures::release_two_gates();
        let mut ui = UiState::new("alice");
        ui.gate_sel = 1;
        ui.audit_sel = v.audit.len().saturating_sub(1);
        ui.waiting = Arc::new(fixtures::waiting());
        ui.wait_sel = 1;
        let gate = v.gates[1].step_id.clone();
        let row = v.audit[ui.audit_sel].clone();
        let item = ui.waiting[1].clone();
        let was = ui.picked(&v);
        let mut next = v.clone();
        next.gates.swap(0, 1);
        next.audit.insert(0, next.audit[0].clone());
        next.audit[0].reason = Some("a newer decision".into());
        let mut waiting = fixtures::waiting();
        waiting.swap(0, 1);
        ui.waiting = Arc::new(waiting);
        ui.keep_picked(&next, &was);
        assert_eq!(next.gates[ui.gate_sel].step_id, gate);
        assert_eq!(next.audit[ui.audit_sel], row);
        assert_eq!(ui.waiting[ui.wait_sel].step, item.step);
        assert_eq!(ui.waiting[ui.wait_sel].run_id, item.run_id);
        // Another run shown: its lists start where they are.
        let mut other = next.clone();
        other.run_id = "01OTHER".into();
        other.gates.swap(0, 1);
        let was = ui.picked(&next);
        ui.keep_picked(&other, &was);
        assert_eq!(ui.gate_sel, 0, "not carried to another run's gates");
    }
}
