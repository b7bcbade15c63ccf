//! Issue 44 point 5, `baton ask` across real OS accounts of one group store: three
//! accounts made beforehand by tests/accounts.sh (`askann` asks, `askbo` and `askcy`
//! approve; skipped, saying so, where they are not), each run through `setpriv
//! --init-groups`. The asker waits on the store,
//! no engine anywhere, its poll made ten minutes long (`BATON_ASK_POLL_MS`): only the
//! wake-up through the group's wake directory can end its wait in time. The tests run
//! as root, which only sets the scene and looks.
use crate::helpers::*;
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

const GROUP: &str = "askteam";
pub(crate) const ANN: &str = "askann";
pub(crate) const BO: &str = "askbo";
pub(crate) const CY: &str = "askcy";

pub(crate) fn all(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn uid(user: &str) -> nix::unistd::Uid {
    nix::unistd::User::from_name(user).unwrap().unwrap().uid
}

fn gid() -> nix::unistd::Gid {
    nix::unistd::Group::from_name(GROUP).unwrap().unwrap().gid
}

/// A group store made by ann, a home for each account.
pub(crate) struct Team {
    env: Env,
}

impl Team {
    /// `None` (and why, printed) where the accounts are not made or this is not root.
    pub(crate) fn new() -> Option<Team> {
        if !accounts(GROUP, &[ANN, BO, CY]) {
            return None;
        }
        let env = Env::new();
        std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let t = Team { env };
        for user in [ANN, BO, CY] {
            let home = t.home(user);
            std::fs::create_dir(&home).unwrap();
            nix::unistd::chown(&home, Some(uid(user)), Some(gid())).unwrap();
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let srv = t.env.path().join("srv");
        std::fs::create_dir(&srv).unwrap();
        nix::unistd::chown(&srv, Some(uid(ANN)), Some(gid())).unwrap();
        let out = t.baton(ANN, &["store", "init", "--group", GROUP]);
        assert!(out.status.success(), "store init: {}", all(&out));
        Some(t)
    }

    pub(crate) fn home(&self, user: &str) -> PathBuf {
        self.env.path().join(user)
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.env.path().join("srv").join("store").join("baton.db")
    }

    pub(crate) fn cmd(&self, user: &str, args: &[&str]) -> Command {
        self.program(user, env!("CARGO_BIN_EXE_baton"), args)
    }

    /// `program ARGS` as `user`, with its own home and state directory, the store's
    /// path in `BATON_DB`.
    pub(crate) fn program(&self, user: &str, program: &str, args: &[&str]) -> Command {
        let home = self.home(user);
        let mut c = Command::new("setpriv");
        as_other_account(&mut c)
            .arg(format!("--reuid={user}"))
            .arg(format!("--regid={GROUP}"))
            .arg("--init-groups")
            .arg(program)
            .args(args)
            .env("BATON_DB", self.db())
            .env("HOME", &home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("USER", "someone-else")
            .env("NO_COLOR", "1")
            // Ten minutes: a wait that ends in seconds was ended by the wake-up.
            .env("BATON_ASK_POLL_MS", "600000")
            .env_remove("BATON_AUDIT_KEY")
            .env_remove("BATON_AUDIT_KEY_ID")
            .env_remove("BATON_AUDIT_KEYS")
            .current_dir(&home)
            .stdin(Stdio::null());
        c
    }

    pub(crate) fn baton(&self, user: &str, args: &[&str]) -> Output {
        self.cmd(user, args).output().expect("run baton")
    }

    pub(crate) fn spawn(&self, user: &str, args: &[&str]) -> Child {
        self.cmd(user, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn baton")
    }

    /// The open ask `user`'s inbox lists, once it does, and its votes; an asker that
    /// ended before is a failure that says what the asker said.
    pub(crate) fn listed_while(&self, user: &str, votes: usize, asker: &mut Child) -> Value {
        wait_until("the ask in the inbox", secs(30), || {
            if let Ok(Some(status)) = asker.try_wait() {
                let mut said = String::new();
                if let Some(mut e) = asker.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut said);
                }
                panic!("the asker ended ({status}) before its ask was listed: {said}");
            }
            self.find(user, votes)
        })
    }

    /// The open ask `user`'s inbox lists, once it does, and its votes.
    pub(crate) fn listed(&self, user: &str, votes: usize) -> Value {
        wait_until("the ask in the inbox", secs(30), || self.find(user, votes))
    }

    /// `sqlite3` on the store as `user`: what any member can do to the database.
    pub(crate) fn sql(&self, user: &str, script: &str) {
        sql_as(GROUP, user, &self.db(), script);
    }

    /// The open ask with `votes` votes in `user`'s inbox, or what the inbox said.
    fn find(&self, user: &str, votes: usize) -> Result<Value, String> {
        let out = self.baton(user, &["inbox", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let found = v.as_array().and_then(|a| {
            a.iter()
                .find(|w| w["kind"] == "ask" && w["votes"].as_array().map(Vec::len) == Some(votes))
                .cloned()
        });
        found.ok_or_else(|| all(&out))
    }
}

#[test]
fn two_accounts_make_the_quorum_of_a_third_s_ask_and_the_wake_up_crosses_accounts() {
    let Some(t) = Team::new() else {
        return;
    };
    let asker = t.spawn(
        ANN,
        &[
            "ask",
            "--prompt",
            "promote build 42?",
            "--approvers",
            &format!("{ANN},{BO},{CY}"),
            "--quorum",
            "2",
            "--json",
            "--timeout",
            "5m",
        ],
    );
    let mut asker = asker;
    let w = t.listed_while(BO, 0, &mut asker);
    let id = w["ask"].as_str().unwrap().to_string();
    assert_eq!(w["workflow"], format!("ask by {ANN}"), "{w}");
    assert_eq!(w["quorum"], 2, "{w}");
    // The asking account, though an approver, may not approve its own ask.
    let own = t.baton(ANN, &["approve", &id, "--reason", "mine", "--json"]);
    assert_eq!(own.status.code(), Some(1), "{}", all(&own));
    assert!(all(&own).contains("\"self_approval\""), "{}", all(&own));
    // One approval is a vote: the ask stays open and its asker waits.
    let first = t.baton(BO, &["approve", &id, "--reason", "tests green"]);
    assert!(first.status.success(), "{}", all(&first));
    assert!(text(&first.stdout).contains("(1/2)"), "{}", all(&first));
    let w = t.listed(CY, 1);
    assert_eq!(w["votes"], serde_json::json!([BO]), "{w}");
    assert!(
        asker.try_wait().unwrap().is_none(),
        "one vote of two decided nothing"
    );
    // The wake directory is the group's: setgid 2770, no world access; the asker's
    // socket in it is the group's to write.
    let wake = PathBuf::from(format!("{}.wake", t.db().display()));
    let m = std::fs::symlink_metadata(&wake).unwrap();
    assert!(m.is_dir(), "a directory, not a link");
    assert_eq!(m.mode() & 0o7777, 0o2770, "{:o}", m.mode());
    assert_eq!(m.gid(), gid().as_raw());
    let sock = std::fs::metadata(wake.join(format!("{id}.sock"))).unwrap();
    assert_eq!(sock.mode() & 0o777, 0o660, "{:o}", sock.mode());
    assert_eq!(sock.gid(), gid().as_raw());
    // No engine anywhere: the second approval by a third account wakes the asker.
    let runs = t.baton(CY, &["runs", "--json"]);
    assert_eq!(text(&runs.stdout).trim(), "[]", "{}", all(&runs));
    let second = t.baton(CY, &["approve", &id, "--reason", "ship it"]);
    assert!(second.status.success(), "{}", all(&second));
    let out = wait_child(asker, 20);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    let d: Value = serde_json::from_slice(&out.stdout).expect("ask --json");
    assert_eq!(d["state"], "approved", "{d}");
    assert_eq!(d["votes"], serde_json::json!([BO, CY]), "{d}");
    assert_eq!(d["approvers"], serde_json::json!([ANN, BO, CY]), "{d}");
    assert_eq!(d["decided_by"], CY, "{d}");
    assert!(
        !wake.join(format!("{id}.sock")).exists(),
        "the socket goes with its asker"
    );
    let verify = t.baton(BO, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", all(&verify));
}

#[test]
fn an_ask_that_allows_self_approval_is_approved_by_its_own_account() {
    let Some(t) = Team::new() else {
        return;
    };
    let mut asker = t.spawn(
        ANN,
        &[
            "ask",
            "--prompt",
            "rotate my key?",
            "--allow-self-approval",
            "--timeout",
            "5m",
        ],
    );
    let id = t.listed_while(ANN, 0, &mut asker)["ask"]
        .as_str()
        .unwrap()
        .to_string();
    let own = t.baton(ANN, &["approve", &id, "--reason", "my own key"]);
    assert!(own.status.success(), "{}", all(&own));
    let out = wait_child(asker, 20);
    assert_eq!(out.status.code(), Some(0), "{}", all(&out));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("approved by {ANN}: my own key")
    );
}
