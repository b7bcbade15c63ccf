//! The console's link on the wire (issue 59, docs/link-protocol.md): what `baton link`
//! on a store's host and the console's session here say to each other over `ssh`'s
//! stdin and stdout. One JSON object a line. Each side first sends its [`Hello`]; a
//! side that finds the other's protocol or baton version not its own sends
//! [`ToClient::Refused`] (the server) or closes (the client), naming both. Then the
//! server sends [`Frame`]s (each watch value of the `ConsoleLink`, newest wins) and a
//! [`Reply`] per request; the client sends [`Request`]s (`ConsoleRequest` without its
//! reply channel), each with an id its reply carries.
use crate::{Act, Board, ConsoleRequest, Expected, ForkPreview, News, RetryPreview, RunForm};
use crate::{RunsDiff, Started};
use baton_model::inbox::Waiting;
use baton_model::step_trend::StepTrend;
use baton_model::{Command, CommandOutcome, Refusal, RunSummary, RunView};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tokio::sync::oneshot;

/// The protocol's version: raised with any change of these types' JSON or of what a
/// message means (4: an ask's answer carries a request id, which a server of 3 would
/// not keep, so its check would call a recorded answer not delivered; 5: a note; 6: a
/// step's history; 7: a fork's params, which a peer of 6 would drop, forking with the
/// recorded ones; 8: a news row marks the link's account's own, without which a console
/// calls its own decision through a link someone else's).
pub const PROTOCOL: u32 = 8;

/// Who speaks: the protocol and the baton it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub baton: String,
}

impl Hello {
    pub fn this(baton: &str) -> Hello {
        Hello {
            protocol: PROTOCOL,
            baton: baton.to_string(),
        }
    }

    /// Whether a peer saying `other` speaks this side's language: the same protocol
    /// from the same baton (the frames are the model's types, which a release may
    /// change); otherwise why not, naming both.
    pub fn agrees(&self, other: &Hello) -> Result<(), VersionMismatch> {
        if self == other {
            Ok(())
        } else {
            Err(VersionMismatch {
                ours: self.clone(),
                theirs: other.clone(),
            })
        }
    }
}

/// Two sides of a link that do not speak the same language ([`Hello::agrees`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "version mismatch: this side is baton {} (link protocol {}), the other baton {} (link protocol {}); install the same baton on both",
    ours.baton, ours.protocol, theirs.baton, theirs.protocol
)]
pub struct VersionMismatch {
    pub ours: Hello,
    pub theirs: Hello,
}

/// Why the host could not read its record of a request ([`ToClient::Recorded`]): the
/// host's own error, as its text (it crosses the link as a JSON string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
#[error("{0}")]
pub struct RecordUnread(pub String);

/// A line from the server (`baton link`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToClient {
    Hello(Hello),
    /// The server will not speak with this client, and why; it then exits.
    Refused {
        hello: Hello,
        why: String,
    },
    Frame(Frame),
    Reply {
        id: u64,
        reply: Reply,
    },
    /// The answer to [`ToServer::Recorded`]: what the host's store holds of the
    /// request, or why it could not be read.
    Recorded {
        id: u64,
        found: Result<Found, RecordUnread>,
    },
}

/// What the host's store holds of a decision's request id, once asked after a drop:
/// the request is settled there, in one transaction, if it was not handed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Found {
    /// Never handed in, and now never will be (a `baton link` that comes late with it
    /// is refused).
    NotDelivered,
    /// Handed in (`what`: the decision, `approve deploy: REASON`), with its engine's
    /// verdict once given.
    Delivered {
        what: String,
        outcome: Option<CommandOutcome>,
    },
    /// Handed in; its run was deleted since.
    Gone,
}

/// A line from the client (the console's session).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToServer {
    Hello(Hello),
    Request {
        id: u64,
        request: Request,
    },
    /// What became of the decision sent with `request` on `run_id`: asked by a client
    /// whose link dropped between a decision and its answer, once the link is back.
    /// A request not handed in is settled as not delivered by this question.
    Recorded {
        id: u64,
        run_id: String,
        request: String,
    },
}

/// One watched value of the `ConsoleLink`, as it changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    View(Box<RunView>),
    Runs(Vec<RunSummary>),
    RunsComplete(bool),
    Driven(Vec<String>),
    Waiting(Vec<Waiting>),
    Schedules(Board),
    News(Vec<News>),
    Expected(Expected),
}

/// A `ConsoleRequest` without its reply channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    Command {
        run_id: Option<String>,
        command: Command,
        /// The decision's request id (random, drawn by the client): kept with its
        /// command row on the host, asked about after a drop (`ToServer::Recorded`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
    },
    OpenRun(String),
    ReadAllRuns,
    Resume {
        run_id: String,
    },
    ForkPlan {
        run_id: String,
        step: String,
    },
    RetryFailedPlan {
        run_id: String,
    },
    Fork {
        run_id: String,
        step: String,
        from_run_of: Option<String>,
        params: Vec<(String, String)>,
    },
    DeleteRun {
        run_id: String,
    },
    Note {
        run_id: String,
        step: Option<String>,
        text: String,
    },
    RunForm {
        file: PathBuf,
        schedule: Option<u32>,
    },
    StartRun {
        file: PathBuf,
        params: Vec<(String, String)>,
    },
    DiffRuns {
        a: String,
        b: String,
    },
    StepHistory {
        run_id: String,
        workflow: String,
        step: String,
    },
    Schedule {
        act: Act,
        target: String,
        reason: String,
    },
}

/// A request's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Outcome(CommandOutcome),
    Text(Result<String, Refusal>),
    ForkPlan(Result<ForkPreview, Refusal>),
    RetryPlan(Result<RetryPreview, Refusal>),
    RunForm(Result<RunForm, Refusal>),
    Started(Result<Started, Refusal>),
    Diff(Result<RunsDiff, Refusal>),
    Trend(Result<StepTrend, Refusal>),
}

/// Where a request's answer goes back to the console: its reply channel.
#[derive(Debug)]
pub enum Answer {
    None,
    Outcome(oneshot::Sender<CommandOutcome>),
    Text(oneshot::Sender<Result<String, Refusal>>),
    ForkPlan(oneshot::Sender<Result<ForkPreview, Refusal>>),
    RetryPlan(oneshot::Sender<Result<RetryPreview, Refusal>>),
    RunForm(oneshot::Sender<Result<RunForm, Refusal>>),
    Started(oneshot::Sender<Result<Started, Refusal>>),
    Diff(oneshot::Sender<Result<RunsDiff, Refusal>>),
    Trend(oneshot::Sender<Result<StepTrend, Refusal>>),
}

impl Answer {
    /// Hand `reply` to the console; a reply of another kind than asked is refused as
    /// unreadable (a peer that does not keep the protocol).
    pub fn give(self, reply: Reply) {
        let odd = |r: &Reply| Refusal::Unreadable {
            why: format!("the link answered with {r:?}, not what was asked"),
        };
        match (self, reply) {
            (Answer::None, _) => {}
            (Answer::Outcome(tx), Reply::Outcome(o)) => drop(tx.send(o)),
            (Answer::Text(tx), Reply::Text(o)) => drop(tx.send(o)),
            (Answer::ForkPlan(tx), Reply::ForkPlan(o)) => drop(tx.send(o)),
            (Answer::RetryPlan(tx), Reply::RetryPlan(o)) => drop(tx.send(o)),
            (Answer::RunForm(tx), Reply::RunForm(o)) => drop(tx.send(o)),
            (Answer::Started(tx), Reply::Started(o)) => drop(tx.send(o)),
            (Answer::Diff(tx), Reply::Diff(o)) => drop(tx.send(o)),
            (Answer::Trend(tx), Reply::Trend(o)) => drop(tx.send(o)),
            (other, r) => other.fail(odd(&r)),
        }
    }

    /// Answer with a refusal: the request got no answer from the link (`why`).
    pub fn fail(self, why: Refusal) {
        match self {
            Answer::None => {}
            Answer::Outcome(tx) => drop(tx.send(CommandOutcome::Refused(why))),
            Answer::Text(tx) => drop(tx.send(Err(why))),
            Answer::ForkPlan(tx) => drop(tx.send(Err(why))),
            Answer::RetryPlan(tx) => drop(tx.send(Err(why))),
            Answer::RunForm(tx) => drop(tx.send(Err(why))),
            Answer::Started(tx) => drop(tx.send(Err(why))),
            Answer::Diff(tx) => drop(tx.send(Err(why))),
            Answer::Trend(tx) => drop(tx.send(Err(why))),
        }
    }
}

/// A console's request as it goes on the wire, and where its answer goes back.
pub fn outgoing(r: ConsoleRequest) -> (Request, Answer) {
    use ConsoleRequest as C;
    match r {
        C::Command {
            run_id,
            command,
            reply,
        } => (
            Request::Command {
                run_id,
                command,
                request: None,
            },
            Answer::Outcome(reply),
        ),
        C::OpenRun(id) => (Request::OpenRun(id), Answer::None),
        C::ReadAllRuns => (Request::ReadAllRuns, Answer::None),
        C::Resume { run_id, reply } => (Request::Resume { run_id }, Answer::Text(reply)),
        C::ForkPlan {
            run_id,
            step,
            reply,
        } => (Request::ForkPlan { run_id, step }, Answer::ForkPlan(reply)),
        C::RetryFailedPlan { run_id, reply } => (
            Request::RetryFailedPlan { run_id },
            Answer::RetryPlan(reply),
        ),
        C::Fork {
            run_id,
            step,
            from_run_of,
            params,
            reply,
        } => (
            Request::Fork {
                run_id,
                step,
                from_run_of,
                params,
            },
            Answer::Text(reply),
        ),
        C::DeleteRun { run_id, reply } => (Request::DeleteRun { run_id }, Answer::Text(reply)),
        C::Note {
            run_id,
            step,
            text,
            reply,
        } => (Request::Note { run_id, step, text }, Answer::Text(reply)),
        C::RunForm {
            file,
            schedule,
            reply,
        } => (Request::RunForm { file, schedule }, Answer::RunForm(reply)),
        C::StartRun {
            file,
            params,
            reply,
        } => (Request::StartRun { file, params }, Answer::Started(reply)),
        C::DiffRuns { a, b, reply } => (Request::DiffRuns { a, b }, Answer::Diff(reply)),
        C::StepHistory {
            run_id,
            workflow,
            step,
            reply,
        } => (
            Request::StepHistory {
                run_id,
                workflow,
                step,
            },
            Answer::Trend(reply),
        ),
        C::Schedule {
            act,
            target,
            reason,
            reply,
        } => (
            Request::Schedule {
                act,
                target,
                reason,
            },
            Answer::Outcome(reply),
        ),
    }
}

/// A request from the wire as the session takes it, and the receiver its answer comes
/// on (none for a request without one).
pub fn incoming(r: Request) -> (ConsoleRequest, Pending) {
    use ConsoleRequest as C;
    macro_rules! with {
        ($kind:ident, |$reply:ident| $req:expr) => {{
            let ($reply, rx) = oneshot::channel();
            ($req, Pending::$kind(rx))
        }};
    }
    match r {
        Request::Command {
            run_id, command, ..
        } => with!(Outcome, |reply| C::Command {
            run_id,
            command,
            reply
        }),
        Request::OpenRun(id) => (C::OpenRun(id), Pending::None),
        Request::ReadAllRuns => (C::ReadAllRuns, Pending::None),
        Request::Resume { run_id } => with!(Text, |reply| C::Resume { run_id, reply }),
        Request::ForkPlan { run_id, step } => with!(ForkPlan, |reply| C::ForkPlan {
            run_id,
            step,
            reply
        }),
        Request::RetryFailedPlan { run_id } => {
            with!(RetryPlan, |reply| C::RetryFailedPlan { run_id, reply })
        }
        Request::Fork {
            run_id,
            step,
            from_run_of,
            params,
        } => with!(Text, |reply| C::Fork {
            run_id,
            step,
            from_run_of,
            params,
            reply
        }),
        Request::DeleteRun { run_id } => with!(Text, |reply| C::DeleteRun { run_id, reply }),
        Request::Note { run_id, step, text } => with!(Text, |reply| C::Note {
            run_id,
            step,
            text,
            reply
        }),
        Request::RunForm { file, schedule } => with!(RunForm, |reply| C::RunForm {
            file,
            schedule,
            reply
        }),
        Request::StartRun { file, params } => with!(Started, |reply| C::StartRun {
            file,
            params,
            reply
        }),
        Request::DiffRuns { a, b } => with!(Diff, |reply| C::DiffRuns { a, b, reply }),
        Request::StepHistory {
            run_id,
            workflow,
            step,
        } => with!(Trend, |reply| C::StepHistory {
            run_id,
            workflow,
            step,
            reply
        }),
        Request::Schedule {
            act,
            target,
            reason,
        } => with!(Outcome, |reply| C::Schedule {
            act,
            target,
            reason,
            reply
        }),
    }
}

/// Where the session's answer to a request from the wire comes.
#[derive(Debug)]
pub enum Pending {
    None,
    Outcome(oneshot::Receiver<CommandOutcome>),
    Text(oneshot::Receiver<Result<String, Refusal>>),
    ForkPlan(oneshot::Receiver<Result<ForkPreview, Refusal>>),
    RetryPlan(oneshot::Receiver<Result<RetryPreview, Refusal>>),
    RunForm(oneshot::Receiver<Result<RunForm, Refusal>>),
    Started(oneshot::Receiver<Result<Started, Refusal>>),
    Diff(oneshot::Receiver<Result<RunsDiff, Refusal>>),
    Trend(oneshot::Receiver<Result<StepTrend, Refusal>>),
}

impl Pending {
    /// The answer, once the session gives it; `None` for a request without one, or
    /// when the session dropped it (it stopped).
    pub async fn reply(self) -> Option<Reply> {
        match self {
            Pending::None => None,
            Pending::Outcome(rx) => rx.await.ok().map(Reply::Outcome),
            Pending::Text(rx) => rx.await.ok().map(Reply::Text),
            Pending::ForkPlan(rx) => rx.await.ok().map(Reply::ForkPlan),
            Pending::RetryPlan(rx) => rx.await.ok().map(Reply::RetryPlan),
            Pending::RunForm(rx) => rx.await.ok().map(Reply::RunForm),
            Pending::Started(rx) => rx.await.ok().map(Reply::Started),
            Pending::Diff(rx) => rx.await.ok().map(Reply::Diff),
            Pending::Trend(rx) => rx.await.ok().map(Reply::Trend),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_agrees_only_with_the_same_protocol_and_baton_and_names_both() {
        let me = Hello::this("0.4.0");
        assert_eq!(me.agrees(&Hello::this("0.4.0")), Ok(()));
        let e = me.agrees(&Hello::this("0.3.9")).unwrap_err().to_string();
        assert!(
            e.contains("baton 0.4.0 (link protocol 8)") && e.contains("baton 0.3.9"),
            "{e}"
        );
    }

    #[test]
    fn a_request_crosses_the_wire_and_its_answer_comes_back_to_the_console() {
        let (tx, mut rx) = oneshot::channel();
        let (req, answer) = outgoing(ConsoleRequest::Command {
            run_id: Some("r1".into()),
            command: Command::Cancel {
                operator: "ana".into(),
                reason: Some("x".into()),
            },
            reply: tx,
        });
        let line = serde_json::to_string(&ToServer::Request {
            id: 7,
            request: req,
        })
        .expect("a request is JSON");
        let ToServer::Request { id, request } =
            serde_json::from_str::<ToServer>(&line).expect("and reads back")
        else {
            panic!("not a request: {line}")
        };
        assert_eq!(id, 7);
        let (ConsoleRequest::Command { reply, run_id, .. }, Pending::Outcome(mut back)) =
            incoming(request)
        else {
            panic!("not a command")
        };
        assert_eq!(run_id.as_deref(), Some("r1"));
        let ok = CommandOutcome::Accepted {
            message: "ok".into(),
        };
        reply.send(ok.clone()).expect("the session answers");
        let got = back.try_recv().expect("the answer");
        let wire = serde_json::to_string(&ToClient::Reply {
            id,
            reply: Reply::Outcome(got),
        })
        .expect("a reply is JSON");
        let ToClient::Reply { reply, .. } = serde_json::from_str(&wire).expect("reads back") else {
            panic!("not a reply")
        };
        answer.give(reply);
        assert_eq!(rx.try_recv().ok(), Some(ok));
    }

    #[test]
    fn an_answer_that_never_comes_is_a_refusal_to_the_console() {
        let (tx, mut rx) = oneshot::channel();
        Answer::Text(tx).fail(Refusal::EngineStopped);
        assert_eq!(rx.try_recv().ok(), Some(Err(Refusal::EngineStopped)));
    }
}
