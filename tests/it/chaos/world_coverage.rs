//! Issue 77 point 4: a new capability arrives with its world. Every event kind of the
//! store (`EventKind`, by the names `EventKind::name` gives) and every workflow key
//! (each table's keys the loader checks a file against, `workflow::KEY_TABLES`, a key
//! by its table's place: `timeout` and `step.timeout` are two) is
//! either made by the simulator (`crates/sim`) or named in docs/simulator-world.md,
//! "Outside the simulated world", with why. Both are measured: the simulator's
//! scenarios are played, two seeds of every mix and one more of `executors`, and the
//! kinds their histories record (each event a store committed is a line of its history)
//! and the keys their workflows set, each in its table, are collected.
use baton::workflow::tree::{self, Node, Val};
use baton::workflow::{KEY_TABLES, KeyTable};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The page that names what is deliberately outside, and its section.
const PAGE: &str = "docs/simulator-world.md";
const SECTION: &str = "## Outside the simulated world";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
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

/// What the simulator's scenarios made: the kinds of the events their histories
/// recorded, and the keys their workflows set (`Outcome::workflows`, each read with
/// the loader's own tree). Seeds 1 and 2 of every mix (`--mix accounts` where its
/// accounts exist), and seed 29 of `--mix executors`.
fn simulated() -> (BTreeSet<String>, BTreeSet<String>) {
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
    let (mut kinds, mut keys) = (BTreeSet::new(), BTreeSet::new());
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
            // An event's line is `  RUN {event}`: its kind is the object's own
            // `type`, not a `type` some payload carries.
            for line in &o.history {
                let event = line
                    .find('{')
                    .and_then(|at| serde_json::from_str::<serde_json::Value>(&line[at..]).ok());
                if let Some(kind) = event.as_ref().and_then(|e| e["type"].as_str()) {
                    kinds.insert(kind.to_string());
                }
            }
            for text in &o.workflows {
                let tree = tree::parse(text)
                    .unwrap_or_else(|e| panic!("--mix {name} seed {seed}: {e:?}\n{text}"));
                keys.extend(made(&tree));
            }
        }
    }
    (kinds, keys)
}

/// Every workflow key, from the lists the loader checks a file against, each at every
/// place its table sits (`KeyTable::named`).
fn workflow_keys() -> BTreeSet<String> {
    KEY_TABLES
        .iter()
        .flat_map(|t| {
            t.at.iter()
                .flat_map(|at| t.keys.iter().map(|k| KeyTable::named(at, k)))
        })
        .collect()
}

/// Every key of the format a workflow's tree sets, each named by the place of the
/// table where the loader reads it (a pool's `capacity` under `pools.NAME` is
/// `pools.*.capacity`, a name of `env` none; a top-level `timeout` is not a step's).
fn made(tree: &Node) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    keys_at(tree, "", &mut set);
    let mut out = BTreeSet::new();
    for (path, key) in &set {
        for t in KEY_TABLES.iter().filter(|t| t.keys.contains(&key.as_str())) {
            let places = t.at.iter().filter(|at| sits_at(at, path));
            out.extend(places.map(|at| KeyTable::named(at, key)));
        }
    }
    out
}

/// Each `(path, key)` of `node`: a table's keys at its path, an array's tables
/// (`[[step]]`, `fallback`) at the array's path.
fn keys_at(node: &Node, path: &str, out: &mut BTreeSet<(String, String)>) {
    match &node.val {
        Val::Table(entries) => {
            for e in entries.iter() {
                out.insert((path.to_string(), e.key.to_string()));
                let inner = match path {
                    "" => e.key.to_string(),
                    p => format!("{p}.{}", e.key),
                };
                keys_at(&e.node, &inner, out);
            }
        }
        Val::Array(items) => items.iter().for_each(|i| keys_at(i, path, out)),
        _ => {}
    }
}

/// Whether `path` is a place `at` names (`*` standing for any one name).
fn sits_at(at: &str, path: &str) -> bool {
    let (a, p): (Vec<&str>, Vec<&str>) = (at.split('.').collect(), path.split('.').collect());
    a.len() == p.len() && a.iter().zip(&p).all(|(a, p)| *a == "*" || a == p)
}

/// Whether `key` is listed outside, itself or by the key that opens its table
/// (`step.gate.auto.if` by `step.gate.auto`, that by `step.gate`).
fn listed_outside(out: &BTreeSet<String>, key: &str) -> bool {
    let mut k = key;
    loop {
        if out.contains(k) {
            return true;
        }
        match k.rsplit_once('.') {
            Some((owner, _)) => k = owner,
            None => return false,
        }
    }
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
    // A name two tables take is two keys.
    assert!(
        ["step", "step.workflow", "timeout", "step.timeout"]
            .iter()
            .all(|k| keys.contains(*k)),
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
    let (simulated, written) = simulated();
    let missing_keys: Vec<&String> = keys
        .iter()
        .filter(|k| !written.contains(*k) && !listed_outside(&keys_out, k))
        .collect();
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
    // its workflows now set, leaves it.
    let inside: Vec<&String> = (kinds_out.intersection(&simulated))
        .chain(keys_out.intersection(&written))
        .collect();
    assert!(
        inside.is_empty(),
        "{PAGE} lists as outside what the simulator makes: {inside:?}"
    );
}
