//! The names the vocabulary's enums are stored, printed and parsed by come from their
//! derives (strum); serde writes them in JSON. Both must say the same word.
use crate::history::AuditAction;
use crate::{ErrorKind, HealthLabel, ProbeKind, RunState, Severity, StepState};
use serde::Serialize;

fn same<T: Serialize + Copy + std::fmt::Debug>(all: &[T], name: impl Fn(T) -> &'static str) {
    for &v in all {
        assert_eq!(
            serde_json::to_value(v).unwrap(),
            serde_json::Value::from(name(v)),
            "{v:?}"
        );
    }
}

#[test]
fn serde_and_strum_name_each_variant_alike_and_parse_back() {
    same(StepState::ALL, StepState::as_str);
    same(RunState::ALL, RunState::as_str);
    same(ErrorKind::ALL, ErrorKind::as_str);
    same(AuditAction::ALL, AuditAction::as_str);
    let severities = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    same(&severities, Severity::as_str);
    let labels = [
        HealthLabel::Healthy,
        HealthLabel::Degraded,
        HealthLabel::Critical,
    ];
    same(&labels, HealthLabel::as_str);
    same(&[ProbeKind::Ready, ProbeKind::Live], ProbeKind::as_str);
    for &s in StepState::ALL {
        assert_eq!(StepState::parse(s.as_str()), Some(s));
    }
    for &s in RunState::ALL {
        assert_eq!(RunState::parse(s.as_str()), Some(s));
    }
    assert_eq!(
        StepState::parse("Succeeded"),
        None,
        "names are case-sensitive"
    );
}

/// `needs.X.result` reads GitHub's four values: every state that has settled maps to
/// one, an allowed failure to `success` (a `continue-on-error` job), the rest to none.
#[test]
fn github_results_cover_every_settled_state() {
    for &s in StepState::ALL {
        let r = s.github_result(false);
        assert!(
            matches!(
                r,
                None | Some("success" | "failure" | "cancelled" | "skipped")
            ),
            "{s}"
        );
        assert_eq!(
            r.is_some(),
            s.is_final()
                || matches!(
                    s,
                    StepState::Ready | StepState::Interrupted | StepState::Compensating
                ),
            "{s}"
        );
    }
    assert_eq!(StepState::Failed.github_result(false), Some("failure"));
    assert_eq!(StepState::Failed.github_result(true), Some("success"));
    assert_eq!(StepState::Rejected.github_result(true), Some("failure"));
    assert_eq!(
        StepState::UpstreamFailed.github_result(false),
        Some("skipped")
    );
    assert_eq!(
        StepState::Interrupted.github_result(false),
        Some("cancelled")
    );
    assert_eq!(StepState::Running.github_result(false), None);
}
