//! The workflows every scenario runs: a deploy in a concurrency group whose last step
//! takes a store-wide pool, behind a gate; and a batch outside any group sharing that
//! pool. Written to the scenario's directory (a takeover re-reads the file).
use crate::SimError;
use baton_workflow::Plan;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The store-wide pool both workflows share, and its capacity.
pub(crate) const POOL: &str = "deployers";
pub(crate) const POOL_CAPACITY: usize = 1;
/// The deploy's concurrency group (`concurrency.group`, as the store keys it).
pub(crate) const GROUP: &str = "deploy";

/// One workflow of the scenario, loaded by the real loader.
pub(crate) struct Workflow {
    pub name: String,
    pub path: PathBuf,
    pub plan: Arc<Plan>,
    /// Its concurrency group's `max_pending`, when it is in [`GROUP`].
    pub max_pending: Option<usize>,
}

/// The executor of the remote steps, as its table's body: SSH hosts (`--mix
/// remote`), a Slurm cluster or a batch scheduler (`--mix queues`, by the seed), each
/// played by the simulator.
pub(crate) type Remote = Option<&'static str>;

const SSH: &str = "type = \"ssh\"\nhost = \"sim-host\"";
const SLURM: &str = "type = \"slurm\"\nworkdir = \"/shared/baton\"";
const BATCH: &str = "type = \"batch\"\nsubmit = [\"qsub\", \"-terse\", \"{script}\"]\nstatus = [\"qstat-state\", \"{job_id}\"]\ncancel = [\"qdel\", \"{job_id}\"]";

/// The remote steps' executor of `mix` for `seed`.
pub(crate) fn remote_kind(mix: crate::Mix, seed: u64) -> Remote {
    match mix {
        crate::Mix::Remote => Some(SSH),
        crate::Mix::Queues if seed.is_multiple_of(2) => Some(SLURM),
        crate::Mix::Queues => Some(BATCH),
        crate::Mix::Executors => match crate::jobs::Kind::of(seed) {
            crate::jobs::Kind::Local => None,
            crate::jobs::Kind::Ssh => Some(SSH),
            crate::jobs::Kind::Slurm => Some(SLURM),
            crate::jobs::Kind::Batch => Some(BATCH),
        },
        _ => None,
    }
}

/// `env = …` of a step that reads `upstream`'s output (`--mix executors`), as
/// [`crate::jobs`] checks it.
fn reads(outputs: bool, upstream: &str) -> String {
    match outputs {
        true => format!(
            "env = {{ {}{} = \"${{{{ steps.{upstream}.outputs.{} }}}}\" }}\n",
            crate::jobs::UPSTREAM,
            upstream.to_uppercase(),
            crate::jobs::VERSION
        ),
        false => String::new(),
    }
}

fn hosts(remote: Remote) -> String {
    match remote {
        Some(body) => format!("\n[executors.{}]\n{body}\n", crate::remote::EXECUTOR),
        None => String::new(),
    }
}

/// `executor = …` of a step that runs remotely.
fn on(remote: Remote) -> String {
    match remote {
        Some(_) => format!("executor = \"{}\"\n", crate::remote::EXECUTOR),
        None => String::new(),
    }
}

/// `schedule`: the deploy's schedule's own lines after its cron and overlap, if it
/// has one; `signed`: its `[approvals]` table and what makes its gate signed;
/// `outputs`: `ship` reads `build`'s output.
fn deploy(
    max_pending: usize,
    remote: Remote,
    (schedule, signed, outputs): (Option<String>, Option<(String, String)>, bool),
) -> String {
    let (hosts, on) = (hosts(remote), on(remote));
    let reads = reads(outputs, "build");
    // `--mix executors`: a deploy must not run twice; lost, it waits for a person.
    let once = match outputs {
        true => "idempotent = false\n",
        false => "",
    };
    let schedule = match schedule {
        Some(lines) => format!(
            "\n[[schedule]]\ncron = \"{}\"\noverlap = \"queue\"\n{lines}",
            crate::cron::CRON
        ),
        None => String::new(),
    };
    // A signed gate takes no `revise` (gates.md).
    let (approvals, gate) = match signed {
        Some((table, gate)) => (format!("\n{table}"), gate),
        None => (String::new(), "revise = [\"build\"]".to_string()),
    };
    format!(
        r#"name = "deploy"
concurrency = {{ group = "{GROUP}", on_conflict = "queue", max_pending = {max_pending} }}
{hosts}{schedule}{approvals}
[pools.{POOL}]
capacity = {POOL_CAPACITY}
scope = "store"

[[step]]
id = "build"
run = "make"
{on}timeout = "30s"
retry = {{ attempts = 2, delay = "1s" }}

[[step]]
id = "ship"
needs = ["build"]
run = "ship"
{on}{reads}{once}timeout = "30s"
pool = "{POOL}"
gate = {{ prompt = "ship it?", allow_self_approval = true, {gate} }}
"#
    )
}

/// The `batch` workflow's token ceiling (every mix but `runs-only`): its steps write
/// usage lines of [`crate::executor::line_tokens`] each.
pub(crate) const TOKEN_CEILING: u64 = 1_500;

fn batch(budget: bool, remote: Remote, outputs: bool) -> String {
    let reads = reads(outputs, "extract");
    // `--mix executors`: an extract must not run twice; lost, it waits for a person.
    let once = match outputs {
        true => "idempotent = false\n",
        false => "",
    };
    let budget = match budget {
        true => format!("budget = {{ tokens = {TOKEN_CEILING} }}\n"),
        false => String::new(),
    };
    let (hosts, on) = (hosts(remote), on(remote));
    format!(
        r#"name = "batch"
{budget}{hosts}
[pools.{POOL}]
capacity = {POOL_CAPACITY}
scope = "store"

[[step]]
id = "extract"
run = "extract"
{on}{once}timeout = "30s"

[[step]]
id = "load"
needs = ["extract"]
run = "load"
{on}{reads}timeout = "30s"
pool = "{POOL}"
retry = {{ attempts = 2, delay = "1s" }}

[[step]]
id = "publish"
needs = ["load"]
run = "publish"
gate = {{ prompt = "publish?", allow_self_approval = true, revise = ["load"] }}
"#
    )
}

/// What a scenario's workflows are made with ([`write_all`]).
pub(crate) type Scenario = (bool, Remote, Option<String>, Option<(String, String)>, bool);

/// Write and load the scenario's workflows in `dir`.
/// `budget`: the batch has a token ceiling (not in the regression seeds' scenarios,
/// `--mix runs-only`, which replay unchanged); `remote`: `ship` and `load` run on the
/// SSH executor (`--mix remote`); `schedule`: the deploy has a schedule (`--mix
/// schedules`, `--mix serves`), with these lines; `signed`: its gate is signed (`--mix
/// signed`); `outputs`: `ship` and `load` read their upstream's output, and `ship` and `extract` are not idempotent (`--mix
/// executors`).
pub(crate) fn write_all(
    dir: &Path,
    max_pending: usize,
    (budget, remote, schedule, signed, outputs): Scenario,
) -> Result<Vec<Workflow>, SimError> {
    let mut out = Vec::new();
    for (name, text, pending) in [
        (
            "deploy",
            deploy(
                max_pending,
                remote,
                (schedule.clone(), signed.clone(), outputs),
            ),
            Some(max_pending),
        ),
        ("batch", batch(budget, remote, outputs), None),
    ] {
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, &text).map_err(|e| SimError::Io {
            path: path.clone(),
            error: e,
        })?;
        let plan = baton_workflow::load_str(&text, &path)
            .map_err(|d| SimError::Workflow(d.to_string()))?;
        out.push(Workflow {
            name: name.into(),
            path,
            plan: Arc::new(plan),
            max_pending: pending,
        });
    }
    Ok(out)
}

/// The text of every workflow file under `dir`, the scenario's directory, by path: what
/// the scenario's runs were made from (`Outcome::workflows`). A `.toml` the loader
/// refuses is no workflow and is left out.
pub(crate) fn written(dir: &Path) -> Result<Vec<String>, SimError> {
    let mut files = Vec::new();
    tomls(dir, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => continue,
            Err(e) => return Err(SimError::Io { path, error: e }),
        };
        if baton_workflow::load_str(&text, &path).is_ok() {
            out.push(text);
        }
    }
    Ok(out)
}

/// Every `.toml` file under `dir`. A directory or file another account keeps from
/// this process (`--mix accounts`) holds nothing this process loaded: it is passed.
fn tomls(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SimError> {
    let io = |error| SimError::Io {
        path: dir.to_path_buf(),
        error,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        match entry.file_type().map_err(io)? {
            t if t.is_dir() => tomls(&path, out)?,
            _ if path.extension().is_some_and(|x| x == "toml") => out.push(path),
            _ => {}
        }
    }
    Ok(())
}
