//! `[secrets]` as a table: where each secret is read (baton's environment, a file, a
//! systemd credential, a command), and each step's `secrets = [...]`, the ones it gets.
//! A value is read by the engine when a step that uses it starts (`exec::secrets`),
//! never at load, and is never part of the plan. `secrets = ["NAME"]` (a list) is the
//! older form: names read from baton's environment, which every step gets.
use super::diag::{Reporter, did_you_mean};
use super::plan::{Action, Step};
use super::template::is_name;
use super::tree::{Entry, Node, Span, Val};
use super::units::parse_duration;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a secret's `command` may run unless its `timeout` says otherwise.
pub const SECRET_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a secret may hold (a file's bytes, a command's output): a value is an
/// environment variable's, and the kernel takes no more than 128 KiB for one.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

pub(crate) const FIELDS: &[&str] = &[
    "env",
    "file",
    "credential",
    "command",
    "timeout",
    "first_line",
];
const SOURCES: [&str; 4] = ["env", "file", "credential", "command"];
const SOURCE_HINT: &str = "give it one source: env = \"VAR\", file = \"/run/secrets/db\", credential = \"db\" (systemd's $CREDENTIALS_DIRECTORY/db) or command = [\"pass\", \"show\", \"prod/db\"]";

/// One `[secrets]` entry: the environment variable a step gets, and where its value is
/// read when the step starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    pub name: String,
    pub source: SecretSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SecretSource {
    /// `env = "VAR"`: baton's own environment variable `VAR`.
    Env(String),
    /// `file = "PATH"`: the file's content (a relative path is made absolute against
    /// the workflow's directory at load), one trailing newline removed.
    File(PathBuf),
    /// `credential = "ID"`: `$CREDENTIALS_DIRECTORY/ID`, where systemd's
    /// `LoadCredential=ID:PATH` (or `SetCredential=`, `ImportCredential=`) puts it for
    /// the service baton runs in; read as a file.
    Credential(String),
    /// `command = ["ARG0", …]`: run without a shell, its standard output the value.
    Command {
        argv: Vec<String>,
        timeout: Duration,
        /// `first_line = true`: the value is the output's first line (what `pass show`
        /// prints first is the password; later lines are notes); else the whole
        /// output, one trailing newline removed.
        first_line: bool,
    },
}

impl SecretSource {
    /// `env`, `file`, `credential` or `command`.
    pub fn kind(&self) -> &'static str {
        match self {
            SecretSource::Env(_) => "env",
            SecretSource::File(_) => "file",
            SecretSource::Credential(_) => "credential",
            SecretSource::Command { .. } => "command",
        }
    }

    /// The variable of baton's environment it is read from (`env = "VAR"`), if any.
    pub fn env_var(&self) -> Option<&str> {
        match self {
            SecretSource::Env(var) => Some(var),
            _ => None,
        }
    }

    /// Where it is read, as `plan` and an error record say it (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(v) => format!("env ${v}"),
            SecretSource::File(p) => format!("file {}", p.display()),
            SecretSource::Credential(id) => format!("credential {id}"),
            SecretSource::Command { argv, .. } => format!("command `{}`", argv.join(" ")),
        }
    }
}

impl super::plan::Plan {
    /// The `[secrets]` entries step `i` names, read when it starts; empty for a step
    /// that names none (or only names of the older list, which it inherits).
    pub fn secrets_of(&self, i: usize) -> Vec<&Secret> {
        let Some(step) = self.steps.get(i) else {
            return Vec::new();
        };
        step.secrets
            .iter()
            .filter_map(|n| self.secret_sources.iter().find(|s| &s.name == n))
            .collect()
    }
}

/// systemd's directory of the credentials of the service baton runs in: a step is
/// given one by naming its `[secrets]` entry, not the directory of them all.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

impl super::plan::Plan {
    /// Baton's own variables step `i` must not inherit, on any executor: the source
    /// variable of each `env` entry of `[secrets]` it does not name, and
    /// `$CREDENTIALS_DIRECTORY` unless it names a `credential` entry (a child-run step
    /// that does hands it to its child's engine, which reads its own from there).
    /// Otherwise a step naming no secret could print one unmasked.
    pub fn withheld_of(&self, i: usize) -> Vec<String> {
        let named: Vec<&str> = self
            .steps
            .get(i)
            .map(|s| s.secrets.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let (mine, others): (Vec<&Secret>, Vec<&Secret>) = self
            .secret_sources
            .iter()
            .partition(|s| named.contains(&s.name.as_str()));
        let env_of = |s: &&Secret| s.source.env_var().map(str::to_string);
        // A variable a named entry also reads is this step's secret too.
        let kept: Vec<String> = mine.iter().filter_map(env_of).collect();
        let mut out: Vec<String> = Vec::new();
        for var in others.iter().filter_map(env_of) {
            if !kept.contains(&var) && !out.contains(&var) {
                out.push(var);
            }
        }
        let credential = mine
            .iter()
            .any(|s| matches!(s.source, SecretSource::Credential(_)));
        if !credential {
            out.push(CREDENTIALS_DIRECTORY.to_string());
        }
        out
    }
}

/// A systemd credential's name: a file name (`credential_name_valid`): not empty, no
/// `/`, not `.` or `..`, at most 255 bytes.
pub(crate) fn is_credential_name(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && !id.contains(['/', '\0']) && id != "." && id != ".."
}

pub(crate) struct SecretReader<'r, 's> {
    pub r: &'r mut Reporter<'s>,
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    entries.iter().find(|e| e.key == key).map(|e| &e.node)
}

impl SecretReader<'_, '_> {
    /// `[secrets]` written as a table: one [`Secret`] per entry.
    pub(crate) fn table(&mut self, entries: &[Entry], base_dir: &Path) -> Vec<Secret> {
        let mut out = Vec::new();
        for e in entries {
            if !is_name(&e.key, false) {
                self.r.error(
                    &e.key_span,
                    format!("secret `{}` is not a valid environment variable name", e.key),
                    "name it as the step's environment variable: letters, digits and underscores, not starting with a digit (e.g. DB_PASSWORD)",
                );
            }
            if let Some(source) = self.entry(&e.key, &e.key_span, &e.node, base_dir) {
                out.push(Secret {
                    name: e.key.to_string(),
                    source,
                });
            }
        }
        out
    }

    pub(crate) fn entry(
        &mut self,
        name: &str,
        key_span: &Span,
        n: &Node,
        base_dir: &Path,
    ) -> Option<SecretSource> {
        let Some(fields) = n.entries() else {
            let hint = match &n.val {
                Val::Str(s) if s.starts_with('/') => format!("write {name} = {{ file = \"{s}\" }}"),
                Val::Str(s) if is_name(s, false) => format!("write {name} = {{ env = \"{s}\" }}"),
                Val::Array(_) => format!("write {name} = {{ command = [\"…\", \"…\"] }}"),
                _ => format!("write {name} = {{ … }}: {SOURCE_HINT}"),
            };
            self.r.error(
                &n.span,
                format!("secret `{name}` must be a table, found {}", n.kind()),
                hint,
            );
            return None;
        };
        for e in fields {
            if !FIELDS.contains(&e.key.as_str()) {
                self.r.error(
                    &e.key_span,
                    format!("unknown field `{}` in secret `{name}`", e.key),
                    did_you_mean(&e.key, FIELDS, "allowed fields"),
                );
            }
        }
        let given: Vec<&Entry> = fields
            .iter()
            .filter(|e| SOURCES.contains(&e.key.as_str()))
            .collect();
        let (e, rest) = match given.split_first() {
            Some(x) => x,
            None => {
                self.r.error(
                    key_span,
                    format!("secret `{name}` says nowhere to read it"),
                    SOURCE_HINT,
                );
                return None;
            }
        };
        if let Some(second) = rest.first() {
            self.r.error(
                &second.key_span,
                format!("secret `{name}` has both `{}` and `{}`", e.key, second.key),
                "a secret is read from one place: keep one of env, file, credential or command",
            );
            return None;
        }
        let is_command = e.key == "command";
        for key in ["timeout", "first_line"] {
            if let (Some(n), false) = (get(fields, key), is_command) {
                self.r.error(
                    &n.span,
                    format!(
                        "`{key}` of secret `{name}` has no effect: it is read from its {}",
                        e.key
                    ),
                    format!("`{key}` belongs to a secret read by a `command`; remove it"),
                );
            }
        }
        let what = format!("`{}` of secret `{name}`", e.key);
        match e.key.as_str() {
            "env" => {
                let v = self.text(&e.node, &what, "env = \"API_TOKEN\"")?;
                if !is_name(v, false) {
                    self.r.error(
                        &e.node.span,
                        format!("{what}: `{v}` is not an environment variable name"),
                        "name the variable of baton's environment that holds it, e.g. env = \"API_TOKEN\"",
                    );
                    return None;
                }
                Some(SecretSource::Env(v.to_string()))
            }
            "file" => self.file(&e.node, &what, base_dir),
            "credential" => {
                let v = self.text(&e.node, &what, "credential = \"db\"")?;
                if !is_credential_name(v) {
                    self.r.error(
                        &e.node.span,
                        format!("{what}: `{v}` is not a credential's name"),
                        "name it as systemd's LoadCredential=ID:PATH names it (ID, a file name without `/`): baton reads $CREDENTIALS_DIRECTORY/ID",
                    );
                    return None;
                }
                Some(SecretSource::Credential(v.to_string()))
            }
            _ => self.command(&e.node, fields, &what),
        }
    }

    fn file(&mut self, n: &Node, what: &str, base_dir: &Path) -> Option<SecretSource> {
        let v = self.text(n, what, "file = \"/run/secrets/db\"")?;
        if let Some(id) = v.strip_prefix("$CREDENTIALS_DIRECTORY/") {
            self.r.error(
                &n.span,
                format!("{what}: `{v}` is not expanded"),
                format!("a systemd credential is named by its id: write credential = \"{id}\""),
            );
            return None;
        }
        if v.contains("${{") {
            self.r.error(
                &n.span,
                format!("{what} holds a template"),
                "a secret's file is a literal path (absolute, or relative to the workflow's directory)",
            );
            return None;
        }
        Some(SecretSource::File(base_dir.join(v)))
    }

    fn command(&mut self, n: &Node, fields: &[Entry], what: &str) -> Option<SecretSource> {
        let argv: Vec<String> = match &n.val {
            Val::Array(items) if !items.is_empty() => {
                let mut argv = Vec::new();
                for item in items {
                    match &item.val {
                        Val::Str(s) if !(s.contains('\0') || argv.is_empty() && s.is_empty()) => {
                            argv.push(s.to_string());
                        }
                        _ => {
                            self.r.error(
                                &item.span,
                                format!("each argument of {what} must be text (the first not empty)"),
                                "write the program and its arguments, e.g. command = [\"pass\", \"show\", \"prod/db\"]",
                            );
                            return None;
                        }
                    }
                }
                argv
            }
            Val::Str(s) => {
                let words: Vec<String> = s.split_whitespace().map(|w| format!("\"{w}\"")).collect();
                self.r.error(
                    &n.span,
                    format!("{what} must be an argument vector, found a string"),
                    format!(
                        "a secret's command is never run by a shell: write command = [{}]",
                        words.join(", ")
                    ),
                );
                return None;
            }
            _ => {
                self.r.error(
                    &n.span,
                    format!(
                        "{what} must be a non-empty array of strings, found {}",
                        n.kind()
                    ),
                    "write command = [\"pass\", \"show\", \"prod/db\"]",
                );
                return None;
            }
        };
        let timeout = match get(fields, "timeout") {
            None => SECRET_TIMEOUT,
            Some(t) => {
                let d = match &t.val {
                    Val::Str(s) => parse_duration(s).ok().filter(|d| !d.is_zero()),
                    _ => None,
                };
                let Some(d) = d else {
                    self.r.error(
                        &t.span,
                        format!("`timeout` of {what} must be a duration above zero"),
                        "write it as a duration, e.g. timeout = \"10s\" (the default is 30s)",
                    );
                    return None;
                };
                d
            }
        };
        let first_line = match get(fields, "first_line").map(|n| (n, &n.val)) {
            None => false,
            Some((_, Val::Bool(b))) => *b,
            Some((n, _)) => {
                self.r.error(
                    &n.span,
                    format!("`first_line` of {what} must be a boolean, found {}", n.kind()),
                    "write first_line = true (the output's first line is the value, as `pass show` prints a password first)",
                );
                return None;
            }
        };
        Some(SecretSource::Command {
            argv,
            timeout,
            first_line,
        })
    }

    fn text<'n>(&mut self, n: &'n Node, what: &str, example: &str) -> Option<&'n str> {
        match &n.val {
            Val::Str(s) if !s.is_empty() && !s.contains('\0') => Some(s.as_str()),
            _ => {
                self.r.error(
                    &n.span,
                    format!("{what} must be non-empty text, found {}", n.kind()),
                    format!("write it as {example}"),
                );
                None
            }
        }
    }

    /// Each `[[step]]` table's `secrets = ["NAME"]` into `steps[i].secrets`: names
    /// declared, as the older list's names or `[secrets]` entries.
    pub(crate) fn apply(
        &mut self,
        top: &[Entry],
        steps: &mut [Step],
        (list, table): &(Vec<String>, Vec<Secret>),
    ) {
        // Every entry written is declared, a malformed one too: its own error says
        // what is wrong, not each step naming it.
        let written = get(top, "secrets")
            .and_then(Node::entries)
            .unwrap_or_default();
        let declared: Vec<&str> = list
            .iter()
            .map(String::as_str)
            .chain(table.iter().map(|s| s.name.as_str()))
            .chain(written.iter().map(|e| e.key.as_str()))
            .collect();
        let declared = declared.as_slice();
        let Some(Val::Array(items)) = get(top, "step").map(|n| &n.val) else {
            return;
        };
        let tables = items.iter().filter_map(Node::entries);
        for (fields, step) in tables.zip(steps.iter_mut()) {
            let Some(n) = get(fields, "secrets") else {
                continue;
            };
            let label = format!("`secrets` of step `{}`", step.id);
            let Val::Array(names) = &n.val else {
                self.r.error(
                    &n.span,
                    format!("{label} must be an array of strings, found {}", n.kind()),
                    "name the secrets the step gets, e.g. secrets = [\"DB_PASSWORD\"]",
                );
                continue;
            };
            if matches!(step.action, Action::Builtin(_) | Action::None) {
                self.r.error(
                    &n.span,
                    format!("{label} has no effect: the step runs no command"),
                    "a secret reaches a step's process in its environment: give it to a step with `run` or a tool's `uses`, or remove `secrets`",
                );
                continue;
            }
            for item in names {
                let Val::Str(s) = &item.val else {
                    self.r.error(
                        &item.span,
                        format!(
                            "each entry of {label} must be a string, found {}",
                            item.kind()
                        ),
                        "name a secret of [secrets], e.g. secrets = [\"DB_PASSWORD\"]",
                    );
                    continue;
                };
                if !declared.contains(&s.as_str()) {
                    let hint = if declared.is_empty() {
                        format!(
                            "declare it: [secrets] {s} = {{ file = \"/run/secrets/…\" }} (or env, credential, command)"
                        )
                    } else {
                        did_you_mean(s, declared, "secrets")
                    };
                    self.r.error(
                        &item.span,
                        format!(
                            "step `{}` uses secret `{s}`, which [secrets] does not declare",
                            step.id
                        ),
                        hint,
                    );
                } else if !step.secrets.iter().any(|x| x == s.as_str()) {
                    step.secrets.push(s.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
