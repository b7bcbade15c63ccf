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

/// Every path docs/architecture.md and CONTRIBUTING.md name exists.
#[test]
fn every_path_the_docs_name_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in ["docs/architecture.md", "CONTRIBUTING.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
        let missing = missing_paths(&text, root);
        assert!(
            missing.is_empty(),
            "{doc} names paths that do not exist (write each from the repository's root): {missing:?}"
        );
    }
}

/// docs/performance.md states the present (issue 77 point 6): each figure as it is now,
/// in a cell a reader takes in at once, with no account of how it moved (that is
/// CHANGELOG.md's, by version).
#[test]
fn the_performance_page_states_the_present() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("docs/performance.md"))
        .unwrap_or_else(|e| panic!("docs/performance.md: {e}"));
    for line in text.lines().filter(|l| l.starts_with('|')) {
        for cell in line.split('|') {
            assert!(
                cell.chars().count() <= 300,
                "a cell of docs/performance.md over 300 characters (move the past to CHANGELOG.md): {cell}"
            );
        }
    }
    let lower = text.to_lowercase();
    for history in ["session", "(was ", "; was ", " try "] {
        assert!(
            !lower.contains(history),
            "docs/performance.md tells its history ({history:?}): state the present, put the past in CHANGELOG.md"
        );
    }
}
