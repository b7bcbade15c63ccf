//! The campaign's workflows. Every step is the same small script that writes its own
//! start and end stamps (run, step, attempt, pid, times, where it ran) to a file of
//! its own under the campaign's `stamps/`: the ground truth the checks read beside the
//! store. The SSH hosts and the Grid Engine cell are this machine, so a remote step
//! writes there too.
use crate::exec::batch::Scheduler;
use crate::helpers::Env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The concurrency group of `deploy`, and of the served `nightly`.
pub(super) const DEPLOY_GROUP: &str = "chaos-deploy";
pub(super) const NIGHTLY_GROUP: &str = "chaos-nightly";
/// `deploy`'s `max_pending`.
pub(super) const DEPLOY_MAX_PENDING: usize = 2;

/// Where the remote steps can run here (each `None` where its daemons cannot).
pub(super) struct Remotes {
    /// The ssh config naming `baton-h2` and `baton-h3` (tests/ssh/hosts.sh).
    pub ssh: Option<PathBuf>,
    /// The Grid Engine cell (tests/sge/cell.sh), as the executor `grid`.
    pub sge: Option<Scheduler>,
    /// Whether the test Slurm cluster is up (tests/slurm/cluster.sh), as the executor
    /// `cluster`.
    pub slurm: bool,
}

/// Where one step runs.
#[derive(Clone, Copy)]
enum Place {
    Local,
    /// An SSH executor: `h2` or `h3`.
    Ssh(&'static str),
    /// The Grid Engine cell.
    Grid,
    /// The Slurm cluster.
    Slurm,
}

/// A step's script: stamps `start`, works `secs`, stamps `end` (`exit`), or `end`
/// (`signal`) when stopped by TERM, HUP or INT (a stop by baton: TERM first). A
/// SIGKILL leaves no end stamp. `$$` tells two processes of one attempt apart.
fn script(stamps: &Path, secs: f64, place: &str) -> String {
    format!(
        r#"f="{}/$BATON_RUN_ID.$BATON_STEP_ID.$BATON_ATTEMPT.$$"
echo "start $(date +%s%N) {place}" >> "$f"
trap 'echo "end $(date +%s%N) signal" >> "$f"; exit 143' TERM HUP INT
sleep {secs} & wait $!
echo "end $(date +%s%N) exit" >> "$f""#,
        stamps.display()
    )
}

/// The script of the step that asks: stamps as `script` does, but its work is `baton
/// ask` (it may approve its own ask: the campaign's account answers it), whose JSON
/// answer goes to a file of its own under `answers/` (`RUN.STEP.ATTEMPT.PID`, as the
/// stamps); the step exits as the ask does (0 approved, 1 rejected).
fn ask_script(stamps: &Path, answers: &Path) -> String {
    format!(
        r#"f="{}/$BATON_RUN_ID.$BATON_STEP_ID.$BATON_ATTEMPT.$$"
echo "start $(date +%s%N) local" >> "$f"
trap 'echo "end $(date +%s%N) signal" >> "$f"; exit 143' TERM HUP INT
'{}' ask --prompt "go on?" --allow-self-approval --json > "{}/$BATON_RUN_ID.$BATON_STEP_ID.$BATON_ATTEMPT.$$" & wait $!
rc=$?
echo "end $(date +%s%N) exit" >> "$f"
exit $rc"#,
        stamps.display(),
        env!("CARGO_BIN_EXE_baton"),
        answers.display()
    )
}

impl Remotes {
    /// The place asked for, or the local executor where it cannot run here.
    fn place(&self, want: Place) -> Place {
        match want {
            Place::Ssh(_) if self.ssh.is_none() => Place::Local,
            Place::Grid if self.sge.is_none() => Place::Local,
            Place::Slurm if !self.slurm => Place::Local,
            p => p,
        }
    }

    /// The `[executors.*]` tables the workflows name.
    fn executors(&self, env: &Env) -> String {
        let mut t = String::new();
        if let Some(config) = &self.ssh {
            for (name, host) in [("h2", "baton-h2"), ("h3", "baton-h3")] {
                t.push_str(&crate::exec::ssh::executor(name, host, config, env, ""));
            }
        }
        if let Some(sge) = &self.sge {
            t.push_str(&sge.definition);
        }
        if self.slurm {
            t.push_str(crate::exec::slurm::HEAD);
        }
        t
    }

    /// One `[[step]]`.
    fn step(&self, stamps: &Path, id: &str, needs: &[&str], secs: f64, at: Place) -> String {
        let (executor, place) = match self.place(at) {
            Place::Local => (String::new(), "local"),
            Place::Ssh(name) => (format!("executor = \"{name}\"\n"), "ssh"),
            Place::Grid => ("executor = \"grid\"\n".to_string(), "sge"),
            Place::Slurm => ("executor = \"cluster\"\n".to_string(), "slurm"),
        };
        let mut s = format!("\n[[step]]\nid = \"{id}\"\n{executor}");
        if !needs.is_empty() {
            let needs: Vec<String> = needs.iter().map(|n| format!("\"{n}\"")).collect();
            let _ = writeln!(s, "needs = [{}]", needs.join(", "));
        }
        let _ = writeln!(s, "run = '''\n{}\n'''", script(stamps, secs, place));
        s
    }
}

/// The gate line of a gated step.
fn gated(step: String, prompt: &str) -> String {
    format!("{step}gate = {{ prompt = \"{prompt}\" }}\n")
}

/// The workflows' files: `deploy.toml`, `batch.toml`, `review.toml`, `desk.toml` in
/// the env, and `nightly.toml` in `served` (the directory `baton serve` serves).
pub(super) struct Files {
    pub deploy: PathBuf,
    pub batch: PathBuf,
    pub review: PathBuf,
    pub desk: PathBuf,
}

/// Where the campaign's steps write (their stamps, the answers their asks took) and
/// the directory `baton serve` serves.
pub(super) struct Dirs<'a> {
    pub stamps: &'a Path,
    pub answers: &'a Path,
    pub served: &'a Path,
}

pub(super) fn write(env: &Env, remotes: &Remotes, dirs: &Dirs) -> Files {
    let (stamps, served) = (dirs.stamps, dirs.served);
    let x = remotes.executors(env);
    let step =
        |id: &str, needs: &[&str], secs: f64, at: Place| remotes.step(stamps, id, needs, secs, at);
    let deploy = format!(
        "name = \"deploy\"\nconcurrency = {{ group = \"{DEPLOY_GROUP}\", on_conflict = \"queue\", max_pending = {DEPLOY_MAX_PENDING} }}\n{x}{}{}{}{}",
        step("build", &[], 0.6, Place::Local),
        gated(step("ship", &["build"], 0.5, Place::Local), "ship it?"),
        step("push", &["ship"], 1.0, Place::Ssh("h2")),
        step("grid", &["ship"], 0.5, Place::Grid),
    );
    let batch = format!(
        "name = \"batch\"\n{x}{}{}{}{}",
        step("extract", &[], 0.4, Place::Local),
        step("load", &["extract"], 0.8, Place::Ssh("h3")),
        step("crunch", &["extract"], 0.5, Place::Slurm),
        gated(
            step("publish", &["load", "crunch"], 0.3, Place::Local),
            "publish?"
        ),
    );
    // `ask` needs nothing, so a push-back of `publish` (revising `draft`) never asks
    // again.
    let review = format!(
        "name = \"review\"\n{}\n[[step]]\nid = \"ask\"\nrun = '''\n{}\n'''\n{}gate = {{ prompt = \"publish?\", revise = [\"draft\"], rounds = 3 }}\n",
        step("draft", &[], 0.4, Place::Local),
        ask_script(stamps, dirs.answers),
        step("publish", &["draft", "ask"], 0.3, Place::Local),
    );
    let desk = format!(
        "name = \"desk\"\n{}{}",
        step("prep", &[], 0.3, Place::Local),
        gated(step("sign", &["prep"], 0.3, Place::Local), "sign it?"),
    );
    // A slot every 5 s; a slot while a run goes is skipped (the group's `skip`), and
    // so is a trigger.
    let nightly = format!(
        "name = \"nightly\"\nconcurrency = {{ group = \"{NIGHTLY_GROUP}\", on_conflict = \"skip\" }}\n\
         [[schedule]]\ncron = \"*/5 * * * * *\"\n{x}{}{}",
        step("tick", &[], 0.5, Place::Local),
        step("sync", &["tick"], 0.5, Place::Ssh("h2")),
    );
    // Renamed into place: the serve loads a file only whole.
    let tmp = env.path().join(".nightly.toml.tmp");
    std::fs::write(&tmp, nightly).expect("write nightly.toml");
    std::fs::rename(&tmp, served.join("nightly.toml")).expect("move nightly.toml into place");
    Files {
        deploy: env.workflow("deploy.toml", &deploy),
        batch: env.workflow("batch.toml", &batch),
        review: env.workflow("review.toml", &review),
        desk: env.workflow("desk.toml", &desk),
    }
}

/// Which group a workflow's runs are in (the overlap check's unit).
pub(super) fn group_of(workflow: &str) -> Option<&'static str> {
    match workflow {
        "deploy" => Some(DEPLOY_GROUP),
        "nightly" => Some(NIGHTLY_GROUP),
        // A child's steps run while its parent holds the group.
        super::hands::RELEASE | super::hands::CHILD => Some(super::hands::RELEASE_GROUP),
        _ => None,
    }
}

/// The steps of each of the campaign's workflows, in order (what `hold` and `fork`
/// name).
pub(super) fn steps_of(workflow: &str) -> &'static [&'static str] {
    match workflow {
        "deploy" => &["build", "ship", "push", "grid"],
        "batch" => &["extract", "load", "crunch", "publish"],
        "review" => &["draft", "ask", "publish"],
        "nightly" => &["tick", "sync"],
        "desk" => &["prep", "sign"],
        _ => &[],
    }
}
