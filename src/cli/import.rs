//! `baton import github|dagu FILE [-o OUT]`: a GitHub Actions workflow or a Dagu DAG as
//! a baton workflow (docs/import-github.md, docs/import-dagu.md). The mapping is
//! `baton-import` (pure); this reads the file, writes the result and the report.
use super::exit;
use baton_import::{Kind, import};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Source {
    /// A GitHub Actions workflow (.github/workflows/FILE.yml)
    Github,
    /// A Dagu DAG (FILE.yaml)
    Dagu,
}

/// Turn a GitHub Actions workflow or a Dagu DAG into a baton workflow.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The workflow goes to stdout, or to OUT with -o. Every construct that did not map is
reported on stderr as FILE:LINE: construct: what was done instead, and written as
comments at the top of the workflow. Exit 0 when the workflow was written (with a
report or not), 2 when FILE cannot be read or is not a workflow of that kind.

Examples:
  baton import github .github/workflows/ci.yml -o ci.toml
  baton import dagu etl.yaml > etl.toml && baton validate etl.toml")]
pub struct Args {
    /// The tool that reads FILE.
    #[arg(value_enum, value_name = "FROM")]
    pub from: Source,
    /// The workflow to import (YAML).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write the baton workflow here instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
}

pub fn run(args: &Args) -> i32 {
    let file = args.file.display().to_string();
    if !args.file.exists() {
        crate::stdio::errln!(
            "{file}: error: no such file\n  = hint: check the path to the workflow to import"
        );
        return exit::USAGE;
    }
    let text = match crate::workflow::read_source(&args.file) {
        Ok(t) => t,
        Err(d) => {
            crate::stdio::errln!("{d}");
            return exit::USAGE;
        }
    };
    let kind = match args.from {
        Source::Github => Kind::Github,
        Source::Dagu => Kind::Dagu,
    };
    let imported = match import(kind, &file, &text) {
        Ok(i) => i,
        Err(e) => {
            crate::stdio::errln!("{e}");
            return exit::USAGE;
        }
    };
    // What the import wrote must load: a mapping that made an invalid workflow is a
    // defect of the import, said as such rather than left to `baton validate`.
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("imported.toml"));
    // A child DAG's file is imported next (the report says so): the check takes the
    // files its steps name as written, as a recorded run's text is loaded, without
    // reading them; `baton validate` reads them once they are there.
    let checked = crate::workflow::load_str_with(
        &imported.toml,
        &target,
        crate::workflow::SignersFrom::Recorded(None),
    );
    if let Err(d) = checked {
        crate::stdio::errln!("{d}");
        crate::stdio::errln!(
            "{file}: error: the imported workflow does not load (a defect of `baton import`: please report it with the file)"
        );
        return exit::USAGE;
    }
    for n in &imported.notes {
        crate::stdio::errln!("{}", n.render(&file));
    }
    match &args.output {
        Some(out) => {
            // Whole or not at all: an interrupted import never leaves half a workflow
            // where `baton run` would read it.
            if let Err(e) = crate::metrics::export::write_atomic(out, imported.toml.as_bytes()) {
                crate::stdio::errln!("{}: error: cannot write the workflow: {e}", out.display());
                return exit::USAGE;
            }
            crate::stdio::errln!(
                "wrote {} ({} construct(s) did not map)",
                out.display(),
                imported.notes.len()
            );
        }
        None => crate::stdio::out!("{}", imported.toml),
    }
    exit::OK
}
