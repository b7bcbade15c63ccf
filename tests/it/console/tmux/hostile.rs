//! Hostile text (a step's output, a typed reason) changes nothing on a terminal but
//! its own text, in the console and out of it.
use super::*;

#[test]
fn hostile_step_output_changes_nothing_but_its_own_text() {
    let env = Env::new();
    // An OSC title, a screen clear, a cursor jump, invalid UTF-8 and a colour.
    let wf = env.workflow(
        "hostile.toml",
        r#"
name = "hostile"
[[step]]
id = "noisy"
run = 'printf "\033]0;PWNED-TITLE\007\033[2J\033[H\377\376 \033[31mred-text\033[0m visible-marker\n"'
[[step]]
id = "hold"
needs = ["noisy"]
gate = { prompt = "hold the run open" }
"#,
    );
    let tmux = Tmux::running(&env, &wf, 120, 40);
    tmux.wait_for(
        "the gate",
        |s| s.contains("waiting_approval") || s.contains("⏸"),
        30,
    );
    // Open the noisy step's full log: its text is there, its escapes did nothing.
    tmux.keys(&["Left"]);
    tmux.keys(&["l"]);
    // The full-screen log, drawn whole (a capture can land mid-redraw, with the DAG's
    // detail pane, which shows the step's command, still below).
    let screen = tmux.wait_for(
        "the log",
        |s| s.contains("visible-marker") && !s.contains("action "),
        10,
    );
    assert!(screen.contains("red-text"), "{screen}");
    assert!(
        !screen.contains("PWNED"),
        "the OSC payload must not show as text either:\n{screen}"
    );
    assert!(
        !tmux.title().contains("PWNED"),
        "the step changed the terminal title"
    );
    // The screen was not cleared: the console's own chrome is intact.
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for(
        "the dashboard",
        |s| s.contains("hostile") && s.contains("Approvals"),
        10,
    );
    assert!(screen.contains("DAG"), "{screen}");
    let coloured = Command::new("tmux")
        .args(["-L", &tmux.socket, "capture-pane", "-p", "-e", "-t", "main"])
        .output()
        .expect("capture");
    assert!(
        !text(&coloured.stdout).contains("\u{1b}]"),
        "no OSC reached the terminal"
    );
}

/// Only colours reach a terminal (issue 16 point 2): a reason typed to clear the screen,
/// retitle the terminal and fake "ALL GREEN", sent by `baton approve` from another
/// process, and a step's hostile output shown by `baton logs` and `baton show`, change
/// nothing on the terminal but their own text.
#[test]
fn hostile_text_printed_outside_the_console_changes_nothing_but_itself() {
    let env = Env::new();
    let wf = env.workflow(
        "hostile.toml",
        "name = \"hostile\"\n[[step]]\nid = \"noisy\"\nrun = 'printf \"out\\033]0;step-title\\007\\033]52;c;ZXZpbA==\\007\\033[2Jend\\n\"'\n[[step]]\nid = \"deploy\"\nneeds = [\"noisy\"]\nrun = \"true\"\ngate = { prompt = \"go?\" }\n",
    );
    let command = format!(
        "cd {} && BATON_DB={} USER=tester {} run {} --headless; echo ENGINE-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    let id = env.wait_run_id();
    env.wait_step(&id, "deploy", "waiting_approval", 20);
    let before = tmux.title();
    let reason = "ok\x1b[2J\x1b[H\x1b]0;owned\x07ALL GREEN";
    let o = env.run(&["approve", &id, "deploy", "--reason", reason]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    let screen = tmux.wait_for("the engine to end", |s| s.contains("ENGINE-EXIT=0"), 20);
    assert!(
        screen.contains(&format!("run {id} hostile")),
        "the screen was not cleared: {screen}"
    );
    assert_ne!(tmux.title(), "owned");
    // `logs` and `show` typed in that terminal.
    let shell = format!(
        "{} logs {id} noisy; {} show {id}; echo LOGS-DONE",
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(env!("CARGO_BIN_EXE_baton"))
    );
    let second = Tmux::new(
        &env,
        120,
        40,
        &format!(
            "cd {} && export BATON_DB={} && {shell}; sleep 30",
            shell_quote(&env.path().to_string_lossy()),
            shell_quote(&env.db().to_string_lossy())
        ),
    );
    assert_eq!(tmux.title(), before, "the engine's terminal kept its title");
    let screen = second.wait_for("logs and show", |s| s.contains("LOGS-DONE"), 20);
    // The step's text is there, its escape sequences are not obeyed.
    assert!(screen.contains("outend"), "{screen}");
    assert!(screen.contains("noisy"), "show ran: {screen}");
    assert_ne!(second.title(), "step-title", "{screen}");
    let clipboard = Command::new("tmux")
        .args(["-L", &second.socket, "show-buffer"])
        .output()
        .map(|o| text(&o.stdout))
        .unwrap_or_default();
    assert!(
        !clipboard.contains("evil"),
        "the step wrote the clipboard: {clipboard}"
    );
}

/// `baton logs` on a terminal shows a hostile step's text but not its escapes (no new
/// title, no clear screen); through a pipe, and with `--raw`, the bytes as written.
#[test]
fn baton_logs_sanitises_for_a_terminal_and_is_raw_through_a_pipe() {
    let env = Env::new();
    let wf = env.workflow(
        "hostile.toml",
        "name = \"hostile\"\n[[step]]\nid = \"noisy\"\nrun = 'printf \"before-clear\\n\\033]0;PWNED-TITLE\\007\\033[2J\\033[H\\033[31mred-text\\033[0m visible-marker\\n\"'\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = env.wait_run_id();
    let piped = env.run(&["logs", &id, "noisy"]).stdout;
    assert!(text(&piped).contains("\u{1b}]0;PWNED-TITLE"), "{piped:?}");
    let command = format!(
        "cd {} && BATON_DB={} {} logs {id} noisy ; echo LOGS-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 100, 20, &command);
    let screen = tmux.wait_for("the log printed", |s| s.contains("LOGS-EXIT=0"), 20);
    // The clear screen did not happen: the first line is still there, and the text after.
    assert!(screen.contains("before-clear"), "{screen}");
    assert!(screen.contains("red-text visible-marker"), "{screen}");
    assert!(!screen.contains("PWNED"), "{screen}");
    assert!(
        !tmux.title().contains("PWNED"),
        "the log retitled the terminal"
    );
    // --raw on a terminal: the bytes as written (the title changes).
    let raw = format!(
        "cd {} && BATON_DB={} {} logs {id} noisy --raw ; echo RAW-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 100, 20, &raw);
    let screen = tmux.wait_for("the raw log", |s| s.contains("RAW-EXIT=0"), 20);
    assert!(
        !screen.contains("before-clear"),
        "the raw clear screen ran:\n{screen}"
    );
    let title = tmux.title();
    assert!(
        title.contains("PWNED-TITLE"),
        "the raw bytes retitle the terminal: {title:?}"
    );
}
