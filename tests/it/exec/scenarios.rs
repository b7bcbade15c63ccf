//! The scenarios every executor that runs a step elsewhere passes (a Slurm cluster,
//! a batch scheduler, an SSH host), written once: each executor's test file
//! (`slurm.rs`, `batch.rs`, `ssh.rs`) gives its definition as a [`Remote`] and adds
//! the checks only it can make (its own queue, its host's command lines).
use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The secret every scenario hands its steps; never in a log or on a command line.
pub(super) const SECRET: &str = "s3cr3t-in-the-job";

/// One executor under test.
pub(super) struct Remote<'a> {
    /// Which one it is, said in every failure (`slurm`, `sge`, `ssh`).
    pub what: &'a str,
    /// The executor's name in the workflow (`[executors.NAME]`).
    pub name: &'a str,
    /// The `[executors.…]` tables of the workflow.
    pub head: String,
    /// What its commands need in their environment (the SGE cell's variables).
    pub vars: &'a [(String, String)],
    /// How the flow's first step is placed on it: `requires = ["hpc"]` (the only
    /// executor with that label) or `executor = "NAME"`.
    pub place: String,
    /// Whether the scheduler or the host still runs the job (a recorded job id).
    pub runs_job: &'a dyn Fn(&str) -> bool,
    /// Where its attempts' files live while they run (empty once they ended), if the
    /// test can look there.
    pub files: Option<PathBuf>,
}

impl Remote<'_> {
    fn cmd(&self, env: &Env) -> Command {
        let mut c = env.cmd();
        c.envs(self.vars.iter().map(|(k, v)| (k, v)));
        c
    }

    pub(super) fn run(&self, env: &Env, args: &[&str]) -> Output {
        self.cmd(env)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run baton")
    }

    pub(super) fn spawn(&self, env: &Env, args: &[&str]) -> Child {
        self.cmd(env)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn baton")
    }

    /// A workflow `name` with a secret param `token` and `steps` (its `[[step]]`
    /// tables, where `{place}` stands for how a step is placed here), run headless with
    /// `secret` as the token: the run's id and its `show --json`, once it succeeded.
    pub(super) fn run_with_secret(
        &self,
        env: &Env,
        name: &str,
        steps: &str,
        secret: &str,
    ) -> (String, serde_json::Value) {
        let body = format!(
            "name = \"{name}\"\n[params.token]\nsecret = true\n{}\n{}",
            self.head,
            steps.replace("{place}", &self.place)
        );
        let wf = env.workflow(&format!("{name}.toml"), &body);
        let token = format!("token={secret}");
        let out = self.run(
            env,
            &["run", wf.to_str().unwrap(), "--headless", "--param", &token],
        );
        assert!(out.status.success(), "{}: {}", self.what, text(&out.stderr));
        let id = run_id_of(&text(&out.stdout));
        let show = env.show(&id);
        (id, show)
    }

    /// The pid a step wrote to `file` in the test's directory, once it has.
    pub(super) fn pid_in(&self, env: &Env, file: &str, why: &str) -> i32 {
        wait_until(why, secs(60), || {
            std::fs::read_to_string(env.path().join(file))
                .ok()?
                .trim()
                .parse::<i32>()
                .ok()
        })
    }

    /// The job is over: its shell is gone and the scheduler (or host) runs it no more.
    fn wait_job_ended(&self, pid: i32, job: &str, why: &str) {
        wait_until(why, secs(30), || {
            !process_alive(pid) && !(self.runs_job)(job)
        });
    }

    /// Nothing of an attempt stays behind where it ran.
    fn wait_no_files(&self) {
        if let Some(dir) = &self.files {
            wait_until("the attempts' files gone", secs(10), || {
                walk(dir).is_empty()
            });
        }
    }
}

/// Every file under `dir`.
pub(super) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub(super) fn error_kinds(show: &serde_json::Value) -> Vec<String> {
    show["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["kind"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A step's first job id as recorded.
fn job_id(show: &serde_json::Value, step: &str) -> String {
    step_field(show, step, "jobs")[0]["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Outputs flow to a local step, exit codes are recorded, a secret is masked in the
/// job's log, the output is in the log while the job runs (`while_running` looks at
/// the run then), a timeout reaches the job, and nothing of an attempt stays behind.
/// Returns the run's id and its `show --json`.
pub(super) fn flow(
    r: &Remote,
    env: &Env,
    while_running: impl FnOnce(&str),
) -> (String, serde_json::Value) {
    let wf = env.workflow(
        "w.toml",
        &format!(
            r#"name = "{what}-flow"
secrets = ["TOKEN"]
{head}
[[step]]
id = "compute"
{place}
run = 'echo "token=$TOKEN"; echo "answer=42" >> "$BATON_OUTPUT"; echo waiting; while [ ! -e "$GO" ]; do sleep 0.1; done; echo "greeting=$GREETING"'
env = {{ GO = "{go}", GREETING = "it's $(not code)" }}

[[step]]
id = "report"
needs = ["compute"]
run = 'test "$ANSWER" = 42'
env = {{ ANSWER = "${{{{ steps.compute.outputs.answer }}}}" }}

[[step]]
id = "fails"
executor = "{name}"
run = 'echo failing >&2; exit 3'

[[step]]
id = "slow"
executor = "{name}"
timeout = "3s"
run = 'echo "$$" > "$PIDS"; sleep 600'
env = {{ PIDS = "{pids}" }}
"#,
            what = r.what,
            head = r.head,
            place = r.place,
            name = r.name,
            go = env.path().join("go").display(),
            pids = env.path().join("slow.pid").display()
        ),
    );
    let child = r
        .cmd(env)
        .env("TOKEN", SECRET)
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let id = env.wait_run_id();
    // Live: its lines are in the step's log while it still runs, the last one before
    // it waits too (a line is passed on whole at once, with nothing after it).
    wait_until("the step's lines in its log", secs(60), || {
        let log = text(&env.run(&["logs", &id, "compute"]).stdout);
        if log.contains("token=***\nwaiting\n") {
            Ok(())
        } else {
            Err(format!("{}: log {log:?}\n{:#}", r.what, env.show(&id)))
        }
    });
    while_running(&id);
    std::fs::write(env.path().join("go"), "").unwrap();
    let out = wait_child(child, 120);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}: {stdout}\n{}",
        r.what,
        text(&out.stderr)
    );
    assert_eq!(run_id_of(&stdout), id);
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "compute").as_deref(),
        Some("succeeded"),
        "{}: {show:#}",
        r.what
    );
    assert_eq!(step_field(&show, "compute", "outputs")["answer"], "42");
    let job = &step_field(&show, "compute", "jobs")[0];
    assert_eq!(job["executor"], r.name, "{job}");
    assert!(job["job_id"].is_string(), "{job}");
    assert_eq!(step_state(&show, "report").as_deref(), Some("succeeded"));
    assert_eq!(step_state(&show, "fails").as_deref(), Some("failed"));
    assert_eq!(step_field(&show, "fails", "exit_code"), 3);
    assert_eq!(step_state(&show, "slow").as_deref(), Some("failed"));
    assert!(
        error_kinds(&show).contains(&"timeout".into()),
        "{}: {show:#}",
        r.what
    );
    // The timeout reached the job: its shell is gone, and it runs no more.
    let pid = r.pid_in(env, "slow.pid", "the slow job to run");
    r.wait_job_ended(pid, &job_id(&show, "slow"), "the timed-out job to end");
    let log = text(&env.run(&["logs", &id, "compute"]).stdout);
    assert!(log.contains("token=***"), "{}: {log}", r.what);
    assert!(!log.contains(SECRET), "{log}");
    assert!(log.contains("greeting=it's $(not code)"), "{log}");
    r.wait_no_files();
    (id, show)
}

/// `baton cancel` reaches the running job: the step is cancelled, its shell and its
/// job end. `while_running` looks at the run once its job's state is recorded.
pub(super) fn cancel(r: &Remote, env: &Env, while_running: impl FnOnce(&str)) -> String {
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"{}-cancel\"\n{}\n[[step]]\nid = \"long\"\nexecutor = \"{}\"\nrun = 'echo \"$$\" > \"$PIDS\"; sleep 600'\nenv = {{ PIDS = \"{}\" }}\n",
            r.what,
            r.head,
            r.name,
            env.path().join("long.pid").display()
        ),
    );
    let child = r.spawn(env, &["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    let pid = r.pid_in(env, "long.pid", "the job to run");
    // The scheduler's word for the job is recorded.
    wait_until("the job's state in the record", secs(30), || {
        step_field(&env.show(&id), "long", "jobs")[0]["state"].is_string()
    });
    while_running(&id);
    let out = r.run(env, &["cancel", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = wait_child(child, 60);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}: {}",
        r.what,
        text(&out.stderr)
    );
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "long").as_deref(),
        Some("cancelled"),
        "{}: {show:#}",
        r.what
    );
    r.wait_job_ended(pid, &job_id(&show, "long"), "the cancelled job to end");
    id
}

/// A step `job` that writes a mark, two lines, then waits for `go` to print its third
/// and an output; with `ended`, a second one (`ended`) that also waits for `go`.
fn waiting_steps(r: &Remote, env: &Env, name: &str, ended: bool) -> PathBuf {
    let mut wf = format!(
        "name = \"{name}\"\n{}\n[[step]]\nid = \"job\"\nexecutor = \"{}\"\nidempotent = false\nrun = 'echo started >> \"$MARKS\"; echo line-1; echo line-2; while [ ! -e \"$GO\" ]; do sleep 0.1; done; echo line-3; echo \"done=yes\" >> \"$BATON_OUTPUT\"'\nenv = {{ MARKS = \"{}\", GO = \"{}\" }}\n",
        r.head,
        r.name,
        env.path().join("marks").display(),
        env.path().join("go").display(),
    );
    if ended {
        wf.push_str(&format!(
            "\n[[step]]\nid = \"ended\"\nexecutor = \"{}\"\nidempotent = false\nrun = 'echo started >> \"$MARKS2\"; while [ ! -e \"$GO\" ]; do sleep 0.1; done; echo \"fine=1\" >> \"$BATON_OUTPUT\"'\nenv = {{ MARKS2 = \"{}\", GO = \"{}\" }}\n",
            r.name,
            env.path().join("marks2").display(),
            env.path().join("go").display(),
        ));
    }
    env.workflow("w.toml", &wf)
}

/// After the engine died, `go` lets the jobs end and `resume` follows them to their
/// end: each job started once, `job`'s whole log with each line once.
fn resume_follows(r: &Remote, env: &Env, id: &str, steps: &[&str]) -> serde_json::Value {
    let mtime = |f: &str| {
        std::fs::metadata(env.path().join(f))
            .and_then(|m| m.modified())
            .expect("the file's time")
    };
    // Long enough that a duration counted from the re-attach would show (issue 55
    // point 7): each job has run 2 s before it may end.
    let marks = ["marks", "marks2"];
    wait_until("each job to have run 2 s", secs(30), || {
        marks.iter().take(steps.len()).all(|m| {
            mtime(m)
                .elapsed()
                .is_ok_and(|d| d >= std::time::Duration::from_secs(2))
        })
    });
    std::fs::write(env.path().join("go"), "").unwrap();
    // A job not followed would leave the step waiting for a `mark`: a deadline, not a hang.
    let out = wait_child(r.spawn(env, &["resume", id]), 120);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}\n{}",
        r.what,
        text(&out.stdout),
        text(&out.stderr)
    );
    let show = env.show(id);
    for step in steps {
        assert_eq!(
            step_state(&show, step).as_deref(),
            Some("succeeded"),
            "{}: {step}: {show:#}",
            r.what
        );
        assert_eq!(step_field(&show, step, "jobs")[0]["executor"], r.name);
    }
    assert_eq!(step_field(&show, "job", "outputs")["done"], "yes");
    // Each step's duration is its life, from its start (its mark) to past `go`, not
    // the moments since this engine re-attached to it (issue 55 point 7).
    for (step, marks) in steps.iter().zip(marks) {
        let lived = mtime("go")
            .duration_since(mtime(marks))
            .unwrap_or_default()
            .as_millis();
        let duration = step_field(&show, step, "duration_ms").as_u64().unwrap_or(0);
        assert!(
            u128::from(duration) >= lived,
            "{}: {step} lasted {duration} ms, but ran from its start to `go` ({lived} ms)",
            r.what
        );
    }
    for marks in marks.iter().take(steps.len()) {
        let started = std::fs::read_to_string(env.path().join(marks)).unwrap_or_default();
        assert_eq!(
            started.lines().count(),
            1,
            "{}: started once: {started}",
            r.what
        );
    }
    let log = text(&env.run(&["logs", id, "job"]).stdout);
    assert_eq!(
        log, "line-1\nline-2\nline-3\n",
        "{}: each line once",
        r.what
    );
    show
}

/// kill -9 of the engine while its jobs run (their ids recorded, `job`'s first lines
/// copied into its log): both end while no engine runs, and resume re-attaches to one
/// and collects the other, never starting either again.
pub(super) fn reattach(r: &Remote, env: &Env) -> String {
    let wf = waiting_steps(r, env, &format!("{}-resume", r.what), true);
    let mut child = r.spawn(env, &["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("the job's first lines in the step's log", secs(60), || {
        text(&env.run(&["logs", &id, "job"]).stdout).contains("line-2")
    });
    wait_until("both job ids in the store", secs(30), || {
        let show = env.show(&id);
        ["job", "ended"]
            .iter()
            .all(|s| step_field(&show, s, "jobs")[0]["job_id"].is_string())
    });
    child.kill().expect("kill -9");
    let _ = child.wait();
    let show = resume_follows(r, env, &id, &["job", "ended"]);
    assert_eq!(step_field(&show, "ended", "outputs")["fine"], "1");
    id
}

/// The engine dies (SIGKILL, the `started` failpoint) after the job was started and
/// before its id was recorded: resume finds the attempt where it runs (its directory)
/// and follows it. The step is not idempotent, so a job not adopted would wait for a
/// `mark` instead of succeeding.
pub(super) fn adopt(r: &Remote, env: &Env) -> String {
    let wf = waiting_steps(r, env, &format!("{}-adopt", r.what), false);
    let out = died_at_started(env, r.vars, &wf, "job");
    let id = env.wait_run_id();
    let show = env.show(&id);
    assert!(
        !step_field(&show, "job", "jobs")[0]["job_id"].is_string(),
        "{}: the dead engine recorded no job: {show:#}\n{}",
        r.what,
        text(&out.stderr)
    );
    // Its launch is on record with its start: what the dead engine may have left
    // running, which keeps the run's group and pool slots until resume asks the host
    // (found by the simulator, `--mix remote`: the group went to the next run while
    // the launched job ran).
    let left = &step_field(&show, "job", "left_running");
    assert_eq!(left["kind"], "launching", "{}: {show:#}", r.what);
    assert_eq!(left["executor"], r.name, "{}: {show:#}", r.what);
    wait_until("the job to run", secs(60), || {
        std::fs::read_to_string(env.path().join("marks")).is_ok_and(|m| m.lines().count() == 1)
    });
    resume_follows(r, env, &id, &["job"]);
    id
}

/// The engine dies between a launch and its record, and at resume the executor does not
/// answer (`down`: the same executor's name on a host that is down): the resume is
/// refused naming the executor and the step, and nothing starts again. Once it answers,
/// resume follows the one job the dead engine launched.
pub(super) fn no_answer_refuses_resume(r: &Remote, down: &Remote, env: &Env) {
    let wf = waiting_steps(r, env, &format!("{}-no-answer", r.what), false);
    died_at_started(env, r.vars, &wf, "job");
    let id = env.wait_run_id();
    let started =
        || std::fs::read_to_string(env.path().join("marks")).map_or(0, |m| m.lines().count());
    wait_until("the job to run", secs(60), || started() == 1);
    let as_written = std::fs::read_to_string(&wf).expect("the workflow");
    std::fs::write(&wf, as_written.replace(&r.head, &down.head)).expect("the workflow");
    let out = r.run(env, &["resume", &id]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{}: {said}", r.what);
    assert!(
        said.contains(&format!("executor `{}` could not be asked", r.name))
            && said.contains("step(s) `job`"),
        "{}: {said}",
        r.what
    );
    assert_eq!(started(), 1, "{}: nothing started again", r.what);
    std::fs::write(&wf, as_written).expect("the workflow");
    resume_follows(r, env, &id, &["job"]);
    assert_eq!(started(), 1, "{}: the job ran once", r.what);
}
