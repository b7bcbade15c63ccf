//! Issue 11, tried as an attacker who can run `baton`: spoofed names, one person voting
//! twice, `mark` around a gate, `--auto-approve` on gates that say who decides, and a
//! store shared by a group. Two OS accounts: root (the tests run as root) and `nobody`.
use crate::helpers::*;

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
    // The commands' proofs beside it, made with the store so every member writes there.
    let p = std::fs::metadata(env.db().with_file_name("baton.db.proofs")).unwrap();
    assert_eq!((p.mode() & 0o7777, p.gid()), (0o2770, nogroup));
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

/// Security review: anyone who could write the database (every member of a group
/// store) inserted `approve` rows naming other accounts into `commands`, and the live
/// engine applied them as those accounts' votes, keyed with its own audit key. A row
/// now counts only with a proof its named account made (`store::proof`); the others
/// are refused on record, and the accounts' own approvals still go through.
#[test]
fn command_rows_written_into_the_database_by_hand_are_refused_on_record() {
    use rusqlite::Connection;
    let env = Env::new();
    env.share_with_nobody();
    let wf = r#"
name = "quorum"
[[step]]
id = "deploy"
run = "touch deployed"
gate = { prompt = "Ship?", approvers = ["nobody", "alice"], quorum = 2 }
"#;
    let (mut child, id) = start(&env, wf, &[]);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    let db = Connection::open(env.db()).unwrap();
    let insert = |json: &str| {
        db.execute(
            "INSERT INTO commands (run_id, json, submitted_at) VALUES (?1, ?2, 0)",
            rusqlite::params![id, json],
        )
        .unwrap();
    };
    // No proof at all, for each approver.
    for who in ["nobody", "alice"] {
        insert(&format!(
            r#"{{"cmd":"approve","step":"deploy","operator":"{who}","reason":"lgtm"}}"#
        ));
    }
    // A proof that fits the row, but made by root, not by the account the row names.
    let nonce = "0123456789abcdef0123456789abcdef";
    let json = format!(
        r#"{{"cmd":"approve","step":"deploy","operator":"alice","reason":"lgtm","proof":"{nonce}"}}"#
    );
    let proofs = env.db().with_file_name("baton.db.proofs");
    assert!(proofs.is_dir(), "made by store init --group");
    std::fs::write(proofs.join(nonce), baton::store::proof::digest(&id, &json)).unwrap();
    insert(&json);
    let outcomes: Vec<String> = wait_until("the commands to be refused", secs(20), || {
        let rows: Vec<(String, Option<String>)> = db
            .prepare("SELECT status, outcome FROM commands ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        if rows.iter().all(|(s, _)| s == "refused") {
            Ok(rows.into_iter().filter_map(|(_, o)| o).collect())
        } else {
            Err(format!("not refused: {rows:?}"))
        }
    });
    assert!(
        outcomes[0].contains("no proof that `nobody` submitted it"),
        "{outcomes:?}"
    );
    assert!(
        outcomes[1].contains("`alice` submitted it: the row names no proof"),
        "{outcomes:?}"
    );
    assert!(outcomes[2].contains("made by `root`"), "{outcomes:?}");
    assert_eq!(
        step_state(&env.show(&id), "deploy").as_deref(),
        Some("waiting_approval")
    );
    assert!(!env.path().join("deployed").exists());
    let audit = all(&env.run(&["audit", &id]));
    assert!(
        audit.contains("no proof that `alice` submitted it"),
        "{audit}"
    );
    // nobody's own approval, from its own account, counts.
    let out = env.run_as_nobody(&["approve", &id, "deploy", "--reason", "mine"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(all(&out).contains("1/2"), "{}", all(&out));
    child.kill().unwrap();
    let _ = child.wait();
}

/// Second security review: with no engine driving a run, another account's `approve`
/// took the run over and drove it, so the starter's commands ran as that account (its
/// home, keys, agent). Only the starter takes a run over now; another account's command
/// is recorded, with its proof, for the starter's engine.
#[test]
fn only_the_starter_takes_a_run_over_and_another_accounts_command_waits_for_it() {
    let env = Env::new();
    env.share_with_nobody();
    let wf = r#"
name = "starter"
[[step]]
id = "deploy"
run = "id -un > ran-as"
gate = { prompt = "Ship?", approvers = ["nobody"] }
"#;
    let (mut child, id) = start(&env, wf, &[]);
    env.wait_step(&id, "deploy", "waiting_approval", 15);
    child.kill().unwrap();
    let _ = child.wait();
    let out = env.run_as_nobody(&["approve", &id, "deploy", "--reason", "ok"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        all(&out).contains("waits for `root`'s engine"),
        "{}",
        all(&out)
    );
    assert!(
        !env.path().join("ran-as").exists(),
        "nobody's process drove the run"
    );
    let out = env.run_as_nobody(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        all(&out).contains(&format!("only `root`, who started run {id}, takes it over")),
        "{}",
        all(&out)
    );
    // The starter's engine applies nobody's vote (proved nobody's) and runs the step as root.
    let out = env.run(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        all(&out).contains("deploy approved by nobody"),
        "{}",
        all(&out)
    );
    let ran_as = std::fs::read_to_string(env.path().join("ran-as")).unwrap();
    assert_eq!(ran_as.trim(), "root");
}

/// Second review: a proofs directory left by an earlier store (0700, its maker's) beside
/// a new group store kept its mode, and every other member's commands failed.
#[test]
fn a_proofs_directory_left_by_an_earlier_store_becomes_the_groups() {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let env = Env::new();
    let left = env.db().with_file_name("baton.db.proofs");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&left)
        .unwrap();
    env.share_with_nobody();
    let p = std::fs::metadata(&left).unwrap();
    assert_eq!((p.mode() & 0o7777, p.gid()), (0o2770, 65534));
}
