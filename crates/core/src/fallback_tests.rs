//! Fallbacks in the core: alternatives tried in order once a step's retries are used,
//! each attempt's alternative on record, one gate over all of them, and replay.
use super::testkit::*;
use super::*;
use baton_model::{AuditAction, EventKind};
use baton_workflow::{Action, Alternative, RetryPolicy, Template};

/// A step `ask` whose command reads `MODEL` (`pro`), then alternatives that set it to
/// each of `models`, each with `attempts`.
fn router(models: &[(&str, u32)]) -> PlanBuilder {
    let fallback: Vec<Alternative> = models
        .iter()
        .map(|(m, attempts)| {
            let mut env = BTreeMap::new();
            env.insert("MODEL".to_string(), Template::literal(m.to_string()));
            Alternative {
                action: Action::Shell {
                    run: "./ask.sh".into(),
                },
                with: BTreeMap::new(),
                env,
                timeout: None,
                retry: RetryPolicy {
                    attempts: *attempts,
                    delay: secs(1),
                    ..RetryPolicy::default()
                },
                executor: None,
                line: 9,
            }
        })
        .collect();
    plan()
        .step("ask")
        .env("MODEL", Template::literal("pro"))
        .with(|s| {
            s.action = Action::Shell {
                run: "./ask.sh".into(),
            };
            s.fallback = fallback;
        })
}

fn env_of(spec: &SpawnSpec, key: &str) -> String {
    spec.env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[test]
fn the_first_alternative_that_succeeds_serves_with_its_outputs() {
    let p = router(&[("pro-1.5", 1), ("flash", 1)])
        .step_needs("use", &["ask"])
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    let first = spawn_of(&sim.last, "ask").expect("ask starts").clone();
    assert_eq!(env_of(&first, "MODEL"), "pro");
    assert_eq!(env_of(&first, "BATON_ALTERNATIVE"), "0");
    // pro fails: at once, attempt 2 runs alternative 1 (no retry delay between them).
    let fx = sim.exit("ask", 1);
    let second = spawn_of(&fx, "ask").expect("the fallback starts at once");
    assert_eq!(second.attempt, 2);
    assert_eq!(env_of(second, "MODEL"), "pro-1.5");
    assert_eq!(env_of(second, "BATON_ALTERNATIVE"), "1");
    let fell = sim.events_named("step_fell_back");
    assert!(matches!(
        &fell[0].kind,
        EventKind::StepFellBack { attempt: 1, alternative: 1, reason, .. } if reason == "exited with code 1"
    ));
    // It is on the audit chain as the engine's decision.
    let v = sim.core.view(Timestamp(sim.now));
    assert!(v.audit.iter().any(|a| a.action == AuditAction::Fallback
        && a.actor == "engine"
        && a.details == "attempt 1 failed; attempt 2 runs alternative 1"));
    // pro-1.5 succeeds: the step succeeded, served by alternative 1, with its outputs.
    let fx = sim.finish(
        "ask",
        StepOutcome::Exited { exit_code: 0 },
        vec![("answer", "from pro-1.5")],
    );
    assert_eq!(sim.state("ask"), StepState::Succeeded);
    assert_eq!(spawned(&fx), ["use"]);
    let v = sim.core.view(Timestamp(sim.now));
    let ask = &v.steps[sim.idx("ask")];
    assert_eq!(ask.alternative, 1);
    assert_eq!(ask.outputs["answer"], "from pro-1.5");
    assert_eq!(ask.fallback, ["MODEL=pro-1.5", "MODEL=flash"]);
    assert_eq!(
        ask.alternative_text().as_deref(),
        Some("served by alternative 1 of 2: MODEL=pro-1.5")
    );
    // The first attempt's error record names its alternative, and is closed.
    assert!(sim.open_errors("ask").is_empty());
    let rec = sim
        .core
        .errors
        .iter()
        .find(|e| e.step.as_deref() == Some("ask"));
    assert_eq!(rec.map(|r| r.context["alternative"].as_str()), Some("0"));
    // Replay folds the same: state, alternative, attempts.
    let again = Core::replay(p, cfg(), sim.core.events()).unwrap();
    let i = sim.idx("ask");
    assert_eq!(again.steps[i].alternative, 1);
    assert_eq!(again.steps[i].state, StepState::Succeeded);
    assert_eq!(again.steps[i].attempts, 2);
}

#[test]
fn each_alternative_has_its_own_retries_and_all_failing_fails_the_step() {
    let p = router(&[("pro-1.5", 2), ("flash", 1)]).build();
    let mut sim = Sim::new(p, cfg());
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(v.steps[0].max_attempts, 4, "1 + 2 + 1");
    sim.exit("ask", 1); // pro, attempt 1
    assert_eq!(sim.attempt("ask"), 2);
    sim.exit("ask", 1); // pro-1.5, attempt 2: it retries after its delay
    assert_eq!(sim.state("ask"), StepState::RetryWait);
    assert_eq!(sim.core.next_wakeup(), Some(Timestamp(sim.now + 1000)));
    let fx = sim.tick_at(1000);
    let third = spawn_of(&fx, "ask").expect("pro-1.5 again");
    assert_eq!(
        (third.attempt, env_of(third, "MODEL").as_str()),
        (3, "pro-1.5")
    );
    let fx = sim.exit("ask", 1); // pro-1.5's last: flash
    let fourth = spawn_of(&fx, "ask").expect("flash");
    assert_eq!(
        (fourth.attempt, env_of(fourth, "MODEL").as_str()),
        (4, "flash")
    );
    sim.exit("ask", 3); // flash fails: no alternative left
    assert_eq!(sim.state("ask"), StepState::Failed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
    // Every attempt is on record with the alternative it ran.
    let ran: Vec<(String, String)> = sim
        .core
        .errors
        .iter()
        .map(|e| {
            (
                e.context["attempt"].clone(),
                e.context["alternative"].clone(),
            )
        })
        .collect();
    let want = [("1", "0"), ("2", "1"), ("3", "1"), ("4", "2")];
    assert_eq!(
        ran,
        want.map(|(a, k)| (a.to_string(), k.to_string())).to_vec()
    );
    assert_eq!(sim.events_named("step_fell_back").len(), 2);
    let v = sim.core.view(Timestamp(sim.now));
    assert_eq!(
        v.steps[0].alternative_text().as_deref(),
        Some("every alternative failed (the last: alternative 2 of 2: MODEL=flash)")
    );
}

#[test]
fn an_operator_retry_starts_again_from_the_step_itself() {
    let p = router(&[("flash", 1)]).build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("ask", 1);
    sim.exit("ask", 1);
    assert_eq!(sim.state("ask"), StepState::Failed);
    let o = sim.cmd(Command::Retry {
        step: "ask".into(),
        operator: "olivia".into(),
    });
    assert!(o.is_accepted(), "{o:?}");
    let spec = spawn_of(&sim.last, "ask").expect("runs again");
    assert_eq!(spec.attempt, 3);
    assert_eq!(env_of(spec, "BATON_ALTERNATIVE"), "0");
    assert_eq!(env_of(spec, "MODEL"), "pro");
}

#[test]
fn a_gate_is_asked_once_and_its_digest_covers_every_alternative() {
    let build = |flash: &str| router(&[("pro-1.5", 1), (flash, 1)]).gate(gate()).build();
    let mut sim = Sim::new(build("flash"), cfg());
    let digest = |sim: &Sim| match &sim.events_named("gate_opened")[0].kind {
        EventKind::GateOpened { digest, .. } => digest.clone(),
        _ => unreachable!(),
    };
    let d = digest(&sim);
    // A change to the last alternative alone changes the digest.
    let other = Sim::new(build("flash-2"), cfg());
    assert_ne!(d, digest(&other));
    assert_eq!(d, digest(&Sim::new(build("flash"), cfg())));
    assert!(sim.approve("ask", "bob").is_accepted());
    sim.exit("ask", 1);
    sim.exit("ask", 1);
    sim.exit("ask", 0);
    assert_eq!(sim.state("ask"), StepState::Succeeded);
    assert_eq!(sim.events_named("gate_opened").len(), 1, "asked once");
    assert!(sim.events_named("gate_voided").is_empty());
    assert_eq!(sim.attempt("ask"), 3);
}

#[test]
fn a_resume_during_an_alternative_runs_it_again_not_the_step() {
    let p = router(&[("pro-1.5", 1), ("flash", 1)]).build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.exit("ask", 1);
    assert_eq!(sim.attempt("ask"), 2);
    // The engine dies while alternative 1 runs; a new one replays and resumes.
    let mut core = Core::replay(p, cfg(), sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(sim.now + 50));
    let spec = spawn_of(&fx, "ask").expect("the interrupted attempt runs again");
    assert_eq!(spec.attempt, 3);
    assert_eq!(env_of(spec, "MODEL"), "pro-1.5");
    assert_eq!(env_of(spec, "BATON_ALTERNATIVE"), "1");
}

#[test]
fn a_changed_alternative_voids_the_approval_before_anything_runs() {
    // `ask` (gated) and `first`, one at a time: `ask` is approved while `first` runs.
    let build = |flash: &str| {
        router(&[("pro-1.5", 1), (flash, 1)])
            .gate(gate())
            .step("first")
            .build()
    };
    let mut c = cfg();
    c.max_parallel = Some(1);
    let mut sim = Sim::new(build("flash"), c.clone());
    assert!(sim.approve("ask", "bob").is_accepted());
    assert_eq!(sim.state("ask"), StepState::Queued);
    // The engine dies before `ask` starts; its last alternative was edited meanwhile.
    let mut core = Core::replay(build("flash-2"), c, sim.core.events()).expect("replay");
    let fx = core.resume("olivia", Timestamp(sim.now + 10));
    let kinds = persisted(&fx);
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, EventKind::GateVoided { step, .. } if step == "ask")),
        "{kinds:?}"
    );
    assert!(spawn_of(&fx, "ask").is_none(), "nothing runs unapproved");
    assert_eq!(core.steps[0].state, StepState::WaitingApproval);
}
