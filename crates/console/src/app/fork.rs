//! `F` on a step of the DAG: fork the finished run from it (`baton fork RUN --from
//! STEP`, issue 43 point 4). The console decides nothing of it: `F` asks the session
//! what the fork would do (`Request::ForkPlan`, answered by the core's own plan, as
//! `baton fork --dry-run` prints it); the answer opens a confirm dialog listing what runs
//! again and what is reused, or a dialog with the core's refusal. Yes asks the session to
//! make the fork, and this console drives it.
//!
//! A run with params gets a form instead of a yes/no ([`ForkDialog`]): the run form's
//! fields (`InputField`, each checked as typed by the workflow's own checker), each
//! starting from the run's recorded value; a secret, never stored, starts empty and is
//! typed again. Enter gives the fork each changed value exactly as `baton fork --param`
//! does, on top of the run's recorded ones.
use super::actions::{Action, Request};
use super::dialogs::{ConfirmDialog, ConfirmWhat, Dialog, InputField};
use super::run_form::{FormKey, form_key, refused_fields, refused_note};
use super::runs::short_id;
use super::state::UiState;
use super::update::toast;
use baton_model::{Refusal, RunView};

/// What a fork from a step would do, as the dialog lists it: the core's plan.
pub use baton_link::ForkPreview;

/// `F` on step `i`: ask the session what a fork from it would do.
pub(super) fn ask(ui: &mut UiState, view: &RunView, i: usize) -> Vec<Request> {
    let step = view.steps[i].id.clone();
    ui.pending += 1;
    toast(ui, format!("… what a fork from {step} would do"), true);
    vec![Request::ForkPlan {
        run_id: view.run_id.clone(),
        step,
    }]
}

/// The session's answer to `F`: the confirm dialog with the core's plan, or its refusal.
/// A dialog the operator opened meanwhile stays; the answer is a toast then.
pub(super) fn planned(
    ui: &mut UiState,
    step: &str,
    result: Result<ForkPreview, Refusal>,
) -> Vec<Request> {
    ui.pending = ui.pending.saturating_sub(1);
    let busy = ui.dialog.is_some();
    match result {
        Ok(p) if !busy && !p.params.is_empty() => {
            ui.toast = None;
            ui.dialog = Some(Dialog::Fork(Box::new(ForkDialog::new(p))));
        }
        Ok(p) if !busy => {
            ui.toast = None;
            ui.dialog = Some(Dialog::Confirm(ConfirmDialog {
                what: ConfirmWhat::Fork(Box::new(p)),
                yes: true,
                runs: Vec::new(),
                button: Default::default(),
            }));
        }
        Ok(_) => toast(
            ui,
            format!("✘ fork from {step}: close the dialog, then F again"),
            false,
        ),
        Err(why) if !busy => {
            ui.toast = None;
            ui.dialog = Some(Dialog::Refused(format!("✘ fork from {step}: {why}")));
        }
        Err(why) => toast(ui, format!("✘ fork from {step}: {why}"), false),
    }
    Vec::new()
}

/// A fork of a run with params: what the core plans, and the params as fields.
#[derive(Debug, Clone)]
pub struct ForkDialog {
    pub preview: ForkPreview,
    /// One per param of the recorded workflow, in its order, from the run's value.
    pub fields: Vec<InputField>,
    /// Each field's value as it opened: a field whose value differs is changed.
    start: Vec<String>,
    /// The field being typed in.
    pub focus: usize,
    /// Under the form: what keeps it from being sent, or the session's refusal.
    pub error: Option<String>,
}

impl ForkDialog {
    pub(super) fn new(preview: ForkPreview) -> ForkDialog {
        let fields: Vec<InputField> = preview
            .params
            .iter()
            .map(|p| {
                let mut f = InputField::param(&baton_link::FormParam {
                    input: p.input.clone(),
                    secret: p.secret,
                    scheduled: None,
                });
                // A secret starts empty: its value is not stored, so not carried.
                if p.secret {
                    f.value = String::new();
                } else if let Some(v) = &p.recorded {
                    f.value = v.clone();
                }
                f
            })
            .collect();
        ForkDialog {
            start: fields.iter().map(|f| f.value.clone()).collect(),
            preview,
            fields,
            focus: 0,
            error: None,
        }
    }

    /// Whether field `k` holds another value than the one it opened with (a secret:
    /// typed at all).
    pub fn changed(&self, k: usize) -> bool {
        match (self.fields.get(k), self.start.get(k)) {
            (Some(f), Some(s)) => f.value != *s,
            _ => false,
        }
    }

    /// The value field `k` opened with: the run's, recorded (empty for a secret).
    pub fn recorded(&self, k: usize) -> Option<&str> {
        self.start.get(k).map(String::as_str)
    }

    /// The `--param`s the fork is given: each changed field's value as it stands (an
    /// emptied one as `--param K=`); the others are the run's, as recorded.
    pub(super) fn params(&self) -> Vec<(String, String)> {
        (0..self.fields.len())
            .filter(|&k| self.changed(k))
            .map(|k| {
                (
                    self.fields[k].input.name.clone(),
                    self.fields[k].value.clone(),
                )
            })
            .collect()
    }

    /// Check each changed field as `baton fork --param` would; the number refused.
    fn check_all(&mut self) -> usize {
        let changed: Vec<bool> = (0..self.fields.len()).map(|k| self.changed(k)).collect();
        for (f, changed) in self.fields.iter_mut().zip(changed) {
            f.error = match changed {
                true => f.problem_with(&[(f.input.name.clone(), f.value.clone())]),
                false => None,
            };
        }
        refused_fields(&self.fields, &mut self.focus)
    }

    /// Whether the form's footer offers `action`: no move between fields without two.
    pub fn offers(&self, action: &Action) -> bool {
        !(self.fields.len() <= 1 && matches!(action, Action::Up | Action::Down))
    }
}

/// Keys in the fork form: Tab and the arrows move between fields, ←/→ pick a choice,
/// text is typed, Enter forks, Esc closes.
pub(super) fn fork_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Fork(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    match form_key(&mut d.fields, &mut d.focus, &mut d.error, action) {
        FormKey::Close => ui.dialog = None,
        FormKey::Send => return submit(ui),
        FormKey::Typed | FormKey::Moved => {}
    }
    Vec::new()
}

/// Enter: each changed field checked; a form `baton fork` would refuse stays, its
/// fields marked. A refusal from the session brings it back as it was ([`refused`]).
fn submit(ui: &mut UiState) -> Vec<Request> {
    let Some(Dialog::Fork(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let wrong = d.check_all();
    if let Some(note) = refused_note(wrong, "the fork starts") {
        d.error = Some(note);
        return Vec::new();
    }
    let params = d.params();
    let p = d.preview.clone();
    ui.sent_from = ui.dialog.take();
    ui.pending += 1;
    let short = short_id(&p.run, &ui.run_ids).to_string();
    toast(ui, format!("… forking run {short} from {}", p.step), true);
    vec![Request::Fork {
        run_id: p.run,
        step: p.step,
        from_run_of: p.starter,
        params,
    }]
}

/// The session refused a fork sent from the form: the form back as it was, the
/// refusal under it (a dialog opened meanwhile stays).
pub(super) fn refused(ui: &mut UiState, why: &Refusal) {
    let Some(Dialog::Fork(_)) = &ui.sent_from else {
        return;
    };
    if let Some(mut form) = ui.sent_from.take().filter(|_| ui.dialog.is_none()) {
        form.set_error(why.to_string());
        ui.dialog = Some(form);
    }
}

/// A fork made from the form: the form it was sent from is let go.
pub(super) fn made(ui: &mut UiState) {
    if let Some(Dialog::Fork(_)) = &ui.sent_from {
        ui.sent_from = None;
    }
}
