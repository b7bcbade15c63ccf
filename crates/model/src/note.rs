//! What an operator writes on a run or a step (`baton note`, the console's `n`), and
//! what a step writes of itself (`$BATON_SUMMARY`): both shown where the run is, both
//! bounded and shown sanitised.
use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// A note on a run (`step` none) or on one of its steps: a row of the audit chain
/// (action `note`), by the OS account that wrote it, at the time it was committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteView {
    pub at: Timestamp,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub text: String,
}

/// Why an operator's text (`what`: "the reason", "the note") is refused: empty, or over
/// the bound of every text an operator types (`bounds::text_too_long`). The one check
/// of a decision's reason and a note, wherever it is typed.
pub fn text_problem(what: &str, text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some(format!(
            "{what} is empty: write what it should say, it goes on the audit chain"
        ));
    }
    crate::bounds::text_too_long(what, text)
}

/// The most bytes of a step's summary kept (`$BATON_SUMMARY`, GitHub's bound on a job
/// summary's size per step): the rest is cut, with a line saying so.
pub const MAX_SUMMARY: usize = 64 * 1024;

/// A step's summary as it is kept: its first [`MAX_SUMMARY`] bytes (cut at a character
/// and a line), every terminal escape and control character but the line break and the
/// tab dropped, and a last line saying how much was cut. `more`: the file held more
/// than what was read. `None` when nothing visible is left.
pub fn keep_summary(raw: &[u8], more: bool) -> Option<String> {
    let cut = more || raw.len() > MAX_SUMMARY;
    let head = &raw[..raw.len().min(MAX_SUMMARY)];
    let text = String::from_utf8_lossy(head);
    let mut text = if cut {
        // A cut mid-line would end in half a word or an unclosed construct.
        match text.rfind('\n') {
            Some(n) => text[..=n].to_string(),
            None => text.into_owned(),
        }
    } else {
        text.into_owned()
    };
    text = text
        .split('\n')
        .map(|l| crate::sanitize::strip_to_plain(l.strip_suffix('\r').unwrap_or(l).as_bytes()))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.trim_end().to_string();
    if text.trim().is_empty() {
        return None;
    }
    Some(if cut {
        format!(
            "{text}\n\n[summary cut: the step wrote over {MAX_SUMMARY} bytes; the rest was not kept]"
        )
    } else {
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_loses_its_escapes_and_is_cut_at_a_line_with_a_note() {
        let kept = keep_summary(b"# Done\x1b]0;owned\x07\r\n\x1b[2Jok\ttab\n", false).unwrap();
        assert!(!kept.contains('\x1b') && !kept.contains('\x07'), "{kept:?}");
        assert!(
            kept.starts_with("# Done\nok") && kept.ends_with("tab"),
            "{kept:?}"
        );
        let big = "line of text\n".repeat(MAX_SUMMARY / 10);
        let kept = keep_summary(big.as_bytes(), false).unwrap();
        assert!(kept.len() < MAX_SUMMARY + 200, "{}", kept.len());
        assert!(kept.ends_with("the rest was not kept]"), "{kept}");
        assert!(kept.lines().rev().nth(2).unwrap() == "line of text");
        assert_eq!(keep_summary(b" \n\x1b[0m\n", false), None);
    }

    #[test]
    fn a_note_is_checked_as_a_reason_is() {
        assert!(
            text_problem("the note", "  \n")
                .unwrap()
                .contains("the note is empty")
        );
        let long = "x".repeat(crate::bounds::MAX_OPERATOR_TEXT + 1);
        assert!(text_problem("the note", &long).unwrap().contains("65535"));
        assert_eq!(text_problem("the note", "looked at: flaky DNS"), None);
    }
}
