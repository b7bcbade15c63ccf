//! Peak memory (max RSS, from `wait4`) of the real binary on a 100,000-step workflow of
//! `builtin.noop` steps (100 layers of 1,000; each step needs two of the layer before):
//! `baton validate` (loading alone) and `baton run --headless` (load, engine, store, every
//! transition committed). Issue 79 point 4: a run stays under 150 MiB.
//!
//!   cargo bench --bench memory            (exits 1 when the run is over the target)
//!
//! The figures in docs/performance/memory.md ("Memory of a 100,000-step run") are this bench's:
//! it writes them between the markers there on every run, met or not.
//!
//! Not a criterion bench: one measurement of each is the figure, and it does not vary
//! with the machine's load as times do.

const LAYERS: usize = 100;
const WIDTH: usize = 1000;
const TARGET_MIB: f64 = 150.0;
/// Where the figures go (docs/performance/memory.md), between these two lines.
const BEGIN: &str = "<!-- benches/memory.rs writes from here -->";
const END: &str = "<!-- to here -->";

#[path = "support/noop_dag.rs"]
mod noop_dag;
use noop_dag::noop_dag;
#[path = "support/peak.rs"]
mod peak;
use peak::peak_mib;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too: only measure for
    // the former.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let text = noop_dag(LAYERS, WIDTH);
    std::fs::write(dir.path().join("noop.toml"), &text).expect("write");
    println!(
        "workflow: {} steps, {:.1} MB of TOML",
        LAYERS * WIDTH,
        text.len() as f64 / 1e6
    );
    let (code, validate) = peak_mib(dir.path(), &["validate", "noop.toml"]);
    assert_eq!(code, 0, "validate failed");
    println!("validate: peak RSS {validate:.1} MiB");
    let (code, run) = peak_mib(dir.path(), &["run", "noop.toml", "--headless"]);
    assert_eq!(code, 0, "run failed");
    let verdict = if run < TARGET_MIB { "met" } else { "NOT met" };
    println!("run --headless: peak RSS {run:.1} MiB (target < {TARGET_MIB} MiB: {verdict})");
    record(validate, run, verdict);
    if run >= TARGET_MIB {
        std::process::exit(1);
    }
}

/// Replace the figures in docs/performance/memory.md with this run's.
fn record(validate: f64, run: f64, verdict: &str) {
    let table = format!(
        "| {} steps of `builtin.noop` | peak RSS | target |\n|---|---|---|\n| `baton validate` | {validate:.1} MiB | |\n| `baton run --headless` (every transition committed) | **{run:.1} MiB** | < {TARGET_MIB} MiB: {verdict} |",
        LAYERS * WIDTH
    );
    peak::record("performance/memory.md", BEGIN, END, &table);
}
