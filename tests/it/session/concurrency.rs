//! Issue 26 point 6: concurrency groups across runs, through the real binary. Two
//! `baton run` processes of one group started together never both run; `queue` waits
//! visibly (`queued`), `skip` ends `skipped` (exit 4), `cancel_running` cancels the
//! holder on record; a killed engine's run frees the group; a queued run survives its
//! engine's death and a takeover never runs beside the group's holder.
use crate::helpers::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Output};

/// A workflow of the group `deploy-${{ params.env }}`: `prep` (undone by its
/// compensation), then `work`, each writing its start and end to `ledger`.
fn workflow(env: &Env, on_conflict: &str, work_secs: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
name = "deploy"
concurrency = {{ group = "deploy-${{{{ params.env }}}}", on_conflict = "{on_conflict}" }}
[params.env]
default = "prod"
[[step]]
id = "prep"
run = 'echo "$BATON_RUN_ID prep" >> ledger'
compensate = 'echo "$BATON_RUN_ID undo" >> ledger'
[[step]]
id = "work"
needs = ["prep"]
run = 'echo "$BATON_RUN_ID start" >> ledger; sleep {work_secs}; echo "$BATON_RUN_ID end" >> ledger'
"#
    );
    env.workflow(&format!("{on_conflict}.toml"), &text)
}

fn spawn_run(env: &Env, wf: &Path) -> Child {
    env.spawn(&["run", wf.to_str().unwrap(), "--headless"])
}

/// Both engines at once (the second is spawned right after the first, before either
/// has opened the store), to their ends.
fn together(env: &Env, wf: &Path) -> (Output, Output) {
    let a = spawn_run(env, wf);
    let b = spawn_run(env, wf);
    (wait_child(a, 60), wait_child(b, 60))
}

fn ledger(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// No two runs' `work` overlap: every `start` is followed by its own `end` first.
fn assert_one_at_a_time(lines: &[String]) {
    let mut open: Option<&str> = None;
    for l in lines {
        let (run, what) = l.split_once(' ').expect("ledger line");
        match what {
            "start" => {
                assert!(
                    open.is_none(),
                    "{run} started while {open:?} ran: {lines:#?}"
                );
                open = Some(run);
            }
            "end" => {
                assert_eq!(open, Some(run), "{lines:#?}");
                open = None;
            }
            // A cancelled run's `work` was stopped (no `end`): its compensation runs
            // only once it has.
            "undo" if open == Some(run) => open = None,
            _ => {}
        }
    }
}

/// Each run's id and state (`runs --json`); none before the store exists.
fn run_states(env: &Env) -> Vec<(String, String)> {
    let out = env.run(&["runs", "--json"]);
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    runs.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("state"))
        })
        .collect()
}

/// The one run in `state`, waiting for it (`runs --json`).
fn wait_run_in(env: &Env, state: &str) -> String {
    wait_until(&format!("a run {state}"), secs(30), || {
        let all = run_states(env);
        all.iter()
            .find(|(_, s)| s == state)
            .map(|(id, _)| id.clone())
            .ok_or_else(|| format!("{all:?}"))
    })
}

#[test]
fn two_runs_of_a_queue_group_started_together_run_one_after_the_other() {
    let env = Env::new();
    let wf = workflow(&env, "queue", "1");
    let a = spawn_run(&env, &wf);
    let b = spawn_run(&env, &wf);
    // The second waits in sight: `runs` and `show` say `queued`, and its steps wait.
    let waiting = wait_run_in(&env, "queued");
    let shown = env.show(&waiting);
    assert_eq!(shown["state"], "queued", "{shown:#}");
    assert_eq!(step_state(&shown, "prep").as_deref(), Some("pending"));
    let human = text(&env.run(&["show", &waiting]).stdout);
    assert!(human.contains("queued"), "{human}");
    let (a, b) = (wait_child(a, 60), wait_child(b, 60));
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    assert_eq!(b.status.code(), Some(0), "{}", text(&b.stderr));
    let lines = ledger(&env);
    assert_eq!(
        lines.iter().filter(|l| l.ends_with(" end")).count(),
        2,
        "{lines:#?}"
    );
    assert_one_at_a_time(&lines);
    // The queued one ran second, and said why it waited.
    assert!(
        lines.last().is_some_and(|l| l.starts_with(&waiting)),
        "{lines:#?}"
    );
    let said = format!("{}{}", text(&a.stderr), text(&b.stderr));
    assert!(
        said.contains(&format!(
            "run {waiting} is queued: concurrency group `deploy-prod`"
        )),
        "{said}"
    );
    assert!(run_states(&env).iter().all(|(_, s)| s == "succeeded"));
}

#[test]
fn two_runs_of_a_skip_group_started_together_one_runs_and_one_is_skipped() {
    let env = Env::new();
    let wf = workflow(&env, "skip", "1");
    let (a, b) = together(&env, &wf);
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(4)],
        "{}\n{}",
        text(&a.stderr),
        text(&b.stderr)
    );
    let states = run_states(&env);
    let skipped: Vec<_> = states.iter().filter(|(_, s)| s == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{states:?}");
    let shown = env.show(&skipped[0].0);
    assert_eq!(step_state(&shown, "work").as_deref(), Some("skipped"));
    let lines = ledger(&env);
    assert_eq!(
        lines.iter().filter(|l| l.ends_with(" start")).count(),
        1,
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with(&skipped[0].0)),
        "{lines:#?}"
    );
}

#[test]
fn two_runs_of_a_cancel_running_group_started_together_never_both_run() {
    let env = Env::new();
    let wf = workflow(&env, "cancel_running", "1");
    let (a, b) = together(&env, &wf);
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(1)],
        "{}\n{}",
        text(&a.stderr),
        text(&b.stderr)
    );
    let states = run_states(&env);
    let cancelled = &states
        .iter()
        .find(|(_, s)| s == "cancelled")
        .expect("one cancelled")
        .0;
    let winner = &states
        .iter()
        .find(|(_, s)| s == "succeeded")
        .expect("one succeeded")
        .0;
    assert_one_at_a_time(&ledger(&env));
    assert_superseded(&env, cancelled, winner);
}

/// The cancel of `old` is on record under the new run's starter, `superseded by NEW`.
fn assert_superseded(env: &Env, old: &str, new: &str) {
    let audit: Value =
        serde_json::from_slice(&env.run(&["audit", old, "--json"]).stdout).expect("audit --json");
    let cancel = audit
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["action"] == "cancel")
        .unwrap_or_else(|| panic!("no cancel on record: {audit:#}"));
    let starter = env.show(new)["operator"].clone();
    assert_eq!(cancel["actor"], starter, "{cancel:#}");
    assert_eq!(
        cancel["reason"],
        format!("superseded by {new}"),
        "{cancel:#}"
    );
}

#[test]
fn cancel_running_cancels_the_holder_its_compensations_run_and_the_new_run_starts_after() {
    let env = Env::new();
    let wf = workflow(&env, "cancel_running", "30");
    let (old_engine, old) = env.spawn_until(&wf, "work", "running");
    let new = spawn_run(&env, &wf);
    let old_out = wait_child(old_engine, 60);
    assert_eq!(old_out.status.code(), Some(1), "{}", text(&old_out.stderr));
    let new_out = wait_child(new, 60);
    assert_eq!(new_out.status.code(), Some(0), "{}", text(&new_out.stderr));
    let states = run_states(&env);
    let new_id = states
        .iter()
        .find(|(id, _)| *id != old)
        .expect("new run")
        .0
        .clone();
    assert_eq!(env.show(&old)["state"], "cancelled");
    assert_superseded(&env, &old, &new_id);
    let lines = ledger(&env);
    let undo = lines
        .iter()
        .position(|l| *l == format!("{old} undo"))
        .expect("undone");
    let started = lines
        .iter()
        .position(|l| *l == format!("{new_id} prep"))
        .expect("new ran");
    assert!(
        undo < started,
        "the new run started before the old one was undone: {lines:#?}"
    );
}

#[test]
fn a_killed_engine_frees_its_group_and_a_takeover_never_runs_beside_the_holder() {
    let env = Env::new();
    let wf = workflow(&env, "queue", "2");
    let (mut first, old) = env.spawn_until(&wf, "work", "running");
    let second = spawn_run(&env, &wf);
    let queued = wait_run_in(&env, "queued");
    assert_ne!(queued, old);
    first.kill().expect("kill -9 the first engine");
    let _ = first.wait();
    // The dead engine's lease lapses: the queued run takes the group and runs.
    env.wait_step(&queued, "work", "running", 30);
    assert_eq!(env.show(&old)["state"], "interrupted");
    // Resuming the interrupted run now would run it beside the holder: refused.
    let refused = env.run(&["resume", &old, "--headless"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    let said = text(&refused.stdout);
    assert!(
        said.contains(&format!(
            "concurrency group `deploy-prod` is held by run {queued}"
        )),
        "{said}"
    );
    let out = wait_child(second, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Once the holder ended, the resume holds the group (its interrupted step stays
    // interrupted: it is not idempotent), and nothing overlapped.
    let resumed = env.run(&["resume", &old, "--headless"]);
    assert_ne!(resumed.status.code(), Some(2), "{}", text(&resumed.stderr));
    assert!(
        !text(&resumed.stdout).contains("is held by run"),
        "{}",
        text(&resumed.stdout)
    );
    let lines = ledger(&env);
    let mut finished: Vec<String> = lines
        .iter()
        .filter(|l| !l.starts_with(&old))
        .cloned()
        .collect();
    finished.retain(|l| l.ends_with(" start") || l.ends_with(" end"));
    assert_eq!(finished.len(), 2, "{lines:#?}");
}

#[test]
fn a_queued_run_whose_engine_died_resumes_queued_and_waits_its_turn() {
    let env = Env::new();
    let wf = workflow(&env, "queue", "3");
    let (first, holder) = env.spawn_until(&wf, "work", "running");
    let mut second = spawn_run(&env, &wf);
    let queued = wait_run_in(&env, "queued");
    second.kill().expect("kill -9 the queued run's engine");
    let _ = second.wait();
    wait_until("the queued run to read interrupted", secs(30), || {
        env.show(&queued)["state"] == "interrupted"
    });
    let resumed = spawn_run_resume(&env, &queued);
    // Replayed and resumed, it is queued again while the holder runs.
    wait_until("the resumed run to be queued", secs(30), || {
        let s = env.show(&queued);
        (s["state"] == "queued")
            .then_some(())
            .ok_or_else(|| format!("{s:#}"))
    });
    let out = wait_child(first, 60);
    assert_eq!(out.status.code(), Some(0));
    let out = wait_child(resumed, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(env.show(&queued)["state"], "succeeded");
    let lines = ledger(&env);
    assert_one_at_a_time(&lines);
    assert!(
        lines.last().is_some_and(|l| l.starts_with(&queued)),
        "{lines:#?} {holder}"
    );
}

fn spawn_run_resume(env: &Env, run: &str) -> Child {
    env.spawn(&["resume", run, "--headless"])
}

/// `work` until the file `release` exists (so the test decides when it ends).
const UNTIL_RELEASED: &str = "0; while [ ! -e release ] && [ -e $PWD ]; do sleep 0.05; done";

/// Issue 41 point 1: the holder's engine is killed with -9 while its `work` runs; that
/// process lives on. The group is not handed over while it does: the queued run waits,
/// saying why; the dead run's step reads interrupted with its pid, in `show` and
/// `show --json`. Once the process ends, the queued run takes the group.
#[test]
fn a_killed_holders_step_keeps_the_group_until_its_process_ends() {
    let env = Env::new();
    let wf = workflow(&env, "queue", UNTIL_RELEASED);
    let (mut first, old) = env.spawn_until(&wf, "work", "running");
    let second = spawn_run(&env, &wf);
    let queued = wait_run_in(&env, "queued");
    first.kill().expect("kill -9 the first engine");
    let _ = first.wait();
    let pid = wait_until(
        "the dead run's step to show its live process",
        secs(30),
        || {
            let s = env.show(&old);
            let left = &step(&s, "work")["left_running"];
            (s["state"] == "interrupted"
                && step_state(&s, "work").as_deref() == Some("interrupted"))
            .then(|| left["pid"].as_i64())
            .flatten()
            .ok_or_else(|| format!("{s:#}"))
        },
    );
    assert!(
        process_alive(pid as i32),
        "pid {pid} is the live step process"
    );
    let human = text(&env.run(&["show", &old]).stdout);
    assert!(
        human.contains(&format!(
            "work: interrupted, still running (pid {pid}) without its engine"
        )),
        "{human}"
    );
    // The queued run says why it still waits, and has not started.
    let why = wait_until("the queued run to say why it waits", secs(30), || {
        let s = env.show(&queued);
        s["waiting_for"]
            .as_str()
            .filter(|w| w.contains("engine is gone"))
            .map(str::to_string)
            .ok_or_else(|| format!("{s:#}"))
    });
    assert!(
        why.contains(&format!(
            "run {old}'s engine is gone but its step `work` (pid {pid})"
        )),
        "{why}"
    );
    let human = text(&env.run(&["show", &queued]).stdout);
    assert!(
        human.contains("waiting for concurrency group `deploy-prod`"),
        "{human}"
    );
    assert_eq!(env.show(&queued)["state"], "queued");
    assert!(
        !ledger(&env).iter().any(|l| l.starts_with(&queued)),
        "{:#?}",
        ledger(&env)
    );
    std::fs::write(env.path().join("release"), "").unwrap();
    let out = wait_child(second, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = ledger(&env);
    assert_one_at_a_time(&lines);
    assert_eq!(
        lines.iter().filter(|l| l.ends_with(" end")).count(),
        2,
        "the dead run's process ended before the next one started: {lines:#?}"
    );
}

/// A takeover of the dead holder (`baton resume`) stops its leftover process first and
/// runs the step again, holding the group throughout: nothing overlaps.
#[test]
fn resuming_a_killed_holder_stops_its_process_and_keeps_the_group() {
    let env = Env::new();
    let wf = env.workflow(
        "takeover.toml",
        r#"
name = "deploy"
concurrency = { group = "deploy-prod" }
[[step]]
id = "work"
run = '''
echo "$BATON_RUN_ID start" >> ledger
trap 'echo "$BATON_RUN_ID end" >> ledger; exit 143' TERM
if [ -e resumed ]; then echo "$BATON_RUN_ID end" >> ledger; exit 0; fi
while :; do sleep 0.05; done
'''
"#,
    );
    let (mut first, old) = env.spawn_until(&wf, "work", "running");
    let second = spawn_run(&env, &wf);
    let queued = wait_run_in(&env, "queued");
    first.kill().expect("kill -9 the first engine");
    let _ = first.wait();
    wait_until("the dead run's process to show", secs(30), || {
        step(&env.show(&old), "work")["left_running"]["pid"].is_i64()
    });
    std::fs::write(env.path().join("resumed"), "").unwrap();
    let resumed = env.run(&["resume", &old, "--headless"]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    assert!(
        text(&resumed.stderr).contains("stopped 1 process group(s)"),
        "{}",
        text(&resumed.stderr)
    );
    let out = wait_child(second, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(env.show(&queued)["state"], "succeeded");
    // The stopped process may not have said `end` (stopped by SIGKILL after its
    // grace): what holds is that the queued run started after all of the old one.
    let lines = ledger(&env);
    let last_old = lines.iter().rposition(|l| l.starts_with(&old));
    let first_new = lines.iter().position(|l| l.starts_with(&queued));
    assert!(
        last_old.is_some() && first_new.is_some() && last_old < first_new,
        "{lines:#?}"
    );
}

/// Issue 41 point 4: a queue keeps at most one pending run per group by default: a
/// newer one cancels the older pending run, on record (as GitHub does). Group names
/// compare case-insensitively, as GitHub's do (`deploy-PROD` is `deploy-prod`).
#[test]
fn a_newer_pending_run_replaces_the_older_one_on_record() {
    let env = Env::new();
    let wf = workflow(&env, "queue", UNTIL_RELEASED);
    let (first, holder) = env.spawn_until(&wf, "work", "running");
    let second = spawn_run(&env, &wf);
    let older = wait_run_in(&env, "queued");
    let third = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "env=PROD",
    ]);
    wait_until("the older pending run to be cancelled", secs(30), || {
        let s = env.show(&older);
        (s["state"] == "cancelled")
            .then_some(())
            .ok_or_else(|| format!("{s:#}"))
    });
    let newer = wait_run_in(&env, "queued");
    assert_ne!(newer, older);
    // On record by whichever came first: the newer run's starter's cancel (`replaced
    // by NEWER`), or the older run's own engine, told by the store that it was
    // replaced in line (`a newer run took its place`).
    let said = text(&env.run(&["audit", &older]).stdout);
    assert!(
        (said.contains(&format!("replaced by {newer}"))
            || said.contains("a newer run took its place in line"))
            && said.contains("max_pending"),
        "{said}"
    );
    std::fs::write(env.path().join("release"), "").unwrap();
    for child in [first, second, third] {
        let _ = wait_child(child, 60);
    }
    assert_eq!(env.show(&newer)["state"], "succeeded");
    let lines = ledger(&env);
    assert_one_at_a_time(&lines);
    assert!(
        !lines.iter().any(|l| l.starts_with(&older)),
        "{lines:#?} {holder}"
    );
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).expect("signal");
}

/// The commands the store holds still pending (no engine claimed them).
fn pending_commands(env: &Env) -> usize {
    rusqlite::Connection::open(env.db())
        .and_then(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM commands WHERE status = 'pending'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .map_or(0, |n| n as usize)
}

/// Found by the simulator (issue 61, seeds 19, 21, 99): a queued run's engine that
/// takes its cancel and a `retry` of it in one wake-up must not reopen it beside the
/// group's holder. The engine is stopped while both rows are written, so that it
/// claims them together; the retry is refused (`group_held`) and the run never starts.
#[test]
fn a_cancel_and_a_retry_taken_together_never_reopen_a_run_beside_the_holder() {
    use nix::sys::signal::Signal;
    let env = Env::new();
    let wf = workflow(&env, "queue", "8");
    let a = spawn_run(&env, &wf);
    let holder = wait_run_in(&env, "running");
    let b = spawn_run(&env, &wf);
    let queued = wait_run_in(&env, "queued");
    signal(b.id(), Signal::SIGSTOP);
    let cancel = env.spawn(&["cancel", &queued, "--reason", "replaced"]);
    wait_until("the cancel to be written", secs(10), || {
        pending_commands(&env) == 1
    });
    let retry = env.spawn(&["retry", &queued, "prep"]);
    wait_until("the retry to be written", secs(10), || {
        pending_commands(&env) == 2
    });
    signal(b.id(), Signal::SIGCONT);
    let cancel = wait_child(cancel, 30);
    assert_eq!(cancel.status.code(), Some(0), "{}", text(&cancel.stderr));
    let retry = wait_child(retry, 30);
    let said = format!("{}{}", text(&retry.stdout), text(&retry.stderr));
    assert_eq!(retry.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "concurrency group `deploy-prod` is held by run {holder}"
        )),
        "{said}"
    );
    // Its engine ends with the cancelled run.
    wait_child(b, 30);
    let a = wait_child(a, 60);
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    let lines = ledger(&env);
    assert!(
        !lines.iter().any(|l| l.starts_with(&queued)),
        "the cancelled run ran: {lines:#?}"
    );
    assert_one_at_a_time(&lines);
    let shown = env.show(&queued);
    assert_eq!(shown["state"], "cancelled", "{shown:#}");
}
