//! A fanned-out step as every reader shows it: one node with its instances' counts
//! (`test 14/20 ✔12 ✘1 ◷1`). The counts are kept once, by the core as its instances
//! move ([`FanCounts::moved`]), and carried in the `RunView` on the step
//! ([`StepView::fan`]); the console, `show`, `show --json` and `runs` read them there
//! (or, for `runs`, tally the projected rows with [`FanCounts::add`]): one classification
//! of an instance's state, never counted again per view or per frame.
use super::StepIdx;
use super::state::StepState;
use super::view::{RunView, StepView};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// How many instances of a fanned-out step are where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FanCounts {
    pub total: usize,
    /// In a final state (succeeded, failed, skipped, cancelled, …).
    pub done: usize,
    pub succeeded: usize,
    /// Failed, rejected, upstream_failed or cancelled: what fails the step.
    pub failed: usize,
    /// At work or about to be: queued, running, retrying, at a gate (`◷`).
    pub active: usize,
    /// Of the succeeded, those an operator marked so (`baton mark`): the hand that
    /// changed the count, said beside it.
    #[serde(default)]
    pub marked: usize,
}

/// What an instance's state counts as: (done, succeeded, failed, active).
fn classify(s: StepState) -> [usize; 4] {
    let failed = s.counts_as_failed();
    let done = s.is_final();
    let active = s.is_active();
    [
        usize::from(done),
        usize::from(s == StepState::Succeeded),
        usize::from(failed),
        usize::from(active),
    ]
}

impl FanCounts {
    /// `n` instances that are `pending`: a step as it fans out.
    pub fn pending(n: usize) -> FanCounts {
        FanCounts {
            total: n,
            ..FanCounts::default()
        }
    }

    /// Count `n` more instances in state `s`.
    pub fn add(&mut self, s: StepState, n: usize) {
        let [d, ok, f, a] = classify(s);
        self.total += n;
        self.done += d * n;
        self.succeeded += ok * n;
        self.failed += f * n;
        self.active += a * n;
    }

    /// One instance moved from `old` to `new`.
    pub fn moved(&mut self, old: StepState, new: StepState) {
        let [d0, ok0, f0, a0] = classify(old);
        let [d1, ok1, f1, a1] = classify(new);
        self.done = (self.done + d1).saturating_sub(d0);
        self.succeeded = (self.succeeded + ok1).saturating_sub(ok0);
        self.failed = (self.failed + f1).saturating_sub(f0);
        self.active = (self.active + a1).saturating_sub(a0);
    }

    /// The counts of instances in these states.
    pub fn tally(states: impl IntoIterator<Item = StepState>) -> FanCounts {
        let mut c = FanCounts::default();
        for s in states {
            c.add(s, 1);
        }
        c
    }

    /// `14/20 ✔12 ✘1 ◷1`: done of all, then succeeded, failed and at work (each only
    /// when there are some), and `(1 marked)` when an operator marked some succeeded.
    pub fn text(&self) -> String {
        let mut out = format!("{}/{}", self.done, self.total);
        for (glyph, n) in [
            ("✔", self.succeeded),
            ("✘", self.failed),
            ("◷", self.active),
        ] {
            if n > 0 {
                out.push_str(&format!(" {glyph}{n}"));
            }
        }
        if self.marked > 0 {
            out.push_str(&format!(" ({} marked)", self.marked));
        }
        out
    }

    /// The widest [`FanCounts::text`] these instances can have (a column that does not
    /// move as they run).
    pub fn widest(&self) -> usize {
        let n = self.total.to_string().chars().count();
        // `T/T ✔T ✘T ◷T`, and ` (M marked)` once some are.
        let marked = if self.marked > 0 {
            self.marked.to_string().chars().count() + 10
        } else {
            0
        };
        2 * n + 1 + 3 * (n + 2) + marked
    }

    /// How many of `steps` read succeeded by a mark (`StepView::marked`).
    pub fn marked_of<'a>(steps: impl IntoIterator<Item = &'a StepView>) -> usize {
        steps
            .into_iter()
            .filter(|s| {
                s.state == StepState::Succeeded
                    && s.marked
                        .as_ref()
                        .is_some_and(|m| m.state == StepState::Succeeded)
            })
            .count()
    }
}

/// A fanned-out step's instances (their places in `RunView::steps`) and their counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanView {
    pub instances: Range<StepIdx>,
    pub counts: FanCounts,
}

/// Where the step's plan ends in `view.steps`: the instances are appended after every
/// step of the workflow (the core grows its plan at the end), so the steps before this
/// are the workflow's own, found without looking at any instance.
pub fn plan_len(view: &RunView) -> usize {
    view.steps.partition_point(|s| s.parent.is_none())
}

/// The steps in the order readers list them: each workflow step, and right after a
/// fanned-out one its instances when `open(step)` says so.
pub fn grouped(view: &RunView, open: impl Fn(StepIdx, &StepView) -> bool) -> Vec<StepIdx> {
    let m = plan_len(view);
    let mut out = Vec::with_capacity(m);
    for (i, s) in view.steps[..m].iter().enumerate() {
        out.push(i);
        if let Some(f) = &s.fan
            && open(i, s)
        {
            out.extend(f.instances.clone());
        }
    }
    out
}

/// Count each fanned-out step's instances again from their states: after a reader
/// changed states in the view (`liveness::stop_clocks`).
pub fn recount(view: &mut RunView) {
    for p in 0..plan_len(view) {
        let Some(range) = view.steps[p].fan.as_ref().map(|f| f.instances.clone()) else {
            continue;
        };
        let mut counts = FanCounts::tally(view.steps[range.clone()].iter().map(|s| s.state));
        counts.marked = FanCounts::marked_of(&view.steps[range]);
        if let Some(f) = view.steps[p].fan.as_mut() {
            f.counts = counts;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepState::*;

    #[test]
    fn counts_say_done_succeeded_failed_and_at_work() {
        let mut states = vec![Succeeded; 12];
        states.extend([Failed, Skipped, Running]);
        states.extend(vec![Pending; 5]);
        let c = FanCounts::tally(states);
        assert_eq!(c.text(), "14/20 ✔12 ✘1 ◷1");
        assert_eq!(FanCounts::pending(3).text(), "0/3");
        assert!(c.text().chars().count() <= c.widest());
    }

    #[test]
    fn a_move_keeps_the_counts_a_tally_would_make() {
        let mut c = FanCounts::pending(3);
        c.moved(Pending, Queued);
        c.moved(Queued, Running);
        c.moved(Running, Failed);
        c.moved(Pending, Cancelled);
        assert_eq!(c, FanCounts::tally([Failed, Cancelled, Pending]));
        // An operator's retry of the failed one.
        c.moved(Failed, Queued);
        assert_eq!(c, FanCounts::tally([Queued, Cancelled, Pending]));
        assert_eq!(c.text(), "1/3 ✘1 ◷1");
    }
}
