//! Peak memory (max RSS, from `wait4`) of the real binary on a 100,000-step workflow of
//! `builtin.noop` steps (100 layers of 1,000; each step needs two of the layer before):
//! `baton validate` (loading alone) and `baton run --headless` (load, engine, store, every
//! transition committed). Issue 16 point 3: a run stays under 256 MiB.
//!
//!   cargo bench --bench memory            (exits 1 when the run is over the target)
//!
//! Not a criterion bench: one measurement of each is the figure, and it does not vary
//! with the machine's load as times do.
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

const LAYERS: usize = 100;
const WIDTH: usize = 1000;
const TARGET_MIB: f64 = 256.0;

fn workflow() -> String {
    let mut toml = format!("name = \"noop-{LAYERS}x{WIDTH}\"\nmax_parallel = 2\n");
    let id = |l: usize, i: usize| format!("s{l}_{i}");
    for l in 0..LAYERS {
        for i in 0..WIDTH {
            let _ = write!(
                toml,
                "\n[[step]]\nid = \"{}\"\nuses = \"builtin.noop\"\n",
                id(l, i)
            );
            if l > 0 {
                let _ = writeln!(
                    toml,
                    "needs = [\"{}\", \"{}\"]",
                    id(l - 1, i),
                    id(l - 1, (i + 1) % WIDTH)
                );
            }
        }
    }
    toml
}

/// Run baton with `args` in `dir` to its end: its exit status and max RSS in MiB.
// The child is reaped by wait4, which also gives its rusage; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
fn peak_mib(dir: &Path, args: &[&str]) -> (i32, f64) {
    let child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(dir)
        .env("BATON_DB", dir.join("bench.db"))
        .stdout(Stdio::null())
        .spawn()
        .expect("run baton");
    let mut status = 0;
    // SAFETY: wait4 on our own child, writing into locals.
    let kib = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as i32, &mut status, 0, &mut u);
        u.ru_maxrss
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, kib as f64 / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too: only measure for
    // the former.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let text = workflow();
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
    if run >= TARGET_MIB {
        std::process::exit(1);
    }
}
