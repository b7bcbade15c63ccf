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
