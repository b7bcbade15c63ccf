//! Processes that are ours (issue 16, point 4): resume stops a recorded process group
//! only when it still belongs to the run. A group id recorded by a dead engine may have
//! been taken by an unrelated group since (pid reuse after a reboot, in a PID
//! namespace): that group is left alone.
use crate::helpers::*;
use std::process::{Command, Stdio};

#[test]
fn resume_leaves_alone_a_recorded_group_that_is_no_longer_the_runs() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"slow\"\nrun = 'if [ -f once ]; then true; else touch once; sleep 60; fi'\n",
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "slow", "running", 20);
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    // An unrelated process group (no BATON_RUN_ID), as pid reuse would give.
    let mut stranger = Command::new("setsid")
        .args(["sleep", "60"])
        .env_remove("BATON_RUN_ID")
        .stdin(Stdio::null())
        .spawn()
        .expect("setsid sleep");
    let pgid = stranger.id() as i32;
    // The dead engine's record says the step's group is that id.
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let (key, seq): (i64, i64) = conn
        .query_row(
            "SELECT r.key, max(e.seq) FROM runs r JOIN events e ON e.run_id = r.id WHERE r.id = ?1",
            [&run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let at = chrono::Utc::now().timestamp_millis();
    let event = serde_json::json!({
        "seq": seq + 1, "at": at, "type": "step_process", "step": "slow", "attempt": 1, "pgid": pgid,
    });
    conn.execute(
        "INSERT INTO events (id, run_id, seq, at, type, step, json) VALUES ((?1 << 32) + ?2, ?3, ?2, ?4, 'step_process', 'slow', ?5)",
        rusqlite::params![key, seq + 1, run, at, event.to_string()],
    )
    .unwrap();
    drop(conn);
    let o = env.run(&["resume", &run, "--headless"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert_eq!(step_field(&env.show(&run), "slow", "state"), "succeeded");
    assert!(
        matches!(stranger.try_wait(), Ok(None)),
        "resume killed an unrelated process group"
    );
    let _ = stranger.kill();
    let _ = stranger.wait();
    // The run's own leftover (the first attempt's `sleep 60`) was stopped.
    wait_until("the run's leftover to be stopped", secs(10), || {
        let left = Command::new("pgrep")
            .args(["-f", "^sleep 60$"])
            .output()
            .map(|o| text(&o.stdout))
            .unwrap_or_default();
        let ours: Vec<&str> = left
            .lines()
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ"))
                    .map(|e| String::from_utf8_lossy(&e).contains(&run))
                    .unwrap_or(false)
            })
            .collect();
        if ours.is_empty() {
            Ok(())
        } else {
            Err(format!("leftover survived: {ours:?}"))
        }
    });
}

/// Temporary directories are removed on every path: what a killed engine left behind
/// (its attempts' `$BATON_OUTPUT` files) goes when the run is resumed.
#[test]
fn resume_removes_the_temporary_files_a_killed_engine_left() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"slow\"\nrun = 'echo token=abc >> \"$BATON_OUTPUT\"; if [ -f once ]; then true; else touch once; sleep 60; fi'\n",
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let run = env.wait_run_id();
    env.wait_step(&run, "slow", "running", 20);
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(env.runtime_dir())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(&format!("baton-{run}-")))
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_until("a files directory to appear", secs(10), || {
        !leftovers().is_empty()
    });
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    assert!(
        !leftovers().is_empty(),
        "the killed engine left its directory"
    );
    let o = env.run(&["resume", &run, "--headless"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// Every attempt has its own files, at random names that other steps cannot find
/// (issue 16 point 4): a sibling step that goes looking for other steps' output files
/// to overwrite (`deploying 6.6.6-evil`) finds none. Run as an ordinary user: root
/// reads any directory, so as root the test runs baton as `nobody`.
#[test]
fn a_step_cannot_overwrite_a_siblings_outputs() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"name = "siblings"
[[step]]
id = "build"
run = 'echo version=1.2.3 >> "$BATON_OUTPUT"; i=0; while [ ! -f tried ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done'
[[step]]
id = "evil"
run = '''
own="$(dirname "$BATON_OUTPUT")"; run="$(dirname "$own")"
for f in "$own"/* "$run"/* "$run"/*/*; do
  case "$f" in *output*) [ "$f" = "$BATON_OUTPUT" ] || echo version=6.6.6-evil >> "$f" ;; esac
done
touch tried
'''
[[step]]
id = "deploy"
needs = ["build"]
run = 'echo "deploying $VERSION" > deployed'
env = { VERSION = "${{ steps.build.outputs.version }}" }
"#,
    );
    // The temp dir (workflow, store, outputs) belongs to the user baton runs as.
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = baton_as_user(&[env.path(), &wf]);
    let out = cmd
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .env("BATON_DB", env.db())
        .env("HOME", env.path())
        .env("NO_COLOR", "1")
        .current_dir(env.path())
        .stdin(Stdio::null())
        .output()
        .expect("run baton");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        env.path().join("tried").exists(),
        "the sibling ran its search"
    );
    let deployed = std::fs::read_to_string(env.path().join("deployed")).unwrap();
    assert_eq!(deployed, "deploying 1.2.3\n");
}
