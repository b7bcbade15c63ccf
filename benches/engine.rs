//! Engine benchmarks (docs/architecture.md "Performance budgets", issue 3 point 7), each against a baseline in the same run:
//! (a) a 1,000-step layered DAG of `true` with max_parallel 2 vs `make -j2` and `ninja -j2`
//!     on the same DAG, and vs the spawn floor (a bare loop spawning and reaping the same
//!     1,000 `true` from two threads, no bookkeeping at all), with each one's CPU time
//!     (children included); (a1) the same DAG one step at a time against `make -j1`,
//!     the per-step table (issue 47): the same shape 10, 100 and 1,000 layers deep
//!     (1,000, 10,000 and, with `BATON_BENCH_100K=<rounds>`, 100,000 steps) and the
//!     1,000 steps with a file 100 times its size, each against `make -j2`
//!     (`support/per_step.rs`; written into docs/performance/throughput.md),
//! (b) 10,000 `builtin.noop` steps through engine and store,
//! (c) 200 concurrent `sleep 1` steps with max_parallel 200, vs `make -j200` on the same,
//! (d) peak memory (max RSS) of (b).
//! Every run is a real `baton run --headless` with every transition committed.
use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/load.rs"]
mod load;
use load::load;
#[path = "support/per_step.rs"]
mod per_step;
use per_step::{Job, Row, rounds};

/// One generator for both formats, so baton and make run the same DAG: `layers` layers of
/// `width` nodes; each node of layer k needs nodes (i, i+1 mod width) of layer k-1.
fn layered(
    layers: usize,
    width: usize,
    cmd: Option<&str>,
    max_parallel: usize,
) -> (String, String, String) {
    let mut toml = format!("name = \"layered-{layers}x{width}\"\nmax_parallel = {max_parallel}\n");
    let id = |l: usize, i: usize| format!("s{l}_{i}");
    // As make users write it: the targets declared phony on one line (a `.PHONY:` line
    // per target makes make's own reading quadratic: `make -n` of 100,000 steps took
    // 138 s, against 3.6 s), each recipe the bare command.
    let all: Vec<String> = (0..layers)
        .flat_map(|l| (0..width).map(move |i| (l, i)))
        .map(|(l, i)| id(l, i))
        .collect();
    let mut make = format!(".PHONY: all {}\n", all.join(" "));
    let last: Vec<String> = (0..width).map(|i| id(layers - 1, i)).collect();
    let _ = writeln!(make, "all: {}", last.join(" "));
    // Each node is a build edge whose output file is never made, so ninja runs every
    // command on every run, like make's .PHONY targets.
    let mut ninja = format!("rule run\n  command = {}\n", cmd.unwrap_or("true"));
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
                "{}: {}\n\t{}\n",
                id(l, i),
                needs.join(" "),
                cmd.unwrap_or("true")
            );
            let _ = writeln!(ninja, "build {}: run {}", id(l, i), needs.join(" "));
        }
    }
    let _ = writeln!(ninja, "default {}", last.join(" "));
    (toml, make, ninja)
}

fn baton(dir: &Path, workflow: &str) -> Duration {
    baton_run(dir, workflow).wall
}

/// Other builds of baton to compare with in the same run (`BATON_BENCH_BASE=<binary>[:…]`,
/// e.g. copies of the binary before each change): their rounds alternate with the others.
fn base_binaries() -> Vec<std::path::PathBuf> {
    std::env::var_os("BATON_BENCH_BASE")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default()
}

/// What one run of a program cost.
#[derive(Clone, Copy)]
struct Measure {
    wall: Duration,
    /// User + system CPU of the program and of every child it reaped (wait4's rusage).
    cpu: Duration,
    /// Its own peak RSS, KiB.
    max_rss: i64,
}

/// Run baton headless to the end on a fresh store.
fn baton_run(dir: &Path, workflow: &str) -> Measure {
    run_binary(Path::new(env!("CARGO_BIN_EXE_baton")), dir, workflow)
}

fn run_binary(bin: &Path, dir: &Path, workflow: &str) -> Measure {
    let db = dir.join(format!("{}.db", ulid_like()));
    let mut cmd = Command::new(bin);
    cmd.args(["run", workflow, "--headless", "--db"]).arg(&db);
    measure(cmd, dir, &format!("baton on {workflow}"))
}

// The child is reaped by wait4, which also gives its rusage; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
fn measure(mut cmd: Command, dir: &Path, what: &str) -> Measure {
    let start = Instant::now();
    // `cargo bench` sets LD_LIBRARY_PATH to five directories of the build (one holds
    // thousands of files); every `true` that baton and make start would look for libc
    // in each of them first, as no user's does (docs/performance/throughput.md, "A step's
    // cost against the run's length and the file's size").
    let child = cmd
        .env_remove("LD_LIBRARY_PATH")
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the program");
    let mut status = 0;
    // SAFETY: wait4 on our own child, writing into locals.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as i32, &mut status, 0, &mut u);
        u
    };
    let wall = start.elapsed();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{what} failed: status {status}"
    );
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measure {
        wall,
        cpu: tv(u.ru_utime) + tv(u.ru_stime),
        max_rss: u.ru_maxrss,
    }
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
    make_with(dir, "Makefile", 2).wall
}

fn make_with(dir: &Path, makefile: &str, jobs: usize) -> Measure {
    let mut cmd = Command::new("make");
    cmd.args(["-s", &format!("-j{jobs}"), "-f", makefile]);
    measure(cmd, dir, &format!("make -j{jobs} -f {makefile}"))
}

fn ninja_j2(dir: &Path) -> Measure {
    let mut cmd = Command::new("ninja");
    cmd.args(["-j2", "-f", "build.ninja"]);
    measure(cmd, dir, "ninja -j2")
}

/// The floor: spawn and reap `true` 1,000 times from two threads (posix_spawn through
/// std, looked up in PATH once), layer by layer as the DAG allows at max_parallel 2.
fn spawn_floor(layers: usize, width: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..layers {
        std::thread::scope(|s| {
            for t in 0..2 {
                s.spawn(move || {
                    for _ in (t..width).step_by(2) {
                        let st = Command::new("/usr/bin/true")
                            .env_remove("LD_LIBRARY_PATH")
                            .status()
                            .expect("spawn true");
                        assert!(st.success());
                    }
                });
            }
        });
    }
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The workflows and their make and ninja twins the bench runs, written into `d`.
fn write_workflows(d: &Path) {
    let (toml, make, ninja) = layered(10, 100, Some("true"), 2);
    std::fs::write(d.join("dag.toml"), toml).expect("write");
    let (one_at_a_time, _, _) = layered(10, 100, Some("true"), 1);
    std::fs::write(d.join("dag1.toml"), one_at_a_time).expect("write");
    std::fs::write(d.join("Makefile"), make).expect("write");
    std::fs::write(d.join("build.ninja"), ninja).expect("write");
    // The per-step table: the same shape 100 and 1,000 layers deep, and (a)'s file
    // padded with comments to 100 times its size.
    let (big, big_make, _) = layered(100, 100, Some("true"), 2);
    std::fs::write(d.join("dag10k.toml"), big).expect("write");
    std::fs::write(d.join("Makefile10k"), big_make).expect("write");
    let (huge, huge_make, _) = layered(1000, 100, Some("true"), 2);
    std::fs::write(d.join("dag100k.toml"), huge).expect("write");
    std::fs::write(d.join("Makefile100k"), huge_make).expect("write");
    let one_k = toml_1k(d);
    let padded = pad_to(&one_k, one_k.len() * 100);
    std::fs::write(d.join("dag-x100.toml"), &padded).expect("write");
    let (noop, _, _) = layered(100, 100, None, 2);
    std::fs::write(d.join("noop.toml"), noop).expect("write");
    let mut sleeps = String::from("name = \"sleepers\"\nmax_parallel = 200\n");
    // The same 200 sleeps for `make -j200`, (c)'s baseline in the same run.
    let names: Vec<String> = (0..200).map(|i| format!("sleep{i}")).collect();
    let mut sleeps_make = format!(".PHONY: all {0}\nall: {0}\n", names.join(" "));
    for n in &names {
        let _ = write!(sleeps, "\n[[step]]\nid = \"{n}\"\nrun = \"sleep 1\"\n");
        let _ = write!(sleeps_make, "{n}:\n\tsleep 1\n");
    }
    std::fs::write(d.join("sleep.toml"), sleeps).expect("write");
    std::fs::write(d.join("Makefile.sleep"), sleeps_make).expect("write");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write_workflows(d);

    let pairs = std::env::var("BATON_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7usize)
        .max(5);
    // `BATON_BENCH_ONLY=per-step`: the per-step table alone (its 100,000-step rounds take
    // long enough that the rest of the bench is better left for another run).
    if std::env::var("BATON_BENCH_ONLY").is_ok_and(|v| v == "per-step") {
        let bases = base_binaries();
        per_step_table(&per_step_rows(d, pairs, &bases), &bases);
        return;
    }
    let mut g = c.benchmark_group("engine");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("a_make_j2_1000_true", |b| b.iter(|| make_j2(d)));
    g.bench_function("a_ninja_j2_1000_true", |b| b.iter(|| ninja_j2(d).wall));
    g.bench_function("a_baton_1000_true", |b| b.iter(|| baton(d, "dag.toml")));
    g.bench_function("b_baton_10000_noop", |b| b.iter(|| baton(d, "noop.toml")));
    g.finish();

    // One paired summary in the same run, as the issue asks: alternating rounds (baton,
    // make, ninja, floor), so a slow spell of the shared machine hits all of them;
    // ratios of the medians. BATON_BENCH_PAIRS sets the rounds (default 7, at least 5).
    let load_start = load();
    let (mut bt, mut mt, mut nt, mut ft) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut b1, mut m1) = (Vec::new(), Vec::new());
    let bases = base_binaries();
    let mut base_t = vec![Vec::new(); bases.len()];
    for _ in 0..pairs {
        for (bin, t) in bases.iter().zip(&mut base_t) {
            t.push(run_binary(bin, d, "dag.toml").wall);
        }
        bt.push(baton_run(d, "dag.toml"));
        mt.push(make_with(d, "Makefile", 2));
        nt.push(ninja_j2(d));
        ft.push(spawn_floor(10, 100));
        // The same DAG one step at a time: the engine then has a core of its own, so
        // what is left is its latency per step, not its share of the two cores.
        b1.push(baton_run(d, "dag1.toml").wall);
        m1.push(make_with(d, "Makefile", 1).wall);
    }
    let per_pair: Vec<f64> = bt
        .iter()
        .zip(&mt)
        .map(|(b, m)| b.wall.as_secs_f64() / m.wall.as_secs_f64())
        .collect();
    let walls = |v: &[Measure]| median(v.iter().map(|m| m.wall).collect());
    let cpus = |v: &[Measure]| median(v.iter().map(|m| m.cpu).collect());
    let (baton_t, make_t, ninja_t, floor_t) = (walls(&bt), walls(&mt), walls(&nt), median(ft));
    let (baton_cpu, make_cpu, ninja_cpu) = (cpus(&bt), cpus(&mt), cpus(&nt));
    let (baton1_t, make1_t) = (median(b1), median(m1));
    let rows = per_step_rows(d, pairs, &bases);
    let noop_t = median((0..5).map(|_| baton(d, "noop.toml")).collect());
    let rss = baton_run(d, "noop.toml").max_rss;
    // (c) against make -j200 on the same sleeps, alternating, median of 3 rounds: on a
    // machine where a process start is slow, make cannot meet 1.1 s either.
    let (mut st, mut smt) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        st.push(baton(d, "sleep.toml"));
        smt.push(make_with(d, "Makefile.sleep", 200).wall);
    }
    let (sleep_t, sleep_make_t) = (median(st), median(smt));
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "\nsummary (medians of {pairs} alternating rounds; (b) median of 5); load average {load_start} at the start, {} at the end:",
        load()
    );
    println!(
        "  (a) 1,000 x true, max_parallel 2: baton {baton_t:?}, make -j2 {make_t:?}, ninja -j2 {ninja_t:?}, spawn floor {floor_t:?}"
    );
    println!(
        "      ratio baton/make {:.2}, baton/ninja {:.2}, baton/floor {:.2}, make/floor {:.2}",
        ratio(baton_t, make_t),
        ratio(baton_t, ninja_t),
        ratio(baton_t, floor_t),
        ratio(make_t, floor_t)
    );
    let shown: Vec<String> = per_pair.iter().map(|r| format!("{r:.2}")).collect();
    println!("      baton/make per round: {}", shown.join(" "));
    // On two cores a run cannot take less than half its CPU time (children included).
    println!(
        "      CPU, children included: baton {baton_cpu:?}, make {make_cpu:?}, ninja {ninja_cpu:?}; baton's CPU / 2 is {:.2} x make's wall",
        ratio(baton_cpu, make_t) / 2.0
    );
    println!(
        "  (a1) the same DAG at max_parallel 1: baton {baton1_t:?}, make -j1 {make1_t:?}, ratio {:.2}",
        ratio(baton1_t, make1_t)
    );
    for (bin, t) in bases.iter().zip(base_t) {
        let b = median(t);
        println!(
            "      {}: {b:?}, its ratio to make {:.2}, to ninja {:.2}; this build / it {:.2}",
            bin.display(),
            ratio(b, make_t),
            ratio(b, ninja_t),
            ratio(baton_t, b)
        );
    }
    println!("  (b) 10,000 builtin.noop: {noop_t:?} (target < 0.5 s)");
    println!(
        "  (c) 200 x sleep 1, max_parallel 200: {sleep_t:?} (target 1.1 s), make -j200 {sleep_make_t:?}, ratio {:.2}",
        ratio(sleep_t, sleep_make_t)
    );
    println!(
        "  (d) peak RSS of (b): {:.1} MiB (target < 64 MiB)",
        rss as f64 / 1024.0
    );
    per_step_table(&rows, &bases);
}

/// Prints the per-step table and, in a real `cargo bench`, writes it into the doc.
fn per_step_table(rows: &[Row], bases: &[std::path::PathBuf]) {
    let names: Vec<String> = bases.iter().map(|b| b.display().to_string()).collect();
    let t = per_step::table(rows, &names);
    println!(
        "  per step of `true` (max_parallel 2; ratios: median (min–max) of the rounds' own); load average {} at the end:\n{t}",
        load()
    );
    // `cargo test --benches` runs this too: only a real `cargo bench` writes the doc.
    if std::env::args().any(|a| a == "--bench") {
        per_step::write_doc(&t);
    }
}

/// (a)'s workflow as written in `d`.
fn toml_1k(d: &Path) -> String {
    std::fs::read_to_string(d.join("dag.toml")).expect("read dag.toml")
}

/// `toml` with comment lines appended until it is `bytes` long: a file that large for
/// the same steps (a workflow's own documentation, say).
fn pad_to(toml: &str, bytes: usize) -> String {
    let mut s = toml.to_string();
    let line = format!("# {}\n", "padding ".repeat(9));
    while s.len() < bytes {
        s.push_str(&line);
    }
    s
}

/// A one-step workflow of `true` padded to the size of `file` (in `d`), written beside
/// it as `one-<file>`: what a run of that file costs besides its steps (the process,
/// reading, checking and storing the file, the store's first and last commits).
fn one_step_like(d: &Path, file: &str) -> String {
    let one = format!("one-{file}");
    let size = std::fs::metadata(d.join(file)).map_or(0, |m| m.len() as usize);
    let text = pad_to(
        "name = \"one\"\nmax_parallel = 2\n\n[[step]]\nid = \"s0_0\"\nrun = \"true\"\n",
        size,
    );
    std::fs::write(d.join(&one), text).expect("write");
    one
}

/// The per-step table's rows (see `support/per_step.rs`): 1,000 steps and the same
/// file 100 times the size in `pairs` rounds; 10,000 steps in 5; 100,000 steps in
/// `BATON_BENCH_100K` rounds (none unless set: a round takes two minutes or more),
/// without the other builds of `bases`.
fn per_step_rows(d: &Path, pairs: usize, bases: &[std::path::PathBuf]) -> Vec<Row> {
    let bytes = |f: &str| std::fs::metadata(d.join(f)).map_or(0, |m| m.len() as usize);
    let timed = |m: Measure| per_step::Timed {
        wall: m.wall,
        cpu: m.cpu,
    };
    let job = |f: String, rounds: usize| Job {
        run: Box::new(move || timed(baton_run(d, &f))),
        rounds,
    };
    let base_jobs = |f: &'static str, rounds: usize| -> Vec<Job> {
        bases
            .iter()
            .map(|b| Job {
                run: Box::new(move || timed(run_binary(b, d, f))),
                rounds,
            })
            .collect()
    };
    let make = |m: &'static str, rounds: usize| Job {
        run: Box::new(move || timed(make_with(d, m, 2))),
        rounds,
    };
    let mut sizes: Vec<(&str, usize, &str, &str, usize, usize)> = vec![
        ("(a)", 1_000, "dag.toml", "Makefile", pairs, pairs),
        (
            "(a) × 100 file",
            1_000,
            "dag-x100.toml",
            "Makefile",
            pairs,
            pairs,
        ),
        ("(a10k)", 10_000, "dag10k.toml", "Makefile10k", 5, 5),
    ];
    let rounds_100k: usize = std::env::var("BATON_BENCH_100K")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if rounds_100k > 0 {
        // No other build there: one from before issue 47's fix took five minutes a run.
        sizes.push((
            "(a100k)",
            100_000,
            "dag100k.toml",
            "Makefile100k",
            rounds_100k,
            0,
        ));
    }
    let mut rows = Vec::new();
    let one_ref = one_step_like(d, "dag.toml");
    for (what, steps, file, makefile, n, base_n) in sizes {
        // Each round: the bases, baton on the file and on a one-step file as large,
        // the 1,000-step reference and its one-step file, make on this size and on
        // the reference's.
        let mut jobs = base_jobs(file, base_n);
        let k = per_step::reference_runs(steps);
        jobs.push(job(file.into(), n));
        jobs.push(job(one_step_like(d, file), n));
        jobs.push(per_step::repeated(job("dag.toml".into(), n), k));
        jobs.push(per_step::repeated(job(one_ref.clone(), n), k));
        jobs.push(make(makefile, n));
        jobs.push(per_step::repeated(make("Makefile", n), k));
        let mut t = rounds(n, what, &jobs);
        let mut last = || t.pop().unwrap_or_default();
        let (make_ref, make_t, one_ref_t, reference) = (last(), last(), last(), last());
        let (one_t, baton_t) = (last(), last());
        rows.push(Row {
            what: what.into(),
            steps,
            file_bytes: bytes(file),
            baton: baton_t,
            reference,
            one: one_t,
            one_ref: one_ref_t,
            make: make_t,
            make_ref,
            bases: t,
        });
    }
    rows
}

criterion_group!(benches, bench);
criterion_main!(benches);
