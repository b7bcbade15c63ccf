//! Pure: what baton hands to `sbatch` (its arguments, the job script, the private
//! environment file) and how often it asks `squeue`.
use baton_workflow::SlurmOptions;
use std::path::Path;
use std::time::Duration;

/// Marks a job's processes in their environment, so that resume's sweep of leftover
/// local processes (by `BATON_RUN_ID`) leaves them to Slurm.
pub(crate) const JOB_MARK: &str = "BATON_SLURM_JOB";

/// The files of one attempt under the executor's `workdir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobFiles {
    pub dir: std::path::PathBuf,
}

impl JobFiles {
    pub(crate) fn new(workdir: &Path, run_id: &str, step_id: &str, attempt: u32) -> JobFiles {
        JobFiles {
            dir: workdir
                .join(run_id)
                .join(format!("{}.{attempt}", baton_model::file_safe(step_id))),
        }
    }
    pub(crate) fn script(&self) -> std::path::PathBuf {
        self.dir.join("job.sh")
    }
    pub(crate) fn env(&self) -> std::path::PathBuf {
        self.dir.join("env")
    }
    pub(crate) fn log(&self) -> std::path::PathBuf {
        self.dir.join("log")
    }
    pub(crate) fn output(&self) -> std::path::PathBuf {
        self.dir.join("output")
    }
    pub(crate) fn usage(&self) -> std::path::PathBuf {
        self.dir.join("usage")
    }
    /// `$BATON_SUMMARY` (`crate::summary`).
    pub(crate) fn summary(&self) -> std::path::PathBuf {
        self.dir.join(crate::summary::FILE)
    }
    /// `$BATON_LABELS`: `k=v` lines of labels for the run (`model::labels`).
    pub(crate) fn labels(&self) -> std::path::PathBuf {
        self.dir.join("labels")
    }
    pub(crate) fn exit_code(&self) -> std::path::PathBuf {
        self.dir.join("exitcode")
    }
}

/// A value as one single-quoted shell word: nothing inside it is shell code.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The 0600 file the script sources: the step's environment (never on a command line,
/// never in the script Slurm keeps a copy of).
pub(crate) fn render_env(env: &[(String, String)], files: &JobFiles) -> String {
    let mut out = String::new();
    for (k, v) in env {
        // Names are checked by the loader; anything else is not exported.
        if !k.is_empty()
            && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !k.as_bytes()[0].is_ascii_digit()
        {
            out.push_str(&format!("export {k}={}\n", quote(v)));
        }
    }
    out.push_str(&format!(
        "export BATON_OUTPUT={}\n",
        quote(&files.output().to_string_lossy())
    ));
    out.push_str(&format!(
        "export BATON_USAGE={}\n",
        quote(&files.usage().to_string_lossy())
    ));
    out.push_str(&format!(
        "export BATON_SUMMARY={}\n",
        quote(&files.summary().to_string_lossy())
    ));
    out.push_str(&format!(
        "export BATON_LABELS={}\n",
        quote(&files.labels().to_string_lossy())
    ));
    out.push_str(&format!("export {JOB_MARK}=\"$SLURM_JOB_ID\"\n"));
    out
}

/// The job script: source the environment, run the step's command with `sh -c` in its
/// directory, write the exit code to a file (renamed into place, so a reader never
/// sees half of it), exit with it.
pub(crate) fn render_script(command: &str, dir: &Path, files: &JobFiles) -> String {
    let code = quote(&files.exit_code().to_string_lossy());
    let tmp = quote(&format!("{}.tmp", files.exit_code().to_string_lossy()));
    format!(
        "#!/bin/sh\n\
         # written by baton: one attempt of a step\n\
         . {env} || exit 127\n\
         cd {dir} || {{ echo 127 > {tmp}; mv {tmp} {code}; exit 127; }}\n\
         sh -c {cmd}\n\
         rc=$?\n\
         echo \"$rc\" > {tmp} && mv {tmp} {code}\n\
         exit \"$rc\"\n",
        env = quote(&files.env().to_string_lossy()),
        dir = quote(&dir.to_string_lossy()),
        cmd = quote(command),
    )
}

/// Slurm's `--time` in whole minutes, rounded up, at least 1.
pub(crate) fn time_minutes(d: Duration) -> u64 {
    d.as_secs().div_ceil(60).max(1)
}

/// The job name: one `squeue --name` covers a run.
pub(crate) fn job_name(run_id: &str) -> String {
    format!("baton-{run_id}")
}

/// `sbatch`'s arguments (the script path last). `timeout` is the step's: it sets
/// `--time` unless the executor's `time_limit` is shorter.
pub(crate) fn sbatch_args(
    opts: &SlurmOptions,
    run_id: &str,
    step_id: &str,
    attempt: u32,
    timeout: Option<Duration>,
    files: &JobFiles,
) -> Vec<String> {
    let mut a = vec![
        "--parsable".to_string(),
        format!("--job-name={}", job_name(run_id)),
        format!("--comment={step_id}.{attempt}"),
        format!("--output={}", files.log().to_string_lossy()),
        format!("--chdir={}", files.dir.to_string_lossy()),
    ];
    let limit = match (timeout, opts.time_limit) {
        (Some(t), Some(l)) => Some(t.min(l)),
        (t, l) => t.or(l),
    };
    if let Some(t) = limit {
        a.push(format!("--time={}", time_minutes(t)));
    }
    for (flag, v) in [
        ("--partition", &opts.partition),
        ("--account", &opts.account),
        ("--qos", &opts.qos),
        ("--mem", &opts.mem),
        ("--gres", &opts.gres),
    ] {
        if let Some(v) = v {
            a.push(format!("{flag}={v}"));
        }
    }
    if let Some(c) = opts.cpus {
        a.push(format!("--cpus-per-task={c}"));
    }
    a.extend(opts.extra_args.iter().cloned());
    a.push(files.script().to_string_lossy().into_owned());
    a
}

/// The adaptive poll interval: back to `min` when something changed, else doubled up
/// to `max` (0.5 s rising to 5 s by default).
pub(crate) fn next_interval(
    current: Duration,
    changed: bool,
    min: Duration,
    max: Duration,
) -> Duration {
    if changed {
        min
    } else {
        (current * 2).clamp(min, max.max(min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn files() -> JobFiles {
        JobFiles::new(Path::new("/shared/w"), "01run", "build", 2)
    }

    #[test]
    fn values_are_quoted_never_code() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's; rm -rf /"), r"'it'\''s; rm -rf /'");
        let env = render_env(
            &[
                ("GOOD".into(), "$(reboot),x".into()),
                ("bad name".into(), "x".into()),
            ],
            &files(),
        );
        assert!(env.contains("export GOOD='$(reboot),x'\n"));
        assert!(!env.contains("bad name"));
        assert!(env.contains("export BATON_OUTPUT='/shared/w/01run/build.2/output'"));
        assert!(env.contains("BATON_SLURM_JOB=\"$SLURM_JOB_ID\""));
    }

    #[test]
    fn the_script_runs_the_command_and_records_its_exit_code() {
        let s = render_script("make 'x'", &PathBuf::from("/src"), &files());
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains(". '/shared/w/01run/build.2/env' || exit 127"));
        assert!(s.contains("cd '/src' ||"));
        assert!(s.contains(r"sh -c 'make '\''x'\'''"));
        assert!(s.contains(
            "mv '/shared/w/01run/build.2/exitcode.tmp' '/shared/w/01run/build.2/exitcode'"
        ));
        assert!(s.trim_end().ends_with("exit \"$rc\""));
    }

    #[test]
    fn time_is_whole_minutes_rounded_up() {
        assert_eq!(time_minutes(Duration::from_secs(1)), 1);
        assert_eq!(time_minutes(Duration::from_secs(60)), 1);
        assert_eq!(time_minutes(Duration::from_secs(61)), 2);
        assert_eq!(time_minutes(Duration::from_millis(500)), 1);
        assert_eq!(time_minutes(Duration::from_secs(7200)), 120);
    }

    #[test]
    fn sbatch_gets_every_option_as_its_own_argument() {
        let opts = SlurmOptions {
            partition: Some("gpu".into()),
            account: Some("lab".into()),
            qos: None,
            cpus: Some(4),
            mem: Some("8G".into()),
            gres: Some("gpu:1".into()),
            time_limit: Some(Duration::from_secs(3600)),
            extra_args: vec!["--exclusive".into()],
            workdir: PathBuf::from("/shared/w"),
            poll: Duration::from_secs(5),
        };
        let a = sbatch_args(
            &opts,
            "01run",
            "build",
            2,
            Some(Duration::from_secs(90)),
            &files(),
        );
        assert_eq!(
            a,
            vec![
                "--parsable",
                "--job-name=baton-01run",
                "--comment=build.2",
                "--output=/shared/w/01run/build.2/log",
                "--chdir=/shared/w/01run/build.2",
                "--time=2",
                "--partition=gpu",
                "--account=lab",
                "--mem=8G",
                "--gres=gpu:1",
                "--cpus-per-task=4",
                "--exclusive",
                "/shared/w/01run/build.2/job.sh",
            ]
        );
        let a = sbatch_args(&opts, "r", "s", 1, None, &files());
        assert!(a.contains(&"--time=60".to_string()));
    }

    #[test]
    fn the_interval_backs_off_and_snaps_back() {
        let (min, max) = (Duration::from_millis(500), Duration::from_secs(5));
        let mut i = min;
        let mut seen = vec![];
        for _ in 0..6 {
            i = next_interval(i, false, min, max);
            seen.push(i.as_millis());
        }
        assert_eq!(seen, vec![1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(next_interval(i, true, min, max), min);
    }
}
