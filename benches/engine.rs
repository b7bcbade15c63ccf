//! Engine benchmarks (DESIGN §8, issue 3 point 7), each against a baseline in the same run:
//! (a) a 1,000-step layered DAG of `true` with max_parallel 2 vs `make -j2` on the same DAG,
//! (b) 10,000 `builtin.noop` steps through engine and store,
//! (c) 200 concurrent `sleep 1` steps with max_parallel 200,
//! (d) peak memory (max RSS) of (b).
//! Every run is a real `baton run --headless` with every transition committed.
use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One generator for both formats, so baton and make run the same DAG: `layers` layers of
/// `width` nodes; each node of layer k needs nodes (i, i+1 mod width) of layer k-1.
fn layered(
    layers: usize,
    width: usize,
    cmd: Option<&str>,
    max_parallel: usize,
) -> (String, String) {
    let mut toml = format!("name = \"layered-{layers}x{width}\"\nmax_parallel = {max_parallel}\n");
    let mut make = String::from(".PHONY: all\n");
    let id = |l: usize, i: usize| format!("s{l}_{i}");
    let last: Vec<String> = (0..width).map(|i| id(layers - 1, i)).collect();
    let _ = writeln!(make, "all: {}", last.join(" "));
    for l in 0..layers {
        for i in 0..width {
            let needs: Vec<String> = if l == 0 {
                vec![]
            } else {
                vec![id(l - 1, i), id(l - 1, (i + 1) % width)]
            };
            let _ = write!(toml, "\n[[step]]\nid = \"{}\"\n", id(l, i));
            match cmd {
                Some(c) => {
                    let _ = writeln!(toml, "run = \"{c}\"");
                }
                None => {
                    let _ = writeln!(toml, "uses = \"builtin.noop\"");
                }
            }
            if !needs.is_empty() {
                let quoted: Vec<String> = needs.iter().map(|n| format!("\"{n}\"")).collect();
                let _ = writeln!(toml, "needs = [{}]", quoted.join(", "));
            }
            let _ = write!(
                make,
                ".PHONY: {0}\n{0}: {1}\n\t@{2}\n",
                id(l, i),
                needs.join(" "),
                cmd.unwrap_or("true")
            );
        }
    }
    (toml, make)
}

fn baton(dir: &Path, workflow: &str) -> Duration {
    baton_rss(dir, workflow).0
}

/// Run baton headless to the end; its wall time and its own max RSS in KiB (wait4).
// The child is reaped by wait4, which also gives its rusage; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
fn baton_rss(dir: &Path, workflow: &str) -> (Duration, i64) {
    let db = dir.join(format!("{}.db", ulid_like()));
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["run", workflow, "--headless", "--db"])
        .arg(&db)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run baton");
    let mut status = 0;
    // SAFETY: wait4 on our own child, writing into locals.
    let rss = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as i32, &mut status, 0, &mut u);
        u.ru_maxrss
    };
    let took = start.elapsed();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "baton failed on {workflow}: status {status}"
    );
    (took, rss)
}

fn ulid_like() -> String {
    format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    )
}

fn make_j2(dir: &Path) -> Duration {
    let start = Instant::now();
    let out = Command::new("make")
        .args(["-s", "-j2", "-f", "Makefile"])
        .current_dir(dir)
        .output()
        .expect("run make");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "make failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (toml, make) = layered(10, 100, Some("true"), 2);
    std::fs::write(d.join("dag.toml"), toml).expect("write");
    std::fs::write(d.join("Makefile"), make).expect("write");
    let (noop, _) = layered(100, 100, None, 2);
    std::fs::write(d.join("noop.toml"), noop).expect("write");
    let mut sleeps = String::from("name = \"sleepers\"\nmax_parallel = 200\n");
    for i in 0..200 {
        let _ = write!(sleeps, "\n[[step]]\nid = \"sleep{i}\"\nrun = \"sleep 1\"\n");
    }
    std::fs::write(d.join("sleep.toml"), sleeps).expect("write");

    let mut g = c.benchmark_group("engine");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("a_make_j2_1000_true", |b| b.iter(|| make_j2(d)));
    g.bench_function("a_baton_1000_true", |b| b.iter(|| baton(d, "dag.toml")));
    g.bench_function("b_baton_10000_noop", |b| b.iter(|| baton(d, "noop.toml")));
    g.finish();

    // One paired summary in the same run, as the issue asks: ratio of medians.
    let make_t = median((0..5).map(|_| make_j2(d)).collect());
    let baton_t = median((0..5).map(|_| baton(d, "dag.toml")).collect());
    let noop_t = median((0..5).map(|_| baton(d, "noop.toml")).collect());
    let (_, rss) = baton_rss(d, "noop.toml");
    let sleep_t = baton(d, "sleep.toml");
    println!("\nsummary (median of 5):");
    println!(
        "  (a) 1,000 x true, max_parallel 2: baton {baton_t:?} vs make -j2 {make_t:?}: ratio {:.2}",
        baton_t.as_secs_f64() / make_t.as_secs_f64()
    );
    println!("  (b) 10,000 builtin.noop: {noop_t:?} (target < 0.5 s)");
    println!("  (c) 200 x sleep 1, max_parallel 200: {sleep_t:?} (ideal ~1 s)");
    println!(
        "  (d) peak RSS of (b): {:.1} MiB (target < 64 MiB)",
        rss as f64 / 1024.0
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
