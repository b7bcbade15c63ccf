//! End-to-end console test (issue 5 point 10): the real binary in tmux, driven with
//! send-keys, read with capture-pane. Approves a gate with a typed reason and checks the
//! gated step succeeded and the reason is in `baton audit`.
use crate::helpers::*;
use std::process::Command;
use std::time::Duration;

struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(env: &Env, cols: u16, rows: u16, command: &str) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let socket = format!(
            "baton-test-{}-{}-{}",
            std::process::id(),
            env.path().file_name().unwrap().to_string_lossy(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let t = Tmux { socket };
        let status = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .arg(command)
            .status()
            .expect("tmux must be installed (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        t
    }
    fn keys(&self, keys: &[&str]) {
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "main"])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(st.success());
    }
    fn literal(&self, text: &str) {
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "main", "-l", text])
            .status()
            .expect("send-keys");
        assert!(st.success());
    }
    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"])
            .output()
            .expect("capture-pane");
        text(&out.stdout)
    }
    fn alive(&self) -> bool {
        Command::new("tmux")
            .args(["-L", &self.socket, "has-session", "-t", "main"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool, secs: u64) -> String {
        wait_until(what, Duration::from_secs(secs), || {
            let s = self.screen();
            if pred(&s) {
                Ok(s)
            } else {
                Err(format!("screen:\n{s}"))
            }
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn approve_a_gate_with_keystrokes_and_a_typed_reason() {
    let env = Env::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.toml");
    let command = format!(
        "cd {} && BATON_DB={} USER=tester TERM=xterm-256color {} run {} ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(example)
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    // The console opens and the run reaches its gate.
    tmux.wait_for(
        "an open gate",
        |s| s.contains("waiting_approval") || s.contains("⏸"),
        30,
    );
    tmux.keys(&["2"]);
    tmux.wait_for("the approvals tab", |s| s.contains("Approvals"), 10);
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the approve dialog",
        |s| s.to_lowercase().contains("reason"),
        10,
    );
    tmux.literal("ship it from tmux");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the run to succeed",
        |s| s.contains("succeeded") && !s.contains("waiting_approval"),
        30,
    );
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 15);
    assert!(
        screen.contains("BATON-EXIT=0"),
        "exit code 0 expected:\n{screen}"
    );
    assert!(tmux.alive());

    let runs = env.runs();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(runs[0]["state"], "succeeded");
    let show = env.show(&id);
    for s in show["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "succeeded", "{s}");
    }
    let audit = env.run(&["audit", &id]);
    let audit = text(&audit.stdout);
    assert!(
        audit.contains("ship it from tmux"),
        "the typed reason is on record:\n{audit}"
    );
    // The OS account (tests run as root), not `USER=tester`.
    assert!(
        audit.contains("root") && !audit.contains("tester"),
        "with the operator:\n{audit}"
    );
}

/// The pid of the process whose command line contains `needle` (and is not tmux/sh).
fn pid_of(needle: &str) -> Option<i32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.first().is_some_and(|a| a.ends_with("/baton"))
            && args.iter().any(|a| a.contains(needle))
        {
            return Some(pid);
        }
    }
    None
}

#[test]
fn sigterm_to_the_console_interrupts_the_run_and_restores_the_terminal() {
    let env = Env::new();
    let wf = env.workflow(
        "sigterm-console.toml",
        "name = \"long\"\n[[step]]\nid = \"slow\"\nrun = 'sleep 1000 & echo $! > child.pid; wait'\n",
    );
    let command = format!(
        "cd {} && echo BEFORE-CONSOLE && BATON_DB={} USER=tester {} run {} ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy())
    );
    let tmux = Tmux::new(&env, 100, 30, &command);
    tmux.wait_for(
        "the step to run",
        |s| s.contains("running") || s.contains("▶"),
        30,
    );
    let pid = pid_of("sigterm-console.toml").expect("baton's pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let screen = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 20);
    assert!(
        screen.contains("BATON-EXIT=143"),
        "exit 143 on SIGTERM:\n{screen}"
    );
    // The console left the alternate screen: what was printed before it is visible again.
    assert!(
        screen.contains("BEFORE-CONSOLE"),
        "terminal restored:\n{screen}"
    );
    let id = env.runs()[0]["id"].as_str().unwrap().to_string();
    assert_eq!(env.show(&id)["state"], "interrupted");
    let child: i32 = std::fs::read_to_string(env.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = process_alive(child);
    assert!(!alive, "the step's process group survived");
}

#[test]
fn baton_tui_follows_a_headless_run_and_approves_it_through_the_store() {
    let env = Env::new();
    let wf = env.workflow(
        "remote.toml",
        "name = \"remote\"\n[[step]]\nid = \"prepare\"\nrun = \"true\"\n[[step]]\nid = \"ship\"\nneeds = [\"prepare\"]\nrun = \"touch shipped\"\ngate = { prompt = \"Ship it?\" }\n",
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    // The Runs tab lists the live run; Enter opens it.
    tmux.wait_for(
        "the run list",
        |s| s.contains(&id[..12]) || s.contains("remote"),
        20,
    );
    tmux.keys(&["Enter"]);
    tmux.keys(&["2"]);
    tmux.wait_for("the open gate", |s| s.contains("Ship it?"), 20);
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the approve dialog",
        |s| s.to_lowercase().contains("reason"),
        10,
    );
    tmux.literal("approved from another process");
    tmux.keys(&["Enter"]);
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(env.path().join("shipped").exists());
    tmux.wait_for(
        "the followed run to finish",
        |s| s.contains("succeeded"),
        20,
    );
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(
        audit.contains("root")
            && !audit.contains("carol")
            && audit.contains("approved from another process"),
        "{audit}"
    );
}

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
    let command = format!(
        "cd {} && BATON_DB={} USER=tester {} run {} ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy())
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
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

/// Issue 10 point 3: acting on a run no engine drives makes `baton tui` its engine,
/// in-process; the quit prompt then names exactly that run, and quitting interrupts it.
#[test]
fn baton_tui_drives_a_run_whose_engine_died_and_its_quit_prompt_names_it() {
    let env = Env::new();
    let wf = env.workflow(
        "orphan.toml",
        "name = \"orphan\"\n[[step]]\nid = \"prepare\"\nrun = \"true\"\n[[step]]\nid = \"ship\"\nneeds = [\"prepare\"]\nrun = \"touch shipped\"\ngate = { prompt = \"Ship it?\" }\n[[step]]\nid = \"soak\"\nneeds = [\"ship\"]\nrun = \"sleep 60\"\n",
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    engine.kill().expect("kill -9 the engine");
    let _ = engine.wait();
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the run list", |s| s.contains("orphan"), 20);
    tmux.keys(&["Enter"]);
    tmux.keys(&["2"]);
    tmux.wait_for("the open gate", |s| s.contains("Ship it?"), 20);
    tmux.keys(&["a"]);
    tmux.wait_for(
        "the approve dialog",
        |s| s.to_lowercase().contains("reason"),
        10,
    );
    tmux.literal("engine is gone, approving here");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the console to take the run over",
        |s| s.contains("this console now drives the run"),
        20,
    );
    env.wait_step(&id, "soak", "running", 20);
    assert!(env.path().join("shipped").exists());
    tmux.keys(&["q"]);
    let short = &id[..8];
    tmux.wait_for(
        "a quit prompt naming the driven run",
        |s| s.contains("This console drives run") && s.contains(short),
        10,
    );
    tmux.keys(&["y"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT="), 20);
    let v = env.show(&id);
    assert_eq!(v["state"], "interrupted", "{v:#}");
    assert_eq!(step_field(&v, "soak", "state"), "interrupted");
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(audit.contains("engine is gone, approving here"), "{audit}");
}

/// Runs → Enter opens another run in `baton run`'s console too.
#[test]
fn baton_run_console_opens_another_run_from_the_runs_tab() {
    let env = Env::new();
    let other = env.workflow(
        "earlier.toml",
        "name = \"earlier-run\"\n[[step]]\nid = \"only\"\nrun = \"true\"\n",
    );
    let o = env.run(&["run", other.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let wf = env.workflow(
        "current.toml",
        "name = \"current-run\"\n[[step]]\nid = \"wait\"\nrun = \"sleep 60\"\n",
    );
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} run {} ; echo RUN-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for(
        "the console on the new run",
        |s| s.contains("current-run"),
        20,
    );
    tmux.keys(&["5"]);
    tmux.wait_for("the runs tab", |s| s.contains("earlier-run"), 10);
    // Newest first: the earlier run is the second row.
    tmux.keys(&["Down"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the earlier run opened",
        |s| s.contains("earlier-run") && s.contains("only"),
        10,
    );
    // Quitting still names the run this console drives, not the one on screen.
    tmux.keys(&["q"]);
    tmux.wait_for(
        "the quit prompt",
        |s| s.contains("This console drives run"),
        10,
    );
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("baton to exit", |s| s.contains("RUN-EXIT="), 20);
    assert!(screen.contains("RUN-EXIT=130"), "{screen}");
}

impl Tmux {
    fn title(&self) -> String {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display",
                "-p",
                "-t",
                "main",
                "#{pane_title}",
            ])
            .output()
            .expect("display");
        text(&out.stdout).trim().to_string()
    }
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

/// Issue 12 point 6: `y` puts the selection on the clipboard through OSC 52 (tmux keeps
/// it in its buffer with `set-clipboard on`) and says so; the full run id from the
/// Runs tab, where the screen shows 8 characters.
#[test]
fn y_copies_the_selection_through_osc_52() {
    let env = Env::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.toml");
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=tester TERM=xterm-256color {} run {} ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(example)
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.option(&["-s", "set-clipboard", "on"]);
    tmux.wait_for("an open gate", |s| s.contains("⏸"), 30);
    tmux.keys(&["2", "y"]);
    tmux.wait_for("the toast", |s| s.contains("copied gate: farewell"), 10);
    tmux.wait_for_buffer("the gate's step id", |b| b == "farewell", 10);
    tmux.keys(&["5", "y"]);
    let id = env.runs()[0]["id"].as_str().unwrap().to_string();
    tmux.wait_for("the toast", |s| s.contains("copied run id"), 10);
    tmux.wait_for_buffer("the full run id", |b| b == id, 10);
    // A success toast goes by itself after 5 s (it used to stay for minutes).
    tmux.wait_for("the toast to go", |s| !s.contains("copied run id"), 12);
}

impl Tmux {
    fn option(&self, args: &[&str]) {
        let st = Command::new("tmux")
            .args(["-L", &self.socket, "set-option"])
            .args(args)
            .status()
            .expect("set-option");
        assert!(st.success());
    }
    /// Wait until tmux's newest paste buffer satisfies `pred`.
    fn wait_for_buffer(&self, what: &str, pred: impl Fn(&str) -> bool, secs: u64) {
        let what = format!("{what} in tmux's buffer");
        wait_until(&what, Duration::from_secs(secs), || {
            let out = Command::new("tmux")
                .args(["-L", &self.socket, "show-buffer"])
                .output()
                .expect("show-buffer");
            let b = text(&out.stdout);
            if out.status.success() && pred(&b) {
                Ok(())
            } else {
                Err(format!("{b:?}"))
            }
        })
    }
}

/// Issue 12 point 6: a click on a tab opens it, a click on a row selects it; with
/// `mouse = false` in the config the console takes no mouse events.
#[test]
fn clicks_open_tabs_and_select_rows_and_the_config_turns_the_mouse_off() {
    for mouse in [true, false] {
        let env = Env::new();
        env.config(&format!("mouse = {mouse}\n"));
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.toml");
        let command = format!(
            "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=tester TERM=xterm-256color {} run {} ; echo BATON-EXIT=$? ; sleep 30",
            shell_quote(&env.path().to_string_lossy()),
            shell_quote(&env.db().to_string_lossy()),
            shell_quote(&env.config_home().to_string_lossy()),
            shell_quote(env!("CARGO_BIN_EXE_baton")),
            shell_quote(example)
        );
        let tmux = Tmux::new(&env, 120, 40, &command);
        let screen = tmux.wait_for("an open gate", |s| s.contains("⏸"), 30);
        // The tab line is the third row; click the middle of "2 Approvals".
        let tabs = screen.lines().nth(2).unwrap();
        let col = tabs.find("Approvals").unwrap() + 3;
        tmux.literal(&format!("\x1b[<0;{};3M\x1b[<0;{};3m", col + 1, col + 1));
        if mouse {
            tmux.wait_for("the approvals tab", |s| s.contains("Open gates"), 10);
            // Back to the DAG and select `greet` by clicking its row in the list.
            tmux.keys(&["1", "g"]);
            let s = tmux.wait_for("the list", |s| s.contains("List"), 10);
            let row = s.lines().position(|l| l.contains(" greet ")).unwrap();
            tmux.literal(&format!("\x1b[<0;10;{}M\x1b[<0;10;{}m", row + 1, row + 1));
            tmux.wait_for(
                "greet in the detail pane",
                |s| s.lines().any(|l| l.contains("greet") && l.contains("╭")),
                10,
            );
            // The wheel scrolls the list: one notch down selects the next step.
            tmux.literal(&format!("\x1b[<65;10;{}M", row + 1));
            tmux.wait_for(
                "think in the detail pane",
                |s| s.lines().any(|l| l.contains("think") && l.contains("╭")),
                10,
            );
        } else {
            // Nothing happens: a key still works afterwards, and no tab changed.
            tmux.keys(&["3"]);
            let s = tmux.wait_for("the errors tab", |s| s.contains("Errors ·"), 10);
            assert!(!s.contains("Open gates"), "{s}");
        }
    }
}

/// Issue 12 point 9: `baton tui --readonly` follows a run but offers no action in its
/// footer or help, and an action key changes nothing (the gate stays open).
#[test]
fn a_read_only_console_looks_but_never_acts() {
    let env = Env::new();
    let wf = env.workflow(
        "remote.toml",
        "name = \"remote\"\n[[step]]\nid = \"ship\"\nrun = \"touch shipped\"\ngate = { prompt = \"Ship it?\" }\n",
    );
    let mut engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui --readonly ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the run list", |s| s.contains("remote"), 20);
    tmux.keys(&["Enter", "2"]);
    let s = tmux.wait_for("the open gate", |s| s.contains("Ship it?"), 20);
    let footer = s.lines().last().unwrap_or_default().to_string();
    assert!(
        !footer.contains("approve") && !footer.contains("reject"),
        "{footer}"
    );
    assert!(!footer.contains("cancel"), "{footer}");
    tmux.keys(&["a"]);
    tmux.wait_for("the refusal", |s| s.contains("read-only console"), 10);
    assert!(!tmux.screen().to_lowercase().contains("reason (optional)"));
    tmux.keys(&["?"]);
    let help = tmux.wait_for("the help", |s| s.contains("Help"), 10);
    for word in [
        "approve the",
        "reject the",
        "retry the",
        "cancel the run",
        "resume an",
    ] {
        assert!(!help.contains(word), "{word} offered in the help:\n{help}");
    }
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help to close", |s| !s.contains("Help ·"), 10);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "ship").as_deref(),
        Some("waiting_approval")
    );
    let _ = engine.kill();
    let _ = engine.wait();
}

/// Issue 12 point 8: the Runs tab filters, and deletes a run through the session (as
/// `baton runs rm`), after asking.
#[test]
fn the_runs_tab_filters_and_deletes_a_run_after_asking() {
    let env = Env::new();
    let a = env.workflow(
        "a.toml",
        "name = \"alpha\"\n[[step]]\nid = \"x\"\nrun = \"true\"\n",
    );
    let b = env.workflow(
        "b.toml",
        "name = \"beta\"\n[[step]]\nid = \"y\"\nrun = \"true\"\n",
    );
    for wf in [&a, &b] {
        let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for(
        "both runs",
        |s| s.contains("alpha") && s.contains("beta"),
        20,
    );
    tmux.keys(&["/"]);
    tmux.literal("wf:alp");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "only alpha",
        |s| {
            let rows: Vec<&str> = s
                .lines()
                .filter(|l| l.starts_with('│') && l.contains("succeeded"))
                .collect();
            s.contains("(1 match)") && rows.len() == 1 && rows[0].contains("alpha")
        },
        10,
    );
    tmux.keys(&["d"]);
    tmux.wait_for("the question", |s| s.contains("Delete the run?"), 10);
    tmux.keys(&["y"]);
    tmux.wait_for("the deletion", |s| s.contains("deleted run"), 20);
    let runs = env.runs();
    let names: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["workflow"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["beta"]);
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 10);
}

/// A step that prints `tick-N` once the test creates `go-N` (N = 1..3), then ends: its
/// output arrives while nothing else about the run changes.
const TICKING: &str = r#"
name = "ticking"
[[step]]
id = "ticker"
run = 'for i in 1 2 3; do n=0; while [ ! -e go-$i ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done; echo tick-$i; done'
"#;

/// Let the step print its next line, and wait (without a key) until the console shows it.
fn tick_shows(env: &Env, tmux: &Tmux, n: u32, also: impl Fn(&str) -> bool) -> String {
    std::fs::write(env.path().join(format!("go-{n}")), "").unwrap();
    tmux.wait_for(
        &format!("tick-{n} on screen without a keypress"),
        |s| s.contains(&format!("tick-{n}")) && also(s),
        10,
    )
}

/// The detail pane's tail and then the full-screen log show a running step's new
/// output as it is written, with no keypress and no change of the step's state.
fn new_output_shows_without_a_keypress(tmux: &Tmux, env: &Env) {
    tmux.wait_for("the running step", |s| s.contains("ticker"), 30);
    // The detail pane (the DAG focuses the running step).
    tick_shows(env, tmux, 1, |s| s.contains("── log"));
    tmux.keys(&["l"]);
    tmux.wait_for("the full log", |s| s.contains("Log · ticker"), 10);
    tick_shows(env, tmux, 2, |s| {
        s.contains("Log · ticker") && s.contains("follow")
    });
    let screen = tick_shows(env, tmux, 3, |s| s.contains("Log · ticker"));
    assert!(
        screen.contains("tick-1") && screen.contains("tick-2"),
        "{screen}"
    );
    // `t`: each line with the time the step wrote it.
    tmux.keys(&["t"]);
    let stamped = regex::Regex::new(r"\d\d:\d\d:\d\d tick-3").unwrap();
    tmux.wait_for("times before the lines", |s| stamped.is_match(s), 10);
}

#[test]
fn the_log_view_follows_new_output_in_baton_run() {
    let env = Env::new();
    let wf = env.workflow("ticking.toml", TICKING);
    let command = format!(
        "cd {} && BATON_DB={} USER=tester {} run {} ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy())
    );
    let tmux = Tmux::new(&env, 100, 30, &command);
    new_output_shows_without_a_keypress(&tmux, &env);
}

#[test]
fn the_log_view_follows_new_output_in_baton_tui() {
    let env = Env::new();
    let wf = env.workflow("ticking.toml", TICKING);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ticker", "running", 20);
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 100, 30, &command);
    tmux.wait_for("the run list", |s| s.contains("ticking"), 20);
    tmux.keys(&["Enter"]);
    new_output_shows_without_a_keypress(&tmux, &env);
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
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

/// Issue 12 points 4, 2 and 5: the console rings the bell and sends OSC 9 and OSC 777
/// desktop notifications when a gate opens and when the run ends (read from the bytes
/// the console writes, through `pipe-pane`); `[notifications]` in the config silences
/// them, `time = "clock"` makes the console start with wall-clock times, and a `[keys]`
/// binding is the key that approves (and the footer says so).
#[test]
fn the_console_notifies_when_a_gate_opens_and_the_run_ends_unless_the_config_says_no() {
    let clock = regex::Regex::new(r"│\d\d:\d\d:\d\d ").unwrap();
    for quiet in [false, true] {
        let env = Env::new();
        if quiet {
            env.config(
                "time = \"clock\"\n[notifications]\nbell = false\ndesktop = false\n[keys]\napprove = \"o\"\n",
            );
        }
        let piped = env.path().join("pane.bytes");
        let ready = env.path().join("piped");
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.toml");
        // The console starts once the pane's output is being recorded.
        let command = format!(
            "cd {} && while [ ! -e {} ]; do sleep 0.05; done; BATON_DB={} XDG_CONFIG_HOME={} USER=tester TERM=xterm-256color {} run {} ; echo BATON-EXIT=$? ; sleep 30",
            shell_quote(&env.path().to_string_lossy()),
            shell_quote(&ready.to_string_lossy()),
            shell_quote(&env.db().to_string_lossy()),
            shell_quote(&env.config_home().to_string_lossy()),
            shell_quote(env!("CARGO_BIN_EXE_baton")),
            shell_quote(example)
        );
        let tmux = Tmux::new(&env, 120, 40, &command);
        let st = Command::new("tmux")
            .args(["-L", &tmux.socket, "pipe-pane", "-O", "-t", "main"])
            .arg(format!("cat >> {}", shell_quote(&piped.to_string_lossy())))
            .status()
            .expect("pipe-pane");
        assert!(st.success());
        std::fs::write(&ready, "").unwrap();
        let bytes =
            || String::from_utf8_lossy(&std::fs::read(&piped).unwrap_or_default()).into_owned();
        tmux.wait_for("an open gate", |s| s.contains("⏸"), 30);
        let gate_osc9 = "\x1b]9;baton: hello: gate farewell: Say goodbye";
        let gate_osc777 = "\x1b]777;notify;baton: hello: gate farewell;Say goodbye";
        if !quiet {
            wait_until("the gate's notifications", secs(10), || {
                let b = bytes();
                b.contains(gate_osc9) && b.contains(gate_osc777)
            });
        }
        let approve = if quiet { "o" } else { "a" };
        tmux.keys(&["2"]);
        tmux.wait_for(
            "the approve key in the footer",
            |s| {
                let footer = s.lines().last().unwrap_or_default();
                footer.contains(&format!("{approve} approve"))
            },
            10,
        );
        tmux.keys(&[approve]);
        tmux.wait_for(
            "the approve dialog",
            |s| s.to_lowercase().contains("reason"),
            10,
        );
        tmux.keys(&["Enter"]);
        tmux.wait_for(
            "the run to succeed",
            |s| s.contains("succeeded") && !s.contains("⏸"),
            30,
        );
        let end = "\x1b]9;baton: hello: the run ended: succeeded";
        if quiet {
            // Times on the wall clock from the start: the audit's first column.
            tmux.keys(&["4"]);
            tmux.wait_for("audit times on the clock", |s| clock.is_match(s), 10);
            tmux.keys(&["q"]);
            tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT=0"), 15);
            let b = bytes();
            assert!(
                b.contains("farewell"),
                "the pane's bytes were recorded: {b:?}"
            );
            assert!(!b.contains("\x1b]9;") && !b.contains("\x1b]777;"), "{b:?}");
            assert!(!b.contains('\x07'), "a bell: {b:?}");
        } else {
            wait_until("the end's notification", secs(10), || bytes().contains(end));
            let b = bytes();
            // A bell before each notification.
            assert!(b.contains(&format!("\x07{gate_osc9}")), "{b:?}");
            assert!(b.contains(&format!("\x07{end}")), "{b:?}");
            tmux.keys(&["q"]);
            tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT=0"), 15);
        }
    }
}

/// Issue 12 point 8: `R` on an interrupted run in the Runs tab resumes it (through the
/// session, this console driving it) and opens it on its DAG; the run then finishes.
#[test]
fn r_in_the_runs_tab_resumes_an_interrupted_run_and_opens_it() {
    let env = Env::new();
    let wf = env.workflow(
        "resumable.toml",
        "name = \"resumable\"\n[[step]]\nid = \"first\"\nrun = \"test -e go || sleep 60\"\n[[step]]\nid = \"second\"\nneeds = [\"first\"]\nrun = \"touch resumed-done\"\n",
    );
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "first", "running", 20);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(engine.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = wait_child(engine, 20);
    assert_eq!(env.show(&id)["state"], "interrupted");
    // The step finishes at once when it runs again.
    std::fs::write(env.path().join("go"), "").unwrap();
    let command = format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; echo TUI-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the interrupted run", |s| s.contains("interrupted"), 20);
    tmux.keys(&["5"]);
    tmux.wait_for("the runs tab", |s| s.contains("Runs ·"), 10);
    tmux.keys(&["R"]);
    tmux.wait_for(
        "the resumed run on its DAG",
        |s| (s.contains("Graph ·") || s.contains("List ·")) && !s.contains("Runs ·"),
        20,
    );
    wait_until("the second step to run", secs(30), || {
        env.path().join("resumed-done").exists()
    });
    tmux.wait_for("the run to succeed", |s| s.contains("succeeded"), 30);
    let v = env.show(&id);
    assert_eq!(v["state"], "succeeded", "{v:#}");
    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit", |s| s.contains("TUI-EXIT=0"), 20);
}

/// Issue 11 point 2: the console signs a decision on a signed gate through ssh-agent.
/// With no approver's key in the agent the approval is refused on screen and nothing is
/// decided; once the approver's key is added, the same keystrokes approve, the vote is
/// the key's principal with its signature on record, and `audit verify` checks it.
#[test]
fn the_console_signs_a_signed_gate_through_ssh_agent() {
    let env = Env::new();
    let alice = ssh_keygen(env.path(), "alice", "ed25519");
    let mallory = ssh_keygen(env.path(), "mallory", "ed25519");
    let (alice_pub, mallory_pub) = (ssh_public(&alice), ssh_public(&mallory));
    std::fs::write(
        env.path().join("allowed_signers"),
        format!("alice@example.com {alice_pub}\nmallory@example.com {mallory_pub}\n"),
    )
    .unwrap();
    env.workflow(
        "w.toml",
        r#"name = "signed"
[approvals]
allowed_signers = "allowed_signers"
[[step]]
id = "deploy"
run = "touch deployed"
gate = { prompt = "Ship?", approvers = ["alice@example.com"], signed = true }
"#,
    );
    let agent = SshAgent::start(env.path().join("agent.sock"));
    // Only a key that approves nothing, at first.
    agent.add(&mallory);
    let command = format!(
        "cd {} && SSH_AUTH_SOCK={} BATON_DB={} TERM=xterm-256color {} run w.toml ; echo BATON-EXIT=$? ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&agent.sock.to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    tmux.wait_for("the open gate", |s| s.contains("⏸"), 30);
    let approve = |reason: &str| {
        tmux.keys(&["2"]);
        tmux.wait_for("the approvals tab", |s| s.contains("Ship?"), 10);
        tmux.keys(&["a"]);
        tmux.wait_for(
            "the approve dialog",
            |s| s.to_lowercase().contains("reason"),
            10,
        );
        tmux.literal(reason);
        tmux.keys(&["Enter"]);
    };
    approve("mallory tries");
    tmux.wait_for(
        "the refusal naming the agent's keys",
        |s| s.contains("ssh-agent") || s.contains("ssh-add"),
        15,
    );
    let id = env.wait_run_id();
    assert_eq!(
        step_state(&env.show(&id), "deploy").as_deref(),
        Some("waiting_approval"),
        "nothing decided without an approver's signature"
    );
    // Dismiss whatever is still open, then approve with alice's key in the agent.
    tmux.keys(&["Escape"]);
    agent.add(&alice);
    approve("alice signs in the console");
    tmux.wait_for(
        "the run to succeed",
        |s| s.contains("succeeded") && !s.contains("⏸"),
        30,
    );
    tmux.keys(&["q"]);
    let screen = tmux.wait_for("baton to exit", |s| s.contains("BATON-EXIT="), 15);
    assert!(screen.contains("BATON-EXIT=0"), "{screen}");
    drop(agent);

    let out = env.run(&["audit", &id, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vote = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"] == "alice signs in the console")
        .unwrap_or_else(|| panic!("the console's vote is on record: {rows:#}"));
    assert_eq!(vote["actor"], "alice@example.com", "{vote:#}");
    assert!(
        vote.to_string().contains("BEGIN SSH SIGNATURE"),
        "the vote carries its signature: {vote:#}"
    );
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}
