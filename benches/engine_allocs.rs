//! What one step of `true` costs the engine's own thread, counted rather than timed
//! (issue 47 point 2): heap allocations and CPU time of the thread that drives the run
//! (`baton run --headless` drives it on the main thread), per step, at 1,000, 10,000
//! and (with `BATON_ALLOCS_100K=1`) 100,000 steps. Allocations do not depend on the
//! machine's load, so a cost that grows with the run's length shows here on a shared
//! machine where wall times scatter.
//!
//! The binary is its own subject: run with `BATON_ALLOCS_CHILD=1` it is `baton` (its
//! CLI in this process) with a counting allocator on the main thread, and prints what
//! it counted. `BATON_ALLOCS_BASE=<binary>[:…]`: other builds of this bench (copies of
//! it from before a change), run in alternation on the same workflows, so a change's
//! effect reads off one run.
//!
//! `cargo bench --bench engine_allocs`
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/load.rs"]
mod load;

/// `System`, counting the calls made on threads that asked to be counted.
struct Counting;

thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn count(size: usize) {
    // `try_with`: a thread being torn down has no locals left.
    let _ = COUNTED.try_with(|c| {
        if c.get() {
            let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
            let _ = BYTES.try_with(|b| b.set(b.get() + size as u64));
        }
    });
}

// SAFETY: every call is passed to `System` unchanged; counting touches only
// thread-locals with const initialisers (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// CPU time this thread used, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    // SAFETY: clock_gettime writes into a local.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        ts
    };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

const REPORT: &str = "BATON_ALLOCS";

/// As `baton`: the CLI on this thread, counted; prints `BATON_ALLOCS allocs bytes cpu_ns`.
fn child() -> i32 {
    COUNTED.with(|c| c.set(true));
    let cpu = thread_cpu_ns();
    let code = baton::cli::main();
    let cpu = thread_cpu_ns() - cpu;
    COUNTED.with(|c| c.set(false));
    let (a, b) = (ALLOCS.with(Cell::get), BYTES.with(Cell::get));
    eprintln!("{REPORT} {a} {b} {cpu}");
    code
}

/// `layers` layers of 100 steps of `true`, each needing two of the layer before (the
/// engine bench's DAG), max_parallel 2.
fn layered(layers: usize) -> String {
    let width = 100;
    let mut toml = format!("name = \"allocs-{layers}\"\nmax_parallel = 2\n");
    for l in 0..layers {
        for i in 0..width {
            let _ = write!(toml, "\n[[step]]\nid = \"s{l}_{i}\"\nrun = \"true\"\n");
            if l > 0 {
                let _ = writeln!(
                    toml,
                    "needs = [\"s{}_{i}\", \"s{}_{}\"]",
                    l - 1,
                    l - 1,
                    (i + 1) % width
                );
            }
        }
    }
    toml
}

/// (allocations, bytes, engine-thread CPU ns) of one run of `bin` on `workflow`.
fn run(bin: &Path, dir: &Path, workflow: &Path, n: usize) -> (u64, u64, u64) {
    let db = dir.join(format!("r{n}-{}.db", std::process::id()));
    let out = Command::new(bin)
        .env("BATON_ALLOCS_CHILD", "1")
        .args(["run"])
        .arg(workflow)
        .args(["--headless", "--db"])
        .arg(&db)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .output()
        .expect("start the bench as baton");
    let _ = std::fs::remove_file(&db);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run failed: {err}");
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix(REPORT))
        .expect("the child's report");
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|x| x.parse().expect("a number"))
        .collect();
    (v[0], v[1], v[2])
}

fn main() {
    if std::env::var_os("BATON_ALLOCS_CHILD").is_some() {
        std::process::exit(child());
    }
    let me = std::env::current_exe().expect("this binary");
    let mut bins: Vec<(String, PathBuf)> = vec![("this build".into(), me)];
    if let Some(v) = std::env::var_os("BATON_ALLOCS_BASE") {
        for p in std::env::split_paths(&v) {
            bins.push((p.display().to_string(), p));
        }
    }
    let rounds: usize = std::env::var("BATON_ALLOCS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut sizes = vec![10, 100];
    if std::env::var_os("BATON_ALLOCS_100K").is_some() {
        sizes.push(1000);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    println!("load before: {}", load::load());
    println!("| build | steps | allocs/step | KiB/step | engine CPU µs/step (min of {rounds}) |");
    println!("|---|---|---|---|---|");
    for layers in sizes {
        let n = layers * 100;
        let wf = dir.path().join(format!("dag{n}.toml"));
        std::fs::write(&wf, layered(layers)).expect("write the workflow");
        // Rounds alternate the builds; the least CPU of a build's rounds is its cost
        // with the least interference.
        let mut best: Vec<Option<(u64, u64, u64)>> = vec![None; bins.len()];
        for _ in 0..rounds {
            for (i, (_, bin)) in bins.iter().enumerate() {
                let r = run(bin, dir.path(), &wf, n);
                best[i] = Some(match best[i] {
                    Some(b) if b.2 <= r.2 => b,
                    _ => r,
                });
            }
        }
        for ((name, _), b) in bins.iter().zip(best) {
            let (a, bytes, cpu) = b.unwrap_or_default();
            let per = |x: u64| x as f64 / n as f64;
            println!(
                "| {name} | {n} | {:.1} | {:.2} | {:.1} |",
                per(a),
                per(bytes) / 1024.0,
                per(cpu) / 1000.0
            );
        }
    }
    println!("load after: {}", load::load());
}
