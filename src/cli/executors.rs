//! `baton executors FILE`: where a workflow's steps run, and whether each cluster and
//! each SSH host answers.
use super::exit;
use crate::exec::HostError;
use crate::workflow::{ExecutorKind, Plan, SshOptions, load_file};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

/// List a workflow's executors: type, labels, options, steps; for Slurm, whether `sinfo`
/// answers and how many jobs are queued.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Steps without an executor run as local processes. A Slurm executor is checked with
`sinfo` (does the cluster answer?) and `squeue` (jobs waiting in its partition); an SSH
executor with `ssh HOST true` (BatchMode: does the host answer, and take the key?).

Example:
  baton executors examples/slurm.toml")]
pub struct Args {
    /// The workflow file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub fn run(args: &Args) -> i32 {
    match load_file(&args.file) {
        Ok(plan) => {
            crate::stdio::out!("{}", render(&plan, &probe, &ask_host));
            exit::OK
        }
        Err(d) => {
            crate::stdio::errln!("{d}");
            exit::USAGE
        }
    }
}

/// What the cluster says: `Ok((partitions line, queued jobs))` or why it does not answer.
pub type Probe = Result<(String, usize), ClusterError>;

/// Why the cluster does not answer.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot run {program}: {error}")]
    CannotRun {
        program: String,
        error: std::io::Error,
    },
    #[error("{program} did not answer within 10s")]
    NoAnswer { program: String },
    #[error("{program}: {error}")]
    Lost {
        program: String,
        error: std::io::Error,
    },
    /// What the command said on stderr, plain.
    #[error("{0}")]
    Said(String),
    #[error("sinfo lists no partition")]
    NoPartition,
}

/// Whether an SSH host answers, or which problem it has and what to do.
fn ask_host(o: &SshOptions) -> Result<(), HostError> {
    crate::exec::SshExecutor::new("probe", o.clone(), "probe").probe_blocking()
}

/// Render the list; `probe` asks a Slurm executor's cluster, `host` an SSH executor's
/// host (fakes in tests).
pub fn render(
    plan: &Plan,
    probe: &dyn Fn(Option<&str>) -> Probe,
    host: &dyn Fn(&SshOptions) -> Result<(), HostError>,
) -> String {
    let mut out = String::new();
    let kinds = crate::exec::Backends::builtin();
    let setup = crate::exec::Setup {
        run_id: "probe",
        secrets: &[],
    };
    let local = plan.steps.iter().filter(|s| s.executor.is_none()).count();
    if plan.executors.is_empty() || local > 0 {
        let _ = writeln!(out, "local (implicit): {local} step(s)");
    }
    for (k, e) in plan.executors.iter().enumerate() {
        let steps: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| s.executor == Some(k))
            .map(|s| s.id.as_str())
            .collect();
        let _ = writeln!(out, "{} ({}, line {})", e.name, e.kind.as_str(), e.line);
        if !e.labels.is_empty() {
            let _ = writeln!(out, "  labels: {}", e.labels.join(", "));
        }
        let _ = writeln!(
            out,
            "  steps: {}",
            if steps.is_empty() {
                "none".to_string()
            } else {
                steps.join(", ")
            }
        );
        // What the kind says of itself, then whether its host or cluster answers.
        for line in kinds.of(e, &setup).describe() {
            let _ = writeln!(out, "  {line}");
        }
        if let ExecutorKind::Ssh(o) = &e.kind {
            let said = match host(o) {
                Ok(()) => format!("  host: {} answers", o.host),
                Err(why) => format!("  host: {} does not answer: {why}", o.host),
            };
            let _ = writeln!(out, "{said}");
        }
        if let ExecutorKind::Slurm(o) = &e.kind {
            match probe(o.partition.as_deref()) {
                Ok((parts, queued)) => {
                    let _ = writeln!(out, "  cluster: answers ({parts}); {queued} job(s) queued");
                }
                Err(why) => {
                    let _ = writeln!(out, "  cluster: does not answer: {why}");
                }
            }
        }
    }
    out
}

/// Ask the cluster with `sinfo` and `squeue` (bounded: a hung controller is an answer).
fn probe(partition: Option<&str>) -> Probe {
    let mut sinfo = vec!["--noheader".to_string(), "--format=%P %a %D".to_string()];
    let mut squeue = vec![
        "--noheader".to_string(),
        "--states=PENDING".to_string(),
        "--format=%i".to_string(),
    ];
    if let Some(p) = partition {
        sinfo.push(format!("--partition={p}"));
        squeue.push(format!("--partition={p}"));
    }
    let parts = cli("sinfo", &sinfo)?;
    let parts: Vec<String> = parts.lines().map(|l| l.trim().to_string()).collect();
    if parts.is_empty() {
        return Err(ClusterError::NoPartition);
    }
    let queued = cli("squeue", &squeue)?.lines().count();
    Ok((parts.join("; "), queued))
}

fn cli(program: &str, args: &[String]) -> Result<String, ClusterError> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|error| ClusterError::CannotRun {
            program: program.into(),
            error,
        })?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ClusterError::NoAnswer {
                    program: program.into(),
                });
            }
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|error| ClusterError::Lost {
            program: program.into(),
            error,
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(ClusterError::Said(crate::sanitize::strip_to_plain(
            out.stderr.trim_ascii(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn lists_executors_labels_steps_and_the_cluster() {
        let wf = "name = \"x\"\n[executors.hpc]\ntype = \"slurm\"\npartition = \"debug\"\nlabels = [\"gpu\"]\n\n[[step]]\nid = \"a\"\nrun = \"true\"\nrequires = [\"gpu\"]\n\n[[step]]\nid = \"b\"\nrun = \"true\"\n";
        let plan = crate::workflow::load_str(wf, Path::new("/w/x.toml")).unwrap();
        let up = render(
            &plan,
            &|p| {
                assert_eq!(p, Some("debug"));
                Ok(("debug up 1".into(), 3))
            },
            &|_| Ok(()),
        );
        assert_eq!(
            up,
            "local (implicit): 1 step(s)\nhpc (slurm, line 2)\n  labels: gpu\n  steps: a\n  options: partition debug, poll 5s\n  workdir: /w/.baton/slurm\n  cluster: answers (debug up 1); 3 job(s) queued\n"
        );
        let down = render(
            &plan,
            &|_| {
                Err(ClusterError::CannotRun {
                    program: "sinfo".into(),
                    error: std::io::Error::other("not found"),
                })
            },
            &|_| Ok(()),
        );
        assert!(down.contains("cluster: does not answer: cannot run sinfo: not found"));
    }

    #[test]
    fn lists_a_batch_executors_commands_as_written() {
        let wf = "name = \"x\"\n[executors.grid]\ntype = \"batch\"\nsubmit = [\"qsub\", \"-terse\", [\"-l\", \"h_rt={timeout_s}\"], \"{script}\"]\nstatus = [\"sh\", \"-c\", \"qstat -j \\\"$1\\\"\", \"sh\", \"{job_id}\"]\ncancel = [\"qdel\", \"{job_id}\"]\nresources = { mem = \"4G\" }\n\n[[step]]\nid = \"a\"\nexecutor = \"grid\"\nrun = \"true\"\n";
        let plan = crate::workflow::load_str(wf, Path::new("/w/x.toml")).unwrap();
        let said = render(&plan, &|_| unreachable!("no cluster"), &|_| {
            unreachable!("no host")
        });
        assert_eq!(
            said,
            "grid (batch, line 2)\n  steps: a\n  submit: qsub -terse [-l h_rt={timeout_s}] {script}\n  status: sh -c \"qstat -j \\\"$1\\\"\" sh {job_id}\n  cancel: qdel {job_id}\n  options: mem 4G, poll 5s\n  workdir: /w/.baton/batch\n"
        );
    }

    #[test]
    fn says_whether_each_host_answers() {
        let wf = "name = \"x\"\n[executors.gpu]\ntype = \"ssh\"\nhost = \"gpu-box\"\n\n[[step]]\nid = \"a\"\nexecutor = \"gpu\"\nrun = \"true\"\n";
        let plan = crate::workflow::load_str(wf, Path::new("/w/x.toml")).unwrap();
        let said = render(&plan, &|_| unreachable!("no cluster"), &|o| {
            Err(HostError::Host(format!("host {} refused the key", o.host)))
        });
        assert_eq!(
            said,
            "gpu (ssh, line 2)\n  steps: a\n  workdir: .baton/ssh (on the host)\n  host: gpu-box does not answer: host gpu-box refused the key\n"
        );
    }
}
