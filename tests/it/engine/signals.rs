//! Issue 6 point 5: SIGINT, SIGTERM and SIGHUP to a headless run terminate the running
//! steps' process groups, record the run as interrupted and exit 128 + signal; the run
//! can then be resumed to success.
use crate::helpers::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn check(sig: Signal, code: i32) {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "signalled"
[[step]]
id = "slow"
run = 'test -f second-time || { sleep 1000 & echo $! > child.pid; wait; }'
[[step]]
id = "after"
needs = ["slow"]
run = "true"
"#,
    );
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "slow", "running", 15);
    wait_until("the step's child", secs(15), || {
        env.path().join("child.pid").exists()
    });
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
    let out = wait_child(child, 20);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{sig}: {}",
        text(&out.stderr)
    );
    let show = env.show(&id);
    assert_eq!(show["state"], "interrupted", "{sig}");
    assert_eq!(step_field(&show, "slow", "state"), "interrupted");
    let pid: i32 = std::fs::read_to_string(env.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = process_alive(pid);
    assert!(!alive, "{sig}: the step's process group survived");
    std::fs::write(env.path().join("second-time"), "").unwrap();
    let out = env.run(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(env.show(&id)["state"], "succeeded");
}

#[test]
fn sigint_interrupts_with_130() {
    check(Signal::SIGINT, 130);
}

#[test]
fn sigterm_interrupts_with_143() {
    check(Signal::SIGTERM, 143);
}

#[test]
fn sighup_interrupts_with_129() {
    check(Signal::SIGHUP, 129);
}

/// A SIGTERM while the engine's first wake-up is still starting a burst of steps (each
/// step's first act signals its engine; the engine starts them on its own thread): the
/// run is interrupted, baton exits 143 and no step's process is left running. Without
/// its handlers installed before that first wake-up, the signal killed baton outright
/// and left the steps it had started.
#[test]
fn sigterm_during_the_first_burst_of_starts_interrupts_with_143_and_leaves_no_step() {
    let env = Env::new();
    let mut w = String::from("name = \"burst\"\nmax_parallel = 50\n");
    for i in 0..50 {
        w.push_str(&format!(
            "\n[[step]]\nid = \"s{i}\"\nrun = 'echo $$ >> pids; kill -TERM $PPID; sleep 30'\n"
        ));
    }
    let wf = env.workflow("burst.toml", &w);
    let out = wait_child(env.spawn(&["run", wf.to_str().unwrap(), "--headless"]), 60);
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    let id = env.wait_run_id();
    assert_eq!(env.show(&id)["state"], "interrupted");
    let pids = std::fs::read_to_string(env.path().join("pids")).unwrap_or_default();
    let pids: Vec<i32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert!(!pids.is_empty(), "a step started");
    let alive: Vec<_> = pids.iter().filter(|p| process_alive(**p)).collect();
    assert!(
        alive.is_empty(),
        "steps left running: {alive:?} of {pids:?}"
    );
}

/// A baton whose parent left SIGCHLD ignored (an exec keeps that: the kernel then
/// reaps its children itself, and no wait ever sees their status) still gives each
/// step its exit, and its steps start with SIGCHLD at its default (a step's own
/// program waits for its children too).
#[test]
fn sigchld_ignored_by_baton_s_parent_still_gives_each_step_its_exit() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "chld"
[[step]]
id = "three"
run = "exit 3"
[[step]]
id = "ignored"
run = "grep SigIgn /proc/self/status"
"#,
    );
    let out = run_ignoring(&env, &wf, libc::SIGCHLD)
        .output()
        .expect("run baton");
    let id = run_id_of(&text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(
        step_field(&show, "three", "exit_code"),
        3,
        "{}",
        text(&out.stdout)
    );
    assert_eq!(step_field(&show, "ignored", "state"), "succeeded");
    let mask = ignored_in(&env, &id, "ignored");
    assert_eq!(
        mask & (1 << (libc::SIGCHLD - 1)),
        0,
        "SIGCHLD ignored in the step"
    );
}

/// Started under `nohup` (SIGHUP ignored, which an exec keeps), a run is not
/// interrupted by a hang-up: the signal stays ignored, for baton and its steps.
#[test]
fn a_hang_up_ignored_at_entry_as_nohup_leaves_it_does_not_interrupt_the_run() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"
name = "nohup"
[[step]]
id = "slow"
run = 'touch started; while ! test -f go; do sleep 0.05; done; grep SigIgn /proc/self/status'
"#,
    );
    let child = run_ignoring(&env, &wf, libc::SIGHUP)
        .spawn()
        .expect("spawn baton");
    wait_until("the step", secs(15), || env.path().join("started").exists());
    kill(Pid::from_raw(child.id() as i32), Signal::SIGHUP).unwrap();
    std::fs::write(env.path().join("go"), "").unwrap();
    let out = wait_child(child, 20);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let id = env.wait_run_id();
    let mask = ignored_in(&env, &id, "slow");
    assert_ne!(
        mask & (1 << (libc::SIGHUP - 1)),
        0,
        "SIGHUP ignored in the step"
    );
}

/// The signals step `step` of run `id` started with ignored: the mask of the
/// `SigIgn:` line its log holds.
fn ignored_in(env: &Env, id: &str, step: &str) -> u64 {
    let log = text(&env.run(&["logs", id, step]).stdout);
    log.lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no SigIgn line in {log:?}"))
}

/// `baton run WF --headless` started with `sig` ignored, as a parent that ignores it
/// leaves it (an exec keeps an ignored signal); its output piped.
fn run_ignoring(env: &Env, wf: &std::path::Path, sig: libc::c_int) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = env.cmd();
    cmd.args(["run", wf.to_str().unwrap(), "--headless"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: between fork and exec, one async-signal-safe call.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(sig, libc::SIG_IGN);
            Ok(())
        });
    }
    cmd
}
