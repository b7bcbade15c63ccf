//! Issue 28 point 1: `baton inbox` lists what waits on a person across every run,
//! soonest deadline first, with who may decide and whether you may; `runs --state`.
use crate::helpers::*;

#[test]
fn the_inbox_lists_every_open_gate_across_runs_soonest_deadline_first() {
    let env = Env::new();
    let theirs = env.workflow(
        "theirs.toml",
        "name = \"theirs\"\n[[step]]\nid = \"deploy\"\nrun = \"true\"\ngate = { prompt = \"Deploy to prod?\", approvers = [\"someone-else\"], timeout = \"2h\" }\n",
    );
    let mine = env.workflow(
        "mine.toml",
        "name = \"mine\"\n[[step]]\nid = \"ship\"\nrun = \"true\"\ngate = { prompt = \"Ship it?\" }\n",
    );
    let (_a, a) = env.spawn_until(&mine, "ship", "waiting_approval");
    let (_b, b) = {
        let child = env.spawn(&["run", theirs.to_str().unwrap(), "--headless"]);
        let id = wait_until("the second run", secs(20), || {
            let runs = env.runs();
            runs.as_array()?
                .iter()
                .find(|r| r["workflow"] == "theirs")
                .and_then(|r| r["id"].as_str().map(str::to_string))
        });
        env.wait_step(&id, "deploy", "waiting_approval", 20);
        (child, id)
    };
    let out = env.run(&["inbox", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let items: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 2, "{items:#?}");
    // The gate with a deadline first.
    assert_eq!(items[0]["run_id"], b.as_str());
    assert_eq!(items[0]["kind"], "gate");
    assert_eq!(items[0]["prompt"], "Deploy to prod?");
    assert_eq!(items[0]["approvers"], serde_json::json!(["someone-else"]));
    assert_eq!(items[0]["mine"], false);
    assert!(
        items[0]["why_not"]
            .as_str()
            .unwrap()
            .contains("is not an approver"),
        "{items:#?}"
    );
    assert!(items[0]["left_ms"].as_u64().unwrap() > 3_600_000);
    assert_eq!(items[1]["run_id"], a.as_str());
    assert_eq!(items[1]["mine"], true);
    assert!(items[1]["left_ms"].is_null());

    let out = env.run(&["inbox", "--mine"]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("Ship it?") && !shown.contains("Deploy to prod?"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("baton approve {a} ship --reason")),
        "{shown}"
    );

    let out = env.run(&["runs", "--state", "waiting", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs:#}");
    let out = env.run(&["runs", "--state", "succeeded"]);
    assert_eq!(text(&out.stdout).trim(), "no runs are succeeded");
    let out = env.run(&["runs", "--state", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("one of:"),
        "{}",
        text(&out.stderr)
    );

    // Decided, it leaves the inbox.
    let out = env.run(&["approve", &a, "ship", "--reason", "ok"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.run(&["inbox", "--mine"]);
    assert!(
        text(&out.stdout).starts_with("nothing waits on you"),
        "{}",
        text(&out.stdout)
    );
}
