//! `baton validate FILE… [--json]`
use super::exit;
use crate::console::count;
use crate::workflow::{Diagnostic, load_file};
use serde::Serialize;
use std::path::PathBuf;

/// Check workflow files without running them.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Every problem in a file is reported, each as FILE:LINE:COL: error: … with a hint;
FILE:LINE:COL: warning: … marks what loads but may not mean what it says (a gate's
policy approving by a text test of shell). Exit code 0 when every file is valid
(warnings or not), 2 otherwise.

Examples:
  baton validate examples/release.toml
  baton validate examples/*.toml --json")]
pub struct Args {
    /// Workflow files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print a JSON array with one object per file: file, ok, steps, gates, diagnostics, warnings.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct FileReport {
    file: PathBuf,
    ok: bool,
    steps: usize,
    gates: usize,
    /// Each gate's `auto` rules (`deploy rule 1: if … then approve (…)`), in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policy: Vec<String>,
    diagnostics: Vec<Diagnostic>,
    /// What loads but may not mean what it says (FILE:LINE:COL, as a diagnostic).
    warnings: Vec<Diagnostic>,
}

/// Every `auto` rule of the plan's gates, named by step and number.
pub(crate) fn policy_lines(plan: &crate::workflow::Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|s| s.gate.as_deref().map(|g| (s, g)))
        .flat_map(|(s, g)| {
            g.auto
                .iter()
                .enumerate()
                .map(move |(k, r)| format!("{} {}", s.id, r.describe(k + 1)))
        })
        .collect()
}

pub fn run(args: &Args) -> i32 {
    let reports: Vec<FileReport> = args
        .files
        .iter()
        .map(|f| match load_file(f) {
            Ok(plan) => FileReport {
                file: f.clone(),
                ok: true,
                steps: plan.steps.len(),
                gates: plan.gate_count(),
                policy: policy_lines(&plan),
                diagnostics: Vec::new(),
                warnings: plan.warnings,
            },
            Err(d) => FileReport {
                file: f.clone(),
                ok: false,
                steps: 0,
                gates: 0,
                policy: Vec::new(),
                diagnostics: d.0,
                warnings: Vec::new(),
            },
        })
        .collect();
    if args.json {
        match serde_json::to_string_pretty(&reports) {
            Ok(s) => crate::stdio::outln!("{s}"),
            Err(e) => {
                crate::stdio::errln!("error: cannot encode the report as JSON: {e}");
                return exit::USAGE;
            }
        }
    } else {
        for r in &reports {
            if r.ok {
                crate::stdio::outln!(
                    "ok: {} ({}, {})",
                    r.file.display(),
                    count(r.steps, "step", "steps"),
                    count(r.gates, "gate", "gates")
                );
                for line in &r.policy {
                    crate::stdio::outln!("  auto: {line}");
                }
                for w in &r.warnings {
                    crate::stdio::errln!("{}", w.warning());
                }
            } else {
                for d in &r.diagnostics {
                    crate::stdio::errln!("{d}");
                }
                let n = r.diagnostics.len();
                crate::stdio::errln!(
                    "{}: {n} error{}",
                    r.file.display(),
                    if n == 1 { "" } else { "s" }
                );
            }
        }
    }
    if reports.iter().all(|r| r.ok) {
        exit::OK
    } else {
        exit::USAGE
    }
}
