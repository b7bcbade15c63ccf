//! `baton import`: a GitHub Actions workflow or a Dagu DAG (YAML) into a baton workflow
//! (TOML), with a report of every construct that did not map, at the source's line, and
//! what was done instead. Pure: text in, text and report out (docs/import-github.md,
//! docs/import-dagu.md).
mod dagu;
mod expr;
mod github;
mod out;
mod shim;
mod yaml;

use std::fmt;

/// Which tool wrote the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Github,
    Dagu,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Github => "GitHub Actions",
            Kind::Dagu => "Dagu",
        }
    }
}

/// One construct that did not map: where, what, and what was done instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: usize,
    pub what: String,
    pub done: String,
}

/// The imported workflow and its report.
#[derive(Debug, Clone)]
pub struct Imported {
    pub toml: String,
    pub notes: Vec<Note>,
}

/// Input that cannot be imported: where and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: error: {message}\n  = hint: {hint}")]
pub struct ImportError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: String,
}

/// The notes an import gathers.
#[derive(Debug, Default)]
pub(crate) struct Report {
    notes: Vec<Note>,
}

impl Report {
    pub(crate) fn note(&mut self, line: usize, what: impl Into<String>, done: impl Into<String>) {
        // One line each, so that a note stays a comment at the top of the workflow.
        let flat = |s: String| {
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        };
        self.notes.push(Note {
            line,
            what: flat(what.into()),
            done: flat(done.into()),
        });
    }
}

impl Note {
    /// `FILE:LINE: what: done`
    pub fn render(&self, file: &str) -> String {
        format!("{file}:{}: {}: {}", self.line, self.what, self.done)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Import `text`, read from `file` (the name the header and the report use).
pub fn import(kind: Kind, file: &str, text: &str) -> Result<Imported, ImportError> {
    let bad = |line: usize, col: usize, message: String, hint: &str| ImportError {
        file: file.to_string(),
        line,
        col,
        message,
        hint: hint.to_string(),
    };
    let docs = yaml::parse(text).map_err(|e| bad(e.line, e.col, e.message, e.hint))?;
    let Some(doc) = docs.first().filter(|d| d.map().is_some()) else {
        let line = docs.first().map_or(1, |d| d.line);
        return Err(bad(
            line,
            1,
            "the file is not a YAML mapping".into(),
            match kind {
                Kind::Github => "a GitHub workflow: `on:` and `jobs:` at the top level",
                Kind::Dagu => "a Dagu DAG: `steps:` at the top level",
            },
        ));
    };
    let stem = std::path::Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("imported");
    let mut report = Report::default();
    let wf = match kind {
        Kind::Github => github::import(doc, stem, &mut report),
        Kind::Dagu => dagu::import(&docs, stem, &mut report),
    }
    .map_err(|(line, message, hint)| bad(line, 1, message, hint))?;
    let mut notes = report.notes;
    notes.sort_by_key(|n| n.line);
    let mut header = vec![
        format!(
            "Imported by `baton import` from {} workflow {file}.",
            kind.as_str()
        ),
        format!(
            "See docs/import-{}.md for what maps and what differs.",
            if kind == Kind::Github {
                "github"
            } else {
                "dagu"
            }
        ),
    ];
    if notes.is_empty() {
        header.push("Every construct mapped.".into());
    } else {
        header.push(format!("{} construct(s) did not map:", notes.len()));
        header.extend(notes.iter().map(|n| format!("  {}", n.render(file))));
    }
    header.push(String::new());
    let toml = wf.to_toml(&header);
    Ok(Imported { toml, notes })
}

/// What a mapping function returns when the input is invalid: line, message, hint.
pub(crate) type Invalid = (usize, String, &'static str);
#[cfg(test)]
mod tests;
