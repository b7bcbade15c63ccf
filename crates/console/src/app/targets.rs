//! What an action is about (the gate, the step, what `y` copies) and whether it would
//! do anything now: the footer and the help offer only what would.
use super::actions::{Action, Hit, Tab};
use super::state::{Overlay, UiState};
use crate::keymap::Context;
use baton_model::{GateView, RunState, RunView, StepState};

/// The step an action in `ctx` is about: the focused step, the selected error's or
/// gate's step, or the step of the error shown in detail.
pub(super) fn target_step(ui: &UiState, view: &RunView, ctx: Context) -> Option<usize> {
    let of_error = |e: usize| {
        view.errors
            .get(e)
            .and_then(|e| e.step.as_deref())
            .and_then(|s| view.step_index(s))
    };
    match ctx {
        Context::Tab(Tab::Dag) | Context::Tab(Tab::Timeline) => ui.focus(view),
        Context::Tab(Tab::Errors) => ui.error_at(view).and_then(of_error),
        Context::Overlay => match ui.overlay {
            Some(Overlay::ErrorDetail(e)) => of_error(e),
            _ => None,
        },
        _ => None,
    }
}

/// The gate an approve or reject in `ctx` is about.
pub(super) fn target_gate<'a>(
    ui: &UiState,
    view: &'a RunView,
    ctx: Context,
) -> Option<&'a GateView> {
    match ctx {
        Context::Tab(Tab::Approvals) => ui.gate_at(view).map(|g| &view.gates[g]),
        Context::Tab(Tab::Dag) => ui
            .focus(view)
            .and_then(|i| view.gates.iter().find(|g| g.step == Some(i))),
        _ => None,
    }
}

/// Actions that change a run: none of them in a read-only console.
pub(crate) fn acts(action: &Action) -> bool {
    matches!(
        action,
        Action::Approve
            | Action::Reject
            | Action::PushBack
            | Action::Retry
            | Action::RetryFailed
            | Action::Mark
            | Action::Hold
            | Action::Note
            | Action::Fork
            | Action::CancelRun
            | Action::Resume
            | Action::Delete
            | Action::Pause
            | Action::Trigger
            | Action::NewRun
    )
}

/// What `y` copies in `ctx`: a name for the toast and the text. The full run id (the
/// screen shows 8 characters), the step id, an error with its suggestion, an audit row.
pub(crate) fn copy_target(ui: &UiState, view: &RunView, ctx: Context) -> Option<(String, String)> {
    match ctx {
        Context::Tab(Tab::Dag) | Context::Tab(Tab::Timeline) => ui
            .focus(view)
            .map(|i| ("step id".to_string(), view.steps[i].id.clone())),
        Context::Tab(Tab::Approvals) => {
            target_gate(ui, view, ctx).map(|g| ("gate".to_string(), g.step_id.clone()))
        }
        Context::Tab(Tab::Errors) => ui.error_at(view).map(|e| &view.errors[e]).map(|e| {
            let mut text = format!(
                "{} {} {}: {}",
                e.severity.as_str().to_uppercase(),
                e.kind.as_str(),
                e.step
                    .as_deref()
                    .map_or("run".to_string(), |s| format!("{s}#{}", e.attempt)),
                e.message
            );
            if !e.suggestion.is_empty() {
                text.push_str(&format!("\nsuggestion: {}", e.suggestion));
            }
            ("error".to_string(), text)
        }),
        Context::Tab(Tab::Audit) => ui.audit_at(view).map(|a| &view.audit[a]).map(|a| {
            let mut text = format!(
                "{} {} {} {}",
                a.at.to_rfc3339(),
                a.actor,
                a.action,
                a.step.as_deref().unwrap_or("–")
            );
            if let Some(r) = &a.reason {
                text.push_str(&format!(" “{r}”"));
            }
            if !a.details.is_empty() {
                text.push_str(&format!(" · {}", a.details));
            }
            ("audit entry".to_string(), text)
        }),
        Context::Tab(Tab::Waiting) => ui
            .selected_waiting()
            .map(|w| ("run id".to_string(), w.run_id.clone())),
        Context::Tab(Tab::Schedules) => super::schedules::copy_target(ui),
        Context::Tab(Tab::Runs) => ui
            .selected_run(ui.store_clock(view))
            .map(|r| ("run id".to_string(), r.id.clone())),
        Context::Log => {
            let log = ui.log.as_ref()?;
            let text = |i: usize| log.line(i).map(crate::output::plain);
            if let Some(m) = log.matched
                && let Some(t) = text(m)
            {
                return Some((format!("log line {}", m + 1), t));
            }
            // The lines the last frame drew.
            let shown: Vec<String> = ui
                .hits
                .drawn()
                .filter_map(|h| match h {
                    Hit::LogLine(i) => text(i),
                    _ => None,
                })
                .collect();
            (!shown.is_empty()).then(|| {
                (
                    format!(
                        "the log on screen ({})",
                        crate::views::common::count(shown.len(), "line", "lines")
                    ),
                    shown.join("\n"),
                )
            })
        }
        _ => None,
    }
}

/// The footer's word for `action` in `ctx` where what is selected changes what the key
/// does: `P` on a held or frozen step, or a run with holds only, releases; in the quit
/// dialog `y` interrupts, `d` detaches and `n` stays (its buttons' words).
pub(crate) fn hint_word(
    ui: &UiState,
    view: &RunView,
    ctx: Context,
    action: &Action,
) -> Option<&'static str> {
    if ctx == Context::Confirm && quitting(ui) {
        return match action {
            Action::Yes | Action::Detach => Some("detach"),
            Action::Interrupt => Some("interrupt"),
            Action::No => Some("stay"),
            _ => None,
        };
    }
    if ctx == Context::Overlay && *action == Action::Log && ui.overlay == Some(Overlay::ActionLog) {
        return Some("output");
    }
    // `D` marks first (its word, `diff`), unmarks the marked run, diffs on another.
    if (action, ctx) == (&Action::Diff, Context::Tab(Tab::Runs)) {
        let selected = ui.selected_run(ui.store_clock(view)).map(|r| &r.id);
        return match &ui.diff_mark {
            None => None,
            Some(m) if Some(m) == selected => Some("unmark"),
            Some(_) => Some("diff with ◆"),
        };
    }
    let releases = match (action, ctx) {
        (Action::Hold, Context::Tab(Tab::Dag)) => {
            target_step(ui, view, ctx).is_some_and(|i| view.steps[i].actions.release)
        }
        (Action::Hold, Context::Tab(Tab::Runs)) => ui
            .selected_run(ui.store_clock(view))
            .is_some_and(|r| r.id == view.run_id && view.actions.release && !view.actions.hold),
        _ => false,
    };
    releases.then_some("release")
}

/// The quit dialog is open (three buttons: Stay, Detach, Interrupt).
/// Whether `f` (retry --failed) is offered for a step in this state: failed, or
/// cancelled (by fail-fast). A hint: which steps run again is the core's answer. The
/// match names every state, so a new one is decided here.
fn retried_by_f(state: StepState) -> bool {
    use StepState::*;
    match state {
        Failed | Cancelled => true,
        Pending | WaitingApproval | Queued | Running | Ready | RetryWait | Succeeded | Skipped
        | UpstreamFailed | Rejected | Interrupted | Compensating | Compensated
        | CompensationFailed | Held => false,
    }
}

fn quitting(ui: &UiState) -> bool {
    matches!(&ui.dialog, Some(super::dialogs::Dialog::Confirm(d)) if d.what == super::dialogs::ConfirmWhat::Quit)
}

/// Whether `action` in `ctx` would do something now: commands only where the view says
/// the engine accepts them. The footer and the help offer only these keys.
pub fn offered(ui: &UiState, view: &RunView, ctx: Context, action: &Action) -> bool {
    if ui.readonly && acts(action) {
        return false;
    }
    if let Action::User(i) = action {
        return super::user_actions::offered(ui, view, *i);
    }
    // The Waiting tab's own keys and the global ones offered on it.
    if ctx == Context::Tab(Tab::Waiting)
        || (ctx == Context::Global && ui.context() == Context::Tab(Tab::Waiting))
    {
        return super::waiting::offered(ui, action);
    }
    if ctx == Context::Tab(Tab::Schedules)
        || (ctx == Context::Global && ui.context() == Context::Tab(Tab::Schedules))
    {
        return super::schedules::offered(ui, action);
    }
    if ctx == Context::GateDialog
        && let Some(super::dialogs::Dialog::Gate(d)) = &ui.dialog
    {
        return d.offers(action);
    }
    if ctx == Context::RunForm
        && let Some(super::dialogs::Dialog::RunForm(d)) = &ui.dialog
    {
        return d.offers(action);
    }
    if ctx == Context::ForkForm
        && let Some(super::dialogs::Dialog::Fork(d)) = &ui.dialog
    {
        return d.offers(action);
    }
    match action {
        Action::Mark => target_step(ui, view, ctx).is_some_and(|i| {
            let a = view.steps[i].actions;
            a.mark_succeeded || a.mark_failed
        }),
        Action::Log if ctx == Context::Overlay => match ui.overlay {
            Some(Overlay::ErrorDetail(_)) => true,
            Some(Overlay::ActionLog) => !ui.user_runs.is_empty(),
            _ => false,
        },
        Action::Approve => {
            target_gate(ui, view, ctx).is_some_and(|g| g.actions.approve || g.actions.raise_budget)
        }
        Action::Reject => target_gate(ui, view, ctx).is_some_and(|g| g.actions.reject),
        Action::PushBack => target_gate(ui, view, ctx).is_some_and(|g| g.actions.push_back),
        Action::Retry => target_step(ui, view, ctx).is_some_and(|i| view.steps[i].actions.retry),
        Action::Hold if ctx == Context::Tab(Tab::Dag) => {
            target_step(ui, view, ctx).is_some_and(|i| {
                let a = view.steps[i].actions;
                a.hold || a.release
            })
        }
        // Only the quit dialog has a Detach button.
        Action::Detach | Action::Interrupt => quitting(ui),
        // A hint only: what a fork does, or why not, is the core's answer to `F`.
        Action::Fork => target_step(ui, view, ctx).is_some() && view.state.is_final(),
        // On the DAG the focused step, on the Runs tab the highlighted run.
        Action::Note if ctx == Context::Tab(Tab::Dag) => {
            !view.run_id.is_empty() && target_step(ui, view, ctx).is_some()
        }
        Action::Note => ui.selected_run(ui.store_clock(view)).is_some(),
        Action::Expand => super::fan::offered(view, target_step(ui, view, ctx)),
        // On the Runs tab, the highlighted run (as `runs::ask_cancel` decides).
        Action::CancelRun if ui.context() == Context::Tab(Tab::Runs) => ui
            .selected_run(ui.store_clock(view))
            .is_some_and(|r| match r.id == view.run_id {
                true => view.actions.cancel,
                false => !r.state.is_final(),
            }),
        Action::CancelRun => view.actions.cancel,
        // A hint only: what runs again, or why nothing, is the core's answer to `f`.
        Action::RetryFailed if ctx == Context::Tab(Tab::Dag) => {
            view.steps.iter().any(|s| retried_by_f(s.state))
        }
        Action::RetryFailed => ui
            .selected_run(ui.store_clock(view))
            .is_some_and(|r| !matches!(r.state, RunState::Succeeded | RunState::Skipped)),
        Action::Copy => copy_target(ui, view, ctx).is_some(),
        Action::Resume => ui
            .selected_run(ui.store_clock(view))
            .is_some_and(|r| r.state == RunState::Interrupted),
        Action::Delete => ui
            .selected_run(ui.store_clock(view))
            .is_some_and(|r| !ui.driven.contains(&r.id) && r.driven_by.is_none()),
        _ => true,
    }
}
