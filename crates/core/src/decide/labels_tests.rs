//! A run's labels on a fake clock: given at the start, set by hand (a bad one refuses
//! the whole change), written by a step, read back by a replay, and changed on a run
//! no engine drives without anything else moving.
use crate::testkit::*;
use crate::*;
use baton_model::labels::Labels;
use baton_model::{EventKind, Refusal};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn label(set: &[(&str, &str)], removed: &[&str]) -> Command {
    Command::Label {
        operator: "bob".into(),
        set: labels(set),
        removed: removed.iter().map(|k| k.to_string()).collect(),
    }
}

/// The `run_labelled` events among `fx`: (set, removed, actor, step).
fn labelled(fx: &[Effect]) -> Vec<(Labels, Vec<String>, String, Option<String>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Persist(Event {
                kind:
                    EventKind::RunLabelled {
                        set,
                        removed,
                        actor,
                        step,
                    },
                ..
            }) => Some((set.clone(), removed.clone(), actor.clone(), step.clone())),
            _ => None,
        })
        .collect()
}

fn secret_cfg() -> RunConfig {
    RunConfig {
        secret_values: vec!["hunter2".into()],
        ..cfg()
    }
}

/// The start records its labels right after `run_started`, as its operator's; a value
/// holding a secret is left out (labels are shown everywhere).
#[test]
fn the_start_records_its_labels_after_run_started_without_a_secret() {
    let p = plan().step("a").build();
    let mut core = Core::new(p, secret_cfg());
    core.label_at_start(labels(&[("team", "infra"), ("tok", "x-hunter2")]));
    let fx = core.start(Timestamp(T0));
    let kinds: Vec<&str> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Persist(ev) => Some(ev.kind.name()),
            _ => None,
        })
        .take(2)
        .collect();
    assert_eq!(kinds, ["run_started", "run_labelled"]);
    let got = labelled(&fx);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, labels(&[("team", "infra")]));
    assert_eq!((got[0].2.as_str(), got[0].3.as_deref()), ("olivia", None));
    assert_eq!(
        core.view(Timestamp(T0)).labels,
        labels(&[("team", "infra")])
    );
}

/// By hand: set and remove under the operator's name; one bad key, a removal of a bad
/// key, an empty change or one past the bound refuses the whole change.
#[test]
fn a_change_by_hand_is_recorded_whole_or_refused_whole() {
    let mut sim = Sim::new(plan().step("a").build(), cfg());
    assert!(
        sim.cmd(label(&[("team", "infra"), ("ticket", "OPS-1")], &[]))
            .is_accepted()
    );
    assert!(
        sim.cmd(label(&[("env", "prod")], &["ticket"]))
            .is_accepted()
    );
    let got = labelled(&sim.last);
    assert_eq!(
        got,
        vec![(
            labels(&[("env", "prod")]),
            vec!["ticket".to_string()],
            "bob".to_string(),
            None
        )]
    );
    let now = labels(&[("env", "prod"), ("team", "infra")]);
    assert_eq!(sim.core.view(Timestamp(sim.now)).labels, now);
    for bad in [
        label(&[("ok", "1"), ("bad key", "2")], &[]),
        label(&[], &["@"]),
        label(&[], &[]),
    ] {
        let out = sim.cmd(bad);
        assert!(
            matches!(out.refusal(), Some(Refusal::BadLabels { .. })),
            "{out:?}"
        );
        assert!(labelled(&sim.last).is_empty());
    }
    let many: Vec<(String, String)> = (0..baton_model::labels::MAX_LABELS)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = sim.cmd(label(&many, &[]));
    let why = out.refusal().map(ToString::to_string).unwrap_or_default();
    assert!(why.contains("at most"), "{out:?}");
    assert_eq!(sim.core.view(Timestamp(sim.now)).labels, now, "unchanged");
}

/// A step's `$BATON_LABELS` (riding in its outputs under `+`): only what changes is
/// recorded, as the engine's, naming the step; its outputs do not keep them.
#[test]
fn a_step_s_labels_are_recorded_as_the_engine_s_naming_the_step() {
    let mut sim = Sim::new(plan().step("a").step("b").build(), cfg());
    sim.cmd(label(&[("team", "infra")], &[]));
    let fx = sim.finish(
        "a",
        StepOutcome::Exited { exit_code: 0 },
        vec![("out", "1"), ("+team", "infra"), ("+ticket", "OPS-137")],
    );
    let got = labelled(&fx);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, labels(&[("ticket", "OPS-137")]));
    assert_eq!(got[0].2, baton_model::history::ENGINE);
    assert_eq!(got[0].3.as_deref(), Some("a"));
    let v = sim.core.view(Timestamp(sim.now));
    let a = v.steps.iter().find(|s| s.id == "a").unwrap();
    assert!(
        a.outputs.keys().all(|k| !k.starts_with('+')),
        "{:?}",
        a.outputs
    );
}

/// A replay of the record reads the same labels back.
#[test]
fn a_replay_reads_the_labels_back() {
    let mut sim = Sim::new(plan().step("a").build(), cfg());
    sim.cmd(label(&[("team", "infra"), ("x", "1")], &[]));
    sim.cmd(label(&[], &["x"]));
    sim.exit("a", 0);
    let mut back = Core::new(plan().step("a").build(), cfg());
    for ev in sim.core.events.history() {
        back.replay_one(std::borrow::Cow::Borrowed(ev)).unwrap();
    }
    let back = back.replayed().unwrap();
    assert_eq!(
        back.view(Timestamp(sim.now)).labels,
        labels(&[("team", "infra")])
    );
}

/// On a run that ended: the label change alone is recorded (numbered after the run's
/// last event), the run stays as it ended; a bad one records nothing.
#[test]
fn a_run_no_engine_drives_is_labelled_without_anything_else_moving() {
    let mut sim = Sim::new(plan().step("a").build(), cfg());
    sim.exit("a", 0);
    assert!(sim.core.is_finished());
    let before = sim.core.events.len() as u64;
    let (events, message) = sim
        .core
        .label_undriven(&label(&[("team", "infra")], &[]), Timestamp(T0 + 5))
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].seq, before + 1);
    assert_eq!(events[0].kind.name(), "run_labelled");
    assert_eq!(message, "labels now: team=infra");
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    let e = sim
        .core
        .label_undriven(&label(&[("bad key", "1")], &[]), Timestamp(T0 + 6))
        .unwrap_err();
    assert!(matches!(e, Refusal::BadLabels { .. }), "{e}");
    assert_eq!(sim.core.events.len() as u64, before + 1);
    let other = Command::Cancel {
        operator: "bob".into(),
        reason: None,
    };
    assert!(sim.core.label_undriven(&other, Timestamp(T0 + 7)).is_err());
}
