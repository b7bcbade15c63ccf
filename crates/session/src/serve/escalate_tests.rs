use super::*;

const M: i64 = 60_000;

/// A gate opened at T with steps after 15 and 60 minutes: nothing before 15, the first
/// at 15, both at 60; a step on record due but not sent is sent again; a step sent is
/// never sent again; a serve down past both sends both once it looks.
#[test]
fn each_step_of_the_list_is_due_once_its_time_has_come_and_until_it_is_sent() {
    let opened = Timestamp(1_000 * M);
    let at = |m: i64| Timestamp(opened.0 + m * M);
    let afters = [Duration::from_secs(15 * 60), Duration::from_secs(3600)];
    assert_eq!(due(opened, at(14), &afters, &[], &[]), []);
    assert_eq!(due(opened, at(15), &afters, &[], &[]), [(0, Due::Record)]);
    assert_eq!(
        due(opened, at(16), &afters, &[0], &[]),
        [(0, Due::Resend)],
        "recorded due, never sent: a serve died in between"
    );
    assert_eq!(due(opened, at(59), &afters, &[0], &[0]), [], "sent once");
    assert_eq!(due(opened, at(60), &afters, &[0], &[0]), [(1, Due::Record)]);
    assert_eq!(
        due(opened, at(600), &afters, &[], &[]),
        [(0, Due::Record), (1, Due::Record)],
        "down past both: each step once, in order"
    );
    assert_eq!(due(opened, at(600), &afters, &[0, 1], &[0, 1]), []);
}

/// A step's key names the run, the step, the gate's opening and the block's step, so a
/// gate opened again (after a push-back) escalates anew.
#[test]
fn a_key_is_of_one_opening_of_one_gate() {
    let a = key("01r", "deploy", Timestamp(5), 0, 0);
    assert_eq!(a, "01r/deploy/5/0/1");
    assert_ne!(a, key("01r", "deploy", Timestamp(6), 0, 0));
    assert_ne!(a, key("01r", "deploy", Timestamp(5), 0, 1));
}
