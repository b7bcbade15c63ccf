//! `engine`'s per-step table (issue 47 point 4): what one step of `true` costs baton
//! and `make -j2` at 1,000, 10,000 and 100,000 steps, and at 1,000 steps with the
//! workflow file 100 times its size (6.7 MB, the size of the 100,000-step file), each
//! size in rounds of its own that alternate baton, 1,000-step baton runs (the
//! reference a step's cost is compared with, in the same round: the mean of
//! [`reference_runs`] runs) and make. A cost that grows with the run's length or with
//! the file's size shows as a ratio above 1 in the "less a one-step run" columns (wall
//! and CPU). The table goes into docs/performance/throughput.md between its markers.
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

const BEGIN: &str = "<!-- engine per-step table: written by `cargo bench --bench engine` -->";
const END: &str = "<!-- end of engine per-step table -->";

/// What one run took: its wall time and the CPU time of the program and of every
/// child it reaped (user + system). The CPU a step costs does not depend on how busy
/// the shared machine is the way its wall time does.
#[derive(Clone, Copy, Default)]
pub(crate) struct Timed {
    pub wall: Duration,
    pub cpu: Duration,
}

/// The mean of some runs' times.
pub(crate) fn mean(runs: impl Iterator<Item = Timed>) -> Timed {
    let (mut n, mut wall, mut cpu) = (0u32, Duration::ZERO, Duration::ZERO);
    for t in runs {
        n += 1;
        wall += t.wall;
        cpu += t.cpu;
    }
    Timed {
        wall: wall / n.max(1),
        cpu: cpu / n.max(1),
    }
}

/// How many times in a row a round runs the 1,000-step references beside a run of
/// `steps`: enough that they take about half as long as it (1 below 4,000 steps, 5 at
/// 10,000, 50 at 100,000). The shared machine has slow spells of some seconds (the same 10,000-step
/// run took 4.7 to 6.2 s in one minute): a minute-long run takes its share of them,
/// a half-second run mostly misses them, so a single reference run a round made a
/// long run's step look dearer than it is.
pub(crate) fn reference_runs(steps: usize) -> usize {
    (steps / 2_000).max(1)
}

/// `job` run `k` times in a row each round, timed as their mean: the references (the
/// 1,000-step file, its one-step file and its Makefile) beside a long run.
pub(crate) fn repeated(job: Job<'_>, k: usize) -> Job<'_> {
    let Job { run, rounds } = job;
    Job {
        run: Box::new(move || mean((0..k).map(|_| run()))),
        rounds,
    }
}

/// One thing timed in each round; `rounds`: in the first so many rounds only (a build
/// from before a fix may take minutes at 100,000 steps).
pub(crate) struct Job<'a> {
    pub run: Box<dyn Fn() -> Timed + 'a>,
    pub rounds: usize,
}

/// `n` rounds, each running every job once in turn: a slow spell of the shared machine
/// hits all of them alike. One list of times per job.
pub(crate) fn rounds(n: usize, what: &str, jobs: &[Job]) -> Vec<Vec<Timed>> {
    let mut out = vec![Vec::new(); jobs.len()];
    for r in 0..n {
        for (job, t) in jobs.iter().zip(&mut out) {
            if r < job.rounds {
                t.push((job.run)());
            }
        }
        eprintln!("  {what}: round {} of {n} done", r + 1);
    }
    out
}

/// One size measured: each list holds one time per round, in round order (a base's
/// only for the rounds it ran in, the first ones).
pub(crate) struct Row {
    pub what: String,
    pub steps: usize,
    pub file_bytes: usize,
    pub baton: Vec<Timed>,
    /// The 1,000-step workflow of ordinary size, in the same rounds: the mean of
    /// [`reference_runs`] runs in a row (and so for `one_ref` and `make_ref`).
    pub reference: Vec<Timed>,
    /// A one-step workflow as large as this row's file, and one as large as the
    /// reference's: what a run costs besides its steps, taken off in the "less a
    /// one-step run" columns.
    pub one: Vec<Timed>,
    pub one_ref: Vec<Timed>,
    pub make: Vec<Timed>,
    /// `make -j2` on the 1,000-step Makefile, in the same rounds: how make's own cost
    /// a step grows with the length of its run.
    pub make_ref: Vec<Timed>,
    /// Other builds of baton (`BATON_BENCH_BASE`), on the same workflow.
    pub bases: Vec<Vec<Timed>>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The rounds' own ratios as the table shows them: median (min–max).
fn spread(r: &[f64]) -> String {
    let (lo, hi) = r
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)));
    match r {
        [] => "–".into(),
        [one] => format!("{one:.2}"),
        _ => format!("**{:.2}** ({lo:.2}–{hi:.2})", median(r)),
    }
}

/// Per-round ratios of the wall times a[i] / b[i] (as many as both have).
fn ratios(a: &[Timed], b: &[Timed], scale: f64) -> String {
    let r: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| a.wall.as_secs_f64() / b.wall.as_secs_f64() * scale)
        .collect();
    spread(&r)
}

/// Per round, what a step costs here against a step of the reference, each run less
/// its one-step run's time (a step's own cost, without the run's start and end).
fn marginal(r: &Row, of: fn(&Timed) -> Duration) -> String {
    let per = |t: &Timed, one: &Timed, steps: usize| {
        (of(t).as_secs_f64() - of(one).as_secs_f64()) / (steps - 1) as f64
    };
    let v: Vec<f64> = (0..r.baton.len().min(r.reference.len()))
        .filter(|&i| i < r.one.len() && i < r.one_ref.len())
        .map(|i| per(&r.baton[i], &r.one[i], r.steps) / per(&r.reference[i], &r.one_ref[i], 1_000))
        .collect();
    spread(&v)
}

/// The median of `v`'s wall times per step, in ms.
fn per_step(v: &[Timed], steps: usize) -> String {
    if v.is_empty() {
        return "–".into();
    }
    let s: Vec<f64> = v.iter().map(|t| t.wall.as_secs_f64()).collect();
    format!("{:.3} ms", median(&s) * 1e3 / steps as f64)
}

fn size(bytes: usize) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.0} KB", bytes as f64 / 1e3)
    }
}

/// The table, markdown; `bases` names the other builds, if any.
pub(crate) fn table(rows: &[Row], bases: &[String]) -> String {
    let mut s = String::from(
        "| workflow | steps | file | rounds | baton per step | `make -j2` per step | baton / make | per step / (a)'s | the same, less a one-step run of each file | baton's CPU per step / (a)'s, less the one-step runs | `make -j2` per step / at 1,000 steps (whole runs) |",
    );
    let mut rule = String::from("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for b in bases {
        let _ = write!(s, " `{b}` per step | this / it |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(s, "\n{rule}");
    for r in rows {
        let _ = write!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.what,
            r.steps,
            size(r.file_bytes),
            r.baton.len(),
            per_step(&r.baton, r.steps),
            per_step(&r.make, r.steps),
            ratios(&r.baton, &r.make, 1.0),
            ratios(&r.baton, &r.reference, 1_000.0 / r.steps as f64),
            marginal(r, |t| t.wall),
            marginal(r, |t| t.cpu),
            ratios(&r.make, &r.make_ref, 1_000.0 / r.steps as f64),
        );
        for b in &r.bases {
            let _ = write!(
                s,
                " {} ({} rounds) | {} |",
                per_step(b, r.steps),
                b.len(),
                ratios(&r.baton, b, 1.0)
            );
        }
        s.push('\n');
    }
    s
}

/// Put `text` into docs/performance/throughput.md between the table's markers.
pub(crate) fn write_doc(text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/performance/throughput.md");
    let doc = std::fs::read_to_string(&path).expect("read docs/performance/throughput.md");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!(
            "docs/performance/throughput.md has lost the engine table's markers ({BEGIN} … {END})"
        );
    };
    let new = format!("{}{BEGIN}\n{text}{}", &doc[..b], &doc[e..]);
    std::fs::write(&path, new).expect("write docs/performance/throughput.md");
    eprintln!("wrote the per-step table into {}", path.display());
}
