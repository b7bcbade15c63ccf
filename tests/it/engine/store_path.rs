//! Review (asks-read point 3): a local step's `BATON_DB` (the store its `baton ask`
//! writes to) is the core's decision, and holds across a kill -9 and `resume`: the
//! resumed engine's steps get the store too. The engines are given the store by `--db`
//! and never have `BATON_DB` in their own environment, so that no step could have it
//! by inheritance.
use crate::helpers::*;

fn seen(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path().join("seen.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_local_step_of_a_resumed_run_gets_the_store_as_the_first_did() {
    let env = Env::new();
    let wf = env.workflow(
        "w.toml",
        r#"name = "store-path"
[[step]]
id = "first"
run = 'echo "first=$BATON_DB" >> seen.txt; while [ ! -e go ] && [ -e $PWD ]; do sleep 0.05; done'

[[step]]
id = "second"
needs = ["first"]
run = 'echo "second=$BATON_DB" >> seen.txt'
"#,
    );
    let db = env.db();
    let wf_arg = wf.to_string_lossy().into_owned();
    let db_arg = db.to_string_lossy().into_owned();
    let mut engine = env
        .cmd()
        .env_remove("BATON_DB")
        .args(["run", &wf_arg, "--headless", "--db", &db_arg])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn baton");
    let run = env.wait_run_id();
    wait_until("the first step's line", secs(20), || {
        let s = seen(&env);
        (!s.is_empty()).then_some(()).ok_or(format!("{s:?}"))
    });
    let _ = engine.kill(); // SIGKILL, mid-step
    let _ = engine.wait();
    let resumed = env
        .cmd()
        .env_remove("BATON_DB")
        .args(["resume", &run, "--headless", "--db", &db_arg])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn baton resume");
    std::fs::write(env.path().join("go"), "").unwrap();
    let out = wait_child(resumed, 30);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = seen(&env);
    let second: Vec<&String> = lines.iter().filter(|l| l.starts_with("second=")).collect();
    assert_eq!(second.len(), 1, "the second step ran once: {lines:?}");
    let firsts: Vec<&String> = lines.iter().filter(|l| l.starts_with("first=")).collect();
    assert!(!firsts.is_empty() && firsts.len() <= 2, "{lines:?}");
    let canon = |l: &str| std::fs::canonicalize(l.split_once('=').map_or("", |(_, v)| v)).ok();
    for l in lines.iter() {
        assert_eq!(
            canon(l),
            std::fs::canonicalize(&db).ok(),
            "each local step's store: {lines:?}"
        );
    }
    assert_eq!(
        step_state(&env.show(&run), "second").as_deref(),
        Some("succeeded")
    );
}
