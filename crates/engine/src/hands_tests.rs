//! The one dispatch to the executors: which back end each kind of step's effect goes
//! to, with which call and what job (`crates/sim/tests/seams.rs` shows the simulator's
//! hosts are reached through it too).
use super::*;
use crate::wake::Reattach;
use baton_core::RunConfig;

const WORKFLOW: &str = r#"name = "t"

[executors.host]
type = "ssh"
host = "gpu-a"
labels = ["gpu"]

[executors.host-b]
type = "ssh"
host = "gpu-b"
labels = ["gpu"]

[executors.cluster]
type = "slurm"
partition = "p"

[executors.grid]
type = "batch"
submit = ["qsub", "{script}"]
status = ["qstat", "{job_id}"]
cancel = ["qdel", "{job_id}"]

[[step]]
id = "here"
run = "true"

[[step]]
id = "ssh"
executor = "host"
run = "true"

[[step]]
id = "slurm"
executor = "cluster"
run = "true"

[[step]]
id = "batch"
executor = "grid"
run = "true"

[[step]]
id = "spread"
requires = ["gpu"]
run = "true"
"#;

/// A core of `toml`'s plan, and its executors as a run's driver makes them.
fn world(toml: &str) -> (Core, Executors) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workflow.toml");
    std::fs::write(&path, toml).unwrap();
    let plan = Arc::new(baton_workflow::load_file(&path).unwrap());
    let all = exec::Backends::builtin().for_plan(&plan, "r1");
    (Core::new(plan, RunConfig::default()), Executors::new(all))
}

fn spec(core: &Core, step: usize) -> SpawnSpec {
    SpawnSpec {
        step,
        step_id: core.plan().steps[step].id.clone(),
        attempt: 2,
        action: SpawnAction::Shell {
            command: "true".into(),
        },
        dir: PathBuf::from("/w"),
        env: vec![("K".into(), "v".into())],
        local_env: Vec::new(),
        timeout: Some(Duration::from_secs(5)),
        secret_values: Vec::new(),
        cache: None,
        artifacts: Vec::new(),
    }
}

fn setting() -> Setting {
    Setting {
        run_id: "r1".into(),
        log_dir: PathBuf::from("/logs"),
        masker: Masker::new(Vec::new()),
        files_dir: None,
        start_here: true,
    }
}

fn shell(
    x: &mut Executors,
    core: &Core,
    step: usize,
    (compensation, reattach): (bool, Option<Reattach>),
) -> Shell {
    match spawning(x, core, (spec(core, step), compensation, reattach), setting) {
        Spawning::Shell(s) => *s,
        Spawning::Builtin { .. } => panic!("a shell step dispatched as a builtin"),
    }
}

#[test]
fn each_step_starts_on_the_executor_its_step_names() {
    let (core, mut x) = world(WORKFLOW);
    for (step, name) in [(0, "local"), (1, "host"), (2, "cluster"), (3, "batch")] {
        let s = shell(&mut x, &core, step, (false, None));
        let want = if name == "batch" { "grid" } else { name };
        assert_eq!(s.backend.name(), want, "step {step}");
        assert_eq!(s.backend.is_local(), step == 0, "step {step}");
        assert_eq!(s.call, Call::Start);
        assert_eq!(
            (s.key, s.step_id.as_str()),
            ((step, 2), name_of(&core, step))
        );
        assert_eq!(s.job.step_id, name_of(&core, step));
        assert_eq!((s.job.run_id.as_str(), s.job.attempt), ("r1", 2));
        assert_eq!(s.job.env, vec![("K".to_string(), "v".to_string())]);
        assert_eq!(s.timeout, Some(Duration::from_secs(5)));
    }
    // A compensation's job is its own (its log), its step's id kept for the core.
    let c = shell(&mut x, &core, 1, (true, None));
    assert_eq!(c.job.step_id, "ssh.compensate");
    assert_eq!((c.step_id.as_str(), c.compensation), ("ssh", true));
}

fn name_of(core: &Core, step: usize) -> &str {
    &core.plan().steps[step].id
}

#[test]
fn a_reattach_follows_the_job_where_it_was_started() {
    let (core, mut x) = world(WORKFLOW);
    let on = |executor: &str| Reattach {
        executor: executor.into(),
        job_id: "77".into(),
        frozen: true,
    };
    // Its executor on record, whatever the step's is now.
    let s = shell(&mut x, &core, 1, (false, Some(on("cluster"))));
    assert_eq!(s.backend.name(), "cluster");
    let reattach = Call::Reattach {
        job_id: "77".into(),
        frozen: true,
    };
    assert_eq!(s.call, reattach);
    // One the run no longer has: the step's own.
    let s = shell(&mut x, &core, 3, (false, Some(on("gone"))));
    assert_eq!((s.backend.name(), s.call), ("grid", reattach));
}

#[test]
fn a_spread_step_takes_turns_in_one_rotation() {
    let (core, mut x) = world(WORKFLOW);
    let a = shell(&mut x, &core, 4, (false, None)).backend;
    let b = shell(&mut x, &core, 4, (false, None)).backend;
    assert_eq!(a.name(), "spread");
    assert!(Arc::ptr_eq(&a, &b), "each spawn made a rotation of its own");
}

#[test]
fn a_cancel_reaches_only_an_executor_the_run_has() {
    let (_, x) = world(WORKFLOW);
    let before = dispatched_here();
    assert_eq!(x.named("grid").map(|e| e.name()), Some("grid"));
    assert!(x.named("gone").is_none());
    assert_eq!(dispatched_here(), before + 2);
    // A run whose executors are all local has none to name: every step is local.
    let (core, mut x) = world("name = \"t\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n");
    assert!(x.named("local").is_none());
    assert!(x.of_step(&core, 0).is_local());
}

#[test]
fn a_builtin_runs_in_the_engine() {
    let (core, mut x) = world(WORKFLOW);
    let mut s = spec(&core, 0);
    s.action = SpawnAction::Builtin {
        builtin: Builtin::Noop,
        with: BTreeMap::new(),
    };
    let made = std::cell::Cell::new(false);
    let got = spawning(&mut x, &core, (s, false, None), || {
        made.set(true);
        setting()
    });
    assert!(matches!(got, Spawning::Builtin { key: (0, 2), .. }));
    assert!(!made.get(), "a builtin made a shell job's setting");
}
