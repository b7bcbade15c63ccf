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
        if let Some(n) = text("interval_sec")
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|n| *n > 0)
        {
            parts.push(format!("interval = \"{n}s\""));
        }
        for k in ["backoff", "max_interval_sec"] {
            if g(r, k).is_some() {
                self.report.note(
                    l,
                    format!("step `{label}`: `repeat_policy.{k}`"),
                    "left out: baton repeats after the fixed `interval`",
                );
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
