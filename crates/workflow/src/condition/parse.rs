//! Tokens and a recursive-descent parser for `if` expressions; every error carries
//! where it is (bytes of the text as written) and what would be right.
use super::*;
use crate::template::{is_name, is_step_id};
use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub hint: String,
    /// Bytes of the text as written.
    pub at: Range<usize>,
}

/// How deep a condition may nest (parentheses, `!`, calls, and the operands of a
/// chain of `&&`/`||`): the parser, the evaluator and every walk recurse once per
/// level, so a hostile file cannot take the thread's stack (issue 41 point 3).
pub const MAX_DEPTH: usize = 100;

const NAMES: &str = "params.<name>, env.<NAME>, run.id, run.slot, steps.<id>.outputs.<key>, steps.<id>.inputs.<name>, steps.<id>.state, needs.<id>.result, needs.*.result, (in a gate's `auto`) with.<NAME>, (in `allow_failure`) matrix.<key> or (in a `retry`'s `if`) attempt.exit_code";

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Word(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

fn err(message: impl Into<String>, hint: impl Into<String>, at: Range<usize>) -> ParseError {
    ParseError {
        message: message.into(),
        hint: hint.into(),
        at,
    }
}

/// Parse `text` (optionally wrapped in `${{ … }}`) into a condition.
pub fn parse(text: &str) -> Result<Condition, ParseError> {
    let trimmed = text.trim();
    let lead = text.len() - text.trim_start().len();
    let (body, base) = match trimmed
        .strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
    {
        Some(inner) => (inner, lead + 3),
        None => (text, 0),
    };
    let toks = lex(body, base)?;
    if toks.is_empty() {
        return Err(err(
            "the condition is empty",
            format!("write an expression such as params.event == 'release' (names: {NAMES})"),
            0..text.len(),
        ));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        end: base + body.len(),
        depth: 0,
    };
    let expr = p.or()?;
    if let Some((t, at)) = p.toks.get(p.pos) {
        return Err(err(
            format!("unexpected {} after a complete expression", shown(t)),
            "join conditions with && or ||, and compare with == != < <= > >=",
            at.clone(),
        ));
    }
    Ok(Condition {
        text: body.trim().to_string(),
        expr,
    })
}

fn shown(t: &Tok) -> String {
    match t {
        Tok::Str(s) => format!("text '{s}'"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Word(w) => format!("`{w}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::Open => "`(`".into(),
        Tok::Close => "`)`".into(),
        Tok::Comma => "`,`".into(),
    }
}

fn lex(s: &str, base: usize) -> Result<Vec<(Tok, Range<usize>)>, ParseError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let at = |j: usize| base + start..base + j;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            b'\'' | b'"' => {
                let Some(len) = s[i + 1..].find(c as char) else {
                    return Err(err(
                        "unclosed text: it has no closing quote",
                        format!("close it with {}", c as char),
                        at(b.len()),
                    ));
                };
                i += len + 2;
                Tok::Str(s[start + 1..start + 1 + len].to_string())
            }
            b'(' => {
                i += 1;
                Tok::Open
            }
            b')' => {
                i += 1;
                Tok::Close
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'=' | b'!' | b'<' | b'>' | b'&' | b'|' => {
                let two = s.get(i..i + 2).unwrap_or("");
                let op = ["==", "!=", "<=", ">=", "&&", "||"]
                    .into_iter()
                    .find(|o| *o == two);
                let (op, len) = match (op, c) {
                    (Some(o), _) => (o, 2),
                    (None, b'!') => ("!", 1),
                    (None, b'<') => ("<", 1),
                    (None, b'>') => (">", 1),
                    (None, b'=') => {
                        return Err(err("`=` is not an operator", "compare with ==", at(i + 1)));
                    }
                    (None, _) => {
                        let c = c as char;
                        return Err(err(
                            format!("`{c}` is not an operator"),
                            format!("write {c}{c}"),
                            at(i + 1),
                        ));
                    }
                };
                i += len;
                Tok::Op(op)
            }
            b'0'..=b'9' | b'-' | b'.' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b"-+._".contains(&b[i])) {
                    i += 1;
                }
                let w = &s[start..i];
                match w.parse::<f64>() {
                    Ok(n) if n.is_finite() => Tok::Num(n),
                    _ => {
                        return Err(err(
                            format!("`{w}` is not a number"),
                            "write a number such as 3 or 2.5, or quote text: '…'",
                            at(i),
                        ));
                    }
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                // `*` only right after a dot: `needs.*.result`.
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b"_-.".contains(&b[i])
                        || (b[i] == b'*' && b[i - 1] == b'.'))
                {
                    i += 1;
                }
                Tok::Word(s[start..i].to_string())
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(err(
                    format!("unexpected character `{ch}`"),
                    format!(
                        "an expression holds names ({NAMES}), quoted text, numbers, true/false, operators and parentheses"
                    ),
                    at(i + ch.len_utf8()),
                ));
            }
        };
        out.push((tok, at(i)));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, Range<usize>)>,
    pos: usize,
    /// The end of the text, where "expected …" at the end points.
    end: usize,
    /// The levels of the tree above the expression being parsed.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn here(&self) -> Range<usize> {
        self.toks
            .get(self.pos)
            .map_or(self.end..self.end, |(_, at)| at.clone())
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `inner` one level deeper, refused past [`MAX_DEPTH`] at the token that goes
    /// over (`levels`: how many levels it adds).
    fn nested<T>(
        &mut self,
        levels: usize,
        inner: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if self.depth + levels > MAX_DEPTH {
            let at = self.toks[self.pos.saturating_sub(1)].1.clone();
            return Err(err(
                format!("the condition nests deeper than {MAX_DEPTH} levels"),
                "split it: compute a part in a step's output, or use fewer parentheses and operators",
                at,
            ));
        }
        self.depth += levels;
        let r = inner(self);
        self.depth -= levels;
        r
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.and()?;
        let mut levels = 0;
        while self.eat(&Tok::Op("||")) {
            levels += 1;
            let right = self.nested(levels, Self::and)?;
            e = Expr::Or(Box::new(e), Box::new(right));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.not()?;
        let mut levels = 0;
        while self.eat(&Tok::Op("&&")) {
            levels += 1;
            let right = self.nested(levels, Self::not)?;
            e = Expr::And(Box::new(e), Box::new(right));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat(&Tok::Op("!")) {
            return Ok(Expr::Not(Box::new(self.nested(1, Self::not)?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, ParseError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Op("==")) => Cmp::Eq,
            Some(Tok::Op("!=")) => Cmp::Ne,
            Some(Tok::Op("<")) => Cmp::Lt,
            Some(Tok::Op("<=")) => Cmp::Le,
            Some(Tok::Op(">")) => Cmp::Gt,
            Some(Tok::Op(">=")) => Cmp::Ge,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.primary()?;
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let at = self.here();
        let Some((tok, _)) = self.toks.get(self.pos).cloned() else {
            return Err(err(
                "the expression ends where a value was expected",
                format!(
                    "finish it with a value: a name ({NAMES}), quoted text, a number or true/false"
                ),
                at,
            ));
        };
        self.pos += 1;
        match tok {
            Tok::Str(s) => Ok(Expr::Lit(Value::Text(s))),
            Tok::Num(n) => Ok(Expr::Lit(Value::Num(n))),
            Tok::Open => {
                let e = self.nested(1, Self::or)?;
                if !self.eat(&Tok::Close) {
                    return Err(err(
                        "`(` is not closed",
                        "add `)` where the group ends",
                        self.here(),
                    ));
                }
                Ok(e)
            }
            Tok::Word(w) if w == "true" => Ok(Expr::Lit(Value::Bool(true))),
            Tok::Word(w) if w == "false" => Ok(Expr::Lit(Value::Bool(false))),
            Tok::Word(w) if self.peek() == Some(&Tok::Open) => self.call(&w, at),
            Tok::Word(w) => name(&w, at.clone()).map(|n| Expr::Ref(n, at)),
            t => Err(err(
                format!("expected a value, found {}", shown(&t)),
                format!("a value is a name ({NAMES}), quoted text, a number or true/false"),
                at,
            )),
        }
    }

    fn call(&mut self, w: &str, at: Range<usize>) -> Result<Expr, ParseError> {
        let names: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
        if let Some(rule) = status_rule(w) {
            return Err(err(
                format!(
                    "`{w}()` is GitHub's job-status function; baton decides on its needs' states with the step's `when`, not in `if`"
                ),
                format!(
                    "remove it from `if` and {rule} (`when` is one of Airflow's trigger rules: see \"Trigger rules\" in docs/workflow/conditions.md)"
                ),
                at,
            ));
        }
        let Some(f) = Func::parse(w) else {
            let hint = crate::diag::did_you_mean(w, &names, "functions");
            return Err(err(format!("unknown function `{w}`"), hint, at));
        };
        self.pos += 1; // `(`
        let mut args = Vec::new();
        let mut arg_at = Vec::new();
        if !self.eat(&Tok::Close) {
            loop {
                arg_at.push(self.here());
                args.push(self.nested(1, Self::or)?);
                if self.eat(&Tok::Comma) {
                    continue;
                }
                if self.eat(&Tok::Close) {
                    break;
                }
                return Err(err(
                    format!("`{w}(` is not closed"),
                    "separate arguments with `,` and end with `)`",
                    self.here(),
                ));
            }
        }
        if args.len() != f.arity() {
            let (n, example) = match f.arity() {
                1 => ("1 argument", format!("{w}(a)")),
                _ => ("2 arguments", format!("{w}(a, b)")),
            };
            return Err(err(
                format!("`{w}` takes {n}, found {}", args.len()),
                format!("write {example}"),
                at.start..self.toks[self.pos - 1].1.end,
            ));
        }
        if f == Func::Matches {
            let pattern = match &args[1] {
                Expr::Lit(Value::Text(p)) => p.clone(),
                _ => {
                    return Err(err(
                        "the pattern of `matches` must be quoted text",
                        "write matches(value, '^v[0-9]+')",
                        arg_at[1].clone(),
                    ));
                }
            };
            let re = regex::Regex::new(&pattern).map_err(|e| {
                let first = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                err(
                    format!("the pattern of `matches` is not a valid regular expression: {first}"),
                    "write a Rust regex, e.g. '^v[0-9]+$'",
                    arg_at[1].clone(),
                )
            })?;
            let value = args.swap_remove(0);
            return Ok(Expr::Matches(Box::new(value), re));
        }
        Ok(Expr::Call(f, args))
    }
}

/// A dotted name: one of `NAMES`.
fn name(w: &str, at: Range<usize>) -> Result<Name, ParseError> {
    let parts: Vec<&str> = w.split('.').collect();
    let n = match parts.as_slice() {
        ["run", "id"] => Name::RunId,
        ["run", "slot"] => Name::RunSlot,
        ["attempt", "exit_code"] => Name::AttemptExitCode,
        ["params", p] if is_name(p, true) => Name::Param(p.to_string()),
        ["env", e] if is_name(e, false) => Name::Env(e.to_string()),
        ["with", k] if is_name(k, false) => Name::With(k.to_string()),
        ["matrix", k] if is_name(k, true) => Name::Matrix(k.to_string()),
        ["steps", id, "outputs", k] if is_step_id(id) && is_name(k, true) => Name::StepOutput {
            step: usize::MAX,
            step_id: id.to_string(),
            key: k.to_string(),
        },
        ["steps", id, "inputs", k] if is_step_id(id) && is_name(k, true) => Name::StepInput {
            step: usize::MAX,
            step_id: id.to_string(),
            key: k.to_string(),
        },
        ["steps", id, "state"] if is_step_id(id) => Name::StepState {
            step: usize::MAX,
            step_id: id.to_string(),
        },
        ["needs", id, "result"] if is_step_id(id) => Name::NeedResult {
            step: usize::MAX,
            step_id: id.to_string(),
        },
        ["needs", "*", "result"] => Name::NeedsResults,
        _ => {
            return Err(err(
                format!("unknown name `{w}`"),
                format!("a name is {NAMES}; quote text: '{w}'"),
                at,
            ));
        }
    };
    Ok(n)
}

/// GitHub's status functions and the trigger rule (`when`) that says the same.
fn status_rule(w: &str) -> Option<&'static str> {
    Some(match w.to_ascii_lowercase().as_str() {
        "success" => {
            "leave `when` out: `when = \"all_success\"` (the default) runs the step when every need succeeded"
        }
        "failure" => "set `when = \"one_failed\"`: the step runs when a need failed",
        "always" => "set `when = \"always\"`: the step runs whatever its needs' states",
        "cancelled" => {
            "leave it out: a cancelled run starts no more steps (`when = \"always\"` runs a step whatever its needs' states)"
        }
        _ => return None,
    })
}
