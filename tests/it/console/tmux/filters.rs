//! Issue 45 point 7 on the real binary: `/` filters the Waiting, Approvals, Errors,
//! Audit and Schedules tabs with the one syntax (`state:`, `wf:`, words), each footer
//! offers it, the selection stays on its item, Esc clears; and the help searches its
//! keys and runs the selected one.
use super::*;
use crate::serve::{Served, wait_log};

/// Served once a year: the schedules are listed and start no run during the test.
fn yearly(name: &str) -> String {
    format!(
        "name = \"{name}\"\n\n[[schedule]]\ncron = \"0 0 1 1 *\"\n\n[[step]]\nid = \"only\"\nrun = \"true\"\n"
    )
}

/// Two steps that fail once each, then two gates side by side.
fn shipit(dir: &std::path::Path) -> String {
    let flaky = |id: &str, code: u8| {
        let marker = dir.join(format!("{id}.done"));
        let marker = shell_quote(&marker.to_string_lossy());
        format!(
            "[[step]]\nid = \"{id}\"\nrun = '''test -f {marker} || {{ touch {marker}; exit {code}; }}'''\nretry = {{ attempts = 2, delay = \"1s\" }}\n\n"
        )
    };
    format!(
        "name = \"shipit\"\n\n{}{}[[step]]\nid = \"deploy-prod\"\nneeds = [\"flaky-a\", \"flaky-b\"]\ngate = {{ prompt = \"Deploy to production?\" }}\n\n[[step]]\nid = \"page-oncall\"\nneeds = [\"flaky-a\", \"flaky-b\"]\ngate = {{ prompt = \"Page the on-call?\" }}\n",
        flaky("flaky-a", 3),
        flaky("flaky-b", 4)
    )
}

/// `/` then the words, then Enter; the screen once the title says how many match.
fn filter(tmux: &Tmux, words: &str, matched: usize) -> String {
    tmux.keys(&["/"]);
    tmux.wait_for("the filter prompt", |s| s.contains("filter /"), 10);
    tmux.literal(words);
    tmux.keys(&["Enter"]);
    let want = format!("/{words} ({matched} match)");
    tmux.wait_for(&want, |s| s.contains(&want) && !s.contains("▏"), 10)
}

/// Wait for the tab whose panel is titled `title` showing `row`, its footer offering
/// `/ filter` (the footer comes from the one key table).
fn on_tab(tmux: &Tmux, title: &str, row: &str) {
    let footer = |s: &str| s.lines().last().unwrap_or_default().contains("/ filter");
    tmux.wait_for(
        &format!("{title} with {row} and `/ filter` in its footer"),
        |s| s.contains(&format!("╭ {title}")) && s.contains(row) && footer(s),
        20,
    );
}

#[test]
fn slash_filters_every_list_and_the_help_runs_a_key() {
    let mut s = Served::new();
    s.write("alpha.toml", &yearly("alpha"));
    s.write("beta.toml", &yearly("beta"));
    let (_serve, log) = s.start(&[]);
    wait_log(&log, "serve:", 30);
    wait_until("both schedules served", secs(30), || {
        let n = s.schedules().as_array().map_or(0, |a| a.len());
        if n == 2 {
            Ok(())
        } else {
            Err(format!("{n} served"))
        }
    });
    let wf = s.env.workflow("shipit.toml", &shipit(s.env.path()));
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} {} run {} ; echo RUN-EXIT=$? ; sleep 30",
        shell_quote(&s.env.path().to_string_lossy()),
        shell_quote(&s.env.db().to_string_lossy()),
        shell_quote(&s.env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let tmux = Tmux::new(&s.env, 120, 40, &command);
    tmux.wait_for("both gates open", |s| s.contains("2 Approvals (2)"), 60);

    approvals_filter_by_a_word_of_a_step_id(&tmux);
    errors_filter_by_step_and_state(&tmux);
    audit_filters_by_action(&tmux);
    waiting_keeps_the_selection_while_a_filter_is_typed(&tmux);
    schedules_filter_by_workflow_and_refuse_an_unknown_state(&tmux);
    the_help_finds_a_key_and_runs_it_on_its_tab(&tmux);

    tmux.keys(&["q"]);
    tmux.wait_for(
        "the quit prompt",
        |s| s.contains("This console drives run"),
        10,
    );
    tmux.keys(&["i"]);
    tmux.wait_for("baton to exit", |s| s.contains("RUN-EXIT="), 20);
}

/// Approvals: a word of a step id.
fn approvals_filter_by_a_word_of_a_step_id(tmux: &Tmux) {
    tmux.keys(&["2"]);
    on_tab(tmux, "Open gates (2)", "⏸ deploy-prod");
    let sc = filter(tmux, "page", 1);
    assert!(
        sc.contains("⏸ page-oncall") && !sc.contains("⏸ deploy-prod"),
        "{sc}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for(
        "both gates again",
        |s| s.contains("⏸ deploy-prod") && s.contains("⏸ page-oncall") && !s.contains("match)"),
        10,
    );
}

/// Errors: each flaky step failed once.
fn errors_filter_by_step_and_state(tmux: &Tmux) {
    tmux.keys(&["3"]);
    on_tab(tmux, "Errors ·", "flaky-a#1");
    tmux.wait_for("two errors", |s| s.contains("flaky-b#1"), 10);
    let sc = filter(tmux, "flaky-b state:closed", 1);
    assert!(
        sc.contains("flaky-b#1") && !sc.contains("flaky-a#1"),
        "{sc}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for(
        "both errors again",
        |s| s.contains("flaky-a#1") && !s.contains("match)"),
        10,
    );
}

/// Audit: `state:` is the action.
fn audit_filters_by_action(tmux: &Tmux) {
    tmux.keys(&["4"]);
    on_tab(tmux, "Audit ·", "gate_opened");
    let sc = filter(tmux, "state:gate_op", 2);
    assert!(!sc.contains("run_started"), "{sc}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("every row again", |s| s.contains("run_started"), 10);
}

/// Waiting: the selection stays on its gate while a filter that shows it is typed.
fn waiting_keeps_the_selection_while_a_filter_is_typed(tmux: &Tmux) {
    tmux.keys(&["6"]);
    on_tab(tmux, "Waiting ·", "2 across the store");
    let detail = |s: &str| {
        ["deploy-prod", "page-oncall"]
            .into_iter()
            .find(|g| s.contains(&format!("╭ {g} · gate")))
            .map(str::to_string)
    };
    let first = detail(&tmux.wait_for("a detail", |s| detail(s).is_some(), 10)).unwrap();
    // The second item chosen (once the screen says so).
    tmux.keys(&["Down"]);
    let second = |s: &str| detail(s).filter(|d| *d != first);
    let chosen = second(&tmux.wait_for("the second item", |s| second(s).is_some(), 10)).unwrap();
    let sc = filter(tmux, "wf:ship state:gate", 2);
    assert_eq!(detail(&sc).as_deref(), Some(chosen.as_str()), "{sc}");
    let sc = filter_more(tmux, " deploy");
    assert_eq!(detail(&sc).as_deref(), Some("deploy-prod"), "{sc}");
    tmux.keys(&["Escape"]);
    tmux.wait_for(
        "both again",
        |s| !s.contains("match)") && s.contains("2 across"),
        10,
    );
}

/// Schedules: `wf:` keeps one of the two; a state no schedule can be in is refused.
fn schedules_filter_by_workflow_and_refuse_an_unknown_state(tmux: &Tmux) {
    tmux.keys(&["7"]);
    on_tab(tmux, "Schedules ·", "alpha#1");
    tmux.wait_for("both schedules", |s| s.contains("beta#1"), 20);
    let sc = filter(tmux, "wf:bet", 1);
    assert!(sc.contains("beta#1") && !sc.contains("alpha#1"), "{sc}");
    // A state no schedule can be in is refused where it is typed.
    tmux.keys(&["/"]);
    tmux.literal(" state:nope");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the refusal",
        |s| s.contains("no schedule state starts with `nope`"),
        10,
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for(
        "both schedules",
        |s| s.contains("alpha#1") && s.contains("beta#1"),
        10,
    );
}

/// The help: `/sort` finds the Runs tab's sort; Enter runs it there.
fn the_help_finds_a_key_and_runs_it_on_its_tab(tmux: &Tmux) {
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| s.contains("Enter run"), 10);
    tmux.keys(&["/"]);
    tmux.literal("sort");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the search kept",
        |s| s.contains("Help · /sort (1 match)"),
        10,
    );
    tmux.keys(&["Enter"]);
    let sc = tmux.wait_for(
        "the Runs tab sorted by the next order",
        |s| s.contains("Runs ·") && s.contains("longest first") && !s.contains("Help ·"),
        10,
    );
    assert!(sc.contains("shipit"), "{sc}");
}

/// Reopen the filter and add to it: `/` shows what is typed so far.
fn filter_more(tmux: &Tmux, more: &str) -> String {
    tmux.keys(&["/"]);
    tmux.wait_for("the filter prompt", |s| s.contains("filter /"), 10);
    tmux.literal(more);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the narrower filter",
        |s| s.contains("(1 match)") && !s.contains("▏"),
        10,
    )
}
