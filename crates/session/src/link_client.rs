//! The console's link to a store on another host (issue 59): `ssh HOST baton link`
//! (`session::remote`, the shared connection) spoken to in `baton_link::wire`, and a
//! `ConsoleLink` handed to the console as a local service's is: the console does not
//! know the difference. The link comes back by itself after a drop (backoff from 0.5 s
//! to 15 s); a request the drop left without an answer is answered as not known to be
//! delivered, never silently dropped.
use super::follow::empty_view;
use super::remote::{self, Prompts};
use baton_link::config::RemoteStore;
use baton_link::lines::{CappedLines, MAX_LINE};
use baton_link::wire::{self, Answer, Frame, Hello, ToClient, ToServer};
use baton_link::{ConsoleLink, ConsoleRequest, Expected, LinkState, StoreStatus};
use baton_model::Refusal;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::{mpsc, watch};

/// How long to wait before the `n`th try (from 0) to bring a dropped link back.
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << n.min(5))).min(Duration::from_secs(15))
}

/// One connection: the `ssh` running `baton link` on the host.
struct Conn {
    child: Child,
    stdin: ChildStdin,
    lines: CappedLines<ChildStdout>,
    stderr: Arc<Mutex<String>>,
}

/// What the link's task feeds: the console's watched values.
struct Feeds {
    view: watch::Sender<Arc<baton_model::RunView>>,
    runs: watch::Sender<baton_model::SharedRuns>,
    runs_complete: watch::Sender<bool>,
    driven: watch::Sender<Arc<Vec<String>>>,
    waiting: watch::Sender<Arc<Vec<baton_model::inbox::Waiting>>>,
    schedules: watch::Sender<Arc<baton_link::Board>>,
    news: watch::Sender<Arc<Vec<baton_link::News>>>,
    expected: watch::Sender<Arc<Expected>>,
}

impl Feeds {
    fn give(&self, f: Frame) {
        match f {
            Frame::View(v) => drop(self.view.send(Arc::new(*v))),
            Frame::Runs(r) => drop(
                self.runs
                    .send(Arc::new(r.into_iter().map(Arc::new).collect())),
            ),
            Frame::RunsComplete(c) => drop(self.runs_complete.send(c)),
            Frame::Driven(d) => drop(self.driven.send(Arc::new(d))),
            Frame::Waiting(w) => drop(self.waiting.send(Arc::new(w))),
            Frame::Schedules(b) => drop(self.schedules.send(Arc::new(b))),
            Frame::News(n) => drop(self.news.send(Arc::new(n))),
            Frame::Expected(e) => drop(self.expected.send(Arc::new(e))),
        }
    }
}

/// Where a linked store is, and how its `baton link` is reached.
#[derive(Debug, Clone)]
pub enum Reach {
    /// On another host: `ssh HOST baton link`.
    Ssh(RemoteStore),
    /// On this machine: this baton's own `baton link --db PATH`, a child of the
    /// console (a console over several stores links to a local one as to a remote).
    Local(std::path::PathBuf),
}

impl Reach {
    /// Where it is, as the header and the Stores list say.
    fn place(&self) -> String {
        match self {
            Reach::Ssh(r) => r.host.clone(),
            Reach::Local(p) => p.display().to_string(),
        }
    }
}

/// Connect to the store `name` on its host: the console's link (its `store` says where
/// the link stands), once the remote baton said hello; why not (the host down, the key
/// refused, another baton's version) when the first connection fails.
pub async fn connect(
    name: &str,
    store: &RemoteStore,
    baton: &str,
    readonly: bool,
) -> Result<ConsoleLink, Failure> {
    let reach = Reach::Ssh(store.clone());
    let conn = attempt(&reach, baton, readonly).await?;
    Ok(start(name, reach, (baton, readonly), Some(conn)))
}

/// The store `name`'s link, connecting: a store that does not answer is a link whose
/// state says why and which keeps trying (a console over several stores opens at once
/// with every store, whichever answers). Called within the runtime.
pub fn open(name: &str, reach: Reach, baton: &str, readonly: bool) -> ConsoleLink {
    start(name, reach, (baton, readonly), None)
}

/// Why a try to connect failed: the host down or unreachable (ssh's own words), or
/// the other side refused this baton (another version: install the same on both).
#[derive(Debug, thiserror::Error)]
#[error("{why}")]
pub struct Failure {
    /// The other side refused this baton (another version).
    refused: bool,
    why: String,
}

impl Failure {
    fn down(why: String) -> Failure {
        Failure {
            refused: false,
            why,
        }
    }

    /// The state it leaves the link in, tried again at `retry_at`.
    fn state(&self, retry_at: baton_model::Timestamp) -> LinkState {
        let (why, retry_at) = (self.why.clone(), Some(retry_at));
        if self.refused {
            LinkState::Refused { why, retry_at }
        } else {
            LinkState::Down { why, retry_at }
        }
    }
}

/// The link's channels and the task keeping it.
fn start(
    name: &str,
    reach: Reach,
    (baton, readonly): (&str, bool),
    first: Option<Conn>,
) -> ConsoleLink {
    let (view_tx, view) = watch::channel(Arc::new(empty_view(&format!("store {name}"))));
    let (runs_tx, runs) = watch::channel(Arc::new(Vec::new()));
    let (complete_tx, runs_complete) = watch::channel(false);
    let (driven_tx, driven) = watch::channel(Arc::new(Vec::new()));
    let (waiting_tx, waiting) = watch::channel(Arc::new(Vec::new()));
    let (schedules_tx, schedules) = watch::channel(Arc::new(baton_link::Board::default()));
    let (news_tx, news) = watch::channel(Arc::new(Vec::new()));
    let (expected_tx, expected) = watch::channel(Arc::new(Expected::default()));
    let (requests_tx, requests_rx) = mpsc::channel(32);
    let (state_tx, state) = watch::channel(None);
    let states = Status {
        tx: state_tx,
        name: name.to_string(),
        host: reach.place(),
    };
    states.send(if first.is_some() {
        LinkState::Connected
    } else {
        LinkState::Connecting
    });
    let feeds = Feeds {
        view: view_tx,
        runs: runs_tx,
        runs_complete: complete_tx,
        driven: driven_tx,
        waiting: waiting_tx,
        schedules: schedules_tx,
        news: news_tx,
        expected: expected_tx,
    };
    tokio::spawn(keep(
        first,
        (reach, baton.to_string(), readonly),
        feeds,
        requests_rx,
        states,
    ));
    ConsoleLink {
        view,
        runs,
        runs_complete,
        driven,
        waiting,
        schedules,
        news,
        expected,
        requests: requests_tx,
        // The logs' times are the host's; none are read here.
        log_times: None,
        store: state,
        desk: watch::channel(Arc::new(baton_link::Desk::default())).1,
    }
}

/// Where the link's state goes: the console's `store` watch.
struct Status {
    tx: watch::Sender<Option<Arc<StoreStatus>>>,
    name: String,
    host: String,
}

impl Status {
    fn send(&self, state: LinkState) {
        let _ = self.tx.send(Some(Arc::new(StoreStatus {
            name: self.name.clone(),
            host: self.host.clone(),
            state,
        })));
    }
}

/// `baton link` on the store's host (through `ssh`) or here, its pipes taken.
fn spawn_link(reach: &Reach, readonly: bool) -> Result<Child, Failure> {
    let mut args = vec!["link".to_string()];
    if readonly {
        args.push("--readonly".into());
    }
    let mut cmd = match reach {
        Reach::Ssh(store) => {
            tokio::process::Command::from(remote::command(store, &args, Prompts::Never))
        }
        Reach::Local(db) => {
            let me = std::env::current_exe()
                .map_err(|e| Failure::down(format!("cannot find this baton: {e}")))?;
            let mut c = tokio::process::Command::new(me);
            c.args(&args).arg("--db").arg(db);
            c
        }
    };
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().map_err(|e| {
        Failure::down(match reach {
            Reach::Ssh(_) => format!("cannot run ssh: {e}"),
            Reach::Local(_) => format!("cannot run baton link: {e}"),
        })
    })
}

/// Start `baton link` (`ssh HOST baton link`) and exchange hellos: the connection, or
/// why not.
async fn attempt(reach: &Reach, baton: &str, readonly: bool) -> Result<Conn, Failure> {
    let mut child = spawn_link(reach, readonly)?;
    let (Some(mut stdin), Some(stdout), Some(err)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(Failure::down("the link's pipes were not made".into()));
    };
    let stderr = Arc::new(Mutex::new(String::new()));
    let said = stderr.clone();
    tokio::spawn(async move {
        // ssh's words are read to their end (a line past the cap is skipped), so
        // ssh never blocks on a full pipe.
        let mut lines = CappedLines::new(err, SAID_LINE);
        loop {
            let l = match lines.next_line().await {
                Ok(Some(l)) => l,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => continue,
                _ => break,
            };
            if let Ok(mut s) = said.lock() {
                // ssh's or the remote shell's words, shown in the console's header:
                // nothing in them reaches the terminal as a control sequence.
                *s = baton_model::sanitize::one_line(&baton_model::sanitize::strip_to_plain(
                    l.as_bytes(),
                ));
            }
        }
    });
    let me = Hello::this(baton);
    let mut lines = CappedLines::new(stdout, MAX_LINE);
    // The hello goes first; a server that refuses it still says its own.
    let _ = send(&mut stdin, &ToServer::Hello(me.clone())).await;
    let place = reach.place();
    let first = match lines.next_line().await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(Failure::down(format!("{place}: {e}")));
        }
        Err(_) => None,
    };
    let program = match reach {
        Reach::Ssh(r) => r.program.clone(),
        Reach::Local(_) => "baton".into(),
    };
    let why_down = |child: &mut Child, stderr: &Arc<Mutex<String>>| {
        let code = child.try_wait().ok().flatten().and_then(|s| s.code());
        let said = stderr.lock().map(|s| s.clone()).unwrap_or_default();
        match (code, said.is_empty()) {
            (_, false) => format!("{place}: {said}"),
            (Some(127), true) => format!("`{program}` is not found on {place}"),
            _ => format!("{place}: the connection closed before baton said hello"),
        }
    };
    let Some(first) = first else {
        // Give ssh a moment to say why it failed.
        let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        return Err(Failure::down(why_down(&mut child, &stderr)));
    };
    let refused = |why: String| Failure { refused: true, why };
    match serde_json::from_str::<ToClient>(&first) {
        Ok(ToClient::Hello(theirs)) => me.agrees(&theirs).map_err(|e| refused(e.to_string()))?,
        Ok(ToClient::Refused { why, .. }) => return Err(refused(why)),
        _ => {
            return Err(Failure::down(format!(
                "{place} did not answer as `baton link` does (is `{program}` baton?)"
            )));
        }
    }
    Ok(Conn {
        child,
        stdin,
        lines,
        stderr,
    })
}

async fn send(stdin: &mut ChildStdin, m: &ToServer) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(m).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stdin.write_all(&line).await?;
    stdin.flush().await
}

/// The longest line of ssh's stderr kept (the header shows one line of it).
const SAID_LINE: usize = 64 << 10;

/// How long a decision whose answer a drop lost waits for the link to come back and
/// say whether it is on the record, before the console is told it is not known.
const DOUBT_FOR: Duration = Duration::from_secs(30);

/// A decision sent over the link: on which run (or ask), with which request id (a drop
/// before its answer makes it a [`Held`] doubt, asked about by that id).
struct Doubt {
    run_id: String,
    request: String,
}

impl Doubt {
    /// What the decision was about, as the console says it: `run RUN` or `ask ASK`.
    fn subject(&self) -> String {
        match baton_model::ask::is_ask_id(&self.run_id) {
            true => format!("ask {}", self.run_id),
            false => format!("run {}", self.run_id),
        }
    }
}

/// A decision's request id: 128 random bits from the OS-seeded generator, in hex; the
/// host keeps it with the decision's command row, or settles it as not delivered.
fn request_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// A request on the wire, waiting for its answer.
struct Sent {
    answer: Answer,
    doubt: Option<Doubt>,
}

/// A decision whose answer a drop lost: held until the link is back and the host's
/// record says whether it is there, or until `until`.
struct Held {
    answer: Answer,
    doubt: Doubt,
    until: std::time::Instant,
}

/// What waits on the link's answers across its connections.
#[derive(Default)]
struct Waits {
    next_id: u64,
    /// Requests sent on this connection, by id.
    sent: BTreeMap<u64, Sent>,
    /// Doubts asked about on this connection (`ToServer::Recorded`), by id.
    asking: BTreeMap<u64, Held>,
    /// Doubts to ask about once connected.
    held: Vec<Held>,
}

impl Waits {
    /// The connection dropped (`dropped`, why): each decision sent and not answered is
    /// held, every other request is told it may not have been done.
    fn dropped(&mut self, dropped: &str) {
        let until = std::time::Instant::now() + DOUBT_FOR;
        for (_, s) in std::mem::take(&mut self.sent) {
            match s.doubt {
                Some(doubt) => self.held.push(Held {
                    answer: s.answer,
                    doubt,
                    until,
                }),
                None => s.answer.fail(Refusal::CannotApply {
                    why: format!(
                        "{dropped} before its answer; it may not have been done: look once the link is back"
                    ),
                }),
            }
        }
        let asking = std::mem::take(&mut self.asking);
        self.held.extend(asking.into_values());
    }

    /// Doubts held past their time: not known, said so.
    fn expire(&mut self, place: &str, all: bool) {
        let now = std::time::Instant::now();
        let (gone, kept): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|h| all || h.until <= now);
        self.held = kept;
        for h in gone {
            h.answer.fail(Refusal::CannotApply {
                why: format!(
                    "the link to {place} dropped before its answer, and did not come back to say: the decision may not be on the record; look at {} once the link is back, and decide again if it is not there",
                    h.doubt.subject()
                ),
            });
        }
    }
}

/// What the host's store says of a held decision, to the console: on the record (its
/// verdict), or not delivered (settled so there, for good); never both.
fn resolve(h: Held, place: &str, found: Result<wire::Found, wire::RecordUnread>) {
    use baton_model::CommandOutcome as O;
    let run = &h.doubt.subject();
    match found {
        Ok(wire::Found::Delivered {
            what,
            outcome: Some(O::Accepted { message }),
        }) => h.answer.give(wire::Reply::Outcome(O::Accepted {
            message: format!(
                "on the record on {place} (the link dropped before its answer): {what}; {message}"
            ),
        })),
        // Handed in and refused there: the host's own refusal.
        Ok(wire::Found::Delivered {
            outcome: Some(refused),
            ..
        }) => h.answer.give(wire::Reply::Outcome(refused)),
        // Handed in, not decided yet (an engine took it and has not answered, or it
        // waits for the run's next engine): not known to be accepted.
        Ok(wire::Found::Delivered {
            what,
            outcome: None,
        }) => h.answer.fail(Refusal::CannotApply {
            why: format!(
                "undecided: handed in on {place} (the link dropped before its answer): {what}; no engine has given its verdict yet (with none driving the run, it waits for the run's next engine), so it may still be refused: look at {run} rather than deciding again"
            ),
        }),
        Ok(wire::Found::Gone) => h.answer.fail(Refusal::CannotApply {
            why: format!(
                "the link to {place} dropped before its answer; the decision was handed in, and {run} was deleted since"
            ),
        }),
        Ok(wire::Found::NotDelivered) => h.answer.fail(Refusal::CannotApply {
            why: format!(
                "not delivered: the link to {place} dropped before it reached the record ({run}; {place} now refuses it, should it come late); decide again"
            ),
        }),
        Err(why) => h.answer.fail(Refusal::CannotApply {
            why: format!(
                "the link to {place} dropped before its answer and its record cannot be read ({why}): the decision may not be on the record; look at {run}"
            ),
        }),
    }
}

/// Keep the link: pump each connection until it drops, then bring it back, until the
/// console goes (its requests' channel closes). A decision whose answer a drop lost is
/// answered once the link is back, by what the host's record says.
async fn keep(
    first: Option<Conn>,
    (reach, baton, readonly): (Reach, String, bool),
    feeds: Feeds,
    mut requests: mpsc::Receiver<ConsoleRequest>,
    state: Status,
) {
    let place = reach.place();
    let mut waits = Waits::default();
    let mut next = match first {
        Some(c) => Ok(c),
        None => attempt(&reach, &baton, readonly).await,
    };
    loop {
        let mut conn = match next {
            Ok(c) => c,
            Err(f) => {
                let tries = (&reach, baton.as_str(), readonly);
                match reconnect(f, tries, &mut requests, &state, &mut waits).await {
                    Some(c) => c,
                    None => {
                        waits.expire(&place, true);
                        return;
                    }
                }
            }
        };
        state.send(LinkState::Connected);
        let quit = pump(&mut conn, (&feeds, &place), &mut requests, &mut waits).await;
        let why = conn.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let _ = conn.child.start_kill();
        let dropped = if why.is_empty() {
            format!("the link to {place} dropped")
        } else {
            format!("the link to {place} dropped: {why}")
        };
        waits.dropped(&dropped);
        if quit {
            waits.expire(&place, true);
            return;
        }
        next = Err(Failure::down(dropped));
    }
}

/// Try again with backoff after `failed` until a connection is made (`None`: the
/// console went). A request asked meanwhile is answered as not delivered at once.
async fn reconnect(
    mut failed: Failure,
    (reach, baton, readonly): (&Reach, &str, bool),
    requests: &mut mpsc::Receiver<ConsoleRequest>,
    state: &Status,
    waits: &mut Waits,
) -> Option<Conn> {
    let place = reach.place();
    let mut n = 0;
    loop {
        waits.expire(&place, false);
        let wait = backoff(n);
        let at = baton_model::Timestamp(
            baton_model::Timestamp::now()
                .0
                .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)),
        );
        state.send(failed.state(at));
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                r = requests.recv() => match r {
                    // Asked while down: not delivered, said at once.
                    Some(req) => {
                        let (_, answer) = wire::outgoing(req);
                        answer.fail(Refusal::CannotApply {
                            why: format!("not delivered: the link to {place} is down; try again once it is back"),
                        });
                    }
                    None => return None,
                },
            }
        }
        state.send(LinkState::Connecting);
        match attempt(reach, baton, readonly).await {
            Ok(c) => return Some(c),
            Err(f) => {
                failed = f;
                n = n.saturating_add(1);
            }
        }
    }
}

/// One connection's traffic until it drops (`false`) or the console goes (`true`):
/// first the held decisions asked about, then frames, answers and requests.
async fn pump(
    conn: &mut Conn,
    (feeds, place): (&Feeds, &str),
    requests: &mut mpsc::Receiver<ConsoleRequest>,
    waits: &mut Waits,
) -> bool {
    for h in std::mem::take(&mut waits.held) {
        waits.next_id += 1;
        let ask = ToServer::Recorded {
            id: waits.next_id,
            run_id: h.doubt.run_id.clone(),
            request: h.doubt.request.clone(),
        };
        waits.asking.insert(waits.next_id, h);
        if send(&mut conn.stdin, &ask).await.is_err() {
            return false;
        }
    }
    loop {
        tokio::select! {
            line = conn.lines.next_line() => match line {
                Ok(Some(l)) => match serde_json::from_str::<ToClient>(&l) {
                    Ok(ToClient::Frame(f)) => feeds.give(f),
                    Ok(ToClient::Reply { id, reply }) => {
                        if let Some(s) = waits.sent.remove(&id) {
                            s.answer.give(reply);
                        }
                    }
                    Ok(ToClient::Recorded { id, found }) => {
                        if let Some(h) = waits.asking.remove(&id) {
                            resolve(h, place, found);
                        }
                    }
                    // A hello again is harmless; a line this baton cannot read
                    // may be a lost reply: the link is dropped, saying so, and what
                    // waits on an answer is told it may not be on the record.
                    Ok(ToClient::Hello(_)) => {}
                    Ok(other) => return unreadable(conn, &format!("{other:?}")),
                    Err(_) => return unreadable(conn, &l),
                },
                // A line past the cap: the link drops, saying so (never read whole).
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    if let Ok(mut said) = conn.stderr.lock() {
                        *said = e.to_string();
                    }
                    return false;
                }
                _ => return false,
            },
            req = requests.recv() => {
                let Some(req) = req else { return true };
                let (request, answer) = wire::outgoing(req);
                let (request, doubt) = with_request_id(request, &feeds.view.borrow().run_id);
                waits.next_id += 1;
                let sent = send(&mut conn.stdin, &ToServer::Request { id: waits.next_id, request }).await;
                // A write that failed may still have reached the pipe: held as any other
                // request whose answer the drop lost.
                waits.sent.insert(waits.next_id, Sent { answer, doubt });
                if sent.is_err() {
                    return false;
                }
            }
        }
    }
}

/// A decision on a run or an ask's answer as it goes on the wire: its run named (the
/// shown one when the console named none) and a new request id, kept as the doubt a
/// drop would leave. A command with no run at all and every other request go as they
/// are.
fn with_request_id(r: wire::Request, shown: &str) -> (wire::Request, Option<Doubt>) {
    match r {
        wire::Request::Command {
            run_id, command, ..
        } => {
            let run_id = run_id.unwrap_or_else(|| shown.to_string());
            if run_id.is_empty() {
                let r = wire::Request::Command {
                    run_id: (!run_id.is_empty()).then_some(run_id),
                    command,
                    request: None,
                };
                return (r, None);
            }
            let request = request_id();
            let doubt = Doubt {
                run_id: run_id.clone(),
                request: request.clone(),
            };
            let r = wire::Request::Command {
                run_id: Some(run_id),
                command,
                request: Some(request),
            };
            (r, Some(doubt))
        }
        other => (other, None),
    }
}

/// The remote end sent what this link does not expect: the link drops with why (the
/// line's start, sanitised), as the header and the answers waiting will say.
fn unreadable(conn: &mut Conn, line: &str) -> bool {
    let start: String = baton_model::sanitize::strip_to_plain(line.as_bytes())
        .chars()
        .take(80)
        .collect();
    if let Ok(mut said) = conn.stderr.lock() {
        *said = format!("it sent a line this baton cannot read: {start}");
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_the_link_cannot_read_drops_it_saying_so_without_its_escapes() {
        let mut child = tokio::process::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cat");
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            panic!("cat's pipes");
        };
        let mut conn = Conn {
            child,
            stdin,
            lines: CappedLines::new(stdout, MAX_LINE),
            stderr: Arc::new(Mutex::new(String::new())),
        };
        assert!(
            !unreadable(&mut conn, "\u{1b}[2Jnot json"),
            "the link drops"
        );
        let said = conn.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(said, "it sent a line this baton cannot read: not json");
    }

    fn doubt() -> Doubt {
        Doubt {
            run_id: "01run".into(),
            request: request_id(),
        }
    }

    #[test]
    fn a_drop_holds_the_decisions_it_left_unanswered_and_fails_the_rest() {
        let mut w = Waits::default();
        let (otx, mut orx) = tokio::sync::oneshot::channel();
        let (ttx, mut trx) = tokio::sync::oneshot::channel();
        w.sent.insert(
            1,
            Sent {
                answer: Answer::Outcome(otx),
                doubt: Some(doubt()),
            },
        );
        w.sent.insert(
            2,
            Sent {
                answer: Answer::Text(ttx),
                doubt: None,
            },
        );
        w.dropped("the link to h dropped");
        assert!(
            matches!(trx.try_recv(), Ok(Err(Refusal::CannotApply { why })) if why.contains("may not have been done"))
        );
        assert!(
            orx.try_recv().is_err(),
            "the decision is held, not answered"
        );
        assert_eq!(w.held.len(), 1);
        // Past its time without the link back: not known, said so.
        w.expire("h", true);
        assert!(
            matches!(orx.try_recv(), Ok(baton_model::CommandOutcome::Refused(Refusal::CannotApply { why })) if why.contains("did not come back to say"))
        );
    }

    #[test]
    fn a_held_decision_is_answered_by_the_hosts_store_either_way() {
        use baton_model::CommandOutcome as O;
        let held = |tx| Held {
            answer: Answer::Outcome(tx),
            doubt: doubt(),
            until: std::time::Instant::now(),
        };
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let delivered = wire::Found::Delivered {
            what: "approve deploy: ok".into(),
            outcome: Some(O::Accepted {
                message: "approved".into(),
            }),
        };
        resolve(held(tx), "h", Ok(delivered));
        assert!(
            matches!(rx.try_recv(), Ok(O::Accepted { message }) if message.contains("on the record on h") && message.contains("approve deploy: ok"))
        );
        // Handed in and refused there: the host's refusal, never "not delivered".
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let refused = wire::Found::Delivered {
            what: "approve deploy: ok".into(),
            outcome: Some(O::Refused(Refusal::EngineStopped)),
        };
        resolve(held(tx), "h", Ok(refused));
        assert_eq!(rx.try_recv().ok(), Some(O::Refused(Refusal::EngineStopped)));
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        resolve(held(tx), "h", Ok(wire::Found::NotDelivered));
        assert!(
            matches!(rx.try_recv(), Ok(O::Refused(Refusal::CannotApply { why })) if why.starts_with("not delivered: ") && why.contains("decide again"))
        );
        // Handed in, no verdict yet: undecided, never said accepted.
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let pending = wire::Found::Delivered {
            what: "approve deploy: ok".into(),
            outcome: None,
        };
        resolve(held(tx), "h", Ok(pending));
        assert!(
            matches!(rx.try_recv(), Ok(O::Refused(Refusal::CannotApply { why })) if why.starts_with("undecided: handed in on h") && why.contains("look at run 01run"))
        );
        // An ask's answer is told the same ways, naming the ask.
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let mut on_ask = held(tx);
        on_ask.doubt.run_id = "ask-01x".into();
        resolve(on_ask, "h", Ok(wire::Found::NotDelivered));
        assert!(
            matches!(rx.try_recv(), Ok(O::Refused(Refusal::CannotApply { why })) if why.starts_with("not delivered: ") && why.contains("(ask ask-01x; h now refuses it"))
        );
    }

    #[test]
    fn a_decision_on_a_run_and_an_asks_answer_go_each_with_a_new_request_id() {
        let approve = baton_model::Command::Approve {
            step: "deploy".into(),
            operator: "ana".into(),
            reason: None,
            signature: None,
            inputs: Default::default(),
        };
        let on = |run_id: Option<&str>| wire::Request::Command {
            run_id: run_id.map(str::to_string),
            command: approve.clone(),
            request: None,
        };
        let (a, da) = with_request_id(on(None), "01shown");
        let (b, db) = with_request_id(on(Some("01other")), "01shown");
        let (Some(da), Some(db)) = (da, db) else {
            panic!("decisions on runs are doubts a drop keeps")
        };
        assert_eq!(
            (da.run_id.as_str(), db.run_id.as_str()),
            ("01shown", "01other")
        );
        assert_ne!(da.request, db.request, "each its own id");
        assert_eq!(da.request.len(), 32);
        assert!(matches!(a, wire::Request::Command { request: Some(r), .. } if r == da.request));
        assert!(matches!(
            b,
            wire::Request::Command {
                request: Some(_),
                ..
            }
        ));
        let (c, dc) = with_request_id(on(Some("ask-01x")), "");
        let Some(dc) = dc else {
            panic!("an ask's answer is a doubt a drop keeps too")
        };
        assert_eq!(dc.run_id, "ask-01x");
        assert_eq!(dc.subject(), "ask ask-01x");
        assert!(matches!(c, wire::Request::Command { request: Some(r), .. } if r == dc.request));
        let (_, none) = with_request_id(on(None), "");
        assert!(none.is_none(), "no run, no ask: nothing to ask about");
    }

    #[test]
    fn backoff_doubles_from_half_a_second_to_fifteen() {
        let b: Vec<u64> = (0..8).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(b, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    }
}
