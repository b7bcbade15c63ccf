//! Dagu's dotted references that have a baton counterpart: `${NAME.path}`, a JSON path
//! into a variable (an output, an env value, a param), and `${id.output}`, a step's
//! `output`. The others (`.stdout`, `.stderr`, `.exitCode`, `.status`, a child's
//! `.outputs.X`) are reported by `dag_vars`.
use super::Dag;
use crate::out::sh_quote;

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
            // A variable wins over a step id of the same name, as in Dagu.
            let variable = self.outputs.iter().any(|(_, v)| v == head)
                || self.wf.env.iter().any(|(k, _)| k == head)
                || self.wf.params.iter().any(|p| p.name == head);
            let with = if variable && !field.starts_with("outputs.") {
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
            run = run.replace(r.as_str(), &with);
        }
        run
    }
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
