//! Cached steps (`cache = true`): a second run starts no process (each command appends
//! to a ledger file, so the ledger proves it), a changed input re-runs exactly the steps
//! that depend on it, a deleted product is restored, gates ask again, `--no-cache`, and
//! `baton cache ls/clear`.
use crate::helpers::*;
use std::fs;

fn run_ok(env: &Env, wf: &str, extra: &[&str]) -> (String, String) {
    let mut args = vec!["run", wf, "--headless"];
    args.extend_from_slice(extra);
    let out = env.run(&args);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {stdout}\n{}",
        text(&out.stderr)
    );
    (run_id_of(&stdout), stdout)
}

fn ledger(env: &Env) -> Vec<String> {
    fs::read_to_string(env.path().join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

const BUILD: &str = r#"
name = "build"
[defaults]
cache = true

[[step]]
id = "compile"
run = "echo compile >> ledger; mkdir -p build; cat src/*.c > build/app; echo size=$(wc -c < build/app) >> $BATON_OUTPUT"
inputs = ["src/*.c"]
produces = ["build/app"]

[[step]]
id = "docs"
run = "echo docs >> ledger; cat doc.md > manual.txt; echo kind=manual >> $BATON_OUTPUT"
inputs = ["doc.md"]
produces = ["manual.txt"]

[[step]]
id = "package"
needs = ["compile"]
env = { SIZE = "${{ steps.compile.outputs.size }}" }
run = "echo package >> ledger; echo $SIZE > package.txt"
produces = ["package.txt"]

[[step]]
id = "publish"
needs = ["docs"]
env = { KIND = "${{ steps.docs.outputs.kind }}" }
run = "echo publish >> ledger"
"#;

fn build_env() -> Env {
    let env = Env::new();
    fs::create_dir_all(env.path().join("src")).unwrap();
    fs::write(env.path().join("src/main.c"), "int main;\n").unwrap();
    fs::write(env.path().join("doc.md"), "# manual\n").unwrap();
    env.workflow("build.toml", BUILD);
    env
}

#[test]
fn a_second_run_starts_no_process() {
    let env = build_env();
    let (first, _) = run_ok(&env, "build.toml", &[]);
    assert_eq!(ledger(&env).len(), 4, "{:?}", ledger(&env));
    let (second, stdout) = run_ok(&env, "build.toml", &[]);
    assert_eq!(
        ledger(&env).len(),
        4,
        "a process started: {:?}",
        ledger(&env)
    );
    let show = env.show(&second);
    for id in ["compile", "docs", "package", "publish"] {
        assert_eq!(step_field(&show, id, "state"), "succeeded");
        assert_eq!(step_field(&show, id, "cached"), true, "{id}");
        assert_eq!(step_field(&show, id, "cached_from"), first.as_str());
    }
    // Outputs are restored: `package` read compile's through its template.
    assert_eq!(step_field(&show, "compile", "outputs")["size"], "10");
    assert!(stdout.contains(&format!("compile cached: outputs from run {first}")));
    let logs = env.run(&["logs", &second, "compile"]);
    assert!(
        text(&logs.stdout).contains(&format!("outputs from run {first}")),
        "{}",
        text(&logs.stdout)
    );
    let human = text(&env.run(&["show", &second]).stdout);
    assert!(
        human.contains(&format!("cached, not run: compile (run {first})")),
        "{human}"
    );
    // The first run's steps ran.
    assert_eq!(step_field(&env.show(&first), "compile", "cached"), false);
}

#[test]
fn changing_one_input_reruns_exactly_its_dependants() {
    let env = build_env();
    run_ok(&env, "build.toml", &[]);
    fs::write(env.path().join("ledger"), "").unwrap();
    // One more byte: compile's output changes, so package (which reads it) runs too.
    fs::write(env.path().join("src/main.c"), "int main();\n").unwrap();
    let (run, _) = run_ok(&env, "build.toml", &[]);
    assert_eq!(ledger(&env), ["compile", "package"]);
    let show = env.show(&run);
    assert_eq!(step_field(&show, "docs", "cached"), true);
    assert_eq!(step_field(&show, "publish", "cached"), true);
    assert_eq!(step_field(&show, "compile", "cached"), false);

    // docs re-runs, but its output is the same: publish stays cached.
    fs::write(env.path().join("ledger"), "").unwrap();
    fs::write(env.path().join("doc.md"), "# manual, revised\n").unwrap();
    let (run, _) = run_ok(&env, "build.toml", &[]);
    assert_eq!(ledger(&env), ["docs"]);
    assert_eq!(step_field(&env.show(&run), "publish", "cached"), true);
    assert_eq!(
        fs::read_to_string(env.path().join("manual.txt")).unwrap(),
        "# manual, revised\n"
    );
}

#[test]
fn a_deleted_or_changed_product_is_restored() {
    let env = build_env();
    run_ok(&env, "build.toml", &[]);
    let app = env.path().join("build/app");
    let original = fs::read(&app).unwrap();
    fs::remove_file(&app).unwrap();
    fs::write(env.path().join("package.txt"), "tampered").unwrap();
    let (run, stdout) = run_ok(&env, "build.toml", &[]);
    assert_eq!(ledger(&env).len(), 4, "{:?}", ledger(&env));
    assert_eq!(fs::read(&app).unwrap(), original);
    assert_eq!(
        fs::read_to_string(env.path().join("package.txt")).unwrap(),
        "10\n"
    );
    assert!(stdout.contains("restored build/app"), "{stdout}");
    assert_eq!(step_field(&env.show(&run), "compile", "cached"), true);
}

#[test]
fn no_cache_runs_every_step_and_refreshes_the_entries() {
    let env = build_env();
    run_ok(&env, "build.toml", &[]);
    let (run, _) = run_ok(&env, "build.toml", &["--no-cache"]);
    assert_eq!(ledger(&env).len(), 8);
    assert_eq!(step_field(&env.show(&run), "compile", "cached"), false);
    // The entries now come from the --no-cache run.
    let (next, _) = run_ok(&env, "build.toml", &[]);
    assert_eq!(ledger(&env).len(), 8);
    assert_eq!(
        step_field(&env.show(&next), "compile", "cached_from"),
        run.as_str()
    );
}

#[test]
fn a_gated_cached_step_asks_again_on_every_run() {
    let env = Env::new();
    env.workflow(
        "deploy.toml",
        r#"
name = "deploy"
[[step]]
id = "deploy"
cache = true
run = "echo deploy >> ledger"
gate = { prompt = "deploy?" }
"#,
    );
    let (_, first) = run_ok(&env, "deploy.toml", &["--auto-approve"]);
    let (second_run, second) = run_ok(&env, "deploy.toml", &["--auto-approve"]);
    assert_eq!(ledger(&env), ["deploy"]);
    for out in [&first, &second] {
        assert!(out.contains("deploy waiting_approval"), "{out}");
    }
    let show = env.show(&second_run);
    assert_eq!(step_field(&show, "deploy", "cached"), true);
    let audit = text(&env.run(&["audit", &second_run]).stdout);
    assert!(audit.contains("approved"), "{audit}");
}

#[test]
fn a_secret_binds_the_key_but_is_never_stored() {
    let env = Env::new();
    env.workflow(
        "s.toml",
        r#"
name = "s"
[params.token]
type = "string"
secret = true
[[step]]
id = "leak"
cache = true
env = { T = "${{ params.token }}" }
run = "echo leak >> ledger; echo t=$T >> $BATON_OUTPUT"
"#,
    );
    run_ok(&env, "s.toml", &["--param", "token=s3cr3t-value"]);
    let (run, _) = run_ok(&env, "s.toml", &["--param", "token=s3cr3t-value"]);
    assert_eq!(ledger(&env), ["leak"]);
    // An output holding a secret is withheld (issue 11), from a cached run as from a
    // real one.
    assert!(step_field(&env.show(&run), "leak", "outputs")["t"].is_null());
    run_ok(&env, "s.toml", &["--param", "token=other-s3cr3t"]);
    assert_eq!(ledger(&env), ["leak", "leak"]);
    let db = fs::read(env.db()).unwrap();
    let ls = text(&env.run(&["cache", "ls", "--json"]).stdout);
    for secret in ["s3cr3t-value", "other-s3cr3t"] {
        assert!(!String::from_utf8_lossy(&db).contains(secret));
        assert!(!ls.contains(secret), "{ls}");
    }
}

#[test]
fn cache_ls_and_clear() {
    let env = build_env();
    let (first, _) = run_ok(&env, "build.toml", &[]);
    let ls = env.run(&["cache", "ls", "--json"]);
    assert!(ls.status.success(), "{}", text(&ls.stderr));
    let entries: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert!(entries.iter().all(|e| e["run"] == first.as_str()));
    let human = text(&env.run(&["cache", "ls"]).stdout);
    assert!(
        human.contains("compile") && human.contains(&first),
        "{human}"
    );

    let kept = env.run(&["cache", "clear", "--older-than", "1h"]);
    assert!(text(&kept.stdout).contains("removed 0 cache entries"));
    let cleared = env.run(&["cache", "clear"]);
    assert!(
        text(&cleared.stdout).contains("removed 4 cache entries and 3 stored files"),
        "{}",
        text(&cleared.stdout)
    );
    run_ok(&env, "build.toml", &[]);
    assert_eq!(ledger(&env).len(), 8);
}

/// Issue 75 point 6: a product's path that became a pipe is neither read for ever when
/// the cache is consulted nor replaced by the cached copy: the step runs, and its own
/// command decides what goes there.
#[test]
fn a_product_that_became_a_pipe_is_not_read_or_replaced_the_step_runs() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        "name = \"p\"\n[[step]]\nid = \"make\"\ncache = true\nproduces = [\"out\"]\n\
         run = \"echo make >> ledger; rm -f out; echo made > out\"\n",
    );
    run_ok(&env, wf.to_str().unwrap(), &[]);
    let out = env.path().join("out");
    fs::remove_file(&out).unwrap();
    nix::unistd::mkfifo(&out, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let done = wait_child(env.spawn(&["run", wf.to_str().unwrap(), "--headless"]), 30);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert_eq!(ledger(&env), ["make", "make"], "the step ran again");
    assert_eq!(fs::read_to_string(&out).unwrap(), "made\n");
    let show = env.show(&run_id_of(&text(&done.stdout))).to_string();
    assert!(
        show.contains("cache not consulted") && show.contains("is not a regular file"),
        "{show}"
    );
}
