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
        if out.iter().any(|(_, v)| v.contains('$')) {
            self.report.note(
                p.line,
                format!("step `{label}`: a child param reads a variable"),
                "handed over as written: Dagu expands `$VAR` in it, baton gives the text as it is (write `${{ params.NAME }}` for a param of this workflow)",
            );
        }
        out
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
    #[test]
    fn a_child_dag_is_its_toml_file() {
        assert_eq!(super::child_file("sub-workflow"), "sub-workflow.toml");
        assert_eq!(super::child_file("deploy.yaml"), "deploy.toml");
        assert_eq!(super::child_file("etl/load.yml"), "etl/load.toml");
    }
}
