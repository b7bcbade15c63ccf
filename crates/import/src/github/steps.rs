//! A job's steps: `run:` bodies, actions and a step's own `if`, for the job's script
//! (`crate::shim`).
use super::Ctx;
use super::values::{self, script_word};
use crate::expr::{self, Status};
use crate::out::{Quote, Step};
use crate::shim::{self, Action, EnvFrom, Guard, Shell, ShimStep};
use crate::yaml::Node;

pub(super) fn steps(
    job: &Node,
    defaults: Option<&Node>,
    step: &mut Step,
    c: &mut Ctx,
) -> Vec<ShimStep> {
    let mut shims = vec![];
    c.json.step_ids.clear();
    for (n, s) in job
        .get("steps")
        .and_then(Node::seq)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        c.script_vars = 0;
        let sh = one_step(n + 1, s, defaults, step, c);
        c.json.step_ids.extend(sh.id.clone());
        shims.push(sh);
    }
    shims
}

/// Step `n` of the job, for its script.
fn one_step(n: usize, s: &Node, defaults: Option<&Node>, step: &mut Step, c: &mut Ctx) -> ShimStep {
    let label = s
        .get("name")
        .and_then(Node::text)
        .or_else(|| s.get("uses").and_then(Node::text))
        .unwrap_or_else(|| "run".into());
    let line = s.line;
    let mut sh = ShimStep {
        title: format!("{n}: {label} (line {line})"),
        id: s.get("id").and_then(Node::text),
        guard: Guard::Success,
        test: None,
        action: Action::Nothing(String::new()),
        dir: None,
        env: vec![],
        continue_on_error: "0".into(),
        timeout_min: None,
    };
    if let Some(t) = s.get("continue-on-error").and_then(Node::text) {
        let l = s.key_line("continue-on-error").unwrap_or(line);
        sh.continue_on_error = step_coe(&t, n, step, c, l);
    }
    if let Some(t) = s.get("timeout-minutes").and_then(Node::text) {
        let l = s.key_line("timeout-minutes").unwrap_or(line);
        sh.timeout_min = Some(script_word(&t, (n, "`timeout-minutes`"), step, c, l));
    }
    // The step's env first: its directory, shell and body may read it.
    for (k, l, v) in s.get("env").and_then(Node::map).unwrap_or_default() {
        if !c.env_name(k, *l) {
            continue;
        }
        let text = v.text().unwrap_or_default();
        let w = script_word(&text, (n, &format!("env `{k}`")), step, c, *l);
        sh.env.push((k.clone(), EnvFrom::Word(w)));
    }
    let dir = place_text(s, defaults, "working-directory");
    sh.dir = dir.map(|(d, l)| script_word(&d, (n, "`working-directory`"), step, c, l));
    if let Some(cond) = s.get("if").and_then(Node::text) {
        let l = s.key_line("if").unwrap_or(line);
        step_if(&cond, n, l, &mut sh, step, c);
    }
    if let Some(mut run) = s.get("run").and_then(Node::text) {
        if run.contains("${{") {
            let l = s.key_line("run").unwrap_or(line);
            run = run_templates(&run, n, (step, &mut sh), c, l);
        }
        let shell = match place_text(s, defaults, "shell") {
            Some((t, l)) if t.contains("${{") => {
                Shell::Templated(script_word(&t, (n, "`shell`"), step, c, l))
            }
            other => Shell::Line(shim::shell_line(other.map(|(t, _)| t).as_deref())),
        };
        sh.action = Action::Run { body: run, shell };
    } else if let Some(uses) = s.get("uses").and_then(Node::text) {
        sh.action = action(&uses, s, n, c);
    }
    sh
}

/// A step's `continue-on-error` as a shell word reading `1` or `0`: `true`, `false`,
/// or an expression decided in the script (GitHub reads `true` only as true).
fn step_coe(t: &str, n: usize, step: &mut Step, c: &mut Ctx, line: usize) -> String {
    match t.trim() {
        "true" => "1".into(),
        "false" | "" => "0".into(),
        _ => match values::piece_word_x(t, n, step, c, line) {
            Ok(w) => {
                c.report.note(
                    line,
                    format!("step {n}: `continue-on-error: {t}`"),
                    "decided in the job's script when the step ends",
                );
                format!("\"$(case {w} in truex) printf 1 ;; *) printf 0 ;; esac)\"")
            }
            Err(why) => {
                c.report.note(
                    line,
                    format!("step {n}: `continue-on-error: {t}`"),
                    format!("read as false: {why}"),
                );
                "0".into()
            }
        },
    }
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
/// (`${S2_E1}`), each computed by the script (`values`): GitHub pastes the text into
/// the script, baton hands it over as data.
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
    let mut q = Quote::None;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        q = q.after(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else { break };
        let piece = &rest[i..i + j + 2];
        rest = &rest[i + j + 2..];
        k += 1;
        let var = format!("S{n}_E{k}");
        let w = script_word(piece, (n, "`run:`"), step, c, line);
        sh.env.push((var.clone(), EnvFrom::Word(w)));
        // Where GitHub pastes the text inside '…', the variable is read between
        // quotes closed and opened again: `echo '${{ x }}'` is `echo ''"${S3_E1}"''`.
        out.push_str(&match q {
            Quote::Single => format!("'\"${{{var}}}\"'"),
            _ => format!("${{{var}}}"),
        });
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

/// A step's own `if`: its status functions become the script's guard, the rest a shell
/// test over words the script computes (`values`); status functions beside values
/// (`steps.a.outcome == 'failure' || !success()`) are tested in the script too. What
/// cannot be decided so makes the step never run, reported.
fn step_if(cond: &str, n: usize, line: usize, sh: &mut ShimStep, step: &mut Step, c: &mut Ctx) {
    let e = match expr::parse(cond) {
        Ok(e) => e,
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
    let (status, rest) = match expr::split_status(&e) {
        Ok(x) => x,
        // Status functions beside values: the whole test in the script.
        Err(_) => (Status::Done, Some(e)),
    };
    sh.guard = match status {
        Status::Success => Guard::Success,
        Status::Failure => Guard::Failure,
        Status::Done => Guard::Always,
        Status::Cancelled | Status::Never => {
            c.report.note(
                line,
                format!("step {n} `if: {cond}`"),
                "the step never runs: nothing runs once a baton run is cancelled",
            );
            Guard::Never
        }
    };
    let Some(rest) = rest else { return };
    match values::expr_test(&rest, n, step, c, line) {
        Ok(t) => {
            c.report.note(line, format!("step {n} `if: {cond}`"), "decided by the job's script over the values it reads (earlier steps' outputs and outcomes from their files, templates as variables), text compared ignoring case as GitHub does");
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
