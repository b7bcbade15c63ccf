//! Disk a run's logs take (issue 29 point 2): a 30-step workflow whose steps each write
//! a line to stdout and one to stderr, run headless by the real binary; the run's log
//! directory counted as `du` counts it (blocks allocated, the directory included) and
//! its files.
//!
//!   cargo bench --bench logdisk
//!   BATON_BASELINE=/path/to/an/older/baton cargo bench --bench logdisk
//!
//! With `BATON_BASELINE`, the same workflow is run by that binary too (a build of an
//! earlier commit), in the same bench run, and both are written (without it, the row of
//! the last run that had one stays). The figures in
//! docs/performance/history.md ("Disk a run's logs take") are this bench's: it writes them
//! between the markers there on every run.
//!
//! Not a criterion bench: the figure is a count, and it does not vary with the load.
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

const STEPS: usize = 30;
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/performance/history.md");
const BEGIN: &str = "<!-- benches/logdisk.rs writes from here -->";
const END: &str = "<!-- benches/logdisk.rs writes to here -->";
const BEFORE: &str = "before (a log and a `.times` sidecar per attempt)";

fn workflow() -> String {
    let mut toml = String::from("name = \"thirty\"\nmax_parallel = 4\n");
    for i in 0..STEPS {
        let _ = write!(
            toml,
            "\n[[step]]\nid = \"s{i}\"\nrun = \"echo step {i} built 12 files; echo warning: step {i} used a cached input >&2\"\n"
        );
        if i > 0 {
            let _ = writeln!(toml, "needs = [\"s{}\"]", i - 1);
        }
    }
    toml
}

/// What a run's log directory takes: (files, bytes allocated, bytes of text).
struct Disk {
    files: u64,
    allocated: u64,
    text: u64,
}

fn measure(dir: &Path) -> Disk {
    let mut d = Disk {
        files: 0,
        allocated: std::fs::metadata(dir).expect("log dir").blocks() * 512,
        text: 0,
    };
    for e in std::fs::read_dir(dir).expect("read log dir") {
        let m = e.expect("entry").metadata().expect("metadata");
        d.files += 1;
        d.allocated += m.blocks() * 512;
        d.text += m.len();
    }
    d
}

/// Run the workflow with `baton` in a fresh store; what its one run's logs take.
fn run_with(baton: &Path) -> Disk {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("w.toml"), workflow()).expect("write");
    let db = dir.path().join("state/bench.db");
    let status = Command::new(baton)
        .args(["run", "w.toml", "--headless"])
        .current_dir(dir.path())
        .env("BATON_DB", &db)
        .stdout(Stdio::null())
        .status()
        .expect("run baton");
    assert!(status.success(), "{} run failed", baton.display());
    let logs = db.parent().expect("state dir").join("logs");
    let mut runs = std::fs::read_dir(&logs)
        .expect("logs dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()));
    let run = runs.next().expect("the run's log directory");
    assert!(runs.next().is_none(), "one run");
    measure(&run.path())
}

fn row(what: &str, d: &Disk) -> String {
    format!(
        "| {what} | {} | {:.0} KiB | {:.1} KiB | {:.0} |\n",
        d.files,
        d.allocated as f64 / 1024.0,
        d.text as f64 / 1024.0,
        d.allocated as f64 / d.text.max(1) as f64
    )
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too: only measure
    // for the former.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let now = run_with(Path::new(env!("CARGO_BIN_EXE_baton")));
    let doc = std::fs::read_to_string(DOC).expect("read docs/performance/history.md");
    let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!(
            "docs/performance/history.md has lost the logdisk bench's markers ({BEGIN} … {END})"
        );
    };
    let mut table = format!(
        "{BEGIN}\n| a run of {STEPS} steps, each writing a line to stdout and one to stderr | files | on disk (`du`) | text | disk / text |\n|---|---|---|---|---|\n"
    );
    if let Some(old) = std::env::var_os("BATON_BASELINE") {
        let before = run_with(Path::new(&old));
        table += &row(BEFORE, &before);
        println!(
            "before: {} files, {} bytes on disk",
            before.files, before.allocated
        );
    } else if let Some(kept) = doc[a..b]
        .lines()
        .find(|l| l.starts_with(&format!("| {BEFORE} |")))
    {
        // Without a baseline this run measures only the present: the earlier run's
        // figure of the build before stays.
        table += kept;
        table.push('\n');
    }
    table += &row(
        "now (a log per attempt; its times on its row in the store)",
        &now,
    );
    table += END;
    println!("now: {} files, {} bytes on disk", now.files, now.allocated);
    let new = format!("{}{table}{}", &doc[..a], &doc[b + END.len()..]);
    std::fs::write(DOC, new).expect("write docs/performance/history.md");
    println!("written to {DOC}");
}
