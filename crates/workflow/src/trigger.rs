//! Trigger rules (`when`): Airflow's eleven, decided over the states of a step's needs
//! exactly as Airflow's `TriggerRuleDep` decides them (with `flag_upstream_failed`, as
//! its scheduler runs it). The table in docs/workflow/conditions.md is `tests::AIRFLOW`.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    #[default]
    AllSuccess,
    AllFailed,
    AllDone,
    AllSkipped,
    OneSuccess,
    /// Also spelt `any_failed` (baton's older name).
    OneFailed,
    OneDone,
    NoneFailed,
    NoneFailedMinOneSuccess,
    NoneSkipped,
    Always,
}

impl Trigger {
    pub const ALL: [Trigger; 11] = [
        Trigger::AllSuccess,
        Trigger::AllFailed,
        Trigger::AllDone,
        Trigger::AllSkipped,
        Trigger::OneSuccess,
        Trigger::OneFailed,
        Trigger::OneDone,
        Trigger::NoneFailed,
        Trigger::NoneFailedMinOneSuccess,
        Trigger::NoneSkipped,
        Trigger::Always,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::AllSuccess => "all_success",
            Trigger::AllFailed => "all_failed",
            Trigger::AllDone => "all_done",
            Trigger::AllSkipped => "all_skipped",
            Trigger::OneSuccess => "one_success",
            Trigger::OneFailed => "one_failed",
            Trigger::OneDone => "one_done",
            Trigger::NoneFailed => "none_failed",
            Trigger::NoneFailedMinOneSuccess => "none_failed_min_one_success",
            Trigger::NoneSkipped => "none_skipped",
            Trigger::Always => "always",
        }
    }

    /// A rule by its name; `any_failed` is `one_failed`.
    pub fn parse(s: &str) -> Option<Trigger> {
        if s == "any_failed" {
            return Some(Trigger::OneFailed);
        }
        Trigger::ALL.iter().copied().find(|t| t.as_str() == s)
    }

    /// Every accepted spelling, for hints.
    pub fn names() -> Vec<&'static str> {
        let mut v: Vec<&str> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
        v.push("any_failed");
        v
    }

    /// What becomes of a step under this rule, given its needs' states so far.
    pub fn verdict(self, u: Upstream) -> Verdict {
        if u.total == 0 || self == Trigger::Always {
            return Verdict::Run;
        }
        match self.settles(u) {
            Some(v) => v,
            None if self.met(u) => Verdict::Run,
            None => Verdict::Wait,
        }
    }

    /// The state the step takes at once, without waiting for the other needs (Airflow's
    /// `flag_upstream_failed` branch): `Skip` or `UpstreamFailed`, or none. Only a state
    /// no later need can change: `all_success` skips once every need has ended, since
    /// a failure still to come wins over a skip (as Airflow decides the needs ended),
    /// whichever ends first.
    pub fn settles(self, u: Upstream) -> Option<Verdict> {
        use Verdict::{Skip, UpstreamFailed};
        let all_done = u.done >= u.total;
        let failures = u.failed + u.upstream_failed > 0;
        match self {
            Trigger::AllSuccess if failures => Some(UpstreamFailed),
            Trigger::AllSuccess if all_done && u.skipped > 0 => Some(Skip),
            Trigger::AllFailed if u.success + u.skipped > 0 => Some(Skip),
            Trigger::OneSuccess if all_done && u.done == u.skipped => Some(Skip),
            Trigger::OneSuccess if all_done && u.success == 0 => Some(UpstreamFailed),
            Trigger::OneFailed if all_done && !failures => Some(Skip),
            Trigger::OneDone if all_done && u.failed + u.success == 0 => Some(Skip),
            Trigger::NoneFailed | Trigger::NoneFailedMinOneSuccess if failures => {
                Some(UpstreamFailed)
            }
            Trigger::NoneFailedMinOneSuccess if u.skipped == u.total => Some(Skip),
            Trigger::NoneSkipped if u.skipped > 0 => Some(Skip),
            Trigger::AllSkipped if u.success > 0 || failures => Some(Skip),
            _ => None,
        }
    }

    /// Whether the rule is met by these needs (Airflow's passing status).
    pub fn met(self, u: Upstream) -> bool {
        let all_done = u.done >= u.total;
        match self {
            Trigger::AllSuccess => u.success >= u.total,
            Trigger::AllFailed => u.failed + u.upstream_failed >= u.total,
            Trigger::AllDone => all_done,
            Trigger::AllSkipped => u.skipped >= u.total,
            Trigger::OneSuccess => u.success > 0,
            Trigger::OneFailed => u.failed + u.upstream_failed > 0,
            Trigger::OneDone => u.success + u.failed > 0,
            Trigger::NoneFailed | Trigger::NoneFailedMinOneSuccess => {
                u.success + u.skipped >= u.total
            }
            Trigger::NoneSkipped => all_done && u.skipped == 0,
            Trigger::Always => true,
        }
    }

    /// Whether a need that just settled (a success or not) can decide this rule while
    /// other needs are still to settle: the engine looks again at the step only then.
    pub fn decides_early(self, need_succeeded: bool) -> bool {
        match self {
            Trigger::AllDone => false,
            Trigger::AllSuccess => !need_succeeded,
            _ => true,
        }
    }
}

/// The states of a step's needs, counted as Airflow counts its upstream tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Upstream {
    /// Needs in all.
    pub total: usize,
    pub success: usize,
    pub failed: usize,
    pub upstream_failed: usize,
    pub skipped: usize,
    /// Settled needs (any of the above, and the rest of the final states).
    pub done: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not yet: a need it counts is still to settle.
    Wait,
    Run,
    Skip,
    /// A need failed (or was rejected, or is itself upstream_failed).
    UpstreamFailed,
}

/// A misspelt rule's suggestion, only among rules of the same meaning: a word that
/// says "none" never gets one that says "one"/"any", nor "fail" one that says
/// "success" (`none_failed` is not `any_failed`).
pub(crate) fn suggest_rule(word: &str) -> Option<&'static str> {
    let quantifier = |w: &str| {
        ["none", "non", "all", "one", "any"]
            .into_iter()
            .find(|q| w.starts_with(q))
            .map(|q| match q {
                "non" => "none",
                "any" => "one",
                q => q,
            })
    };
    let outcomes = |w: &str| -> Vec<&str> {
        ["fail", "succ", "skip", "done"]
            .into_iter()
            .filter(|o| w.contains(o))
            .collect()
    };
    let (q, o) = (quantifier(word), outcomes(word));
    let names = Trigger::names();
    let same = names
        .iter()
        .copied()
        .filter(|c| q.is_none_or(|q| quantifier(c) == Some(q)) && o.iter().all(|o| c.contains(o)));
    super::diag::suggest(word, same)
}

#[cfg(test)]
mod tests;
