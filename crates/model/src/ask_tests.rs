use super::*;

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn ask(approvers: &[&str], quorum: u32) -> Ask {
    Ask {
        id: "ask-1".into(),
        run_id: None,
        step_id: None,
        workflow: None,
        prompt: "drop table?".into(),
        inputs: vec![],
        approvers: approvers.iter().map(|s| s.to_string()).collect(),
        quorum,
        allow_self_approval: false,
        signers: None,
        asker: Asker {
            account: "agent".into(),
            holder: "pid 7 on h".into(),
            command: "hook".into(),
        },
        opened_at: T0,
        deadline: Some(T0.add(std::time::Duration::from_secs(60))),
        state: AskState::Open,
        votes: vec![],
        values: None,
        decided_by: None,
        decided_at: None,
        reason: None,
    }
}

fn approve() -> Answer {
    Answer::Approve {
        inputs: BTreeMap::new(),
        reason: None,
    }
}

#[test]
fn the_asking_account_may_not_approve_its_own_ask_but_an_approver_may() {
    let a = ask(&[], 1);
    let e = decide(&a, "AGENT", &approve(), T0, Some(true)).unwrap_err();
    assert_eq!(e.code(), "self_approval");
    // Said as an ask: an ask has an asker, not a run someone started.
    let said = e.to_string();
    assert!(said.contains("`AGENT` asked this"), "{said}");
    assert!(!said.contains("run"), "{said}");
    assert_eq!(
        decide(&a, "alice", &approve(), T0, Some(true)),
        Ok(Outcome::Approved)
    );
}

#[test]
fn an_ask_that_allows_self_approval_takes_the_asker_s_vote_unless_signed() {
    let mut a = ask(&[], 1);
    a.allow_self_approval = true;
    assert_eq!(
        decide(&a, "agent", &approve(), T0, Some(true)),
        Ok(Outcome::Approved)
    );
    a.signers = Some("agent ssh-ed25519 AAAA".into());
    let e = decide(&a, "agent", &approve(), T0, Some(true)).unwrap_err();
    assert_eq!(e.code(), "self_approval");
}

#[test]
fn approvers_and_the_quorum_are_a_gate_s() {
    let mut a = ask(&["alice", "bob"], 2);
    let e = decide(&a, "mallory", &approve(), T0, None).unwrap_err();
    assert_eq!(e.code(), "not_an_approver");
    assert_eq!(
        decide(&a, "alice", &approve(), T0, None),
        Ok(Outcome::Counted {
            votes: 1,
            quorum: 2
        })
    );
    a.votes.push(("alice".into(), None));
    a.values = Some(BTreeMap::new());
    assert_eq!(
        decide(&a, "alice", &approve(), T0, None)
            .unwrap_err()
            .code(),
        "already_approved"
    );
    assert_eq!(
        decide(&a, "bob", &approve(), T0, None),
        Ok(Outcome::Approved)
    );
    let no_reason = Answer::Reject { reason: " ".into() };
    assert_eq!(
        decide(&a, "bob", &no_reason, T0, None).unwrap_err().code(),
        "reason_required"
    );
}

#[test]
fn an_expired_or_abandoned_ask_takes_no_decision() {
    let a = ask(&[], 1);
    let late = T0.add(std::time::Duration::from_secs(61));
    assert_eq!(a.state_at(late, Some(true)), AskState::Expired);
    assert_eq!(a.state_at(T0, Some(false)), AskState::Abandoned);
    assert_eq!(a.state_at(T0, None), AskState::Open);
    let e = decide(&a, "alice", &approve(), T0, Some(false)).unwrap_err();
    assert_eq!(e.code(), "ask_closed");
    assert!(e.to_string().contains("abandoned"), "{e}");
}

#[test]
fn input_specs_parse_with_clear_errors() {
    let v = parse_input("table=string:[a-z_]+").unwrap();
    assert_eq!(
        (v.ty.as_str(), v.pattern.as_deref()),
        ("string", Some("[a-z_]+"))
    );
    assert_eq!(
        parse_input("env=enum:dev|prod").unwrap().values,
        ["dev", "prod"]
    );
    assert!(parse_input("n=int").unwrap().required);
    assert!(
        parse_input("n=float")
            .unwrap_err()
            .to_string()
            .contains("unknown type `float`")
    );
    assert!(
        parse_input("n")
            .unwrap_err()
            .to_string()
            .contains("NAME=TYPE")
    );
    assert!(
        parse_input("n=enum")
            .unwrap_err()
            .to_string()
            .contains("enum:a|b|c")
    );
}

#[test]
fn the_command_line_is_one_bounded_printable_line() {
    let line = command_line(&["sh".into(), "-c".into(), "a\nb\x1b[31m".into()]);
    assert!(!line.contains('\n') && !line.contains('\x1b'), "{line:?}");
    let long = command_line(&["x".repeat(2000)]);
    assert_eq!(long.chars().count(), MAX_COMMAND + 1);
}

/// The commands the inbox prints for an ask work as pasted: its required inputs are in
/// the approve command, as a gate's are (issue 45 point 4).
#[test]
fn an_asks_printed_approve_names_its_required_inputs() {
    let mut a = ask(&[], 1);
    a.inputs = vec![parse_input("table=string:[a-z_]+").unwrap()];
    let w = waiting(&a, "alice", None);
    assert_eq!(
        w.commands,
        [
            "baton approve ask-1 --input table=… --reason …",
            "baton reject ask-1 --reason …"
        ]
    );
}

/// Issue 56: only proven votes decide, each as `decide` would have taken it under the
/// asker's own rules: a vote by a non-approver (the row's approvers rewritten), the
/// asker's own, a second vote by one account, or one past the deadline does not count.
#[test]
fn replay_decides_by_the_askers_rules_on_proven_votes_alone() {
    let rules = ask(&["carol", "dave"], 2);
    let at = |s: u64| T0.add(std::time::Duration::from_secs(s));
    let counted = replay(
        &rules,
        [
            ("bob".to_string(), approve(), at(1)),
            ("agent".to_string(), approve(), at(2)),
            ("carol".to_string(), approve(), at(3)),
            ("carol".to_string(), approve(), at(4)),
        ],
    );
    assert_eq!(counted.state, AskState::Open);
    assert_eq!(counted.votes, [("carol".to_string(), None)]);
    let late = replay(&rules, [("dave".to_string(), approve(), at(61))]);
    assert_eq!(late.state, AskState::Open, "past the deadline");
    let decided = replay(
        &rules,
        [
            ("carol".to_string(), approve(), at(3)),
            ("dave".to_string(), approve(), at(5)),
            (
                "carol".to_string(),
                Answer::Reject {
                    reason: "late".into(),
                },
                at(6),
            ),
        ],
    );
    assert_eq!(decided.state, AskState::Approved);
    assert_eq!(decided.decided_by.as_deref(), Some("dave"));
    assert_eq!(decided.decided_at, Some(at(5)));
    let rejected = replay(
        &rules,
        [(
            "dave".to_string(),
            Answer::Reject {
                reason: "no".into(),
            },
            at(1),
        )],
    );
    assert_eq!(rejected.state, AskState::Rejected);
    assert_eq!(rejected.reason.as_deref(), Some("no"));
}
