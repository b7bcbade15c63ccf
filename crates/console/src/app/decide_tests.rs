//! Issue 45 point 2: every tab opens one decision dialog, and a gate this account may
//! not decide is refused before any text is typed, saying who may.
use super::*;
use crate::fixtures;
use crate::keymap::Context;

#[test]
fn a_gate_i_may_not_decide_is_refused_before_typing_saying_who_may() {
    let v = fixtures::release();
    // alice started the run and the gate refuses self-approval; dave is no approver.
    for (who, action, says) in [
        ("alice", Action::Approve, "self-approval"),
        (
            "dave",
            Action::Approve,
            "is not an approver (approvers: alice, bob, carol)",
        ),
        (
            "dave",
            Action::Reject,
            "is not an approver (approvers: alice, bob, carol)",
        ),
        ("bob", Action::Approve, "already approved"),
    ] {
        let mut ui = UiState::new(who);
        update(&mut ui, &v, Action::GoTab(Tab::Approvals));
        update(&mut ui, &v, action.clone());
        match &ui.dialog {
            Some(Dialog::Refused(t)) => assert!(t.contains(says), "{who}: {t}"),
            other => panic!("{who}: {other:?}"),
        }
        assert_eq!(ui.context(), Context::Refused);
    }
    // alice may still reject (an approver); carol may approve.
    for (who, action) in [("alice", Action::Reject), ("carol", Action::Approve)] {
        let mut ui = UiState::new(who);
        update(&mut ui, &v, Action::GoTab(Tab::Approvals));
        update(&mut ui, &v, action);
        assert_eq!(ui.context(), Context::GateDialog, "{who}");
    }
}

#[test]
fn every_tab_opens_the_same_dialog_with_the_gates_fields() {
    let mut v = fixtures::release();
    v.gates[0].inputs = vec![baton_model::InputView {
        name: "sql".into(),
        ty: "string".into(),
        values: Vec::new(),
        required: false,
        default: Some("SELECT 1".into()),
        pattern: Some("^SELECT".into()),
        description: Some("read-only".into()),
    }];
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Approvals));
    update(&mut ui, &v, Action::Approve);
    let Some(Dialog::Gate(from_approvals)) = ui.dialog.clone() else {
        panic!("{:?}", ui.dialog)
    };
    // The Waiting tab, on the same gate as the inbox lists it (another run or this).
    let mut ui = UiState::new("carol");
    ui.waiting = std::sync::Arc::new(baton_model::inbox::waiting(&v, "carol"));
    update(&mut ui, &v, Action::GoTab(Tab::Waiting));
    update(&mut ui, &v, Action::Approve);
    let Some(Dialog::Gate(from_waiting)) = ui.dialog.clone() else {
        panic!("{:?}", ui.dialog)
    };
    assert_eq!(from_waiting.fields, from_approvals.fields);
    assert_eq!(from_waiting.fields[0].value, "SELECT 1");
    assert_eq!(
        from_waiting.fields[0].input.pattern.as_deref(),
        Some("^SELECT")
    );
}

#[test]
fn an_edited_value_is_shown_against_the_proposal_before_the_final_enter() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut v = fixtures::release();
    v.gates[0].inputs = vec![baton_model::InputView {
        name: "sql".into(),
        ty: "string".into(),
        values: Vec::new(),
        required: false,
        default: Some("SELECT *\nFROM users\nLIMIT 10".into()),
        pattern: None,
        description: None,
    }];
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Approvals));
    update(&mut ui, &v, Action::Approve);
    // Unchanged: Enter approves at once, with the proposal.
    let mut same = UiState::new("carol");
    update(&mut same, &v, Action::GoTab(Tab::Approvals));
    update(&mut same, &v, Action::Approve);
    let sent = update(&mut same, &v, Action::Confirm);
    assert_eq!(sent.len(), 1, "{sent:?}");
    // `LIMIT 10` → `LIMIT 1`: the first Enter shows the change, nothing is sent.
    update(
        &mut ui,
        &v,
        Action::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
    );
    assert!(update(&mut ui, &v, Action::Confirm).is_empty());
    let Some(Dialog::Gate(d)) = &ui.dialog else {
        panic!("{:?}", ui.dialog)
    };
    assert!(d.review);
    assert_eq!(
        proposal_diff(&d.changes()),
        vec![
            DiffLine::Name("sql:".into()),
            DiffLine::Hunk("@@ -1,3 +1,3 @@".into()),
            DiffLine::Kept("SELECT *".into()),
            DiffLine::Kept("FROM users".into()),
            DiffLine::Removed("LIMIT 10".into()),
            DiffLine::Added("LIMIT 1".into()),
        ]
    );
    // The second Enter sends exactly the edited value.
    let sent = update(&mut ui, &v, Action::Confirm);
    match &sent[..] {
        [Request::Command(baton_model::Command::Approve { inputs, .. })] => {
            assert_eq!(inputs["sql"], "SELECT *\nFROM users\nLIMIT 1");
        }
        other => panic!("{other:?}"),
    }
}

/// Issue 44 point 3: `b` opens the feedback dialog on a gate that can be pushed back;
/// its Enter sends `push-back` with the feedback typed; in the last round it is
/// refused in the core's words before anything is typed.
#[test]
fn b_opens_the_feedback_dialog_and_sends_a_push_back() {
    let mut v = fixtures::release();
    v.gates[0].actions.reject = true;
    v.gates[0].actions.push_back = true;
    v.gates[0].round = Some(baton_model::GateRound { n: 1, of: 3 });
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Approvals));
    update(&mut ui, &v, Action::PushBack);
    let Some(Dialog::Gate(d)) = &ui.dialog else {
        panic!("{:?}", ui.dialog)
    };
    assert_eq!(d.decision, Decision::PushBack);
    assert!(d.fields.is_empty(), "a push-back takes no inputs");
    if let Some(Dialog::Gate(d)) = ui.dialog.as_mut() {
        d.reason.insert_str("shorter");
    }
    let sent = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&sent[..], [Request::Command(baton_model::Command::PushBack { step, reason, .. })]
            if step == &v.gates[0].step_id && reason == "shorter"),
        "{sent:?}"
    );
    // The last round: refused, saying so.
    v.gates[0].actions.push_back = false;
    v.gates[0].round = Some(baton_model::GateRound { n: 3, of: 3 });
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Approvals));
    update(&mut ui, &v, Action::PushBack);
    match &ui.dialog {
        Some(Dialog::Refused(t)) => assert!(t.contains("last round (3 of 3)"), "{t}"),
        other => panic!("{other:?}"),
    }
}

/// Issue 58 point 2: a typed input's error shows under its field as it is typed, in the
/// engine's words, and goes once the value fits.
#[test]
fn a_typed_inputs_error_shows_under_its_field_as_it_is_typed() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut v = fixtures::release();
    v.gates[0].inputs = vec![baton_model::InputView {
        name: "replicas".into(),
        ty: "int".into(),
        values: Vec::new(),
        required: true,
        default: None,
        pattern: None,
        description: None,
    }];
    let mut ui = UiState::new("carol");
    update(&mut ui, &v, Action::GoTab(Tab::Approvals));
    update(&mut ui, &v, Action::Approve);
    let key = |ui: &mut UiState, c: char| {
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        update(ui, &v, Action::Key(k));
    };
    let error = |ui: &UiState| match &ui.dialog {
        Some(Dialog::Gate(d)) => d.fields[0].error.clone(),
        other => panic!("{other:?}"),
    };
    key(&mut ui, '3');
    assert_eq!(error(&ui), None);
    key(&mut ui, 'x');
    let e = error(&ui).expect("an error under the field");
    assert!(e.contains("replicas") && e.contains("3x"), "{e}");
    let k = KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE);
    update(&mut ui, &v, Action::Key(k));
    assert_eq!(error(&ui), None);
}
