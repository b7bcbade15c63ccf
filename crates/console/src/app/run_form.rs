//! The run form (issue 58 point 6): a workflow's params as fields (type, default,
//! pattern, description; the gates' typed-input form, `InputField`), opened by `n` on a
//! schedule or `:run FILE`. Each field is checked as it is typed, and all of them
//! before it is sent, by the workflow's own checker (`workflow::resolve_values`, as
//! `baton run --param` is); the session starts the run as `baton run FILE` does, under
//! the operator's OS account, and this console drives it and opens it.
use super::action_log::{Answer, Kind};
use super::actions::{Action, Request, Tab};
use super::dialogs::{Dialog, InputField};
use super::state::UiState;
use super::update::toast;
use baton_link::RunForm;
use baton_model::Refusal;
use std::path::PathBuf;

/// A new run's params, being typed.
#[derive(Debug, Clone)]
pub struct RunFormDialog {
    /// The file as it was named (`:run FILE`, a schedule's file).
    pub file: PathBuf,
    pub workflow: String,
    /// The schedule whose form this is (`n`), read again with it.
    pub schedule: Option<u32>,
    /// One per param, in the workflow's order, defaults filled in; then the run's
    /// labels (at [`RunFormDialog::labels`]).
    pub fields: Vec<InputField>,
    /// Where the labels field is: after the params (`KEY=VALUE` words, as `baton run
    /// --label` takes them).
    pub labels: usize,
    /// The field being typed in.
    pub focus: usize,
    /// Under the form: what keeps it from being sent, or the session's refusal.
    pub error: Option<String>,
}

impl RunFormDialog {
    pub(super) fn new(form: &RunForm) -> RunFormDialog {
        RunFormDialog {
            file: form.file.clone(),
            workflow: form.workflow.clone(),
            schedule: form.schedule,
            fields: (form.params.iter().map(InputField::param))
                .chain(std::iter::once(labels_field(&form.labels)))
                .collect(),
            labels: form.params.len(),
            focus: 0,
            error: None,
        }
    }

    /// The `--param`s the form gives: each field's value, but an emptied optional text
    /// (its default, if any, stands, as without `--param`); then its labels, each under
    /// its key after `+` (`model::labels::VIA_OUTPUTS`), which no param's name can have:
    /// the session takes them apart (`labels::split_params`).
    pub(super) fn params(&self) -> Vec<(String, String)> {
        let params = self.fields[..self.labels]
            .iter()
            .filter_map(InputField::given);
        let labels = self
            .fields
            .get(self.labels)
            .map_or("", |f| f.value.as_str());
        let labels = labels.split_whitespace().filter_map(|w| {
            let (k, v) = baton_model::labels::parse_pair(w).ok()?;
            Some((format!("{}{k}", baton_model::labels::VIA_OUTPUTS), v))
        });
        params.chain(labels).collect()
    }

    /// Whether the form's footer offers `action`: no move between fields without one.
    pub fn offers(&self, action: &Action) -> bool {
        !(self.fields.len() <= 1 && matches!(action, Action::Up | Action::Down))
    }

    /// Check every field as `baton run` would (a required one left empty too); the
    /// number of fields that would be refused.
    fn check_all(&mut self) -> usize {
        for (k, f) in self.fields.iter_mut().enumerate() {
            f.error = match k == self.labels {
                true => labels_problem(&f.value),
                false => f.submit_problem(),
            };
        }
        refused_fields(&self.fields, &mut self.focus)
    }

    /// The form of `form`, the file as read again, if its params are no longer this
    /// form's (added, removed, or declared otherwise): each field that remains (its
    /// name, type and choices) keeps the value typed, every field is checked, and `why` (the session's refusal) is
    /// said under it with what happened. `None`: the same params, nothing to rebuild.
    pub(super) fn rebuilt(&self, form: &RunForm, why: &str) -> Option<RunFormDialog> {
        // What a field is declared as (its pattern, default, … too), and what a value
        // typed for it still fits: the same name, type and choices.
        let declared = |f: &InputField| (f.input.clone(), f.secret, f.scheduled.clone());
        let fits = |a: &InputField, b: &InputField| {
            (&a.input.name, &a.input.ty, &a.input.values)
                == (&b.input.name, &b.input.ty, &b.input.values)
        };
        let mut new = RunFormDialog::new(form);
        if new
            .fields
            .iter()
            .map(declared)
            .eq(self.fields.iter().map(declared))
        {
            return None;
        }
        for f in &mut new.fields {
            if let Some(old) = self.fields.iter().find(|o| fits(o, f)) {
                f.value = old.value.clone();
            }
        }
        new.check_all();
        new.error = Some(format!(
            "{} changed since the form opened: its fields are read again (the run was refused: {why})",
            self.file.display()
        ));
        Some(new)
    }
}

/// The run form's last field: the labels the run starts with, `KEY=VALUE` words,
/// starting from `given` (a schedule's form: the labels that schedule starts runs with).
fn labels_field(given: &baton_model::labels::Labels) -> InputField {
    let input = baton_model::view::InputView {
        name: "labels".into(),
        ty: "string".into(),
        values: Vec::new(),
        required: false,
        default: None,
        pattern: None,
        description: Some(
            "labels on the run, not a param: KEY=VALUE words separated by spaces (team=infra ticket=OPS-137), as baton run --label; baton label changes them later".into(),
        ),
    };
    InputField {
        of: baton_workflow::Values::Params,
        value: baton_model::labels::text(given),
        ..InputField::new(&input)
    }
}

/// What is wrong with the labels typed (`KEY=VALUE` words), in `baton run --label`'s
/// words (`model::labels`); `None` when each is a label.
fn labels_problem(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut problems: Vec<String> = words
        .iter()
        .filter_map(|w| baton_model::labels::parse_pair(w).err())
        .map(|e| e.to_string())
        .collect();
    if words.len() > baton_model::labels::MAX_LABELS {
        problems.push(baton_model::labels::LabelError::TooMany.to_string());
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Ask the session for the params of the workflow in `file` (`:run FILE`; `n` on a
/// schedule, whose number it names).
pub(super) fn ask(ui: &mut UiState, file: PathBuf, schedule: Option<u32>) -> Vec<Request> {
    toast(ui, format!("… reading {}", file.display()), true);
    vec![Request::RunForm { file, schedule }]
}

/// The session's answer: the form, or the file's load error held on screen until Esc
/// (a dialog the operator opened meanwhile is left alone); read again after a refusal
/// while the form is open, the form rebuilt if the file's params changed.
pub(super) fn read(
    ui: &mut UiState,
    file: &std::path::Path,
    result: Result<RunForm, Refusal>,
) -> Vec<Request> {
    if let Some(Dialog::RunForm(open)) = ui.dialog.as_mut() {
        // Read again after a refusal: the form rebuilt if the file's params changed.
        if let Ok(form) = &result
            && open.file == form.file
            && let Some(new) = open.rebuilt(form, open.error.as_deref().unwrap_or_default())
        {
            **open = new;
        }
        return Vec::new();
    }
    if ui.dialog.is_some() {
        return Vec::new();
    }
    ui.toast = None;
    ui.dialog = Some(match result {
        Ok(form) => Dialog::RunForm(Box::new(RunFormDialog::new(&form))),
        // The loader's words quote the file, which may hold anything: cleaned first.
        Err(e) => Dialog::Refused(baton_model::sanitize::for_terminal(&format!(
            "✘ {} does not load:\n{e}",
            file.display()
        ))),
    });
    Vec::new()
}

/// Keys in the run form: Tab and the arrows move between fields, ←/→ pick a choice,
/// text is typed, Enter starts the run, Esc closes.
pub(super) fn run_form_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::RunForm(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    match form_key(&mut d.fields, &mut d.focus, &mut d.error, action) {
        FormKey::Close => ui.dialog = None,
        FormKey::Send => return submit(ui),
        // The labels checked as typed, as a param is.
        FormKey::Typed if d.focus == d.labels => {
            if let Some(f) = d.fields.get_mut(d.labels) {
                f.error = labels_problem(&f.value);
            }
        }
        FormKey::Typed | FormKey::Moved => {}
    }
    Vec::new()
}

/// What a key did in a form of fields (the run form, the fork form).
pub(super) enum FormKey {
    /// Esc: close the form.
    Close,
    /// Enter: check it and send it.
    Send,
    /// Typed into the field in focus (what was said under the form cleared).
    Typed,
    /// Tab or an arrow moved the focus, or the key does nothing here.
    Moved,
}

/// A key in a form of `fields`, `focus` the one typed in and `error` what is said under
/// it: Tab and the arrows move between the fields, a key is typed into the one in
/// focus (←/→ pick a choice); Esc and Enter are the caller's ([`FormKey`]).
pub(super) fn form_key(
    fields: &mut [InputField],
    focus: &mut usize,
    error: &mut Option<String>,
    action: Action,
) -> FormKey {
    let n = fields.len().max(1);
    match action {
        Action::Back => return FormKey::Close,
        Action::Confirm => return FormKey::Send,
        Action::Down => *focus = (*focus + 1) % n,
        Action::Up => *focus = (*focus + n - 1) % n,
        Action::Key(k) => {
            if let Some(f) = fields.get_mut(*focus) {
                f.key(k);
            }
            *error = None;
            return FormKey::Typed;
        }
        _ => {}
    }
    FormKey::Moved
}

/// How many of `fields` their check refused (each holds its own error), the focus
/// put on the first of them.
pub(super) fn refused_fields(fields: &[InputField], focus: &mut usize) -> usize {
    if let Some(first) = fields.iter().position(|f| f.error.is_some()) {
        *focus = first;
    }
    fields.iter().filter(|f| f.error.is_some()).count()
}

/// What a form says under it when Enter found `wrong` fields refused, before `then`
/// (`the run starts`); `None` when none is.
pub(super) fn refused_note(wrong: usize, then: &str) -> Option<String> {
    (wrong > 0).then(|| {
        format!(
            "{} to fix before {then} (✘ under {})",
            crate::views::common::count(wrong, "field", "fields"),
            if wrong == 1 { "it" } else { "each" }
        )
    })
}

/// Enter: every field checked; a form the CLI would refuse stays, its fields marked.
fn submit(ui: &mut UiState) -> Vec<Request> {
    let Some(Dialog::RunForm(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let wrong = d.check_all();
    if let Some(note) = refused_note(wrong, "the run starts") {
        d.error = Some(note);
        return Vec::new();
    }
    let (file, workflow, params) = (d.file.clone(), d.workflow.clone(), d.params());
    // A refusal brings the form back as it was, the session's words under it.
    ui.sent_from = ui.dialog.take();
    ui.pending += 1;
    toast(ui, format!("… starting a run of {workflow}: sent"), true);
    vec![Request::StartRun {
        file,
        workflow,
        params,
    }]
}

/// The session's answer to a start: the new run is shown (the service opens it, this
/// console its engine) on its DAG, following; a refusal opens the form again.
pub(super) fn started(
    ui: &mut UiState,
    workflow: &str,
    result: Result<baton_link::Started, Refusal>,
) -> Vec<Request> {
    ui.pending = ui.pending.saturating_sub(1);
    let answer = match &result {
        Ok(s) if s.skipped => Answer::Skipped(s.message.clone()),
        Ok(s) => Answer::Done(s.message.clone()),
        Err(e) => Answer::Refused(e.to_string()),
    };
    ui.log_answer(Kind::Start, None, answer);
    let form = ui.sent_from.take();
    match result {
        Ok(started) => {
            // The service shows the run it made: said as opening until its view is here.
            ui.opening = Some(started.run_id).filter(|id| !id.is_empty());
            ui.tab = Tab::Dag;
            ui.came_from = None;
            ui.follow = true;
            ui.filter.clear();
            (ui.gate_sel, ui.error_sel, ui.audit_sel) = (0, 0, 0);
            let mark = if started.skipped { "⤼" } else { "✔" };
            toast(ui, format!("{mark} {}", started.message), true);
        }
        Err(e) => {
            toast(ui, format!("✘ start a run of {workflow}: {e}"), false);
            if let Some(mut form) = form.filter(|_| ui.dialog.is_none()) {
                form.set_error(e.to_string());
                // The file is read again: if its params changed (the refusal's likely
                // cause), the form is rebuilt from it (`read`).
                let again = match &form {
                    Dialog::RunForm(d) => Some(Request::RunForm {
                        file: d.file.clone(),
                        schedule: d.schedule,
                    }),
                    _ => None,
                };
                ui.dialog = Some(form);
                return again.into_iter().collect();
            }
        }
    }
    Vec::new()
}
