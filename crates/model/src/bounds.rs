//! The bounds on the texts of a command. Every text an operator types (a reason, a
//! step name, a signature, an input's name): 65,535 characters, GitHub's bound on a
//! `workflow_dispatch` input. An approval input's value holds what a step's output
//! holds (issue 55 point 6): 1 MiB, so that a proposal drafted by the run (an output,
//! rendered as the input's default) or its edit can be approved. The engine refuses a
//! command over either, whichever way it came (the command line refuses it first, in
//! the same words), and keeps only a cut copy of it: a 20 MB value never reaches the
//! `commands` row, an event, `approvals` or the audit chain.
use super::event::Command;

/// The most characters (Unicode scalar values) of one text of a command.
pub const MAX_OPERATOR_TEXT: usize = 65_535;

/// The most bytes of an approval input's value: what `$BATON_OUTPUT` holds (1 MiB).
pub const MAX_INPUT_VALUE: usize = 1 << 20;

/// How much of an over-long text the record keeps, in characters.
const KEPT: usize = 64;

/// The length of `s` in characters when it is over the bound.
fn over(s: &str) -> Option<usize> {
    if s.len() <= MAX_OPERATOR_TEXT {
        return None; // at most as many characters as bytes
    }
    let n = s.chars().count();
    (n > MAX_OPERATOR_TEXT).then_some(n)
}

/// Whether one more character may be typed after `s` in an operator's text: `s` holds
/// fewer than [`MAX_OPERATOR_TEXT`] characters. The one bound of every text a front end
/// takes as typed (the console's reasons, notes, inputs, filters), so that what it takes
/// `baton note` and every command take too.
pub fn takes_one_more(s: &str) -> bool {
    s.len() < MAX_OPERATOR_TEXT || s.chars().count() < MAX_OPERATOR_TEXT
}

/// Why `what` (e.g. "the reason", "input `tag`") is refused, if it is over the bound.
pub fn text_too_long(what: &str, s: &str) -> Option<String> {
    over(s).map(|n| {
        format!(
            "{what} is {n} characters long; an operator's text is at most {MAX_OPERATOR_TEXT} characters (GitHub's bound on a workflow_dispatch input): shorten it, or keep the text elsewhere and give where it is"
        )
    })
}

/// Why the value of approval input `name` is refused, if it is over [`MAX_INPUT_VALUE`].
pub fn input_too_long(name: &str, s: &str) -> Option<String> {
    value_too_long(&format!("input `{name}`"), "an approval's input", s)
}

/// Why `what` (e.g. "output `url`"), a value a `holder` holds, is refused, if it is
/// over [`MAX_INPUT_VALUE`].
fn value_too_long(what: &str, holder: &str, s: &str) -> Option<String> {
    (s.len() > MAX_INPUT_VALUE).then(|| {
        format!(
            "{what} is {} bytes long; {holder} holds at most {MAX_INPUT_VALUE} bytes (1 MiB, what a step's output holds): shorten it, or keep the text elsewhere and give where it is",
            s.len()
        )
    })
}

/// `s` as the record keeps it: whole when within the bound, else its first characters
/// and how long it was.
fn cut(s: &mut String) {
    if let Some(n) = over(s) {
        let head: String = s.chars().take(KEPT).collect();
        *s = format!("{head}… [cut: {n} characters, over the bound of {MAX_OPERATOR_TEXT}]");
    }
}

/// An input's value as the record keeps it: whole within [`MAX_INPUT_VALUE`].
fn cut_input(s: &mut String) {
    if s.len() > MAX_INPUT_VALUE {
        let head: String = s.chars().take(KEPT).collect();
        *s = format!(
            "{head}… [cut: {} bytes, over the bound of {MAX_INPUT_VALUE}]",
            s.len()
        );
    }
}

impl Command {
    /// Each text of the command, named as an error names it.
    fn texts_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut out: Vec<(String, &mut String)> = Vec::new();
        let (step, operator, reason, signature, inputs) = match self {
            Command::Approve {
                step,
                operator,
                reason,
                signature,
                inputs,
            } => (
                Some(step),
                operator,
                reason.as_mut(),
                signature.as_mut(),
                Some(inputs),
            ),
            Command::Reject {
                step,
                operator,
                reason,
                signature,
            } => (Some(step), operator, Some(reason), signature.as_mut(), None),
            Command::Retry { step, operator } => (Some(step), operator, None, None, None),
            Command::RetryFailed { operator } | Command::Label { operator, .. } => {
                (None, operator, None, None, None)
            }
            Command::Cancel { operator, reason } => (None, operator, reason.as_mut(), None, None),
            Command::Mark {
                step,
                operator,
                reason,
                ..
            } => (Some(step), operator, Some(reason), None, None),
            Command::PushBack {
                step,
                operator,
                reason,
                ..
            } => (Some(step), operator, Some(reason), None, None),
            Command::RaiseBudget {
                operator, reason, ..
            }
            | Command::RejectBudget { operator, reason } => {
                (None, operator, Some(reason), None, None)
            }
            Command::Hold {
                steps,
                operator,
                reason,
                ..
            }
            | Command::Release {
                steps,
                operator,
                reason,
            } => {
                for s in steps.iter_mut() {
                    out.push(("the step name".into(), s));
                }
                (None, operator, Some(reason), None, None)
            }
        };
        if let Some(s) = step {
            out.push(("the step name".into(), s));
        }
        out.push(("the operator's name".into(), operator));
        if let Some(r) = reason {
            out.push(("the reason".into(), r));
        }
        if let Some(s) = signature {
            out.push(("the signature".into(), s));
        }
        if let Some(inputs) = inputs {
            // A key over the bound is cut where the map keeps it (a new map).
            let long: Vec<String> = inputs
                .keys()
                .filter(|k| over(k).is_some())
                .cloned()
                .collect();
            for k in long {
                if let Some(v) = inputs.remove(&k) {
                    let mut key = k;
                    cut(&mut key);
                    inputs.insert(key, v);
                }
            }
        }
        out
    }

    /// The values of an approval's inputs and of a mark's outputs, by name (bounded by
    /// [`MAX_INPUT_VALUE`], what an output holds).
    fn input_values_mut(&mut self) -> Vec<(String, &'static str, &mut String)> {
        match self {
            Command::Approve { inputs, .. } => inputs
                .iter_mut()
                .map(|(k, v)| (format!("input `{k}`"), "an approval's input", v))
                .collect(),
            Command::Mark { outputs, .. } => outputs
                .iter_mut()
                .map(|(k, v)| (format!("output `{k}`"), "a step's output", v))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Why the command is refused for a text over the bound (every such text named).
    pub fn too_long(&self) -> Option<String> {
        let mut c = self.clone();
        let mut why: Vec<String> = Vec::new();
        if let Command::Approve { inputs, .. } = self {
            why.extend(
                inputs
                    .keys()
                    .filter_map(|k| text_too_long("the name of an input", k)),
            );
        }
        why.extend(
            c.texts_mut()
                .into_iter()
                .filter_map(|(what, s)| text_too_long(&what, s)),
        );
        why.extend(
            c.input_values_mut()
                .into_iter()
                .filter_map(|(what, holder, v)| value_too_long(&what, holder, v)),
        );
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The command with every text over the bound cut: what may be kept of it.
    pub fn bounded(&self) -> Command {
        let mut c = self.clone();
        for (_, s) in c.texts_mut() {
            cut(s);
        }
        for (_, _, v) in c.input_values_mut() {
            cut_input(v);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_takes_characters_up_to_the_bound_and_not_one_more() {
        let under = "é".repeat(MAX_OPERATOR_TEXT - 1);
        assert!(takes_one_more(&under));
        let full = format!("{under}x");
        assert!(!takes_one_more(&full));
        assert!(text_too_long("the note", &full).is_none());
        assert!(text_too_long("the note", &format!("{full}x")).is_some());
    }

    fn approve(reason: &str, value: &str) -> Command {
        Command::Approve {
            step: "ship".into(),
            operator: "alice".into(),
            reason: Some(reason.into()),
            signature: None,
            inputs: [("tag".to_string(), value.to_string())].into(),
        }
    }

    #[test]
    fn a_text_at_the_bound_passes_one_over_is_refused_by_name() {
        let at = "é".repeat(MAX_OPERATOR_TEXT);
        assert_eq!(approve(&at, &at).too_long(), None, "characters, not bytes");
        let why = approve(&format!("{at}x"), "v1").too_long().expect("over");
        assert!(
            why.starts_with("the reason is 65536 characters long; an operator's text is at most 65535 characters"),
            "{why}"
        );
        // An input's value holds what an output holds.
        let input = "x".repeat(MAX_INPUT_VALUE);
        assert_eq!(approve("ok", &input).too_long(), None);
        let why = approve("ok", &format!("{input}x"))
            .too_long()
            .expect("over");
        assert!(
            why.starts_with("input `tag` is 1048577 bytes long; an approval's input holds at most 1048576 bytes (1 MiB"),
            "{why}"
        );
        let why = Command::Cancel {
            operator: "alice".into(),
            reason: Some("y".repeat(20 << 20)),
        }
        .too_long()
        .expect("over");
        assert!(
            why.starts_with("the reason is 20971520 characters long"),
            "{why}"
        );
    }

    #[test]
    fn the_kept_copy_is_short_and_says_what_was_cut() {
        let big = "z".repeat(20 << 20);
        let c = approve(&big, &big).bounded();
        let text = serde_json::to_string(&c).expect("json");
        assert!(text.len() < 1000, "{} bytes kept", text.len());
        assert!(
            text.contains("[cut: 20971520 characters, over the bound of 65535]"),
            "{text}"
        );
        assert!(
            text.contains("[cut: 20971520 bytes, over the bound of 1048576]"),
            "{text}"
        );
        assert_eq!(c.too_long(), None);
        let kept = approve("fine", &"w".repeat(200_000));
        assert_eq!(kept.bounded(), kept, "kept whole within the bound");
        let small = approve("fine", "v1");
        assert_eq!(small.bounded(), small);
    }
}
