//! A job's `strategy.matrix` as a baton matrix, with GitHub's cells: axes of text,
//! numbers and booleans map as they are (baton's combination rules are GitHub's); a
//! matrix holding mappings or lists as values (`job: [{target: …, os: …}]`, an
//! `include` of such), or written with `fromJSON('…')` of a literal, is expanded here
//! by GitHub's rules (product, `exclude`, `include`) into its cells, each value a leaf
//! (`matrix.job.target` reads the key `job_target`).
use super::{Ctx, bad};
use crate::Invalid;
use crate::expr::{self, E};
use crate::out::{Axis, Matrix, Param, Scalar, Step};
use crate::yaml::{self, Node, Value};

/// GitHub's bound on a matrix's cells ("A matrix can generate a maximum of 256 jobs
/// per workflow run").
const MAX_CELLS: usize = 256;

/// A cell: keys and their values, in order.
pub(super) type Cell = Vec<(String, Node)>;

/// What a matrix could not be read as: the job fails saying so.
pub(super) struct Unreadable(pub String);

/// `${{ fromJSON('…') }}` of a literal as its value; `None` for any other text.
fn from_json_literal(n: &Node) -> Option<Node> {
    let t = n.text()?;
    if !t.contains("${{") {
        return None;
    }
    match expr::parse(&t).ok()? {
        E::Call(f, a) if f == "fromjson" && a.len() == 1 => match &a[0] {
            E::Str(s) => {
                let mut d = yaml::parse(s).ok()?.into_iter().next()?;
                relines(&mut d, n.line);
                Some(d)
            }
            _ => None,
        },
        _ => None,
    }
}

/// A value read from a literal carries the line of the text it came from.
fn relines(n: &mut Node, line: usize) {
    n.line = line;
    match &mut n.v {
        Value::Seq(s) => s.iter_mut().for_each(|x| relines(x, line)),
        Value::Map(m) => m.iter_mut().for_each(|(_, l, x)| {
            *l = line;
            relines(x, line)
        }),
        _ => {}
    }
}

/// A text whose `${{ … }}` are over literals only (an input's `default: ${{ 1 }}`),
/// decided as GitHub decides it; `None` when one names a context.
pub(super) fn decided_text(t: &str) -> Option<String> {
    match consts::decide(t)? {
        Value::Str(s) => Some(s),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `n`, or what `fromJSON('…')` in it reads, with its literal expressions decided
/// and its `${{ insert }}` keys merged (`consts`).
fn literal(n: &Node) -> Node {
    consts::resolve(n, &from_json_literal)
}

fn is_expr(n: &Node) -> bool {
    n.text().is_some_and(|t| t.contains("${{"))
}

/// An axis's values: a list (an item `${{ fromJSON('[…]') }}` adds its items).
fn axis_values(v: &Node) -> Option<Vec<Node>> {
    let v = from_json_literal(v).unwrap_or_else(|| v.clone());
    let items = v.seq()?;
    let mut out = vec![];
    for i in items {
        match from_json_literal(i) {
            Some(Node {
                v: Value::Seq(s), ..
            }) => out.extend(s.iter().map(literal)),
            Some(x) => out.push(literal(&x)),
            None => out.push(literal(i)),
        }
    }
    Some(out)
}

fn entries(v: &Node) -> Option<Vec<Cell>> {
    let v = literal(v);
    v.seq()?
        .iter()
        .map(|e| {
            literal(e)
                .map()
                .map(|m| m.iter().map(|(k, _, x)| (k.clone(), literal(x))).collect())
        })
        .collect()
}

fn scalar_node(n: &Node) -> bool {
    !matches!(n.v, Value::Map(_) | Value::Seq(_))
}

/// Whether `a` and `b` are the same value (text as GitHub compares matrix values).
fn same(a: &Node, b: &Node) -> bool {
    match (&a.v, &b.v) {
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, _, v)| y.iter().any(|(k2, _, v2)| k == k2 && same(v, v2)))
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a.text() == b.text() && scalar_node(a) && scalar_node(b),
    }
}

fn get<'c>(c: &'c Cell, k: &str) -> Option<&'c Node> {
    c.iter().find(|(x, _)| x == k).map(|(_, v)| v)
}

/// GitHub's cells: the product of the axes (the first outermost), less every cell an
/// `exclude` entry matches (partially), then each `include` entry added to every cell
/// whose axis values it does not change, or a cell of its own when it fits none.
fn expand(axes: &[(String, Vec<Node>)], include: &[Cell], exclude: &[Cell]) -> Option<Vec<Cell>> {
    let mut cells: Vec<Cell> = if axes.is_empty() {
        vec![]
    } else {
        vec![vec![]]
    };
    for (k, vals) in axes {
        let mut next = Vec::new();
        for c in &cells {
            for v in vals {
                let mut c = c.clone();
                c.push((k.clone(), v.clone()));
                next.push(c);
                if next.len() > MAX_CELLS * 4 {
                    return None;
                }
            }
        }
        cells = next;
    }
    cells.retain(|c| {
        !exclude
            .iter()
            .any(|e| e.iter().all(|(k, v)| get(c, k).is_some_and(|x| same(x, v))))
    });
    let axis = |k: &str| axes.iter().any(|(a, _)| a == k);
    let original = cells.clone();
    for inc in include {
        let mut fitted = false;
        for (c, orig) in cells.iter_mut().zip(&original) {
            let fits = inc
                .iter()
                .all(|(k, v)| !axis(k) || get(orig, k).is_some_and(|x| same(x, v)));
            if fits {
                fitted = true;
                for (k, v) in inc {
                    match c.iter_mut().find(|(x, _)| x == k) {
                        Some(slot) => slot.1 = v.clone(),
                        None => c.push((k.clone(), v.clone())),
                    }
                }
            }
        }
        if !fitted {
            cells.push(inc.clone());
        }
    }
    Some(cells)
}

/// A key as a baton matrix key: letters, digits, `_` and `-`.
pub(super) fn key_of(k: &str) -> String {
    k.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A cell's values as baton's: a mapping's leaves under `KEY_SUB` keys, a list as its
/// JSON text.
fn flatten(prefix: &str, v: &Node, out: &mut Vec<(String, Scalar)>) {
    match &v.v {
        Value::Map(m) => {
            for (k, _, x) in m {
                flatten(&format!("{prefix}_{}", key_of(k)), x, out);
            }
        }
        Value::Seq(_) => out.push((prefix.to_string(), Scalar::Str(json(v)))),
        Value::Int(i) => out.push((prefix.to_string(), Scalar::Int(*i))),
        Value::Bool(b) => out.push((prefix.to_string(), Scalar::Bool(*b))),
        _ => out.push((
            prefix.to_string(),
            Scalar::Str(v.text().unwrap_or_default()),
        )),
    }
}

/// A cell's values as baton's: by `flatten`, under its keys as baton's (`key_of`).
pub(super) fn flat(cell: &Cell) -> Vec<(String, Scalar)> {
    let mut out = vec![];
    for (k, v) in cell {
        flatten(&key_of(k), v, &mut out);
    }
    out
}

/// A value as JSON text.
fn json(v: &Node) -> String {
    let q = |s: &str| format!("{:?}", s);
    match &v.v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => q(s),
        Value::Seq(s) => format!("[{}]", s.iter().map(json).collect::<Vec<_>>().join(",")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, _, x)| format!("{}:{}", q(k), json(x)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn scalar(n: &Node) -> Scalar {
    match &n.v {
        Value::Int(i) => Scalar::Int(*i),
        Value::Bool(b) => Scalar::Bool(*b),
        _ => Scalar::Str(n.text().unwrap_or_default()),
    }
}

/// A matrix's entries as read: literal axes, axes from params, `include`, `exclude`,
/// and whether every value is a scalar written out (baton's own rules then apply).
struct Read {
    axes: Vec<(String, Vec<Node>)>,
    params: Vec<(String, String)>,
    include: Vec<Cell>,
    exclude: Vec<Cell>,
    plain: bool,
}

fn read(entries_of: &[(String, usize, Node)], c: &mut Ctx) -> Result<Read, Unreadable> {
    let mut axes: Vec<(String, Vec<Node>)> = vec![];
    let mut params: Vec<(String, String)> = vec![];
    let (mut include, mut exclude) = (vec![], vec![]);
    let mut plain = true;
    for (k, l, v) in entries_of {
        if k.contains("${{") {
            c.report.note(*l, format!("matrix key `{k}`"), "the job fails saying so: a key written as an expression is known only during GitHub's run");
            return Err(Unreadable(format!(
                "matrix key `{k}` (line {l}) is an expression baton cannot know before the run"
            )));
        }
        match k.as_str() {
            "include" | "exclude" => {
                let Some(e) = entries(v) else {
                    c.report.note(
                        *l,
                        format!("matrix `{k}: {}`", v.text().unwrap_or_default()),
                        "the job fails saying so: it is known only during GitHub's run",
                    );
                    return Err(Unreadable(format!(
                        "matrix `{k}` (line {l}) is an expression baton cannot know before the run"
                    )));
                };
                plain &= is_literal(v) && e.iter().flatten().all(|(_, x)| scalar_node(x));
                if k == "include" {
                    include = e;
                } else {
                    exclude = e;
                }
            }
            _ => match axis_values(v) {
                Some(vals) => {
                    plain &= is_literal(v) && vals.iter().all(scalar_node);
                    axes.push((k.clone(), vals));
                }
                None if is_expr(v) => params.push((k.clone(), axis_param(k, *l, v, c))),
                None => {
                    c.report
                        .note(*l, format!("matrix axis `{k}`"), "left out: not a list");
                }
            },
        }
    }
    Ok(Read {
        axes,
        params,
        include,
        exclude,
        plain,
    })
}

/// The job's `strategy` onto `step`: `Ok(Err(why))` when the matrix cannot be known
/// before the run (the job then fails saying why), `Err` when GitHub refuses it too.
pub(super) fn strategy(
    job: &Node,
    step: &mut Step,
    c: &mut Ctx,
) -> Result<Result<(), Unreadable>, Invalid> {
    c.json.cells = None;
    c.json.no_cells = None;
    let Some(st) = job.get("strategy") else {
        return Ok(Ok(()));
    };
    let Some(m) = st.get("matrix") else {
        return Ok(Ok(()));
    };
    let line = st.key_line("matrix").unwrap_or(st.line);
    let m = literal(m);
    let Some(entries_of) = m.map() else {
        c.report.note(line, format!("`matrix: {}`", m.text().unwrap_or_default()), "the job fails saying so: a matrix from an expression other than `fromJSON('…')` of a literal is known only during GitHub's run (give its cells as a literal matrix)");
        return Ok(Err(Unreadable(format!(
            "the matrix of this job (line {line}) is an expression baton cannot know before the run"
        ))));
    };
    let Read {
        axes,
        params,
        include,
        exclude,
        plain,
    } = match read(entries_of, c) {
        Ok(r) => r,
        Err(u) => return Ok(Err(u)),
    };
    if let Some(()) = for_each(entries_of, step, c) {
        c.json.no_cells = Some("a matrix from a need's output is known only when the step starts");
        step.fail_fast = Some(st.get("fail-fast").and_then(Node::text).as_deref() != Some("false"));
        step.max_parallel = st
            .get("max-parallel")
            .and_then(Node::text)
            .and_then(|t| t.parse().ok());
        return Ok(Ok(()));
    }
    if axes.is_empty() && params.is_empty() && include.is_empty() {
        c.report.note(
            line,
            "a matrix with no values",
            "the job runs once, without a matrix (GitHub refuses such a matrix)",
        );
        return Ok(Ok(()));
    }
    let mut matrix = Matrix::default();
    if plain || !params.is_empty() {
        if !plain {
            c.report.note(line, "a matrix of mappings or `fromJSON` beside an axis from an expression", "its mappings' values are left empty: baton expands such a matrix when every axis is written out");
        }
        matrix.axes = axes
            .iter()
            .map(|(k, v)| (key_of(k), Axis::Values(v.iter().map(scalar).collect())))
            .chain(
                params
                    .into_iter()
                    .map(|(k, p)| (key_of(&k), Axis::Param(p))),
            )
            .collect();
        let flat = |cells: &[Cell]| -> Vec<Vec<(String, Scalar)>> {
            cells
                .iter()
                .map(|c| c.iter().map(|(k, v)| (key_of(k), scalar(v))).collect())
                .collect()
        };
        matrix.include = flat(&include);
        matrix.exclude = flat(&exclude);
        if matrix.axes.iter().any(|(_, a)| matches!(a, Axis::Param(_))) {
            c.json.no_cells = Some("an axis of the matrix is a param");
        } else {
            c.json.cells = expand(&axes, &include, &exclude);
        }
    } else {
        let Some(cells) = expand(&axes, &include, &exclude).filter(|c| c.len() <= MAX_CELLS) else {
            return Err(bad(
                line,
                format!("the matrix makes more than {MAX_CELLS} cells"),
                "GitHub refuses it too: split the job or add `exclude` entries",
            ));
        };
        matrix.include = cells_of(&cells, line, c);
        c.json.cells = Some(cells);
        c.report.note(line, format!("a matrix of mappings (or `fromJSON` of a literal), {} cell(s)", matrix.include.len()), "written out as its cells by GitHub's rules; a mapping's values are keys `KEY_SUB` (`matrix.job.target` reads `job_target`), a cell's id lists them");
    }
    step.matrix = Some(matrix);
    step.fail_fast = Some(st.get("fail-fast").and_then(Node::text).as_deref() != Some("false"));
    step.max_parallel = st
        .get("max-parallel")
        .and_then(Node::text)
        .and_then(|t| t.parse().ok());
    Ok(Ok(()))
}

fn is_literal(v: &Node) -> bool {
    !is_expr(v) && v.seq().is_none_or(|s| !s.iter().any(is_expr))
}

/// The cells as baton's `include` entries, each id (its values in order) once: a
/// second cell with the same id (GitHub would run it twice) is left out, reported.
fn cells_of(cells: &[Cell], line: usize, c: &mut Ctx) -> Vec<Vec<(String, Scalar)>> {
    let mut out: Vec<Vec<(String, Scalar)>> = vec![];
    let mut ids: Vec<String> = vec![];
    for cell in cells {
        let mut flat = vec![];
        for (k, v) in cell {
            flatten(&key_of(k), v, &mut flat);
        }
        let id = flat
            .iter()
            .map(|(_, v)| match v {
                Scalar::Str(s) => s.clone(),
                Scalar::Int(i) => i.to_string(),
                Scalar::Bool(b) => b.to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
        if ids.contains(&id) {
            c.report.note(
                line,
                format!("matrix cell [{id}] twice"),
                "run once: baton names a cell by its values",
            );
            continue;
        }
        ids.push(id);
        out.push(flat);
    }
    out
}

/// A matrix of one axis, `KEY: ${{ fromJSON(needs.J.outputs.K) }}`: baton's
/// `for_each` over that output (a JSON list), `matrix.KEY` its `item`, reported.
fn for_each(entries_of: &[(String, usize, Node)], step: &mut Step, c: &mut Ctx) -> Option<()> {
    let [(k, l, v)] = entries_of else { return None };
    let E::Call(f, a) = expr::parse(&v.text()?).ok()? else {
        return None;
    };
    let [E::Name(p)] = a.as_slice() else {
        return None;
    };
    if f != "fromjson" || p.len() != 4 || p[0] != "needs" || p[2] != "outputs" {
        return None;
    }
    let j = c.job(&p[1]).filter(|j| step.needs.contains(j))?;
    step.for_each = Some(format!("${{{{ steps.{j}.outputs.{} }}}}", p[3]));
    c.matrix_item = Some(k.clone());
    c.report.note(
        *l,
        format!("matrix axis `{k}: {}`", v.text().unwrap_or_default()),
        format!("one instance per item of job `{}`'s output `{}` (`for_each`), `matrix.{k}` its item; instances are named by their index (`[0]`, `[1]`), GitHub's by their value", p[1], p[3]),
    );
    Some(())
}

/// An axis from an expression (`${{ fromJSON(inputs.pythons) }}`): a `list` param.
fn axis_param(k: &str, l: usize, v: &Node, c: &mut Ctx) -> String {
    let name = k.replace(
        |ch: char| !ch.is_ascii_alphanumeric() && ch != '_' && ch != '-',
        "_",
    );
    c.report.note(
        l,
        format!("matrix axis `{k}: {}`", v.text().unwrap_or_default()),
        format!(
            "read from the `list` param `{name}`: give its values with --param {name}='[\"…\"]'"
        ),
    );
    if !c.params.iter().any(|p| p.name == name) {
        c.params.push(Param {
            name: name.clone(),
            kind: "list",
            required: true,
            description: Some(format!("the values of matrix axis `{k}`")),
            ..Param::default()
        });
    }
    name
}

mod consts;
#[cfg(test)]
mod tests;
