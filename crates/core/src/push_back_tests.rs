//! Pushing a gate back (issue 44 point 3), on a fake clock: the revised steps and the
//! steps between them and the gate run again with the feedback and the round, the
//! gate opens again, and `rounds` caps it.
use super::testkit::*;
use super::*;
use baton_model::{AuditAction, EventKind, GateRound};

/// draft → polish → ship (gated, revises draft); `side` also needs draft.
fn revising(rounds: u32) -> Arc<Plan> {
    let mut g = gate();
    g.revise = vec![0];
    g.rounds = rounds;
    g.approvers = vec!["alice".into()];
    plan()
        .step("draft")
        .step_needs("polish", &["draft"])
        .step_needs("ship", &["polish"])
        .gate(g)
        .step_needs("side", &["draft"])
        .build()
}

fn push_back(sim: &mut Sim, who: &str, reason: &str) -> CommandOutcome {
    sim.cmd(Command::PushBack {
        step: "ship".into(),
        operator: who.into(),
        reason: reason.into(),
        signature: None,
    })
}

/// Round 1 done: draft, polish and side succeeded, ship's gate open.
fn at_the_gate(rounds: u32) -> Sim {
    let mut sim = Sim::new(revising(rounds), cfg());
    sim.finish(
        "draft",
        StepOutcome::Exited { exit_code: 0 },
        vec![("text", "v1")],
    );
    sim.exit("side", 0);
    sim.finish(
        "polish",
        StepOutcome::Exited { exit_code: 0 },
        vec![("text", "V1")],
    );
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    sim
}

#[test]
fn a_push_back_reruns_the_revised_steps_with_feedback_and_reopens_the_gate() {
    let mut sim = at_the_gate(3);
    let first = sim.events_named("gate_opened");
    let EventKind::GateOpened { round, .. } = &first[0].kind else {
        panic!()
    };
    assert_eq!(*round, Some(GateRound { n: 1, of: 3 }));
    let o = push_back(&mut sim, "alice", "shorter, please");
    assert!(o.is_accepted(), "{o:?}");
    assert_eq!(sim.state("ship"), StepState::Pending);
    assert_eq!(sim.state("polish"), StepState::Pending);
    assert_eq!(
        sim.state("side"),
        StepState::Succeeded,
        "not between draft and the gate"
    );
    // draft runs again, attempt 2, with the round and the reason in its environment.
    let spec = spawn_of(&sim.last, "draft").expect("draft runs again");
    assert_eq!(spec.attempt, 2);
    let env: BTreeMap<_, _> = spec.env.iter().cloned().collect();
    assert_eq!(env.get("BATON_ROUND").map(String::as_str), Some("2"));
    assert_eq!(
        env.get("BATON_FEEDBACK").map(String::as_str),
        Some("shorter, please")
    );
    sim.finish(
        "draft",
        StepOutcome::Exited { exit_code: 0 },
        vec![("text", "v2")],
    );
    let spec = spawn_of(&sim.last, "polish").expect("polish runs again");
    assert!(spec.env.iter().any(|(k, v)| k == "BATON_ROUND" && v == "2"));
    sim.finish(
        "polish",
        StepOutcome::Exited { exit_code: 0 },
        vec![("text", "V2")],
    );
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    let opened = sim.events_named("gate_opened");
    assert_eq!(opened.len(), 2);
    let EventKind::GateOpened { round, .. } = &opened[1].kind else {
        panic!()
    };
    assert_eq!(*round, Some(GateRound { n: 2, of: 3 }));
    // The view: round 2 of 3, the diff against round 1, push-back still allowed.
    let v = sim.core.view(Timestamp(sim.now));
    let g = &v.gates[0];
    assert_eq!(g.round, Some(GateRound { n: 2, of: 3 }));
    assert_eq!(g.revise, ["draft", "polish"]);
    assert!(
        g.revision_diff.contains("-text=v1") && g.revision_diff.contains("+text=v2"),
        "{}",
        g.revision_diff
    );
    assert!(g.revision_diff.contains("-text=V1") && g.revision_diff.contains("+text=V2"));
    assert!(g.actions.push_back);
    assert!(
        v.audit
            .iter()
            .any(|a| a.action == AuditAction::PushedBack && a.actor == "alice")
    );
    // A replay folds the same round and feedback.
    let again = Core::replay(sim.core.plan.clone(), cfg(), sim.core.events()).expect("replay");
    let d = sim.idx("draft");
    assert_eq!(again.feedback_of(d), sim.core.feedback_of(d));
    assert_eq!(again.gate_round(sim.idx("ship")), 2);
    // Approved: ship runs once.
    assert!(sim.approve("ship", "alice").is_accepted());
    assert_eq!(spawned(&sim.last), ["ship"]);
}

#[test]
fn the_last_round_only_approves_or_rejects() {
    let mut sim = at_the_gate(2);
    assert!(push_back(&mut sim, "alice", "again").is_accepted());
    sim.exit("draft", 0);
    sim.exit("polish", 0);
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    let o = push_back(&mut sim, "alice", "once more");
    assert!(refused(&o).contains("last round (2 of 2)"), "{o:?}");
    assert!(matches!(&o, CommandOutcome::Refused(r) if r.fix_the_command()));
    assert!(!sim.core.view(Timestamp(sim.now)).gates[0].actions.push_back);
    assert!(sim.approve("ship", "alice").is_accepted());
}

#[test]
fn push_back_is_checked_as_a_reject_is() {
    let mut sim = at_the_gate(3);
    assert!(refused(&push_back(&mut sim, "mallory", "no")).contains("not an approver"));
    assert!(refused(&push_back(&mut sim, "alice", "  ")).contains("reason is required"));
    let mut plain = Sim::new(plan().step("ship").gate(gate()).build(), cfg());
    let o = plain.cmd(Command::PushBack {
        step: "ship".into(),
        operator: "alice".into(),
        reason: "why".into(),
        signature: None,
    });
    assert!(refused(&o).contains("names no steps to revise"), "{o:?}");
}

#[test]
fn a_revised_step_that_fails_fails_the_branch() {
    let mut sim = at_the_gate(3);
    assert!(push_back(&mut sim, "alice", "again").is_accepted());
    sim.exit("draft", 1);
    assert_eq!(sim.state("draft"), StepState::Failed);
    assert_eq!(sim.state("ship"), StepState::UpstreamFailed);
}
