//! What the loop sends to the console's service, each request with the future of its
//! answer as an action.
use crate::app::{Action, Request};
use baton_link::ConsoleRequest;
use baton_model::{CommandOutcome, Refusal};
use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};

/// What the loop waits for besides the terminal and the link: its service's answers
/// to its requests, and the `[[action]]`s it runs (what they print while they run,
/// then how they ended).
pub(super) struct Replies {
    answers: FuturesUnordered<BoxFuture<'static, Action>>,
    progress: (
        mpsc::UnboundedSender<Action>,
        mpsc::UnboundedReceiver<Action>,
    ),
}

impl Replies {
    pub(super) fn new() -> Replies {
        Replies {
            answers: FuturesUnordered::new(),
            progress: mpsc::unbounded_channel(),
        }
    }

    /// Nothing asked is unanswered (an action that runs is unanswered until its end).
    pub(super) fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// Ask `req` of the service, or run an `[[action]]`; the answer comes from `next`.
    pub(super) fn send(&mut self, requests: &mpsc::Sender<ConsoleRequest>, req: Request) {
        match req {
            Request::RunAction(p) => self
                .answers
                .push(crate::action_run::run(*p, self.progress.0.clone())),
            other => self.answers.extend(send(requests, other)),
        }
    }

    /// The next answer: an action's output so far first (it comes before its end).
    pub(super) async fn next(&mut self) -> Option<Action> {
        tokio::select! {
            biased;
            Some(a) = self.progress.1.recv() => Some(a),
            a = self.answers.next() => a,
        }
    }
}

/// A request to the console's service sent; the future is its answer as an action.
/// Exit, edit, copy and an `[[action]]` are the loop's own: they send nothing.
fn send(
    requests: &tokio::sync::mpsc::Sender<ConsoleRequest>,
    req: Request,
) -> Option<BoxFuture<'static, Action>> {
    match req {
        // An `[[action]]` is a child of this console (the loop runs it), not a request
        // to its service: nothing of it goes to the store.
        Request::Exit(_) | Request::Edit(_) | Request::Copy(_) | Request::RunAction(_) => None,
        Request::DeleteRun(run_id) => {
            let asked = ask(requests, "delete", |reply| ConsoleRequest::DeleteRun {
                run_id: run_id.clone(),
                reply,
            });
            Some(Box::pin(async move {
                Action::Deleted {
                    run_id,
                    result: asked.await,
                }
            }))
        }
        Request::Note { run_id, step, text } => Some(note(requests, run_id, step, text)),
        Request::Command(command) => Some(send_command(requests, None, command)),
        Request::Schedule {
            act,
            target,
            reason,
        } => {
            let (tx, rx) = oneshot::channel();
            let sent = requests.try_send(ConsoleRequest::Schedule {
                act,
                target,
                reason,
                reply: tx,
            });
            Some(Box::pin(async move {
                Action::Outcome(match sent {
                    Ok(()) => rx
                        .await
                        .unwrap_or(CommandOutcome::Refused(Refusal::EngineStopped)),
                    Err(e) => CommandOutcome::Refused(Refusal::CannotApply {
                        why: format!("cannot ask ({e})"),
                    }),
                })
            }))
        }
        Request::CommandOn { run_id, command } => {
            Some(send_command(requests, Some(run_id), command))
        }
        Request::Resume(run_id) => {
            let asked = ask(requests, "resume", |reply| ConsoleRequest::Resume {
                run_id: run_id.clone(),
                reply,
            });
            Some(Box::pin(async move {
                Action::Resumed {
                    run_id,
                    result: asked.await,
                }
            }))
        }
        Request::ForkPlan { run_id, step } => Some(fork_plan(requests, run_id, step)),
        Request::RetryFailedPlan { run_id } => Some(retry_plan(requests, run_id)),
        Request::Fork {
            run_id,
            step,
            from_run_of,
            params,
        } => {
            let asked = ask(requests, "fork", |reply| ConsoleRequest::Fork {
                run_id: run_id.clone(),
                step: step.clone(),
                from_run_of,
                params,
                reply,
            });
            Some(Box::pin(async move {
                Action::Forked {
                    run_id,
                    step,
                    result: asked.await,
                }
            }))
        }
        Request::RunForm { file, schedule } => Some(run_form(requests, file, schedule)),
        Request::StartRun {
            file,
            workflow,
            params,
        } => Some(start_run(requests, file, workflow, params)),
        Request::DiffRuns { a, b } => Some(diff_runs(requests, a, b)),
        Request::StepHistory {
            run_id,
            workflow,
            step,
        } => Some(step_history(requests, run_id, workflow, step)),
        Request::OpenRun(id) => {
            // Fire and forget: the new run arrives through `link.view`.
            let _ = requests.try_send(ConsoleRequest::OpenRun(id));
            None
        }
    }
}

type Requests = tokio::sync::mpsc::Sender<ConsoleRequest>;

/// A note on `run_id` (its step `step`, if given), asked of the service, which records
/// it as `baton note` does.
fn note(
    requests: &Requests,
    run_id: String,
    step: Option<String>,
    text: String,
) -> BoxFuture<'static, Action> {
    let asked = ask(requests, "note", |reply| ConsoleRequest::Note {
        run_id: run_id.clone(),
        step: step.clone(),
        text,
        reply,
    });
    Box::pin(async move {
        Action::Noted {
            run_id,
            step,
            result: asked.await,
        }
    })
}

/// The params of the workflow in `file` for the run form, asked of the service.
fn run_form(
    requests: &Requests,
    file: std::path::PathBuf,
    schedule: Option<u32>,
) -> BoxFuture<'static, Action> {
    let asked = ask(requests, "read the workflow", |reply| {
        ConsoleRequest::RunForm {
            file: file.clone(),
            schedule,
            reply,
        }
    });
    Box::pin(async move {
        Action::RunFormRead {
            file,
            result: asked.await,
        }
    })
}

/// A run of `file` with `params`, asked of the service (which drives it and shows it).
fn start_run(
    requests: &Requests,
    file: std::path::PathBuf,
    workflow: String,
    params: Vec<(String, String)>,
) -> BoxFuture<'static, Action> {
    let asked = ask(requests, "start a run", |reply| ConsoleRequest::StartRun {
        file,
        params,
        reply,
    });
    Box::pin(async move {
        Action::Started {
            workflow,
            result: asked.await,
        }
    })
}

/// What changed between runs `a` and `b`, asked of the service.
fn diff_runs(requests: &Requests, a: String, b: String) -> BoxFuture<'static, Action> {
    let asked = ask(requests, "diff the runs", |reply| {
        ConsoleRequest::DiffRuns {
            a: a.clone(),
            b: b.clone(),
            reply,
        }
    });
    Box::pin(async move {
        Action::Diffed {
            a,
            b,
            result: asked.await,
        }
    })
}

/// Step `step` across the newest runs of `workflow`, asked of the service.
fn step_history(
    requests: &Requests,
    run_id: String,
    workflow: String,
    step: String,
) -> BoxFuture<'static, Action> {
    let asked = ask(requests, "read the step's history", |reply| {
        ConsoleRequest::StepHistory {
            run_id: run_id.clone(),
            workflow: workflow.clone(),
            step: step.clone(),
            reply,
        }
    });
    Box::pin(async move {
        Action::Historied {
            run_id,
            workflow,
            step,
            result: asked.await,
        }
    })
}

/// What a fork of `run_id` from `step` would do, asked of the service.
fn fork_plan(
    requests: &tokio::sync::mpsc::Sender<ConsoleRequest>,
    run_id: String,
    step: String,
) -> BoxFuture<'static, Action> {
    let asked = ask(requests, "plan a fork", |reply| ConsoleRequest::ForkPlan {
        run_id: run_id.clone(),
        step: step.clone(),
        reply,
    });
    Box::pin(async move {
        Action::ForkPlanned {
            run_id,
            step,
            result: asked.await.map(Box::new),
        }
    })
}

/// What a retry of `run_id`'s failed steps would run, asked of the service.
fn retry_plan(
    requests: &tokio::sync::mpsc::Sender<ConsoleRequest>,
    run_id: String,
) -> BoxFuture<'static, Action> {
    let asked = ask(requests, "plan a retry", |reply| {
        ConsoleRequest::RetryFailedPlan {
            run_id: run_id.clone(),
            reply,
        }
    });
    Box::pin(async move {
        Action::RetryFailedPlanned {
            run_id,
            result: asked.await,
        }
    })
}

/// Send a command to the console's service (on `run_id`, else the run on screen); the
/// future is its outcome as an action.
fn send_command(
    requests: &tokio::sync::mpsc::Sender<ConsoleRequest>,
    run_id: Option<String>,
    command: baton_model::Command,
) -> BoxFuture<'static, Action> {
    let (tx, rx) = oneshot::channel();
    let sent = requests.try_send(ConsoleRequest::Command {
        run_id,
        command,
        reply: tx,
    });
    Box::pin(async move {
        let outcome = match sent {
            Ok(()) => rx
                .await
                .unwrap_or(CommandOutcome::Refused(Refusal::EngineStopped)),
            Err(e) => CommandOutcome::Refused(Refusal::CannotApply {
                why: format!("the engine is not taking commands ({e})"),
            }),
        };
        Action::Outcome(outcome)
    })
}

/// Ask the console's service something whose answer is a `Result`: the request is
/// built around its reply channel; a full or closed queue, or a dropped reply, reads as
/// an error naming what was asked (`cannot ask to delete (…)`).
fn ask<T: Send + 'static>(
    requests: &tokio::sync::mpsc::Sender<ConsoleRequest>,
    what: &'static str,
    request: impl FnOnce(oneshot::Sender<Result<T, Refusal>>) -> ConsoleRequest,
) -> impl std::future::Future<Output = Result<T, Refusal>> + Send + 'static {
    let (tx, rx) = oneshot::channel();
    let sent = requests.try_send(request(tx));
    async move {
        match sent {
            Ok(()) => rx.await.unwrap_or_else(|_| {
                Err(Refusal::CannotApply {
                    why: "no answer".into(),
                })
            }),
            Err(e) => Err(Refusal::CannotApply {
                why: format!("cannot ask to {what} ({e})"),
            }),
        }
    }
}
