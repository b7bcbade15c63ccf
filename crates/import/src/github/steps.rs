//! A job's steps: `run:` bodies, actions and a step's own `if`, for the job's script
//! (`crate::shim`).
use super::{Ctx, Place, Reader, template};
use crate::expr::{self, Names, Status};
use crate::out::Step;
use crate::shim::{self, Action, EnvFrom, Guard, Piece, Shell, ShimStep, Word};
use crate::yaml::Node;

pub(super) fn steps(
    job: &Node,
    defaults: Option<&Node>,
    step: &mut Step,
    c: &mut Ctx,
) -> Vec<ShimStep> {
    let mut shims = vec![];
    for (n, s) in job
        .get("steps")
        .and_then(Node::seq)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let label = s
            .get("name")
            .and_then(Node::text)
            .or_else(|| s.get("uses").and_then(Node::text))
            .unwrap_or_else(|| "run".into());
        let line = s.line;
        let mut sh = ShimStep {
            title: format!("{}: {label} (line {line})", n + 1),
            id: s.get("id").and_then(Node::text),
            guard: Guard::Success,
            test: None,
            action: Action::Nothing(String::new()),
            dir: None,
            env: vec![],
            continue_on_error: s.get("continue-on-error").and_then(Node::text).as_deref()
                == Some("true"),
            timeout_min: s
                .get("timeout-minutes")
                .and_then(Node::text)
                .and_then(|t| t.parse().ok()),
        };
        let dir = place_text(s, defaults, "working-directory");
        sh.dir = dir.map(|(d, l)| word(&d, (n + 1, "D", "working-directory"), step, c, l));
        if let Some(cond) = s.get("if").and_then(Node::text) {
            let l = s.key_line("if").unwrap_or(line);
            step_if(&cond, n + 1, l, &mut sh, step, c);
        }
        for (k, l, v) in s.get("env").and_then(Node::map).unwrap_or_default() {
            if !c.env_name(k, *l) {
                continue;
            }
            let text = v.text().unwrap_or_default();
            if let Some((id, key)) = step_output(&text) {
                c.report.note(
                    *l,
                    format!("step {}: env `{k}: {text}`", n + 1),
                    format!("read in the script from what step `{id}` wrote to $GITHUB_OUTPUT"),
                );
                sh.env.push((k.clone(), EnvFrom::Output(id, key)));
                continue;
            }
            let var = format!("S{}_{k}", n + 1);
            let val = template(
                &v.text().unwrap_or_default(),
                c,
                Place::StepEnv,
                &step.needs.clone(),
                *l,
            );
            step.env.push((var.clone(), val));
            sh.env.push((k.clone(), EnvFrom::Var(var)));
        }
        if let Some(mut run) = s.get("run").and_then(Node::text) {
            if run.contains("${{") {
                let l = s.key_line("run").unwrap_or(line);
                run = run_templates(&run, n + 1, (step, &mut sh), c, l);
            }
            let shell = match place_text(s, defaults, "shell") {
                Some((t, l)) if t.contains("${{") => {
                    Shell::Templated(word(&t, (n + 1, "SH", "shell"), step, c, l))
                }
                other => Shell::Line(shim::shell_line(other.map(|(t, _)| t).as_deref())),
            };
            sh.action = Action::Run { body: run, shell };
        } else if let Some(uses) = s.get("uses").and_then(Node::text) {
            sh.action = action(&uses, s, n + 1, c);
        }
        shims.push(sh);
    }
    shims
}

fn action(uses: &str, s: &Node, n: usize, c: &mut Ctx) -> Action {
    let name = uses.split('@').next().unwrap_or(uses);
    let line = s.key_line("uses").unwrap_or(s.line);
    let with: Vec<String> = s
        .get("with")
        .and_then(Node::map)
        .unwrap_or_default()
        .iter()
        .map(|(k, _, v)| format!("{k}: {}", v.text().unwrap_or_default()))
        .collect();
    if name == "actions/checkout" {
        return Action::Nothing(format!(
            "{name}: nothing to do, the workflow runs in its checkout"
        ));
    }
    if let Some(tool) = name.strip_prefix("actions/setup-") {
        c.report.note(
            line,
            format!("step {n}: `{name}` ({})", with.join(", ")),
            format!("nothing done: the machine's own {tool} is used"),
        );
        return Action::Nothing(format!(
            "{name} ({}): the machine's own {tool} is used",
            with.join(", ")
        ));
    }
    c.report.note(
        line,
        format!("step {n}: the action `{uses}`"),
        "baton cannot run an action: the step fails saying so; replace it with commands",
    );
    Action::Fail(format!(
        "step {n} uses the action {uses}, which baton cannot run: replace it with commands (baton import)"
    ))
}

/// `${{ … }}` pieces of a `run:` body as environment variables the body reads
/// (`${S2_E1}`), each set by a baton template in the step's `env`: GitHub pastes the
/// text into the script, baton hands it over as data.
fn run_templates(
    body: &str,
    n: usize,
    (step, sh): (&mut Step, &mut ShimStep),
    c: &mut Ctx,
    line: usize,
) -> String {
    let mut out = String::new();
    let mut rest = body;
    let mut k = 0;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else { break };
        let piece = &rest[i..i + j + 2];
        rest = &rest[i + j + 2..];
        k += 1;
        let var = format!("S{n}_E{k}");
        if let Some((id, key)) = step_output(piece) {
            c.report.note(line, format!("step {n}: `{piece}` inside `run:`"), format!("passed as data in ${var}, read in the script from what step `{id}` wrote to $GITHUB_OUTPUT"));
            sh.env.push((var.clone(), EnvFrom::Output(id, key)));
            out.push_str(&format!("${{{var}}}"));
            continue;
        }
        let needs = step.needs.clone();
        let val = template(piece, c, Place::StepEnv, &needs, line);
        c.report.note(line, format!("step {n}: `{piece}` inside `run:`"), format!("passed as data in ${var} (set from `{val}`): GitHub pastes the text into the script"));
        step.env.push((var.clone(), val));
        out.push_str(&format!("${{{var}}}"));
    }
    out.push_str(&rest.replace("${{", "$ {{"));
    out
}

/// A step's `key` (`working-directory`, `shell`), else the `defaults.run` one, with the
/// line it is on.
fn place_text(s: &Node, defaults: Option<&Node>, key: &str) -> Option<(String, usize)> {
    if let Some(t) = s.get(key).and_then(Node::text) {
        return Some((t, s.key_line(key).unwrap_or(s.line)));
    }
    let d = defaults?;
    let t = d.get(key).and_then(Node::text)?;
    Some((t, d.key_line(key).unwrap_or(d.line)))
}

/// A `working-directory` or `shell` as a [`Word`]: its `${{ … }}` pieces as variables
/// of the step's `env` (`$S2_D1`) set by baton templates, so a value reaches the script
/// as data, as in a `run:` body. `(n, tag, what)`: the step's number, the variables'
/// infix and the key, for the report.
fn word(
    text: &str,
    (n, tag, what): (usize, &str, &str),
    step: &mut Step,
    c: &mut Ctx,
    line: usize,
) -> Word {
    let mut w = Word::default();
    let mut rest = text;
    let mut k = 0;
    while let Some(i) = rest.find("${{") {
        let Some(j) = rest[i..].find("}}") else { break };
        if i > 0 {
            w.0.push(Piece::Lit(rest[..i].to_string()));
        }
        let piece = &rest[i..i + j + 2];
        rest = &rest[i + j + 2..];
        k += 1;
        let var = format!("S{n}_{tag}{k}");
        let needs = step.needs.clone();
        let val = template(piece, c, Place::StepEnv, &needs, line);
        c.report.note(
            line,
            format!("step {n}: `{piece}` in `{what}`"),
            format!("passed as data in ${var} (set from `{val}`): GitHub pastes the text into the script"),
        );
        step.env.push((var.clone(), val));
        w.0.push(Piece::Var(var));
    }
    if !rest.is_empty() || w.0.is_empty() {
        // An unclosed `${{` stays text, defused for baton's loader.
        w.0.push(Piece::Lit(rest.replace("${{", "$ {{")));
    }
    w
}

/// `${{ steps.ID.outputs.KEY }}`, alone: the step and the key.
fn step_output(text: &str) -> Option<(String, String)> {
    match expr::parse(text).ok()? {
        expr::E::Name(p) if p.len() == 4 && p[0] == "steps" && p[2] == "outputs" => {
            Some((p[1].clone(), p[3].clone()))
        }
        _ => None,
    }
}

/// A step's own `if`: its status functions become the script's guard, the rest a shell
/// test over variables the step's `env` sets from templates (`$S3_IF1`). What cannot be
/// decided so makes the step never run, reported.
fn step_if(cond: &str, n: usize, line: usize, sh: &mut ShimStep, step: &mut Step, c: &mut Ctx) {
    let parsed = expr::parse(cond).and_then(|e| expr::split_status(&e));
    let (status, rest) = match parsed {
        Ok(x) => x,
        Err(why) => {
            c.report.note(
                line,
                format!("step {n} `if: {cond}`"),
                format!("the step never runs: {why}"),
            );
            sh.guard = Guard::Never;
            return;
        }
    };
    sh.guard = match status {
        Status::Success => Guard::Success,
        Status::Failure => Guard::Failure,
        Status::Done => Guard::Always,
        Status::Cancelled => {
            c.report.note(
                line,
                format!("step {n} `if: {cond}`"),
                "the step never runs: nothing runs once a baton run is cancelled",
            );
            Guard::Never
        }
    };
    let Some(rest) = rest else { return };
    let needs = step.needs.clone();
    let mut vars: Vec<(String, String)> = vec![];
    let mut var = |p: &[String]| -> Result<String, expr::NameError> {
        if p.len() == 4 && p[0] == "steps" && p[2] == "outputs" {
            return Ok(shim::output_word(&p[1], &p[3]));
        }
        if p == ["runner", "os"] {
            // The machine the step runs on, in GitHub's words (Linux, macOS).
            return Ok("\"$(uname -s | sed 's/^Darwin$/macOS/')\"".into());
        }
        let mut r = Reader {
            c,
            place: Place::StepEnv,
            needs: needs.clone(),
            line,
        };
        let name = r.name(p)?;
        let v = format!("S{n}_IF{}", vars.len() + 1);
        vars.push((v.clone(), format!("${{{{ {name} }}}}")));
        Ok(format!("\"${v}\""))
    };
    let shell = expr::to_shell(&rest, &mut var);
    match shell {
        Ok(t) => {
            let names: Vec<String> = vars.iter().map(|(v, _)| format!("${v}")).collect();
            c.report.note(line, format!("step {n} `if: {cond}`"), format!("decided by the script over {} (earlier steps' outputs read from their files), text compared ignoring case as GitHub does", if names.is_empty() { "no template".to_string() } else { format!("{} (set from templates)", names.join(", ")) }));
            step.env.extend(vars);
            sh.test = Some(t);
        }
        Err(why) => {
            c.report.note(
                line,
                format!("step {n} `if: {cond}`"),
                format!("the step never runs: {why}"),
            );
            sh.guard = Guard::Never;
        }
    }
}
