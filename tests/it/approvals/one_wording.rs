//! Issue 40 point 2: whether an approval's inputs fit its gate is decided once, by the
//! core (`Core::approval_inputs`). `baton approve` and the console's approve dialog
//! send the values as typed, and both show the core's refusal (`input_invalid`) in its
//! one wording: neither front end checks the inputs itself.
use crate::helpers::*;
use baton::console::{Action, Dialog, Request, Tab, UiState, update};
use baton::model::{Command, Timestamp};
use baton::session::command::{self, Applied, Delivery};
use baton::store::Store;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const WF: &str = r#"name = "tagged"
[[step]]
id = "ship"
run = "true"
[step.gate]
prompt = "Which tag?"
[step.gate.inputs]
tag = { type = "string", required = true, pattern = '^v\d+$' }
"#;

#[test]
fn the_cli_and_the_console_show_the_cores_one_wording_for_a_bad_input() {
    let env = Env::new();
    let wf = env.workflow("tagged.toml", WF);
    let engine = env.spawn(&["run", wf.to_str().unwrap(), "--headless"]);
    let id = env.wait_run_id();
    env.wait_step(&id, "ship", "waiting_approval", 20);

    // The command line: the engine's core refuses it, exit 2, code and words in JSON...
    let out = env.run(&["approve", &id, "ship", "--input", "tag=1.0", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(v["refused"]["code"], "input_invalid", "{v}");
    let words = v["refused"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        words.contains("input `tag`") && words.contains("does not match the pattern ^v\\d+$"),
        "{words}"
    );
    // ...and the same words for a person.
    let out = env.run(&["approve", &id, "ship", "--input", "tag=1.0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("refused: {words}")),
        "{}",
        text(&out.stderr)
    );

    // The console: its approve dialog sends the value as typed, unchecked...
    let mut store = Store::open(&env.db()).expect("store");
    let view = baton::session::inspect(&store, &id, Timestamp::now()).expect("view");
    let operator = baton::session::os_account().expect("account");
    let mut ui = UiState::new(operator.clone());
    update(&mut ui, &view, Action::GoTab(Tab::Approvals));
    assert!(update(&mut ui, &view, Action::Approve).is_empty());
    assert!(
        matches!(ui.dialog, Some(Dialog::Gate(_))),
        "{:?}",
        ui.dialog
    );
    for c in "1.0".chars() {
        let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        update(&mut ui, &view, Action::Key(key));
    }
    let reqs = update(&mut ui, &view, Action::Confirm);
    let [Request::Command(sent)] = &reqs[..] else {
        panic!("no command sent: {reqs:?}")
    };
    let Command::Approve { step, inputs, .. } = sent else {
        panic!("not an approval: {sent:?}")
    };
    assert_eq!(step, "ship");
    assert_eq!(inputs.get("tag").map(String::as_str), Some("1.0"));
    // ...delivered as the console's service delivers a command on a run another engine
    // drives, and the core's refusal comes back into the dialog in the same words.
    let applied = command::apply(
        &mut store,
        &id,
        sent.clone(),
        &Delivery::Foreground,
        &[],
        command::WAIT,
    )
    .expect("delivered");
    let Applied::ByEngine { outcome, .. } = applied else {
        panic!("the engine driving the run did not answer")
    };
    update(&mut ui, &view, Action::Outcome(outcome));
    match &ui.dialog {
        Some(Dialog::Gate(d)) => assert_eq!(d.error.as_deref(), Some(words.as_str())),
        other => panic!("the dialog did not open again: {other:?}"),
    }
    let toast = ui.toast.clone().map(|t| t.text).unwrap_or_default();
    assert_eq!(toast, format!("✘ refused: {words}"));

    // Nothing was recorded; a right value is approved and the run ends.
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert!(!audit.contains("approval_vote"), "{audit}");
    let out = env.run(&["approve", &id, "ship", "--input", "tag=v1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(engine, 30);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
}
