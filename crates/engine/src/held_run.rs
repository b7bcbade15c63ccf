//! A test's run: one workflow recorded in a fresh store, its lease held, as an engine
//! finds a run it is about to drive (the driver's and the hold's unit tests share it).
use baton_model::Timestamp;
use baton_store::{NewRun, Store};
use std::path::Path;
use std::sync::Arc;

/// Run `r1` of the workflow `toml` (written to `dir`), recorded in a fresh store in
/// `dir` with every step of its plan, its lease held by `tester`.
pub(crate) fn held_run(dir: &Path, toml: &str) -> (Store, Arc<baton_workflow::Plan>) {
    let path = dir.join("workflow.toml");
    std::fs::write(&path, toml).unwrap();
    let plan = Arc::new(baton_workflow::load_file(&path).unwrap());
    let mut store = Store::open(&dir.join("b.db")).unwrap();
    store
        .create_run(&NewRun {
            id: "r1".into(),
            workflow: plan.name.clone(),
            source_path: path.clone(),
            source_text: toml.into(),
            params_json: "{}".into(),
            operator: "tester".into(),
            started_at: Timestamp::now(),
            parent: None,
            steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
        })
        .unwrap();
    store
        .acquire_lease("r1", "tester", Timestamp::now(), baton_model::LEASE_STALE)
        .unwrap();
    (store, plan)
}
