//! Issue 59 point 4 for the answers to store asks (`baton ask`): an answer sent over
//! `baton link` carries a request id as a decision does, kept in the transaction that
//! records it, so that after a drop the console's check by that id says either on the
//! record (with what became of it) or not delivered, never both. Real `baton ask` and
//! `baton link` processes on a real store.
use super::never_both::{HeldLink, Link};
use crate::helpers::*;
use baton::link::wire::Found;
use baton::model::{Command as Cmd, CommandOutcome};
use serde_json::Value;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A store ask (`baton ask`, no run) the link's own account may answer: the asker and
/// the ask's id.
fn asked(env: &Env, prompt: &str) -> (Child, String) {
    let asker = env
        .cmd()
        .args(["ask", "--prompt", prompt, "--allow-self-approval"])
        .args(["--timeout", "120s", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn baton ask");
    let id = wait_until("the ask in the inbox", Duration::from_secs(20), || {
        open_asks(env).into_iter().next()
    });
    (asker, id)
}

/// The ids of the asks the inbox lists open (none while the asker has not made the
/// store yet).
fn open_asks(env: &Env) -> Vec<String> {
    let out = env.run(&["inbox", "--json"]);
    // The asker may make the store between the inbox's look and a look here: the
    // inbox's own answer says whether it found one.
    if !out.status.success() && text(&out.stderr).contains("no baton database") {
        return Vec::new();
    }
    assert!(out.status.success(), "inbox: {}", text(&out.stderr));
    let rows: Value = serde_json::from_slice(&out.stdout).expect("inbox --json");
    rows.as_array()
        .map(|r| {
            r.iter()
                .filter(|w| w["kind"] == "ask")
                .filter_map(|w| w["ask"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn approve(ask: &str, reason: &str) -> Cmd {
    Cmd::Approve {
        step: ask.into(),
        operator: "whoever".into(),
        reason: Some(reason.into()),
        signature: None,
        inputs: Default::default(),
    }
}

/// An answer recorded as its link died (its reply never written) is found by its id on
/// the record, approved: the check does not settle it as not delivered.
#[test]
fn an_asks_answer_done_as_its_link_dies_is_found_on_the_record_by_its_id() {
    let env = Env::new();
    let (asker, ask) = asked(&env, "rotate the keys?");
    let mut dying = Link::open(&env, &[("BATON_FAILPOINT", "link-answered:command")]);
    dying.decide(1, &ask, approve(&ask, "as it dies"), "req-ask-done");
    // Its answer recorded, it dies before writing the reply: the console's drop.
    let died = wait_until(
        "the link killed at the failpoint",
        Duration::from_secs(60),
        || dying.child.try_wait().ok().flatten(),
    );
    assert_eq!(died.signal(), Some(9), "killed at the failpoint");
    let mut check = Link::open(&env, &[]);
    let found = check.found(1, &ask, "req-ask-done");
    let Found::Delivered {
        what,
        outcome: Some(CommandOutcome::Accepted { message }),
    } = found
    else {
        panic!("answered: on the record, approved: {found:?}")
    };
    assert_eq!(what, format!("approve {ask}: as it dies"));
    assert_eq!(message, format!("approved {ask}"));
    let out = wait_child(asker, 60);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the asker was answered: approved"
    );
    assert!(open_asks(&env).is_empty());
    // Asked again: the same word.
    assert!(matches!(
        check.found(2, &ask, "req-ask-done"),
        Found::Delivered { outcome: Some(o), .. } if o.is_accepted()
    ));
    check.end();
}

/// A link holding an answer (its connection cut, its process going on) comes late
/// after the check said not delivered: refused, and the ask is still open, unanswered,
/// as the console was told.
#[test]
fn an_asks_answer_that_comes_late_after_the_check_said_not_delivered_is_refused() {
    let env = Env::new();
    let (mut asker, ask) = asked(&env, "drop the cache?");
    let old = HeldLink::hand_in(&env, &ask, approve(&ask, "late"), "req-ask-late");
    let mut check = Link::open(&env, &[]);
    assert_eq!(check.found(1, &ask, "req-ask-late"), Found::NotDelivered);
    old.comes_late_and_is_refused();
    assert_eq!(
        open_asks(&env),
        std::slice::from_ref(&ask),
        "said not delivered: still open"
    );
    assert!(
        asker.try_wait().expect("the asker").is_none(),
        "the asker still waits"
    );
    assert_eq!(check.found(2, &ask, "req-ask-late"), Found::NotDelivered);
    // Answered now, over a link that stays: on the record, by its own id.
    check.decide(3, &ask, approve(&ask, "now"), "req-ask-now");
    assert!(check.outcome(3).is_accepted());
    check.end();
    let out = wait_child(asker, 60);
    assert_eq!(out.status.code(), Some(0), "approved");
}
