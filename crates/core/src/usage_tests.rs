//! Live usage and a ceiling that holds (issue 43 points 2 and 3) on a fake clock: a
//! running step's usage counts as it is read, its pace and the time left are in the
//! view, the step that reaches a ceiling is frozen and the budget gate opens, a raise
//! continues it, a cancel kills it, and a replay or a resume keeps it held.
use super::testkit::*;
use super::*;
use baton_model::{ErrorKind, EventKind};

fn tokens(limit: u64) -> Arc<Plan> {
    plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                cost: None,
                calls: None,
                tokens: Some(limit),
                ..Default::default()
            })
        })
        .step("agent")
        .step_needs("report", &["agent"])
        .build()
}

fn usage(sim: &mut Sim, id: &str, tokens: u64) -> Vec<Effect> {
    let step = sim.idx(id);
    let attempt = sim.attempt(id);
    sim.input(Input::Usage {
        step,
        attempt,
        usage: Usage {
            cost: 0.0,
            tokens,
            calls: 0,
        },
    })
}

fn raise(tokens: u64) -> Command {
    Command::RaiseBudget {
        operator: "alice".into(),
        reason: "one more batch".into(),
        cost: None,
        calls: None,
        tokens: Some(tokens),
    }
}

fn exit_with(sim: &mut Sim, id: &str, tokens: u64) -> Vec<Effect> {
    let step = sim.idx(id);
    let attempt = sim.attempt(id);
    sim.input(Input::StepExited(StepExit {
        step,
        attempt,
        outcome: StepOutcome::Exited { exit_code: 0 },
        duration_ms: 10,
        outputs: vec![],
        usage: Usage {
            cost: 0.0,
            tokens,
            calls: 0,
        },
        stderr_tail: String::new(),
    }))
}

/// Issue 43's example: `tokens = 1000`, the step writes 600: the view reads 600 at
/// once (not 0 until it ends), with its pace and the time left at that pace.
#[test]
fn a_running_steps_usage_counts_as_it_is_read_with_its_pace() {
    let mut sim = Sim::new(tokens(1000), cfg());
    sim.started("agent");
    sim.at(10_000);
    let fx = usage(&mut sim, "agent", 600);
    assert!(freezes(&fx).is_empty(), "under the ceiling");
    assert!(matches!(
        persisted(&fx)[..],
        [EventKind::StepUsage { attempt: 1, .. }]
    ));
    let v = sim.core.view(Timestamp(sim.now));
    let b = v.budget.expect("budget");
    assert_eq!(b.tokens, Some((600, 1000)));
    let agent = &v.steps[sim.idx("agent")];
    assert_eq!(agent.usage.map(|u| u.tokens), Some(600));
    // 600 tokens in the 10 s since the run started: 3600 a minute, 400 left in 6.67 s.
    let t = b.burn.iter().find(|x| x.dimension == "tokens").unwrap();
    assert_eq!(t.per_minute, 3600.0);
    assert_eq!(t.left_ms, Some(6667));
    // The same sum again records nothing.
    assert!(persisted(&usage(&mut sim, "agent", 600)).is_empty());
    // Its end's whole file replaces what was read: 700, not 1300.
    exit_with(&mut sim, "agent", 700);
    let b = sim.core.view(Timestamp(sim.now)).budget.unwrap();
    assert_eq!(b.used_tokens, 700);
    // Once the run has ended nothing is spent: no pace (issue 76: a 5-second run read
    // `$2187.50/min` after its end).
    exit_with(&mut sim, "report", 0);
    let v = sim.core.view(Timestamp(sim.now));
    assert!(v.state.is_final(), "{:?}", v.state);
    assert!(v.budget.unwrap().burn.is_empty());
}

/// The step that brings the run to its ceiling is frozen at once (a hold of the
/// engine's), the budget gate opens with its record, and nothing else starts; a raise
/// that clears the ceiling continues it and closes the record.
#[test]
fn the_ceiling_freezes_the_step_and_a_raise_continues_it() {
    let mut sim = Sim::new(tokens(1000), cfg());
    sim.started("agent");
    let a = sim.idx("agent");
    usage(&mut sim, "agent", 600);
    let fx = usage(&mut sim, "agent", 1200);
    assert_eq!(freezes(&fx), [(a, true)]);
    let s = &sim.core.steps[a];
    let h = s.more.hold.as_ref().expect("held");
    assert!(h.frozen && h.budget && h.by == "engine", "{h:?}");
    assert!(
        h.reason.contains("`tokens` 1200 used of 1000"),
        "{}",
        h.reason
    );
    assert_eq!(s.state, StepState::Running, "frozen, not moved");
    assert!(sim.core.budget_gate.is_some());
    let open = sim.open_errors("agent");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, ErrorKind::BudgetExceeded);
    assert_eq!(sim.core.run_state(), RunState::Waiting);
    // A raise that leaves the run at its ceiling keeps it frozen: the gate opens again.
    let out = sim.cmd(raise(100));
    assert!(out.is_accepted(), "{out:?}");
    assert!(freezes(&sim.last).is_empty());
    assert!(sim.core.budget_gate.is_some());
    assert!(sim.core.steps[a].more.hold.is_some());
    // Enough: it runs on.
    assert!(sim.cmd(raise(1000)).is_accepted());
    assert_eq!(freezes(&sim.last), [(a, false)]);
    assert!(sim.core.steps[a].more.hold.is_none());
    assert!(sim.open_errors("agent").is_empty(), "the raise closed them");
    let fx = exit_with(&mut sim, "agent", 1300);
    assert_eq!(spawned(&fx), ["report"]);
}

/// A step that ends before its freeze takes (it wrote its last line and exited):
/// the gate its usage opened closes with its end, and the next start meets the
/// ceiling as any start does (its own gate and record).
#[test]
fn a_step_that_ends_at_the_ceiling_hands_the_gate_to_the_next_start() {
    let mut sim = Sim::new(tokens(1000), cfg());
    sim.started("agent");
    usage(&mut sim, "agent", 1000);
    assert!(sim.core.budget_gate.is_some());
    let fx = exit_with(&mut sim, "agent", 1000);
    assert!(spawned(&fx).is_empty(), "report is over the ceiling");
    assert_eq!(sim.state("agent"), StepState::Succeeded);
    let gate = sim.core.budget_gate.as_ref().expect("open again");
    assert_eq!(gate.step.as_deref(), Some("report"));
    assert_eq!(sim.open_errors("report").len(), 1);
    assert!(sim.open_errors("agent").is_empty());
    assert!(sim.cmd(raise(10)).is_accepted());
    assert_eq!(spawned(&sim.last), ["report"]);
}

/// A cancel at the budget gate kills the frozen step (its group gets SIGCONT after
/// SIGTERM, see `exec::shell::KillHandle::terminate`).
#[test]
fn a_cancel_kills_the_step_the_ceiling_froze() {
    let mut sim = Sim::new(tokens(10), cfg());
    sim.started("agent");
    usage(&mut sim, "agent", 10);
    assert!(sim.core.steps[sim.idx("agent")].more.hold.is_some());
    let fx = sim.input(Input::Command {
        id: None,
        command: Command::Cancel {
            operator: "carol".into(),
            reason: None,
        },
    });
    assert_eq!(kills(&fx), [sim.idx("agent")]);
    sim.finish("agent", StepOutcome::Killed, vec![]);
    assert_eq!(sim.core.run_state(), RunState::Cancelled);
}

/// Another running step whose lines grow while the gate is open is frozen too; a
/// step whose lines do not move a reached dimension is not.
#[test]
fn every_step_that_spends_past_the_ceiling_is_frozen() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                cost: Some(1.0),
                calls: None,
                tokens: Some(100),
                ..Default::default()
            })
        })
        .step("a")
        .step("b")
        .step("c")
        .build();
    let mut sim = Sim::new(p, cfg());
    for s in ["a", "b", "c"] {
        sim.started(s);
    }
    assert_eq!(freezes(&usage(&mut sim, "a", 100)), [(sim.idx("a"), true)]);
    assert_eq!(freezes(&usage(&mut sim, "b", 5)), [(sim.idx("b"), true)]);
    let step = sim.idx("c");
    let fx = sim.input(Input::Usage {
        step,
        attempt: 1,
        usage: Usage {
            cost: 0.5,
            tokens: 0,
            calls: 0,
        },
    });
    assert!(freezes(&fx).is_empty(), "cost is under its ceiling");
    assert_eq!(sim.events_named("budget_exceeded").len(), 1, "one gate");
}

/// Usage of an attempt that is no longer the step's (a late read) is not counted.
#[test]
fn a_stale_attempts_usage_is_ignored() {
    let mut sim = Sim::new(tokens(1000), cfg());
    sim.started("agent");
    let step = sim.idx("agent");
    let fx = sim.input(Input::Usage {
        step,
        attempt: 2,
        usage: Usage {
            cost: 0.0,
            tokens: 5000,
            calls: 0,
        },
    });
    assert!(fx.iter().all(|e| !matches!(e, Effect::Persist(_))));
    exit_with(&mut sim, "agent", 1);
    let late = usage(&mut sim, "agent", 9999);
    assert!(persisted(&late).is_empty(), "after its end: {late:?}");
    assert_eq!(sim.core.used_tokens, 1);
}

/// The freeze is on record: a replay folds the same totals and hold, and a resume
/// (the local process died with its engine) holds the idempotent step again as the
/// budget's, so a raise runs it again.
#[test]
fn a_replay_and_a_resume_keep_the_budgets_hold() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                cost: None,
                calls: None,
                tokens: Some(50),
                ..Default::default()
            })
        })
        .step("agent")
        .with(|s| s.idempotent = true)
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("agent");
    usage(&mut sim, "agent", 80);
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, cfg(), &events).expect("replay");
    assert_eq!(again.used_tokens, 80);
    assert!(again.steps[0].more.hold.as_ref().is_some_and(|h| h.budget));
    let fx = again.resume("olivia", Timestamp(T0 + 5_000));
    assert!(spawned(&fx).is_empty(), "held, not run");
    assert_eq!(again.steps[0].state, StepState::Held);
    assert!(again.steps[0].more.hold.as_ref().is_some_and(|h| h.budget));
    assert_eq!(again.used_tokens, 80, "what it spent stays spent");
    let fx = again.handle(
        Input::Command {
            id: None,
            command: raise(100),
        },
        Timestamp(T0 + 6_000),
    );
    assert_eq!(spawned(&fx), ["agent"]);
}
