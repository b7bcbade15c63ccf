//! The console and its terminal: SIGTERM, the clipboard, the mouse, notifications,
//! and a log view that follows new output.
use super::*;

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
    let tmux = Tmux::running(&env, &wf, 100, 30);
    new_output_shows_without_a_keypress(&tmux, &env);
}

#[test]
fn the_log_view_follows_new_output_in_baton_tui() {
    let env = Env::new();
    let wf = env.workflow("ticking.toml", TICKING);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ticker", "running", 20);
    let command = tui_as_carol(&env);
    let tmux = Tmux::new(&env, 100, 30, &command);
    tmux.wait_for("the run list", |s| s.contains("ticking"), 20);
    tmux.keys(&["Enter"]);
    new_output_shows_without_a_keypress(&tmux, &env);
    let out = wait_child(engine, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

/// Issue 29 point 2: an ended run keeps its log times in the store, not beside its logs;
/// the console opened afterwards still shows them with `t`.
#[test]
fn an_ended_runs_log_shows_when_each_line_was_written() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"done\"\n[[step]]\nid = \"say\"\nrun = \"echo said-one; echo said-two >&2\"\n",
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let logs = env.db().parent().unwrap().join("logs");
    let run_dir = std::fs::read_dir(&logs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let names: Vec<_> = std::fs::read_dir(&run_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["say.1.log"]);
    let command = tui_as_carol(&env);
    let tmux = Tmux::new(&env, 100, 30, &command);
    tmux.wait_for("the run list", |s| s.contains("done"), 20);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the run", |s| s.contains("say"), 10);
    tmux.keys(&["l"]);
    tmux.wait_for("the full log", |s| s.contains("said-two"), 10);
    tmux.keys(&["t"]);
    let stamped = regex::Regex::new(r"\d\d:\d\d:\d\d said-one").unwrap();
    tmux.wait_for("times before the lines", |s| stamped.is_match(s), 10);
}

/// `baton tui` on `env`'s store as carol, the pane kept after it exits.
fn tui_as_carol(env: &Env) -> String {
    format!(
        "cd {} && BATON_DB={} USER=carol {} tui ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    )
}

/// A console whose terminal goes with no SIGHUP reaching it (in a session of its own,
/// as under `setsid`, or under a shell that keeps the signal: an ssh session dropped)
/// ends by itself within seconds, and hands the run it drives on as a hang-up does
/// (docs/console.md): the step goes on and the run ends on its own. crossterm's reader
/// alone would spin a core on the dead terminal for ever (crossterm-rs/crossterm#793).
#[test]
fn a_console_whose_terminal_goes_without_a_sighup_ends_by_itself_and_hands_its_run_on() {
    let env = Env::new();
    let wf = env.workflow(
        "gone.toml",
        "name = \"gone\"\n[[step]]\nid = \"wait\"\nrun = \"while [ ! -e go ] && [ -e $PWD ]; do sleep 0.1; done\"\n",
    );
    let command = format!(
        "cd {} && BATON_DB={} XDG_CONFIG_HOME={} USER=tester setsid {} run {} ; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
        shell_quote(&wf.to_string_lossy()),
    );
    let tmux = Tmux::new(&env, 100, 30, &command);
    tmux.wait_for(
        "the step to run",
        |s| s.contains("running") || s.contains("▶"),
        30,
    );
    let pid = pid_of(&wf.to_string_lossy()).expect("the console's pid");
    // Should it not end, it goes with the test all the same.
    let _console = KilledOnDrop(pid);
    tmux.kill_server();
    wait_until("the console to end without its terminal", secs(20), || {
        if process_alive(pid) {
            Err(format!("pid {pid} still runs"))
        } else {
            Ok(())
        }
    });
    let id = env.runs()[0]["id"].as_str().unwrap().to_string();
    std::fs::write(env.path().join("go"), "").unwrap();
    wait_until("the run to end in the background", secs(30), || {
        let show = env.show(&id);
        if show["state"] == "succeeded" {
            Ok(())
        } else {
            Err(format!("{show}"))
        }
    });
}

/// A process killed (-9) when the test ends, passed or failed.
struct KilledOnDrop(i32);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        if process_alive(self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
