//! A GitHub job's steps as one `sh` script: each `run:` step runs in its own shell
//! process from a file, as the runner does, in order; a failed step skips the steps
//! after it that do not say `if: always()`/`failure()`, and sets the job's exit code.
//! `$GITHUB_ENV`, `$GITHUB_PATH` and `$GITHUB_OUTPUT` work across the steps, read by
//! GitHub's rules by the fixed functions of `shim/prelude.sh`, which hand values on as
//! environment and never evaluate them. Every text from the source (a body, a
//! directory, an action's name) enters the script quoted as one word by `sh_quote`, and
//! a template's value as a variable: nothing in it is read as shell code but what the
//! source meant to run.
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
    /// A `run:` body and its shell.
    Run { body: String, shell: Shell },
    /// A comment: a step with nothing to do here (checkout, setup-*).
    Nothing(String),
    /// An action baton cannot run: the step fails with this message.
    Fail(String),
}

/// A step's `shell:`.
#[derive(Debug, Clone)]
pub(crate) enum Shell {
    /// The command line (`{0}` the script's path).
    Line(String),
    /// A `shell:` with templates: read when the step runs, by `_bt_shell`, from its
    /// value as data.
    Templated(Word),
}

/// A text of the source that holds templates: literal pieces, and variables of the
/// baton step's `env` that templates set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Word(pub Vec<Piece>);

#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Lit(String),
    /// A shell word the import wrote (a read of a step's file, a test over variables):
    /// it holds no text of the source but in `sh_quote`d literals.
    Sh(String),
    /// A value commands the import wrote print (`expr::emit`), set to the script's
    /// variable `var` before the word is read (`Word::pre`): a command substitution
    /// alone would drop the value's trailing newlines.
    Value {
        var: String,
        cmds: String,
    },
}

impl Word {
    /// One shell word: each literal quoted by `sh_quote`, each variable expanded in
    /// double quotes (its value is data, never split or read as code).
    pub(crate) fn sh(&self) -> String {
        if self.0.is_empty() {
            return "''".into();
        }
        self.0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => sh_quote(s),
                Piece::Sh(w) => w.clone(),
                Piece::Value { var, .. } => format!("\"${{{var}}}\""),
            })
            .collect()
    }

    /// The statements setting the word's `Value` variables, each ending in `; `: the
    /// value printed with a mark after it, which is then cut, so the value stays byte
    /// for byte.
    pub(crate) fn pre(&self) -> String {
        self.0
            .iter()
            .filter_map(|p| match p {
                Piece::Value { var, cmds } => Some(format!(
                    "{var}=\"$({cmds}; printf x)\"; {var}=${{{var}%x}}; "
                )),
                _ => None,
            })
            .collect()
    }

    /// `pre` as one command of a `&&` chain (` && { …; }`), or nothing.
    fn pre_chained(&self) -> String {
        let pre = self.pre();
        if pre.is_empty() {
            pre
        } else {
            format!(" && {{ {pre}}}")
        }
    }
}

/// Where a step's variable comes from.
#[derive(Debug, Clone)]
pub(crate) enum EnvFrom {
    /// A text with templates, decided in the script (`Word`).
    Word(Word),
}

/// A shell word reading step `id`'s `outcome` or `conclusion` (`which`), as data.
pub(crate) fn state_word(id: &str, which: &str) -> String {
    format!("\"$(_bt_state {} {which})\"", file_part(id))
}

/// A shell word reading what step `id` wrote to `$GITHUB_OUTPUT` as `key` (the last
/// such line), as data: a variable the script sets once the step ended (`script`), so
/// the value is whole, its trailing newlines kept as GitHub keeps them (a command
/// substitution would drop them).
pub(crate) fn output_word(id: &str, key: &str) -> String {
    format!("\"${{{}}}\"", output_var(&file_part(id), key))
}

/// The script's variable holding output `key` of the step whose file part is `part`:
/// both hex-encoded, so any id and key make one variable name of the script's own.
fn output_var(part: &str, key: &str) -> String {
    format!("{OUTPUT_VAR}{}_{}", hex(part), hex(key))
}

const OUTPUT_VAR: &str = "_bt_o_";

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The (file part, key) of every output variable `text` reads, each once, in order.
fn output_refs(text: &str) -> Vec<(String, String)> {
    let unhex = |h: &str| -> Option<String> {
        let bytes: Option<Vec<u8>> = (0..h.len())
            .step_by(2)
            .map(|i| h.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
            .collect();
        String::from_utf8(bytes?).ok()
    };
    let mut out: Vec<(String, String)> = vec![];
    for (at, _) in text.match_indices(OUTPUT_VAR) {
        let rest = &text[at + OUTPUT_VAR.len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || *c == '_')
            .collect();
        let Some((p, k)) = name.split_once('_') else {
            continue;
        };
        // A step's file part is what `file_part` makes: nothing else is one (a body's
        // text that looks like such a variable never names a file the script reads).
        if let (Some(p), Some(k)) = (unhex(p), unhex(k))
            && !p.is_empty()
            && file_part(&p) == p
            && !out.contains(&(p.clone(), k.clone()))
        {
            out.push((p, k));
        }
    }
    out
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
    pub dir: Option<Word>,
    /// `NAME` and where its value comes from.
    pub env: Vec<(String, EnvFrom)>,
    /// A shell word reading `1` (`continue-on-error`) or `0`.
    pub continue_on_error: String,
    /// The step's `timeout-minutes`, its values set before its command (read by
    /// `_bt_to`: not a whole number, none).
    pub timeout_min: Option<Word>,
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

/// The functions every job's script starts with (`_bt_*`: names a step cannot set).
const PRELUDE: &str = include_str!("shim/prelude.sh");

/// The script; `job_env`: the job's variables it sets first; `outputs`: the job's
/// outputs as (name, step id, step output).
pub(crate) fn script(
    job_env: &[(String, Word)],
    steps: &[ShimStep],
    outputs: &[(String, String, String)],
) -> String {
    let mut head = String::new();
    for (k, w) in job_env {
        head.push_str(&format!("{}export {k}={}\n", w.pre(), w.sh()));
    }
    let chunks: Vec<(String, String)> = steps
        .iter()
        .enumerate()
        .map(|(n, st)| {
            let part = st.id.as_deref().map_or((n + 1).to_string(), file_part);
            let text = step_text(n, st, &part);
            (part, text)
        })
        .collect();
    // Every output a step reads, as a variable: empty until its step ended (never
    // one of the environment's), then set from the step's file.
    let all: String = chunks.iter().map(|(_, t)| t.as_str()).collect();
    let refs = output_refs(&format!("{head}{all}"));
    let mut s = String::from(PRELUDE);
    for (p, k) in &refs {
        s.push_str(&format!("{}=\n", output_var(p, k)));
    }
    s.push_str(&head);
    for (part, text) in &chunks {
        s.push_str(text);
        for (_, k) in refs.iter().filter(|(p, _)| p == part) {
            s.push_str(&format!(
                "_bt_find \"$_bt_gh/out-{part}\" {}; {}=$_bt_got\n",
                sh_quote(k),
                output_var(part, k)
            ));
        }
    }
    for (name, step, key) in outputs {
        s.push_str(&format!(
            "_bt_output {} \"$_bt_gh/out-{}\" {}\n",
            sh_quote(name),
            file_part(step),
            sh_quote(key)
        ));
    }
    s.push_str("exit \"$_bt_rc\"\n");
    s
}

/// Step `n` of the script (its file part `part`): its guard, its command, what it left.
fn step_text(n: usize, st: &ShimStep, part: &str) -> String {
    let mut s = format!("# step {}\n", defuse(&st.title));
    let test = match st.guard {
        Guard::Success => "[ \"$_bt_rc\" -eq 0 ]",
        Guard::Failure => "[ \"$_bt_rc\" -ne 0 ]",
        Guard::Always => "true",
        Guard::Never => {
            s.push_str("# (never runs here: see the report)\n");
            return s;
        }
    };
    let out = format!("\"$_bt_gh/out-{part}\"");
    let body = match &st.action {
        Action::Nothing(why) => {
            s.push_str(&format!("# {}\n", defuse(why)));
            if st.id.is_some() {
                s.push_str(&format!("_bt_done {part} 0 0\n"));
            }
            return s;
        }
        Action::Fail(msg) => format!("{{ echo {} >&2; false; }}", sh_quote(&defuse(msg))),
        Action::Run { body, shell } => {
            let file = format!("\"$_bt_gh/step-{}\"", n + 1);
            s.push_str(&format!("printf '%s\\n' {} > {file}\n", sh_quote(body)));
            run_line(st, shell, &file, &out)
        }
    };
    let test = match &st.test {
        Some(t) => format!("{test} && {t}"),
        None => test.to_string(),
    };
    let coe = &st.continue_on_error;
    s.push_str(&format!(
        "if {test}; then\n  : > {out}; {body}; _bt_s=$?\n  _bt_carry {out} || {{ [ \"$_bt_s\" -ne 0 ] || _bt_s=1; }}\n  _bt_done {part} \"$_bt_s\" {coe}\nelse\n  _bt_skip {part}\nfi\n"
    ));
    s
}

/// A `run:` step's command: in its own subshell, in its directory, with its variables
/// exported, its standard output read for workflow commands (`_bt_cmds`); its code is
/// the command's, else the reader's (a refused command fails the step, as on GitHub).
fn run_line(st: &ShimStep, shell: &Shell, file: &str, out: &str) -> String {
    let (tm_pre, tm) = match &st.timeout_min {
        Some(t) => (t.pre(), t.sh()),
        None => (String::new(), "''".to_string()),
    };
    let cmd = match shell {
        Shell::Line(line) => {
            let cmd = line.replace("{0}", file);
            match &st.timeout_min {
                Some(_) => format!("{tm_pre}_bt_tm {tm} {cmd}"),
                None => cmd,
            }
        }
        Shell::Templated(w) => format!(
            "{tm_pre}{}_bt_shell \"$(_bt_to {tm})\" {} {file}",
            w.pre(),
            w.sh()
        ),
    };
    // One `export` each, in order: a variable may read one before it.
    let vars: String = st
        .env
        .iter()
        .map(|(k, from)| match from {
            EnvFrom::Word(w) => format!("{} && export {k}={}", w.pre_chained(), w.sh()),
        })
        .collect();
    let cd = st
        .dir
        .as_ref()
        .map(|d| format!("{} && cd -- {}", d.pre_chained(), d.sh()))
        .unwrap_or_default();
    format!(
        "( echo 1 > \"$_bt_gh/rc\"; export GITHUB_OUTPUT={out}{vars}{cd} && {{ {cmd}; echo \"$?\" > \"$_bt_gh/rc\"; printf '%s\\n' \"$_bt_eot\"; }} | _bt_cmds {out}; _bt_end \"$?\" )"
    )
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
pub(crate) fn file_part(id: &str) -> String {
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

#[cfg(test)]
mod tests;
