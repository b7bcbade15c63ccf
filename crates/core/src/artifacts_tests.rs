//! Issue 60: a step with `artifacts` succeeds only once its files are kept (on record
//! as `artifacts_stored`); a file that could not be kept fails it with a record that
//! names it; a resume after the engine died while copying asks for the copy again and
//! never runs the step again; a reader is handed the kept file at the path its
//! template names.
use super::testkit::*;
use super::*;
use baton_model::{ArtifactRecord, ErrorKind, EventKind};
use baton_workflow::{ArtifactUse, Artifacts, Template, TemplateRef, TemplateSegment};

fn model() -> ArtifactRecord {
    ArtifactRecord {
        name: "model".into(),
        path: "out/m.ckpt".into(),
        sha256: "ab".repeat(32),
        size: 7,
    }
}

fn with_artifacts() -> Arc<Plan> {
    let read = Template {
        segments: vec![TemplateSegment::Ref(TemplateRef::StepArtifact {
            step: 0,
            step_id: "train".into(),
            key: "model".into(),
        })],
    };
    plan()
        .step("train")
        .with(|s| {
            s.artifacts = Some(Box::new(Artifacts {
                produces: [("model".to_string(), "out/*.ckpt".to_string())].into(),
                uses: Vec::new(),
            }))
        })
        .step_needs("eval", &["train"])
        .env("MODEL", read)
        .with(|s| {
            s.artifacts = Some(Box::new(Artifacts {
                produces: Default::default(),
                uses: vec![ArtifactUse {
                    step: 0,
                    step_id: "train".into(),
                    name: "model".into(),
                }],
            }))
        })
        .build()
}

fn in_store() -> RunConfig {
    RunConfig {
        store: Some("/s/baton.db".into()),
        ..cfg()
    }
}

fn collects(fx: &[Effect]) -> Vec<(usize, u32)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Collect(c) => Some((c.step, c.attempt)),
            _ => None,
        })
        .collect()
}

fn collected(sim: &mut Sim, result: Result<Vec<ArtifactRecord>, String>) -> Vec<Effect> {
    sim.input(Input::ArtifactsCollected {
        step: 0,
        attempt: 1,
        result: result.map_err(ArtifactsNotKept),
    })
}

#[test]
fn a_step_succeeds_once_its_files_are_kept_and_its_reader_is_handed_them() {
    let mut sim = Sim::new(with_artifacts(), in_store());
    let fx = sim.exit("train", 0);
    assert_eq!(collects(&fx), [(0, 1)]);
    assert_eq!(sim.state("train"), StepState::Running, "not yet a success");
    assert!(spawned(&fx).is_empty(), "eval waits: {fx:?}");
    let fx = collected(&mut sim, Ok(vec![model()]));
    assert!(persisted(&fx).iter().any(|k| matches!(k,
        EventKind::ArtifactsStored { step, artifacts, .. } if step == "train" && artifacts == &[model()])));
    assert_eq!(sim.state("train"), StepState::Succeeded);
    let spec = spawn_of(&fx, "eval").expect("eval starts");
    let dest = format!("/s/artifacts/stage/r1/{}/m.ckpt", "ab".repeat(32));
    assert_eq!(spec.artifacts.len(), 1);
    assert_eq!(spec.artifacts[0].dest, std::path::PathBuf::from(&dest));
    assert_eq!(spec.artifacts[0].sha256, "ab".repeat(32));
    let env: BTreeMap<_, _> = spec.env.iter().cloned().collect();
    assert_eq!(env.get("MODEL"), Some(&dest));
    assert_eq!(env.get("BATON_ARTIFACT_TRAIN_MODEL"), Some(&dest));
}

#[test]
fn a_file_that_could_not_be_kept_fails_the_step_naming_it() {
    let mut sim = Sim::new(with_artifacts(), in_store());
    sim.exit("train", 0);
    let why = "artifact `model`: `out/*.ckpt` matched no file in /w: the step made none";
    collected(&mut sim, Err(why.into()));
    assert_eq!(sim.state("train"), StepState::Failed);
    assert_eq!(sim.state("eval"), StepState::UpstreamFailed);
    let rec = &sim.open_errors("train")[0];
    assert_eq!(rec.kind, ErrorKind::OutputInvalid);
    assert_eq!(rec.message, why);
}

#[test]
fn resume_after_a_crash_while_copying_copies_again_never_runs_the_step() {
    let p = with_artifacts();
    let mut sim = Sim::new(p.clone(), in_store());
    sim.started("train");
    sim.exit("train", 0);
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, in_store(), &events).expect("replay");
    let fx = again.resume("olivia", Timestamp(T0 + 5_000));
    assert_eq!(collects(&fx), [(0, 1)]);
    assert!(spawned(&fx).is_empty(), "nothing runs again: {fx:?}");
    let fx = again.handle(
        Input::ArtifactsCollected {
            step: 0,
            attempt: 1,
            result: Ok(vec![model()]),
        },
        Timestamp(T0 + 6_000),
    );
    assert!(spawn_of(&fx, "eval").is_some());
    assert_eq!(
        again.view(Timestamp(T0 + 6_000)).steps[0].artifacts[0].record,
        model()
    );
}

/// A cancel while a step's files are kept waits for them (its process has ended: no
/// exit will come), then the run ends; the reader never starts.
#[test]
fn a_cancel_while_files_are_kept_ends_the_run_once_they_are() {
    let mut sim = Sim::new(with_artifacts(), in_store());
    sim.exit("train", 0);
    sim.cmd(Command::Cancel {
        operator: "vera".into(),
        reason: None,
    });
    assert!(!sim.core.is_finished());
    let fx = collected(&mut sim, Ok(vec![model()]));
    assert!(spawn_of(&fx, "eval").is_none(), "{fx:?}");
    assert_eq!(sim.state("train"), StepState::Succeeded);
    assert!(sim.core.is_finished(), "the run ended");
    assert_eq!(sim.core.run_state(), RunState::Cancelled);
}

/// While a step's files are kept, its readers that have not started are the places
/// they may be sent ahead to (issue 60 point 3), each with its directory; once the
/// reader started, or for a name it does not read, there are none.
#[test]
fn the_readers_still_to_start_are_known_while_files_are_kept() {
    let mut sim = Sim::new(with_artifacts(), in_store());
    sim.exit("train", 0);
    let readers = sim.core.readers_to_come(0, "model");
    assert_eq!(readers.len(), 1, "{readers:?}");
    assert_eq!(readers[0].0, 1, "eval");
    assert_eq!(readers[0].2, sim.core.plan().base_dir, "its directory");
    assert!(sim.core.readers_to_come(0, "other").is_empty());
    collected(&mut sim, Ok(vec![model()]));
    assert!(
        sim.core.readers_to_come(0, "model").is_empty(),
        "eval started"
    );
}
