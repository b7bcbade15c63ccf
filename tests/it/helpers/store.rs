//! Helpers for tests of the store: a temp database and hand-built events.
#![allow(dead_code)]
use baton::model::{
    Command, ErrorKind, ErrorRecord, Event, EventKind, RunState, StepOutcome, StepState, Timestamp,
    Usage,
};
use baton::store::{NewRun, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub(crate) struct Db {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub(crate) fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("baton.db");
    Db { dir, path }
}

pub(crate) fn new_run(id: &str, started: i64) -> NewRun {
    NewRun {
        id: id.into(),
        workflow: "release".into(),
        source_path: PathBuf::from("/w/release.toml"),
        source_text: "name = \"release\"\n".into(),
        params_json: r#"{"version":"1.2.3","token":"***"}"#.into(),
        operator: "alice".into(),
        started_at: Timestamp(started),
        // Steps appear as events name them, which the projection tests rely on.
        parent: None,
        steps: Vec::new(),
    }
}

/// Builds a run's events with contiguous seqs and a clock that ticks 10 ms per event.
pub(crate) struct Script {
    pub run: String,
    pub seq: u64,
    pub now: i64,
    pub events: Vec<Event>,
}

impl Script {
    pub(crate) fn new(run: &str) -> Self {
        Script {
            run: run.into(),
            seq: 0,
            now: 1_700_000_000_000,
            events: Vec::new(),
        }
    }
    pub(crate) fn push(&mut self, kind: EventKind) -> &mut Self {
        self.seq += 1;
        self.now += 10;
        self.events.push(Event {
            seq: self.seq,
            at: Timestamp(self.now),
            kind,
        });
        self
    }
    /// Take the events pushed since the last take.
    pub(crate) fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
    pub(crate) fn started(&mut self) -> &mut Self {
        self.push(EventKind::RunStarted {
            workflow: "release".into(),
            operator: "alice".into(),
            params: BTreeMap::from([("version".to_string(), "1.2.3".to_string())]),
            seed: 7,
            auto_approve: false,
            allowed_signers: None,
            slot: None,
            zone: None,
            parent: None,
        })
    }
    pub(crate) fn state(&mut self, step: &str, state: StepState, attempt: u32) -> &mut Self {
        self.push(EventKind::StepStateChanged {
            step: step.into(),
            state,
            attempt,
            reason: None,
        })
    }
    pub(crate) fn finished(
        &mut self,
        step: &str,
        attempt: u32,
        exit_code: i32,
        outputs: &[(&str, &str)],
    ) -> &mut Self {
        self.push(EventKind::StepFinished {
            step: step.into(),
            attempt,
            outcome: StepOutcome::Exited { exit_code },
            duration_ms: 1200,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            usage: Usage::default(),
        })
    }
    /// A step that runs once and succeeds: queued, running, finished, succeeded.
    pub(crate) fn ok_step(&mut self, step: &str) -> &mut Self {
        self.state(step, StepState::Queued, 1)
            .state(step, StepState::Running, 1)
            .finished(step, 1, 0, &[])
            .state(step, StepState::Succeeded, 1)
    }
    pub(crate) fn error(
        &mut self,
        step: &str,
        attempt: u32,
        kind: ErrorKind,
        msg: &str,
    ) -> &mut Self {
        let now = Timestamp(self.now);
        let run = self.run.clone();
        self.push(EventKind::ErrorRecorded {
            error: ErrorRecord::builder(kind, msg)
                .run(run)
                .step(step, attempt)
                .context("exit_code", 2)
                .build(now),
        })
    }
    /// `step`'s gate opens: prompt "Ship?", over `digest`, one vote of `approvers` (or
    /// of anyone, when empty).
    pub(crate) fn gate_opened(
        &mut self,
        step: &str,
        digest: &str,
        approvers: &[&str],
    ) -> &mut Self {
        self.push(EventKind::GateOpened {
            step: step.into(),
            prompt: "Ship?".into(),
            deadline: None,
            digest: digest.into(),
            approvers: approvers.iter().map(|a| a.to_string()).collect(),
            quorum: 1,
            signed: false,
            inputs: Default::default(),
            round: None,
        })
    }
    /// `operator`'s approval of `step` is refused, for `reason`.
    pub(crate) fn vote_refused(&mut self, step: &str, operator: &str, reason: &str) -> &mut Self {
        self.push(EventKind::CommandRefused {
            command: Command::Approve {
                step: step.into(),
                operator: operator.into(),
                reason: None,
                signature: None,
                inputs: Default::default(),
            },
            reason: reason.into(),
            code: Some("not_an_approver".into()),
        })
    }
    /// `actor` approves `step` (over `digest`, saying `reason`), and the gate passes on
    /// that one vote.
    pub(crate) fn approved(
        &mut self,
        step: &str,
        actor: &str,
        reason: &str,
        digest: &str,
    ) -> &mut Self {
        self.push(EventKind::ApprovalGiven {
            step: step.into(),
            actor: actor.into(),
            reason: Some(reason.into()),
            digest: digest.into(),
            signature: None,
            inputs: Default::default(),
            proposed: Default::default(),
        })
        .push(EventKind::GateApproved {
            step: step.into(),
            actor: actor.into(),
            approvers: vec![actor.into()],
        })
    }
    pub(crate) fn run_finished(&mut self, state: RunState) -> &mut Self {
        self.push(EventKind::RunFinished {
            state,
            summary: format!("run {state}"),
            dealt_with: Vec::new(),
        })
    }
}

/// A store with one run created.
pub(crate) fn store_with_run(db: &Db, run: &str) -> Store {
    let mut s = Store::open(&db.path).unwrap();
    s.create_run(&new_run(run, 1_700_000_000_000)).unwrap();
    s
}

/// A raw connection to the same file, for tampering and for holding locks.
pub(crate) fn raw(db: &Db) -> rusqlite::Connection {
    rusqlite::Connection::open(&db.path).unwrap()
}

/// `sqlite3` on the database `db` as OS account `user` of `group`: what any member of
/// a group store can do to it with plain SQL (waiting, as baton does, for a writer).
pub(crate) fn sql_as(group: &str, user: &str, db: &std::path::Path, script: &str) {
    if let Err(e) = try_sql_as(group, user, db, script) {
        panic!("{e}");
    }
}

/// `s` as an SQL string literal, for a script [`sql_as`] runs.
pub(crate) fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// [`sql_as`], saying why it failed instead (for a campaign that goes on).
pub(crate) fn try_sql_as(
    group: &str,
    user: &str,
    db: &std::path::Path,
    script: &str,
) -> Result<(), String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("setpriv")
        .arg(format!("--reuid={user}"))
        .arg(format!("--regid={group}"))
        .arg("--init-groups")
        .args(["sqlite3", "-bail"])
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("sqlite3 as {user} (is sqlite3 installed?): {e}"))?;
    child
        .stdin
        .take()
        .ok_or("sqlite3's stdin")?
        .write_all(format!(".timeout 10000\n{script}").as_bytes())
        .map_err(|e| format!("sqlite3 as {user}: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("sqlite3 as {user}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "sqlite3 as {user}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
