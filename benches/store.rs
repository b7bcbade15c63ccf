//! Group commit: 10,000 steps' worth of events (queued, running, finished, succeeded:
//! 4 per step) committed in groups of 64, as the driver does once per wake-up, with
//! `synchronous = FULL`. Reports the time for the whole run.
use baton::model::{Event, EventKind, StepOutcome, StepState, Timestamp, Usage};
use baton::store::{NewRun, Store};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

const STEPS: usize = 10_000;
const GROUP: usize = 64;

fn events() -> Vec<Event> {
    let mut out = Vec::with_capacity(STEPS * 4 + 2);
    let mut seq = 0u64;
    let mut push = |kind| {
        seq += 1;
        out.push(Event {
            seq,
            at: Timestamp(1_700_000_000_000 + seq as i64),
            kind,
        });
    };
    push(EventKind::RunStarted {
        workflow: "bench".into(),
        operator: "bench".into(),
        params: BTreeMap::new(),
        seed: 1,
    });
    for i in 0..STEPS {
        let step = format!("s{i:05}");
        for state in [StepState::Queued, StepState::Running] {
            push(EventKind::StepStateChanged {
                step: step.clone(),
                state,
                attempt: 1,
                reason: None,
            });
        }
        push(EventKind::StepFinished {
            step: step.clone(),
            attempt: 1,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 0,
            outputs: BTreeMap::new(),
            usage: Usage::default(),
        });
        push(EventKind::StepStateChanged {
            step,
            state: StepState::Succeeded,
            attempt: 1,
            reason: None,
        });
    }
    out
}

fn setup() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("bench.db")).expect("open");
    store
        .create_run(&NewRun {
            id: "BENCH".into(),
            workflow: "bench".into(),
            source_path: PathBuf::from("bench.toml"),
            source_text: String::new(),
            params_json: "{}".into(),
            operator: "bench".into(),
            started_at: Timestamp(0),
            steps: Vec::new(),
        })
        .expect("create run");
    (dir, store)
}

fn group_commit(c: &mut Criterion) {
    let evs = events();
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("commit_10k_steps_groups_of_64", |b| {
        b.iter_batched(
            setup,
            |(dir, mut store)| {
                for chunk in evs.chunks(GROUP) {
                    store.commit("BENCH", chunk).expect("commit");
                }
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, group_commit);
criterion_main!(benches);
