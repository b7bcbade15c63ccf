//! Issue 57, point 4: the generic batch executor reads `status` as Snakemake's
//! cluster-generic does too: a first line of `success` or `failed` (or `completed`,
//! `done`) means the job left the scheduler, as `running` means it is listed. Shown
//! with Snakemake's own example status scripts (tests/fixtures/batch-status/, each
//! citing its source) as the `status` of the real Grid Engine cell and Slurm cluster
//! (`batch.rs`): a job killed outside baton without an exit code is recorded lost, and
//! a timed-out job does not keep its step waiting once the script says `failed`.
use super::batch::{Scheduler, schedulers};
use super::scenarios::{error_kinds, flow};
use crate::helpers::*;
use std::path::Path;

/// Each scheduler that runs here, its `status` the Snakemake profile's script for it
/// (given the job id, as cluster-generic gives it).
fn with_snakemake_status() -> Vec<Scheduler> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/batch-status");
    schedulers()
        .into_iter()
        .map(|s| {
            let script = match s.name {
                "sge" => dir.join("sge-status.py"),
                _ => dir.join("slurm-status.py"),
            };
            s.with_status(&format!(
                "[\"python3\", \"{}\", \"{{job_id}}\"]",
                script.display()
            ))
        })
        .collect()
}

/// Outputs, exit codes and secrets as with any `status`; the `slow` step's timeout
/// ends it (the script says `failed` once the job is cancelled: before, that read as
/// "still listed" and the step waited forever).
#[test]
fn the_shared_flow_passes_with_snakemakes_status_scripts() {
    for s in with_snakemake_status() {
        let env = Env::new();
        let lists = |job: &str| s.lists(job);
        let (_, show) = flow(&s.remote(&env, &lists), &env, |_| {});
        assert!(
            error_kinds(&show).contains(&"timeout".into()),
            "{}: {show:#}",
            s.name
        );
    }
}

/// A job whose script the scheduler killed, cancelled by someone else, never writes
/// its exit code; the script says `failed` (from `qacct`, from `scontrol`), and the
/// attempt is recorded lost.
#[test]
fn a_job_killed_outside_baton_is_recorded_lost_once_status_says_failed() {
    for s in with_snakemake_status() {
        let env = Env::new();
        let lists = |job: &str| s.lists(job);
        let r = s.remote(&env, &lists);
        let wf = env.workflow(
            "w.toml",
            &format!(
                "name = \"{}-killed\"\n{}\n[[step]]\nid = \"long\"\nexecutor = \"{}\"\nrun = 'echo \"$$\" > \"$PIDS\"; exec sleep 600'\nenv = {{ PIDS = \"{}\" }}\n",
                s.name,
                r.head,
                r.name,
                env.path().join("long.pid").display()
            ),
        );
        let child = r.spawn(&env, &["run", wf.to_str().unwrap(), "--headless"]);
        let id = env.wait_run_id();
        let pid = r.pid_in(&env, "long.pid", "the job to run");
        let step = EndsWithTheTest(pid);
        // The script's own word is what baton records while the job runs.
        let job = wait_until("the script's `running` on record", secs(60), || {
            let show = env.show(&id);
            let job = &step_field(&show, "long", "jobs")[0];
            (job["state"] == "running")
                .then(|| job["job_id"].as_str().map(str::to_string))
                .flatten()
        });
        s.kill_job(&job);
        let out = wait_child(child, 120);
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
            Some("failed"),
            "{}: {show:#}",
            s.name
        );
        assert_eq!(
            error_kinds(&show),
            vec!["interrupted"],
            "{}: {show:#}",
            s.name
        );
        let message = show["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!(
                "job {job} left the scheduler without an exit code"
            )),
            "{}: {message}",
            s.name
        );
        drop(step);
        wait_until("the killed job's step gone", secs(30), || {
            !process_alive(pid)
        });
    }
}

/// A job's step process, ended when the test ends however it ends: Slurm's
/// `proctrack/linuxproc` does not follow a step whose job script died, so it would
/// outlive the job.
struct EndsWithTheTest(i32);

impl Drop for EndsWithTheTest {
    fn drop(&mut self) {
        if process_alive(self.0) {
            let pid = nix::unistd::Pid::from_raw(self.0);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}
