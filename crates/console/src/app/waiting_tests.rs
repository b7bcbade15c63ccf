//! The Waiting tab's up-front refusals, on `update` alone: what the inbox item says it
//! takes is refused before a word is typed (a dialog saying why, no command sent), and
//! what it does take opens its dialog.
use super::*;
use crate::fixtures;
use crate::keymap::Context;
use baton_model::RunView;
use baton_model::inbox::{WaitKind, Waiting};
use std::sync::Arc;

/// A console on the Waiting tab with `item` alone, selected.
fn waiting_on(item: Waiting) -> (RunView, UiState) {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    ui.waiting = Arc::new(vec![item]);
    update(&mut ui, &v, Action::GoTab(Tab::Waiting));
    assert_eq!(ui.context(), Context::Tab(Tab::Waiting));
    (v, ui)
}

/// The fixture's gate that waits on carol (she may decide it).
fn gate() -> Waiting {
    let w = fixtures::waiting()
        .into_iter()
        .find(|w| w.kind == WaitKind::Gate && w.mine)
        .expect("a gate waits on carol");
    assert!(w.ask.is_none() && !w.signed);
    w
}

/// The same item as an ask (`baton ask`) of that step.
fn ask(signed: bool) -> Waiting {
    let mut w = gate();
    w.kind = WaitKind::Ask;
    w.ask = Some(format!(
        "{}01JXR9ASKASKASKASKASKASK",
        baton_model::ask::ID_PREFIX
    ));
    w.signed = signed;
    w.commands.retain(|c| !c.starts_with("baton push-back"));
    w
}

/// The refusal dialog's text; fails when anything else is up.
fn refused(ui: &UiState) -> String {
    match &ui.dialog {
        Some(Dialog::Refused(text)) => text.clone(),
        other => panic!("a refusal, not {other:?}"),
    }
}

#[test]
fn pushing_back_an_ask_is_refused_before_any_typing() {
    let (v, mut ui) = waiting_on(ask(false));
    assert!(!offered(&ui, &v, ui.context(), &Action::PushBack));
    assert!(update(&mut ui, &v, Action::PushBack).is_empty());
    let text = refused(&ui);
    assert!(
        text.contains("an ask is approved or rejected, not pushed back"),
        "{text}"
    );
    assert!(ui.pending == 0 && ui.sent_from.is_none());
}

#[test]
fn pushing_back_a_gate_the_inbox_offers_no_push_back_for_is_refused() {
    let mut w = gate();
    w.commands.retain(|c| !c.starts_with("baton push-back"));
    let step = w.step.clone();
    let (v, mut ui) = waiting_on(w);
    assert!(!offered(&ui, &v, ui.context(), &Action::PushBack));
    assert!(update(&mut ui, &v, Action::PushBack).is_empty());
    let text = refused(&ui);
    assert!(text.starts_with(&format!("✘ {step}: ")), "{text}");
    assert!(text.contains("takes no push-back now"), "{text}");
    assert!(text.contains("approve or reject it"), "{text}");
    // Esc closes it; nothing was sent.
    assert!(update(&mut ui, &v, Action::Back).is_empty());
    assert!(ui.dialog.is_none() && ui.pending == 0);
}

#[test]
fn a_gate_the_inbox_offers_a_push_back_for_opens_the_push_back_dialog() {
    let mut w = gate();
    w.commands.retain(|c| !c.starts_with("baton push-back"));
    w.commands.push(format!(
        "baton push-back {} {} --reason …",
        w.run_id, w.step
    ));
    let (run, step) = (w.run_id.clone(), w.step.clone());
    let (v, mut ui) = waiting_on(w);
    assert!(offered(&ui, &v, ui.context(), &Action::PushBack));
    assert!(update(&mut ui, &v, Action::PushBack).is_empty());
    match &ui.dialog {
        Some(Dialog::Gate(d)) => {
            assert_eq!(d.decision, Decision::PushBack);
            assert_eq!(d.run_id.as_deref(), Some(run.as_str()));
            assert_eq!(d.step_id, step);
        }
        other => panic!("the push-back dialog, not {other:?}"),
    }
}

#[test]
fn a_console_answer_to_a_signed_ask_is_refused_naming_the_command_that_signs() {
    for (action, verb) in [(Action::Approve, "approve"), (Action::Reject, "reject")] {
        let w = ask(true);
        let id = w.ask.clone().unwrap_or_default();
        let (v, mut ui) = waiting_on(w);
        assert!(update(&mut ui, &v, action.clone()).is_empty(), "{verb}");
        let text = refused(&ui);
        assert!(
            text.contains("a signed ask counts only a signed answer"),
            "{text}"
        );
        assert!(
            text.contains(&format!("`baton {verb} {id} --sign-key KEY --reason …`")),
            "{text}"
        );
    }
}

#[test]
fn an_unsigned_ask_and_a_signed_gate_open_their_dialogs() {
    // An unsigned ask: answered here, the answer addressed to the ask.
    let w = ask(false);
    let id = w.ask.clone().unwrap_or_default();
    let (v, mut ui) = waiting_on(w);
    update(&mut ui, &v, Action::Approve);
    assert!(
        matches!(&ui.dialog, Some(Dialog::Gate(d)) if d.run_id.as_deref() == Some(id.as_str())),
        "{:?}",
        ui.dialog
    );
    // A signed gate: the console signs its decision through ssh-agent.
    let mut w = gate();
    w.signed = true;
    let run = w.run_id.clone();
    let (v, mut ui) = waiting_on(w);
    update(&mut ui, &v, Action::Reject);
    assert!(
        matches!(&ui.dialog, Some(Dialog::Gate(d)) if d.decision == Decision::Reject && d.run_id.as_deref() == Some(run.as_str())),
        "{:?}",
        ui.dialog
    );
}

/// Issue 58 point 4: a step frozen at the budget's ceiling while the budget gate is
/// open is one thing to decide, the budget (a raise releases it): one Waiting row for
/// it, not a budget row and a held row.
#[test]
fn a_step_frozen_at_the_budget_is_one_row_the_budgets() {
    let mut v = fixtures::budget_exhausted();
    let g = v.gates.iter_mut().find(|g| g.step.is_none()).unwrap();
    g.actions.raise_budget = true;
    let s = v.steps.iter_mut().find(|s| s.id == "package").unwrap();
    s.hold = Some(Box::new(baton_model::view::HoldView {
        by: "engine".into(),
        reason: "budget ceiling".into(),
        at: v.now,
        until: None,
        frozen: true,
        exhausted: false,
        budget: true,
    }));
    s.actions.release = true;
    let items = baton_model::inbox::waiting(&v, "carol");
    let kinds: Vec<WaitKind> = items
        .iter()
        .filter(|w| w.kind != WaitKind::Gate)
        .map(|w| w.kind)
        .collect();
    assert_eq!(kinds, [WaitKind::Budget], "{items:#?}");
}
