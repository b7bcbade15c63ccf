//! Store: migrations, commit and replay, projections, run lookup, commands, change
//! detection and leases.

use crate::helpers::*;
use baton::model::{
    Command, CommandOutcome, ErrorKind, EventKind, Refusal, RunState, StepState, Timestamp,
};
use baton::store::{Claimed, LeaseOutcome, SCHEMA_VERSION, Store, StoreError};
use std::time::Duration;

#[test]
fn migrations_apply_once_and_reopen_is_idempotent() {
    let db = db();
    let s = Store::open(&db.path).unwrap();
    drop(s);
    let _again = Store::open(&db.path).unwrap();
    let c = raw(&db);
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let n: i64 = c
        .query_row("SELECT count(*) FROM migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, SCHEMA_VERSION);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    for table in [
        "runs",
        "steps",
        "attempts",
        "events",
        "approvals",
        "errors",
        "commands",
        "audit",
        "leases",
        "meta",
    ] {
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "table {table}");
    }
}

#[test]
fn committed_events_replay_in_order_and_the_run_record_round_trips() {
    let db = db();
    let mut s = store_with_run(&db, "01RUNA");
    let mut sc = Script::new("01RUNA");
    sc.started().ok_step("build");
    let first = sc.take();
    s.commit("01RUNA", &first).unwrap();
    sc.ok_step("test").run_finished(RunState::Succeeded);
    let second = sc.take();
    s.commit("01RUNA", &second).unwrap();
    let all: Vec<_> = first.iter().chain(&second).cloned().collect();
    assert_eq!(s.events("01RUNA").unwrap(), all);

    let r = s.run("01RUNA").unwrap();
    assert_eq!(r.workflow, "release");
    assert_eq!(r.source_text, "name = \"release\"\n");
    assert_eq!(r.operator, "alice");
    assert_eq!(r.state, RunState::Succeeded);
    assert_eq!(r.last_seq, all.len() as u64);
    assert!(r.params_json.contains("***"));
    assert!(matches!(s.run("nope"), Err(StoreError::NotFound(_))));
}

#[test]
fn a_failed_commit_leaves_nothing_behind() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    let mut sc = Script::new("R1");
    sc.started();
    let evs = sc.take();
    s.commit("R1", &evs).unwrap();
    // A batch that repeats seq 1 violates (run_id, seq) uniqueness: all of it rolls back.
    let mut sc2 = Script::new("R1");
    sc2.seq = 1;
    sc2.ok_step("a");
    let mut bad = sc2.take();
    bad.push(evs[0].clone());
    assert!(s.commit("R1", &bad).is_err());
    assert_eq!(s.events("R1").unwrap(), evs);
    // Events are append-only even through plain SQL.
    let c = raw(&db);
    let steps: i64 = c
        .query_row("SELECT count(*) FROM steps WHERE run_id = 'R1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(steps, 0);
    assert!(c.execute("DELETE FROM events", []).is_err());
    assert!(c.execute("UPDATE events SET type = 'x'", []).is_err());
}

#[test]
fn projections_follow_steps_attempts_outputs_errors_and_approvals() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    let mut sc = Script::new("R1");
    sc.started()
        .state("build", StepState::Queued, 1)
        .state("build", StepState::Running, 1)
        .push(EventKind::StepProcess {
            step: "build".into(),
            attempt: 1,
            pgid: 4242,
            output: None,
        })
        .finished("build", 1, 0, &[("version", "1.2.3")])
        .state("build", StepState::Succeeded, 1)
        // test fails once, then succeeds on attempt 2
        .state("test", StepState::Running, 1)
        .finished("test", 1, 2, &[])
        .error("test", 1, ErrorKind::ExitNonzero, "exit status 2")
        .state("test", StepState::RetryWait, 1)
        .state("test", StepState::Running, 2)
        .finished("test", 2, 0, &[])
        .state("test", StepState::Succeeded, 2)
        // lint fails for good
        .state("lint", StepState::Running, 1)
        .finished("lint", 1, 1, &[])
        .error("lint", 1, ErrorKind::ExitNonzero, "lint errors")
        .state("lint", StepState::Failed, 1)
        // the gate: opened, a refused vote, a vote, approved
        .state("deploy", StepState::WaitingApproval, 0)
        .gate_opened("deploy", "abc", &["bob"])
        .vote_refused("deploy", "alice", "self-approval is not allowed")
        .approved("deploy", "bob", "lgtm", "abc");
    let evs = sc.take();
    s.commit("R1", &evs).unwrap();

    // What queries across runs read: each step's state, attempts and timeout; a step's
    // exit, times and outputs are its replayed core's (`session::inspect`).
    let c = raw(&db);
    let steps: Vec<(String, String, i64, bool)> = c
        .prepare("SELECT step_id, state, attempts, timed_out FROM steps WHERE run_id='R1' ORDER BY step_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let row =
        |id: &str, state: &str, attempts: i64| (id.to_string(), state.to_string(), attempts, false);
    assert_eq!(
        steps,
        [
            row("build", "succeeded", 1),
            row("deploy", "waiting_approval", 0),
            row("lint", "failed", 1),
            row("test", "succeeded", 2),
        ]
    );
    // The test step's error was closed by its later success; lint's stays open.
    let errors: Vec<(String, bool)> = c
        .prepare("SELECT step, open FROM errors WHERE run_id='R1' ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(errors, [("test".to_string(), false), ("lint".into(), true)]);
    let durations: Vec<i64> = c
        .prepare("SELECT duration_ms FROM attempts WHERE run_id='R1' AND step_id='build'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(durations, [1200]);
    let attempts: i64 = c
        .query_row(
            "SELECT count(*) FROM attempts WHERE run_id='R1' AND step_id='test'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(attempts, 2);
    let kinds: Vec<(String, String)> = c
        .prepare("SELECT kind, actor FROM approvals WHERE run_id='R1' ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        kinds,
        [
            ("opened".to_string(), "engine".to_string()),
            ("refused".into(), "alice".into()),
            ("vote".into(), "bob".into()),
            ("approved".into(), "bob".into())
        ]
    );

    // Summary line for `baton runs`.
    let list = s.list_runs().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].steps_total, 4);
    assert_eq!(list[0].steps_done, 3);
    // Of four steps: test's retry costs 12.5, lint's failure 25, its open record 10.
    assert_eq!(list[0].health, Some(52.5));
}

#[test]
fn attempt_logs_and_tails_are_recorded() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    let dir = s.log_dir("R1");
    // Named, not made: only the run's engine makes it, its own (`own_files`).
    assert!(!dir.exists());
    baton::own_files::make_dir(&dir).unwrap();
    assert!(dir.starts_with(db.path.parent().unwrap()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let p1 = dir.join("build.1.log");
    let p2 = dir.join("build.2.log");
    s.set_attempt_log("R1", "build", 1, &p1, "first").unwrap();
    s.set_attempt_log("R1", "build", 2, &p2, &"x".repeat(100_000))
        .unwrap();
    assert_eq!(
        s.attempt_logs("R1", "build").unwrap(),
        vec![(1, p1), (2, p2.clone())]
    );
    let mut sc = Script::new("R1");
    sc.state("build", StepState::Running, 2);
    let evs = sc.take();
    s.commit("R1", &evs).unwrap();
    // The latest attempt's tail, bounded.
    let tails = s.attempt_tails("R1").unwrap();
    assert_eq!(
        tails.get("build").map(String::len),
        Some(baton::store::LOG_TAIL_MAX)
    );
}

#[test]
fn run_prefixes_resolve_uniquely_or_say_why_not() {
    let db = db();
    let mut s = Store::open(&db.path).unwrap();
    for (i, id) in ["01HAAA1", "01HAAB2", "01HBCC3"].iter().enumerate() {
        s.create_run(&new_run(id, 1000 + i as i64)).unwrap();
    }
    assert_eq!(s.resolve_run("01HB").unwrap(), "01HBCC3");
    assert_eq!(s.resolve_run("01HAAA1").unwrap(), "01HAAA1");
    match s.resolve_run("01HA") {
        Err(StoreError::Ambiguous {
            prefix, matches, ..
        }) => {
            assert_eq!(prefix, "01HA");
            assert_eq!(matches, ["01HAAA1", "01HAAB2"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(s.resolve_run("zz"), Err(StoreError::NotFound(_))));
    assert!(matches!(
        s.resolve_run("01H_"),
        Err(StoreError::NotFound(_))
    ));
    // newest first
    let ids: Vec<_> = s.list_runs().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, ["01HBCC3", "01HAAB2", "01HAAA1"]);
}

#[test]
fn commands_cross_between_two_stores_on_one_file() {
    let db = db();
    let _engine_side = store_with_run(&db, "R1");
    let mut engine = Store::open(&db.path).unwrap();
    let mut cli = Store::open(&db.path).unwrap();
    let id = a_row_in_anothers_name_is_claimed_once_unproven(&mut engine, &mut cli);
    let mine = my_own_row_is_claimed_once_proved(&mut engine, &mut cli);
    let gave_up = Refusal::NotTaken {
        holder: "pid 1 on host".into(),
        wait: "10s".into(),
    };
    let outcome = a_claimed_command_keeps_the_engines_verdict(&mut engine, &mut cli, id, &gave_up);
    a_command_withdrawn_before_a_claim_is_refused(&mut engine, &mut cli, &gave_up, &outcome);
    a_command_whose_submitter_stopped_waiting_expires(&mut engine, &mut cli);
    // Proofs go with their rows: decided (whatever the verdict), withdrawn and expired
    // ones are removed; `mine`, claimed and never decided, keeps its own for the next
    // engine to check (issue 75 point 7).
    let proofs = std::fs::read_dir(db.path.with_file_name("baton.db.proofs"))
        .unwrap()
        .count();
    assert_eq!(proofs, 1);
    an_unreadable_row_is_refused_and_the_rows_after_it_still_come(
        &db,
        &mut engine,
        &mut cli,
        &mine,
    );
}

/// A command `bob`'s row names, submitted by one connection: the other sees the write
/// and claims it once, unproven (this test's account made its proof, not bob's).
fn a_row_in_anothers_name_is_claimed_once_unproven(engine: &mut Store, cli: &mut Store) -> i64 {
    let v0 = engine.data_version().unwrap();
    let cmd = Command::Approve {
        step: "deploy".into(),
        operator: "bob".into(),
        reason: Some("ok".into()),
        signature: None,
        inputs: Default::default(),
    };
    let id = cli.submit_command("R1", &cmd, None).unwrap();
    assert_ne!(
        engine.data_version().unwrap(),
        v0,
        "another connection wrote"
    );
    assert_eq!(cli.command_outcome(id).unwrap(), None);
    let claimed = engine.claim_commands("R1").unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].id, &claimed[0].command), (id, &cmd));
    let unproven = claimed[0].unproven.as_ref().expect("unproven");
    assert_eq!(unproven.code(), "unproven");
    let why = unproven.to_string();
    assert!(why.contains("no proof that `bob` submitted it"), "{why}");
    assert!(
        engine.claim_commands("R1").unwrap().is_empty(),
        "taken once"
    );
    id
}

/// Under this test's own account the row is proved (and its proof used up). Returns
/// the command, to submit again.
fn my_own_row_is_claimed_once_proved(engine: &mut Store, cli: &mut Store) -> Command {
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let mine = Command::Approve {
        step: "deploy".into(),
        operator: me,
        reason: None,
        signature: None,
        inputs: Default::default(),
    };
    let mine_id = cli.submit_command("R1", &mine, None).unwrap();
    let claimed = engine.claim_commands("R1").unwrap();
    assert_eq!(
        claimed,
        vec![Claimed {
            id: mine_id,
            command: mine.clone(),
            unproven: None
        }]
    );
    assert!(
        engine.claim_commands("R1").unwrap().is_empty(),
        "taken once"
    );
    mine
}

/// Claimed: the submitter can no longer withdraw it; the engine's verdict stands, once.
fn a_claimed_command_keeps_the_engines_verdict(
    engine: &mut Store,
    cli: &mut Store,
    id: i64,
    gave_up: &Refusal,
) -> CommandOutcome {
    assert!(!cli.withdraw_command(id, gave_up).unwrap());
    assert_eq!(cli.command_outcome(id).unwrap(), None);
    let outcome = CommandOutcome::Refused(Refusal::NotAnApprover {
        actor: "bob".into(),
        approvers: vec!["alice".into()],
    });
    engine.complete_command(id, &outcome).unwrap();
    assert!(engine.claim_commands("R1").unwrap().is_empty());
    assert_eq!(cli.command_outcome(id).unwrap(), Some(outcome.clone()));
    assert!(matches!(
        engine.complete_command(id, &outcome),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        cli.command_outcome(9999),
        Err(StoreError::NotFound(_))
    ));
    outcome
}

/// Withdrawn before any engine took it: refused, and no engine will see it. A command
/// for a run the store does not have is not submitted.
fn a_command_withdrawn_before_a_claim_is_refused(
    engine: &mut Store,
    cli: &mut Store,
    gave_up: &Refusal,
    outcome: &CommandOutcome,
) {
    let late = cli
        .submit_command(
            "R1",
            &Command::Cancel {
                operator: "bob".into(),
                reason: None,
            },
            None,
        )
        .unwrap();
    assert!(cli.withdraw_command(late, gave_up).unwrap());
    assert!(engine.claim_commands("R1").unwrap().is_empty());
    assert!(matches!(
        engine.complete_command(late, outcome),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        cli.command_outcome(late).unwrap(),
        Some(CommandOutcome::Refused(gave_up.clone()))
    );
    assert!(matches!(
        cli.submit_command(
            "nope",
            &Command::Cancel {
                operator: "x".into(),
                reason: None
            },
            None
        ),
        Err(StoreError::NotFound(_))
    ));
}

/// A command whose submitter stopped waiting (here: died) before any engine took it
/// is refused as expired by the next engine, never applied.
fn a_command_whose_submitter_stopped_waiting_expires(engine: &mut Store, cli: &mut Store) {
    let past = Timestamp(Timestamp::now().0 - 1);
    let stale = cli
        .submit_command(
            "R1",
            &Command::Cancel {
                operator: "bob".into(),
                reason: None,
            },
            Some(past),
        )
        .unwrap();
    assert!(engine.claim_commands("R1").unwrap().is_empty());
    assert!(matches!(
        cli.command_outcome(stale).unwrap(),
        Some(CommandOutcome::Refused(Refusal::Expired))
    ));
}

/// A row no engine can read is refused, and the rows after it still come.
fn an_unreadable_row_is_refused_and_the_rows_after_it_still_come(
    db: &Db,
    engine: &mut Store,
    cli: &mut Store,
    mine: &Command,
) {
    let raw = rusqlite::Connection::open(&db.path).unwrap();
    raw.execute(
        "INSERT INTO commands (run_id, json, submitted_at) VALUES ('R1', '{\"cmd\":\"bogus\"}', 0)",
        [],
    )
    .unwrap();
    let bogus = raw.last_insert_rowid();
    let after = cli.submit_command("R1", mine, None).unwrap();
    let claimed = engine.claim_commands("R1").unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![after]
    );
    assert!(matches!(
        cli.command_outcome(bogus).unwrap(),
        Some(CommandOutcome::Refused(r @ Refusal::Unreadable { .. })) if r.to_string().starts_with("not a command this baton can read")
    ));
}

#[test]
fn data_version_is_stable_without_foreign_writes() {
    let db = db();
    let mut s = store_with_run(&db, "R1");
    let other = Store::open(&db.path).unwrap();
    let v = other.data_version().unwrap();
    assert_eq!(other.data_version().unwrap(), v);
    let mut sc = Script::new("R1");
    sc.started();
    s.commit("R1", &sc.take()).unwrap();
    let v2 = other.data_version().unwrap();
    assert_ne!(v2, v);
    assert_eq!(other.data_version().unwrap(), v2);
}

#[test]
fn leases_are_exclusive_renewable_and_taken_over_when_stale_or_dead() {
    let db = db();
    let mut a = store_with_run(&db, "R1");
    let mut b = Store::open(&db.path).unwrap();
    let stale = Duration::from_secs(10);
    let t0 = Timestamp(1_000_000);
    assert_eq!(
        a.acquire_lease("R1", "engine-a", t0, stale).unwrap(),
        LeaseOutcome::Acquired
    );
    assert_eq!(
        a.acquire_lease("R1", "engine-a", t0, stale).unwrap(),
        LeaseOutcome::Acquired
    );
    assert_eq!(
        b.acquire_lease("R1", "engine-b", t0.add(Duration::from_secs(5)), stale)
            .unwrap(),
        LeaseOutcome::HeldBy {
            holder: "engine-a".into(),
            heartbeat_at: t0
        }
    );
    let t1 = t0.add(Duration::from_secs(8));
    a.heartbeat("R1", "engine-a", t1).unwrap();
    assert!(matches!(
        b.acquire_lease("R1", "engine-b", t1.add(Duration::from_secs(9)), stale)
            .unwrap(),
        LeaseOutcome::HeldBy { .. }
    ));
    // No heartbeat for more than `stale`: b takes over and a learns it lost the lease.
    let t2 = t1.add(Duration::from_secs(11));
    assert_eq!(
        b.acquire_lease("R1", "engine-b", t2, stale).unwrap(),
        LeaseOutcome::Acquired
    );
    match a.heartbeat("R1", "engine-a", t2) {
        Err(StoreError::LeaseLost { holder, .. }) => {
            assert_eq!(holder.as_deref(), Some("engine-b"))
        }
        other => panic!("{other:?}"),
    }
    // A holder that is a dead process on this host is taken over at once.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let host = baton::store::lease_holder_name();
    let host = host.split(" on ").nth(1).unwrap();
    let dead = format!("pid {dead_pid} on {host}");
    b.release_lease("R1", "engine-b").unwrap();
    assert_eq!(
        a.acquire_lease("R1", &dead, t2, stale).unwrap(),
        LeaseOutcome::Acquired
    );
    assert_eq!(
        b.acquire_lease("R1", "engine-b", t2, stale).unwrap(),
        LeaseOutcome::Acquired
    );
    // ...but a live one on this host is not.
    let me = baton::store::lease_holder_name();
    b.release_lease("R1", "engine-b").unwrap();
    a.acquire_lease("R1", &me, t2, stale).unwrap();
    assert!(matches!(
        b.acquire_lease("R1", "engine-b", t2, stale).unwrap(),
        LeaseOutcome::HeldBy { .. }
    ));
}
