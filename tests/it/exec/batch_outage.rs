//! Issue 61 point 6: a batch scheduler that does not answer (its `status` fails) for
//! longer than the 10 s a "gone" answer must last is no answer, never "the job left":
//! on the Grid Engine cell, a job runs while `status` fails for 15 s and more, the
//! engine is killed (`kill -9`) and resumed meanwhile, and the job ends while `status`
//! still fails. The step ends with its real exit code, recorded once, never lost and
//! never retried, and the state shown says since when the scheduler has not answered.
//! The outage is a `status` that fails while a file of the test's own directory exists
//! (`qstat` as the real definition runs it otherwise): deterministic, and nothing of
//! the cell is stopped for it.
use super::batch::sge;
use crate::helpers::*;
use baton::model::{EventKind, StepOutcome};
use baton::store::Store;
use std::time::{Duration, Instant};

/// How long the outage lasts at least before the job may end: past the 10 s after
/// which an answer that says "gone" ends an attempt.
const OUTAGE: Duration = Duration::from_secs(15);

/// The workflow: one idempotent step with a retry (a job read as lost would be run
/// again), on the cell, whose `status` fails while `down` exists.
fn workflow(env: &Env) -> std::path::PathBuf {
    let p = |f: &str| env.path().join(f).display().to_string();
    env.workflow(
        "w.toml",
        &format!(
            r#"name = "batch-outage"
[executors.grid]
type = "batch"
submit = ["qsub", "-terse", "-N", "{{name}}", "-o", "{{log}}", "-j", "y", "{{script}}"]
status = ["sh", "-c", "if [ -e \"$2\" ]; then echo 'qmaster not answering' >&2; exit 1; fi; out=$(qstat) || exit 1; printf '%s\\n' \"$out\" | awk -v id=\"$1\" '$1 == id {{{{ print $5 }}}}'", "sh", "{{job_id}}", "{down}"]
cancel = ["qdel", "{{job_id}}"]
poll = "1s"
workdir = "{jobs}"
labels = ["hpc"]

[[step]]
id = "job"
requires = ["hpc"]
retry = {{ attempts = 3, delay = "1s" }}
run = 'echo started >> "$MARKS"; while [ ! -e "$GO" ]; do sleep 0.1; done; echo "done=yes" >> "$BATON_OUTPUT"'
env = {{ MARKS = "{marks}", GO = "{go}" }}
"#,
            down = p("down"),
            jobs = p("jobs"),
            marks = p("marks"),
            go = p("go"),
        ),
    )
}

/// What the record shows of the job now: (state, reason).
fn shown(env: &Env, id: &str) -> (String, String) {
    let job = &step_field(&env.show(id), "job", "jobs")[0];
    let s = |k: &str| job[k].as_str().unwrap_or_default().to_string();
    (s("state"), s("reason"))
}

/// The step is running its first attempt, and its job started once.
fn still_running_once(env: &Env, id: &str, when: &str) {
    let show = env.show(id);
    assert_eq!(
        step_state(&show, "job").as_deref(),
        Some("running"),
        "{when}: {show:#}"
    );
    assert_eq!(step_field(&show, "job", "attempts"), 1, "{when}: {show:#}");
    let marks = std::fs::read_to_string(env.path().join("marks")).unwrap_or_default();
    assert_eq!(marks.lines().count(), 1, "{when}: the job started once");
}

#[test]
fn a_job_outlives_a_status_that_fails_and_a_kill_9_with_its_own_exit_code() {
    let Some(cell) = sge() else { return };
    let env = Env::new();
    let wf = workflow(&env);
    let spawn = |args: &[&str]| {
        env.cmd()
            .envs(cell.vars.iter().map(|(k, v)| (k, v)))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn baton")
    };
    let mut engine = spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("the job to run, its state listed", secs(60), || {
        let running = std::fs::read_to_string(env.path().join("marks")).is_ok();
        running && shown(&env, &id).0 == "r"
    });
    // The scheduler stops answering.
    std::fs::write(env.path().join("down"), "").unwrap();
    let down_at = Instant::now();
    let (state, reason) = wait_until("the state to say status is not answering", secs(30), || {
        Some(shown(&env, &id)).filter(|(_, r)| r.contains("not answering since"))
    });
    assert_eq!(state, "r", "the scheduler's last word is kept: {reason}");
    // kill -9 of the engine in the outage; resume follows the job through it.
    engine.kill().expect("kill -9");
    let _ = engine.wait();
    let resumed = spawn(&["resume", &id, "--headless"]);
    wait_until(
        "the outage to last past the 10 s of `gone`",
        OUTAGE + secs(60),
        || down_at.elapsed() >= OUTAGE && shown(&env, &id).1.contains("not answering since"),
    );
    still_running_once(&env, &id, "after the outage's first 15 s");
    // The job ends while `status` still fails: its exit-code file ends the attempt.
    std::fs::write(env.path().join("go"), "").unwrap();
    let out = wait_child(resumed, 120);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        env.path().join("down").exists(),
        "ended while status failed"
    );
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "job").as_deref(),
        Some("succeeded"),
        "{show:#}"
    );
    assert_eq!(
        step_field(&show, "job", "attempts"),
        1,
        "never retried: {show:#}"
    );
    assert_eq!(step_field(&show, "job", "outputs")["done"], "yes");
    let events = Store::open_existing(&env.db())
        .unwrap()
        .events(&id)
        .unwrap();
    let ends: Vec<&StepOutcome> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepFinished { step, outcome, .. } if step == "job" => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(
        ends,
        [&StepOutcome::Exited { exit_code: 0 }],
        "recorded once"
    );
    let marks = std::fs::read_to_string(env.path().join("marks")).unwrap_or_default();
    assert_eq!(marks.lines().count(), 1, "the job ran once");
}
