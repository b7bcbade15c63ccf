//! A rewritten record (issue 61 point 3's "a fork of a rewritten record"), with real
//! accounts: on the group store, `gmbob` rewrites the workflow text `gmalice`'s
//! finished run of `team` recorded (plain SQL through `sqlite3`, as that member), so
//! that its first step would also run his command; `gmalice` then forks the run from
//! that step. The fork must be refused (exit 3, naming the rewrite, on record as
//! `gmalice`'s refusal) and his command must never run. The text is put back after
//! each try, so that the run reads as it ended. Tried during the chaos (a forgery of
//! the plan) and once at the end, so that every campaign with the accounts tries one.
use super::checks::Verdict;
use super::team::{ALICE, BOB, GROUP};
use super::world::Campaign;
use crate::helpers::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a refused fork may take; one still running then was obeyed.
const REFUSED_WITHIN: Duration = Duration::from_secs(60);
/// What a refused fork names (`fork::check_source`).
const NAMED: &str = "workflow text is not what the starter's engine recorded";

/// One rewrite and what the fork of it did.
#[derive(Debug)]
pub(super) struct Rewrite {
    pub run: String,
    /// The file the planted command would make.
    pub flag: PathBuf,
    /// `Ok(what the fork said)` when refused as the docs say, else why not.
    pub fork: Result<String, String>,
}

/// The recorded text with `prep` also touching `flag`.
fn planted(recorded: &str, flag: &Path) -> Option<String> {
    let from = "run = \"sleep 0.3\"";
    let at = recorded.find(from)?;
    let mut evil = recorded.to_string();
    evil.replace_range(
        at..at + from.len(),
        &format!("run = \"touch {}; sleep 0.3\"", flag.display()),
    );
    Some(evil)
}

impl Campaign {
    /// A finished run of `team` rewritten by `gmbob` and forked by `gmalice`; false
    /// when the group store has no finished run (or no accounts).
    pub(super) fn forge_rewrite(&mut self, pick: usize) -> Result<bool, String> {
        let Some(t) = &self.team else {
            return Ok(false);
        };
        let ended: Vec<String> = t
            .rows(&["runs", "--json"])
            .iter()
            .filter(|r| super::acts::final_state(&r["state"]))
            .filter_map(|r| r["id"].as_str().map(String::from))
            .collect();
        let Some(run) = ended.get(pick % ended.len().max(1)).cloned() else {
            return Ok(false);
        };
        let flags = t.db.with_file_name("flags");
        if !flags.exists() {
            std::fs::create_dir(&flags).map_err(|e| e.to_string())?;
            std::fs::set_permissions(&flags, std::fs::Permissions::from_mode(0o777))
                .map_err(|e| e.to_string())?;
        }
        let flag = flags.join(format!("pwned-{}", self.forged.rewrites.len()));
        let recorded: String = rusqlite::Connection::open(&t.db)
            .and_then(|c| {
                c.query_row(
                    "SELECT source_text FROM run_sources WHERE run_id = ?1",
                    [&run],
                    |r| r.get(0),
                )
            })
            .map_err(|e| format!("run {run}'s text: {e}"))?;
        let evil = planted(&recorded, &flag).ok_or("the team's text has no `prep`")?;
        let set = |text: &str| {
            format!(
                "UPDATE run_sources SET source_text = {} WHERE run_id = {};",
                sql_text(text),
                sql_text(&run)
            )
        };
        try_sql_as(GROUP, BOB, &t.db, &set(&evil))?;
        let fork = fork_refused(t.cmd(ALICE, &["fork", &run, "--from", "prep", "--headless"]));
        let back = try_sql_as(GROUP, BOB, &t.db, &set(&recorded));
        self.forged.rewrites.push(Rewrite {
            run,
            flag,
            fork: fork.and_then(|said| back.map(|()| said)),
        });
        Ok(true)
    }

    /// At the end, a rewrite of a finished team run if none was tried yet.
    pub(super) fn rewrite_at_end(&mut self) {
        if self.forged.rewrites.is_empty()
            && let Err(e) = self.forge_rewrite(0)
        {
            self.forged.failed.push(format!("Rewrite: {e}"));
        }
    }
}

/// The fork's exit: refused (3) naming the rewrite, within [`REFUSED_WITHIN`].
fn fork_refused(mut c: Command) -> Result<String, String> {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("baton fork: {e}"))?;
    let end = Instant::now() + REFUSED_WITHIN;
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the fork still ran after {REFUSED_WITHIN:?}: it was obeyed"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    if out.status.code() == Some(3) && said.contains(NAMED) {
        Ok(said.trim().to_string())
    } else {
        Err(format!(
            "the fork exited {:?}, saying: {}",
            out.status.code(),
            said.trim()
        ))
    }
}

/// docs/approvals.md on group stores: a fork "checks them as a takeover does and
/// refuses a rewrite": every rewrite's fork was refused naming it, its refusal is on
/// the run's chain as `gmalice`'s, and no planted command ran.
pub(super) fn a_rewritten_record_is_never_run(c: &Campaign) -> Verdict {
    let mut v = Verdict::new(
        "a_rewritten_record_is_never_run",
        "docs/approvals.md: a fork of a run another member rewrote is refused, on record, and runs nothing of the rewrite",
    );
    let tries = &c.forged.rewrites;
    let mut per_run: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in tries {
        *per_run.entry(r.run.as_str()).or_default() += 1;
        if let Err(e) = &r.fork {
            v.broken.push(format!("run {}: {e}", r.run));
        }
        if r.flag.exists() {
            v.broken
                .push(format!("run {}: {BOB}'s planted command ran", r.run));
        }
    }
    // One refusal on the chain for each fork of the run (a run may be drawn twice).
    for (run, forks) in per_run {
        let refusals = c.team.as_ref().map_or(0, |t| {
            t.rows(&["audit", run, "--json"])
                .iter()
                .filter(|a| {
                    a["action"] == "command_refused"
                        && a["actor"] == ALICE
                        && a.to_string().contains("fork")
                })
                .count()
        });
        if refusals < forks {
            v.broken.push(format!(
                "run {run}: {refusals} refusals of {ALICE}'s forks on its chain for {forks} forks"
            ));
        }
    }
    v.checked = match (&c.team_missing, tries.len()) {
        (Some(m), _) => format!("not tried: no {m} here (tests/accounts.sh add)"),
        (None, 0) => "no run of the group store ended to rewrite".into(),
        (None, n) => {
            format!("{n} rewrites of a finished run's text by {BOB}, each forked by {ALICE}")
        }
    };
    v
}
