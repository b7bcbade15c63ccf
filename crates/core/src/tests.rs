//! Scheduling, exits, outputs and timeouts: one test per rule, on a fake clock.
use super::testkit::*;
use super::*;
use baton_model::{ErrorKind, Severity};
use baton_workflow::{Action, Builtin, Trigger};

// ---- A: scheduling ---------------------------------------------------------------

#[test]
fn dependency_order_and_run_success() {
    let mut sim = Sim::new(
        plan()
            .step("a")
            .step_needs("b", &["a"])
            .step_needs("c", &["a", "b"])
            .build(),
        cfg(),
    );
    assert_eq!(spawned(&sim.last), ["a"]);
    assert_eq!(spawned(&sim.exit("a", 0)), ["b"]);
    assert_eq!(sim.state("c"), StepState::Pending);
    assert_eq!(spawned(&sim.exit("b", 0)), ["c"]);
    sim.exit("c", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    assert!(sim.core.is_finished());
    let seqs: Vec<u64> = sim.core.events().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let finished = sim.events_named("run_finished");
    assert_eq!(finished.len(), 1);
}

/// A plain step's end clears a service's timers it never had: that writes nothing, so
/// no step of a 100,000-step run keeps a service's state (issue 62 point 5).
#[test]
fn a_plain_step_ends_without_a_services_state() {
    let mut sim = Sim::new(plan().step("a").step_needs("b", &["a"]).build(), cfg());
    sim.exit("a", 0);
    sim.exit("b", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    assert!(sim.core.steps.iter().all(|s| s.service.is_blank()));
}

/// A plain step that runs, ends, and one skipped after a failure never make their rare
/// parts (`StepRt::more`, issue 62 point 5): 100,000 such steps paid ~250 bytes each.
#[test]
fn plain_steps_never_make_their_rare_parts() {
    let p = plan()
        .step("a")
        .step_needs("b", &["a"])
        .step("c")
        .step_needs("d", &["c"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 0);
    sim.exit("b", 0);
    assert!(sim.core.steps.iter().all(|s| s.more.is_blank()));
    sim.exit("c", 1);
    assert_eq!(sim.state("d"), StepState::UpstreamFailed);
    assert!(sim.core.steps[sim.idx("a")].more.is_blank());
    assert!(sim.core.steps[sim.idx("b")].more.is_blank());
}

#[test]
fn max_parallel_counts_builtins_and_cli_override() {
    let mut b = plan().max_parallel(2);
    for i in 0..5 {
        b = b
            .step(&format!("s{i}"))
            .with(|s| s.action = Action::Builtin(Builtin::Noop));
    }
    let p = b.build();
    let sim = Sim::new(p.clone(), cfg());
    assert_eq!(spawned(&sim.last), ["s0", "s1"]);
    let mut c = cfg();
    c.max_parallel = Some(3);
    let mut sim = Sim::new(p, c);
    assert_eq!(spawned(&sim.last).len(), 3);
    assert_eq!(sim.core.view(Timestamp(T0)).signals.queue_depth, 2);
    assert_eq!(spawned(&sim.exit("s1", 0)), ["s3"]);
}

#[test]
fn pool_capacity_limits_its_steps_only() {
    let p = plan()
        .pool("db", 1, None, 1)
        .step("a")
        .in_pool("db")
        .step("b")
        .in_pool("db")
        .step("c")
        .build();
    let mut sim = Sim::new(p, cfg());
    assert_eq!(spawned(&sim.last), ["a", "c"]);
    assert_eq!(spawned(&sim.exit("a", 0)), ["b"]);
}

#[test]
fn rate_token_bucket_burst_then_refill_wakeup() {
    // 1 token per second, burst 2, capacity 10.
    let mut b = plan().max_parallel(10).pool("api", 10, Some((1, 1000)), 2);
    for i in 0..4 {
        b = b.step(&format!("s{i}")).in_pool("api");
    }
    let mut sim = Sim::new(b.build(), cfg());
    assert_eq!(spawned(&sim.last), ["s0", "s1"], "burst of 2");
    assert_eq!(
        sim.core.next_wakeup(),
        Some(Timestamp(T0 + 1000)),
        "refill time"
    );
    assert!(spawned(&sim.tick_at(999)).is_empty());
    assert_eq!(spawned(&sim.tick_at(1000)), ["s2"]);
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 2000)));
    assert_eq!(spawned(&sim.tick_at(2500)), ["s3"]);
    assert_eq!(sim.core.next_wakeup(), None);
}

#[test]
fn trigger_rules_and_skip_propagation() {
    let p = plan()
        .step("a")
        .step_needs("b", &["a"]) // all_success: upstream_failed
        .step_needs("c", &["b"]) // upstream_failed need: upstream_failed
        .step_needs("d", &["a"])
        .when(Trigger::OneFailed)
        .step_needs("e", &["b"])
        .when(Trigger::AllDone)
        .step("f")
        .step_needs("g", &["f"])
        .when(Trigger::OneFailed)
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("f", 0);
    assert_eq!(
        sim.state("g"),
        StepState::Skipped,
        "one_failed with no failed need"
    );
    let fx = sim.exit("a", 1);
    assert_eq!(sim.state("b"), StepState::UpstreamFailed);
    assert_eq!(sim.state("c"), StepState::UpstreamFailed);
    assert_eq!(spawned(&fx), ["d", "e"]);
    let dep = sim.open_errors("b");
    assert_eq!(dep.len(), 1);
    assert_eq!(dep[0].kind, ErrorKind::DependencyFailed);
    assert!(
        sim.open_errors("c").is_empty(),
        "only the first step below a failure records an error"
    );
    sim.exit("d", 0);
    sim.exit("e", 0);
    assert_eq!(sim.core.run_state(), RunState::Failed);
}

#[test]
fn retry_with_backoff_then_success_closes_errors() {
    let p = plan().step("a").retry(3, 2).build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 2);
    assert_eq!(sim.state("a"), StepState::RetryWait);
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 2000)));
    let rec = &sim.open_errors("a")[0];
    assert_eq!(rec.kind, ErrorKind::ExitNonzero);
    assert_eq!(rec.context["exit_code"], "2");
    assert_eq!(rec.context["stderr_tail"], "boom");
    assert_eq!(rec.context["attempt"], "1");
    assert!(rec.retryable && rec.suggestion.contains("baton retry r1 a"));
    assert!(spawned(&sim.tick_at(1999)).is_empty());
    let fx = sim.tick_at(2000);
    assert_eq!(spawn_of(&fx, "a").map(|s| s.attempt), Some(2));
    sim.exit("a", 1);
    assert_eq!(
        sim.core.next_wakeup(),
        Some(Timestamp(T0 + 2000 + 4000)),
        "exponential"
    );
    sim.tick_at(6000);
    sim.exit("a", 0);
    assert_eq!(sim.state("a"), StepState::Succeeded);
    assert!(sim.open_errors("a").is_empty());
    assert_eq!(sim.events_named("errors_closed").len(), 1);
    let h = sim.core.view(Timestamp(sim.now)).health;
    assert_eq!(h.quality, Some(0.5));
}

#[test]
fn retries_exhausted_and_non_retryable_kinds() {
    let p = plan()
        .step("a")
        .retry(2, 1)
        .step("b")
        .retry(5, 1)
        .step("c")
        .retry(5, 1)
        .output("v", None)
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("a", 1);
    sim.tick_at(1000);
    sim.exit("a", 1);
    assert_eq!(sim.state("a"), StepState::Failed);
    sim.finish(
        "b",
        StepOutcome::SpawnFailed {
            message: "no such file".into(),
        },
        vec![],
    );
    assert_eq!(sim.state("b"), StepState::Failed);
    assert!(!sim.open_errors("b")[0].retryable);
    sim.exit("c", 0);
    assert_eq!(sim.state("c"), StepState::Failed);
    assert_eq!(sim.open_errors("c")[0].kind, ErrorKind::OutputInvalid);
}

#[test]
fn jittered_retry_time_is_reproduced_by_replay() {
    let p = plan()
        .step("a")
        .with(|s| {
            s.retry = baton_workflow::RetryPolicy {
                attempts: 3,
                jitter: true,
                delay: secs(10),
                ..Default::default()
            }
        })
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.exit("a", 1);
    let due = sim.core.next_wakeup().expect("retry due");
    assert!(due.0 >= T0 + 5000 && due.0 <= T0 + 10000);
    let replayed = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    assert_eq!(replayed.next_wakeup(), Some(due));
}

#[test]
fn step_timeout_kills_and_records_timeout() {
    let p = plan().step("a").with(|s| s.timeout = Some(secs(5))).build();
    let mut sim = Sim::new(p, cfg());
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(T0 + 5000)));
    assert_eq!(kills(&sim.tick_at(5000)), [0]);
    assert_eq!(sim.state("a"), StepState::Running, "runs on, its stop sent");
    assert!(!sim.core.stopped_with_engine(0, 1), "a timeout's stop");
    assert!(kills(&sim.tick_at(6000)).is_empty(), "one kill only");
    sim.finish("a", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("a"), StepState::Failed);
    assert_eq!(sim.open_errors("a")[0].kind, ErrorKind::Timeout);
    assert!(
        sim.core
            .view(Timestamp(sim.now))
            .health
            .terms
            .iter()
            .any(|t| t.label.contains("timed out") && t.count == 1)
    );
}

#[test]
fn run_timeout_stops_everything_and_fails() {
    let p = plan()
        .plan_mut(|p| p.timeout = Some(secs(60)))
        .step("a")
        .step_needs("b", &["a"])
        .build();
    let mut sim = Sim::new(p, cfg());
    let fx = sim.tick_at(60_000);
    assert_eq!(kills(&fx), [0]);
    assert_eq!(sim.state("b"), StepState::Skipped);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    assert!(!sim.core.is_finished(), "waits for the killed attempt");
    sim.finish("a", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("a"), StepState::Failed);
    assert!(sim.core.is_finished());
    assert!(
        sim.core
            .errors
            .iter()
            .any(|e| e.step.is_none() && e.kind == ErrorKind::Timeout)
    );
}

#[test]
fn cancel_kills_running_and_cancels_the_rest() {
    let p = plan().step("a").step("b").step_needs("c", &["a"]).build();
    let mut sim = Sim::new(p, cfg());
    let o = sim.cmd(Command::Cancel {
        operator: "bob".into(),
        reason: Some("wrong branch".into()),
    });
    assert!(o.is_accepted());
    assert_eq!(kills(&sim.last).len(), 2);
    assert_eq!(sim.state("c"), StepState::Cancelled);
    assert_eq!(sim.core.run_state(), RunState::Running);
    sim.finish("a", StepOutcome::Killed, vec![]);
    assert_eq!(sim.state("a"), StepState::Cancelled);
    assert!(!sim.core.is_finished());
    sim.finish("b", StepOutcome::Killed, vec![]);
    assert_eq!(sim.core.run_state(), RunState::Cancelled);
    assert!(sim.core.is_finished());
    let again = sim.cmd(Command::Cancel {
        operator: "bob".into(),
        reason: None,
    });
    assert!(refused(&again).contains("already finished"));
}

#[test]
fn outputs_validated_stored_templated_and_secret_ones_withheld() {
    let p = plan()
        .step("build")
        .output("version", Some(r"^\d+\.\d+$"))
        .step_needs("deploy", &["build"])
        .env("VERSION", out_ref(0, "build", "version"))
        .build();
    let mut c = cfg();
    c.secret_values = vec!["hunter2".into()];
    let mut sim = Sim::new(p, c);
    let fx = sim.finish(
        "build",
        StepOutcome::Exited { exit_code: 0 },
        vec![("version", "1.4"), ("token", "hunter2")],
    );
    let spec = spawn_of(&fx, "deploy").expect("deploy spawned");
    let env: BTreeMap<_, _> = spec.env.iter().cloned().collect();
    assert_eq!(env["VERSION"], "v=1.4");
    assert_eq!(env["BATON_RUN_ID"], "r1");
    assert_eq!(env["BATON_STEP_ID"], "deploy");
    assert_eq!(env["BATON_ATTEMPT"], "1");
    let v = sim.core.view(Timestamp(sim.now));
    // Withheld, not passed on as `***`, and said so in a low-severity record.
    assert!(!v.steps[0].outputs.contains_key("token"));
    let withheld = sim.open_errors("build");
    assert_eq!(withheld.len(), 1, "{withheld:?}");
    assert_eq!(withheld[0].severity, Severity::Low);
    assert!(
        withheld[0]
            .message
            .contains("output `token` contains a secret")
    );
    let json = serde_json::to_string(sim.core.events()).unwrap();
    assert!(!json.contains("hunter2"));
}

#[test]
fn mismatching_output_fails_and_unresolvable_template_is_template_error() {
    let p = plan()
        .step("build")
        .output("version", Some(r"^\d+$"))
        .step("a")
        .step_needs("b", &["a"])
        .env("X", out_ref(3, "a", "missing"))
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.finish(
        "build",
        StepOutcome::Exited { exit_code: 0 },
        vec![("version", "abc")],
    );
    assert_eq!(sim.state("build"), StepState::Failed);
    assert!(
        sim.open_errors("build")[0]
            .message
            .contains("does not match")
    );
    sim.exit("a", 0);
    assert_eq!(sim.state("b"), StepState::Failed);
    let e = &sim.open_errors("b")[0];
    assert_eq!(e.kind, ErrorKind::TemplateError);
    assert!(e.message.contains("steps.a.outputs.missing"));
}

#[test]
fn budget_usage_is_counted() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(baton_workflow::Budget {
                cost: Some(100.0),
                calls: None,
                tokens: None,
                ..Default::default()
            })
        })
        .step("a")
        .with(|s| s.cost = 1.5)
        .build();
    let mut sim = Sim::new(p, cfg());
    let step = sim.idx("a");
    sim.input(Input::StepExited(StepExit {
        step,
        attempt: 1,
        outcome: StepOutcome::Exited { exit_code: 0 },
        duration_ms: 5,
        outputs: vec![],
        usage: Usage {
            cost: 2.0,
            tokens: 300,
            calls: 0,
        },
        stderr_tail: String::new(),
    }));
    let b = sim.core.view(Timestamp(sim.now)).budget.expect("budget");
    assert_eq!((b.used_cost, b.used_calls, b.used_tokens), (3.5, 1, 300));
    assert_eq!(b.cost, Some((3.5, 100.0)));
}

#[test]
fn waiting_when_only_gates_are_open_and_view_lists_gate() {
    let p = plan()
        .step("a")
        .output("v", None)
        .output("unused", None)
        .step_needs("ship", &["a"])
        .env("V", out_ref(0, "a", "v"))
        .gate(gate())
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.finish(
        "a",
        StepOutcome::Exited { exit_code: 0 },
        vec![("v", "7"), ("unused", "x")],
    );
    assert_eq!(sim.state("ship"), StepState::WaitingApproval);
    assert_eq!(sim.core.run_state(), RunState::Waiting);
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(v.gates.len(), 1);
    // What the approver sees: the outputs the step consumes (not every output of its
    // needs), and its environment as it will run.
    assert_eq!(
        v.gates[0].needs_outputs,
        [("a".into(), "v".into(), "7".into())]
    );
    assert_eq!(v.gates[0].env, [("V".into(), "v=7".into())]);
    assert_eq!(v.gates[0].command, "echo ship");
    assert!(sim.approve("ship", "bob").is_accepted());
    assert_eq!(sim.core.run_state(), RunState::Running);
    assert_eq!(spawned(&sim.last), ["ship"]);
}
