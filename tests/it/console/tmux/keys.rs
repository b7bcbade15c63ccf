//! Keys people already know (issue 28 point 8), on the real binary: `:` jumps to a run
//! by the start of its id and to a step by its id, says what names nothing, and the log
//! pages as `less` does.
use super::*;

/// The row numbers (`row-NNN`) on screen, top to bottom.
fn rows(screen: &str) -> Vec<u32> {
    screen
        .lines()
        .filter_map(|l| l.split("row-").nth(1))
        .filter_map(|r| r.get(..3)?.parse().ok())
        .collect()
}

fn first_row(screen: &str) -> u32 {
    rows(screen).first().copied().unwrap_or(0)
}

#[test]
fn colon_jumps_to_runs_and_steps_and_the_log_pages_as_less_does() {
    let env = Env::new();
    let pager = env.workflow(
        "pager.toml",
        "name = \"pager\"\n[[step]]\nid = \"long\"\nrun = 'for i in $(seq 1 300); do printf \"row-%03d\\n\" $i; done'\n",
    );
    let o = env.run(&["run", pager.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let pager_run = run_id_of(&text(&o.stdout));
    let second = env.workflow(
        "second.toml",
        "name = \"second\"\n[[step]]\nid = \"alpha\"\nrun = 'echo alpha-out'\n[[step]]\nid = \"beta\"\nneeds = [\"alpha\"]\nrun = 'echo beta-out'\n",
    );
    let o = env.run(&["run", second.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let command = format!(
        "cd {} && BATON_DB={} USER=tester {} tui ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let t = Tmux::new(&env, 110, 30, &command);
    // `baton tui` opens on the Runs tab (nothing waits); Enter opens the newest.
    t.wait_for(
        "the runs",
        |s| s.contains("Runs ·") && s.contains("pager"),
        20,
    );
    t.keys(&["Enter"]);
    t.wait_for(
        "the newest run",
        |s| s.contains("second") && s.contains("beta"),
        10,
    );

    // `:` + a step id: that step is selected (its log opens with `l`).
    t.keys(&[":"]);
    t.literal("beta");
    t.keys(&["Enter"]);
    t.keys(&["l"]);
    t.wait_for(
        "beta's log",
        |s| s.contains("Log · beta") && s.contains("beta-out"),
        10,
    );
    t.keys(&["Escape"]);
    t.wait_for("back from the log", |s| !s.contains("Log · beta"), 10);

    // `:` + what names nothing: said where it was typed.
    t.keys(&[":"]);
    t.literal("zzz");
    t.keys(&["Enter"]);
    t.wait_for(
        "the jump's refusal",
        |s| s.contains("no run id starts with `zzz` and no step is `zzz`"),
        10,
    );
    t.keys(&["Escape"]);

    // `:` + the start of another run's id: that run opens.
    t.keys(&[":"]);
    t.literal(&pager_run[..10]);
    t.keys(&["Enter"]);
    t.wait_for(
        "the pager run",
        |s| s.contains("pager") && s.contains("long"),
        10,
    );

    // Its log, from the top, paged as `less` does: a page is the body's rows less one,
    // half a page half of that, rounded up.
    t.keys(&[":"]);
    t.literal("long");
    t.keys(&["Enter"]);
    t.keys(&["l"]);
    t.wait_for(
        "long's log",
        |s| s.contains("Log · long") && !rows(s).is_empty(),
        10,
    );
    t.keys(&["g"]);
    let top = t.wait_for("the first line", |s| first_row(s) == 1, 10);
    let body = rows(&top).len() as u32;
    assert!(body > 10, "{top}");
    let page = body - 1;
    let half = page.div_ceil(2);
    for (key, to) in [
        ("C-d", 1 + half),
        ("Space", 1 + half + page),
        ("C-u", 1 + page),
        ("C-f", 1 + 2 * page),
        ("C-b", 1 + page),
    ] {
        t.keys(&[key]);
        t.wait_for(&format!("{key} to row {to}"), |s| first_row(s) == to, 10);
    }
}

/// A failed run opens on its first failed step; with `[keys]` giving `h`/`l` to the
/// graph (and health and the log other keys), they move across its layers and the
/// graph's footer no longer offers `h health`.
#[test]
fn a_failed_run_opens_on_its_failure_and_h_l_move_across_layers_when_configured() {
    let env = Env::new();
    env.config(
        "[keys]\nleft = [\"left\", \"H\", \"h\"]\nright = [\"right\", \"L\", \"l\"]\nlog = \"o\"\nhealth = \"i\"\n",
    );
    let wf = env.workflow(
        "flaky.toml",
        "name = \"flaky\"\n[[step]]\nid = \"fetch\"\nrun = \"true\"\n[[step]]\nid = \"compile\"\nneeds = [\"fetch\"]\nrun = \"exit 3\"\n[[step]]\nid = \"package\"\nneeds = [\"compile\"]\nrun = \"true\"\n",
    );
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let command = format!(
        "cd {} && XDG_CONFIG_HOME={} BATON_DB={} USER=tester {} tui ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let t = Tmux::new(&env, 110, 30, &command);
    t.wait_for(
        "the runs",
        |s| s.contains("Runs ·") && s.contains("flaky"),
        20,
    );
    t.keys(&["Enter"]);
    // The detail pane's title is the selected step.
    let opened = t.wait_for(
        "the failed step selected",
        |s| s.contains("╭ ✘ compile"),
        10,
    );
    let footer = opened
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    assert!(!footer.contains("h health"), "{footer}");
    assert!(
        footer.contains("? help") && footer.contains("q quit"),
        "{footer}"
    );
    t.keys(&["h"]);
    t.wait_for("h: the layer before", |s| s.contains("╭ ✔ fetch"), 10);
    t.keys(&["l"]);
    t.wait_for("l: the layer after", |s| s.contains("╭ ✘ compile"), 10);
    t.keys(&["l"]);
    t.wait_for("l again", |s| s.contains("╭ ⇣ package"), 10);
    // Health moved to `i`, in every view.
    t.keys(&["3"]);
    t.wait_for("the errors tab", |s| s.contains("i health"), 10);
}
