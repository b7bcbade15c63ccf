//! Built-in tools (docs/workflow-format.md, "Tools") run inside the engine, without a process:
//! `builtin.noop`, `builtin.sleep` (`DURATION`), `builtin.fail` (`MESSAGE`).
use super::{Finished, KillReason};
use baton_model::mask::Masker;
use baton_model::{StepOutcome, Usage};
use baton_workflow::Builtin;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// `500ms`, `30s`, `10m`, `2h`, `1d` or sums such as `1h30m`, at most 30 days: the
/// workflow's duration syntax (`workflow::parse_duration`), for a value rendered at run time.
pub fn parse_duration(text: &str) -> Option<Duration> {
    baton_workflow::parse_duration(text).ok()
}

/// Runs a builtin. `cancel` resolves when baton stops the step (its reason decides the
/// outcome, as for a process); only `sleep` waits long enough to notice.
pub async fn run_builtin(
    builtin: Builtin,
    with: &BTreeMap<String, String>,
    masker: &Masker,
    cancel: impl Future<Output = KillReason>,
) -> Finished {
    let started = Instant::now();
    let (outcome, stderr_tail) = match builtin {
        Builtin::Noop => (StepOutcome::Exited { exit_code: 0 }, String::new()),
        Builtin::Fail => {
            let message = with.get("MESSAGE").map_or("builtin.fail", String::as_str);
            (
                StepOutcome::Exited { exit_code: 1 },
                masker.mask(message).into_owned(),
            )
        }
        Builtin::Sleep => {
            let given = with.get("DURATION").map_or("", String::as_str);
            match parse_duration(given) {
                None => {
                    let message = format!(
                        "builtin.sleep: DURATION {:?} is not a duration like 500ms, 30s, 10m, 2h or 1d",
                        masker.mask(given)
                    );
                    return Finished::spawn_failed(message, None);
                }
                Some(d) => tokio::select! {
                    _ = tokio::time::sleep(d) => (StepOutcome::Exited { exit_code: 0 }, String::new()),
                    reason = cancel => (reason.outcome(), String::new()),
                },
            }
        }
    };
    Finished {
        outcome,
        duration_ms: crate::stream::duration_ms(started.elapsed()),
        outputs: Vec::new(),
        usage: Usage::default(),
        stderr_tail,
        log_path: None,
        output_errors: Vec::new(),
        cut_output: None,
        log_errors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::pending;

    fn with(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        for bad in [
            "",
            "s",
            "5",
            "1.5s",
            "-1s",
            "5x",
            "99999999999999999999d",
            "31d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn noop_and_fail() {
        let m = Masker::new(["pw".to_string()]);
        let f = run_builtin(Builtin::Noop, &with(&[]), &m, pending()).await;
        assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
        assert_eq!(f.log_path, None);
        let f = run_builtin(
            Builtin::Fail,
            &with(&[("MESSAGE", "bad pw")]),
            &m,
            pending(),
        )
        .await;
        assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 1 });
        assert_eq!(f.stderr_tail, "bad ***");
    }

    #[tokio::test(start_paused = true)]
    async fn sleep_waits_and_can_be_stopped() {
        let m = Masker::default();
        let f = run_builtin(Builtin::Sleep, &with(&[("DURATION", "2s")]), &m, pending()).await;
        assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 });
        assert_eq!(f.duration_ms, 2000);

        let stop = async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            KillReason::Cancel
        };
        let f = run_builtin(Builtin::Sleep, &with(&[("DURATION", "1h")]), &m, stop).await;
        assert_eq!(f.outcome, StepOutcome::Killed);
        assert_eq!(f.duration_ms, 300);

        let timeout = async { KillReason::Timeout };
        let f = run_builtin(Builtin::Sleep, &with(&[("DURATION", "1h")]), &m, timeout).await;
        assert_eq!(f.outcome, StepOutcome::TimedOut);

        let f = run_builtin(
            Builtin::Sleep,
            &with(&[("DURATION", "soon")]),
            &m,
            pending(),
        )
        .await;
        assert!(matches!(f.outcome, StepOutcome::SpawnFailed { .. }));
    }
}
