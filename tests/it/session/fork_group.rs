//! `baton fork` of a run whose workflow has a concurrency group: the fork joins the
//! group exactly as a new `baton run` does (one path: `session::create_run`).
//! While another run holds the group the fork queues (and says so), is skipped, or
//! supersedes the holder, per the group's `on_conflict`; no two runs of the group ever
//! run at once (checked from the record: each run's `work` step times, and from the
//! steps' own ledger); a queued fork whose engine is killed with -9 resumes queued and
//! runs once when the group is free.
use crate::helpers::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Child;

/// A workflow of the group `deploy`: `prep`, then `work`, which runs until the file
/// `release` exists (or it is stopped); each writes its start (and `work` its end)
/// to `ledger`.
fn workflow(env: &Env, on_conflict: &str) -> PathBuf {
    let text = format!(
        r#"
name = "deploy"
concurrency = {{ group = "deploy", on_conflict = "{on_conflict}" }}
[[step]]
id = "prep"
run = 'echo "$BATON_RUN_ID prep" >> ledger'
[[step]]
id = "work"
needs = ["prep"]
run = '''
echo "$BATON_RUN_ID start" >> ledger
trap 'echo "$BATON_RUN_ID end" >> ledger; exit 143' TERM
while [ ! -e release ] && [ -e $PWD ]; do sleep 0.05; done
echo "$BATON_RUN_ID end" >> ledger
'''
"#
    );
    env.workflow(&format!("{on_conflict}.toml"), &text)
}

/// Run `run` has started no step of its own (the steps' ledger).
fn assert_ran_nothing(env: &Env, run: &str) {
    let lines = ledger(env);
    assert!(!lines.iter().any(|l| l.starts_with(run)), "{lines:#?}");
}

/// Lets the group's holder finish its `work`, and waits for its engine to succeed.
fn let_the_holder_end(env: &Env, holder_engine: Child) {
    release(env);
    let out = wait_child(holder_engine, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn release(env: &Env) {
    std::fs::write(env.path().join("release"), "").expect("write release");
}

/// A finished run of `wf` (made with `release` present, which is then removed), then a
/// second run of it holding the group with its `work` running: (old, holder engine,
/// holder).
fn old_and_holder(env: &Env, wf: &Path) -> (String, Child, String) {
    release(env);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let old = run_id_of(&text(&out.stdout));
    std::fs::remove_file(env.path().join("release")).expect("remove release");
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let holder = the_other_run(env, &[&old]);
    env.wait_step(&holder, "work", "running", 30);
    (old, engine, holder)
}

fn spawn_fork(env: &Env, old: &str) -> Child {
    env.spawn(&["fork", old, "--from", "work", "--headless"])
}

/// The run that is none of `known`, waiting for it to be recorded.
fn the_other_run(env: &Env, known: &[&str]) -> String {
    wait_until("a new run to be recorded", secs(30), || {
        let runs = env.runs();
        runs.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str())
            .find(|id| !known.contains(id))
            .map(str::to_string)
            .ok_or_else(|| format!("{runs:#}"))
    })
}

fn wait_state(env: &Env, run: &str, state: &str) -> Value {
    wait_until(&format!("run {run} to be {state}"), secs(30), || {
        let s = env.show(run);
        if s["state"] == state {
            Ok(s)
        } else {
            Err(format!("{s:#}"))
        }
    })
}

fn ledger(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn count(lines: &[String], line: &str) -> usize {
    lines.iter().filter(|l| *l == line).count()
}

/// From the record: the times each run's `work` ran (started, finished), for every run
/// whose `work` started; no two of them overlap.
fn assert_never_two_at_once(env: &Env) {
    let runs = env.runs();
    let mut spans: Vec<(String, String, String)> = runs
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .filter_map(|id| {
            let show = env.show(id);
            let work = step(&show, "work");
            let started = work["started_at"].as_str()?.to_string();
            let finished = work["finished_at"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}'s work never finished: {show:#}"))
                .to_string();
            Some((started, finished, id.to_string()))
        })
        .collect();
    // RFC 3339 in UTC with milliseconds: the text orders as the time does.
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "run {} ran `work` while run {} did: {spans:#?}",
            pair[1].2,
            pair[0].2
        );
    }
    // And from the steps themselves: each start is followed by its own end first.
    let mut open: Option<String> = None;
    let lines = ledger(env);
    for l in &lines {
        let (run, what) = l.split_once(' ').expect("ledger line");
        match what {
            "start" => {
                assert!(
                    open.is_none(),
                    "{run} started while {open:?} ran: {lines:#?}"
                );
                open = Some(run.to_string());
            }
            "end" => {
                assert_eq!(open.as_deref(), Some(run), "{lines:#?}");
                open = None;
            }
            _ => {}
        }
    }
}

#[test]
fn a_fork_queues_behind_the_groups_holder_as_a_new_run_does_and_runs_after_it() {
    let env = Env::new();
    let wf = workflow(&env, "queue");
    let (old, holder_engine, holder) = old_and_holder(&env, &wf);
    let fork = spawn_fork(&env, &old);
    let new = the_other_run(&env, &[&old, &holder]);
    let shown = wait_state(&env, &new, "queued");
    assert_eq!(step_state(&shown, "work").as_deref(), Some("pending"));
    assert_eq!(step(&shown, "prep")["reused_from"], old.as_str());
    assert_eq!(shown["forked_from"]["run"], old.as_str());
    // The holder still runs; the fork has run nothing.
    assert_eq!(env.show(&holder)["state"], "running");
    assert_ran_nothing(&env, &new);
    let_the_holder_end(&env, holder_engine);
    let out = wait_child(fork, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // It said why it waited, in `baton run`'s words.
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!(
            "run {new} is queued: concurrency group `deploy` is held by run {holder}; it starts when the group is free"
        )),
        "{said}"
    );
    assert_eq!(env.show(&new)["state"], "succeeded");
    let lines = ledger(&env);
    assert_eq!(count(&lines, &format!("{new} start")), 1, "{lines:#?}");
    assert_eq!(count(&lines, &format!("{new} prep")), 0, "prep is reused");
    assert_eq!(lines.last(), Some(&format!("{new} end")), "{lines:#?}");
    assert_never_two_at_once(&env);
}

#[test]
fn a_fork_in_a_skip_group_held_by_another_run_is_skipped_as_a_new_run_is() {
    let env = Env::new();
    let wf = workflow(&env, "skip");
    let (old, holder_engine, holder) = old_and_holder(&env, &wf);
    let out = env.run(&["fork", &old, "--from", "work", "--headless"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let new = the_other_run(&env, &[&old, &holder]);
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!(
            "run {new} is skipped: concurrency group `deploy` is held by run {holder} (on_conflict = \"skip\")"
        )),
        "{said}"
    );
    let shown = env.show(&new);
    assert_eq!(shown["state"], "skipped", "{shown:#}");
    assert_eq!(step_state(&shown, "work").as_deref(), Some("skipped"));
    assert_eq!(env.show(&holder)["state"], "running");
    let_the_holder_end(&env, holder_engine);
    assert_ran_nothing(&env, &new);
    assert_never_two_at_once(&env);
}

#[test]
fn a_fork_in_a_cancel_running_group_supersedes_the_holder_and_starts_once_it_ended() {
    let env = Env::new();
    let wf = workflow(&env, "cancel_running");
    let (old, holder_engine, holder) = old_and_holder(&env, &wf);
    let fork = spawn_fork(&env, &old);
    let holder_out = wait_child(holder_engine, 60);
    assert_eq!(
        holder_out.status.code(),
        Some(1),
        "{}",
        text(&holder_out.stderr)
    );
    let new = the_other_run(&env, &[&old, &holder]);
    assert_eq!(env.show(&holder)["state"], "cancelled");
    // The cancel is on record under the fork's starter, `superseded by FORK`.
    let audit: Value = serde_json::from_slice(&env.run(&["audit", &holder, "--json"]).stdout)
        .expect("audit --json");
    let cancel = audit
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["action"] == "cancel")
        .unwrap_or_else(|| panic!("no cancel on record: {audit:#}"))
        .clone();
    assert_eq!(
        cancel["reason"],
        format!("superseded by {new}"),
        "{cancel:#}"
    );
    assert_eq!(cancel["actor"], env.show(&new)["operator"], "{cancel:#}");
    release(&env);
    let out = wait_child(fork, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains(&format!(
            "run {new} supersedes run {holder} in concurrency group `deploy`"
        )),
        "{said}"
    );
    assert_eq!(env.show(&new)["state"], "succeeded");
    assert_eq!(count(&ledger(&env), &format!("{new} start")), 1);
    assert_never_two_at_once(&env);
}

#[test]
fn kill_dash_nine_of_a_queued_forks_engine_then_resume_it_stays_queued_and_runs_once() {
    let env = Env::new();
    let wf = workflow(&env, "queue");
    let (old, holder_engine, holder) = old_and_holder(&env, &wf);
    let mut fork = spawn_fork(&env, &old);
    let new = the_other_run(&env, &[&old, &holder]);
    wait_state(&env, &new, "queued");
    fork.kill().expect("kill -9 the queued fork's engine");
    let _ = fork.wait();
    wait_state(&env, &new, "interrupted");
    let resumed = env.spawn(&["resume", &new, "--headless"]);
    // Replayed and resumed, it is queued again while the holder runs.
    let shown = wait_state(&env, &new, "queued");
    assert_eq!(step_state(&shown, "work").as_deref(), Some("pending"));
    assert_eq!(env.show(&holder)["state"], "running");
    assert_ran_nothing(&env, &new);
    let_the_holder_end(&env, holder_engine);
    let out = wait_child(resumed, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = env.show(&new);
    assert_eq!(shown["state"], "succeeded", "{shown:#}");
    assert_eq!(step(&shown, "work")["attempts"], 1, "{shown:#}");
    assert_eq!(step(&shown, "prep")["reused_from"], old.as_str());
    let lines = ledger(&env);
    assert_eq!(count(&lines, &format!("{new} start")), 1, "{lines:#?}");
    assert_eq!(count(&lines, &format!("{new} end")), 1, "{lines:#?}");
    assert_eq!(count(&lines, &format!("{new} prep")), 0, "prep is reused");
    assert_never_two_at_once(&env);
}
