//! This console's own actions (issue 45 point 5, lazygit's command log, `@`): each
//! command, resume, delete and schedule change it asks for, with the run it was on and
//! what became of it. Others' decisions are notices (`!`), never here.
use super::actions::Request;
use super::runs::short_id;
use super::state::UiState;
use baton_model::{Command, Timestamp};

/// How many entries the log keeps, newest last.
const KEEP: usize = 200;

/// What kind of answer an entry waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A command or a schedule change: `Action::Outcome`.
    Command,
    Resume,
    Delete,
    /// An `[[action]]`'s command (`app::user_actions`): `Action::UserDone`.
    UserAction,
    /// A run started from the run form: `Action::Started`.
    Start,
    /// A note (`app::note`): `Action::Noted`.
    Note,
}

/// One thing this console did.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub at: Option<Timestamp>,
    /// The run (its short id and workflow), empty for a schedule.
    pub on: String,
    pub run_id: String,
    /// `approve deploy: “canary green”`.
    pub what: String,
    pub kind: Kind,
    /// `None` until answered.
    pub result: Option<Answer>,
    /// An `[[action]]` run's id: the log shows its last lines.
    pub user_run: Option<u64>,
}

/// What came back for a thing this console did, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// What was done.
    Done(String),
    /// Why not.
    Refused(String),
    /// Done, but what it made did not run: a new run its concurrency group skipped.
    Skipped(String),
}

impl Answer {
    /// The log's line for a front end's result.
    pub fn of<E: std::fmt::Display>(r: &Result<String, E>) -> Answer {
        match r {
            Ok(m) => Answer::Done(m.clone()),
            Err(e) => Answer::Refused(e.to_string()),
        }
    }
}

/// `approve deploy: “canary green”`: a command as the log says it.
fn command_text(c: &Command) -> String {
    let (verb, step, reason) = match c {
        Command::Approve { step, reason, .. } => ("approve", Some(step), reason.as_deref()),
        Command::Reject { step, reason, .. } => ("reject", Some(step), Some(reason.as_str())),
        Command::PushBack { step, reason, .. } => ("push back", Some(step), Some(reason.as_str())),
        Command::Retry { step, .. } => ("retry", Some(step), None),
        Command::RetryFailed { .. } => ("retry the failed steps", None, None),
        Command::Label { set, removed, .. } => {
            let mut t = format!("label {}", baton_model::labels::text(set));
            for k in removed {
                t.push_str(&format!(" {k}-"));
            }
            return t.trim_end().to_string();
        }
        Command::Mark {
            step,
            state,
            reason,
            ..
        } => {
            return format!("mark {step} {state}: “{reason}”");
        }
        Command::Cancel { reason, .. } => ("cancel", None, reason.as_deref()),
        Command::RaiseBudget { reason, .. } => ("raise the budget", None, Some(reason.as_str())),
        Command::RejectBudget { reason, .. } => {
            ("reject the budget gate", None, Some(reason.as_str()))
        }
        Command::Hold { steps, reason, .. } | Command::Release { steps, reason, .. } => {
            let verb = if matches!(c, Command::Hold { .. }) {
                "hold"
            } else {
                "release"
            };
            let what = if steps.is_empty() {
                "the run".to_string()
            } else {
                steps.join(", ")
            };
            return format!("{verb} {what}: “{reason}”");
        }
    };
    let mut t = verb.to_string();
    if let Some(s) = step {
        t.push_str(&format!(" {s}"));
    }
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        t.push_str(&format!(": “{r}”"));
    }
    t
}

impl UiState {
    /// Log what `req` asks for (on `shown`, the run on screen, when it names none).
    pub(super) fn log_request(&mut self, shown: &str, req: &Request) {
        let (run_id, what, kind) = match req {
            Request::Command(c) => (shown.to_string(), command_text(c), Kind::Command),
            Request::CommandOn { run_id, command } => {
                (run_id.clone(), command_text(command), Kind::Command)
            }
            Request::Resume(id) => (id.clone(), "resume".into(), Kind::Resume),
            Request::Fork { run_id, step, .. } => {
                (run_id.clone(), format!("fork from {step}"), Kind::Resume)
            }
            Request::DeleteRun(id) => (id.clone(), "delete".into(), Kind::Delete),
            Request::Note { run_id, step, text } => {
                let on = step.as_ref().map_or(String::new(), |s| format!(" on {s}"));
                (run_id.clone(), format!("note{on}: “{text}”"), Kind::Note)
            }
            Request::RunAction(p) => (
                p.run_id.clone(),
                format!("{}: `{}` on {}", p.title, p.shown(), p.on),
                Kind::UserAction,
            ),
            // Its params are not said: a secret one is never drawn.
            Request::StartRun { file, workflow, .. } => (
                String::new(),
                format!("start a run of {workflow} ({})", file.display()),
                Kind::Start,
            ),
            Request::Schedule {
                act,
                target,
                reason,
            } => (
                String::new(),
                format!("{} schedule {target}: “{reason}”", act.verb()),
                Kind::Command,
            ),
            _ => return,
        };
        let on = if run_id.is_empty() {
            String::new()
        } else {
            let workflow = self.workflow_of(&run_id);
            format!("{} {workflow}", short_id(&run_id, &self.run_ids))
        };
        self.action_log.push(Logged {
            at: self.now,
            on,
            run_id,
            what,
            kind,
            result: None,
            user_run: match req {
                Request::RunAction(p) => Some(p.id),
                _ => None,
            },
        });
        let over = self.action_log.len().saturating_sub(KEEP);
        self.action_log.drain(..over);
    }

    /// How the `[[action]]` run `id` ended, on its entry.
    pub(super) fn log_action_answer(&mut self, id: u64, ok: bool, said: String) {
        if let Some(e) = self
            .action_log
            .iter_mut()
            .find(|e| e.user_run == Some(id) && e.result.is_none())
        {
            e.result = Some(if ok {
                Answer::Done(said)
            } else {
                Answer::Refused(said)
            });
        }
    }

    /// The answer to the oldest unanswered entry of `kind` (on `run_id` when given).
    pub(super) fn log_answer(&mut self, kind: Kind, run_id: Option<&str>, result: Answer) {
        if let Some(e) = self
            .action_log
            .iter_mut()
            .find(|e| e.kind == kind && e.result.is_none() && run_id.is_none_or(|r| r == e.run_id))
        {
            e.result = Some(result);
        }
    }
}
