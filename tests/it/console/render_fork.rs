//! Snapshots of the fork dialog (issue 43 point 4), drawn with the render module's
//! scenarios: `F` on a finished run's step, then the session's answer, the core's plan
//! of the fork (as `baton fork --dry-run` gives it) or its refusal.
use super::render::{Setup, act, ui};
use baton::console::fixtures;
use baton::console::{Action, ForkPreview, UiState};
use baton::model::{Refusal, RunView, StepState};

/// What the session answers to `F` (the core's plan of a fork of `v` from `rerun[0]`).
fn fork_plan(v: &RunView, rerun: &[&str], reused: &[&str]) -> ForkPreview {
    let ids = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    ForkPreview {
        run: v.run_id.clone(),
        step: rerun[0].to_string(),
        rerun: ids(rerun),
        reused: ids(reused),
        starter: None,
        workflow: v.workflow.clone(),
        params: Vec::new(),
    }
}

/// `F` on `step`, then the session's answer to it.
fn fork_answer(v: &RunView, ui: &mut UiState, step: &str, result: Result<ForkPreview, Refusal>) {
    ui.follow = false;
    ui.selected = v.step_index(step).unwrap_or(0);
    let fork = Action::ForkPlanned {
        run_id: v.run_id.clone(),
        step: step.to_string(),
        result: result.map(Box::new),
    };
    act(v, ui, &[Action::Fork, fork]);
}

pub(super) fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        // Issue 43 point 4: `F` on a finished run's step asks the core what a fork
        // would do, and shows its plan before it forks.
        ("fork_dialog", || {
            let v = fixtures::finished_failed();
            let mut u = ui();
            let plan = fork_plan(
                &v,
                &[
                    "unit-tests",
                    "package",
                    "deploy-staging",
                    "deploy-prod",
                    "smoke-prod",
                    "announce",
                    "page-oncall",
                    "publish-crate",
                ],
                &[
                    "checkout",
                    "build",
                    "lint",
                    "integration-tests",
                    "docs",
                    "sbom",
                ],
            );
            fork_answer(&v, &mut u, "unit-tests", Ok(plan));
            (v, u)
        }),
        // Issue 56: another account's run in a group store: the dialog says whose
        // record the fork runs; confirming it is `baton fork --from-run-of`.
        ("fork_dialog_of_anothers_run", || {
            let v = fixtures::finished_failed();
            let mut u = ui();
            let mut plan = fork_plan(&v, &["deploy-prod", "smoke-prod"], &["checkout", "build"]);
            plan.starter = Some("bob".into());
            fork_answer(&v, &mut u, "deploy-prod", Ok(plan));
            (v, u)
        }),
        // …or the core's refusal of it, in its words: deploy-prod's upstream docs
        // failed in the run (it would never run in the fork).
        ("fork_refused", || {
            let v = fixtures::finished_failed();
            let mut u = ui();
            let refusal = Refusal::ForkUpstreamNotSucceeded {
                run: v.run_id.clone(),
                step: "deploy-prod".into(),
                upstream: "docs".into(),
                state: StepState::Failed,
            };
            fork_answer(&v, &mut u, "deploy-prod", Err(refusal));
            (v, u)
        }),
    ]
}
