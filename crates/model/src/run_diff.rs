//! What changed between two runs (issue 58 point 8, as Airflow 3's DAG versions): the
//! workflow texts they recorded and their params, as a unified diff. One computation
//! for `baton diff RUN_A RUN_B`, which prints it as text ([`text`]), and the console's
//! Runs tab, which colours it line by line ([`Line`]).
use std::collections::BTreeMap;

/// One run as the diff reads it: what it recorded when it was created.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub run: &'a str,
    /// The short hash of its workflow text (`core::workflow_hash`), named in the header.
    pub hash: &'a str,
    /// The workflow file it was started from.
    pub path: &'a str,
    pub text: &'a str,
    /// Its params as recorded (a JSON object of strings, secrets masked).
    pub params_json: &'a str,
}

/// One line of the diff, as `diff -u` writes it (the text without its sign or newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `--- run A workflow (text 1a2b3c4d, /w/deploy.toml)`: the first run's side.
    Old(String),
    /// `+++ …`: the second run's side.
    New(String),
    /// A hunk's header: `@@ -3,4 +3,4 @@`.
    Hunk(String),
    Kept(String),
    Removed(String),
    Added(String),
}

/// Lines of context around each change, as `diff -u` keeps them.
const CONTEXT: usize = 3;

/// The two runs' differences (pure), empty when there is none: the workflow texts,
/// then the params, one `name=value` a line sorted by name. Nothing is sanitised here:
/// each front end cleans what it shows (`sanitize`).
pub fn lines(a: &Side<'_>, b: &Side<'_>) -> Vec<Line> {
    let side = |s: &Side<'_>| format!("run {} workflow (text {}, {})", s.run, s.hash, s.path);
    let mut out = unified(a.text, b.text, (side(a), side(b)));
    out.extend(unified(
        &params_text(a.params_json),
        &params_text(b.params_json),
        (
            format!("run {} params", a.run),
            format!("run {} params", b.run),
        ),
    ));
    out
}

/// The lines as `diff -u` prints them, each ended by a newline.
pub fn text(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        let (sign, t) = match l {
            Line::Old(t) => ("--- ", t),
            Line::New(t) => ("+++ ", t),
            Line::Hunk(t) => ("", t),
            Line::Kept(t) => (" ", t),
            Line::Removed(t) => ("-", t),
            Line::Added(t) => ("+", t),
        };
        out.push_str(sign);
        out.push_str(t);
        out.push('\n');
    }
    out
}

/// A unified diff of `old` and `new` under `header`, empty when they are the same.
fn unified(old: &str, new: &str, header: (String, String)) -> Vec<Line> {
    use similar::{ChangeTag, TextDiff};
    if old == new {
        return Vec::new();
    }
    let mut out = vec![Line::Old(header.0), Line::New(header.1)];
    let diff = TextDiff::from_lines(old, new);
    for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
        out.push(Line::Hunk(hunk.header().to_string()));
        for c in hunk.iter_changes() {
            let line = c.value().trim_end_matches('\n').to_string();
            out.push(match c.tag() {
                ChangeTag::Equal => Line::Kept(line),
                ChangeTag::Delete => Line::Removed(line),
                ChangeTag::Insert => Line::Added(line),
            });
        }
    }
    out
}

/// The recorded params as lines, sorted by name (a record that does not read as an
/// object of strings gives none).
fn params_text(json: &str) -> String {
    let params: BTreeMap<String, String> = serde_json::from_str(json).unwrap_or_default();
    params.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side<'a>(run: &'a str, text: &'a str, params_json: &'a str) -> Side<'a> {
        Side {
            run,
            hash: "h",
            path: "/w/w.toml",
            text,
            params_json,
        }
    }

    #[test]
    fn the_same_text_and_params_make_no_lines() {
        let a = side("A", "name = \"w\"\n", r#"{"v":"1"}"#);
        assert!(lines(&a, &side("B", a.text, a.params_json)).is_empty());
    }

    #[test]
    fn a_changed_text_and_param_are_each_a_unified_diff() {
        let a = side("A", "name = \"w\"\nx = 1\n", r#"{"v":"1","w":"2"}"#);
        let b = side("B", "name = \"w\"\nx = 2\n", r#"{"v":"9","w":"2"}"#);
        let got = lines(&a, &b);
        assert_eq!(
            got[..6],
            [
                Line::Old("run A workflow (text h, /w/w.toml)".into()),
                Line::New("run B workflow (text h, /w/w.toml)".into()),
                Line::Hunk("@@ -1,2 +1,2 @@".into()),
                Line::Kept("name = \"w\"".into()),
                Line::Removed("x = 1".into()),
                Line::Added("x = 2".into()),
            ]
        );
        let t = text(&got);
        assert!(
            t.contains("--- run A params\n+++ run B params\n@@ -1,2 +1,2 @@\n-v=1\n+v=9\n w=2\n"),
            "{t}"
        );
    }

    /// A text without a final newline diffs as one with it, line for line.
    #[test]
    fn a_last_line_without_its_newline_is_still_one_line() {
        let t = text(&lines(&side("A", "a\nb", "{}"), &side("B", "a\nc", "{}")));
        assert!(t.ends_with("@@ -1,2 +1,2 @@\n a\n-b\n+c\n"), "{t}");
    }
}
