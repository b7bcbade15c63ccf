//! Issue 77 point 4: a new capability arrives with its world. Every event kind of the
//! store (`EventKind`, by the names `EventKind::name` gives) and every workflow key
//! (the loader's top-level and step keys) is either made by the simulator
//! (`crates/sim`) or named in docs/simulator-world.md, "Outside the simulated world",
//! with why. The event kinds are measured: the simulator's scenarios are played, two
//! seeds of every mix and one more of `executors`, and the kinds their histories record are collected (each event
//! a store committed is a line of its history). The keys are read from the workflows
//! the simulator writes (its sources: a key at a line's start in a workflow's text).
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The page that names what is deliberately outside, and its section.
const PAGE: &str = "docs/simulator-world.md";
const SECTION: &str = "## Outside the simulated world";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The quoted words of the `&[…]` list `name` of the source `rel`.
fn listed(rel: &str, name: &str) -> BTreeSet<String> {
    let text = read(rel);
    let at = text
        .find(&format!("const {name}: &[&str] = &["))
        .unwrap_or_else(|| panic!("{rel} has no list {name}"));
    let body = &text[at..];
    let body = &body[..body.find("];").expect("the list's end")];
    quoted(body)
}

/// Every `"word"` in `text`.
fn quoted(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// Every event kind's name, from the type (`EventKind::VARIANTS`, derived); the arms
/// of `EventKind::name`, which the docs and the histories' readers use, give the same.
fn event_kinds() -> BTreeSet<String> {
    use strum::VariantNames;
    let kinds: BTreeSet<String> = baton::model::EventKind::VARIANTS
        .iter()
        .map(|k| k.to_string())
        .collect();
    let text = read("crates/model/src/event.rs");
    let at = text
        .find("pub fn name(&self) -> &'static str {\n        use EventKind::*;")
        .expect("EventKind::name in crates/model/src/event.rs");
    let body = &text[at..];
    let body = &body[..body.find("\n    }\n").expect("its end")];
    let named: BTreeSet<String> = body
        .lines()
        .filter(|l| l.contains("=>"))
        .flat_map(quoted)
        .collect();
    assert_eq!(
        kinds, named,
        "EventKind::name and the kinds' serde names differ"
    );
    kinds
}

/// The kinds of the events the simulator's scenarios recorded: seeds 1 and 2 of every
/// mix (`--mix accounts` where its accounts exist), and seed 29 of `--mix executors`.
fn simulated_kinds() -> BTreeSet<String> {
    let mixes = [
        "all",
        "runs-only",
        "stalls",
        "rewrites",
        "spawns",
        "remote",
        "interleave",
        "accounts",
        "schedules",
        "queues",
        "serves",
        "signed",
        "executors",
        "cli",
        "hands",
    ];
    let mut seen = BTreeSet::new();
    for name in mixes {
        let mix = baton_sim::Mix::parse(name).unwrap_or_else(|| panic!("no mix {name}"));
        if mix == baton_sim::Mix::Accounts && baton_sim::accounts_missing().is_some() {
            continue;
        }
        // Seed 29 of `executors`: an operator releases a held step (`step_released`),
        // which seeds 1 and 2 of no mix do.
        let seeds: &[u64] = match mix {
            baton_sim::Mix::Executors => &[1, 2, 29],
            _ => &[1, 2],
        };
        for &seed in seeds {
            let mut config = baton_sim::Config::new(seed);
            config.mix = mix;
            let o =
                baton_sim::run(config).unwrap_or_else(|e| panic!("--mix {name} seed {seed}: {e}"));
            for line in &o.history {
                for part in line.split("\"type\":\"").skip(1) {
                    if let Some(kind) = part.split('"').next() {
                        seen.insert(kind.to_string());
                    }
                }
            }
        }
    }
    seen
}

/// The workflow keys: top level and step.
fn workflow_keys() -> BTreeSet<String> {
    let mut keys = listed("crates/workflow/src/load/mod.rs", "TOP_FIELDS");
    keys.extend(listed("crates/workflow/src/load/steps.rs", "STEP_FIELDS"));
    keys
}

/// Every `.rs` file under `dir`, read.
fn sources(dir: &Path, out: &mut String) {
    for e in std::fs::read_dir(dir)
        .expect("the simulator's sources")
        .flatten()
    {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            out.push('\n');
        }
    }
}

/// Whether the simulator's workflows write `key`: at the start of a line of a
/// workflow's text (a raw string's line, after `\n`, after a placeholder such as
/// `{on}`, or a string's first word), or as a table's header opening such a line
/// (`[key]`, `[key.x]`, `[[key]]`).
fn written(src: &str, key: &str) -> bool {
    let assigned = |before: &str| {
        src.contains(&format!("{before}{key} = ")) || src.contains(&format!("{before}{key}="))
    };
    let at_line_start = src
        .lines()
        .any(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("{key}=")));
    let after_placeholder = src.match_indices(&format!("}}{key} = ")).any(|(i, _)| {
        src[..i].rfind('{').is_some_and(|o| {
            src[o + 1..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    });
    // A table's header opens a line of the text (never Rust's `[x.clone()]`).
    let opens = |text: &str| {
        [format!("[{key}]"), format!("[{key}."), format!("[[{key}]]")]
            .iter()
            .any(|h| text.starts_with(h.as_str()))
    };
    let header = |before: &str| {
        src.match_indices(before)
            .any(|(i, _)| opens(&src[i + before.len()..]))
    };
    let header_line = src.lines().any(opens);
    at_line_start
        || after_placeholder
        || assigned("\\n")
        || assigned("\"")
        || header_line
        || header("\\n")
        || header("\"")
}

/// The names of the section's tables, by the `###` heading each is under: the
/// backquoted words of each row's first cell, with whether the row says why.
fn outside() -> (BTreeSet<String>, BTreeSet<String>, Vec<String>) {
    let page = read(PAGE);
    let at = page
        .find(SECTION)
        .unwrap_or_else(|| panic!("{PAGE} has no section {SECTION:?}"));
    let section = &page[at + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let (mut kinds, mut keys, mut bare) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    let mut into: Option<bool> = None;
    for line in section.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            into = Some(h.to_lowercase().contains("event"));
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(kind), true) = (into, line.starts_with('|') && cells.len() >= 4) else {
            continue;
        };
        let names: Vec<String> = cells[1]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        if names.is_empty() {
            continue;
        }
        if cells[2].len() < 20 {
            bare.extend(names.iter().cloned());
        }
        match kind {
            true => kinds.extend(names),
            false => keys.extend(names),
        }
    }
    (kinds, keys, bare)
}

#[test]
fn every_event_kind_and_workflow_key_is_simulated_or_said_to_be_outside_with_why() {
    let (kinds_out, keys_out, bare) = outside();
    assert!(
        bare.is_empty(),
        "{PAGE}: rows that do not say why: {bare:?}"
    );
    let kinds = event_kinds();
    assert!(kinds.len() > 30, "the kinds read: {kinds:?}");
    let keys = workflow_keys();
    assert!(
        keys.contains("workflow") && keys.contains("step"),
        "{keys:?}"
    );
    // A name the list gives that is no kind or key is a slip of the list's.
    let unknown: Vec<&String> = (kinds_out.difference(&kinds))
        .chain(keys_out.difference(&keys))
        .collect();
    assert!(
        unknown.is_empty(),
        "{PAGE} names what is no event kind or workflow key: {unknown:?}"
    );
    let mut src = String::new();
    sources(&root().join("crates/sim/src"), &mut src);
    let missing_keys: Vec<&String> = keys
        .iter()
        .filter(|k| !written(&src, k) && !keys_out.contains(*k))
        .collect();
    let simulated = simulated_kinds();
    let missing_kinds: Vec<&String> = kinds
        .iter()
        .filter(|k| !simulated.contains(*k) && !kinds_out.contains(*k))
        .collect();
    assert!(
        missing_kinds.is_empty() && missing_keys.is_empty(),
        "no simulated action makes these, and {PAGE} ({SECTION:?}) does not say why they are \
         outside the simulated world: event kinds {missing_kinds:?}, workflow keys \
         {missing_keys:?}. Give the simulator an action that makes each (CONTRIBUTING.md, \"A \
         new hand on a run enters the simulated world\"), or name it there with why."
    );
    // And the list keeps to what is outside: a kind the simulator now makes, or a key
    // its workflows now write, leaves it.
    let inside: Vec<&String> = (kinds_out.intersection(&simulated))
        .chain(keys_out.iter().filter(|k| written(&src, k)))
        .collect();
    assert!(
        inside.is_empty(),
        "{PAGE} lists as outside what the simulator makes: {inside:?}"
    );
}
