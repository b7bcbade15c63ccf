//! The approve/reject, raise-the-budget and yes/no dialogs: their state and handlers.
use super::actions::{Action, ConsoleExit, Request, Tab};
use super::runs::short_id;
use super::state::UiState;
use super::targets::target_gate;
use super::update::{edit_line, send, toast};
use baton_model::{Command, InputView, RunView};
use ratatui_textarea::TextArea;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    /// `baton push-back`: the reason is the feedback the revised steps read.
    PushBack,
}

#[derive(Debug, Clone)]
pub struct GateDialog {
    pub decision: Decision,
    /// The run the gate is in, when not the run on screen (the Waiting tab).
    pub run_id: Option<String>,
    pub step_id: String,
    /// What the title names, when not the step: an ask's question (issue 58 point 3).
    pub subject: Option<String>,
    pub reason: TextArea<'static>,
    /// Shown under the reason box (e.g. "a reason is required to reject").
    pub error: Option<String>,
    /// An approval's inputs (`gate.inputs`), one field each; a rejection has none.
    pub fields: Vec<InputField>,
    /// The field being typed in: `fields.len()` is the reason box.
    pub focus: usize,
    /// The approver changed proposed values and sees them against the proposal: the
    /// next Enter approves them (issue 44 point 2); any edit or Esc goes back.
    pub review: bool,
    /// A rejection of the run's budget gate (`RejectBudget`), not of a step's gate.
    pub budget: bool,
    /// The review's diff, worked out when it opened (`app::edit`).
    pub diff: Vec<super::edit::DiffLine>,
    /// The first line of the diff on screen (PgUp/PgDn).
    pub scroll: usize,
}

impl GateDialog {
    /// The one decision dialog every tab opens (Approvals, Waiting, the DAG): an
    /// approval gets a field per input, proposed values filled in; a rejection none.
    pub(super) fn new(
        decision: Decision,
        run_id: Option<String>,
        step_id: &str,
        inputs: &[InputView],
    ) -> GateDialog {
        let fields = match decision {
            Decision::Approve => inputs.iter().map(InputField::new).collect(),
            Decision::Reject | Decision::PushBack => Vec::new(),
        };
        GateDialog {
            decision,
            run_id,
            step_id: step_id.to_string(),
            subject: None,
            reason: new_reason_box(decision),
            error: None,
            fields,
            focus: 0,
            review: false,
            budget: false,
            diff: Vec::new(),
            scroll: 0,
        }
    }

    /// The rejection of a run's budget gate: a reason, then the run fails.
    pub(super) fn budget_rejection(run_id: Option<String>) -> GateDialog {
        GateDialog {
            budget: true,
            ..GateDialog::new(Decision::Reject, run_id, "budget", &[])
        }
    }

    /// Each field whose value is not what the gate proposed: (name, proposed, value).
    pub fn changes(&self) -> Vec<(&str, &str, &str)> {
        self.fields
            .iter()
            .filter_map(|f| {
                let proposed = f.input.default.as_deref()?;
                // An emptied text field gives nothing: the proposal stands.
                f.given()?;
                (proposed != f.value).then_some((f.input.name.as_str(), proposed, f.value.as_str()))
            })
            .collect()
    }
}

/// Whether `me` may take `decision` on a gate with these rules: a refusal (which says
/// who may) is shown before any text is typed (issue 45 point 2). The engine checks
/// again when the decision arrives.
pub(super) fn may_decide(
    decision: Decision,
    rules: &baton_model::actor::GateRules<'_>,
    me: &str,
) -> Result<(), baton_model::Refusal> {
    match decision {
        Decision::Approve => baton_model::actor::may_approve(rules, me),
        Decision::Reject | Decision::PushBack => {
            baton_model::actor::check_approver(rules.approvers, me)
        }
    }
}

/// One of a gate's inputs in the approve dialog, or of a workflow's params in the run
/// form (`app::run_form`): an enum is a choice, a bool a toggle, a string or an int
/// typed; its error shown beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct InputField {
    pub input: InputView,
    pub value: String,
    pub error: Option<String>,
    /// A gate's input (`--input`) or a run's param (`--param`): the words of its errors.
    pub of: baton_workflow::Values,
    /// A secret param: drawn as dots, never as typed.
    pub secret: bool,
    /// The value a schedule runs this param with (its form starts from it), said apart
    /// from the workflow's default.
    pub scheduled: Option<String>,
}

impl InputField {
    pub(super) fn new(input: &InputView) -> InputField {
        let value = match (input.ty.as_str(), &input.default) {
            (_, Some(d)) => d.clone(),
            ("enum", None) => input.values.first().cloned().unwrap_or_default(),
            ("bool", None) => "false".into(),
            _ => String::new(),
        };
        InputField {
            input: input.clone(),
            value,
            error: None,
            of: baton_workflow::Values::Inputs,
            secret: false,
            scheduled: None,
        }
    }

    /// A workflow's param in the run form, from its schedule's value, else its default
    /// (an optional enum without one: unset, as `baton run` leaves it).
    pub(super) fn param(p: &baton_link::FormParam) -> InputField {
        let mut f = InputField {
            of: baton_workflow::Values::Params,
            secret: p.secret,
            scheduled: p.scheduled.clone(),
            ..InputField::new(&p.input)
        };
        if f.may_be_unset() {
            f.value = String::new();
        }
        if let Some(v) = &p.scheduled {
            f.value = v.clone();
        }
        f
    }

    /// An optional enum param without a default: its first choice is unset (`‹ (none) ›`),
    /// which gives no value (the run's is the empty string, as without `--param`).
    pub fn may_be_unset(&self) -> bool {
        self.of == baton_workflow::Values::Params
            && self.input.ty == "enum"
            && !self.input.required
            && self.input.default.is_none()
    }

    /// A key on this field: ←/→ (or space) pick an enum's choice and flip a bool;
    /// text is typed into a string or an int.
    pub(super) fn key(&mut self, k: crossterm::event::KeyEvent) {
        use crossterm::event::KeyCode;
        let step = match k.code {
            KeyCode::Left => Some(-1),
            KeyCode::Right | KeyCode::Char(' ') => Some(1),
            _ => None,
        };
        match (self.input.ty.as_str(), step) {
            ("bool", Some(_)) => {
                self.value = if self.value == "true" {
                    "false"
                } else {
                    "true"
                }
                .into();
            }
            ("enum", Some(d)) => {
                let unset = self.may_be_unset().then(String::new);
                let v: Vec<String> = unset.into_iter().chain(self.input.values.clone()).collect();
                if !v.is_empty() {
                    let at = v.iter().position(|x| *x == self.value).unwrap_or(0) as i64;
                    let n = v.len() as i64;
                    self.value = v[((at + d).rem_euclid(n)) as usize].clone();
                }
            }
            ("bool" | "enum", None) => {}
            _ => edit_line(&mut self.value, k),
        }
        // Said under the field as it is typed, not after the review (issue 58 point 2).
        self.error = self.check();
    }

    /// What is wrong with the value as typed, in the words `baton approve` prints: the
    /// core's own check (`workflow::resolve_values`, the gate's pattern as the engine
    /// matches it). `None` when it fits, or is empty (its default, or the engine's
    /// "required", stands: nothing typed is no mistake yet).
    fn check(&self) -> Option<String> {
        let given: Vec<(String, String)> = self.given().into_iter().collect();
        if given.is_empty() {
            return None;
        }
        self.problem_with(&given)
    }

    /// What is wrong with the field as it stands, an empty one that must be given too:
    /// the run form's check before it sends (`baton run` would refuse the same).
    pub(super) fn submit_problem(&self) -> Option<String> {
        let given: Vec<(String, String)> = self.given().into_iter().collect();
        self.problem_with(&given)
    }

    /// `given` (this field's value, or nothing) checked as the CLI checks it, in a
    /// form's words (a required value is typed here, not passed with `--param`).
    pub(super) fn problem_with(&self, given: &[(String, String)]) -> Option<String> {
        let mut spec = baton_workflow::spec_of_input(&self.input).ok()?;
        spec.pattern = match &self.input.pattern {
            Some(p) => Some(regex::Regex::new(p).ok()?),
            None => None,
        };
        baton_workflow::resolve_values(&[spec], given, self.of)
            .err()
            .map(|problems| {
                let words: Vec<String> = problems.iter().map(|p| p.in_form()).collect();
                words.join("; ")
            })
    }

    /// A string, an int or a list: typed (or edited in the editor), not picked.
    pub fn is_text(&self) -> bool {
        matches!(self.input.ty.as_str(), "string" | "int" | "list")
    }

    /// What the approval gives for this field: nothing for an empty optional text (its
    /// default, if any, stands) or an unset enum, else the value.
    pub(super) fn given(&self) -> Option<(String, String)> {
        let unset = self.value.is_empty() && (self.is_text() || self.input.ty == "enum");
        (!unset).then(|| (self.input.name.clone(), self.value.clone()))
    }
}

/// One exhausted limit in the budget dialog: what is used of what, and the raise typed.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetField {
    /// `cost`, `calls` or `tokens` (the names `baton approve RUN --raise` takes).
    pub limit: &'static str,
    pub used: f64,
    pub ceiling: f64,
    /// The amount to raise it by, as typed.
    pub raise: String,
}

/// Raise the budget: every exhausted limit with an amount each, and one reason.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetDialog {
    pub fields: Vec<BudgetField>,
    pub reason: String,
    /// The field being typed in: `fields.len()` is the reason.
    pub focus: usize,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmWhat {
    CancelRun,
    Quit,
    /// Delete the run named in the dialog's `runs`.
    DeleteRun,
    /// Fork a run from a step: what runs again and what is reused, as the core plans it.
    Fork(Box<super::fork::ForkPreview>),
    /// Run a run's failed steps again: what runs, as the core answered.
    RetryFailed(Box<super::retry_failed::RetryPreview>),
    /// Run an `[[action]]`'s command (`confirm` or `dangerous`), named as it will run.
    UserAction(Box<super::user_actions::Prepared>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmDialog {
    pub what: ConfirmWhat,
    /// The selected button; destructive confirmations start on No.
    pub yes: bool,
    /// The run it acts on (a delete's, a retry's). A quit's are `UiState::driven`, read
    /// when it is drawn and answered.
    pub runs: Vec<String>,
    /// For a quit: the selected of its three buttons.
    pub button: QuitButton,
}

/// The quit dialog's buttons, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuitButton {
    Stay,
    /// Hand each run to a background engine: nothing stops.
    #[default]
    Detach,
    Interrupt,
}

impl QuitButton {
    pub fn next(self) -> QuitButton {
        match self {
            QuitButton::Stay => QuitButton::Detach,
            QuitButton::Detach => QuitButton::Interrupt,
            QuitButton::Interrupt => QuitButton::Stay,
        }
    }
}

impl Dialog {
    /// Show `text` under the dialog's reason (a refusal of what was typed in it).
    pub(super) fn set_error(&mut self, text: String) {
        match self {
            Dialog::Gate(d) => d.error = Some(text),
            Dialog::Budget(d) => d.error = Some(text),
            Dialog::Mark(d) => {
                d.confirming = false;
                d.error = Some(text);
            }
            Dialog::Schedule(d) => d.error = Some(text),
            Dialog::Hold(d) => {
                d.confirming = false;
                d.error = Some(text);
            }
            Dialog::Note(d) => {
                d.confirming = false;
                d.error = Some(text);
            }
            Dialog::RunForm(d) => d.error = Some(text),
            Dialog::Fork(d) => d.error = Some(text),
            Dialog::Confirm(_) | Dialog::Refused(_) => {}
        }
    }
}

#[derive(Debug, Clone)]
pub enum Dialog {
    Gate(Box<GateDialog>),
    Budget(Box<BudgetDialog>),
    Confirm(ConfirmDialog),
    /// Set a step's outcome by hand (`app::mark`).
    Mark(Box<super::mark::MarkDialog>),
    /// Pause, resume or trigger a schedule (`app::schedules`).
    Schedule(Box<super::schedules::ScheduleDialog>),
    /// Hold or release a step or a run (`app::hold`).
    Hold(Box<super::hold::HoldDialog>),
    /// A note on a run or a step (`app::note`).
    Note(Box<super::note::NoteDialog>),
    /// A new run's params (`app::run_form`).
    RunForm(Box<super::run_form::RunFormDialog>),
    /// A fork of a run with params: the core's plan and the params (`app::fork`).
    Fork(Box<super::fork::ForkDialog>),
    /// An action that cannot be done now, and why: held on screen until Esc or Enter,
    /// so that a reason typed after it goes nowhere instead of running as keys.
    Refused(String),
}

pub(super) fn new_reason_box(decision: Decision) -> TextArea<'static> {
    let mut t = TextArea::default();
    t.set_placeholder_text(match decision {
        Decision::Approve => "why (optional)",
        Decision::Reject => "why (required)",
        Decision::PushBack => "what to change (required: the revised steps read it)",
    });
    // A long reason wraps at words inside the box instead of scrolling out of sight.
    t.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    t
}

/// A key in the reason box. The box moves and deletes by code point; across a grapheme
/// cluster (an emoji with its skin tone, a ZWJ sequence, a letter and its accent) the
/// key is given once per code point of the cluster, so the cursor never stops inside
/// one and Backspace takes it whole.
pub(super) fn reason_key(t: &mut TextArea<'static>, k: crossterm::event::KeyEvent) {
    use crossterm::event::{KeyCode, KeyModifiers};
    use unicode_segmentation::UnicodeSegmentation;
    let times = if k.modifiers.difference(KeyModifiers::SHIFT).is_empty() {
        let cursor = t.cursor();
        let line = t.lines().get(cursor.0).map_or("", String::as_str);
        let at = line
            .char_indices()
            .nth(cursor.1)
            .map_or(line.len(), |(i, _)| i);
        let chars = |g: Option<&str>| g.map_or(1, |g| g.chars().count());
        match k.code {
            KeyCode::Left | KeyCode::Backspace => chars(line[..at].graphemes(true).next_back()),
            KeyCode::Right | KeyCode::Delete => chars(line[at..].graphemes(true).next()),
            _ => 1,
        }
    } else {
        1
    };
    for _ in 0..times {
        t.input(k);
    }
}

pub(super) fn gate_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Gate(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let n = d.fields.len() + 1;
    // Reviewing the changes: Enter approves them, PgUp/PgDn scroll them, anything else
    // goes back to editing.
    match action {
        Action::PageUp | Action::PageDown if d.review => {
            d.scroll_diff(action == Action::PageDown);
            return Vec::new();
        }
        Action::Confirm | Action::PageUp | Action::PageDown => {}
        Action::Back if d.review => {
            d.review = false;
            return Vec::new();
        }
        _ => d.review = false,
    }
    match action {
        Action::Editor => return d.ask_editor(),
        Action::Edited(result) => d.edited(result),
        Action::Back => ui.dialog = None,
        Action::Down => d.focus = (d.focus + 1) % n,
        Action::Up => d.focus = (d.focus + n - 1) % n,
        Action::NewLine if d.focus == d.fields.len() => d.reason.insert_newline(),
        Action::Key(k) => {
            match d.fields.get_mut(d.focus) {
                Some(f) => f.key(k),
                None => reason_key(&mut d.reason, k),
            }
            d.error = None;
        }
        Action::Confirm => {
            let reason = d.reason.lines().join("\n").trim().to_string();
            let operator = ui.operator.clone();
            let step = d.step_id.clone();
            let command = match d.decision {
                Decision::Approve => {
                    // As typed: whether the inputs fit the gate is the core's to say
                    // (`Core::approval_inputs`, `input_invalid`), in the words `baton
                    // approve` prints; its refusal opens this dialog again.
                    let inputs = d.fields.iter().filter_map(InputField::given).collect();
                    // Edited values are shown against the proposal before they go.
                    if !d.review && !d.changes().is_empty() {
                        d.open_review();
                        return Vec::new();
                    }
                    Command::Approve {
                        step: step.clone(),
                        operator,
                        reason: (!reason.is_empty()).then_some(reason),
                        signature: None,
                        inputs,
                    }
                }
                Decision::Reject if d.budget => Command::RejectBudget { operator, reason },
                Decision::Reject => Command::Reject {
                    step: step.clone(),
                    operator,
                    reason,
                    signature: None,
                },
                Decision::PushBack => Command::PushBack {
                    step: step.clone(),
                    operator,
                    reason,
                    signature: None,
                },
            };
            let verb = match d.decision {
                Decision::Approve => "approve",
                Decision::Reject => "reject",
                Decision::PushBack => "push back",
            };
            let run_id = d.run_id.clone();
            // A refusal brings the form back to editing, not to the review.
            d.review = false;
            ui.sent_from = ui.dialog.take();
            return send(ui, run_id, command, &format!("{verb} {step}"));
        }
        _ => {}
    }
    Vec::new()
}

pub(super) fn confirm_dialog(ui: &mut UiState, view: &RunView, action: Action) -> Vec<Request> {
    let Some(Dialog::Confirm(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    // A quit has three buttons: Stay, Detach (where it starts: leaving without
    // stopping anything) and Interrupt.
    if d.what == ConfirmWhat::Quit {
        let choice = match action {
            Action::SwitchButton => {
                d.button = d.button.next();
                return Vec::new();
            }
            Action::Detach | Action::Yes => QuitButton::Detach,
            Action::Interrupt => QuitButton::Interrupt,
            Action::No | Action::Back => QuitButton::Stay,
            Action::Confirm => d.button,
            _ => return Vec::new(),
        };
        ui.dialog = None;
        return match choice {
            QuitButton::Stay => Vec::new(),
            _ if ui.driven.is_empty() => vec![Request::Exit(ConsoleExit::Quit)],
            QuitButton::Detach => vec![Request::Exit(ConsoleExit::Detach)],
            QuitButton::Interrupt => vec![Request::Exit(ConsoleExit::Interrupt)],
        };
    }
    let yes = match action {
        Action::SwitchButton => {
            d.yes = !d.yes;
            return Vec::new();
        }
        Action::Yes => true,
        Action::No | Action::Back => false,
        Action::Confirm => d.yes,
        _ => return Vec::new(),
    };
    let Some(Dialog::Confirm(ConfirmDialog { what, runs, .. })) = ui.dialog.take() else {
        return Vec::new();
    };
    if !yes {
        return Vec::new();
    }
    match what {
        ConfirmWhat::Quit => vec![Request::Exit(if ui.driven.is_empty() {
            ConsoleExit::Quit
        } else {
            ConsoleExit::Interrupt
        })],
        ConfirmWhat::DeleteRun => match runs.into_iter().next() {
            Some(id) => {
                ui.pending += 1;
                let short = short_id(&id, &ui.run_ids).to_string();
                toast(ui, format!("… deleting run {short}"), true);
                vec![Request::DeleteRun(id)]
            }
            None => Vec::new(),
        },
        ConfirmWhat::Fork(f) => {
            ui.pending += 1;
            let short = short_id(&f.run, &ui.run_ids).to_string();
            toast(ui, format!("… forking run {short} from {}", f.step), true);
            vec![Request::Fork {
                run_id: f.run,
                step: f.step,
                from_run_of: f.starter,
                params: Vec::new(),
            }]
        }
        ConfirmWhat::RetryFailed(p) => super::retry_failed::confirmed(ui, *p),
        ConfirmWhat::UserAction(p) => super::user_actions::start(ui, *p),
        ConfirmWhat::CancelRun => {
            let command = Command::Cancel {
                operator: ui.operator.clone(),
                reason: Some("cancelled from the console".into()),
            };
            // The run the dialog named: another than the one on screen goes by its id.
            let other = runs.into_iter().next().filter(|id| *id != view.run_id);
            let what = match &other {
                Some(id) => format!("cancel run {}", short_id(id, &ui.run_ids)),
                None => "cancel run".to_string(),
            };
            send(ui, other, command, &what)
        }
    }
}

pub(super) fn open_gate_dialog(ui: &mut UiState, view: &RunView, decision: Decision) {
    let ctx = ui.context();
    let Some(g) = target_gate(ui, view, ctx) else {
        let which = ui
            .focus(view)
            .filter(|_| ui.tab == Tab::Dag)
            .map(|i| format!("{} has no open gate", view.steps[i].id))
            .unwrap_or_else(|| "no open gate".into());
        return toast(ui, format!("✘ {which}"), false);
    };
    if g.step.is_none() {
        return match decision {
            Decision::Approve if g.actions.raise_budget => open_budget_dialog(ui, view),
            Decision::Approve => toast(
                ui,
                format!(
                    "✘ the run is {}: the budget cannot be raised now",
                    view.state
                ),
                false,
            ),
            Decision::Reject if g.actions.reject => {
                ui.dialog = Some(Dialog::Gate(Box::new(GateDialog::budget_rejection(None))));
            }
            Decision::PushBack => toast(
                ui,
                "✘ the budget gate is raised (a) or rejected (x), not pushed back".to_string(),
                false,
            ),
            Decision::Reject => toast(
                ui,
                format!(
                    "✘ the run is {}: the budget gate cannot be rejected now",
                    view.state
                ),
                false,
            ),
        };
    }
    // Why a gate open for approval cannot be pushed back, in the core's words.
    if decision == Decision::PushBack && g.actions.reject && !g.actions.push_back {
        let step = g.step_id.clone();
        // A signed gate takes no `revise` (its round is shown all the same).
        let refusal = match g.round {
            Some(r) if !g.signed => baton_model::Refusal::RoundsUsed { step, rounds: r.of },
            _ => baton_model::Refusal::NoRevise { step },
        };
        ui.dialog = Some(Dialog::Refused(format!("✘ {refusal}")));
        return;
    }
    let allowed = match decision {
        Decision::Approve => g.actions.approve,
        Decision::Reject => g.actions.reject,
        Decision::PushBack => g.actions.push_back,
    };
    if !allowed {
        return toast(
            ui,
            format!(
                "✘ the gate of {} cannot be decided now (the run is {})",
                g.step_id, view.state
            ),
            false,
        );
    }
    let rules = baton_model::actor::GateRules {
        approvers: &g.approvers,
        starter: &view.operator,
        allow_self_approval: g.allow_self_approval,
        votes: &g.approvals,
    };
    // A signed gate's vote is its key's principal's: the engine checks the signature.
    if !g.signed
        && let Err(why) = may_decide(decision, &rules, &ui.operator)
    {
        ui.dialog = Some(Dialog::Refused(format!("✘ {}: {why}", g.step_id)));
        return;
    }
    let d = GateDialog::new(decision, None, &g.step_id, &g.inputs);
    ui.dialog = Some(Dialog::Gate(Box::new(d)));
}

/// One field per exhausted limit (every limit set, if none is exhausted yet).
pub(super) fn open_budget_dialog(ui: &mut UiState, view: &RunView) {
    let Some(b) = &view.budget else {
        return toast(ui, "✘ the workflow sets no budget", false);
    };
    let limits = [
        ("cost", b.cost),
        ("calls", b.calls.map(|(u, c)| (u as f64, c as f64))),
        ("tokens", b.tokens.map(|(u, c)| (u as f64, c as f64))),
    ];
    let set = limits
        .iter()
        .filter_map(|&(limit, v)| v.map(|(used, ceiling)| (limit, used, ceiling)));
    let exhausted: Vec<_> = set
        .clone()
        .filter(|(l, _, _)| b.exhausted.iter().any(|e| e == l))
        .collect();
    let chosen = if exhausted.is_empty() {
        set.collect()
    } else {
        exhausted
    };
    let fields = chosen
        .into_iter()
        .map(|(limit, used, ceiling)| BudgetField {
            limit,
            used,
            ceiling,
            raise: String::new(),
        })
        .collect();
    ui.dialog = Some(Dialog::Budget(Box::new(BudgetDialog {
        fields,
        reason: String::new(),
        focus: 0,
        error: None,
    })));
}

/// The raise typed in the budget dialog as one command, or what is wrong with it.
pub(super) fn budget_command(
    d: &BudgetDialog,
    operator: &str,
) -> Result<Command, baton_model::raise::RaiseError> {
    // Read as `baton approve --raise` reads it; whether anything is raised, and by
    // enough, is the core's to say.
    let mut raise = baton_model::raise::Raise::default();
    for f in d.fields.iter().filter(|f| !f.raise.trim().is_empty()) {
        raise.set(f.limit, &f.raise)?;
    }
    Ok(Command::RaiseBudget {
        operator: operator.to_string(),
        reason: d.reason.trim().to_string(),
        cost: raise.cost,
        calls: raise.calls,
        tokens: raise.tokens,
    })
}

pub(super) fn budget_dialog(ui: &mut UiState, action: Action) -> Vec<Request> {
    let Some(Dialog::Budget(d)) = ui.dialog.as_mut() else {
        return Vec::new();
    };
    let n = d.fields.len() + 1;
    match action {
        Action::Back => ui.dialog = None,
        Action::Down => d.focus = (d.focus + 1) % n,
        Action::Up => d.focus = (d.focus + n - 1) % n,
        Action::Key(k) => {
            match d.fields.get_mut(d.focus) {
                Some(f) => edit_line(&mut f.raise, k),
                None => edit_line(&mut d.reason, k),
            }
            d.error = None;
        }
        Action::Confirm => match budget_command(d, &ui.operator) {
            Ok(command) => {
                ui.sent_from = ui.dialog.take();
                return send(ui, None, command, "raise the budget");
            }
            Err(e) => d.error = Some(e.to_string()),
        },
        _ => {}
    }
    Vec::new()
}
