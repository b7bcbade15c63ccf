//! Tampering with who decides and how a gate is passed (issue 11): spoofed names, one
//! person voting twice, empty names, `mark` around a gate, `--auto-approve` on gates
//! that say who decides.
use super::testkit::*;
use super::*;
use crate::model::AuditAction;

fn two_of(approvers: &[&str], self_ok: bool) -> crate::workflow::Gate {
    let mut g = gate();
    g.approvers = approvers.iter().map(|a| a.to_string()).collect();
    g.quorum = 2;
    g.allow_self_approval = self_ok;
    g
}

#[test]
fn the_starter_under_another_case_or_padding_is_still_the_starter() {
    let g = two_of(&["olivia", "alice", "bob"], false);
    let mut sim = Sim::new(plan().step("ship").gate(g).build(), cfg());
    for spoof in ["OLIVIA", " olivia ", "Olivia\t"] {
        assert!(refused(&sim.approve("ship", spoof)).contains("self-approval"));
    }
    assert!(sim.events_named("approval_given").is_empty());
}

#[test]
fn one_person_casts_one_vote_whatever_the_case() {
    let g = two_of(&["alice", "bob"], true);
    let mut sim = Sim::new(plan().step("ship").gate(g).build(), cfg());
    assert!(sim.approve("ship", "alice").is_accepted());
    for again in ["ALICE", " Alice "] {
        assert!(refused(&sim.approve("ship", again)).contains("already approved"));
    }
    assert_eq!(sim.state("ship"), StepState::WaitingApproval, "quorum 2");
    assert!(
        sim.approve("ship", "Bob").is_accepted(),
        "approvers match by case too"
    );
    assert_eq!(sim.state("ship"), StepState::Running);
}

#[test]
fn an_empty_name_decides_nothing() {
    let mut sim = Sim::new(plan().step("ship").gate(gate()).build(), cfg());
    for nobody in ["", "  "] {
        assert!(refused(&sim.approve("ship", nobody)).contains("empty name"));
        let o = sim.cmd(Command::Reject {
            step: "ship".into(),
            operator: nobody.into(),
            reason: "no".into(),
            signature: None,
        });
        assert!(refused(&o).contains("empty name"));
        let o = sim.cmd(Command::Cancel {
            operator: nobody.into(),
            reason: None,
        });
        assert!(refused(&o).contains("empty name"));
    }
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
}

#[test]
fn mark_cannot_pass_a_gate_that_was_not_approved() {
    let p = plan()
        .step("build")
        .step_needs("ship", &["build"])
        .gate(two_of(&["alice", "bob"], false))
        .step_needs("after", &["ship"])
        .build();
    let mark = |state| Command::Mark {
        step: "ship".into(),
        state,
        operator: "mallory".into(),
        reason: "by hand".into(),
    };
    let mut sim = Sim::new(p, cfg());
    // Not open yet: marking it succeeded would skip the gate altogether.
    assert!(refused(&sim.cmd(mark(StepState::Succeeded))).contains("not approved"));
    sim.exit("build", 0);
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    assert!(refused(&sim.cmd(mark(StepState::Succeeded))).contains("waiting for approval"));
    assert!(refused(&sim.cmd(mark(StepState::Failed))).contains("waiting for approval"));
    let o = sim.cmd(Command::Reject {
        step: "ship".into(),
        operator: "alice".into(),
        reason: "no".into(),
        signature: None,
    });
    assert!(o.is_accepted());
    assert!(refused(&sim.cmd(mark(StepState::Succeeded))).contains("not approved"));
    assert_eq!(sim.state("after"), StepState::Skipped);
}

#[test]
fn a_finished_approved_step_can_still_be_marked() {
    let mut sim = Sim::new(plan().step("ship").gate(gate()).build(), cfg());
    assert!(sim.approve("ship", "alice").is_accepted());
    sim.exit("ship", 1);
    assert_eq!(sim.state("ship"), StepState::Failed);
    let o = sim.cmd(Command::Mark {
        step: "ship".into(),
        state: StepState::Succeeded,
        operator: "alice".into(),
        reason: "ran it by hand".into(),
    });
    assert!(o.is_accepted());
    assert_eq!(sim.state("ship"), StepState::Succeeded);
}

#[test]
fn auto_approve_leaves_gates_that_say_who_decides() {
    let mut no_self = gate();
    no_self.allow_self_approval = false;
    let mut named = gate();
    named.approvers = vec!["alice".into()];
    let p = plan()
        .step("open")
        .gate(gate())
        .step("no_self")
        .gate(no_self)
        .step("named")
        .gate(named)
        .build();
    assert_eq!(p.gates_kept_from_auto_approve(), ["no_self", "named"]);
    let mut c = cfg();
    c.auto_approve = true;
    let sim = Sim::new(p, c);
    assert_eq!(spawned(&sim.last), ["open"]);
    assert_eq!(sim.state("no_self"), StepState::WaitingApproval);
    assert_eq!(sim.state("named"), StepState::WaitingApproval);
    let approved: Vec<_> = sim
        .core
        .view(Timestamp(T0))
        .audit
        .into_iter()
        .filter(|a| a.action == AuditAction::Approved)
        .map(|a| a.actor)
        .collect();
    assert_eq!(approved, ["olivia"], "the account that passed the flag");
}

#[test]
fn auto_approve_turned_on_by_a_resume_is_the_resumers() {
    let p = plan()
        .step("build")
        .step_needs("ship", &["build"])
        .gate(gate())
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.input(Input::Shutdown {
        reason: "SIGTERM".into(),
    });
    let mut core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    core.enable_auto_approve();
    let mut fx = core.resume("rita", Timestamp(T0 + 10));
    // `build` was interrupted and runs again; when it succeeds the gate is auto-approved.
    assert_eq!(spawned(&fx), ["build"]);
    fx = core.handle(
        Input::StepExited {
            step: 0,
            attempt: 2,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 1,
            outputs: vec![],
            usage: Usage::default(),
            stderr_tail: String::new(),
        },
        Timestamp(T0 + 20),
    );
    assert_eq!(spawned(&fx), ["ship"]);
    let approved: Vec<_> = core
        .view(Timestamp(T0 + 20))
        .audit
        .into_iter()
        .filter(|a| a.action == AuditAction::Approved)
        .map(|a| a.actor)
        .collect();
    assert_eq!(approved, ["rita"], "not the starter `olivia`");
}
