//! Issue 44 point 5, signed asks: `baton ask --signed --allowed-signers FILE` takes
//! only answers SSH-signed by a key the file lists under one of its approvers, never
//! the asking account's, checked when answered and again by `audit verify`. The asker
//! is root; `nobody` answers, with `--sign-key` and with a signature made by
//! `ssh-keygen -Y sign` over the bytes `--print-message` prints.
use crate::helpers::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn all(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// `path`, made `nobody`'s to read.
fn for_nobody(path: &Path) -> &Path {
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(65534)),
        Some(nix::unistd::Gid::from_raw(65534)),
    )
    .unwrap();
    path
}

fn refusal(out: &Output) -> String {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("a JSON verdict: {}", all(out)));
    v["refused"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Keys of nobody, root and eve, which `nobody` can read, and an allowed-signers file
/// that lists nobody's and root's (never eve's).
struct Keys {
    nobody: PathBuf,
    root: PathBuf,
    eve: PathBuf,
    signers: PathBuf,
}

#[test]
fn a_signed_ask_counts_only_an_approver_s_signature_and_audit_verify_checks_it_again() {
    let env = Env::new();
    env.share_with_nobody();
    let keys = keys_and_signers(&env);
    let (asker, id) = start_signed_ask(&env, &keys.signers);
    approvals_without_an_approvers_signature_are_refused(&env, &id, &keys);
    a_signature_over_the_printed_bytes_decides_the_ask(&env, &id, &keys.nobody, asker);
    a_rewritten_signed_row_fails_audit_verify(&env, &id, &keys.eve);
}

fn keys_and_signers(env: &Env) -> Keys {
    let keys = env.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    for_nobody(&keys);
    let nobody_key = ssh_keygen(&keys, "nobody", "ed25519");
    let root_key = ssh_keygen(&keys, "root", "ed25519");
    let eve_key = ssh_keygen(&keys, "eve", "ed25519");
    for k in [&nobody_key, &root_key, &eve_key] {
        for_nobody(k);
    }
    let signers: PathBuf = env.path().join("allowed_signers");
    std::fs::write(
        &signers,
        format!(
            "nobody {}\nroot {}\n",
            ssh_public(&nobody_key),
            ssh_public(&root_key)
        ),
    )
    .unwrap();
    Keys {
        nobody: nobody_key,
        root: root_key,
        eve: eve_key,
        signers,
    }
}

/// `baton ask --signed` (as root) running, and its ask's id once the inbox lists it.
fn start_signed_ask(env: &Env, signers: &Path) -> (Child, String) {
    let asker = env
        .cmd()
        .args([
            "ask",
            "--prompt",
            "ship it?",
            "--input",
            "env=enum:staging|prod",
        ])
        .args(["--signed", "--allowed-signers"])
        .arg(signers)
        .args(["--approvers", "nobody,root", "--json", "--timeout", "2m"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton ask");
    let id = wait_until("the ask in the inbox", secs(10), || {
        let out = env.run(&["inbox", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?
            .iter()
            .find_map(|w| w["ask"].as_str().map(str::to_string))
    });
    (asker, id)
}

/// `nobody` approves the ask with `env=prod`, and `extra`.
fn approve(env: &Env, id: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "approve", id, "--input", "env=prod", "--reason", "go", "--json",
    ];
    args.extend_from_slice(extra);
    env.run_as_nobody(&args)
}

fn approvals_without_an_approvers_signature_are_refused(env: &Env, id: &str, keys: &Keys) {
    // Unsigned (no ssh-agent, no key): refused, nothing recorded.
    let out = approve(env, id, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert_eq!(refusal(&out), "signing_failed", "{}", all(&out));
    // A key the allowed signers do not list.
    let out = approve(env, id, &["--sign-key", keys.eve.to_str().unwrap()]);
    assert_eq!(refusal(&out), "bad_signature", "{}", all(&out));
    // The asking account's key: never its own approval.
    let out = approve(env, id, &["--sign-key", keys.root.to_str().unwrap()]);
    assert_eq!(refusal(&out), "self_approval_by_key", "{}", all(&out));
}

/// `ssh-keygen -Y sign` of `msg` with `key`: the signature is `msg` with `.sig`.
fn ssh_sign(key: &Path, msg: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "baton", "-f"])
        .arg(key)
        .arg(msg)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", all(&st));
}

/// A signature made by ssh-keygen over the printed bytes counts: the ask is decided by
/// nobody, and `audit verify` counts the signed decision.
fn a_signature_over_the_printed_bytes_decides_the_ask(
    env: &Env,
    id: &str,
    nobody_key: &Path,
    asker: Child,
) {
    let out = env.run_as_nobody(&[
        "approve",
        id,
        "--input",
        "env=prod",
        "--reason",
        "go",
        "--print-message",
    ]);
    assert!(out.status.success(), "{}", all(&out));
    assert!(
        text(&out.stdout).starts_with("baton ask decision v1\n"),
        "{}",
        all(&out)
    );
    let msg = env.path().join("msg");
    std::fs::write(&msg, &out.stdout).unwrap();
    ssh_sign(nobody_key, &msg);
    let sig = for_nobody(&msg.with_extension("sig")).to_path_buf();
    let out = approve(env, id, &["--signature", sig.to_str().unwrap()]);
    assert!(out.status.success(), "{}", all(&out));
    let out = wait_child(asker, 20);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let d: Value = serde_json::from_slice(&out.stdout).expect("ask --json");
    assert_eq!(d["decided_by"], "nobody", "{d}");
    assert_eq!(d["inputs"]["env"], "prod", "{d}");
    let verify = env.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", all(&verify));
    assert!(
        text(&verify.stdout).contains("1 signed decision"),
        "{}",
        all(&verify)
    );
}

/// The row rewritten and the chain re-hashed: only the signature check can tell (a
/// signature by eve, none, inputs the signature is not over).
fn a_rewritten_signed_row_fails_audit_verify(env: &Env, id: &str, eve_key: &Path) {
    let out = env.run(&["audit", "--json"]);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("audit --json");
    let row = rows
        .iter()
        .find(|r| r["details"]["ask"] == id && r["action"] == "approved")
        .unwrap_or_else(|| panic!("the ask's approval on the chain: {rows:?}"))
        .clone();
    let row_id = row["id"].as_i64().unwrap();
    let signed = row["details"]["signature"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    let msg = env.path().join("msg-eve");
    std::fs::write(&msg, &signed).unwrap();
    ssh_sign(eve_key, &msg);
    let broken = |details: &Value, says: &str| {
        rewrite_audit(&env.db(), row_id, details);
        let out = env.run(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(1), "{}", all(&out));
        assert!(all(&out).contains("audit chain intact"), "{}", all(&out));
        assert!(all(&out).contains(says), "{says}: {}", all(&out));
    };
    let mut forged = row["details"].clone();
    forged["signature"]["signature"] = std::fs::read_to_string(msg.with_extension("sig"))
        .unwrap()
        .into();
    broken(&forged, &format!("signature INVALID at row {row_id}"));
    let mut stripped = row["details"].clone();
    stripped.as_object_mut().unwrap().remove("signature");
    broken(&stripped, "without a signature");
    let mut other = row["details"].clone();
    other["inputs"]["env"] = "staging".into();
    broken(&other, "is not this answer's");
}

/// Rewrite one audit row's details and re-hash the chain from there, as someone who can
/// write the file (and, without a key, recompute the chain) would.
fn rewrite_audit(db: &Path, row_id: i64, details: &Value) {
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
fn signed_needs_approvers_and_allowed_signers() {
    let env = Env::new();
    let out = env.run(&["ask", "--prompt", "x?", "--signed"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    let out = env.run(&["ask", "--prompt", "x?", "--signed", "--approvers", "bob"]);
    assert_eq!(out.status.code(), Some(2), "{}", all(&out));
    assert!(all(&out).contains("--allowed-signers"), "{}", all(&out));
}
