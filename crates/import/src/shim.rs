//! A GitHub job's steps as one `sh` script: each `run:` step runs in its own shell
//! process from a file, as the runner does, in order; a failed step skips the steps
//! after it that do not say `if: always()`/`failure()`, and sets the job's exit code.
//! `$GITHUB_ENV`, `$GITHUB_PATH` and `$GITHUB_OUTPUT` work across the steps. Every text
//! from the source (a body, a directory, an action's name) enters the script quoted
//! as one word by `sh_quote`: nothing in it is read as shell code but what the source
//! meant to run.
use crate::out::sh_quote;

/// When a step of a job runs, from its `if:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// No failure before it (GitHub's implied `success()`).
    Success,
    /// `failure()`: a step before it failed.
    Failure,
    /// `always()`: whatever happened before.
    Always,
    /// Never (`cancelled()`, or an `if` baton cannot decide in a script).
    Never,
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// A `run:` body and the shell command line (`{0}` the script's path).
    Run { body: String, shell: String },
    /// A comment: a step with nothing to do here (checkout, setup-*).
    Nothing(String),
    /// An action baton cannot run: the step fails with this message.
    Fail(String),
}

/// Where a step's variable comes from.
#[derive(Debug, Clone)]
pub(crate) enum EnvFrom {
    /// A variable of the baton step's `env` (set from a template).
    Var(String),
    /// What an earlier step of the job (its `id`) wrote to `$GITHUB_OUTPUT` as `KEY`.
    Output(String, String),
}

/// A shell word reading what step `id` wrote to `$GITHUB_OUTPUT` as `key` (the last
/// such line), as data.
pub(crate) fn output_word(id: &str, key: &str) -> String {
    format!(
        "\"$(sed -n {} \"$gh/out-{}\" 2>/dev/null | tail -n 1)\"",
        sh_quote(&format!("s/^{}=//p", sed_word(key))),
        file_part(id)
    )
}

#[derive(Debug, Clone)]
pub(crate) struct ShimStep {
    /// `N: name (LINE)`, a comment.
    pub title: String,
    pub id: Option<String>,
    pub guard: Guard,
    /// A shell test the step's `if` adds to its guard.
    pub test: Option<String>,
    pub action: Action,
    pub dir: Option<String>,
    /// `NAME` and where its value comes from.
    pub env: Vec<(String, EnvFrom)>,
    pub continue_on_error: bool,
    pub timeout_min: Option<u64>,
}

/// `shell:` as GitHub reads it: the command line with `{0}` for the script file.
pub(crate) fn shell_line(shell: Option<&str>) -> String {
    match shell.map(str::trim) {
        None | Some("") => "bash -e {0}".into(),
        Some("bash") => "bash --noprofile --norc -eo pipefail {0}".into(),
        Some("sh") => "sh -e {0}".into(),
        Some("python") => "python {0}".into(),
        Some("pwsh") => "pwsh -command \". '{0}'\"".into(),
        Some(custom) if custom.contains("{0}") => custom.into(),
        Some(custom) => format!("{custom} {{0}}"),
    }
}

const PRELUDE: &str = r#"gh=$(mktemp -d) || exit 1
trap 'rm -rf "$gh"' EXIT
export GITHUB_ENV="$gh/env" GITHUB_PATH="$gh/path" GITHUB_STEP_SUMMARY="$gh/summary" GITHUB_WORKSPACE="$PWD" RUNNER_TEMP="$gh" CI=true
: > "$gh/env"; : > "$gh/path"
# What a step appended to $GITHUB_ENV and $GITHUB_PATH reaches the steps after it
# (as data: `export "NAME=value"` never runs the value).
carry() {
  while IFS= read -r l; do case $l in *'<<'*) ;; [A-Za-z_]*=*) export "$l" ;; esac; done < "$gh/env"
  while IFS= read -r p; do [ -n "$p" ] && PATH="$p:$PATH"; done < "$gh/path"
  : > "$gh/env"; : > "$gh/path"
}
# Text compared as GitHub compares it, ignoring case.
lc() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }
rc=0
"#;

/// The script; `outputs`: the job's outputs as (name, step id, step output).
pub(crate) fn script(steps: &[ShimStep], outputs: &[(String, String, String)]) -> String {
    let mut s = String::from(PRELUDE);
    for (n, st) in steps.iter().enumerate() {
        s.push_str(&format!("# step {}\n", defuse(&st.title)));
        let test = match st.guard {
            Guard::Success => "[ \"$rc\" -eq 0 ]",
            Guard::Failure => "[ \"$rc\" -ne 0 ]",
            Guard::Always => "true",
            Guard::Never => {
                s.push_str("# (never runs here: see the report)\n");
                continue;
            }
        };
        let out = format!(
            "\"$gh/out-{}\"",
            st.id.as_deref().map_or((n + 1).to_string(), file_part)
        );
        let body = match &st.action {
            Action::Nothing(why) => {
                s.push_str(&format!("# {}\n", defuse(why)));
                continue;
            }
            Action::Fail(msg) => format!("{{ echo {} >&2; false; }}", sh_quote(&defuse(msg))),
            Action::Run { body, shell } => {
                let file = format!("\"$gh/step-{}\"", n + 1);
                s.push_str(&format!("printf '%s\\n' {} > {file}\n", sh_quote(body)));
                let mut cmd = shell.replace("{0}", &file);
                if let Some(t) = st.timeout_min {
                    cmd = format!("timeout {}s {cmd}", t * 60);
                }
                let vars: String = st
                    .env
                    .iter()
                    .map(|(k, from)| match from {
                        EnvFrom::Var(v) => format!("{k}=\"${v}\" "),
                        EnvFrom::Output(id, key) => format!("{k}={} ", output_word(id, key)),
                    })
                    .collect();
                let cd = st
                    .dir
                    .as_deref()
                    .map(|d| format!("cd {} && ", sh_quote(d)))
                    .unwrap_or_default();
                format!("( {cd}GITHUB_OUTPUT={out} {vars}{cmd} )")
            }
        };
        let test = match &st.test {
            Some(t) => format!("{test} && {t}"),
            None => test.to_string(),
        };
        let on_fail = if st.continue_on_error {
            "true"
        } else {
            "rc=$?"
        };
        s.push_str(&format!(
            "if {test}; then\n  : > {out}; {body} || {on_fail}\n  carry\nfi\n"
        ));
    }
    for (name, step, key) in outputs {
        s.push_str(&format!(
            "[ -f \"$gh/out-{}\" ] && sed -n {} \"$gh/out-{}\" | tail -n 1 | sed {} >> \"$BATON_OUTPUT\"\n",
            file_part(step),
            sh_quote(&format!("s/^{}=//p", sed_word(key))),
            file_part(step),
            sh_quote(&format!("s/^/{}=/", sed_word(name))),
        ));
    }
    s.push_str("exit \"$rc\"\n");
    s
}

/// A text shown in the script (a title, a message) with no `${{`, which baton's loader
/// would take for a template in shell code.
/// Control characters become spaces: a comment stays one line, never a command.
pub(crate) fn defuse(s: &str) -> String {
    s.replace("${{", "$ {{")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A step id as part of a file name.
fn file_part(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A key for a `sed` pattern: only the characters an output name may hold.
fn sed_word(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}
