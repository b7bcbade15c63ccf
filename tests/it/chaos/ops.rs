//! The operators' other commands, through the CLI as the campaign's account: `baton
//! hold` (of a step or the run, sometimes `--until` a few seconds on) and `release`,
//! `baton fork` of ended runs, and `baton push-back` of `review`'s gate. Each may take
//! an undriven run over and drive it, so each is an engine of the campaign. And what
//! they promise, checked once the campaign settled: nothing runs while held, a fork's
//! reused step never starts.
use super::checks::{RunFacts, Verdict};
use super::stamps::Stamp;
use super::world::{Campaign, What};
use super::{acts::final_state, workflows};
use baton::model::{EventKind, StepState};
use std::collections::BTreeMap;

/// The operators' commands made (each one CLI process; its verdict is its own).
#[derive(Default, Debug)]
pub(super) struct Ops {
    pub holds: usize,
    pub releases: usize,
    pub forks: usize,
    pub push_backs: usize,
    /// Commands that found no subject (no run going, none ended, no gate open).
    pub no_subject: usize,
}

impl Campaign {
    /// The runs `baton runs --json` lists that have not ended: (id, workflow).
    fn runs_going(&self) -> Vec<(String, String)> {
        self.rows(&["runs", "--json"])
            .iter()
            .filter(|r| !final_state(&r["state"]))
            // A hold's takeover is not given the release's secret param again.
            .filter(|r| {
                r["workflow"] != super::hands::RELEASE && r["workflow"] != super::hands::CHILD
            })
            .filter_map(|r| Some((r["id"].as_str()?.into(), r["workflow"].as_str()?.into())))
            .collect()
    }

    fn reason(&mut self) -> String {
        self.n += 1;
        format!("chaos-{}", self.n)
    }

    /// `baton hold RUN [STEP]` of a run going, or `baton release RUN [STEP]` of what
    /// the inbox lists held.
    pub(super) fn hold(&mut self, release: bool, step: bool, pick: usize) {
        let reason = self.reason();
        let mut args: Vec<String> = Vec::new();
        if release {
            let held = self.inbox(&["held"]);
            let Some((run, s, _)) = held.get(pick % held.len().max(1)).cloned() else {
                self.ops.no_subject += 1;
                return;
            };
            args.extend(["release".into(), run]);
            if step {
                args.push(s);
            }
            self.ops.releases += 1;
        } else {
            let going = self.runs_going();
            let Some((run, workflow)) = going.get(pick % going.len().max(1)).cloned() else {
                self.ops.no_subject += 1;
                return;
            };
            args.extend(["hold".into(), run]);
            let steps = workflows::steps_of(&workflow);
            if step && !steps.is_empty() {
                args.push(steps[pick / 7 % steps.len()].into());
            }
            if pick.is_multiple_of(2) {
                args.extend(["--until".into(), "8s".into()]);
            }
            self.ops.holds += 1;
        }
        args.extend(["--reason".into(), reason]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.spawn(&args, What::Op);
    }

    /// `baton fork RUN --from STEP` of a succeeded run, from one of its steps after its
    /// first (so that the steps before it are reused).
    pub(super) fn fork(&mut self, pick: usize) {
        let ended: Vec<(String, String)> = self
            .rows(&["runs", "--json"])
            .iter()
            .filter(|r| r["state"] == "succeeded")
            .filter_map(|r| Some((r["id"].as_str()?.into(), r["workflow"].as_str()?.into())))
            .filter(|(_, w): &(String, String)| workflows::steps_of(w).len() > 1)
            .collect();
        let Some((run, workflow)) = ended.get(pick % ended.len().max(1)).cloned() else {
            self.ops.no_subject += 1;
            return;
        };
        let steps = workflows::steps_of(&workflow);
        let from = steps[1 + pick / 7 % (steps.len() - 1)];
        self.ops.forks += 1;
        self.spawn(&["fork", &run, "--from", from, "--headless"], What::Run);
    }

    /// `baton push-back RUN publish` of an open gate of `review`.
    pub(super) fn push_back(&mut self, pick: usize) {
        let review: Vec<String> = self
            .rows(&["inbox", "--json"])
            .iter()
            .filter(|w| w["kind"] == "gate" && w["workflow"] == "review")
            .filter_map(|w| w["run_id"].as_str().map(String::from))
            .collect();
        let Some(run) = review.get(pick % review.len().max(1)).cloned() else {
            self.ops.no_subject += 1;
            return;
        };
        let reason = self.reason();
        self.ops.push_backs += 1;
        self.spawn(
            &["push-back", &run, "publish", "--reason", &reason],
            What::Op,
        );
    }
}

/// commands.md: a hold "pauses work": a held step does not start until released. On
/// the events, no attempt of a step starts (`running`) while the step is held; on the
/// stamps, no process of a step starts while it is held, unless its attempt had
/// started before the hold (a running step held is frozen, not stopped).
pub(super) fn nothing_runs_while_held(runs: &[RunFacts], stamps: &[Stamp]) -> Verdict {
    let mut v = Verdict::new(
        "nothing_runs_while_held",
        "docs/commands.md: \"A hold […] pauses work without failing or cancelling it\": no step starts while it is held",
    );
    let (mut holds, mut checked) = (0, 0);
    for r in runs {
        // Per step: when each hold began and ended (`None`: never released).
        let mut held: BTreeMap<&str, Vec<(i64, Option<i64>)>> = BTreeMap::new();
        // Per (step, attempt): when the store recorded it running.
        let mut started: BTreeMap<(&str, u32), i64> = BTreeMap::new();
        for ev in &r.events {
            match &ev.kind {
                EventKind::StepHeld { step, .. } => {
                    holds += 1;
                    held.entry(step).or_default().push((ev.at.0, None));
                }
                EventKind::StepReleased { step, .. } => {
                    if let Some((_, to @ None)) =
                        held.get_mut(step.as_str()).and_then(|h| h.last_mut())
                    {
                        *to = Some(ev.at.0);
                    }
                }
                EventKind::StepStateChanged {
                    step,
                    state: StepState::Running,
                    attempt,
                    ..
                } => {
                    started.entry((step, *attempt)).or_insert(ev.at.0);
                    let now = held.get(step.as_str()).and_then(|h| h.last());
                    if let Some((from, None)) = now {
                        v.broken.push(format!(
                            "run {}: step {step} attempt {attempt} starts (event {}) while held since {from} ms",
                            r.id, ev.seq
                        ));
                    }
                }
                _ => {}
            }
        }
        for s in stamps.iter().filter(|s| s.run == r.id) {
            checked += 1;
            let Some(hs) = held.get(s.step.as_str()) else {
                continue;
            };
            let began = started.get(&(s.step.as_str(), s.attempt)).copied();
            let at = s.start_ms();
            if let Some((from, to)) = hs.iter().find(|(from, to)| {
                at > *from && to.is_none_or(|t| at < t) && began.is_none_or(|b| b > *from)
            }) {
                v.broken.push(format!(
                    "{} started at {at} ms while its step was held ({from}..{})",
                    s.name(),
                    to.map_or("never released".into(), |t| t.to_string())
                ));
            }
        }
    }
    v.checked = format!("{holds} holds of steps, {checked} stamped processes");
    v
}

/// commands.md, "Forking a run": "Every other step keeps RUN's recorded outcome […]
/// without running" and "A fork killed mid-run is resumed as any run: its reused steps
/// are in its history and never run": no process of a fork's reused step is stamped,
/// and none of its attempts starts on record, until a push-back of a gate in the fork
/// reruns it (a person's decision, on record: gates.md, "Push back").
pub(super) fn a_reused_step_never_starts(runs: &[RunFacts], stamps: &[Stamp]) -> Verdict {
    let mut v = Verdict::new(
        "a_reused_step_never_starts",
        "docs/commands.md: a fork's reused steps keep the recorded outcome \"without running\"; resumed, they \"never run\"",
    );
    let (mut forks, mut reused) = (0, 0);
    for r in runs {
        let steps: Vec<&str> = r
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::StepReused { step, .. } => Some(step.as_str()),
                _ => None,
            })
            .collect();
        forks += usize::from(
            r.events
                .iter()
                .any(|e| matches!(e.kind, EventKind::RunForked { .. })),
        );
        reused += steps.len();
        // gates.md, "Push back": a push-back's `rerun` steps run again, on record, a
        // reused one too; from then on its starts are that round's.
        let mut rerun_at: BTreeMap<&str, i64> = BTreeMap::new();
        for ev in &r.events {
            match &ev.kind {
                EventKind::GatePushedBack { rerun, .. } => {
                    for s in rerun {
                        rerun_at.entry(s.as_str()).or_insert(ev.at.0);
                    }
                }
                EventKind::StepStateChanged {
                    step,
                    state: StepState::Running,
                    ..
                } if steps.contains(&step.as_str()) && !rerun_at.contains_key(step.as_str()) => {
                    v.broken.push(format!(
                        "fork {}: its reused step {step} starts (event {})",
                        r.id, ev.seq
                    ));
                }
                _ => {}
            }
        }
        for s in stamps
            .iter()
            .filter(|s| s.run == r.id && steps.contains(&s.step.as_str()))
        {
            if rerun_at
                .get(s.step.as_str())
                .is_none_or(|at| s.start_ms() < *at)
            {
                v.broken
                    .push(format!("fork {}: its reused step ran: {}", r.id, s.name()));
            }
        }
    }
    v.checked = format!("{forks} forks, {reused} steps reused");
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton::model::{Event, RunState, Timestamp};
    use std::collections::BTreeSet;

    fn ev(seq: u64, at: i64, kind: EventKind) -> Event {
        Event {
            seq,
            at: Timestamp(at),
            kind,
        }
    }

    fn running(step: &str, attempt: u32) -> EventKind {
        EventKind::StepStateChanged {
            step: step.into(),
            state: StepState::Running,
            attempt,
            reason: None,
        }
    }

    fn stamp(step: &str, attempt: u32, start_ms: i64) -> Stamp {
        Stamp {
            run: "r1".into(),
            step: step.into(),
            attempt,
            pid: 7,
            start: start_ms * 1_000_000,
            place: "local".into(),
            end: Some(((start_ms + 10) * 1_000_000, "exit".into())),
        }
    }

    fn run(events: Vec<Event>) -> RunFacts {
        RunFacts {
            id: "r1".into(),
            workflow: "deploy".into(),
            state: RunState::Succeeded,
            events,
            gated: BTreeSet::new(),
            group: None,
        }
    }

    fn held(at: i64) -> Event {
        ev(
            1,
            at,
            EventKind::StepHeld {
                step: "build".into(),
                actor: "root".into(),
                reason: "chaos-1".into(),
                until: None,
                frozen: false,
                exhausted: false,
                budget: false,
            },
        )
    }

    fn released(at: i64) -> Event {
        ev(
            2,
            at,
            EventKind::StepReleased {
                step: "build".into(),
                actor: "root".into(),
                reason: "chaos-2".into(),
            },
        )
    }

    #[test]
    fn a_start_while_held_is_reported_and_one_after_the_release_is_not() {
        let after = [run(vec![
            held(100),
            released(200),
            ev(3, 210, running("build", 1)),
        ])];
        let ok = nothing_runs_while_held(&after, &[stamp("build", 1, 215)]);
        assert!(ok.broken.is_empty(), "{ok:?}");
        let during = [run(vec![held(100), ev(3, 150, running("build", 1))])];
        let v = nothing_runs_while_held(&during, &[stamp("build", 1, 155)]);
        assert_eq!(v.broken.len(), 2, "the event and the stamp: {v:?}");
        // Running before the hold: frozen, not started by it.
        let frozen = [run(vec![ev(0, 90, running("build", 1)), held(100)])];
        let v = nothing_runs_while_held(&frozen, &[stamp("build", 1, 101)]);
        assert!(v.broken.is_empty(), "{v:?}");
    }

    #[test]
    fn a_reused_step_that_runs_in_its_fork_is_reported() {
        let reused = ev(
            1,
            10,
            EventKind::StepReused {
                step: "build".into(),
                from_run: "r0".into(),
                from_attempt: 1,
                state: StepState::Succeeded,
                outputs: Default::default(),
                artifacts: Vec::new(),
            },
        );
        let quiet = [run(vec![reused.clone()])];
        assert!(
            a_reused_step_never_starts(&quiet, &[stamp("ship", 1, 20)])
                .broken
                .is_empty()
        );
        let ran = [run(vec![reused.clone(), ev(2, 20, running("build", 1))])];
        let v = a_reused_step_never_starts(&ran, &[stamp("build", 1, 21)]);
        assert_eq!(v.broken.len(), 2, "{v:?}");
        // Revised by a push-back in the fork (seed 65, 3 min): on record, not a rerun
        // of what was reused.
        let pushed = ev(
            2,
            30,
            EventKind::GatePushedBack {
                step: "ship".into(),
                actor: "root".into(),
                reason: "chaos-3".into(),
                round: baton::model::GateRound { n: 2, of: 3 },
                rerun: vec!["build".into()],
                signature: None,
            },
        );
        let revised = [run(vec![reused, pushed, ev(3, 30, running("build", 1))])];
        let v = a_reused_step_never_starts(&revised, &[stamp("build", 1, 31)]);
        assert!(v.broken.is_empty(), "{v:?}");
    }
}
