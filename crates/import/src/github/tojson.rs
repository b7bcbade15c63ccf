//! GitHub's `toJSON` of a whole context (`matrix`, `needs`, `steps`, `github.event`) or
//! of a matrix value, written as GitHub writes it: indented by two spaces, `{}` for an
//! empty object. The matrix's cells are known at import, so each cell's text is written
//! here and the script picks the one whose values it holds; `needs` and `steps` are
//! laid out here and their texts filled in by the script (`_bt_json`,
//! `_bt_steps_json`); `github.event` is the event file as it is written.
use super::matrix::Cell;
use super::values::ScriptNames;
use crate::expr::{NameError, json_string};
use crate::out::{Scalar, sh_quote};
use crate::shim;
use crate::yaml::{Node, Value};

/// What `toJSON` of a whole context needs of the job being read.
#[derive(Default)]
pub(super) struct Known {
    /// The job's matrix cells in GitHub's order, when each is known at import.
    pub cells: Option<Vec<Cell>>,
    /// Why a job with a matrix has no cells here (its values come from params, or it
    /// is a `for_each`).
    pub no_cells: Option<&'static str>,
    /// The ids of the job's steps before the one being read (`steps` holds those).
    pub step_ids: Vec<String>,
}

/// `v` as GitHub's `toJSON` writes it, at `ind` spaces.
pub(super) fn pretty(v: &Node, ind: usize) -> String {
    let block = |open: char, close: char, items: Vec<String>| {
        if items.is_empty() {
            return format!("{open}{close}");
        }
        let pad = " ".repeat(ind + 2);
        let body: Vec<String> = items.iter().map(|i| format!("{pad}{i}")).collect();
        format!("{open}\n{}\n{}{close}", body.join(",\n"), " ".repeat(ind))
    };
    match &v.v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => json_string(s),
        Value::Seq(s) => block('[', ']', s.iter().map(|x| pretty(x, ind + 2)).collect()),
        Value::Map(m) => block(
            '{',
            '}',
            m.iter()
                .map(|(k, _, x)| format!("{}: {}", json_string(k), pretty(x, ind + 2)))
                .collect(),
        ),
    }
}

/// The value at `path` (a key, then keys into mappings) of `cell`, as GitHub's
/// `toJSON` writes it; `null` where there is none. `path` empty: the whole cell.
fn cell_json(cell: &Cell, path: &[String]) -> String {
    let Some((first, rest)) = path.split_first() else {
        let m = cell
            .iter()
            .map(|(k, v)| (k.clone(), 0, v.clone()))
            .collect();
        return pretty(
            &Node {
                v: Value::Map(m),
                line: 0,
            },
            0,
        );
    };
    let mut at = cell.iter().find(|(k, _)| k == first).map(|(_, v)| v);
    for k in rest {
        at = at.and_then(|n| n.get(k));
    }
    at.map_or_else(|| "null".into(), |n| pretty(n, 0))
}

/// A cell's values as baton's instance reads them (`matrix.KEY`), by flattened key.
fn cell_texts(cell: &Cell) -> Vec<(String, String)> {
    super::matrix::flat(cell)
        .into_iter()
        .map(|(k, v)| {
            let t = match v {
                Scalar::Str(s) => s,
                Scalar::Int(i) => i.to_string(),
                Scalar::Bool(b) => b.to_string(),
            };
            (k, t)
        })
        .collect()
}

impl ScriptNames<'_, '_> {
    /// `toJSON(p)` of a whole context or a matrix value: `None` when `p` is neither.
    pub(super) fn context_json(&mut self, p: &[String]) -> Option<Result<String, NameError>> {
        let no = |why: &str| {
            Err(NameError::NoCounterpart {
                path: format!("toJSON({}) ({why})", p.join(".")),
            })
        };
        let head = p.first()?.as_str();
        Some(match (head, p.len()) {
            ("matrix", _) => match self.c.json.cells.clone() {
                Some(cells) => self.matrix_json(&cells, &p[1..]),
                None => no(self.c.json.no_cells.unwrap_or("the job has no matrix")),
            },
            ("needs", 1) => self.needs_json(),
            ("steps", 1) => Ok(format!(
                "\"$(_bt_steps_json {})\"",
                self.c
                    .json
                    .step_ids
                    .iter()
                    .map(|id| format!("{} {}", shim::file_part(id), sh_quote(id)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
            ("steps", 2) => match self.c.json.step_ids.contains(&p[1]) {
                true => Ok(format!(
                    "\"$(_bt_step_json {} '')\"",
                    shim::file_part(&p[1])
                )),
                false => no("no step before this one has that id"),
            },
            ("needs", 3) if p[2] == "outputs" => self.need_outputs_json(&p[1]),
            ("github", 2) if p[1] == "event" => Ok("\"$(cat -- \"$GITHUB_EVENT_PATH\")\"".into()),
            _ => return None,
        })
    }

    /// Each cell's text, picked in the script by the values of the instance.
    fn matrix_json(&mut self, cells: &[Cell], path: &[String]) -> Result<String, NameError> {
        let texts: Vec<String> = cells.iter().map(|c| cell_json(c, path)).collect();
        let values: Vec<Vec<(String, String)>> = cells.iter().map(cell_texts).collect();
        let mut keys: Vec<String> = vec![];
        for (k, _) in values.iter().flatten() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        // A value naming a context was kept as text: its `${{` must not reach the file.
        let templated = texts.iter().any(|t| t.contains("${{"))
            || values.iter().flatten().any(|(_, v)| v.contains("${{"));
        if templated {
            return Err(NameError::NoCounterpart {
                path: "toJSON(matrix) of a value naming a context".into(),
            });
        }
        if texts.windows(2).all(|w| w[0] == w[1]) {
            return Ok(sh_quote(texts.first().map_or("null", String::as_str)));
        }
        let mut words = vec![];
        for k in &keys {
            words.push(self.word(&["matrix".to_string(), k.clone()])?);
        }
        let mut s = String::from("\"$(");
        for (i, (text, vals)) in texts.iter().zip(&values).enumerate() {
            let test: Vec<String> = keys
                .iter()
                .zip(&words)
                .map(|(k, w)| {
                    let v = vals.iter().find(|(x, _)| x == k).map_or("", |(_, v)| v);
                    format!("[ {w} = {} ]", sh_quote(v))
                })
                .collect();
            let kw = if i == 0 { "if" } else { "elif" };
            s.push_str(&format!(
                "{kw} {}; then printf '%s' {}; ",
                test.join(" && "),
                sh_quote(text)
            ));
        }
        s.push_str("fi)\"");
        Ok(s)
    }

    /// The job's needs in its `needs` order, each with the outputs it declares that
    /// baton carries.
    fn needs_outputs(&self) -> Vec<(String, Vec<String>)> {
        self.step
            .needs
            .iter()
            .filter_map(|b| self.c.jobs.iter().find(|(_, x)| x == b))
            .map(|(g, _)| {
                let outs = self.c.outputs.iter().find(|(j, _)| j == g);
                (g.clone(), outs.map(|(_, o)| o.clone()).unwrap_or_default())
            })
            .collect()
    }

    /// Need `g`'s outputs `outs` as GitHub's `toJSON` writes them, at `ind` spaces:
    /// the literal text so far in `lit`, each value's text read by the script, added
    /// to the word `w`.
    fn outputs_json(
        &mut self,
        (g, outs): (&str, &[String]),
        ind: &str,
        (w, lit): (&mut String, &mut String),
    ) -> Result<(), NameError> {
        lit.push('{');
        for (j, o) in outs.iter().enumerate() {
            let sep = if j == 0 { "" } else { "," };
            lit.push_str(&format!("{sep}\n{ind}  {}: ", json_string(o)));
            let v = self.word(&["needs".into(), g.to_string(), "outputs".into(), o.clone()])?;
            w.push_str(&sh_quote(&std::mem::take(lit)));
            w.push_str(&format!("\"$(_bt_json {v})\""));
        }
        if outs.is_empty() {
            lit.push('}');
        } else {
            lit.push_str(&format!("\n{ind}}}"));
        }
        Ok(())
    }

    /// `needs.J.outputs` as GitHub writes it: the outputs need `J` declares that baton
    /// carries; `J` must be one of the job's needs.
    fn need_outputs_json(&mut self, j: &str) -> Result<String, NameError> {
        let Some((g, outs)) = self.needs_outputs().into_iter().find(|(g, _)| g == j) else {
            return Err(NameError::NoCounterpart {
                path: format!("toJSON(needs.{j}.outputs) (`{j}` is none of the job's needs)"),
            });
        };
        let (mut w, mut lit) = (String::new(), String::new());
        self.outputs_json((&g, &outs), "", (&mut w, &mut lit))?;
        w.push_str(&sh_quote(&lit));
        Ok(w)
    }

    /// `needs` as GitHub writes it: each need of the job in its `needs` order, its
    /// `result` and the outputs it declares, their texts read by the script.
    fn needs_json(&mut self) -> Result<String, NameError> {
        let needs = self.needs_outputs();
        if needs.is_empty() {
            return Ok("'{}'".into());
        }
        let mut w = String::new();
        let mut lit = String::from("{\n");
        for (i, (g, outs)) in needs.iter().enumerate() {
            lit.push_str(&format!("  {}: {{\n    \"result\": ", json_string(g)));
            let result = self.word(&["needs".into(), g.clone(), "result".into()])?;
            w.push_str(&sh_quote(&std::mem::take(&mut lit)));
            w.push_str(&format!("\"$(_bt_json {result})\""));
            lit.push_str(",\n    \"outputs\": ");
            self.outputs_json((g, outs), "    ", (&mut w, &mut lit))?;
            lit.push_str(if i + 1 == needs.len() {
                "\n  }"
            } else {
                "\n  },\n"
            });
        }
        lit.push_str("\n}");
        w.push_str(&sh_quote(&lit));
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Step `id`'s script run by `sh` in a directory of its own, its env's templates
    /// given by `values` (what baton's instance renders): the files it wrote.
    fn run_job(toml: &str, id: &str, values: &[(&str, &str)], files: &[&str]) -> Vec<String> {
        let plan = baton_workflow::load_str_with(
            toml,
            std::path::Path::new("w.toml"),
            baton_workflow::SignersFrom::Recorded(None),
        )
        .unwrap_or_else(|d| panic!("{d}\n{toml}"));
        let st = plan.steps.iter().find(|s| s.id == id).unwrap();
        let baton_workflow::Action::Shell { run } = &st.action else {
            panic!("{id} is no shell step: {toml}")
        };
        // A directory of this call's own: tests run jobs of one id side by side.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg(run)
            .current_dir(&dir)
            .env("TMPDIR", &dir)
            .env_remove("LD_LIBRARY_PATH")
            .env("BATON_OUTPUT", dir.join("baton-output"));
        for (k, t) in &st.env {
            let t = t.to_string();
            let v = values.iter().find(|(x, _)| *x == t).map(|(_, v)| *v);
            cmd.env(k, v.unwrap_or_else(|| panic!("no value for {t}")));
        }
        let o = cmd.output().unwrap();
        let got = files
            .iter()
            .map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default())
            .collect();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        got
    }

    /// `toJSON(matrix)` is the text of the instance's cell (a number bare, a mapping
    /// nested), `toJSON(needs)` each need's result and outputs, as GitHub's docs show.
    #[test]
    fn a_cells_script_writes_githubs_matrix_and_needs() {
        let y = r#"on: push
jobs:
  a:
    outputs:
      v: ${{ steps.s.outputs.v }}
    steps: [{id: s, run: echo v=one >> "$GITHUB_OUTPUT"}]
  b:
    needs: a
    strategy:
      matrix:
        os: [ubuntu-latest]
        node: [18, 20]
        include:
          - node: 20
            extra: { tag: "x" }
    steps:
      - env:
          M: ${{ toJSON(matrix) }}
          N: ${{ toJSON(needs) }}
        run: |
          printf '%s' "$M" > m.json
          printf '%s' "$N" > n.json
"#;
        let i = crate::import(crate::Kind::Github, "w.yml", y).unwrap();
        let cell = |node: &'static str, tag: &'static str| {
            vec![
                ("${{ matrix.os }}", "ubuntu-latest"),
                ("${{ matrix.node }}", node),
                ("${{ matrix.extra_tag }}", tag),
                ("${{ needs.a.result }}", "success"),
                ("${{ steps.a.outputs.v }}", "one"),
            ]
        };
        let got = run_job(&i.toml, "b", &cell("20", "x"), &["m.json", "n.json"]);
        assert_eq!(
            got[0],
            "{\n  \"os\": \"ubuntu-latest\",\n  \"node\": 20,\n  \"extra\": {\n    \"tag\": \"x\"\n  }\n}"
        );
        assert_eq!(
            got[1],
            "{\n  \"a\": {\n    \"result\": \"success\",\n    \"outputs\": {\n      \"v\": \"one\"\n    }\n  }\n}"
        );
        let got = run_job(&i.toml, "b", &cell("18", ""), &["m.json"]);
        assert_eq!(got[0], "{\n  \"os\": \"ubuntu-latest\",\n  \"node\": 18\n}");
    }

    /// `toJSON(steps.ID)` of a step before this one and `toJSON(needs.J.outputs)` of a
    /// need, as GitHub writes a step of the steps context and a need's outputs (its
    /// docs' contexts page); a step not before this one has none here.
    #[test]
    fn one_step_and_one_needs_outputs_are_written_as_github_writes_them() {
        let y = r#"on: push
jobs:
  a:
    outputs:
      v: ${{ steps.s.outputs.v }}
      w: ${{ steps.s.outputs.w }}
    steps: [{id: s, run: echo v=one >> "$GITHUB_OUTPUT"}]
  b:
    needs: a
    steps:
      - id: s
        run: |
          echo 'v=x"y' >> "$GITHUB_OUTPUT"
      - env:
          S: ${{ toJSON(steps.s) }}
          N: ${{ toJSON(needs.a.outputs) }}
          L: ${{ toJSON(steps.later) }}
        run: |
          printf '%s' "$S" > s.json
          printf '%s' "$N" > n.json
          printf '%s' "$L" > l.json
      - id: later
        run: 'true'
"#;
        let i = crate::import(crate::Kind::Github, "w.yml", y).unwrap();
        assert!(
            i.notes
                .iter()
                .any(|n| n.done.contains("no step before this one has that id")),
            "{:?}",
            i.notes
        );
        let values = [
            ("${{ steps.a.outputs.v }}", "one"),
            ("${{ steps.a.outputs.w }}", "a \"b\""),
        ];
        let got = run_job(&i.toml, "b", &values, &["s.json", "n.json", "l.json"]);
        assert_eq!(
            got[0],
            "{\n  \"outputs\": {\n    \"v\": \"x\\\"y\"\n  },\n  \"outcome\": \"success\",\n  \"conclusion\": \"success\"\n}"
        );
        assert_eq!(got[1], "{\n  \"v\": \"one\",\n  \"w\": \"a \\\"b\\\"\"\n}");
        assert_eq!(got[2], "");
    }

    /// A job's script as baton runs it (`sh`, no template in it): `toJSON(steps)` as
    /// GitHub's docs show the steps context, `toJSON(github.event)` the event file,
    /// and `a || b` / `a && b` over a value of several lines kept byte for byte.
    #[test]
    fn a_jobs_script_writes_githubs_steps_and_keeps_a_picked_value_whole() {
        let y = r#"on: push
jobs:
  a:
    steps:
      - id: s
        run: |
          echo 'v=one' >> "$GITHUB_OUTPUT"
          printf 'multi<<EOF\nline 1\nline 2\n\nEOF\n' >> "$GITHUB_OUTPUT"
      - id: t
        run: echo '::set-output name=w::x"y'
      - run: 'true'
      - env:
          STEPS: ${{ toJSON(steps) }}
          PICK: ${{ steps.s.outputs.none || steps.s.outputs.multi }}
          EVENT: ${{ toJSON(github.event) }}
        run: |
          printf '%s' "$STEPS" > steps.json
          printf '%s' "$PICK" > pick.txt
          printf '%s' "$EVENT" > event.json
          printf '%s' "${{ steps.s.outputs.v && steps.s.outputs.multi }}" > and.txt
"#;
        let i = crate::import(crate::Kind::Github, "w.yml", y).unwrap();
        let plan = baton_workflow::load_str_with(
            &i.toml,
            std::path::Path::new("w.toml"),
            baton_workflow::SignersFrom::Recorded(None),
        )
        .unwrap_or_else(|d| panic!("{d}\n{}", i.toml));
        let a = plan.steps.iter().find(|s| s.id == "a").unwrap();
        let baton_workflow::Action::Shell { run } = &a.action else {
            panic!("job a is no shell step: {}", i.toml)
        };
        let dir = std::env::temp_dir().join(format!("baton-tojson-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(run)
            .current_dir(&dir)
            .env("TMPDIR", &dir)
            .env_remove("LD_LIBRARY_PATH")
            .env("BATON_OUTPUT", dir.join("baton-output"))
            .output()
            .unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        let got = [
            read("steps.json"),
            read("pick.txt"),
            read("and.txt"),
            read("event.json"),
        ];
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            got[0],
            "{\n  \"s\": {\n    \"outputs\": {\n      \"v\": \"one\",\n      \"multi\": \"line 1\\nline 2\\n\"\n    },\n    \"outcome\": \"success\",\n    \"conclusion\": \"success\"\n  },\n  \"t\": {\n    \"outputs\": {\n      \"w\": \"x\\\"y\"\n    },\n    \"outcome\": \"success\",\n    \"conclusion\": \"success\"\n  }\n}"
        );
        assert_eq!(got[1], "line 1\nline 2\n");
        assert_eq!(got[2], "line 1\nline 2\n");
        assert_eq!(got[3], "{}");
    }

    /// GitHub's `toJSON` writes as Newtonsoft's indented JSON does: two spaces, `{}`
    /// and `[]` when empty, `\b`, `\f` and U+2028 escaped.
    #[test]
    fn a_value_is_written_as_githubs_to_json_writes_it() {
        let d = crate::yaml::parse(
            "a: [1, {b: true}, []]\nc: {}\nd: \"x\\by\\u2028\"\ne: 3.5\nf: null\n",
        )
        .unwrap()
        .remove(0);
        assert_eq!(
            pretty(&d, 0),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": true\n    },\n    []\n  ],\n  \"c\": {},\n  \"d\": \"x\\by\\u2028\",\n  \"e\": 3.5,\n  \"f\": null\n}"
        );
    }
}
