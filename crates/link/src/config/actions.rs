//! `[[action]]`: the operators' own commands on a key (issue 58 point 7, after k9s's
//! plugins and lazygit's custom commands). Each names a key, the scopes it acts in
//! (`run`, `step`, `gate`), and a command as an argument vector whose placeholders
//! (`{run}`, `{step}`, `{workflow}`, `{db}`) are filled one argument at a time: a value
//! is never read by a shell. `shell = true` runs the first element with `sh -c`, the
//! others (placeholders filled) as its positional parameters `"$1"`, `"$2"`…; a
//! placeholder in the script's text itself is an error, so no value is spliced into code.
//!
//! ```toml
//! [[action]]
//! key = "D"
//! scope = "step"                       # run | step | gate, or a list of them
//! description = "dashboard: open the step's Grafana board"
//! command = ["open-dashboard", "--run", "{run}", "--step", "{step}"]
//! confirm = false                      # ask first (y/n, naming the command)
//! dangerous = false                    # refused in `baton tui --readonly`; asks first
//! output = "pane"                      # pane (opens at once) | log (the action log only)
//! timeout = "60s"                      # stopped after this (SIGTERM, then SIGKILL)
//! ```
use super::{At, at, boolean, unknown};
use baton_workflow::diag::Reporter;
use baton_workflow::tree::{Entry, Node, Val};
use std::time::Duration;

/// How long an action may run unless its `timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Where an action acts: what must be selected for it to be offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A run: the one selected in the Runs or Waiting tab, else the run on screen.
    Run,
    /// A step selected in the DAG or the Timeline.
    Step,
    /// An open approval gate selected (DAG, Approvals, Waiting).
    Gate,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Run => "run",
            Scope::Step => "step",
            Scope::Gate => "gate",
        }
    }
}

/// Where an action's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// A pane opens when it starts and shows its output and exit status.
    #[default]
    Pane,
    /// Only the action log (`@`): its exit status and last lines.
    Log,
}

/// A value a placeholder stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    Run,
    Step,
    Workflow,
    Db,
}

impl Placeholder {
    const ALL: [(&'static str, Placeholder); 4] = [
        ("run", Placeholder::Run),
        ("step", Placeholder::Step),
        ("workflow", Placeholder::Workflow),
        ("db", Placeholder::Db),
    ];
}

/// One piece of an argument: text as written, or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Value(Placeholder),
}

/// One argument of a command, as written (`--run={run}` is two pieces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg(pub Vec<Piece>);

/// The values the selection gives; `None`: nothing selected gives it here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub run: Option<String>,
    pub step: Option<String>,
    pub workflow: Option<String>,
    pub db: Option<String>,
}

impl Values {
    fn get(&self, p: Placeholder) -> Option<&str> {
        match p {
            Placeholder::Run => self.run.as_deref(),
            Placeholder::Step => self.step.as_deref(),
            Placeholder::Workflow => self.workflow.as_deref(),
            Placeholder::Db => self.db.as_deref(),
        }
    }
}

/// Why an argument's braces do not parse, and where: `at` is the byte offset of the
/// brace at fault in the argument's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    pub at: usize,
    pub kind: ArgErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgErrorKind {
    /// `{name}` names no placeholder.
    Unknown(String),
    /// A `}` with no `{` before it.
    Unopened,
    /// A `{` never closed.
    Unclosed,
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ArgErrorKind::Unknown(name) => write!(f, "`{{{name}}}` is not a placeholder"),
            ArgErrorKind::Unopened => {
                f.write_str("a `}` with no `{` before it (write `}}` for a literal one)")
            }
            ArgErrorKind::Unclosed => {
                f.write_str("a `{` that is never closed (write `{{` for a literal one)")
            }
        }
    }
}

impl std::error::Error for ArgError {}

/// What an argument's hint says: the known placeholders, the nearest one first when
/// `why` names an unknown one.
pub(super) fn placeholder_hint(why: Option<&ArgErrorKind>) -> String {
    const KNOWN: &str =
        "placeholders: {run}, {step}, {workflow}, {db}; {{ and }} are literal braces";
    let near = match why {
        Some(ArgErrorKind::Unknown(name)) => {
            baton_workflow::suggest(name, Placeholder::ALL.iter().map(|(n, _)| *n))
        }
        _ => None,
    };
    match near {
        Some(n) => format!("did you mean `{{{n}}}`? {KNOWN}"),
        None => KNOWN.to_string(),
    }
}

impl Arg {
    /// Parse `{name}` placeholders; `{{` and `}}` are a literal brace. An unknown name,
    /// or a brace left open, is the error returned, with where its brace is.
    pub fn parse(text: &str) -> Result<Arg, ArgError> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            lit.push_str(&rest[..i]);
            let tail = &rest[i..];
            let at = text.len() - tail.len();
            if tail.starts_with("{{") || tail.starts_with("}}") {
                lit.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            let fail = |kind| Err(ArgError { at, kind });
            if tail.starts_with('}') {
                return fail(ArgErrorKind::Unopened);
            }
            let Some(end) = tail.find('}') else {
                return fail(ArgErrorKind::Unclosed);
            };
            let name = &tail[1..end];
            let Some((_, p)) = Placeholder::ALL.iter().find(|(n, _)| *n == name) else {
                return fail(ArgErrorKind::Unknown(name.to_string()));
            };
            if !lit.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Value(*p));
            rest = &tail[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() || pieces.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        Ok(Arg(pieces))
    }

    /// The argument with its placeholders filled; `None` when one has no value.
    pub fn fill(&self, values: &Values) -> Option<String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Value(v) => out.push_str(values.get(*v)?),
            }
        }
        Some(out)
    }

    fn placeholders(&self) -> impl Iterator<Item = Placeholder> + '_ {
        self.0.iter().filter_map(|p| match p {
            Piece::Value(v) => Some(*v),
            Piece::Text(_) => None,
        })
    }
}

/// One `[[action]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAction {
    /// Its key as written, and where.
    pub key: (String, At),
    pub scopes: Vec<Scope>,
    /// What the help says; the footer shows its words up to a `:`.
    pub description: String,
    /// The program (or, with `shell`, the script) and its arguments.
    pub command: Vec<Arg>,
    pub shell: bool,
    /// Asks first (always when `dangerous`).
    pub confirm: bool,
    pub dangerous: bool,
    pub output: Output,
    pub timeout: Duration,
    /// Where its table starts.
    pub at: At,
}

impl UserAction {
    /// The argument vector to run with `values`: each argument filled on its own, never
    /// joined into a string a shell reads; with `shell`, `sh -c SCRIPT baton-action
    /// ARG…` (the script's text has no placeholder: see [`parse`]). `None` when a
    /// placeholder has no value in this selection.
    pub fn argv(&self, values: &Values) -> Option<Vec<String>> {
        let filled = self
            .command
            .iter()
            .map(|a| a.fill(values))
            .collect::<Option<Vec<String>>>()?;
        if !self.shell {
            return Some(filled);
        }
        let mut argv = vec!["sh".to_string(), "-c".to_string()];
        let mut it = filled.into_iter();
        argv.extend(it.next());
        argv.push("baton-action".to_string());
        argv.extend(it);
        Some(argv)
    }

    /// Whether its command uses `p`.
    pub fn uses(&self, p: Placeholder) -> bool {
        self.command
            .iter()
            .flat_map(Arg::placeholders)
            .any(|q| q == p)
    }

    /// Whether every placeholder it uses has a value in `values`.
    pub fn fits(&self, values: &Values) -> bool {
        self.command
            .iter()
            .flat_map(Arg::placeholders)
            .all(|p| values.get(p).is_some())
    }
}

const KEYS: [&str; 9] = [
    "key",
    "scope",
    "description",
    "command",
    "shell",
    "confirm",
    "dangerous",
    "output",
    "timeout",
];

/// The keys an action must have, each with an example of its value.
const REQUIRED: [(&str, &str); 4] = [
    ("key", "\"D\""),
    ("scope", "\"run\", \"step\" or \"gate\""),
    ("description", "\"dashboard: open the run's board\""),
    ("command", "[\"program\", \"{run}\"]"),
];

/// `action = [...]`: every `[[action]]` table, each problem reported where it is.
pub(super) fn parse(r: &mut Reporter, e: &Entry, into: &mut Vec<UserAction>) {
    let Val::Array(items) = &e.node.val else {
        r.error(
            &e.node.span,
            format!("`action` must be tables, not {}", e.node.kind()),
            "write each action as a [[action]] table",
        );
        return;
    };
    for item in items {
        match item.entries() {
            Some(entries) => {
                if let Some(a) = one(r, item, entries) {
                    into.push(a);
                }
            }
            None => r.error(
                &item.span,
                format!("an action is a table, not {}", item.kind()),
                "write each action as a [[action]] table",
            ),
        }
    }
}

/// What one table holds so far.
#[derive(Default)]
struct Fields {
    key: Option<(String, At)>,
    scopes: Option<Vec<Scope>>,
    description: Option<String>,
    command: Option<Vec<Arg>>,
    shell: bool,
    confirm: bool,
    dangerous: bool,
    output: Output,
    timeout: Option<Duration>,
    /// The keys written, valid or not: only one not written at all is missing.
    written: Vec<String>,
}

/// One `[[action]]` table; `None` when it is not whole (each problem reported).
fn one(r: &mut Reporter, table: &Node, entries: &[Entry]) -> Option<UserAction> {
    let mut f = Fields::default();
    let mut command_at = None;
    for e in entries {
        f.written.push(e.key.to_string());
        match e.key.as_str() {
            "key" => f.key = text(r, e).map(|k| (k, at(r, &e.node.span))),
            "scope" => f.scopes = scopes(r, e),
            "description" => f.description = text(r, e),
            "command" => {
                command_at = Some(e);
                f.command = command(r, e);
            }
            "shell" => f.shell = boolean(r, e).unwrap_or(false),
            "confirm" => f.confirm = boolean(r, e).unwrap_or(false),
            "dangerous" => f.dangerous = boolean(r, e).unwrap_or(false),
            "output" => match text(r, e).as_deref() {
                Some("pane") => f.output = Output::Pane,
                Some("log") => f.output = Output::Log,
                Some(other) => r.error(
                    &e.node.span,
                    format!("`{other}` is not where an action's output goes"),
                    "write output = \"pane\" or output = \"log\"",
                ),
                None => {}
            },
            "timeout" => f.timeout = timeout(r, e),
            _ => unknown(r, e, &KEYS, "[[action]]"),
        }
    }
    if let (true, Some(e), Some(cmd)) = (f.shell, command_at, &f.command)
        && cmd
            .first()
            .is_some_and(|s| s.placeholders().next().is_some())
    {
        r.error(
            &e.node.span,
            "a placeholder in a shell script would put a value into its code",
            "pass it as an argument after the script and use \"$1\", \"$2\"…: command = [\"echo \\\"$1\\\"\", \"{run}\"]",
        );
        f.command = None;
    }
    for (key, example) in REQUIRED {
        if !f.written.iter().any(|k| k == key) {
            r.error(
                &table.span,
                format!("this [[action]] has no `{key}`"),
                format!("add {key} = {example}"),
            );
        }
    }
    Some(UserAction {
        key: f.key?,
        scopes: f.scopes?,
        description: f.description?,
        command: f.command?,
        shell: f.shell,
        confirm: f.confirm || f.dangerous,
        dangerous: f.dangerous,
        output: f.output,
        timeout: f.timeout.unwrap_or(DEFAULT_TIMEOUT),
        at: at(r, &table.span),
    })
}

/// A string that is not blank.
fn text(r: &mut Reporter, e: &Entry) -> Option<String> {
    super::string(r, e)
}

/// `scope = "step"` or `scope = ["step", "gate"]`.
fn scopes(r: &mut Reporter, e: &Entry) -> Option<Vec<Scope>> {
    let nodes: Vec<&Node> = match &e.node.val {
        Val::Str(_) => vec![&e.node],
        Val::Array(items) if !items.is_empty() => items.iter().collect(),
        _ => {
            r.error(
                &e.node.span,
                "`scope` must be \"run\", \"step\" or \"gate\", or a list of them",
                "write scope = \"step\" or scope = [\"step\", \"gate\"]",
            );
            return None;
        }
    };
    let mut out = Vec::new();
    for n in nodes {
        let Val::Str(s) = &n.val else {
            r.error(
                &n.span,
                format!("a scope is a string, not {}", n.kind()),
                "write \"run\", \"step\" or \"gate\"",
            );
            return None;
        };
        match s.as_str() {
            "run" => out.push(Scope::Run),
            "step" => out.push(Scope::Step),
            "gate" => out.push(Scope::Gate),
            _ => {
                let hint = match baton_workflow::suggest(s, SCOPES) {
                    Some(near) => {
                        format!("did you mean `{near}`? write \"run\", \"step\" or \"gate\"")
                    }
                    None => "write \"run\", \"step\" or \"gate\"".to_string(),
                };
                r.error(&n.span, format!("`{s}` is not a scope"), hint);
                return None;
            }
        }
    }
    Some(out)
}

const SCOPES: [&str; 3] = ["run", "step", "gate"];

/// `command = ["program", "arg", "{run}"]`: every element a string, placeholders known.
fn command(r: &mut Reporter, e: &Entry) -> Option<Vec<Arg>> {
    let items = match &e.node.val {
        Val::Array(items) if !items.is_empty() => items,
        Val::Str(_) => {
            r.error(
                &e.node.span,
                "`command` is a list of arguments, not a string a shell would read",
                "write command = [\"program\", \"--run\", \"{run}\"] (or shell = true and command = [\"script\", \"{run}\"])",
            );
            return None;
        }
        _ => {
            r.error(
                &e.node.span,
                "`command` must be a list of at least one argument",
                "write command = [\"program\", \"--run\", \"{run}\"]",
            );
            return None;
        }
    };
    let mut args = Vec::new();
    let mut ok = true;
    for n in items {
        let (span, why) = match &n.val {
            Val::Str(s) if !s.is_empty() || !args.is_empty() => match Arg::parse(s) {
                Ok(a) => {
                    args.push(a);
                    continue;
                }
                Err(e) => (brace_span(r, &n.span, e.at), (e.to_string(), Some(e.kind))),
            },
            Val::Str(_) => (n.span.clone(), ("the program is empty".to_string(), None)),
            _ => (
                n.span.clone(),
                (format!("an argument is a string, not {}", n.kind()), None),
            ),
        };
        ok = false;
        r.error(&span, why.0, placeholder_hint(why.1.as_ref()));
    }
    ok.then_some(args)
}

/// Where the brace at byte `at` of a string's value is in the file: its own place when
/// the string is a basic one written without escapes (its value is then its text
/// between the quotes), else the string's.
fn brace_span(r: &Reporter, span: &std::ops::Range<usize>, at: usize) -> std::ops::Range<usize> {
    let plain = r.map.text(span).is_some_and(|t| {
        t.len() >= 2
            && t.starts_with('"')
            && t.ends_with('"')
            && !t.starts_with("\"\"\"")
            && !t.contains('\\')
            && at < t.len() - 2
    });
    if plain {
        let start = span.start + 1 + at;
        start..start + 1
    } else {
        span.clone()
    }
}

fn timeout(r: &mut Reporter, e: &Entry) -> Option<Duration> {
    let s = text(r, e)?;
    match baton_workflow::parse_duration(&s) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            r.error(
                &e.node.span,
                "an action's timeout must be longer than 0",
                "write timeout = \"30s\"",
            );
            None
        }
        Err(why) => {
            r.error(&e.node.span, why.to_string(), "write timeout = \"30s\"");
            None
        }
    }
}

#[cfg(test)]
mod tests;
