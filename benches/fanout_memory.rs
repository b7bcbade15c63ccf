//! Issue 26 point 7: a `for_each` over 10,000 items of `builtin.noop` finishes and stays
//! within the memory budget of a 10,000-step workflow (docs/architecture.md,
//! "Performance budgets": under 64 MiB headless). Peak memory (max RSS, from `wait4`)
//! of the real binary on both, in the same run: 10,000 `builtin.noop` steps written
//! out, and one step fanned out over a 10,000-item array a need produced.
//!
//!   cargo bench --bench fanout_memory     (exits 1 when the fan-out is over the budget)
//!
//! It writes its figures in docs/performance/memory.md ("Memory of a 10,000-instance
//! fan-out"), between its markers, on every run, met or not.
use std::fmt::Write as _;

#[path = "support/peak.rs"]
mod peak;

const N: usize = 10_000;
const BUDGET_MIB: f64 = 64.0;
const BEGIN: &str = "<!-- benches/fanout_memory.rs writes from here -->";
const END: &str = "<!-- benches/fanout_memory.rs: to here -->";

/// The baseline: `N` steps of `builtin.noop`, as wide as the fan-out.
fn steps() -> String {
    let mut toml = format!("name = \"noop-{N}\"\nmax_parallel = 2\n");
    for i in 0..N {
        let _ = write!(toml, "\n[[step]]\nid = \"s{i}\"\nuses = \"builtin.noop\"\n");
    }
    toml
}

/// One step fanned out over `N` items a shell step wrote as a JSON array.
fn fanned() -> String {
    format!(
        r#"name = "for-each-{N}"
max_parallel = 2

[[step]]
id = "list"
run = 'printf "items=[%s]\n" "$(seq -s, 0 {last})" >> "$BATON_OUTPUT"'

[[step]]
id = "each"
needs = ["list"]
for_each = "${{{{ steps.list.outputs.items }}}}"
uses = "builtin.noop"
"#,
        last = N - 1
    )
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too: only measure for
    // the former.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("steps.toml"), steps()).expect("write");
    std::fs::write(dir.path().join("fanned.toml"), fanned()).expect("write");
    let (code, base) = peak::peak_mib(dir.path(), &["run", "steps.toml", "--headless"]);
    assert_eq!(code, 0, "the {N}-step run failed");
    println!("{N} steps: peak RSS {base:.1} MiB");
    let (code, fan) = peak::peak_mib(dir.path(), &["run", "fanned.toml", "--headless"]);
    assert_eq!(code, 0, "the {N}-instance run failed");
    let verdict = if fan < BUDGET_MIB { "met" } else { "NOT met" };
    println!(
        "for_each over {N} items: peak RSS {fan:.1} MiB ({:.2} of the steps'; budget < {BUDGET_MIB} MiB: {verdict})",
        fan / base
    );
    let table = format!(
        "| `baton run --headless`, `builtin.noop` | peak RSS | budget |\n|---|---|---|\n| {N} steps written out | {base:.1} MiB | < {BUDGET_MIB} MiB |\n| one step, `for_each` over {N} items | **{fan:.1} MiB** ({:.2}×) | < {BUDGET_MIB} MiB: {verdict} |",
        fan / base
    );
    peak::record("performance/memory.md", BEGIN, END, &table);
    if fan >= BUDGET_MIB {
        std::process::exit(1);
    }
}
