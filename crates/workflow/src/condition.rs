//! `if = "EXPR"`: a step's condition, parsed and checked at load time, evaluated by
//! the engine once the step's trigger rule holds.
//!
//! A small hand-written parser: no crate evaluates this GitHub-Actions-like grammar
//! while letting the loader check every name against the workflow (params, env,
//! the step's transitive needs) and point at the offending character of the
//! expression; `regex` does `matches`.
//!
//! ```text
//! expr    := or
//! or      := and ("||" and)*
//! and     := not ("&&" not)*
//! not     := "!" not | cmp
//! cmp     := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
//! primary := STRING | NUMBER | "true" | "false" | NAME | FUNC "(" args ")" | "(" expr ")"
//! NAME    := params.N | env.N | run.id | steps.ID.outputs.N | steps.ID.inputs.N | steps.ID.state
//!          | with.N (in a gate's `auto` rules only: the step's tool parameters)
//!          | matrix.K (in `allow_failure` only: the instance's matrix value)
//! ```
//! Values are text, numbers or booleans. A comparison is numeric when both sides read
//! as numbers, else it compares text (`true`/`false` compare as those words). Truth:
//! `false`, `0`, the empty text and the text `false` are false; everything else true.
use std::fmt;

mod eval;
mod parse;
pub mod shell;

pub use eval::{Evaluation, Value, text_is_true};
pub use parse::{MAX_DEPTH, ParseError, parse};

/// A name an expression reads. Each kind is one variant here, one arm in
/// `parse::name`, one in `Name::fmt`, and the engine's lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    Param(String),
    Env(String),
    RunId,
    /// `run.slot`: the schedule's slot the run was started for (empty if none).
    RunSlot,
    /// `steps.ID.outputs.KEY`; `step` is the index in `Plan::steps` once resolved.
    StepOutput {
        step: usize,
        step_id: String,
        key: String,
    },
    /// `steps.ID.state`: the need's state (`succeeded`, `skipped`, …).
    StepState {
        step: usize,
        step_id: String,
    },
    /// `needs.ID.result`: GitHub's result of the need `ID` (`success`, `failure`,
    /// `cancelled` or `skipped`: `StepState::github_result`); `ID` is one of the
    /// step's own needs (checked at load).
    NeedResult {
        step: usize,
        step_id: String,
    },
    /// `needs.*.result`: the results of all the step's needs, a JSON list
    /// (`contains(needs.*.result, 'failure')` is membership).
    NeedsResults,
    /// `steps.ID.inputs.NAME`: what the approver of `ID`'s gate gave.
    StepInput {
        step: usize,
        step_id: String,
        key: String,
    },
    /// `with.NAME`: the step's own tool parameter, as it would run (a gate's `auto`
    /// rules only, decided when the gate opens).
    With(String),
    /// `matrix.KEY`: the instance's matrix value (`allow_failure` only, decided when
    /// the instance is made).
    Matrix(String),
    /// `attempt.exit_code`: the exit code of the attempt that just failed (a `retry`'s
    /// `if` only, decided then; none when it did not exit: a signal, a timeout).
    AttemptExitCode,
}

impl Name {
    /// The step it reads, if any (resolved by the loader).
    pub fn step_mut(&mut self) -> Option<(&mut usize, &str)> {
        match self {
            Name::StepOutput { step, step_id, .. }
            | Name::StepState { step, step_id }
            | Name::NeedResult { step, step_id }
            | Name::StepInput { step, step_id, .. } => Some((step, step_id)),
            _ => None,
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Param(p) => write!(f, "params.{p}"),
            Name::Env(e) => write!(f, "env.{e}"),
            Name::RunId => f.write_str("run.id"),
            Name::RunSlot => f.write_str("run.slot"),
            Name::StepOutput { step_id, key, .. } => write!(f, "steps.{step_id}.outputs.{key}"),
            Name::StepState { step_id, .. } => write!(f, "steps.{step_id}.state"),
            Name::NeedResult { step_id, .. } => write!(f, "needs.{step_id}.result"),
            Name::NeedsResults => f.write_str("needs.*.result"),
            Name::StepInput { step_id, key, .. } => write!(f, "steps.{step_id}.inputs.{key}"),
            Name::With(k) => write!(f, "with.{k}"),
            Name::Matrix(k) => write!(f, "matrix.{k}"),
            Name::AttemptExitCode => f.write_str("attempt.exit_code"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    /// `argv(a)`: a command's words as the program would get them, or none when the
    /// shell would do more than split it (`shell::argv`).
    Argv,
    /// `is_simple(a)`: whether `argv(a)` has words.
    IsSimple,
}

impl Func {
    pub const ALL: [Func; 6] = [
        Func::Contains,
        Func::StartsWith,
        Func::EndsWith,
        Func::Matches,
        Func::Argv,
        Func::IsSimple,
    ];

    /// How many arguments it takes.
    pub fn arity(self) -> usize {
        match self {
            Func::Argv | Func::IsSimple => 1,
            _ => 2,
        }
    }

    /// A function by its name as baton (`starts_with`) or GitHub (`startsWith`) spells
    /// it, in any case (GitHub's function names ignore case).
    pub fn parse(w: &str) -> Option<Func> {
        let key = |s: &str| s.replace('_', "").to_ascii_lowercase();
        Func::ALL.into_iter().find(|f| key(f.name()) == key(w))
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Contains => "contains",
            Func::StartsWith => "starts_with",
            Func::EndsWith => "ends_with",
            Func::Matches => "matches",
            Func::Argv => "argv",
            Func::IsSimple => "is_simple",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Value),
    /// A name and where it is in the expression (bytes), for the loader's messages.
    Ref(Name, std::ops::Range<usize>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
    /// `matches(a, 'regex')`: the pattern compiled at load time.
    Matches(Box<Expr>, regex::Regex),
}

/// A step's `if`, as written (without a `${{ }}` wrapper) and parsed.
#[derive(Debug, Clone)]
pub struct Condition {
    pub text: String,
    pub expr: Expr,
}

impl Condition {
    /// Every name the expression reads, with its place in `text`.
    pub fn names(&self) -> Vec<(&Name, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        walk(&self.expr, &mut |e| {
            if let Expr::Ref(n, at) = e {
                out.push((n, at.clone()));
            }
        });
        out
    }

    /// Each name `bound` says is shell text's that `starts_with`, `contains` or
    /// `ends_with` reads as text (not through `argv`): the function, the name and its
    /// place in `text`. Over shell text such a test is fooled by `&&`, `;`, `$(…)`
    /// (issue 56 point 3).
    pub fn text_tests(
        &self,
        bound: impl Fn(&Name) -> bool,
    ) -> Vec<(Func, &Name, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        walk(&self.expr, &mut |e| {
            if let Expr::Call(f @ (Func::StartsWith | Func::Contains | Func::EndsWith), args) = e {
                for a in args {
                    if let Expr::Ref(n, at) = a
                        && bound(n)
                    {
                        out.push((*f, n, at.clone()));
                    }
                }
            }
        });
        out
    }

    /// Resolve each step name with `f` (its step id → index).
    pub fn resolve_steps(&mut self, mut f: impl FnMut(&str) -> usize) {
        walk_mut(&mut self.expr, &mut |e| {
            if let Expr::Ref(n, _) = e
                && let Some((step, id)) = n.step_mut()
            {
                let i = f(id);
                *step = i;
            }
        });
    }
}

fn walk<'e>(e: &'e Expr, f: &mut impl FnMut(&'e Expr)) {
    f(e);
    match e {
        Expr::Lit(_) | Expr::Ref(..) => {}
        Expr::Not(a) | Expr::Matches(a, _) => walk(a, f),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => {
            walk(a, f);
            walk(b, f);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| walk(a, f)),
    }
}

fn walk_mut(e: &mut Expr, f: &mut impl FnMut(&mut Expr)) {
    f(e);
    match e {
        Expr::Lit(_) | Expr::Ref(..) => {}
        Expr::Not(a) | Expr::Matches(a, _) => walk_mut(a, f),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => {
            walk_mut(a, f);
            walk_mut(b, f);
        }
        Expr::Call(_, args) => args.iter_mut().for_each(|a| walk_mut(a, f)),
    }
}

#[cfg(test)]
mod github_tests;
#[cfg(test)]
mod tests;
