//! Issue 81 point 4: a `baton run` inside a step is on record as that step's (its
//! environment names the run and step), both ends name each other in `show` and
//! `show --json`, and the chain's depth is carried: a workflow whose step runs itself
//! again stops at `MAX_TRIGGER_DEPTH` links, refused with why.
use crate::helpers::*;
use serde_json::Value;

#[test]
fn a_step_s_baton_run_is_linked_to_its_step_and_a_loop_of_them_stops_at_the_depth_limit() {
    let env = Env::new();
    let wf = env.workflow(
        "loop.toml",
        &format!(
            r#"name = "loop"
[[step]]
id = "again"
env = {{ BATON = "{}" }}
run = '"$BATON" run loop.toml --headless > /dev/null 2>> err.log; echo "$? $BATON_RUN_ID" >> levels'
"#,
            env!("CARGO_BIN_EXE_baton")
        ),
    );
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let read = |name: &str| std::fs::read_to_string(env.path().join(name)).unwrap_or_default();
    // Innermost first: the ninth run's `baton run` was refused (exit 2), the others made.
    let levels: Vec<(String, String)> = read("levels")
        .lines()
        .map(|l| {
            let (code, run) = l.split_once(' ').unwrap();
            (code.to_string(), run.to_string())
        })
        .collect();
    let codes: Vec<&str> = levels.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        codes,
        ["2", "0", "0", "0", "0", "0", "0", "0", "0"],
        "{}",
        read("err.log")
    );
    let err = read("err.log");
    assert!(
        err.contains("starts a chain 9 runs deep, more than 8"),
        "{err}"
    );
    let runs: Vec<&str> = levels.iter().rev().map(|(_, r)| r.as_str()).collect();
    // The first run, started with no step around it, starts the chain.
    let first = env.show(runs[0]);
    assert_eq!(first["started_by"], Value::Null, "{first:#}");
    for pair in runs.windows(2) {
        let (outer, inner) = (pair[0], pair[1]);
        let j = env.show(inner);
        let by = &j["started_by"];
        assert_eq!(by["kind"], "step", "{j:#}");
        assert_eq!(by["trigger"], "baton run");
        assert_eq!(
            by["event"],
            Value::from(format!("step again of run {outer}"))
        );
        let shown = text(&env.run(&["show", inner]).stdout);
        assert!(
            shown.contains(&format!(
                "started by `baton run` in step again of run {outer}"
            )),
            "{shown}"
        );
        let shown = text(&env.run(&["show", outer]).stdout);
        assert!(
            shown.contains(&format!("started run {inner} by `baton run`")),
            "{shown}"
        );
    }
    let c = rusqlite::Connection::open(env.db()).unwrap();
    let depths: Vec<i64> = c
        .prepare("SELECT depth FROM trigger_events WHERE kind = 'step' ORDER BY depth")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(depths, (1..=8).collect::<Vec<i64>>());
}
