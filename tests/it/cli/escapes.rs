//! Issue 42 point 8: no command writes to a pipe or a file what a terminal would act
//! on (escape sequences other than colours, controls, bidi overrides), and a colour a
//! value leaves open ends with it. Hostile text is planted where each command shows
//! it: a step output templated into a gate prompt, a reason, the workflow itself.
use crate::helpers::*;

/// Everything a terminal acts on, and a colour left open at the end.
const HOSTILE: &str = "x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}evil\u{9b}31m\u{1b}[30;40m";

fn workflow(env: &Env) -> std::path::PathBuf {
    env.workflow(
        "hostile.toml",
        r#"
name = "hostile"
description = "a description \u001B]0;title\u0007 with \u202E in it"

[params.note]
type = "string"
default = "note \u001B[2J\u202E"

[[step]]
id = "make"
run = '''printf 'v=x\033]0;pwned\007\033[2J\342\200\256evil\302\23331m\033[30;40m\n' >> "$BATON_OUTPUT"'''

[[step]]
id = "ship"
needs = ["make"]
gate = { prompt = "Ship \u202E\u001B[2J ${{ steps.make.outputs.v }} now?" }
run = "echo '\u202E' shipped \u001B[2J"

[[step]]
id = "matrix"
matrix = { v = ["a\u202Eb"] }
run = "true"
"#,
    )
}

fn assert_quiet(what: &str, bytes: &[u8]) {
    let effects = terminal_effects(bytes);
    assert!(
        effects.is_empty(),
        "{what} would act on a terminal: {effects:#?}\n{}",
        text(bytes)
    );
}

#[test]
fn every_command_writes_only_text_and_closed_colours_to_a_pipe() {
    let env = Env::new();
    let wf = workflow(&env);
    let wf = wf.to_str().unwrap();
    let plan = env.run(&["plan", wf]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    // It shows the prompt and the matrix's instance ids as written.
    assert!(
        text(&plan.stdout).contains("matrix[a"),
        "{}",
        text(&plan.stdout)
    );
    assert_quiet("plan", &plan.stdout);

    let (child, run) = env.spawn_until(std::path::Path::new(wf), "ship", "waiting_approval");
    // The output is kept as data, whole.
    let v = env.show(&run);
    assert_eq!(
        step_field(&v, "make", "outputs")["v"],
        "x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}evil\u{9b}31m\u{1b}[30;40m"
    );
    for args in [vec!["inbox"], vec!["inbox", "--json"]] {
        let o = env.run(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        assert!(
            text(&o.stdout).contains("evil"),
            "{args:?}: {}",
            text(&o.stdout)
        );
        assert_quiet(&args.join(" "), &o.stdout);
    }
    let o = env.run(&["reject", &run, "ship", "--reason", HOSTILE]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_quiet("reject", &o.stdout);
    let headless = wait_child(child, 30);
    // The prompt's value ends its own colour: the rest of the line and the lines after
    // it (the approve command among them) are not black on black.
    let lines = text(&headless.stdout);
    assert!(
        lines.contains("evil") && lines.contains("baton approve"),
        "{lines}"
    );
    assert_quiet("the headless lines", &headless.stdout);
    let coloured = coloured_text(&headless.stdout);
    assert!(
        coloured.is_empty(),
        "coloured by a value: {coloured:?}\n{lines}"
    );
    assert_quiet("the headless stderr", &headless.stderr);

    for args in [
        vec!["events", &run],
        vec!["events", &run, "--json"],
        vec!["audit", &run],
        vec!["audit", &run, "--json"],
        vec!["show", &run],
        vec!["show", &run, "--json"],
    ] {
        let o = env.run(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
        assert_quiet(&args.join(" "), &o.stdout);
        assert_quiet(&args.join(" "), &o.stderr);
    }
    // JSON keeps the data: the reason reads back exactly as typed.
    let o = env.run(&["events", &run, "--json"]);
    let rejected = text(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|e| e.to_string().contains("evil") && e["reason"] == HOSTILE);
    assert!(rejected, "{}", text(&o.stdout));
}
