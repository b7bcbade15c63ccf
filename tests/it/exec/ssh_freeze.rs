//! Issue 46 point 1 (a hold reaches the step's whole group on its host) and issue 43's
//! hold on an SSH step: `baton hold RUN STEP --freeze` stops every process of the
//! step's remote process group (`kill -STOP` over ssh: state `T`, no progress), `baton
//! release` continues it where it stopped, and a cancel of a frozen step kills it
//! (TERM with CONT). Real sshd hosts (tests/ssh/hosts.sh), as tests/it/exec/ssh.rs.
use super::ssh::{executor, hosts};
use crate::helpers::*;
use baton::procs;

/// The step's remote group: a subshell counting into its log every 20 ms, so that the
/// group has several processes.
fn workflow(env: &Env, config: &std::path::Path) -> std::path::PathBuf {
    env.workflow(
        "w.toml",
        &format!(
            r#"name = "ssh-freeze"
{}
[[step]]
id = "remote"
executor = "box"
timeout = "5m"
run = '''
( i=0
  while [ ! -e "$END" ]; do i=$((i+1)); echo "n=$i"; sleep 0.02; done ) &
wait
'''
env = {{ END = "{end}" }}
"#,
            executor("box", "baton-h2", config, env, "\"gpu\""),
            end = env.path().join("end").display()
        ),
    )
}

/// The highest count in the step's log so far.
fn count(env: &Env, run: &str) -> u64 {
    text(&env.run(&["logs", run, "remote"]).stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("n=")?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// The recorded process group of the step on its host (the hosts are this machine).
fn remote_group(env: &Env, run: &str) -> i32 {
    let show = env.show(run);
    step_field(&show, "remote", "jobs")[0]["job_id"]
        .as_str()
        .and_then(|j| j.parse().ok())
        .unwrap_or_else(|| panic!("a recorded group: {show:#}"))
}

/// `(pid, state, parent)` of each process of the group.
fn members(pgid: i32) -> Vec<(i32, char, i32)> {
    procs::group_members(pgid)
        .into_iter()
        .filter_map(|p| procs::read_stat(p).map(|(s, ppid, _)| (p, s, ppid)))
        .collect()
}

/// Every process of the group is stopped: `T`, or `D` held by a `vfork` child that
/// is (as tests/it/engine/live_usage.rs says).
fn all_stopped(pgid: i32) -> Result<(), String> {
    let m = members(pgid);
    let ok = !m.is_empty()
        && m.iter().all(|&(pid, s, _)| {
            s == 'T' || (s == 'D' && m.iter().any(|&(_, cs, pp)| cs == 'T' && pp == pid))
        });
    if ok { Ok(()) } else { Err(format!("{m:?}")) }
}

#[test]
fn a_step_on_a_host_is_frozen_and_continued() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let wf = workflow(&env, &config);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("the remote step counting", secs(60), || {
        count(&env, &run) >= 5
    });
    let pgid = remote_group(&env, &run);
    ok(&env.run(&["hold", &run, "remote", "--freeze", "--reason", "look first"]));
    wait_until("the remote group stopped", secs(30), || all_stopped(pgid));
    let show = env.show(&run);
    let hold = step_field(&show, "remote", "hold");
    assert_eq!(hold["frozen"], true, "{show:#}");
    assert_eq!(step_state(&show, "remote").as_deref(), Some("running"));
    // Stopped processes count no further: what the log has now is all there is (a
    // line in flight when the STOP came may still land).
    let at_stop = wait_until(
        "the log to catch up with the stopped group",
        secs(10),
        || {
            let a = count(&env, &run);
            let b = count(&env, &run);
            (a == b).then_some(a)
        },
    );
    all_stopped(pgid).expect("still stopped");
    assert!(count(&env, &run) <= at_stop + 1, "no progress while frozen");
    ok(&env.run(&["release", &run, "remote", "--reason", "go on"]));
    wait_until("the remote group running again", secs(30), || {
        members(pgid).iter().all(|&(_, s, _)| s != 'T')
    });
    wait_until("the count to go on from where it stopped", secs(30), || {
        count(&env, &run) > at_stop + 5
    });
    std::fs::write(env.path().join("end"), "").unwrap();
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    let show = env.show(&run);
    assert_eq!(step_state(&show, "remote").as_deref(), Some("succeeded"));
    assert_eq!(
        step_field(&show, "remote", "attempts"),
        1,
        "continued, not rerun"
    );
}

/// A cancel of a frozen remote step kills its whole group there.
#[test]
fn a_cancel_kills_a_frozen_step_on_a_host() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let wf = workflow(&env, &config);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("the remote step counting", secs(60), || {
        count(&env, &run) >= 2
    });
    let pgid = remote_group(&env, &run);
    ok(&env.run(&["hold", &run, "--freeze", "--reason", "all of it"]));
    wait_until("the remote group stopped", secs(30), || all_stopped(pgid));
    ok(&env.run(&["cancel", &run, "--reason", "enough"]));
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(1), "{}", text(&done.stdout));
    wait_until("the remote group gone", secs(30), || {
        members(pgid).is_empty()
    });
    assert_eq!(env.show(&run)["state"], "cancelled");
}

/// kill -9 of the engine while the remote step is frozen: its group stays stopped on
/// the host (nothing there depends on the engine). Returns the run and the step's
/// group on the host.
fn killed_while_frozen(env: &Env, config: &std::path::Path) -> (String, i32) {
    let wf = workflow(env, config);
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    wait_until("the remote step counting", secs(60), || {
        count(env, &run) >= 5
    });
    let pgid = remote_group(env, &run);
    ok(&env.run(&[
        "hold",
        &run,
        "remote",
        "--freeze",
        "--reason",
        "over the night",
    ]));
    wait_until("the remote group stopped", secs(30), || all_stopped(pgid));
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    all_stopped(pgid).expect("still stopped without its engine");
    (run, pgid)
}

/// `resume` re-attaches to the frozen step still frozen: not killed as a leftover (the
/// host being this machine, its processes carry the run's id: they are the SSH
/// executor's, not local leftovers), not run again. Returns the resumed engine.
fn resumed_still_frozen(env: &Env, run: &str, pgid: i32) -> std::process::Child {
    let resumed = env.spawn(&["resume", run, "--headless"]);
    let driver = format!("pid {} ", resumed.id());
    wait_until("the resumed engine to drive the run", secs(30), || {
        let v = env.show(run);
        let ours = v["driven_by"]
            .as_str()
            .is_some_and(|d| d.starts_with(&driver));
        (ours && v["state"] == "waiting").then_some(())
    });
    all_stopped(pgid).expect("still frozen after the resume, not killed as a leftover");
    let show = env.show(run);
    assert_eq!(
        step_field(&show, "remote", "hold")["frozen"],
        true,
        "{show:#}"
    );
    assert_eq!(step_state(&show, "remote").as_deref(), Some("running"));
    assert_eq!(step_field(&show, "remote", "attempts"), 1, "not run again");
    resumed
}

/// The released step goes on where it stopped (its processes leave state `T` and
/// count on), ends, and is recorded as the one attempt it is: succeeded, exit 0, its
/// log every number once, in order (what it wrote before the crash included).
fn continues_to_its_end(
    env: &Env,
    engine: std::process::Child,
    run: &str,
    pgid: i32,
    at_stop: u64,
) {
    wait_until("the remote group running again", secs(30), || {
        let m = members(pgid);
        if !m.is_empty() && m.iter().all(|&(_, s, _)| s != 'T') {
            Ok(())
        } else {
            Err(format!("{m:?}"))
        }
    });
    wait_until("the count to go on from where it stopped", secs(30), || {
        count(env, run) > at_stop + 5
    });
    std::fs::write(env.path().join("end"), "").unwrap();
    let done = wait_child(engine, 60);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let show = env.show(run);
    assert_eq!(step_state(&show, "remote").as_deref(), Some("succeeded"));
    assert_eq!(
        step_field(&show, "remote", "attempts"),
        1,
        "continued, not rerun"
    );
    assert_eq!(
        step_field(&show, "remote", "exit_code"),
        0,
        "its exit on record: {show:#}"
    );
    assert!(members(pgid).is_empty(), "nothing left on the host");
    let log = text(&env.run(&["logs", run, "remote"]).stdout);
    let got: Vec<&str> = log.lines().map(str::trim).collect();
    let last = count(env, run);
    assert!(last > at_stop + 5, "{log}");
    let want: Vec<String> = (1..=last).map(|i| format!("n={i}")).collect();
    assert_eq!(got, want, "every number once, in order");
}

/// Issue 43 point 1 on an SSH host: after the kill -9 and `resume`, a `release`
/// continues the frozen step there.
#[test]
fn a_frozen_step_on_a_host_is_continued_by_a_release_after_kill_9_and_resume() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let (run, pgid) = killed_while_frozen(&env, &config);
    let resumed = resumed_still_frozen(&env, &run, pgid);
    let at_stop = count(&env, &run);
    ok(&env.run(&["release", &run, "remote", "--reason", "morning"]));
    continues_to_its_end(&env, resumed, &run, pgid, at_stop);
}

/// The same release given to the interrupted run takes it over: the resume and the
/// release are decided in one wake-up, before the re-attached attempt's handle exists
/// (the handle is born frozen, then continued: the group does not stay stopped).
#[test]
fn a_release_taking_over_after_kill_9_continues_a_frozen_step_on_a_host() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let (run, pgid) = killed_while_frozen(&env, &config);
    let at_stop = count(&env, &run);
    let engine = env.spawn(&["release", &run, "remote", "--reason", "morning"]);
    continues_to_its_end(&env, engine, &run, pgid, at_stop);
}

/// After the kill -9 and the resume, a cancel of the still frozen step kills its
/// group there.
#[test]
fn a_frozen_step_on_a_host_is_cancelled_after_kill_9_and_resume() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let (run, pgid) = killed_while_frozen(&env, &config);
    let resumed = resumed_still_frozen(&env, &run, pgid);
    ok(&env.run(&["cancel", &run, "--reason", "not needed"]));
    let done = wait_child(resumed, 60);
    assert_eq!(done.status.code(), Some(1), "{}", text(&done.stderr));
    wait_until("the remote group gone", secs(30), || {
        members(pgid).is_empty()
    });
    assert_eq!(env.show(&run)["state"], "cancelled");
}
