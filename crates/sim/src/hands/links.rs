//! Link requests in `--mix hands`: `baton link`'s own server (`session::link_server::
//! serve_link`) on the hands' group store, spoken to over an in-memory pipe by a
//! console the simulator plays. A run waits at its gate (started by another account,
//! its engine gone: a decision is recorded for its starter's engine); the console
//! sends a decision naming someone else as its operator, drops the link after part of
//! a frame, or sends a hostile frame. What the store holds after each is compared with
//! what it held before ([`super::invariants`]).
use super::Hands;
use crate::SimError;
use baton_link::wire::{Hello, Request, ToServer};
use baton_model::Command;
use rand::Rng;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const GATED: &str = r#"name = "gated"
[[step]]
id = "release"
run = "release"
gate = { prompt = "release?" }
"#;

/// The gated step.
const GATE: &str = "release";
/// The name a console puts in a decision's operator field: never recorded.
pub(crate) const FORGED: &str = "mallory-forged";
/// The version both ends of the simulated link say.
const VERSION: &str = "sim";

pub(crate) struct Links {
    plan: (Arc<baton_workflow::Plan>, PathBuf),
    /// The serving process's OS account: every decision's operator.
    pub(crate) me: String,
    made: usize,
    /// What each promise found broken: (invariant, detail).
    pub(crate) broken: Vec<(&'static str, String)>,
}

impl Links {
    pub(crate) fn new(dir: &Path) -> Result<Links, SimError> {
        let path = dir.join("gated.toml");
        std::fs::write(&path, GATED).map_err(|e| SimError::Io {
            path: path.clone(),
            error: e,
        })?;
        let plan = baton_workflow::load_str(GATED, &path)
            .map_err(|d| SimError::Workflow(d.to_string()))?;
        Ok(Links {
            plan: (Arc::new(plan), path),
            me: baton_session::os_account()?,
            made: 0,
            broken: Vec::new(),
        })
    }
}

/// What a run's rows say, compared before and after a request.
#[derive(Debug, PartialEq)]
struct Rows {
    /// Its commands, each as the store's JSON.
    commands: Vec<String>,
    events: i64,
    link_requests: i64,
}

fn rows(db: &Path, run: &str) -> Result<Rows, SimError> {
    let conn = rusqlite::Connection::open(db)?;
    let commands = conn
        .prepare("SELECT json FROM commands WHERE run_id = ?1 ORDER BY id")?
        .query_map([run], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let count = |sql: &str| conn.query_row(sql, [run], |r| r.get::<_, i64>(0));
    Ok(Rows {
        commands,
        events: count("SELECT COUNT(*) FROM events WHERE run_id = ?1")?,
        link_requests: count("SELECT COUNT(*) FROM link_requests WHERE run_id = ?1")?,
    })
}

/// One line of JSON of a frame.
fn line(f: &ToServer) -> Result<Vec<u8>, SimError> {
    let mut l = serde_json::to_vec(f)?;
    l.push(b'\n');
    Ok(l)
}

impl Hands {
    /// A run waiting at its gate, then one link request on it: a decision, a link
    /// dropped mid-frame, or a hostile frame.
    pub(super) fn link_hand(&mut self) -> Result<(), SimError> {
        let run = format!("l{:03}", self.links.made);
        self.links.made += 1;
        let plan = self.links.plan.clone();
        self.start(&run, &plan, Default::default(), Vec::new(), None)?;
        // Its engine gone: a decision is recorded for its starter's engine.
        self.store.release_lease(&run, super::children::HOLDER)?;
        let approve = self.rng.random_bool(0.5);
        let reason = format!("because {:08x}", self.rng.random::<u32>());
        let command = if approve {
            Command::Approve {
                step: GATE.into(),
                operator: FORGED.into(),
                reason: Some(reason.clone()),
                signature: None,
                inputs: Default::default(),
            }
        } else {
            Command::Reject {
                step: GATE.into(),
                operator: FORGED.into(),
                reason: reason.clone(),
                signature: None,
            }
        };
        let frame = |run_id: &str, command: Command| ToServer::Request {
            id: 7,
            request: Request::Command {
                run_id: Some(run_id.to_string()),
                command,
                request: Some(format!("req-{run_id}")),
            },
        };
        let before = rows(&self.db, &run)?;
        let kind = self.rng.random_range(0..3);
        let (what, bytes) = match kind {
            0 => ("a decision".to_string(), line(&frame(&run, command))?),
            1 => {
                let full = line(&frame(&run, command))?;
                let cut = self.rng.random_range(1..full.len() - 1);
                (
                    format!("a frame cut after {cut} bytes"),
                    full[..cut].to_vec(),
                )
            }
            _ => self.hostile_frame(&run, frame(&run, command))?,
        };
        self.history.push(format!(
            "  link to {run}: {what} ({} {GATE}: {reason})",
            if approve { "approve" } else { "reject" }
        ));
        let served = converse(&self.db, &self.links.me, &bytes)?;
        let after = rows(&self.db, &run)?;
        let broken = self.judge(kind, &run, (&before, &after), (approve, &reason));
        if let Some(b) = broken {
            self.links.broken.push(b);
        }
        self.history.push(format!(
            "    served: {}; commands {} -> {}",
            served.map_or_else(|e| e.to_string(), |()| "ended".into()),
            before.commands.len(),
            after.commands.len()
        ));
        Ok(())
    }

    /// A hostile frame: oversized, not JSON, or a decision on a run that does not
    /// exist (the gate's run id altered).
    fn hostile_frame(
        &mut self,
        run: &str,
        decision: ToServer,
    ) -> Result<(String, Vec<u8>), SimError> {
        Ok(match self.rng.random_range(0..3) {
            // Rare: a line past the cap is 64 MiB.
            0 if self.rng.random_range(0..4) == 0 => {
                let mut l = vec![b'{'; baton_link::lines::MAX_LINE + 1];
                l.push(b'\n');
                ("an oversized frame".into(), l)
            }
            0 | 1 => {
                let mut l = line(&decision)?;
                l.retain(|b| *b != b'"');
                ("a frame of bad JSON".into(), l)
            }
            _ => {
                let mut l = serde_json::to_value(&decision)?;
                if let Some(r) = l.pointer_mut("/request/request/command/run_id") {
                    *r = format!("{run}x").into();
                }
                let mut bytes = serde_json::to_vec(&l)?;
                bytes.push(b'\n');
                ("a decision on another run id".into(), bytes)
            }
        })
    }

    /// The promise a request of `kind` broke, if any.
    fn judge(
        &self,
        kind: u32,
        run: &str,
        (before, after): (&Rows, &Rows),
        (approve, reason): (bool, &str),
    ) -> Option<(&'static str, String)> {
        let new = &after.commands[before.commands.len().min(after.commands.len())..];
        let whole = |json: &String| {
            let Ok(c) = serde_json::from_str::<Command>(json) else {
                return false;
            };
            let verdict = match &c {
                Command::Approve {
                    step, reason: r, ..
                } => approve && step == GATE && r.as_deref() == Some(reason),
                Command::Reject {
                    step, reason: r, ..
                } => !approve && step == GATE && r == reason,
                _ => false,
            };
            verdict && c.operator() == self.links.me
        };
        if let Some(j) = new.iter().find(|j| j.contains(FORGED)) {
            return Some((
                "a_link_decision_is_the_link_s_account",
                format!("{run}: a decision names the frame's operator: {j}"),
            ));
        }
        match kind {
            0 if new.len() != 1 || !whole(&new[0]) => Some((
                "a_link_decision_is_the_link_s_account",
                format!(
                    "{run}: a decision sent as {} is on record as {new:?}",
                    self.links.me
                ),
            )),
            1 if !(after == before || (new.len() == 1 && whole(&new[0]))) => Some((
                "a_dropped_link_leaves_no_half_request",
                format!("{run}: a frame cut short left {before:?} as {after:?}"),
            )),
            2.. if after != before => Some((
                "a_hostile_frame_changes_nothing",
                format!("{run}: a hostile frame changed {before:?} to {after:?}"),
            )),
            _ => None,
        }
    }
}

/// `bytes` sent to `serve_link` on `db` as `me` after a hello, then the pipe shut;
/// what the server said of the link when it ended.
fn converse(db: &Path, me: &str, bytes: &[u8]) -> Result<Result<(), String>, SimError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| SimError::Io {
            path: db.to_path_buf(),
            error: e,
        })?;
    let hello = line(&ToServer::Hello(Hello::this(VERSION)))?;
    let (db, me, bytes) = (db.to_path_buf(), me.to_string(), bytes.to_vec());
    Ok(rt.block_on(async move {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (sr, sw) = tokio::io::split(server);
        let serving = tokio::spawn(async move {
            baton_session::link_server::serve_link((&db, false), &me, VERSION, sr, sw).await
        });
        let (mut cr, mut cw) = tokio::io::split(client);
        // The server's frames read and dropped, so that it never waits on the pipe.
        let drain = tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 16];
            while matches!(cr.read(&mut buf).await, Ok(n) if n > 0) {}
        });
        // A write cut by the server's end (a line past the cap) is the server's answer.
        let _ = cw.write_all(&hello).await;
        let _ = cw.write_all(&bytes).await;
        let _ = cw.shutdown().await;
        let ended = match serving.await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the server's task failed: {e}")),
        };
        drain.abort();
        ended
    }))
}
