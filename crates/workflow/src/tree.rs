//! A small spanned value tree built from `toml`'s spanned `DeTable`, so the
//! loader can walk every key itself and report every problem with its position.
use compact_str::CompactString;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub type Span = Range<usize>;

#[derive(Debug)]
pub enum Val {
    /// Inline up to 24 bytes (ids, tool names, most values): a 100,000-step file's
    /// strings were a heap allocation each, ~20 MB of the load's peak.
    Str(CompactString),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime,
    /// Boxed slices, not `Vec`s: with no capacity word, `Val` is 24 bytes (the tag goes
    /// in `CompactString`'s spare byte), and each of a 100,000-step file's ~600,000
    /// nodes and entries 8 bytes smaller.
    Array(Box<[Node]>),
    Table(Box<[Entry]>),
}

#[derive(Debug)]
pub struct Node {
    pub span: Span,
    pub val: Val,
}

#[derive(Debug)]
pub struct Entry {
    pub key: CompactString,
    pub key_span: Span,
    pub node: Node,
}

impl Node {
    /// "a string", "an integer", … for messages.
    pub fn kind(&self) -> &'static str {
        match self.val {
            Val::Str(_) => "a string",
            Val::Int(_) => "an integer",
            Val::Float(_) => "a float",
            Val::Bool(_) => "a boolean",
            Val::Datetime => "a date-time",
            Val::Array(_) => "an array",
            Val::Table(_) => "a table",
        }
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.val {
            Val::Table(e) => Some(e),
            _ => None,
        }
    }
}

/// Parse `source`; on a syntax error return its message and span.
///
/// A file of many `[[step]]` blocks is parsed one block at a time (`parse_in_blocks`):
/// a TOML parser holds several times the source in tokens and tables, which for a
/// 100,000-step file was most of a run's memory.
pub fn parse(source: &str) -> Result<Node, (String, Span)> {
    match parse_in_blocks(source) {
        Some(node) => Ok(node),
        None => parse_whole(source),
    }
}

/// The whole document at once: for small files, and for every file that does not split
/// cleanly (its errors are then reported exactly as for any file).
fn parse_whole(source: &str) -> Result<Node, (String, Span)> {
    let doc = DeTable::parse(source).map_err(|e| {
        let msg = e
            .message()
            .trim()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        (msg, e.span().unwrap_or(0..0))
    })?;
    Ok(Node {
        span: 0..source.len().min(1),
        val: Val::Table(table_entries(doc.into_inner(), 0)?.into_boxed_slice()),
    })
}

/// Files with fewer `[[step]]` lines are parsed whole.
const BLOCKS_FROM: usize = 64;

/// The document split before each line that is exactly `[[step]]`, each piece parsed
/// on its own and the pieces' steps joined in order; `None` when the file does not split
/// cleanly. A piece that parses ends outside any string, array or inline table, so the
/// next `[[step]]` line really is a header; a top-level key that two pieces define
/// (`[tools.a]` after one step and `[tools.b]` after another) is left to the whole parse.
fn parse_in_blocks(source: &str) -> Option<Node> {
    let mut starts = Vec::new();
    let mut at = 0;
    for line in source.split_inclusive('\n') {
        if line.trim() == "[[step]]" {
            starts.push(at);
        }
        at += line.len();
    }
    if starts.len() < BLOCKS_FROM {
        return None;
    }
    let mut root =
        table_entries(DeTable::parse(&source[..starts[0]]).ok()?.into_inner(), 0).ok()?;
    if root.iter().any(|e| e.key == "step") {
        return None;
    }
    // The `step` entry (its key, the key's span and the array's: those of its first
    // header, as in a whole parse) and every block's steps.
    let mut steps: Option<(CompactString, Span, Span, Vec<Node>)> = None;
    let ends = starts.iter().skip(1).copied().chain([source.len()]);
    for (start, end) in starts.iter().copied().zip(ends) {
        let block = DeTable::parse(&source[start..end]).ok()?.into_inner();
        for e in table_entries(block, start).ok()? {
            match (&mut steps, e.key.as_str(), e.node.val) {
                (Some((.., list)), "step", Val::Array(items)) => list.extend(items),
                (None, "step", Val::Array(items)) => {
                    // Sized once for every block's step: doubling it 17 times held the
                    // old and the new array together at the load's peak.
                    let mut list = Vec::with_capacity(starts.len());
                    list.extend(items);
                    steps = Some((e.key, e.key_span, e.node.span, list));
                }
                (_, "step", _) => return None,
                (_, key, val) => {
                    if root.iter().any(|r| r.key == key) {
                        return None;
                    }
                    root.push(Entry {
                        key: e.key,
                        key_span: e.key_span,
                        node: Node {
                            span: e.node.span,
                            val,
                        },
                    });
                }
            }
        }
    }
    root.extend(steps.map(|(key, key_span, span, list)| Entry {
        key,
        key_span,
        node: Node {
            span,
            val: Val::Array(list.into_boxed_slice()),
        },
    }));
    root.sort_by_key(|e| e.key_span.start);
    Some(Node {
        span: 0..source.len().min(1),
        val: Val::Table(root.into_boxed_slice()),
    })
}

/// The entries of a table in source order (the map may keep them sorted by key), spans
/// moved by `at` (where the parsed text starts in the file).
fn table_entries(t: DeTable<'_>, at: usize) -> Result<Vec<Entry>, (String, Span)> {
    let mut out = Vec::with_capacity(t.len());
    for (k, v) in t {
        let key_span = shift(k.span(), at);
        out.push(Entry {
            key: CompactString::from(k.into_inner()),
            key_span,
            node: node(v, at)?,
        });
    }
    out.sort_by_key(|e| e.key_span.start);
    Ok(out)
}

fn shift(s: Span, at: usize) -> Span {
    s.start + at..s.end + at
}

fn node(v: Spanned<DeValue<'_>>, at: usize) -> Result<Node, (String, Span)> {
    let span = shift(v.span(), at);
    let val = match v.into_inner() {
        DeValue::String(s) => Val::Str(CompactString::from(s)),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Val::Int(n),
            Err(_) => {
                return Err((
                    "integer out of range for a 64-bit signed integer".into(),
                    span,
                ));
            }
        },
        DeValue::Float(f) => match f.as_str().parse::<f64>() {
            Ok(x) => Val::Float(x),
            Err(_) => return Err(("invalid floating-point number".into(), span)),
        },
        DeValue::Boolean(b) => Val::Bool(b),
        DeValue::Datetime(_) => Val::Datetime,
        DeValue::Array(a) => {
            let mut items = Vec::with_capacity(a.len());
            for x in a {
                items.push(node(x, at)?);
            }
            Val::Array(items.into_boxed_slice())
        }
        DeValue::Table(t) => Val::Table(table_entries(t, at)?.into_boxed_slice()),
    };
    Ok(Node { span, val })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn many_steps(extra: &str) -> String {
        let mut s = String::from("name = \"x\" # top\n[params.v]\ndefault = \"1\"\n");
        for i in 0..BLOCKS_FROM + 3 {
            s.push_str(&format!(
                "\n[[step]]\nid = \"s{i}\"\nrun = \"echo {i}\"\nneeds = [\"a\", \"b\"]\n[step.retry]\nattempts = 2\n"
            ));
            if i == 5 {
                s.push_str(extra);
            }
        }
        s
    }

    #[test]
    fn a_value_is_three_words() {
        // A 100,000-step file is ~600,000 nodes and entries: a word each is 5 MB.
        assert_eq!(std::mem::size_of::<Val>(), 24);
        assert_eq!(std::mem::size_of::<Node>(), 40);
        assert_eq!(std::mem::size_of::<Entry>(), 80);
    }

    #[test]
    fn blocks_give_the_same_tree_as_the_whole_file() {
        for extra in ["", "[pools.p]\ncapacity = 2\n", "[[step.x]]\na = 1\n"] {
            let src = many_steps(extra);
            let blocks = parse_in_blocks(&src).expect("splits");
            let whole = parse_whole(&src).unwrap();
            let (b, w) = (format!("{blocks:?}"), format!("{whole:?}"));
            let at = b.bytes().zip(w.bytes()).take_while(|(x, y)| x == y).count();
            assert!(
                b == w,
                "{extra:?}: differ at {at}: {} | {}",
                &b[at.saturating_sub(200)..(at + 100).min(b.len())],
                &w[at.saturating_sub(200)..(at + 100).min(w.len())]
            );
        }
    }

    #[test]
    fn a_file_that_does_not_split_cleanly_is_parsed_whole() {
        // A `[[step]]` line inside a multi-line string, a table defined in two pieces,
        // a syntax error: the whole parse decides, with its own message.
        for extra in [
            "run2 = \"\"\"\n[[step]]\n\"\"\"\n",
            "[tools.a]\nrun = \"x\"\n",
            "oops = \n",
        ] {
            let src =
                many_steps(extra).replacen("[params.v]", "[tools.a]\nrun = \"y\"\n[params.v]", 1);
            assert!(parse_in_blocks(&src).is_none(), "{extra}");
        }
        let bad = many_steps("oops = \n");
        let e = parse(&bad).unwrap_err();
        assert_eq!(Some(e), parse_whole(&bad).err());
    }
}
