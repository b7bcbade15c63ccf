//! One test per rule, on a fake clock.
use super::testkit::*;
use super::*;
use crate::model::{AuditAction, ErrorKind, EventKind, Severity};
use crate::workflow::{
    Action, Builtin, OnTimeout, Template, TemplateRef, TemplateSegment, Trigger,
};

fn out_ref(step: usize, id: &str, key: &str) -> Template {
    Template {
        segments: vec![
            TemplateSegment::Literal("v=".into()),
            TemplateSegment::Ref(TemplateRef::StepOutput {
                step,
                step_id: id.into(),
                key: key.into(),
            }),
        ],
    }
}

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
        .step_needs("b", &["a"]) // all_success: skipped
        .step_needs("c", &["b"]) // skipped need: skipped
        .step_needs("d", &["a"])
        .when(Trigger::AnyFailed)
        .step_needs("e", &["b"])
        .when(Trigger::AllDone)
        .step("f")
        .step_needs("g", &["f"])
        .when(Trigger::AnyFailed)
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("f", 0);
    assert_eq!(
        sim.state("g"),
        StepState::Skipped,
        "any_failed with no failed need"
    );
    let fx = sim.exit("a", 1);
    assert_eq!(sim.state("b"), StepState::Skipped);
    assert_eq!(sim.state("c"), StepState::Skipped);
    assert_eq!(spawned(&fx), ["d", "e"]);
    let dep = sim.open_errors("b");
    assert_eq!(dep.len(), 1);
    assert_eq!(dep[0].kind, ErrorKind::DependencyFailed);
    assert!(
        sim.open_errors("c").is_empty(),
        "transitive skips are not errors"
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
            s.retry = crate::workflow::RetryPolicy {
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
            p.budget = Some(crate::workflow::Budget {
                cost: Some(100.0),
                calls: None,
                tokens: None,
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

// ---- B: gates, commands, budget, saga --------------------------------------------

fn gated(g: crate::workflow::Gate) -> Arc<Plan> {
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
        .when(Trigger::AnyFailed)
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
    assert_eq!(sim.state("after"), StepState::Skipped);
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
}

#[test]
fn budget_gate_blocks_then_raise_continues() {
    let p = plan()
        .plan_mut(|p| {
            p.budget = Some(crate::workflow::Budget {
                cost: None,
                calls: Some(1),
                tokens: None,
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
            p.budget = Some(crate::workflow::Budget {
                cost: Some(0.5),
                calls: Some(1),
                tokens: None,
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
            p.budget = Some(crate::workflow::Budget {
                cost: Some(1.0),
                calls: None,
                tokens: None,
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
    let EventKind::RunFinished { summary, state } = &sim.events_named("run_finished")[0].kind
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
        .gate(crate::workflow::Gate {
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
    let job = v.steps[step].job.clone().expect("a job");
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
        replayed.view(Timestamp(T0 + 9_000)).steps[step].job,
        v.steps[step].job
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

fn cached_plan() -> Arc<crate::workflow::Plan> {
    plan()
        .plan_mut(|p| {
            p.budget = Some(crate::workflow::Budget {
                cost: Some(10.0),
                calls: Some(10),
                tokens: None,
            })
        })
        .step("build")
        .with(|s| {
            s.cache = Some(crate::workflow::CacheSpec::default());
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
        .with(|s| s.cache = Some(crate::workflow::CacheSpec::default()))
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
