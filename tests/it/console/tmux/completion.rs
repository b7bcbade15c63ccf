//! Completion in a real bash (issue 28 point 9): the script `baton completions bash`
//! prints, sourced in `bash --norc`, completes run ids and a run's step ids from the
//! store at a tab press.
use super::*;

#[test]
fn bash_completes_run_and_step_ids_from_the_store() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"w\"\n[[step]]\nid = \"build\"\nrun = \"true\"\n[[step]]\nid = \"test-unit\"\nneeds = [\"build\"]\nrun = \"true\"\n",
    );
    let o = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let run = run_id_of(&text(&o.stdout));
    let script = env.path().join("baton.bash");
    std::fs::write(&script, env.run(&["completions", "bash"]).stdout).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_baton"))
        .parent()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let t = Tmux::new(
        &env,
        120,
        20,
        &format!(
            "env PATH={}:/usr/bin:/bin BATON_DB={} PS1='$ ' bash --norc --noprofile",
            shell_quote(&bin),
            shell_quote(&env.db().to_string_lossy())
        ),
    );
    t.wait_for("the prompt", |s| s.contains('$'), 10);
    t.literal(&format!(
        "source {}",
        shell_quote(&script.to_string_lossy())
    ));
    t.keys(&["Enter"]);
    // A run id from its first characters.
    // Typed, never run: no Enter.
    t.literal(&format!("baton show {}", &run[..10]));
    t.keys(&["Tab"]);
    t.wait_for(
        "the run id completed",
        |s| s.contains(&format!("baton show {run}")),
        10,
    );
    t.keys(&["C-u"]);
    // A step id of that run: `t` is only `test-unit`.
    t.literal(&format!("baton logs {} t", &run[..12]));
    t.keys(&["Tab"]);
    t.wait_for(
        "the step id completed",
        |s| s.contains("baton logs") && s.contains(" test-unit"),
        10,
    );
}
