//! A GitHub Actions workflow into a baton workflow (docs/import-github.md).
use crate::expr::{self, E, NameError, Names, Status};
use crate::out::{Gate, Param, Schedule, Step, Workflow, step_id};
use crate::shim;
use crate::yaml::{Node, Value};
use crate::{Invalid, Report};

mod checks;
mod implied;
mod matrix;
mod steps;
mod tojson;
mod values;
use steps::steps;

/// Where a name is read, which decides the names baton allows there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The run-wide `env`, a concurrency group: params and `env`.
    Run,
    /// A job's `if`: params, `env`, its needs' outputs and states.
    Cond,
    /// `continue-on-error`: params and the matrix.
    Allow,
    /// A step's `env`: all of the above but states.
    StepEnv,
}

struct Ctx<'a> {
    name: String,
    params: Vec<Param>,
    env: Vec<String>,
    /// GitHub job id → baton step id.
    jobs: Vec<(String, String)>,
    secrets: Vec<String>,
    /// The keys of the matrix of the job being read (none without one).
    matrix_keys: Vec<String>,
    /// The matrix key a `for_each` job reads as its item (`matrix.KEY` is `item`).
    matrix_item: Option<String>,
    /// Variables of the step being read that templates set for its script (`S3_T1`).
    script_vars: usize,
    /// Each job's outputs as baton declares them (`job_outputs`), by GitHub job id.
    outputs: Vec<(String, Vec<String>)>,
    /// The inputs of type boolean or number: `toJSON` writes their value bare.
    bare: Vec<String>,
    json: tojson::Known,
    report: &'a mut Report,
}

struct Reader<'c, 'a> {
    c: &'c mut Ctx<'a>,
    place: Place,
    needs: Vec<String>,
    line: usize,
}

impl Ctx<'_> {
    /// Whether `k` is a name the environment takes (`[A-Za-z_][A-Za-z0-9_]*`); noted
    /// and left out when not, so that a name never reaches the script as code.
    fn env_name(&mut self, k: &str, line: usize) -> bool {
        let ok = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.report.note(
                line,
                format!("env `{k}`"),
                "left out: not an environment variable name",
            );
        }
        ok
    }

    fn job(&self, gh: &str) -> Option<String> {
        self.jobs
            .iter()
            .find(|(g, _)| g == gh)
            .map(|(_, b)| b.clone())
    }

    /// The param standing for a GitHub context value, declared at its first use.
    fn param(&mut self, name: String, what: &str, line: usize) -> String {
        if !self.params.iter().any(|p| p.name == name) {
            let default = (what == "github.workflow")
                .then(|| self.name.clone())
                .or(Some(String::new()));
            self.report.note(
                line,
                format!("`{what}`"),
                format!(
                    "read from the param `{name}` (default {:?}): give it with --param {name}=…",
                    default.clone().unwrap_or_default()
                ),
            );
            self.params.push(Param {
                name: name.clone(),
                kind: "string",
                default,
                description: Some(format!("GitHub's `{what}`")),
                ..Param::default()
            });
        }
        format!("params.{name}")
    }
}

impl Reader<'_, '_> {
    /// The baton step of job `job`, read at `path`: one of this job's needs (GitHub's
    /// `needs` context holds those only).
    fn need(&self, path: &str, job: &str) -> Result<String, NameError> {
        let Some(j) = self.c.job(job) else {
            return Err(NameError::NoJob {
                path: path.to_owned(),
                job: job.to_owned(),
            });
        };
        if !self.needs.contains(&j) {
            return Err(NameError::NotANeed {
                path: path.to_owned(),
                job: job.to_owned(),
            });
        }
        Ok(j)
    }
}

impl Names for Reader<'_, '_> {
    fn name(&mut self, p: &[String]) -> Result<String, NameError> {
        let path = p.join(".");
        let head = p[0].as_str();
        match (head, p.len()) {
            ("github", 2..) => {
                // An object filter (`labels.*.name`) is `all` in the param's name, whose
                // text holds the values (`contains` finds one in it), reported.
                let n = format!("github_{}", p[1..].join("_"))
                    .replace('*', "all")
                    .replace(|ch: char| !ch.is_ascii_alphanumeric(), "_");
                Ok(self.c.param(n, &path, self.line))
            }
            ("inputs", 2) => {
                if self.c.params.iter().any(|x| x.name == p[1]) {
                    Ok(format!("params.{}", p[1]))
                } else {
                    Ok(self.c.param(p[1].clone(), &path, self.line))
                }
            }
            ("vars", 2) => Ok(self.c.param(format!("vars_{}", p[1]), &path, self.line)),
            ("env", 2) if self.c.env.contains(&p[1]) => Ok(path),
            ("env", 2) => Err(NameError::EnvNotRunWide { path }),
            ("matrix", 2)
                if matches!(self.place, Place::Allow | Place::StepEnv)
                    && self.c.matrix_keys.contains(&p[1]) =>
            {
                Ok(path)
            }
            // A mapping's value, written out as the key `KEY_SUB` (`github/matrix.rs`).
            ("matrix", 3..)
                if matches!(self.place, Place::Allow | Place::StepEnv)
                    && self
                        .c
                        .matrix_keys
                        .contains(&matrix::key_of(&p[1..].join("_"))) =>
            {
                Ok(format!("matrix.{}", matrix::key_of(&p[1..].join("_"))))
            }
            ("matrix", 2)
                if matches!(self.place, Place::Allow | Place::StepEnv)
                    && self.c.matrix_item.as_deref() == Some(p[1].as_str()) =>
            {
                Ok("item".into())
            }
            ("matrix", 2) => Err(NameError::NoMatrixKey {
                path,
                key: p[1].clone(),
            }),
            // GitHub's job results: baton reads the same four words (`needs.J.result`).
            ("needs", 3)
                if p[1] == "*"
                    && p[2] == "result"
                    && matches!(self.place, Place::Cond | Place::StepEnv) =>
            {
                Ok(path)
            }
            ("needs", 3)
                if p[2] == "result" && matches!(self.place, Place::Cond | Place::StepEnv) =>
            {
                Ok(format!("needs.{}.result", self.need(&path, &p[1])?))
            }
            ("needs", 4)
                if p[2] == "outputs" && matches!(self.place, Place::Cond | Place::StepEnv) =>
            {
                let j = self.need(&path, &p[1])?;
                // A job that declares outputs has those only: another reads '' on GitHub,
                // and baton refuses a template naming it.
                let declared = self.c.outputs.iter().find(|(g, _)| *g == p[1]);
                if declared.is_some_and(|(_, o)| !o.is_empty() && !o.contains(&p[3])) {
                    return Err(NameError::NoOutput {
                        path,
                        job: p[1].clone(),
                    });
                }
                Ok(format!("steps.{j}.outputs.{}", p[3]))
            }
            _ => Err(NameError::NoCounterpart { path }),
        }
    }
}

fn bad(line: usize, m: impl Into<String>, hint: &'static str) -> Invalid {
    (line, m.into(), hint)
}

pub(crate) fn import(doc: &Node, stem: &str, report: &mut Report) -> Result<Workflow, Invalid> {
    let Some(jobs) = doc.get("jobs").and_then(Node::map) else {
        return Err(bad(
            doc.key_line("jobs").unwrap_or(1),
            "no `jobs:` mapping",
            "a GitHub workflow has `jobs:` with one entry per job",
        ));
    };
    checks::jobs(jobs)?;
    let name = doc
        .get("name")
        .and_then(Node::text)
        .unwrap_or_else(|| stem.to_string());
    let mut c = Ctx {
        name: name.clone(),
        params: vec![],
        env: vec![],
        jobs: vec![],
        secrets: vec![],
        matrix_keys: vec![],
        matrix_item: None,
        script_vars: 0,
        outputs: jobs
            .iter()
            .map(|(k, _, j)| (k.clone(), declared_outputs(j)))
            .collect(),
        bare: vec![],
        json: tojson::Known::default(),
        report,
    };
    let mut wf = Workflow {
        name: step_id(&name, &[]),
        description: Some(format!("Imported from the GitHub workflow \"{name}\"")),
        ..Workflow::default()
    };
    triggers(doc, &mut c, &mut wf);
    let mut taken = vec![];
    for (k, _, _) in jobs {
        let id = step_id(k, &taken);
        taken.push(id.clone());
        c.jobs.push((k.clone(), id));
    }
    run_env(doc, &mut c, &mut wf);
    if let Some(cc) = doc.get("concurrency") {
        wf.concurrency = Some(concurrency(
            cc,
            &mut c,
            doc.key_line("concurrency").unwrap_or(1),
        ));
    }
    for key in ["permissions", "run-name"] {
        if let Some(l) = doc.key_line(key) {
            c.report.note(
                l,
                format!("`{key}`"),
                "left out: it has no meaning outside GitHub",
            );
        }
    }
    let defaults = doc.get("defaults").and_then(|d| d.get("run"));
    let mut runs_on_noted = false;
    for (k, line, job) in jobs {
        if job.get("runs-on").is_some() && !runs_on_noted {
            runs_on_noted = true;
            c.report.note(job.key_line("runs-on").unwrap_or(*line), "`runs-on`", "each job runs where baton runs (add an `executor` to the step to send it elsewhere)");
        }
        let step = self::job(k, *line, job, defaults, &mut c)?;
        wf.steps.push(step);
    }
    if let Some(ids) = crate::out::cycle(&wf.steps) {
        let line = jobs
            .iter()
            .find(|(k, _, _)| c.job(k).as_deref() == Some(ids[0].as_str()))
            .and_then(|(_, l, j)| j.key_line("needs").or(Some(*l)))
            .unwrap_or(1);
        return Err(bad(
            line,
            format!("the jobs need each other in a cycle: {}", ids.join(" -> ")),
            "GitHub refuses it too: remove one of these `needs`",
        ));
    }
    default_vars(&mut c, &mut wf, doc.key_line("jobs").unwrap_or(1));
    let lines: Vec<usize> = jobs.iter().map(|(_, l, _)| *l).collect();
    implied::add_jobs_above(&mut wf.steps, &lines, &mut c);
    if !wf.schedules.is_empty() {
        optional_for_schedules(&mut c, doc.key_line("on").unwrap_or(1));
    }
    wf.params = c.params;
    wf.secrets = c.secrets;
    Ok(wf)
}

/// GitHub's default variables that say what a run is about, each from a param
/// (`github_actor` → `$GITHUB_ACTOR`); left empty, the script gives this machine's
/// (its user, the checkout's commit and branch, `workflow_dispatch`: shim/prelude.sh).
const DEFAULT_VARS: [&str; 5] = ["actor", "event_name", "ref", "sha", "repository"];

fn default_vars(c: &mut Ctx, wf: &mut Workflow, line: usize) {
    for x in DEFAULT_VARS {
        let (name, var) = (
            format!("github_{x}"),
            format!("GITHUB_{}", x.to_ascii_uppercase()),
        );
        if !c.params.iter().any(|p| p.name == name) {
            c.params.push(Param {
                name: name.clone(),
                kind: "string",
                default: Some(String::new()),
                description: Some(format!(
                    "GitHub's `github.{x}` (${var}); empty: this machine's"
                )),
                ..Param::default()
            });
        }
        if !wf.env.iter().any(|(k, _)| *k == var) {
            wf.env.push((var, format!("${{{{ params.{name} }}}}")));
        }
    }
    c.report.note(line, "GitHub's default variables", "$GITHUB_ACTOR, $GITHUB_EVENT_NAME, $GITHUB_REF, $GITHUB_SHA and $GITHUB_REPOSITORY come from the params github_actor, github_event_name, github_ref, github_sha and github_repository; left empty, each job's script gives this machine's (its user, `workflow_dispatch`, the checkout's branch and commit, its `origin`), and $GITHUB_WORKSPACE, $GITHUB_RUN_ID, $RUNNER_OS and the others are the run's");
}

/// The workflow's `env` as the run-wide `[env]`, its values baton templates.
fn run_env(doc: &Node, c: &mut Ctx, wf: &mut Workflow) {
    for (k, line, v) in doc.get("env").and_then(Node::map).unwrap_or_default() {
        if !c.env_name(k, *line) {
            continue;
        }
        let val = template(&v.text().unwrap_or_default(), c, Place::Run, &[], *line);
        c.env.push(k.clone());
        wf.env.push((k.clone(), val));
    }
}

fn triggers(doc: &Node, c: &mut Ctx, wf: &mut Workflow) {
    let Some(on) = doc.get("on") else {
        c.report.note(1, "no `on:`", "GitHub refuses a workflow without triggers (act plans none of its jobs); here `baton run` runs it");
        return;
    };
    let line = doc.key_line("on").unwrap_or(1);
    let names: Vec<(String, usize, Option<&Node>)> = match &on.v {
        Value::Map(m) => m.iter().map(|(k, l, v)| (k.clone(), *l, Some(v))).collect(),
        _ => on.words().into_iter().map(|w| (w, line, None)).collect(),
    };
    let mut other = vec![];
    for (ev, l, body) in names {
        match ev.as_str() {
            "workflow_dispatch" | "workflow_call" => {
                for (name, pl, p) in body
                    .and_then(|b| b.get("inputs"))
                    .and_then(Node::map)
                    .unwrap_or_default()
                {
                    // `workflow_dispatch` and `workflow_call` may both declare it.
                    c.params.retain(|x| x.name != *name);
                    c.params.push(input(name, *pl, p, c.report));
                    let t = p.get("type").and_then(Node::text);
                    if matches!(t.as_deref(), Some("boolean" | "number")) {
                        c.bare.push(name.clone());
                    }
                }
                if ev == "workflow_call" {
                    c.report.note(l, "`on: workflow_call`", "its inputs are params; a calling workflow cannot call this one (run it with `baton run`)");
                }
            }
            "schedule" => {
                for s in body.and_then(Node::seq).unwrap_or_default() {
                    if let Some(cron) = s.get("cron").and_then(Node::text) {
                        let timezone = s
                            .get("timezone")
                            .and_then(Node::text)
                            .or(Some("UTC".into()));
                        wf.schedules.push(Schedule { cron, timezone });
                    }
                }
            }
            _ => other.push(ev),
        }
    }
    if !other.is_empty() {
        c.report.note(line, format!("`on: {}`", other.join(", ")), "baton starts a run by `baton run` or a `[[schedule]]` only: these events start nothing (what they would carry, `github.*`, is params)");
    }
}

/// A scheduled run has no inputs (GitHub reads each as `''`): a required param would
/// refuse every slot, so each is optional, empty by default (a `list`, a matrix axis,
/// has no value: its step is skipped).
fn optional_for_schedules(c: &mut Ctx, line: usize) {
    for p in c.params.iter_mut().filter(|p| p.required) {
        c.report.note(
            line,
            format!("required param `{}` with `on: schedule`", p.name),
            "optional, empty by default, as a scheduled run reads it on GitHub",
        );
        p.required = false;
        if p.kind == "enum" {
            p.kind = "string";
            p.values.clear();
        }
        if p.kind != "list" {
            p.default = Some(String::new());
        }
    }
}

fn input(name: &str, line: usize, p: &Node, report: &mut Report) -> Param {
    let t = p
        .get("type")
        .and_then(Node::text)
        .unwrap_or_else(|| "string".into());
    let values = p.get("options").map(Node::words).unwrap_or_default();
    // GitHub decides a default over literals (`default: ${{ 1 }}`) before the run.
    let default = p.get("default").and_then(Node::text).map(|d| {
        if d.contains("${{") {
            matrix::decided_text(&d).unwrap_or(d)
        } else {
            d
        }
    });
    let mut kind = match t.as_str() {
        "boolean" => "bool",
        "choice" if !values.is_empty() => "enum",
        "number" => {
            report.note(
                line,
                format!("input `{name}` of type number"),
                "a string param (baton's `int` takes whole numbers only)",
            );
            "string"
        }
        _ => "string",
    };
    let fits = match (kind, default.as_deref()) {
        (_, None) => true,
        ("bool", Some(d)) => d == "true" || d == "false",
        ("enum", Some(d)) => values.iter().any(|v| v == d),
        _ => true,
    };
    if !fits {
        report.note(
            line,
            format!(
                "input `{name}`: default {:?} is not a {t} value",
                default.clone().unwrap_or_default()
            ),
            "a string param, so that the default stands",
        );
        kind = "string";
    }
    let required = p.get("required").and_then(Node::text).as_deref() == Some("true");
    Param {
        name: name.to_string(),
        kind,
        values: if kind == "enum" { values } else { vec![] },
        required: required && default.is_none(),
        default,
        description: p.get("description").and_then(Node::text),
    }
}

fn concurrency(cc: &Node, c: &mut Ctx, line: usize) -> (String, String) {
    let (group, cancel) = match &cc.v {
        Value::Map(_) => (
            cc.get("group").and_then(Node::text).unwrap_or_default(),
            cc.get("cancel-in-progress")
                .and_then(Node::text)
                .unwrap_or_default(),
        ),
        _ => (cc.text().unwrap_or_default(), String::new()),
    };
    let group = template(&group, c, Place::Run, &[], line);
    let on_conflict = match cancel.as_str() {
        "true" => "cancel_running",
        "false" | "" => "queue",
        e => {
            c.report.note(
                line,
                format!("`cancel-in-progress: {e}`"),
                "read as false (`queue`): baton decides it when the file loads",
            );
            "queue"
        }
    };
    (
        if group.trim().is_empty() {
            c.name.clone()
        } else {
            group
        },
        on_conflict.into(),
    )
}

/// A text with `${{ }}` pieces as a baton template: a name becomes baton's name, an
/// `A || B` its first name (noted), anything else the empty text (noted).
fn template(s: &str, c: &mut Ctx, place: Place, needs: &[String], line: usize) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find("}}") else { break };
        let inner = &rest[i + 3..i + j];
        rest = &rest[i + j + 2..];
        let mut r = Reader {
            c,
            place,
            needs: needs.to_vec(),
            line,
        };
        let e = expr::parse(inner);
        let first = match &e {
            Ok(E::Bin("||", l, _)) => Some(l.as_ref().clone()),
            _ => None,
        };
        match (&e, first) {
            (Ok(E::Name(p)), _) if p[0] == "secrets" && p.len() == 2 => {
                if !r.c.secrets.contains(&p[1]) {
                    r.c.secrets.push(p[1].clone());
                }
                r.c.report.note(line, format!("`${{{{{inner}}}}}`"), format!("left empty: baton gives the secret to every step as ${} from its own environment (listed in `secrets`)", p[1]));
            }
            (Ok(E::Name(p)), _) => match r.name(p) {
                Ok(n) => out.push_str(&format!("${{{{ {n} }}}}")),
                Err(why) => r.c.report.note(
                    line,
                    format!("`${{{{{inner}}}}}`"),
                    format!("left empty: {why}"),
                ),
            },
            (Ok(_), Some(E::Name(p))) if r.name(&p).is_ok() => {
                let n = r.name(&p).unwrap_or_default();
                out.push_str(&format!("${{{{ {n} }}}}"));
                r.c.report.note(
                    line,
                    format!("`${{{{{inner}}}}}`"),
                    format!("reads `{n}` alone: a baton template is a name, with no `||` default"),
                );
            }
            _ => r.c.report.note(
                line,
                format!("`${{{{{inner}}}}}`"),
                "left empty: a baton template is a name, not an expression",
            ),
        }
    }
    out.push_str(rest);
    out
}

/// An expression (`if`, `continue-on-error`) as a baton condition, or `None`, noted.
fn condition(
    e: &E,
    c: &mut Ctx,
    place: Place,
    needs: &[String],
    line: usize,
    what: &str,
) -> Option<String> {
    let mut r = Reader {
        c,
        place,
        needs: needs.to_vec(),
        line,
    };
    match expr::to_baton(e, &mut r) {
        Ok(s) => Some(s),
        Err(why) => {
            c.report
                .note(line, what.to_string(), format!("not translated: {why}"));
            None
        }
    }
}

fn job(
    gh_id: &str,
    line: usize,
    job: &Node,
    wf_defaults: Option<&Node>,
    c: &mut Ctx,
) -> Result<Step, Invalid> {
    let id = c.job(gh_id).unwrap_or_default();
    let mut step = Step {
        id: id.clone(),
        ..Step::default()
    };
    let title = job
        .get("name")
        .and_then(Node::text)
        .map(|n| format!(" \"{n}\""))
        .unwrap_or_default();
    step.comments
        .push(format!("job `{gh_id}`{title} (line {line})"));
    for n in job.get("needs").map(Node::words).unwrap_or_default() {
        match c.job(&n) {
            Some(b) => step.needs.push(b),
            None => {
                return Err(bad(
                    job.key_line("needs").unwrap_or(line),
                    format!("job `{gh_id}` needs `{n}`, which is not a job of this workflow"),
                    "name a job under `jobs:`",
                ));
            }
        }
    }
    let needs = step.needs.clone();
    if let Some(cond) = job.get("if") {
        job_if(cond, &mut step, c, job.key_line("if").unwrap_or(line));
    }
    if let Some(uses) = job.get("uses").and_then(Node::text) {
        c.report.note(
            job.key_line("uses").unwrap_or(line),
            format!("job `{gh_id}` calls the reusable workflow `{uses}`"),
            "the step fails saying so: import that workflow and run it on its own",
        );
        step.uses = Some((
            "builtin.fail".into(),
            vec![(
                "MESSAGE".into(),
                format!(
                    "job `{gh_id}` calls the reusable workflow `{uses}`, which baton does not run: import it and run it on its own"
                ),
            )],
        ));
        return Ok(step);
    }
    job_left_out(gh_id, job, c);
    c.matrix_item = None;
    if let Err(matrix::Unreadable(why)) = matrix::strategy(job, &mut step, c)? {
        step.uses = Some((
            "builtin.fail".into(),
            vec![(
                "MESSAGE".into(),
                shim::defuse(&format!("job `{gh_id}`: {why}")),
            )],
        ));
        return Ok(step);
    }
    c.matrix_keys = step
        .matrix
        .iter()
        .flat_map(|m| {
            m.axes.iter().map(|(k, _)| k.clone()).chain(
                m.include
                    .iter()
                    .flat_map(|i| i.iter().map(|(k, _)| k.clone())),
            )
        })
        .collect();
    job_continue_on_error(job, &mut step, c, &needs, line);
    step.timeout = Some(job_timeout(job, c, line));
    job_environment(gh_id, job, &mut step, c, line);
    let job_env = job_env(job, &mut step, c);
    let defaults = job
        .get("defaults")
        .and_then(|d| d.get("run"))
        .or(wf_defaults);
    if let Some(check) = alls_green(job) {
        alls_green_expressions(job, c);
        return Ok(required_checks(gh_id, check, step, c));
    }
    let outputs = job_outputs(job, &mut step, c);
    let shims = steps(job, defaults, &mut step, c);
    if shims.is_empty() {
        step.run = Some("true".into());
    } else {
        let n = shims.len();
        c.report.note(
            job.key_line("steps").unwrap_or(line),
            format!("job `{gh_id}`: its {n} step(s)"),
            "one baton step whose script runs them one after another, each in its own shell (a chain of steps would fan each out over the matrix on its own, and split the job's timeout and failure)",
        );
        step.comments.push(format!(
            "its {n} step(s) run as one script, in one shell after another, so the job keeps"
        ));
        step.comments
            .push("its matrix, timeout and failure as one step (docs/import-github.md)".into());
        step.run = Some(shim::script(&job_env, &shims, &outputs));
    }
    Ok(step)
}

/// A job's `env`: plain values in the step's env; one with `${{ … }}` set by the job's
/// script before its steps, as a step's env is (`values`): `${{ github.workspace
/// }}/build` reads the script's own.
fn job_env(job: &Node, step: &mut Step, c: &mut Ctx) -> Vec<(String, shim::Word)> {
    let mut out = vec![];
    c.script_vars = 0;
    for (k, l, v) in job.get("env").and_then(Node::map).unwrap_or_default() {
        if !c.env_name(k, *l) {
            continue;
        }
        let text = v.text().unwrap_or_default();
        if text.contains("${{") {
            let w = values::script_word(&text, (0, &format!("job env `{k}`")), step, c, *l);
            out.push((k.clone(), w));
        } else {
            step.env.push((k.clone(), text));
        }
    }
    out
}

/// A job's keys baton has no job-level counterpart of: noted and left out.
fn job_left_out(gh_id: &str, job: &Node, c: &mut Ctx) {
    for key in ["services", "container", "concurrency"] {
        if let Some(l) = job.key_line(key) {
            c.report.note(
                l,
                format!("job `{gh_id}`: `{key}`"),
                "left out: baton has no job-level counterpart",
            );
        }
    }
}

/// A job's `continue-on-error` as the step's `allow_failure` (an expression as its
/// condition; one not translated is noted, and the job may not fail).
fn job_continue_on_error(job: &Node, step: &mut Step, c: &mut Ctx, needs: &[String], line: usize) {
    if let Some(coe) = job.get("continue-on-error") {
        let l = job.key_line("continue-on-error").unwrap_or(line);
        step.allow_failure = match coe.text().as_deref() {
            Some("true") => Some("true".into()),
            Some("false") | None => None,
            Some(t) => match expr::parse(t) {
                Ok(e) => condition(&e, c, Place::Allow, needs, l, "`continue-on-error`")
                    .map(|s| format!("${{{{ {s} }}}}")),
                Err(why) => {
                    c.report.note(
                        l,
                        "`continue-on-error`",
                        format!("not translated ({why}): the job may not fail"),
                    );
                    None
                }
            },
        };
    }
}

/// A job's `timeout-minutes` as the step's timeout; GitHub's default (6h) when absent
/// or not a whole number (noted).
fn job_timeout(job: &Node, c: &mut Ctx, line: usize) -> String {
    match job.get("timeout-minutes").and_then(Node::text) {
        Some(m) if expr::strip(&m).parse::<u64>().is_ok_and(|n| n > 0) => {
            format!("{}m", expr::strip(&m))
        }
        Some(m) => {
            c.report.note(
                job.key_line("timeout-minutes").unwrap_or(line),
                format!("`timeout-minutes: {m}`"),
                "not a whole number of minutes baton can read when it loads: the job's timeout is GitHub's default, 360 minutes",
            );
            "6h".into()
        }
        None => "6h".into(),
    }
}

/// A job's `environment` as a gate on its step (its reviewers are repository settings:
/// noted).
fn job_environment(gh_id: &str, job: &Node, step: &mut Step, c: &mut Ctx, line: usize) {
    if let Some(env) = job.get("environment") {
        let name = env
            .get("name")
            .and_then(Node::text)
            .or_else(|| env.text())
            .unwrap_or_default();
        let l = job.key_line("environment").unwrap_or(line);
        c.report.note(l, format!("`environment: {name}`"), "a gate on the job: its required reviewers are repository settings, so fill in the gate's `approvers` (none: anyone may approve)");
        step.gate = Some(Gate {
            prompt: format!("Run job `{gh_id}` in the `{name}` environment?"),
            inputs: vec![],
        });
    }
}

fn job_if(cond: &Node, step: &mut Step, c: &mut Ctx, l: usize) {
    let text = cond.text().unwrap_or_default();
    let e = match expr::parse(&text) {
        Ok(e) => e,
        Err(why) => {
            c.report.note(
                l,
                format!("`if: {text}`"),
                format!("not translated ({why}): the job runs as if it had no `if`"),
            );
            return;
        }
    };
    let (status, rest) = match expr::split_status(&e) {
        Ok(x) => x,
        Err(_) => {
            // A status function beside a value (`needs.a.result != 'success' ||
            // !success()`): decided once every need is done, over their results.
            let gh: Vec<String> = step
                .needs
                .iter()
                .filter_map(|b| c.jobs.iter().find(|(_, x)| x == b).map(|(g, _)| g.clone()))
                .collect();
            step.when = Some("all_done");
            let over = expr::status_over_needs(&e, &gh);
            let needs = step.needs.clone();
            step.cond = condition(&over, c, Place::Cond, &needs, l, &format!("`if: {text}`"));
            if step.cond.is_none() {
                step.cond = Some("false".into());
                c.report.note(
                    l,
                    format!("`if: {text}`"),
                    "the job never runs: its `if` is not translated",
                );
            }
            return;
        }
    };
    step.when = match status {
        Status::Success => None,
        Status::Done => Some("all_done"),
        Status::Failure => Some("one_failed"),
        Status::Never => {
            c.report.note(
                l,
                format!("`if: {text}`"),
                "never runs: the status functions never hold together, as on GitHub",
            );
            step.cond = Some("false".into());
            return;
        }
        Status::Cancelled => {
            c.report.note(l, format!("`if: {text}`"), "never runs: baton starts nothing once a run is cancelled (compensate runs for what finished)");
            step.cond = Some("false".into());
            return;
        }
    };
    if step.needs.is_empty() && step.when.is_some() {
        // GitHub's status functions without needs: the job runs as any other.
        step.when = None;
    }
    if let Some(r) = rest {
        let needs = step.needs.clone();
        step.cond = condition(&r, c, Place::Cond, &needs, l, &format!("`if: {text}`"));
    }
}

/// The outputs `job_outputs` declares: those that are one step's output.
fn declared_outputs(job: &Node) -> Vec<String> {
    job.get("outputs")
        .and_then(Node::map)
        .unwrap_or_default()
        .iter()
        .filter(|(_, _, v)| {
            matches!(expr::parse(&v.text().unwrap_or_default()),
                Ok(E::Name(p)) if p.len() == 4 && p[0] == "steps" && p[2] == "outputs")
        })
        .map(|(k, _, _)| k.clone())
        .collect()
}

fn job_outputs(job: &Node, step: &mut Step, c: &mut Ctx) -> Vec<(String, String, String)> {
    let mut out = vec![];
    for (name, l, v) in job.get("outputs").and_then(Node::map).unwrap_or_default() {
        let text = v.text().unwrap_or_default();
        match expr::parse(&text) {
            Ok(E::Name(p)) if p.len() == 4 && p[0] == "steps" && p[2] == "outputs" => {
                step.outputs.push(name.clone());
                out.push((name.clone(), p[1].clone(), p[3].clone()));
            }
            _ => c.report.note(*l, format!("job output `{name}: {text}`"), "left out: a job output maps when it is one step's output (`${{ steps.ID.outputs.NAME }}`)"),
        }
    }
    out
}

/// A `re-actors/alls-green` step of the job: its line, `allowed-failures` and
/// `allowed-skips` (job ids, separated by commas).
fn alls_green(job: &Node) -> Option<(usize, Vec<String>, Vec<String>)> {
    job.get("steps")?.seq()?.iter().find_map(|s| {
        let uses = s.get("uses")?.text()?;
        let list = |k: &str| -> Vec<String> {
            s.get("with")
                .and_then(|w| w.get(k))
                .and_then(Node::text)
                .filter(|t| !t.contains("${{"))
                .map(|t| {
                    t.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        uses.starts_with("re-actors/alls-green@").then(|| {
            (
                s.key_line("uses").unwrap_or(s.line),
                list("allowed-failures"),
                list("allowed-skips"),
            )
        })
    })
}

/// An alls-green `allowed-failures`/`allowed-skips` written as an expression is known
/// only during GitHub's run: read as no job (said at its line), so a need it would
/// allow fails the check where GitHub's passes.
fn alls_green_expressions(job: &Node, c: &mut Ctx) {
    let withs = job
        .get("steps")
        .and_then(Node::seq)
        .unwrap_or_default()
        .iter()
        .filter(|s| {
            s.get("uses")
                .and_then(Node::text)
                .is_some_and(|u| u.starts_with("re-actors/alls-green@"))
        })
        .filter_map(|s| s.get("with"))
        .collect::<Vec<_>>();
    for w in withs {
        for k in ["allowed-failures", "allowed-skips"] {
            let Some(t) = w.get(k).and_then(Node::text).filter(|t| t.contains("${{")) else {
                continue;
            };
            c.report.note(
                w.key_line(k).unwrap_or(w.line),
                format!("alls-green `{k}: {t}`"),
                "an expression known only during GitHub's run: read as no job, so a need it would allow fails the check here (list the jobs, or give a param)",
            );
        }
    }
}

/// The "required checks" job (re-actors/alls-green over `needs`): fails when a need did
/// not succeed. Baton's form: a step, after every need is done, that fails
/// (`builtin.fail`) when one did not succeed, and is skipped when all did.
fn required_checks(
    gh_id: &str,
    check: (usize, Vec<String>, Vec<String>),
    mut step: Step,
    c: &mut Ctx,
) -> Step {
    let (line, failures, skips) = check;
    let allowed = |list: &[String], c: &Ctx| -> Vec<String> {
        list.iter().filter_map(|j| c.job(j)).collect()
    };
    let (failures, skips) = (allowed(&failures, c), allowed(&skips, c));
    c.report.note(line, format!("job `{gh_id}`: `re-actors/alls-green`"), "a step that fails when a need did not succeed (but those its literal `allowed-*` lists allow), and reads `skipped` (not `succeeded`) when every need did: the run's result is GitHub's");
    if step.needs.is_empty() {
        // Nothing to check: GitHub's alls-green passes.
        step.when = None;
        step.cond = None;
        step.run = Some("true".into());
        return step;
    }
    step.when = Some("all_done");
    let tests: Vec<String> = step
        .needs
        .iter()
        .map(|n| {
            let mut t = vec![format!("steps.{n}.state != 'succeeded'")];
            if failures.contains(n) {
                t.push(format!("steps.{n}.state != 'failed'"));
            }
            if skips.contains(n) {
                t.push(format!("steps.{n}.state != 'skipped'"));
            }
            if t.len() == 1 {
                t.remove(0)
            } else {
                format!("({})", t.join(" && "))
            }
        })
        .collect();
    step.cond = Some(tests.join(" || "));
    step.uses = Some((
        "builtin.fail".into(),
        vec![(
            "MESSAGE".into(),
            format!("a job `{gh_id}` needs did not succeed"),
        )],
    ));
    step
}

#[cfg(test)]
mod rules_tests;
