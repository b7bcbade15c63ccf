//! Labels on runs (`team=infra`, `ticket=OPS-137`): what tells runs of one workflow
//! apart. Given at the start (`baton run --label`, the console's run form, a
//! schedule's `labels`), set by a step (`k=v` lines in `$BATON_LABELS`) or by hand
//! (`baton label RUN k=v k-`); each change is a `run_labelled` event, so a run's
//! labels are read back from its record like everything else.
//!
//! A key is 1–63 characters of `[A-Za-z0-9._/-]` starting with a letter or a digit; a
//! value 0–200 printable characters (no control, bidi or other terminal-acting
//! character); a run holds at most [`MAX_LABELS`]. Every front end checks with
//! [`check`], so each problem has one wording.
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A run's labels, by key.
pub type Labels = BTreeMap<String, String>;

/// The longest key.
pub const MAX_KEY: usize = 63;
/// The longest value, in characters.
pub const MAX_VALUE: usize = 200;
/// The most labels a run holds.
pub const MAX_LABELS: usize = 32;

/// How a step's labels travel with its outputs from the executor to the core: under a
/// key no `$BATON_OUTPUT` line can have (an output's name starts with a letter or `_`),
/// so the one bounded channel of an attempt's files carries both.
pub const VIA_OUTPUTS: char = '+';

/// A label, or a change of one, that cannot be taken, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("label `{0}`: expected KEY=VALUE (to remove one: KEY-)")]
    NotAPair(String),
    #[error(
        "label key `{0}`: a key is 1 to {MAX_KEY} characters of letters, digits, `.`, `_`, `/` and `-`, starting with a letter or a digit"
    )]
    BadKey(String),
    #[error("label `{key}`: the value is {len} characters, over {MAX_VALUE}; shorten it")]
    TooLong { key: String, len: usize },
    #[error(
        "label `{key}`: the value holds a control or terminal character (U+{code:04X}); labels are plain text"
    )]
    BadChar { key: String, code: u32 },
    #[error("a run holds at most {MAX_LABELS} labels; remove some first (`KEY-`)")]
    TooMany,
}

/// One change of a run's labels: set a key to a value, or remove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Set(String, String),
    Remove(String),
}

/// Whether `key` is a label's key.
pub fn key_ok(key: &str) -> bool {
    let mut chars = key.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    first
        && key.len() <= MAX_KEY
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
}

/// Checks one label.
pub fn check(key: &str, value: &str) -> Result<(), LabelError> {
    if !key_ok(key) {
        return Err(LabelError::BadKey(crate::sanitize::one_line(key)));
    }
    let len = value.chars().count();
    if len > MAX_VALUE {
        return Err(LabelError::TooLong {
            key: key.into(),
            len,
        });
    }
    if let Some(c) = value
        .chars()
        .find(|&c| c.is_control() || crate::sanitize::acts_on_terminal(c))
    {
        return Err(LabelError::BadChar {
            key: key.into(),
            code: c.into(),
        });
    }
    Ok(())
}

/// `KEY=VALUE`, checked.
pub fn parse_pair(text: &str) -> Result<(String, String), LabelError> {
    let Some((k, v)) = text.split_once('=') else {
        return Err(LabelError::NotAPair(crate::sanitize::one_line(text)));
    };
    check(k, v)?;
    Ok((k.to_string(), v.to_string()))
}

/// `KEY=VALUE` (set) or `KEY-` (remove), checked.
pub fn parse_change(text: &str) -> Result<Change, LabelError> {
    if !text.contains('=')
        && let Some(k) = text.strip_suffix('-')
    {
        return match key_ok(k) {
            true => Ok(Change::Remove(k.to_string())),
            false => Err(LabelError::BadKey(crate::sanitize::one_line(k))),
        };
    }
    parse_pair(text).map(|(k, v)| Change::Set(k, v))
}

/// `labels` after `set` and `removed`, or why not: more than [`MAX_LABELS`].
pub fn applied(labels: &Labels, set: &Labels, removed: &[String]) -> Result<Labels, LabelError> {
    let mut out = labels.clone();
    for k in removed {
        out.remove(k);
    }
    out.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    if out.len() > MAX_LABELS && out.len() > labels.len() {
        return Err(LabelError::TooMany);
    }
    Ok(out)
}

/// A step's `$BATON_LABELS` lines (`KEY=VALUE`, blank lines and `#` comments
/// skipped): the labels taken, last value wins, and each line not taken with why.
pub fn parse_lines(text: &str) -> (Labels, Vec<String>) {
    let mut out = Labels::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_pair(line) {
            Ok((k, v)) => {
                out.insert(k, v);
            }
            Err(e) => errors.push(format!("$BATON_LABELS line {}: {e}", n + 1)),
        }
    }
    if out.len() > MAX_LABELS {
        errors.push(format!(
            "$BATON_LABELS: more than {MAX_LABELS} labels; only the first {MAX_LABELS} by key are taken"
        ));
        out = out.into_iter().take(MAX_LABELS).collect();
    }
    (out, errors)
}

/// `outputs` without the labels riding in them ([`VIA_OUTPUTS`]), and those labels.
pub fn split_outputs(outputs: Vec<(String, String)>) -> (Vec<(String, String)>, Labels) {
    let (labels, outputs): (Vec<_>, Vec<_>) = outputs
        .into_iter()
        .partition(|(k, _)| k.starts_with(VIA_OUTPUTS));
    let labels = labels
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(VIA_OUTPUTS)?.to_string(), v)))
        .collect();
    (outputs, labels)
}

/// `params` without the labels riding in them: the console's run form sends its
/// labels with its params, each under its key after [`VIA_OUTPUTS`], which no param's
/// name can have (as a step's ride in its outputs).
pub fn split_params(params: Vec<(String, String)>) -> (Vec<(String, String)>, Labels) {
    split_outputs(params)
}

/// `team=infra ticket=OPS-137`: the labels as one line, by key.
pub fn text(labels: &Labels) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(" ")
}

/// What tells each of `runs` from the other runs of its workflow among them: its
/// labels (`team=infra`), or else its params whose values differ between those runs
/// (`ticket=OPS-137`; a secret param is never among a summary's params); empty when
/// neither tells it apart.
pub fn told_apart(runs: &[crate::view::RunSummary]) -> Vec<String> {
    let apart = Apart::new(runs);
    runs.iter().map(|r| apart.of(r)).collect()
}

/// Which params differ between the runs of each workflow of a list, read in one pass
/// over them (a console's list of a year of runs): [`Apart::of`] then says what tells
/// one run apart, as [`told_apart`] does for a whole list.
#[derive(Debug, Default)]
pub struct Apart<'a> {
    /// Per workflow: its runs, and per param key the runs that have it and its values.
    by_workflow: HashMap<&'a str, (usize, ParamValues<'a>)>,
}

/// Per param key: how many runs have it, and its values among them.
type ParamValues<'a> = HashMap<&'a str, (usize, BTreeSet<&'a str>)>;

impl<'a> Apart<'a> {
    /// Over `runs`, the list the runs asked of later are told apart within.
    pub fn new(runs: impl IntoIterator<Item = &'a crate::view::RunSummary>) -> Apart<'a> {
        let mut by_workflow: HashMap<&str, (usize, ParamValues)> = HashMap::new();
        for r in runs {
            let (n, keys) = by_workflow.entry(&r.workflow).or_default();
            *n += 1;
            for (k, v) in &r.params {
                let (has, values) = keys.entry(k).or_default();
                *has += 1;
                values.insert(v);
            }
        }
        Apart { by_workflow }
    }

    /// What tells `r` apart: its labels, or else its params whose values differ
    /// between the runs of its workflow (one of them without the param is a
    /// difference too); empty when neither does.
    pub fn of(&self, r: &crate::view::RunSummary) -> String {
        if !r.labels.is_empty() {
            return text(&r.labels);
        }
        let Some((n, keys)) = self.by_workflow.get(r.workflow.as_str()) else {
            return String::new();
        };
        let differs = |k: &str| {
            keys.get(k)
                .is_some_and(|(has, values)| values.len() > 1 || has < n)
        };
        let parts: Vec<String> = r
            .params
            .iter()
            .filter(|(k, _)| differs(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        crate::sanitize::one_line(&crate::sanitize::for_terminal(&parts.join(" ")))
    }
}

/// Whether `labels` hold every one of `wanted` (`KEY=VALUE`, or `KEY` for any value).
pub fn matches(labels: &Labels, wanted: &[(String, Option<String>)]) -> bool {
    wanted.iter().all(|(k, v)| match (labels.get(k), v) {
        (Some(have), Some(want)) => have == want,
        (Some(_), None) => true,
        (None, _) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_changes_are_checked_with_one_wording() {
        assert_eq!(
            parse_pair("team=infra").unwrap(),
            ("team".into(), "infra".into())
        );
        assert_eq!(parse_pair("k8s.io/ns=a=b").unwrap().1, "a=b");
        assert_eq!(parse_pair("empty=").unwrap().1, "");
        assert!(matches!(parse_pair("team"), Err(LabelError::NotAPair(_))));
        assert!(matches!(parse_pair("-x=1"), Err(LabelError::BadKey(_))));
        assert!(matches!(parse_pair("a b=1"), Err(LabelError::BadKey(_))));
        assert!(matches!(parse_pair("=1"), Err(LabelError::BadKey(_))));
        let long_key = format!("{}=1", "k".repeat(MAX_KEY + 1));
        assert!(matches!(parse_pair(&long_key), Err(LabelError::BadKey(_))));
        let long = format!("k={}", "v".repeat(MAX_VALUE + 1));
        assert!(matches!(parse_pair(&long), Err(LabelError::TooLong { .. })));
        let e = parse_pair("k=a\u{1b}[2Jb").unwrap_err();
        assert_eq!(
            e,
            LabelError::BadChar {
                key: "k".into(),
                code: 0x1b
            }
        );
        assert!(e.to_string().contains("U+001B"), "{e}");
        assert!(matches!(
            parse_pair("k=a\u{202e}"),
            Err(LabelError::BadChar { .. })
        ));
        assert_eq!(
            parse_change("team-").unwrap(),
            Change::Remove("team".into())
        );
        assert_eq!(
            parse_change("a-b=c").unwrap(),
            Change::Set("a-b".into(), "c".into())
        );
    }

    #[test]
    fn a_step_s_lines_are_taken_each_bad_one_said() {
        let (l, e) = parse_lines("# c\nticket=OPS-1\n\nbad line\nticket=OPS-2\r\n");
        assert_eq!(text(&l), "ticket=OPS-2");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("$BATON_LABELS line 4:"), "{e:?}");
        let many: String = (0..40).map(|i| format!("k{i:02}=v\n")).collect();
        let (l, e) = parse_lines(&many);
        assert_eq!(l.len(), MAX_LABELS);
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn labels_ride_in_outputs_under_a_key_no_output_has() {
        let outs = vec![
            ("a".to_string(), "1".to_string()),
            (format!("{VIA_OUTPUTS}team"), "infra".to_string()),
        ];
        let (o, l) = split_outputs(outs);
        assert_eq!(o, vec![("a".to_string(), "1".to_string())]);
        assert_eq!(text(&l), "team=infra");
    }

    fn run(wf: &str, params: &[(&str, &str)], labels: &[(&str, &str)]) -> crate::view::RunSummary {
        let map = |p: &[(&str, &str)]| -> Labels {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut r: crate::view::RunSummary = serde_json::from_value(serde_json::json!({
            "id": "r", "workflow": wf, "state": "succeeded", "operator": "a",
            "started_at": 0, "steps_total": 1, "steps_done": 1
        }))
        .unwrap();
        r.params = map(params);
        r.labels = map(labels);
        r
    }

    #[test]
    fn runs_are_told_apart_by_labels_else_the_params_that_differ() {
        let runs = [
            run("train", &[("ticket", "OPS-1"), ("env", "prod")], &[]),
            run("train", &[("ticket", "OPS-2"), ("env", "prod")], &[]),
            run("train", &[("env", "prod")], &[("team", "infra")]),
            run("other", &[("ticket", "OPS-1")], &[]),
            run("odd", &[("x", "1")], &[]),
            run("odd", &[], &[]),
        ];
        let told = told_apart(&runs);
        assert_eq!(
            told,
            ["ticket=OPS-1", "ticket=OPS-2", "team=infra", "", "x=1", ""]
        );
        let apart = Apart::new(runs.iter().filter(|r| r.workflow == "train"));
        assert_eq!(apart.of(&runs[1]), "ticket=OPS-2");
        assert_eq!(apart.of(&runs[3]), "", "a workflow not in the list");
    }

    #[test]
    fn changes_apply_within_the_bound_and_filters_match() {
        let have: Labels = [("a".into(), "1".into())].into();
        let set: Labels = [("b".into(), "2".into())].into();
        let l = applied(&have, &set, &["a".into()]).unwrap();
        assert_eq!(text(&l), "b=2");
        let full: Labels = (0..MAX_LABELS)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        assert_eq!(applied(&full, &set, &[]), Err(LabelError::TooMany));
        assert!(matches(&l, &[("b".into(), Some("2".into()))]));
        assert!(matches(&l, &[("b".into(), None)]));
        assert!(!matches(&l, &[("b".into(), Some("3".into()))]));
        assert!(!matches(&l, &[("a".into(), None)]));
    }
}
