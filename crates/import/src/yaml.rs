//! A YAML document as a small tree with the line of every node, so a report can say
//! FILE:LINE. Read with saphyr (YAML 1.2: `on` is a key, not `true`; anchors resolved).
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// A node and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub v: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys as text (a number or boolean key as its text) with their line, in
    /// document order.
    Map(Vec<(String, usize, Node)>),
}

/// A document that does not parse: where and what.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Every document of `text` (a Dagu file may hold a DAG and its children after `---`).
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| ParseError {
        line: e.marker().line(),
        col: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    Ok(docs.iter().map(convert).collect())
}

fn convert(y: &MarkedYaml) -> Node {
    let line = y.span.start.line();
    let v = match &y.data {
        YamlData::Value(s) => scalar(s),
        YamlData::Representation(s, _, _) => Value::Str(s.to_string()),
        YamlData::Sequence(items) => Value::Seq(items.iter().map(convert).collect()),
        YamlData::Mapping(m) => Value::Map(
            m.iter()
                .map(|(k, v)| {
                    let key = convert(k);
                    (key.text().unwrap_or_default(), key.line, convert(v))
                })
                .collect(),
        ),
        YamlData::Tagged(_, inner) => convert(inner).v,
        YamlData::Alias(_) | YamlData::BadValue => Value::Null,
    };
    Node { line, v }
}

fn scalar(s: &Scalar) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

impl Node {
    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.map()?
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, v)| v)
    }

    /// The line of `key` in a mapping (a value's own line may be the next one).
    pub(crate) fn key_line(&self, key: &str) -> Option<usize> {
        self.map()?
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, l, _)| *l)
    }

    pub(crate) fn map(&self) -> Option<&[(String, usize, Node)]> {
        match &self.v {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn seq(&self) -> Option<&[Node]> {
        match &self.v {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text (`true`, `30`, `3.10` as YAML wrote it is lost for floats:
    /// `3.10` reads `3.1`, as GitHub reads an unquoted `3.10` too).
    pub(crate) fn text(&self) -> Option<String> {
        match &self.v {
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// A string or a list of strings (`needs: a`, `needs: [a, b]`).
    pub(crate) fn words(&self) -> Vec<String> {
        match &self.v {
            Value::Seq(s) => s.iter().filter_map(Node::text).collect(),
            _ => self.text().into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_on_is_a_key() {
        let d = &parse("name: x\non:\n  push:\njobs:\n  a: {needs: [b]}\n").unwrap()[0];
        assert_eq!(d.key_line("on"), Some(2));
        assert_eq!(d.get("jobs").unwrap().get("a").unwrap().line, 5);
        assert_eq!(
            d.get("jobs")
                .unwrap()
                .get("a")
                .unwrap()
                .get("needs")
                .unwrap()
                .words(),
            ["b"]
        );
    }

    #[test]
    fn a_bad_document_says_where() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line >= 1, "{e:?}");
    }

    #[test]
    fn anchors_are_resolved() {
        let d = &parse("x: &e {A: '1'}\ny: *e\n").unwrap()[0];
        assert_eq!(
            d.get("y").unwrap().get("A").unwrap().text().as_deref(),
            Some("1")
        );
    }
}
