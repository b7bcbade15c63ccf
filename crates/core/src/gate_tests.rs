//! Gates, commands, the budget and sagas, one test per rule, on a fake clock.
use super::testkit::*;
use super::*;
use baton_model::{AuditAction, ErrorKind, EventKind, Severity};
use baton_workflow::{Action, OnTimeout, Trigger};

// ---- B: gates, commands, budget, saga --------------------------------------------

fn gated(g: baton_workflow::Gate) -> Arc<Plan> {
    plan().step("ship").gate(g).build()
}

#[test]
fn gate_opens_with_digest_and_auto_approve() {
    let mut sim = Sim::new(gated(gate()), cfg());
    let opened = sim.events_named("gate_opened");
    let EventKind::GateOpened { digest, prompt, .. } = &opened[0].kind else {
        panic!()
    };
    assert_eq!(digest.len(), 64);
    assert_eq!(prompt, "ship it?");
    let mut c = cfg();
    c.auto_approve = true;
    let sim2 = Sim::new(gated(gate()), c);
    assert_eq!(spawned(&sim2.last), ["ship"]);
    let v = sim2.core.view(Timestamp(T0));
    // Recorded as the account that passed the flag (the run's starter), not `auto`.
    assert!(
        v.audit
            .iter()
            .any(|a| a.action == AuditAction::Approved && a.actor == "olivia")
    );
    drop(sim.approve("ship", "x"));
}

#[test]
fn approve_refusals_are_recorded_with_reasons() {
    let mut g = gate();
    g.approvers = vec!["alice".into(), "bob".into(), "olivia".into()];
    g.quorum = 2;
    g.allow_self_approval = false;
    let mut sim = Sim::new(plan().step("ship").gate(g).step("plain").build(), cfg());
    assert!(refused(&sim.approve("nope", "alice")).contains("no step named"));
    assert!(refused(&sim.approve("plain", "alice")).contains("has no gate"));
    assert!(refused(&sim.approve("ship", "mallory")).contains("not an approver"));
    assert!(refused(&sim.approve("ship", "olivia")).contains("self-approval"));
    assert!(sim.approve("ship", "alice").is_accepted());
    assert_eq!(sim.state("ship"), StepState::WaitingApproval, "quorum 2");
    assert!(refused(&sim.approve("ship", "alice")).contains("already approved"));
    assert!(sim.approve("ship", "bob").is_accepted());
    assert_eq!(sim.state("ship"), StepState::Running);
    assert!(refused(&sim.approve("ship", "olivia")).contains("already decided"));
    assert_eq!(sim.events_named("command_refused").len(), 6);
    let audit = sim.core.view(Timestamp(sim.now)).audit;
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == AuditAction::CommandRefused)
            .count(),
        6
    );
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == AuditAction::ApprovalVote)
            .count(),
        2
    );
}

#[test]
fn reject_needs_reason_and_dependants_follow_triggers() {
    let p = plan()
        .step("ship")
        .gate(gate())
        .step_needs("after", &["ship"])
        .step_needs("page", &["ship"])
        .when(Trigger::OneFailed)
        .build();
    let mut sim = Sim::new(p, cfg());
    let o = sim.cmd(Command::Reject {
        step: "ship".into(),
        operator: "bob".into(),
        reason: "  ".into(),
        signature: None,
    });
    assert!(refused(&o).contains("reason is required"));
    let o = sim.cmd(Command::Reject {
        step: "ship".into(),
        operator: "bob".into(),
        reason: "not today".into(),
        signature: None,
    });
    assert!(o.is_accepted());
    assert_eq!(sim.state("ship"), StepState::Rejected);
    assert_eq!(sim.open_errors("ship")[0].kind, ErrorKind::GateRejected);
    assert_eq!(sim.state("after"), StepState::UpstreamFailed);
    assert_eq!(spawned(&sim.last), ["page"]);
}

#[test]
fn gate_timeout_policies_and_warning() {
    for (policy, expect) in [
        (OnTimeout::Approve, StepState::Running),
        (OnTimeout::Reject, StepState::Rejected),
        (OnTimeout::Fail, StepState::Failed),
    ] {
        let mut g = gate();
        g.timeout = Some(secs(100));
        g.on_timeout = policy;
        let mut sim = Sim::new(gated(g), cfg());
        assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 80_000)));
        sim.tick_at(80_000);
        assert_eq!(sim.events_named("gate_warning").len(), 1);
        assert!(sim.core.view(Timestamp(sim.now)).gates[0].warned);
        sim.tick_at(90_000);
        assert_eq!(sim.events_named("gate_warning").len(), 1, "warned once");
        sim.tick_at(100_000);
        assert_eq!(sim.state("ship"), expect, "{policy:?}");
        if expect != StepState::Running {
            assert_eq!(sim.open_errors("ship")[0].kind, ErrorKind::GateTimeout);
        }
        let audit = sim.core.view(Timestamp(sim.now)).audit;
        assert!(
            audit
                .iter()
                .any(|a| a.actor == "engine" && a.step.as_deref() == Some("ship"))
        );
    }
}

#[test]
fn digest_change_voids_approval_on_resume() {
    let p = plan().step("ship").gate(gate()).build();
    let mut c = cfg();
    c.max_parallel = Some(1);
    let mut sim = Sim::new(
        plan().step("first").step("ship").gate(gate()).build(),
        c.clone(),
    );
    assert!(sim.approve("ship", "bob").is_accepted());
    // ship is queued behind `first`; the engine dies; the workflow changes.
    assert_eq!(sim.state("ship"), StepState::Queued);
    drop(p);
    let changed = plan()
        .step("first")
        .step("ship")
        .gate(gate())
        .with(|s| {
            s.action = Action::Shell {
                run: "rm -rf /".into(),
            }
        })
        .build();
    let mut core = Core::replay(changed, c, sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(T0 + 10));
    // ship was queued first: about to start, its digest no longer matches.
    assert_eq!(spawned(&fx), ["first"]);
    let kinds = persisted(&fx);
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, EventKind::GateVoided { .. }))
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| matches!(k, EventKind::GateOpened { .. }))
            .count(),
        1
    );
    assert_eq!(core.steps[1].state, StepState::WaitingApproval);
}

#[test]
fn retry_rearms_skipped_downstream_and_reopens_failed_run() {
    let p = plan()
        .step("a")
        .step_needs("b", &["a"])
        .step_needs("c", &["b"])
        .step("d")
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("d", 0);
    sim.exit("a", 1);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(sim.core.is_finished());
    let o = sim.cmd(Command::Retry {
        step: "d".into(),
        operator: "bob".into(),
    });
    assert!(refused(&o).contains("only failed"));
    let o = sim.cmd(Command::Retry {
        step: "a".into(),
        operator: "bob".into(),
    });
    assert!(o.is_accepted());
    assert_eq!(sim.core.run_state(), RunState::Running);
    assert_eq!(spawn_of(&sim.last, "a").map(|s| s.attempt), Some(2));
    // The re-armed steps are no longer skipped: the records saying so are closed.
    let view = sim.core.view(Timestamp(sim.now));
    let open: Vec<_> = view
        .errors
        .iter()
        .filter(|e| e.open && e.step.as_deref() != Some("a"))
        .collect();
    assert!(open.is_empty(), "{open:?}");
    assert_eq!(sim.state("b"), StepState::Pending);
    assert_eq!(sim.state("c"), StepState::Pending);
    assert_eq!(sim.state("d"), StepState::Succeeded);
    sim.exit("a", 0);
    sim.exit("b", 0);
    sim.exit("c", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    assert_eq!(sim.events_named("run_finished").len(), 2);
    assert_eq!(sim.core.view(Timestamp(sim.now)).open_errors(), 0);
}

#[test]
fn mark_sets_outcome_with_reason() {
    let p = plan().step("a").step_needs("b", &["a"]).build();
    let mut sim = Sim::new(p, cfg());
    let mark = |state, reason: &str| Command::Mark {
        step: "a".into(),
        state,
        operator: "bob".into(),
        reason: reason.into(),
        outputs: Default::default(),
        artifacts: Vec::new(),
    };
    assert!(refused(&sim.cmd(mark(StepState::Succeeded, "done by hand"))).contains("running"));
    sim.exit("a", 3);
    assert!(refused(&sim.cmd(mark(StepState::Succeeded, ""))).contains("reason"));
    assert!(refused(&sim.cmd(mark(StepState::Skipped, "x"))).contains("succeeded or failed"));
    assert!(
        sim.cmd(mark(StepState::Succeeded, "fixed by hand"))
            .is_accepted()
    );
    assert_eq!(sim.state("a"), StepState::Succeeded);
    assert_eq!(spawned(&sim.last), ["b"]);
    assert_eq!(sim.events_named("step_marked").len(), 1);
    // The view says it was marked, by whom and why, and a replay reads the same.
    let now = Timestamp(sim.now);
    let marked = |core: &Core| {
        let v = core.view(now);
        let a = &v.steps[v.step_index("a").unwrap()];
        (a.exit_code, a.marked.as_ref().map(|m| m.line()))
    };
    let want = (
        Some(3),
        Some("marked succeeded by bob: fixed by hand".to_string()),
    );
    assert_eq!(marked(&sim.core), want);
    let again = Core::replay(sim.core.plan.clone(), cfg(), sim.core.events()).unwrap();
    assert_eq!(marked(&again), want);
    // Once it is in another state, the mark no longer describes it.
    sim.exit("b", 1);
    assert!(
        sim.cmd(mark(StepState::Failed, "wrong after all"))
            .is_accepted()
    );
    assert_eq!(
        marked(&sim.core).1.as_deref(),
        Some("marked failed by bob: wrong after all")
    );
    assert!(
        sim.cmd(Command::Retry {
            step: "a".into(),
            operator: "bob".into()
        })
        .is_accepted()
    );
    assert_eq!(marked(&sim.core).1, None);
}

#[test]
fn budget_gate_blocks_then_raise_continues() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                cost: None,
                calls: Some(1),
                tokens: None,
                ..Default::default()
            })
        })
        .step("a")
        .step_needs("b", &["a"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 0);
    assert_eq!(sim.state("b"), StepState::Queued);
    assert_eq!(sim.events_named("budget_exceeded").len(), 1);
    assert_eq!(sim.core.run_state(), RunState::Waiting);
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(
        (v.gates[0].step, v.gates[0].step_id.as_str()),
        (None, "budget")
    );
    let o = sim.cmd(Command::RaiseBudget {
        operator: "bob".into(),
        reason: "worth it".into(),
        cost: None,
        calls: Some(5),
        tokens: None,
    });
    assert!(o.is_accepted());
    assert_eq!(spawned(&sim.last), ["b"]);
    sim.exit("b", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

/// New-user review: with two ceilings exhausted, the run told of one; after raising it,
/// it stopped again on the other.
#[test]
fn every_exhausted_ceiling_is_told_at_once() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                cost: Some(0.5),
                calls: Some(1),
                tokens: None,
                ..Default::default()
            })
        })
        .step("a")
        .step_needs("b", &["a"])
        .build();
    let mut p = p;
    std::sync::Arc::make_mut(&mut p).steps[1].cost = 1.0;
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 0);
    let told: Vec<String> = sim
        .events_named("budget_exceeded")
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::BudgetExceeded { dimension, .. } => Some(dimension.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(told, ["calls", "cost"]);
    let o = sim.cmd(Command::RaiseBudget {
        operator: "bob".into(),
        reason: "both".into(),
        cost: Some(1.0),
        calls: Some(1),
        tokens: None,
    });
    assert!(o.is_accepted());
    assert_eq!(spawned(&sim.last), ["b"]);
}

#[test]
fn budget_cost_ceiling_and_timeout_at_budget_gate_fails_run() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                cost: Some(1.0),
                calls: None,
                tokens: None,
                ..Default::default()
            });
            p.timeout = Some(secs(100));
        })
        .step("a")
        .with(|s| s.cost = 0.6)
        .step_needs("b", &["a"])
        .with(|s| s.cost = 0.6)
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 0);
    assert!(sim.core.budget_gate.is_some());
    sim.tick_at(100_000);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(sim.core.is_finished());
    assert!(
        sim.core
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::BudgetExceeded)
    );
    assert!(sim.core.view(Timestamp(sim.now)).gates.is_empty());
}

#[test]
fn saga_compensates_in_reverse_completion_order() {
    let p = plan()
        .step("a")
        .with(|s| s.compensate = Some("undo a".into()))
        .step("b")
        .with(|s| s.compensate = Some("undo b".into()))
        .step("plain")
        .step_needs("c", &["a", "b", "plain"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("b", 0);
    sim.exit("a", 0);
    sim.exit("plain", 0);
    let fx = sim.exit("c", 1);
    let comp: Vec<&SpawnSpec> = fx
        .iter()
        .filter_map(|e| {
            if let Effect::Compensate(s) = e {
                Some(s)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(comp.len(), 1, "one at a time");
    assert_eq!(comp[0].step_id, "a", "reverse order of completion");
    assert_eq!(
        comp[0].action,
        SpawnAction::Shell {
            command: "undo a".into()
        }
    );
    assert_eq!(sim.state("a"), StepState::Compensating);
    assert!(!sim.core.is_finished());
    let fx = sim.input(Input::CompensationExited {
        step: 0,
        outcome: StepOutcome::Exited { exit_code: 1 },
        duration_ms: 3,
        stderr_tail: "nope".into(),
    });
    assert_eq!(sim.state("a"), StepState::CompensationFailed);
    let e = &sim.open_errors("a")[0];
    assert_eq!(
        (e.kind, e.severity),
        (ErrorKind::CompensationFailed, Severity::Critical)
    );
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Compensate(s) if s.step_id == "b")),
        "one failure does not stop the others"
    );
    sim.input(Input::CompensationExited {
        step: 1,
        outcome: StepOutcome::Exited { exit_code: 0 },
        duration_ms: 3,
        stderr_tail: String::new(),
    });
    assert_eq!(sim.state("b"), StepState::Compensated);
    assert!(sim.core.is_finished());
    let EventKind::RunFinished { summary, state, .. } = &sim.events_named("run_finished")[0].kind
    else {
        panic!()
    };
    assert_eq!(*state, RunState::Failed);
    assert!(summary.contains("undone: b"), "{summary}");
    assert!(summary.contains("compensation failed): a"), "{summary}");
    assert!(summary.contains("no compensate): plain"), "{summary}");
    let o = sim.cmd(Command::Retry {
        step: "c".into(),
        operator: "bob".into(),
    });
    assert!(refused(&o).contains("compensations already ran"));
}

/// The core decides each refusal as a typed `Refusal` with its stable code: one on
/// the run's state is recorded with its code; one on the command as given (no reason)
/// decides nothing about the run and is not recorded.
#[test]
fn refusals_carry_their_code_and_only_the_run_s_are_recorded() {
    let mut g = gate();
    g.approvers = vec!["alice".into()];
    let mut sim = Sim::new(gated(g), cfg());
    let o = sim.cmd(Command::Reject {
        step: "ship".into(),
        operator: "alice".into(),
        reason: " ".into(),
        signature: None,
    });
    let r = o.refusal().expect("refused");
    assert_eq!(r.code(), "reason_required");
    assert_eq!(r.to_string(), "a reason is required to reject");
    assert!(sim.events_named("command_refused").is_empty());
    let o = sim.approve("ship", "mallory");
    assert_eq!(o.refusal().map(|r| r.code()), Some("not_an_approver"));
    let refused = sim.events_named("command_refused");
    let EventKind::CommandRefused { code, reason, .. } = &refused[0].kind else {
        panic!()
    };
    assert_eq!(code.as_deref(), Some("not_an_approver"));
    assert_eq!(reason, &o.refusal().unwrap().to_string());
    let audit = sim.core.view(Timestamp(sim.now)).audit;
    let row = audit
        .iter()
        .find(|a| a.action == AuditAction::CommandRefused)
        .unwrap();
    assert!(
        row.details.starts_with("[not_an_approver]"),
        "{}",
        row.details
    );
}
