//! The store's write path as the driver uses it: 10,000 steps, 5 events per step
//! (queued, running, the process group, finished, succeeded), `synchronous = NORMAL`
//! (the store's level for batches without decisions), a 26-character run id, the
//! workflow's text and the steps listed at `create_run`, as `baton run` does.
//!
//! Two shapes:
//! - `one_step_per_commit`: one step's events per commit, as a `max_parallel = 2` DAG
//!   of shell steps commits on most wake-ups (the per-commit fixed cost matters);
//! - `64_steps_per_commit`: 64 steps per commit, as a wide run of fast steps does.
//!
//! Each shape is measured without an audit key and with one (`_keyed`: every record
//! HMAC'd). `replay` reads the finished run's 50,001 events back as resume, `show` and
//! the console do (with a key configured, checking each event's link first).
//!
//! Throughput is in steps: criterion's time / 10,000 is the cost of one step.
//!
//! `BATON_BENCH_BASE=<another build's store bench executable>` runs the two builds in
//! alternating rounds and prints the ratios (`support/paired.rs`).
use baton::model::state_summary::SummaryFold;
use baton::model::{Event, EventKind, StepOutcome, StepState, Timestamp, Usage};
use baton::store::{AuditKeys, NewRun, Store};
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

const STEPS: usize = 10_000;
const PER_STEP: usize = 5;
const RUN: &str = "01jzq8k3m5n7p9r1s3t5v7x9z1";

fn step_id(i: usize) -> String {
    format!("s{i:05}")
}

/// `RunStarted`, then 5 events for each step.
fn events() -> (Event, Vec<Event>) {
    let mut out = Vec::with_capacity(STEPS * PER_STEP + 1);
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
        auto_approve: false,
        allowed_signers: None,
        slot: None,
        zone: None,
        parent: None,
    });
    for i in 0..STEPS {
        let step = step_id(i);
        for state in [StepState::Queued, StepState::Running] {
            push(EventKind::StepStateChanged {
                step: step.clone(),
                state,
                attempt: 1,
                reason: None,
            });
        }
        push(EventKind::StepProcess {
            step: step.clone(),
            attempt: 1,
            pgid: 10_000 + i as i32,
            output: None,
        });
        push(EventKind::StepFinished {
            step: step.clone(),
            attempt: 1,
            outcome: StepOutcome::Exited { exit_code: 0 },
            duration_ms: 3,
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
    let first = out.remove(0);
    (first, out)
}

/// The workflow file, as `baton run` records it in the run (resume re-plans from it).
fn source_text() -> String {
    let mut t = String::from("name = \"bench\"\nmax_parallel = 2\n");
    for i in 0..STEPS {
        t.push_str(&format!(
            "\n[[step]]\nid = \"{}\"\nrun = \"true\"\n",
            step_id(i)
        ));
        if i > 0 {
            t.push_str(&format!("needs = [\"{}\"]\n", step_id(i - 1)));
        }
    }
    t
}

/// An audit key, or none.
fn keys(keyed: bool) -> AuditKeys {
    AuditKeys::from_vars(|name| {
        (keyed && name == "BATON_AUDIT_KEY").then(|| "bench-secret-key".to_string())
    })
}

/// Commit `chunk` as an engine does: with the run's summary its core folded
/// (here `fold`, the same fold the core keeps).
fn commit(store: &mut Store, fold: &mut SummaryFold, chunk: &[Event]) {
    for e in chunk {
        fold.apply(e);
    }
    store
        .commit_with_logs(RUN, chunk, &[], &fold.summary())
        .expect("commit");
}

fn setup(started: &Event, keyed: bool) -> (tempfile::TempDir, Store, SummaryFold) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("bench.db")).expect("open");
    store.set_audit_keys(keys(keyed));
    store
        .create_run(&NewRun {
            id: RUN.into(),
            workflow: "bench".into(),
            source_path: PathBuf::from("bench.toml"),
            source_text: source_text(),
            params_json: "{}".into(),
            operator: "bench".into(),
            started_at: Timestamp(0),
            parent: None,
            steps: (0..STEPS).map(step_id).collect(),
        })
        .expect("create run");
    let mut fold = SummaryFold::new(
        (0..STEPS)
            .map(step_id)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    );
    commit(&mut store, &mut fold, std::slice::from_ref(started));
    (dir, store, fold)
}

fn commits(c: &mut Criterion) {
    let (started, evs) = events();
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(STEPS as u64));
    for (name, steps_per_commit, keyed) in [
        ("one_step_per_commit", 1, false),
        ("64_steps_per_commit", 64, false),
        ("one_step_per_commit_keyed", 1, true),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || setup(&started, keyed),
                |(dir, mut store, mut fold)| {
                    for chunk in evs.chunks(steps_per_commit * PER_STEP) {
                        commit(&mut store, &mut fold, chunk);
                    }
                    (dir, store)
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn replay(c: &mut Criterion) {
    let (started, evs) = events();
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.throughput(Throughput::Elements(STEPS as u64));
    for (name, keyed) in [("replay", false), ("replay_keyed", true)] {
        let (_dir, mut store, mut fold) = setup(&started, keyed);
        for chunk in evs.chunks(64 * PER_STEP) {
            commit(&mut store, &mut fold, chunk);
        }
        g.bench_function(name, |b| {
            b.iter(|| {
                let n = store.events(RUN).expect("replay").len();
                assert_eq!(n, STEPS * PER_STEP + 1);
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, commits, replay);

#[path = "support/load.rs"]
mod load;
#[path = "support/paired.rs"]
mod paired;

// `criterion_main!`, unless `BATON_BENCH_BASE` asks for rounds against another build.
fn main() {
    if paired::run("store") {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
