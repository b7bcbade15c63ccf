//! Several OS accounts: beside the campaign's own store, a group store of `gmteam`
//! (docs/approvals.md, "Who decides": `baton store init --group`) made by `gmalice`,
//! whose runs of `team` (a gate only `gmbob` may decide) `gmalice` starts and resumes,
//! and whose gates `gmbob` approves or rejects, and `gmalice` tries to (refused: not an
//! approver), each through `setpriv` as that account (as `tests/it/tamper/
//! group_members.rs` acts). Its engines are signalled with the campaign's. The
//! accounts are made by `tests/accounts.sh` (CI); where they are missing, the
//! campaign says which and goes on without this part.
use super::checks::Verdict;
use super::world::{Campaign, What};
use crate::helpers::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub(super) const GROUP: &str = "gmteam";
pub(super) const ALICE: &str = "gmalice";
pub(super) const BOB: &str = "gmbob";

/// The group store and what its accounts need.
pub(super) struct Team {
    pub root: PathBuf,
    pub db: PathBuf,
    flow: PathBuf,
}

const FLOW: &str = r#"name = "team"

[[step]]
id = "prep"
run = "sleep 0.3"

[[step]]
id = "go"
needs = ["prep"]
run = "sleep 0.3"
gate = { prompt = "go?", approvers = ["gmbob"] }
"#;

/// The accounts and group `Team` needs that this machine lacks (or why it cannot act
/// as them).
pub(super) fn missing() -> Vec<String> {
    if !nix::unistd::geteuid().is_root() {
        return vec!["root, to act as other accounts".into()];
    }
    let mut m: Vec<String> = [ALICE, BOB]
        .iter()
        .filter(|u| nix::unistd::User::from_name(u).ok().flatten().is_none())
        .map(|u| format!("account {u}"))
        .collect();
    if nix::unistd::Group::from_name(GROUP)
        .ok()
        .flatten()
        .is_none()
    {
        m.push(format!("group {GROUP}"));
    }
    m
}

pub(super) fn owned(p: &Path, user: &str, mode: u32) -> Result<(), String> {
    let uid = nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .ok_or_else(|| format!("no account {user}"))?
        .uid;
    let gid = nix::unistd::Group::from_name(GROUP)
        .ok()
        .flatten()
        .ok_or_else(|| format!("no group {GROUP}"))?
        .gid;
    nix::unistd::chown(p, Some(uid), Some(gid)).map_err(|e| format!("{}: {e}", p.display()))?;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", p.display()))
}

impl Team {
    /// The group store made by `gmalice` under `dir` (which others may enter), a home
    /// for each account, and `gmalice`'s `team.toml`.
    pub(super) fn new(dir: &Path) -> Result<Team, String> {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let root = dir.join("team");
        let mk = |p: &Path, user: &str, mode: u32| {
            std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
            owned(p, user, mode)
        };
        mk(&root, ALICE, 0o755)?;
        for u in [ALICE, BOB] {
            mk(&root.join(u), u, 0o755)?;
        }
        let srv = root.join("srv");
        mk(&srv, ALICE, 0o755)?;
        let flow = root.join(ALICE).join("team.toml");
        std::fs::write(&flow, FLOW).map_err(|e| e.to_string())?;
        owned(&flow, ALICE, 0o644)?;
        let t = Team {
            db: srv.join("baton.db"),
            root,
            flow,
        };
        let init = t
            .cmd(ALICE, &["store", "init", "--group", GROUP])
            .output()
            .map_err(|e| e.to_string())?;
        if !init.status.success() {
            return Err(format!(
                "store init --group {GROUP} as {ALICE}: {}{}",
                text(&init.stdout),
                text(&init.stderr)
            ));
        }
        Ok(t)
    }

    /// `baton ARGS` on the group store as `user` (`setpriv`, its own home).
    pub(super) fn cmd(&self, user: &str, args: &[&str]) -> Command {
        let home = self.root.join(user);
        let mut c = Command::new("setpriv");
        as_other_account(&mut c)
            .arg(format!("--reuid={user}"))
            .arg(format!("--regid={GROUP}"))
            .arg("--init-groups")
            .arg(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .env("BATON_DB", &self.db)
            .env("HOME", &home)
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_RUNTIME_DIR", runtime_dir_of(&self.root, uid_of(user)))
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

    /// `baton ARGS --json`'s rows as `gmalice` (none if it failed).
    pub(super) fn rows(&self, args: &[&str]) -> Vec<serde_json::Value> {
        self.cmd(ALICE, args)
            .output()
            .ok()
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }
}

impl Campaign {
    /// The team's share of the decisions: a run of `team` started as `gmalice` when
    /// none waits at its gate, else a gate decided as `gmbob` (or tried as `gmalice`,
    /// who is not its approver).
    pub(super) fn team_decide(&mut self, approve: bool, pick: usize) {
        let Some(t) = &self.team else { return };
        let gates: Vec<(String, String)> = t
            .rows(&["inbox", "--json"])
            .iter()
            .filter(|w| w["kind"] == "gate")
            .filter_map(|w| Some((w["run_id"].as_str()?.into(), w["step"].as_str()?.into())))
            .collect();
        let Some((run, step)) = gates.get(pick % gates.len().max(1)).cloned() else {
            let flow = t.flow.to_string_lossy().into_owned();
            let c = t.cmd(ALICE, &["run", &flow, "--headless"]);
            self.tally.team_runs += 1;
            self.spawn_cmd(c, What::Run);
            return;
        };
        let account = if pick.is_multiple_of(3) { ALICE } else { BOB };
        self.decide_as(&run, &step, approve, Some(account));
    }

    /// At the end: the team's interrupted runs resumed as `gmalice`, its gates approved
    /// as `gmbob`.
    pub(super) fn team_settle(&mut self) -> usize {
        let Some(t) = &self.team else { return 0 };
        let runs = t.rows(&["runs", "--json"]);
        let open = runs
            .iter()
            .filter(|r| !super::acts::final_state(&r["state"]))
            .count();
        let interrupted: Vec<String> = runs
            .iter()
            .filter(|r| r["state"] == "interrupted")
            .filter_map(|r| r["id"].as_str().map(String::from))
            .collect();
        let gates: Vec<(String, String)> = t
            .rows(&["inbox", "--json"])
            .iter()
            .filter(|w| w["kind"] == "gate")
            .filter_map(|w| Some((w["run_id"].as_str()?.into(), w["step"].as_str()?.into())))
            .collect();
        let busy = |kids: &[super::world::Kid], run: &str| {
            kids.iter().any(|k| k.team_run.as_deref() == Some(run))
        };
        for run in interrupted {
            if !busy(&self.kids, &run) {
                let c = self
                    .team
                    .as_ref()
                    .map(|t| t.cmd(ALICE, &["resume", &run, "--headless"]));
                if let Some(c) = c {
                    self.tally.resumes += 1;
                    self.spawn_cmd(c, What::Run);
                    if let Some(k) = self.kids.last_mut() {
                        k.team_run = Some(run);
                    }
                }
            }
        }
        for (run, step) in gates {
            if !busy(&self.kids, &run) {
                self.decide_as(&run, &step, true, Some(BOB));
                if let Some(k) = self.kids.last_mut() {
                    k.team_run = Some(run);
                }
            }
        }
        open
    }
}

/// docs/approvals.md, "Who decides": "Every decision […] is recorded under the
/// operating-system account of the process that makes them […] Neither a flag nor
/// `$USER` changes it". Every decision the CLI accepted is on its store's chain under
/// the account that issued it (this process's on the campaign's store, `gmbob`'s on
/// the team's, though `$USER` is set too), and so is one recorded for the run's next
/// engine (`gmbob`'s on `gmalice`'s undriven run) once applied; one refused
/// (`gmalice`, not an approver) is no approval or vote on the chain.
pub(super) fn the_actor_is_the_os_account(c: &Campaign) -> Verdict {
    let mut v = Verdict::new(
        "the_actor_is_the_os_account",
        "docs/approvals.md: \"Every decision […] is recorded under the operating-system account of the process that makes them\"",
    );
    let me = baton::session::os_account().unwrap_or_default();
    let mut audits: std::collections::BTreeMap<(bool, String), Vec<serde_json::Value>> =
        Default::default();
    let (mut accepted, mut recorded, mut refused) = (0, 0, 0);
    for d in &c.decisions {
        let team = d.account.is_some();
        let key = (team, d.run.clone());
        if !audits.contains_key(&key) {
            let rows = match (&c.team, team) {
                (Some(t), true) => t.rows(&["audit", &d.run, "--json"]),
                _ => c.rows(&["audit", &d.run, "--json"]),
            };
            audits.insert(key.clone(), rows);
        }
        let rows: Vec<&serde_json::Value> = audits[&key]
            .iter()
            .filter(|r| r["reason"] == d.reason.as_str())
            .collect();
        let account = d.account.unwrap_or(me.as_str());
        if d.accepted() || d.recorded() {
            // A recorded one is on the chain under its account once an engine applied
            // it, or refused.
            accepted += usize::from(d.accepted());
            recorded += usize::from(d.recorded());
            for r in rows.iter().filter(|r| r["action"] != "command_refused") {
                if r["actor"] != account {
                    v.broken.push(format!(
                        "run {} step {} ({}), issued as {account}: on the chain as {} ({})",
                        d.run, d.step, d.reason, r["actor"], r["action"]
                    ));
                }
            }
        } else if d.verdict.is_some() {
            refused += 1;
            let decided = ["approval_vote", "approved", "rejected"];
            for r in rows
                .iter()
                .filter(|r| decided.iter().any(|a| r["action"] == *a))
            {
                v.broken.push(format!(
                    "run {} step {} ({}), refused to {account}, is on the chain as {} by {}",
                    d.run, d.step, d.reason, r["action"], r["actor"]
                ));
            }
        }
    }
    // The team's runs were driven to their ends as the campaign's were (`every_run_ends`).
    let team_runs = c
        .team
        .as_ref()
        .map(|t| t.rows(&["runs", "--json"]))
        .unwrap_or_default();
    for r in team_runs
        .iter()
        .filter(|r| !super::acts::final_state(&r["state"]))
    {
        v.broken.push(format!(
            "the group store's run {} reads {} at the end",
            r["id"], r["state"]
        ));
    }
    let team = c.decisions.iter().filter(|d| d.account.is_some()).count();
    v.checked = match &c.team_missing {
        Some(m) => format!(
            "{accepted} accepted, {recorded} recorded for the run's engine and {refused} refused decisions, all as {me}; other accounts not tried: no {m} here (tests/accounts.sh add)"
        ),
        None => format!(
            "{accepted} accepted, {recorded} recorded for the run's engine and {refused} refused decisions, {team} of them on the group store as {ALICE} or {BOB}; its {} runs ended",
            team_runs.len()
        ),
    };
    v
}
