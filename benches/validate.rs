//! Validating a generated 10,000-step workflow (100 layers × 100 steps, each step
//! needing 2 of the previous layer and reading an output of one of them).
use baton::workflow::load_str;
use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write;
use std::hint::black_box;
use std::path::Path;

fn workflow(layers: usize, width: usize) -> String {
    let mut s = String::from("name = \"big\"\n");
    for l in 0..layers {
        for i in 0..width {
            let _ = writeln!(s, "[[step]]\nid = \"l{l}-n{i}\"");
            if l > 0 {
                let _ = writeln!(
                    s,
                    "needs = [\"l{p}-n{i}\", \"l{p}-n{j}\"]\nenv = {{ V = \"${{{{ steps.l{p}-n{i}.outputs.v }}}}\" }}",
                    p = l - 1,
                    j = (i + 1) % width
                );
            }
            s.push_str("run = \"true\"\n");
        }
    }
    s
}

fn bench(c: &mut Criterion) {
    let src = workflow(100, 100);
    let plan = load_str(&src, Path::new("big.toml")).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(plan.steps.len(), 10_000);
    let mut group = c.benchmark_group("validate");
    group.sample_size(10);
    group.bench_function("10k_steps", |b| {
        b.iter(|| load_str(black_box(&src), Path::new("big.toml")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
