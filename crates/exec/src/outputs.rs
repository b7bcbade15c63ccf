//! Parsing of the files a step writes: `$BATON_OUTPUT` (`key=value` lines) and
//! `$BATON_USAGE` (`cost=`, `tokens=`, `calls=` lines). Malformed lines are reported,
//! never fatal. Pure functions over the files' text.
use baton_model::{Usage, mask::Masker};

/// At most this much of either file is read; the rest is reported, not kept.
pub(crate) const MAX_FILE_BYTES: u64 = 1 << 20;

/// The labels of a `$BATON_LABELS` read (`model::labels::parse_lines`), as outputs
/// under the key no output has (`labels::VIA_OUTPUTS`); one whose value holds a secret
/// is left out and said. One reading for every executor: a local step's file, and one
/// an SSH host, Slurm or a batch system hands back.
pub(crate) fn labelled(
    read: Option<(String, bool)>,
    masker: &Masker,
    errors: &mut Vec<String>,
) -> Vec<(String, String)> {
    let Some((text, more)) = read else {
        return Vec::new();
    };
    if more {
        errors.push(format!(
            "$BATON_LABELS: larger than {MAX_FILE_BYTES} bytes; the rest was ignored"
        ));
    }
    let (labels, mut bad) = baton_model::labels::parse_lines(&text);
    errors.append(&mut bad);
    let mut out = Vec::new();
    for (k, v) in labels {
        if masker.mask(&v) != v {
            errors.push(format!(
                "$BATON_LABELS: label `{k}` holds a secret; not set"
            ));
            continue;
        }
        out.push((format!("{}{k}", baton_model::labels::VIA_OUTPUTS), v));
    }
    out
}

fn valid_key(key: &str) -> bool {
    baton_model::output_name::is_output_name(key)
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty())
}

fn shorten(line: &str) -> String {
    const MAX: usize = 80;
    if line.len() <= MAX {
        return line.to_string();
    }
    let mut end = MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// `key=value` lines; last value wins; keys keep their first-seen order. Error
/// messages are masked; values are not: the core withholds an output that holds a
/// secret (rather than passing `***` on), and only it records them.
pub(crate) fn parse_outputs(text: &str, masker: &Masker) -> (Vec<(String, String)>, Vec<String>) {
    let mut outputs: Vec<(String, String)> = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in lines(text) {
        // A `::error::`/`::warning::` report rides under a key no output has: the
        // core makes it an error record (`model::reported`).
        if baton_model::reported::is_report(line) {
            let key = format!("{}{n}", baton_model::reported::VIA_OUTPUTS);
            outputs.push((key, line.to_string()));
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if valid_key(key) => {
                let value = value.to_string();
                match outputs.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = value,
                    None => outputs.push((key.to_string(), value)),
                }
            }
            _ => errors.push(format!(
                "$BATON_OUTPUT line {n}: expected key=value with a key like [A-Za-z_][A-Za-z0-9_.-]*, got {:?}",
                shorten(&masker.mask(line))
            )),
        }
    }
    (outputs, errors)
}

/// `$BATON_OUTPUT` as read: its first [`MAX_FILE_BYTES`] bytes, `more` when the file
/// went on. The line the bound fell inside is not a value: it is dropped, and its key
/// (the third result) named, so nothing hands on a cut value as if whole; a value an
/// earlier line gave that key is dropped too (that line would have replaced it).
pub(crate) fn parse_read_outputs(
    text: &str,
    more: bool,
    masker: &Masker,
) -> (Vec<(String, String)>, Vec<String>, Option<String>) {
    if !more {
        let (outputs, errors) = parse_outputs(text, masker);
        return (outputs, errors, None);
    }
    let (whole, partial) = match text.rfind('\n') {
        Some(n) => text.split_at(n + 1),
        None => ("", text),
    };
    let (mut outputs, mut errors) = parse_outputs(whole, masker);
    let cut = partial
        .split_once('=')
        .map(|(k, _)| k)
        .filter(|k| valid_key(k))
        .map(str::to_string);
    match &cut {
        // The core records it (`OutputProblem::Cut`), and a step reading it learns why.
        Some(key) => outputs.retain(|(k, _)| k != key),
        None => errors.push(format!(
            "$BATON_OUTPUT: larger than {MAX_FILE_BYTES} bytes; the rest was ignored"
        )),
    }
    (outputs, errors, cut)
}

/// `cost=<float>`, `tokens=<int>` and `calls=<int>` lines, summed.
pub(crate) fn parse_usage(text: &str, masker: &Masker) -> (Usage, Vec<String>) {
    let mut usage = Usage::default();
    let mut errors = Vec::new();
    for (n, line) in lines(text) {
        if !add_usage_line(&mut usage, line) {
            errors.push(format!(
                "$BATON_USAGE line {n}: expected cost=<number>, tokens=<integer> or calls=<integer>, got {:?}",
                shorten(&masker.mask(line))
            ));
        }
    }
    (usage, errors)
}

/// Adds one `$BATON_USAGE` line to `usage`; `false` (nothing added) when it is not
/// `cost=<number ≥ 0>`, `tokens=<integer>` or `calls=<integer>`. The end's read and
/// the live follower (`usage_follow`) both read lines with it.
pub(crate) fn add_usage_line(usage: &mut Usage, line: &str) -> bool {
    match line.split_once('=') {
        Some(("cost", v)) => match v.trim().parse::<f64>() {
            Ok(c) if c.is_finite() && c >= 0.0 => {
                usage.cost += c;
                true
            }
            _ => false,
        },
        Some(("tokens", v)) => v
            .trim()
            .parse::<u64>()
            .map(|t| usage.tokens = usage.tokens.saturating_add(t))
            .is_ok(),
        Some(("calls", v)) => v
            .trim()
            .parse::<u64>()
            .map(|c| usage.calls = usage.calls.saturating_add(c))
            .is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_last_value_wins_and_bad_lines_are_reported_unmasked_for_the_core() {
        let m = Masker::new(["hunter2".to_string()]);
        let text = "version=1.2\n\nbad line\n9x=1\nurl=a=b\r\nversion=1.3\npw=hunter2\n=x\n";
        let (out, errors) = parse_outputs(text, &m);
        assert_eq!(
            out,
            vec![
                ("version".into(), "1.3".into()),
                ("url".into(), "a=b".into()),
                ("pw".into(), "hunter2".into()),
            ]
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("line 3"), "{errors:?}");
        assert!(errors[1].contains("line 4"), "{errors:?}");
    }

    #[test]
    fn a_value_the_bound_cut_is_named_and_not_kept() {
        let m = Masker::new(Vec::<String>::new());
        let text = "a=1\nfiles=[\"x\",\"y\"]\nfiles=[\"x\",\"y\",\"z";
        let (out, errors, cut) = parse_read_outputs(text, true, &m);
        assert_eq!(out, vec![("a".to_string(), "1".to_string())]);
        assert_eq!(cut.as_deref(), Some("files"));
        assert!(errors.is_empty(), "the core records it: {errors:?}");
        // Cut between lines: every value is whole.
        let (out, errors, cut) = parse_read_outputs("a=1\n", true, &m);
        assert_eq!((out.len(), cut), (1, None));
        assert!(errors[0].contains("the rest was ignored"), "{errors:?}");
        // Not cut: as parse_outputs.
        let (out, errors, cut) = parse_read_outputs("a=1\nb=2", false, &m);
        assert_eq!((out.len(), errors.len(), cut), (2, 0, None));
    }

    #[test]
    fn error_lines_are_masked_and_shortened() {
        let m = Masker::new(["hunter2".to_string()]);
        let (_, errors) = parse_outputs(&format!("hunter2 {}", "x".repeat(500)), &m);
        assert!(!errors[0].contains("hunter2") && errors[0].contains("***"));
        assert!(errors[0].len() < 200);
    }

    #[test]
    fn usage_is_summed() {
        let (u, errors) = parse_usage(
            "cost=0.5\ntokens=100\ncost=1.25\ntokens=20\ncalls=2\ncost=-1\ncost=NaN\ntokens=1.5\nfoo=1\n",
            &Masker::default(),
        );
        assert_eq!(
            u,
            Usage {
                cost: 1.75,
                tokens: 120,
                calls: 2
            }
        );
        assert_eq!(errors.len(), 4, "{errors:?}");
    }
}
