//! Issue 76 point 1 on the Waiting tab: every key acts on the highlighted item (two
//! items of two runs listed, the second one highlighted), and a decision never moves
//! the selection onto another item: the decided item stays in its place, greyed, with
//! the selection on it, and an item arriving meanwhile never lands under it.
use super::*;
use crate::fixtures;
use baton_model::inbox::{WaitKind, Waiting};
use baton_model::{Command, RunView};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::Arc;

/// The fixture's gate that waits on carol, as an item of run `run` of `workflow`.
fn gate(run: &str, workflow: &str, step: &str) -> Waiting {
    let mut w = fixtures::waiting()
        .into_iter()
        .find(|w| w.kind == WaitKind::Gate && w.mine)
        .expect("a gate waits on carol");
    (w.run_id, w.workflow, w.step) = (run.into(), workflow.into(), step.into());
    w.commands = vec![
        format!("baton approve {run} {step}"),
        format!("baton push-back {run} {step} --reason …"),
    ];
    w
}

/// An agent's ask in its run (`baton ask` from a step).
fn ask(run: &str, step: &str, n: u32) -> Waiting {
    let mut w = gate(run, "agent-loop", step);
    w.kind = WaitKind::Ask;
    w.ask = Some(format!("{}01JXR9ASK{n:017}", baton_model::ask::ID_PREFIX));
    w.prompt = format!("may I run migration {n}?");
    w.commands.retain(|c| !c.starts_with("baton push-back"));
    w
}

const AGENT: &str = "01JXRAGENTAGENTAGENTAGENT0";
const PROD: &str = "01JXRPRODPRODPRODPRODPROD0";

/// Run A (the fixture's) on screen, the Waiting tab listing `items`, the selection
/// on the `sel`th.
fn listed(items: Vec<Waiting>, sel: usize) -> (RunView, UiState) {
    let v = fixtures::release();
    let mut ui = UiState::new("carol");
    ui.waiting = Arc::new(items);
    update(&mut ui, &v, Action::GoTab(Tab::Waiting));
    for _ in 0..sel {
        update(&mut ui, &v, Action::Down);
    }
    (v, ui)
}

fn typed(ui: &mut UiState, v: &RunView, s: &str) {
    for c in s.chars() {
        let k = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        update(ui, v, Action::Key(k));
    }
}

/// A new inbox, as the shell takes it: what is selected is taken before and put back
/// after.
fn arrives(ui: &mut UiState, v: &RunView, items: Vec<Waiting>) {
    let was = ui.picked(v);
    ui.waiting = Arc::new(items);
    ui.keep_picked(v, &was);
}

fn screen(ui: &mut UiState, v: &RunView) -> String {
    super::run_form_qa_tests::screen(ui, v, 120, 30)
}

/// The shift: reject the agent's ask; the list then loses it and the agent's
/// next ask arrives above the production gate. The selection stays on the decided ask,
/// greyed; `a` approves nothing; a move leaves it.
#[test]
fn after_a_decision_the_selection_stays_on_the_decided_item_not_the_next_gate() {
    let first = ask(AGENT, "plan", 1);
    let prod = gate(PROD, "prod-deploy", "deploy");
    let (v, mut ui) = listed(vec![first.clone(), prod.clone()], 0);
    assert_eq!(ui.selected_waiting(), Some(&first));
    update(&mut ui, &v, Action::Reject);
    typed(&mut ui, &v, "not now");
    let sent = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&sent[..], [Request::CommandOn { run_id, command: Command::Reject { .. } }]
            if Some(run_id) == first.ask.as_ref()),
        "{sent:?}"
    );
    // The ask decided leaves the list; the agent's next ask arrives above the gate.
    let next = ask(AGENT, "apply", 2);
    arrives(&mut ui, &v, vec![next.clone(), prod.clone()]);
    assert_eq!(ui.selected_waiting(), None, "nothing that can be decided");
    let gone = ui.wait_gone.clone().expect("the decided ask kept in place");
    assert_eq!((gone.item, gone.at), (first.clone(), 0));
    let s = screen(&mut ui, &v);
    assert!(s.contains("▸ plan of run"), "{s}");
    assert!(s.contains("no longer waits"), "{s}");
    // More news while it is there: still on it.
    arrives(&mut ui, &v, vec![prod.clone(), next.clone()]);
    assert_eq!(ui.selected_waiting(), None);
    // `a`, `x`, `c` act on nothing, and say so (a decision's refusal is held on screen
    // until Esc, as every refusal of a key that opens a text is).
    for key in [Action::Approve, Action::Reject, Action::CancelRun] {
        assert!(
            !offered(&ui, &v, ui.context(), &key),
            "{key:?} offered on nothing"
        );
        assert!(update(&mut ui, &v, key.clone()).is_empty(), "{key:?}");
        let said = match &ui.dialog {
            Some(Dialog::Refused(t)) => t.clone(),
            None => ui.toast.clone().expect("a toast").text,
            o => panic!("{key:?}: {o:?}"),
        };
        assert!(
            said.contains("plan of run") && said.contains("nothing is selected"),
            "{said}"
        );
        update(&mut ui, &v, Action::Back);
        assert!(ui.dialog.is_none());
    }
    // The operator moves: the row below its place.
    update(&mut ui, &v, Action::Down);
    assert!(ui.wait_gone.is_none());
    assert_eq!(ui.selected_waiting(), Some(&prod));
}

/// A decided item that has not left the list yet stays selected, an arrival above it
/// or not; an item gone while another tab is on screen leaves no greyed row.
#[test]
fn an_arrival_above_keeps_the_selection_on_its_item() {
    let first = ask(AGENT, "plan", 1);
    let prod = gate(PROD, "prod-deploy", "deploy");
    let (v, mut ui) = listed(vec![first.clone(), prod.clone()], 1);
    let next = ask(AGENT, "apply", 2);
    arrives(&mut ui, &v, vec![next.clone(), first.clone(), prod.clone()]);
    assert_eq!(ui.selected_waiting(), Some(&prod));
    // Up from the prod gate after it is gone: the row above its place.
    arrives(&mut ui, &v, vec![next.clone(), first.clone()]);
    assert_eq!(ui.selected_waiting(), None);
    update(&mut ui, &v, Action::Up);
    assert_eq!(ui.selected_waiting(), Some(&first));
    // It comes back (a glitch of the inbox): the selection is on it again.
    arrives(&mut ui, &v, vec![next.clone(), prod.clone()]);
    assert!(ui.wait_gone.is_some());
    arrives(&mut ui, &v, vec![next.clone(), first.clone(), prod.clone()]);
    assert_eq!(ui.selected_waiting(), Some(&first));
    // Another tab on screen: no greyed row.
    update(&mut ui, &v, Action::GoTab(Tab::Runs));
    arrives(&mut ui, &v, vec![next.clone(), prod.clone()]);
    assert!(ui.wait_gone.is_none());
}

/// `a`, `x`, `b`, `m`, `P`, `c` and Enter with the second of two items highlighted:
/// each dialog and command is about that item's run and step, not the first's nor the
/// run on screen.
#[test]
fn every_acting_key_of_the_waiting_tab_acts_on_the_highlighted_item() {
    let other = gate(AGENT, "agent-loop", "plan");
    let prod = gate(PROD, "prod-deploy", "deploy");
    for decision in [Action::Approve, Action::Reject, Action::PushBack] {
        let (v, mut ui) = listed(vec![other.clone(), prod.clone()], 1);
        update(&mut ui, &v, decision.clone());
        match &ui.dialog {
            Some(Dialog::Gate(d)) => {
                assert_eq!(
                    (d.run_id.as_deref(), d.step_id.as_str()),
                    (Some(PROD), "deploy")
                )
            }
            o => panic!("{decision:?}: {o:?}"),
        }
        typed(&mut ui, &v, "checked");
        let mut sent = update(&mut ui, &v, Action::Confirm);
        if sent.is_empty() {
            // An approve with fields reviews them first.
            sent = update(&mut ui, &v, Action::Confirm);
        }
        let step = match &sent[..] {
            [Request::CommandOn { run_id, command }] if run_id == PROD => match command {
                Command::Approve { step, .. }
                | Command::Reject { step, .. }
                | Command::PushBack { step, .. } => step.clone(),
                c => panic!("{decision:?}: {c:?}"),
            },
            s => panic!("{decision:?}: {s:?}"),
        };
        assert_eq!(step, "deploy", "{decision:?}");
    }
    // m on a step to mark.
    let mut mark = prod.clone();
    mark.kind = WaitKind::Mark;
    mark.commands = vec![format!("baton mark {PROD} deploy --state succeeded")];
    let (v, mut ui) = listed(vec![other.clone(), mark], 1);
    update(&mut ui, &v, Action::Mark);
    assert!(
        matches!(&ui.dialog, Some(Dialog::Mark(d)) if d.run_id.as_deref() == Some(PROD) && d.step_id == "deploy"),
        "{:?}",
        ui.dialog
    );
    // P on a held step: its release, naming it and its run's workflow.
    let mut held = prod.clone();
    held.kind = WaitKind::Held;
    let (v, mut ui) = listed(vec![other.clone(), held], 1);
    update(&mut ui, &v, Action::Hold);
    match &ui.dialog {
        Some(Dialog::Hold(d)) => {
            assert_eq!(d.run.as_deref(), Some(PROD));
            assert_eq!(d.steps, vec!["deploy".to_string()]);
            assert!(d.effect.contains("prod-deploy"), "{}", d.effect);
        }
        o => panic!("{o:?}"),
    }
    typed(&mut ui, &v, "ok");
    update(&mut ui, &v, Action::Confirm);
    let sent = update(&mut ui, &v, Action::Confirm);
    assert!(
        matches!(&sent[..], [Request::CommandOn { run_id, command: Command::Release { steps, .. } }]
            if run_id == PROD && steps == &vec!["deploy".to_string()]),
        "{sent:?}"
    );
    // c: the highlighted item's run, named; the cancel goes there.
    let (v, mut ui) = listed(vec![other.clone(), prod.clone()], 1);
    assert!(offered(&ui, &v, ui.context(), &Action::CancelRun));
    update(&mut ui, &v, Action::CancelRun);
    match &ui.dialog {
        Some(Dialog::Confirm(d)) => assert_eq!(d.runs, vec![PROD.to_string()]),
        o => panic!("{o:?}"),
    }
    let s = screen(&mut ui, &v);
    assert!(
        s.contains(&format!("Cancel run {}", short_id(PROD, &ui.run_ids))),
        "{s}"
    );
    let sent = update(&mut ui, &v, Action::Yes);
    assert!(
        matches!(&sent[..], [Request::CommandOn { run_id, command: Command::Cancel { .. } }] if run_id == PROD),
        "{sent:?}"
    );
    // Enter: that item's run opened.
    let (v, mut ui) = listed(vec![other, prod], 1);
    assert_eq!(
        update(&mut ui, &v, Action::Enter),
        vec![Request::OpenRun(PROD.into())]
    );
}

/// Issue 76 point 7: the footer of a held item offers `P release`, which releases it
/// there; a gate's footer does not.
#[test]
fn a_held_item_s_footer_offers_p_release_and_a_gate_s_does_not() {
    let mut held = gate(PROD, "prod-deploy", "deploy");
    held.kind = WaitKind::Held;
    let (v, mut ui) = listed(vec![gate(AGENT, "agent-loop", "plan"), held], 1);
    let last = |ui: &mut UiState| {
        let s = super::run_form_qa_tests::screen(ui, &v, 200, 40);
        s.lines().last().unwrap_or_default().to_string()
    };
    let footer = last(&mut ui);
    assert!(footer.contains("P release"), "{footer}");
    update(&mut ui, &v, Action::Up);
    let footer = last(&mut ui);
    assert!(!footer.contains("P release"), "{footer}");
    assert!(footer.contains("a approve"), "{footer}");
}
