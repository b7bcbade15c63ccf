//! Issue 55 point 5, the core's half: what a lost attempt wrote to `$BATON_OUTPUT` is
//! kept on a takeover, a mark keeps it and gives the rest, and a step reading an output
//! a marked step lacks is held for a person (naming it and the command), never failed.
use super::testkit::*;
use super::*;
use baton_model::EventKind;

const WF: &str = r#"
name = "marked"
[[step]]
id = "deploy"
idempotent = false
run = "deploy"
[[step]]
id = "use"
needs = ["deploy"]
env = { V = "${{ steps.deploy.outputs.version }}", U = "${{ steps.deploy.outputs.url }}" }
run = "use"
"#;

fn mark(outputs: &[(&str, &str)], state: StepState) -> Command {
    Command::Mark {
        step: "deploy".into(),
        state,
        operator: "olivia".into(),
        reason: "it deployed".into(),
        outputs: outputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        artifacts: Vec::new(),
    }
}

#[test]
fn a_crashed_attempts_outputs_are_kept_and_a_missing_one_holds_its_reader() {
    let p = Arc::new(baton_workflow::load_str(WF, std::path::Path::new("m.toml")).unwrap());
    let mut sim = Sim::new(p, cfg());
    sim.input(Input::ProcessStarted {
        step: 0,
        attempt: 1,
        pgid: 77,
        output: Some("/dev/shm/baton-r-1/a/output".into()),
    });
    // The engine is gone; the next one reads the file the record names, then resumes.
    let now = Timestamp(T0 + 10);
    assert_eq!(
        sim.core.left_outputs(),
        vec![(0, 1, "/dev/shm/baton-r-1/a/output".to_string())]
    );
    let fx = sim
        .core
        .keep_outputs(0, 1, vec![("version".into(), "v1".into())], now);
    assert!(matches!(
        &persisted(&fx)[..],
        [EventKind::StepOutputsKept { outputs, .. }] if outputs["version"] == "v1"
    ));
    sim.core.resume_before("olivia", None, now);
    assert_eq!(sim.state("deploy"), StepState::Interrupted);

    // Outputs go with `succeeded` only, under names `$BATON_OUTPUT` takes.
    let why = refused(&sim.cmd(mark(&[("url", "x")], StepState::Failed)));
    assert!(why.contains("with `--state succeeded` only"), "{why}");
    let why = refused(&sim.cmd(mark(&[("no good", "x")], StepState::Succeeded)));
    assert!(why.contains("is not a name $BATON_OUTPUT takes"), "{why}");

    assert!(sim.cmd(mark(&[], StepState::Succeeded)).is_accepted());
    assert_eq!(sim.state("use"), StepState::Held, "held, not failed");
    assert!(
        sim.events_named("error_recorded").iter().all(|e| !matches!(
            &e.kind,
            EventKind::ErrorRecorded { error } if error.kind == baton_model::ErrorKind::TemplateError
        )),
        "no template error"
    );
    let held = sim.events_named("step_held");
    let EventKind::StepHeld { reason, actor, .. } = &held[0].kind else {
        panic!()
    };
    assert_eq!(actor, "engine");
    assert!(
        reason.contains("`steps.deploy.outputs.url` is missing"),
        "{reason}"
    );
    assert!(
        reason.contains("--state succeeded --output url=… --reason …"),
        "{reason}"
    );

    // Marked again with the output: the reader is released and starts with both.
    let out = sim.cmd(mark(&[("url", "https://app")], StepState::Succeeded));
    assert!(out.is_accepted(), "{out:?}");
    let spec = spawn_of(&sim.last, "use").expect("use starts");
    let env = |k: &str| {
        spec.env
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(env("V"), Some("v1"), "kept from the crashed attempt");
    assert_eq!(env("U"), Some("https://app"), "given with the mark");

    // Replay keeps both.
    let events = sim.core.events().to_vec();
    let p = Arc::clone(sim.core.plan());
    let core = Core::replay(p, cfg(), &events).unwrap();
    assert_eq!(core.steps[0].outputs["version"], "v1");
    assert_eq!(core.steps[0].outputs["url"], "https://app");
}

/// A gate whose proposal a marked step lacks waits for a person too, not failed.
#[test]
fn a_gate_proposing_an_output_a_marked_step_lacks_is_held() {
    let wf = r#"
name = "marked-gate"
[[step]]
id = "deploy"
idempotent = false
run = "deploy"
[[step]]
id = "apply"
needs = ["deploy"]
run = "apply"
[step.gate.inputs]
sql = { default = "${{ steps.deploy.outputs.sql }}" }
"#;
    let p = Arc::new(baton_workflow::load_str(wf, std::path::Path::new("g.toml")).unwrap());
    let mut sim = Sim::new(p, cfg());
    sim.input(Input::ProcessStarted {
        step: 0,
        attempt: 1,
        pgid: 77,
        output: None,
    });
    sim.core.resume_before("olivia", None, Timestamp(T0 + 10));
    assert!(sim.cmd(mark(&[], StepState::Succeeded)).is_accepted());
    assert_eq!(sim.state("apply"), StepState::Held, "held, not failed");
    assert!(
        sim.cmd(mark(&[("sql", "SELECT 1")], StepState::Succeeded))
            .is_accepted()
    );
    assert_eq!(sim.state("apply"), StepState::WaitingApproval);
}

/// A `for_each` over an output a marked step lacks waits for a person, not failed.
#[test]
fn a_for_each_over_an_output_a_marked_step_lacks_is_held() {
    let wf = r#"
name = "marked-each"
[[step]]
id = "deploy"
idempotent = false
run = "deploy"
[[step]]
id = "each"
needs = ["deploy"]
for_each = "${{ steps.deploy.outputs.hosts }}"
run = "each"
"#;
    let p = Arc::new(baton_workflow::load_str(wf, std::path::Path::new("e.toml")).unwrap());
    let mut sim = Sim::new(p, cfg());
    sim.input(Input::ProcessStarted {
        step: 0,
        attempt: 1,
        pgid: 77,
        output: None,
    });
    sim.core.resume_before("olivia", None, Timestamp(T0 + 10));
    assert!(sim.cmd(mark(&[], StepState::Succeeded)).is_accepted());
    assert_eq!(sim.state("each"), StepState::Held, "held, not failed");
    let out = sim.cmd(mark(&[("hosts", r#"["a","b"]"#)], StepState::Succeeded));
    assert!(out.is_accepted(), "{out:?}");
    assert_eq!(spawned(&sim.last).len(), 2, "{:?}", spawned(&sim.last));
}

/// A lost attempt's output holding a secret the core learned (the session reads the
/// step's `[secrets]` first) is withheld and refused on record as a finished attempt's.
#[test]
fn a_kept_output_holding_a_learned_secret_is_refused_as_on_a_finished_attempt() {
    let p = Arc::new(baton_workflow::load_str(WF, std::path::Path::new("m.toml")).unwrap());
    let mut sim = Sim::new(p, cfg());
    sim.input(Input::ProcessStarted {
        step: 0,
        attempt: 1,
        pgid: 77,
        output: Some("/dev/shm/baton-r-1/a/output".into()),
    });
    sim.core.learn_secrets(["s3cr3t-value".to_string()]);
    let raw = vec![
        ("seen".into(), "s3cr3t-value".into()),
        ("version".into(), "v1".into()),
    ];
    let fx = sim.core.keep_outputs(0, 1, raw, Timestamp(T0 + 10));
    let kinds = persisted(&fx);
    assert!(
        matches!(
            &kinds[..],
            [EventKind::StepOutputsKept { outputs, .. }, EventKind::ErrorRecorded { error }]
                if outputs.len() == 1 && outputs["version"] == "v1"
                    && error.message.contains("output `seen` contains a secret")
        ),
        "{kinds:?}"
    );
}
