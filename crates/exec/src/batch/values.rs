//! The values a batch executor's commands are given (`{script}`, `{job_id}`,
//! `{resources.mem}`, …), and the two files that make a submitted attempt findable
//! after a crash: `attempt` (its step and number) and `submit.out` (what `submit`
//! printed: the job id).
use super::super::slurm::script::{JobFiles, job_name};
use baton_workflow::BatchOptions;
use baton_workflow::batch::{RESOURCES, limit};
use std::path::PathBuf;
use std::time::Duration;

/// The attempt's record: `STEP\nATTEMPT\n`, written before submitting.
pub(crate) const ATTEMPT: &str = "attempt";
/// The submit command's pid while it runs.
pub(crate) const SUBMIT_PID: &str = "submit.pid";

pub(crate) fn attempt_file(files: &JobFiles) -> PathBuf {
    files.dir.join(ATTEMPT)
}

pub(crate) fn submit_out(files: &JobFiles) -> PathBuf {
    files.dir.join("submit.out")
}

/// `(step, attempt)` from an attempt's record.
pub(crate) fn parse_attempt(text: &str) -> Option<(String, u32)> {
    let mut lines = text.lines();
    let step = lines.next()?.to_string();
    let attempt = lines.next()?.trim().parse().ok()?;
    (!step.is_empty()).then_some((step, attempt))
}

/// Wait while the submit command an earlier engine started still runs (it writes the
/// job id when it ends), up to `deadline`.
pub(crate) fn wait_for_submit(files: &JobFiles, deadline: Duration) {
    let Some(pid) = std::fs::read_to_string(files.dir.join(SUBMIT_PID))
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
    else {
        return;
    };
    let until = std::time::Instant::now() + deadline;
    while std::time::Instant::now() < until && runs(pid) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a process runs (not a zombie).
fn runs(pid: i32) -> bool {
    baton_procs::read_stat(pid).is_some_and(|(state, _, _)| baton_model::procs::runs(state))
}

/// The values of one attempt (or, with [`Values::bare`], of a job alone).
#[derive(Debug, Clone, Default)]
pub(crate) struct Values {
    script: Option<String>,
    dir: Option<String>,
    log: Option<String>,
    name: String,
    step: Option<String>,
    attempt: Option<u32>,
    timeout: Option<Duration>,
    job_id: Option<String>,
    resources: Vec<(String, String)>,
}

impl Values {
    pub(crate) fn new(
        opts: &BatchOptions,
        run_id: &str,
        step: &str,
        attempt: u32,
        files: &JobFiles,
    ) -> Values {
        let path = |p: PathBuf| Some(p.to_string_lossy().into_owned());
        Values {
            script: path(files.script()),
            dir: path(files.dir.clone()),
            log: path(files.log()),
            step: Some(step.to_string()),
            attempt: Some(attempt),
            ..Values::bare(opts, run_id)
        }
    }

    /// A job known by its id only.
    pub(crate) fn bare(opts: &BatchOptions, run_id: &str) -> Values {
        Values {
            name: job_name(run_id),
            timeout: opts.time_limit,
            resources: opts.resources.clone(),
            ..Values::default()
        }
    }

    /// The step's timeout, bounded by the executor's `time_limit`.
    pub(crate) fn with_timeout(mut self, timeout: Option<Duration>) -> Values {
        self.timeout = limit(timeout, self.timeout);
        self
    }

    pub(crate) fn with_job_id(mut self, id: &str) -> Values {
        self.job_id = Some(id.to_string());
        self
    }

    /// A value by its name in a command (`None`: this attempt has none).
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        match name {
            "script" => self.script.clone(),
            "dir" => self.dir.clone(),
            "log" => self.log.clone(),
            "name" => Some(self.name.clone()),
            "step" => self.step.clone(),
            "attempt" => self.attempt.map(|a| a.to_string()),
            "timeout_s" => self
                .timeout
                .map(|t| t.as_secs_f64().ceil().max(1.0).to_string()),
            "timeout_min" => self
                .timeout
                .map(|t| super::super::slurm::script::time_minutes(t).to_string()),
            "job_id" => self.job_id.clone(),
            other => {
                let r = other.strip_prefix(RESOURCES)?;
                self.resources
                    .iter()
                    .find(|(k, _)| k == r)
                    .map(|(_, v)| v.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn opts() -> BatchOptions {
        BatchOptions {
            submit: Vec::new(),
            status: Vec::new(),
            cancel: Vec::new(),
            workdir: "/shared/w".into(),
            poll: Duration::from_secs(5),
            time_limit: Some(Duration::from_secs(600)),
            resources: vec![("mem".into(), "4G".into())],
        }
    }

    #[test]
    fn an_attempt_has_its_files_name_timeout_and_resources() {
        let files = JobFiles::new(Path::new("/shared/w"), "01run", "build", 2);
        let v = Values::new(&opts(), "01run", "build", 2, &files)
            .with_timeout(Some(Duration::from_millis(90_500)));
        assert_eq!(
            v.get("script").as_deref(),
            Some("/shared/w/01run/build.2/job.sh")
        );
        assert_eq!(v.get("log").as_deref(), Some("/shared/w/01run/build.2/log"));
        assert_eq!(v.get("name").as_deref(), Some("baton-01run"));
        assert_eq!(v.get("attempt").as_deref(), Some("2"));
        assert_eq!(v.get("timeout_s").as_deref(), Some("91"));
        assert_eq!(v.get("timeout_min").as_deref(), Some("2"));
        assert_eq!(v.get("resources.mem").as_deref(), Some("4G"));
        assert_eq!(v.get("resources.gpus"), None);
        assert_eq!(v.get("job_id"), None);
        // The executor's limit when the step has no timeout.
        let v = Values::new(&opts(), "r", "s", 1, &files).with_timeout(None);
        assert_eq!(v.get("timeout_s").as_deref(), Some("600"));
        let bare = Values::bare(&opts(), "r").with_job_id("77");
        assert_eq!(bare.get("job_id").as_deref(), Some("77"));
        assert_eq!(bare.get("script"), None);
    }

    #[test]
    fn the_attempt_record_parses() {
        assert_eq!(parse_attempt("build\n2\n"), Some(("build".into(), 2)));
        assert_eq!(parse_attempt("build\n"), None);
        assert_eq!(parse_attempt("\n2\n"), None);
    }
}
