//! Issue 11, tried as an attacker who can run `baton`: spoofed names, one person voting
//! twice, `mark` around a gate, `--auto-approve` on gates that say who decides, and a
//! store shared by a group. Two OS accounts: root (the tests run as root) and `nobody`.
mod common;
use common::*;

fn start(env: &Env, wf: &str, extra: &[&str]) -> (std::process::Child, String) {
    let path = env.workflow("w.toml", wf);
    let mut args = vec!["run", path.to_str().unwrap(), "--headless"];
    args.extend_from_slice(extra);
    let child = env.spawn(&args);
    (child, env.wait_run_id())
}

fn all(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

const NO_SELF: &str = r#"
name = "no-self"
[[step]]
id = "deploy"
run = "touch deployed"
gate = { prompt = "Ship?", allow_self_approval = false }
[[step]]
id = "after"
needs = ["deploy"]
run = "touch after"
"#;

#[test]
fn a_typed_operator_is_refused_on_every_decision_and_run() {
    let env = Env::new();
    let (mut child, id) = start(&env, NO_SELF, &[]);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let wf = env.path().join("w.toml");
    let wf = wf.to_str().unwrap();
    for args in [
        vec!["approve", &id, "deploy", "--operator", "ALICE"],
        vec!["approve", &id, "deploy", "--operator", ""],
        vec!["approve", &id, "deploy", "--operator", " "],
        vec![
            "reject",
            &id,
            "deploy",
            "--reason",
            "no",
            "--operator",
            "bob",
        ],
        vec![
            "mark",
            &id,
            "deploy",
            "--state",
            "succeeded",
            "--reason",
            "x",
            "--operator",
            "bob",
        ],
        vec!["cancel", &id, "--operator", "bob"],
        vec!["retry", &id, "deploy", "--operator", "bob"],
        vec!["run", wf, "--headless", "--operator", "bob"],
        vec!["resume", &id, "--headless", "--operator", "bob"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", all(&out));
        assert!(
            all(&out).contains("operating-system account"),
            "{args:?}: {}",
            all(&out)
        );
    }
    assert_eq!(
        step_state(&env.show(&id), "deploy").as_deref(),
        Some("waiting_approval")
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn the_starter_cannot_approve_their_own_run_whatever_user_says() {
    let env = Env::new();
    env.share_with_nobody();
    let (child, id) = start(&env, NO_SELF, &[]);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    // root started it; `USER=tester` (set by the harness) changes nothing.
    let out = env.run(&["approve", &id, "deploy"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("self-approval: `root`"), "{}", all(&out));
    assert!(!env.path().join("deployed").exists());
    let out = env.run_as_nobody(&["approve", &id, "deploy"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    assert!(env.path().join("after").exists());
}

#[test]
fn a_non_approver_account_is_refused() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = NO_SELF.replace("allow_self_approval = false", r#"approvers = ["alice"]"#);
    let (mut child, id) = start(&env, &wf, &[]);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let out = env.run_as_nobody(&["approve", &id, "deploy"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        all(&out).contains("`nobody` is not an approver"),
        "{}",
        all(&out)
    );
    assert_eq!(
        step_state(&env.show(&id), "deploy").as_deref(),
        Some("waiting_approval")
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn mark_cannot_pass_a_waiting_gate_and_its_dependants_do_not_run() {
    let env = Env::new();
    let wf = NO_SELF.replace(
        "allow_self_approval = false",
        r#"approvers = ["nobody", "alice"], quorum = 2, allow_self_approval = false"#,
    );
    let (mut child, id) = start(&env, &wf, &[]);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    for state in ["succeeded", "failed"] {
        let out = env.run(&[
            "mark", &id, "deploy", "--state", state, "--reason", "by hand",
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", all(&out));
        assert!(all(&out).contains("waiting for approval"), "{}", all(&out));
    }
    let show = env.show(&id);
    assert_eq!(
        step_state(&show, "deploy").as_deref(),
        Some("waiting_approval")
    );
    assert_eq!(step_state(&show, "after").as_deref(), Some("pending"));
    assert!(!env.path().join("after").exists());
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn auto_approve_leaves_gates_that_name_approvers_or_forbid_self_approval() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = r#"
name = "auto"
[[step]]
id = "open"
run = "touch open"
gate = { prompt = "go?" }
[[step]]
id = "named"
run = "touch named"
gate = { prompt = "go?", approvers = ["nobody"] }
[[step]]
id = "noself"
run = "touch noself"
gate = { prompt = "go?", allow_self_approval = false }
"#;
    let (child, id) = start(&env, wf, &["--auto-approve"]);
    env.wait_step(&id, "open", "succeeded", 15);
    env.wait_step(&id, "named", "waiting_approval", 15);
    env.wait_step(&id, "noself", "waiting_approval", 15);
    for step in ["named", "noself"] {
        let out = env.run_as_nobody(&["approve", &id, step]);
        assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    }
    let out = wait_child(child, 30);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        text(&out.stderr).contains("stay open for them: named, noself"),
        "the run says which gates it leaves open: {}",
        all(&out)
    );
    let rows: serde_json::Value =
        serde_json::from_slice(&env.run(&["audit", &id, "--json"]).stdout).unwrap();
    let approved: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "approved")
        .map(|r| {
            (
                r["step"].as_str().unwrap().into(),
                r["actor"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut approved = approved;
    approved.sort();
    assert_eq!(
        approved,
        [
            ("named".to_string(), "nobody".to_string()),
            ("noself".into(), "nobody".into()),
            ("open".into(), "root".into())
        ]
    );
}

#[test]
fn a_group_store_is_2770_and_0660_and_refuses_other_groups_and_world_write() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = Env::new();
    env.share_with_nobody();
    let dir = env.db().parent().unwrap().to_path_buf();
    let nogroup = 65534;
    let d = std::fs::metadata(&dir).unwrap();
    assert_eq!((d.mode() & 0o7777, d.gid()), (0o2770, nogroup));
    let f = std::fs::metadata(env.db()).unwrap();
    assert_eq!((f.mode() & 0o7777, f.gid()), (0o660, nogroup));
    // Both accounts use it.
    assert!(env.run(&["runs"]).status.success());
    let out = env.run_as_nobody(&["runs"]);
    assert!(out.status.success(), "{}", all(&out));
    // Group write for another group than the recorded one is refused.
    nix::unistd::chown(&env.db(), None, Some(nix::unistd::Gid::from_raw(0))).unwrap();
    let out = env.run(&["runs"]);
    assert_eq!(out.status.code(), Some(3), "{}", all(&out));
    assert!(
        all(&out).contains("group or others can write"),
        "{}",
        all(&out)
    );
    nix::unistd::chown(&env.db(), None, Some(nix::unistd::Gid::from_raw(nogroup))).unwrap();
    // World write is refused even in a group store.
    std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o662)).unwrap();
    let out = env.run_as_nobody(&["runs"]);
    assert_eq!(out.status.code(), Some(3), "{}", all(&out));
    assert!(all(&out).contains("0662"), "{}", all(&out));
}

#[test]
fn a_private_store_stays_refused_to_group_write() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let out = env.run(&["store", "init"]);
    assert!(out.status.success(), "{}", all(&out));
    std::fs::set_permissions(env.db(), std::fs::Permissions::from_mode(0o660)).unwrap();
    let out = env.run(&["runs"]);
    assert_eq!(out.status.code(), Some(3), "{}", all(&out));
    assert!(all(&out).contains("0660"), "{}", all(&out));
}

#[test]
fn empty_or_repeated_approver_names_are_load_errors() {
    let env = Env::new();
    for (list, says) in [
        (r#"[" "]"#, "an empty name in the `approvers`"),
        (r#"["alice", " ALICE"]"#, "`ALICE` is listed twice"),
    ] {
        let wf = env.workflow(
            "w.toml",
            &format!(
                "name = \"n\"\n[[step]]\nid = \"deploy\"\nrun = \"true\"\ngate = {{ prompt = \"go?\", approvers = {list} }}\n"
            ),
        );
        let out = env.run(&["validate", wf.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{list}: {}", all(&out));
        assert!(all(&out).contains(says), "{list}: {}", all(&out));
        assert!(all(&out).contains("w.toml:5:"), "file:line: {}", all(&out));
    }
}
