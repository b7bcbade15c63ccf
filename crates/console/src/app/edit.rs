//! Edit before approving (issue 44 point 2), the approve dialog's half that is not its
//! fields: a field or the reason edited in `$EDITOR` (asked of the shell, answered by
//! `Action::Edited`), and the unified diff of each changed value against the proposal,
//! worked out once when the review opens and scrolled by page.
use super::actions::Request;
use super::dialogs::{GateDialog, InputField, new_reason_box};
use crate::editor::EditorError;

/// How long working out one value's diff may take before it settles for a coarser one.
pub(super) const DIFF_DEADLINE: std::time::Duration = std::time::Duration::from_millis(40);

/// How many lines PgUp/PgDn move the diff.
pub(crate) const DIFF_PAGE: usize = 10;

/// One line of the diff of an edited value against its proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// `sql:` before its hunks.
    Name(String),
    /// A hunk's header, as `diff -u` writes it: `@@ -3,4 +3,4 @@`.
    Hunk(String),
    Kept(String),
    Removed(String),
    Added(String),
}

/// The edits against the proposal as a unified diff, line by line (a long SQL script
/// or prompt shows what changed, not all of it twice): unchanged lines more than two
/// from a change are left out, each hunk under its `@@` header.
pub(crate) fn proposal_diff(changes: &[(&str, &str, &str)]) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    let mut out = Vec::new();
    for (name, proposed, value) in changes {
        out.push(DiffLine::Name(format!("{name}:")));
        // A deadline: past it the diff is a coarser one (longer hunks), never a wait
        // (two unrelated 1 MiB values took seconds without it; benches/edit_diff).
        let diff = TextDiff::configure()
            .timeout(DIFF_DEADLINE)
            .diff_lines(*proposed, *value);
        for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
            out.push(DiffLine::Hunk(hunk.header().to_string()));
            for c in hunk.iter_changes() {
                let line = c.value().trim_end_matches('\n').to_string();
                out.push(match c.tag() {
                    ChangeTag::Equal => DiffLine::Kept(line),
                    ChangeTag::Delete => DiffLine::Removed(line),
                    ChangeTag::Insert => DiffLine::Added(line),
                });
            }
        }
    }
    out
}

/// A field's value (or a proposal) on one line, cheaply for a value of any length: its
/// first line cut to `max` characters (`…` where cut), and how many lines it has.
pub(crate) fn preview(value: &str, max: usize) -> (String, usize) {
    let first = value.split('\n').next().unwrap_or_default();
    let mut shown: String = first.chars().take(max).collect();
    if shown.len() < first.len() {
        shown.push('…');
    }
    let lines = memchr::memchr_iter(b'\n', value.as_bytes()).count()
        + usize::from(!value.is_empty() && !value.ends_with('\n'));
    (shown, lines)
}

impl GateDialog {
    /// Whether the dialog's key for `action` does anything now (its hints and the
    /// footer show only those): moving between fields when there are inputs; in the
    /// review of changes, approving, scrolling and going back.
    pub fn offers(&self, action: &super::actions::Action) -> bool {
        use super::actions::Action as A;
        match action {
            A::Down | A::Up => !self.fields.is_empty() && !self.review,
            A::PageUp | A::PageDown => self.review,
            A::Confirm | A::Back => true,
            _ if self.review => false,
            // A new line is the reason's; a choice is not edited.
            A::NewLine => self.focus == self.fields.len(),
            A::Editor => self.fields.get(self.focus).is_none_or(InputField::is_text),
            _ => true,
        }
    }

    /// Enter with changed values: the review opens on their diff, worked out here once
    /// (a frame draws only the lines it shows).
    pub(super) fn open_review(&mut self) {
        self.diff = proposal_diff(&self.changes());
        self.scroll = 0;
        self.review = true;
    }

    /// PgUp/PgDn in the review: a page of the diff, stopping at its ends.
    pub(super) fn scroll_diff(&mut self, down: bool) {
        let last = self.diff.len().saturating_sub(1);
        self.scroll = if down {
            (self.scroll + DIFF_PAGE).min(last)
        } else {
            self.scroll.saturating_sub(DIFF_PAGE)
        };
    }

    /// Ctrl-e: the focused text field's value (or the reason) to the editor; a choice
    /// or a toggle is picked with ←/→, not typed.
    pub(super) fn ask_editor(&mut self) -> Vec<Request> {
        match self.fields.get(self.focus) {
            Some(f) if f.is_text() => vec![Request::Edit(f.value.clone())],
            Some(f) => {
                self.error = Some(format!(
                    "`{}` is a choice: pick it with ←/→, there is nothing to edit",
                    f.input.name
                ));
                Vec::new()
            }
            None => vec![Request::Edit(self.reason.lines().join("\n"))],
        }
    }

    /// What the editor left goes into the field it was opened on; a failed edit leaves
    /// the value as it was and says why.
    pub(super) fn edited(&mut self, result: Result<String, EditorError>) {
        let text = match result {
            Ok(text) => text,
            Err(e) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        self.error = None;
        match self.fields.get_mut(self.focus) {
            Some(f) => {
                f.value = text;
                f.error = None;
            }
            None => {
                let mut reason = new_reason_box(self.decision);
                reason.insert_str(text);
                self.reason = reason;
            }
        }
    }
}
