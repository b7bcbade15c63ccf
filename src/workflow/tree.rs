//! A small spanned value tree built from toml_edit's span-keeping `Document`, so the
//! loader can walk every key itself and report every problem with its position.
use std::ops::Range;
use toml_edit::{Item, Value};

pub(crate) type Span = Range<usize>;

#[derive(Debug)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime,
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub span: Span,
    pub val: Val,
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Span,
    pub node: Node,
}

impl Node {
    /// "a string", "an integer", … for messages.
    pub(crate) fn kind(&self) -> &'static str {
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

    pub(crate) fn entries(&self) -> Option<&[Entry]> {
        match &self.val {
            Val::Table(e) => Some(e),
            _ => None,
        }
    }
}

/// Parse `source`; on a syntax error return its message and span.
pub(crate) fn parse(source: &str) -> Result<Node, (String, Span)> {
    let doc = toml_edit::Document::parse(source).map_err(|e| {
        let msg = e
            .message()
            .trim()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string();
        (msg, e.span().unwrap_or(0..0))
    })?;
    let whole = 0..source.len().min(1);
    Ok(Node {
        span: whole.clone(),
        val: Val::Table(table_entries(doc.as_table(), &whole)),
    })
}

fn table_entries(t: &toml_edit::Table, parent: &Span) -> Vec<Entry> {
    let mut out = Vec::new();
    for (k, item) in t.iter() {
        let key_span = t
            .get_key_value(k)
            .and_then(|(key, _)| key.span())
            .unwrap_or_else(|| parent.clone());
        if let Some(node) = item_node(item, &key_span) {
            out.push(Entry {
                key: k.to_string(),
                key_span,
                node,
            });
        }
    }
    out
}

fn item_node(item: &Item, fallback: &Span) -> Option<Node> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_node(v, fallback)),
        Item::Table(t) => {
            let span = t.span().unwrap_or_else(|| fallback.clone());
            Some(Node {
                val: Val::Table(table_entries(t, &span)),
                span,
            })
        }
        Item::ArrayOfTables(a) => {
            let span = a.span().unwrap_or_else(|| fallback.clone());
            let items = a
                .iter()
                .map(|t| {
                    let s = t.span().unwrap_or_else(|| span.clone());
                    Node {
                        val: Val::Table(table_entries(t, &s)),
                        span: s,
                    }
                })
                .collect();
            Some(Node {
                span,
                val: Val::Array(items),
            })
        }
    }
}

fn value_node(v: &Value, fallback: &Span) -> Node {
    let span = v.span().unwrap_or_else(|| fallback.clone());
    let val = match v {
        Value::String(s) => Val::Str(s.value().clone()),
        Value::Integer(i) => Val::Int(*i.value()),
        Value::Float(f) => Val::Float(*f.value()),
        Value::Boolean(b) => Val::Bool(*b.value()),
        Value::Datetime(_) => Val::Datetime,
        Value::Array(a) => Val::Array(a.iter().map(|x| value_node(x, &span)).collect()),
        Value::InlineTable(t) => {
            let mut entries = Vec::new();
            for (k, x) in t.iter() {
                let key_span = t
                    .get_key_value(k)
                    .and_then(|(key, _)| key.span())
                    .unwrap_or_else(|| span.clone());
                entries.push(Entry {
                    key: k.to_string(),
                    node: value_node(x, &key_span),
                    key_span,
                });
            }
            Val::Table(entries)
        }
    };
    Node { span, val }
}
