//! `[[notify]]` at run time: which committed event calls which notifier with which
//! facts (pure), and running one (`sh -c` in the workflow's directory, the facts in its
//! environment, bounded by its timeout). A notifier's failure never stops the run: the
//! driver hands it to the core, which records a low-severity error.
use baton_model::ask::{Ask, AskState};
use baton_model::{ErrorKind, Event, EventKind, RunState, StepState};
use baton_workflow::{Notifier, NotifyEvent, Plan};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;

/// The facts of one notification, as the command's environment gets them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Notice {
    pub event: NotifyEvent,
    /// Empty for run events.
    pub step: Option<String>,
    pub prompt: String,
    /// RFC 3339, or empty.
    pub deadline: String,
    /// The ask (`baton ask` run by the step) this notice is of, if it is one's.
    pub ask: Option<String>,
    /// The step's kept summary (`$BATON_SUMMARY`), if it wrote one: `with_summary`.
    pub summary: Option<std::path::PathBuf>,
}

impl Notice {
    /// The notice with its step's latest kept summary in the run's log directory
    /// `log_dir` (`STEP.ATTEMPT.summary.md`, the highest attempt), for the notifier's
    /// `$BATON_STEP_SUMMARY`.
    pub(crate) fn with_summary(mut self, log_dir: &Path) -> Notice {
        let Some(step) = self.step.as_deref() else {
            return self;
        };
        let prefix = format!("{}.", baton_model::file_safe(step));
        let attempt = |name: &str| -> Option<u32> {
            name.strip_prefix(&prefix)?
                .strip_suffix(".summary.md")?
                .parse()
                .ok()
        };
        self.summary = std::fs::read_dir(log_dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| Some((attempt(e.file_name().to_str()?)?, e.path())))
            .max_by_key(|(n, _)| *n)
            .map(|(_, p)| p);
        self
    }
}

/// What `ev` means to notifiers, if anything. `prompts` remembers each gate's prompt
/// from its opening (a warning and a decision do not repeat it).
pub(crate) fn notice(ev: &Event, prompts: &mut HashMap<String, String>) -> Option<Notice> {
    let gate = |event, step: &str, prompts: &HashMap<String, String>, deadline: String| Notice {
        event,
        step: Some(step.to_string()),
        prompt: prompts.get(step).cloned().unwrap_or_default(),
        deadline,
        ask: None,
        summary: None,
    };
    match &ev.kind {
        EventKind::GateOpened {
            step,
            prompt,
            deadline,
            ..
        } => {
            prompts.insert(step.clone(), prompt.clone());
            Some(gate(
                NotifyEvent::GateOpened,
                step,
                prompts,
                deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
            ))
        }
        EventKind::GateWarning { step, deadline } => Some(gate(
            NotifyEvent::GateWarning,
            step,
            prompts,
            deadline.to_rfc3339(),
        )),
        EventKind::GateApproved { step, .. } | EventKind::GateRejected { step, .. } => {
            Some(gate(NotifyEvent::GateDecided, step, prompts, String::new()))
        }
        // The budget gate opens: a person must raise the budget or cancel the run.
        EventKind::BudgetExceeded {
            dimension,
            used,
            limit,
            step,
        } => Some(Notice {
            event: NotifyEvent::GateOpened,
            step: Some(step.clone().unwrap_or_else(|| "budget".into())),
            prompt: format!(
                "budget exceeded: {dimension} {used} used of {limit}; raise it (`approve --raise`) or cancel the run"
            ),
            deadline: String::new(),
            ask: None,
            summary: None,
        }),
        // The budget gate decided against the run (an operator, or its timeout).
        EventKind::BudgetRejected { step, .. } => Some(Notice {
            event: NotifyEvent::GateDecided,
            step: Some(step.clone().unwrap_or_else(|| "budget".into())),
            prompt: String::new(),
            deadline: String::new(),
            ask: None,
            summary: None,
        }),
        // A deadline fell: `BATON_PROMPT` says whose and which clause, `BATON_DEADLINE` when.
        EventKind::DeadlineMissed { step, due, rule } => Some(Notice {
            event: NotifyEvent::DeadlineMissed,
            step: step.clone(),
            prompt: baton_model::deadline::missed_text(step.as_deref(), rule),
            deadline: due.to_rfc3339(),
            ask: None,
            summary: None,
        }),
        EventKind::RunFinished { .. } => Some(Notice {
            event: NotifyEvent::RunFinished,
            step: None,
            prompt: String::new(),
            deadline: String::new(),
            ask: None,
            summary: None,
        }),
        EventKind::StepStateChanged {
            step,
            state: StepState::Failed,
            ..
        } => Some(Notice {
            event: NotifyEvent::StepFailed,
            step: Some(step.clone()),
            prompt: String::new(),
            deadline: String::new(),
            ask: None,
            summary: None,
        }),
        _ => None,
    }
}

/// Whether `[[notify]]` block `i` hears `notice`: its `on` lists the event, or the
/// notice is of a missed deadline whose `notify` names the block (once, either way).
pub(crate) fn hears(plan: &Plan, i: usize, notice: &Notice) -> bool {
    let Some(n) = plan.notify.get(i) else {
        return false;
    };
    if n.on.contains(&notice.event) {
        return true;
    }
    if notice.event != NotifyEvent::DeadlineMissed {
        return false;
    }
    let deadline = match notice.step.as_deref() {
        None => plan.deadline.as_ref(),
        Some(id) => plan
            .steps
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.deadline.as_deref()),
    };
    deadline.is_some_and(|d| d.notify.contains(&i))
}

/// What a step's ask (`baton ask` run by the step) means to notifiers, as a gate's
/// opening and decision do: `before` is its state when last seen (`None`: never seen).
/// Seen open: `gate_opened`; seen decided or expired after it was seen open:
/// `gate_decided`; both when it opened and was decided between two looks.
pub(crate) fn ask_notices(a: &Ask, before: Option<AskState>) -> Vec<Notice> {
    let (Some(step), false) = (&a.step_id, before.is_some_and(|b| b != AskState::Open)) else {
        return Vec::new();
    };
    let of = |event, deadline: String| Notice {
        event,
        step: Some(step.clone()),
        prompt: a.prompt.clone(),
        deadline,
        ask: Some(a.id.clone()),
        summary: None,
    };
    let mut out = Vec::new();
    if before.is_none() {
        let deadline = a.deadline.map(|d| d.to_rfc3339()).unwrap_or_default();
        out.push(of(NotifyEvent::GateOpened, deadline));
    }
    if a.state != AskState::Open {
        out.push(of(NotifyEvent::GateDecided, String::new()));
    }
    out
}

/// Run one notifier (its command, or a post to its target); `Err` says how and why it
/// failed (exit status, timeout, could not start, the target's answer).
pub(crate) async fn run(
    n: &Notifier,
    notice: &Notice,
    run_id: &str,
    run_state: RunState,
    dir: &Path,
) -> Result<(), (ErrorKind, String)> {
    let event = notice.event.as_str();
    run_as(
        n,
        notice,
        (event, None, link_of(notice, event, run_id)),
        (run_id, run_state),
        dir,
    )
    .await
}

/// A wait still open `after` its opening (an approval gate, a budget gate, a step's
/// ask): the next block of an `escalate` list told.
#[derive(Debug, Clone)]
pub struct Escalated {
    pub run_id: String,
    pub step: String,
    pub prompt: String,
    pub kind: baton_model::inbox::WaitKind,
    /// The ask's id, for an ask (`BATON_ASK_ID`).
    pub ask: Option<String>,
    /// The same on every try of this step of the list: a target that de-duplicates
    /// (a webhook's `Idempotency-Key`) sees it once.
    pub key: String,
}

/// Tell block `n` of `e` (`baton serve`'s escalations): a target is posted the wait's
/// facts with `event` `gate_escalated`, and an approval gate's page link (the page
/// shows no budget gate and no ask); a command gets `BATON_EVENT=gate_escalated` and
/// `BATON_ESCALATION_KEY`. `Err` says why it failed.
pub async fn escalate(
    n: &Notifier,
    e: &Escalated,
    run_state: RunState,
    dir: &Path,
) -> Result<(), NotTold> {
    let notice = Notice {
        event: NotifyEvent::GateOpened,
        step: Some(e.step.clone()),
        prompt: e.prompt.clone(),
        deadline: String::new(),
        ask: e.ask.clone(),
        summary: None,
    };
    let link = match e.kind {
        baton_model::inbox::WaitKind::Gate => {
            super::post::gate_link(super::post::page_origin(), &e.run_id, &e.step)
        }
        _ => None,
    };
    run_as(
        n,
        &notice,
        ("gate_escalated", Some(&e.key), link),
        (&e.run_id, run_state),
        dir,
    )
    .await
    .map_err(|(_, why)| NotTold(why))
}

/// Why an escalation's send failed: the target's answer, its timeout, curl or the
/// command not started (never the target's URL). The serve tries it again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotTold(pub String);

/// The page link of a notice: a gate's (not an ask's, which the page does not show).
fn link_of(notice: &Notice, event: &str, run_id: &str) -> Option<String> {
    let gate = matches!(event, "gate_opened" | "gate_warning" | "gate_escalated");
    match (&notice.step, &notice.ask, gate) {
        (Some(step), None, true) => {
            super::post::gate_link(super::post::page_origin(), run_id, step)
        }
        _ => None,
    }
}

async fn run_as(
    n: &Notifier,
    notice: &Notice,
    (event, key, link): (&str, Option<&str>, Option<String>),
    (run_id, run_state): (&str, RunState),
    dir: &Path,
) -> Result<(), (ErrorKind, String)> {
    if let Some(target) = &n.target {
        let facts = super::post::Facts {
            event,
            run_id,
            run_state: run_state.as_str(),
            step: notice.step.as_deref(),
            prompt: &notice.prompt,
            deadline: &notice.deadline,
            link: link.clone(),
            key,
        };
        return super::post::send(target, &facts, dir, n.timeout).await;
    }
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(&n.run)
        .current_dir(dir)
        .env("BATON_EVENT", event)
        .env("BATON_ESCALATION_KEY", key.unwrap_or(""))
        .env("BATON_PAGE_LINK", link.unwrap_or_default())
        .env("BATON_RUN_ID", run_id)
        .env("BATON_STEP_ID", notice.step.as_deref().unwrap_or(""))
        .env("BATON_PROMPT", &notice.prompt)
        .env("BATON_DEADLINE", &notice.deadline)
        .env("BATON_ASK_ID", notice.ask.as_deref().unwrap_or(""))
        .env("BATON_RUN_STATE", run_state.as_str())
        .env(
            "BATON_STEP_SUMMARY",
            notice.summary.as_deref().unwrap_or(Path::new("")),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // The store's keys are baton's, never a child's.
    for k in baton_exec::baton_own_in_env() {
        cmd.env_remove(k);
    }
    let child = cmd.spawn().map_err(|e| {
        (
            ErrorKind::SpawnFailed,
            format!("the notifier could not start: {e}"),
        )
    })?;
    match tokio::time::timeout(n.timeout, child.wait_with_output()).await {
        Err(_) => Err((
            ErrorKind::Timeout,
            format!(
                "the notifier did not finish within {}",
                baton_model::time::human_duration(n.timeout)
            ),
        )),
        Ok(Err(e)) => Err((
            ErrorKind::SpawnFailed,
            format!("waiting for the notifier failed: {e}"),
        )),
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("").trim();
            Err((
                ErrorKind::ExitNonzero,
                format!(
                    "the notifier failed ({}){}",
                    out.status,
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ": {}",
                            baton_model::sanitize::strip_to_plain(last.as_bytes())
                        )
                    }
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::Timestamp;

    fn ev(kind: EventKind) -> Event {
        Event {
            seq: 1,
            at: Timestamp(0),
            kind,
        }
    }

    /// A missed deadline is heard by the blocks its `notify` names and by those whose
    /// `on` lists `deadline_missed`; a block both names and lists hears it once (one
    /// call of `hears` per block); other blocks do not.
    #[test]
    fn a_missed_deadline_is_heard_by_the_blocks_it_names_and_those_listening() {
        let text = r#"
name = "d"
deadline = { within = "1h", notify = ["pager"] }
[[notify]]
name = "pager"
on = ["run_finished"]
run = "true"
[[notify]]
on = ["deadline_missed"]
run = "true"
[[notify]]
name = "chat"
on = ["gate_opened"]
run = "true"
[[step]]
id = "load"
run = "true"
deadline = { within = "5m", notify = ["chat"] }
"#;
        let plan = baton_workflow::load_str(text, std::path::Path::new("d.toml")).unwrap();
        let of = |step: Option<&str>| {
            let ev = ev(EventKind::DeadlineMissed {
                step: step.map(str::to_string),
                due: Timestamp(0),
                rule: "within 1h00m".into(),
            });
            let n = notice(&ev, &mut HashMap::new()).unwrap();
            assert_eq!(n.event, NotifyEvent::DeadlineMissed);
            assert_eq!(n.deadline, "1970-01-01T00:00:00.000Z");
            (0..3).filter(|&i| hears(&plan, i, &n)).collect::<Vec<_>>()
        };
        assert_eq!(
            of(None),
            [0, 1],
            "the run's: `pager` by name, the listener by `on`"
        );
        assert_eq!(
            of(Some("load")),
            [1, 2],
            "the step's: `chat` by name, the listener"
        );
    }

    #[test]
    fn gate_events_carry_the_prompt_from_the_opening() {
        let mut prompts = HashMap::new();
        let open = notice(
            &ev(EventKind::GateOpened {
                step: "deploy".into(),
                prompt: "Ship 1.2?".into(),
                deadline: None,
                digest: String::new(),
                approvers: vec![],
                quorum: 1,
                signed: false,
                inputs: Default::default(),
                round: None,
            }),
            &mut prompts,
        )
        .unwrap();
        assert_eq!(open.event, NotifyEvent::GateOpened);
        let decided = notice(
            &ev(EventKind::GateRejected {
                step: "deploy".into(),
                actor: "bob".into(),
                reason: "no".into(),
                timed_out: false,
                signature: None,
            }),
            &mut prompts,
        )
        .unwrap();
        assert_eq!(decided.event, NotifyEvent::GateDecided);
        assert_eq!(decided.prompt, "Ship 1.2?");
        assert_eq!(decided.step.as_deref(), Some("deploy"));
        let failed = notice(
            &ev(EventKind::StepStateChanged {
                step: "build".into(),
                state: StepState::Failed,
                attempt: 1,
                reason: None,
            }),
            &mut prompts,
        )
        .unwrap();
        assert_eq!(failed.event, NotifyEvent::StepFailed);
        // The budget gate is a gate: it opens for a person.
        let budget = notice(
            &ev(EventKind::BudgetExceeded {
                dimension: "tokens".into(),
                used: 1200.0,
                limit: 1000.0,
                step: Some("agent".into()),
            }),
            &mut prompts,
        )
        .unwrap();
        assert_eq!(budget.event, NotifyEvent::GateOpened);
        assert_eq!(budget.step.as_deref(), Some("agent"));
        assert!(
            budget.prompt.contains("tokens 1200 used of 1000"),
            "{budget:?}"
        );
        // Its rejection (an operator's or its timeout's) is its decision.
        let rejected = notice(
            &ev(EventKind::BudgetRejected {
                actor: "timeout".into(),
                reason: "no raise within 30m (on_timeout = reject)".into(),
                timed_out: true,
                step: Some("agent".into()),
            }),
            &mut prompts,
        )
        .unwrap();
        assert_eq!(rejected.event, NotifyEvent::GateDecided);
        assert_eq!(rejected.step.as_deref(), Some("agent"));
        assert!(
            notice(
                &ev(EventKind::StepStateChanged {
                    step: "build".into(),
                    state: StepState::Running,
                    attempt: 1,
                    reason: None,
                }),
                &mut prompts,
            )
            .is_none()
        );
    }

    #[test]
    fn a_step_s_ask_opens_and_is_decided_once_and_a_store_level_ask_is_no_run_s_news() {
        let mut a: Ask = serde_json::from_value(serde_json::json!({
            "id": "ask-1", "run_id": "01r", "step_id": "migrate", "workflow": null,
            "prompt": "apply?", "inputs": [], "approvers": [], "quorum": 1,
            "asker": {"account": "a", "holder": "pid 1 on h", "command": "baton ask"},
            "opened_at": 0, "deadline": null, "state": "open", "votes": [],
            "values": null, "decided_by": null, "decided_at": null, "reason": null
        }))
        .unwrap();
        let events = |n: Vec<Notice>| n.iter().map(|n| n.event).collect::<Vec<_>>();
        let opened = ask_notices(&a, None);
        assert_eq!(events(opened.clone()), vec![NotifyEvent::GateOpened]);
        assert_eq!(opened[0].prompt, "apply?");
        assert_eq!(opened[0].ask.as_deref(), Some("ask-1"));
        assert!(
            ask_notices(&a, Some(AskState::Open)).is_empty(),
            "told once"
        );
        a.state = AskState::Approved;
        assert_eq!(
            events(ask_notices(&a, Some(AskState::Open))),
            vec![NotifyEvent::GateDecided]
        );
        assert!(ask_notices(&a, Some(AskState::Approved)).is_empty());
        assert_eq!(
            events(ask_notices(&a, None)),
            vec![NotifyEvent::GateOpened, NotifyEvent::GateDecided],
            "opened and decided between two looks"
        );
        a.step_id = None;
        assert!(ask_notices(&a, None).is_empty());
    }
}
