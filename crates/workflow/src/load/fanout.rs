//! A step's fan-out keys as written: `matrix` (with `include`/`exclude`), `for_each`,
//! and how its instances run (`max_parallel`, `fail_fast`, `max_instances`); then the
//! templates only an instance can read (`matrix.KEY`, `item`).
use super::resolve::Site;
use super::*;
use crate::fanout::{Axis, Combo, DEFAULT_MAX_INSTANCES, FanSource, Fanout, Matrix};
use serde_json::Value;

/// A step's fan-out as read, before the step `for_each` reads is resolved.
pub(super) struct RawFanout<'n> {
    pub source: RawSource<'n>,
    pub max_parallel: Option<usize>,
    pub fail_fast: bool,
    pub max_instances: usize,
}

pub(super) enum RawSource<'n> {
    /// The matrix, and where each axis that reads a parameter is written.
    Matrix(Matrix, Vec<Span>),
    ForEach(TextEntry<'n>),
}

impl Loader<'_, '_> {
    /// A matrix axis never reads a secret parameter: an instance's id holds its values,
    /// and ids are stored in the events and shown by every command and view.
    pub(super) fn refuse_secret_axes(
        &mut self,
        raw: &RawFanout<'_>,
        label: &str,
        params: &[ParamSpec],
    ) {
        let RawSource::Matrix(m, spans) = &raw.source else {
            return;
        };
        let axes = m.axes.iter().filter(|(_, a)| matches!(a, Axis::Param(_)));
        for ((k, axis), span) in axes.zip(spans) {
            if let Axis::Param(p) = axis
                && params.iter().any(|s| s.name == *p && s.secret)
            {
                self.err(
                    span,
                    format!("`matrix.{k}` of {label} reads the secret parameter `{p}`"),
                    "an instance's id holds its matrix values and is stored and shown everywhere: read a parameter that is not secret",
                );
            }
        }
    }
}

impl RawFanout<'_> {
    /// The keys `${{ matrix.KEY }}` may read: the axes' and every `include` entry's.
    fn matrix_keys(&self) -> Option<Vec<&str>> {
        let RawSource::Matrix(m, _) = &self.source else {
            return None;
        };
        let mut keys: Vec<&str> = m.axes.iter().map(|(k, _)| k.as_str()).collect();
        for (k, _) in m.include.iter().flatten() {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        Some(keys)
    }
}

const MATRIX_EXAMPLE: &str =
    "matrix = { python = [\"3.11\", \"3.12\"], os = [\"linux\", \"macos\"] }";

impl Loader<'_, '_> {
    pub(super) fn fanout<'n>(&mut self, f: &'n [Entry], label: &str) -> Option<RawFanout<'n>> {
        let matrix = get(f, "matrix");
        let for_each = get(f, "for_each");
        let source = match (matrix, for_each) {
            (Some(_), Some(fe)) => {
                self.err(
                    &fe.span,
                    format!("{label} has both `matrix` and `for_each`"),
                    "a step fans out one way: keep `matrix` (combinations written here) or `for_each` (items a need outputs)",
                );
                None
            }
            (Some(m), None) => self.matrix(m, label),
            (None, Some(fe)) => self.string(fe, &format!("`for_each` of {label}")).map(|s| {
                RawSource::ForEach(TextEntry {
                    key: "for_each",
                    key_span: fe.span.clone(),
                    value: s.to_string(),
                    span: fe.span.clone(),
                })
            }),
            (None, None) => {
                for k in ["max_parallel", "fail_fast", "max_instances"] {
                    if let Some(n) = get(f, k) {
                        self.err(
                            &n.span,
                            format!("`{k}` of {label} applies only to a step with `matrix` or `for_each`"),
                            format!("remove `{k}`, or fan the step out with {MATRIX_EXAMPLE}"),
                        );
                    }
                }
                return None;
            }
        };
        let max_parallel = get(f, "max_parallel")
            .and_then(|n| self.int_at_least(n, &format!("`max_parallel` of {label}"), 1))
            .map(|n| n as usize);
        let fail_fast = get(f, "fail_fast")
            .and_then(|n| self.boolean(n, &format!("`fail_fast` of {label}")))
            .unwrap_or(false);
        let max_instances = get(f, "max_instances")
            .and_then(|n| self.int_at_least(n, &format!("`max_instances` of {label}"), 1))
            .map_or(DEFAULT_MAX_INSTANCES, |n| n as usize);
        if let Some(n) = get(f, "service") {
            self.err(
                &n.span,
                format!("{label} is a service and fans out"),
                "a service keeps running while its dependants run; fan out the steps that use it instead",
            );
        }
        Some(RawFanout {
            source: source?,
            max_parallel,
            fail_fast,
            max_instances,
        })
    }

    fn matrix<'n>(&mut self, n: &'n Node, label: &str) -> Option<RawSource<'n>> {
        let what = format!("`matrix` of {label}");
        let entries = self.table(n, &what, MATRIX_EXAMPLE)?;
        let mut m = Matrix::default();
        let mut param_spans = Vec::new();
        for e in entries {
            match e.key.as_str() {
                "include" => {
                    m.include = self.combos(&e.node, &format!("`matrix.include` of {label}"))
                }
                "exclude" => {
                    m.exclude = self.combos(&e.node, &format!("`matrix.exclude` of {label}"))
                }
                key => {
                    if !is_name(key, true) {
                        self.err(
                            &e.key_span,
                            format!("matrix key `{key}` in {label} is invalid"),
                            "use letters, digits, '_' and '-', starting with a letter or '_'",
                        );
                        continue;
                    }
                    let awhat = format!("`matrix.{key}` of {label}");
                    let axis = match &e.node.val {
                        Val::Array(items) if items.is_empty() => {
                            self.err(
                                &e.node.span,
                                format!("{awhat} lists no values"),
                                "give it at least one value, e.g. [\"3.12\"], or remove it",
                            );
                            continue;
                        }
                        Val::Array(items) => Axis::Values(
                            items
                                .iter()
                                .filter_map(|i| self.scalar(i, &awhat))
                                .collect(),
                        ),
                        Val::Str(s) => {
                            match parse_template(s).ok().and_then(|t| single_param(&t)) {
                                Some(p) => {
                                    param_spans.push(e.node.span.clone());
                                    Axis::Param(p)
                                }
                                None => {
                                    self.type_error(&e.node, &awhat, "an array of values or \"${{ params.NAME }}\" (a list parameter)", "[\"3.11\", \"3.12\"] or \"${{ params.pythons }}\"");
                                    continue;
                                }
                            }
                        }
                        _ => {
                            self.type_error(
                                &e.node,
                                &awhat,
                                "an array of values",
                                "[\"3.11\", \"3.12\"]",
                            );
                            continue;
                        }
                    };
                    m.axes.push((key.to_string(), axis));
                }
            }
        }
        let written = entries
            .iter()
            .any(|e| !matches!(e.key.as_str(), "include" | "exclude"));
        if !written && m.include.is_empty() {
            self.err(
                &n.span,
                format!("{what} has no keys"),
                format!("give it at least one key with its values, e.g. {MATRIX_EXAMPLE}"),
            );
        }
        Some(RawSource::Matrix(m, param_spans))
    }

    /// `include`/`exclude`: an array of tables of plain values.
    fn combos(&mut self, n: &Node, what: &str) -> Vec<Combo> {
        let example = "[ { python = \"3.12\", os = \"windows\" } ]";
        let Val::Array(items) = &n.val else {
            self.type_error(n, what, "an array of tables", example);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(fields) = self.table(item, &format!("each entry of {what}"), example) else {
                continue;
            };
            let mut c = Combo::new();
            for e in fields {
                if let Some(v) = self.scalar(&e.node, &format!("`{}` in {what}", e.key)) {
                    c.push((e.key.to_string(), v));
                }
            }
            out.push(c);
        }
        out
    }

    /// A matrix value: a string, a number or a boolean.
    fn scalar(&mut self, n: &Node, what: &str) -> Option<Value> {
        match &n.val {
            Val::Str(s) => Some(Value::String(s.to_string())),
            Val::Int(i) => Some(Value::from(*i)),
            Val::Float(x) => serde_json::Number::from_f64(*x).map(Value::Number),
            Val::Bool(b) => Some(Value::Bool(*b)),
            _ => {
                self.type_error(
                    n,
                    what,
                    "a string, a number or a boolean",
                    "\"3.12\", 12 or true",
                );
                None
            }
        }
    }

    /// The step's `Fanout`, its `for_each` resolved to the step output it reads (which
    /// must be one of the step's needs, directly or not: the ancestor check sees it).
    pub(super) fn resolve_fanout(
        &mut self,
        raw: &RawFanout<'_>,
        label: &str,
        site: &Site<'_, '_, '_>,
        refs: &mut Vec<StepRef>,
    ) -> Option<Box<Fanout>> {
        let param_names = site.param_names;
        let source = match &raw.source {
            RawSource::Matrix(m, spans) => {
                for ((k, axis), span) in m
                    .axes
                    .iter()
                    .filter(|(_, a)| matches!(a, Axis::Param(_)))
                    .zip(spans)
                {
                    if let Axis::Param(p) = axis
                        && !param_names.contains(&p.as_str())
                    {
                        let hint = match did_you_mean(p, param_names, "parameters") {
                            h if h.starts_with("did you mean") => h,
                            h => format!("{h}; declare it with [params.{p}] and type = \"list\""),
                        };
                        self.err(
                            span,
                            format!("`matrix.{k}` of {label} reads unknown parameter `{p}`"),
                            hint,
                        );
                    }
                }
                FanSource::Matrix(m.clone())
            }
            RawSource::ForEach(e) => {
                let t = self.step_template(e, TemplateSite::StepEnv, site, refs)?;
                match t.segments.as_slice() {
                    [TemplateSegment::Ref(TemplateRef::StepOutput { step, step_id, key })] => {
                        FanSource::ForEach {
                            step: *step,
                            step_id: step_id.clone(),
                            key: key.clone(),
                        }
                    }
                    _ => {
                        self.err(
                            &e.span,
                            format!("`for_each` of {label} is not one step output"),
                            "write for_each = \"${{ steps.ID.outputs.NAME }}\", where that output is a JSON array",
                        );
                        return None;
                    }
                }
            }
        };
        Some(Box::new(Fanout {
            source,
            max_parallel: raw.max_parallel,
            fail_fast: raw.fail_fast,
            max_instances: raw.max_instances,
        }))
    }

    /// `${{ matrix.KEY }}` and `${{ item }}` are an instance's: each must be read in a
    /// step that fans out that way, and not in its gate's prompt (asked once, before
    /// any instance).
    pub(super) fn instance_refs_ok(
        &mut self,
        e: &TextEntry<'_>,
        t: &Template,
        site: TemplateSite,
        fanout: Option<&RawFanout<'_>>,
        label: &str,
    ) -> bool {
        let mut ok = true;
        for r in t.refs() {
            let problem = match r {
                TemplateRef::Matrix(_) | TemplateRef::Item(_) if site == TemplateSite::Prompt => Some((
                    format!("the gate prompt of {label} reads `{r}`"),
                    "a fanned-out step's gate is asked once, before any instance: leave instance values out of its prompt".to_string(),
                )),
                TemplateRef::Matrix(_) | TemplateRef::Item(_) if site == TemplateSite::InputChoice => Some((
                    format!("the `{}` of an input of {label}'s gate reads `{r}`", e.key),
                    "a fanned-out step's gate is asked once, before any instance: leave instance values out of its inputs".to_string(),
                )),
                TemplateRef::Matrix(k) => match fanout.and_then(RawFanout::matrix_keys) {
                    None => Some((
                        format!("{label} reads `{r}` but has no `matrix`"),
                        format!("add matrix = {{ {k} = [\"…\"] }} to the step"),
                    )),
                    Some(keys) if !keys.contains(&k.as_str()) => Some((
                        format!("the matrix of {label} has no key `{k}`"),
                        did_you_mean(k, &keys, "matrix keys"),
                    )),
                    Some(_) => None,
                },
                TemplateRef::Item(_) => match fanout.map(|f| &f.source) {
                    Some(RawSource::ForEach(_)) => None,
                    _ => Some((
                        format!("{label} reads `{r}` but has no `for_each`"),
                        "add for_each = \"${{ steps.ID.outputs.NAME }}\" to the step".to_string(),
                    )),
                },
                _ => None,
            };
            if let Some((what, hint)) = problem {
                self.err(&e.span, what, hint);
                ok = false;
            }
        }
        ok
    }
}

/// `${{ params.NAME }}` and nothing else.
fn single_param(t: &Template) -> Option<String> {
    match t.segments.as_slice() {
        [TemplateSegment::Ref(TemplateRef::Param(p))] => Some(p.clone()),
        _ => None,
    }
}
