//! Issue 44 point 4: a gate's `auto` rules, decided when it opens over params, the
//! ancestors' outputs and the step's `with`; the first that holds decides, as actor
//! `policy` naming the rule; none holds → a person is asked; a signed gate is never
//! approved by a rule; a resume decides an open, unvoted gate as it would have.
use super::testkit::*;
use super::*;
use baton_model::EventKind;

const AGENT: &str = r#"
name = "agent"
[params.env]
default = "staging"
[tools.shell]
run = 'sh -c "$CMD"'
params = { CMD = { type = "string", required = true } }
[[step]]
id = "think"
run = "true"
[[step]]
id = "exec"
needs = ["think"]
uses = "shell"
with = { CMD = "${{ steps.think.outputs.cmd }}" }
[step.gate]
auto = [
  { if = "starts_with(with.CMD, 'rm ')", decide = "reject", reason = "never delete" },
  { if = "with.CMD == 'ls' && params.env == 'staging'", decide = "approve", reason = "read-only" },
  { if = "steps.think.outputs.risk > 5", decide = "reject" },
]
"#;

fn agent() -> Arc<Plan> {
    Arc::new(baton_workflow::load_str(AGENT, std::path::Path::new("agent.toml")).unwrap())
}

fn thought(cmd: &str, risk: &str) -> Sim {
    let mut c = cfg();
    c.params.insert("env".into(), "staging".into());
    let mut sim = Sim::new(agent(), c);
    sim.started("think");
    sim.finish(
        "think",
        StepOutcome::Exited { exit_code: 0 },
        vec![("cmd", cmd), ("risk", risk)],
    );
    sim
}

fn decisions(sim: &Sim) -> Vec<(String, String, String)> {
    sim.core
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ApprovalGiven { actor, reason, .. } => Some((
                "approve".into(),
                actor.clone(),
                reason.clone().unwrap_or_default(),
            )),
            EventKind::GateRejected { actor, reason, .. } => {
                Some(("reject".into(), actor.clone(), reason.clone()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_rule_that_holds_decides_as_policy_naming_the_rule() {
    let sim = thought("ls", "1");
    assert!(matches!(
        sim.state("exec"),
        StepState::Queued | StepState::Running
    ));
    let d = decisions(&sim);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].0.as_str(), d[0].1.as_str()), ("approve", "policy"));
    assert!(
        d[0].2.starts_with("rule 2: read-only; condition true: with.CMD == 'ls' && params.env == 'staging' (with.CMD = \"ls\""),
        "{}",
        d[0].2
    );
    // Approved with one vote by `policy`: on the chain as such.
    let approved = sim.events_named("gate_approved");
    let EventKind::GateApproved { actor, .. } = &approved[0].kind else {
        panic!()
    };
    assert_eq!(actor, "policy");
    assert_eq!(
        sim.core.view(Timestamp(T0)).policy_decisions(),
        vec![format!("exec approved by policy {}", d[0].2)]
    );

    // `rm -rf /` matches rule 1 first (and rule 3): rule 1 decides.
    let sim = thought("rm -rf /", "9");
    assert_eq!(sim.state("exec"), StepState::Rejected);
    let d = decisions(&sim);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].0.as_str(), d[0].1.as_str()), ("reject", "policy"));
    assert!(d[0].2.starts_with("rule 1: never delete; "), "{}", d[0].2);
    let errs = sim.open_errors("exec");
    assert!(
        errs[0].message.contains("rejected by policy: rule 1"),
        "{errs:?}"
    );
}

#[test]
fn when_no_rule_holds_a_person_is_asked_and_sees_the_rules() {
    let mut sim = thought("cat notes", "1");
    assert_eq!(sim.state("exec"), StepState::WaitingApproval);
    assert!(decisions(&sim).is_empty());
    let view = sim.core.view(Timestamp(T0));
    assert_eq!(
        view.gates[0].auto,
        vec![
            "rule 1: if starts_with(with.CMD, 'rm ') then reject (never delete)",
            "rule 2: if with.CMD == 'ls' && params.env == 'staging' then approve (read-only)",
            "rule 3: if steps.think.outputs.risk > 5 then reject",
        ]
    );
    assert!(sim.approve("exec", "alice").is_accepted());
    assert!(matches!(
        sim.state("exec"),
        StepState::Queued | StepState::Running
    ));
}

#[test]
fn a_signed_gate_is_never_approved_by_a_rule_but_may_be_rejected() {
    let mut plan = (*agent()).clone();
    let i = plan.step_index("exec").unwrap();
    let g = plan.steps[i].gate.as_mut().unwrap();
    g.signed = true;
    g.approvers = vec!["alice@example.com".into()];
    let plan = Arc::new(plan);
    for (cmd, want) in [
        ("ls", StepState::WaitingApproval),
        ("rm x", StepState::Rejected),
    ] {
        let mut sim = Sim::new(Arc::clone(&plan), cfg());
        sim.started("think");
        sim.finish(
            "think",
            StepOutcome::Exited { exit_code: 0 },
            vec![("cmd", cmd), ("risk", "0")],
        );
        assert_eq!(sim.state("exec"), want, "{cmd}");
    }
}

#[test]
fn a_rule_beats_auto_approve_and_a_resume_decides_an_unvoted_gate() {
    let mut c = cfg();
    c.auto_approve = true;
    c.params.insert("env".into(), "staging".into());
    let mut sim = Sim::new(agent(), c.clone());
    sim.started("think");
    sim.finish(
        "think",
        StepOutcome::Exited { exit_code: 0 },
        vec![("cmd", "rm -rf /"), ("risk", "0")],
    );
    assert_eq!(sim.state("exec"), StepState::Rejected);

    // An engine that died right after the gate opened (its rule's decision not yet
    // stored): the resume decides as the opening would have.
    let sim = thought("ls", "0");
    let events = sim.core.events();
    let opened = events
        .iter()
        .position(|e| e.kind.name() == "gate_opened")
        .unwrap();
    let mut c = cfg();
    c.params.insert("env".into(), "staging".into());
    let mut core = Core::replay(agent(), c, &events[..=opened]).unwrap();
    let i = core.plan.step_index("exec").unwrap();
    assert_eq!(core.steps[i].state, StepState::WaitingApproval);
    core.resume("olivia", Timestamp(T0 + 10));
    assert!(matches!(
        core.steps[i].state,
        StepState::Queued | StepState::Running
    ));
    let approved = core
        .events()
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::ApprovalGiven { actor, .. } if actor == "policy"))
        .count();
    assert_eq!(approved, 1);
}
