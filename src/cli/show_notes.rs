//! `baton show`'s notes (`baton note`) and the steps' summaries (`$BATON_SUMMARY`),
//! sanitised for the terminal.
use crate::model::RunView;
use crate::sanitize::{for_terminal, one_line};

/// The notes on the run and its steps, oldest first: when, who, on what, the text.
pub(crate) fn notes(out: &mut String, v: &RunView) {
    if v.notes.is_empty() {
        return;
    }
    out.push_str("\nnotes:\n");
    for n in &v.notes {
        out.push_str(&format!(
            "  {}  {}  {}  {}\n",
            n.at.to_rfc3339(),
            for_terminal(&n.by),
            n.step.as_deref().map_or("(run)".to_string(), for_terminal),
            for_terminal(&one_line(&n.text))
        ));
    }
}

/// Each step's summary as it wrote it, its lines under its name.
pub(crate) fn summaries(out: &mut String, v: &RunView) {
    for s in v.steps.iter() {
        let Some(text) = s.summary.as_deref() else {
            continue;
        };
        out.push_str(&format!("\nsummary of step {}:\n", for_terminal(&s.id)));
        for line in for_terminal(text).lines() {
            out.push_str(&format!("  │ {line}\n"));
        }
    }
}
