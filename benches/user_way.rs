//! Baton as a user runs it, against `make -j2` and `ninja -j2` on the same DAG (issue 62
//! point 1). It builds nothing: it runs the release `baton` (the one `cargo bench` built,
//! or `BATON_BENCH_BIN`) with no variable of cargo's, only `PATH` and a `HOME` of its own
//! on this machine's disk (`BATON_BENCH_ROOT`, default /var/tmp), so that the store is at
//! its default place (`$HOME/.local/state/baton/baton.db`), one store for the whole bench
//! as a user's, and the runs' files where baton puts them with no `TMPDIR`.
//!
//! Shapes (`BATON_BENCH_SHAPES`, default `layered,chain`): the layered DAG (N steps of
//! `true` in 10 layers, each node after the first layer needing 2 random nodes of the
//! layer before, seed 42, `max_parallel = 2`) at 1,000, 10,000 and 100,000 steps, and a
//! deep chain of N steps at 1,000 and 10,000 (make and ninja overflow their stacks on a
//! 100,000-deep one). Each size runs in pairs (`BATON_BENCH_PAIRS_1K`, default 9;
//! `_10K`, default 3; `_100K`, default 1, 0 to leave it out), each pair one run of each
//! program, their order turning from pair to pair, after one unmeasured warm-up of
//! each at 1,000 steps. `BATON_BENCH_BASE=<another baton>` adds that build to every
//! pair (a fourth program; its own store), for a change measured against the build
//! before it. Every pair also runs the minimal durable executor of issue 62
//! (`support/min_durable.rs`: this bench's own executable, two SQLite WAL rows a step,
//! each committed before its effect, `true` at -j2), the reference baton's durable
//! work is set against. It prints each pair, then the medians and their ratios with the
//! machine's load and the store's file system, and writes the table into
//! docs/performance/throughput.md ("Baton as a user runs it").
use std::path::{Path, PathBuf};
use std::time::Duration;

#[path = "support/load.rs"]
mod load;
#[path = "support/min_durable.rs"]
mod min_durable;
#[path = "support/min_promises.rs"]
mod min_promises;
#[path = "support/peak.rs"]
#[allow(dead_code)]
mod peak;
#[path = "support/start.rs"]
mod start;
#[path = "support/user_dag.rs"]
mod user_dag;
#[path = "support/user_run.rs"]
mod user_run;
use user_run::Cost;

const BEGIN: &str = "<!-- benches/user_way.rs writes from here -->";
const END: &str = "<!-- benches/user_way.rs: to here -->";
/// The short table's markers in docs/performance.md (issue 79 point 5).
const SHORT_BEGIN: &str = "<!-- benches/user_way.rs writes its summary from here -->";
const SHORT_END: &str = "<!-- benches/user_way.rs: its summary to here -->";
const PROGRAMS: [&str; 6] = [
    "baton",
    "make -j2",
    "ninja -j2",
    "base baton",
    "min durable",
    "min durable + promises",
];

/// One shape at one size, measured.
struct Row {
    shape: &'static str,
    steps: usize,
    /// Per program (PROGRAMS' order), each pair's cost (none for a base not given).
    costs: [Vec<Cost>; 6],
    load: String,
}

fn pairs_for(steps: usize) -> usize {
    let (var, default) = match steps {
        1_000 => ("BATON_BENCH_PAIRS_1K", 9),
        10_000 => ("BATON_BENCH_PAIRS_10K", 3),
        _ => ("BATON_BENCH_PAIRS_100K", 1),
    };
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn base_bin() -> Option<PathBuf> {
    std::env::var_os("BATON_BENCH_BASE").map(PathBuf::from)
}

/// The programs each pair runs (PROGRAMS' indices): baton, make, ninja, the base if
/// given, the minimal durable executor, and it with baton's promises.
fn programs() -> Vec<usize> {
    let mut p = vec![0, 1, 2];
    if base_bin().is_some() {
        p.push(3);
    }
    p.extend([4, 5]);
    p
}

fn baton_bin() -> PathBuf {
    std::env::var_os("BATON_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_baton")))
}

/// Write the three files of `shape` at `steps` into `dir`.
fn write_files(dir: &Path, shape: &str, steps: usize) {
    let needs = match shape {
        "chain" => user_dag::chain(steps),
        _ => user_dag::layered(steps, 10, 42),
    };
    let name = format!("{shape}-{steps}");
    let files = [
        ("dag.toml", user_dag::toml(&name, &needs, "true", 2)),
        ("Makefile", user_dag::makefile(&needs, "true")),
        ("build.ninja", user_dag::ninja(&needs, "true")),
    ];
    for (file, text) in files {
        std::fs::write(dir.join(file), text).expect("write the DAG's files");
    }
    min_durable::write_needs(dir, &needs);
}

/// One run of program `p` (PROGRAMS' index) on the files in `dir`.
fn run_one(p: usize, dir: &Path, home: &Path) -> Cost {
    let run = ["run", "dag.toml", "--headless"];
    match (p, base_bin()) {
        (0, _) => user_run::run(&baton_bin(), &run, dir, home),
        (1, _) => user_run::run(
            Path::new("make"),
            &["-s", "-j2", "-f", "Makefile"],
            dir,
            home,
        ),
        (3, Some(base)) => user_run::run(&base, &run, dir, &home.with_extension("base")),
        (4, _) => {
            let me = std::env::current_exe().expect("the bench's own path");
            user_run::run(&me, &["--min-durable", "dag.needs"], dir, home)
        }
        (5, _) => {
            let me = std::env::current_exe().expect("the bench's own path");
            user_run::run(&me, &["--min-promises", "dag.needs"], dir, home)
        }
        _ => user_run::run(Path::new("ninja"), &["-j2", "-f", "build.ninja"], dir, home),
    }
}

fn measure(shape: &'static str, steps: usize, root: &Path, home: &Path) -> Option<Row> {
    let pairs = pairs_for(steps);
    if pairs == 0 {
        return None;
    }
    let dir = root.join(format!("{shape}-{steps}"));
    std::fs::create_dir_all(&dir).expect("make the DAG's directory");
    write_files(&dir, shape, steps);
    let list = programs();
    let n = list.len();
    if steps <= 1_000 {
        for &p in &list {
            run_one(p, &dir, home);
        }
    }
    let mut costs: [Vec<Cost>; 6] = Default::default();
    for pair in 0..pairs {
        for k in 0..n {
            let p = list[(pair + k) % n];
            costs[p].push(run_one(p, &dir, home));
        }
        let walls: Vec<String> = list
            .iter()
            .map(|&p| format!("{} {:.3} s", PROGRAMS[p], costs[p][pair].wall.as_secs_f64()))
            .collect();
        println!(
            "  {shape} {steps}, pair {}: {} (load {})",
            pair + 1,
            walls.join(", "),
            load::load()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Some(Row {
        shape,
        steps,
        costs,
        load: load::load(),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn secs(costs: &[Cost], f: fn(&Cost) -> Duration) -> f64 {
    median(costs.iter().map(|c| f(c).as_secs_f64()).collect())
}

/// baton's wall over program `p`'s, pair by pair: the median and the range.
fn pair_ratios(row: &Row, p: usize) -> (f64, f64, f64) {
    let r: Vec<f64> = row.costs[0]
        .iter()
        .zip(&row.costs[p])
        .map(|(b, o)| b.wall.as_secs_f64() / o.wall.as_secs_f64())
        .collect();
    let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = r.iter().copied().fold(0.0, f64::max);
    (median(r), lo, hi)
}

fn table_line(row: &Row) -> String {
    let us = |s: f64| s * 1e6 / row.steps as f64;
    let wall = |p: usize| secs(&row.costs[p], |c| c.wall);
    let main = |p: usize| secs(&row.costs[p], |c| c.main_thread);
    let cpu = |p: usize| secs(&row.costs[p], |c| c.cpu);
    let own = |p: usize| secs(&row.costs[p], |c| c.own);
    let (rm, rm_lo, rm_hi) = pair_ratios(row, 1);
    let (rn, rn_lo, rn_hi) = pair_ratios(row, 2);
    let (rd, rd_lo, rd_hi) = pair_ratios(row, 4);
    let min = format!(
        " {:.3} s | {:.2} ({:.2}–{:.2}) | {:.0} / {:.0} / {:.0} µs | {:.0} µs ({:.2} ×) |",
        wall(4),
        rd,
        rd_lo,
        rd_hi,
        us(main(4)),
        us(own(4)),
        us(cpu(4)),
        us(own(0)),
        own(0) / own(4)
    );
    let (rp, rp_lo, rp_hi) = pair_ratios(row, 5);
    let promises = format!(
        " {:.3} s | {:.2} ({:.2}–{:.2}) | {:.0} µs |",
        wall(5),
        rp,
        rp_lo,
        rp_hi,
        us(own(5))
    );
    let base = if row.costs[3].is_empty() {
        String::new()
    } else {
        let (rb, rb_lo, rb_hi) = pair_ratios(row, 3);
        format!(
            " {:.2} ({:.2}–{:.2}); its engine {:.0} µs a step |",
            rb,
            rb_lo,
            rb_hi,
            us(main(3))
        )
    };
    format!(
        "| {} | {} | {} | {:.3} s | {:.3} s | {:.3} s | **{:.2}** ({:.2}–{:.2}) | **{:.2}** ({:.2}–{:.2}) | {:.0} / {:.0} / {:.0} µs | {:.0} / {:.0} / {:.0} µs | {} |{min}{promises}{base}",
        row.shape,
        row.steps,
        row.costs[0].len(),
        wall(0),
        wall(1),
        wall(2),
        rm,
        rm_lo,
        rm_hi,
        rn,
        rn_lo,
        rn_hi,
        us(main(0)),
        us(main(1)),
        us(main(2)),
        us(cpu(0)),
        us(cpu(1)),
        us(cpu(2)),
        row.load
    )
}

fn table(rows: &[Row], fs: &str, load_start: &str) -> String {
    let (base, rule) = match base_bin() {
        Some(b) => (format!(" baton / {} |", b.display()), "---:|"),
        None => (String::new(), ""),
    };
    let mut t = format!(
        "The store: {fs}. Load (1, 5, 15 min) at the start: {load_start}; each row's at its end.\n\n\
         | shape | steps | pairs | baton | `make -j2` | `ninja -j2` | baton / make (pairs' median, range) | baton / ninja | main thread's CPU a step: baton (its engine) / make / ninja | CPU a step, children included: baton / make / ninja | load | min durable | baton / min durable | min durable's CPU a step: main / all its threads / with children | baton's CPU a step, all its threads without children (/ min durable's) | min durable + promises | baton / min durable + promises | its CPU a step, all its threads |{base}\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|{rule}\n"
    );
    for row in rows {
        t.push_str(&table_line(row));
        t.push('\n');
    }
    t.pop();
    t
}

/// The short current table docs/performance.md shows: each program's median wall,
/// baton's ratios to the others (the pairs' medians), the engine thread's CPU a step,
/// the pairs, the load and the file system; the per-µs account is behind its link.
fn short_table(rows: &[Row], fs: &str) -> String {
    let mut t = String::from(
        "| shape | steps | pairs | baton | min durable | `ninja -j2` | `make -j2` | baton / min durable | baton / ninja | baton / make | baton's engine thread, CPU a step | all baton's threads / min durable's, CPU a step | min durable + promises | baton / it | load at the end |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for row in rows {
        let wall = |p: usize| secs(&row.costs[p], |c| c.wall);
        let ratio = |p: usize| pair_ratios(row, p).0;
        let engine = secs(&row.costs[0], |c| c.main_thread) * 1e6 / row.steps as f64;
        let own = |p: usize| secs(&row.costs[p], |c| c.own) * 1e6 / row.steps as f64;
        let threads = format!(
            "{:.0} / {:.0} µs ({:.2} ×)",
            own(0),
            own(4),
            own(0) / own(4)
        );
        t.push_str(&format!(
            "| {} | {} | {} | {:.3} s | {:.3} s | {:.3} s | {:.3} s | **{:.2}** | {:.2} | {:.2} | {engine:.0} µs | {threads} | {:.3} s | {:.2} | {} |\n",
            row.shape,
            row.steps,
            row.costs[0].len(),
            wall(0),
            wall(4),
            wall(2),
            wall(1),
            ratio(4),
            ratio(2),
            ratio(1),
            wall(5),
            ratio(5),
            row.load
        ));
    }
    t.push_str(&format!("\nThe store: {fs}."));
    t
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--min-durable") {
        let needs = args.get(at + 1).expect("--min-durable NEEDS_FILE");
        min_durable::run(Path::new(needs), 2);
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--min-promises") {
        let needs = args.get(at + 1).expect("--min-promises NEEDS_FILE");
        min_promises::run(Path::new(needs), 2);
        return;
    }
    // `cargo test --benches` runs benches without `--bench`: nothing to measure then.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let root_base = std::env::var_os("BATON_BENCH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp"));
    let root = tempfile::Builder::new()
        .prefix("baton-user-way-")
        .tempdir_in(&root_base)
        .expect("a directory for the bench under BATON_BENCH_ROOT");
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).expect("make the bench's HOME");
    let fs = user_run::file_system(&home);
    let load_start = load::load();
    let shapes = std::env::var("BATON_BENCH_SHAPES").unwrap_or_else(|_| "layered,chain".into());
    println!(
        "baton as a user runs it: {}; store under {} on {fs}; load {load_start}",
        baton_bin().display(),
        home.display()
    );
    let mut rows = Vec::new();
    for shape in ["layered", "chain"] {
        if !shapes.split(',').any(|s| s == shape) {
            continue;
        }
        for steps in [1_000, 10_000, 100_000] {
            // make and ninja walk a chain recursively: 100,000 deep, both overflow their
            // 8 MiB stacks (a segfault; with no stack limit make had not planned it
            // after a minute), so the chain stops at 10,000.
            if shape == "chain" && steps > 10_000 {
                continue;
            }
            rows.extend(measure(shape, steps, root.path(), &home));
        }
    }
    let t = table(&rows, &fs, &load_start);
    let short = short_table(&rows, &fs);
    println!("\n{t}\n\n{short}");
    if std::env::var_os("BATON_BENCH_NO_RECORD").is_none() {
        peak::record("performance/throughput.md", BEGIN, END, &t);
        peak::record("performance.md", SHORT_BEGIN, SHORT_END, &short);
    }
}
