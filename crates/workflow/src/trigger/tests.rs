use super::*;

/// One case of Airflow's `tests/ti_deps/deps/test_trigger_rule_dep.py` (those about
/// trigger rules; setup/teardown and mapped tasks have no counterpart here): the
/// rule, the needs' counts (success, skipped, failed, upstream_failed, done, needs in
/// all), whether the state is set at once (`flag_upstream_failed`), and what Airflow
/// asserts: the rule passes, and the state it sets (if any).
struct Case {
    test: &'static str,
    rule: Trigger,
    counts: [usize; 6],
    flag: bool,
    passes: bool,
    sets: Option<Verdict>,
}

const fn case(
    test: &'static str,
    rule: Trigger,
    counts: [usize; 6],
    flag: bool,
    passes: bool,
    sets: Option<Verdict>,
) -> Case {
    Case {
        test,
        rule,
        counts,
        flag,
        passes,
        sets,
    }
}

use Trigger::*;
use Verdict::Skip;

/// The table in docs/workflow/conditions.md ("Trigger rules, as Airflow's tests have them").
const AIRFLOW: &[Case] = &[
    case(
        "one_success_tr_success",
        OneSuccess,
        [1, 2, 3, 2, 2, 0],
        false,
        true,
        None,
    ),
    case(
        "one_success_tr_failure",
        OneSuccess,
        [0, 2, 2, 2, 2, 0],
        false,
        false,
        None,
    ),
    case(
        "one_failure_tr_failure",
        OneFailed,
        [2, 0, 0, 0, 2, 0],
        false,
        false,
        None,
    ),
    case(
        "one_failure_tr_success",
        OneFailed,
        [0, 2, 2, 0, 2, 0],
        false,
        true,
        None,
    ),
    case(
        "one_failure_tr_success_no_failed",
        OneFailed,
        [0, 2, 0, 2, 2, 0],
        false,
        true,
        None,
    ),
    case(
        "one_done_tr_success",
        OneDone,
        [2, 0, 0, 0, 2, 0],
        false,
        true,
        None,
    ),
    case(
        "one_done_tr_success_with_failed",
        OneDone,
        [0, 0, 2, 0, 2, 0],
        false,
        true,
        None,
    ),
    case(
        "one_done_tr_skip",
        OneDone,
        [0, 2, 0, 0, 2, 0],
        false,
        false,
        None,
    ),
    case(
        "one_done_tr_upstream_failed",
        OneDone,
        [0, 0, 0, 2, 2, 0],
        false,
        false,
        None,
    ),
    case(
        "all_success_tr_success",
        AllSuccess,
        [1, 0, 0, 0, 1, 1],
        false,
        true,
        None,
    ),
    case(
        "all_success_tr_failure",
        AllSuccess,
        [1, 0, 1, 0, 2, 2],
        false,
        false,
        None,
    ),
    case(
        "all_success_tr_skip[True]",
        AllSuccess,
        [1, 1, 0, 0, 2, 2],
        true,
        false,
        Some(Skip),
    ),
    case(
        "all_success_tr_skip[False]",
        AllSuccess,
        [1, 1, 0, 0, 2, 2],
        false,
        false,
        None,
    ),
    case(
        "none_failed_tr_success[True]",
        NoneFailed,
        [1, 1, 0, 0, 2, 2],
        true,
        true,
        None,
    ),
    case(
        "none_failed_tr_success[False]",
        NoneFailed,
        [1, 1, 0, 0, 2, 2],
        false,
        true,
        None,
    ),
    case(
        "none_failed_tr_failure",
        NoneFailed,
        [1, 1, 1, 0, 3, 3],
        false,
        false,
        None,
    ),
    case(
        "none_failed_min_one_success_tr_success",
        NoneFailedMinOneSuccess,
        [1, 1, 0, 0, 2, 2],
        false,
        true,
        None,
    ),
    case(
        "none_failed_min_one_success_tr_skipped",
        NoneFailedMinOneSuccess,
        [0, 2, 0, 0, 2, 2],
        true,
        true,
        Some(Skip),
    ),
    case(
        "none_failed_min_one_success_tr_failure",
        NoneFailedMinOneSuccess,
        [1, 1, 1, 0, 3, 3],
        false,
        false,
        None,
    ),
    case(
        "all_failed_tr_success",
        AllFailed,
        [0, 0, 2, 0, 2, 2],
        false,
        true,
        None,
    ),
    case(
        "all_failed_tr_failure",
        AllFailed,
        [2, 0, 0, 0, 2, 2],
        false,
        false,
        None,
    ),
    case(
        "all_done_tr_success",
        AllDone,
        [2, 0, 0, 0, 2, 2],
        false,
        true,
        None,
    ),
    case(
        "all_skipped_tr_failure",
        AllSkipped,
        [1, 0, 0, 0, 1, 1],
        false,
        false,
        None,
    ),
    case(
        "all_skipped_tr_success[True]",
        AllSkipped,
        [0, 3, 0, 0, 3, 3],
        true,
        true,
        None,
    ),
    case(
        "all_skipped_tr_success[False]",
        AllSkipped,
        [0, 3, 0, 0, 3, 3],
        false,
        true,
        None,
    ),
    case(
        "all_done_tr_failure",
        AllDone,
        [1, 0, 0, 0, 1, 2],
        false,
        false,
        None,
    ),
    case(
        "none_skipped_tr_success[True]",
        NoneSkipped,
        [2, 0, 1, 0, 3, 3],
        true,
        true,
        None,
    ),
    case(
        "none_skipped_tr_success[False]",
        NoneSkipped,
        [2, 0, 1, 0, 3, 3],
        false,
        true,
        None,
    ),
    case(
        "none_skipped_tr_failure[True]",
        NoneSkipped,
        [1, 1, 0, 0, 2, 2],
        true,
        false,
        Some(Skip),
    ),
    case(
        "none_skipped_tr_failure[False]",
        NoneSkipped,
        [1, 1, 0, 0, 2, 2],
        false,
        false,
        None,
    ),
    case(
        "none_skipped_tr_failure_empty",
        NoneSkipped,
        [0, 0, 0, 0, 0, 1],
        false,
        false,
        None,
    ),
];

fn upstream(c: [usize; 6]) -> Upstream {
    Upstream {
        success: c[0],
        skipped: c[1],
        failed: c[2],
        upstream_failed: c[3],
        done: c[4],
        total: c[5],
    }
}

#[test]
fn airflow_trigger_rule_tests_hold() {
    for c in AIRFLOW {
        let u = upstream(c.counts);
        // Airflow evaluates the state first (when flagged), then whether the rule passes.
        let sets = if c.flag { c.rule.settles(u) } else { None };
        assert_eq!(sets, c.sets, "{}: state set", c.test);
        assert_eq!(c.rule.met(u), c.passes, "{}: passes", c.test);
    }
}

#[test]
fn no_needs_and_always_run() {
    // test_no_upstream_tasks, test_always_tr
    assert_eq!(AllDone.verdict(Upstream::default()), Verdict::Run);
    let running = Upstream {
        total: 2,
        ..Default::default()
    };
    assert_eq!(Always.verdict(running), Verdict::Run);
}

#[test]
fn verdicts_on_a_chain_with_a_failure() {
    // A failure handler (`one_failed`) fires on the first failure, without waiting.
    let one_failed = Upstream {
        total: 3,
        failed: 1,
        done: 1,
        ..Default::default()
    };
    assert_eq!(OneFailed.verdict(one_failed), Verdict::Run);
    assert_eq!(AllSuccess.verdict(one_failed), Verdict::UpstreamFailed);
    assert_eq!(AllDone.verdict(one_failed), Verdict::Wait);
    // upstream_failed counts as a failure.
    let uf = Upstream {
        total: 1,
        upstream_failed: 1,
        done: 1,
        ..Default::default()
    };
    assert_eq!(OneFailed.verdict(uf), Verdict::Run);
    assert_eq!(AllSuccess.verdict(uf), Verdict::UpstreamFailed);
    assert_eq!(NoneFailed.verdict(uf), Verdict::UpstreamFailed);
    // one_success waits while a need may still succeed, then fails upstream.
    let one_failed_of_two = Upstream {
        total: 2,
        failed: 1,
        done: 1,
        ..Default::default()
    };
    assert_eq!(OneSuccess.verdict(one_failed_of_two), Verdict::Wait);
    let both_failed = Upstream {
        failed: 2,
        done: 2,
        ..one_failed_of_two
    };
    assert_eq!(OneSuccess.verdict(both_failed), Verdict::UpstreamFailed);
}

#[test]
fn names_parse_and_any_failed_is_one_failed() {
    for t in Trigger::ALL {
        assert_eq!(Trigger::parse(t.as_str()), Some(t));
    }
    assert_eq!(Trigger::parse("any_failed"), Some(OneFailed));
    assert_eq!(Trigger::parse("nope"), None);
}

#[test]
fn hints_keep_the_meaning() {
    assert_eq!(suggest_rule("none_faild"), Some("none_failed"));
    assert_eq!(suggest_rule("all_sucess"), Some("all_success"));
    assert_eq!(suggest_rule("any_success"), Some("one_success"));
    assert_eq!(suggest_rule("one_fail"), Some("one_failed"));
    // Never the opposite: "none" is not "any"/"one", "failed" is not "success".
    for typo in ["none_fialed", "non_failed", "nonefailed", "none_failure"] {
        let s = suggest_rule(typo);
        assert!(
            s.is_none_or(|s| s.starts_with("none_failed")),
            "{typo} -> {s:?}"
        );
    }
    assert_ne!(suggest_rule("all_failed_x"), Some("all_success"));
}
