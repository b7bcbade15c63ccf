//! Replay, resume and shutdown, batch jobs and cached steps, one test per rule, on a
//! fake clock.
use super::testkit::*;
use super::*;
use baton_model::{ErrorKind, EventKind};
use baton_workflow::{Template, TemplateRef, TemplateSegment};

// ---- C: replay, resume, shutdown --------------------------------------------------

#[test]
fn shutdown_interrupts_and_resume_reruns_idempotent_only() {
    let p = plan()
        .step("done")
        .step("idem")
        .step("once")
        .with(|s| s.idempotent = false)
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.exit("done", 0);
    sim.input(Input::ProcessStarted {
        step: 1,
        attempt: 1,
        pgid: 4242,
        output: None,
    });
    let fx = sim.input(Input::Shutdown {
        reason: "SIGTERM".into(),
    });
    assert_eq!(kills(&fx).len(), 2);
    assert_eq!(sim.core.run_state(), RunState::Interrupted);
    assert!(sim.core.is_finished());
    assert_eq!(sim.state("idem"), StepState::Interrupted);

    let mut core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    assert_eq!(
        core.view(Timestamp(sim.now)),
        sim.core.view(Timestamp(sim.now))
    );
    let fx = core.resume("olivia", Timestamp(T0 + 100));
    assert!(fx.contains(&Effect::KillStale { pgid: 4242 }));
    assert_eq!(
        spawned(&fx),
        ["idem"],
        "succeeded never again, non-idempotent waits"
    );
    assert_eq!(spawn_of(&fx, "idem").map(|s| s.attempt), Some(2));
    assert_eq!(core.steps[2].state, StepState::Interrupted);
    let fx = core.handle(
        Input::StepExited(StepExit {
            step: 1,
            attempt: 2,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 1,
            outputs: vec![],
            usage: Usage::default(),
            stderr_tail: String::new(),
        }),
        Timestamp(T0 + 200),
    );
    assert!(spawned(&fx).is_empty());
    assert_eq!(
        core.run_state(),
        RunState::Waiting,
        "waits for the operator"
    );
    let fx = core.handle(
        Input::Command {
            id: None,
            command: Command::Retry {
                step: "once".into(),
                operator: "bob".into(),
            },
        },
        Timestamp(T0 + 300),
    );
    assert_eq!(spawned(&fx), ["once"]);
}

#[test]
fn crash_without_shutdown_marks_running_interrupted_on_resume() {
    let p = plan().step("a").step_needs("b", &["a"]).build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.input(Input::ProcessStarted {
        step: 0,
        attempt: 1,
        pgid: 99,
        output: None,
    });
    let mut core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(T0 + 5));
    assert!(fx.contains(&Effect::KillStale { pgid: 99 }));
    assert!(core.errors.iter().any(|e| e.kind == ErrorKind::Interrupted));
    assert_eq!(spawn_of(&fx, "a").map(|s| s.attempt), Some(2));
    // Running again, the step's interruption is over: its record is closed, and the
    // view shows no open error beside a running step.
    let interrupted: Vec<_> = core
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::Interrupted)
        .collect();
    assert!(interrupted.iter().all(|e| !e.open), "{interrupted:?}");
    assert_eq!(core.view(Timestamp(T0 + 5)).open_errors(), 0);
    assert_eq!(
        core.events()
            .iter()
            .filter(|e| e.kind.name() == "run_resumed")
            .count(),
        1
    );
}

#[test]
fn approvals_hold_across_replay() {
    let p = plan()
        .step("first")
        .step_needs("ship", &["first"])
        .gate(gate())
        .step("other")
        .build();
    let mut c = cfg();
    c.max_parallel = Some(1);
    let mut sim = Sim::new(p.clone(), c.clone());
    sim.exit("first", 0);
    assert!(sim.approve("ship", "bob").is_accepted());
    let mut core = Core::replay(p, c, sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(T0 + 1));
    // `other` was running (interrupted → re-run); ship stays approved, no gate reopens.
    assert!(
        persisted(&fx)
            .iter()
            .all(|k| !matches!(k, EventKind::GateOpened { .. }))
    );
}

#[test]
fn replay_rejects_broken_logs() {
    let p = plan().step("a").build();
    let sim = Sim::new(p.clone(), cfg());
    assert_eq!(
        Core::replay(p.clone(), cfg(), &[]).err(),
        Some(ReplayError::Empty)
    );
    let mut evs = sim.core.events().to_vec();
    evs.remove(1);
    assert!(matches!(
        Core::replay(p.clone(), cfg(), &evs),
        Err(ReplayError::SeqGap { .. })
    ));
    let other = plan().step("zzz").build();
    assert!(matches!(
        Core::replay(other, cfg(), sim.core.events()),
        Err(ReplayError::UnknownStep { .. })
    ));
}

#[test]
fn secrets_are_masked_in_params_prompts_and_errors() {
    let p = plan()
        .step("a")
        .gate(baton_workflow::Gate {
            prompt: Template {
                segments: vec![
                    TemplateSegment::Literal("token ".into()),
                    TemplateSegment::Ref(TemplateRef::Param("token".into())),
                ],
            },
            ..gate()
        })
        .build();
    let mut c = cfg();
    c.params.insert("token".into(), "s3cr3t".into());
    c.secret_values = vec!["s3cr3t".into()];
    let mut sim = Sim::new(p, c);
    sim.approve("a", "bob");
    let spec = spawn_of(&sim.last, "a").expect("spawn");
    assert!(
        spec.env
            .contains(&("BATON_PARAM_TOKEN".into(), "s3cr3t".into())),
        "the step gets the real value"
    );
    sim.input(Input::StepExited(StepExit {
        step: 0,
        attempt: 1,
        outcome: StepOutcome::Exited { exit_code: 1 },
        duration_ms: 1,
        outputs: vec![],
        usage: Usage::default(),
        stderr_tail: "leaked s3cr3t".into(),
    }));
    let json = serde_json::to_string(sim.core.events()).unwrap();
    assert!(!json.contains("s3cr3t"), "{json}");
    assert!(json.contains("token ***"));
    let v = serde_json::to_string(&sim.core.view(Timestamp(sim.now))).unwrap();
    assert!(!v.contains("s3cr3t"));
}

/// Issue 12 point 3: the approver sees the step's environment as it will run, with a
/// secret's value as `***` (the step itself gets the real value after approval).
#[test]
fn the_gate_shows_the_environment_with_secrets_masked() {
    let p = plan()
        .step("a")
        .env(
            "TOKEN",
            Template {
                segments: vec![
                    TemplateSegment::Literal("bearer ".into()),
                    TemplateSegment::Ref(TemplateRef::Param("token".into())),
                ],
            },
        )
        .gate(gate())
        .build();
    let mut c = cfg();
    c.params.insert("token".into(), "s3cr3t".into());
    c.secret_values = vec!["s3cr3t".into()];
    let mut sim = Sim::new(p, c);
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(v.gates[0].env, [("TOKEN".into(), "bearer ***".into())]);
    sim.approve("a", "bob");
    let spec = spawn_of(&sim.last, "a").expect("spawn");
    assert!(spec.env.contains(&("TOKEN".into(), "bearer s3cr3t".into())));
}

#[test]
fn view_signals_and_version() {
    let p = plan().step("a").step("b").retry(2, 0).build();
    let mut sim = Sim::new(p, cfg());
    sim.at(1000);
    sim.exit("a", 0);
    sim.exit("b", 1);
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(v.version, sim.core.events().len() as u64);
    assert_eq!(v.steps[1].attempts, 2, "zero delay: retried at once");
    assert_eq!(v.signals.running, 1);
    assert_eq!(v.signals.error_rate, 0.5);
    assert_eq!(v.signals.p50_ms, Some(10));
    assert_eq!(v.signals.finished_per_sec, 2.0);
    assert_eq!(v.steps[0].action, "echo a");
}

#[test]
fn cancel_compensates_succeeded_steps_and_interrupted_run_refuses_commands() {
    let p = plan()
        .step("a")
        .with(|s| s.compensate = Some("undo a".into()))
        .step_needs("b", &["a"])
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.exit("a", 0);
    sim.cmd(Command::Cancel {
        operator: "bob".into(),
        reason: None,
    });
    let fx = sim.finish("b", StepOutcome::Killed, vec![]);
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Compensate(s) if s.step_id == "a"))
    );
    assert_eq!(sim.core.run_state(), RunState::Cancelled);
    sim.input(Input::CompensationExited {
        step: 0,
        outcome: StepOutcome::Exited { exit_code: 0 },
        duration_ms: 1,
        stderr_tail: String::new(),
    });
    assert!(sim.core.is_finished());

    let mut sim = Sim::new(p, cfg());
    sim.input(Input::Shutdown {
        reason: "SIGINT".into(),
    });
    let o = sim.cmd(Command::Cancel {
        operator: "bob".into(),
        reason: None,
    });
    assert!(refused(&o).contains("resume"));
    assert_eq!(sim.core.next_wakeup(), None);
}

#[test]
fn budget_is_not_a_step_and_a_waiting_gate_cannot_be_marked() {
    let mut g = gate();
    g.timeout = Some(secs(10));
    let mut sim = Sim::new(plan().step("ship").gate(g).build(), cfg());
    // The command it suggests is one the CLI takes: `--raise` goes with no step.
    let said = refused(&sim.approve("budget", "bob"));
    assert!(
        said.contains("`baton approve r1 --raise cost=N --reason …`"),
        "{said}"
    );
    for state in [StepState::Succeeded, StepState::Failed] {
        let o = sim.cmd(Command::Mark {
            step: "ship".into(),
            state,
            operator: "bob".into(),
            reason: "shipped by hand".into(),
            outputs: Default::default(),
            artifacts: Vec::new(),
        });
        assert!(refused(&o).contains("waiting for approval"));
    }
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    assert_eq!(sim.core.view(Timestamp(sim.now)).gates.len(), 1);
}

// ---- batch jobs: what the cluster says ----------------------------------------------

#[test]
fn a_jobs_queue_and_run_times_come_from_its_recorded_states_and_replay_agrees() {
    let mut sim = Sim::new(plan().step("sim").build(), cfg());
    let step = sim.idx("sim");
    let state = |s: &str, r: Option<&str>| Input::JobState {
        step,
        attempt: 1,
        state: s.into(),
        reason: r.map(str::to_string),
    };
    // Before the job id is recorded there is nothing to describe.
    assert!(persisted(&sim.at(100).input(state("PENDING", None))).is_empty());
    sim.at(200).input(Input::JobStarted {
        step,
        attempt: 1,
        executor: "hpc".into(),
        job_id: "77".into(),
    });
    let fx = sim.at(1_000).input(state("PENDING", Some("Resources")));
    assert_eq!(persisted(&fx).len(), 1);
    // The same state again is not recorded twice; a new reason is.
    assert!(persisted(&sim.at(2_000).input(state("PENDING", Some("Resources")))).is_empty());
    assert_eq!(
        persisted(&sim.at(3_000).input(state("PENDING", Some("Priority")))).len(),
        1
    );
    sim.at(5_000).input(state("RUNNING", None));
    // Another attempt's job says nothing about this one.
    let stale = Input::JobState {
        step,
        attempt: 2,
        state: "FAILED".into(),
        reason: None,
    };
    assert!(persisted(&sim.at(6_000).input(stale)).is_empty());
    let v = sim.core.view(Timestamp(T0 + 9_000));
    let job = v.steps[step].job().cloned().expect("a job");
    assert_eq!(
        (job.job_id.as_str(), job.state.as_deref(), job.reason),
        ("77", Some("RUNNING"), None)
    );
    let t = v.steps[step].job_times(Timestamp(T0 + 9_000)).unwrap();
    assert_eq!(t.queued, Some(secs(5)));
    assert_eq!(t.ran, Some(secs(4)));
    // Replaying the stored events gives the same view.
    let replayed = Core::replay(sim.core.plan().clone(), cfg(), sim.core.events()).unwrap();
    assert_eq!(
        replayed.view(Timestamp(T0 + 9_000)).steps[step]
            .job()
            .cloned(),
        v.steps[step].job().cloned()
    );
    // Once the attempt ends, states are no longer recorded; the job stays visible.
    sim.at(10_000).exit("sim", 0);
    assert!(persisted(&sim.at(11_000).input(state("COMPLETED", None))).is_empty());
    let v = sim.core.view(Timestamp(T0 + 20_000));
    let t = v.steps[step].job_times(Timestamp(T0 + 20_000)).unwrap();
    assert_eq!(t.ran, Some(secs(5)), "run time ends with the attempt");
}

/// A cancelled run reads the same whether or not it was interrupted and resumed first:
/// the interruption was over once the steps ran again.
#[test]
fn a_resumed_then_cancelled_run_is_as_healthy_as_a_cancelled_one() {
    let p = plan().step("a").step_needs("b", &["a"]).build();
    let cancel = |core: &mut Core, at: i64| {
        core.handle(
            Input::Command {
                id: None,
                command: Command::Cancel {
                    operator: "olivia".into(),
                    reason: None,
                },
            },
            Timestamp(at),
        )
    };
    let mut plain = Sim::new(p.clone(), cfg());
    plain.input(Input::ProcessStarted {
        step: 0,
        attempt: 1,
        pgid: 99,
        output: None,
    });
    let o = plain.cmd(Command::Cancel {
        operator: "olivia".into(),
        reason: None,
    });
    assert!(o.is_accepted());
    let mut sim = Sim::new(p.clone(), cfg());
    sim.input(Input::ProcessStarted {
        step: 0,
        attempt: 1,
        pgid: 99,
        output: None,
    });
    let mut resumed = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    let _ = resumed.resume("olivia", Timestamp(T0 + 5));
    // The step runs again: the record of its interruption is closed, not left open.
    let v = resumed.view(Timestamp(T0 + 5));
    let interrupted: Vec<_> = v
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::Interrupted)
        .collect();
    assert_eq!(v.steps[0].state, StepState::Running);
    assert!(
        !interrupted.is_empty() && interrupted.iter().all(|e| !e.open),
        "{interrupted:?}"
    );
    let _ = cancel(&mut resumed, T0 + 6);
    let a = plain.core.view(Timestamp(T0 + 10)).health;
    let b = resumed.view(Timestamp(T0 + 10)).health;
    assert_eq!((a.label, a.score), (b.label, b.score), "{a:?}\n{b:?}");
}

// ---- cached steps ------------------------------------------------------------------

fn cached_plan() -> Arc<baton_workflow::Plan> {
    plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                cost: Some(10.0),
                calls: Some(10),
                tokens: None,
                ..Default::default()
            })
        })
        .step("build")
        .with(|s| {
            s.cache = Some(Box::default());
            s.cost = 2.5;
        })
        .output("v", None)
        .step_needs("ship", &["build"])
        .env("V", out_ref(0, "build", "v"))
        .build()
}

#[test]
fn a_cache_hit_succeeds_with_the_cached_outputs_and_records_where_from() {
    let mut sim = Sim::new(cached_plan(), cfg());
    let spec = spawn_of(&sim.last, "build").expect("build starts").clone();
    let req = spec.cache.clone().expect("a cached step asks the cache");
    assert!(req.consult);
    let fx = sim.input(Input::CacheHit(CacheHit {
        step: 0,
        attempt: spec.attempt,
        from_run: "r0".into(),
        key: "k".into(),
        outputs: vec![("v".into(), "7".into())],
        restored: vec!["app".into()],
        artifacts: vec![],
    }));
    assert_eq!(sim.state("build"), StepState::Succeeded);
    assert_eq!(sim.events_named("step_cached").len(), 1);
    // The dependant reads the cached output; it is not cached itself (no `cache`).
    let ship = spawn_of(&fx, "ship").expect("ship starts");
    assert!(ship.env.contains(&("V".to_string(), "v=7".to_string())));
    assert!(ship.cache.is_none());
    let view = sim.core.view(Timestamp(T0));
    assert_eq!(view.steps[0].cached_from.as_deref(), Some("r0"));
    // A hit costs nothing: only `ship`, now running, counts against the budget.
    let b = view.budget.as_ref().expect("a budget");
    assert_eq!((b.cost, b.calls), (Some((0.0, 10.0)), Some((1, 10))));
    // Replay folds the same fact.
    let replayed = Core::replay(cached_plan(), cfg(), sim.core.events()).expect("replay");
    assert_eq!(
        replayed.view(Timestamp(T0)).steps[0].cached_from.as_deref(),
        Some("r0")
    );
}

#[test]
fn a_cached_hit_missing_a_declared_output_fails_like_an_exit() {
    let mut sim = Sim::new(cached_plan(), cfg());
    sim.input(Input::CacheHit(CacheHit {
        step: 0,
        attempt: 1,
        from_run: "r0".into(),
        key: "k".into(),
        outputs: vec![],
        restored: vec![],
        artifacts: vec![],
    }));
    assert_eq!(sim.state("build"), StepState::Failed);
}

#[test]
fn no_cache_still_records_but_does_not_consult() {
    let mut c = cfg();
    c.no_cache = true;
    let sim = Sim::new(cached_plan(), c);
    let req = spawn_of(&sim.last, "build").and_then(|s| s.cache.clone());
    assert!(!req.expect("the request is there").consult);
}

#[test]
fn a_gated_cached_step_opens_its_gate_before_the_cache() {
    let p = plan()
        .step("deploy")
        .with(|s| s.cache = Some(Box::default()))
        .gate(gate())
        .build();
    let mut sim = Sim::new(p, cfg());
    assert!(spawned(&sim.last).is_empty());
    assert_eq!(sim.state("deploy"), StepState::WaitingApproval);
    assert!(sim.approve("deploy", "olivia").is_accepted());
    // Approved: only now is the cache asked (the driver consults it on this spawn).
    let spec = spawn_of(&sim.last, "deploy").expect("deploy starts after approval");
    assert!(spec.cache.as_ref().is_some_and(|r| r.consult));
}

#[test]
fn a_scheduled_run_keeps_its_slot_in_run_started_and_a_replay_reads_it() {
    let slot_ref = Template {
        segments: vec![
            TemplateSegment::Literal("day=".into()),
            TemplateSegment::Ref(TemplateRef::RunSlot),
        ],
    };
    let run_wide = slot_ref.clone();
    let p = plan()
        .step("load")
        .env("DAY", slot_ref)
        .plan_mut(|p| {
            p.env.insert("RUN_DAY".into(), run_wide);
        })
        .build();
    let slot = Timestamp(1_774_746_000_000); // 2026-03-29T01:00:00Z
    let c = RunConfig {
        slot: Some(slot),
        ..cfg()
    };
    let sim = Sim::new(p.clone(), c);
    let env: BTreeMap<_, _> = spawn_of(&sim.last, "load")
        .expect("load spawned")
        .env
        .iter()
        .cloned()
        .collect();
    assert_eq!(env["DAY"], "day=2026-03-29T01:00:00Z");
    assert_eq!(env["BATON_SLOT"], "2026-03-29T01:00:00Z");
    assert!(matches!(
        sim.core.events().first().map(|e| &e.kind),
        Some(EventKind::RunStarted { slot: Some(s), .. }) if *s == slot
    ));
    // Rebuilt from its events with a configuration that knows no slot (a resume):
    // the slot comes back from `RunStarted`.
    let mut core = Core::replay(p.clone(), cfg(), sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(T0 + 100));
    let env: BTreeMap<_, _> = spawn_of(&fx, "load")
        .expect("load spawned again")
        .env
        .iter()
        .cloned()
        .collect();
    assert_eq!(env["BATON_SLOT"], "2026-03-29T01:00:00Z");
    assert_eq!(env["DAY"], "day=2026-03-29T01:00:00Z");
    // The run-wide `env` too (resolved before the replay knew the slot).
    assert_eq!(env["RUN_DAY"], "day=2026-03-29T01:00:00Z");
    // A run no schedule started: empty, never inherited.
    let plain = Sim::new(p, cfg());
    let env: BTreeMap<_, _> = spawn_of(&plain.last, "load")
        .expect("load spawned")
        .env
        .iter()
        .cloned()
        .collect();
    assert_eq!(
        (env["DAY"].as_str(), env["BATON_SLOT"].as_str()),
        ("day=", "")
    );
}

/// Issue 45 point 8: every transition of a step is kept with its attempt and time
/// (`StepView::history`, the Timeline tab's), and a replay of the events keeps the same.
#[test]
fn a_steps_history_is_every_transition_and_replays_the_same() {
    use baton_model::timeline::Transition;
    let p = plan().step("a").retry(2, 2).build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.at(500);
    sim.exit("a", 1);
    sim.tick_at(2500);
    sim.at(3000);
    sim.exit("a", 0);
    let view = sim.core.view(Timestamp(sim.now));
    let got: Vec<(StepState, u32, i64)> = view.steps[0]
        .history
        .iter()
        .map(|t: &Transition| (t.state, t.attempt, t.at.0 - T0))
        .collect();
    use StepState::*;
    assert_eq!(
        got,
        // A queued step's record carries the attempts made so far; a running one, its own.
        vec![
            (Queued, 0, 0),
            (Running, 1, 0),
            (RetryWait, 1, 500),
            (Queued, 1, 2500),
            (Running, 2, 2500),
            (Succeeded, 2, 3000),
        ]
    );
    let mut replayed = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    assert_eq!(
        replayed.view(Timestamp(sim.now)).steps[0].history,
        view.steps[0].history
    );
    // An engine no console reads keeps none.
    replayed.forget_history();
    assert!(
        replayed.view(Timestamp(sim.now)).steps[0]
            .history
            .is_empty()
    );
}
