//! The baton workflow an import builds, and its TOML text. Every value is written as a
//! TOML string or array by `toml` itself, so nothing from the source can break the file.
use std::fmt::Write;

#[derive(Debug, Default)]
pub(crate) struct Workflow {
    pub name: String,
    pub description: Option<String>,
    pub timeout: Option<String>,
    pub max_parallel: Option<u64>,
    pub params: Vec<Param>,
    pub env: Vec<(String, String)>,
    pub secrets: Vec<String>,
    /// `group`, `on_conflict`.
    pub concurrency: Option<(String, String)>,
    pub steps: Vec<Step>,
    pub schedules: Vec<Schedule>,
    /// `[pools.NAME]` and its `capacity`.
    pub pools: Vec<(String, u64)>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Param {
    pub name: String,
    pub kind: &'static str,
    pub values: Vec<String>,
    pub default: Option<String>,
    pub required: bool,
    pub description: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Schedule {
    pub cron: String,
    pub timezone: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Gate {
    pub prompt: String,
    /// `name`, required.
    pub inputs: Vec<(String, bool)>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Step {
    /// Comment lines above the step (where it came from).
    pub comments: Vec<String>,
    pub id: String,
    pub run: Option<String>,
    /// A child workflow's file (`workflow = "…"`) and its `params`.
    pub workflow: Option<(String, Vec<(String, String)>)>,
    /// A tool (`builtin.fail`) and its `with`.
    pub uses: Option<(String, Vec<(String, String)>)>,
    pub needs: Vec<String>,
    pub when: Option<&'static str>,
    pub cond: Option<String>,
    /// `true`, or a `${{ condition }}`.
    pub allow_failure: Option<String>,
    /// With `allow_failure`: the failed step reads `succeeded` (Dagu's markSuccess).
    pub mark_success: bool,
    /// `on_cancel = true`: it runs once the run is cancelled (Dagu's handler_on.abort).
    pub on_cancel: bool,
    /// `repeat = { … }`, the table's inside.
    pub repeat: Option<String>,
    pub env: Vec<(String, String)>,
    pub timeout: Option<String>,
    /// attempts, backoff, delay, and the rest of the table (`, max_delay = "…"`,
    /// `, exit_code = [75]`), written as it goes
    pub retry: Option<(u64, &'static str, String, String)>,
    pub outputs: Vec<String>,
    pub gate: Option<Gate>,
    /// Axes (name, values or a `${{ params.X }}` text), include, exclude.
    pub matrix: Option<Matrix>,
    pub max_parallel: Option<u64>,
    pub fail_fast: Option<bool>,
    /// `for_each = "${{ steps.ID.outputs.NAME }}"`: one instance per item.
    pub for_each: Option<String>,
    /// `pool = "NAME"`.
    pub pool: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Matrix {
    pub axes: Vec<(String, Axis)>,
    pub include: Vec<Vec<(String, Scalar)>>,
    pub exclude: Vec<Vec<(String, Scalar)>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Axis {
    Values(Vec<Scalar>),
    Param(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// A line of a TOML comment: no control character (TOML refuses them there).
fn comment(l: &str) -> String {
    l.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

/// `s` as a TOML string.
pub(crate) fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A bare key, or a quoted one when it is not bare.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        q(k)
    }
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
    )
}

fn table(kv: &[(String, String)]) -> String {
    let parts: Vec<String> = kv
        .iter()
        .map(|(k, v)| format!("{} = {}", key(k), q(v)))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

fn scalar(s: &Scalar) -> String {
    match s {
        Scalar::Str(t) => q(t),
        Scalar::Int(i) => i.to_string(),
        Scalar::Bool(b) => b.to_string(),
    }
}

fn combo(c: &[(String, Scalar)]) -> String {
    let parts: Vec<String> = c
        .iter()
        .map(|(k, v)| format!("{} = {}", key(k), scalar(v)))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

/// A multi-line command as a literal block when it can be one (no `'''` in it).
fn text_block(s: &str) -> String {
    if s.contains('\n') && !s.contains("'''") && !s.contains('\r') {
        format!("'''\n{s}'''")
    } else {
        q(s)
    }
}

impl Workflow {
    /// The file: `header` lines as comments first.
    pub(crate) fn to_toml(&self, header: &[String]) -> String {
        let mut o = String::new();
        for h in header {
            if h.is_empty() {
                let _ = writeln!(o, "#");
            }
            for l in h.lines() {
                let _ = writeln!(o, "# {}", comment(l));
            }
        }
        let _ = writeln!(o, "name = {}", q(&self.name));
        if let Some(d) = &self.description {
            let _ = writeln!(o, "description = {}", q(d));
        }
        if let Some(t) = &self.timeout {
            let _ = writeln!(o, "timeout = {}", q(t));
        }
        if let Some(m) = self.max_parallel {
            let _ = writeln!(o, "max_parallel = {m}");
        }
        if !self.secrets.is_empty() {
            let _ = writeln!(o, "secrets = {}", list(&self.secrets));
        }
        if let Some((g, c)) = &self.concurrency {
            let _ = writeln!(
                o,
                "concurrency = {{ group = {}, on_conflict = {} }}",
                q(g),
                q(c)
            );
        }
        for p in &self.params {
            let _ = writeln!(o, "\n[params.{}]", key(&p.name));
            let _ = writeln!(o, "type = {}", q(p.kind));
            if !p.values.is_empty() {
                let _ = writeln!(o, "values = {}", list(&p.values));
            }
            if p.required {
                let _ = writeln!(o, "required = true");
            }
            if let Some(d) = &p.default {
                let v = match p.kind {
                    "bool" if d == "true" || d == "false" => d.clone(),
                    "int" if d.parse::<i64>().is_ok() => d.clone(),
                    _ => q(d),
                };
                let _ = writeln!(o, "default = {v}");
            }
            if let Some(d) = &p.description {
                let _ = writeln!(o, "description = {}", q(d));
            }
        }
        if !self.env.is_empty() {
            let _ = writeln!(o, "\n[env]");
            for (k, v) in &self.env {
                let _ = writeln!(o, "{} = {}", key(k), q(v));
            }
        }
        for (name, capacity) in &self.pools {
            let _ = writeln!(o, "\n[pools.{}]\ncapacity = {capacity}", key(name));
        }
        for s in &self.schedules {
            let _ = writeln!(o, "\n[[schedule]]\ncron = {}", q(&s.cron));
            if let Some(z) = &s.timezone {
                let _ = writeln!(o, "timezone = {}", q(z));
            }
        }
        for s in &self.steps {
            s.write(&mut o);
        }
        o
    }
}

impl Step {
    /// `allow_failure` (with its `state`), `on_cancel` and `repeat`.
    fn write_rules(&self, o: &mut String) {
        if let Some(a) = &self.allow_failure {
            let v = if a == "true" { a.clone() } else { q(a) };
            if self.mark_success {
                let when = if a == "true" {
                    String::new()
                } else {
                    format!(", if = {v}")
                };
                let _ = writeln!(o, "allow_failure = {{ state = \"succeeded\"{when} }}");
            } else {
                let _ = writeln!(o, "allow_failure = {v}");
            }
        }
        if self.on_cancel {
            let _ = writeln!(o, "on_cancel = true");
        }
        if let Some(r) = &self.repeat {
            let _ = writeln!(o, "repeat = {{ {r} }}");
        }
    }

    fn write(&self, o: &mut String) {
        let _ = writeln!(o);
        for c in &self.comments {
            for l in c.lines() {
                let _ = writeln!(o, "# {}", comment(l));
            }
        }
        let _ = writeln!(o, "[[step]]\nid = {}", q(&self.id));
        if !self.needs.is_empty() {
            let _ = writeln!(o, "needs = {}", list(&self.needs));
        }
        if let Some(w) = self.when {
            let _ = writeln!(o, "when = {}", q(w));
        }
        if let Some(c) = &self.cond {
            let _ = writeln!(o, "if = {}", q(c));
        }
        self.write_rules(o);
        if let Some(t) = &self.timeout {
            let _ = writeln!(o, "timeout = {}", q(t));
        }
        if let Some((n, b, d, rest)) = &self.retry {
            let r = format!("{{ attempts = {n}, backoff = {}, delay = {}", q(b), q(d));
            let _ = writeln!(o, "retry = {r}{rest} }}");
        }
        if let Some(m) = &self.matrix {
            let mut parts: Vec<String> = m
                .axes
                .iter()
                .map(|(k, a)| match a {
                    Axis::Values(v) => format!(
                        "{} = [{}]",
                        key(k),
                        v.iter().map(scalar).collect::<Vec<_>>().join(", ")
                    ),
                    Axis::Param(p) => {
                        format!("{} = {}", key(k), q(&format!("${{{{ params.{p} }}}}")))
                    }
                })
                .collect();
            for (name, set) in [("include", &m.include), ("exclude", &m.exclude)] {
                if !set.is_empty() {
                    let c: Vec<String> = set.iter().map(|c| combo(c)).collect();
                    parts.push(format!("{name} = [{}]", c.join(", ")));
                }
            }
            let _ = writeln!(o, "matrix = {{ {} }}", parts.join(", "));
        }
        if let Some(m) = self.max_parallel {
            let _ = writeln!(o, "max_parallel = {m}");
        }
        if let Some(f) = &self.for_each {
            let _ = writeln!(o, "for_each = {}", q(f));
        }
        if let Some(p) = &self.pool {
            let _ = writeln!(o, "pool = {}", q(p));
        }
        if let Some(f) = self.fail_fast {
            let _ = writeln!(o, "fail_fast = {f}");
        }
        if !self.env.is_empty() {
            let _ = writeln!(o, "env = {}", table(&self.env));
        }
        if !self.outputs.is_empty() {
            let parts: Vec<String> = self
                .outputs
                .iter()
                .map(|k| format!("{} = {{}}", key(k)))
                .collect();
            let _ = writeln!(o, "outputs = {{ {} }}", parts.join(", "));
        }
        if let Some((tool, with)) = &self.uses {
            let _ = writeln!(o, "uses = {}", q(tool));
            if !with.is_empty() {
                let _ = writeln!(o, "with = {}", table(with));
            }
        }
        if let Some(g) = &self.gate {
            let mut s = format!("gate = {{ prompt = {}", q(&g.prompt));
            if !g.inputs.is_empty() {
                let ins: Vec<String> = g
                    .inputs
                    .iter()
                    .map(|(n, r)| format!("{} = {{ type = \"string\", required = {r} }}", key(n)))
                    .collect();
                let _ = write!(s, ", inputs = {{ {} }}", ins.join(", "));
            }
            let _ = writeln!(o, "{s} }}");
        }
        if let Some(r) = &self.run {
            let _ = writeln!(o, "run = {}", text_block(r));
        }
        if let Some((file, params)) = &self.workflow {
            let _ = writeln!(o, "workflow = {}", q(file));
            if !params.is_empty() {
                let _ = writeln!(o, "params = {}", table(params));
            }
        }
    }
}

/// A valid step id from a source name: lower case, `[a-z0-9_-]`, at most 64, unique
/// among `taken` (a suffix `-2`, `-3`, … when not).
pub(crate) fn step_id(name: &str, taken: &[String]) -> String {
    let mut id: String = name
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while id.contains("--") {
        id = id.replace("--", "-");
    }
    let mut id = id.trim_matches('-').chars().take(56).collect::<String>();
    if id.is_empty() {
        id = "step".into();
    }
    let mut n = 1;
    let mut out = id.clone();
    while taken.contains(&out) {
        n += 1;
        out = format!("{id}-{n}");
    }
    out
}

/// `s` quoted for `sh` as one word: `'…'`, a quote inside as `'\''`.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A cycle of `needs` among `steps`, as the ids along it (the first again at the end),
/// or `None`: the tools refuse such a file, and so does baton.
pub(crate) fn cycle(steps: &[Step]) -> Option<Vec<String>> {
    // 0: not seen, 1: on the current path, 2: done.
    fn visit(
        i: usize,
        steps: &[Step],
        mark: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<String>> {
        mark[i] = 1;
        path.push(i);
        for n in &steps[i].needs {
            let Some(j) = steps.iter().position(|s| &s.id == n) else {
                continue;
            };
            if mark[j] == 1 {
                let from = path.iter().position(|&p| p == j).unwrap_or(0);
                let mut ids: Vec<String> =
                    path[from..].iter().map(|&p| steps[p].id.clone()).collect();
                ids.push(steps[j].id.clone());
                return Some(ids);
            }
            if mark[j] == 0
                && let Some(c) = visit(j, steps, mark, path)
            {
                return Some(c);
            }
        }
        path.pop();
        mark[i] = 2;
        None
    }
    let mut mark = vec![0u8; steps.len()];
    (0..steps.len()).find_map(|i| {
        if mark[i] == 0 {
            visit(i, steps, &mut mark, &mut vec![])
        } else {
            None
        }
    })
}

/// Where a shell script's text stands after some of it: outside quotes, in '…' or
/// in "…" (a `#` comment's quotes do not count).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quote {
    None,
    Single,
    Double,
}

impl Quote {
    pub(crate) fn after(self, text: &str) -> Quote {
        let mut q = self;
        let mut chars = text.chars().peekable();
        let mut word_start = true;
        while let Some(ch) = chars.next() {
            match (q, ch) {
                (Quote::None, '#') if word_start => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                (Quote::None | Quote::Double, '\\') => {
                    chars.next();
                }
                (Quote::None, '\'') => q = Quote::Single,
                (Quote::None, '"') => q = Quote::Double,
                (Quote::Single, '\'') | (Quote::Double, '"') => q = Quote::None,
                _ => {}
            }
            word_start = ch.is_whitespace() || matches!(ch, ';' | '(' | '|' | '&');
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_unique() {
        let taken = vec!["copy-tab_1".to_string()];
        assert_eq!(step_id("Copy TAB_1", &taken), "copy-tab_1-2");
        assert_eq!(step_id("  ", &[]), "step");
        assert_eq!(step_id("Build & verify", &[]), "build-verify");
    }

    #[test]
    fn a_quote_cannot_leave_its_word() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
    }
}
