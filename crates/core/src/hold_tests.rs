//! Hold and release (issue 43 point 1) on a fake clock: slots, freezing, the timeout's
//! clock, `--until`, run-level holds, `exhausted = "hold"`, and replay.
use super::testkit::*;
use super::*;
use baton_model::{AuditAction, EventKind};

fn hold(steps: &[&str], until: Option<i64>, freeze: bool) -> Command {
    Command::Hold {
        steps: steps.iter().map(|s| s.to_string()).collect(),
        operator: "alice".into(),
        reason: "change freeze".into(),
        until: until.map(|ms| Timestamp(T0 + ms)),
        freeze,
    }
}

fn release(steps: &[&str]) -> Command {
    Command::Release {
        steps: steps.iter().map(|s| s.to_string()).collect(),
        operator: "bob".into(),
        reason: "freeze over".into(),
    }
}

/// A held step that has not started takes no slot: with `max_parallel = 1`, the next
/// step starts in its place, and the held one starts only once released.
#[test]
fn a_held_step_takes_no_slot_and_starts_once_released() {
    let p = plan()
        .step("first")
        .step("a")
        .step("b")
        .max_parallel(1)
        .build();
    let mut sim = Sim::new(p, cfg());
    assert_eq!(spawned(&sim.last), ["first"]);
    assert_eq!(sim.state("a"), StepState::Queued);
    assert!(sim.cmd(hold(&["a"], None, false)).is_accepted());
    assert_eq!(sim.state("a"), StepState::Held);
    let fx = sim.exit("first", 0);
    assert_eq!(spawned(&fx), ["b"], "b takes the slot a would have");
    sim.exit("b", 0);
    assert_eq!(sim.state("a"), StepState::Held);
    assert_eq!(
        sim.core.run_state(),
        RunState::Waiting,
        "only a held step is left"
    );
    let v = sim.core.view(Timestamp(sim.now));
    let a = &v.steps[sim.idx("a")];
    let h = a.hold.as_ref().expect("the view shows the hold");
    assert_eq!(
        (h.by.as_str(), h.reason.as_str()),
        ("alice", "change freeze")
    );
    assert!(a.actions.release && !a.actions.hold);
    let fx = sim.input(command(release(&["a"])));
    assert_eq!(spawned(&fx), ["a"]);
    assert!(sim.core.steps[sim.idx("a")].more.hold.is_none());
    sim.exit("a", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
    let audit = sim.core.view(Timestamp(sim.now)).audit;
    let by = |act| {
        audit
            .iter()
            .find(|x| x.action == act)
            .map(|x| x.actor.clone())
    };
    assert_eq!(by(AuditAction::Hold).as_deref(), Some("alice"));
    assert_eq!(by(AuditAction::Release).as_deref(), Some("bob"));
}

/// A running step held is frozen (its group is stopped) and keeps its slot; its
/// timeout's clock stops while it is frozen and runs on with what was left.
#[test]
fn a_frozen_step_keeps_its_slot_and_its_timeout_waits() {
    let p = plan()
        .step("work")
        .with(|s| s.timeout = Some(secs(10)))
        .step("other")
        .max_parallel(1)
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("work");
    sim.at(4_000);
    let out = sim.cmd(hold(&["work"], None, false));
    assert!(out.is_accepted(), "{out:?}");
    let w = sim.idx("work");
    assert_eq!(freezes(&sim.last), [(w, true)]);
    assert_eq!(sim.state("work"), StepState::Running, "frozen, not moved");
    assert_eq!(
        sim.state("other"),
        StepState::Queued,
        "its slot is still its own"
    );
    assert_eq!(sim.core.run_state(), RunState::Waiting);
    // Frozen for an hour: the 10 s timeout does not fire.
    assert!(kills(&sim.tick_at(3_600_000)).is_empty());
    assert_eq!(sim.core.next_wakeup(), None);
    let fx = sim.input(command(release(&["work"])));
    assert_eq!(freezes(&fx), [(w, false)]);
    assert_eq!(sim.core.run_state(), RunState::Running);
    // 6 s of its 10 were left: it times out 6 s after the release, not before.
    assert!(kills(&sim.tick_at(3_605_999)).is_empty());
    assert_eq!(kills(&sim.tick_at(3_606_000)), [w]);
}

/// The view keeps each freeze of the attempt, so a reader stops its clocks with the
/// engine's: frozen, the timeout has what was left of it; released, it fires where the
/// engine moved it (start + timeout + time frozen), not at start + timeout.
#[test]
fn the_view_says_when_a_frozen_steps_timeout_fires_as_the_engine_moved_it() {
    use baton_model::TimeoutDue;
    let p = plan()
        .step("work")
        .with(|s| s.timeout = Some(secs(10)))
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.started("work");
    sim.at(4_000);
    assert!(sim.cmd(hold(&["work"], None, false)).is_accepted());
    sim.at(48_000);
    let v = sim.core.view(Timestamp(sim.now));
    let w = &v.steps[sim.idx("work")];
    assert!(w.is_frozen());
    assert_eq!(w.frozen_for(Timestamp(sim.now)), secs(44));
    assert_eq!(
        w.timeout_due(Timestamp(sim.now)),
        Some(TimeoutDue::Stopped(secs(6)))
    );
    sim.input(command(release(&["work"])));
    sim.at(50_000);
    let v = sim.core.view(Timestamp(sim.now));
    let w = &v.steps[sim.idx("work")];
    assert!(!w.is_frozen());
    assert_eq!(w.freezes.len(), 1);
    assert_eq!(w.freezes[0].to, Some(Timestamp(T0 + 48_000)));
    assert_eq!(
        w.timeout_due(Timestamp(sim.now)),
        Some(TimeoutDue::At(Timestamp(T0 + 54_000)))
    );
    assert!(kills(&sim.tick_at(53_999)).is_empty());
    assert_eq!(kills(&sim.tick_at(54_000)), [sim.idx("work")]);
}

/// `--until` releases by itself, on record as the engine.
#[test]
fn until_releases_the_step_by_itself() {
    let mut sim = Sim::new(plan().step("a").step_needs("b", &["a"]).build(), cfg());
    assert!(sim.cmd(hold(&["b"], Some(60_000), false)).is_accepted());
    sim.exit("a", 0);
    assert_eq!(
        sim.state("b"),
        StepState::Held,
        "its need succeeded; it stays held"
    );
    assert!(spawned(&sim.tick_at(59_999)).is_empty());
    assert_eq!(spawned(&sim.tick_at(60_000)), ["b"]);
    let released = sim.events_named("step_released");
    let EventKind::StepReleased { actor, .. } = &released[0].kind else {
        panic!()
    };
    assert_eq!(actor, "engine");
    sim.at(70_000);
    assert!(refused(&sim.cmd(hold(&["a"], Some(1_000), false))).contains("not in the future"));
}

/// Holding the run holds every step that has not started; `--freeze` freezes the
/// running ones too; a release with no step releases them all.
#[test]
fn a_run_hold_holds_what_has_not_started_and_freeze_the_rest() {
    let p = plan().step("a").step_needs("b", &["a"]).step("c").build();
    let mut sim = Sim::new(p, cfg());
    sim.started("a");
    sim.started("c");
    assert!(sim.cmd(hold(&[], None, false)).is_accepted());
    assert_eq!(sim.state("b"), StepState::Held);
    assert!(
        freezes(&sim.last).is_empty(),
        "running steps go on without --freeze"
    );
    let out = sim.cmd(hold(&[], None, true));
    assert!(out.is_accepted(), "{out:?}");
    let mut frozen = freezes(&sim.last);
    frozen.sort();
    assert_eq!(frozen, [(sim.idx("a"), true), (sim.idx("c"), true)]);
    assert!(refused(&sim.cmd(hold(&["a"], None, false))).contains("already held"));
    sim.cmd(release(&[]));
    assert_eq!(freezes(&sim.last).len(), 2);
    assert_eq!(sim.state("b"), StepState::Pending);
    sim.exit("a", 0);
    assert_eq!(sim.state("b"), StepState::Running);
    assert!(refused(&sim.cmd(release(&["b"]))).contains("not held"));
}

/// A cancel kills a frozen step (the driver continues it so that it takes the signal)
/// and cancels a held one.
#[test]
fn a_cancel_ends_held_and_frozen_steps() {
    let mut sim = Sim::new(plan().step("a").step_needs("b", &["a"]).build(), cfg());
    sim.started("a");
    sim.cmd(hold(&[], None, true));
    let fx = sim.input(command(Command::Cancel {
        operator: "carol".into(),
        reason: None,
    }));
    assert_eq!(kills(&fx), [sim.idx("a")]);
    assert_eq!(sim.state("b"), StepState::Cancelled);
    sim.finish("a", StepOutcome::Killed, vec![]);
    assert_eq!(sim.core.run_state(), RunState::Cancelled);
    assert_eq!(sim.core.frozen, 0);
}

/// `retry = { exhausted = "hold" }`: a step whose retries ran out waits, held, for a
/// retry, a mark or a release (which fails it as it would have).
#[test]
fn exhausted_retries_hold_the_step_for_a_person() {
    let p = plan()
        .step("flaky")
        .with(|s| s.retry.hold_when_exhausted = true)
        .step_needs("after", &["flaky"])
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("flaky", 1);
    assert_eq!(sim.state("flaky"), StepState::Held);
    assert_eq!(sim.core.run_state(), RunState::Waiting);
    let v = sim.core.view(Timestamp(sim.now));
    let s = &v.steps[sim.idx("flaky")];
    assert!(
        s.hold
            .as_ref()
            .is_some_and(|h| h.exhausted && h.by == "engine")
    );
    assert!(s.actions.retry && s.actions.release && s.actions.mark_succeeded);
    let items = baton_model::inbox::waiting(&v, "alice");
    assert!(
        items
            .iter()
            .any(|w| w.kind == baton_model::inbox::WaitKind::Held && w.step == "flaky"),
        "{items:?}"
    );
    // Retried: it runs again.
    let fx = sim.input(command(Command::Retry {
        step: "flaky".into(),
        operator: "bob".into(),
    }));
    assert_eq!(spawned(&fx), ["flaky"]);
    sim.exit("flaky", 1);
    assert_eq!(sim.state("flaky"), StepState::Held);
    // Released: it fails as it would have, and its dependant cannot run.
    sim.cmd(release(&["flaky"]));
    assert_eq!(sim.state("flaky"), StepState::Failed);
    assert_eq!(sim.state("after"), StepState::UpstreamFailed);
    assert_eq!(sim.core.run_state(), RunState::Failed);
}

/// The hold is in the history: a replay folds the same held and frozen steps, with
/// the frozen one's timeout still stopped.
#[test]
fn a_replay_keeps_the_holds() {
    let p = plan()
        .step("a")
        .with(|s| s.timeout = Some(secs(10)))
        .step("b")
        .max_parallel(1)
        .build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("a");
    sim.at(2_000);
    sim.cmd(hold(&[], None, true));
    assert_eq!(sim.state("b"), StepState::Held);
    let events = sim.core.events().to_vec();
    let again = Core::replay(p, cfg(), &events).expect("replay");
    let (a, b) = (sim.idx("a"), sim.idx("b"));
    assert_eq!(again.steps[b].state, StepState::Held);
    let h = again.steps[a].more.hold.as_ref().expect("still frozen");
    assert!(h.frozen);
    assert_eq!(h.timeout_left, Some(secs(8)));
    assert_eq!(again.frozen, 1);
    assert_eq!(again.next_wakeup(), None);
}

/// What cannot be held or frozen is refused with a reason, on record.
#[test]
fn holds_that_cannot_apply_are_refused() {
    let p = plan()
        .step("done")
        .step("wait")
        .with(|s| {
            s.action = baton_workflow::Action::Builtin(Builtin::Sleep);
            let five = baton_workflow::Template::literal("5s");
            s.with.insert("DURATION".into(), five);
        })
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.exit("done", 0);
    assert!(
        refused(&sim.cmd(hold(&["done"], None, false))).contains("only a step that has not ended")
    );
    assert!(refused(&sim.cmd(hold(&["wait"], None, false))).contains("built-in"));
    assert!(refused(&sim.cmd(hold(&["nope"], None, false))).contains("no step named"));
    let no_reason = Command::Hold {
        steps: vec![],
        operator: "alice".into(),
        reason: " ".into(),
        until: None,
        freeze: false,
    };
    assert!(refused(&sim.cmd(no_reason)).contains("reason is required to hold"));
    assert_eq!(sim.events_named("command_refused").len(), 3);
}

/// A frozen local step not adopted (its group gone, no longer its own, or its exit
/// not to be seen here: `adopt_frozen` not called): resume stops what is left of it
/// and, the step being idempotent, holds it again instead of running it, so the
/// operator's hold still stands.
#[test]
fn a_resume_holds_a_frozen_local_step_again_instead_of_running_it() {
    let p = plan().step("a").build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("a");
    sim.cmd(hold(&["a"], None, false));
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, cfg(), &events).expect("replay");
    let fx = again.resume("olivia", Timestamp(T0 + 5_000));
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::KillStale { pgid: 1000 }))
    );
    assert!(spawned(&fx).is_empty(), "a held step does not run");
    let a = &again.steps[0];
    assert_eq!(a.state, StepState::Held);
    let h = a.more.hold.as_ref().expect("held again");
    assert_eq!(h.by, "alice");
    assert!(!h.frozen && h.reason.contains("frozen when the engine stopped"));
    let fx = again.handle(command(release(&["a"])), Timestamp(T0 + 6_000));
    assert_eq!(spawned(&fx), ["a"]);
}

/// A frozen local step whose process group outlived its engine, still stopped and
/// still its own (the session's look at `/proc`), is adopted: resume follows it
/// (`Reattach` on the local executor, its group id for a job id), still running and
/// frozen, attempt 1, not stopped as stale; a release thaws it, and its exit ends
/// attempt 1. A group that is not the recorded one is not adopted.
#[test]
fn a_resume_adopts_a_frozen_local_step_whose_group_outlived_the_engine() {
    let p = plan().step("a").build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("a");
    sim.cmd(hold(&["a"], None, false));
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, cfg(), &events).expect("replay");
    assert_eq!(again.frozen_local(), [(0, "a".to_string(), 1, 1000)]);
    assert!(!again.adopt_frozen(0, 1, 1001), "another group");
    assert!(!again.adopt_frozen(0, 2, 1000), "another attempt");
    assert!(again.adopt_frozen(0, 1, 1000));
    assert_eq!(again.adopted_groups(), [1000]);
    let fx = again.resume("olivia", Timestamp(T0 + 5_000));
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::KillStale { .. })),
        "not stopped as stale"
    );
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Reattach { executor, job_id, spec, frozen: true } if executor == "local" && job_id == "1000" && spec.attempt == 1
    )));
    let a = &again.steps[0];
    assert_eq!(a.state, StepState::Running);
    assert_eq!(a.attempts, 1);
    assert!(
        a.more
            .hold
            .as_ref()
            .is_some_and(|h| h.frozen && h.by == "alice")
    );
    // Its group reported again by the driver: already on record.
    let fx = again.handle(
        Input::ProcessStarted {
            step: 0,
            attempt: 1,
            pgid: 1000,
            output: None,
        },
        Timestamp(T0 + 5_100),
    );
    assert!(fx.is_empty(), "{fx:?}");
    let fx = again.handle(command(release(&["a"])), Timestamp(T0 + 6_000));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Thaw {
            step: 0,
            attempt: 1
        }
    )));
    assert!(spawned(&fx).is_empty(), "continued, not run again");
}

/// A frozen step whose job outlived its engine (an SSH host's process group, a Slurm
/// job) is re-attached on resume born frozen (`Reattach { frozen: true }`, no separate
/// `Freeze` for a handle that does not exist yet); a release decided in the same
/// wake-up (`baton release` taking the run over) thaws it after, so the driver's
/// latest wish for it is "continue", carried to a handle that knows it was frozen. A
/// step that was not held is re-attached not frozen.
#[test]
fn a_resume_reattaches_a_frozen_job_born_frozen_and_a_release_then_thaws_it() {
    let p = plan().step("a").step("b").build();
    let mut sim = Sim::new(p.clone(), cfg());
    for (id, job) in [("a", "4242"), ("b", "4343")] {
        sim.job_started(id, job);
    }
    sim.cmd(hold(&["a"], None, true));
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, cfg(), &events).expect("replay");
    let now = Timestamp(T0 + 5_000);
    let mut fx = again.resume("olivia", now);
    fx.extend(again.handle(command(release(&["a"])), now));
    let reattached: Vec<(&str, bool)> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Reattach { job_id, frozen, .. } => Some((job_id.as_str(), *frozen)),
            _ => None,
        })
        .collect();
    assert_eq!(reattached, [("4242", true), ("4343", false)]);
    assert_eq!(
        freezes(&fx),
        [(0, false)],
        "only the release's thaw: {fx:?}"
    );
    assert!(spawned(&fx).is_empty(), "continued, not run again");
    assert!(again.steps[0].more.hold.is_none());
}

/// An adopted frozen step whose tracing the system refused (the driver tried ahead
/// of the release: `trace_refused`) is not released: the release is refused on
/// record with `trace_refused`, no `Thaw` is decided, the step stays running, frozen
/// and held. A cancel still stops it (`Kill`: a signal needs no trace). Once traced,
/// a release thaws it. Only a release names adopted steps for the driver to trace.
#[test]
fn a_release_of_an_adopted_step_whose_tracing_was_refused_is_refused_and_it_stays_frozen() {
    let p = plan().step("a").step("b").build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("a");
    sim.started("b");
    sim.cmd(hold(&["a"], None, false));
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, cfg(), &events).expect("replay");
    assert!(again.adopt_frozen(0, 1, 1000));
    let _ = again.resume("olivia", Timestamp(T0 + 5_000));
    assert_eq!(again.adopted_to_release(&release(&["a"])), [(0, 1)]);
    assert_eq!(again.adopted_to_release(&release(&[])), [(0, 1)]);
    assert!(again.adopted_to_release(&release(&["b"])).is_empty());
    assert!(
        again
            .adopted_to_release(&hold(&["a"], None, false))
            .is_empty()
    );
    again.trace_refused(0, 1, Some("Operation not permitted (os error 1)".into()));
    for steps in [&["a"][..], &[]] {
        let fx = again.handle(
            Input::Command {
                id: Some(7),
                command: release(steps),
            },
            Timestamp(T0 + 6_000),
        );
        let refusal = fx.iter().find_map(|e| match e {
            Effect::CommandDone {
                outcome: CommandOutcome::Refused(r),
                ..
            } => Some(r.clone()),
            _ => None,
        });
        let refusal = refusal.expect("refused");
        assert_eq!(refusal.code(), "trace_refused", "{refusal}");
        let text = refusal.to_string();
        assert!(text.contains("`a` stays frozen"), "{text}");
        assert!(text.contains("Operation not permitted"), "{text}");
        assert!(text.contains("baton cancel"), "{text}");
        assert!(freezes(&fx).is_empty(), "nothing thawed: {fx:?}");
        let a = &again.steps[0];
        assert_eq!(a.state, StepState::Running);
        assert!(a.more.hold.as_ref().is_some_and(|h| h.frozen), "still held");
    }
    let refused_on_record = again
        .events()
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::CommandRefused { code: Some(c), .. } if c == "trace_refused"))
        .count();
    assert_eq!(refused_on_record, 2);
    // Traced on a later try: released, it is thawed.
    let mut traced = again.clone();
    traced.trace_refused(0, 1, None);
    let fx = traced.handle(command(release(&["a"])), Timestamp(T0 + 7_000));
    assert_eq!(freezes(&fx), [(0, false)]);
    // A cancel stops it as any running step.
    let fx = again.handle(
        command(Command::Cancel {
            operator: "bob".into(),
            reason: None,
        }),
        Timestamp(T0 + 8_000),
    );
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Kill {
                step: 0,
                attempt: 1
            }
        )),
        "{fx:?}"
    );
}

/// A thaw the driver could not carry out (a release decided without tracing the
/// adopted step first: `--until`, a takeover by `baton release`): tracing it was
/// refused and it was sent nothing, so the core holds it again on record, by the
/// engine saying why, frozen; a release of it is then refused until it can be traced.
/// A late report for another attempt, or for a step held already, changes nothing.
#[test]
fn a_thaw_refused_by_tracing_holds_the_adopted_step_again() {
    let p = plan().step("a").build();
    let mut sim = Sim::new(p.clone(), cfg());
    sim.started("a");
    sim.cmd(hold(&["a"], None, false));
    let events = sim.core.events().to_vec();
    let mut again = Core::replay(p, cfg(), &events).expect("replay");
    assert!(again.adopt_frozen(0, 1, 1000));
    let _ = again.resume("olivia", Timestamp(T0 + 5_000));
    let fx = again.handle(command(release(&["a"])), Timestamp(T0 + 6_000));
    assert_eq!(freezes(&fx), [(0, false)]);
    let refused = |attempt| Input::ThawRefused {
        step: 0,
        attempt,
        why: "tracing its process was refused: Operation not permitted (os error 1)".into(),
    };
    assert!(freezes(&again.handle(refused(2), Timestamp(T0 + 6_100))).is_empty());
    assert!(
        again.steps[0].more.hold.is_none(),
        "another attempt's: nothing"
    );
    let fx = again.handle(refused(1), Timestamp(T0 + 6_100));
    assert_eq!(freezes(&fx), [(0, true)], "frozen again: {fx:?}");
    let a = &again.steps[0];
    assert_eq!(a.state, StepState::Running);
    let h = a.more.hold.as_ref().expect("held again");
    assert!(h.frozen && h.by == baton_model::history::ENGINE, "{h:?}");
    assert!(h.reason.contains("Operation not permitted"), "{}", h.reason);
    assert!(freezes(&again.handle(refused(1), Timestamp(T0 + 6_200))).is_empty());
    let fx = again.handle(
        Input::Command {
            id: Some(7),
            command: release(&["a"]),
        },
        Timestamp(T0 + 7_000),
    );
    assert!(freezes(&fx).is_empty());
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::CommandDone { outcome: CommandOutcome::Refused(r), .. } if r.code() == "trace_refused"
    )));
}

/// Steps `ids`, each started and held frozen, then adopted by a core replaying the
/// run (a takeover), `untraced` told as refused by tracing (attempt 1), the others
/// traced.
fn adopted_frozen(p: Arc<Plan>, ids: &[&str], untraced: &[&str]) -> Sim {
    let mut sim = Sim::new(p.clone(), cfg());
    for id in ids {
        sim.started(id);
    }
    assert!(sim.cmd(hold(ids, None, true)).is_accepted());
    let events = sim.core.events().to_vec();
    let mut core = Core::replay(p, cfg(), &events).expect("replay");
    for (n, id) in ids.iter().enumerate() {
        let i = core.plan.step_index(id).expect("step");
        assert!(core.adopt_frozen(i, 1, 1000 + n as i32));
    }
    let now = T0 + 5_000;
    let last = core.resume("olivia", Timestamp(now));
    for id in ids {
        let i = core.plan.step_index(id).expect("step");
        let why = untraced
            .contains(id)
            .then(|| "Operation not permitted (os error 1)".to_string());
        core.trace_refused(i, 1, why);
    }
    Sim { core, now, last }
}

fn code(o: &CommandOutcome) -> &'static str {
    match o {
        CommandOutcome::Refused(r) => r.code(),
        CommandOutcome::Accepted { message } => panic!("accepted: {message}"),
    }
}

/// The "could not trace" of an adopted attempt concerns that attempt only: once it
/// ended (killed while frozen) and the step is held again before its retry, and
/// again once the retry runs and is frozen, a release of it is an ordinary one.
#[test]
fn an_untraced_attempt_that_ended_does_not_block_a_later_release_of_its_step() {
    let p = plan().step("a").retry(3, 60).build();
    let mut sim = adopted_frozen(p, &["a"], &["a"]);
    assert_eq!(code(&sim.cmd(release(&["a"]))), "trace_refused");
    sim.at(6_000);
    sim.exit("a", 137);
    assert_ne!(sim.state("a"), StepState::Running, "attempt 1 ended");
    if sim.core.steps[0].more.hold.is_none() {
        assert!(sim.cmd(hold(&["a"], None, false)).is_accepted());
    }
    let out = sim.cmd(release(&["a"]));
    assert!(out.is_accepted(), "held before its retry: {out:?}");
    sim.tick_at(70_000);
    assert_eq!(sim.attempt("a"), 2);
    sim.started("a");
    assert!(sim.cmd(hold(&["a"], None, true)).is_accepted());
    let out = sim.cmd(release(&["a"]));
    assert!(out.is_accepted(), "attempt 2 frozen: {out:?}");
    assert_eq!(freezes(&sim.last), [(0, false)], "thawed");
}

/// A release of the whole run with one adopted step that could not be traced
/// releases the others, keeps that one frozen and says so in its answer; a release
/// naming it is refused (nothing released), and so is one of the whole run when
/// only untraceable steps are held.
#[test]
fn a_run_wide_release_lets_the_traced_steps_run_and_keeps_the_untraced_frozen() {
    let p = plan().step("a").step("b").build();
    let mut sim = adopted_frozen(p, &["a", "b"], &["a"]);
    let named = sim.cmd(release(&["a", "b"]));
    assert_eq!(code(&named), "trace_refused");
    assert!(
        freezes(&sim.last).is_empty(),
        "nothing thawed: {:?}",
        sim.last
    );
    let out = sim.cmd(release(&[]));
    let CommandOutcome::Accepted { message } = &out else {
        panic!("accepted: {out:?}");
    };
    assert!(message.contains("released 1 step(s)"), "{message}");
    assert!(message.contains("`a` stays frozen"), "{message}");
    assert!(message.contains("Operation not permitted"), "{message}");
    assert_eq!(freezes(&sim.last), [(1, false)], "b thawed, a not");
    let a = &sim.core.steps[0];
    assert_eq!(a.state, StepState::Running);
    assert!(
        a.more.hold.as_ref().is_some_and(|h| h.frozen),
        "a still frozen"
    );
    assert!(sim.core.steps[1].more.hold.is_none());
    assert_eq!(code(&sim.cmd(release(&[]))), "trace_refused");
    assert!(freezes(&sim.last).is_empty());
}

/// A command as the console or the CLI hands it to the core, with no id to answer.
fn command(command: Command) -> Input {
    Input::Command { id: None, command }
}
