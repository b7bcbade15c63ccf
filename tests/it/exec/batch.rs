//! Issue 46, point 3: the generic batch executor (`type = "batch"`) on two real
//! schedulers: a private Sun Grid Engine cell (tests/sge/cell.sh) and the single-node
//! Slurm (tests/slurm/cluster.sh), each driven by one executor definition of its own
//! commands. Every scenario (`scenarios.rs`, which the Slurm and SSH executors pass
//! too) runs on both; a scheduler that cannot run here (not installed, not root) is
//! skipped with the reason printed.
use super::scenarios::{Remote, adopt, cancel, flow, reattach};
use crate::helpers::*;

/// One scheduler: its executor definition and what its commands need in their
/// environment.
pub(crate) struct Scheduler {
    pub name: &'static str,
    pub(crate) vars: Vec<(String, String)>,
    pub(crate) definition: String,
}

/// The SGE cell, once per test process (it stops once this process has exited).
pub(crate) fn sge() -> Option<Scheduler> {
    static UP: std::sync::OnceLock<Option<Vec<(String, String)>>> = std::sync::OnceLock::new();
    let vars = UP
        .get_or_init(|| {
            let file = start_daemons(&SGE)?;
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
        // `status` prints the job's state while `qstat` lists it and fails when `qstat`
        // does (the id passed to the fixed script as its argument, never spliced into it).
        definition: r#"
[executors.grid]
type = "batch"
submit = ["qsub", "-terse", "-N", "{name}", "-o", "{log}", "-j", "y", ["-l", "h_rt={timeout_s}"], "{script}"]
status = ["sh", "-c", "out=$(qstat) || exit 1; printf '%s\\n' \"$out\" | awk -v id=\"$1\" '$1 == id {{ print $5 }}'", "sh", "{job_id}"]
cancel = ["qdel", "{job_id}"]
poll = "1s"
labels = ["hpc"]
"#
        .into(),
    })
}

/// The Slurm cluster through the generic executor (not `type = "slurm"`).
pub(crate) fn slurm() -> Option<Scheduler> {
    let conf = slurm_conf()?;
    Some(Scheduler {
        name: "slurm",
        vars: vec![("SLURM_CONF".into(), conf.display().to_string())],
        definition: r#"
[executors.grid]
type = "batch"
submit = ["sbatch", "--parsable", "--job-name={name}", "--output={log}", ["--time={timeout_min}"], "{script}"]
status = ["sh", "-c", "out=$(squeue --noheader --format='%i %T' --states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED) || exit 1; printf '%s\\n' \"$out\" | awk -v id=\"$1\" '$1 == id {{ print $2 }}'", "sh", "{job_id}"]
cancel = ["scancel", "{job_id}"]
poll = "1s"
labels = ["hpc"]
"#
        .into(),
    })
}

impl Scheduler {
    /// The same executor with another `status` (a TOML array).
    pub(super) fn with_status(&self, status: &str) -> Scheduler {
        let definition: String = self
            .definition
            .lines()
            .map(|l| match l.starts_with("status = ") {
                true => format!("status = {status}\n"),
                false => format!("{l}\n"),
            })
            .collect();
        Scheduler {
            name: self.name,
            vars: self.vars.clone(),
            definition,
        }
    }

    /// Kill a job's script through the scheduler, as someone other than baton would,
    /// so that it never writes the exit code: `qdel` (SIGKILL to the whole job), or
    /// `scancel --batch --signal=KILL` (to the script alone: a plain `scancel` sends
    /// SIGTERM to the step and the script in turn, and one that reached the step first
    /// would let the script write the exit code).
    pub(super) fn kill_job(&self, job_id: &str) {
        let args: &[&str] = match self.name {
            "sge" => &["qdel", job_id],
            _ => &["scancel", "--batch", "--signal=KILL", job_id],
        };
        let out = std::process::Command::new(args[0])
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .args(&args[1..])
            .output()
            .expect("the scheduler's cancel");
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }

    /// Whether `status` (as the executor runs it) still lists the job.
    pub(super) fn lists(&self, job_id: &str) -> bool {
        let out = match self.name {
            "sge" => std::process::Command::new("qstat")
                .envs(self.vars.iter().map(|(k, v)| (k, v)))
                .output(),
            _ => slurm_command("squeue")
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

    /// The executor as the shared scenarios take it, its job files under the test's
    /// directory (and nothing of an attempt left there once it ended).
    pub(super) fn remote<'a>(&'a self, env: &Env, lists: &'a dyn Fn(&str) -> bool) -> Remote<'a> {
        let jobs = env.path().join("jobs");
        Remote {
            what: self.name,
            name: "grid",
            head: format!("{}workdir = \"{}\"\n", self.definition, jobs.display()),
            vars: &self.vars,
            place: "requires = [\"hpc\"]".into(),
            runs_job: lists,
            files: Some(jobs),
        }
    }
}

/// Each scheduler that can run here.
pub(super) fn schedulers() -> Vec<Scheduler> {
    sge().into_iter().chain(slurm()).collect()
}

/// Each scheduler that can run here, as the shared scenarios take it, in a test
/// directory of its own.
fn each_scheduler(scenario: impl Fn(&Remote, &Env)) {
    for s in schedulers() {
        let env = Env::new();
        let lists = |job: &str| s.lists(job);
        scenario(&s.remote(&env, &lists), &env);
    }
}

#[test]
fn outputs_exit_codes_secrets_and_timeouts_on_each_scheduler() {
    each_scheduler(|r, env| {
        let (id, _) = flow(r, env, |_| {});
        let left: Vec<_> = std::fs::read_dir(env.path().join("jobs").join(&id))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{}: left behind: {left:?}", r.what);
    });
}

/// Issue 76 point 6: a batch job's `$BATON_SUMMARY` is kept as a local step's is.
#[test]
fn a_jobs_summary_is_kept_on_each_scheduler() {
    each_scheduler(super::remote_summary::summary);
}

/// Issue 76 point 3: the labels a batch job writes to `$BATON_LABELS` are set on its run.
#[test]
fn a_jobs_labels_are_set_on_each_scheduler() {
    each_scheduler(super::remote_labels::labels);
}

/// The run's store path (`BATON_DB`, for a local step's `baton ask`) is never put in a
/// batch job's environment (a path on the nodes means nothing); a local step of the
/// same run gets it. The engine is given its store by `--db`, not by its environment
/// (which a scheduler may pass on to the job, as `sbatch` does).
#[test]
fn a_batch_job_is_sent_no_store_path_on_each_scheduler() {
    each_scheduler(|r, env| {
        let wf = env.workflow(
            "w.toml",
            &format!(
                r#"name = "batch-store"
{}
[[step]]
id = "queued"
executor = "{}"
run = 'echo "db=${{BATON_DB:-none}}" >> "$BATON_OUTPUT"'

[[step]]
id = "here"
run = 'echo "db=${{BATON_DB:-none}}" >> "$BATON_OUTPUT"'
"#,
                r.head, r.name
            ),
        );
        let db = env.db();
        let out = env
            .cmd()
            .envs(r.vars.iter().map(|(k, v)| (k, v)))
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
            r.what,
            text(&out.stderr)
        );
        let show = env.show(&run_id_of(&text(&out.stdout)));
        assert_eq!(
            step_field(&show, "queued", "outputs")["db"],
            "none",
            "{}: {show:#}",
            r.what
        );
        let here = step_field(&show, "here", "outputs")["db"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(
            std::fs::canonicalize(&here).ok(),
            std::fs::canonicalize(&db).ok(),
            "{}: the local step's store: {here}",
            r.what
        );
    });
}

#[test]
fn cancel_reaches_the_job_on_each_scheduler() {
    each_scheduler(|r, env| {
        cancel(r, env, |_| {});
    });
}

#[test]
fn resume_after_kill_9_reattaches_the_job_on_each_scheduler() {
    each_scheduler(|r, env| {
        reattach(r, env);
    });
}

#[test]
fn a_job_submitted_but_not_recorded_is_adopted_on_each_scheduler() {
    each_scheduler(|r, env| {
        adopt(r, env);
    });
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
