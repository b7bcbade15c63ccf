//! The console's asks per published frame (asks-read point 1): the open asks of the run
//! on screen, with `N` asks open in the store (an on-call shift's backlog, of other
//! runs and of none), each frame taking them
//!
//! - from the store, as the console did before (every open ask read with its votes,
//!   then those of the shown run kept: the baseline, in the same run), and
//! - from `session::AskBook`, as it does now: the store's asks counter read
//!   (one row), nothing else when it did not move, the shown run's asks picked from
//!   what was last read.
//!
//!   cargo bench --bench console_asks
use baton::model::Timestamp;
use baton::model::ask::{Ask, AskState, Asker};
use baton::session::AskBook;
use baton::store::Store;
use criterion::{Criterion, criterion_group};
use std::hint::black_box;

const SHOWN: &str = "run-shown";

fn ask(i: usize, run: Option<&str>) -> Ask {
    Ask {
        id: format!("ask-{i:06}"),
        run_id: run.map(str::to_string),
        step_id: run.map(|_| format!("step-{i}")),
        workflow: None,
        prompt: format!("question {i}: go ahead?"),
        inputs: Vec::new(),
        approvers: Vec::new(),
        quorum: 1,
        allow_self_approval: false,
        signers: None,
        asker: Asker {
            account: "oncall".into(),
            holder: baton::store::lease_holder_name(),
            command: "baton ask".into(),
        },
        opened_at: Timestamp::now(),
        deadline: None,
        state: AskState::Open,
        votes: Vec::new(),
        values: None,
        decided_by: None,
        decided_at: None,
        reason: None,
    }
}

/// The console's read before: every open ask, then the shown run's still open.
fn from_store(store: &Store, run: &str) -> usize {
    let now = Timestamp::now();
    store
        .open_asks()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.run_id.as_deref() == Some(run))
        .filter(|a| a.state_at(now, baton::store::holder_alive(&a.asker.holder)) == AskState::Open)
        .count()
}

fn asks_per_frame(c: &mut Criterion) {
    let mut g = c.benchmark_group("console_asks_per_frame");
    for n in [100usize, 1_000] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(&dir.path().join("baton.db")).expect("store");
        for i in 0..n {
            // A few of the shown run, the rest of other runs and of none.
            let run = match i % 10 {
                0 if i < 30 => Some(SHOWN.to_string()),
                0..=6 => Some(format!("run-{}", i % 97)),
                _ => None,
            };
            store
                .insert_ask(&ask(i, run.as_deref()), None)
                .expect("ask");
        }
        let mut book = AskBook::default();
        book.refresh(&store);
        assert_eq!(
            book.of_run(SHOWN, Timestamp::now()).len(),
            from_store(&store, SHOWN),
            "the two ways see the same asks"
        );
        g.bench_function(format!("store_read_{n}_open"), |b| {
            b.iter(|| black_box(from_store(&store, black_box(SHOWN))))
        });
        g.bench_function(format!("ask_book_{n}_open"), |b| {
            b.iter(|| {
                book.refresh(&store);
                black_box(book.of_run(black_box(SHOWN), Timestamp::now()).len())
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = asks_per_frame
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
