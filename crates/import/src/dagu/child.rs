//! A Dagu step that runs a child DAG (`call: NAME` or `run: NAME`, with `params`):
//! a baton step with `workflow = "NAME.toml"` and its `params`, a child run of the
//! imported workflow (docs/workflow/child-workflows.md). The import reads one file and
//! writes one: the child is not imported with it; the report says which file to import
//! next, and as what, so that the step finds it.
use super::{Dag, g, words};
use crate::out::Step;
use crate::yaml::{Node, Value};

impl Dag<'_> {
    /// Make `st` run the child DAG `child` (written at `line`) as a child run.
    pub(super) fn child_step(
        &mut self,
        s: &Node,
        st: &mut Step,
        (label, child, line): (&str, &str, usize),
    ) {
        let file = child_file(child);
        let source = if child.ends_with(".yaml") || child.ends_with(".yml") {
            child.to_string()
        } else {
            format!("{child}.yaml")
        };
        self.report.note(
            line,
            format!("step `{label}` runs the child DAG `{child}`"),
            format!(
                "a child run of `{file}` (`workflow = \"{file}\"`): import the child next, beside this file, with `baton import dagu {source} -o {file}` (a child after `---` in this file: put it in {source} first)"
            ),
        );
        let params = g(s, "params")
            .map(|p| self.child_params(p, label))
            .unwrap_or_default();
        st.workflow = Some((file, params));
    }

    /// A child step's `params` (`"A=1 B=2"`, a list of `A=1` or `A: 1`, a mapping).
    fn child_params(&mut self, p: &Node, label: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut pair = |k: &str, v: String| out.push((k.to_string(), v));
        match &p.v {
            Value::Str(s) => {
                for w in words(s) {
                    if let Some((k, v)) = w.split_once('=') {
                        pair(k, v.to_string());
                    }
                }
            }
            Value::Seq(items) => {
                for it in items {
                    match &it.v {
                        Value::Map(m) => {
                            for (k, _, v) in m {
                                pair(k, v.text().unwrap_or_default());
                            }
                        }
                        _ => {
                            if let Some((k, v)) =
                                it.text().as_deref().and_then(|t| t.split_once('='))
                            {
                                pair(k, v.to_string());
                            }
                        }
                    }
                }
            }
            Value::Map(m) => {
                for (k, _, v) in m {
                    pair(k, v.text().unwrap_or_default());
                }
            }
            _ => {}
        }
        for (_, v) in &mut out {
            *v = self.param_refs(v);
        }
        if out.iter().any(|(_, v)| v.replace("${{", "").contains('$')) {
            self.report.note(
                p.line,
                format!("step `{label}`: a child param reads a variable"),
                "handed over as written: Dagu expands `$VAR` in it, baton gives the text as it is (an output of a step above, a param, a DAG `env` entry and a child's `${OUT.outputs.X}` are translated; write `${{ params.NAME }}` for a param of this workflow)",
            );
        } else if out.iter().any(|(_, v)| v.contains("${{")) {
            self.report.note(
                p.line,
                format!("step `{label}`: a child param reads a variable"),
                "a template, as Dagu expands it: `${{ steps.ID.outputs.NAME }}` for an output of a step above (a child's `${OUT.outputs.X}` too), `${{ params.NAME }}`, `${{ env.NAME }}`",
            );
        }
        out
    }

    /// A child param's value with what Dagu expands in it and baton can read as a
    /// template: `${OUT.outputs.X}` of a child step above, `$VAR`/`${VAR}` of a
    /// step's `output` above, a param or a DAG `env` entry (`ITEM` is `parallel`'s).
    fn param_refs(&self, v: &str) -> String {
        let mut out = String::new();
        let mut rest = v;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            let (inner, len) = match tail.strip_prefix("${").and_then(|t| t.split_once('}')) {
                Some((inner, _)) => (inner, inner.len() + 3),
                None => {
                    let n = tail[1..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(tail.len() - 1);
                    (&tail[1..=n], n + 1)
                }
            };
            let child = inner
                .split_once('.')
                .and_then(|(h, f)| self.child_ref(h, f))
                .filter(|(_, _, path)| path.is_empty());
            let var = self.outputs.iter().rev().find(|(_, o)| o == inner);
            let with = if let Some((id, name, _)) = child {
                Some(format!("${{{{ steps.{id}.outputs.{name} }}}}"))
            } else if let Some((id, o)) = var {
                Some(format!("${{{{ steps.{id}.outputs.{o} }}}}"))
            } else if inner != "ITEM" && self.wf.params.iter().any(|p| p.name == inner) {
                Some(format!("${{{{ params.{inner} }}}}"))
            } else if self.wf.env.iter().any(|(k, _)| k == inner) {
                Some(format!("${{{{ env.{inner} }}}}"))
            } else {
                None
            };
            match with {
                Some(w) if !inner.is_empty() => out.push_str(&w),
                _ => out.push_str(&tail[..len.max(1)]),
            }
            rest = &tail[len.max(1)..];
        }
        out.push_str(rest);
        out
    }

    /// A child step's `output: VAR` (written at `line`): Dagu's JSON of the child run
    /// (`name`, `params`, `outputs`, `status`: dagu-org/dagu 59d92fc1,
    /// internal/core/exec/context.go `RunStatus`), read by `${VAR.outputs.X}`.
    pub(super) fn child_output(&mut self, line: usize, id: &str, var: &str, label: &str) {
        self.child_outputs.push((id.to_string(), var.to_string()));
        self.report.note(
            line,
            format!("step `{label}`: `output: {var}`"),
            format!(
                "`${{{var}.outputs.X}}` reads the child run's output X (`${{{{ steps.{id}.outputs.X }}}}`: the step hands on every output of the child's steps, the later step's value winning, as Dagu collects them, and none holding a secret); `${var}` alone, Dagu's JSON of the child's name, params, outputs and status, is not built"
            ),
        );
    }

    /// `${VAR.outputs.NAME…}` where `VAR` is a child step's `output`: the step's id,
    /// `NAME`, and the JSON path after it (`.a[0]`; empty: none).
    pub(super) fn child_ref(&self, head: &str, field: &str) -> Option<(String, String, String)> {
        let (id, _) = self.child_outputs.iter().rev().find(|(_, v)| v == head)?;
        let rest = field.strip_prefix("outputs.")?;
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let (name, path) = rest.split_at(end);
        super::env_name(name).then(|| (id.clone(), name.to_string(), path.to_string()))
    }
}

/// The baton file a child DAG's name stands for: `NAME.toml` (`.yaml`/`.yml` dropped).
fn child_file(child: &str) -> String {
    let stem = child
        .strip_suffix(".yaml")
        .or_else(|| child.strip_suffix(".yml"))
        .unwrap_or(child);
    format!("{stem}.toml")
}

#[cfg(test)]
mod tests {
    use crate::{Kind, import};

    fn loaded(toml: &str) -> baton_workflow::Plan {
        baton_workflow::load_str_with(
            toml,
            std::path::Path::new("imported.toml"),
            baton_workflow::SignersFrom::Recorded(None),
        )
        .unwrap_or_else(|d| panic!("{d}\n{toml}"))
    }

    /// Dagu's subdag_test.go (dagu-org/dagu 59d92fc1) `TestInlineSubDAG/
    /// ComplexDependencies` and `OutputPassingBetweenDAGs`, their child DAGs cut off:
    /// a child's `${OUT.outputs.X}` in a command and in a child's params, and an
    /// output of a step above in a child's params, read as templates; the file loads.
    #[test]
    fn a_childs_outputs_and_the_outputs_above_are_read_where_dagu_expands_them() {
        let text = "type: graph\nsteps:\n  - name: setup\n    command: echo \"Setting up\"\n    output: SETUP_STATUS\n  - name: task1\n    call: task-dag\n    params: \"TASK_NAME=Task1 SETUP=${SETUP_STATUS}\"\n    output: TASK1_RESULT\n    depends: [setup]\n  - name: task2\n    call: task-dag\n    params: \"TASK_NAME=Task2 SETUP=${SETUP_STATUS}\"\n    output: TASK2_RESULT\n    depends: [setup]\n  - name: combine\n    command: |\n      echo \"Combining ${TASK1_RESULT.outputs.RESULT} and ${TASK2_RESULT.outputs.RESULT} ${TASK2_RESULT.outputs.RESULT.a[0]}\"\n    depends:\n      - task1\n      - task2\n  - name: again\n    call: task-dag\n    params: \"TASK_NAME=${TASK1_RESULT.outputs.RESULT} SETUP=$(date) X=${TASK1_RESULT}\"\n    depends: [combine]\n";
        let i = import(Kind::Dagu, "d.yaml", text).unwrap();
        let p = loaded(&i.toml);
        assert!(p.steps.iter().any(|s| s.id == "combine"));
        assert!(
            i.toml
                .contains("SETUP = \"${{ steps.setup.outputs.SETUP_STATUS }}\""),
            "{}",
            i.toml
        );
        assert!(
            i.toml
                .contains("DAGU_TASK1_OUTPUTS_RESULT = \"${{ steps.task1.outputs.RESULT }}\""),
            "{}",
            i.toml
        );
        assert!(i.toml.contains(r#"echo "Combining ${DAGU_TASK1_OUTPUTS_RESULT} and ${DAGU_TASK2_OUTPUTS_RESULT} $(printf '%s' "${DAGU_TASK2_OUTPUTS_RESULT}" | jq -r '.a[0]')""#), "{}", i.toml);
        // A command substitution and the child's JSON as a whole stay as written, said.
        assert!(
            i.toml
                .contains("TASK_NAME = \"${{ steps.task1.outputs.RESULT }}\""),
            "{}",
            i.toml
        );
        assert!(i.toml.contains("SETUP = \"$(date)\""), "{}", i.toml);
        assert!(i.toml.contains("X = \"${TASK1_RESULT}\""), "{}", i.toml);
        let said = |line: usize, start: &str| {
            i.notes
                .iter()
                .any(|n| n.line == line && n.done.starts_with(start))
        };
        assert!(said(
            9,
            "`${TASK1_RESULT.outputs.X}` reads the child run's output X"
        ));
        assert!(said(16, "the child run's output `RESULT`"));
        assert!(said(24, "handed over as written"));
        assert!(!i.notes.iter().any(|n| n.done.starts_with("not translated")));
    }

    #[test]
    fn a_child_dag_is_its_toml_file() {
        assert_eq!(super::child_file("sub-workflow"), "sub-workflow.toml");
        assert_eq!(super::child_file("deploy.yaml"), "deploy.toml");
        assert_eq!(super::child_file("etl/load.yml"), "etl/load.toml");
    }
}
