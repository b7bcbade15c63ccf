//! Issue 46, point 3: the generic batch executor (`type = "batch"`) on two real
//! schedulers: a private Sun Grid Engine cell (tests/sge/cell.sh) and the single-node
//! Slurm (tests/slurm/cluster.sh), each driven by one executor definition of its own
//! commands. Every test body runs on both; a scheduler that cannot run here (not
//! installed, not root) is skipped with the reason printed.
use crate::helpers::*;

/// One scheduler: its executor definition and what its commands need in their
/// environment.
struct Scheduler {
    name: &'static str,
    vars: Vec<(String, String)>,
    definition: String,
}

/// The SGE cell, once per test process (it stops once this process has exited).
fn sge() -> Option<Scheduler> {
    static UP: std::sync::OnceLock<Option<Vec<(String, String)>>> = std::sync::OnceLock::new();
    let vars = UP
        .get_or_init(|| {
            let file = start_daemons(
                "sge/cell.sh",
                &[
                    "/usr/lib/gridengine/sge_qmaster",
                    "/usr/lib/gridengine/qsub",
                ],
                "gridengine-master gridengine-exec gridengine-client",
                true,
            )?;
            let text = std::fs::read_to_string(&file).expect("the cell's environment file");
            Some(
                text.lines()
                    .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        })
        .clone()?;
    Some(Scheduler {
        name: "sge",
        vars,
        // `status` prints the job's state while `qstat` lists it (the id passed to the
        // fixed script as its argument, never spliced into it).
        definition: r#"
[executors.grid]
type = "batch"
submit = ["qsub", "-terse", "-N", "{name}", "-o", "{log}", "-j", "y", ["-l", "h_rt={timeout_s}"], "{script}"]
status = ["sh", "-c", "qstat | awk -v id=\"$1\" '$1 == id {{ print $5 }}'", "sh", "{job_id}"]
cancel = ["qdel", "{job_id}"]
poll = "1s"
labels = ["hpc"]
"#
        .into(),
    })
}

/// The Slurm cluster through the generic executor (not `type = "slurm"`).
fn slurm() -> Option<Scheduler> {
    static UP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let up = *UP.get_or_init(|| {
        start_daemons(
            "slurm/cluster.sh",
            &["/usr/bin/sbatch", "/usr/sbin/slurmctld"],
            "slurmctld slurmd slurm-client munge",
            false,
        )
        .is_some()
    });
    up.then(|| Scheduler {
        name: "slurm",
        vars: Vec::new(),
        definition: r#"
[executors.grid]
type = "batch"
submit = ["sbatch", "--parsable", "--job-name={name}", "--output={log}", ["--time={timeout_min}"], "{script}"]
status = ["squeue", "--noheader", "--jobs={job_id}", "--states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED", "--format=%T"]
cancel = ["scancel", "{job_id}"]
poll = "1s"
labels = ["hpc"]
"#
        .into(),
    })
}

impl Scheduler {
    /// The executor, its job files under the test's directory.
    fn head(&self, env: &Env) -> String {
        format!(
            "{}workdir = \"{}\"\n",
            self.definition,
            env.path().join("jobs").display()
        )
    }

    fn cmd(&self, env: &Env) -> std::process::Command {
        let mut c = env.cmd();
        c.envs(self.vars.iter().map(|(k, v)| (k, v)));
        c
    }

    fn run(&self, env: &Env, args: &[&str]) -> std::process::Output {
        self.cmd(env)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run baton")
    }

    fn spawn(&self, env: &Env, args: &[&str]) -> std::process::Child {
        self.cmd(env)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn baton")
    }

    /// Whether `status` (as the executor runs it) still lists the job.
    fn lists(&self, job_id: &str) -> bool {
        let out = match self.name {
            "sge" => std::process::Command::new("qstat")
                .envs(self.vars.iter().map(|(k, v)| (k, v)))
                .output(),
            _ => std::process::Command::new("squeue")
                .args(["--noheader", "--format=%i %T"])
                .output(),
        }
        .expect("the scheduler's listing");
        text(&out.stdout).lines().any(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some(job_id)
                && !w.any(|s| ["COMPLETED", "CANCELLED", "FAILED", "TIMEOUT"].contains(&s))
        })
    }
}

/// Both schedulers that can run here.
fn schedulers() -> Vec<Scheduler> {
    sge().into_iter().chain(slurm()).collect()
}

fn error_kinds(show: &serde_json::Value) -> Vec<String> {
    show["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["kind"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Outputs flow to a local step, exit codes are recorded, a secret is masked in the
/// job's log, a timeout reaches the job, and nothing of an attempt stays behind.
fn flow(s: &Scheduler) {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        &format!(
            r#"name = "batch-flow"
secrets = ["TOKEN"]
{}
[[step]]
id = "compute"
requires = ["hpc"]
run = 'echo "token=$TOKEN"; echo "answer=42" >> "$BATON_OUTPUT"; echo "greeting=$GREETING"'
env = {{ GREETING = "it's $(not code)" }}

[[step]]
id = "report"
needs = ["compute"]
run = 'test "$ANSWER" = 42'
env = {{ ANSWER = "${{{{ steps.compute.outputs.answer }}}}" }}

[[step]]
id = "fails"
executor = "grid"
run = 'echo failing; exit 3'

[[step]]
id = "slow"
executor = "grid"
timeout = "3s"
run = 'echo "$$" > "$PIDS"; sleep 600'
env = {{ PIDS = "{}" }}
"#,
            s.head(&env),
            env.path().join("slow.pid").display()
        ),
    );
    let secret = "s3cr3t-in-the-job";
    let child = s
        .cmd(&env)
        .env("TOKEN", secret)
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = wait_child(child, 120);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}: {stdout}\n{}",
        s.name,
        text(&out.stderr)
    );
    let id = run_id_of(&stdout);
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "compute").as_deref(),
        Some("succeeded"),
        "{}: {show:#}",
        s.name
    );
    assert_eq!(step_field(&show, "compute", "outputs")["answer"], "42");
    let job = &step_field(&show, "compute", "jobs")[0];
    assert_eq!(job["executor"], "grid", "{job}");
    assert!(job["job_id"].is_string(), "{job}");
    assert_eq!(step_state(&show, "report").as_deref(), Some("succeeded"));
    assert_eq!(step_state(&show, "fails").as_deref(), Some("failed"));
    assert_eq!(step_field(&show, "fails", "exit_code"), 3);
    assert_eq!(step_state(&show, "slow").as_deref(), Some("failed"));
    assert!(
        error_kinds(&show).contains(&"timeout".into()),
        "{}: {show:#}",
        s.name
    );
    // The timeout reached the job: its shell is gone, and the scheduler lists it no more.
    let slow_job = step_field(&show, "slow", "jobs")[0]["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pid: i32 = std::fs::read_to_string(env.path().join("slow.pid"))
        .expect("the slow job ran")
        .trim()
        .parse()
        .unwrap();
    wait_until("the timed-out job to end", secs(30), || {
        !process_alive(pid) && !s.lists(&slow_job)
    });
    let log = text(&env.run(&["logs", &id, "compute"]).stdout);
    assert!(log.contains("token=***"), "{}: {log}", s.name);
    assert!(!log.contains(secret), "{log}");
    assert!(log.contains("greeting=it's $(not code)"), "{log}");
    let left: Vec<_> = std::fs::read_dir(env.path().join("jobs").join(&id))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{}: left behind: {left:?}", s.name);
}

#[test]
fn outputs_exit_codes_secrets_and_timeouts_on_each_scheduler() {
    for s in schedulers() {
        flow(&s);
    }
}

/// The run's store path (`BATON_DB`, for a local step's `baton ask`) is never put in a
/// batch job's environment (a path on the nodes means nothing); a local step of the
/// same run gets it. The engine is given its store by `--db`, not by its environment
/// (which a scheduler may pass on to the job, as `sbatch` does).
fn no_store_path(s: &Scheduler) {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        &format!(
            r#"name = "batch-store"
{}
[[step]]
id = "queued"
executor = "grid"
run = 'echo "db=${{BATON_DB:-none}}" >> "$BATON_OUTPUT"'

[[step]]
id = "here"
run = 'echo "db=${{BATON_DB:-none}}" >> "$BATON_OUTPUT"'
"#,
            s.head(&env),
        ),
    );
    let db = env.db();
    let out = s
        .cmd(&env)
        .env_remove("BATON_DB")
        .args(["run", wf.to_str().unwrap(), "--headless", "--db"])
        .arg(&db)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run baton");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        s.name,
        text(&out.stderr)
    );
    let show = env.show(&run_id_of(&text(&out.stdout)));
    assert_eq!(
        step_field(&show, "queued", "outputs")["db"],
        "none",
        "{}: {show:#}",
        s.name
    );
    let here = step_field(&show, "here", "outputs")["db"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        std::fs::canonicalize(&here).ok(),
        std::fs::canonicalize(&db).ok(),
        "{}: the local step's store: {here}",
        s.name
    );
}

#[test]
fn a_batch_job_is_sent_no_store_path_on_each_scheduler() {
    for s in schedulers() {
        no_store_path(&s);
    }
}

/// `baton cancel` reaches the running job through `cancel`.
fn cancel(s: &Scheduler) {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"batch-cancel\"\n{}\n[[step]]\nid = \"long\"\nexecutor = \"grid\"\nrun = 'echo \"$$\" > \"$PIDS\"; sleep 600'\nenv = {{ PIDS = \"{}\" }}\n",
            s.head(&env),
            env.path().join("long.pid").display()
        ),
    );
    let child = s.spawn(&env, &["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    let pid: i32 = wait_until("the job to run", secs(60), || {
        std::fs::read_to_string(env.path().join("long.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    });
    // The scheduler's word for the job is recorded.
    wait_until("the job's state in the record", secs(30), || {
        step_field(&env.show(&id), "long", "jobs")[0]["state"].is_string()
    });
    let out = s.run(&env, &["cancel", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = wait_child(child, 60);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}: {}",
        s.name,
        text(&out.stderr)
    );
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "long").as_deref(),
        Some("cancelled"),
        "{}: {show:#}",
        s.name
    );
    let job = step_field(&show, "long", "jobs")[0]["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    wait_until("the cancelled job to end", secs(30), || {
        !process_alive(pid) && !s.lists(&job)
    });
}

#[test]
fn cancel_reaches_the_job_on_each_scheduler() {
    for s in schedulers() {
        cancel(&s);
    }
}

/// A step that writes a mark, its first line, then waits for `go`.
fn waiting_step(s: &Scheduler, env: &Env, name: &str) -> std::path::PathBuf {
    env.workflow(
        "w.toml",
        &format!(
            "name = \"{name}\"\n{}\n[[step]]\nid = \"job\"\nexecutor = \"grid\"\nidempotent = false\nrun = 'echo started >> \"$MARKS\"; echo line-1; while [ ! -e \"$GO\" ]; do sleep 0.1; done; echo line-2; echo \"done=yes\" >> \"$BATON_OUTPUT\"'\nenv = {{ MARKS = \"{}\", GO = \"{}\" }}\n",
            s.head(env),
            env.path().join("marks").display(),
            env.path().join("go").display(),
        ),
    )
}

/// After the engine died, `go` lets the job end and `resume` follows it to its end:
/// one job, started once, its whole log.
fn resume_follows(s: &Scheduler, env: &Env, id: &str) {
    std::fs::write(env.path().join("go"), "").unwrap();
    // A job not followed would leave the step waiting for a `mark`: a deadline, not a hang.
    let out = wait_child(s.spawn(env, &["resume", id]), 120);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}\n{}",
        s.name,
        text(&out.stdout),
        text(&out.stderr)
    );
    let show = env.show(id);
    assert_eq!(
        step_state(&show, "job").as_deref(),
        Some("succeeded"),
        "{}: {show:#}",
        s.name
    );
    assert_eq!(step_field(&show, "job", "outputs")["done"], "yes");
    let started = std::fs::read_to_string(env.path().join("marks")).unwrap_or_default();
    assert_eq!(
        started.lines().count(),
        1,
        "{}: submitted once: {started}",
        s.name
    );
    let log = text(&env.run(&["logs", id, "job"]).stdout);
    assert_eq!(log, "line-1\nline-2\n", "{}: each line once", s.name);
}

/// kill -9 of the engine while its job runs (its id recorded): resume re-attaches.
fn reattach(s: &Scheduler) {
    let env = Env::new();
    let wf = waiting_step(s, &env, "batch-resume");
    let mut child = s.spawn(&env, &["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    wait_until("the job's first line in the step's log", secs(60), || {
        text(&env.run(&["logs", &id, "job"]).stdout).contains("line-1")
    });
    wait_until("the job id in the store", secs(10), || {
        step_field(&env.show(&id), "job", "jobs")[0]["job_id"].is_string()
    });
    child.kill().expect("kill -9");
    let _ = child.wait();
    resume_follows(s, &env, &id);
}

#[test]
fn resume_after_kill_9_reattaches_the_job_on_each_scheduler() {
    for s in schedulers() {
        reattach(&s);
    }
}

/// The engine dies (SIGKILL, the `started` failpoint) after `submit` printed the job id
/// and before the id was recorded: resume finds the job by its attempt's directory and
/// follows it (the step is not idempotent: a job not adopted would wait for a `mark`).
fn adopt(s: &Scheduler) {
    let env = Env::new();
    let wf = waiting_step(s, &env, "batch-adopt");
    died_at_started(&env, &s.vars, &wf, "job");
    let id = env.wait_run_id();
    let show = env.show(&id);
    assert!(
        !step_field(&show, "job", "jobs")[0]["job_id"].is_string(),
        "{}: the dead engine recorded no job: {show:#}",
        s.name
    );
    resume_follows(s, &env, &id);
}

#[test]
fn a_job_submitted_but_not_recorded_is_adopted_on_each_scheduler() {
    for s in schedulers() {
        adopt(&s);
    }
}

/// Bad definitions are refused at load with what to write instead.
#[test]
fn a_batch_definition_is_checked_at_load() {
    let env = Env::new();
    let wf = |exec: &str| {
        env.workflow(
            "bad.toml",
            &format!("name = \"x\"\n[executors.grid]\ntype = \"batch\"\n{exec}\n[[step]]\nid = \"a\"\nexecutor = \"grid\"\nrun = 'true'\n"),
        )
    };
    let check = |exec: &str, want: &str| {
        let out = env.run(&["validate", wf(exec).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{exec}");
        let said = text(&out.stderr);
        assert!(said.contains(want), "{exec}: {said}");
    };
    let ok_status = "status = [\"qstat\", \"-j\", \"{job_id}\"]\ncancel = [\"qdel\", \"{job_id}\"]";
    check(
        &format!("submit = \"qsub {{script}}\"\n{ok_status}"),
        "must be an array of arguments (no shell string)",
    );
    check(
        &format!("submit = [\"qsub\", \"{{job_id}}\"]\n{ok_status}"),
        "only `status` and `cancel` can use it",
    );
    check(
        &format!("submit = [\"qsub\", \"{{scrpit}}\"]\n{ok_status}"),
        "`{scrpit}` is not a value baton gives",
    );
    check(
        "submit = [\"qsub\", \"{script}\"]\nstatus = [\"qstat\"]\ncancel = [\"qdel\", \"{job_id}\"]",
        "does not pass the job (`{job_id}`)",
    );
    check(
        &format!(
            "submit = [\"qsub\", \"-l\", \"mem={{resources.mem}}\", \"{{script}}\"]\n{ok_status}"
        ),
        "which `resources` does not give",
    );
    check(ok_status, "has no `submit` command");
}
