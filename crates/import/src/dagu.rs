//! A Dagu DAG into a baton workflow (docs/import-dagu.md). Dagu's keys are read in
//! both spellings, today's snake_case (`retry_policy`) and the camelCase of Dagu
//! before 2.0 (`retryPolicy`).
use crate::out::{Param, Schedule, Step, Workflow, step_id};
use crate::yaml::{Node, Value};
use crate::{Invalid, Report};

/// `key` in snake_case or camelCase.
fn g<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    n.get(key).or_else(|| n.get(&camel(key)))
}

fn gl(n: &Node, key: &str) -> Option<usize> {
    n.key_line(key).or_else(|| n.key_line(&camel(key)))
}

fn camel(k: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in k.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The keys of a DAG this import reads; any other is reported.
const TOP: &[&str] = &[
    "name",
    "description",
    "type",
    "params",
    "env",
    "schedule",
    "steps",
    "handler_on",
    "timeout_sec",
    "max_active_steps",
    "preconditions",
    "precondition",
    "shell",
    "dotenv",
];
const STEP: &[&str] = &[
    "name",
    "id",
    "description",
    "command",
    "script",
    "shell",
    "dir",
    "working_dir",
    "depends",
    "continue_on",
    "retry_policy",
    "repeat_policy",
    "preconditions",
    "precondition",
    "env",
    "timeout_sec",
    "approval",
    "call",
    "run",
    "type",
    "executor",
    "params",
    "parallel",
    "output",
];

fn known(key: &str, list: &[&str]) -> bool {
    list.iter().any(|k| *k == key || camel(k) == key)
}

struct Dag<'a> {
    wf: Workflow,
    report: &'a mut Report,
    /// Dagu names and ids → baton ids.
    names: Vec<(String, String)>,
    /// Steps whose skip their dependants pass over (`continue_on: skipped`).
    skip_ok: Vec<String>,
    /// `output: VAR` of a step: (step id, VAR).
    outputs: Vec<(String, String)>,
    /// Positional params (`$1`) → param names.
    positional: Vec<String>,
    /// The DAG's name as Dagu gives it (`$DAG_NAME`): its `name`, else the file's stem.
    dag_name: String,
    /// The DAG's `env` entries Dagu expands (`~`, `$VAR`): name and the shell word
    /// (`step::expand_word`) each step sets it to before its command.
    expand: Vec<(String, String)>,
    /// The same of the step being read (set after the DAG's, so they win).
    step_expand: Vec<(String, String)>,
    /// A `parallel` step's id and the ids of its one-per-item steps, which stand for
    /// it in every `needs`.
    fanned: Vec<(String, Vec<String>)>,
    /// The DAG's `shell`, each step's unless it names its own.
    shell: Option<String>,
    /// The DAG's `dotenv` files, read by each step before its command.
    dotenv: Vec<String>,
    /// Environment entries the step being read takes for its translated references.
    ref_env: Vec<(String, String)>,
    /// Steps whose `.stdout`, `.stderr` or `.exitCode` a later step reads, with the
    /// line of the first reference.
    published: Vec<(String, usize)>,
    /// `output: VAR` of a child step: (step id, VAR); `${VAR.outputs.X}` reads the
    /// child run's output X, which the step hands on (`dagu/child.rs`).
    child_outputs: Vec<(String, String)>,
}

/// The dotenv files Dagu reads: `.env` always, then those of `dotenv` (each once).
fn dotenv_files(doc: &Node) -> Vec<String> {
    let mut files = vec![".env".to_string()];
    for f in g(doc, "dotenv").map(Node::words).unwrap_or_default() {
        if !files.contains(&f) {
            files.push(f);
        }
    }
    files
}

pub(crate) fn import(docs: &[Node], stem: &str, report: &mut Report) -> Result<Workflow, Invalid> {
    let doc = &docs[0];
    for d in &docs[1..] {
        let name = d.get("name").and_then(Node::text).unwrap_or_default();
        report.note(
            d.line,
            format!("the child DAG `{name}` after `---`"),
            format!("not imported here (one file in, one out): put it in {name}.yaml and import it as {name}.toml, the file a step that runs it names"),
        );
    }
    let Some(steps) = g(doc, "steps") else {
        return Err((
            1,
            "no `steps:`".into(),
            "a Dagu DAG lists its steps under `steps:`",
        ));
    };
    let name = doc
        .get("name")
        .and_then(Node::text)
        .unwrap_or_else(|| stem.to_string());
    let mut d = Dag {
        wf: Workflow::default(),
        report,
        names: vec![],
        skip_ok: vec![],
        outputs: vec![],
        positional: vec![],
        dag_name: name.clone(),
        expand: vec![],
        step_expand: vec![],
        fanned: vec![],
        shell: g(doc, "shell").and_then(|n| n.text().or_else(|| Some(n.words().join(" ")))),
        dotenv: dotenv_files(doc),
        ref_env: vec![],
        published: vec![],
        child_outputs: vec![],
    };
    d.wf.name = step_id(&name, &[]);
    d.wf.description = doc
        .get("description")
        .and_then(Node::text)
        .or(Some(format!("Imported from the Dagu DAG \"{name}\"")));
    d.top_level(doc);
    let list: Vec<(usize, &Node)> = match &steps.v {
        Value::Seq(s) => s.iter().map(|n| (n.line, n)).collect(),
        Value::Map(m) => m.iter().map(|(_, l, n)| (*l, n)).collect(),
        _ => {
            return Err((
                steps.line,
                "`steps:` is neither a list nor a mapping".into(),
                "a list of steps, each a command or a mapping with `command`",
            ));
        }
    };
    let keyed: Vec<String> = match &steps.v {
        Value::Map(m) => m.iter().map(|(k, _, _)| k.clone()).collect(),
        _ => vec![],
    };
    // Ids first: `depends` may name a step below it.
    let taken = d.step_ids(&list, &keyed);
    let chain = d.chained(doc, &list);
    for (i, (line, s)) in list.iter().enumerate() {
        let mut steps = d.step(s, *line, &taken[i])?;
        if chain && i > 0 && steps[0].needs.is_empty() {
            steps[0].needs.push(last_of(&d.wf.steps, &taken[i - 1]));
        }
        d.wf.steps.append(&mut steps);
    }
    d.fanned_needs();
    if let Some(ids) = crate::out::cycle(&d.wf.steps) {
        let line = list
            .iter()
            .zip(&taken)
            .find(|(_, id)| **id == ids[0])
            .and_then(|((l, s), _)| gl(s, "depends").or(Some(*l)))
            .unwrap_or(1);
        return Err((
            line,
            format!(
                "the steps depend on each other in a cycle: {}",
                ids.join(" -> ")
            ),
            "Dagu refuses it too: remove one of these `depends`",
        ));
    }
    d.passed_skips();
    d.pass_outputs();
    d.publish();
    if let Some(p) = g(doc, "preconditions").or_else(|| g(doc, "precondition")) {
        d.dag_preconditions(
            p,
            gl(doc, "preconditions")
                .or(gl(doc, "precondition"))
                .unwrap_or(1),
        );
    }
    if let Some(h) = g(doc, "handler_on") {
        d.handlers(h)?;
    }
    d.params_as_env(doc);
    Ok(d.wf)
}

impl Dag<'_> {
    /// Each need of a `parallel` step as the needs of all its one-per-item steps.
    fn fanned_needs(&mut self) {
        if self.fanned.is_empty() {
            return;
        }
        for st in &mut self.wf.steps {
            let needs = std::mem::take(&mut st.needs);
            for n in needs {
                match self.fanned.iter().find(|(id, _)| *id == n) {
                    Some((_, ids)) => st.needs.extend(ids.iter().cloned()),
                    None => st.needs.push(n),
                }
            }
        }
    }
}

/// The step dependants of `id` wait for: its approval step when it has one.
fn last_of(steps: &[Step], id: &str) -> String {
    let gate = format!("{id}-approval");
    if steps.iter().any(|s| s.id == gate) {
        gate
    } else {
        id.to_string()
    }
}

fn env_name(n: &str) -> bool {
    n.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Words of a Dagu params string, quotes removed (`A=1 B="two words"`).
fn words(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (_, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Dag<'_> {
    /// The DAG's own keys: those baton has no counterpart of (noted), params, env,
    /// schedule, timeout and `max_active_steps`.
    fn top_level(&mut self, doc: &Node) {
        for (k, l, _) in doc.map().unwrap_or_default() {
            if !known(k, TOP) {
                self.report
                    .note(*l, format!("`{k}`"), "left out: baton has no counterpart");
            }
        }
        if let Some(p) = g(doc, "params") {
            self.params(p, gl(doc, "params").unwrap_or(1));
        }
        if let Some(e) = g(doc, "env") {
            let env = self.env(e);
            self.expand = expanded(&env);
            self.wf.env.extend(env);
        }
        if let Some(s) = g(doc, "schedule") {
            self.schedule(s, gl(doc, "schedule").unwrap_or(1));
        }
        if let Some(l) = gl(doc, "dotenv") {
            self.report.note(l, "`dotenv`", "each step reads the files before its command, after the DAG's `env` as Dagu appends them (later files win): `NAME=value` lines, `export ` and surrounding quotes removed, nothing in them run; a missing file is skipped; `.env` is read first, as Dagu reads it even without `dotenv`; a relative path is read from the workflow's directory (Dagu: the DAG's working directory, then its file's)");
        }
        if let Some(t) = g(doc, "timeout_sec").and_then(Node::text) {
            self.wf.timeout = Some(format!("{t}s"));
        }
        self.wf.max_parallel = g(doc, "max_active_steps")
            .and_then(Node::text)
            .and_then(|t| t.parse().ok())
            .filter(|n| *n > 0);
    }

    /// Each step's id, in order (`depends` may name a step below it), and the names
    /// that lead to it.
    fn step_ids(&mut self, list: &[(usize, &Node)], keyed: &[String]) -> Vec<String> {
        let mut taken = vec![];
        for (i, (_, s)) in list.iter().enumerate() {
            let id_src = g(s, "id").and_then(Node::text);
            let name = g(s, "name")
                .and_then(Node::text)
                .or_else(|| keyed.get(i).cloned());
            let base = id_src
                .clone()
                .or(name.clone())
                .unwrap_or_else(|| format!("step-{}", i + 1));
            let id = step_id(&base, &taken);
            taken.push(id.clone());
            for n in [id_src, name].into_iter().flatten() {
                self.names.push((n, id.clone()));
            }
        }
        taken
    }

    /// Whether the steps run as a chain (each after the one above it), from `type:`.
    fn chained(&mut self, doc: &Node, list: &[(usize, &Node)]) -> bool {
        let ty = g(doc, "type").and_then(Node::text);
        let any_depends = list.iter().any(|(_, s)| g(s, "depends").is_some());
        match ty.as_deref() {
            Some("graph") => false,
            Some("chain") => true,
            None if any_depends => {
                let l = list.iter().find_map(|(_, s)| gl(s, "depends")).unwrap_or(1);
                self.report.note(l, "no `type:` with `depends:`", "read as `type: graph`, as Dagu before 1.17 read it (today's Dagu refuses `depends` in its default `chain`)");
                false
            }
            None => true,
            Some(o) => {
                self.report.note(
                    gl(doc, "type").unwrap_or(1),
                    format!("`type: {o}`"),
                    "read as `graph`",
                );
                false
            }
        }
    }

    /// Params made optional under a schedule (noted), and handed to commands as
    /// environment variables as Dagu does (an `env` entry of the same name wins).
    fn params_as_env(&mut self, doc: &Node) {
        if !self.wf.schedules.is_empty() {
            // A scheduled run takes the defaults: a required param would refuse every slot.
            for p in self.wf.params.iter_mut().filter(|p| p.required) {
                self.report.note(
                    gl(doc, "params").unwrap_or(1),
                    format!("required param `{}` with a `schedule`", p.name),
                    "optional, empty by default: a scheduled run has only the defaults",
                );
                p.required = false;
                p.default = Some(String::new());
            }
        }
        // Dagu hands params to commands as environment variables; an `env` entry of the
        // same name is kept instead.
        let from_params: Vec<(String, String)> = self
            .wf
            .params
            .iter()
            .filter(|p| env_name(&p.name) && !self.wf.env.iter().any(|(k, _)| *k == p.name))
            .map(|p| (p.name.clone(), format!("${{{{ params.{} }}}}", p.name)))
            .collect();
        self.wf.env.splice(0..0, from_params);
    }

    fn id_of(&self, name: &str) -> Option<String> {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| id.clone())
    }

    fn param(&mut self, name: &str, default: Option<String>, line: usize) {
        let name = if let Ok(n) = name.parse::<usize>() {
            format!("arg{n}")
        } else {
            name.to_string()
        };
        if !env_name(&name) {
            self.report.note(
                line,
                format!("param `{name}`"),
                "left out: not a name baton can pass as an environment variable",
            );
            return;
        }
        // A name given twice keeps its last default, as a later entry overrides.
        self.wf.params.retain(|p| p.name != name);
        self.wf.params.push(Param {
            name,
            kind: "string",
            default: default.or(Some(String::new())),
            ..Param::default()
        });
    }

    fn params(&mut self, p: &Node, line: usize) {
        match &p.v {
            Value::Str(s) => {
                for (i, w) in words(s).into_iter().enumerate() {
                    match w.split_once('=') {
                        Some((k, v)) => self.param(k, Some(v.to_string()), line),
                        None => {
                            let n = format!("arg{}", i + 1);
                            self.positional.push(n.clone());
                            self.report.note(line, format!("positional param `{w}` ($ {})", i + 1), format!("the param `{n}` (default `{w}`), in the environment as ${n}: `${}` in a command is not replaced", i + 1));
                            self.param(&n, Some(w), line);
                        }
                    }
                }
            }
            Value::Seq(items) => {
                for it in items {
                    match &it.v {
                        Value::Map(m) => {
                            for (k, l, v) in m {
                                self.param(k, v.text(), *l);
                            }
                        }
                        _ => {
                            if let Some(t) = it.text() {
                                match t.split_once('=') {
                                    Some((k, v)) => self.param(k, Some(v.into()), it.line),
                                    None => self.param(&t, None, it.line),
                                }
                            }
                        }
                    }
                }
            }
            Value::Map(_) if p.get("properties").is_some() => {
                let required = p.get("required").map(Node::words).unwrap_or_default();
                for (k, l, prop) in p.get("properties").and_then(Node::map).unwrap_or_default() {
                    let default = prop.get("default").and_then(Node::text);
                    self.param(k, default.clone(), *l);
                    if let Some(last) = self.wf.params.last_mut().filter(|x| &x.name == k) {
                        last.required = required.contains(k) && default.is_none();
                        if last.required {
                            last.default = None;
                        }
                        last.description = prop.get("description").and_then(Node::text);
                    }
                }
                self.report.note(line, "`params:` schema", "each property is a string param: types, ranges and patterns of the schema are left out");
            }
            Value::Map(m) => {
                for (k, l, v) in m {
                    self.param(k, v.text(), *l);
                }
            }
            _ => {}
        }
    }

    /// `env` as (name, value) pairs (a value's `~` and `$VAR` each step expands:
    /// `expanded`).
    fn env(&mut self, e: &Node) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, usize, String)> = vec![];
        match &e.v {
            Value::Map(m) => pairs.extend(
                m.iter()
                    .map(|(k, l, v)| (k.clone(), *l, v.text().unwrap_or_default())),
            ),
            Value::Seq(items) => {
                for it in items {
                    match &it.v {
                        Value::Map(m) => pairs.extend(
                            m.iter()
                                .map(|(k, l, v)| (k.clone(), *l, v.text().unwrap_or_default())),
                        ),
                        _ => {
                            if let Some((k, v)) =
                                it.text().as_deref().and_then(|t| t.split_once('='))
                            {
                                pairs.push((k.into(), it.line, v.into()));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        for (k, l, v) in &pairs {
            if expands(v) && step::expand_word(v).is_some() {
                self.report.note(*l, format!("env `{k}: {v}`"), "expanded as Dagu expands it (`~` and `$VAR` only), by each step's shell before its command");
            } else if v.contains('$') || v.contains('`') {
                self.report.note(*l, format!("env `{k}: {v}`"), "the text as written: Dagu expands `$VAR` and backquotes when it loads the DAG, baton hands the value over as data");
            }
        }
        // A name given twice keeps its last value (a later entry of Dagu's list form
        // overrides an earlier one); a name the environment does not take is noted.
        let mut out: Vec<(String, String)> = vec![];
        for (k, l, v) in pairs {
            if !env_name(&k) {
                self.report.note(
                    l,
                    format!("env `{k}`"),
                    "left out: not an environment variable name",
                );
                continue;
            }
            out.retain(|(o, _)| *o != k);
            out.push((k, v));
        }
        out
    }

    fn schedule(&mut self, s: &Node, line: usize) {
        let crons: Vec<String> = match &s.v {
            Value::Map(_) => {
                for k in ["stop", "restart"] {
                    if let Some(l) = s.key_line(k) {
                        self.report.note(
                            l,
                            format!("schedule `{k}`"),
                            "left out: baton schedules starts only",
                        );
                    }
                }
                s.get("start").map(Node::words).unwrap_or_default()
            }
            _ => s.words(),
        };
        for c in crons {
            let (tz, cron) = match c
                .strip_prefix("CRON_TZ=")
                .or_else(|| c.strip_prefix("TZ="))
                .and_then(|r| r.split_once(' '))
            {
                Some((z, rest)) => (Some(z.to_string()), rest.trim().to_string()),
                None => (None, c.clone()),
            };
            if tz.is_none() {
                self.report.note(
                    line,
                    format!("schedule `{c}`"),
                    "read in UTC: Dagu reads it in the server's time zone (set `timezone`)",
                );
            }
            self.wf.schedules.push(Schedule {
                cron,
                timezone: tz.or(Some("UTC".into())),
            });
        }
    }
}

/// The entries of `env` Dagu expands, each as its shell word (`step::expand_word`).
fn expanded(env: &[(String, String)]) -> Vec<(String, String)> {
    env.iter()
        .filter(|(_, v)| expands(v))
        .filter_map(|(k, v)| Some((k.clone(), step::expand_word(v)?)))
        .collect()
}

/// Whether Dagu expands something in an `env` value: `$VAR` or a leading `~`.
fn expands(v: &str) -> bool {
    v.contains('$') || v == "~" || v.starts_with("~/")
}

mod child;
mod parallel;
mod refs;
mod repeat;
mod step;
