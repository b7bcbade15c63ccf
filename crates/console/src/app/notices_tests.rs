//! Issue 28 point 4 and issue 45 point 5: notices (others' decisions, any run) and the
//! action log (this console's own).
use super::*;
use crate::fixtures;
use baton_link::News;
use baton_model::{AuditAction, Command, CommandOutcome, Refusal, Timestamp};

/// An audit row of the store's news feed.
pub(super) fn news(id: i64, run: &str, actor: &str, action: AuditAction) -> News {
    News {
        id,
        run_id: run.into(),
        at: Timestamp(1_700_000_000_000 + id),
        actor: actor.into(),
        action,
        step: None,
        reason: None,
        details: "{}".into(),
        by_viewer: false,
    }
}

/// Issue 28 point 4, issue 45 point 5: a decision someone else recorded, on any run, is
/// news with who, what and the reason typed; this console's own is not (matched once:
/// the same account deciding again from another shell is news).
#[test]
fn others_decisions_are_notices_and_ones_own_are_not() {
    let mut ui = UiState::new("carol");
    let mut row = news(1, "01OTHERRUN", "bob", AuditAction::Rejected);
    row.step = Some("deploy-prod".into());
    row.reason = Some("not today".into());
    let got = ui.note_news(std::slice::from_ref(&row));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].text(), "bob rejected deploy-prod: “not today”");
    assert!(ui.toast.as_ref().unwrap().text.contains("bob rejected"));
    // Seen rows are not news twice.
    assert!(ui.note_news(std::slice::from_ref(&row)).is_empty());
    // The same decision by carol after this console sent it: not news, once.
    let mut ui = UiState::new("carol");
    let cmd = Command::Reject {
        step: "deploy-prod".into(),
        operator: "carol".into(),
        reason: "not today".into(),
        signature: None,
    };
    ui.note_sent("01OTHERRUN", &cmd);
    row.actor = "carol".into();
    assert!(ui.note_news(std::slice::from_ref(&row)).is_empty());
    assert!(ui.notices.is_empty());
    row.id = 2;
    assert_eq!(
        ui.note_news(&[row]).len(),
        1,
        "a second one is another shell's"
    );
    // A budget raise from another shell of the same account on a run this console
    // acted on (without a step) is news, with its amounts and reason.
    let mut raise = news(3, "01OTHERRUN", "carol", AuditAction::BudgetRaised);
    raise.reason = Some("one more batch".into());
    raise.details = r#"{"cost":5.0,"calls":null,"tokens":null}"#.into();
    let got = ui.note_news(&[raise]);
    assert_eq!(
        got[0].text(),
        "carol raised the budget cost +5.0: “one more batch”"
    );
    assert_eq!(ui.notices.len(), 2);
}

/// Issue 45 point 5: an approval from another shell reads with the reason its approver
/// typed (the vote carries it; the gate's approval follows without one), as one notice.
#[test]
fn an_approval_from_another_shell_carries_its_reason() {
    let mut ui = UiState::new("carol");
    let mut vote = news(1, "01OTHERRUN", "root", AuditAction::ApprovalVote);
    vote.step = Some("deploy".into());
    vote.reason = Some("canary is green".into());
    let mut approved = news(2, "01OTHERRUN", "root", AuditAction::Approved);
    approved.step = Some("deploy".into());
    let got = ui.note_news(&[vote, approved]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].text(), "root approved deploy: “canary is green”");
    // A schedule paused by someone else names the schedule and the reason.
    let mut paused = news(3, "schedules", "bob", AuditAction::SchedulePaused);
    paused.reason = Some("freeze".into());
    paused.details = r#"{"schedules":["nightly#0"]}"#.into();
    let got = ui.note_news(&[paused]);
    assert_eq!(got[0].text(), "bob paused schedule nightly#0: “freeze”");
}

/// Issue 45 point 5: this console's own command goes to its action log with its answer;
/// a flash goes when the operator moves to another tab.
#[test]
fn own_actions_are_logged_and_a_flash_clears_on_another_tab() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    update(&mut ui, &v, Action::CancelRun);
    let out = update(&mut ui, &v, Action::Yes);
    assert!(
        matches!(&out[..], [Request::Command(Command::Cancel { .. })]),
        "{out:?}"
    );
    assert_eq!(ui.action_log.len(), 1);
    assert!(
        ui.action_log[0].what.starts_with("cancel"),
        "{:?}",
        ui.action_log
    );
    assert_eq!(ui.action_log[0].result, None);
    let refusal = Refusal::EngineStopped;
    update(
        &mut ui,
        &v,
        Action::Outcome(CommandOutcome::Refused(refusal.clone())),
    );
    assert_eq!(
        ui.action_log[0].result,
        Some(crate::app::action_log::Answer::Refused(refusal.to_string()))
    );
    assert!(ui.toast.is_some());
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    assert_eq!(ui.toast, None, "the flash stays where it was raised");
    update(&mut ui, &v, Action::ActionLog);
    assert_eq!(ui.overlay, Some(Overlay::ActionLog));
}

/// Issue 45 point 7: `Esc` on the run `Enter` opened goes back to the list it came from;
/// a tab key forgets where from.
#[test]
fn esc_goes_back_to_where_enter_came_from() {
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    update(&mut ui, &v, Action::Down);
    let out = update(&mut ui, &v, Action::Enter);
    assert!(matches!(&out[..], [Request::OpenRun(_)]), "{out:?}");
    assert_eq!(ui.tab, Tab::Dag);
    update(&mut ui, &v, Action::Back);
    assert_eq!(ui.tab, Tab::Runs);
    update(&mut ui, &v, Action::Enter);
    update(&mut ui, &v, Action::GoTab(Tab::Errors));
    update(&mut ui, &v, Action::GoTab(Tab::Dag));
    update(&mut ui, &v, Action::Back);
    assert_eq!(ui.tab, Tab::Dag);
}

fn typed(ui: &mut UiState, v: &baton_model::RunView, s: &str) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    for c in s.chars() {
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        update(ui, v, Action::Key(k));
    }
}

/// Issue 45 point 7: `:` takes workflows, tabs (with a filter) and commands, and `Tab`
/// completes what is typed.
#[test]
fn the_colon_prompt_takes_names_and_commands_and_completes() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let v = fixtures::release();
    let mut ui = UiState::new("alice");
    ui.set_runs(fixtures::shared_runs());
    update(&mut ui, &v, Action::Jump);
    typed(&mut ui, &v, "nig");
    let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
    update(&mut ui, &v, Action::Key(tab));
    assert_eq!(ui.jump.as_deref(), Some("nightly-etl"));
    update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        (ui.tab, ui.runs_filter.as_str()),
        (Tab::Runs, "wf:nightly-etl")
    );
    update(&mut ui, &v, Action::Jump);
    typed(&mut ui, &v, "runs state:failed");
    update(&mut ui, &v, Action::Confirm);
    assert_eq!(
        (ui.tab, ui.runs_filter.as_str()),
        (Tab::Runs, "state:failed")
    );
    update(&mut ui, &v, Action::Jump);
    typed(&mut ui, &v, "gates");
    update(&mut ui, &v, Action::Confirm);
    assert_eq!(ui.tab, Tab::Approvals);
    update(&mut ui, &v, Action::Jump);
    typed(&mut ui, &v, "q");
    let out = update(&mut ui, &v, Action::Confirm);
    assert!(matches!(&out[..], [Request::Exit(_)]), "{out:?}");
}

/// This console's own approval is its vote and then the gate's approval, which carries
/// no reason: neither is news.
#[test]
fn ones_own_approval_is_not_news_though_the_gates_approval_has_no_reason() {
    let mut ui = UiState::new("carol");
    let cmd = Command::Approve {
        step: "ship".into(),
        operator: "carol".into(),
        reason: Some("engine is gone".into()),
        signature: None,
        inputs: Default::default(),
    };
    ui.note_sent("01RUN", &cmd);
    let mut vote = news(1, "01RUN", "carol", AuditAction::ApprovalVote);
    vote.step = Some("ship".into());
    vote.reason = Some("engine is gone".into());
    let mut approved = news(2, "01RUN", "carol", AuditAction::Approved);
    approved.step = Some("ship".into());
    assert!(
        ui.note_news(&[vote, approved]).is_empty(),
        "{:?}",
        ui.notices
    );
}

/// A console of `root` deciding through a link that runs as `askann` on its host: the
/// host records `askann`, and the link's session marks the rows as its viewer's. They
/// answer this console's command, not news; `askann` deciding from a shell there is.
#[test]
fn ones_own_approval_through_a_link_as_another_account_is_not_news() {
    let mut ui = UiState::new("root");
    let cmd = Command::Approve {
        step: "deploy".into(),
        operator: "root".into(),
        reason: Some("as askann there".into()),
        signature: None,
        inputs: Default::default(),
    };
    ui.note_sent("01RUN", &cmd);
    let row = |id, action, reason: Option<&str>| {
        let mut n = news(id, "01RUN", "askann", action);
        n.step = Some("deploy".into());
        n.reason = reason.map(str::to_string);
        n.by_viewer = true;
        n
    };
    let resumed = {
        let mut n = news(1, "01RUN", "askann", AuditAction::RunResumed);
        n.by_viewer = true;
        n
    };
    ui.note_resumed("01RUN");
    let own = [
        resumed,
        row(2, AuditAction::ApprovalVote, Some("as askann there")),
        row(3, AuditAction::Approved, None),
    ];
    assert!(ui.note_news(&own).is_empty(), "{:?}", ui.notices);
    // The same account's next decision, not this console's command: news.
    let mut other = row(4, AuditAction::Rejected, Some("from a shell"));
    other.by_viewer = true;
    assert_eq!(ui.note_news(&[other]).len(), 1);
}
