//! docs/simulator.md, `--mix cli` seed 79 (issue 61 point 6): a takeover whose command
//! ends the run (`baton cancel` of a run whose engine died) decides the commands waiting
//! in the commit that ends it. Killed with `kill -9` once it claimed them and before
//! that commit (the failpoint `claimed:command`), the run has not ended on record, and
//! the next takeover takes them again: every command gets its verdict, on record and on
//! the audit chain. (Claimed after the run's end was committed, as before the fix, a
//! row stayed claimed for ever: no engine drives a run that ended.)
use crate::helpers::*;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

/// The statuses of the run's command rows, oldest first.
fn statuses(env: &Env, run: &str) -> Vec<String> {
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    raw.prepare("SELECT status FROM commands WHERE run_id = ?1 ORDER BY id")
        .and_then(|mut st| st.query_map([run], |r| r.get(0))?.collect::<Result<_, _>>())
        .expect("the commands")
}

/// The refusal code of the run's first command's verdict (`""` if none).
fn refusal_code(env: &Env, run: &str) -> String {
    let raw = rusqlite::Connection::open(env.db()).expect("the store's file");
    let outcome: Option<String> = raw
        .query_row(
            "SELECT outcome FROM commands WHERE run_id = ?1 ORDER BY id LIMIT 1",
            [run],
            |r| r.get(0),
        )
        .expect("the command");
    let v: serde_json::Value =
        serde_json::from_str(&outcome.unwrap_or_default()).unwrap_or_default();
    // `{"outcome": "refused", "reason": …, "refusal": {"code": …}}`
    v["refusal"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// How many audit rows of `action` the run has.
fn audited(env: &Env, run: &str, action: &str) -> usize {
    let out = env.run(&["audit", run, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("audit --json");
    rows.as_array()
        .map(|r| r.iter().filter(|r| r["action"] == action).count())
        .unwrap_or(0)
}

/// A run waiting at its gate whose engine died (`kill -9`), with an approval recorded
/// for its next engine (`--no-drive`): the run.
fn gate_left_with_a_command_waiting(env: &Env) -> String {
    let wf = env.workflow(
        "w.toml",
        "name = \"ended\"\n[[step]]\nid = \"deploy\"\nrun = \"echo ran >> ran.log\"\ngate = { prompt = \"ship it?\" }\n",
    );
    let mut engine = env
        .cmd()
        .args(["run", wf.to_str().expect("a UTF-8 path"), "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn baton run");
    let run = env.wait_run_id();
    env.wait_step(&run, "deploy", "waiting_approval", 20);
    engine.kill().expect("kill -9 the engine");
    let died = wait_child(engine, 20);
    assert_eq!(died.status.signal(), Some(9), "the engine was killed");
    let out = env.run(&["approve", &run, "deploy", "--reason", "ship", "--no-drive"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        statuses(env, &run),
        ["pending"],
        "recorded for the next engine"
    );
    run
}

/// `baton ARGS` (a cancel or a reject taking `run` over) killed (-9) at
/// `claimed:command`: the approval waiting is claimed by it, and nothing of it is
/// committed (the run has not ended).
fn killed_after_claiming(env: &Env, run: &str, args: &[&str]) {
    let out = env
        .cmd()
        .env("BATON_FAILPOINT", "claimed:command")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run baton");
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the takeover died at the failpoint: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        statuses(env, run),
        ["claimed"],
        "claimed by the dead takeover"
    );
    let show = env.show(run);
    assert_eq!(
        show["state"], "interrupted",
        "nothing of it was committed: the run has not ended: {show:#}"
    );
}

/// `baton cancel RUN` taking `run` over: it drives the run to its end and exits as the
/// run does, 1, cancelled.
pub(super) fn cancelled_by_a_takeover(env: &Env, run: &str) {
    let out = env.run(&["cancel", run, "--reason", "stop"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn a_cancel_whose_takeover_dies_after_claiming_the_commands_waiting_leaves_them_to_the_next() {
    let env = Env::new();
    let run = gate_left_with_a_command_waiting(&env);
    // The cancel takes the run over, claims the approval, and dies before its commit.
    killed_after_claiming(&env, &run, &["cancel", &run, "--reason", "stop"]);
    // The next takeover takes the claimed row again and decides it in the commit that
    // ends the run.
    cancelled_by_a_takeover(&env, &run);
    let show = env.show(&run);
    assert_eq!(show["state"], "cancelled", "{show:#}");
    let decided = statuses(&env, &run);
    assert_eq!(decided.len(), 1, "{decided:?}");
    // Refused by the run's end, as without the kill: its proof is kept until its
    // verdict commits, so the next takeover checked it (issue 75 point 7), and did not
    // refuse it as unproven ("hand it in again").
    assert_eq!(decided, ["refused"], "every command has its verdict");
    assert_ne!(refusal_code(&env, &run), "unproven");
    assert_eq!(
        audited(&env, &run, "command_refused") + audited(&env, &run, "approval_vote"),
        1,
        "its verdict is on the audit chain"
    );
    let ran = std::fs::read_to_string(env.path().join("ran.log")).unwrap_or_default();
    assert!(ran.is_empty(), "deploy never ran: {ran:?}");
    let verify = env.run(&["audit", "verify", &run]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}

#[test]
fn a_cancel_taking_a_run_over_decides_the_commands_waiting_as_it_ends_it() {
    let env = Env::new();
    let run = gate_left_with_a_command_waiting(&env);
    cancelled_by_a_takeover(&env, &run);
    assert_eq!(env.show(&run)["state"], "cancelled");
    let decided = statuses(&env, &run);
    assert_eq!(decided, ["refused"], "the approval waiting has its verdict");
}

#[test]
fn a_reject_whose_takeover_dies_after_claiming_the_commands_waiting_leaves_them_to_the_next() {
    let env = Env::new();
    let run = gate_left_with_a_command_waiting(&env);
    killed_after_claiming(&env, &run, &["reject", &run, "deploy", "--reason", "no"]);
    let out = env.run(&["reject", &run, "deploy", "--reason", "no"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(env.show(&run)["state"], "failed");
    let decided = statuses(&env, &run);
    assert_eq!(decided, ["refused"], "the approval waiting has its verdict");
}

/// Issue 75 point 7: an engine killed (-9) after it claimed a command and before it
/// decided it leaves the command to the next engine, which decides it as if nothing
/// had happened: the approval is accepted and the gated step runs. (Its proof was
/// removed as it was claimed, and the next engine refused it, saying to hand it in
/// again, in 11 of 60 kills of the campaign.)
#[test]
fn a_command_whose_engine_died_after_claiming_it_is_decided_by_the_next_engine() {
    let env = Env::new();
    let run = gate_left_with_a_command_waiting(&env);
    killed_after_claiming(&env, &run, &["cancel", &run, "--reason", "stop"]);
    let resumed = env.spawn(&["resume", &run, "--headless"]);
    let out = wait_child(resumed, 60);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the approval was taken and the run went on: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(statuses(&env, &run), ["accepted"]);
    assert_eq!(env.show(&run)["state"], "succeeded");
    let ran = std::fs::read_to_string(env.path().join("ran.log")).unwrap_or_default();
    assert_eq!(ran, "ran\n", "deploy ran once, approved");
    let audit = text(&env.run(&["audit", &run]).stdout);
    assert!(!audit.contains("hand it in again"), "{audit}");
    let verify = env.run(&["audit", "verify", &run]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));
}
