//! Dagu's `parallel` on a step that runs a child DAG: one child run per item, at most
//! `max_concurrent` (Dagu's default 10) at once. baton runs a child workflow once per
//! step (`for_each` does not take `workflow`), so the import writes one child-run step
//! per item, `ID-1`, `ID-2`, …, in a pool of that capacity; the step's dependants need
//! all of them, as Dagu's wait for every child.
use super::{Dag, g, gl};
use crate::out::Step;
use crate::yaml::{Node, Value};

/// Dagu's `core.DefaultMaxConcurrent`.
const DEFAULT_MAX_CONCURRENT: u64 = 10;
/// Dagu refuses more items (`maxParallelItems`).
const MAX_ITEMS: usize = 1000;

/// One item: a string, or a mapping of params.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Str(String),
    Obj(Vec<(String, String)>),
}

impl Item {
    fn of(n: &Node) -> Option<Item> {
        match &n.v {
            Value::Map(m) => Some(Item::Obj(
                m.iter()
                    .map(|(k, _, v)| (k.clone(), v.text().unwrap_or_default()))
                    .collect(),
            )),
            _ => n.text().map(Item::Str),
        }
    }

    /// The item as Dagu's `${ITEM}` reads it: the string, or the object as JSON.
    fn text(&self) -> String {
        match self {
            Item::Str(s) => s.clone(),
            Item::Obj(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
                    .collect();
                format!("{{{}}}", parts.join(","))
            }
        }
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

impl Dag<'_> {
    /// `st` and, with `parallel` on a child step, its one-per-item copies instead.
    pub(super) fn parallel(&mut self, s: &Node, st: Step, label: &str) -> Vec<Step> {
        let Some(p) = g(s, "parallel") else {
            return vec![st];
        };
        let l = gl(s, "parallel").unwrap_or(p.line);
        let what = format!("step `{label}`: `parallel`");
        let Some((file, params)) = st.workflow.clone() else {
            self.report.note(l, what, "left out, the step runs once: Dagu runs `parallel` only on a step that runs a child DAG (`call:`), and refuses it elsewhere");
            return vec![st];
        };
        let (source, max) = match &p.v {
            Value::Map(_) => (
                g(p, "items"),
                g(p, "max_concurrent")
                    .and_then(Node::text)
                    .and_then(|t| t.parse::<u64>().ok()),
            ),
            _ => (Some(p), None),
        };
        let max = max.filter(|m| *m > 0).unwrap_or(DEFAULT_MAX_CONCURRENT);
        let items = match source.map(|n| &n.v) {
            Some(Value::Seq(list)) => list.iter().filter_map(Item::of).collect(),
            Some(_) => match source.and_then(Node::text) {
                Some(var) => match self.parallel_var(&var, l, label) {
                    Some(items) => items,
                    None => return vec![st],
                },
                None => vec![],
            },
            None => vec![],
        };
        if items.is_empty() || items.len() > MAX_ITEMS {
            self.report.note(l, what, format!("left out, the step runs once: Dagu refuses a `parallel` of no item or more than {MAX_ITEMS}"));
            return vec![st];
        }
        // Dagu runs one child per distinct params (the same params, the same run).
        let mut runs: Vec<Vec<(String, String)>> = vec![];
        for it in &items {
            let p = item_params(it, &params);
            if !runs.contains(&p) {
                runs.push(p);
            }
        }
        let pool = (runs.len() as u64 > max).then(|| format!("{}-parallel", st.id));
        if let Some(name) = &pool {
            self.wf.pools.push((name.clone(), max));
        }
        let mut out = vec![];
        let mut ids = vec![];
        for (i, p) in runs.into_iter().enumerate() {
            let mut one = st.clone();
            one.id = format!("{}-{}", st.id, i + 1);
            one.comments
                .push(format!("item {} of its `parallel`", i + 1));
            one.workflow = Some((file.clone(), p));
            one.pool = pool.clone();
            ids.push(one.id.clone());
            out.push(one);
        }
        let string_items = if items.iter().any(|i| matches!(i, Item::Str(_))) && params.is_empty() {
            " A string item is the child's param `ITEM` (Dagu hands it over as the child's params string, its `$1`): the child declares `ITEM`."
        } else {
            ""
        };
        self.report.note(l, what, format!("one child-run step per distinct item ({}), in the pool `{}` of capacity {max} (`max_concurrent`), the step's dependants needing all of them: baton runs a child workflow once per step.{string_items}", ids.join(", "), pool.as_deref().unwrap_or("none needed")));
        if gl(s, "output").is_some() {
            self.report.note(gl(s, "output").unwrap_or(l), format!("step `{label}`: `output` of a `parallel` step"), "left out: Dagu's aggregate of its children (`summary`, `results`, `outputs` as JSON) is not built; each child's outputs are on its own child run (`baton show`)");
            for o in &mut out {
                o.outputs.clear();
            }
            self.outputs.retain(|(id, _)| *id != st.id);
        }
        self.fanned.push((st.id.clone(), ids));
        out
    }

    /// The items of `parallel: ${VAR}`: a DAG `env` value written as a literal (a JSON
    /// array, else separated by commas or spaces, as Dagu splits it), or a param's
    /// default (reported: a run given another value still fans out over the
    /// default). Anything else (an output) is reported and `None`.
    fn parallel_var(&mut self, var: &str, l: usize, label: &str) -> Option<Vec<Item>> {
        let name = var.trim().trim_start_matches('$');
        let name = name
            .strip_prefix('{')
            .and_then(|n| n.strip_suffix('}'))
            .unwrap_or(name);
        let env = self
            .wf
            .env
            .iter()
            .find(|(k, v)| k == name && !v.contains('$'))
            .map(|(_, v)| v.clone());
        let param = self
            .wf
            .params
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.default.clone());
        let what = format!("step `{label}`: `parallel: {var}`");
        let value = match (env, param) {
            (Some(v), _) => v,
            (None, Some(d)) => {
                self.report.note(l, what, format!("fanned out over the param `{name}`'s default, at import: a run given another `{name}` still runs one child per item of the default"));
                d
            }
            (None, None) => {
                self.report.note(l, what, "left out, the step runs its child once: the items come from a step's output, and baton runs a child workflow once per step (`for_each` does not take `workflow`)");
                return None;
            }
        };
        Some(separated(&value))
    }
}

/// Dagu's `ParseSeparatedValues`: a JSON array (its strings as they are, anything else
/// as JSON), else items separated by commas, else by white space.
fn separated(value: &str) -> Vec<Item> {
    let v = value.trim();
    if v.starts_with('[')
        && let Ok(docs) = crate::yaml::parse(v)
        && let Some(list) = docs.first().and_then(Node::seq)
    {
        return list.iter().filter_map(Item::of).collect();
    }
    let parts: Vec<&str> = if v.contains(',') {
        v.split(',').collect()
    } else {
        v.split_whitespace().collect()
    };
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Item::Str(p.to_string()))
        .collect()
}

/// A child's params for one item: the step's `params` with `${ITEM}` (and
/// `${ITEM.KEY}` of an object item) replaced; without `params`, a string item as
/// `ITEM` and an object item's fields.
fn item_params(it: &Item, params: &[(String, String)]) -> Vec<(String, String)> {
    if params.is_empty() {
        return match it {
            Item::Str(s) => vec![("ITEM".into(), s.clone())],
            Item::Obj(f) => f.clone(),
        };
    }
    params
        .iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            if let Item::Obj(fields) = it {
                for (fk, fv) in fields {
                    v = v.replace(&format!("${{ITEM.{fk}}}"), fv);
                }
            }
            v = v.replace("${ITEM}", &it.text());
            (k.clone(), replace_bare(&v, "$ITEM", &it.text()))
        })
        .collect()
}

/// `$NAME` replaced where the name ends there (`$ITEMS` is another variable).
fn replace_bare(text: &str, var: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(var) {
        let after = &rest[at + var.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(var);
        } else {
            out.push_str(with);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{Item, item_params, separated};

    #[test]
    fn items_of_a_variable_split_as_dagu_splits_them() {
        let s = |v: &[&str]| {
            v.iter()
                .map(|x| Item::Str(x.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(separated(r#"["a", "b c"]"#), s(&["a", "b c"]));
        assert_eq!(separated("server1 server2"), s(&["server1", "server2"]));
        assert_eq!(separated("a, b,c"), s(&["a", "b", "c"]));
    }

    #[test]
    fn an_items_params_replace_item_and_its_fields() {
        let obj = Item::Obj(vec![("R".into(), "eu".into()), ("V".into(), "1".into())]);
        let p = vec![("P".into(), "${ITEM.R}-$ITEM-$ITEMS".into())];
        assert_eq!(
            item_params(&obj, &p),
            vec![(
                "P".to_string(),
                r#"eu-{"R":"eu","V":"1"}-$ITEMS"#.to_string()
            )]
        );
        assert_eq!(
            item_params(&Item::Str("x".into()), &[]),
            vec![("ITEM".to_string(), "x".to_string())]
        );
    }
}
