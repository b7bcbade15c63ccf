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
            // A slice of a step's property (`${id.stdout:0:5}`), as Dagu reads it; one
            // Dagu refuses is left as written, reported.
            let (field, slice) = match field.split_once(':') {
                None => (field, None),
                Some((f, spec)) => match slice_spec(spec) {
                    Some(sl) if property(f).is_some() || f == "output" => (f, Some(sl)),
                    _ => continue,
                },
            };
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
            } else if let Some(word) = self.child_read(head, field, (&r, label, line)) {
                word
            } else if variable && slice.is_none() && !field.starts_with("outputs.") {
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
            let with = match slice {
                Some(sl) => {
                    self.report.note(line, format!("step `{label}`: `{r}`"), "a slice of the value, as Dagu takes it (from the offset, at most the length), by `cut -c`, which counts bytes where Dagu counts characters: the same for ASCII");
                    sliced(&with, sl)
                }
                None => with,
            };
            run = replace_quoted(&run, &r, &with);
        }
        run
    }
}

impl Dag<'_> {
    /// `${OUT.outputs.X}` (`r`, in step `label` at `line`) of a child step's `output`:
    /// the shell word reading the child run's output X, which the step hands on.
    fn child_read(
        &mut self,
        head: &str,
        field: &str,
        (r, label, line): (&str, &str, usize),
    ) -> Option<String> {
        let (id, name, path) = self.child_ref(head, field)?;
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
        Some(if path.is_empty() {
            format!("${{{var}}}")
        } else {
            let path = format!(".{}", path.trim_start_matches('.'));
            format!("$(printf '%s' \"${{{var}}}\" | jq -r {})", sh_quote(&path))
        })
    }
}

/// Dagu's slice of a step's property, `START` or `START:LENGTH` after the property's
/// `:` (dagu-org/dagu 59d92fc1, internal/cmn/eval/resolve_step.go
/// `parseStepReference`): a non-negative offset, required, and a non-negative length,
/// optional; `None` where Dagu refuses it (and leaves the reference unresolved).
fn slice_spec(spec: &str) -> Option<(usize, Option<usize>)> {
    let mut parts = spec.split(':');
    let start = parts.next()?.parse::<usize>().ok()?;
    let len = match parts.next() {
        None | Some("") => None,
        Some(l) => Some(l.parse::<usize>().ok()?),
    };
    parts.next().is_none().then_some((start, len))
}

/// The shell word `word` sliced as Dagu's `applyStepSlice` does: from `start`, at most
/// `len` (to the end without); nothing past the end. `cut -c` reads the value as data.
fn sliced(word: &str, (start, len): (usize, Option<usize>)) -> String {
    if word.is_empty() || len == Some(0) {
        return String::new();
    }
    let end = len.map(|l| (start + l).to_string()).unwrap_or_default();
    format!("$(printf '%s' \"{word}\" | cut -c {}-{end})", start + 1)
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
    /// Dagu's own cases of resolve_step.go: an offset alone, an offset and a length,
    /// and the slices it refuses (no offset, a negative one, three parts).
    #[test]
    fn a_slice_is_read_as_dagu_parses_it() {
        assert_eq!(super::slice_spec("0:5"), Some((0, Some(5))));
        assert_eq!(super::slice_spec("3"), Some((3, None)));
        assert_eq!(super::slice_spec("3:"), Some((3, None)));
        for bad in ["", ":5", "-1:2", "1:-2", "1:2:3", "a"] {
            assert_eq!(super::slice_spec(bad), None, "{bad}");
        }
        assert_eq!(
            super::sliced("${V}", (2, Some(3))),
            "$(printf '%s' \"${V}\" | cut -c 3-5)"
        );
        assert_eq!(
            super::sliced("${V}", (2, None)),
            "$(printf '%s' \"${V}\" | cut -c 3-)"
        );
        assert_eq!(super::sliced("${V}", (2, Some(0))), "");
    }

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
