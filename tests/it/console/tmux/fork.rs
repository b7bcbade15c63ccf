//! `F` in the real console (issue 43 point 4) shows the core's own plan of a fork, as
//! `baton fork --dry-run` gives it, and the core's refusal where it gives one; yes makes
//! the fork, which reuses what the dialog listed and runs the rest.
use super::*;
use serde_json::Value;

/// A service with no probe (it runs again in any fork), a step that fails and one it
/// skips, and a chain after the service. Each step counts its runs.
const FORKABLE: &str = r#"
name = "forkable"
[[step]]
id = "db"
service = true
run = 'echo run >> count_db; sleep 60'
[[step]]
id = "a"
run = 'echo run >> count_a; exit 3'
[[step]]
id = "b"
needs = ["a"]
run = 'echo run >> count_b'
[[step]]
id = "c"
needs = ["db"]
run = 'echo run >> count_c'
[[step]]
id = "d"
needs = ["c"]
run = 'echo run >> count_d'
"#;

fn count(env: &Env, name: &str) -> usize {
    std::fs::read_to_string(env.path().join(name))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// The text of the dialog titled `title` on `screen`, from under its title to the line
/// that holds `last`, its lines joined and its spaces collapsed: in each line, the
/// widest stretch between box edges is the dialog's.
pub(super) fn dialog_text(screen: &str, title: &str, last: &str) -> String {
    let mut words = Vec::new();
    let mut inside = false;
    for line in screen.lines() {
        if line.contains(title) {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if line.contains(last) {
            break;
        }
        let widest = line
            .split('│')
            .max_by_key(|s| s.chars().count())
            .unwrap_or_default();
        words.extend(widest.split_whitespace().map(str::to_string));
    }
    words.join(" ")
}

/// The ids listed in `text` between `from` and `to`, comma-separated.
pub(super) fn listed(text: &str, from: &str, to: &str) -> Vec<String> {
    let start = text.find(from).map(|i| i + from.len()).unwrap_or(0);
    let rest = &text[start..];
    let end = rest.find(to).unwrap_or(rest.len());
    rest[..end]
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "nothing")
        .collect()
}

fn dry_run(env: &Env, run: &str, step: &str) -> (Vec<String>, Vec<String>) {
    let out = env.run(&["fork", run, "--from", step, "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().or_else(|| x["step"].as_str()))
            .map(str::to_string)
            .collect()
    };
    (ids(&doc["rerun"]), ids(&doc["reused"]))
}

/// `:` + `step`, then `F`.
fn fork_key(t: &Tmux, step: &str) {
    t.keys(&[":"]);
    t.literal(step);
    t.keys(&["Enter"]);
    t.keys(&["F"]);
}

#[test]
fn the_fork_dialog_shows_the_cores_plan_and_refusal_as_baton_fork_gives_them() {
    let env = Env::new();
    let wf = env.workflow("forkable.toml", FORKABLE);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_ne!(out.status.code(), Some(0), "a fails: {}", text(&out.stderr));
    let old = run_id_of(&text(&out.stdout));
    assert_eq!(env.show(&old)["state"], "failed");
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let t = Tmux::new(&env, 120, 40, &command);
    t.wait_for("the run listed", |s| s.contains("forkable"), 20);
    t.keys(&["Enter"]);
    t.wait_for("its DAG", |s| s.contains("Graph ·"), 10);

    // `b`'s upstream `a` failed: the core refuses, in the words `baton fork` says.
    fork_key(&t, "b");
    let screen = t.wait_for("the refusal", |s| s.contains(" Not now "), 20);
    let shown = dialog_text(&screen, " Not now ", "Esc close");
    let out = env.run(&["fork", &old, "--from", "b", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let said = text(&out.stderr);
    let refusal = said
        .trim()
        .strip_prefix("error: refused: ")
        .unwrap_or_else(|| panic!("a refusal: {said}"));
    let refusal = refusal.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(shown, format!("✘ fork from b: {refusal}"), "{screen}");
    assert!(shown.contains("`a`") && shown.contains("failed"), "{shown}");
    t.keys(&["Escape"]);
    t.wait_for("the refusal closed", |s| !s.contains(" Not now "), 10);

    // From `c`: the service `db` (no probe) runs again with `c` and `d`; `a` and `b`
    // are reused, as `baton fork --dry-run` says.
    fork_key(&t, "c");
    let screen = t.wait_for("the fork dialog", |s| s.contains(" Fork the run? "), 20);
    let shown = dialog_text(&screen, " Fork the run? ", "[ No ]");
    let rerun = listed(&shown, "Runs again: ", " (gates ask again)");
    let reused = listed(&shown, "Reused as recorded, not run: ", ". This console");
    let (cli_rerun, cli_reused) = dry_run(&env, &old, "c");
    assert_eq!((&rerun, &reused), (&cli_rerun, &cli_reused), "{screen}");
    assert_eq!(rerun, ["db", "c", "d"], "{shown}");
    assert_eq!(reused, ["a", "b"], "{shown}");

    // Yes: the fork reuses exactly what the dialog listed and runs the rest once.
    t.keys(&["y"]);
    let new = wait_until("the fork", Duration::from_secs(20), || {
        let runs = env.runs();
        runs.as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != old)
            .map(str::to_string)
    });
    let show = wait_until("the fork to end", Duration::from_secs(30), || {
        let show = env.show(&new);
        let state = show["state"].as_str().unwrap_or_default().to_string();
        matches!(state.as_str(), "succeeded" | "failed" | "cancelled").then_some(show)
    });
    assert_eq!(show["forked_from"]["run"], old.as_str());
    let steps = show["steps"].as_array().expect("steps");
    let kept: Vec<String> = steps
        .iter()
        .filter(|s| s["reused_from"].as_str() == Some(old.as_str()))
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(kept, reused, "{show}");
    for (file, runs) in [
        ("count_a", 1),
        ("count_b", 0),
        ("count_db", 2),
        ("count_c", 2),
        ("count_d", 2),
    ] {
        assert_eq!(count(&env, file), runs, "{file}");
    }
    t.keys(&["q"]);
    wait_until("the console to end", Duration::from_secs(20), || {
        let s = t.screen();
        if s.contains("TUI-EXIT=") {
            return Some(());
        }
        // The run may end after `q`: the dialog then says the console drives no run
        // any more and stays for a key (`quit_ended.rs`); `i` quits either way.
        if s.contains("This console drives") {
            t.keys(&["i"]);
        }
        None
    });
}
