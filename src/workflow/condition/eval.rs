//! Evaluating a condition against the values of a run; the record says which values
//! it read, so a `skipped` step shows why.
use super::*;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Num(f64),
    Bool(bool),
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
        }
    }

    fn text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Num(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Text(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            Value::Bool(_) => None,
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
            let ord = match (a.number(), b.number()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => Some(a.text().cmp(&b.text())),
            };
            let Some(ord) = ord else {
                return Value::Bool(false);
            };
            use std::cmp::Ordering::*;
            Value::Bool(match op {
                Cmp::Eq => ord == Equal,
                Cmp::Ne => ord != Equal,
                Cmp::Lt => ord == Less,
                Cmp::Le => ord != Greater,
                Cmp::Gt => ord == Greater,
                Cmp::Ge => ord != Less,
            })
        }
        Expr::Call(f, args) => {
            let a = v(&args[0]).text();
            let b = v(&args[1]).text();
            Value::Bool(match f {
                Func::Contains => a.contains(&b),
                Func::StartsWith => a.starts_with(&b),
                Func::EndsWith => a.ends_with(&b),
                // Compiled into `Expr::Matches` by the parser.
                Func::Matches => false,
            })
        }
        Expr::Matches(a, re) => Value::Bool(re.is_match(&v(a).text())),
    }
}
