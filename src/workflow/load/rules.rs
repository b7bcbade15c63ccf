//! A step's trigger rule (`when`) and `allow_failure`, as written.
use super::*;
use crate::workflow::trigger::{Trigger, suggest_rule};

/// What decides whether a step runs once its needs settle.
#[derive(Debug, Clone, Default)]
pub(super) struct RawRules {
    pub when: Trigger,
    pub allow_failure: bool,
}

impl Loader<'_, '_> {
    /// `when` and `allow_failure` of a step with `needs` (a rule over no needs could
    /// never be anything but `all_success`'s "run at once").
    pub(super) fn rules(&mut self, f: &[Entry], label: &str, has_needs: bool) -> RawRules {
        let when = match get(f, "when") {
            Some(n) => match self.string(n, &format!("`when` of {label}")) {
                Some(s) => match Trigger::parse(s) {
                    Some(t) => {
                        if t != Trigger::AllSuccess && !has_needs {
                            self.err(
                                &n.span,
                                format!("{label} has `when = \"{s}\"` but no `needs`"),
                                "a trigger rule decides over the step's needs: add needs = [\"…\"], or remove `when`",
                            );
                        }
                        t
                    }
                    None => {
                        let hint = match suggest_rule(s) {
                            Some(c) => format!("did you mean `{c}`?"),
                            None => "no rule of that meaning is known".to_string(),
                        };
                        let all = Trigger::ALL.map(Trigger::as_str).join(", ");
                        self.err(
                            &n.span,
                            format!("unknown `when` \"{s}\" in {label}"),
                            format!("{hint} (`when` is one of Airflow's trigger rules: {all}; `any_failed` is `one_failed`)"),
                        );
                        Trigger::AllSuccess
                    }
                },
                None => Trigger::AllSuccess,
            },
            None => Trigger::AllSuccess,
        };
        let allow_failure = get(f, "allow_failure")
            .and_then(|n| self.boolean(n, &format!("`allow_failure` of {label}")))
            .unwrap_or(false);
        RawRules {
            when,
            allow_failure,
        }
    }
}
