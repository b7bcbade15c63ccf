//! Issue 3 point 7(b): 10,000 `builtin.noop` steps through the engine and the store, in
//! process: the plan is loaded outside the timing; core, driver and every SQLite commit
//! are inside it. (`benches/engine.rs` times the whole binary, parsing included.)
use baton::engine::{Core, RunConfig};
use baton::engine::{Driver, Sinks};
use baton::model::{RunState, Timestamp};
use baton::store::{NewRun, Store};
use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/noop_dag.rs"]
mod noop_dag;
use noop_dag::noop_dag;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("noop.toml");
    std::fs::write(&path, noop_dag(100, 100)).expect("write");
    let plan = Arc::new(baton::workflow::load_file(&path).expect("valid"));
    // The runtime the binary uses (`cli::drive::runtime`).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("noop");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.bench_function("engine_and_store_10k_noop", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let db = tempfile::tempdir().expect("tempdir");
                let mut store = Store::open(&db.path().join("b.db")).expect("store");
                let run_id = ulid::Ulid::new().to_string().to_lowercase();
                let start = Instant::now();
                store
                    .create_run(&NewRun {
                        id: run_id.clone(),
                        workflow: plan.name.clone(),
                        source_path: path.clone(),
                        source_text: String::new(),
                        params_json: "{}".into(),
                        operator: "bench".into(),
                        started_at: Timestamp::now(),
                        parent: None,
                        steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
                    })
                    .expect("run");
                let cfg = RunConfig {
                    run_id: run_id.clone(),
                    operator: "bench".into(),
                    params: Default::default(),
                    secret_values: vec![],
                    seed: 1,
                    auto_approve: false,
                    max_parallel: None,
                    no_cache: false,
                    slot: None,
                    store: Some(store.path().to_path_buf()),
                    workflow_hash: None,
                    zone: None,
                    parent: None,
                };
                let mut core = Core::new(plan.clone(), cfg);
                let initial = core.start(Timestamp::now());
                // An engine drives a run it holds the lease of (its writes are fenced).
                let mut store = store;
                store
                    .acquire_lease(
                        &run_id,
                        "bench",
                        Timestamp::now(),
                        baton::model::LEASE_STALE,
                    )
                    .expect("lease");
                let driver = Driver::new(core, store, run_id, "bench".into(), Sinks::default());
                let out = rt
                    .block_on(driver.run(initial, std::future::pending()))
                    .expect("drive");
                total += start.elapsed();
                assert_eq!(out.state, RunState::Succeeded);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
