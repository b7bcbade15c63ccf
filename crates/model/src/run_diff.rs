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
    /// The params its workflow declares secret: never compared, whatever was recorded
    /// (an empty one, never given, is recorded empty, with no mask to tell it by).
    pub secret: &'a [String],
}

/// One line of the diff, as `diff -u` writes it (the text without its sign or newline).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// What the diff could not compare: `# secret params are not compared …` (never a
    /// difference, but said, so no reader takes the runs for the same).
    Note(String),
}

/// Lines of context around each change, as `diff -u` keeps them.
const CONTEXT: usize = 3;

/// What a secret param's line says on both sides: its value was never stored.
const NOT_COMPARED: &str = " (secret: not compared)";

/// The two runs' differences (pure), empty when there is none: the workflow texts,
/// then the params, one `name=value` a line sorted by name (a secret one, recorded
/// masked, `token=*** (secret: not compared)` on both sides), then a [`Line::Note`]
/// naming the secret params, which no diff can compare. Nothing is sanitised here:
/// each front end cleans what it shows (`sanitize`).
pub fn lines(a: &Side<'_>, b: &Side<'_>) -> Vec<Line> {
    let side = |s: &Side<'_>| format!("run {} workflow (text {}, {})", s.run, s.hash, s.path);
    let mut out = unified(a.text, b.text, (side(a), side(b)));
    let (pa, pb) = (params_of(a.params_json), params_of(b.params_json));
    let secret_of =
        |s: &Side<'_>, k: &str, v: &str| is_masked(v) || s.secret.iter().any(|n| n == k);
    out.extend(unified(
        &params_text(&pa, |k, v| secret_of(a, k, v)),
        &params_text(&pb, |k, v| secret_of(b, k, v)),
        (
            format!("run {} params ({})", a.run, a.path),
            format!("run {} params ({})", b.run, b.path),
        ),
    ));
    let mut secret: Vec<&str> = pa
        .iter()
        .filter(|(k, v)| secret_of(a, k, v))
        .chain(pb.iter().filter(|(k, v)| secret_of(b, k, v)))
        .map(|(k, _)| k.as_str())
        .collect();
    secret.sort_unstable();
    secret.dedup();
    if !secret.is_empty() {
        out.push(Line::Note(format!(
            "secret params are never stored, so not compared: {}",
            secret.join(", ")
        )));
    }
    out
}

/// Whether the lines show no difference: none, or only notes of what was not compared.
pub fn same(lines: &[Line]) -> bool {
    lines.iter().all(|l| matches!(l, Line::Note(_)))
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
            Line::Note(t) => ("# ", t),
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

/// The recorded params by name (a record that does not read as an object of strings
/// gives none).
fn params_of(json: &str) -> BTreeMap<String, String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// A value recorded with a secret masked in it (`mask::MASK`): what it was is unknown.
fn is_masked(v: &str) -> bool {
    v.contains(crate::mask::MASK)
}

/// The params as lines, sorted by name; a `secret` one the same on both sides.
fn params_text(params: &BTreeMap<String, String>, secret: impl Fn(&str, &str) -> bool) -> String {
    params
        .iter()
        .map(|(k, v)| {
            if secret(k, v) {
                format!("{k}={}{NOT_COMPARED}\n", crate::mask::MASK)
            } else {
                format!("{k}={v}\n")
            }
        })
        .collect()
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
            secret: &[],
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
            t.contains("--- run A params (/w/w.toml)\n+++ run B params (/w/w.toml)\n@@ -1,2 +1,2 @@\n-v=1\n+v=9\n w=2\n"),
            "{t}"
        );
    }

    /// A text without a final newline diffs as one with it, line for line.
    #[test]
    fn a_last_line_without_its_newline_is_still_one_line() {
        let t = text(&lines(&side("A", "a\nb", "{}"), &side("B", "a\nc", "{}")));
        assert!(t.ends_with("@@ -1,2 +1,2 @@\n a\n-b\n+c\n"), "{t}");
    }

    /// Issue 58 QA point 3: secrets are never stored, so two runs that differ only in
    /// one are not "the same": each side's line and a note say it is not compared.
    #[test]
    fn a_secret_param_is_said_not_compared_never_the_same() {
        let a = side("A", "x\n", r#"{"token":"***","v":"1"}"#);
        let got = lines(&a, &side("B", "x\n", r#"{"token":"***","v":"1"}"#));
        assert!(!got.is_empty() && same(&got), "{got:?}");
        assert_eq!(
            text(&got),
            "# secret params are never stored, so not compared: token\n"
        );
        let got = lines(&a, &side("B", "x\n", r#"{"token":"***","v":"2"}"#));
        assert!(!same(&got));
        let t = text(&got);
        assert!(
            t.contains("\n token=*** (secret: not compared)\n-v=1\n+v=2\n"),
            "{t}"
        );
        assert!(t.ends_with("# secret params are never stored, so not compared: token\n"));
        assert!(same(&[]) && !same(&lines(&side("A", "x\n", "{}"), &side("B", "y\n", "{}"))));
    }

    /// Issue 76: a secret param never given is recorded empty, with no mask: its
    /// workflow's declaration still makes it not compared (it printed `tok=`).
    #[test]
    fn a_declared_secret_recorded_empty_is_not_compared_either() {
        let secret = ["tok".to_string()];
        let a = Side {
            secret: &secret,
            ..side("A", "x\n", r#"{"tok":"","v":"1"}"#)
        };
        let b = Side {
            secret: &secret,
            ..side("B", "x\n", r#"{"tok":"","v":"2"}"#)
        };
        let t = text(&lines(&a, &b));
        assert!(
            t.contains("\n tok=*** (secret: not compared)\n-v=1\n+v=2\n"),
            "{t}"
        );
        assert!(!t.contains("tok=\n"), "{t}");
        assert!(t.ends_with("# secret params are never stored, so not compared: tok\n"));
    }
}
