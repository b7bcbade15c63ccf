//! Issue 45 point 4: every command the console, `inbox` and `show` print works when
//! pasted, and every run id they print is the shortest prefix the store tells apart.
//! Runs wait at a gate with a typed input, at an exhausted budget and on a step to
//! mark; for each, a run was made next to it in the store whose id shares its first 14
//! characters (runs started in the same second share 8). The commands are read from
//! `inbox`, `show` and the console's Waiting tab (in tmux), and each is run on a copy
//! of the run it names, `…` filled in as the operator would type it.
use super::*;
use crate::cli::suggestions::first_line;
use std::collections::{BTreeMap, BTreeSet};

const GATE: &str = "name = 'gated'\n[[step]]\nid = 'ship'\nrun = 'true'\n[step.gate]\nprompt = 'Ship it?'\n[step.gate.inputs]\nticket = { type = 'string', required = true, pattern = '^[a-z]+$' }\n";
const BUDGET: &str = "name = 'budgeted'\nbudget = { cost = 1.0 }\n[[step]]\nid = 'a'\nrun = 'true'\ncost = 1.0\n[[step]]\nid = 'b'\nneeds = ['a']\nrun = 'true'\ncost = 1.0\n";
const MARK: &str =
    "name = 'marked'\n[[step]]\nid = 'migrate'\nrun = 'sleep 60'\nidempotent = false\n";
/// Copies of each waiting run: one per distinct command printed for it.
const COPIES: usize = 4;
/// What `…` stands for: a reason, or the gate's input (`^[a-z]+$`).
const FILL: &str = "checked";

struct Staged {
    scenario: &'static str,
    id: String,
    engine: Option<std::process::Child>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(mut c) = self.engine.take() {
            crate::cli::suggestions::terminate(&mut c);
        }
    }
}

fn stage(env: &Env) -> Vec<Staged> {
    let mut out = Vec::new();
    for (scenario, wf) in [("gate", GATE), ("budget", BUDGET), ("mark", MARK)] {
        let path = env.workflow(&format!("{scenario}.toml"), wf);
        for _ in 0..COPIES {
            let known: Vec<String> = out.iter().map(|s: &Staged| s.id.clone()).collect();
            let mut engine = env.spawn(&["run", path.to_str().unwrap(), "--headless"]);
            let id = new_run_id(env, &known);
            match scenario {
                "gate" => env.wait_step(&id, "ship", "waiting_approval", 30),
                "budget" => wait_until("the budget stop", secs(30), || {
                    let errors = env.show(&id)["errors"].clone();
                    errors
                        .as_array()
                        .is_some_and(|e| e.iter().any(|e| e["kind"] == "budget_exceeded"))
                }),
                _ => env.wait_step(&id, "migrate", "running", 30),
            }
            let engine = if scenario == "mark" {
                // Stopped while the step runs: it waits for a person (retry or mark).
                crate::cli::suggestions::terminate(&mut engine);
                env.wait_step(&id, "migrate", "interrupted", 20);
                None
            } else {
                Some(engine)
            };
            out.push(Staged {
                scenario,
                id,
                engine,
            });
        }
    }
    out
}

/// The id of a run that is not one of `known`, once it is in the store.
pub(super) fn new_run_id(env: &Env, known: &[String]) -> String {
    wait_until("a new run", secs(30), || {
        // The first run creates the store: until then `runs` finds none.
        let out = env.run(&["runs", "--json"]);
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        runs.as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| !known.iter().any(|k| k == id))
            .map(str::to_string)
    })
}

/// A run in the store whose id shares the first 14 characters of `id`.
fn twin_of(id: &str) -> String {
    let mut cs: Vec<char> = id.chars().collect();
    cs[14] = if cs[14] == '0' { '1' } else { '0' };
    cs.into_iter().collect()
}

/// The `baton …` commands in `text`: each in backticks, or a line (or what is left of
/// it inside a console panel) that starts with one.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.replace('│', " ");
        if line.contains('`') {
            out.extend(
                line.split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|c| c.starts_with("baton "))
                    .map(str::to_string),
            );
        } else if let Some(i) = line.find("baton ")
            && line[..i].trim().is_empty()
        {
            out.push(line[i..].trim().to_string());
        }
    }
    out
}

/// Every word of `text` that is a prefix of one of `ids` (8 characters or more): each
/// must take `baton` to that run, and one character less must not be enough. The ids
/// printed shorter than whole.
fn check_ids(env: &Env, where_: &str, printed: &str, ids: &[String]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let words = printed.split(|c: char| c.is_whitespace() || "│`(),:".contains(c));
    for w in words.filter(|w| w.chars().count() >= 8) {
        let Some(id) = ids.iter().find(|id| id.starts_with(w)) else {
            continue;
        };
        if w != id {
            seen.insert(id.clone());
        }
        let out = env.run(&["show", w, "--json"]);
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["id"].as_str(), Some(id.as_str()), "{where_}: `{w}`");
        } else {
            // A twin (no events to show): the prefix still named exactly its run.
            let said = text_of(&out);
            assert!(
                said.contains(&format!("run {id}:")) && !said.contains("ambiguous"),
                "{where_}: `{w}` does not resolve: {said}"
            );
        }
        if w.len() > 8 && w != id {
            let shorter = &w[..w.len() - 1];
            let out = env.run(&["show", shorter, "--json"]);
            assert!(
                text(&out.stderr).contains("ambiguous"),
                "{where_}: `{w}` is longer than it needs to be (`{shorter}` would do)"
            );
        }
    }
    seen
}

fn text_of(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn every_command_and_id_the_console_inbox_and_show_print_works_when_pasted() {
    let env = Env::new();
    let runs = stage(&env);
    let ids: Vec<String> = runs.iter().map(|r| r.id.clone()).collect();
    add_twin_runs(&env, &ids);
    let mut printed = printed_by_the_inbox_and_show(&env, &ids);
    printed.extend(printed_by_the_console(&env, &ids));
    let templates = templates_of(&printed, &runs);
    each_printed_command_works_on_a_copy_of_its_run(&env, &runs, &templates);
    every_scenario_printed_its_commands_from_each_place(&templates);
}

/// A command as printed with the run it names as `{RUN}`, by scenario: where it was
/// printed.
type Templates = BTreeMap<(&'static str, String), Vec<String>>;

/// For each staged run, a run whose id shares its first characters (`twin_of`).
fn add_twin_runs(env: &Env, ids: &[String]) {
    let mut store = baton::store::Store::open(&env.db()).expect("open the store");
    for id in ids {
        let mut twin = new_run(&twin_of(id), 1_700_000_000_000);
        twin.source_text = "name = \"release\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n".into();
        store.create_run(&twin).expect("a twin run");
    }
}

/// The commands `baton inbox` and `baton show RUN` print, with where from; the inbox's
/// RUN column names every run.
fn printed_by_the_inbox_and_show(env: &Env, ids: &[String]) -> Vec<(String, String)> {
    let mut printed: Vec<(String, String)> = Vec::new();
    // `baton inbox`: its RUN column and its commands.
    let out = env.run(&["inbox"]);
    assert!(out.status.success(), "{}", text_of(&out));
    let inbox = text(&out.stdout);
    assert_eq!(
        check_ids(env, "inbox", &inbox, ids).len(),
        ids.len(),
        "{inbox}"
    );
    printed.extend(commands(&inbox).into_iter().map(|c| ("inbox".into(), c)));

    // `baton show RUN`: what waits and the error records' suggestions.
    for id in ids {
        let shown = text(&env.run(&["show", id]).stdout);
        printed.extend(commands(&shown).into_iter().map(|c| ("show".into(), c)));
    }
    printed
}

/// The console: the Runs tab's ids (every run, twins too), and the Waiting tab's ids
/// and commands.
fn printed_by_the_console(env: &Env, ids: &[String]) -> Vec<(String, String)> {
    let mut printed: Vec<(String, String)> = Vec::new();
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=tester {} tui ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(env, 200, 60, &command);
    let mut all = ids.to_vec();
    all.extend(ids.iter().map(|i| twin_of(i)));
    tmux.keys(&["5"]);
    let screen = tmux.wait_for(
        "every run in the Runs tab",
        |s| all.iter().all(|id| s.contains(&id[..15])),
        30,
    );
    assert_eq!(
        check_ids(env, "Runs tab", &screen, &all).len(),
        all.len(),
        "{screen}"
    );
    tmux.keys(&["6"]);
    let mut seen_waiting = Vec::new();
    let mut prev: Vec<String> = Vec::new();
    for k in 0..ids.len() {
        let screen = tmux.wait_for(
            &format!("the Waiting tab's item {k}"),
            |s| {
                let c = commands(s);
                !c.is_empty() && c != prev
            },
            20,
        );
        let c = commands(&screen);
        printed.extend(c.iter().map(|c| ("console".to_string(), c.clone())));
        seen_waiting.push(screen.clone());
        prev = c;
        tmux.keys(&["Down"]);
    }
    assert_eq!(
        check_ids(env, "Waiting tab", &seen_waiting[0], ids).len(),
        ids.len(),
        "{}",
        seen_waiting[0]
    );
    printed
}

/// Each distinct command, the run it names (whole or by a prefix) as `{RUN}`.
fn templates_of(printed: &[(String, String)], runs: &[Staged]) -> Templates {
    let mut templates: Templates = BTreeMap::new();
    for (source, c) in printed {
        // The run it names, whole or by a prefix.
        let (word, run) = c
            .split_whitespace()
            .filter(|w| w.len() >= 8)
            .find_map(|w| runs.iter().find(|r| r.id.starts_with(w)).map(|r| (w, r)))
            .unwrap_or_else(|| panic!("{source}: `{c}` names no staged run"));
        let template = c
            .split_whitespace()
            .map(|w| if w == word { "{RUN}" } else { w })
            .collect::<Vec<_>>()
            .join(" ");
        templates
            .entry((run.scenario, template))
            .or_default()
            .push(source.clone());
    }
    templates
}

/// Each distinct command on its own copy of the run it names: not refused, and it does
/// what it says.
fn each_printed_command_works_on_a_copy_of_its_run(
    env: &Env,
    runs: &[Staged],
    templates: &Templates,
) {
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    for ((scenario, template), sources) in templates {
        let k = used.entry(scenario).or_default();
        let copies: Vec<&Staged> = runs.iter().filter(|r| r.scenario == *scenario).collect();
        let target = copies
            .get(*k)
            .unwrap_or_else(|| panic!("more commands for {scenario} than its {COPIES} copies"));
        *k += 1;
        let command = template.replace("{RUN}", &target.id);
        let words = shlex::split(&command).expect("a printed command splits as shell words");
        assert_eq!(words[0], "baton", "{command}");
        let args: Vec<String> = words[1..].iter().map(|w| w.replace('…', FILL)).collect();
        let (line, code, err) = first_line(env, &args);
        let what = format!("[{sources:?}] `{command}` said {line:?} (exit {code:?}) {err}");
        assert_ne!(code, Some(2), "refused as bad usage: {what}");
        assert!(!line.starts_with("refused"), "{what}");
        match args[0].as_str() {
            "logs" => assert_eq!(code, Some(0), "{what}"),
            "resume" => assert!(!line.is_empty() && !err.contains("error"), "{what}"),
            _ => assert!(
                line.starts_with("accepted") || line.starts_with("recorded"),
                "{what}"
            ),
        }
    }
}

/// What each scenario must have printed, from each place.
fn every_scenario_printed_its_commands_from_each_place(templates: &Templates) {
    for (scenario, verb) in [
        ("gate", "approve"),
        ("gate", "reject"),
        ("budget", "approve"),
        ("budget", "cancel"),
        ("mark", "retry"),
        ("mark", "mark"),
    ] {
        for source in ["inbox", "show", "console"] {
            assert!(
                templates.iter().any(|((s, t), from)| *s == scenario
                    && t.starts_with(&format!("baton {verb} "))
                    && from.iter().any(|f| f == source)),
                "{source} printed no `{verb}` for the {scenario}: {templates:#?}"
            );
        }
    }
}
