//! Issue 11, point 2, tried as an attacker: signed gates (`signed = true`) decided only
//! by SSH signatures of approvers' keys. Forged signatures, signatures over other
//! decisions, keys of non-approvers, one key voting twice, votes written into the
//! database, a tampered record under `audit verify`; and interoperability with
//! `ssh-keygen -Y sign|verify` and ssh-agent both ways.
use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const APPROVERS: &str = r#"["alice@example.com", "bob@example.com", "carol@example.com"]"#;

fn all(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// `ssh-keygen -Y sign -n NAMESPACE -f KEY` over `message`: the armored signature.
fn ssh_sign(env: &Env, key: &Path, namespace: &str, message: &[u8]) -> PathBuf {
    let msg = env.path().join(format!("msg-{}", rand_suffix()));
    std::fs::write(&msg, message).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", namespace, "-f"])
        .arg(key)
        .arg(&msg)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen -Y sign: {}", all(&out));
    msg.with_extension("sig")
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

struct Signed {
    env: Env,
    alice: PathBuf,
    bob: PathBuf,
    carol: PathBuf,
    mallory: PathBuf,
    eve: PathBuf,
}

/// alice (ed25519), bob (ecdsa) and carol (rsa) approve; mallory is in the allowed
/// signers but no approver; eve's key is in no file. `extra` lines join the file.
fn signed_env(quorum: u32, canary: bool, extra: &[&str]) -> Signed {
    let env = Env::new();
    let alice = ssh_keygen(env.path(), "alice", "ed25519");
    let bob = ssh_keygen(env.path(), "bob", "ecdsa");
    let carol = ssh_keygen(env.path(), "carol", "rsa");
    let mallory = ssh_keygen(env.path(), "mallory", "ed25519");
    let eve = ssh_keygen(env.path(), "eve", "ed25519");
    let mut signers = format!(
        "# who may approve\nalice@example.com {}\nbob@example.com namespaces=\"git,baton\" {}\ncarol@example.com {}\nmallory@example.com {}\n",
        ssh_public(&alice),
        ssh_public(&bob),
        ssh_public(&carol),
        ssh_public(&mallory)
    );
    for line in extra {
        signers.push_str(line);
        signers.push('\n');
    }
    std::fs::write(env.path().join("allowed_signers"), signers).unwrap();
    let canary = if canary {
        format!(
            "[[step]]\nid = \"canary\"\nrun = \"touch canary\"\ngate = {{ approvers = {APPROVERS}, signed = true }}\n"
        )
    } else {
        String::new()
    };
    env.workflow(
        "w.toml",
        &format!(
            r#"name = "signed"
[approvals]
allowed_signers = "allowed_signers"
{canary}
[[step]]
id = "deploy"
run = "touch deployed"
gate = {{ prompt = "Ship?", approvers = {APPROVERS}, quorum = {quorum}, signed = true }}
[[step]]
id = "after"
needs = ["deploy"]
run = "touch after"
"#
        ),
    );
    Signed {
        env,
        alice,
        bob,
        carol,
        mallory,
        eve,
    }
}

impl Signed {
    /// `baton` with no ssh-agent, whatever the test's environment has.
    fn baton(&self, args: &[&str]) -> Output {
        self.env
            .cmd()
            .env_remove("SSH_AUTH_SOCK")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn start(&self, extra: &[&str]) -> (std::process::Child, String) {
        let mut args = vec!["run", "w.toml", "--headless"];
        args.extend_from_slice(extra);
        let child = self
            .env
            .cmd()
            .env_remove("SSH_AUTH_SOCK")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let id = self.env.wait_run_id();
        self.env.wait_step(&id, "deploy", "waiting_approval", 15);
        (child, id)
    }

    /// `--print-message` for a decision: the exact bytes to sign.
    fn message(&self, verb: &str, id: &str, step: &str, reason: &str) -> Vec<u8> {
        let out = self.baton(&[verb, id, step, "--reason", reason, "--print-message"]);
        assert!(out.status.success(), "{}", all(&out));
        out.stdout
    }

    /// Hand in a signature file for a decision.
    fn decide(&self, verb: &str, id: &str, step: &str, reason: &str, sig: &Path) -> Output {
        self.baton(&[
            verb,
            id,
            step,
            "--reason",
            reason,
            "--signature",
            sig.to_str().unwrap(),
        ])
    }

    fn audit(&self, id: &str) -> Vec<serde_json::Value> {
        let out = self.baton(&["audit", id, "--json"]);
        assert!(out.status.success(), "{}", all(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

fn votes(rows: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    rows.iter()
        .filter(|r| r["action"] == "approval_vote")
        .collect()
}

#[test]
fn a_signature_made_by_ssh_keygen_approves_and_ssh_keygen_verifies_what_baton_signs() {
    let s = signed_env(2, false, &[]);
    let (child, id) = s.start(&[]);
    // ssh-keygen → baton: alice signs the printed message with ssh-keygen.
    let msg = s.message("approve", &id, "deploy", "canary is green");
    assert!(
        text(&msg).starts_with("baton decision v1\n"),
        "{}",
        text(&msg)
    );
    assert!(text(&msg).contains(&format!("run: {id}\nstep: deploy\n")));
    let sig = ssh_sign(&s.env, &s.alice, "baton", &msg);
    let out = s.decide("approve", &id, "deploy", "canary is green", &sig);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(all(&out).contains("1/2"), "{}", all(&out));
    // baton → ssh-keygen: carol's RSA key signs through --sign-key.
    let out = s.baton(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        "ok by me",
        "--sign-key",
        s.carol.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    assert!(s.env.path().join("after").exists());

    let rows = s.audit(&id);
    let v = votes(&rows);
    assert_eq!(v.len(), 2, "{rows:#?}");
    assert_eq!(v[0]["actor"], "alice@example.com");
    assert_eq!(v[0]["details"]["signature"]["message"], text(&msg));
    assert_eq!(
        v[0]["details"]["signature"]["signature"]
            .as_str()
            .unwrap()
            .trim(),
        std::fs::read_to_string(&sig).unwrap().trim()
    );
    assert_eq!(v[1]["actor"], "carol@example.com");
    let approved = rows.iter().find(|r| r["action"] == "approved").unwrap();
    assert_eq!(
        approved["details"]["approvers"],
        serde_json::json!(["alice@example.com", "carol@example.com"])
    );
    // What baton signed (and recorded) verifies with ssh-keygen against the same file.
    for (vote, principal) in [(v[0], "alice@example.com"), (v[1], "carol@example.com")] {
        let sig_path = s.env.path().join(format!("{principal}.sig"));
        std::fs::write(
            &sig_path,
            vote["details"]["signature"]["signature"].as_str().unwrap(),
        )
        .unwrap();
        let mut verify = Command::new("ssh-keygen")
            .args(["-Y", "verify", "-n", "baton", "-I", principal, "-f"])
            .arg(s.env.path().join("allowed_signers"))
            .arg("-s")
            .arg(&sig_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        verify
            .stdin
            .take()
            .unwrap()
            .write_all(
                vote["details"]["signature"]["message"]
                    .as_str()
                    .unwrap()
                    .as_bytes(),
            )
            .unwrap();
        let out = verify.wait_with_output().unwrap();
        assert!(out.status.success(), "ssh-keygen -Y verify: {}", all(&out));
    }
    let out = s.baton(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        all(&out).contains("2 signed decision(s) verified"),
        "{}",
        all(&out)
    );
}

#[test]
fn forged_misdirected_and_unsigned_decisions_are_refused() {
    let s = signed_env(1, true, &[]);
    let (mut child, id) = s.start(&[]);
    let reason = "ship it";
    let msg = s.message("approve", &id, "deploy", reason);
    let refused = |out: Output, want: &str| {
        assert_eq!(out.status.code(), Some(1), "{}", all(&out));
        assert!(all(&out).contains(want), "want {want:?}: {}", all(&out));
    };
    // No signature at all (and no agent): how to sign, and nothing decided.
    let out = s.baton(&["approve", &id, "deploy", "--reason", reason]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    for hint in [
        "ssh-agent",
        "--sign-key",
        "--print-message",
        "ssh-keygen -Y sign -n baton",
    ] {
        assert!(all(&out).contains(hint), "{hint}: {}", all(&out));
    }
    // A key in no allowed-signers file (forged).
    let sig = ssh_sign(&s.env, &s.eve, "baton", &msg);
    refused(
        s.decide("approve", &id, "deploy", reason, &sig),
        "not in the allowed signers",
    );
    // A listed key whose principal is no approver.
    let sig = ssh_sign(&s.env, &s.mallory, "baton", &msg);
    refused(
        s.decide("approve", &id, "deploy", reason, &sig),
        "none of them is an approver",
    );
    // The approver's key, but another namespace (a git signature, say).
    let sig = ssh_sign(&s.env, &s.alice, "git", &msg);
    refused(
        s.decide("approve", &id, "deploy", reason, &sig),
        "namespace `git`",
    );
    // Signatures over other decisions: another reason, another step, another run, a
    // rejection passed off as an approval.
    let sig = ssh_sign(&s.env, &s.alice, "baton", &msg);
    refused(
        s.decide("approve", &id, "deploy", "ship it now", &sig),
        "does not verify",
    );
    refused(
        s.decide("approve", &id, "canary", reason, &sig),
        "does not verify",
    );
    let other_run = text(&msg).replace(&format!("run: {id}"), "run: 01jzzzzzzzzzzzzzzzzzzzzzzz");
    let sig_other = ssh_sign(&s.env, &s.alice, "baton", other_run.as_bytes());
    refused(
        s.decide("approve", &id, "deploy", reason, &sig_other),
        "does not verify",
    );
    let reject_msg = s.message("reject", &id, "deploy", reason);
    let sig_reject = ssh_sign(&s.env, &s.alice, "baton", &reject_msg);
    refused(
        s.decide("approve", &id, "deploy", reason, &sig_reject),
        "does not verify",
    );
    // A mangled signature file.
    let junk = s.env.path().join("junk.sig");
    std::fs::write(
        &junk,
        "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
    )
    .unwrap();
    refused(
        s.decide("approve", &id, "deploy", reason, &junk),
        "not an SSH signature",
    );
    // Nothing was decided by any of that.
    let show = s.env.show(&id);
    assert_eq!(
        step_state(&show, "deploy").as_deref(),
        Some("waiting_approval")
    );
    assert!(votes(&s.audit(&id)).is_empty());
    assert!(!s.env.path().join("deployed").exists());
    // A signed rejection by an approver decides.
    let out = s.decide("reject", &id, "deploy", reason, &sig_reject);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let rows = s.audit(&id);
    let rejected = rows.iter().find(|r| r["action"] == "rejected").unwrap();
    assert_eq!(rejected["actor"], "alice@example.com");
    assert!(rejected["details"]["signature"]["signature"].is_string());
    child.kill().unwrap();
    let _ = child.wait();
    let out = s.baton(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
}

#[test]
fn one_key_is_one_vote_and_a_vote_survives_a_restart() {
    // alice's key is also listed as bob: it still counts once.
    let s = signed_env(2, false, &[]);
    let alice_as_bob = format!("bob@example.com {}", ssh_public(&s.alice));
    let signers = s.env.path().join("allowed_signers");
    let mut text_now = std::fs::read_to_string(&signers).unwrap();
    text_now.push_str(&alice_as_bob);
    text_now.push('\n');
    std::fs::write(&signers, text_now).unwrap();
    let (mut child, id) = s.start(&[]);
    let key = s.alice.to_str().unwrap();
    let out = s.baton(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        "one",
        "--sign-key",
        key,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let out = s.baton(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        "two",
        "--sign-key",
        key,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("one key is one vote"), "{}", all(&out));
    // The engine stops; the vote is in the history and counts again on replay.
    child.kill().unwrap();
    let _ = child.wait();
    let bob = s.bob.to_str().unwrap();
    let out = s.baton(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        "agreed",
        "--sign-key",
        bob,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        all(&out).contains("approved `deploy` (2/2)"),
        "{}",
        all(&out)
    );
    assert!(s.env.path().join("after").exists());
    let v: Vec<String> = votes(&s.audit(&id))
        .iter()
        .map(|r| r["actor"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(v, ["alice@example.com", "bob@example.com"]);
}

/// Append a raw event to a run's log, as someone who can write the database would.
fn insert_event(db: &Path, run: &str, json: serde_json::Value) {
    let c = rusqlite::Connection::open(db).unwrap();
    let (key, seq): (i64, i64) = c
        .query_row(
            "SELECT r.key, (SELECT max(seq) FROM events WHERE run_id = r.id) FROM runs r WHERE r.id = ?1",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let seq = seq + 1;
    let mut ev = json;
    ev["seq"] = seq.into();
    ev["at"] = 1_900_000_000_000i64.into();
    c.execute(
        "INSERT INTO events (id, run_id, seq, at, type, step, json) VALUES ((?1 << 32) + ?2, ?3, ?2, ?4, ?5, ?6, ?7)",
        rusqlite::params![
            key,
            seq,
            run,
            1_900_000_000_000i64,
            ev["type"].as_str().unwrap(),
            ev["step"].as_str(),
            ev.to_string()
        ],
    )
    .unwrap();
}

fn gate_digest(s: &Signed, id: &str) -> String {
    let rows = s.audit(id);
    let opened = rows.iter().find(|r| r["action"] == "gate_opened").unwrap();
    opened["details"]["digest"].as_str().unwrap().to_string()
}

#[test]
fn votes_written_into_the_database_do_not_count() {
    let s = signed_env(2, false, &[]);
    let (mut child, id) = s.start(&[]);
    child.kill().unwrap();
    let _ = child.wait();
    let digest = gate_digest(&s, &id);
    let msg = s.message("approve", &id, "deploy", "inserted");
    // bob's vote with no signature, and carol's with mallory's signature over the message.
    insert_event(
        &s.env.db(),
        &id,
        serde_json::json!({"type": "approval_given", "step": "deploy", "actor": "bob@example.com",
                           "reason": "inserted", "digest": digest}),
    );
    let forged = std::fs::read_to_string(ssh_sign(&s.env, &s.mallory, "baton", &msg)).unwrap();
    insert_event(
        &s.env.db(),
        &id,
        serde_json::json!({"type": "approval_given", "step": "deploy", "actor": "carol@example.com",
                           "reason": "inserted", "digest": digest,
                           "signature": {"principal": "carol@example.com", "key": "SHA256:x",
                                         "message": text(&msg), "signature": forged, "account": "root"}}),
    );
    // The run resumes from that history; alice's real vote is the first that counts.
    let mut engine = s
        .env
        .cmd()
        .env_remove("SSH_AUTH_SOCK")
        .args(["resume", &id, "--headless"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("resume to take the run", secs(15), || {
        !s.env.runs()[0]["driven_by"].is_null()
    });
    let key = s.alice.to_str().unwrap();
    let out = s.baton(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        "real",
        "--sign-key",
        key,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(all(&out).contains("(1/2)"), "{}", all(&out));
    assert!(!s.env.path().join("deployed").exists());
    engine.kill().unwrap();
    let _ = engine.wait();
}

#[test]
fn a_gate_passed_in_the_database_without_signatures_is_refused_on_resume() {
    let s = signed_env(1, false, &[]);
    let (mut child, id) = s.start(&[]);
    child.kill().unwrap();
    let _ = child.wait();
    let digest = gate_digest(&s, &id);
    insert_event(
        &s.env.db(),
        &id,
        serde_json::json!({"type": "approval_given", "step": "deploy", "actor": "alice@example.com",
                           "reason": null, "digest": digest}),
    );
    insert_event(
        &s.env.db(),
        &id,
        serde_json::json!({"type": "gate_approved", "step": "deploy", "actor": "alice@example.com",
                           "approvers": ["alice@example.com"]}),
    );
    insert_event(
        &s.env.db(),
        &id,
        serde_json::json!({"type": "step_state_changed", "step": "deploy", "state": "succeeded",
                           "attempt": 0, "reason": "approved"}),
    );
    let out = s.baton(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(3), "{}", all(&out));
    assert!(
        all(&out).contains("moves step `deploy` past its signed gate"),
        "{}",
        all(&out)
    );
    assert!(!s.env.path().join("after").exists());
}

/// Rewrite one audit row's details and re-hash the chain from there, as someone who can
/// write the file (and, without a key, recompute the chain) would.
fn rewrite_audit(db: &Path, row_id: i64, details: &serde_json::Value) {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut rows = baton::store::raw_audit_rows(&c).unwrap();
    let keys = baton::store::AuditKeys::default();
    let mut prev = String::new();
    for (n, r) in rows.iter_mut().enumerate() {
        if r.id == row_id {
            r.details = details.to_string();
        }
        if n > 0 {
            r.prev_hash = prev.clone();
        }
        r.hash = r.expected_hash(&keys).unwrap();
        prev = r.hash.clone();
        c.execute(
            "UPDATE audit SET details = ?2, prev_hash = ?3, hash = ?4 WHERE id = ?1",
            rusqlite::params![r.id, r.details, r.prev_hash, r.hash],
        )
        .unwrap();
    }
    let last = rows.last().unwrap();
    c.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'audit_head'",
        [format!("{}:{}", last.id, last.hash)],
    )
    .unwrap();
}

#[test]
fn audit_verify_rechecks_every_signature_against_the_recorded_signers() {
    let s = signed_env(1, false, &[]);
    let (child, id) = s.start(&[]);
    let key = s.alice.to_str().unwrap();
    let out = s.baton(&[
        "approve",
        &id,
        "deploy",
        "--reason",
        "go",
        "--sign-key",
        key,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    // The allowed-signers file changes after the run: verify uses what the run recorded.
    std::fs::write(s.env.path().join("allowed_signers"), "").unwrap();
    let out = s.baton(&["audit", "verify", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(
        all(&out).contains("1 signed decision(s) verified"),
        "{}",
        all(&out)
    );

    let rows = s.audit(&id);
    let vote = votes(&rows)[0].clone();
    let row_id = vote["id"].as_i64().unwrap();
    // The chain re-hashed, so only the signature check can tell.
    let mut details = vote["details"].clone();
    let mallory_sig = ssh_sign(
        &s.env,
        &s.mallory,
        "baton",
        details["signature"]["message"].as_str().unwrap().as_bytes(),
    );
    details["signature"]["signature"] = std::fs::read_to_string(mallory_sig).unwrap().into();
    rewrite_audit(&s.env.db(), row_id, &details);
    let out = s.baton(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("audit chain intact"), "{}", all(&out));
    assert!(
        all(&out).contains(&format!("signature INVALID at row {row_id}")),
        "{}",
        all(&out)
    );
    // A vote stripped of its signature on a signed gate is a break too.
    let mut stripped = vote["details"].clone();
    stripped.as_object_mut().unwrap().remove("signature");
    rewrite_audit(&s.env.db(), row_id, &stripped);
    let out = s.baton(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("without a signature"), "{}", all(&out));
    // So is a vote whose recorded reason was changed after it was signed.
    let mut reworded = vote["details"].clone();
    reworded["signature"]["message"] = details["signature"]["message"]
        .as_str()
        .unwrap()
        .replace("\"go\"", "\"go, and skip the canary\"")
        .into();
    rewrite_audit(&s.env.db(), row_id, &reworded);
    let out = s.baton(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(
        all(&out).contains("is not this decision's"),
        "{}",
        all(&out)
    );
}

#[test]
fn auto_approve_leaves_signed_gates_to_their_signers() {
    let s = signed_env(1, false, &[]);
    let (mut child, id) = s.start(&["--auto-approve"]);
    let show = s.env.show(&id);
    assert_eq!(
        step_state(&show, "deploy").as_deref(),
        Some("waiting_approval")
    );
    assert!(votes(&s.audit(&id)).is_empty());
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        text(&out.stderr).contains("take only signed decisions, and stay open for them: deploy"),
        "{}",
        all(&out)
    );
}

#[test]
fn ssh_agent_signs_with_its_first_approver_key() {
    let s = signed_env(1, false, &[]);
    let agent = SshAgent::start(s.env.path().join("agent.sock"));
    // mallory's key comes first but is no approver's; bob's (ECDSA) is next.
    agent.add(&s.mallory);
    agent.add(&s.bob);
    let (child, id) = s.start(&[]);
    let out = s
        .env
        .cmd()
        .env("SSH_AUTH_SOCK", &agent.sock)
        .args(["approve", &id, "deploy", "--reason", "from the agent"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(wait_child(child, 30).status.code(), Some(0));
    let rows = s.audit(&id);
    assert_eq!(votes(&rows)[0]["actor"], "bob@example.com");
    let out = s.baton(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
}
