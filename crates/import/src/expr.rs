//! GitHub's `${{ }}` expressions into baton's condition language (docs/workflow/
//! conditions.md): parsed, then printed over baton's names; what has no counterpart is
//! an `Err` saying so, for the report.

/// Why an expression has no translation: the report's note after "not translated".
/// Each says what GitHub wrote that baton cannot read, and where a rewrite helps, how.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ExprError {
    #[error("an unclosed text")]
    UnclosedText,
    #[error("`{0}` is not an operator")]
    NotAnOperator(char),
    #[error("`{0}` is not part of an expression")]
    NotPartOfAnExpression(char),
    #[error("the expression ends early")]
    EndsEarly,
    #[error("a `(` is not closed")]
    ParenNotClosed,
    #[error("`{0}(` lacks a `,` or `)`")]
    CallNotClosed(String),
    #[error("a `.` is not followed by a name")]
    DotWithoutName,
    #[error("an index that is not a literal")]
    IndexNotLiteral,
    #[error("a `[` is not closed")]
    BracketNotClosed,
    #[error("unexpected {0}")]
    Unexpected(String),
    #[error("text after the expression")]
    TextAfter,
    #[error("a text holding both quote characters")]
    BothQuotes,
    #[error("the number `{0}` (baton reads decimal numbers only)")]
    NotDecimal(String),
    #[error("`{0}()` inside a larger expression (baton decides a step's needs by its `when`)")]
    StatusInside(String),
    #[error("the function `{0}` (baton's conditions have contains, startsWith, endsWith)")]
    NoSuchFunction(String),
    #[error("a status function under `||`, `!` or a comparison")]
    StatusNested,
    #[error("the function `{0}` in a step's `if`")]
    NotInScript(String),
    #[error("an operator or function a step's `if` cannot decide in the script")]
    OperatorNotInScript,
    #[error(transparent)]
    Name(#[from] NameError),
}

/// A GitHub name with no baton counterpart where it is read (`Names::name`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum NameError {
    #[error("`{path}`: no job `{job}`")]
    NoJob { path: String, job: String },
    #[error("`{path}`: `{job}` is not among the job's needs (GitHub reads '')")]
    NotANeed { path: String, job: String },
    #[error("`{path}` (baton's `env.NAME` reads the run-wide `env` only)")]
    EnvNotRunWide { path: String },
    #[error("`{path}` (the job's matrix has no key `{key}`)")]
    NoMatrixKey { path: String, key: String },
    #[error("`{path}` (no baton counterpart here)")]
    NoCounterpart { path: String },
    #[error("`{path}`: job `{job}` declares no such output (GitHub reads '')")]
    NoOutput { path: String, job: String },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum E {
    Str(String),
    Num(String),
    Bool(bool),
    Null,
    /// A dotted path: `github.event.pull_request.number`, `needs.*.result`.
    Name(Vec<String>),
    Call(String, Vec<E>),
    Not(Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Num(String),
    Word(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
    Dot,
    Star,
    LBr,
    RBr,
}

fn lex(s: &str) -> Result<Vec<Tok>, ExprError> {
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = vec![];
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let t = match c {
            '\'' => {
                let mut t = String::new();
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err(ExprError::UnclosedText),
                        Some('\'') if b.get(i + 1) == Some(&'\'') => {
                            t.push('\'');
                            i += 2;
                        }
                        Some('\'') => break,
                        Some(c) => {
                            t.push(*c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                out.push(Tok::Str(t));
                continue;
            }
            '(' => Tok::Open,
            ')' => Tok::Close,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            '*' => Tok::Star,
            '[' => Tok::LBr,
            ']' => Tok::RBr,
            '=' | '!' | '<' | '>' | '&' | '|' => {
                let two: String = b[i..(i + 2).min(b.len())].iter().collect();
                let op = ["==", "!=", "<=", ">=", "&&", "||"]
                    .into_iter()
                    .find(|o| *o == two);
                match (op, c) {
                    (Some(o), _) => {
                        i += 2;
                        out.push(Tok::Op(o));
                        continue;
                    }
                    (None, '!') => Tok::Op("!"),
                    (None, '<') => Tok::Op("<"),
                    (None, '>') => Tok::Op(">"),
                    _ => return Err(ExprError::NotAnOperator(c)),
                }
            }
            c if c.is_ascii_digit() || c == '-' => {
                let st = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '.') {
                    i += 1;
                }
                out.push(Tok::Num(b[st..i].iter().collect()));
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let st = i;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '-') {
                    i += 1;
                }
                out.push(Tok::Word(b[st..i].iter().collect()));
                continue;
            }
            c => return Err(ExprError::NotPartOfAnExpression(c)),
        };
        out.push(t);
        i += 1;
    }
    Ok(out)
}

struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn bin(
        &mut self,
        ops: &[&'static str],
        next: fn(&mut P) -> Result<E, ExprError>,
    ) -> Result<E, ExprError> {
        let mut l = next(self)?;
        while let Some(Tok::Op(o)) = self.peek().cloned() {
            if !ops.contains(&o) {
                break;
            }
            self.i += 1;
            l = E::Bin(o, Box::new(l), Box::new(next(self)?));
        }
        Ok(l)
    }
    fn or(&mut self) -> Result<E, ExprError> {
        self.bin(&["||"], P::and)
    }
    fn and(&mut self) -> Result<E, ExprError> {
        self.bin(&["&&"], P::cmp)
    }
    fn cmp(&mut self) -> Result<E, ExprError> {
        self.bin(&["==", "!=", "<", "<=", ">", ">="], P::unary)
    }
    fn unary(&mut self) -> Result<E, ExprError> {
        if self.eat(&Tok::Op("!")) {
            return Ok(E::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<E, ExprError> {
        let t = self.peek().cloned().ok_or(ExprError::EndsEarly)?;
        self.i += 1;
        match t {
            Tok::Str(s) => Ok(E::Str(s)),
            Tok::Num(n) => Ok(E::Num(n)),
            Tok::Open => {
                let e = self.or()?;
                if !self.eat(&Tok::Close) {
                    return Err(ExprError::ParenNotClosed);
                }
                Ok(e)
            }
            Tok::Word(w) => match w.as_str() {
                "true" => Ok(E::Bool(true)),
                "false" => Ok(E::Bool(false)),
                "null" => Ok(E::Null),
                _ if self.eat(&Tok::Open) => {
                    let mut args = vec![];
                    if !self.eat(&Tok::Close) {
                        loop {
                            args.push(self.or()?);
                            if self.eat(&Tok::Close) {
                                break;
                            }
                            if !self.eat(&Tok::Comma) {
                                return Err(ExprError::CallNotClosed(w));
                            }
                        }
                    }
                    Ok(E::Call(w.to_ascii_lowercase(), args))
                }
                _ => {
                    let mut path = vec![w];
                    loop {
                        if self.eat(&Tok::Dot) {
                            match self.peek().cloned() {
                                Some(Tok::Word(p)) => path.push(p),
                                Some(Tok::Star) => path.push("*".into()),
                                _ => return Err(ExprError::DotWithoutName),
                            }
                            self.i += 1;
                        } else if self.eat(&Tok::LBr) {
                            match self.peek().cloned() {
                                Some(Tok::Str(p) | Tok::Num(p)) => path.push(p),
                                Some(Tok::Star) => path.push("*".into()),
                                _ => return Err(ExprError::IndexNotLiteral),
                            }
                            self.i += 1;
                            if !self.eat(&Tok::RBr) {
                                return Err(ExprError::BracketNotClosed);
                            }
                        } else {
                            break;
                        }
                    }
                    Ok(E::Name(path))
                }
            },
            t => Err(ExprError::Unexpected(format!("{t:?}"))),
        }
    }
}

/// Parse an expression (the `${{ }}` around it, if any, removed first).
pub(crate) fn parse(src: &str) -> Result<E, ExprError> {
    let s = strip(src);
    let mut p = P { t: lex(s)?, i: 0 };
    let e = p.or()?;
    if p.i != p.t.len() {
        return Err(ExprError::TextAfter);
    }
    Ok(e)
}

/// `${{ x }}` → `x`; anything else as it is.
pub(crate) fn strip(s: &str) -> &str {
    let t = s.trim();
    match t.strip_prefix("${{").and_then(|r| r.strip_suffix("}}")) {
        Some(inner) if !inner.contains("${{") => inner.trim(),
        _ => t,
    }
}

/// How names read in baton: `Ok(baton name)` or `Err(why not)`.
pub(crate) trait Names {
    fn name(&mut self, path: &[String]) -> Result<String, NameError>;
}

fn lit(s: &str) -> Result<String, ExprError> {
    if !s.contains('\'') {
        Ok(format!("'{s}'"))
    } else if !s.contains('"') {
        Ok(format!("\"{s}\""))
    } else {
        Err(ExprError::BothQuotes)
    }
}

/// Print `e` as a baton condition.
pub(crate) fn to_baton(e: &E, n: &mut dyn Names) -> Result<String, ExprError> {
    Ok(match e {
        E::Str(s) => lit(s)?,
        E::Num(x) => {
            if x.starts_with("0x") || x.contains(['e', 'E']) {
                return Err(ExprError::NotDecimal(x.clone()));
            }
            x.clone()
        }
        E::Bool(b) => b.to_string(),
        E::Null => "''".into(),
        E::Name(p) => n.name(p)?,
        E::Not(x) => format!("!{}", group(x, 4, n)?),
        E::Bin(op, l, r) => {
            let p = prec(op);
            format!("{} {op} {}", group(l, p, n)?, group(r, p, n)?)
        }
        E::Call(f, args) => call(f, args, n)?,
    })
}

fn prec(op: &str) -> u8 {
    match op {
        "||" => 1,
        "&&" => 2,
        _ => 3,
    }
}

/// `e` as an operand of an operator of precedence `parent`: in parentheses when it
/// binds less tightly (or is a comparison under a comparison: they do not chain).
fn group(e: &E, parent: u8, n: &mut dyn Names) -> Result<String, ExprError> {
    let s = to_baton(e, n)?;
    Ok(match e {
        E::Bin(op, ..) if prec(op) < parent || (prec(op) == 3 && parent >= 3) => format!("({s})"),
        _ => s,
    })
}

fn call(f: &str, args: &[E], n: &mut dyn Names) -> Result<String, ExprError> {
    match (f, args) {
        ("contains" | "startswith" | "endswith", [a, b]) => {
            let name = match f {
                "startswith" => "startsWith",
                "endswith" => "endsWith",
                _ => "contains",
            };
            Ok(format!("{name}({}, {})", to_baton(a, n)?, to_baton(b, n)?))
        }
        ("success" | "failure" | "always" | "cancelled", _) => {
            Err(ExprError::StatusInside(f.to_owned()))
        }
        _ => Err(ExprError::NoSuchFunction(f.to_owned())),
    }
}

/// What a job's status functions say, as baton's trigger rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// `success()`, or no status function (GitHub's implied default).
    Success,
    /// `always()`, `!cancelled()`, `success() || failure()`: whatever the needs did.
    Done,
    /// `failure()`, `!cancelled() && failure()`: a need (or an ancestor) failed.
    Failure,
    /// `cancelled()`: only when the run is cancelled.
    Cancelled,
    /// Never (`success() && failure()`).
    Never,
}

/// The three situations GitHub's status functions tell apart: every job above
/// succeeded, one failed, the run was cancelled.
const SITUATIONS: [Status; 3] = [Status::Success, Status::Failure, Status::Cancelled];

/// Whether `e`, made of status functions, `!`, `&&`, `||` and `true`/`false` only,
/// holds in situation `sit`; `None` when `e` holds anything else.
fn holds(e: &E, sit: Status) -> Option<bool> {
    Some(match e {
        E::Call(f, a) if a.is_empty() => match f.as_str() {
            "success" => sit == Status::Success,
            "failure" => sit == Status::Failure,
            "cancelled" => sit == Status::Cancelled,
            "always" => true,
            _ => return None,
        },
        E::Bool(b) => *b,
        E::Not(x) => !holds(x, sit)?,
        E::Bin("&&", l, r) => holds(l, sit)? && holds(r, sit)?,
        E::Bin("||", l, r) => holds(l, sit)? || holds(r, sit)?,
        _ => return None,
    })
}

/// The trigger rule of status functions in any combination, from the situations in
/// which they hold. A cancelled run starts nothing in baton, so `failure() ||
/// cancelled()` reads as `failure()`.
fn status_of(e: &E) -> Option<Status> {
    let t: Vec<bool> = SITUATIONS
        .iter()
        .map(|s| holds(e, *s))
        .collect::<Option<_>>()?;
    Some(match (t[0], t[1], t[2]) {
        (true, true, _) => Status::Done,
        (true, false, _) => Status::Success,
        (false, true, _) => Status::Failure,
        (false, false, true) => Status::Cancelled,
        (false, false, false) => Status::Never,
    })
}

pub(crate) fn has_status(e: &E) -> bool {
    match e {
        E::Call(f, a) => {
            matches!(f.as_str(), "success" | "failure" | "always" | "cancelled")
                || a.iter().any(has_status)
        }
        E::Not(x) => has_status(x),
        E::Bin(_, l, r) => has_status(l) || has_status(r),
        _ => false,
    }
}

/// Split a job's `if` into its status part and the rest (the operands of a top-level
/// `&&` that hold no status function); the operands made of status functions only
/// decide the status together, in any combination. `Err` when a status function sits
/// beside a value under `||`, `!` or a comparison.
pub(crate) fn split_status(e: &E) -> Result<(Status, Option<E>), ExprError> {
    let mut parts = vec![];
    flatten_and(e, &mut parts);
    let mut status: Option<E> = None;
    let mut rest: Option<E> = None;
    let join = |acc: Option<E>, p: &E| {
        Some(match acc {
            None => p.clone(),
            Some(r) => E::Bin("&&", Box::new(r), Box::new(p.clone())),
        })
    };
    for p in parts {
        if has_status(p) {
            status = join(status, p);
        } else {
            rest = join(rest, p);
        }
    }
    let status = match status {
        None => Status::Success,
        Some(s) => status_of(&s).ok_or(ExprError::StatusNested)?,
    };
    Ok((status, rest))
}

/// `e` with its status functions replaced by what they read in baton over the job's
/// `needs` (GitHub ids): `success()` every need succeeded, `failure()` one failed,
/// `always()` true, `cancelled()` false (a cancelled run starts nothing).
pub(crate) fn status_over_needs(e: &E, needs: &[String]) -> E {
    let result = |j: &String, op: &'static str, v: &str| {
        E::Bin(
            op,
            Box::new(E::Name(vec!["needs".into(), j.clone(), "result".into()])),
            Box::new(E::Str(v.into())),
        )
    };
    let fold = |op: &'static str, items: Vec<E>, empty: bool| {
        items
            .into_iter()
            .reduce(|a, b| E::Bin(op, Box::new(a), Box::new(b)))
            .unwrap_or(E::Bool(empty))
    };
    match e {
        E::Call(f, a) if a.is_empty() => match f.as_str() {
            "success" => fold(
                "&&",
                needs.iter().map(|j| result(j, "==", "success")).collect(),
                true,
            ),
            "failure" => fold(
                "||",
                needs.iter().map(|j| result(j, "==", "failure")).collect(),
                false,
            ),
            "always" => E::Bool(true),
            "cancelled" => E::Bool(false),
            _ => e.clone(),
        },
        E::Not(x) => E::Not(Box::new(status_over_needs(x, needs))),
        E::Bin(op, l, r) => E::Bin(
            op,
            Box::new(status_over_needs(l, needs)),
            Box::new(status_over_needs(r, needs)),
        ),
        E::Call(f, a) => E::Call(
            f.clone(),
            a.iter().map(|x| status_over_needs(x, needs)).collect(),
        ),
        _ => e.clone(),
    }
}

fn flatten_and<'a>(e: &'a E, out: &mut Vec<&'a E>) {
    match e {
        E::Bin("&&", l, r) => {
            flatten_and(l, out);
            flatten_and(r, out);
        }
        _ => out.push(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct N;
    impl Names for N {
        fn name(&mut self, p: &[String]) -> Result<String, NameError> {
            match p[0].as_str() {
                "github" => Ok(format!("params.github_{}", p[1..].join("_"))),
                "matrix" | "needs" => Ok(p.join(".")),
                _ => Err(NameError::NoCounterpart { path: p.join(".") }),
            }
        }
    }

    fn tr(s: &str) -> Result<String, ExprError> {
        to_baton(&parse(s)?, &mut N)
    }

    #[test]
    fn names_functions_and_operators_translate() {
        assert_eq!(
            tr("${{ github.event_name == 'push' && startsWith(github.ref, 'refs/tags/') }}")
                .unwrap(),
            "params.github_event_name == 'push' && startsWith(params.github_ref, 'refs/tags/')"
        );
        assert_eq!(
            tr("matrix.python == '3.14'").unwrap(),
            "matrix.python == '3.14'"
        );
        assert_eq!(tr("'it''s'").unwrap(), "\"it's\"");
        assert!(
            tr("fromJSON(github.x)")
                .unwrap_err()
                .to_string()
                .contains("fromjson")
        );
        assert!(tr("secrets.X").is_err());
    }

    #[test]
    fn needs_results_read_as_github_writes_them() {
        // baton reads GitHub's job results itself (`StepState::github_result`).
        assert_eq!(
            tr("contains(needs.*.result, 'failure')").unwrap(),
            "contains(needs.*.result, 'failure')"
        );
        assert_eq!(
            tr("needs.a.result != 'skipped'").unwrap(),
            "needs.a.result != 'skipped'"
        );
    }

    #[test]
    fn status_functions_become_the_trigger_rule() {
        let s = |x: &str| split_status(&parse(x).unwrap());
        assert_eq!(s("always()").unwrap(), (Status::Done, None));
        assert_eq!(s("${{ failure() }}").unwrap(), (Status::Failure, None));
        assert_eq!(s("!cancelled()").unwrap().0, Status::Done);
        assert_eq!(s("success() || failure()").unwrap().0, Status::Done);
        let (st, rest) = s("always() && github.ref == 'x'").unwrap();
        assert_eq!(st, Status::Done);
        assert_eq!(rest, Some(parse("github.ref == 'x'").unwrap()));
        assert_eq!(s("github.ref == 'x'").unwrap().0, Status::Success);
        assert!(s("failure() || github.ref == 'x'").is_err());
        // Any combination: the inverse reading of `!cancelled() && failure()` was the
        // defect (issue 78).
        assert_eq!(s("(!cancelled() && failure())").unwrap().0, Status::Failure);
        assert_eq!(s("always() && !cancelled()").unwrap().0, Status::Done);
        assert_eq!(s("!success()").unwrap().0, Status::Failure);
        assert_eq!(s("success() && failure()").unwrap().0, Status::Never);
        assert_eq!(s("cancelled() || false").unwrap().0, Status::Cancelled);
    }
}

/// A step's `if` (without its status functions) as a shell test over variables: each
/// name is the shell word `var(path)` gives (a variable the step's `env` sets from a
/// baton template, or a read of a file, inside double quotes), so a value is only ever
/// compared. Text compares ignoring case, as GitHub's does, and byte for byte, its
/// trailing newlines too (`_bt_eq`, `_bt_has`, defined by the script, over
/// [`word_x`]s); a value alone is true unless it is empty, `false` or `0`, as baton's
/// conditions read it.
pub(crate) fn to_shell(
    e: &E,
    var: &mut dyn FnMut(&[String]) -> Result<String, NameError>,
) -> Result<String, ExprError> {
    let both =
        |a: &E,
         b: &E,
         var: &mut dyn FnMut(&[String]) -> Result<String, NameError>|
         -> Result<(String, String), ExprError> { Ok((word_x(a, var)?, word_x(b, var)?)) };
    Ok(match e {
        E::Bin("&&", l, r) => format!("{{ {} && {}; }}", to_shell(l, var)?, to_shell(r, var)?),
        E::Bin("||", l, r) => format!("{{ {} || {}; }}", to_shell(l, var)?, to_shell(r, var)?),
        E::Not(x) => format!("! {{ {}; }}", to_shell(x, var)?),
        E::Bin(op @ ("==" | "!="), l, r) => {
            let (a, b) = both(l, r, var)?;
            let not = if *op == "==" { "" } else { "! " };
            format!("{not}_bt_eq {a} {b}")
        }
        // A step's status functions, over the job's code so far (`_bt_rc`).
        E::Call(f, args) if args.is_empty() => match f.as_str() {
            "success" => "[ \"$_bt_rc\" -eq 0 ]".into(),
            "failure" => "[ \"$_bt_rc\" -ne 0 ]".into(),
            "always" => "true".into(),
            "cancelled" => "false".into(),
            _ => return Err(ExprError::NotInScript(f.clone())),
        },
        E::Call(f, args) if args.len() == 2 => {
            if !["startswith", "endswith", "contains"].contains(&f.as_str()) {
                return Err(ExprError::NotInScript(f.clone()));
            }
            let (a, b) = both(&args[0], &args[1], var)?;
            format!("_bt_has {f} {a} {b}")
        }
        // Literals hold as GitHub's do; a name's value (text here) unless it is empty,
        // `false` or `0`.
        E::Str(s) => (!s.is_empty()).to_string(),
        E::Num(n) => (n.parse::<f64>() != Ok(0.0)).to_string(),
        E::Bool(b) => b.to_string(),
        E::Null => "false".into(),
        E::Name(_) => {
            format!(
                "case {} in x|falsex|0x) false ;; *) true ;; esac",
                word_x(e, var)?
            )
        }
        _ => {
            return Err(ExprError::OperatorNotInScript);
        }
    })
}

/// The first part of a path `word` hands its `var` for `toJSON(path)`: no name of
/// GitHub's starts with it.
pub(crate) const TO_JSON: &str = "toJSON()";

/// `s` as a JSON string, as GitHub's `toJSON` writes one (`"`, `\\` and control
/// characters escaped).
pub(crate) fn json_string(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            c if (c as u32) < 0x20 || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') => {
                o.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A shell word holding an expression's value, as GitHub computes it: `a && b` is `b`
/// when `a` holds, else `a`; `a || b` is `a` when it holds, else `b` (so `c && 'x' ||
/// 'y'` picks), a test (`==`, `!`, `startsWith(…)`) is `true` or `false`. Literals are
/// quoted, names are the words `var` gives: a value is never code.
pub(crate) fn word(
    e: &E,
    var: &mut dyn FnMut(&[String]) -> Result<String, NameError>,
) -> Result<String, ExprError> {
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    Ok(match e {
        E::Str(s) | E::Num(s) => q(s),
        E::Bool(b) => q(&b.to_string()),
        E::Null => "''".into(),
        E::Name(p) => var(p)?,
        // The left operand's truth is tested as GitHub tests it (a literal text holds
        // unless empty: `c && '0' || '1'` reads `0` when `c` holds).
        E::Bin("&&" | "||", ..) => format!("\"$({})\"", emit(e, var)?),
        // `toJSON` of a literal is decided here; of a name, by `var` over the path
        // behind `TO_JSON` (it knows the name's type: `json_word`).
        E::Call(f, args) if f == "tojson" && args.len() == 1 => match &args[0] {
            E::Name(p) => {
                let mut marked = vec![TO_JSON.to_string()];
                marked.extend(p.iter().cloned());
                var(&marked)?
            }
            E::Str(s) => q(&json_string(s)),
            E::Num(n) => q(n),
            E::Bool(b) => q(&b.to_string()),
            E::Null => q("null"),
            _ => return Err(ExprError::NotInScript(f.clone())),
        },
        E::Not(_) | E::Bin(..) | E::Call(..) => format!(
            "\"$(if {}; then printf true; else printf false; fi)\"",
            to_shell(e, var)?
        ),
    })
}

/// A shell word holding an expression's value with an `x` after it: a command
/// substitution drops trailing newlines, and there is none to drop before the `x`, so
/// the value is kept byte for byte where it is only read (`_bt_eq`, `_bt_has`, a
/// truth, a switch), never set to a variable first.
pub(crate) fn word_x(
    e: &E,
    var: &mut dyn FnMut(&[String]) -> Result<String, NameError>,
) -> Result<String, ExprError> {
    Ok(match e {
        E::Bin("&&" | "||", ..) => format!("\"$({}; printf x)\"", emit(e, var)?),
        _ => format!("{}x", word(e, var)?),
    })
}

/// Commands printing an expression's value byte for byte: `a || b` prints the operand
/// it picks (`a` when it holds, else `b`; `a && b` the other way), itself printed the
/// same way, so that a value's newlines, trailing ones too, reach the end of the
/// commands (`Piece::Value` keeps them past the command substitution around them).
pub(crate) fn emit(
    e: &E,
    var: &mut dyn FnMut(&[String]) -> Result<String, NameError>,
) -> Result<String, ExprError> {
    Ok(match e {
        E::Bin(op @ ("&&" | "||"), l, r) => {
            let t = to_shell(l, var)?;
            let (a, b) = (emit(l, var)?, emit(r, var)?);
            let (yes, no) = if *op == "||" { (a, b) } else { (b, a) };
            format!("if {t}; then {yes}; else {no}; fi")
        }
        _ => format!("printf '%s' {}", word(e, var)?),
    })
}

#[cfg(test)]
mod shell_tests {
    use super::*;

    #[test]
    fn a_steps_if_becomes_a_test_over_variables() {
        let mut n = 0;
        let mut var = |p: &[String]| -> Result<String, NameError> {
            n += 1;
            if p[0] == "secrets" {
                Err(NameError::NoCounterpart { path: p.join(".") })
            } else {
                Ok(format!("\"$V{n}\""))
            }
        };
        let e = parse("matrix.os == 'Linux' && !startsWith(github.ref, 'refs/tags/')").unwrap();
        assert_eq!(
            to_shell(&e, &mut var).unwrap(),
            "{ _bt_eq \"$V1\"x 'Linux'x && ! { _bt_has startswith \"$V2\"x 'refs/tags/'x; }; }"
        );
        let e = parse("(a.b || 'x') != 'y'").unwrap();
        assert_eq!(
            to_shell(&e, &mut var).unwrap(),
            "! _bt_eq \"$(if case \"$V3\"x in x|falsex|0x) false ;; *) true ;; esac; then printf '%s' \"$V4\"; else printf '%s' 'x'; fi; printf x)\" 'y'x"
        );
        assert!(to_shell(&parse("secrets.X").unwrap(), &mut var).is_err());
        assert!(to_shell(&parse("a.b < 3").unwrap(), &mut var).is_err());
    }

    #[test]
    fn tojson_of_a_literal_is_decided_and_of_a_name_asked_with_its_mark() {
        let mut var =
            |p: &[String]| -> Result<String, NameError> { Ok(format!("<{}>", p.join("."))) };
        let w = |x: &str, var: &mut dyn FnMut(&[String]) -> Result<String, NameError>| {
            word(&parse(x).unwrap(), var).unwrap()
        };
        assert_eq!(w("toJSON('a\"b')", &mut var), "'\"a\\\"b\"'");
        assert_eq!(w("toJSON(1)", &mut var), "'1'");
        assert_eq!(w("toJSON(inputs.x)", &mut var), "<toJSON().inputs.x>");
        assert!(word(&parse("toJSON(a == b)").unwrap(), &mut var).is_err());
    }
}
