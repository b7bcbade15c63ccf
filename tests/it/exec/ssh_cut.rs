//! An sshd session killed under a step it carries (found by the chaos campaign,
//! tests/it/chaos): ssh exits 255 and says nothing, which is its connection ending,
//! not the host's answer. The engine follows the step again over a new connection
//! and records the step's own exit: not lost (failed) while it ran on to its end,
//! which handed its run's concurrency group to the next run while it ran.
use super::ssh::{executor, headless_under, hosts, own_tmp};
use crate::chaos::procs;
use crate::helpers::*;

#[test]
fn a_killed_sshd_session_under_a_step_is_followed_again_to_the_steps_own_exit() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let listener = procs::pid_file(&config.parent().unwrap().join("h2").join("sshd.pid"))
        .expect("the host's listener");
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"cut\"\n{}\n[[step]]\nid = \"far\"\nexecutor = \"box\"\nrun = 'touch \"$D/far.started\"; sleep 3; touch \"$D/far.ended\"'\nenv = {{ D = \"{}\" }}\n",
            executor("box", "baton-h2", &config, &env, ""),
            env.path().display()
        ),
    );
    // A `TMPDIR` of its own: killing its session cuts no other test's steps.
    let tmp = own_tmp(&env);
    let engine = headless_under(&env, &wf, &tmp, &[]);
    let id = env.wait_run_id();
    wait_until("the step to start on the host", secs(30), || {
        env.path().join("far.started").exists()
    });
    let mark = env.path().to_string_lossy().into_owned();
    let sessions = wait_until("the sshd session carrying the step", secs(10), || {
        Some(procs::ssh_sessions(&[listener], &mark)).filter(|s| !s.is_empty())
    });
    for s in &sessions {
        assert!(
            procs::signal(s, crate::chaos::plan::Sig::Kill),
            "kill -9 {s:?}"
        );
    }
    let out = wait_child(engine, 90);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        env.path().join("far.ended").exists(),
        "the step ran to its end"
    );
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "far").as_deref(),
        Some("succeeded"),
        "{show:#}"
    );
    assert_eq!(step_field(&show, "far", "attempts"), 1, "{show:#}");
    procs::kill_mentioning(&tmp.to_string_lossy());
}

/// The connection cut while the step is launched, after the job reached the host and
/// before its answer (an `ssh` on `PATH` that delivers the launch, waits for the step to
/// start there, then dies as a killed session makes it: exit 255, nothing said). The
/// step started: the engine asks the host and follows it to its own exit, once — not a
/// spawn failure recorded while it ran on, beside the group's next run (found by the
/// chaos campaign).
#[test]
fn a_launch_cut_after_the_job_reached_the_host_is_followed_not_failed() {
    let Some(config) = hosts() else { return };
    let env = Env::new().with_own_tmp();
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = which_ssh();
    let started = env.path().join("far.started");
    // The marker's path is written into the wrapper (baton hands `ssh` only the
    // variables ssh needs); a command in the background reads /dev/null unless given
    // another descriptor, so the launch's stdin goes to it through fd 3.
    let wrapper = format!(
        "#!/bin/sh\ncase \"$*\" in\n  *mkfifo*)\n    exec 3<&0; {real} \"$@\" <&3 >/dev/null 2>&1 &\n    p=$!\n    while [ ! -e '{}' ]; do sleep 0.05; done\n    kill -9 $p\n    exit 255 ;;\nesac\nexec {real} \"$@\"\n",
        started.display()
    );
    let ssh = bin.join("ssh");
    std::fs::write(&ssh, wrapper).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"cut-launch\"\n{}\n[[step]]\nid = \"far\"\nexecutor = \"box\"\nrun = 'echo once >> \"$D/far.started\"; sleep 1; echo \"made=yes\" >> \"$BATON_OUTPUT\"'\nenv = {{ D = \"{}\" }}\n",
            executor("box", "baton-h2", &config, &env, ""),
            env.path().display()
        ),
    );
    let tmp = own_tmp(&env);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let engine = headless_under(&env, &wf, &tmp, &[("PATH", &path)]);
    let id = env.wait_run_id();
    let out = wait_child(engine, 120);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "far").as_deref(),
        Some("succeeded"),
        "{show:#}"
    );
    assert_eq!(step_field(&show, "far", "attempts"), 1, "{show:#}");
    assert_eq!(
        step_field(&show, "far", "outputs")["made"],
        "yes",
        "{show:#}"
    );
    let runs = std::fs::read_to_string(&started).unwrap_or_default();
    assert_eq!(runs.lines().count(), 1, "the step started once: {runs:?}");
    procs::kill_mentioning(&tmp.to_string_lossy());
}

/// The system's `ssh`, by its full path (the wrapper above stands before it on `PATH`).
fn which_ssh() -> String {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("ssh"))
                .find(|f| f.is_file())
        })
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "/usr/bin/ssh".into())
}
