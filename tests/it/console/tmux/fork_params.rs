//! `F` on a finished run with params in the real console (issue 76 point 7): the fork
//! form names the run and holds its recorded values; a value changed there goes into
//! the fork as `baton fork --param` puts it, the original run keeps its own; a secret
//! param is never shown nor carried: the session refuses until it is typed again.
use super::*;
use crate::fleet::fork_params::{params_of, versioned_run};

const SECRET: &str = "hunter2-typed-again";

#[test]
fn f_changes_a_param_of_the_fork_and_the_original_keeps_its_own() {
    let env = Env::new();
    let old = versioned_run(&env, SECRET);
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let t = Tmux::new(&env, 120, 40, &command);
    t.wait_for("the run listed", |s| s.contains("versioned"), 20);
    t.keys(&["Enter"]);
    t.wait_for("its DAG", |s| s.contains("Graph ·"), 10);
    t.keys(&[":"]);
    t.literal("ship");
    t.keys(&["Enter", "F"]);

    // The form names the run it forks and holds its recorded value; the secret's field
    // is empty and says it is typed again.
    let title = |s: &str| format!("Fork run {} of versioned from ship", shown_id(s, &old));
    let screen = t.wait_for("the fork form", |s| s.contains(&title(s)), 20);
    assert!(screen.contains("[1.0"), "{screen}");
    assert!(screen.contains("not carried: type it again"), "{screen}");
    assert!(!screen.contains(SECRET), "{screen}");

    // A value its pattern refuses is said under the field as typed.
    t.keys(&["BSpace", "BSpace", "BSpace"]);
    t.literal("2.x");
    t.wait_for(
        "the pattern's refusal",
        |s| s.contains("does not match the pattern"),
        10,
    );
    t.keys(&["BSpace"]);
    t.literal("0");
    t.wait_for(
        "2.0 typed, fine",
        |s| s.contains("[2.0") && !s.contains("does not match the pattern"),
        10,
    );

    // Without the secret the session refuses in `baton fork`'s words: the form stays.
    t.keys(&["Enter"]);
    t.wait_for(
        "the refusal under the form",
        |s| s.contains("give them again") && s.contains(&title(s)),
        20,
    );
    assert_eq!(env.runs().as_array().map(Vec::len), Some(1), "no fork yet");
    t.keys(&["Tab"]);
    t.literal(SECRET);
    let screen = t.wait_for("the secret as dots", |s| s.contains("[•••"), 10);
    assert!(!screen.contains(SECRET), "{screen}");
    t.keys(&["Enter"]);

    let new = wait_until("the fork", Duration::from_secs(20), || {
        let runs = env.runs();
        runs.as_array()?
            .iter()
            .filter_map(|r| r["id"].as_str())
            .find(|id| *id != old)
            .map(str::to_string)
    });
    wait_until("the fork to succeed", Duration::from_secs(30), || {
        (env.show(&new)["state"] == "succeeded").then_some(())
    });
    let show = env.show(&new);
    assert_eq!(show["forked_from"]["run"], old.as_str(), "{show}");
    let (was, now) = (params_of(&env, &old), params_of(&env, &new));
    assert_eq!(was["version"], "1.0", "{was}");
    assert_eq!(now["version"], "2.0", "{now}");
    assert_ne!(now["token"], SECRET, "{now}");
    let logs = text(&env.run(&["logs", &new, "ship"]).stdout);
    assert!(logs.contains("shipping 2.0"), "{logs}");
    let db = std::fs::read(env.db()).unwrap_or_default();
    assert!(!db.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    assert!(!t.screen().contains(SECRET));
    t.keys(&["q"]);
    wait_until("the console to end", Duration::from_secs(20), || {
        let s = t.screen();
        if s.contains("TUI-EXIT=") {
            return Some(());
        }
        if s.contains("This console drives") {
            t.keys(&["i"]);
        }
        None
    });
}
