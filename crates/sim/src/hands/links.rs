//! Link requests in `--mix hands`: `baton link`'s own server (`session::link_server::
//! serve_link`) on the hands' group store, spoken to over an in-memory pipe by a
//! console the simulator plays. A run waits at its gate, started by another account
//! and its engine gone (a decision is recorded for its starter's engine); the console
//! sends a decision naming someone else as its operator (sometimes twice, on a second
//! link, with the same request id, as a console does that did not see its answer),
//! drops the link after part of a frame and asks on a new link whether it was
//! recorded, or sends a hostile frame. What the store holds after each is compared with
//! what it held before.
//!
//! The server runs on the scenario's own thread, on a runtime of one thread made for
//! the request (`session::runtime`) and ended before the next action: its tasks run
//! only inside `block_on`, and every blocking task it started is joined when the
//! runtime is dropped, so nothing of a link runs beside the rest of the world. Its
//! draws come from a stream of their own, so the other hands draw what they drew.
use super::Hands;
use crate::{Bug, SimError};
use baton_link::wire::{Hello, Request, ToServer};
use baton_model::Command;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// This hand's own stream of the seed.
const STREAM: u64 = 0x11c4_5e11_0000_0000;

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
/// One action in this many plays a link request.
const EVERY: u32 = 12;

pub(crate) struct Links {
    rng: SmallRng,
    plan: (Arc<baton_workflow::Plan>, PathBuf),
    /// The serving process's OS account: every decision's operator.
    me: String,
    made: usize,
    /// What each promise found broken: (invariant, detail).
    broken: Vec<(&'static str, String)>,
}

impl Links {
    pub(crate) fn new(dir: &Path, seed: u64) -> Result<Links, SimError> {
        let path = dir.join("gated.toml");
        std::fs::write(&path, GATED).map_err(|e| SimError::Io {
            path: path.clone(),
            error: e,
        })?;
        let plan = baton_workflow::load_str(GATED, &path)
            .map_err(|d| SimError::Workflow(d.to_string()))?;
        Ok(Links {
            rng: SmallRng::seed_from_u64(seed ^ STREAM),
            plan: (Arc::new(plan), path),
            me: baton_session::os_account()?,
            made: 0,
            broken: Vec::new(),
        })
    }

    /// Whether this action plays a link request too.
    pub(crate) fn plays(&mut self) -> bool {
        self.rng.random_range(0..EVERY) == 0
    }

    /// The first link request that broke `name`.
    fn broke(&self, name: &str) -> Option<String> {
        (self.broken.iter())
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d.clone())
    }
}

/// What a run's rows say, compared before and after a request.
#[derive(Debug, PartialEq)]
struct Rows {
    /// Its commands, each as the store's JSON.
    commands: Vec<String>,
    events: i64,
    link_requests: i64,
    /// The store's commands, events and link requests of every run (a frame naming
    /// another run id must change none of them either).
    all: [i64; 3],
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
        all: [
            count("SELECT COUNT(*) FROM commands WHERE ?1 IS NOT NULL")?,
            count("SELECT COUNT(*) FROM events WHERE ?1 IS NOT NULL")?,
            count("SELECT COUNT(*) FROM link_requests WHERE ?1 IS NOT NULL")?,
        ],
    })
}

/// One line of JSON of a frame.
fn line(f: &ToServer) -> Result<Vec<u8>, SimError> {
    let mut l = serde_json::to_vec(f)?;
    l.push(b'\n');
    Ok(l)
}

/// The decision a console sends, and what it says of it.
#[derive(Clone)]
struct Sent {
    run: String,
    approve: bool,
    reason: String,
    request: String,
}

impl Sent {
    fn command(&self) -> Command {
        if self.approve {
            Command::Approve {
                step: GATE.into(),
                operator: FORGED.into(),
                reason: Some(self.reason.clone()),
                signature: None,
                inputs: Default::default(),
            }
        } else {
            Command::Reject {
                step: GATE.into(),
                operator: FORGED.into(),
                reason: self.reason.clone(),
                signature: None,
            }
        }
    }

    fn frame(&self, id: u64) -> ToServer {
        ToServer::Request {
            id,
            request: Request::Command {
                run_id: Some(self.run.clone()),
                command: self.command(),
                request: Some(self.request.clone()),
            },
        }
    }

    /// The console's question after a drop: was the request recorded?
    fn recorded(&self, id: u64) -> ToServer {
        ToServer::Recorded {
            id,
            run_id: self.run.clone(),
            request: self.request.clone(),
        }
    }

    /// Whether `json` is this decision, whole, as `me`'s.
    fn is_whole(&self, json: &str, me: &str) -> bool {
        let Ok(c) = serde_json::from_str::<Command>(json) else {
            return false;
        };
        let verdict = match &c {
            Command::Approve { step, reason, .. } => {
                self.approve && step == GATE && reason.as_deref() == Some(&self.reason)
            }
            Command::Reject { step, reason, .. } => {
                !self.approve && step == GATE && *reason == self.reason
            }
            _ => false,
        };
        verdict && c.operator() == me
    }
}

/// What the console does on the link.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A decision; `twice`: sent again on a second link with the same request id.
    Decision { twice: bool },
    /// The decision's frame cut after some bytes and the link closed; then a second
    /// link asks whether it was recorded, and sends it again when it was not.
    Dropped,
    /// A frame the server must not act on.
    Hostile,
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
        let rng = &mut self.links.rng;
        let sent = Sent {
            approve: rng.random_bool(0.5),
            reason: format!("because {:08x}", rng.random::<u32>()),
            request: format!("req-{run}"),
            run: run.clone(),
        };
        let kind = match rng.random_range(0..3) {
            0 => Kind::Decision {
                twice: rng.random_bool(0.3),
            },
            1 => Kind::Dropped,
            _ => Kind::Hostile,
        };
        let before = rows(&self.db, &run)?;
        let said = match kind {
            Kind::Decision { twice } => self.decide_over_link(&sent, twice)?,
            Kind::Dropped => self.drop_link(&sent)?,
            Kind::Hostile => self.hostile_frame(&sent)?,
        };
        let after = rows(&self.db, &run)?;
        self.history.push(format!(
            "  link to {run} ({} {GATE}: {}): {said}; commands {} -> {}",
            if sent.approve { "approve" } else { "reject" },
            sent.reason,
            before.commands.len(),
            after.commands.len()
        ));
        if let Some(b) = self.judge(kind, &sent, (&before, &after)) {
            self.links.broken.push(b);
        }
        Ok(())
    }

    /// The operator the server is given: its OS account, or with
    /// [`Bug::LinkTrustsOperator`] the name the console's frame says.
    fn serving_as(&self) -> String {
        match self.config.bug {
            Some(Bug::LinkTrustsOperator) => FORGED.into(),
            _ => self.links.me.clone(),
        }
    }

    fn decide_over_link(&mut self, sent: &Sent, twice: bool) -> Result<String, SimError> {
        let me = self.serving_as();
        let first = converse(&self.db, &me, &line(&sent.frame(7))?, true)?;
        if !twice {
            return Ok(format!("a decision ({first})"));
        }
        let again = converse(&self.db, &me, &line(&sent.frame(1))?, true)?;
        Ok(format!("a decision sent twice ({first}; {again})"))
    }

    /// The frame cut after a drawn number of bytes, the link closed; a new link asks
    /// whether it was recorded, the old frame comes late on a third, and when it was
    /// not delivered the person decides again (a new request id, as a console sends
    /// every decision).
    fn drop_link(&mut self, sent: &Sent) -> Result<String, SimError> {
        let me = self.serving_as();
        let full = line(&sent.frame(7))?;
        // Short of its closing brace: a whole decision not delivered would be waited
        // for by the question (`link_decide::found`, 12 s), its starter's engine gone.
        let cut = self.links.rng.random_range(1..full.len() - 1);
        let first = converse(&self.db, &me, &full[..cut], false)?;
        let asked = converse(&self.db, &me, &line(&sent.recorded(1))?, true)?;
        let late = converse(&self.db, &me, &full, true)?;
        let again = match asked.contains(NOT_DELIVERED) {
            true => {
                let again = Sent {
                    request: format!("{}-again", sent.request),
                    ..sent.clone()
                };
                let said = converse(&self.db, &me, &line(&again.frame(2))?, true)?;
                format!("; decided again ({said})")
            }
            false => String::new(),
        };
        Ok(format!(
            "a frame cut after {cut} bytes ({first}); asked ({asked}); the frame late ({late}){again}"
        ))
    }

    /// A hostile frame: oversized (rarely: the cap is 64 MiB), not JSON, or the
    /// decision on a run that does not exist (the gate's run id altered).
    fn hostile_frame(&mut self, sent: &Sent) -> Result<String, SimError> {
        let me = self.serving_as();
        let rng = &mut self.links.rng;
        // The server answers a decision, whatever its run id: the console waits for it.
        let (what, bytes, answered) = match rng.random_range(0..3) {
            0 if rng.random_range(0..4) == 0 => {
                let mut l = vec![b'{'; baton_link::lines::MAX_LINE + 1];
                l.push(b'\n');
                ("an oversized frame", l, false)
            }
            0 | 1 => {
                let mut l = line(&sent.frame(7))?;
                l.retain(|b| *b != b'"');
                ("a frame of bad JSON", l, false)
            }
            _ => {
                let mut v = serde_json::to_value(sent.frame(7))?;
                if let Some(r) = v.pointer_mut("/request/request/command/run_id") {
                    *r = format!("{}x", sent.run).into();
                }
                let mut l = serde_json::to_vec(&v)?;
                l.push(b'\n');
                ("a decision on another run id", l, true)
            }
        };
        let served = converse(&self.db, &me, &bytes, answered)?;
        Ok(format!("{what} ({served})"))
    }

    /// The promise a request of `kind` broke, if any.
    fn judge(
        &self,
        kind: Kind,
        sent: &Sent,
        (before, after): (&Rows, &Rows),
    ) -> Option<(&'static str, String)> {
        let run = &sent.run;
        let me = &self.links.me;
        let new = &after.commands[before.commands.len().min(after.commands.len())..];
        if new.iter().any(|j| j.contains(FORGED)) {
            return Some((
                ACCOUNT,
                format!(
                    "{run}: a decision on record names the frame's operator {FORGED}, not {me}"
                ),
            ));
        }
        let once = new.len() == 1 && sent.is_whole(&new[0], me);
        match kind {
            Kind::Decision { .. } if !once => Some((
                ACCOUNT,
                format!("{run}: a decision sent as {me} is on record as {new:?}"),
            )),
            Kind::Dropped if !once => Some((
                DROPPED,
                format!(
                    "{run}: a frame cut short, asked for, sent late and decided again left {new:?}"
                ),
            )),
            Kind::Hostile if after != before => Some((
                HOSTILE,
                format!("{run}: a hostile frame changed {before:?} to {after:?}"),
            )),
            _ => None,
        }
    }
}

const ACCOUNT: &str = "a_link_decision_is_the_link_s_account_and_recorded_once";
const DROPPED: &str = "a_dropped_link_leaves_no_half_request";
const HOSTILE: &str = "a_hostile_frame_changes_nothing";

/// docs/link-protocol.md: "A command's `operator` is replaced by the server's own OS
/// account: who decides is the account ssh logged in as, never a name the client
/// sent"; a request id is recorded once: a decision sent over the link (its operator
/// field naming someone else, sometimes sent again on a second link with the same
/// request id) is on record once, whole, as the serving process's account.
pub(crate) fn a_link_decision_is_the_link_s_account_and_recorded_once(h: &Hands) -> Option<String> {
    h.links.broke(ACCOUNT)
}

/// docs/link-protocol.md ("When the link drops"): a link dropped mid-frame leaves no
/// half-applied request: asked on a new link by its request id (`recorded`) and sent
/// again when it was not delivered, the decision is on record once, whole.
pub(crate) fn a_dropped_link_leaves_no_half_request(h: &Hands) -> Option<String> {
    h.links.broke(DROPPED)
}

/// docs/link-protocol.md: "a server that reads [a line past 64 MiB] ends the link"; "A
/// line the other side cannot read is ignored"; a decision on a run id that is not
/// the gate's is refused. After each hostile frame the commands, events and link
/// requests of the run, and of the whole store, are as before.
pub(crate) fn a_hostile_frame_changes_nothing(h: &Hands) -> Option<String> {
    h.links.broke(HOSTILE)
}

/// How long a console waits for its answer before it hangs up (never, unless the
/// server is broken: it answers every decision and every question).
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// `bytes` sent to `serve_link` on `db` as `me` after a hello; when `answered`, the
/// pipe shut once an answer came (as a console waits for its answer), else at once:
/// what the server answered (its replies, in order) and how the link ended. On a
/// runtime of this thread, made for the link and dropped with it.
fn converse(db: &Path, me: &str, bytes: &[u8], answered: bool) -> Result<String, SimError> {
    let rt = baton_session::runtime()?;
    let hello = line(&ToServer::Hello(Hello::this(VERSION)))?;
    let (client, server) = tokio::io::duplex(1 << 16);
    let (sr, sw) = tokio::io::split(server);
    let (mut cr, mut cw) = tokio::io::split(client);
    let answer = tokio::sync::Notify::new();
    let (ended, got, waited) = rt.block_on(async {
        let serving = baton_session::link_server::serve_link((db, false), me, VERSION, sr, sw);
        let talk = async {
            // A write cut by the server's end (a line past the cap) is its answer.
            let _ = cw.write_all(&hello).await;
            let _ = cw.write_all(bytes).await;
            let waited = !answered
                || tokio::time::timeout(PATIENCE, answer.notified())
                    .await
                    .is_ok();
            let _ = cw.shutdown().await;
            waited
        };
        // The server's lines read as they come, so that it never waits on the pipe.
        let read = async {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            // The whole lines not looked at yet start here.
            let mut from = 0;
            while let Ok(n @ 1..) = cr.read(&mut buf).await {
                got.extend_from_slice(&buf[..n]);
                let Some(end) = got.iter().rposition(|b| *b == b'\n') else {
                    continue;
                };
                if end >= from && !answers(&got[from..=end]).is_empty() {
                    answer.notify_one();
                }
                from = end + 1;
            }
            got
        };
        let ((ended, waited), got) = tokio::join!(async { tokio::join!(serving, talk) }, read);
        (ended, got, waited)
    });
    drop(rt);
    let said = answers(&got);
    let said = match waited {
        true => said,
        false => format!("{said}no answer; "),
    };
    Ok(match ended {
        Ok(()) => format!("{said}ended"),
        Err(e) => format!("{said}ended: {e}"),
    })
}

/// The replies and recorded answers among the server's lines, a word or two each (its
/// frames of views and lists left out: their clocks are the machine's).
fn answers(lines: &[u8]) -> String {
    use baton_link::wire::{Found, Reply, ToClient};
    use baton_model::CommandOutcome;
    let said = |l: &str| match serde_json::from_str::<ToClient>(l).ok()? {
        ToClient::Reply {
            reply: Reply::Outcome(CommandOutcome::Accepted { .. }),
            ..
        } => Some("accepted".to_string()),
        ToClient::Reply {
            reply: Reply::Outcome(CommandOutcome::Refused(r)),
            ..
        } => Some(format!("refused {}", r.code())),
        ToClient::Reply { .. } => Some("a reply".into()),
        ToClient::Recorded { found, .. } => Some(
            match found {
                Ok(Found::NotDelivered) => NOT_DELIVERED,
                Ok(Found::Delivered { .. }) => "delivered",
                Ok(Found::Gone) => "gone",
                Err(_) => "unread",
            }
            .into(),
        ),
        _ => None,
    };
    // Only a reply or a recorded answer is read: the frames (views, the run list) are
    // most of the bytes.
    String::from_utf8_lossy(lines)
        .lines()
        .filter(|l| l.starts_with(r#"{"reply""#) || l.starts_with(r#"{"recorded""#))
        .filter_map(said)
        .map(|w| w + "; ")
        .collect()
}

/// What the server answers a request it settled as not delivered.
const NOT_DELIVERED: &str = "not delivered";
