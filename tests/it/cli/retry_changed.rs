//! Issue 76: a retry of a finished run drives it with its file as it is now, which must
//! keep the run's shape; when it does not, the refusal says what does run the recorded
//! text (a fork), and the fork does.
use crate::helpers::*;

const FIRST: &str = r#"
name = "shaped"
[[step]]
id = "build"
run = "test -f fixed"
"#;

const CHANGED: &str = r#"
name = "shaped"
[[step]]
id = "build"
run = "test -f fixed"
[[step]]
id = "extra"
needs = ["build"]
run = "true"
"#;

#[test]
fn a_retry_refused_for_a_changed_shape_names_the_fork_that_runs_the_recorded_text() {
    let env = Env::new();
    let wf = env.workflow("shaped.toml", FIRST);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let run = env.runs()[0]["id"].as_str().expect("a run").to_string();
    std::fs::write(&wf, CHANGED).expect("change the file");
    std::fs::write(env.path().join("fixed"), "").expect("fix the cause");
    let retry = env.run(&["retry", &run, "build"]);
    assert_eq!(retry.status.code(), Some(2), "{}", text(&retry.stdout));
    let said = text(&retry.stderr);
    assert!(
        said.contains("a run keeps its steps")
            && said.contains(&format!("baton fork {run} --from STEP")),
        "{said}"
    );
    let fork = env.run(&["fork", &run, "--from", "build", "--headless"]);
    assert_eq!(fork.status.code(), Some(0), "{}", text(&fork.stderr));
    let forked = env.runs()[0]["id"].as_str().expect("the fork").to_string();
    let show = env.show(&forked);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    assert!(
        step_state(&show, "extra").is_none(),
        "the fork ran the recorded text, one step: {show:#}"
    );
}
