//! Issue 56 point 2, through the real binary with three OS accounts of one group store
//! (`askann` asks, `askbo` is a member but not an approver, `askcy` approves): a vote
//! `askbo` writes with plain SQL in `askcy`'s name, an approval or a rejection, in the
//! ask's rows or as an audit row with a proof file of his own, changes nothing: the asker puts
//! the row back, refuses it on record and keeps waiting; `audit verify` names it; only
//! `askcy`'s real answer ends the wait, and the documented agent hook allows only then.
use crate::approvals::ask_accounts::{ANN, BO, CY, Team, all};
use crate::helpers::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};

/// The asker's (or the hook's) own ask, `--approvers askcy`, once listed.
fn ask_id(t: &Team, asker: &mut Child) -> String {
    t.listed_while(CY, 0, asker)["ask"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Bob's forged decision: the ask's row decided by carol, with a vote row for an approval.
fn forge(t: &Team, id: &str, state: &str) {
    let vote = if state == "approved" {
        format!(
            "INSERT INTO ask_votes (ask_id, actor, reason, at) VALUES ('{id}', '{CY}', 'ok', 1);"
        )
    } else {
        String::new()
    };
    t.sql(
        BO,
        &format!(
            "UPDATE asks SET state = '{state}', decided_by = '{CY}', decided_at = 1, reason = 'forged', vals = '{{}}' WHERE id = '{id}'; {vote}"
        ),
    );
}

/// Wakes the asker of `id` through its socket, as any member can.
fn wake(t: &Team, id: &str) {
    let sock = format!("{}.wake/{id}.sock", t.db().display());
    let s = std::os::unix::net::UnixDatagram::unbound().unwrap();
    s.send_to(b"w", &sock).expect("the asker's socket");
}

/// `baton audit --json` as carol: every row.
fn audit(t: &Team) -> Vec<Value> {
    json_rows(&t.baton(CY, &["audit", "--json"]))
}

/// The refusals of votes on ask `id` on record, once one of them says
/// `saying`. A count would not do: the asker reads the forged row on its own
/// poll as well as on a wake, so one forgery can be refused twice.
fn refusals(t: &Team, id: &str, saying: &str) -> Vec<Value> {
    wait_until("the forgery refused on record", secs(30), || {
        let found: Vec<Value> = audit(t)
            .into_iter()
            .filter(|r| r["action"] == "command_refused" && r.to_string().contains(id))
            .collect();
        if found.iter().any(|r| r.to_string().contains(saying)) {
            // Each reads with what it refused and its subject (issue 56 point 4).
            for r in &found {
                assert_eq!(r["refused"]["decision"], "ask vote", "{r:#}");
                assert_eq!(r["refused"]["subject"], format!("ask {id}"), "{r:#}");
            }
            Ok(found)
        } else {
            Err(format!("{found:#?}"))
        }
    })
}

fn still_waiting(asker: &mut Child) {
    assert!(
        asker.try_wait().unwrap().is_none(),
        "the asker ended on a forged decision"
    );
}

#[test]
fn a_forged_approval_changes_nothing_audit_verify_names_it_and_carols_answer_works() {
    let Some(t) = Team::new() else {
        return;
    };
    let mut asker = t.spawn(
        ANN,
        &[
            "ask",
            "--prompt",
            "drop the table?",
            "--approvers",
            CY,
            "--json",
            "--timeout",
            "5m",
        ],
    );
    let id = ask_id(&t, &mut asker);
    forge(&t, &id, "approved");
    let verify = t.baton(CY, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", all(&verify));
    assert!(
        text(&verify.stdout).contains(&format!("ask vote UNPROVEN on ask {id}")),
        "{}",
        all(&verify)
    );
    wake(&t, &id);
    let refused = refusals(&t, &id, "no proven vote");
    assert!(refused.iter().all(|r| r["actor"] == ANN), "{refused:#?}");
    still_waiting(&mut asker);
    // Put back: open again, in carol's inbox with no vote; the store verifies.
    t.listed(CY, 0);
    let verify = t.baton(CY, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", all(&verify));
    let real = t.baton(CY, &["approve", &id, "--reason", "backed up"]);
    assert!(real.status.success(), "{}", all(&real));
    let out = wait_child(asker, 30);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let d: Value = serde_json::from_slice(&out.stdout).expect("ask --json");
    assert_eq!(d["decided_by"], CY, "{d}");
    assert_eq!(d["reason"], "backed up", "{d}");
    let verify = t.baton(BO, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", all(&verify));
}

#[test]
fn a_forged_rejection_changes_nothing_and_the_asker_times_out() {
    let Some(t) = Team::new() else {
        return;
    };
    let mut c = t.cmd(
        ANN,
        &[
            "ask",
            "--prompt",
            "rotate?",
            "--approvers",
            CY,
            "--timeout",
            "6s",
        ],
    );
    // The default poll: the asker finds a forged row without being woken.
    c.env_remove("BATON_ASK_POLL_MS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut asker = c.spawn().expect("spawn the asker");
    let id = ask_id(&t, &mut asker);
    forge(&t, &id, "rejected");
    refusals(&t, &id, "says rejected by");
    still_waiting(&mut asker);
    t.listed(CY, 0);
    still_waiting(&mut asker);
    // Past its timeout, no real decision: exit 3.
    let out = wait_child(asker, 30);
    assert_eq!(out.status.code(), Some(3), "{}", all(&out));
    assert!(text(&out.stdout).contains("expired"), "{}", all(&out));
}

/// Bob's vote on the audit chain in carol's name, with a proof file that is his (the
/// chain's hashes are not what makes a vote count: its proof's owner is).
fn forge_audit_row(t: &Team, id: &str) {
    let nonce = "0123456789abcdef0123456789abcdef";
    let value = serde_json::json!({
        "ask": id, "by": CY, "actor": CY, "verdict": "approve",
        "reason": "forged", "inputs": {}, "proof": nonce,
    });
    let digest = hex::encode(Sha256::digest(format!("{id}\n{value}").as_bytes()));
    let details = serde_json::json!({ "ask": id, "by": CY, "inputs": {}, "proof": nonce });
    t.sql(
        BO,
        &format!(
            "INSERT INTO audit (run_id, at, actor, action, step, reason, details, prev_hash, hash) \
             VALUES ('asks', 1, '{CY}', 'approved', '{id}', 'forged', '{details}', 'x', 'y');"
        ),
    );
    let proof = format!("{}.proofs/{nonce}", t.db().display());
    let out = t
        .program(BO, "sh", &["-c", &format!("printf %s {digest} > {proof}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", all(&out));
}

#[test]
fn the_agent_hook_allows_only_on_carols_real_answer() {
    let Some(t) = Team::new() else {
        return;
    };
    let script = t.home(ANN).join("pretool-ask.sh");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hooks/pretool-ask.sh"),
        &script,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_baton"))
        .parent()
        .unwrap();
    let mut hook = t.program(ANN, script.to_str().unwrap(), &[]);
    hook.env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("BATON_ASK_APPROVERS", CY)
        .env("BATON_ASK_TIMEOUT", "5m")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut hook = hook.spawn().expect("run the hook");
    std::io::Write::write_all(
        &mut hook.stdin.take().unwrap(),
        br#"{"tool_name":"Bash","tool_input":{"command":"psql -c 'DROP TABLE users'"}}"#,
    )
    .unwrap();
    let id = ask_id(&t, &mut hook);
    forge(&t, &id, "approved");
    wake(&t, &id);
    refusals(&t, &id, "no proven vote");
    still_waiting(&mut hook);
    forge_audit_row(&t, &id);
    wake(&t, &id);
    refusals(&t, &id, &format!("its proof was made by `{BO}`"));
    still_waiting(&mut hook);
    let real = t.baton(CY, &["approve", &id, "--reason", "it is the test db"]);
    assert!(real.status.success(), "{}", all(&real));
    let out = wait_child(hook, 30);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let said: Value = serde_json::from_slice(&out.stdout).expect("the hook's JSON");
    let decision = &said["hookSpecificOutput"];
    assert_eq!(decision["permissionDecision"], "allow", "{said}");
    assert_eq!(
        decision["permissionDecisionReason"],
        format!("approved by {CY}: it is the test db"),
        "{said}"
    );
}
