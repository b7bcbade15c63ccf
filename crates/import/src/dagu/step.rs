//! A Dagu step, its preconditions and the DAG's handlers.
use super::{Dag, STEP, g, gl, known};
use crate::Invalid;
use crate::out::{Gate, Step, sh_quote, step_id};
use crate::yaml::{Node, Value};

/// Executor types that run a command in a shell, as baton's `run` does.
const SHELL_TYPES: &[&str] = &["", "command", "shell"];

impl Dag<'_> {
    /// The step (and its precondition check and approval step, if any), in order.
    pub(super) fn step(&mut self, s: &Node, line: usize, id: &str) -> Result<Vec<Step>, Invalid> {
        let mut st = Step {
            id: id.to_string(),
            ..Step::default()
        };
        let label = g(s, "name")
            .and_then(Node::text)
            .unwrap_or_else(|| id.to_string());
        st.comments
            .push(format!("Dagu step \"{label}\" (line {line})"));
        if let Some(d) = g(s, "description").and_then(Node::text) {
            st.comments.push(d);
        }
        if let Some(cmd) = s.text() {
            // A step written as its command; one that starts with `#!` Dagu runs as a
            // script.
            st.run = Some(if cmd.starts_with("#!") {
                run_script(&cmd, None, self.shell.as_deref(), "")
            } else {
                cmd
            });
            return Ok(vec![st]);
        }
        for (k, l, _) in s.map().unwrap_or_default() {
            if !known(k, STEP) {
                self.report.note(
                    *l,
                    format!("step `{label}`: `{k}`"),
                    "left out: baton has no counterpart",
                );
            }
        }
        for n in g(s, "depends").map(Node::words).unwrap_or_default() {
            match self.id_of(&n) {
                Some(dep) => st.needs.push(super::last_of(&self.wf.steps, &dep)),
                None => {
                    return Err((
                        gl(s, "depends").unwrap_or(line),
                        format!("step `{label}` depends on `{n}`, which is no step of this DAG"),
                        "name a step by its `name` or `id`",
                    ));
                }
            }
        }
        self.step_expand.clear();
        if let Some(e) = g(s, "env") {
            st.env = self.env(e);
            self.step_expand = super::expanded(&st.env);
        }
        if let Some(t) = g(s, "timeout_sec").and_then(Node::text) {
            st.timeout = Some(format!("{t}s"));
        }
        let ty = g(s, "type")
            .or_else(|| g(s, "executor"))
            .and_then(|t| t.text().or_else(|| t.get("type").and_then(Node::text)))
            .unwrap_or_default();
        let child = g(s, "call").or_else(|| g(s, "run")).and_then(Node::text);
        if let Some(child) = child {
            let l = gl(s, "call").or(gl(s, "run")).unwrap_or(line);
            self.child_step(s, &mut st, (&label, &child, l));
        } else if !SHELL_TYPES.contains(&ty.as_str()) {
            self.report.note(gl(s, "type").or(gl(s, "executor")).unwrap_or(line), format!("step `{label}`: executor `{ty}`"), "the step fails saying so: baton runs shell commands (or an SSH, Slurm or batch executor you declare)");
            st.uses = Some(fail(&format!(
                "step `{label}` uses Dagu's `{ty}` executor, which baton does not have: replace it with a command"
            )));
        } else {
            st.run = Some(self.command(s, &label, line));
            st.env.append(&mut self.ref_env);
        }
        self.continue_on(s, &mut st, &label);
        self.retry(s, &mut st, &label);
        self.output(s, &mut st, &label);
        self.repeat(s, &mut st, &label);
        let mut out = vec![];
        if let Some(p) = g(s, "preconditions").or_else(|| g(s, "precondition"))
            && let Some(check) = self.preconditions(p, &mut st, &label)
        {
            out.push(check);
        }
        out.extend(self.parallel(s, st, &label));
        if let Some(a) = g(s, "approval") {
            out.push(self.approval(a, id, &label, gl(s, "approval").unwrap_or(line)));
        }
        Ok(out)
    }

    /// A step's `output: VAR`: its command's stdout captured as the output VAR (read by
    /// the steps after it as $VAR); any other `output` is noted and left out.
    fn output(&mut self, s: &Node, st: &mut Step, label: &str) {
        if let Some(l) = gl(s, "output") {
            // `output: $VAR` is Dagu's `VAR`.
            let var = g(s, "output")
                .and_then(Node::text)
                .map(|v| v.strip_prefix('$').map(str::to_string).unwrap_or(v))
                .filter(|v| super::env_name(v));
            match (var, st.run.take()) {
                (Some(var), Some(run)) => {
                    st.run = Some(capture(&run, &var));
                    st.outputs.push(var.clone());
                    self.outputs.push((st.id.clone(), var.clone()));
                    self.report.note(l, format!("step `{label}`: `output: {var}`"), format!("the output `{var}` (its stdout on one line, lines joined by spaces), read by the steps after it as ${var}"));
                }
                (Some(var), None) if st.workflow.is_some() => {
                    self.child_output(l, &st.id, &var, label);
                }
                (_, run) => {
                    st.run = run;
                    self.report.note(l, format!("step `{label}`: `output`"), "left out: only `output: NAME` of a command maps (a baton step publishes outputs by writing `NAME=value` to $BATON_OUTPUT)");
                }
            }
        }
    }

    fn command(&mut self, s: &Node, label: &str, line: usize) -> String {
        let cmd = g(s, "command").map(|c| match &c.v {
            // Dagu runs a list as commands one after another, stopping at the first
            // that fails; an item `echo A: 1` reads as YAML's mapping, Dagu's text.
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| match &i.v {
                    Value::Map(m) if m.len() == 1 => {
                        Some(format!("{}: {}", m[0].0, m[0].2.text().unwrap_or_default()))
                    }
                    _ => i.text(),
                })
                .map(|c| format!("{{ {c}\n}} || exit $?"))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => c.text().unwrap_or_default(),
        });
        let mut script = g(s, "script").and_then(Node::text);
        let mut cmd = cmd;
        // A command that starts with `#!` Dagu runs as a script.
        if script.is_none() && cmd.as_deref().is_some_and(|c| c.starts_with("#!")) {
            script = cmd.take();
        }
        let shell = g(s, "shell")
            .and_then(|n| n.text().or_else(|| Some(n.words().join(" "))))
            .or_else(|| self.shell.clone())
            .map(|sh| {
                // Dagu adds `-c` to a shell that lacks it: the shell as given, its `-c` once.
                let t = sh.trim_end();
                t.strip_suffix(" -c").unwrap_or(t).trim_end().to_string()
            });
        let args = if self.positional.is_empty() {
            String::new()
        } else {
            " \"$@\"".to_string()
        };
        let mut run = match (cmd, script) {
            (c, Some(body)) => run_script(&body, c, shell.as_deref(), &args),
            (Some(c), None) => match shell {
                Some(sh) if sh != "sh" => format!(
                    "{sh} -c {}{}",
                    sh_quote(&c),
                    if args.is_empty() { "" } else { " sh \"$@\"" }
                ),
                _ => c,
            },
            (None, None) => {
                self.report.note(
                    line,
                    format!("step `{label}` has no command"),
                    "it runs `true`",
                );
                "true".into()
            }
        };
        if !self.positional.is_empty() {
            // Dagu replaces `$1`, `$2`… with the positional params: the same, as the
            // shell's own positional parameters.
            let set: Vec<String> = self
                .positional
                .iter()
                .map(|p| format!("\"${{{p}}}\""))
                .collect();
            run = format!("set -- {}\n{run}", set.join(" "));
        }
        if let Some(dir) = g(s, "working_dir")
            .or_else(|| g(s, "dir"))
            .and_then(Node::text)
        {
            // Dagu expands `~` and `$VAR` in it: the same, by the shell's parameter
            // expansion only (nothing else in it is live).
            let word = expand_word(&dir).unwrap_or_else(|| {
                self.report.note(line, format!("step `{label}`: `dir: {dir}`"), "the text as written: it holds `$(`, a backquote or a `$` that is no variable, which Dagu would not run either");
                sh_quote(&dir)
            });
            run = format!("cd {word} || exit 1\n{run}");
        }
        run = self.dag_vars(s, run, label, line);
        let sets: String = self
            .expand
            .iter()
            .chain(&self.step_expand)
            .map(|(k, w)| format!("{k}={w}; export {k}\n"))
            .collect();
        let dotenv: String = self.dotenv.iter().map(|f| dotenv_reader(f)).collect();
        if !sets.is_empty() || !dotenv.is_empty() {
            run = format!("{sets}{dotenv}{run}");
        }
        if run.contains("${{") {
            run = run.replace("${{", "$ {{");
        }
        run
    }

    fn continue_on(&mut self, s: &Node, st: &mut Step, label: &str) {
        let Some(c) = g(s, "continue_on") else { return };
        let l = gl(s, "continue_on").unwrap_or(st.needs.len());
        let on = |k: &str| c.get(k).and_then(Node::text).as_deref() == Some("true");
        let word = c.text().map(|t| t.to_ascii_lowercase());
        if on("failure") || on("failed") || matches!(word.as_deref(), Some("failed" | "failure")) {
            st.allow_failure = Some("true".into());
        }
        if on("skipped") || word.as_deref() == Some("skipped") {
            self.skip_ok.push(st.id.clone());
            self.report.note(l, format!("step `{label}`: `continue_on: skipped`"), "its dependants run with `when = \"none_failed\"`, which passes over every skipped need, not this one alone");
        }
        for k in ["exit_code", "exitCode", "output"] {
            if c.get(k).is_some() {
                self.report.note(l, format!("step `{label}`: `continue_on.{k}`"), "left out: baton's `allow_failure` does not look at the exit code or the output");
            }
        }
        if on("mark_success") || on("markSuccess") {
            if st.allow_failure.is_some() {
                st.mark_success = true;
            } else {
                self.report.note(l, format!("step `{label}`: `continue_on.mark_success`"), "left out: Dagu marks a step succeeded only when it continues on its failure (`failure: true`), which this step does not");
            }
        }
    }

    fn retry(&mut self, s: &Node, st: &mut Step, label: &str) {
        let Some(r) = g(s, "retry_policy") else {
            return;
        };
        let l = gl(s, "retry_policy").unwrap_or(0);
        let Some(limit) = g(r, "limit")
            .and_then(Node::text)
            .and_then(|t| t.parse::<u64>().ok())
        else {
            self.report.note(
                l,
                format!("step `{label}`: `retry_policy.limit`"),
                "not a number: the step is not retried",
            );
            return;
        };
        let interval = g(r, "interval_sec")
            .and_then(Node::text)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0);
        let backoff = g(r, "backoff").and_then(Node::text);
        let kind = match backoff.as_deref() {
            None | Some("false") => "fixed",
            Some("true" | "2" | "2.0") => "exponential",
            Some(f) => {
                self.report.note(
                    l,
                    format!("step `{label}`: `backoff: {f}`"),
                    "baton's exponential backoff doubles the wait",
                );
                "exponential"
            }
        };
        let delay = if interval == 0 {
            "1ms".to_string()
        } else {
            format!("{interval}s")
        };
        let mut rest = g(r, "max_interval_sec")
            .and_then(Node::text)
            .map(|m| format!(", max_delay = {}", crate::out::q(&format!("{m}s"))))
            .unwrap_or_default();
        if let Some(codes) = g(r, "exit_code") {
            match exit_codes(codes) {
                Some(c) => rest.push_str(&format!(", exit_code = [{c}]")),
                None => self.report.note(
                    l,
                    format!("step `{label}`: `retry_policy.exit_code`"),
                    "not a list of exit codes 0-255: left out, so baton retries any failure",
                ),
            }
        }
        st.retry = Some(((limit + 1).min(100), kind, delay, rest));
    }

    /// A precondition as an `if`: over a param when it reads one, else through a
    /// check step that runs the condition as Dagu does and writes `ok=1` or `ok=0`.
    fn preconditions(&mut self, p: &Node, st: &mut Step, label: &str) -> Option<Step> {
        let items: Vec<&Node> = match &p.v {
            Value::Seq(s) => s.iter().collect(),
            _ => vec![p],
        };
        let mut conds = vec![];
        let mut checks = vec![];
        for it in items {
            let (cond, expected) = match &it.v {
                Value::Map(_) => (
                    it.get("condition")
                        .or_else(|| it.get("command"))
                        .and_then(Node::text),
                    it.get("expected").and_then(Node::text),
                ),
                _ => (it.text(), None),
            };
            let Some(cond) = cond else { continue };
            let name = cond
                .trim()
                .trim_start_matches('$')
                .trim_start_matches('{')
                .trim_end_matches('}')
                .to_string();
            let param = if let Ok(n) = name.parse::<usize>() {
                Some(format!("arg{n}"))
            } else {
                Some(name.clone())
            }
            .filter(|n| {
                cond.trim().starts_with('$') && self.wf.params.iter().any(|x| &x.name == n)
            });
            match (param, &expected) {
                (Some(pn), Some(exp)) if !exp.contains(['\'', '"']) => {
                    conds.push(match exp.strip_prefix("re:") {
                        Some(re) => format!("matches(params.{pn}, '^(?:{re})$')"),
                        None => format!("params.{pn} == '{exp}'"),
                    })
                }
                _ => checks.push((cond, expected)),
            }
        }
        let mut check_step = None;
        if !checks.is_empty() {
            let cid = step_id(&format!("{}-precondition", st.id), &[]);
            let mut tests = vec![];
            for (cond, expected) in &checks {
                tests.push(match expected {
                    None => format!("( {cond} ) >/dev/null 2>&1"),
                    Some(e) => {
                        let v = format!("\"{}\"", cond.replace('"', "\\\""));
                        match e.strip_prefix("re:") {
                            Some(re) => format!(
                                "printf '%s' {v} | grep -Eq {}",
                                sh_quote(&format!("^({re})$"))
                            ),
                            None => format!("[ {v} = {} ]", sh_quote(e)),
                        }
                    }
                });
            }
            let run = format!(
                "if {}; then echo ok=1; else echo ok=0; fi >> \"$BATON_OUTPUT\"",
                tests.join(" && ")
            );
            self.report.note(p.line, format!("step `{label}`: `preconditions`"), format!("checked by the step `{cid}` before it (baton's `if` reads values, it never runs a command)"));
            check_step = Some(Step {
                id: cid.clone(),
                comments: vec![format!("the preconditions of `{}`", st.id)],
                needs: st.needs.clone(),
                run: Some(run),
                outputs: vec!["ok".into()],
                ..Step::default()
            });
            st.needs.push(cid.clone());
            conds.push(format!("steps.{cid}.outputs.ok == '1'"));
        }
        if !conds.is_empty() {
            st.cond = Some(conds.join(" && "));
        }
        check_step
    }

    fn approval(&mut self, a: &Node, id: &str, label: &str, line: usize) -> Step {
        let prompt = a
            .get("prompt")
            .and_then(Node::text)
            .unwrap_or_else(|| format!("Approve step `{label}`?"));
        let required = a.get("required").map(Node::words).unwrap_or_default();
        let inputs = a
            .get("input")
            .map(Node::words)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| {
                let ok = !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok {
                    self.report.note(
                        line,
                        format!("approval input `{n}`"),
                        "left out: not a name baton's gate inputs take",
                    );
                }
                ok
            })
            .map(|n| {
                let r = required.contains(&n);
                (n, r)
            })
            .collect();
        if let Some(l) = a.key_line("rewind_to").or(a.key_line("rewindTo")) {
            self.report.note(
                l,
                format!("step `{label}`: `approval.rewind_to`"),
                "left out: add the steps to run again to the gate's `revise`",
            );
        }
        self.report.note(line, format!("step `{label}`: `approval`"), format!("the gate step `{id}-approval` after it (Dagu asks once the step ran); fill in its `approvers` (none: anyone may approve)"));
        Step {
            id: format!("{id}-approval"),
            comments: vec![format!(
                "the approval of `{id}`, after it ran, as Dagu asks"
            )],
            needs: vec![id.to_string()],
            gate: Some(Gate { prompt, inputs }),
            ..Step::default()
        }
    }

    /// Dependants of a step whose skip they pass over.
    pub(super) fn passed_skips(&mut self) {
        let ok = self.skip_ok.clone();
        for s in &mut self.wf.steps {
            if s.when.is_none() && s.needs.iter().any(|n| ok.contains(n)) {
                s.when = Some("none_failed");
            }
        }
    }

    pub(super) fn dag_preconditions(&mut self, p: &Node, line: usize) {
        let mut gate = Step {
            id: "dag".into(),
            ..Step::default()
        };
        let check = self.preconditions(p, &mut gate, "the DAG");
        let cond = gate.cond.clone();
        let roots: Vec<usize> = (0..self.wf.steps.len())
            .filter(|i| self.wf.steps[*i].needs.is_empty())
            .collect();
        for i in roots {
            let s = &mut self.wf.steps[i];
            s.needs.extend(gate.needs.iter().cloned());
            s.cond = match (&s.cond, &cond) {
                (Some(a), Some(b)) => Some(format!("({a}) && {b}")),
                (None, c) => c.clone(),
                (a, None) => a.clone(),
            };
        }
        if let Some(c) = check {
            self.wf.steps.insert(0, c);
        }
        self.report.note(
            line,
            "the DAG's `preconditions`",
            "an `if` on its first steps: unmet, they and every step after them are skipped",
        );
    }

    pub(super) fn handlers(&mut self, h: &Node) -> Result<(), Invalid> {
        let all: Vec<String> = self.wf.steps.iter().map(|s| s.id.clone()).collect();
        let mut made = vec![];
        for (key, when) in [
            ("init", None),
            ("success", Some("none_failed")),
            ("failure", Some("one_failed")),
            ("exit", Some("all_done")),
        ] {
            let Some(node) = h.get(key) else { continue };
            let line = h.key_line(key).unwrap_or(node.line);
            let id = step_id(&format!("on-{key}"), &all);
            let mut st = self.step(node, line, &id)?.pop().unwrap_or_default();
            st.comments.insert(0, format!("Dagu's `handler_on.{key}`"));
            if key == "init" {
                for s in &mut self.wf.steps {
                    if s.needs.is_empty() {
                        s.needs.push(id.clone());
                    }
                }
                self.wf.steps.insert(0, st);
                continue;
            }
            st.needs = all.clone();
            if key == "exit" {
                st.needs.extend(made.iter().cloned());
            }
            st.when = when;
            if key == "failure" {
                self.report.note(line, "`handler_on.failure`", "runs at the first failure (`when = \"one_failed\"`), while Dagu runs it once every step ended");
            }
            made.push(id);
            self.wf.steps.push(st);
        }
        for key in ["abort", "cancel"] {
            let Some(node) = h.get(key) else { continue };
            let line = h.key_line(key).unwrap_or(node.line);
            let all: Vec<String> = self.wf.steps.iter().map(|s| s.id.clone()).collect();
            let id = step_id(&format!("on-{key}"), &all);
            let mut st = self.step(node, line, &id)?.pop().unwrap_or_default();
            st.comments.insert(0, format!("Dagu's `handler_on.{key}`"));
            st.needs.clear();
            st.on_cancel = true;
            self.wf.steps.push(st);
        }
        if let Some(l) = h.key_line("wait") {
            self.report.note(
                l,
                "`handler_on.wait`",
                "not yet supported: nothing runs then",
            );
        }
        Ok(())
    }
}

/// `run` with its stdout also kept as the output `var`: on one line (baton's outputs
/// are), its lines joined by spaces, trailing space trimmed as Dagu trims.
fn capture(run: &str, var: &str) -> String {
    format!(
        "o=$(mktemp) || exit 1\n(\n{run}\n) > \"$o\"\nrc=$?\ncat \"$o\"\nprintf '%s=%s\\n' {var} \"$(tr '\\n' ' ' < \"$o\" | sed 's/ *$//')\" >> \"$BATON_OUTPUT\"\nrm -f \"$o\"\nexit \"$rc\"\n"
    )
}

/// The steps `id` reaches through `needs`, itself left out.
fn ancestors(steps: &[Step], id: &str) -> Vec<String> {
    let mut seen: Vec<String> = vec![];
    let mut todo = vec![id.to_string()];
    while let Some(x) = todo.pop() {
        for n in steps
            .iter()
            .filter(|s| s.id == x)
            .flat_map(|s| s.needs.iter())
        {
            if !seen.contains(n) {
                seen.push(n.clone());
                todo.push(n.clone());
            }
        }
    }
    seen
}

impl Dag<'_> {
    /// Each step reads the outputs of the steps above it as Dagu's variables: `$VAR`
    /// in its environment, from `${{ steps.ID.outputs.VAR }}`.
    pub(super) fn pass_outputs(&mut self) {
        for i in 0..self.wf.steps.len() {
            let up = ancestors(&self.wf.steps, &self.wf.steps[i].id);
            let add: Vec<(String, String)> = self
                .outputs
                .iter()
                .filter(|(id, var)| {
                    up.contains(id) && !self.wf.steps[i].env.iter().any(|(k, _)| k == var)
                })
                .map(|(id, var)| (var.clone(), format!("${{{{ steps.{id}.outputs.{var} }}}}")))
                .collect();
            // Two steps above giving one name: the later one's (Dagu keeps the value
            // of whichever ended last).
            for (k, v) in add {
                let env = &mut self.wf.steps[i].env;
                env.retain(|(o, _)| *o != k);
                env.push((k, v));
            }
        }
    }
}

fn fail(msg: &str) -> (String, Vec<(String, String)>) {
    (
        "builtin.fail".into(),
        vec![("MESSAGE".into(), msg.to_string())],
    )
}

/// A script run as Dagu runs it: written to a file (from a quoted here-document, so
/// nothing in it is read on the way) and run by the command `c` if given, else by its
/// `#!` line (one without a path, `#!env perl`, by its words), else by `shell` or `sh`.
fn run_script(body: &str, c: Option<String>, shell: Option<&str>, args: &str) -> String {
    let bang = body
        .strip_prefix("#!")
        .and_then(|b| b.lines().next())
        .map(str::trim);
    let exec = match (bang, c) {
        (_, Some(cmd)) => format!("{cmd} \"$f\"{args}"),
        (Some(b), None) if b.starts_with('/') => {
            format!("chmod +x \"$f\" && \"$f\"{args}")
        }
        // `#!env perl`: no path the kernel runs; Dagu runs it by its words.
        (Some(b), None) => format!("{b} \"$f\"{args}"),
        (None, None) => {
            format!("{} \"$f\"{args}", shell.unwrap_or("sh"))
        }
    };
    let mut end = "BATON_SCRIPT".to_string();
    while body.lines().any(|l| l == end) {
        end.push('_');
    }
    format!(
        "f=$(mktemp) || exit 1\ntrap 'rm -f \"$f\"' EXIT\ncat > \"$f\" <<'{end}'\n{}\n{end}\n{exec}\n",
        body.trim_end_matches('\n')
    )
}

/// Shell that exports the `NAME=value` lines of the dotenv `file` (godotenv's plain
/// form: `#` comments, `export `, one pair of surrounding quotes) as data: no line is
/// run. A missing file is skipped, as Dagu skips it.
fn dotenv_reader(file: &str) -> String {
    format!(
        r#"if [ -r {f} ]; then
while IFS= read -r l || [ -n "$l" ]; do
  case $l in ''|'#'*) continue;; esac
  case $l in *=*) ;; *) continue;; esac
  l=${{l#export }}; k=${{l%%=*}}; v=${{l#*=}}
  case $k in ''|[0-9]*|*[!A-Za-z0-9_]*) continue;; esac
  case $v in \"*\") v=${{v#\"}}; v=${{v%\"}};; \'*\') v=${{v#\'}}; v=${{v%\'}};; esac
  export "$k=$v"
done < {f}
fi
"#,
        f = sh_quote(file)
    )
}

/// Dagu's `exit_code` (one code or a list) as baton's list `75, 1`; `None` when one
/// is not an exit code 0-255.
pub(super) fn exit_codes(n: &Node) -> Option<String> {
    let items: Vec<String> = match &n.v {
        Value::Seq(items) => items.iter().map(Node::text).collect::<Option<_>>()?,
        _ => vec![n.text()?],
    };
    let codes: Option<Vec<String>> = items
        .iter()
        .map(|c| c.trim().parse::<u8>().ok().map(|c| c.to_string()))
        .collect();
    codes.filter(|c| !c.is_empty()).map(|c| c.join(", "))
}

/// Dagu's run variables a command reads that baton does not set: its own log files.
const DAG_LOG_VARS: [&str; 3] = [
    "DAG_RUN_LOG_FILE",
    "DAG_RUN_STEP_STDOUT_FILE",
    "DAG_RUN_STEP_STDERR_FILE",
];

impl Dag<'_> {
    /// Dagu's `DAG_NAME`, `DAG_RUN_ID` and `DAG_RUN_STEP_NAME`, set (as Dagu sets them)
    /// before a command that reads one: the names as quoted text, the run id from
    /// `$BATON_RUN_ID`. Its log files' variables are reported: baton keeps a step's
    /// log itself.
    fn dag_vars(&mut self, s: &Node, run: String, label: &str, line: usize) -> String {
        let run = self.translate_refs(run, label, line);
        for r in dotted_refs(&run) {
            self.report.note(line, format!("step `{label}`: `{r}`"), "not translated: a child DAG's `.outputs.X` of no child step's `output` above, a slice Dagu refuses (`:-1`) or what is neither a variable's JSON path nor a step's `.output`, `.stdout`, `.stderr`, `.exitCode` (a step's `.status`, which Dagu leaves as written too); the shell reads `${A.b}` as a bad substitution and the step fails (publish the value as an output: `NAME=value` to $BATON_OUTPUT, read by `${{ steps.ID.outputs.NAME }}`)");
        }
        for v in DAG_LOG_VARS.iter().filter(|v| run.contains(**v)) {
            self.report.note(line, format!("step `{label}`: `${v}`"), "not set: baton keeps each attempt's output itself; read it with `baton logs RUN STEP`");
        }
        if !["DAG_NAME", "DAG_RUN_ID", "DAG_RUN_STEP_NAME"]
            .iter()
            .any(|v| run.contains(v))
        {
            return run;
        }
        let step = g(s, "name")
            .and_then(Node::text)
            .unwrap_or_else(|| label.to_string());
        format!(
            "DAG_NAME={} DAG_RUN_ID=\"$BATON_RUN_ID\" DAG_RUN_STEP_NAME={}\nexport DAG_NAME DAG_RUN_ID DAG_RUN_STEP_NAME\n{run}",
            sh_quote(&self.dag_name),
            sh_quote(&step)
        )
    }
}

/// Dagu's dotted references in a command (`${id.stdout}`, `${OUT.field.x}`), each once.
pub(super) fn dotted_refs(run: &str) -> Vec<String> {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = run;
    while let Some(at) = rest.find("${") {
        let tail = &rest[at..];
        let Some(end) = tail.find('}') else { break };
        let inner = &tail[2..end];
        let dotted = inner.split_once('.').is_some_and(|(head, field)| {
            super::env_name(head)
                && !field.is_empty()
                && field
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.[]-:".contains(c))
        });
        if dotted && !out.contains(&&tail[..=end]) {
            out.push(&tail[..=end]);
        }
        rest = &tail[2..];
    }
    out.into_iter().map(str::to_string).collect()
}

/// `text` as one double-quoted shell word in which only Dagu's expansions are live: a
/// leading `~` (`$HOME`), `$NAME` and `${NAME}`. `None` when it holds a backquote,
/// `$(` or another `$`: those are left as written.
pub(super) fn expand_word(text: &str) -> Option<String> {
    let (home, rest) = match text.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') => ("${HOME}", r),
        _ => ("", text),
    };
    let mut out = format!("\"{home}");
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '`' => return None,
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '$' => {
                let after = &rest[i + 1..];
                let braced = after.strip_prefix('{').and_then(|a| a.split_once('}'));
                let name = match braced {
                    Some((n, _)) => n,
                    None => after
                        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or(""),
                };
                if !super::env_name(name) {
                    return None;
                }
                out.push_str(&format!("${{{name}}}"));
                let skip = name.len() + if braced.is_some() { 2 } else { 0 };
                for _ in 0..skip {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    Some(out)
}

#[cfg(test)]
mod word_tests {
    use super::{dotted_refs, expand_word};

    #[test]
    fn dagus_dotted_references_are_found_once_each() {
        let run = "echo ${step1.stdout} ${OUT.outputs.X} ${step1.stdout} ${HOME} ${A:-x.y} ${J.items[0].name}";
        assert_eq!(
            dotted_refs(run),
            ["${step1.stdout}", "${OUT.outputs.X}", "${J.items[0].name}"]
        );
    }

    #[test]
    fn only_home_and_variables_are_live_in_a_dir() {
        assert_eq!(expand_word("~/work").as_deref(), Some(r#""${HOME}/work""#));
        assert_eq!(expand_word("~").as_deref(), Some(r#""${HOME}""#));
        assert_eq!(
            expand_word("$DATA_DIR/x y/${SUB}").as_deref(),
            Some(r#""${DATA_DIR}/x y/${SUB}""#)
        );
        assert_eq!(expand_word(r#"a"b\c"#).as_deref(), Some(r#""a\"b\\c""#));
        assert_eq!(expand_word("~user/x").as_deref(), Some(r#""~user/x""#));
        for live in ["$(rm -rf /)", "`id`", "${A:-$(id)}", "$", "a$ b"] {
            assert_eq!(expand_word(live), None, "{live}");
        }
    }
}
