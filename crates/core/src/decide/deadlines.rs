//! Deadline alerts (issue 58 point 9): a run or a step not done by its `deadline`
//! is reported once (`deadline_missed`), and nothing is stopped. The deadlines are set
//! from the history (the run's start and its recorded zone, a step's readiness), each
//! a timer; whether one is missed now is `model::deadline::Watch::missed_now`. Its
//! folds live here too, next to the decision they feed.
use super::*;
use baton_model::deadline::{self, Clause, DeadlineView, Watch};
use baton_workflow::Deadline;

impl Core {
    /// The workflow reads a time of day: its run records the zone it is read in.
    pub(super) fn has_at_deadline(&self) -> bool {
        let at = |d: Option<&Deadline>| d.is_some_and(|d| d.at.is_some());
        at(self.plan.deadline.as_ref()) || self.plan.steps.iter().any(|s| at(s.deadline.as_deref()))
    }

    /// Fold a run's start: its deadline, and each step's `at`, fixed from `started`
    /// in `zone` (the one `run_started` recorded; UTC if none or unknown).
    pub(crate) fn arm_deadlines(&mut self, started: Timestamp, zone: Option<&str>) {
        let at = |d: &Deadline| d.at.map(|t| deadline::at_after(started, t, zone));
        if let Some(d) = &self.plan.deadline {
            let w = Watch {
                at: at(d),
                within: d.within.map(|w| started.add(w)),
                ..Watch::default()
            };
            self.run_watch = Some(w);
            self.arm(None);
        }
        for i in 0..self.plan.steps.len() {
            let Some(d) = self.plan.steps[i].deadline.as_deref() else {
                continue;
            };
            let w = Watch {
                at: at(d),
                ..Watch::default()
            };
            self.steps[i].more.watch = Some(Box::new(w));
            self.arm(Some(i));
        }
    }

    /// Fold a step's move: `within` counts from when it first became ready (its needs
    /// met: queued, its gate open, or running); it is done once first final.
    pub(crate) fn watch_step(&mut self, i: usize, new: StepState, at: Timestamp) {
        let within = self.plan.steps[i].deadline.as_ref().and_then(|d| d.within);
        let Some(w) = self.steps[i]
            .more
            .written()
            .and_then(|m| m.watch.as_deref_mut())
        else {
            return;
        };
        let ready = new.is_under_way();
        let mut moved = false;
        if ready && w.within.is_none() {
            w.within = within.map(|d| at.add(d));
            moved = w.within.is_some();
        }
        if new.is_final() {
            w.done_at(at);
        }
        if moved {
            self.arm(Some(i));
        }
    }

    /// Fold the run's end: it is done (the first end counts; a reopening does not).
    pub(crate) fn watch_run_done(&mut self, at: Timestamp) {
        if let Some(w) = self.run_watch.as_mut() {
            w.done_at(at);
        }
    }

    /// Fold `deadline_missed`: on record, never reported again.
    pub(crate) fn fold_deadline_missed(&mut self, step: Option<&str>, at: Timestamp) {
        let w = match step {
            None => self.run_watch.as_mut(),
            Some(id) => match self.step_index(id) {
                Some(i) => self.steps[i]
                    .more
                    .written()
                    .and_then(|m| m.watch.as_deref_mut()),
                None => None,
            },
        };
        if let Some(w) = w {
            w.missed.get_or_insert(at);
        }
    }

    /// A deadline's timer (`None`: the run's): at its due time (or later, after an
    /// engine that was down resumes).
    fn arm(&mut self, step: Option<usize>) {
        let (w, timer) = match step {
            None => (self.run_watch.as_ref(), Timer::RunWatch),
            Some(i) => (self.steps[i].more.watch.as_deref(), Timer::StepWatch(i)),
        };
        if let Some((due, _)) = w.and_then(Watch::due) {
            self.timers.insert((due, timer));
        }
    }

    /// A deadline timer fired: report the deadline if it is missed now.
    pub(super) fn deadline_due(&mut self, step: Option<usize>, now: Timestamp, fx: &mut Fx) {
        let (w, d) = match step {
            None => (self.run_watch, self.plan.deadline.as_ref()),
            Some(i) => (
                self.steps[i].more.watch.as_deref().copied(),
                self.plan.steps[i].deadline.as_deref(),
            ),
        };
        let (Some(w), Some(d)) = (w, d) else {
            return;
        };
        let Some((due, clause)) = w.missed_now(now) else {
            return;
        };
        let rule = match clause {
            Clause::At => format!(
                "at {} ({})",
                d.at.map(|t| t.to_string()).unwrap_or_default(),
                self.zone.as_deref().unwrap_or("UTC")
            ),
            Clause::Within => format!(
                "within {}{}",
                d.within.map(human_duration).unwrap_or_default(),
                if step.is_some() { " of ready" } else { "" }
            ),
        };
        let kind = EventKind::DeadlineMissed {
            step: step.map(|i| self.id(i)),
            due,
            rule,
        };
        self.emit(kind, now, fx);
    }

    /// The run's deadline and its steps', as the view shows them (the run's first).
    pub(crate) fn deadline_views(&self) -> Vec<DeadlineView> {
        let run = self.run_watch.as_ref().zip(self.plan.deadline.as_ref());
        let steps = (0..self.steps.len()).filter_map(|i| {
            let w = self.steps[i].more.watch.as_deref()?;
            Some((Some(self.id(i)), w, self.plan.steps[i].deadline.as_deref()?))
        });
        run.map(|(w, d)| (None, w, d))
            .into_iter()
            .chain(steps)
            .map(|(step, w, d)| DeadlineView {
                step,
                due: w.due().map(|(t, _)| t),
                at: d.at.map(|t| t.to_string()),
                zone: d
                    .at
                    .map(|_| self.zone.clone().unwrap_or_else(|| "UTC".into())),
                within_ms: d.within.map(|w| w.as_millis() as u64),
                missed: w.missed,
                met: w.missed.is_none()
                    && w.done
                        .is_some_and(|done| w.due().is_none_or(|(t, _)| done <= t)),
            })
            .collect()
    }
}
