//! An sshd session killed under a step it carries (found by the chaos campaign,
//! tests/it/chaos): ssh exits 255 and says nothing, which is its connection ending,
//! not the host's answer. The engine follows the step again over a new connection
//! and records the step's own exit: not lost (failed) while it ran on to its end,
//! which handed its run's concurrency group to the next run while it ran.
use super::ssh::{executor, hosts};
use crate::chaos::procs;
use crate::helpers::*;

#[test]
fn a_killed_sshd_session_under_a_step_is_followed_again_to_the_steps_own_exit() {
    let Some(config) = hosts() else { return };
    let env = Env::new();
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
    // A `TMPDIR` of its own: the shared connection (`ControlMaster`) is this test's
    // alone, so killing its session cuts no other test's steps.
    let tmp = env.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let engine = env
        .cmd()
        .env("TMPDIR", &tmp)
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn baton");
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
