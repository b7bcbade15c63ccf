//! Issue 59: an engine that commits a decision and dies (kill -9) before anything else
//! (the failpoint `decided:command`). The decision is on the audit chain, so its
//! command's verdict must be too: the submitter (`baton approve`, a console's decision
//! over `baton link` and its check by request id) is told it was accepted, and the next
//! engine neither refuses it as unproven nor applies it again.
use super::never_both::{Link, approve, rows};
use crate::helpers::*;
use baton::link::wire::Found;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};

/// A gate waiting on the env's store, its engine set to die as soon as it has committed
/// a command's decision: the engine and the run.
fn engine_dying_at_its_decision(env: &Env) -> (Child, String) {
    let wf = env.workflow(
        "w.toml",
        "name = \"fleet\"\n[[step]]\nid = \"deploy\"\nrun = \"echo ran >> ran.log\"\ngate = { prompt = \"ship it?\" }\n",
    );
    let child = env
        .cmd()
        .env("BATON_FAILPOINT", "decided:command")
        .args(["run", wf.to_str().expect("a UTF-8 path"), "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn baton run");
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    (child, run)
}

/// The engine died at the failpoint; the next one drives the run to its end. Then the
/// record: the approval once, no refusal, its command accepted, `deploy` run once.
fn resumed_and_checked(env: &Env, engine: Child, run: &str) {
    let died = wait_child(engine, 60);
    assert_eq!(
        died.status.signal(),
        Some(9),
        "the engine died at the failpoint"
    );
    let out = env.run(&["resume", run, "--headless"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let show = env.show(run);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    let ran = std::fs::read_to_string(env.path().join("ran.log")).unwrap_or_default();
    assert_eq!(ran.lines().count(), 1, "deploy ran once: {ran:?}");
    assert_eq!(rows(env, run, "approval_vote"), 1, "approved once");
    assert_eq!(
        rows(env, run, "command_refused"),
        0,
        "the next engine refused nothing: the decision was on the record"
    );
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    let status: Vec<String> = raw
        .prepare("SELECT status FROM commands WHERE run_id = ?1")
        .and_then(|mut st| st.query_map([run], |r| r.get(0))?.collect::<Result<_, _>>())
        .expect("the commands");
    assert_eq!(
        status,
        ["accepted"],
        "its command's verdict is the decision's"
    );
    let verify = env.run(&["audit", "verify", run]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

#[test]
fn baton_approve_whose_engine_dies_after_committing_it_is_accepted_and_never_refused() {
    let env = Env::new();
    let (engine, run) = engine_dying_at_its_decision(&env);
    let out = env.run(&[
        "approve", &run, "deploy", "--reason", "ship", "--wait", "3s",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the decision is on the record, so is its verdict: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    resumed_and_checked(&env, engine, &run);
}

#[test]
fn a_links_decision_whose_engine_dies_after_committing_it_is_found_accepted_by_its_id() {
    let env = Env::new();
    let (engine, run) = engine_dying_at_its_decision(&env);
    let mut link = Link::open(&env, &[]);
    link.decide(1, &run, approve("as the engine dies"), "req-engine-dies");
    let said = link.outcome(1);
    assert!(said.is_accepted(), "{said:?}");
    assert_eq!(link.end(), Some(0));
    let mut check = Link::open(&env, &[]);
    let Found::Delivered { what, outcome } = check.found(1, &run, "req-engine-dies") else {
        panic!("handed in: on the record")
    };
    assert_eq!(what, "approve deploy: as the engine dies");
    assert!(outcome.is_some_and(|o| o.is_accepted()));
    resumed_and_checked(&env, engine, &run);
    // Asked again once the next engine drove the run: the same word.
    assert!(matches!(
        check.found(2, &run, "req-engine-dies"),
        Found::Delivered { outcome: Some(o), .. } if o.is_accepted()
    ));
    check.end();
}
