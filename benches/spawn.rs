//! Spawn + wait of `true` through baton's shell executor (own process group, piped and
//! masked output, BATON_OUTPUT/BATON_USAGE in the run's private directory, a log created
//! on first output) against a bare `std::process::Command::new("true")`.
use baton::exec::{ShellJob, spawn};
use baton::model::mask::Masker;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench_spawn(c: &mut Criterion) {
    // As the engine runs it: the binary's current-thread runtime, one shared files
    // directory per run.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let logs = tempfile::tempdir().expect("temp dir");
    let files = baton::exec::FilesDir::create("bench").expect("files dir");
    let mut attempt = 0u32;
    let mut group = c.benchmark_group("spawn_true");
    group.bench_function("baton_exec", |b| {
        b.iter(|| {
            attempt += 1;
            let job = ShellJob {
                run_id: "bench".into(),
                step_id: "true".into(),
                attempt,
                command: "true".into(),
                dir: std::env::temp_dir(),
                env: vec![("BATON_STEP_ID".into(), "true".into())],
                local_env: Vec::new(),
                withheld: Vec::new(),
                log_dir: logs.path().to_path_buf(),
                masker: Masker::default(),
                files_dir: Some(files.clone()),
                start_here: true,
            };
            rt.block_on(async { spawn(job).await.expect("spawn").wait().await })
        })
    });
    group.bench_function("std_command", |b| {
        b.iter(|| std::process::Command::new("true").status().expect("true"))
    });
    group.finish();
}

criterion_group!(benches, bench_spawn);
criterion_main!(benches);
