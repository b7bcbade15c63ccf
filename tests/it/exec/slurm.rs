//! Issue 13: workflows on a real single-node Slurm (tests/slurm/cluster.sh). Skipped,
//! with the reason printed, only where Slurm is not installed or cannot be started.
use super::scenarios::{Remote, cancel, flow, reattach};
use crate::helpers::*;
use std::time::Duration;

/// Start the cluster once per test process; `false` (and why, printed) when Slurm is
/// missing. The tests' baton commands find it through `SLURM_CONF` ([`Env::cmd`]).
pub(crate) fn cluster() -> bool {
    slurm_conf().is_some()
}

/// `squeue`'s jobs named after the run, in every state: `(id, state, comment)`.
fn jobs_of(run: &str) -> Vec<(String, String, String)> {
    let out = slurm_command("squeue")
        .args([
            "-h",
            &format!("--name=baton-{run}"),
            "-t",
            "all",
            "-o",
            "%i|%T|%k",
        ])
        .output()
        .expect("squeue");
    text(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('|');
            Some((f.next()?.into(), f.next()?.into(), f.next()?.into()))
        })
        .collect()
}

pub(crate) const HEAD: &str = r#"
[executors.cluster]
type = "slurm"
poll = "1s"
labels = ["hpc"]
"#;

/// Whether the cluster still runs job `job` (any state before its end).
fn job_runs(job: &str) -> bool {
    let out = slurm_command("squeue")
        .args(["-h", &format!("--jobs={job}"), "-t", "all", "-o", "%T"])
        .output()
        .expect("squeue");
    text(&out.stdout).lines().any(|s| {
        [
            "PENDING",
            "RUNNING",
            "CONFIGURING",
            "COMPLETING",
            "SUSPENDED",
            "REQUEUED",
        ]
        .contains(&s.trim())
    })
}

/// The cluster as the shared scenarios (`scenarios.rs`) take it.
fn remote() -> Remote<'static> {
    Remote {
        what: "slurm",
        name: "cluster",
        head: HEAD.into(),
        vars: &[],
        place: "requires = [\"hpc\"]".into(),
        runs_job: &job_runs,
        files: None,
    }
}

#[test]
fn outputs_flow_exit_codes_and_timeouts_are_recorded() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let (id, _) = flow(&remote(), &env, |_| {});
    // One job per attempt, named after the run.
    let jobs = jobs_of(&id);
    let comments: Vec<&str> = jobs.iter().map(|j| j.2.as_str()).collect();
    for c in ["compute.1", "fails.1", "slow.1"] {
        assert!(comments.contains(&c), "{jobs:?}");
    }
    assert!(
        !comments.iter().any(|c| c.starts_with("report")),
        "report runs locally: {jobs:?}"
    );
}

/// Issue 76 point 6: a job's `$BATON_SUMMARY` is kept as a local step's is.
#[test]
fn a_jobs_summary_is_kept_bounded_sanitised_and_masked() {
    if !cluster() {
        return;
    }
    super::remote_summary::summary(&remote(), &Env::new());
}

/// Issue 76 point 3: the labels a job writes to `$BATON_LABELS` are set on its run.
#[test]
fn a_jobs_labels_are_set_on_its_run() {
    if !cluster() {
        return;
    }
    super::remote_labels::labels(&remote(), &Env::new());
}

#[test]
fn cancel_scancels_a_running_job() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let id = cancel(&remote(), &env, |id| {
        wait_until("the job to run", secs(30), || {
            jobs_of(id).iter().any(|j| j.1 == "RUNNING")
        });
        // What the cluster says is recorded: the job left the queue and runs.
        wait_until("the run's record to say the job runs", secs(30), || {
            let job = &step_field(&env.show(id), "long", "jobs")[0];
            job["state"] == "RUNNING" && job["running_at"].is_string()
        });
    });
    wait_until("the job to end", secs(30), || {
        jobs_of(&id)
            .iter()
            .all(|j| j.1 != "RUNNING" && j.1 != "PENDING")
    });
}

#[test]
fn a_gated_step_reaches_sbatch_only_after_approval() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        &format!("name = \"slurm-gate\"\n{HEAD}\n[[step]]\nid = \"big\"\nexecutor = \"cluster\"\nrun = 'true'\ngate = {{ prompt = \"Run the big job?\" }}\n"),
    );
    let child = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "big", "waiting_approval", 30);
    assert!(jobs_of(&id).is_empty(), "nothing submitted before approval");
    let out = env.run(&["approve", &id, "big", "--reason", "go"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = wait_child(child, 60);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(jobs_of(&id).len(), 1);
}

/// kill -9 while the jobs run; resume re-attaches to them: each job submitted once,
/// its log continued where the dead engine left it (issue 24, finding 4: what it
/// copied is not copied again).
#[test]
fn resume_after_kill_9_reattaches_without_running_the_job_again() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let id = reattach(&remote(), &env);
    assert_eq!(
        jobs_of(&id).len(),
        2,
        "one job a step, never submitted again"
    );
}

/// A workflow whose cluster step `count` prints `n 1` … `n {lines}`, writing each
/// number to `progress` in the test's directory.
fn counting(env: &Env, name: &str, lines: u32) -> String {
    let dir = env.path().display().to_string();
    let wf = env.workflow(
        "w.toml",
        &format!(
            "name = \"{name}\"\n{HEAD}\n[[step]]\nid = \"count\"\nexecutor = \"cluster\"\nrun = '''\ni=0; while [ $i -lt {lines} ]; do i=$((i+1)); echo \"n $i\"; echo $i > {dir}/progress; sleep 0.1; done\n'''\n"
        ),
    );
    wf.to_str().unwrap().to_string()
}

/// How far `count` has counted.
fn progress(env: &Env) -> u32 {
    std::fs::read_to_string(env.path().join("progress"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0)
}

/// Hold `count` once it counts, and wait until its job is suspended.
fn hold_counting(env: &Env, id: &str, reason: &str) {
    wait_until("the job to count", secs(60), || progress(env) >= 3);
    let out = env.run(&["hold", id, "count", "--reason", reason]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    wait_until("the job to be suspended", secs(30), || {
        jobs_of(id).iter().any(|j| j.1 == "SUSPENDED")
    });
}

/// The count stands still over half a second (a running job would count 5 more).
fn assert_stands_still(env: &Env, why: &str) {
    let counted = progress(env);
    // The span observed, not a wait for a condition.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(progress(env), counted, "{why}");
}

/// `count`'s log holds every line once, in order.
fn assert_whole_log(env: &Env, id: &str, lines: u32) {
    let show = env.show(id);
    let log = step_field(&show, "count", "log_path");
    let log = std::fs::read_to_string(log.as_str().unwrap()).unwrap();
    let want: Vec<String> = (1..=lines).map(|i| format!("n {i}")).collect();
    assert_eq!(log.lines().collect::<Vec<_>>(), want);
}

/// Issue 43 point 1: `baton hold` of a running cluster step suspends its job (`scontrol
/// suspend`: the cluster stops its processes), the count stops; `release` resumes it
/// and the job ends with every line of its output.
#[test]
fn hold_suspends_a_running_job_and_release_resumes_it() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let wf = counting(&env, "slurm-hold", 60);
    let child = env.spawn(&["run", &wf, "--headless"]);
    let id = env.wait_run_id();
    hold_counting(&env, &id, "drain the node");
    assert_stands_still(&env, "a suspended job does not count");
    let counted = progress(&env);
    let out = env.run(&["release", &id, "count", "--reason", "node is back"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("the job to run again", secs(30), || {
        jobs_of(&id).iter().any(|j| j.1 == "RUNNING") || progress(&env) > counted
    });
    let out = wait_child(child, 120);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_whole_log(&env, &id, 60);
}

/// Issue 43 point 1: a hold survives its engine. kill -9 while a cluster step is
/// frozen; resume re-attaches to its job, which stays suspended (not cancelled as a
/// leftover); release resumes it and its log is whole.
#[test]
fn a_frozen_job_stays_frozen_across_kill_9_and_resume() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let wf = counting(&env, "slurm-hold-crash", 40);
    let mut child = env.spawn(&["run", &wf, "--headless"]);
    let id = env.wait_run_id();
    hold_counting(&env, &id, "hold over a crash");
    child.kill().expect("kill -9");
    let _ = child.wait();
    let resumed = env.spawn(&["resume", &id, "--headless"]);
    // Driven, and settled: a takeover's run reads interrupted until it holds the run
    // again (docs/show-json.md).
    wait_until("the resumed engine to drive the run", secs(30), || {
        let show = env.show(&id);
        show["driven_by"].is_string() && show["state"] != "interrupted"
    });
    let show = env.show(&id);
    assert_eq!(step_state(&show, "count").as_deref(), Some("running"));
    assert_eq!(
        step_field(&show, "count", "hold")["frozen"],
        true,
        "{show:#}"
    );
    assert_stands_still(&env, "still frozen after the resume");
    assert!(
        jobs_of(&id).iter().any(|j| j.1 == "SUSPENDED"),
        "not cancelled as a leftover: {:?}",
        jobs_of(&id)
    );
    let out = env.run(&["release", &id, "count", "--reason", "go on"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = wait_child(resumed, 120);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_whole_log(&env, &id, 40);
    assert_eq!(jobs_of(&id).len(), 1, "one job, never submitted again");
}
