//! `baton link --db PATH` (issue 59, docs/link-protocol.md): the console's service over
//! a store on this host, spoken on stdin and stdout (`baton_link::wire`) to a console on
//! another machine that reached this one with `ssh HOST baton link`. Every decision is
//! made here by the service, as this process's OS account: a command's operator is
//! this account, whatever the other side named. When stdin ends (the console quit, the
//! connection dropped, the client was killed), each run this process took over goes to
//! a background engine, as a console's detach does: nothing it drove is left.
use super::SessionError;
use super::console::{Service, Stop};
use super::link_decide;
use baton_link::ConsoleLink;
use baton_link::lines::{CappedLines, MAX_LINE};
use baton_link::wire::{self, Frame, Hello, Request, ToClient, ToServer};
use std::path::Path;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};

/// Serve the link over `input` and `output` until `input` ends. `baton` is this
/// binary's version, said in the hello.
pub async fn serve_link<R, W>(
    (db, readonly): (&Path, bool),
    operator: &str,
    baton: &str,
    input: R,
    mut output: W,
) -> Result<(), SessionError>
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let me = Hello::this(baton);
    write(&mut output, &ToClient::Hello(me.clone())).await?;
    // The client's lines are capped too: a line past the cap ends the link.
    let mut lines = CappedLines::new(input, MAX_LINE);
    let theirs = match lines.next_line().await.map_err(io)? {
        Some(l) => match serde_json::from_str::<ToServer>(&l) {
            Ok(ToServer::Hello(h)) => h,
            _ => return Err(unusable("the client's first line is not a hello")),
        },
        None => return Ok(()),
    };
    if let Err(why) = me.agrees(&theirs) {
        let refused = ToClient::Refused {
            hello: me,
            why: why.to_string(),
        };
        write(&mut output, &refused).await?;
        return Err(unusable(&why.to_string()));
    }
    // A store this account may not write is looked at, never acted on.
    let read_only =
        readonly || (db.exists() && std::fs::OpenOptions::new().write(true).open(db).is_err());
    let (mut service, link) = if read_only {
        Service::read_only(db, operator)?
    } else {
        Service::new(db, operator, Vec::new())?
    };
    service.open_opening_run();
    let (stop_tx, stop_rx) = oneshot::channel();
    let serving = tokio::spawn(service.serve(stop_rx));
    let (out_tx, out_rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(write_all(output, out_rx));
    let requests = link.requests.clone();
    watch_frames(link, &out_tx);
    // Decisions in flight: waited for before this process ends, so that one read is
    // decided (or refused) whatever became of the connection.
    let mut deciding = Vec::new();
    let mut unread = Unread::default();
    while let Ok(Some(line)) = lines.next_line().await {
        let (id, request) = match serde_json::from_str::<ToServer>(&line) {
            Ok(ToServer::Request {
                id,
                request:
                    Request::Command {
                        run_id: Some(run_id),
                        command,
                        request: Some(request),
                    },
            }) => {
                // A crash test's moment: the request read, nothing of it done.
                baton_exec::failpoint::die_at("link-received", "command");
                let decision = Decision {
                    id,
                    run_id,
                    command: command.by(operator),
                    request,
                };
                deciding.push(decision.spawn(db, read_only, out_tx.clone()));
                continue;
            }
            Ok(ToServer::Request { id, request }) => (id, request),
            Ok(ToServer::Recorded {
                id,
                run_id,
                request,
            }) => {
                spawn_found((db, read_only), (id, run_id, request), out_tx.clone());
                continue;
            }
            _ => {
                // A line this baton cannot read: said on stderr (the client shows it),
                // boundedly, and the link goes on.
                unread.note();
                continue;
            }
        };
        let kind = failpoint_kind(&request);
        // A crash test's moment: the request read, nothing of it done.
        baton_exec::failpoint::die_at("link-received", kind);
        let (req, pending) = wire::incoming(as_operator(request, operator));
        if requests.send(req).await.is_err() {
            break;
        }
        let tx = out_tx.clone();
        tokio::spawn(async move {
            if let Some(reply) = pending.reply().await
                && let Some(l) = line_of(&ToClient::Reply { id, reply })
            {
                // A crash test's moment: the request done (a decision committed),
                // its answer not yet written.
                baton_exec::failpoint::die_at("link-answered", kind);
                let _ = tx.send(l);
            }
        });
    }
    for d in deciding {
        let _ = d.await;
    }
    unread.end();
    // The other side is gone: what this process drives goes on in the background.
    let _ = stop_tx.send(Stop {
        signal: None,
        detach: true,
        cancel: false,
    });
    drop(out_tx);
    let _ = serving.await;
    writer.abort();
    Ok(())
}

/// The client's lines that were not requests: said on stderr at the first, then at
/// each power of ten (10, 100, …), and counted in all when the link ends. A client
/// that sends such lines in a loop (a broken one, the simulator's hostile frames)
/// keeps the operator informed without a line each.
#[derive(Default)]
struct Unread(u64);

impl Unread {
    /// One more such line, said if it is one to say ([`said_at`]).
    fn note(&mut self) {
        self.0 += 1;
        if let Some(said) = said_at(self.0) {
            crate::stdio::errln!("{said}");
        }
    }

    /// The link ends: how many were ignored, said once more than the first was.
    fn end(&self) {
        if let Some(said) = said_at_end(self.0) {
            crate::stdio::errln!("{said}");
        }
    }
}

/// What to say of the `n`th line that is not a request, if anything.
fn said_at(n: u64) -> Option<String> {
    if n == 1 {
        return Some(
            "baton link: a line that is not a request was ignored (any more are counted, and said at 10, 100, … and when the link ends)"
                .into(),
        );
    }
    let power_of_ten = n.checked_ilog10().is_some_and(|k| 10_u64.pow(k) == n);
    power_of_ten.then(|| format!("baton link: {n} lines that are not requests ignored so far"))
}

/// What to say when the link ends, `n` such lines ignored in all.
fn said_at_end(n: u64) -> Option<String> {
    (n > 1).then(|| format!("baton link: {n} lines that were not requests were ignored in all"))
}

/// A decision read from the wire with its request id, for `link_decide`.
struct Decision {
    id: u64,
    run_id: String,
    command: baton_model::Command,
    request: String,
}

impl Decision {
    /// Decided off the runtime; its answer written back on `tx`.
    fn spawn(
        self,
        db: &Path,
        read_only: bool,
        tx: mpsc::UnboundedSender<String>,
    ) -> tokio::task::JoinHandle<()> {
        let db = db.to_path_buf();
        let Decision {
            id,
            run_id,
            command,
            request,
        } = self;
        tokio::spawn(async move {
            let outcome = tokio::task::spawn_blocking(move || {
                link_decide::decide(&db, read_only, &run_id, command, &request)
            })
            .await
            .unwrap_or_else(|e| {
                baton_model::CommandOutcome::Refused(baton_model::Refusal::CannotApply {
                    why: format!("the decision's task failed: {e}"),
                })
            });
            let reply = wire::Reply::Outcome(outcome);
            if let Some(l) = line_of(&ToClient::Reply { id, reply }) {
                // A crash test's moment: the decision done, its answer not yet written.
                baton_exec::failpoint::die_at("link-answered", "command");
                let _ = tx.send(l);
            }
        })
    }
}

/// The answer to `recorded` (`id`, about `request` on `run_id`), read off the runtime
/// and written back on `tx`; on a read-only link, without writing.
fn spawn_found(
    (db, read_only): (&Path, bool),
    (id, run_id, request): (u64, String, String),
    tx: mpsc::UnboundedSender<String>,
) {
    let db = db.to_path_buf();
    tokio::spawn(async move {
        let found = tokio::task::spawn_blocking(move || {
            link_decide::found(&db, read_only, &run_id, &request)
                .map_err(|e| wire::RecordUnread(e.to_string()))
        })
        .await
        .unwrap_or_else(|e| {
            Err(wire::RecordUnread(format!(
                "the record's reader failed: {e}"
            )))
        });
        if let Some(l) = line_of(&ToClient::Recorded { id, found }) {
            let _ = tx.send(l);
        }
    });
}

/// What a crash test names a request by (`BATON_FAILPOINT=link-answered:command`).
fn failpoint_kind(r: &Request) -> &'static str {
    match r {
        Request::Command { .. } => "command",
        _ => "other",
    }
}

/// A request with every command in it made by `operator`, this process's account.
fn as_operator(r: Request, operator: &str) -> Request {
    match r {
        Request::Command {
            run_id,
            command,
            request,
        } => Request::Command {
            run_id,
            command: command.by(operator),
            request,
        },
        other => other,
    }
}

/// A message as one line of JSON (`None`: it does not serialise, never expected).
fn line_of(m: &ToClient) -> Option<String> {
    serde_json::to_string(m).ok()
}

/// How often the shown run's view is sent when only its clock moved.
const CLOCK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether two frames differ for the console: the shown run's view that only moved
/// its clock (`now`, set on every tick of the service) is the same.
fn differs(a: &Frame, b: &Frame) -> bool {
    match (a, b) {
        (Frame::View(x), Frame::View(y)) => {
            let mut y = (**y).clone();
            y.now = x.now;
            **x != y
        }
        _ => true,
    }
}

/// Each watched value of the link as a frame on `out`, now and whenever it changes; a
/// view whose clock alone moved goes at most once a second.
fn watch_frames(link: ConsoleLink, out: &mpsc::UnboundedSender<String>) {
    fn each<T, F>(mut rx: watch::Receiver<T>, out: mpsc::UnboundedSender<String>, frame: F)
    where
        T: Send + Sync + 'static,
        F: Fn(&T) -> Frame + Send + 'static,
    {
        tokio::spawn(async move {
            let mut last: Option<(Frame, std::time::Instant)> = None;
            loop {
                let f = frame(&rx.borrow_and_update());
                let due = last
                    .as_ref()
                    .is_none_or(|(l, at)| differs(l, &f) || at.elapsed() >= CLOCK_EVERY);
                if due && let Some(l) = line_of(&ToClient::Frame(f.clone())) {
                    if out.send(l).is_err() {
                        return;
                    }
                    last = Some((f, std::time::Instant::now()));
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        });
    }
    each(link.view, out.clone(), |v| {
        Frame::View(Box::new((**v).clone()))
    });
    each(link.runs, out.clone(), |r| {
        Frame::Runs(r.iter().map(|s| (**s).clone()).collect())
    });
    each(link.runs_complete, out.clone(), |c| Frame::RunsComplete(*c));
    each(link.driven, out.clone(), |d| Frame::Driven((**d).clone()));
    each(link.waiting, out.clone(), |w| Frame::Waiting((**w).clone()));
    each(link.schedules, out.clone(), |b| {
        Frame::Schedules((**b).clone())
    });
    each(link.news, out.clone(), |n| Frame::News((**n).clone()));
    each(link.expected, out.clone(), |e| {
        Frame::Expected((**e).clone())
    });
}

async fn write_all<W: AsyncWrite + Unpin>(mut w: W, mut rx: mpsc::UnboundedReceiver<String>) {
    while let Some(mut l) = rx.recv().await {
        l.push('\n');
        if w.write_all(l.as_bytes()).await.is_err() || w.flush().await.is_err() {
            return;
        }
    }
}

async fn write<W: AsyncWrite + Unpin>(w: &mut W, m: &ToClient) -> Result<(), SessionError> {
    let mut line = serde_json::to_vec(m).map_err(|e| unusable(&e.to_string()))?;
    line.push(b'\n');
    w.write_all(&line).await.map_err(io)?;
    w.flush().await.map_err(io)?;
    Ok(())
}

fn io(e: std::io::Error) -> SessionError {
    SessionError::System(format!("baton link: {e}"))
}

fn unusable(why: &str) -> SessionError {
    SessionError::Usage(format!("baton link: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    type Server = tokio::task::JoinHandle<Result<(), SessionError>>;
    type Writer = tokio::io::WriteHalf<tokio::io::DuplexStream>;
    type Reader = tokio::io::Lines<BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>;

    /// `serve_link` on one end of a pipe; the other end's writer and lines.
    fn served(db: &Path) -> (Server, Writer, Reader) {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (sr, sw) = tokio::io::split(server);
        let db = db.to_path_buf();
        let task =
            tokio::spawn(async move { serve_link((&db, false), "ana", "0.4.0", sr, sw).await });
        let (cr, cw) = tokio::io::split(client);
        (task, cw, BufReader::new(cr).lines())
    }

    async fn next(lines: &mut Reader) -> ToClient {
        let l = lines
            .next_line()
            .await
            .expect("a line")
            .expect("not the end");
        serde_json::from_str(&l).expect("a message")
    }

    /// Ten thousand lines that are not requests: five said as they come (the first,
    /// then 10, 100, 1,000 and 10,000), and their count when the link ends.
    #[test]
    fn lines_that_are_not_requests_are_said_boundedly_and_counted() {
        let said: Vec<(u64, String)> = (1..=10_000)
            .filter_map(|n| said_at(n).map(|s| (n, s)))
            .collect();
        let at: Vec<u64> = said.iter().map(|(n, _)| *n).collect();
        assert_eq!(at, [1, 10, 100, 1_000, 10_000]);
        assert!(
            said[0]
                .1
                .contains("a line that is not a request was ignored")
        );
        assert!(said[2].1.contains("100 lines"), "{}", said[2].1);
        let end = said_at_end(10_000).expect("the count at the end");
        assert!(end.contains("10000 lines"), "{end}");
        assert_eq!(said_at_end(1), None, "one line: said once already");
        assert_eq!(said_at_end(0), None, "none: nothing to say");
        let mut unread = Unread::default();
        (0..25).for_each(|_| unread.note());
        assert_eq!(unread.0, 25, "every one counted");
    }

    #[tokio::test]
    async fn a_client_of_another_version_is_refused_with_both_versions_named() {
        let (task, mut w, mut lines) = served(Path::new("/nonexistent/baton.db"));
        w.write_all(b"{\"hello\":{\"protocol\":1,\"baton\":\"0.3.0\"}}\n")
            .await
            .expect("write");
        assert!(matches!(next(&mut lines).await, ToClient::Hello(h) if h.baton == "0.4.0"));
        let ToClient::Refused { why, .. } = next(&mut lines).await else {
            panic!("not refused")
        };
        assert!(
            why.contains("baton 0.4.0") && why.contains("baton 0.3.0"),
            "{why}"
        );
        assert!(task.await.expect("the server").is_err());
    }

    // The service reads the store on blocking threads: a runtime with workers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frames_come_then_a_request_is_answered_by_its_id() {
        tokio::time::timeout(std::time::Duration::from_secs(60), frames_then_a_reply())
            .await
            .expect("the link answered within a minute");
    }

    async fn frames_then_a_reply() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("baton.db");
        drop(baton_store::Store::open(&db).expect("a store"));
        let (task, mut w, mut lines) = served(&db);
        let hello = format!(
            "{{\"hello\":{{\"protocol\":{},\"baton\":\"0.4.0\"}}}}\n",
            wire::PROTOCOL
        );
        w.write_all(hello.as_bytes()).await.expect("write");
        assert!(matches!(next(&mut lines).await, ToClient::Hello(_)));
        let mut kinds = std::collections::BTreeSet::new();
        while kinds.len() < 8 {
            let ToClient::Frame(f) = next(&mut lines).await else {
                panic!("a frame first")
            };
            kinds.insert(format!("{:?}", std::mem::discriminant(&f)));
        }
        let ask = ToServer::Request {
            id: 41,
            request: Request::Resume {
                run_id: "01nosuchrun".into(),
            },
        };
        let mut line = serde_json::to_vec(&ask).expect("json");
        line.push(b'\n');
        w.write_all(&line).await.expect("write");
        let reply = loop {
            if let ToClient::Reply { id, reply } = next(&mut lines).await {
                break (id, reply);
            }
        };
        assert!(
            matches!(reply, (41, wire::Reply::Text(Err(_)))),
            "{reply:?}"
        );
        // A request never handed in (a client's doubt after a drop): settled as not
        // delivered.
        let ask = ToServer::Recorded {
            id: 42,
            run_id: "01nosuchrun".into(),
            request: "r-never".into(),
        };
        let mut line = serde_json::to_vec(&ask).expect("json");
        line.push(b'\n');
        w.write_all(&line).await.expect("write");
        let found = loop {
            if let ToClient::Recorded { id, found } = next(&mut lines).await {
                break (id, found);
            }
        };
        assert_eq!(found, (42, Ok(wire::Found::NotDelivered)));
        // The client goes (its end of the pipe shut): the server stops.
        w.shutdown().await.expect("shut");
        assert!(task.await.expect("the server").is_ok());
    }
}
