//! Approval latency (docs/architecture.md "Performance budgets", issue 5 point 12): from the console's approve request to
//! the gated step's process start, through the real driver, core, store and executor.
//! The step's command creates a file as the first thing it does; the time until that
//! file exists is the latency.
use baton::engine::{CommandRequest, Driver, Sinks};
use baton::engine::{Core, RunConfig};
use baton::model::{Command, Timestamp};
use baton::session::lease_holder;
use baton::store::{NewRun, Store};
use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

const WORKFLOW: &str = r#"
name = "approve-latency"
[[step]]
id = "prepare"
run = "true"
[[step]]
id = "deploy"
needs = ["prepare"]
run = ': > started'
gate = { prompt = "go?" }
"#;

async fn once() -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let wf = dir.path().join("w.toml");
    std::fs::write(&wf, WORKFLOW).expect("write");
    let plan = Arc::new(baton::workflow::load_file(&wf).expect("valid"));
    let mut store = Store::open(&dir.path().join("db/baton.db")).expect("store");
    let run_id = ulid::Ulid::new().to_string().to_lowercase();
    store
        .create_run(&NewRun {
            id: run_id.clone(),
            workflow: plan.name.clone(),
            source_path: wf.clone(),
            source_text: WORKFLOW.into(),
            params_json: "{}".into(),
            operator: "bench".into(),
            started_at: Timestamp::now(),
            parent: None,
            steps: vec!["prepare".into(), "deploy".into()],
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
    let mut core = Core::new(plan, cfg);
    let initial = core.start(Timestamp::now());
    // An engine drives a run it holds the lease of (its writes are fenced).
    let mut store = store;
    store
        .acquire_lease(
            &run_id,
            &lease_holder(),
            Timestamp::now(),
            baton::model::LEASE_STALE,
        )
        .expect("lease");
    let mut driver = Driver::new(core, store, run_id, lease_holder(), Sinks::default());
    let (view_tx, mut view_rx) = watch::channel(Arc::new(driver.view()));
    let (req_tx, req_rx) = mpsc::channel(8);
    driver.attach_console(view_tx, req_rx);
    let task = tokio::spawn(driver.run(initial, std::future::pending()));
    while view_rx.borrow().gates.is_empty() {
        view_rx.changed().await.expect("view");
    }
    let started = dir.path().join("started");
    let (reply, answer) = oneshot::channel();
    let t0 = Instant::now();
    let command = Command::Approve {
        step: "deploy".into(),
        operator: "alice".into(),
        reason: None,
        signature: None,
        inputs: Default::default(),
    };
    req_tx
        .send(CommandRequest { command, reply })
        .await
        .expect("send");
    while !started.exists() {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let took = t0.elapsed();
    assert!(answer.await.expect("answer").is_accepted());
    drop(req_tx);
    let _ = task.await;
    took
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("approval");
    g.sample_size(30);
    g.bench_function("approve_to_process_start", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(once())).sum())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
