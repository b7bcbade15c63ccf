//! A matrix value GitHub decides before any job runs, decided here too: `${{ … }}`
//! over literals only (`${{ 'val' }}1`, `${{ format('{0}-x', 'a') }}`, `${{ 1 }}`),
//! a list's item that is `fromJSON` of a list (its items added), and a mapping's
//! `${{ insert }}` key, whose mapping value is merged into the
//! mapping holding it (nektos/act's evalmatrix-merge-map and -merge-array, which act
//! runs as GitHub does). A value naming a context stays as it is.
use crate::expr::{self, E};
use crate::yaml::{Node, Value};

/// A literal expression's value as GitHub converts it to text: `None` when it names
/// a context or calls a function other than `format`.
fn text_of(e: &E) -> Option<String> {
    match e {
        E::Str(s) | E::Num(s) => Some(s.clone()),
        E::Bool(b) => Some(b.to_string()),
        E::Null => Some(String::new()),
        E::Call(f, a) if f == "format" && !a.is_empty() => {
            let args: Vec<String> = a.iter().map(text_of).collect::<Option<_>>()?;
            format(&args[0], &args[1..])
        }
        _ => None,
    }
}

/// GitHub's `format`: `{N}` is argument N, `{{` and `}}` a brace.
fn format(f: &str, args: &[String]) -> Option<String> {
    let mut out = String::new();
    let mut ch = f.chars().peekable();
    while let Some(c) = ch.next() {
        match c {
            '{' if ch.peek() == Some(&'{') => {
                ch.next();
                out.push('{');
            }
            '}' if ch.peek() == Some(&'}') => {
                ch.next();
                out.push('}');
            }
            '{' => {
                let mut n = String::new();
                for d in ch.by_ref() {
                    if d == '}' {
                        break;
                    }
                    n.push(d);
                }
                out.push_str(args.get(n.parse::<usize>().ok()?)?);
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// A text whose every `${{ … }}` is literal, with each replaced by its value; a text
/// that is one expression keeps the value's kind (`${{ 1 }}` is a number).
pub(super) fn decide(t: &str) -> Option<Value> {
    let trimmed = t.trim();
    if trimmed.starts_with("${{") && trimmed.ends_with("}}") && trimmed.matches("${{").count() == 1
    {
        return match expr::parse(trimmed).ok()? {
            E::Num(n) => Some(
                n.parse()
                    .map(Value::Int)
                    .unwrap_or_else(|_| Value::Str(n.clone())),
            ),
            E::Bool(b) => Some(Value::Bool(b)),
            e => text_of(&e).map(Value::Str),
        };
    }
    let (mut out, mut rest) = (String::new(), t);
    while let Some(i) = rest.find("${{") {
        let j = rest[i..].find("}}")?;
        out.push_str(&rest[..i]);
        out.push_str(&text_of(&expr::parse(&rest[i..i + j + 2]).ok()?)?);
        rest = &rest[i + j + 2..];
    }
    out.push_str(rest);
    Some(Value::Str(out))
}

/// Whether a mapping key is GitHub's `${{ insert }}` directive.
fn is_insert(k: &str) -> bool {
    k.contains("${{") && matches!(expr::parse(k), Ok(E::Name(p)) if p == ["insert"])
}

/// `n` with its literal expressions decided and its `${{ insert }}` keys merged;
/// `value` reads a value that may be `fromJSON('…')` of a literal.
pub(super) fn resolve(n: &Node, value: &dyn Fn(&Node) -> Option<Node>) -> Node {
    if let Some(x) = value(n) {
        return resolve(&x, value);
    }
    let v = match &n.v {
        Value::Str(s) if s.contains("${{") => decide(s).unwrap_or_else(|| n.v.clone()),
        // An item that is `fromJSON` of a list adds its items, as act and GitHub read
        // `[{…}, ${{ fromJSON('[…]') }}]`.
        Value::Seq(s) => Value::Seq(
            s.iter()
                .flat_map(|x| match value(x) {
                    Some(Node {
                        v: Value::Seq(items),
                        ..
                    }) => items.iter().map(|i| resolve(i, value)).collect(),
                    _ => vec![resolve(x, value)],
                })
                .collect(),
        ),
        Value::Map(m) => {
            let mut out: Vec<(String, usize, Node)> = vec![];
            for (k, l, x) in m {
                let x = resolve(x, value);
                match (&x.v, is_insert(k)) {
                    (Value::Map(inner), true) => {
                        for (ik, il, iv) in inner {
                            out.retain(|(o, _, _)| o != ik);
                            out.push((ik.clone(), *il, iv.clone()));
                        }
                    }
                    _ => out.push((k.clone(), *l, x)),
                }
            }
            Value::Map(out)
        }
        other => other.clone(),
    };
    Node { line: n.line, v }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Node {
        Node {
            line: 1,
            v: Value::Str(t.into()),
        }
    }

    #[test]
    fn literal_expressions_are_decided_and_others_kept() {
        let none = |_: &Node| None;
        assert_eq!(
            resolve(&s("${{'val'}}1"), &none).v,
            Value::Str("val1".into())
        );
        assert_eq!(resolve(&s("${{ 1 }}"), &none).v, Value::Int(1));
        assert_eq!(
            resolve(&s("${{ format('{0}-{1}', 'a', 2) }}"), &none).v,
            Value::Str("a-2".into())
        );
        assert_eq!(
            resolve(&s("${{ inputs.x }}"), &none).v,
            Value::Str("${{ inputs.x }}".into())
        );
    }

    #[test]
    fn an_insert_key_merges_its_mapping() {
        let m = Node {
            line: 1,
            v: Value::Map(vec![
                ("key1".into(), 1, s("val1")),
                (
                    "${{insert}}".into(),
                    2,
                    Node {
                        line: 2,
                        v: Value::Map(vec![("key2".into(), 3, s("val2"))]),
                    },
                ),
            ]),
        };
        let r = resolve(&m, &|_| None);
        let keys: Vec<&str> = r
            .map()
            .unwrap()
            .iter()
            .map(|(k, _, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["key1", "key2"]);
    }
}
