//! The promises, checked once the campaign has settled, on what the store recorded and
//! on the steps' own stamps (pure: the facts are read by `facts.rs`). Each check is
//! named after the simulator's invariant for the same sentence of the documents
//! (`crates/sim/src/invariants.rs`), whose event-level checks run here too, on the
//! real store's events.
use super::stamps::Stamp;
use baton::model::{Event, EventKind, RunState, StepState};
use baton_sim::invariants::{self as sim, Track};
use std::collections::{BTreeMap, BTreeSet};

/// One run as the store recorded it.
pub(super) struct RunFacts {
    pub id: String,
    pub workflow: String,
    /// As readers read it once the campaign settled.
    pub state: RunState,
    pub events: Vec<Event>,
    /// Its steps behind a gate.
    pub gated: BTreeSet<String>,
    /// Its concurrency group (`workflows::group_of`), if any.
    pub group: Option<&'static str>,
}

/// A promise and how it fared.
#[derive(Debug)]
pub(super) struct Verdict {
    pub invariant: &'static str,
    /// The sentence of the documents it checks.
    pub sentence: &'static str,
    /// What was looked at (counts).
    pub checked: String,
    /// Each way it was broken, with the evidence.
    pub broken: Vec<String>,
}

impl Verdict {
    pub(super) fn new(invariant: &'static str, sentence: &'static str) -> Verdict {
        Verdict {
            invariant,
            sentence,
            checked: String::new(),
            broken: Vec::new(),
        }
    }
}

/// The stamps of each run, by run id.
fn by_run(stamps: &[Stamp]) -> BTreeMap<&str, Vec<&Stamp>> {
    let mut m: BTreeMap<&str, Vec<&Stamp>> = BTreeMap::new();
    for s in stamps {
        m.entry(s.run.as_str()).or_default().push(s);
    }
    m
}

/// README: "nothing finished runs twice after a crash". On the events, the
/// simulator's check; on the stamps, no process of a step starts after the store
/// recorded the step succeeded (no run here is retried or marked; a push-back's
/// `rerun` steps run again, on record, and count from there).
pub(super) fn nothing_finished_runs_twice(runs: &[RunFacts], stamps: &[Stamp]) -> Verdict {
    let mut v = Verdict::new(
        "nothing_finished_runs_twice",
        "README: \"nothing finished runs twice after a crash\"",
    );
    let stamped = by_run(stamps);
    let mut events = 0;
    for r in runs {
        let mut t = Track::default();
        // When each step read succeeded: from its success to a push-back's rerun of it.
        let mut succeeded: BTreeMap<&str, Vec<(i64, Option<i64>)>> = BTreeMap::new();
        for ev in &r.events {
            events += 1;
            if let Some(d) = sim::nothing_finished_runs_twice(&t, ev) {
                v.broken.push(format!("run {}: {d}", r.id));
            }
            match &ev.kind {
                EventKind::StepStateChanged {
                    step,
                    state: StepState::Succeeded,
                    ..
                } => {
                    let w = succeeded.entry(step).or_default();
                    if w.last().is_none_or(|(_, to)| to.is_some()) {
                        w.push((ev.at.0, None));
                    }
                }
                // gates.md, "Push back": the gate's `revise` steps run again, on record.
                EventKind::GatePushedBack { rerun, .. } => {
                    for s in rerun {
                        if let Some((_, to @ None)) =
                            succeeded.get_mut(s.as_str()).and_then(|w| w.last_mut())
                        {
                            *to = Some(ev.at.0);
                        }
                    }
                }
                _ => {}
            }
            t.learn(ev);
        }
        for s in stamped.get(r.id.as_str()).into_iter().flatten() {
            let within = succeeded.get(s.step.as_str()).and_then(|w| {
                w.iter()
                    .find(|(from, to)| s.start_ms() > *from && to.is_none_or(|t| s.start_ms() < t))
            });
            if let Some((ok, _)) = within {
                v.broken.push(format!(
                    "{} started at {} ms, after the store recorded `{}` succeeded at {ok} ms",
                    s.name(),
                    s.start_ms(),
                    s.step
                ));
            }
        }
    }
    v.checked = format!(
        "{events} events of {} runs, {} stamped processes",
        runs.len(),
        stamps.len()
    );
    v
}

/// README: "nothing runs unapproved". On the events, the simulator's check; on the
/// stamps, every process of a gated step started after its gate's approval was on
/// record, and none after a rejection.
pub(super) fn nothing_runs_unapproved(runs: &[RunFacts], stamps: &[Stamp]) -> Verdict {
    let mut v = Verdict::new(
        "nothing_runs_unapproved",
        "README: \"nothing runs unapproved\": a gated step starts only with its approval on record before its start stamp",
    );
    let stamped = by_run(stamps);
    let mut gated_starts = 0;
    for r in runs {
        let mut t = Track::default();
        for ev in &r.events {
            if let Some(d) = sim::nothing_runs_unapproved(&t, &r.gated, ev) {
                v.broken.push(format!("run {}: {d}", r.id));
            }
            t.learn(ev);
        }
        for s in stamped.get(r.id.as_str()).into_iter().flatten() {
            if !r.gated.contains(&s.step) {
                continue;
            }
            gated_starts += 1;
            if let Some(why) = unapproved_start(&r.events, s) {
                v.broken.push(format!("{}: {why}", s.name()));
            }
        }
    }
    v.checked = format!("{gated_starts} stamped starts of gated steps");
    v
}

/// Why stamp `s` of a gated step started without its approval, if it did: the gate's
/// latest opening before the start must have been approved before the start, and
/// never rejected before it.
fn unapproved_start(events: &[Event], s: &Stamp) -> Option<String> {
    let mut approved_at = None;
    for ev in events.iter().take_while(|e| e.at.0 <= s.start_ms()) {
        match &ev.kind {
            EventKind::GateOpened { step, .. } | EventKind::GateVoided { step, .. }
                if *step == s.step =>
            {
                approved_at = None;
            }
            EventKind::GateApproved { step, .. } if *step == s.step => approved_at = Some(ev.at.0),
            EventKind::GateRejected { step, .. } if *step == s.step => {
                return Some(format!(
                    "started at {} ms after its gate was rejected (event {} at {} ms)",
                    s.start_ms(),
                    ev.seq,
                    ev.at.0
                ));
            }
            _ => {}
        }
    }
    approved_at.is_none().then(|| {
        format!(
            "started at {} ms with no approval of its gate on record before it",
            s.start_ms()
        )
    })
}

/// A stamped process, its start and its end (ns; `None`: no end on record).
type Life<'a> = (&'a Stamp, i64, Option<i64>);

/// A process's life from its stamps: its end stamp, or else (killed with SIGKILL)
/// the store's record of its attempt's end, which comes after the process ended;
/// `None` where neither exists.
fn life(s: &Stamp, events: &[Event]) -> (i64, Option<i64>) {
    if let Some((end, _)) = &s.end {
        return (s.start, Some(*end));
    }
    let recorded = events.iter().find(|e| {
        e.at.0 >= s.start_ms()
            && match &e.kind {
                EventKind::StepFinished { step, attempt, .. } => {
                    *step == s.step && *attempt == s.attempt
                }
                EventKind::StepStateChanged {
                    step,
                    attempt,
                    state,
                    ..
                } => *step == s.step && *attempt == s.attempt && !state.has_process(),
                _ => false,
            }
    });
    // The next millisecond: the record is at or after the process's end.
    (s.start, recorded.map(|e| (e.at.0 + 1) * 1_000_000))
}

/// docs/workflow/concurrency-and-schedules.md: "at most one run of a group is active".
/// On the stamps: no two processes of different runs of one group were alive at once
/// (a process with no end on record counts as alive to the end).
pub(super) fn at_most_one_active_run_per_group(runs: &[RunFacts], stamps: &[Stamp]) -> Verdict {
    let mut v = Verdict::new(
        "at_most_one_active_run_per_group",
        "docs/workflow/concurrency-and-schedules.md: \"at most one run of a group is active\": the steps' start and end stamps of two runs of a group never overlap",
    );
    let facts: BTreeMap<&str, &RunFacts> = runs.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut groups: BTreeMap<&str, Vec<Life>> = BTreeMap::new();
    let mut open = 0;
    for s in stamps {
        let Some(r) = facts.get(s.run.as_str()) else {
            v.broken.push(format!(
                "{}: a stamp of a run the store does not have",
                s.name()
            ));
            continue;
        };
        let Some(g) = r.group else { continue };
        let (start, end) = life(s, &r.events);
        open += usize::from(end.is_none());
        groups.entry(g).or_default().push((s, start, end));
    }
    let mut pairs = 0;
    for (g, lives) in &groups {
        for (i, (a, a0, a1)) in lives.iter().enumerate() {
            for (b, b0, b1) in &lives[i + 1..] {
                if a.run == b.run {
                    continue;
                }
                pairs += 1;
                let overlap = *b0 < a1.unwrap_or(i64::MAX) && *a0 < b1.unwrap_or(i64::MAX);
                if overlap {
                    let around = (a0.min(b0) / 1_000_000 - 3000, a0.max(b0) / 1_000_000 + 1000);
                    v.broken.push(format!(
                        "group {g}: {} ({a0}..{}) and {} ({b0}..{}) were alive at once; their events then:\n{}\n{}",
                        a.name(),
                        a1.map_or("never ended".into(), |e| e.to_string()),
                        b.name(),
                        b1.map_or("never ended".into(), |e| e.to_string()),
                        events_between(&facts[a.run.as_str()].events, around),
                        events_between(&facts[b.run.as_str()].events, around),
                    ));
                }
            }
        }
    }
    v.checked = format!(
        "{} groups, {} stamped processes in them ({open} with no end on record), {pairs} pairs of different runs",
        groups.len(),
        groups.values().map(Vec::len).sum::<usize>()
    );
    v
}

/// A run's events from `from` to `to` (ms), one a line, for evidence.
fn events_between(events: &[Event], (from, to): (i64, i64)) -> String {
    events
        .iter()
        .filter(|e| (from..=to).contains(&e.at.0))
        .map(|e| {
            let mut json = serde_json::to_string(&e.kind).unwrap_or_default();
            json.truncate(200);
            format!("           {} @{} {json}", e.seq, e.at.0)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// docs/commands.md: "`baton resume RUN` continue an interrupted run from its event
/// log": once the chaos stopped, resuming every interrupted run and deciding every gate
/// the inbox lists brought each run to an end.
pub(super) fn every_run_ends(runs: &[RunFacts]) -> Verdict {
    let mut v = Verdict::new(
        "every_run_ends",
        "docs/commands.md: \"baton resume RUN: continue an interrupted run from its event log\": with every interrupted run resumed and every gate the inbox lists decided, every run ends",
    );
    for r in runs.iter().filter(|r| !r.state.is_final()) {
        let last = r
            .events
            .last()
            .map(|e| format!("{} (event {})", e.kind.name(), e.seq));
        v.broken.push(format!(
            "run {} ({}) reads {:?} at the deadline; its last event {}",
            r.id,
            r.workflow,
            r.state,
            last.unwrap_or_default()
        ));
    }
    v.checked = format!("{} runs", runs.len());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton::model::Timestamp;

    fn ev(seq: u64, at: i64, kind: EventKind) -> Event {
        Event {
            seq,
            at: Timestamp(at),
            kind,
        }
    }

    fn state(step: &str, state: StepState, attempt: u32) -> EventKind {
        EventKind::StepStateChanged {
            step: step.into(),
            state,
            attempt,
            reason: None,
        }
    }

    fn stamp(run: &str, step: &str, attempt: u32, start_ms: i64, end_ms: Option<i64>) -> Stamp {
        Stamp {
            run: run.into(),
            step: step.into(),
            attempt,
            pid: 100 + attempt,
            start: start_ms * 1_000_000,
            place: "local".into(),
            end: end_ms.map(|e| (e * 1_000_000, "exit".to_string())),
        }
    }

    fn run(id: &str, events: Vec<Event>) -> RunFacts {
        RunFacts {
            id: id.into(),
            workflow: "deploy".into(),
            state: RunState::Succeeded,
            events,
            gated: BTreeSet::from(["ship".to_string()]),
            group: Some("g"),
        }
    }

    #[test]
    fn a_start_after_the_recorded_success_is_reported_and_one_before_is_not() {
        let runs = [run(
            "r1",
            vec![ev(1, 100, state("build", StepState::Succeeded, 1))],
        )];
        let ok = nothing_finished_runs_twice(&runs, &[stamp("r1", "build", 1, 50, Some(90))]);
        assert!(ok.broken.is_empty(), "{ok:?}");
        let again = nothing_finished_runs_twice(&runs, &[stamp("r1", "build", 2, 150, Some(160))]);
        assert_eq!(again.broken.len(), 1, "{again:?}");
    }

    #[test]
    fn a_start_after_a_push_back_reran_the_step_is_not_reported() {
        let pushed = ev(
            2,
            120,
            EventKind::GatePushedBack {
                step: "ship".into(),
                actor: "root".into(),
                reason: "chaos-1".into(),
                round: baton::model::GateRound { n: 2, of: 3 },
                rerun: vec!["build".into()],
                signature: None,
            },
        );
        let runs = [run(
            "r1",
            vec![ev(1, 100, state("build", StepState::Succeeded, 1)), pushed],
        )];
        let rerun = nothing_finished_runs_twice(&runs, &[stamp("r1", "build", 2, 130, Some(140))]);
        assert!(rerun.broken.is_empty(), "{rerun:?}");
        let before = nothing_finished_runs_twice(&runs, &[stamp("r1", "build", 2, 110, Some(115))]);
        assert_eq!(
            before.broken.len(),
            1,
            "between the success and the push-back: {before:?}"
        );
    }

    #[test]
    fn a_gated_start_needs_the_approval_before_it() {
        let approved = |at| {
            ev(
                2,
                at,
                EventKind::GateApproved {
                    step: "ship".into(),
                    actor: "root".into(),
                    approvers: vec!["root".into()],
                },
            )
        };
        let s = stamp("r1", "ship", 1, 200, Some(300));
        assert_eq!(unapproved_start(&[approved(150)], &s), None);
        assert!(
            unapproved_start(&[approved(250)], &s).is_some(),
            "approved after it started"
        );
        assert!(unapproved_start(&[], &s).is_some());
    }

    #[test]
    fn two_runs_of_a_group_alive_at_once_are_reported() {
        let runs = [run("r1", vec![]), run("r2", vec![])];
        let apart = [
            stamp("r1", "build", 1, 0, Some(100)),
            stamp("r2", "build", 1, 101, Some(200)),
        ];
        assert!(
            at_most_one_active_run_per_group(&runs, &apart)
                .broken
                .is_empty()
        );
        let overlap = [
            stamp("r1", "build", 1, 0, Some(100)),
            stamp("r2", "build", 1, 99, Some(200)),
        ];
        assert_eq!(
            at_most_one_active_run_per_group(&runs, &overlap)
                .broken
                .len(),
            1
        );
        // Killed with no end and nothing on record: alive to the end.
        let killed = [
            stamp("r1", "build", 1, 0, None),
            stamp("r2", "build", 1, 5000, Some(6000)),
        ];
        assert_eq!(
            at_most_one_active_run_per_group(&runs, &killed)
                .broken
                .len(),
            1
        );
    }

    #[test]
    fn a_killed_process_ends_where_the_store_recorded_its_attempt_end() {
        let events = vec![ev(1, 100, state("build", StepState::Interrupted, 1))];
        let runs = [run("r1", events), run("r2", vec![])];
        let after = [
            stamp("r1", "build", 1, 0, None),
            stamp("r2", "build", 1, 102, Some(200)),
        ];
        assert!(
            at_most_one_active_run_per_group(&runs, &after)
                .broken
                .is_empty()
        );
    }
}
