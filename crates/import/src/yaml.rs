//! A YAML document as a small tree with the line of every node, so a report can say
//! FILE:LINE. Read with saphyr (YAML 1.2: `on` is a key, not `true`; anchors resolved).
use saphyr::Scalar;
use saphyr_parser::{Event, Parser, Span};
use std::collections::HashMap;

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

/// A document that does not parse, or is too large once its aliases are resolved:
/// where and what.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// What to do about it.
    pub hint: &'static str,
}

/// The most nodes a stream may hold once every alias is resolved (a copy of an anchored
/// node counts every node in it). A real workflow holds a few thousand; nested aliases
/// (`&a [*b, *b, …]`, "billion laughs") reach 9^n from a few hundred bytes, so they are
/// counted as they are resolved and refused before they are built.
pub(crate) const MAX_NODES: usize = 500_000;
/// The most bytes of scalar text a stream may hold once its aliases are resolved.
pub(crate) const MAX_TEXT: usize = 32 << 20;
/// The deepest a node may be nested, aliases included (the tree is walked and dropped
/// recursively).
pub(crate) const MAX_DEPTH: usize = 256;

const TOO_BIG_HINT: &str = "a workflow does not need this many nodes: write the repeated part out, or use fewer nested aliases (`*name`)";

/// Every document of `text` (a Dagu file may hold a DAG and its children after `---`).
/// Anchors are resolved; nodes, text and depth are bounded as they are built
/// ([`MAX_NODES`], [`MAX_TEXT`], [`MAX_DEPTH`]), so no input costs more than the bounds.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let mut owned: Option<String> = None;
    let mut repairs = 0;
    loop {
        let t = owned.as_deref().unwrap_or(text);
        match parse_once(t) {
            Ok(docs) => return Ok(docs),
            Err((_, Some(fixed))) if repairs < MAX_REPAIRS => {
                repairs += 1;
                owned = Some(fixed);
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// The most lines of a flow collection written left of its block (below) one parse
/// re-indents: each costs a parse of the file.
const MAX_REPAIRS: usize = 64;

/// One parse of `text`; on an error, the text to parse again when the error is a line
/// of a flow collection (`[ … ]`, `{ … }`) that starts left of the collection's block,
/// as `]` at its key's column. YAML 1.2 asks such lines to be indented; GitHub's and
/// Dagu's readers (and PyYAML, libyaml) take them, and so does baton: the line is
/// indented past the collection's `[`, which changes no value (blanks inside a flow
/// collection are not content) and no line number.
fn parse_once(text: &str) -> Result<Vec<Node>, (ParseError, Option<String>)> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    while let Some(ev) = parser.next_event() {
        let (ev, span) = match ev {
            Ok(x) => x,
            Err(e) => {
                let (line, col) = (e.marker().line(), e.marker().col());
                let flow_col = b.stack.iter().find_map(|f| f.flow_col);
                let fixed = flow_col
                    .filter(|_| e.info().starts_with("invalid indentation"))
                    .and_then(|c| reindent(text, line, col, c + 1));
                let err = ParseError {
                    line,
                    col: col + 1,
                    message: format!("not YAML: {}", e.info()),
                    hint: "a workflow file as the tool reads it",
                };
                return Err((err, fixed));
            }
        };
        b.event(ev, span).map_err(|e| (e, None))?;
    }
    Ok(b.docs)
}

/// `text` with line `line` (1-based) indented to column `to` (0-based), when it
/// starts with blanks up to `col` and `col` is left of `to`.
fn reindent(text: &str, line: usize, col: usize, to: usize) -> Option<String> {
    if col >= to {
        return None;
    }
    let start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let head = text.get(start..)?;
    if head.chars().take(col).any(|c| c != ' ') || head.chars().nth(col).is_none() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + to - col);
    out.push_str(&text[..start]);
    out.push_str(&" ".repeat(to - col));
    out.push_str(head);
    Some(out)
}

/// What a node costs: its nodes, its bytes of text and its height.
#[derive(Debug, Clone, Copy, Default)]
struct Weight {
    nodes: usize,
    text: usize,
    height: usize,
}

impl Weight {
    fn add(&mut self, w: Weight) {
        self.nodes += w.nodes;
        self.text += w.text;
        self.height = self.height.max(w.height + 1);
    }
}

/// A collection being read: its node, its anchor, its key waiting for a value (a
/// mapping) and what it weighs so far.
struct Frame {
    node: Node,
    anchor: usize,
    key: Option<(String, usize)>,
    /// A mapping's keys and their places in it: a repeated key is found without a scan
    /// (a scan would make a mapping of many keys cost their square).
    places: HashMap<String, usize>,
    weight: Weight,
    /// The column of its `[` or `{` when it is a flow collection.
    flow_col: Option<usize>,
}

/// Builds nodes from the parser's events, with the anchors seen so far and the
/// running totals the bounds are checked against.
#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, Weight)>,
    nodes: usize,
    text: usize,
}

impl Builder {
    fn event(&mut self, ev: Event<'_>, span: Span) -> Result<(), ParseError> {
        let line = span.start.line();
        let col = span.start.col() + 1;
        match ev {
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let v = if matches!(ev, Event::SequenceStart(..)) {
                    Value::Seq(vec![])
                } else {
                    Value::Map(vec![])
                };
                self.charge(
                    Weight {
                        nodes: 1,
                        text: 0,
                        height: 0,
                    },
                    line,
                    col,
                )?;
                self.stack.push(Frame {
                    node: Node { line, v },
                    anchor,
                    key: None,
                    places: HashMap::new(),
                    // A flow collection's start event spans its `[` or `{`; a block
                    // one's spans nothing.
                    flow_col: (span.end.index() > span.start.index()).then(|| span.start.col()),
                    weight: Weight {
                        nodes: 1,
                        text: 0,
                        height: 0,
                    },
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(f) = self.stack.pop() {
                    self.insert(f.node, f.anchor, f.weight, col)?;
                }
            }
            Event::Scalar(v, style, anchor, tag) => {
                let w = Weight {
                    nodes: 1,
                    text: v.len(),
                    height: 0,
                };
                self.charge(w, line, col)?;
                let tag = tag.filter(|t| t.is_yaml_core_schema());
                let v = Scalar::parse_from_cow_and_metadata(v, style, tag.as_ref())
                    .map_or(Value::Null, |s| scalar(&s));
                self.insert(Node { line, v }, anchor, w, col)?;
            }
            Event::Alias(id) => {
                let w = self.anchors.get(&id).map_or(
                    Weight {
                        nodes: 1,
                        ..Weight::default()
                    },
                    |(_, w)| *w,
                );
                // Counted before the copy is made.
                self.charge(w, line, col)?;
                let v = self
                    .anchors
                    .get(&id)
                    .map_or(Value::Null, |(n, _)| n.v.clone());
                self.insert(Node { line, v }, 0, w, col)?;
            }
            Event::DocumentEnd | Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
        }
        Ok(())
    }

    /// Count `w` against the bounds, before anything of it is built.
    fn charge(&mut self, w: Weight, line: usize, col: usize) -> Result<(), ParseError> {
        let too = |what: String| ParseError {
            line,
            col,
            message: what,
            hint: TOO_BIG_HINT,
        };
        self.nodes = self.nodes.saturating_add(w.nodes);
        self.text = self.text.saturating_add(w.text);
        if self.nodes > MAX_NODES {
            return Err(too(format!(
                "the document holds more than {MAX_NODES} nodes once its aliases are resolved"
            )));
        }
        if self.text > MAX_TEXT {
            return Err(too(format!(
                "the document holds more than {MAX_TEXT} bytes of text once its aliases are resolved"
            )));
        }
        if self.stack.len() + w.height >= MAX_DEPTH {
            return Err(too(format!(
                "the document nests deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    /// Put a finished node in its parent (or make it a document), and keep it when it
    /// has an anchor.
    fn insert(
        &mut self,
        node: Node,
        anchor: usize,
        w: Weight,
        col: usize,
    ) -> Result<(), ParseError> {
        if anchor > 0 {
            // The kept copy counts too: anchors nested in anchors each keep their own.
            self.charge(w, node.line, col)?;
            self.anchors.insert(anchor, (node.clone(), w));
        }
        let Some(parent) = self.stack.last_mut() else {
            self.docs.push(node);
            return Ok(());
        };
        parent.weight.add(w);
        match &mut parent.node.v {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => match parent.key.take() {
                None => parent.key = Some((node.text().unwrap_or_default(), node.line)),
                Some((k, kl)) => {
                    // A repeated key keeps its place and takes the later value.
                    match parent.places.get(&k) {
                        Some(&i) => entries[i].2 = node,
                        None => {
                            parent.places.insert(k.clone(), entries.len());
                            entries.push((k, kl, node));
                        }
                    }
                }
            },
            _ => {}
        }
        Ok(())
    }
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
    fn a_flow_list_closed_at_its_keys_column_reads_as_github_and_pyyaml_read_it() {
        let t = "jobs:\n  a:\n    module: [\n      'a.py',\n      'b.py'\n    ]\n    b: {x: [1,\n  2\n  ]\n  }\nc: [\n]\nd: 1\n";
        let d = &parse(t).unwrap()[0];
        let a = d.get("jobs").unwrap().get("a").unwrap();
        assert_eq!(a.get("module").unwrap().words(), ["a.py", "b.py"]);
        assert_eq!(a.get("b").unwrap().get("x").unwrap().words(), ["1", "2"]);
        assert_eq!(d.get("c").unwrap().seq().unwrap().len(), 0);
        assert_eq!(d.key_line("d"), Some(13));
        // A block line left of its block is still an error, at its place.
        let e = parse("a:\n    b: 1\n  c: 2\n").unwrap_err();
        assert_eq!((e.line, e.message.contains("not YAML")), (3, true), "{e:?}");
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

    /// `levels` anchors, each a list of nine aliases of the one before ("billion laughs").
    pub(crate) fn laughs(levels: usize) -> String {
        let mut t = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..levels {
            let p = format!("*a{}", i - 1);
            t.push_str(&format!("a{i}: &a{i} [{}]\n", vec![p; 9].join(", ")));
        }
        t
    }

    #[test]
    fn nested_aliases_are_refused_at_the_line_that_crosses_the_bound() {
        let t = laughs(9);
        assert!(t.len() < 600, "{}", t.len());
        let e = parse(&t).unwrap_err();
        // The sixth anchor holds 597,871 nodes: its line crosses 500,000.
        assert_eq!(e.line, 6, "{e:?}");
        assert!(e.message.contains("500000 nodes"), "{e:?}");
        assert!(e.hint.contains("aliases"), "{e:?}");
    }

    #[test]
    fn aliases_within_the_bound_are_resolved_whole() {
        let d = &parse(&laughs(4)).unwrap()[0];
        let a3 = d.get("a3").unwrap().seq().unwrap();
        assert_eq!(a3.len(), 9);
        let a0 = &a3[8].seq().unwrap()[0].seq().unwrap()[0];
        assert_eq!(a0.seq().unwrap()[0].text().as_deref(), Some("lol"));
        // An alias's own node carries the alias's line.
        assert_eq!(a3[0].line, 4);
    }

    #[test]
    fn text_repeated_by_aliases_is_bounded() {
        let big = "x".repeat(1 << 20);
        let mut t = format!("a: &a '{big}'\nb: [");
        t.push_str(&vec!["*a"; 40].join(", "));
        t.push_str("]\n");
        let e = parse(&t).unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
        assert!(e.message.contains("bytes of text"), "{e:?}");
    }

    #[test]
    fn nesting_is_bounded_by_blocks_and_by_aliases() {
        let mut t = String::new();
        for i in 0..300 {
            t.push_str(&" ".repeat(i));
            t.push_str("- \n");
        }
        let e = parse(&t).unwrap_err();
        assert!(e.message.contains("deeper than 256"), "{e:?}");
        // 100 levels, aliased inside 100 levels, aliased inside 100 levels.
        let nest = |n: usize| format!("{}x{}", "[".repeat(n), "]".repeat(n));
        let t = format!(
            "a: &a {}\nb: &b {}*a{}\nc: {}*b{}\n",
            nest(100),
            "[".repeat(100),
            "]".repeat(100),
            "[".repeat(100),
            "]".repeat(100)
        );
        let e = parse(&t).unwrap_err();
        assert_eq!(e.line, 3, "{e:?}");
        assert!(e.message.contains("deeper than 256"), "{e:?}");
    }

    #[test]
    fn anchors_nested_in_anchors_count_each_copy_they_keep() {
        // 150 anchored lists, each inside the one before, around 4,000 items: every
        // anchor keeps its own copy, 150 × 4,000 nodes in all.
        let mut t = String::from("a: ");
        for i in 0..150 {
            t.push_str(&format!("&n{i} ["));
        }
        t.push_str(&vec!["x"; 4000].join(", "));
        t.push_str(&"]".repeat(150));
        t.push('\n');
        let e = parse(&t).unwrap_err();
        assert!(e.message.contains("500000 nodes"), "{e:?}");
    }

    #[test]
    fn a_repeated_key_keeps_its_place_and_takes_the_later_value() {
        let d = &parse("a: 1\nb: 2\na: 3\n").unwrap()[0];
        let keys: Vec<&str> = d
            .map()
            .unwrap()
            .iter()
            .map(|(k, _, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(d.get("a").unwrap().text().as_deref(), Some("3"));
    }

    #[test]
    fn a_mapping_of_many_keys_keeps_each_once_and_a_repeat_s_last_value() {
        // 150,000 keys, within the bounds: each key is found by its place (an index),
        // not by a scan of the mapping, which made such a file take minutes. (No clock
        // here: tests assert no wall time.)
        let n = 150_000;
        let mut t = String::new();
        for i in 0..n {
            t.push_str(&format!("k{i}: v\n"));
        }
        t.push_str("k7: last\n");
        let d = &parse(&t).unwrap()[0];
        assert_eq!(d.map().unwrap().len(), n);
        assert_eq!(d.get("k7").unwrap().text().as_deref(), Some("last"));
    }

    #[test]
    fn tags_and_scalars_read_as_before() {
        let d = &parse("a: !!str 12\nb: !custom 12\nc: '12'\nd: !!int x\ne: 3.10\n").unwrap()[0];
        assert_eq!(d.get("a").unwrap().v, Value::Str("12".into()));
        assert_eq!(d.get("b").unwrap().v, Value::Int(12));
        assert_eq!(d.get("c").unwrap().v, Value::Str("12".into()));
        assert_eq!(d.get("d").unwrap().v, Value::Null);
        assert_eq!(d.get("e").unwrap().text().as_deref(), Some("3.1"));
    }
}
