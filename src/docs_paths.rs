//! The documents point a reader at files of the repository; a file moved or removed must
//! not leave them pointing at nothing (issue 54 point 6). A path is written from the
//! repository's root (`crates/store/src/busy.rs`), never from a crate's `src/`
//! (`store/busy.rs`), so that it can be followed and checked as written.

use std::path::Path;

/// Where a path of the repository starts.
const ROOTS: [&str; 8] = [
    "crates", "src", "tests", "docs", "benches", "examples", "fuzz", ".ci",
];

/// The crates' short names: a span that starts with one (`store/busy.rs`) is a path
/// written from inside a crate, which a reader cannot follow from the root.
const CRATES: [&str; 12] = [
    "model", "procs", "signing", "workflow", "core", "store", "exec", "engine", "session",
    "console", "cli", "metrics",
];

/// The spans of inline code in a Markdown text, fenced blocks left out.
fn code_spans(text: &str) -> Vec<&str> {
    let mut spans = Vec::new();
    let mut fenced = false;
    let mut open: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            for (i, _) in line.match_indices('`') {
                match open.take() {
                    Some(start) => spans.push(&text[start..offset + i]),
                    None => open = Some(offset + i + 1),
                }
            }
        }
        offset += line.len();
    }
    spans
}

/// A span as the path it names: an item (`::name`) or a line number (`:12`, `#L12`)
/// after it cut off; `None` when the span is no path of the repository (a glob such as
/// `*.rs` is none).
fn as_path(span: &str) -> Option<&str> {
    if span.is_empty() || span.contains(char::is_whitespace) || span.contains('*') {
        return None;
    }
    let mut path = span.split("::").next().unwrap_or(span);
    if let Some((before, _)) = path.split_once("#L") {
        path = before;
    }
    if let Some((before, line)) = path.rsplit_once(':')
        && !line.is_empty()
        && line.chars().all(|c| c.is_ascii_digit() || c == '-')
    {
        path = before;
    }
    let first = path.split('/').next().unwrap_or(path);
    let rooted = path.contains('/') && (ROOTS.contains(&first) || CRATES.contains(&first));
    (rooted || path.ends_with(".rs")).then_some(path)
}

/// The paths `text` names that do not exist under `root`, each once, in order.
fn missing_paths(text: &str, root: &Path) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for path in code_spans(text).into_iter().filter_map(as_path) {
        if !root.join(path).exists() && !missing.iter().any(|m| m == path) {
            missing.push(path.to_owned());
        }
    }
    missing
}

#[test]
fn spans_are_read_as_paths() {
    let text = "`crates/a/src/b.rs::Item` and `src/c.rs:12`, `tests/d.rs#L3`\n\
                ```\n`crates/in/a/fence.rs`\n```\n\
                `store/busy.rs`, `busy.rs`, `Store::open`, `logs/RUN/`, `a b/c.rs`, `src/*.rs`";
    let paths: Vec<_> = code_spans(text).into_iter().filter_map(as_path).collect();
    assert_eq!(
        paths,
        [
            "crates/a/src/b.rs",
            "src/c.rs",
            "tests/d.rs",
            "store/busy.rs",
            "busy.rs"
        ]
    );
}

#[test]
fn a_missing_path_is_named() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = "`src/lib.rs` and `crates/store/src/no_such_room.rs`, `store/busy.rs`";
    assert_eq!(
        missing_paths(text, root),
        ["crates/store/src/no_such_room.rs", "store/busy.rs"]
    );
}

/// Every page of `docs/` (`docs/**/*.md`), CONTRIBUTING.md and README.md, by its path
/// from the repository's root.
fn pages(root: &Path) -> Vec<String> {
    let mut found = vec!["CONTRIBUTING.md".to_owned(), "README.md".to_owned()];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    found.sort();
    found
}

fn read(root: &Path, page: &str) -> String {
    std::fs::read_to_string(root.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"))
}

/// The longest a table cell may be: a few lines of text. What does not fit is said
/// under the table, or the row split.
const CELL_MAX: usize = 400;

/// Words that tell how a figure or a behaviour came to be, not what it is: which
/// issue, sitting or session made it, what it was before (CHANGELOG.md's, by version).
const HISTORY: [&str; 12] = [
    r"\bissues? \d+",
    r"\bsittings?\b",
    r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|this|that|last|previous|earlier|later|next|one|same) session\b|\bsession before\b",
    r"[(;] ?(was|were) ",
    // A figure told by what it was: "went from 1.24× to", "now 7 (…)", "it was 63×",
    // "was 9-15 s".
    r"\bwent from\b|[,;] now \**\d|\b(it|they) (was|were) \**\d",
    r"\bwas \**[\d,.]+[-–]?[\d,.]*\**\s?(ms|s|%|×|x|mib|gib|kib|µs)\b",
    // The work that made it: a first measurement, a try, what is left to try.
    r"\bfirst measurement\b|\bleft to try\b|\b(first|second|third|next|last|another) try\b",
    r"\bhas since\b|\bsince moved\b",
    // A sentence that opens on the past: "Before, …", "Earlier (…)".
    r"(?m)(^|[.:] |^- )(before|earlier|previously|formerly),",
    r"(?m)(^|[.:] )earlier \(",
    r"\b(measured|found|made|added) (in|by) (the|this|that|an earlier) (issue|session|branch|pass)\b",
    r"\bthe lead\b",
];

/// `text` with its fenced blocks and inline code blanked (lines kept): what baton
/// prints, quoted, is not the page's own history.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fenced = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            let mut code = false;
            for part in line.split('`') {
                if !code {
                    out.push_str(part.trim_end_matches('\n'));
                }
                code = !code;
            }
        }
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The history words `text` holds (outside code), each with its line.
fn history_words(text: &str) -> Vec<String> {
    let lower = prose(text).to_lowercase();
    let mut found = Vec::new();
    for pattern in HISTORY {
        let re = regex::Regex::new(pattern).unwrap();
        for m in re.find_iter(&lower) {
            found.push(format!(
                "line {}: {:?}",
                lower[..m.start()].matches('\n').count() + 1,
                m.as_str()
            ));
        }
    }
    found
}

/// The cells of `text`'s tables over [`CELL_MAX`] characters, each with its line.
fn long_cells(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| l.starts_with('|')) {
        for cell in line.split('|') {
            let len = cell.chars().count();
            if len > CELL_MAX {
                let start: String = cell.trim().chars().take(40).collect();
                found.push(format!("line {}: {len} characters ({start}…)", n + 1));
            }
        }
    }
    found
}

#[test]
fn history_and_long_cells_are_found() {
    let text = "a figure (issue 62, fifth session): 3 ms (was 5 ms)\n\
                the session's follow; the sitting; the twelfth session\n\
                `(was \"…\")`, as baton prints it\n\
                ```\nissue 3\n```\n\
                | short | cell |\n";
    assert_eq!(history_words(text).len(), 6, "{:?}", history_words(text));
    let past = "it went from 1.24× to 1.04×; now 7 of 24. It was 63× cat, was 9-15 s.\n\
                What the first measurement found. Left to try: less.\n\
                Before, it compared all. Earlier (three ssh): 3.35. It has since moved.\n\
                Before a step starts, baton checks; a retry tries it again; now and then.\n";
    assert_eq!(history_words(past).len(), 9, "{:?}", history_words(past));
    let long = format!("| {} |\n| ok |\n", "x".repeat(CELL_MAX + 1));
    assert_eq!(long_cells(&long).len(), 1);
}

/// Every page of docs/ (and CONTRIBUTING.md) states the present (issue 77 point 6):
/// every path it names exists (written from the repository's root), each table cell
/// is a few lines at most, and no figure or behaviour is told by the issue, sitting
/// or session that made it, or by what it was (that is CHANGELOG.md's, by version).
#[test]
fn the_docs_state_the_present() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut wrong = Vec::new();
    for page in pages(root) {
        let text = read(root, &page);
        let checks = [
            ("history words", history_words(&text)),
            ("cells over 400 characters", long_cells(&text)),
            ("paths that do not exist", missing_paths(&text, root)),
        ];
        for (what, found) in checks {
            if !found.is_empty() {
                wrong.push(format!("{page}: {} {what}: {found:?}", found.len()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the docs state the present: a path from the repository's root, a cell of a few \
         lines, no history (CHANGELOG.md has it, by version):\n{}",
        wrong.join("\n")
    );
}

/// docs/performance.md, one table of figures, tells no history at all: no session,
/// no try, no former value.
#[test]
fn the_performance_page_states_the_present() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lower = read(root, "docs/performance.md").to_lowercase();
    for history in ["session", "(was ", "; was ", " try "] {
        assert!(
            !lower.contains(history),
            "docs/performance.md tells its history ({history:?}): state the present, put the past in CHANGELOG.md"
        );
    }
}
