//! `:` jumps as vim's command line does: to a run by the start of its id, or to a step
//! of the run on screen by its id. What names nothing, or more than one run, is said
//! where it was typed, with the candidates.
use super::actions::{Action, Request, Tab};
use super::state::UiState;
use super::update::{edit_line, toast};
use baton_model::RunView;

/// Where a jump's text leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A step of the run on screen (its index).
    Step(usize),
    /// A run of the store (its whole id).
    Run(String),
}

/// Why a jump's text leads nowhere, said where it was typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JumpError {
    #[error("type a run id (its start is enough) or a step id")]
    Empty,
    #[error("no run id starts with `{0}` and no step is `{0}`")]
    Nothing(String),
    /// `what` (`runs`, `steps`) the text starts, the first few of them listed.
    #[error("{0}")]
    Ambiguous(String),
}

/// How many candidates an ambiguous jump lists.
const LISTED: usize = 4;

/// Resolve `text`: a step id of the run on screen (exact), else a run whose id starts
/// with it (case-insensitive: ids are ULIDs), else a step id that starts with it.
pub fn resolve(
    text: &str,
    view: &RunView,
    runs: &[std::sync::Arc<baton_model::RunSummary>],
) -> Result<Target, JumpError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(JumpError::Empty);
    }
    if let Some(i) = view.step_index(t) {
        return Ok(Target::Step(i));
    }
    let up = t.to_ascii_uppercase();
    let runs: Vec<&str> = runs
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| id.to_ascii_uppercase().starts_with(&up))
        .collect();
    match runs.as_slice() {
        [one] => return Ok(Target::Run((*one).to_string())),
        [] => {}
        many => {
            return Err(ambiguous(
                t,
                "runs",
                many.iter().map(|id| &id[..id.len().min(12)]),
            ));
        }
    }
    let steps: Vec<usize> = (0..view.steps.len())
        .filter(|&i| view.steps[i].id.starts_with(t))
        .collect();
    match steps.as_slice() {
        [one] => Ok(Target::Step(*one)),
        [] => Err(JumpError::Nothing(t.to_string())),
        many => Err(ambiguous(
            t,
            "steps",
            many.iter().map(|&i| view.steps[i].id.as_str()),
        )),
    }
}

fn ambiguous<'a>(t: &str, what: &str, names: impl ExactSizeIterator<Item = &'a str>) -> JumpError {
    let n = names.len();
    let shown: Vec<&str> = names.take(LISTED).collect();
    let more = if n > LISTED {
        format!(", … {} more", n - LISTED)
    } else {
        String::new()
    };
    JumpError::Ambiguous(format!(
        "`{t}` starts {n} {what}: {}{more}; type more of it",
        shown.join(", ")
    ))
}

/// Keys while the `:` prompt is open.
pub(super) fn jump_input(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let Some(text) = ui.jump.as_mut() else {
        return Vec::new();
    };
    match action {
        Action::Back => ui.jump = None,
        Action::Key(k) => edit_line(text, k),
        Action::Confirm => match resolve(text, view, &ui.runs) {
            Err(why) => toast(ui, format!("✘ {why}"), false),
            Ok(Target::Step(i)) => {
                ui.jump = None;
                ui.tab = Tab::Dag;
                ui.selected = i;
                ui.follow = false;
                ui.filter.clear();
            }
            Ok(Target::Run(id)) if id == view.run_id => {
                ui.jump = None;
                ui.tab = Tab::Dag;
            }
            Ok(Target::Run(id)) => {
                ui.jump = None;
                return super::runs::open_run(ui, id);
            }
        },
        _ => {}
    }
    Vec::new()
}
