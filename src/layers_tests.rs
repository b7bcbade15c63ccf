//! The layers of docs/architecture.md, checked on the source: a lower layer never names
//! an upper one. `model`, `workflow`, `store`, `exec` and `engine` name nothing of
//! `session`, `tui`, `cli` or `config`; `session` names nothing of `tui` or `cli`, nor
//! `config` anything of the session or the front ends. Every
//! `crate::…` path outside comments counts, in `use` lines and in code, tests included.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Arrows that break the rule today, each with the change that removes it (none now:
/// an entry here is a debt, and the test fails once the arrow is gone).
const ALLOWED: &[(&str, &str)] = &[];

/// The upper layers a layer must not name.
fn forbidden(layer: &str) -> &'static [&'static str] {
    match layer {
        "model" | "workflow" | "store" | "exec" | "engine" => &["session", "tui", "cli", "config"],
        "session" => &["tui", "cli"],
        // Read by the session; the console's settings are the console's.
        "config" => &["session", "tui", "cli"],
        _ => &[],
    }
}

/// A file's layer: the module directly under `src/` that holds it.
fn layer(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules a file's text names as `crate::x` or `crate::{x, …}`,
/// comments left out.
fn named_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let ident = |s: &str| -> String {
            s.trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        };
        if let Some(group) = rest.strip_prefix('{') {
            // One level of nesting is enough: `{a::{b, c}, d}` names `a` and `d`.
            let mut depth = 0;
            let mut item_start = true;
            for (n, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    _ if item_start && !c.is_whitespace() => {
                        out.insert(ident(&group[n..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_names_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 100, "the source was found: {}", files.len());
    let mut wrong = Vec::new();
    let mut allowed_seen = BTreeSet::new();
    for file in &files {
        let from = layer(&src, file);
        let text = std::fs::read_to_string(file).expect("a source file is readable");
        for to in named_modules(&text) {
            if !forbidden(&from).contains(&to.as_str()) {
                continue;
            }
            if ALLOWED.contains(&(from.as_str(), to.as_str())) {
                allowed_seen.insert((from.clone(), to.clone()));
                continue;
            }
            wrong.push(format!("{} ({from}) names crate::{to}", file.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows the wrong way:\n{}",
        wrong.join("\n")
    );
    for (from, to) in ALLOWED {
        assert!(
            allowed_seen.contains(&(from.to_string(), to.to_string())),
            "{from} no longer names {to}: remove the exception from ALLOWED"
        );
    }
}

#[test]
fn the_reader_finds_the_modules_a_path_names() {
    let text = "use crate::{model::{a, b}, store};\n// crate::tui in a comment\nlet x = crate::exec::run();";
    let found: Vec<String> = named_modules(text).into_iter().collect();
    assert_eq!(found, ["exec", "model", "store"]);
}

#[test]
fn an_arrow_the_wrong_way_is_found() {
    assert!(forbidden("engine").contains(&"session"));
    assert!(forbidden("session").contains(&"tui"));
    assert!(!forbidden("session").contains(&"engine"));
    let src = Path::new("/x/src");
    assert_eq!(layer(src, Path::new("/x/src/engine/core/mod.rs")), "engine");
    assert_eq!(layer(src, Path::new("/x/src/config.rs")), "config");
}
