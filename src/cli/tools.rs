//! `baton tools FILE`: the tools a workflow can use, their typed parameters, and the
//! executors their steps can run on.
use super::exit;
use crate::workflow::{Tool, builtin_tools, load_file};
use std::fmt::Write;
use std::path::PathBuf;

/// List the built-in tools and the tools the workflow declares, with their parameters.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
A step calls a tool with uses = \"NAME\" and sets its parameters with with = { … };
the parameters reach the tool's command as environment variables.

Example:
  baton tools examples/release.toml")]
pub struct Args {
    /// The workflow file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub fn run(args: &Args) -> i32 {
    match load_file(&args.file) {
        Ok(plan) => {
            let declared: Vec<&Tool> = plan.tools.values().collect();
            let mut out = render(&builtin_tools(), &declared);
            // Where the tools' commands run: a tool step goes to its step's executor.
            super::plan::executors(&mut out, &plan);
            crate::stdio::out!("{out}");
            exit::OK
        }
        Err(d) => {
            crate::stdio::errln!("{d}");
            exit::USAGE
        }
    }
}

/// The listing, as printed.
pub fn render(builtins: &[Tool], declared: &[&Tool]) -> String {
    let mut out = String::from("built-in tools (run inside the engine):\n");
    for t in builtins {
        tool(&mut out, t);
    }
    if declared.is_empty() {
        out.push_str("\ndeclared tools: none ([tools.NAME] with run = \"…\" declares one)\n");
    } else {
        out.push_str("\ndeclared tools:\n");
        for t in declared {
            tool(&mut out, t);
        }
    }
    out
}

fn tool(out: &mut String, t: &Tool) {
    let _ = write!(out, "  {}", t.name);
    if let Some(d) = &t.description {
        let _ = write!(out, "  {d}");
    }
    out.push('\n');
    if let Some(run) = &t.run {
        let _ = writeln!(out, "      run: {run}");
    }
    if t.params.is_empty() {
        out.push_str("      (no parameters)\n");
    }
    for p in &t.params {
        let status = match (&p.default, p.required) {
            (_, true) => "required".to_string(),
            (Some(d), false) => format!("default \"{d}\""),
            (None, false) => "optional".to_string(),
        };
        let _ = write!(out, "      {}: {}, {status}", p.name, p.ty.describe());
        if let Some(d) = &p.description {
            let _ = write!(out, "  {d}");
        }
        out.push('\n');
    }
}
