//! A Dagu step's `repeat_policy` as baton's `repeat`.
use super::{Dag, g, gl};
use crate::out::Step;
use crate::yaml::{Node, Value};

impl Dag<'_> {
    /// `repeat_policy`: `repeat` (`while`, `until`, or `true`: while), a `condition`
    /// over the step's own `output` with `expected` (Dagu infers `until` from them),
    /// `exit_code`, `limit`, `interval_sec`. What does not map is reported, and the
    /// step then runs once.
    pub(super) fn repeat(&mut self, s: &Node, st: &mut Step, label: &str) {
        let Some(r) = g(s, "repeat_policy") else {
            return;
        };
        let l = gl(s, "repeat_policy").unwrap_or(r.line);
        let what = format!("step `{label}`: `repeat_policy`");
        let text = |k: &str| g(r, k).and_then(Node::text);
        let cond = text("condition");
        let expected = text("expected");
        let codes: Vec<String> = match g(r, "exit_code").map(|n| &n.v) {
            Some(Value::Seq(items)) => items.iter().filter_map(Node::text).collect(),
            _ => text("exit_code").into_iter().collect(),
        };
        let until = match text("repeat").as_deref() {
            Some("until") => true,
            Some("while" | "true") => false,
            Some(other) => {
                self.report.note(
                    l,
                    what,
                    format!("`repeat: {other}` is neither `while` nor `until`: the step runs once"),
                );
                return;
            }
            None => cond.is_some() && expected.is_some(),
        };
        let mut parts = vec![];
        match (&cond, codes.is_empty()) {
            (Some(c), _) => {
                let Some(test) = self.own_output_test(st, c, expected.as_deref()) else {
                    self.report.note(l, what, format!("the condition `{c}` is not this step's `output` compared with `expected`: baton's `repeat` reads values, it never runs a command; the step runs once"));
                    return;
                };
                parts.push(format!(
                    "{} = {}",
                    if until { "until" } else { "while" },
                    crate::out::q(&test)
                ));
            }
            (None, false) if codes.iter().all(|c| c.parse::<u8>().is_ok()) => {
                let key = if until {
                    "until_exit_code"
                } else {
                    "exit_code"
                };
                parts.push(format!("{key} = [{}]", codes.join(", ")));
            }
            (None, false) => {
                self.report.note(l, what, "an `exit_code` that is not an exit code 0-255 does not map: the step runs once");
                return;
            }
            (None, true) if !until => {
                // `repeat: true` alone: Dagu runs it again after every execution, to its limit.
                parts.push("exit_code = [0]".into());
            }
            (None, true) => {
                self.report.note(
                    l,
                    what,
                    "`repeat: until` without a condition: the step runs once",
                );
                return;
            }
        }
        if let Some(n) = text("limit")
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|n| *n > 0)
        {
            parts.push(format!("limit = {n}"));
        }
        let interval = text("interval_sec")
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|n| *n > 0);
        let factor = match text("backoff").as_deref() {
            None | Some("false") => None,
            Some("true") => Some(2.0),
            Some(f) => f.parse::<f64>().ok().filter(|f| *f > 0.0),
        };
        match (interval, factor, st.run.take()) {
            (Some(i), Some(f), Some(run)) => {
                let max = text("max_interval_sec")
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(0);
                st.run = Some(backoff_wait(&run, i, f, max));
                self.report.note(l, format!("step `{label}`: `repeat_policy.backoff`"), format!("each repetition first waits {i}s x {f}^(executions done), at most `max_interval_sec`, as Dagu waits: inside the step, from $BATON_ATTEMPT (a `retry_policy`'s attempts count too), so the wait is part of the execution's time and `timeout`"));
            }
            (i, _, run) => {
                st.run = run;
                if let Some(n) = i {
                    parts.push(format!("interval = \"{n}s\""));
                }
                if g(r, "backoff").is_some() && text("backoff").as_deref() != Some("false") {
                    self.report.note(l, format!("step `{label}`: `repeat_policy.backoff`"), "left out: baton repeats after the fixed `interval` (a backoff needs `interval_sec` and a command)");
                }
            }
        }
        st.repeat = Some(parts.join(", "));
    }

    /// `$VAR` or `${VAR}`, the step's own `output`, compared with `expected`
    /// (`re:` a pattern), as the `if` language says it.
    fn own_output_test(&self, st: &Step, cond: &str, expected: Option<&str>) -> Option<String> {
        let name = cond.trim().strip_prefix('$')?;
        let name = name
            .strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(name);
        let exp = expected?;
        if !st.outputs.iter().any(|o| o == name) || exp.contains(['\'', '"']) {
            return None;
        }
        let read = format!("steps.{}.outputs.{name}", st.id);
        Some(match exp.strip_prefix("re:") {
            Some(re) => format!("matches({read}, '^(?:{re})$')"),
            None => format!("{read} == '{exp}'"),
        })
    }
}

/// `run` after Dagu's wait before a repetition: `interval` x `factor`^(executions
/// done), at most `max` (0: no bound); none before the first execution.
fn backoff_wait(run: &str, interval: u64, factor: f64, max: u64) -> String {
    format!(
        "n=${{BATON_ATTEMPT:-1}}\nif [ \"$n\" -gt 1 ]; then\n  sleep \"$(awk -v n=\"$n\" 'BEGIN {{ d = {interval} * {factor} ^ (n - 1); if ({max} > 0 && d > {max}) d = {max}; printf \"%.3f\", d }}')\"\nfi\n{run}"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_backoff_waits_inside_the_step_from_its_attempt() {
        let w = super::backoff_wait("echo hi", 1, 2.0, 5);
        assert!(
            w.contains("d = 1 * 2 ^ (n - 1); if (5 > 0 && d > 5) d = 5"),
            "{w}"
        );
        assert!(w.ends_with("fi\necho hi"), "{w}");
    }
}
