//! The engine core alone on 10,000 `builtin.noop` steps (docs/architecture.md "Performance budgets": core + store
//! under 0.5 s; this measures the core's share). Every spawn completes at once.
use baton::engine::core::StepExit;
use baton::engine::{Core, Effect, Input, RunConfig};
use baton::model::{StepOutcome, Timestamp, Usage};
use baton::workflow::{Action, Builtin, Plan, RetryPolicy, Step, Trigger};
use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

fn noop_plan(n: usize) -> Arc<Plan> {
    let steps: Vec<Step> = (0..n)
        .map(|i| Step {
            id: format!("s{i}"),
            index: i,
            // A chain of layers of 100: each step needs one of the layer before.
            needs: if i >= 100 { vec![i - 100] } else { vec![] },
            action: Action::Builtin(Builtin::Noop),
            with: BTreeMap::new(),
            env: BTreeMap::new(),
            when: Trigger::AllSuccess,
            allow_failure: false,
            mark_success: false,
            timeout: None,
            retry: RetryPolicy::default(),
            executor: None,
            cost: 0.0,
            idempotent: true,
            on_cancel: false,
            line: i + 1,
            rare: Default::default(),
        })
        .collect();
    let mut dependants = vec![Vec::new(); n];
    for s in &steps {
        for &d in &s.needs {
            dependants[d].push(s.index);
        }
    }
    Arc::new(Plan {
        name: "noop".into(),
        description: None,
        source: PathBuf::from("/tmp/w.toml"),
        base_dir: PathBuf::from("/tmp"),
        max_parallel: 8,
        timeout: None,
        budget: None,
        deadline: None,
        params: vec![],
        env: BTreeMap::new(),
        secrets: vec![],
        secret_sources: vec![],
        pools: vec![],
        executors: vec![],
        notify: vec![],
        tools: BTreeMap::new(),
        layers: (0..n.div_ceil(100))
            .map(|l| (l * 100..((l + 1) * 100).min(n)).collect())
            .collect(),
        dependants,
        schedules: Vec::new(),
        triggers: Vec::new(),
        warnings: Vec::new(),
        steps,
        approvals: None,
        concurrency: None,
    })
}

fn run(plan: Arc<Plan>) -> usize {
    let cfg = RunConfig {
        run_id: "bench".into(),
        operator: "bench".into(),
        ..RunConfig::default()
    };
    let mut core = Core::new(plan, cfg);
    let now = Timestamp(0);
    let mut pending: Vec<(usize, u32)> = Vec::new();
    let mut fx = core.start(now);
    let mut persisted = 0;
    loop {
        for e in fx.drain(..) {
            match e {
                Effect::Spawn(s) => pending.push((s.step, s.attempt)),
                Effect::Persist(_) => persisted += 1,
                _ => {}
            }
        }
        let Some((step, attempt)) = pending.pop() else {
            break;
        };
        fx = core.handle(
            Input::StepExited(StepExit {
                step,
                attempt,
                outcome: StepOutcome::Exited { exit_code: 0 },
                duration_ms: 0,
                outputs: vec![],
                usage: Usage::default(),
                stderr_tail: String::new(),
            }),
            now,
        );
    }
    assert!(core.is_finished());
    persisted
}

fn bench(c: &mut Criterion) {
    let plan = noop_plan(10_000);
    c.bench_function("core_10k_noop", |b| b.iter(|| run(plan.clone())));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
