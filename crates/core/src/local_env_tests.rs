//! Which environment a step gets where it runs: the run's store (`BATON_DB`, for its
//! `baton ask`) apart (`SpawnSpec::local_env`, added by the local shell only), never in
//! what is sent to an SSH, Slurm or batch host; and not over a `BATON_DB` of its own.
use super::testkit::*;
use super::*;

const DB: &str = "/srv/baton/store.db";

const WORKFLOW: &str = r#"
name = "places"

[executors.box]
type = "ssh"
host = "box"
labels = ["gpu"]

[executors.here]
type = "local"
labels = ["gpu", "cpu"]

[executors.grid]
type = "batch"
submit = ["qsub", "{script}"]
status = ["qstat", "{job_id}"]
cancel = ["qdel", "{job_id}"]
workdir = "/shared/jobs"
labels = ["cpu"]

[[step]]
id = "plain"
run = "true"

[[step]]
id = "remote"
executor = "box"
run = "true"

[[step]]
id = "queued"
executor = "grid"
run = "true"

[[step]]
id = "pinned_here"
executor = "here"
run = "true"

[[step]]
id = "spread"
requires = ["gpu"]
run = "true"

[[step]]
id = "own_db"
run = "true"
env = { BATON_DB = "/elsewhere.db" }
"#;

fn spawns(store: Option<&str>) -> Vec<SpawnSpec> {
    let plan = baton_workflow::load_str(WORKFLOW, std::path::Path::new("/w/workflow.toml"))
        .expect("the test's workflow loads");
    let all_at_once = RunConfig {
        max_parallel: Some(16),
        ..cfg()
    };
    let mut core = Core::new(Arc::new(plan), all_at_once);
    if let Some(db) = store {
        core.locate_store(db.into());
    }
    core.start(Timestamp(T0))
        .into_iter()
        .filter_map(|e| match e {
            Effect::Spawn(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn of<'a>(specs: &'a [SpawnSpec], id: &str) -> &'a SpawnSpec {
    specs
        .iter()
        .find(|s| s.step_id == id)
        .unwrap_or_else(|| panic!("{id} spawned: {specs:?}"))
}

fn named<'a>(env: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    env.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The store goes in `local_env`, wherever the step may run: only the local shell
/// adds it (an SSH, Slurm or batch host is sent `env` alone, which never names it).
#[test]
fn every_step_gets_the_store_apart_and_never_in_what_is_sent() {
    let specs = spawns(Some(DB));
    // Everything sent wherever it runs: no store path in it.
    for s in &specs {
        if s.step_id != "own_db" {
            assert!(named(&s.env, "BATON_DB").is_empty(), "{s:?}");
        }
    }
    for id in ["plain", "pinned_here", "spread", "remote", "queued"] {
        assert_eq!(
            named(&of(&specs, id).local_env, "BATON_DB"),
            vec![DB],
            "{id}"
        );
    }
    // Its own `BATON_DB` stands, and is the only one.
    let own = of(&specs, "own_db");
    assert_eq!(named(&own.env, "BATON_DB"), vec!["/elsewhere.db"]);
    assert!(own.local_env.is_empty(), "{own:?}");
}

#[test]
fn a_core_told_no_store_gives_no_store() {
    let specs = spawns(None);
    assert!(specs.iter().all(|s| s.local_env.is_empty()), "{specs:?}");
}

#[test]
fn a_compensation_on_this_machine_gets_the_store_too() {
    let plan = plan()
        .step("deploy")
        .with(|s| s.compensate = Some("undo".into()))
        .step_needs("check", &["deploy"])
        .build();
    let mut sim = Sim::new(plan, cfg());
    sim.core.locate_store(DB.into());
    sim.exit("deploy", 0);
    let fx = sim.exit("check", 1);
    let undo = fx
        .iter()
        .find_map(|e| match e {
            Effect::Compensate(s) => Some(s),
            _ => None,
        })
        .expect("deploy's compensation spawned");
    assert_eq!(named(&undo.local_env, "BATON_DB"), vec![DB]);
}
