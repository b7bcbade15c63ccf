//! Issue 58 point 7 on the real binary: an `[[action]]` of config.toml on its key. On
//! a selected step it asks (naming the command as it will run), then runs as a child of
//! the console with the run's and the step's ids as arguments, and its output shows in
//! a pane; the footer and `?` list it. A dangerous one is refused by `baton tui
//! --readonly`, where one that is not still runs.
use super::*;

const WORKFLOW: &str = r#"name = "ship"
[[step]]
id = "alpha"
run = "echo alpha-out"
[[step]]
id = "beta"
needs = ["alpha"]
run = "echo beta-out"
"#;

/// A script that writes its arguments after the first, one a line, to the file its
/// first names, and says so on stdout and stderr.
const RECORD: &str = "#!/bin/sh\nout=$1\nshift\nprintf '%s\\n' \"$@\" > \"$out\"\necho \"recorded $# arguments\"\necho from-stderr >&2\n";

/// `record.sh` in the test's directory, and the file it writes.
fn record_script(env: &Env) -> (String, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let script = env.path().join("record.sh");
    std::fs::write(&script, RECORD).expect("write the script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("make it executable");
    (
        script.to_string_lossy().into_owned(),
        env.path().join("argv.txt"),
    )
}

/// A finished run of [`WORKFLOW`]: its id.
fn finished_run(env: &Env) -> String {
    let wf = env.workflow("ship.toml", WORKFLOW);
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    run_id_of(&text(&o.stdout))
}

/// `baton tui` (with `args`) in the test's directory, its config.toml this env's.
fn tui(env: &Env, args: &str) -> String {
    format!(
        "cd {} && XDG_CONFIG_HOME={} BATON_DB={} USER=tester {} tui {args}; sleep 30",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(env!("CARGO_BIN_EXE_baton")),
    )
}

fn footer(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

#[test]
fn a_step_action_asks_then_runs_with_the_run_and_step_ids_and_shows_its_output() {
    let env = Env::new();
    let (script, argv_file) = record_script(&env);
    env.config(&format!(
        "[[action]]\nkey = \"D\"\nscope = \"step\"\ndescription = \"record: write the ids\"\ncommand = [{}, {}, \"{{run}}\", \"{{step}}\", \"{{workflow}}\", \"{{db}}\"]\nconfirm = true\n",
        toml_string(&script),
        toml_string(&argv_file.to_string_lossy()),
    ));
    let run = finished_run(&env);
    let t = Tmux::new(&env, 110, 30, &tui(&env, ""));
    t.wait_for(
        "the runs",
        |s| s.contains("Runs ·") && s.contains("ship"),
        20,
    );
    // Not on the Runs tab: no step is selected there.
    assert!(!footer(&t.screen()).contains("D record"), "{}", t.screen());
    t.keys(&["Enter"]);
    t.wait_for("the run", |s| s.contains("beta") && s.contains("alpha"), 10);
    t.keys(&[":"]);
    t.literal("beta");
    t.keys(&["Enter"]);
    let s = t.wait_for("beta selected", |s| s.contains("╭ ✔ beta"), 10);
    assert!(
        footer(&s).contains("D record"),
        "the footer offers it:\n{s}"
    );
    // `?` lists it with its description, in the DAG's keys.
    t.keys(&["?"]);
    t.literal("/record");
    t.keys(&["Enter"]);
    t.wait_for(
        "the help's line",
        |s| s.contains("record: write the ids ([[action]], asks first)"),
        10,
    );
    t.keys(&["Escape"]);
    t.keys(&["Escape"]);
    t.wait_for("the help closed", |s| !s.contains("Help"), 10);

    t.keys(&["D"]);
    let s = t.wait_for("the confirmation", |s| s.contains("Run your action?"), 10);
    assert!(s.contains("“record: write the ids”"), "{s}");
    assert!(s.contains("record.sh"), "it names the command:\n{s}");
    assert!(!argv_file.exists(), "nothing runs before the yes");
    t.keys(&["y"]);
    let s = t.wait_for(
        "its output in the pane",
        |s| s.contains("recorded 4 arguments") && s.contains("✔ exited 0"),
        20,
    );
    assert!(s.contains("from-stderr"), "{s}");
    assert!(s.contains("Action · record: write the ids"), "{s}");
    let written = std::fs::read_to_string(&argv_file).expect("the action wrote its arguments");
    let db = std::path::absolute(env.db()).expect("an absolute path");
    assert_eq!(
        written.lines().collect::<Vec<_>>(),
        vec![run.as_str(), "beta", "ship", &db.to_string_lossy()],
        "one argument per value"
    );
    // The action log keeps it, with its end; `l` there opens its output again.
    t.keys(&["Escape"]);
    t.wait_for("the pane closed", |s| !s.contains("Action ·"), 10);
    t.keys(&["@"]);
    // The footer too: a capture may fall between a frame's overlay and its footer.
    let s = t.wait_for(
        "the action log",
        |s| {
            s.contains("Action log")
                && s.contains("exited 0 after")
                && footer(s).contains("l output")
        },
        10,
    );
    assert!(s.contains("record: write the ids: `"), "{s}");
    t.keys(&["l"]);
    t.wait_for(
        "the output again",
        |s| s.contains("Action · record") && s.contains("recorded 4 arguments"),
        10,
    );
}

#[test]
fn a_read_only_console_refuses_a_dangerous_action_and_runs_one_that_is_not() {
    let env = Env::new();
    let (script, argv_file) = record_script(&env);
    let danger_file = env.path().join("danger.txt");
    env.config(&format!(
        "[[action]]\nkey = \"K\"\nscope = \"run\"\ndescription = \"kill: stop its hosts\"\ncommand = [{s}, {d}, \"{{run}}\"]\ndangerous = true\n\n[[action]]\nkey = \"O\"\nscope = \"run\"\ndescription = \"open\"\ncommand = [{s}, {a}, \"{{run}}\"]\noutput = \"log\"\n",
        s = toml_string(&script),
        d = toml_string(&danger_file.to_string_lossy()),
        a = toml_string(&argv_file.to_string_lossy()),
    ));
    let run = finished_run(&env);
    let t = Tmux::new(&env, 110, 30, &tui(&env, "--readonly"));
    let s = t.wait_for(
        "the read-only runs",
        |s| s.contains("Runs ·") && s.contains("ship") && s.contains("read-only"),
        20,
    );
    let f = footer(&s);
    assert!(f.contains("O open"), "{s}");
    assert!(
        !f.contains("K kill"),
        "a dangerous action is not offered:\n{s}"
    );
    t.keys(&["K"]);
    t.wait_for(
        "the refusal",
        |s| s.contains("read-only console: “kill: stop its hosts” is dangerous"),
        10,
    );
    assert!(!danger_file.exists(), "it did not run");
    // One that is not dangerous runs (it writes nothing to the store).
    t.keys(&["Escape"]);
    t.keys(&["O"]);
    t.wait_for(
        "its end on the status line",
        |s| s.contains("✔ open: exited 0 after"),
        20,
    );
    let written = std::fs::read_to_string(&argv_file).expect("the action wrote its arguments");
    assert_eq!(written.trim(), run);
    assert!(!danger_file.exists());
}

/// A string as TOML writes it (a path in the test's temporary directory).
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What a long action prints shows in its pane while it runs; leaving the console
/// stops it (its whole process group), so nothing it started outlives the console.
#[test]
fn a_long_action_shows_its_output_as_it_comes_and_leaving_the_console_stops_it() {
    let env = Env::new();
    let pid_file = env.path().join("pid.txt");
    env.config(&format!(
        "[[action]]\nkey = \"W\"\nscope = \"step\"\ndescription = \"watch\"\nshell = true\ncommand = [\"echo halfway; sleep 120 & echo $! > \\\"$1\\\"; wait\", {}]\n",
        toml_string(&pid_file.to_string_lossy()),
    ));
    finished_run(&env);
    let t = Tmux::new(&env, 110, 30, &tui(&env, ""));
    t.wait_for(
        "the runs",
        |s| s.contains("Runs ·") && s.contains("ship"),
        20,
    );
    t.keys(&["Enter"]);
    t.wait_for("a step selected", |s| footer(s).contains("W watch"), 10);
    t.keys(&["W"]);
    t.wait_for(
        "its output while it runs",
        |s| s.contains("halfway") && s.contains("… running for"),
        20,
    );
    let pid = wait_until("the pid it wrote", Duration::from_secs(10), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
            .ok_or_else(|| "no pid yet".to_string())
    });
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    t.wait_for(
        "the console gone",
        |s| !s.contains("Runs ·") && !s.contains("halfway"),
        20,
    );
    wait_until("its sleep stopped", Duration::from_secs(20), || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        if stat.is_empty() || stat.contains(") Z") {
            Ok(())
        } else {
            Err(format!("still running: {stat}"))
        }
    });
}
