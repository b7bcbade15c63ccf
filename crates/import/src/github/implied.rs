//! GitHub's implied `success()` (and `failure()`) read every job above a job in the
//! dependency chain, not only its needs: with `a` failed, `b` (`needs: a`, `if:
//! always()`) runs, and `c` (`needs: b`) is skipped, as `a` did not succeed. Baton's
//! trigger rules read a step's own needs, so such a job needs every job above it.
use super::Ctx;
use crate::out::Step;

/// The ids of every step above `i` (its needs, theirs, …).
fn above(steps: &[Step], i: usize) -> Vec<String> {
    let mut seen: Vec<String> = vec![];
    let mut todo: Vec<String> = steps[i].needs.clone();
    while let Some(id) = todo.pop() {
        if seen.contains(&id) {
            continue;
        }
        if let Some(s) = steps.iter().find(|s| s.id == id) {
            todo.extend(s.needs.iter().cloned());
        }
        seen.push(id);
    }
    seen
}

/// Add to each job whose rule is GitHub's implied `success()` or `failure()` the jobs
/// above it, when one of them runs whatever happened before it (`always()`,
/// `failure()`): its own success would hide a failure above. `lines`: each step's
/// job line, for the report. The steps form no cycle.
pub(super) fn add_jobs_above(steps: &mut [Step], lines: &[usize], c: &mut Ctx) {
    for i in 0..steps.len() {
        if !matches!(steps[i].when, None | Some("one_failed")) || steps[i].needs.is_empty() {
            continue;
        }
        let all = above(steps, i);
        let hides = all
            .iter()
            .any(|id| steps.iter().any(|s| &s.id == id && s.when.is_some()));
        let extra: Vec<String> = all
            .into_iter()
            .filter(|id| !steps[i].needs.contains(id))
            .collect();
        if !hides || extra.is_empty() {
            continue;
        }
        let mut sorted: Vec<String> = steps
            .iter()
            .map(|s| s.id.clone())
            .filter(|id| extra.contains(id))
            .collect();
        c.report.note(
            lines.get(i).copied().unwrap_or(1),
            format!("job `{}`: GitHub's implied status check", steps[i].id),
            format!(
                "reads every job above it, as GitHub does: it needs {} too (a `needs.*.result` of it lists them)",
                sorted.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            ),
        );
        steps[i].needs.append(&mut sorted);
    }
}
