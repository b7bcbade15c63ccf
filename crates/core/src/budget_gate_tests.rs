//! The budget gate decided against the run (issue 43 point 3) on a fake clock: a
//! rejection by an operator kills the steps the ceiling froze and fails the run; its
//! `timeout` does what `on_timeout` says at the opening's time plus the timeout, also
//! after a replay (a resumed engine); refusals say what to do.
use super::testkit::*;
use super::*;
use baton_model::{ErrorKind, EventKind};
use baton_workflow::OnTimeout;

fn budget(tokens: u64, timeout: Option<u64>, on_timeout: OnTimeout) -> Arc<Plan> {
    plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                tokens: Some(tokens),
                timeout: timeout.map(secs),
                on_timeout,
                ..Default::default()
            })
        })
        .step("agent")
        .step("other")
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

fn reject(reason: &str) -> Command {
    Command::RejectBudget {
        operator: "alice".into(),
        reason: reason.into(),
    }
}

fn rejected(sim: &Sim) -> Vec<(String, String, bool)> {
    sim.events_named("budget_rejected")
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::BudgetRejected {
                actor,
                reason,
                timed_out,
                ..
            } => Some((actor.clone(), reason.clone(), *timed_out)),
            _ => None,
        })
        .collect()
}

/// `agent` reaches the ceiling and is frozen while `other` runs on: a rejection kills
/// both (the frozen one gets SIGCONT with its SIGTERM in the driver), `report` never
/// starts, the run fails, and the rejection is on record with who and why.
#[test]
fn a_rejection_kills_the_frozen_steps_and_fails_the_run() {
    let mut sim = Sim::new(budget(1000, None, OnTimeout::Reject), cfg());
    sim.started("agent");
    sim.started("other");
    let a = sim.idx("agent");
    assert_eq!(freezes(&usage(&mut sim, "agent", 1200)), [(a, true)]);
    let out = sim.cmd(reject("spent enough"));
    assert!(out.is_accepted(), "{out:?}");
    let mut k = kills(&sim.last);
    k.sort();
    assert_eq!(k, [a, sim.idx("other")]);
    assert_eq!(
        rejected(&sim),
        [("alice".into(), "spent enough".into(), false)]
    );
    assert_eq!(sim.state("report"), StepState::Skipped);
    sim.finish("agent", StepOutcome::Killed, vec![]);
    let fx = sim.finish("other", StepOutcome::Killed, vec![]);
    assert!(spawned(&fx).is_empty());
    assert_eq!(sim.state("agent"), StepState::Cancelled);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(sim.core.is_finished());
    let e = sim
        .core
        .errors
        .iter()
        .find(|e| e.kind == ErrorKind::GateRejected)
        .expect("the rejection's record");
    assert!(
        e.message.contains("rejected by alice: spent enough"),
        "{}",
        e.message
    );
    let v = sim.core.view(Timestamp(sim.now));
    let r = v.budget.and_then(|b| b.rejected).expect("budget.rejected");
    assert_eq!((r.by.as_str(), r.timed_out), ("alice", false));
    assert!(v.gates.is_empty(), "the gate is decided");
}

/// The step the gate stopped before it started is rejected, not run.
#[test]
fn a_rejection_at_a_start_rejects_the_step_it_stopped() {
    let mut sim = Sim::new(budget(10, None, OnTimeout::Reject), cfg());
    sim.started("agent");
    sim.exit("other", 0);
    // It ends at the ceiling: `report`'s start meets it.
    let step = sim.idx("agent");
    sim.input(Input::StepExited(StepExit {
        step,
        attempt: 1,
        outcome: StepOutcome::Exited { exit_code: 0 },
        duration_ms: 5,
        outputs: vec![],
        usage: Usage {
            cost: 0.0,
            tokens: 10,
            calls: 0,
        },
        stderr_tail: String::new(),
    }));
    assert_eq!(sim.state("report"), StepState::Queued);
    assert!(sim.cmd(reject("no more")).is_accepted());
    assert_eq!(sim.state("report"), StepState::Rejected);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(sim.core.is_finished());
}

/// Nothing to reject, or no reason: refused, saying what to do; nothing recorded.
#[test]
fn a_rejection_without_an_open_gate_or_a_reason_is_refused() {
    let mut sim = Sim::new(budget(1000, None, OnTimeout::Reject), cfg());
    sim.started("agent");
    let r = refused(&sim.cmd(reject("why")));
    assert!(r.contains("--budget"), "{r}");
    usage(&mut sim, "agent", 1000);
    let r = refused(&sim.cmd(reject("  ")));
    assert!(r.contains("reason is required"), "{r}");
    assert!(rejected(&sim).is_empty());
    let none = plan().step("a").build();
    let mut sim = Sim::new(none, cfg());
    assert!(refused(&sim.cmd(reject("why"))).contains("no budget"));
}

/// `timeout = 30m, on_timeout = "reject"`: nothing happens before the opening plus 30
/// minutes (a second ceiling met meanwhile does not move it); then the gate is
/// rejected by `timeout` and the run fails as a rejection fails it.
#[test]
fn the_timeout_rejects_the_gate_at_its_opening_plus_the_timeout() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                tokens: Some(100),
                cost: Some(1.0),
                timeout: Some(secs(1800)),
                ..Default::default()
            })
        })
        .step("a")
        .step("b")
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("a");
    sim.started("b");
    sim.at(1_000);
    usage(&mut sim, "a", 100);
    let gate = sim.core.view(Timestamp(sim.now)).gates[0].clone();
    assert_eq!(gate.deadline, Some(Timestamp(T0 + 1_000 + 1_800_000)));
    assert_eq!(gate.on_timeout, "reject");
    sim.at(60_000);
    let step = sim.idx("b");
    sim.input(Input::Usage {
        step,
        attempt: 1,
        usage: Usage {
            cost: 2.0,
            tokens: 0,
            calls: 0,
        },
    });
    let fx = sim.tick_at(1_800_999);
    assert!(kills(&fx).is_empty(), "not yet");
    assert!(rejected(&sim).is_empty());
    let fx = sim.tick_at(1_801_000);
    assert_eq!(kills(&fx).len(), 2);
    let r = rejected(&sim);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, "timeout");
    assert!(r[0].2);
    assert!(r[0].1.contains("no raise within 30m"), "{}", r[0].1);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(
        sim.core
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::GateTimeout)
    );
}

/// `on_timeout = "fail"`: the step the gate stopped fails instead of being rejected.
#[test]
fn on_timeout_fail_fails_the_step_the_gate_stopped() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                calls: Some(1),
                timeout: Some(secs(60)),
                on_timeout: OnTimeout::Fail,
                ..Default::default()
            })
        })
        .step("a")
        .step_needs("b", &["a"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 0);
    assert_eq!(sim.state("b"), StepState::Queued);
    sim.tick_at(60_000);
    assert_eq!(sim.state("b"), StepState::Failed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(sim.core.is_finished());
}

/// A raise closes the gate: its timeout does nothing after it.
#[test]
fn a_raise_before_the_timeout_stops_its_clock() {
    let mut sim = Sim::new(budget(100, Some(60), OnTimeout::Reject), cfg());
    sim.started("agent");
    usage(&mut sim, "agent", 100);
    sim.at(10_000);
    let raised = sim.cmd(Command::RaiseBudget {
        operator: "bob".into(),
        reason: "fine".into(),
        cost: None,
        calls: None,
        tokens: Some(1000),
    });
    assert!(raised.is_accepted());
    let fx = sim.tick_at(120_000);
    assert!(kills(&fx).is_empty());
    assert!(rejected(&sim).is_empty());
    assert!(!sim.core.is_finished());
}

/// The deadline comes from the recorded opening: a core replayed from the history (a
/// resumed engine) rejects the gate at the same time, not a timeout after its resume.
#[test]
fn a_replay_keeps_the_gates_deadline() {
    let p = budget(100, Some(60), OnTimeout::Reject);
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("agent");
    sim.at(5_000);
    usage(&mut sim, "agent", 100);
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, cfg(), &events).expect("replay");
    again.resume("olivia", Timestamp(T0 + 30_000));
    let fx = again.handle(Input::Tick, Timestamp(T0 + 64_999));
    assert!(persisted(&fx).is_empty(), "not yet: {fx:?}");
    let fx = again.handle(Input::Tick, Timestamp(T0 + 65_000));
    assert!(
        persisted(&fx).iter().any(|k| matches!(
            k,
            EventKind::BudgetRejected {
                timed_out: true,
                ..
            }
        )),
        "{fx:?}"
    );
    assert_eq!(again.run_state(), RunState::Failed);
}

/// `agent` opens the gate at the ceiling, `other`'s lines then freeze it too; `agent`
/// ends (killed from outside, say): the gate stays, now `other`'s, so a rejection still
/// has a gate to decide and kills the step still frozen.
#[test]
fn the_gate_outlives_its_first_step_while_another_is_frozen_at_the_ceiling() {
    let mut sim = Sim::new(budget(1000, None, OnTimeout::Reject), cfg());
    sim.started("agent");
    sim.started("other");
    let (a, o) = (sim.idx("agent"), sim.idx("other"));
    assert_eq!(freezes(&usage(&mut sim, "agent", 1200)), [(a, true)]);
    assert_eq!(freezes(&usage(&mut sim, "other", 100)), [(o, true)]);
    sim.finish("agent", StepOutcome::Signalled { signal: 9 }, vec![]);
    let out = sim.cmd(reject("spent enough"));
    assert!(out.is_accepted(), "{out:?}");
    assert_eq!(kills(&sim.last), [o]);
}

/// Issue 58 point 4: the budget gate's words fit the step it stopped: one frozen at the
/// ceiling while it ran is not called the "next step".
#[test]
fn the_budget_gate_says_a_running_step_is_frozen_not_next() {
    let mut sim = Sim::new(budget(1000, None, OnTimeout::Reject), cfg());
    sim.started("agent");
    sim.started("other");
    usage(&mut sim, "agent", 1200);
    let v = sim.core.view(Timestamp(sim.now));
    let g = v
        .gates
        .iter()
        .find(|g| g.step.is_none())
        .expect("the budget gate");
    assert!(
        g.prompt.contains("(agent is frozen at the ceiling)"),
        "{}",
        g.prompt
    );
    assert!(!g.prompt.contains("next step"), "{}", g.prompt);
}
