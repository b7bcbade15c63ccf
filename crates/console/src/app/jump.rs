//! `:` jumps as vim's and k9s' command lines do (issue 45 point 7): a command (`q`,
//! `quit`, `help`), a tab by its name (`runs`, `gates`, `waiting`; `runs state:failed`
//! opens Runs with that filter), a workflow by its name (the Runs tab filtered to it),
//! a run by the start of its id, or a step of the run on screen by its id; `run FILE`
//! opens the run form of a workflow file (`app::run_form`). `Tab`
//! completes what is typed to the longest start the candidates share. What names
//! nothing, or more than one run, is said where it was typed, with the candidates.
use super::actions::{Action, Request, Tab};
use super::state::UiState;
use super::update::{edit_line, toast};
use baton_model::RunView;

/// Where a jump's text leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// A step of the run on screen (its index).
    Step(usize),
    /// A run of the store (its whole id).
    Run(String),
    /// A tab, and the filter its list opens with (`runs state:failed`).
    Tab(Tab, String),
    /// A workflow's runs (the Runs tab filtered to it).
    Workflow(String),
    /// `run FILE`: the run form of the workflow in that file.
    RunFile(String),
    /// `:stores`: each store of a console over several, with its state.
    Stores,
    Quit,
    Help,
}

/// A tab by the names `:` takes (its title, its short title).
fn tab_named(word: &str) -> Option<Tab> {
    let w = word.to_ascii_lowercase();
    Tab::ALL
        .iter()
        .copied()
        .find(|t| t.title().to_ascii_lowercase() == w || t.spec().names.contains(&w.as_str()))
}

/// Everything `:` takes whole, for completion: commands, tab names, workflows, step ids.
fn names<'a>(
    view: &'a RunView,
    runs: &'a [std::sync::Arc<baton_model::RunSummary>],
) -> Vec<String> {
    let mut out: Vec<String> = ["q", "quit", "help", "run", "stores"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    out.extend(Tab::ALL.iter().map(|t| t.title().to_ascii_lowercase()));
    out.extend(
        Tab::ALL
            .iter()
            .flat_map(|t| t.spec().names)
            .map(|s| s.to_string()),
    );
    for r in runs {
        if !out.contains(&r.workflow) {
            out.push(r.workflow.clone());
        }
    }
    out.extend(view.steps.iter().map(|s| s.id.clone()));
    out
}

/// `text` completed to the longest start every name that starts with it shares (as a
/// shell's Tab); unchanged when none or nothing more is shared.
pub(super) fn complete(
    text: &str,
    view: &RunView,
    runs: &[std::sync::Arc<baton_model::RunSummary>],
) -> String {
    if text.contains(' ') {
        return text.to_string();
    }
    let all = names(view, runs);
    let mut hits = all.iter().filter(|n| n.starts_with(text));
    let Some(first) = hits.next() else {
        return text.to_string();
    };
    let mut common = first.clone();
    for h in hits {
        let n = common
            .char_indices()
            .zip(h.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8());
        common.truncate(n);
    }
    if common.len() > text.len() {
        common
    } else {
        text.to_string()
    }
}

/// Why a jump's text leads nowhere, said where it was typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum JumpError {
    #[error("type a run id (its start is enough), a step id, a workflow, a tab, run FILE or q")]
    Empty,
    #[error("no run id starts with `{0}` and no step is `{0}`")]
    Nothing(String),
    /// `:run` alone.
    #[error("`:run` needs a workflow file: `:run FILE`")]
    RunWithoutFile,
    /// `what` (`runs`, `steps`) the text starts, the first few of them listed.
    #[error("{0}")]
    Ambiguous(String),
}

/// How many candidates an ambiguous jump lists.
const LISTED: usize = 4;

/// Resolve `text`: a step id of the run on screen (exact), else a run whose id starts
/// with it (case-insensitive: ids are ULIDs), else a step id that starts with it.
pub(super) fn resolve(
    text: &str,
    view: &RunView,
    runs: &[std::sync::Arc<baton_model::RunSummary>],
) -> Result<Target, JumpError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(JumpError::Empty);
    }
    let (head, rest) = t.split_once(' ').map_or((t, ""), |(h, r)| (h, r.trim()));
    match head {
        "q" | "quit" => return Ok(Target::Quit),
        "help" | "h" => return Ok(Target::Help),
        "stores" => return Ok(Target::Stores),
        "run" if !rest.is_empty() => return Ok(Target::RunFile(rest.to_string())),
        _ => {}
    }
    if let Some(tab) = tab_named(head) {
        return Ok(Target::Tab(tab, rest.to_string()));
    }
    if let Some(i) = view.step_index(t) {
        return Ok(Target::Step(i));
    }
    if runs.iter().any(|r| r.workflow == t) {
        return Ok(Target::Workflow(t.to_string()));
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
        [] if t == "run" => Err(JumpError::RunWithoutFile),
        [] => Err(JumpError::Nothing(t.to_string())),
        many => Err(ambiguous(
            t,
            "steps",
            many.iter().map(|&i| view.steps[i].id.as_str()),
        )),
    }
}

/// A typed path with a leading `~` (`~` or `~/…`) under `home`, as a shell reads it;
/// any other as typed.
pub(super) fn expand_home(file: &str, home: Option<&str>) -> std::path::PathBuf {
    match (file.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            std::path::PathBuf::from(format!("{home}{rest}"))
        }
        _ => file.into(),
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
        Action::Key(k) if k.code == crossterm::event::KeyCode::Tab => {
            *text = complete(text, view, &ui.runs);
        }
        Action::Key(k) => edit_line(text, k),
        // A store's name: the Runs tab filtered to its runs.
        Action::Confirm if ui.desk.stores.iter().any(|s| s.name == text.trim()) => {
            let name = text.trim().to_string();
            ui.jump = None;
            ui.tab = Tab::Runs;
            ui.runs_filter = format!("store:{name}");
            ui.run_sel = 0;
        }
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
            Ok(Target::Tab(tab, filter)) => {
                ui.jump = None;
                ui.tab = tab;
                match (tab.spec().filter.from_jump, filter.is_empty()) {
                    (_, true) => {}
                    (Some(open), false) => open(ui, filter),
                    (None, false) => toast(
                        ui,
                        format!("✘ the {} tab takes no filter", tab.title()),
                        false,
                    ),
                }
            }
            Ok(Target::Workflow(w)) => {
                ui.jump = None;
                ui.tab = Tab::Runs;
                ui.runs_filter = format!("wf:{w}");
                ui.run_sel = 0;
            }
            Ok(Target::RunFile(_)) if ui.readonly => {
                ui.jump = None;
                toast(
                    ui,
                    "✘ read-only console: nothing can be changed from here",
                    false,
                );
            }
            Ok(Target::RunFile(file)) => {
                ui.jump = None;
                let home = std::env::var("HOME").ok();
                return super::run_form::ask(ui, expand_home(&file, home.as_deref()), None);
            }
            Ok(Target::Quit) => {
                ui.jump = None;
                return super::update::main_view(ui, view, Action::Quit);
            }
            Ok(Target::Help) => {
                ui.jump = None;
                ui.overlay = Some(super::state::Overlay::Help);
            }
            Ok(Target::Stores) => {
                ui.jump = None;
                ui.overlay = Some(super::state::Overlay::Stores);
            }
        },
        _ => {}
    }
    Vec::new()
}
