//! What a run keeps of its workflow while it goes on: its steps, what each waits for,
//! when it runs, what it costs, its gate, and what runs without anyone's approval (a
//! compensation, a service's readiness, an idempotent step's re-run, the notifiers),
//! under the same budget, with as many `fallback` alternatives (the run records which
//! one its attempts ran by number). A takeover with an edited file that changed any of these is
//! refused (`session::prepare`); a step's command may change (its approval is then
//! void, by the approval digest).
use super::{Gate, Plan, Step};

/// What changed, and the line of the edited file it is on (1 when it is the file's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub line: usize,
    pub what: String,
}

/// Who decides a gate, as one comparable text: a gate whose approvers, quorum,
/// self-approval, signing or timeout (`on_timeout = "approve"` decides too) changed is
/// another gate. Its prompt is not part of it; approvers are names compared as
/// approvals compare them (`model::actor_key`: trimmed, any case), in any order.
fn gate_policy(gate: Option<&Gate>) -> String {
    let Some(g) = gate else {
        return "no gate".into();
    };
    let mut approvers: Vec<String> = g
        .approvers
        .iter()
        .map(String::as_str)
        .filter_map(baton_model::actor_key)
        .collect();
    approvers.sort();
    approvers.dedup();
    let timeout = match g.timeout {
        Some(t) => format!(
            "timeout {} then {}",
            super::format_duration(t),
            g.on_timeout.as_str()
        ),
        None => "no timeout".into(),
    };
    // What an approval gives: an edit would make recorded inputs mean something else.
    let inputs: Vec<String> = g
        .inputs
        .iter()
        .map(|p| {
            format!(
                "{}: {}{}{}{}{}",
                p.name,
                p.ty.describe(),
                if p.required { " required" } else { "" },
                p.default
                    .as_ref()
                    .map(|d| format!(" default {d:?}"))
                    .unwrap_or_default(),
                p.pattern
                    .as_ref()
                    .map(|r| format!(" matching {}", r.as_str()))
                    .unwrap_or_default(),
                crate::input_choices::written(p)
            )
        })
        .collect();
    // The policy decides at each opening: a run keeps the rules it started with.
    let auto: Vec<String> = g
        .auto
        .iter()
        .enumerate()
        .map(|(k, r)| r.describe(k + 1))
        .collect();
    let auto = if auto.is_empty() {
        String::new()
    } else {
        format!(", auto [{}]", auto.join("; "))
    };
    format!(
        "approvers [{}], quorum {}, self-approval {}, {}, {timeout}, inputs [{}]{auto}",
        approvers.join(", "),
        g.quorum.max(1),
        if g.allow_self_approval {
            "allowed"
        } else {
            "refused"
        },
        if g.signed { "signed" } else { "not signed" },
        inputs.join("; ")
    )
}

/// What a step may not change while its run goes on.
fn step_shape(plan: &Plan, step: &Step) -> String {
    let mut needs: Vec<&str> = step
        .needs
        .iter()
        .filter_map(|&n| plan.steps.get(n).map(|s| s.id.as_str()))
        .collect();
    needs.sort_unstable();
    format!(
        "needs [{}], when {:?}, if {:?}, allow_failure {} {:?} {:?} mark_success {}, alternatives {}, cost {}, compensate {:?}, on_cancel {}, repeat {}, service {}, idempotent {}; gate: {}",
        needs.join(", "),
        step.when,
        step.condition.as_ref().map(|c| &c.text),
        step.allow_failure,
        step.allow_failure_when.as_ref().map(ToString::to_string),
        step.allow_failure_if.as_ref().map(|c| &c.text),
        step.mark_success,
        step.alternatives(),
        step.cost,
        step.compensate,
        step.on_cancel,
        repeat_shape(step),
        step.service.is_some(),
        step.idempotent,
        gate_policy(step.gate.as_deref())
    ) + &revision(plan, step)
}

/// A step's `repeat` as one comparable text: what decides a repetition, and how many
/// (the run's history counts its executions).
fn repeat_shape(step: &Step) -> String {
    match step.repeat.as_deref() {
        None => "none".into(),
        Some(r) => format!(
            "{} {:?} exit_code {:?} limit {:?} interval {:?}",
            r.mode.as_str(),
            r.condition.as_ref().map(|c| &c.text),
            r.exit_codes,
            r.limit,
            r.interval
        ),
    }
}

/// What a push-back of the step's gate runs again, and its rounds: a run keeps the
/// rounds its history counts (issue 44 point 3).
fn revision(plan: &Plan, step: &Step) -> String {
    let Some(g) = step.gate.as_deref().filter(|g| !g.revise.is_empty()) else {
        return String::new();
    };
    let mut ids: Vec<&str> = g
        .revise
        .iter()
        .filter_map(|&n| plan.steps.get(n).map(|s| s.id.as_str()))
        .collect();
    ids.sort_unstable();
    format!(", revise [{}] in {} rounds", ids.join(", "), g.rounds)
}

/// The first way `now` (the edited file) is not the run `started` kept.
pub fn check_kept(started: &Plan, now: &Plan) -> Result<(), Changed> {
    let changed = |line: usize, what: String| Err(Changed { line, what });
    if let Some(is) = now
        .steps
        .iter()
        .find(|s| started.step_index(&s.id).is_none())
    {
        return changed(is.line, format!("step `{}` is new", is.id));
    }
    for was in &started.steps {
        let Some(is) = now.steps.iter().find(|s| s.id == was.id) else {
            return changed(1, format!("step `{}` is gone", was.id));
        };
        let (before, after) = (step_shape(started, was), step_shape(now, is));
        if before != after {
            return changed(
                is.line,
                format!("step `{}` changed (then: {before}; now: {after})", is.id),
            );
        }
    }
    if started.notify != now.notify {
        return changed(1, "its `[[notify]]` commands changed".into());
    }
    if started.budget != now.budget {
        return changed(
            1,
            format!(
                "the budget changed (then: {:?}; now: {:?})",
                started.budget, now.budget
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Plan {
        super::super::load_str(text, std::path::Path::new("w.toml")).unwrap()
    }

    const BASE: &str = r#"
name = "w"
[[step]]
id = "approval"
gate = { approvers = ["Alice", "bob"] }
[[step]]
id = "deploy"
needs = ["approval"]
run = "true"
"#;

    #[test]
    fn an_alternatives_command_may_change_but_not_how_many_there_are() {
        let with = |alts: &str| {
            plan(&BASE.replace(
                "run = \"true\"",
                &format!("run = \"true\"\nfallback = [ {alts} ]"),
            ))
        };
        let base = with("{ run = \"a\" }");
        assert_eq!(check_kept(&base, &with("{ run = \"b\" }")), Ok(()));
        let c = check_kept(&base, &with("{ run = \"a\" }, { run = \"b\" }")).unwrap_err();
        assert!(
            c.what.contains("alternatives 2") && c.what.contains("alternatives 3"),
            "{c:?}"
        );
    }

    #[test]
    fn a_command_or_a_prompt_may_change_and_approvers_are_names() {
        let edited = BASE.replace("run = \"true\"", "run = \"false\"").replace(
            "[\"Alice\", \"bob\"]",
            "[\" BOB\", \"alice\"], prompt = \"sure?\"",
        );
        assert_eq!(check_kept(&plan(BASE), &plan(&edited)), Ok(()));
    }

    #[test]
    fn steps_needs_gates_and_the_budget_are_kept() {
        let base = plan(BASE);
        for (edit, line, what) in [
            (
                BASE.replace("\"deploy\"", "\"deploy2\""),
                6,
                "step `deploy2` is new",
            ),
            (
                BASE.replace("needs = [\"approval\"]\n", ""),
                6,
                "step `deploy` changed",
            ),
            (
                BASE.replace("\"bob\"", "\"carol\""),
                3,
                "step `approval` changed",
            ),
            (
                format!("budget = {{ cost = 1 }}\n{BASE}"),
                1,
                "the budget changed",
            ),
            (
                BASE.replace(
                    "run = \"true\"",
                    "run = \"true\"\nfallback = [ { run = \"false\" } ]",
                ),
                6,
                "step `deploy` changed",
            ),
            (
                BASE.replace(
                    "\"bob\"] }",
                    "\"bob\"], inputs = { model = { type = \"enum\", values = [\"pro\"] } } }",
                ),
                3,
                "step `approval` changed",
            ),
            // A policy rule added (issue 44 point 4): it would decide the next opening.
            (
                BASE.replace(
                    "\"bob\"] }",
                    "\"bob\"], auto = [{ if = \"run.id != ''\", decide = \"reject\" }] }",
                ),
                3,
                "step `approval` changed",
            ),
        ] {
            let c = check_kept(&base, &plan(&edit)).unwrap_err();
            assert!(c.what.starts_with(what), "{c:?}");
            assert_eq!(c.line, line, "{c:?}");
        }
    }
}
