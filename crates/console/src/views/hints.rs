//! The footer's key hints laid out in the room there is: every entry whole (`keys
//! what`), never a word cut. When they do not fit, the least important entry (the last
//! that need not stay) first says only its first word, then goes; `? help` and
//! `q quit` stay on every tab at any width the console draws at.
use super::common::text_width;

/// One footer entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hint {
    pub keys: String,
    pub what: String,
    /// Never dropped (help and quit).
    pub keep: bool,
}

/// Columns the entries take: a leading space, `keys what` each, two spaces between.
pub(crate) fn width_of(hints: &[Hint]) -> usize {
    let entries: usize = hints
        .iter()
        .map(|h| text_width(&h.keys) + 1 + text_width(&h.what))
        .sum();
    1 + entries + 2 * hints.len().saturating_sub(1)
}

/// The entries that fit in `width` columns, in their order (their priority).
pub(crate) fn layout(mut hints: Vec<Hint>, width: usize) -> Vec<Hint> {
    let mut i = hints.len();
    while width_of(&hints) > width && i > 0 {
        i -= 1;
        if hints[i].keep {
            continue;
        }
        if let Some((first, _)) = hints[i].what.split_once(' ') {
            hints[i].what = first.to_string();
            if width_of(&hints) <= width {
                break;
            }
        }
        hints.remove(i);
    }
    // Narrower than the kept entries themselves: whole entries from the end.
    while width_of(&hints) > width && !hints.is_empty() {
        hints.pop();
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(keys: &str, what: &str, keep: bool) -> Hint {
        Hint {
            keys: keys.into(),
            what: what.into(),
            keep,
        }
    }

    fn text(hints: &[Hint]) -> String {
        let parts: Vec<String> = hints
            .iter()
            .map(|h| format!("{} {}", h.keys, h.what))
            .collect();
        format!(" {}", parts.join("  "))
    }

    fn approvals() -> Vec<Hint> {
        vec![
            h("↑↓/jk", "previous/next gate", false),
            h("a", "approve", false),
            h("x", "reject", false),
            h("h", "health", false),
            h("c", "cancel the run", false),
            h("?", "help", true),
            h("q", "quit", true),
        ]
    }

    #[test]
    fn everything_fits_when_there_is_room() {
        let all = approvals();
        assert_eq!(layout(all.clone(), 120), all);
        assert_eq!(width_of(&all), text(&all).chars().count());
    }

    #[test]
    fn at_80_columns_help_and_quit_stay_and_nothing_is_cut() {
        let shown = layout(approvals(), 80);
        let t = text(&shown);
        assert!(t.chars().count() <= 80, "{t}");
        assert!(t.ends_with("? help  q quit"), "{t}");
        assert_eq!(
            t,
            " ↑↓/jk previous/next gate  a approve  x reject  h health  ? help  q quit"
        );
    }

    #[test]
    fn an_entry_says_its_first_word_before_it_goes() {
        let t = text(&layout(approvals(), 82));
        assert_eq!(
            t,
            " ↑↓/jk previous/next gate  a approve  x reject  h health  c cancel  ? help  q quit"
        );
        let shown = layout(approvals(), 60);
        let t = text(&shown);
        assert_eq!(t, " ↑↓/jk previous/next gate  a approve  ? help  q quit");
        for entry in &shown {
            assert!(
                approvals()
                    .iter()
                    .any(|a| a.keys == entry.keys && a.what.starts_with(&entry.what)),
                "{entry:?} is whole"
            );
        }
        assert!(layout(approvals(), 10).iter().all(|h| h.keep));
    }
}
