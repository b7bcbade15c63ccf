//! The rules of CONTRIBUTING.md and docs/architecture.md that the compiler does not
//! keep, checked on the workspace's own sources (issue 77 point 7): no error that is a
//! bare `String` or a list of them (a `Result<_, String>` or `Result<_, Vec<String>>`
//! outside tests), no `matches!` over step states
//! (its hidden `_ => false` keeps the compiler from naming the places a new state must
//! be decided), and no public module that no other crate uses.

use std::path::Path;

/// The workspace's Rust sources outside tests, benches and examples: each crate's
/// `src/` and the root crate's `src/`, read from the repository's root.
fn sources(root: &Path) -> Vec<(String, String)> {
    let mut dirs = vec![root.join("src")];
    let crates = std::fs::read_dir(root.join("crates")).unwrap_or_else(|e| panic!("crates/: {e}"));
    dirs.extend(crates.map(|c| c.unwrap().path().join("src")));
    sources_under(root, dirs)
}

/// [`sources`] and the benches (`benches/`, its `support/` too): a bench's setup fails
/// as any command does, so its errors are typed too.
fn sources_and_benches(root: &Path) -> Vec<(String, String)> {
    let mut out = sources(root);
    out.extend(sources_under(root, vec![root.join("benches")]));
    out.sort();
    out
}

/// The Rust files under `dirs` outside tests, each with its test modules blanked.
fn sources_under(root: &Path, mut dirs: Vec<std::path::PathBuf>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            // Read from the root: a directory above it named `tests` says nothing.
            let name = path.strip_prefix(root).unwrap();
            if path.extension().is_some_and(|e| e == "rs") && !is_test_file(name) {
                let text = std::fs::read_to_string(&path).unwrap();
                let name = name.to_string_lossy().into_owned();
                out.push((name, without_test_modules(&text)));
            }
        }
    }
    out.sort();
    out
}

/// A file of tests or of test fixtures: `tests.rs`, `*_tests.rs`, `fixtures.rs`, one
/// under a `tests/` directory, or one of this crate's test-only modules.
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "tests.rs"
        || name == "source_rules.rs"
        || name == "docs_paths.rs"
        || name.ends_with("_tests.rs")
        || name == "fixtures.rs"
        || path.components().any(|c| c.as_os_str() == "tests")
}

/// The text with each inline `#[cfg(test)] mod NAME { … }` blanked (lines kept, so a
/// line number still points at the file).
fn without_test_modules(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        let opens_test_module = line.trim() == "#[cfg(test)]"
            && lines.peek().is_some_and(|next| {
                let next = next.trim();
                next.starts_with("mod ") && next.ends_with('{')
            });
        if !opens_test_module {
            out.push_str(line);
            continue;
        }
        out.push('\n');
        // Blank to the module's closing brace, at the indentation it opened at.
        let open = lines.next().unwrap_or("");
        let indent = &open[..open.len() - open.trim_start().len()];
        out.push('\n');
        for inner in lines.by_ref() {
            out.push('\n');
            if inner.trim_end() == format!("{indent}}}") {
                break;
            }
        }
    }
    out
}

/// The 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// The text of each `open(…)` call whose opening parenthesis ends a match of `open`
/// (the macro's or the type's name), its brackets balanced; `(` `[` `<` open and
/// `)` `]` `>` close when `angles`, only the first two otherwise.
fn bracketed<'a>(text: &'a str, open: &str, angles: bool) -> Vec<(usize, &'a str)> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices(open) {
        let before = text[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut depth = 0usize;
        for (i, c) in text[start + open.len() - 1..].char_indices() {
            match c {
                '(' | '[' => depth += 1,
                '<' if angles => depth += 1,
                ')' | ']' => depth = depth.saturating_sub(1),
                '>' if angles && !text[..start + open.len() - 1 + i].ends_with('-') => {
                    depth = depth.saturating_sub(1)
                }
                _ => {}
            }
            if depth == 0 {
                let end = start + open.len() + i;
                found.push((start, &text[start..end]));
                break;
            }
        }
    }
    found
}

/// `Result<T, String>` and `Result<T, Vec<String>>`: a result type whose error, its last
/// argument at the top level, is a bare `String` or a list of them.
fn string_errors(text: &str) -> Vec<usize> {
    bracketed(text, "Result<", true)
        .into_iter()
        .filter(|(_, ty)| {
            // A long type is written one argument a line, a comma after the last.
            let inner = ty["Result<".len()..ty.len() - 1].trim_end();
            let inner = inner.strip_suffix(',').unwrap_or(inner);
            let mut depth = 0i32;
            let mut last = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '<' | '(' | '[' => depth += 1,
                    '>' | ')' | ']' => depth -= 1,
                    ',' if depth == 0 => last = i + 1,
                    _ => {}
                }
            }
            let error = inner[last..].trim();
            let listed = error
                .strip_prefix("Vec<")
                .and_then(|e| e.strip_suffix('>'))
                .unwrap_or(error);
            last > 0 && matches!(listed, "String" | "std::string::String")
        })
        .map(|(at, _)| line_of(text, at))
        .collect()
}

/// The `matches!` calls that name a step state: as `StepState::X`, through an alias
/// the file imports (`use StepState as S;` then `S::X`), or bare where the file
/// imports every state (`use StepState::*;`), the states' names read from the type.
fn step_state_matches(text: &str) -> Vec<usize> {
    let alias = regex::Regex::new(r"use\s+[\w:]*StepState as (\w+);").unwrap();
    let mut prefixes = vec!["StepState::".to_string()];
    prefixes.extend(alias.captures_iter(text).map(|a| format!("{}::", &a[1])));
    let names: Vec<String> = baton_model::StepState::ALL
        .iter()
        .map(|s| format!("{s:?}"))
        .collect();
    let bare = regex::Regex::new(&format!(r"(^|[^:\w])({})\b", names.join("|"))).unwrap();
    let glob = regex::Regex::new(r"use\s+[\w:]*StepState::\*;").unwrap();
    let all_imported = glob.is_match(text);
    bracketed(text, "matches!(", false)
        .into_iter()
        .filter(|(_, call)| {
            prefixes.iter().any(|p| call.contains(p.as_str()))
                || (all_imported && bare.is_match(call))
        })
        .map(|(at, _)| line_of(text, at))
        .collect()
}

/// Where a bare `String` error is still allowed, each file with how many at most: a
/// list that may only shrink, and is empty.
const STRING_ERRORS_LEFT: &[(&str, usize)] = &[];

/// `matches!` over step states still allowed, at most so many a file (a list that
/// may only shrink): none.
const STEP_STATE_MATCHES_LEFT: &[(&str, usize)] = &[];

/// The files of `files` whose count is over what `left` allows them, each with its
/// lines.
fn over_allowance(
    files: Vec<(String, String)>,
    scan: fn(&str) -> Vec<usize>,
    left: &[(&str, usize)],
) -> Vec<String> {
    let mut over = Vec::new();
    for (file, text) in files {
        let lines = scan(&text);
        let allowed = left.iter().find(|(f, _)| *f == file).map_or(0, |(_, n)| *n);
        if lines.len() > allowed {
            over.push(format!(
                "{file}: {} (lines {lines:?}), {allowed} allowed",
                lines.len()
            ));
        }
    }
    over
}

#[test]
fn the_scanners_find_what_they_name() {
    let text = "fn a() -> Result<Vec<String>, String> {}\n\
                fn b() -> Result<String, Error> {}\n\
                fn d(f: impl Fn() -> u8) -> Result<HashMap<String, u8>, String> {}\n\
                fn e() -> MyResult<(), String> {}\n\
                let x = matches!(s, StepState::Failed | StepState::Cancelled);\n\
                let y = matches!(k, EventKind::Started { .. });\n\
                #[cfg(test)]\nmod tests {\n    fn f() -> Result<(), String> {}\n}\n\
                fn g() -> Result<u8, std::string::String> {}\n";
    let text = without_test_modules(text);
    assert_eq!(string_errors(&text), [1, 3, 11]);
    assert_eq!(step_state_matches(&text), [5]);
    let aliased = "use baton_model::StepState as S;\nlet a = matches!(s, S::Held);\n\
                   let b = matches!(r, RunState::Failed);\n";
    assert_eq!(step_state_matches(aliased), [2]);
    let glob = "use StepState::*;\nlet a = matches!(s, Failed | Held);\n\
                let b = matches!(r, RunState::Failed);\nlet c = matches!(n, Some(_));\n";
    assert_eq!(step_state_matches(glob), [2]);
}

/// A list of bare strings is no error type either; a list as the value is not an error.
#[test]
fn a_list_of_strings_as_the_error_is_found() {
    let text = "fn a() -> Result<u8, Vec<String>> {}\n\
                fn b() -> Result<Vec<String>, Problems> {}\n\
                fn c() -> Result<\n    BTreeMap<String, String>,\n    Vec<std::string::String>,\n> {}\n\
                fn d() -> Result<u8, Vec<Problem>> {}\n\
                fn e() -> Result<u8, Vec<Vec<String>>> {}\n\
                #[cfg(test)]\nmod tests {\n    fn f() -> Result<(), Vec<String>> {}\n}\n";
    let text = without_test_modules(text);
    assert_eq!(string_errors(&text), [1, 3]);
}

/// A bench's `Result<_, String>` put back is found: the scan reads `benches/` (and its
/// `support/`) as it reads each crate's `src/`.
#[test]
fn a_string_error_put_back_in_a_bench_is_found() {
    let root = tempfile::tempdir().unwrap();
    for dir in ["src", "crates/c/src", "benches/support"] {
        std::fs::create_dir_all(root.path().join(dir)).unwrap();
    }
    let typed = "fn start() -> Result<u8, BenchError> {}\n";
    std::fs::write(root.path().join("crates/c/src/lib.rs"), typed).unwrap();
    std::fs::write(root.path().join("benches/lag.rs"), typed).unwrap();
    let files = || sources_and_benches(root.path());
    assert!(over_allowance(files(), string_errors, &[]).is_empty());
    let bare = "use x;\nfn start() -> Result<(f64, Vec<f64>), String> {}\n";
    std::fs::write(root.path().join("benches/support/daemons.rs"), bare).unwrap();
    assert_eq!(
        over_allowance(files(), string_errors, &[]),
        ["benches/support/daemons.rs: 1 (lines [2]), 0 allowed"]
    );
}

/// No `Result<_, String>` nor `Result<_, Vec<String>>` outside tests, in the crates and
/// the benches: an error is a type (thiserror) that says what happened and what to do
/// (CONTRIBUTING.md).
#[test]
fn no_bare_string_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = over_allowance(sources_and_benches(root), string_errors, STRING_ERRORS_LEFT);
    assert!(
        found.is_empty(),
        "Result<_, String> or Result<_, Vec<String>> outside tests: give each error a type \
         of its own (thiserror) saying what to do, or lower the count left in \
         STRING_ERRORS_LEFT:\n{}",
        found.join("\n")
    );
}

/// No `matches!` over step states outside tests (docs/architecture.md, "States and
/// exit codes"): ask the state a question of its table (`StepState::is_retryable`,
/// `precedes_attempt`, …) or match it naming every state.
#[test]
fn no_wildcard_matches_over_step_states() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = over_allowance(sources(root), step_state_matches, STEP_STATE_MATCHES_LEFT);
    assert!(
        found.is_empty(),
        "matches! over StepState (its `_ => false` hides a new state from the compiler): \
         use a question of StepState's table or a match that names every state:\n{}",
        found.join("\n")
    );
}

/// Every Rust file of the workspace (tests, benches and examples too), outside `target/`.
fn every_rust_file(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = ["src", "crates", "tests", "benches", "examples", "fuzz"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("target") {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect();
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((name, code.join("\n")));
            }
        }
    }
    out
}

/// The names `lib` re-exports from its module `name` under their own names
/// (`pub use NAME::{A, B};`, `pub use NAME::A;`), or `None` for all of them
/// (`pub use NAME::*;`).
fn reexported(lib: &str, name: &str) -> Option<Vec<String>> {
    let uses = regex::Regex::new(&format!(r"pub use {name}::(\*|\{{[^}}]*\}}|\w+);")).unwrap();
    let mut names = Vec::new();
    for found in uses.captures_iter(lib) {
        let list = found[1].trim_matches(['{', '}']);
        if list == "*" {
            return None;
        }
        let plain = list.split(',').map(str::trim);
        names.extend(
            plain
                .filter(|n| !n.is_empty() && !n.contains(' '))
                .map(String::from),
        );
    }
    Some(names)
}

/// A crate's public modules (`pub mod NAME` in its `src/lib.rs`) that no other crate
/// needs as a namespace: none names it (`baton_CRATE::NAME`, `CRATE::NAME`,
/// `baton_CRATE::{…, NAME}`), or each that does names only items the crate's root
/// re-exports (`CRATE::NAME::ITEM` where `CRATE::ITEM` is the same). Each should be
/// private, what others use re-exported (CONTRIBUTING.md, "The layers").
fn unused_public_modules(root: &Path) -> Vec<String> {
    let files = every_rust_file(root);
    let mut unused = Vec::new();
    let crates = std::fs::read_dir(root.join("crates")).unwrap_or_else(|e| panic!("crates/: {e}"));
    for dir in crates.map(|c| c.unwrap().path()) {
        let Ok(lib) = std::fs::read_to_string(dir.join("src/lib.rs")) else {
            continue;
        };
        let short = dir.file_name().unwrap().to_string_lossy().into_owned();
        let own = format!("crates/{short}/");
        for line in lib.lines() {
            let Some(rest) = line.strip_prefix("pub mod ") else {
                continue;
            };
            let name = rest.trim_end_matches([';', '{', ' ']);
            let named = regex::Regex::new(&format!(
                r"\b(baton_)?{short}::(\{{[^}}]*\b)?{name}\b(::(\w+))?"
            ))
            .unwrap();
            let others = files.iter().filter(|(file, _)| !file.starts_with(&own));
            let uses: Vec<_> = others
                .flat_map(|(_, code)| named.captures_iter(code))
                .collect();
            // An item named through the module (`NAME::ITEM`), else the module itself.
            let items: Option<Vec<&str>> = uses
                .iter()
                .map(|u| u.get(4).filter(|_| u.get(2).is_none()).map(|i| i.as_str()))
                .collect();
            let at_root = |items: &[&str]| {
                reexported(&lib, name)
                    .is_none_or(|names| items.iter().all(|i| names.iter().any(|n| n == i)))
            };
            if uses.is_empty() {
                unused.push(format!("crates/{short}: {name} (no other crate names it)"));
            } else if let Some(items) = items.filter(|items| at_root(items)) {
                unused.push(format!(
                    "crates/{short}: {name} (others name only {items:?}, which its root re-exports)"
                ));
            }
        }
    }
    unused.sort();
    unused.dedup();
    unused
}

#[test]
fn reexported_reads_lists_and_globs() {
    let lib = "pub mod a;\npub mod b;\npub use a::{X, Y as Z};\npub use b::*;\n";
    assert_eq!(reexported(lib, "a"), Some(vec!["X".to_string()]));
    assert_eq!(reexported(lib, "b"), None);
    assert_eq!(reexported(lib, "c"), Some(vec![]));
}

/// A module no other crate uses is private (issue 77 point 7).
#[test]
fn modules_no_other_crate_uses_are_private() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unused = unused_public_modules(root);
    assert!(
        unused.is_empty(),
        "public modules no other crate needs: make each private (`mod NAME;`, its items \
         pub(crate), what others use re-exported from src/lib.rs): {unused:?}"
    );
}

/// The places (`FILE:LINE`) where a doc comment opens a Rust code block (a bare
/// fence or one marked `rust`): rustdoc would make it a test, and the crates turn
/// doc tests off (`doctest = false`: none existed, and the pass cost the suite
/// minutes), so such an example would never be compiled.
fn rust_doc_examples(sources: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (file, text) in sources {
        let mut open = false;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            let Some(doc) = line
                .strip_prefix("///")
                .or_else(|| line.strip_prefix("//!"))
            else {
                continue;
            };
            let Some(info) = doc.trim_start().strip_prefix("```") else {
                continue;
            };
            if !open && matches!(info.trim(), "" | "rust" | "no_run" | "should_panic") {
                found.push(format!("{file}:{}", n + 1));
            }
            open = !open;
        }
    }
    found
}

#[test]
fn the_rust_doc_scanner_finds_bare_and_rust_fences_only() {
    let text =
        "/// ```text\n/// a\n/// ```\n/// ```\n/// b\n/// ```\n//! ```rust\n//! c\n//! ```\n";
    let found = rust_doc_examples(&[("f.rs".to_string(), text.to_string())]);
    assert_eq!(found, ["f.rs:4", "f.rs:7"]);
}

/// No Rust example in a doc comment: write it as a test, or mark the fence `text`.
#[test]
fn no_rust_examples_in_doc_comments() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = rust_doc_examples(&sources(root));
    assert!(
        found.is_empty(),
        "a Rust example in a doc comment would never run (doc tests are off): make it a \
         test, or mark its fence `text`: {found:?}"
    );
}
