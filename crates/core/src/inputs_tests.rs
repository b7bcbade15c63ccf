//! A gate's typed `inputs`: checked before anything is decided, one set per opening
//! (every vote of a quorum the same), bound into the approval's digest, read by the
//! gated step and later ones as `steps.ID.inputs.NAME`, and kept by replay.
use super::testkit::*;
use super::*;
use baton_model::EventKind;

const ROUTER: &str = r#"
name = "router"
[[step]]
id = "ship"
run = "true"
env = { MODEL = "${{ steps.ship.inputs.model }}", TAG = "${{ steps.ship.inputs.tag }}" }
[step.gate]
approvers = ["alice", "bob"]
quorum = 2
[step.gate.inputs]
model = { type = "enum", values = ["pro", "pro-1.5", "flash"], default = "pro" }
tag = { type = "string", required = true, pattern = '^v\d+$' }
dry = { type = "bool", default = false }
[[step]]
id = "report"
needs = ["ship"]
run = "true"
env = { USED = "${{ steps.ship.inputs.model }}/${{ steps.ship.inputs.dry }}" }
"#;

fn router() -> Arc<Plan> {
    Arc::new(baton_workflow::load_str(ROUTER, std::path::Path::new("router.toml")).unwrap())
}

fn approve(sim: &mut Sim, who: &str, inputs: &[(&str, &str)]) -> CommandOutcome {
    sim.cmd(Command::Approve {
        step: "ship".into(),
        operator: who.into(),
        reason: None,
        signature: None,
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

fn env_of<'a>(spec: &'a SpawnSpec, key: &str) -> Option<&'a str> {
    spec.env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_wrong_missing_or_unknown_input_is_refused_saying_what_would_be_right() {
    let mut sim = Sim::new(router(), cfg());
    let why = refused(&approve(&mut sim, "alice", &[]));
    assert!(
        why.contains("input `tag` is required: pass --input tag="),
        "{why}"
    );
    let why = refused(&approve(
        &mut sim,
        "alice",
        &[("tag", "v1"), ("model", "ultra")],
    ));
    assert!(
        why.contains("\"ultra\" is not one of \"pro\", \"pro-1.5\", \"flash\""),
        "{why}"
    );
    let why = refused(&approve(&mut sim, "alice", &[("tag", "1.0")]));
    assert!(why.contains("does not match the pattern ^v\\d+$"), "{why}");
    let why = refused(&approve(
        &mut sim,
        "alice",
        &[("tag", "v1"), ("modle", "pro")],
    ));
    assert!(
        why.contains("unknown input `modle`: did you mean `model`?"),
        "{why}"
    );
    assert!(sim.events_named("approval_given").is_empty());
    // The command line asks the same check.
    let checked = sim
        .core
        .approval_inputs("ship", &[("tag".into(), "v1".into())]);
    assert_eq!(
        checked.unwrap().unwrap(),
        BTreeMap::from([
            ("dry".to_string(), "false".to_string()),
            ("model".to_string(), "pro".to_string()),
            ("tag".to_string(), "v1".to_string()),
        ])
    );
    assert!(sim.core.approval_inputs("nope", &[]).is_none());
}

#[test]
fn the_inputs_are_in_the_vote_its_digest_and_every_later_steps_env() {
    let mut sim = Sim::new(router(), cfg());
    let opened = sim.events_named("gate_opened");
    let EventKind::GateOpened { digest: gate, .. } = &opened[0].kind else {
        panic!()
    };
    let gate = gate.clone();
    assert!(approve(&mut sim, "alice", &[("tag", "v7"), ("model", "flash")]).is_accepted());
    let vote = sim.events_named("approval_given")[0].kind.clone();
    let EventKind::ApprovalGiven { digest, inputs, .. } = vote else {
        panic!()
    };
    assert_eq!(inputs["model"], "flash");
    assert_eq!(inputs["dry"], "false", "defaults are filled in");
    assert_eq!(digest, baton_signing::approval_digest(&gate, &inputs));
    assert_ne!(digest, gate);

    // The second vote of the quorum must carry the same values.
    let why = refused(&approve(&mut sim, "bob", &[("tag", "v7")]));
    assert!(
        why.contains("`model` is \"pro\" where alice's approval gave \"flash\""),
        "{why}"
    );
    assert!(approve(&mut sim, "bob", &[("tag", "v7"), ("model", "flash")]).is_accepted());
    let ship = spawn_of(&sim.last, "ship").expect("ship starts once approved");
    assert_eq!(env_of(ship, "MODEL"), Some("flash"));
    assert_eq!(env_of(ship, "TAG"), Some("v7"));

    sim.exit("ship", 0);
    let report = spawn_of(&sim.last, "report").expect("report starts");
    assert_eq!(env_of(report, "USED"), Some("flash/false"));

    // Replay keeps them: they are in the events.
    let events = sim.core.events().to_vec();
    let core = Core::replay(router(), cfg(), &events).unwrap();
    let i = core.plan.step_index("ship").unwrap();
    assert_eq!(core.approval_input(i, "model").as_deref(), Some("flash"));
}

#[test]
fn an_engine_killed_after_the_approval_starts_the_step_with_its_inputs() {
    let mut sim = Sim::new(router(), cfg());
    for who in ["alice", "bob"] {
        assert!(approve(&mut sim, who, &[("tag", "v2")]).is_accepted());
    }
    // Recorded up to the approval (the step's start not yet): a new engine resumes.
    let events: Vec<Event> = sim
        .core
        .events()
        .iter()
        .take_while(|e| {
            !matches!(
                &e.kind,
                EventKind::StepStateChanged {
                    state: StepState::Running,
                    ..
                }
            )
        })
        .cloned()
        .collect();
    let mut core = Core::replay(router(), cfg(), &events).unwrap();
    let fx = core.resume("olivia", Timestamp(T0 + 50));
    let ship = spawn_of(&fx, "ship").expect("ship starts on resume, not asked again");
    assert_eq!(env_of(ship, "MODEL"), Some("pro"));
    assert_eq!(env_of(ship, "TAG"), Some("v2"));
    assert_eq!(
        core.events()
            .iter()
            .filter(|e| e.kind.name() == "gate_opened")
            .count(),
        1
    );
}

#[test]
fn a_rejection_needs_no_inputs() {
    let mut sim = Sim::new(router(), cfg());
    let out = sim.cmd(Command::Reject {
        step: "ship".into(),
        operator: "alice".into(),
        reason: "not today".into(),
        signature: None,
    });
    assert!(out.is_accepted());
    assert_eq!(sim.state("ship"), StepState::Rejected);
}

#[test]
fn auto_approve_takes_the_defaults_and_passes_no_gate_that_requires_an_input() {
    let src = ROUTER
        .replace("approvers = [\"alice\", \"bob\"]\nquorum = 2\n", "")
        .replace(", required = true", ", default = \"v0\"");
    let plan = Arc::new(baton_workflow::load_str(&src, std::path::Path::new("r.toml")).unwrap());
    let mut c = cfg();
    c.auto_approve = true;
    let sim = Sim::new(plan, c);
    let ship = spawn_of(&sim.last, "ship").expect("auto-approved");
    assert_eq!(env_of(ship, "MODEL"), Some("pro"));
    assert_eq!(env_of(ship, "TAG"), Some("v0"));

    let src = ROUTER.replace("approvers = [\"alice\", \"bob\"]\nquorum = 2\n", "");
    let plan = Arc::new(baton_workflow::load_str(&src, std::path::Path::new("r.toml")).unwrap());
    let mut c = cfg();
    c.auto_approve = true;
    let sim = Sim::new(plan, c);
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
}

/// Issue 42 point 4, the core's own line: a plan whose gate would approve itself on
/// timeout over a required input (one `validate` refuses, here made by hand) is
/// rejected on timeout, saying why, and nothing it guards runs.
#[test]
fn a_timeout_never_approves_a_required_input_nobody_gave() {
    let src = ROUTER.replace("quorum = 2\n", "quorum = 2\ntimeout = \"1m\"\n");
    let mut plan = baton_workflow::load_str(&src, std::path::Path::new("r.toml")).unwrap();
    let g = plan.steps[0].gate.as_mut().expect("gate");
    g.on_timeout = baton_workflow::OnTimeout::Approve;
    let mut sim = Sim::new(Arc::new(plan), cfg());
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    let fx = sim.tick_at(61_000);
    assert!(spawned(&fx).is_empty(), "{:?}", spawned(&fx));
    assert_eq!(sim.state("ship"), StepState::Rejected);
    assert!(sim.events_named("gate_approved").is_empty());
    let why = sim.open_errors("ship")[0].message.clone();
    assert!(
        why.contains("on_timeout = approve cannot give the gate's inputs") && why.contains("`tag`"),
        "{why}"
    );
    // With a vote given (its inputs stand), the timeout approves with them.
    let mut plan = baton_workflow::load_str(&src, std::path::Path::new("r.toml")).unwrap();
    plan.steps[0].gate.as_mut().expect("gate").on_timeout = baton_workflow::OnTimeout::Approve;
    let mut sim = Sim::new(Arc::new(plan), cfg());
    assert!(approve(&mut sim, "alice", &[("tag", "v3")]).is_accepted());
    let fx = sim.tick_at(61_000);
    let ship = spawn_of(&fx, "ship").expect("approved on timeout");
    assert_eq!(env_of(ship, "TAG"), Some("v3"));
}

/// Issue 42 point 7: a text over the bound (here a 20 MB input, a long reason) is
/// refused by the core itself, whichever way the command came, and only a cut copy
/// of it goes on record.
#[test]
fn a_text_over_the_bound_is_refused_on_record_and_never_kept_whole() {
    use baton_model::bounds::MAX_OPERATOR_TEXT;
    let mut sim = Sim::new(router(), cfg());
    let big = "v".repeat(20 << 20);
    let why = refused(&approve(&mut sim, "alice", &[("tag", &big)]));
    assert!(
        why.starts_with(
            "input `tag` is 20971520 bytes long; an approval's input holds at most 1048576 bytes"
        ),
        "{why}"
    );
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    assert!(sim.events_named("approval_given").is_empty());
    let kept: usize = sim
        .core
        .events()
        .iter()
        .map(|e| serde_json::to_string(&e.kind).expect("json").len())
        .sum();
    assert!(kept < 10_000, "{kept} bytes of events");
    let refusal = sim.events_named("command_refused");
    let text = serde_json::to_string(&refusal[0].kind).expect("json");
    assert!(text.contains("[cut: 20971520 bytes"), "{}", &text[..200]);
    // What the driver writes back to the `commands` row: cut too.
    let cmd = Command::Reject {
        step: "ship".into(),
        operator: "alice".into(),
        reason: "r".repeat(MAX_OPERATOR_TEXT + 1),
        signature: None,
    };
    let row = serde_json::to_string(&sim.core.mask_command(&cmd)).expect("json");
    assert!(row.len() < 1000, "{} bytes", row.len());
    let why = refused(&sim.cmd(cmd));
    assert!(
        why.starts_with("the reason is 65536 characters long"),
        "{why}"
    );
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    // At the bound it is taken.
    let at = "w".repeat(MAX_OPERATOR_TEXT);
    let out = sim.cmd(Command::Reject {
        step: "ship".into(),
        operator: "alice".into(),
        reason: at,
        signature: None,
    });
    assert!(out.is_accepted(), "{out:?}");
}

/// Issue 55 point 6: an input's value holds what an output holds (1 MiB): one of
/// 200 KB is taken, reaches the step whole and is kept whole on record.
#[test]
fn an_input_as_big_as_an_output_is_taken_and_kept_whole() {
    use baton_model::bounds::MAX_INPUT_VALUE;
    let mut sim = Sim::new(router(), cfg());
    let big = format!("v{}", "7".repeat(200_000));
    for who in ["alice", "bob"] {
        assert!(approve(&mut sim, who, &[("tag", &big)]).is_accepted());
    }
    let ship = spawn_of(&sim.last, "ship").expect("approved");
    assert_eq!(env_of(ship, "TAG"), Some(big.as_str()));
    let given = sim.events_named("approval_given");
    let text = serde_json::to_string(&given[0].kind).expect("json");
    assert!(text.contains(&big), "kept whole on record");
    let mut sim = Sim::new(router(), cfg());
    let over = format!("v{}", "7".repeat(MAX_INPUT_VALUE));
    let why = refused(&approve(&mut sim, "alice", &[("tag", &over)]));
    assert!(why.contains("at most 1048576 bytes (1 MiB"), "{why}");
}
