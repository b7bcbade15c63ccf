//! Dagu's dotted references that have a baton counterpart: `${NAME.path}`, a JSON path
//! into a variable (an output, an env value, a param), `${id.output}`, a step's
//! `output`, and a step's `${id.stdout}`, `${id.stderr}` (the paths of its log files)
//! and `${id.exitCode}`, which the step read publishes from a wrapper (`publish`):
//! baton's outputs are what a step writes, so the step that has the value writes it,
//! and the engine needs no field of Dagu's; a child step's `${OUT.outputs.X}`, the
//! child run's output X, which the step hands on. The others (a step's `.status`,
//! which Dagu leaves as written too) are reported by `dag_vars`.
use super::Dag;
use crate::out::{Quote, sh_quote};

/// A property of a step Dagu offers (`stdout`, `stderr`, `exitCode`): the suffix of
/// the variable the reading step gets and the output of the step's wrapper.
fn property(field: &str) -> Option<(&'static str, &'static str)> {
    match field {
        "stdout" => Some(("STDOUT", "dagu_stdout")),
        "stderr" => Some(("STDERR", "dagu_stderr")),
        "exitCode" | "exit_code" => Some(("EXIT_CODE", "dagu_exit_code")),
        _ => None,
    }
}

impl Dag<'_> {
    /// `run` with the references it can translate replaced; the environment entries
    /// they read are left in `self.ref_env` for the step.
    pub(super) fn translate_refs(&mut self, run: String, label: &str, line: usize) -> String {
        let mut run = run;
        for r in super::step::dotted_refs(&run.clone()) {
            let inner = &r[2..r.len() - 1];
            let Some((head, field)) = inner.split_once('.') else {
                continue;
            };
            // A slice (`${id.stdout:0:5}`) is left as written, reported.
            if field.contains(':') {
                continue;
            }
            // A variable wins over a step id of the same name, as in Dagu.
            let variable = self.outputs.iter().any(|(_, v)| v == head)
                || self.wf.env.iter().any(|(k, _)| k == head)
                || self.wf.params.iter().any(|p| p.name == head);
            let prop = property(field).zip(self.id_of(head));
            // Dagu reads a step's property even where a variable has the step's name.
            let with = if let Some(((suffix, out), id)) = prop {
                let name = format!("DAGU_{}_{suffix}", env_part(&id));
                if !self.ref_env.iter().any(|(k, _)| *k == name) {
                    self.ref_env
                        .push((name.clone(), format!("${{{{ steps.{id}.outputs.{out} }}}}")));
                }
                if !self.published.iter().any(|(i, _)| *i == id) {
                    self.published.push((id.clone(), line));
                }
                self.report.note(line, format!("step `{label}`: `{r}`"), format!("the output `{out}` step `{id}` writes from a wrapper around its command, as Dagu gives it: {}", match suffix {
                    "EXIT_CODE" => "its exit code",
                    _ => "the path of a file holding what it wrote there (`.baton/dagu/RUN/ID.out`, `.err`, in the workflow's directory, kept as Dagu keeps its log files)",
                }));
                format!("${{{name}}}")
            } else if let Some((id, name, path)) = self.child_ref(head, field) {
                let var = format!("DAGU_{}_OUTPUTS_{}", env_part(&id), env_part(&name));
                if !self.ref_env.iter().any(|(k, _)| *k == var) {
                    self.ref_env
                        .push((var.clone(), format!("${{{{ steps.{id}.outputs.{name} }}}}")));
                }
                self.report.note(
                    line,
                    format!("step `{label}`: `{r}`"),
                    format!(
                        "the child run's output `{name}`, which step `{id}` hands on{}",
                        if path.is_empty() {
                            String::new()
                        } else {
                            " (its JSON path read by `jq`, on the host the step runs on)".into()
                        }
                    ),
                );
                if path.is_empty() {
                    format!("${{{var}}}")
                } else {
                    let path = format!(".{}", path.trim_start_matches('.'));
                    format!("$(printf '%s' \"${{{var}}}\" | jq -r {})", sh_quote(&path))
                }
            } else if variable && !field.starts_with("outputs.") {
                self.report.note(line, format!("step `{label}`: `{r}`"), format!("read by `jq -r {}` from ${head} (jq on the host the step runs on), as Dagu reads a JSON path", sh_quote(&format!(".{field}"))));
                format!(
                    "$(printf '%s' \"${{{head}}}\" | jq -r {})",
                    sh_quote(&format!(".{field}"))
                )
            } else if field == "output"
                && let Some(id) = self.id_of(head)
            {
                match self.outputs.iter().find(|(i, _)| *i == id) {
                    Some((_, var)) => {
                        let name = format!("DAGU_{}_OUTPUT", env_part(&id));
                        self.ref_env
                            .push((name.clone(), format!("${{{{ steps.{id}.outputs.{var} }}}}")));
                        format!("${{{name}}}")
                    }
                    // Dagu reads a step without `output` as empty.
                    None => String::new(),
                }
            } else {
                continue;
            };
            run = replace_quoted(&run, &r, &with);
        }
        run
    }
}

impl Dag<'_> {
    /// Each step another reads `.stdout`, `.stderr` or `.exitCode` of runs its command
    /// in a wrapper that keeps its stdout and stderr in files (and still prints them)
    /// and writes their paths and its exit code as outputs, then exits with that code:
    /// a failed step's outputs are kept, so `continue_on: failure` hands its code on.
    pub(super) fn publish(&mut self) {
        for (id, line) in std::mem::take(&mut self.published) {
            let Some(st) = self.wf.steps.iter_mut().find(|s| s.id == id) else {
                continue;
            };
            let Some(run) = st.run.take() else {
                self.report.note(line, format!("step `{id}`: its `.stdout`, `.stderr` or `.exitCode`"), "left empty: the step runs no command of its own here (a child DAG, an executor baton does not have)");
                let reads = format!("${{{{ steps.{id}.outputs.dagu_");
                for s in &mut self.wf.steps {
                    s.env.retain(|(_, v)| !v.starts_with(&reads));
                }
                continue;
            };
            st.run = Some(wrap(&run, &id));
            for o in ["dagu_stdout", "dagu_stderr", "dagu_exit_code"] {
                if !st.outputs.iter().any(|x| x == o) {
                    st.outputs.push(o.to_string());
                }
            }
        }
    }
}

/// `run` in a subshell, its stdout and stderr also in `ID.out` and `ID.err` of the
/// run's directory under `.baton/dagu` (the paths written as outputs first), its exit
/// code written as an output and returned. Only redirections and `tee`: nothing of
/// the command's output is read as code.
fn wrap(run: &str, id: &str) -> String {
    format!(
        "_dg_f=\"$PWD/.baton/dagu/$BATON_RUN_ID\"/{id}\nmkdir -p \"${{_dg_f%/*}}\" || exit 1\nprintf 'dagu_stdout=%s\\ndagu_stderr=%s\\n' \"$_dg_f.out\" \"$_dg_f.err\" >> \"$BATON_OUTPUT\"\n{{ {{ (\n{run}\n) 2>&1 1>&3 3>&-; echo \"$?\" > \"$_dg_f.rc\"; }} | tee \"$_dg_f.err\" >&2 3>&-; }} 3>&1 | tee \"$_dg_f.out\"\nread -r _dg_rc < \"$_dg_f.rc\" || _dg_rc=1\nrm -f \"$_dg_f.rc\"\nprintf 'dagu_exit_code=%s\\n' \"$_dg_rc\" >> \"$BATON_OUTPUT\"\nexit \"$_dg_rc\"\n",
        id = sh_quote(id)
    )
}

/// `run` with each `r` replaced by the shell word `with`, read where Dagu replaces the
/// text, quotes included: inside '…' between quotes closed and opened again
/// (`printf '%s' 'x=${a.stdout}'` is `printf '%s' 'x='"${DAGU_A_STDOUT}"''`).
fn replace_quoted(run: &str, r: &str, with: &str) -> String {
    let mut out = String::new();
    let mut q = Quote::None;
    let mut rest = run;
    while let Some(i) = rest.find(r) {
        q = q.after(&rest[..i]);
        out.push_str(&rest[..i]);
        if q == Quote::Single {
            out.push_str(&format!("'\"{with}\"'"));
        } else {
            out.push_str(with);
        }
        rest = &rest[i + r.len()..];
    }
    out.push_str(rest);
    out
}

/// A step id as part of an environment variable name.
fn env_part(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reference_inside_single_quotes_is_read_there() {
        assert_eq!(
            super::replace_quoted(
                "printf '%s\\n' 'f=${a.stdout}' \"${a.stdout}\"",
                "${a.stdout}",
                "${V}"
            ),
            "printf '%s\\n' 'f='\"${V}\"'' \"${V}\""
        );
    }
}
