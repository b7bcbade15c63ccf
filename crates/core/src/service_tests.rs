//! Services (`service = true`) on a fake clock: readiness lets dependants start, the
//! last dependant's end stops the service, liveness failures fail or restart it, and
//! how that meets the budget, cancel, the run's timeout, operator retries and resume.
use super::testkit::*;
use super::*;
use baton_model::{ErrorKind, EventKind};
use baton_workflow::Budget;

const READY: ProbeKind = ProbeKind::Ready;
const LIVE: ProbeKind = ProbeKind::Live;

fn last_error(sim: &Sim, id: &str) -> ErrorRecord {
    sim.core
        .errors
        .iter()
        .rev()
        .find(|e| e.step.as_deref() == Some(id))
        .cloned()
        .expect("an error record")
}

/// A service `db` (its readiness probe `ready`, no liveness probe, no restarts) and one
/// dependant `app`.
fn db_and_app(ready: Option<baton_workflow::ReadyProbe>) -> Arc<Plan> {
    plan()
        .step("db")
        .service(ready, None, 0)
        .step_needs("app", &["db"])
        .build()
}

#[test]
fn ready_starts_the_dependants_and_the_last_one_stops_the_service() {
    let p = plan()
        .step("db")
        .service(Some(ready_tcp(30)), None, 0)
        .step_needs("app", &["db"])
        .step_needs("report", &["db"])
        .build();
    let mut sim = Sim::new(p, cfg());
    assert_eq!(spawned(&sim.last), ["db"]);
    assert!(
        probes(&sim.last).is_empty(),
        "no check before the process exists"
    );
    assert_eq!(probes(&sim.started("db")), [(0, READY)]);

    // Not ready yet: nothing starts; the next check is one interval later.
    sim.at(100);
    assert!(spawned(&sim.probed("db", READY, false, "connection refused")).is_empty());
    assert_eq!(sim.state("db"), StepState::Running);
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 1100)));
    assert_eq!(sim.events_named("step_probed").len(), 1);
    assert_eq!(probes(&sim.tick_at(1100)), [(0, READY)]);
    assert!(probes(&sim.tick_at(1150)).is_empty(), "one check at a time");
    // The same answer again is not recorded again, but it is the latest shown.
    sim.probed("db", READY, false, "connection refused");
    assert_eq!(sim.events_named("step_probed").len(), 1);
    let probe = sim.core.view(Timestamp(sim.now)).steps[0].probe.clone();
    assert_eq!(probe.map(|p| p.at), Some(Timestamp(T0 + 1150)));

    sim.tick_at(2200);
    let fx = sim.probed("db", READY, true, "connected");
    assert_eq!(sim.state("db"), StepState::Ready);
    assert_eq!(spawned(&fx), ["app", "report"]);
    assert_eq!(
        sim.core.next_wakeup(),
        None,
        "no liveness probe, no deadline"
    );
    let v = sim.core.view(Timestamp(sim.now));
    let p = v.steps[0].probe.as_ref().expect("probe");
    assert!(p.ok && p.detail == "connected" && p.check == "tcp 127.0.0.1:5432");
    assert_eq!(v.signals.running, 3, "a ready service's process runs too");

    sim.exit("app", 0);
    assert_eq!(sim.state("db"), StepState::Ready, "report still needs it");
    assert!(sim.events_named("service_stopping").is_empty());
    let fx = sim.exit("report", 0);
    assert_eq!(kills(&fx), [0], "no step needs it any more");
    assert_eq!(sim.events_named("service_stopping").len(), 1);
    assert_eq!(
        sim.core.run_state(),
        RunState::Running,
        "waits for it to go"
    );
    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("db"), StepState::Succeeded);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    assert!(sim.core.errors.is_empty());
}

#[test]
fn a_ready_service_gives_back_its_slot() {
    let p = plan()
        .max_parallel(1)
        .step("db")
        .service(Some(ready_tcp(30)), None, 0)
        .step_needs("app", &["db"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("db");
    assert_eq!(
        spawned(&sim.probed("db", READY, true, "connected")),
        ["app"]
    );
}

#[test]
fn without_a_readiness_probe_a_service_is_ready_once_its_process_runs() {
    let p = db_and_app(None);
    let mut sim = Sim::new(p, cfg());
    assert_eq!(sim.state("app"), StepState::Pending);
    let fx = sim.started("db");
    assert_eq!(sim.state("db"), StepState::Ready);
    assert_eq!(spawned(&fx), ["app"]);
}

#[test]
fn a_readiness_timeout_fails_the_service_with_what_its_probe_got() {
    let p = db_and_app(Some(ready_tcp(3)));
    let mut sim = Sim::new(p, cfg());
    sim.started("db");
    sim.probed("db", READY, false, "connection refused");
    assert_eq!(kills(&sim.tick_at(2999)), Vec::<usize>::new());
    let fx = sim.tick_at(3000);
    assert_eq!(kills(&fx), [0]);
    assert!(probes(&fx).is_empty());
    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("db"), StepState::Failed);
    assert_eq!(sim.state("app"), StepState::UpstreamFailed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    let e = last_error(&sim, "db");
    assert_eq!(e.kind, ErrorKind::ProbeFailed);
    assert!(e.message.contains("not ready within 3.0s"), "{}", e.message);
    assert_eq!(e.context["probe"], "ready");
    assert_eq!(e.context["check"], "tcp 127.0.0.1:5432");
    assert_eq!(e.context["got"], "connection refused");
}

#[test]
fn liveness_failures_in_a_row_restart_the_service_and_hold_its_dependants() {
    let p = plan()
        .pool("p", 1, None, 1)
        .step("db")
        .service(Some(ready_tcp(30)), Some(live_tcp(2)), 1)
        .step_needs("app", &["db"])
        .in_pool("p")
        .step_needs("app2", &["db"])
        .in_pool("p")
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("db");
    assert_eq!(
        spawned(&sim.probed("db", READY, true, "connected")),
        ["app"]
    );
    assert_eq!(sim.state("app2"), StepState::Queued, "the pool is full");
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 5000)));
    assert_eq!(probes(&sim.tick_at(5000)), [(0, LIVE)]);
    sim.probed("db", LIVE, true, "connected");
    sim.tick_at(10_000);
    sim.probed("db", LIVE, false, "connection refused");
    assert_eq!(
        sim.state("db"),
        StepState::Ready,
        "one failure is not enough"
    );
    // A pass in between starts the count again.
    sim.tick_at(15_000);
    sim.probed("db", LIVE, true, "connected");
    sim.tick_at(20_000);
    sim.probed("db", LIVE, false, "connection refused");
    sim.tick_at(25_000);
    let fx = sim.probed("db", LIVE, false, "connection refused");
    assert_eq!(kills(&fx), [0]);
    let failures: Vec<u32> = sim
        .events_named("step_probed")
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepProbed {
                ok: false,
                failures,
                ..
            } => Some(*failures),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [1, 1, 2],
        "every failed liveness check is recorded"
    );

    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("db"), StepState::RetryWait);
    assert_eq!(
        sim.state("app"),
        StepState::Running,
        "a running dependant goes on"
    );
    assert_eq!(sim.state("app2"), StepState::Pending, "waits for db again");
    let e = last_error(&sim, "db");
    assert_eq!(e.kind, ErrorKind::ProbeFailed);
    assert!(e.retryable);
    assert!(e.message.contains("liveness probe failed 2 times in a row"));
    assert_eq!(e.context["failures"], "2");

    let fx = sim.tick_at(26_000);
    assert_eq!(spawn_of(&fx, "db").map(|s| s.attempt), Some(2));
    sim.started("db");
    assert!(spawned(&sim.probed("db", READY, true, "connected")).is_empty());
    assert_eq!(sim.state("app2"), StepState::Queued);
    assert_eq!(spawned(&sim.exit("app", 0)), ["app2"]);
    assert_eq!(kills(&sim.exit("app2", 0)), [0]);
    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("db"), StepState::Succeeded);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

#[test]
fn a_service_that_exits_while_needed_fails_and_its_restart_waits_for_the_budget() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(Budget {
                calls: Some(2),
                ..Budget::default()
            })
        })
        .step("db")
        .service(None, None, 2)
        .step_needs("app", &["db"])
        .build();
    let mut sim = Sim::new(p, cfg());
    assert_eq!(spawned(&sim.started("db")), ["app"]);
    sim.exit("db", 0);
    let e = last_error(&sim, "db");
    assert_eq!(e.kind, ErrorKind::ServiceExited);
    assert!(
        e.message.contains("1 step(s) still need it"),
        "{}",
        e.message
    );
    assert_eq!(sim.state("db"), StepState::RetryWait);
    // The restart is a call like any attempt: the budget gate holds it.
    assert!(spawned(&sim.tick_at(1000)).is_empty());
    assert_eq!(sim.state("db"), StepState::Queued);
    assert_eq!(sim.events_named("budget_exceeded").len(), 1);
    let raised = sim.cmd(Command::RaiseBudget {
        operator: "olivia".into(),
        reason: "one more".into(),
        cost: None,
        calls: Some(1),
        tokens: None,
    });
    assert!(raised.is_accepted());
    assert_eq!(spawn_of(&sim.last, "db").map(|s| s.attempt), Some(2));
}

#[test]
fn cancel_kills_a_ready_service_and_cancels_it() {
    let p = db_and_app(None);
    let mut sim = Sim::new(p, cfg());
    sim.started("db");
    let o = sim.cmd(Command::Cancel {
        operator: "olivia".into(),
        reason: None,
    });
    assert!(o.is_accepted());
    let mut k = kills(&sim.last);
    k.sort();
    assert_eq!(k, [0, 1]);
    sim.finish("app", StepOutcome::Killed, vec![]);
    assert_eq!(sim.core.run_state(), RunState::Running, "db still goes");
    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("db"), StepState::Cancelled);
    assert_eq!(sim.core.run_state(), RunState::Cancelled);
}

#[test]
fn the_run_timeout_stops_a_ready_service_which_succeeds() {
    let p = plan()
        .plan_mut(|p| p.timeout = Some(secs(60)))
        .step("db")
        .service(None, None, 0)
        .step_needs("app", &["db"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("db");
    let mut k = kills(&sim.tick_at(60_000));
    k.sort();
    assert_eq!(k, [0, 1]);
    assert_eq!(sim.events_named("service_stopping").len(), 1);
    sim.finish("app", StepOutcome::Killed, vec![]);
    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("app"), StepState::Failed);
    assert_eq!(sim.state("db"), StepState::Succeeded);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(sim.core.is_finished());
}

#[test]
fn a_retried_dependant_starts_its_stopped_service_again() {
    let p = db_and_app(None);
    let mut sim = Sim::new(p, cfg());
    sim.started("db");
    assert_eq!(kills(&sim.exit("app", 1)), [0]);
    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    let o = sim.cmd(Command::Retry {
        step: "app".into(),
        operator: "olivia".into(),
    });
    assert!(o.is_accepted());
    assert_eq!(spawned(&sim.last), ["db"], "the service first");
    assert_eq!(sim.state("app"), StepState::Pending);
    assert_eq!(spawned(&sim.started("db")), ["app"]);
    sim.exit("app", 0);
    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

#[test]
fn resume_restarts_the_services_that_were_up_and_their_dependants_wait() {
    let p = plan()
        .step("db")
        .service(Some(ready_tcp(30)), None, 0)
        .step_needs("app", &["db"])
        .step_needs("late", &["app"])
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("db");
    sim.probed("db", READY, true, "connected");
    sim.started("app");
    // The engine dies here (no shutdown): replay what was recorded and resume.
    let mut core = Core::replay(p.clone(), cfg(), sim.core.events()).expect("replay");
    assert_eq!(core.view(Timestamp(T0)).steps[0].state, StepState::Ready);
    let now = Timestamp(T0 + 100);
    let fx = core.resume("olivia", now);
    let stale: Vec<i32> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::KillStale { pgid } => Some(*pgid),
            _ => None,
        })
        .collect();
    assert_eq!(stale, [1000, 1001]);
    assert_eq!(spawned(&fx), ["db"]);
    let v = core.view(now);
    assert_eq!(v.steps[0].attempts, 2);
    assert_eq!(v.steps[1].state, StepState::Pending, "app waits for db");
    assert_eq!(v.steps[2].state, StepState::Pending);
    let started = core.handle(
        Input::ProcessStarted {
            step: 0,
            attempt: 2,
            pgid: 2000,
            output: None,
        },
        now,
    );
    assert_eq!(probes(&started), [(0, READY)]);
    let fx = core.handle(
        Input::ProbeResult(ProbeResult {
            step: 0,
            attempt: 2,
            probe: READY,
            ok: true,
            detail: "connected".into(),
        }),
        now,
    );
    assert_eq!(spawned(&fx), ["app"]);
}

#[test]
fn resume_after_a_shutdown_restarts_the_service_too() {
    let p = db_and_app(None);
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("db");
    sim.started("app");
    let fx = sim.input(Input::Shutdown {
        reason: "signal".into(),
    });
    let mut k = kills(&fx);
    k.sort();
    assert_eq!(k, [0, 1], "the service goes with the engine");
    assert_eq!(sim.state("db"), StepState::Interrupted);
    let mut core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(T0 + 50));
    assert_eq!(spawned(&fx), ["db"]);
    assert_eq!(
        core.view(Timestamp(T0 + 50)).steps[1].state,
        StepState::Pending
    );
}

#[test]
fn a_stop_recorded_before_a_crash_ends_the_service_succeeded_on_resume() {
    let p = db_and_app(None);
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("db");
    sim.exit("app", 0);
    assert_eq!(sim.events_named("service_stopping").len(), 1);
    let mut core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(T0 + 10));
    assert!(spawned(&fx).is_empty(), "not started again");
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::KillStale { pgid: 1000 }))
    );
    let v = core.view(Timestamp(T0 + 10));
    assert_eq!(v.steps[0].state, StepState::Succeeded);
    assert_eq!(v.state, RunState::Succeeded);
}

#[test]
fn a_replay_reads_the_recorded_probes_back() {
    let p = plan()
        .step("db")
        .service(Some(ready_tcp(30)), Some(live_tcp(3)), 0)
        .step_needs("app", &["db"])
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("db");
    sim.probed("db", READY, true, "connected");
    sim.tick_at(5000);
    sim.probed("db", LIVE, false, "connection reset");
    let core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    let (a, b) = (
        sim.core.view(Timestamp(sim.now)),
        core.view(Timestamp(sim.now)),
    );
    assert_eq!(a.steps, b.steps);
    let probe = b.steps[0].probe.as_ref().expect("probe");
    assert_eq!((probe.ok, probe.failures), (false, 1));
    assert_eq!(probe.probe, LIVE);
}

#[test]
fn without_restart_a_liveness_failure_fails_the_service_and_skips_what_waits_for_it() {
    let p = plan()
        .step("db")
        .service(None, Some(live_tcp(1)), 0)
        .step_needs("app", &["db"])
        .step_needs("later", &["db"])
        .gate(gate())
        .build();
    let mut sim = Sim::new(p, cfg());
    assert_eq!(spawned(&sim.started("db")), ["app"]);
    assert_eq!(sim.state("later"), StepState::WaitingApproval);
    sim.tick_at(5000);
    assert_eq!(
        kills(&sim.probed("db", LIVE, false, "connection refused")),
        [0]
    );
    sim.finish("db", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("db"), StepState::Failed);
    assert_eq!(last_error(&sim, "db").kind, ErrorKind::ProbeFailed);
    assert_eq!(sim.state("app"), StepState::Running, "it goes on");
    // Approved after its service failed: it does not start without it.
    assert!(sim.approve("later", "bob").is_accepted());
    assert!(spawned(&sim.last).is_empty());
    assert_eq!(sim.state("later"), StepState::UpstreamFailed);
    sim.exit("app", 0);
    assert_eq!(sim.core.run_state(), RunState::Failed);
}

#[test]
fn a_gated_dependant_approved_while_its_service_restarts_waits_for_it() {
    let p = plan()
        .step("db")
        .service(None, None, 1)
        .step_needs("app", &["db"])
        .step_needs("later", &["db"])
        .gate(gate())
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("db");
    sim.exit("db", 1);
    assert_eq!(sim.state("db"), StepState::RetryWait);
    assert!(sim.approve("later", "bob").is_accepted());
    assert_eq!(sim.state("later"), StepState::Pending);
    assert!(spawned(&sim.last).is_empty());
    assert_eq!(spawned(&sim.tick_at(1000)), ["db"]);
    assert_eq!(
        spawned(&sim.started("db")),
        ["later"],
        "approved once, not asked again"
    );
}
