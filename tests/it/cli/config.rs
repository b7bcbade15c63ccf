//! Issue 12 point 5: `$XDG_CONFIG_HOME/baton/config.toml`, read by every command.
use crate::helpers::*;

#[test]
fn a_wrong_config_stops_every_command_with_file_line_and_exit_2() {
    let env = Env::new();
    let path =
        env.config("theme = \"light\"\n\n[keys]\napprove = \"y\"\nreject = \"y\"\nwibble = 1\n");
    for args in [vec!["runs"], vec!["validate", "nope.toml"]] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "{}:6:10: error: `wibble` must be a key or a list of keys",
                path.display()
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{}:5:1: error: `y` is bound to both `approve` and `reject`",
                path.display()
            )),
            "{err}"
        );
    }
}

#[test]
fn the_config_gives_the_database_and_options_win_over_it() {
    let env = Env::new();
    let db = env.path().join("from-config.db");
    env.config(&format!("db = \"{}\"\n", db.display()));
    let wf = env.workflow(
        "w.toml",
        "name = \"cfg\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    // No --db and no BATON_DB: the config's database.
    let out = env
        .cmd()
        .env_remove("BATON_DB")
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(db.exists(), "the run went to the config's database");
    assert!(!env.db().exists());
    // BATON_DB (as every test sets it) wins over the file.
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(out.status.success());
    assert!(env.db().exists());
}

#[test]
fn the_config_theme_is_the_default_and_the_option_wins() {
    let env = Env::new();
    env.config("theme = \"no-such-theme\"\n");
    let wf = env.workflow(
        "w.toml",
        "name = \"cfg\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    // The console's theme is loaded before anything runs: the config's is used…
    let out = env.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown theme `no-such-theme`"),
        "{}",
        text(&out.stderr)
    );
    // …unless --theme names another.
    let out = env.run(&["run", wf.to_str().unwrap(), "--theme", "light"]);
    assert!(
        !text(&out.stderr).contains("unknown theme"),
        "{}",
        text(&out.stderr)
    );
}

/// Issue 58 point 7: a wrong `[[action]]` (an unknown placeholder, a key a built-in has
/// where it acts) stops every command as any mistake in the file does, exit 2, with its
/// line and column; a right one is taken by every command.
#[test]
fn a_wrong_action_stops_every_command_with_its_line_and_column() {
    let env = Env::new();
    let path = env.config(
        "[[action]]\nkey = \"l\"\nscope = \"step\"\ndescription = \"lint\"\ncommand = [\"lint\", \"{runid}\"]\n\n[[action]]\nkey = \"d\"\nscope = \"run\"\ndescription = \"describe\"\ncommand = [\"describe\", \"{run}\"]\n",
    );
    let out = env.run(&["runs"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let at = |line_col: &str, what: &str| format!("{}:{line_col}: error: {what}", path.display());
    assert!(
        err.contains(&at("5:21", "`{runid}` is not a placeholder"))
            && err.contains("did you mean `{run}`?"),
        "at its brace, with the nearest placeholder: {err}"
    );
    assert!(
        err.contains(&at(
            "8:7",
            "`d` is bound to both `delete` and the [[action]] “describe” in Runs"
        )),
        "{err}"
    );
    env.config(
        "[[action]]\nkey = \"D\"\nscope = \"step\"\ndescription = \"dashboard\"\ncommand = [\"open-dashboard\", \"{run}\", \"{step}\"]\n",
    );
    let wf = env.workflow(
        "w.toml",
        "name = \"ok\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
    );
    let out = env.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
