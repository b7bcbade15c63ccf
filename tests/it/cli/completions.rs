//! Shell completions and man pages come from the same clap definition as the parser
//! (issue 12, point 9).
use crate::helpers::*;

#[test]
fn completion_scripts_know_every_command_and_bash_parses_its_own() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let o = env.run(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", text(&o.stderr));
        let script = text(&o.stdout);
        for cmd in ["approve", "reject", "retry", "resume", "tui", "completions"] {
            assert!(script.contains(cmd), "{shell} completion lacks {cmd}");
        }
    }
    // No internal subcommand leaks into the completions.
    let bash = text(&env.run(&["completions", "bash"]).stdout);
    assert!(!bash.contains("subcmd__engine"), "{bash}");
    let script = env.path().join("baton.bash");
    std::fs::write(&script, env.run(&["completions", "bash"]).stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash");
    assert!(check.status.success(), "{}", text(&check.stderr));
    let o = env.run(&["completions", "tcsh"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_are_generated_for_baton_and_each_subcommand() {
    let env = Env::new();
    let o = env.run(&["man"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let page = text(&o.stdout);
    assert!(page.contains(".TH baton 1"), "{page}");
    assert!(page.contains("approve"), "{page}");
    let dir = env.path().join("man1");
    let o = env.run(&["man", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for page in ["baton.1", "baton-approve.1", "baton-run.1", "baton-tui.1"] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page}: {text}");
    }
}

/// `logs RUN zzz` names the run's steps (the run was right; the step was not).
#[test]
fn logs_of_an_unknown_step_lists_the_runs_steps() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"build\"\nrun = \"true\"\n[[step]]\nid = \"test\"\nneeds = [\"build\"]\nrun = \"true\"\n",
    );
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(o.status.success());
    let run = run_id_of(&text(&o.stdout));
    let o = env.run(&["logs", &run, "zzz"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("its steps: build, test"), "{err}");
    assert!(!err.contains("baton runs"), "{err}");
}

/// Where the parser wants a run or a step id, completion offers the store's (issue 28
/// point 9): `baton __complete`, which the scripts call, answers from the store, and
/// exits 1 where no id is wanted so that clap's completion answers instead.
#[test]
fn completion_offers_run_and_step_ids_from_the_store() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"build\"\nrun = \"true\"\n[[step]]\nid = \"test\"\nneeds = [\"build\"]\nrun = \"true\"\n",
    );
    let mut runs = Vec::new();
    for _ in 0..2 {
        let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        runs.push(run_id_of(&text(&o.stdout)));
    }
    let lines = |args: &[&str]| {
        let mut all = vec!["__complete", "--"];
        all.extend_from_slice(args);
        let o = env.run(&all);
        (
            o.status.code(),
            text(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        )
    };
    // Newest first when nothing is typed; a prefix narrows.
    let (code, ids) = lines(&["show", ""]);
    assert_eq!(code, Some(0));
    assert_eq!(ids, vec![runs[1].clone(), runs[0].clone()]);
    let (_, ids) = lines(&["approve", &runs[0][..runs[0].len() - 1]]);
    assert_eq!(ids, vec![runs[0].clone()]);
    // The run's steps after its id (a prefix will do), options skipped.
    let (code, steps) = lines(&["logs", "--raw", &runs[0][..12], ""]);
    assert_eq!(
        (code, steps),
        (Some(0), vec!["build".to_string(), "test".to_string()])
    );
    let (_, steps) = lines(&["retry", &runs[1], "te"]);
    assert_eq!(steps, vec!["build".to_string(), "test".to_string()]);
    // No id wanted: exit 1 and nothing printed.
    for args in [
        &["run", ""][..],
        &["show", "--"],
        &["sh"],
        &["show", &runs[0], ""],
    ] {
        assert_eq!(lines(args), (Some(1), Vec::new()), "{args:?}");
    }
    // No store: nothing, quietly.
    let o = env
        .cmd()
        .env("BATON_DB", env.path().join("none.db"))
        .args(["__complete", "--", "show", ""])
        .output()
        .unwrap();
    assert_eq!((o.status.code(), o.stdout.is_empty()), (Some(1), true));
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    // The hidden entry point is never offered as a command.
    for shell in ["bash", "zsh", "fish"] {
        let script = text(&env.run(&["completions", shell]).stdout);
        assert!(
            script.contains("__complete"),
            "{shell}: the script calls it"
        );
        assert!(!script.contains("subcmd____complete"), "{shell}");
    }
}
