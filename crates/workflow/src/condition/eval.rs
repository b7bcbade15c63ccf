//! Evaluating a condition against the values of a run; the record says which values
//! it read, so a `skipped` step shows why.
use super::*;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Num(f64),
    Bool(bool),
    /// `argv(…)`: a command's words, or `None` when it is not simple. Compared word
    /// by word and exactly (a program sees case); none compares with nothing, so
    /// `==` and `!=` over it are both false.
    Argv(Option<Vec<String>>),
}

/// Whether a value read as text is true: all but `''`, `'false'` and `'0'` (a value
/// passed between steps is text: `false` and `0` written to `$BATON_OUTPUT` read false).
pub fn text_is_true(s: &str) -> bool {
    !(s.is_empty() || s == "false" || s == "0")
}

impl Value {
    fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Num(n) => *n != 0.0,
            Value::Text(s) => text_is_true(s),
            Value::Argv(w) => w.is_some(),
        }
    }

    fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Num(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Argv(w) => w.as_deref().map(shell::join).unwrap_or_default(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Text(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            Value::Bool(_) | Value::Argv(_) => None,
        }
    }

    /// The words of a value: its own if it is `argv(…)`'s, else its text's.
    fn words(&self) -> Option<Vec<String>> {
        match self {
            Value::Argv(w) => w.clone(),
            v => shell::argv(&v.text()),
        }
    }
}

/// What an evaluation found: its result and each name it read with its value
/// (`None`: the name has no value, e.g. an output the step did not write).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub result: bool,
    pub read: Vec<(String, Option<String>)>,
}

impl Evaluation {
    /// `condition false: params.event == 'release' (params.event = "push")`; each
    /// value passes through `mask` (secrets) and is quoted, so it reads as data.
    pub fn record(&self, text: &str, mask: impl Fn(&str) -> String) -> String {
        let mut out = format!("condition {}: {text}", self.result);
        if !self.read.is_empty() {
            let values: Vec<String> = self
                .read
                .iter()
                .map(|(n, v)| match v {
                    Some(v) => format!("{n} = {:?}", mask(v)),
                    None => format!("{n} has no value"),
                })
                .collect();
            out.push_str(&format!(" ({})", values.join(", ")));
        }
        out
    }
}

impl Condition {
    /// Evaluate with `lookup` giving each name's value. Values are data only: they are
    /// compared, never parsed as expressions nor run.
    pub fn eval(&self, lookup: impl Fn(&Name) -> Option<String>) -> Evaluation {
        let mut read: Vec<(String, Option<String>)> = Vec::new();
        let v = value(&self.expr, &lookup, &mut read);
        Evaluation {
            result: v.truthy(),
            read,
        }
    }
}

fn value(
    e: &Expr,
    lookup: &dyn Fn(&Name) -> Option<String>,
    read: &mut Vec<(String, Option<String>)>,
) -> Value {
    let mut v = |e: &Expr| value(e, lookup, read);
    match e {
        Expr::Lit(l) => l.clone(),
        Expr::Ref(n, _) => {
            let got = lookup(n);
            let shown = n.to_string();
            if !read.iter().any(|(k, _)| *k == shown) {
                read.push((shown, got.clone()));
            }
            Value::Text(got.unwrap_or_default())
        }
        Expr::Not(a) => Value::Bool(!v(a).truthy()),
        // Both sides are read (not short-circuited) so the record names every value.
        Expr::And(a, b) => {
            let (a, b) = (v(a), v(b));
            Value::Bool(a.truthy() && b.truthy())
        }
        Expr::Or(a, b) => {
            let (a, b) = (v(a), v(b));
            Value::Bool(a.truthy() || b.truthy())
        }
        Expr::Cmp(op, a, b) => {
            let (a, b) = (v(a), v(b));
            let Some(ord) = compare(&a, &b) else {
                return Value::Bool(false);
            };
            use Ordering::{Greater, Less};
            Value::Bool(match op {
                Cmp::Eq => ord == Equal,
                Cmp::Ne => ord != Equal,
                Cmp::Lt => ord == Less,
                Cmp::Le => ord != Greater,
                Cmp::Gt => ord == Greater,
                Cmp::Ge => ord != Less,
            })
        }
        Expr::Call(Func::Argv, args) => Value::Argv(v(&args[0]).words()),
        Expr::Call(Func::IsSimple, args) => Value::Bool(v(&args[0]).words().is_some()),
        Expr::Call(f, args) => {
            let (a, b) = (v(&args[0]), v(&args[1]));
            if let Value::Argv(words) = &a {
                // Over a command's words: each word whole, exactly.
                let (Some(a), Some(b)) = (words, b.words()) else {
                    return Value::Bool(false);
                };
                return Value::Bool(match f {
                    Func::Contains => !b.is_empty() && a.windows(b.len()).any(|w| w == b),
                    Func::StartsWith => a.starts_with(&b),
                    Func::EndsWith => a.ends_with(&b),
                    _ => false,
                });
            }
            Value::Bool(match f {
                Func::Contains => match json_list(&a.text()) {
                    Some(items) => items.iter().any(|i| compare(i, &b) == Some(Equal)),
                    None => fold(&a.text()).contains(&fold(&b.text())),
                },
                Func::StartsWith => fold(&a.text()).starts_with(&fold(&b.text())),
                Func::EndsWith => fold(&a.text()).ends_with(&fold(&b.text())),
                // Compiled into `Expr::Matches` by the parser; the others take one
                // argument (above).
                Func::Matches | Func::Argv | Func::IsSimple => false,
            })
        }
        Expr::Matches(a, re) => Value::Bool(re.is_match(&v(a).text())),
    }
}

use std::cmp::Ordering::{self, Equal};

/// How `==`, `<`, … and `contains` over a list compare two values: as numbers when
/// both read as numbers, else as text ignoring case (GitHub's `OrdinalIgnoreCase`).
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if matches!(a, Value::Argv(_)) || matches!(b, Value::Argv(_)) {
        return Some(a.words()?.cmp(&b.words()?));
    }
    match (a.number(), b.number()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(fold(&a.text()).cmp(&fold(&b.text()))),
    }
}

/// Text with each character's simple uppercase, as .NET's `OrdinalIgnoreCase` (which
/// GitHub's evaluator uses) compares: `ς`, `σ` and `Σ` are one, and so are `ü` and `Ü`;
/// the Turkish dotless `ı` and dotted `İ` keep their own (GitHub's test vectors).
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) if c != '\u{131}' => u,
                _ => c,
            }
        })
        .collect()
}

/// A text that is a JSON array (an output such as `["bug","ci"]`): its items, as
/// GitHub's `contains(fromJSON(x), v)` reads them.
fn json_list(s: &str) -> Option<Vec<Value>> {
    if !s.trim_start().starts_with('[') {
        return None;
    }
    let items: Vec<serde_json::Value> = serde_json::from_str(s).ok()?;
    Some(
        items
            .into_iter()
            .filter_map(|i| match i {
                serde_json::Value::String(t) => Some(Value::Text(t)),
                serde_json::Value::Number(n) => n.as_f64().map(Value::Num),
                serde_json::Value::Bool(b) => Some(Value::Bool(b)),
                serde_json::Value::Null => Some(Value::Text(String::new())),
                // An object or a list inside is equal to no value.
                _ => None,
            })
            .collect(),
    )
}
