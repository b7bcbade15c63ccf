//! Load diagnostics: `FILE:LINE:COL: error: what is wrong` plus a hint saying what would
//! be right. The loader collects every diagnostic of a file before returning.
use serde::Serialize;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// One problem in a workflow file. `line` and `col` are 1-based; `0` means the problem
/// concerns the file as a whole (missing, unreadable, not UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// Every diagnostic of a file, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: error: {}", self.file.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: error: {}",
                self.file.display(),
                self.line,
                self.col,
                self.message
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// A step as a diagnostic names it, "step `ID`": text only when a diagnostic is written
/// (the loader's readers name every step of a file, most of which have none).
pub struct StepLabel<'a>(pub &'a str);

impl fmt::Display for StepLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step `{}`", self.0)
    }
}

impl Diagnostic {
    /// `FILE:LINE:COL: warning: …` (with its hint): a diagnostic of a file that loads,
    /// about something that holds but may not mean what it says.
    pub fn warning(&self) -> String {
        self.to_string().replacen(": error: ", ": warning: ", 1)
    }
}

impl std::error::Error for Diagnostic {}
impl std::error::Error for Diagnostics {}

impl Diagnostics {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Diagnostics found in any order, sorted by place (stable: those at one place keep
    /// the order they were found in).
    pub fn in_source_order(mut diags: Vec<Diagnostic>) -> Diagnostics {
        diags.sort_by_key(|d| (d.line, d.col));
        Diagnostics(diags)
    }
}

/// Byte offsets → 1-based line and (character) column, each in constant time: a file
/// with thousands of errors on one long line is still read in linear time.
pub struct SourceMap<'a> {
    source: &'a str,
    line_starts: Vec<usize>,
    /// `char_marks[k]`: how many characters precede byte `k * MARK`.
    char_marks: Vec<usize>,
}

/// Bytes between two character-count marks.
const MARK: usize = 256;

/// Characters that start in `bytes` (a UTF-8 continuation byte starts none).
fn chars_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

impl<'a> SourceMap<'a> {
    /// The source text at `span`, if it is one.
    pub fn text(&self, span: &std::ops::Range<usize>) -> Option<&'a str> {
        self.source.get(span.clone())
    }

    pub fn new(source: &'a str) -> Self {
        // Sized once: doubling it held a 100,000-step file's 400,000 lines in 4 MB.
        let mut line_starts =
            Vec::with_capacity(1 + source.bytes().filter(|&b| b == b'\n').count());
        line_starts.push(0);
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        let mut char_marks = vec![0];
        for chunk in source.as_bytes().chunks(MARK) {
            char_marks.push(char_marks[char_marks.len() - 1] + chars_in(chunk));
        }
        SourceMap {
            source,
            line_starts,
            char_marks,
        }
    }

    /// How many characters precede byte `offset`.
    fn chars_before(&self, offset: usize) -> usize {
        let mark = offset / MARK;
        self.char_marks[mark] + chars_in(&self.source.as_bytes()[mark * MARK..offset])
    }

    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = self.line(offset);
        let start = self.line_starts[line - 1];
        let col = self.chars_before(offset) - self.chars_before(start);
        (line, col + 1)
    }

    /// The line (from 1) of byte `offset`, without counting its column's characters
    /// (asked for every step a file has).
    pub fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.source.len());
        self.line_starts.partition_point(|&s| s <= offset)
    }
}

/// Collects diagnostics for one file.
pub struct Reporter<'a> {
    pub file: PathBuf,
    pub map: SourceMap<'a>,
    pub diags: Vec<Diagnostic>,
    /// Warnings: they do not stop the file from loading.
    pub warnings: Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: PathBuf, source: &'a str) -> Self {
        reset_suggest_budget();
        Reporter {
            file,
            map: SourceMap::new(source),
            diags: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn at(&self, span: &Range<usize>, message: String, hint: Hint) -> Diagnostic {
        let (line, col) = self.map.line_col(span.start);
        Diagnostic {
            file: self.file.clone(),
            line,
            col,
            message,
            hint: hint.0,
        }
    }

    pub fn error(
        &mut self,
        span: &Range<usize>,
        message: impl Into<String>,
        hint: impl Into<Hint>,
    ) {
        let d = self.at(span, message.into(), hint.into());
        self.diags.push(d);
    }

    /// A warning at `span`: the file still loads.
    pub fn warn(&mut self, span: &Range<usize>, message: impl Into<String>, hint: impl Into<Hint>) {
        let d = self.at(span, message.into(), hint.into());
        self.warnings.push(d);
    }

    pub fn finish(self) -> Diagnostics {
        Diagnostics::in_source_order(self.diags)
    }
}

/// An optional hint; lets `error` take `"text"`, `String`, `None` or `Option<String>`.
pub struct Hint(pub Option<String>);

impl From<&str> for Hint {
    fn from(s: &str) -> Self {
        Hint(Some(s.to_string()))
    }
}
impl From<String> for Hint {
    fn from(s: String) -> Self {
        Hint(Some(s))
    }
}
impl From<Option<String>> for Hint {
    fn from(s: Option<String>) -> Self {
        Hint(s)
    }
}

/// How many candidates one thread compares for suggestions per file loaded (issue 41
/// point 3): a file of 10,000 steps each needing an unknown step would otherwise
/// compare 10^8 pairs (70 s). Past it, a diagnostic lists what is allowed instead of
/// guessing; a workflow with a few typos among a few hundred names never gets there.
pub const SUGGEST_BUDGET: usize = 100_000;

thread_local! {
    static COMPARED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A new file's suggestions start with the whole budget ([`Reporter::new`]).
fn reset_suggest_budget() {
    COMPARED.with(|c| c.set(0));
}

/// The candidate closest to `word`, if it is close enough to be a likely typo; `None`
/// too once this file's [`SUGGEST_BUDGET`] is spent.
pub fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let mut best: Option<(&str, f64)> = None;
    let word_len = word.chars().count();
    for c in candidates {
        let spent = COMPARED.with(|n| {
            n.set(n.get() + 1);
            n.get() > SUGGEST_BUDGET
        });
        if spent {
            return None;
        }
        let c_len = c.chars().count();
        let max_len = word_len.max(c_len).max(1);
        let allowed = (max_len / 3).max(1);
        // The edit distance is at least the lengths' difference: skip computing it
        // when that alone is too far.
        let close_edit =
            word_len.abs_diff(c_len) <= allowed && strsim::damerau_levenshtein(word, c) <= allowed;
        let score = strsim::jaro_winkler(word, c);
        if (close_edit || score >= 0.88) && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

/// `did you mean `x`?` or a list of what is allowed.
pub fn did_you_mean(word: &str, candidates: &[&str], what: &str) -> String {
    match suggest(word, candidates.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None if candidates.is_empty() => format!("this workflow declares no {what}"),
        None => {
            let shown: Vec<String> = candidates
                .iter()
                .take(12)
                .map(|c| format!("`{c}`"))
                .collect();
            let more = if candidates.len() > 12 { ", …" } else { "" };
            format!("expected one of the {what}: {}{more}", shown.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let m = SourceMap::new("ab\nçd = 1\n");
        assert_eq!(m.line_col(0), (1, 1));
        assert_eq!(m.line_col(3), (2, 1));
        // 'ç' is two bytes: offset 5 is the 'd', column 2.
        assert_eq!(m.line_col(5), (2, 2));
        assert_eq!(m.line_col(999), (3, 1));
        for offset in [0, 2, 3, 5, 9, 10, 999] {
            assert_eq!(m.line(offset), m.line_col(offset).0, "offset {offset}");
        }
    }

    #[test]
    fn suggestions_pick_close_names() {
        assert_eq!(suggest("need", ["needs", "run", "uses"]), Some("needs"));
        assert_eq!(suggest("bulid", ["build", "test"]), Some("build"));
        assert_eq!(suggest("zzz", ["build", "test"]), None);
    }

    #[test]
    fn suggestions_stop_once_the_files_budget_is_spent() {
        let _reporter = Reporter::new("w.toml".into(), "");
        let many: Vec<String> = (0..1000).map(|i| format!("step-{i}")).collect();
        let ids: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(suggest("stpe-7", ids.iter().copied()), Some("step-7"));
        for _ in 0..SUGGEST_BUDGET / ids.len() {
            suggest("zzz", ids.iter().copied());
        }
        assert_eq!(suggest("stpe-7", ids.iter().copied()), None, "spent");
        assert!(did_you_mean("stpe-7", &ids, "step ids").starts_with("expected one of"));
        let _next = Reporter::new("v.toml".into(), "");
        assert_eq!(
            suggest("stpe-7", ids.iter().copied()),
            Some("step-7"),
            "a new file"
        );
    }

    #[test]
    fn display_has_position_and_hint() {
        let d = Diagnostic {
            file: "w.toml".into(),
            line: 3,
            col: 7,
            message: "bad".into(),
            hint: Some("good".into()),
        };
        assert_eq!(d.to_string(), "w.toml:3:7: error: bad\n  = hint: good");
        let whole = Diagnostic {
            line: 0,
            col: 0,
            hint: None,
            ..d
        };
        assert_eq!(whole.to_string(), "w.toml: error: bad");
    }
}
