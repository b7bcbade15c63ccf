//! Issue 24, findings 10–13: members of one group store acting against each other, as
//! two real OS accounts of one group (`gmalice` starts the runs, `gmbob` attacks them),
//! made beforehand by tests/accounts.sh (skipped, saying so, where they are not) and run
//! through `setpriv --init-groups`. The tests run as root, which only sets the scene and
//! looks.
use crate::helpers::*;
use sha2::{Digest, Sha256};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub(super) const GROUP: &str = "gmteam";
pub(super) const ALICE: &str = "gmalice";
pub(super) const BOB: &str = "gmbob";

pub(super) fn all(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

pub(super) fn uid(user: &str) -> nix::unistd::Uid {
    nix::unistd::User::from_name(user).unwrap().unwrap().uid
}

pub(super) fn gid() -> nix::unistd::Gid {
    nix::unistd::Group::from_name(GROUP).unwrap().unwrap().gid
}

/// A group store made by alice (`baton store init --group`), a home for each account.
pub(super) struct Members {
    env: Env,
}

impl Members {
    /// `None` (and why, printed) where the accounts are not made or this is not root.
    pub(super) fn new() -> Option<Members> {
        if !accounts(GROUP, &[ALICE, BOB]) {
            return None;
        }
        let env = Env::new();
        std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let m = Members { env };
        for user in [ALICE, BOB] {
            let home = m.home(user);
            std::fs::create_dir(&home).unwrap();
            nix::unistd::chown(&home, Some(uid(user)), Some(gid())).unwrap();
            // Readable by the group: alice's engine reads what bob planted there.
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let srv = m.env.path().join("srv");
        std::fs::create_dir(&srv).unwrap();
        nix::unistd::chown(&srv, Some(uid(ALICE)), Some(gid())).unwrap();
        let out = m.baton(ALICE, &["store", "init", "--group", GROUP]);
        assert!(out.status.success(), "store init: {}", all(&out));
        Some(m)
    }

    pub(super) fn home(&self, user: &str) -> PathBuf {
        self.env.path().join(user)
    }

    pub(super) fn db(&self) -> PathBuf {
        self.env.path().join("srv").join("store").join("baton.db")
    }

    /// `baton ARGS` as `user`, with its own home and state directory.
    pub(super) fn cmd(&self, user: &str, args: &[&str]) -> Command {
        let home = self.home(user);
        let mut c = Command::new("setpriv");
        as_other_account(&mut c)
            .arg(format!("--reuid={user}"))
            .arg(format!("--regid={GROUP}"))
            .arg("--init-groups")
            .arg(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .env("BATON_DB", self.db())
            .env("HOME", &home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env(
                "XDG_RUNTIME_DIR",
                runtime_dir_of(self.env.path(), uid_of(user)),
            )
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("USER", user)
            .env("NO_COLOR", "1")
            .env_remove("BATON_AUDIT_KEY")
            .env_remove("BATON_AUDIT_KEY_ID")
            .env_remove("BATON_AUDIT_KEYS")
            .current_dir(&home)
            .stdin(Stdio::null());
        c
    }

    pub(super) fn baton(&self, user: &str, args: &[&str]) -> Output {
        self.cmd(user, args).output().expect("run baton")
    }

    pub(super) fn spawn(&self, user: &str, args: &[&str]) -> Child {
        self.cmd(user, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn baton")
    }

    /// A file in `user`'s home, theirs.
    pub(super) fn write(&self, user: &str, name: &str, body: &str) -> PathBuf {
        let p = self.home(user).join(name);
        std::fs::write(&p, body).unwrap();
        nix::unistd::chown(&p, Some(uid(user)), Some(gid())).unwrap();
        p
    }

    /// `sqlite3` on the store as `user`: what any member can do to the database.
    pub(super) fn sql(&self, user: &str, script: &str) {
        sql_as(GROUP, user, &self.db(), script);
    }

    pub(super) fn show(&self, run: &str) -> serde_json::Value {
        let out = self.baton(ALICE, &["show", run, "--json"]);
        assert!(out.status.success(), "show: {}", all(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub(super) fn wait_step(&self, run: &str, step: &str, state: &str) {
        wait_until(&format!("{step} {state}"), Duration::from_secs(30), || {
            let v = self.show(run);
            if step_state(&v, step).as_deref() == Some(state) {
                Ok(())
            } else {
                Err(format!("{v:#}"))
            }
        });
    }

    /// Alice starts `wf` headless; returns her engine and the run's id.
    fn start(&self, wf: &Path) -> (Child, String) {
        let mut child = self.spawn(ALICE, &["run", wf.to_str().unwrap(), "--headless"]);
        let found = poll(Duration::from_secs(15), || {
            let out = self.baton(ALICE, &["runs", "--json"]);
            let runs: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
            runs[0]["id"].as_str().map(str::to_string)
        });
        let id = match found {
            Ok(id) => id,
            Err(_) => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!("no run appeared: {}", all(&out));
            }
        };
        (child, id)
    }
}

pub(super) use crate::helpers::sql_text;

const GATED: &str = r#"
name = "ship"
[[step]]
id = "build"
run = "echo built"
[[step]]
id = "deploy"
needs = ["build"]
run = "echo deploying; touch deployed"
gate = { prompt = "Ship?" }
"#;

/// Alice's run, stopped at its gate with no engine (hers was killed): what a member
/// then finds in the store.
pub(super) fn interrupted_at_gate(m: &Members) -> (String, PathBuf) {
    let wf = m.write(ALICE, "w.toml", GATED);
    let (mut engine, id) = m.start(&wf);
    m.wait_step(&id, "deploy", "waiting_approval");
    engine.kill().unwrap();
    let _ = engine.wait();
    (id, wf)
}

#[test]
fn a_member_who_rewrites_anothers_run_text_or_path_does_not_get_it_run() {
    let Some(m) = Members::new() else {
        return;
    };
    let (id, wf) = interrupted_at_gate(&m);
    // Bob: the same shape, his own command, put in the run's record.
    let evil_text = GATED.replace("touch deployed", "touch pwned");
    let evil = m.write(BOB, "evil.toml", &evil_text);
    m.sql(
        BOB,
        &format!(
            "UPDATE runs SET source_path = {} WHERE id = {};
             UPDATE run_sources SET source_text = {} WHERE run_id = {};",
            sql_text(evil.to_str().unwrap()),
            sql_text(&id),
            sql_text(&evil_text),
            sql_text(&id)
        ),
    );
    for args in [
        vec!["approve", id.as_str(), "deploy", "--reason", "ok"],
        vec!["resume", id.as_str(), "--headless"],
    ] {
        let out = m.baton(ALICE, &args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", all(&out));
        assert!(
            all(&out).contains(
                "workflow file path, workflow text are not what the starter's engine recorded"
            ),
            "{args:?}: {}",
            all(&out)
        );
    }
    for home in [ALICE, BOB] {
        assert!(!m.home(home).join("pwned").exists(), "bob's command ran");
    }
    // Only the path: refused as well (the file he points to is the one read).
    m.sql(
        BOB,
        &format!(
            "UPDATE run_sources SET source_text = {} WHERE run_id = {};",
            sql_text(GATED),
            sql_text(&id)
        ),
    );
    let out = m.baton(ALICE, &["approve", &id, "deploy", "--reason", "ok"]);
    assert_eq!(out.status.code(), Some(3), "{}", all(&out));
    assert!(
        all(&out).contains("its workflow file path is not"),
        "{}",
        all(&out)
    );
    // Put back as alice's engine recorded it, the run goes on as hers.
    let real = std::fs::canonicalize(&wf).unwrap();
    m.sql(
        BOB,
        &format!(
            "UPDATE runs SET source_path = {} WHERE id = {};",
            sql_text(real.to_str().unwrap()),
            sql_text(&id)
        ),
    );
    let out = m.baton(ALICE, &["approve", &id, "deploy", "--reason", "ok"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert!(m.home(ALICE).join("deployed").exists());
    assert!(!m.home(ALICE).join("pwned").exists());
}

/// A run's events as stored: (seq, json, hash).
fn events(m: &Members, run: &str) -> Vec<(u64, String, Vec<u8>)> {
    let conn =
        rusqlite::Connection::open_with_flags(m.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut st = conn
        .prepare("SELECT seq, json, hash FROM events WHERE run_id = ?1 ORDER BY seq")
        .unwrap();
    st.query_map([run], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn sha(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().to_vec()
}

#[test]
fn a_member_who_rewrites_anothers_events_with_a_whole_new_chain_is_refused() {
    let Some(m) = Members::new() else {
        return;
    };
    let (id, _) = interrupted_at_gate(&m);
    // Bob edits the last event and recomputes its hash and head mark (no audit key:
    // anyone can), so that the chain and `audit verify` hold.
    let evs = events(&m, &id);
    let (seq, json, _) = evs.last().unwrap().clone();
    let prev = evs[evs.len() - 2].2.clone();
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let at = v["at"].as_i64().expect("an event has its time");
    v["at"] = (at + 1).into();
    let edited = v.to_string();
    let hash = sha(&[
        b"baton.event\0",
        &prev,
        id.as_bytes(),
        &[0],
        &seq.to_be_bytes(),
        edited.as_bytes(),
    ]);
    let mark = sha(&[
        b"baton.events_head\0",
        id.as_bytes(),
        &[0],
        &seq.to_be_bytes(),
        &hash,
    ]);
    m.sql(
        BOB,
        &format!(
            "DROP TRIGGER events_no_update;
             UPDATE events SET at = {}, json = {}, hash = X'{}', head_mac = X'{}' WHERE run_id = {} AND seq = {seq};",
            at + 1,
            sql_text(&edited),
            hex::encode(&hash),
            hex::encode(&mark),
            sql_text(&id)
        ),
    );
    let verify = m.baton(ALICE, &["audit", "verify", &id]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "the chain alone holds: {}",
        all(&verify)
    );
    let out = m.baton(ALICE, &["approve", &id, "deploy", "--reason", "ok"]);
    assert_eq!(out.status.code(), Some(3), "{}", all(&out));
    assert!(
        all(&out).contains("events are not those its starter's engine last recorded"),
        "{}",
        all(&out)
    );
    assert!(!m.home(ALICE).join("deployed").exists());
}

#[test]
fn a_member_cannot_plant_a_log_where_anothers_engine_writes() {
    let Some(m) = Members::new() else {
        return;
    };
    let logs = m.db().parent().unwrap().join("logs");
    let made = std::fs::metadata(&logs).unwrap().mode() & 0o7777;
    // A store made before `logs` was made sticky: 2770.
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let profile = m.write(ALICE, "profile", "mine\n");
    let wf = m.write(ALICE, "w.toml", GATED);
    let (engine, id) = m.start(&wf);
    m.wait_step(&id, "deploy", "waiting_approval");
    // Bob moves alice's run directory away and puts his own there, with a symlink
    // where deploy's log goes (and its times).
    let run_dir = logs.join(&id);
    let planted = format!(
        "mv {dir} {dir}.gone && mkdir {dir} && chmod 2777 {dir} && ln -s {p} {dir}/deploy.1.log && ln -s {p} {dir}/deploy.1.log.times",
        dir = run_dir.display(),
        p = profile.display()
    );
    let out = as_other_account(&mut Command::new("setpriv"))
        .arg(format!("--reuid={BOB}"))
        .arg(format!("--regid={GROUP}"))
        .arg("--init-groups")
        .args(["sh", "-c", &planted])
        .output()
        .unwrap();
    assert!(out.status.success(), "bob's plant: {}", all(&out));
    let out = m.baton(ALICE, &["approve", &id, "deploy", "--reason", "ok"]);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let done = wait_child(engine, 30);
    assert!(m.home(ALICE).join("deployed").exists(), "{}", all(&done));
    assert_eq!(
        std::fs::read_to_string(&profile).unwrap(),
        "mine\n",
        "alice's engine appended the step's output to a file bob chose"
    );
    // The run says why its log is missing.
    let show = m.show(&id);
    assert!(
        show.to_string().contains("another account's"),
        "the log failure is reported: {show:#}"
    );
    assert_eq!(
        made, 0o3770,
        "a new group store's `logs` is shared and sticky: members cannot move each other's run directories"
    );
}

#[test]
fn a_step_cannot_write_a_siblings_outputs_and_a_member_cannot_either() {
    let Some(m) = Members::new() else {
        return;
    };
    let flags = m.home(ALICE).join("flags");
    std::fs::create_dir(&flags).unwrap();
    nix::unistd::chown(&flags, Some(uid(ALICE)), Some(gid())).unwrap();
    let wf = m.write(
        ALICE,
        "w.toml",
        r#"
name = "outputs"
[[step]]
id = "deploy"
run = '''
echo version=1.0 >> "$BATON_OUTPUT"
touch flags/wrote
i=0; while [ ! -e flags/attacked ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
'''
[[step]]
id = "sibling"
run = '''
i=0; while [ ! -e flags/wrote ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
d=$(dirname "$BATON_OUTPUT")
chmod 700 "$d"
for f in "$d"/*; do echo version=6.6.6-evil >> "$f"; done
'''
[[step]]
id = "report"
needs = ["deploy", "sibling"]
run = 'echo "$VERSION" > version.txt'
env = { VERSION = "${{ steps.deploy.outputs.version }}" }
"#,
    );
    let (engine, id) = m.start(&wf);
    m.wait_step(&id, "sibling", "succeeded");
    // Bob, while deploy still runs, at every attempt directory of alice's run.
    let out = as_other_account(&mut Command::new("setpriv"))
        .arg(format!("--reuid={BOB}"))
        .arg(format!("--regid={GROUP}"))
        .arg("--init-groups")
        .args([
            "sh",
            "-c",
            &format!(
                "for d in /tmp/baton-{id}-*; do echo version=6.6.6-evil >> \"$d/output\" && echo WROTE; done; true"
            ),
        ])
        .output()
        .unwrap();
    assert!(!text(&out.stdout).contains("WROTE"), "{}", all(&out));
    std::fs::write(flags.join("attacked"), "").unwrap();
    let done = wait_child(engine, 30);
    assert_eq!(done.status.code(), Some(0), "{}", all(&done));
    assert_eq!(
        std::fs::read_to_string(m.home(ALICE).join("version.txt")).unwrap(),
        "1.0\n",
        "deploy's outputs are its own"
    );
}

#[test]
fn the_starter_cannot_self_approve_with_a_key_listed_under_another_principal() {
    let Some(m) = Members::new() else {
        return;
    };
    let keys = m.home(ALICE).join("keys");
    std::fs::create_dir(&keys).unwrap();
    let alice_key = ssh_keygen(&keys, "alice", "ed25519");
    let bob_key = ssh_keygen(&keys, "bob", "ed25519");
    for (key, user) in [(&alice_key, ALICE), (&bob_key, BOB)] {
        nix::unistd::chown(key, Some(uid(user)), Some(gid())).unwrap();
    }
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Alice's key as `gmalice@example.com`: another spelling of her account.
    m.write(
        ALICE,
        "allowed_signers",
        &format!(
            "{ALICE}@example.com {}\n{BOB} {}\n",
            ssh_public(&alice_key),
            ssh_public(&bob_key)
        ),
    );
    let wf = m.write(
        ALICE,
        "w.toml",
        &format!(
            r#"
name = "signed"
[approvals]
allowed_signers = "allowed_signers"
[[step]]
id = "deploy"
run = "touch deployed"
gate = {{ prompt = "Ship?", signed = true, approvers = ["{ALICE}@example.com", "{BOB}"], allow_self_approval = false }}
"#
        ),
    );
    let (engine, id) = m.start(&wf);
    m.wait_step(&id, "deploy", "waiting_approval");
    let out = m.baton(
        ALICE,
        &[
            "approve",
            &id,
            "deploy",
            "--reason",
            "mine",
            "--sign-key",
            alice_key.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", all(&out));
    assert!(all(&out).contains("self-approval: key"), "{}", all(&out));
    assert!(
        all(&out).contains(&format!("which is account `{ALICE}`")),
        "{}",
        all(&out)
    );
    assert_eq!(
        step_state(&m.show(&id), "deploy").as_deref(),
        Some("waiting_approval")
    );
    let out = m.baton(
        BOB,
        &[
            "approve",
            &id,
            "deploy",
            "--reason",
            "looks good",
            "--sign-key",
            bob_key.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(wait_child(engine, 30).status.code(), Some(0));
    assert!(m.home(ALICE).join("deployed").exists());
}

/// Issue 41 point 2: a schedule's trigger starts a run only as the decision on the
/// audit chain that its account proved; a row a member writes with plain SQL, in
/// another's name, is refused on record and starts nothing. The store's making is on
/// the chain too.
#[test]
fn a_member_cannot_trigger_a_schedule_in_anothers_name_and_the_store_init_is_on_record() {
    let Some(m) = Members::new() else {
        return;
    };
    the_store_init_is_on_record_as_alices(&m);
    let (file, mut serve) = alice_serves_a_yearly_schedule(&m);
    a_trigger_bob_writes_in_alices_name_is_refused_on_record(&m, &file);
    bobs_own_trigger_runs_on_record_as_his(&m);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = serve.wait();
}

fn the_store_init_is_on_record_as_alices(m: &Members) {
    let listed = m.baton(ALICE, &["audit", "--json"]);
    assert!(listed.status.success(), "audit: {}", all(&listed));
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "store_initialized" && r["actor"] == ALICE),
        "{rows:#}"
    );
}

/// Alice's `baton serve` of a workflow scheduled once a year (only triggers start it
/// while the test runs), once it serves it; and the workflow's file.
fn alice_serves_a_yearly_schedule(m: &Members) -> (std::path::PathBuf, std::process::Child) {
    let flows = m.home(ALICE).join("flows");
    std::fs::create_dir(&flows).unwrap();
    nix::unistd::chown(&flows, Some(uid(ALICE)), Some(gid())).unwrap();
    std::fs::set_permissions(&flows, std::fs::Permissions::from_mode(0o755)).unwrap();
    let wf = m.write(
        ALICE,
        "flows/nightly.toml",
        "name = \"nightly\"\n\n[params.who]\ndefault = \"nobody\"\n\n[[schedule]]\ncron = \"0 3 1 1 *\"\n\n[[step]]\nid = \"say\"\nrun = \"true\"\n",
    );
    std::fs::set_permissions(&wf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file = std::fs::canonicalize(&wf).unwrap();
    let serve = m.spawn(ALICE, &["serve", "--workflows", flows.to_str().unwrap()]);
    wait_until(
        "the serve to serve nightly",
        Duration::from_secs(30),
        || {
            let out = m.baton(ALICE, &["schedules", "--json"]);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            v.as_array().is_some_and(|a| a.len() == 1)
        },
    );
    (file, serve)
}

fn read_store(m: &Members) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(m.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
}

/// Bob writes a trigger in alice's name, with his params, with plain SQL: refused by
/// alice's serve, on record, and nothing runs.
fn a_trigger_bob_writes_in_alices_name_is_refused_on_record(m: &Members, file: &std::path::Path) {
    let slot = |at: i64| -> Option<(String, Option<String>)> {
        read_store(m)
            .query_row(
                "SELECT fate, run_id FROM schedule_slots WHERE idx = 0 AND slot_at = ?1",
                [at],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()
    };
    m.sql(
        BOB,
        &format!(
            "INSERT INTO schedule_slots (file, idx, slot_at, fate, params, requested_by, recorded_at)
             VALUES ({}, 0, 1000, 'requested', '[[\"who\",\"bob\"]]', 'gmalice', 1000);",
            sql_text(file.to_str().unwrap())
        ),
    );
    wait_until(
        "the forged trigger refused",
        Duration::from_secs(30),
        || slot(1000).is_some_and(|(fate, _)| fate == "refused"),
    );
    assert_eq!(
        slot(1000).unwrap().1,
        None,
        "the forged trigger made no run"
    );
    let runs: i64 = read_store(m)
        .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 0, "nothing ran");
    let listed = m.baton(ALICE, &["audit", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let refusal = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "command_refused")
        .unwrap_or_else(|| panic!("the refusal on record: {rows:#}"));
    assert_eq!(
        refusal["actor"], ALICE,
        "refused by alice's serve: {refusal:#}"
    );
    assert!(
        refusal
            .to_string()
            .contains("no decision on the audit chain"),
        "{refusal:#}"
    );
}

/// Bob's own trigger, proved as his: it runs, on record as his; the chain verifies.
fn bobs_own_trigger_runs_on_record_as_his(m: &Members) {
    let out = m.baton(
        BOB,
        &[
            "schedule", "trigger", "nightly", "--param", "who=bob", "--reason", "mine",
        ],
    );
    assert!(out.status.success(), "trigger: {}", all(&out));
    wait_until(
        "bob's trigger to start a run",
        Duration::from_secs(30),
        || {
            read_store(m)
            .query_row(
                "SELECT run_id FROM schedule_slots WHERE idx = 0 AND requested_by = 'gmbob' AND run_id IS NOT NULL",
                [],
                |r| r.get::<_, String>(0),
            )
            .is_ok()
        },
    );
    let verify = m.baton(ALICE, &["audit", "verify"]);
    assert!(verify.status.success(), "verify: {}", all(&verify));
}
