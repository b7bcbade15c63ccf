//! What a concurrency group decides for a new run, from what the admitting transaction
//! read (`slots`): pure, so that the one decision a burst of submissions meets is
//! tested apart from SQLite.
//!
//! The holder keeps the group whatever arrives: `max_pending` bounds only the runs
//! waiting in line, and the runs past it are replaced (the oldest first) in the same
//! transaction that queues the new one, as GitHub's concurrency keeps its pending runs
//! (an in-progress run is cancelled only by `cancel_running`, never by the bound).
use super::slots::{Joining, Verdict, WhenBusy};

/// What the group decided for a new run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    /// Whether the run joins the group's rows: holding it, or waiting in line (a run
    /// that skips does not).
    pub joins: bool,
    /// Runs waiting in line that the new run replaces (`max_pending`): out of the line
    /// from this transaction on, and cancelled on record by the new run's starter.
    pub replaced: Vec<String>,
}

/// The decision for a run joining as `joining` says, when `holder` holds the group
/// (live, or its work still running) and `line` waits for it, first in line first
/// (live queued runs only).
pub fn decide(holder: Option<&str>, line: &[String], joining: &Joining) -> Decision {
    let decision = |verdict, joins, replaced: &[String]| Decision {
        verdict,
        joins,
        replaced: replaced.to_vec(),
    };
    let busy = |h: &str| Verdict::Busy { holder: h.into() };
    // A run that waits replaces the oldest waiting past the bound, itself counted.
    let over = (line.len() + 1).saturating_sub(joining.max_pending.max(1));
    let (replaced, kept) = line.split_at(over.min(line.len()));
    match (holder, joining.when_busy) {
        (Some(h), WhenBusy::Skip) => decision(busy(h), false, &[]),
        (Some(h), _) => decision(busy(h), true, replaced),
        // A superseding run goes first whatever waits.
        (None, WhenBusy::QueueFirst) => decision(Verdict::Holds, true, &[]),
        // A free group still goes to those waiting, first in line first.
        (None, WhenBusy::Skip) => match line.first() {
            Some(first) => decision(busy(first), false, &[]),
            None => decision(Verdict::Holds, true, &[]),
        },
        // ... unless the new run replaced all of them.
        (None, WhenBusy::Queue) => match kept.first() {
            Some(first) => decision(busy(first), true, replaced),
            None => decision(Verdict::Holds, true, replaced),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joining(when_busy: WhenBusy, max_pending: usize) -> Joining {
        Joining {
            group: "g".into(),
            when_busy,
            max_pending,
        }
    }

    fn line(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn busy(h: &str) -> Verdict {
        Verdict::Busy { holder: h.into() }
    }

    #[test]
    fn a_free_group_with_no_line_is_held() {
        let d = decide(None, &[], &joining(WhenBusy::Queue, 1));
        assert_eq!(d.verdict, Verdict::Holds);
        assert!(d.joins && d.replaced.is_empty());
    }

    #[test]
    fn a_queued_run_replaces_the_oldest_waiting_past_the_bound_never_the_holder() {
        let d = decide(Some("H"), &line(&["A", "B"]), &joining(WhenBusy::Queue, 1));
        assert_eq!(d.verdict, busy("H"));
        assert_eq!(d.replaced, line(&["A", "B"]));
        let d = decide(Some("H"), &line(&["A", "B"]), &joining(WhenBusy::Queue, 2));
        assert_eq!(d.replaced, line(&["A"]));
        let d = decide(Some("H"), &line(&["A"]), &joining(WhenBusy::Queue, 3));
        assert!(d.replaced.is_empty());
        // However many arrive one after the other, at most the bound waits.
        let mut waiting: Vec<String> = Vec::new();
        for i in 0..20 {
            let d = decide(Some("H"), &waiting, &joining(WhenBusy::Queue, 2));
            waiting.retain(|w| !d.replaced.contains(w));
            waiting.push(format!("R{i}"));
            assert!(waiting.len() <= 2, "{waiting:?}");
        }
    }

    #[test]
    fn a_free_group_goes_to_the_line_unless_the_new_run_replaced_all_of_it() {
        // The waiting run is about to take the group: the new one waits behind it.
        let d = decide(None, &line(&["A"]), &joining(WhenBusy::Queue, 2));
        assert_eq!(d.verdict, busy("A"));
        assert!(d.replaced.is_empty());
        // One pending at most: the new run replaces it and takes the free group.
        let d = decide(None, &line(&["A"]), &joining(WhenBusy::Queue, 1));
        assert_eq!(d.verdict, Verdict::Holds);
        assert_eq!(d.replaced, line(&["A"]));
    }

    #[test]
    fn a_skipping_run_replaces_nothing_and_joins_nothing() {
        let d = decide(Some("H"), &line(&["A"]), &joining(WhenBusy::Skip, 1));
        assert_eq!(d.verdict, busy("H"));
        assert!(!d.joins && d.replaced.is_empty());
        let d = decide(None, &line(&["A"]), &joining(WhenBusy::Skip, 1));
        assert_eq!(d.verdict, busy("A"));
    }

    #[test]
    fn a_superseding_run_waits_for_the_holder_and_bounds_the_line_too() {
        let d = decide(
            Some("H"),
            &line(&["A", "B"]),
            &joining(WhenBusy::QueueFirst, 1),
        );
        assert_eq!(d.verdict, busy("H"));
        assert!(d.joins);
        assert_eq!(d.replaced, line(&["A", "B"]));
        let d = decide(None, &line(&["A"]), &joining(WhenBusy::QueueFirst, 1));
        assert_eq!(d.verdict, Verdict::Holds);
        assert!(d.replaced.is_empty());
    }
}
