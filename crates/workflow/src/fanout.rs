//! Fan-out: a step that runs as instances, one per combination of a `matrix` (GitHub's
//! `strategy.matrix`, with its `include`/`exclude` rules) or one per item of a JSON
//! array a need produced (`for_each`, as Argo's `withParam` or Airflow's mapped tasks).
//! Everything here is pure: the engine decides a step's instances once, when it would
//! start, and records them (`step_fanned_out`) so a replay rebuilds the same ones.
use serde_json::Value;
use std::collections::BTreeMap;

/// Instances a `for_each` may make unless the step sets `max_instances`.
pub const DEFAULT_MAX_INSTANCES: usize = 10_000;

/// `matrix` or `for_each` on a step, with how its instances run.
#[derive(Debug, Clone, PartialEq)]
pub struct Fanout {
    pub source: FanSource,
    /// `max_parallel` on the step: its instances running at once (within the run's).
    pub max_parallel: Option<usize>,
    /// `fail_fast = true`: the first failed instance cancels those not yet finished.
    pub fail_fast: bool,
    /// `max_instances`: more items (or combinations) than this fail the step.
    pub max_instances: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FanSource {
    Matrix(Matrix),
    /// `for_each = "${{ steps.ID.outputs.NAME }}"`: `step` indexes `Plan::steps`.
    ForEach {
        step: usize,
        step_id: String,
        key: String,
    },
}

/// `matrix = { KEY = [values…], include = [...], exclude = [...] }`, keys as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    pub axes: Vec<(String, Axis)>,
    pub include: Vec<Combo>,
    pub exclude: Vec<Combo>,
}

/// One axis of a matrix: its values, or a `type = "list"` parameter that holds them.
#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    Values(Vec<Value>),
    Param(String),
}

/// One combination (or an `include`/`exclude` entry): keys in the order written.
pub type Combo = Vec<(String, Value)>;

/// What makes an instance of a fanned-out step: its parent and the values it reads
/// (`${{ matrix.KEY }}` from an object of the combination, `${{ item }}` the item).
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub parent: usize,
    pub value: Value,
    pub matrix: bool,
}

/// The instances of a fanned-out step, as decided and recorded: id and value each.
pub type Instances = Vec<(String, Value)>;

/// A value as a template or an id shows it: a string as is, anything else as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Why a step could not fan out (the step fails with it), or a list parameter is not
/// a list. Texts quoted from a value are cut to 60 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FanoutError {
    #[error("\"{0}\" is a JSON object, not a list: write [\"a\", \"b\"] or a,b")]
    ListIsObject(String),
    #[error("\"{0}\" is not a JSON array: write [\"a\", \"b\"] or a,b")]
    ListNotArray(String),
    #[error("matrix `{axis}` reads parameter `{param}`, which has no value")]
    NoParam { axis: String, param: String },
    #[error("matrix `{axis}` (parameter `{param}`): {why}")]
    BadParam {
        axis: String,
        param: String,
        why: Box<FanoutError>,
    },
    /// `made`: how many, in words (`12 combinations before exclude …`).
    #[error("the matrix makes {made}, more than max_instances = {max}")]
    TooMany { made: String, max: usize },
    #[error(
        "a matrix value holds a control character ({label:?}): instance ids are shown in terminals"
    )]
    ControlChar { label: String },
    #[error("two combinations are both named `{id}`: make their values differ")]
    SameId { id: String },
    #[error("for_each: `{reads}` is {kind}, not a JSON array (\"{text}\")")]
    NotAnArray {
        reads: String,
        kind: &'static str,
        text: String,
    },
    #[error(
        "for_each: `{reads}` is not JSON ({why}): \"{text}\"; write a JSON array such as [\"a\", \"b\"] to $BATON_OUTPUT"
    )]
    NotJson {
        reads: String,
        why: String,
        text: String,
    },
    #[error("for_each: `{reads}` holds {n} items, more than max_instances = {max}")]
    TooManyItems { reads: String, n: usize, max: usize },
    /// The output it reads was cut (why, as the output's reader says).
    #[error("for_each: {0}")]
    OutputCut(String),
    #[error("for_each: `{reads}` has no value: `{step}` did not output `{key}`")]
    NoValue {
        reads: String,
        step: String,
        key: String,
    },
}

/// A `type = "list"` parameter's value: a JSON array, or values separated by commas.
pub fn parse_list(raw: &str) -> Result<Vec<Value>, FanoutError> {
    let t = raw.trim();
    // A JSON object is one value, not a list of them (split on its commas it would
    // make nonsense items).
    if t.starts_with('{') {
        return Err(FanoutError::ListIsObject(short(t)));
    }
    if t.starts_with('[') {
        return match serde_json::from_str::<Value>(t) {
            Ok(Value::Array(items)) => Ok(items),
            Ok(_) | Err(_) => Err(FanoutError::ListNotArray(short(t))),
        };
    }
    Ok(t.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_string()))
        .collect())
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// The combinations of a matrix by GitHub's rules: the product of the axes, the first
/// key outermost; then `exclude` removes each combination an entry matches (every key
/// it names equal, a partial entry matches more); then each `include` entry is added to
/// every remaining combination whose original values it does not change (an added value
/// may be overwritten), or becomes a combination of its own if it fits none.
pub fn combinations(
    m: &Matrix,
    params: &BTreeMap<String, String>,
) -> Result<Vec<Combo>, FanoutError> {
    combinations_at_most(m, params, usize::MAX)
}

/// How many combinations are looked at, per instance allowed, to count those an
/// `exclude` leaves (they are built before `exclude` removes some): a matrix whose
/// product is more than this many times `max_instances` is refused unexpanded, its
/// excludes whatever they are.
const EXCLUDE_SLACK: usize = 4;

/// [`combinations`], refused before anything is expanded when they would be more than
/// `max` (issue 41 point 3: a 7-axis matrix of 10 values is 10^7 combinations, which
/// must not be built to be counted). The product of the axes is computed first; past
/// `max`, the combinations `exclude` leaves are counted one by one without being kept,
/// at most `max × 4` of them.
pub fn combinations_at_most(
    m: &Matrix,
    params: &BTreeMap<String, String>,
    max: usize,
) -> Result<Vec<Combo>, FanoutError> {
    let mut axes: Vec<(&str, Vec<Value>)> = Vec::with_capacity(m.axes.len());
    for (k, axis) in &m.axes {
        let values = match axis {
            Axis::Values(v) => v.clone(),
            Axis::Param(p) => {
                let raw = params.get(p).ok_or_else(|| FanoutError::NoParam {
                    axis: k.clone(),
                    param: p.clone(),
                })?;
                parse_list(raw).map_err(|e| FanoutError::BadParam {
                    axis: k.clone(),
                    param: p.clone(),
                    why: Box::new(e),
                })?
            }
        };
        axes.push((k, values));
    }
    count_at_most(m, &axes, max)?;
    let mut combos: Vec<Combo> = if axes.is_empty() {
        Vec::new()
    } else {
        vec![Vec::new()]
    };
    for (k, values) in &axes {
        let mut next = Vec::with_capacity(combos.len() * values.len());
        for c in &combos {
            for v in values {
                let mut c = c.clone();
                c.push((k.to_string(), v.clone()));
                next.push(c);
            }
        }
        combos = next;
    }
    combos.retain(|c| !m.exclude.iter().any(|e| matches(c, e)));
    let original = combos.len();
    let is_axis = |k: &str| axes.iter().any(|(a, _)| *a == k);
    for inc in &m.include {
        let mut fitted = false;
        for c in combos.iter_mut().take(original) {
            let keeps_originals = inc.iter().all(|(k, v)| !is_axis(k) || get(c, k) == Some(v));
            if keeps_originals {
                fitted = true;
                for (k, v) in inc {
                    match c.iter_mut().find(|(ck, _)| ck == k) {
                        Some(slot) => slot.1 = v.clone(),
                        None => c.push((k.clone(), v.clone())),
                    }
                }
            }
        }
        if !fitted {
            combos.push(inc.clone());
        }
    }
    Ok(combos)
}

/// Refuse a matrix whose axes' combinations (after `exclude`) are more than `max`,
/// without building them.
fn count_at_most(m: &Matrix, axes: &[(&str, Vec<Value>)], max: usize) -> Result<(), FanoutError> {
    if axes.is_empty() {
        return Ok(());
    }
    let product = axes
        .iter()
        .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()));
    let over = |made: String| Err(FanoutError::TooMany { made, max });
    let Some(product) = product else {
        return over("more than 2^64 combinations".into());
    };
    // Includes that fit none add one each, at most as many as the file holds: the
    // count after expansion covers them.
    if product <= max {
        return Ok(());
    }
    if m.exclude.is_empty() {
        return over(format!("{product} combinations"));
    }
    if product > max.saturating_mul(EXCLUDE_SLACK) {
        return over(format!(
            "{product} combinations before exclude (more than {EXCLUDE_SLACK} × max_instances are not expanded to be counted)"
        ));
    }
    // An odometer over the axes: one combination at a time, none kept.
    let mut at = vec![0usize; axes.len()];
    let mut left = 0usize;
    loop {
        let excluded = m.exclude.iter().any(|e| {
            e.iter().all(|(k, v)| {
                axes.iter()
                    .position(|(a, _)| a == k)
                    .is_some_and(|i| axes[i].1[at[i]] == *v)
            })
        });
        if !excluded {
            left += 1;
            if left > max {
                return over(format!(
                    "{product} combinations before exclude and more than {max} after it"
                ));
            }
        }
        let mut i = axes.len();
        loop {
            if i == 0 {
                return Ok(());
            }
            i -= 1;
            at[i] += 1;
            if at[i] < axes[i].1.len() {
                break;
            }
            at[i] = 0;
        }
    }
}

fn get<'c>(c: &'c Combo, k: &str) -> Option<&'c Value> {
    c.iter().find(|(ck, _)| ck == k).map(|(_, v)| v)
}

fn matches(c: &Combo, entry: &Combo) -> bool {
    entry.iter().all(|(k, v)| get(c, k) == Some(v))
}

/// `STEP[v1,v2,…]`: an instance's id, from its label (values, or its item's index).
pub fn instance_id(parent: &str, label: &str) -> String {
    format!("{parent}[{label}]")
}

/// The parent's id of an instance id (`test[3.11,linux]` → `test`).
pub fn parent_id(id: &str) -> Option<&str> {
    id.strip_suffix(']')?.split_once('[').map(|(p, _)| p)
}

/// A matrix's instances: ids from the values in key order, each value an object.
pub fn matrix_instances(
    parent: &str,
    m: &Matrix,
    params: &BTreeMap<String, String>,
    max: usize,
) -> Result<Instances, FanoutError> {
    let combos = combinations_at_most(m, params, max)?;
    if combos.len() > max {
        return Err(FanoutError::TooMany {
            made: format!("{} combinations", combos.len()),
            max,
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(combos.len());
    let mut out = Vec::with_capacity(combos.len());
    for c in combos {
        let label = c.iter().map(|(_, v)| text(v)).collect::<Vec<_>>().join(",");
        if label.chars().any(char::is_control) {
            return Err(FanoutError::ControlChar { label });
        }
        let id = instance_id(parent, &label);
        if !seen.insert(id.clone()) {
            return Err(FanoutError::SameId { id });
        }
        let obj: serde_json::Map<String, Value> = c.into_iter().collect();
        out.push((id, Value::Object(obj)));
    }
    Ok(out)
}

/// A `for_each`'s instances from the output it reads: a JSON array of at most `max`
/// items, `STEP[0]`, `STEP[1]`, … in order.
pub fn for_each_instances(
    parent: &str,
    reads: &str,
    output: &str,
    max: usize,
) -> Result<Instances, FanoutError> {
    let items = match serde_json::from_str::<Value>(output) {
        Ok(Value::Array(items)) => items,
        Ok(other) => {
            return Err(FanoutError::NotAnArray {
                reads: reads.to_string(),
                kind: kind(&other),
                text: short(output),
            });
        }
        Err(e) => {
            return Err(FanoutError::NotJson {
                reads: reads.to_string(),
                why: e.to_string(),
                text: short(output),
            });
        }
    };
    if items.len() > max {
        return Err(FanoutError::TooManyItems {
            reads: reads.to_string(),
            n: items.len(),
            max,
        });
    }
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(n, v)| (instance_id(parent, &n.to_string()), v))
        .collect())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What `${{ matrix.KEY }}`, `${{ item }}` or `${{ item.KEY }}` reads in an instance.
/// A matrix cell reads a key it lacks (one an `include` entry gave other cells) as
/// `''`, as GitHub does; an item without the key has no value.
pub fn read(instance: &Instance, key: Option<&str>) -> Option<String> {
    match key {
        None => Some(text(&instance.value)),
        Some(k) => match instance.value.get(k) {
            Some(v) => Some(text(v)),
            None if instance.matrix => Some(String::new()),
            None => None,
        },
    }
}

/// `${{ steps.STEP.outputs.NAME }}` of a fanned-out step: a JSON array of each
/// instance's value in instance order, `null` for one without it.
pub fn gathered<'a>(values: impl Iterator<Item = Option<&'a String>>) -> String {
    Value::Array(
        values
            .map(|v| v.map_or(Value::Null, |s| Value::String(s.clone())))
            .collect(),
    )
    .to_string()
}

#[cfg(test)]
mod tests;
