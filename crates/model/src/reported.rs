//! What a step reports about itself as GitHub's workflow commands `::error …::MESSAGE`
//! and `::warning …::MESSAGE` (with `file=`, `line=`, `col=`, `title=`), written as
//! lines of `$BATON_OUTPUT` (an imported GitHub step's script copies them there). They
//! ride in the attempt's outputs under keys after [`VIA_OUTPUTS`], which no output's
//! name can have (as labels ride after `labels::VIA_OUTPUTS`); the core takes them out
//! and makes each an error record of the step. Bounded: a step reports at most
//! [`MAX_PER_ATTEMPT`], each message cut at [`MAX_MESSAGE_BYTES`].
use crate::error::Severity;

/// The first character of an output key that carries a report.
pub const VIA_OUTPUTS: char = '!';
/// Reports kept of one attempt (GitHub keeps 10 errors and 10 warnings of a step).
pub const MAX_PER_ATTEMPT: usize = 20;
/// A report's message (and each of its fields) is cut here, on a character boundary.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// One report, decoded and sanitised (one line, no control characters).
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub severity: Severity,
    pub message: String,
    /// `file`, `line`, `col`, `title`, as given.
    pub fields: Vec<(String, String)>,
}

/// Whether `line` (of `$BATON_OUTPUT`) is a report: `::error` or `::warning`, then
/// optional ` k=v,…`, then `::`.
pub fn is_report(line: &str) -> bool {
    parse(line).is_some()
}

/// `line` decoded by GitHub's rules (`%0A`, `%0D`, `%25`, `%3A`, `%2C` escapes), or
/// `None` when it is not a report.
pub fn parse(line: &str) -> Option<Reported> {
    let rest = line.strip_prefix("::")?;
    let end = rest.find("::")?;
    let (head, message) = (&rest[..end], &rest[end + 2..]);
    let (command, params) = head.split_once(' ').unwrap_or((head, ""));
    let severity = match command {
        "error" => Severity::Medium,
        "warning" => Severity::Low,
        _ => return None,
    };
    let fields = params
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| matches!(*k, "file" | "line" | "col" | "title"))
        .map(|(k, v)| (k.to_string(), clean(&unescape(v))))
        .collect();
    Some(Reported {
        severity,
        message: clean(&unescape(message)),
        fields,
    })
}

fn unescape(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// One line without control characters, cut at [`MAX_MESSAGE_BYTES`].
fn clean(s: &str) -> String {
    let flat: String = crate::sanitize::one_line(s)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.len() <= MAX_MESSAGE_BYTES {
        return flat;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !flat.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &flat[..end])
}

/// `outputs` without the reports riding in them, and those reports decoded (at most
/// [`MAX_PER_ATTEMPT`]), with how many more there were.
pub fn split_outputs(
    outputs: Vec<(String, String)>,
) -> (Vec<(String, String)>, Vec<Reported>, usize) {
    let (reports, outputs): (Vec<_>, Vec<_>) = outputs
        .into_iter()
        .partition(|(k, _)| k.starts_with(VIA_OUTPUTS));
    let all: Vec<Reported> = reports.iter().filter_map(|(_, v)| parse(v)).collect();
    let more = all.len().saturating_sub(MAX_PER_ATTEMPT);
    (
        outputs,
        all.into_iter().take(MAX_PER_ATTEMPT).collect(),
        more,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_syntax_is_decoded_and_sanitised() {
        let r = parse("::error file=a.rs,line=3,title=Bad%2C bad::two%0Alines \u{1b}[2J").unwrap();
        assert_eq!(r.severity, Severity::Medium);
        assert_eq!(r.message, "two ⏎ lines  [2J");
        assert_eq!(
            r.fields,
            vec![
                ("file".into(), "a.rs".into()),
                ("line".into(), "3".into()),
                ("title".into(), "Bad, bad".into()),
            ]
        );
        assert_eq!(parse("::warning::w").unwrap().severity, Severity::Low);
        assert!(parse("::notice::n").is_none());
        assert!(parse("::error").is_none());
        assert!(parse("error::x").is_none());
        let long = parse(&format!("::error::{}", "é".repeat(MAX_MESSAGE_BYTES))).unwrap();
        assert!(long.message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8());
    }

    #[test]
    fn reports_leave_the_outputs_and_are_bounded() {
        let mut outputs = vec![("a".to_string(), "1".to_string())];
        for n in 0..MAX_PER_ATTEMPT + 3 {
            outputs.push((format!("{VIA_OUTPUTS}{n}"), format!("::warning::w{n}")));
        }
        let (outputs, reports, more) = split_outputs(outputs);
        assert_eq!(outputs, vec![("a".to_string(), "1".to_string())]);
        assert_eq!((reports.len(), more), (MAX_PER_ATTEMPT, 3));
        assert_eq!(reports[0].message, "w0");
    }
}
