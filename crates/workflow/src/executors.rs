//! `[executors.NAME]`, `executor = "NAME"` (on a step, a pool or in `[defaults]`) and
//! capability routing (`labels` on an executor, `requires` on a step): read from the
//! spanned tree and resolved for the loader, with its diagnostics.
use super::diag::{Reporter, did_you_mean};
use super::plan::{ExecutorKind, ExecutorSpec, SlurmOptions, SshOptions};
use super::template::is_step_id;
use super::tree::{Entry, Node, Span, Val};
use super::units::parse_duration;
use std::path::Path;
use std::time::Duration;

mod batch_reader;

pub(crate) const EXECUTOR_FIELDS: &[&str] = &[
    "type",
    "labels",
    "partition",
    "account",
    "qos",
    "cpus",
    "mem",
    "gres",
    "time_limit",
    "extra_args",
    "workdir",
    "poll",
    "host",
    "ssh_config",
    "copy_stall",
    "send_ahead",
    "submit",
    "status",
    "cancel",
    "resources",
];
/// The fields each type takes besides `type` and `labels`.
const SLURM_FIELDS: &[&str] = &[
    "partition",
    "account",
    "qos",
    "cpus",
    "mem",
    "gres",
    "time_limit",
    "extra_args",
    "workdir",
    "poll",
];
const SSH_FIELDS: &[&str] = &["host", "ssh_config", "workdir", "copy_stall", "send_ahead"];
const BATCH_FIELDS: &[&str] = &[
    "submit",
    "status",
    "cancel",
    "workdir",
    "poll",
    "time_limit",
    "resources",
];
const TYPES: &[&str] = &["local", "slurm", "ssh", "batch"];
/// Where a batch executor's job files go unless `workdir` says otherwise.
pub(crate) const DEFAULT_BATCH_WORKDIR: &str = ".baton/batch";
/// Where an SSH executor keeps attempts' files on its host unless `workdir` says otherwise.
pub(crate) const DEFAULT_SSH_WORKDIR: &str = ".baton/ssh";
/// How long an artifact's copy over SSH may move no byte unless `copy_stall` says
/// otherwise.
pub(crate) const DEFAULT_COPY_STALL: Duration = Duration::from_secs(60);
/// Slowest `squeue` interval unless `poll` says otherwise.
pub(crate) const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// Where job files go unless `workdir` says otherwise (relative to the workflow file).
pub(crate) const DEFAULT_WORKDIR: &str = ".baton/slurm";

/// A name and where it was written.
pub(crate) type Named<'n> = Option<(&'n str, Span)>;

/// What a step says about where it runs.
pub(crate) struct StepPlacement<'n> {
    pub label: String,
    pub executor: Named<'n>,
    pub requires: Vec<(&'n str, Span)>,
    pub pool: Option<usize>,
}

pub(crate) struct ExecutorReader<'r, 's> {
    pub r: &'r mut Reporter<'s>,
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    entries.iter().find(|e| e.key == key).map(|e| &e.node)
}

impl ExecutorReader<'_, '_> {
    fn err(&mut self, span: &Span, message: impl Into<String>, hint: impl Into<String>) {
        self.r.error(span, message.into(), hint.into());
    }

    fn string<'n>(&mut self, n: &'n Node, what: &str, example: &str) -> Option<&'n str> {
        match &n.val {
            Val::Str(s) => Some(s.as_str()),
            _ => {
                self.err(
                    &n.span,
                    format!("{what} must be a string"),
                    format!("write e.g. {example}"),
                );
                None
            }
        }
    }

    fn strings<'n>(&mut self, n: &'n Node, what: &str, example: &str) -> Vec<(&'n str, Span)> {
        let Val::Array(items) = &n.val else {
            self.err(
                &n.span,
                format!("{what} must be an array of strings"),
                format!("write e.g. {example}"),
            );
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|i| match &i.val {
                Val::Str(s) => Some((s.as_str(), i.span.clone())),
                _ => {
                    self.err(
                        &i.span,
                        format!("each entry of {what} must be a string"),
                        format!("write e.g. {example}"),
                    );
                    None
                }
            })
            .collect()
    }

    fn duration(&mut self, n: &Node, what: &str) -> Option<Duration> {
        let s = self.string(n, what, "\"2h\"")?;
        match parse_duration(s) {
            Ok(d) if !d.is_zero() => Some(d),
            _ => {
                self.err(
                    &n.span,
                    format!("{what} is not a duration: \"{s}\""),
                    "write a duration such as \"500ms\", \"30s\", \"10m\", \"2h\"",
                );
                None
            }
        }
    }

    /// `[executors]`: each table in file order.
    pub(crate) fn executors(&mut self, n: &Node, base_dir: &Path) -> Vec<ExecutorSpec> {
        let Val::Table(entries) = &n.val else {
            self.err(
                &n.span,
                "`executors` must be a table",
                "write [executors.cluster] with type = \"slurm\"",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            if !is_step_id(&e.key) {
                self.err(
                    &e.key_span,
                    format!("executor name `{}` is invalid", e.key),
                    "use 1 to 64 lowercase letters, digits, '_' or '-'",
                );
            }
            let what = format!("executor `{}`", e.key);
            let Val::Table(fields) = &e.node.val else {
                self.err(
                    &e.node.span,
                    format!("{what} must be a table"),
                    "write [executors.cluster] with type = \"slurm\"",
                );
                continue;
            };
            for f in fields
                .iter()
                .filter(|f| !EXECUTOR_FIELDS.contains(&f.key.as_str()))
            {
                let hint = did_you_mean(&f.key, EXECUTOR_FIELDS, "executor fields");
                self.err(
                    &f.key_span,
                    format!("unknown field `{}` in {what}", f.key),
                    hint,
                );
            }
            let ty = match get(fields, "type") {
                None => "local",
                Some(t) => self
                    .string(t, &format!("`type` of {what}"), "type = \"slurm\"")
                    .unwrap_or("local"),
            };
            let labels: Vec<String> = get(fields, "labels")
                .map(|l| self.strings(l, &format!("`labels` of {what}"), "labels = [\"gpu\"]"))
                .unwrap_or_default()
                .into_iter()
                .map(|(s, _)| s.to_string())
                .collect();
            self.other_types_fields(fields, &what, ty);
            let kind = match ty {
                "local" => ExecutorKind::Local,
                "slurm" => ExecutorKind::Slurm(Box::new(self.slurm(fields, &what, base_dir))),
                "ssh" => match self.ssh(fields, &what, &e.node.span) {
                    Some(o) => ExecutorKind::Ssh(Box::new(o)),
                    None => ExecutorKind::Local,
                },
                "batch" => match self.batch(fields, &what, &e.node.span, base_dir) {
                    Some(o) => ExecutorKind::Batch(Box::new(o)),
                    None => ExecutorKind::Local,
                },
                other => {
                    let span = get(fields, "type").map_or(e.key_span.clone(), |t| t.span.clone());
                    let hint = did_you_mean(other, TYPES, "executor types");
                    self.err(
                        &span,
                        format!("unknown executor type \"{other}\" in {what}"),
                        format!("{hint} (`type` is \"local\" (the default), \"slurm\", \"ssh\" or \"batch\")"),
                    );
                    ExecutorKind::Local
                }
            };
            out.push(ExecutorSpec {
                name: e.key.to_string(),
                kind,
                labels,
                line: self.r.map.line(e.key_span.start),
                pinned: Vec::new(),
            });
        }
        out
    }

    /// A field of another executor type than `ty` (a known one) is an error naming
    /// the types it applies to.
    fn other_types_fields(&mut self, fields: &[Entry], what: &str, ty: &str) {
        let takes: &[&str] = match ty {
            "slurm" => SLURM_FIELDS,
            "ssh" => SSH_FIELDS,
            "batch" => BATCH_FIELDS,
            _ => &[],
        };
        if TYPES.contains(&ty) {
            for f in fields.iter().filter(|f| {
                !["type", "labels"].contains(&f.key.as_str())
                    && EXECUTOR_FIELDS.contains(&f.key.as_str())
                    && !takes.contains(&f.key.as_str())
            }) {
                let owners: Vec<&str> = [
                    ("slurm", SLURM_FIELDS),
                    ("ssh", SSH_FIELDS),
                    ("batch", BATCH_FIELDS),
                ]
                .iter()
                .filter(|(_, keys)| keys.contains(&f.key.as_str()))
                .map(|(t, _)| *t)
                .collect();
                self.err(
                    &f.key_span,
                    format!(
                        "`{}` of {what} applies to {} executors only",
                        f.key,
                        owners.join(" and ")
                    ),
                    format!(
                        "remove it, or set type = \"{}\" (this executor is \"{ty}\")",
                        owners.first().unwrap_or(&"slurm")
                    ),
                );
            }
        }
    }

    fn slurm(&mut self, f: &[Entry], what: &str, base_dir: &Path) -> SlurmOptions {
        let mut text = |key: &str, example: &str| {
            get(f, key)
                .and_then(|n| self.string(n, &format!("`{key}` of {what}"), example))
                .map(str::to_string)
        };
        let partition = text("partition", "partition = \"gpu\"");
        let account = text("account", "account = \"lab\"");
        let qos = text("qos", "qos = \"normal\"");
        let mem = text("mem", "mem = \"8G\"");
        let gres = text("gres", "gres = \"gpu:1\"");
        let workdir = text("workdir", "workdir = \"/shared/baton\"");
        let cpus = get(f, "cpus").and_then(|n| match &n.val {
            Val::Int(i) if (1..=i64::from(u32::MAX)).contains(i) => Some(*i as u32),
            _ => {
                self.err(
                    &n.span,
                    format!("`cpus` of {what} must be a whole number of at least 1"),
                    "write e.g. cpus = 4",
                );
                None
            }
        });
        let time_limit =
            get(f, "time_limit").and_then(|n| self.duration(n, &format!("`time_limit` of {what}")));
        let poll = get(f, "poll")
            .and_then(|n| self.duration(n, &format!("`poll` of {what}")))
            .unwrap_or(DEFAULT_POLL);
        let extra_args = get(f, "extra_args")
            .map(|n| {
                self.strings(
                    n,
                    &format!("`extra_args` of {what}"),
                    "extra_args = [\"--exclusive\"]",
                )
            })
            .unwrap_or_default()
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect();
        let workdir = base_dir.join(workdir.as_deref().unwrap_or(DEFAULT_WORKDIR));
        SlurmOptions {
            partition,
            account,
            qos,
            cpus,
            mem,
            gres,
            time_limit,
            extra_args,
            workdir,
            poll,
        }
    }

    fn ssh(&mut self, f: &[Entry], what: &str, span: &Span) -> Option<SshOptions> {
        let Some(host_node) = get(f, "host") else {
            self.err(
                span,
                format!("{what} has no `host`"),
                "write host = \"gpu-box\" (a Host of your ~/.ssh/config, or a host name)",
            );
            return None;
        };
        let host = self.string(
            host_node,
            &format!("`host` of {what}"),
            "host = \"gpu-box\"",
        )?;
        // `ssh` would read a leading '-' as an option; spaces and controls are no host.
        if host.is_empty()
            || host.starts_with('-')
            || host.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            self.err(
                &host_node.span,
                format!("`host` of {what} is not a host: {host:?}"),
                "write a Host of your ssh configuration or user@host, without spaces or a leading '-'",
            );
            return None;
        }
        let host = host.to_string();
        let ssh_config = get(f, "ssh_config")
            .and_then(|n| {
                self.string(
                    n,
                    &format!("`ssh_config` of {what}"),
                    "ssh_config = \"~/.ssh/lab_config\"",
                )
            })
            .map(expand_home);
        let workdir = get(f, "workdir")
            .and_then(|n| {
                self.string(
                    n,
                    &format!("`workdir` of {what}"),
                    "workdir = \"/scratch/baton\"",
                )
            })
            .unwrap_or(DEFAULT_SSH_WORKDIR)
            .to_string();
        let copy_stall = get(f, "copy_stall")
            .and_then(|n| self.duration(n, &format!("`copy_stall` of {what}")))
            .unwrap_or(DEFAULT_COPY_STALL);
        let send_ahead = get(f, "send_ahead")
            .and_then(|n| match n.val {
                Val::Bool(b) => Some(b),
                _ => {
                    self.err(
                        &n.span,
                        format!(
                            "`send_ahead` of {what} must be a boolean, found {}",
                            n.kind()
                        ),
                        "write send_ahead = false (without quotes) to send no copy ahead",
                    );
                    None
                }
            })
            .unwrap_or(true);
        Some(SshOptions {
            host,
            ssh_config,
            workdir,
            copy_stall,
            send_ahead,
        })
    }

    /// A name of an executor, checked against the declared ones.
    pub(crate) fn find(
        &mut self,
        name: &str,
        span: &Span,
        who: &str,
        executors: &[ExecutorSpec],
    ) -> Option<usize> {
        let found = executors.iter().position(|e| e.name == name);
        if found.is_none() {
            let names: Vec<&str> = executors.iter().map(|e| e.name.as_str()).collect();
            let mut hint = did_you_mean(name, &names, "executors");
            if names.is_empty() {
                hint.push_str(&format!(
                    "; declare it with [executors.{name}] and type = \"slurm\""
                ));
            }
            self.err(
                span,
                format!("{who} uses executor \"{name}\", which is not declared"),
                hint,
            );
        }
        found
    }

    /// Where a step runs: the first executor offering all it `requires` (over any
    /// default), else its own `executor`, its pool's, the `[defaults]` one, or local.
    pub(crate) fn route(
        &mut self,
        step: &StepPlacement<'_>,
        executors: &[ExecutorSpec],
        pool_executors: &[Option<usize>],
        default: Option<usize>,
    ) -> Option<usize> {
        let explicit = step
            .executor
            .as_ref()
            .and_then(|(name, span)| self.find(name, span, &step.label, executors));
        let required: Vec<&str> = step.requires.iter().map(|(l, _)| *l).collect();
        if required.is_empty() {
            return explicit
                .or_else(|| {
                    step.pool
                        .and_then(|p| pool_executors.get(p).copied().flatten())
                })
                .or(default);
        }
        let missing = |e: &ExecutorSpec| -> Vec<&str> {
            required
                .iter()
                .copied()
                .filter(|l| !e.labels.iter().any(|x| x == l))
                .collect()
        };
        let span = step.requires[0].1.clone();
        if let Some((name, espan)) = &step.executor {
            let i = explicit?;
            let lacking = missing(&executors[i]);
            if !lacking.is_empty() {
                let hint = offers_most(&required, executors, &missing);
                self.err(
                    espan,
                    format!(
                        "{} runs on executor `{name}`, which lacks the required label(s) {}",
                        step.label,
                        list(&lacking)
                    ),
                    hint,
                );
            }
            return Some(i);
        }
        match executors.iter().position(|e| missing(e).is_empty()) {
            Some(i) => Some(i),
            None => {
                let hint = offers_most(&required, executors, &missing);
                self.err(
                    &span,
                    format!(
                        "{} requires {}, which no executor offers",
                        step.label,
                        list(&required)
                    ),
                    hint,
                );
                None
            }
        }
    }
}

/// `~/x` is the user's `x` (as ssh reads it); anything else as written.
fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

fn list(labels: &[&str]) -> String {
    labels
        .iter()
        .map(|l| format!("`{l}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The hint of a routing error: the executors that offer most of the labels.
fn offers_most<'a>(
    required: &[&str],
    executors: &'a [ExecutorSpec],
    missing: &dyn Fn(&'a ExecutorSpec) -> Vec<&'a str>,
) -> String {
    let best = executors
        .iter()
        .map(|e| required.len() - missing(e).len())
        .max()
        .unwrap_or(0);
    if best == 0 {
        return format!(
            "no executor offers any of them; add labels = [{}] to an [executors.NAME], or drop them from `requires`",
            required
                .iter()
                .map(|l| format!("\"{l}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if best == required.len() {
        let all: Vec<String> = executors
            .iter()
            .filter(|e| missing(e).is_empty())
            .map(|e| format!("`{}`", e.name))
            .collect();
        return format!(
            "{} offers all of them: name it in `executor`, or drop `executor` and routing picks the first",
            all.join(", ")
        );
    }
    let closest: Vec<String> = executors
        .iter()
        .filter(|e| required.len() - missing(e).len() == best)
        .map(|e| format!("`{}` (lacks {})", e.name, list(&missing(e))))
        .collect();
    format!(
        "closest: {}; add the missing labels to one of them, or drop them from `requires`",
        closest.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use crate::{ExecutorKind, load_str};
    use std::path::Path;
    use std::time::Duration;

    const WF: &str = r#"
name = "routing"

[defaults]
executor = "batch"

[executors.batch]
type = "slurm"
partition = "short"
cpus = 2
mem = "4G"
time_limit = "1h"
extra_args = ["--exclusive"]
labels = ["cpu"]

[executors.gpu]
type = "slurm"
gres = "gpu:1"
labels = ["gpu", "cpu"]

[executors.here]
labels = ["gpu", "cpu", "local-disk"]

[pools.lab]
capacity = 1
executor = "here"

[[step]]
id = "defaulted"
run = "true"

[[step]]
id = "routed"
run = "true"
requires = ["gpu"]

[[step]]
id = "pooled"
run = "true"
pool = "lab"

[[step]]
id = "explicit"
run = "true"
executor = "gpu"
requires = ["cpu"]
"#;

    #[test]
    fn steps_route_by_label_then_executor_pool_and_default() {
        let plan = load_str(WF, Path::new("/w/routing.toml")).unwrap();
        let on = |id: &str| {
            let i = plan.step_index(id).unwrap();
            plan.executor_of(i).map(|e| e.name.as_str())
        };
        assert_eq!(on("defaulted"), Some("batch"));
        // The first executor in file order offering every label, over the default.
        assert_eq!(on("routed"), Some("gpu"));
        assert_eq!(on("pooled"), Some("here"));
        assert_eq!(on("explicit"), Some("gpu"));
        let ExecutorKind::Slurm(o) = &plan.executors[0].kind else {
            panic!("batch is a slurm executor")
        };
        assert_eq!(o.partition.as_deref(), Some("short"));
        assert_eq!(o.cpus, Some(2));
        assert_eq!(o.time_limit, Some(Duration::from_secs(3600)));
        assert_eq!(o.extra_args, vec!["--exclusive".to_string()]);
        assert_eq!(o.workdir, Path::new("/w/.baton/slurm"));
        assert_eq!(o.poll, super::DEFAULT_POLL);
        assert_eq!(plan.executors[2].kind, ExecutorKind::Local);
        assert_eq!(plan.executors[1].line, 16);
    }

    #[test]
    fn a_step_routed_by_labels_spreads_one_naming_its_executor_stays() {
        let plan = load_str(WF, Path::new("/w/routing.toml")).unwrap();
        let at = |id: &str| plan.spread_of(plan.step_index(id).unwrap());
        // `gpu` and `here` both offer gpu: turns over both, in file order.
        assert_eq!(at("routed"), vec![1, 2]);
        assert!(at("explicit").is_empty(), "names its executor");
        assert!(at("defaulted").is_empty(), "requires nothing");
    }

    #[test]
    fn an_ssh_executor_needs_a_host_that_is_no_option() {
        let wf = |host: &str| {
            format!(
                "name = \"x\"\n[executors.box]\ntype = \"ssh\"\n{host}\npartition = \"p\"\n[[step]]\nid = \"a\"\nexecutor = \"box\"\nrun = \"true\"\n"
            )
        };
        let e = load_str(&wf(""), Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no `host`"), "{e}");
        assert!(
            e.contains("`partition` of executor `box` applies to slurm executors only"),
            "{e}"
        );
        let e = load_str(&wf("host = \"-oProxyCommand=x\""), Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a host"), "{e}");
        let ok = "name = \"x\"\n[executors.box]\ntype = \"ssh\"\nhost = \"gpu-box\"\n[[step]]\nid = \"a\"\nexecutor = \"box\"\nrun = \"true\"\n";
        let plan = load_str(ok, Path::new("x.toml")).unwrap();
        let ExecutorKind::Ssh(o) = &plan.executors[0].kind else {
            panic!("an ssh executor")
        };
        assert_eq!(o.host, "gpu-box");
        assert_eq!(o.workdir, super::DEFAULT_SSH_WORKDIR);
        assert_eq!(o.copy_stall, Duration::from_secs(60));
        assert!(o.send_ahead);
        let off = ok.replace(
            "host = \"gpu-box\"\n",
            "host = \"gpu-box\"\nsend_ahead = false\n",
        );
        let plan = load_str(&off, Path::new("x.toml")).unwrap();
        let ExecutorKind::Ssh(o) = &plan.executors[0].kind else {
            panic!("an ssh executor")
        };
        assert!(!o.send_ahead);
        let e = load_str(
            &ok.replace(
                "host = \"gpu-box\"\n",
                "host = \"gpu-box\"\nsend_ahead = \"no\"\n",
            ),
            Path::new("x.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("x.toml:5:14")
                && e.contains("`send_ahead` of executor `box` must be a boolean"),
            "{e}"
        );
    }

    #[test]
    fn an_ssh_executor_s_copy_stall_is_a_duration() {
        let wf = |stall: &str| {
            format!(
                "name = \"x\"\n[executors.box]\ntype = \"ssh\"\nhost = \"gpu-box\"\ncopy_stall = {stall}\n[[step]]\nid = \"a\"\nexecutor = \"box\"\nrun = \"true\"\n"
            )
        };
        let plan = load_str(&wf("\"5m\""), Path::new("x.toml")).unwrap();
        let ExecutorKind::Ssh(o) = &plan.executors[0].kind else {
            panic!("an ssh executor")
        };
        assert_eq!(o.copy_stall, Duration::from_secs(300));
        let e = load_str(&wf("\"soon\""), Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.toml:5:14")
                && e.contains("`copy_stall` of executor `box` is not a duration"),
            "{e}"
        );
        let slurm = "name = \"x\"\n[executors.c]\ntype = \"slurm\"\ncopy_stall = \"1m\"\n[[step]]\nid = \"a\"\nexecutor = \"c\"\nrun = \"true\"\n";
        let e = load_str(slurm, Path::new("x.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`copy_stall` of executor `c` applies to ssh executors only"),
            "{e}"
        );
    }

    #[test]
    fn a_batch_executor_reads_its_commands_groups_and_resources() {
        let wf = r#"name = "x"
[executors.grid]
type = "batch"
submit = ["qsub", "-terse", ["-l", "h_rt={timeout_s}"], "-l", "mem={resources.mem}", "{script}"]
status = ["qstat", "-j", "{job_id}"]
cancel = ["qdel", "{job_id}"]
resources = { mem = "4G", slots = 2 }
time_limit = "1h"
[[step]]
id = "a"
executor = "grid"
run = "true"
"#;
        let plan = load_str(wf, Path::new("/w/x.toml")).unwrap();
        let ExecutorKind::Batch(o) = &plan.executors[0].kind else {
            panic!("a batch executor")
        };
        use crate::BatchArg::{Group, One};
        assert_eq!(
            o.submit,
            vec![
                One("qsub".into()),
                One("-terse".into()),
                Group(vec!["-l".into(), "h_rt={timeout_s}".into()]),
                One("-l".into()),
                One("mem={resources.mem}".into()),
                One("{script}".into()),
            ]
        );
        assert_eq!(o.cancel, vec![One("qdel".into()), One("{job_id}".into())]);
        assert_eq!(
            o.resources,
            vec![("mem".into(), "4G".into()), ("slots".into(), "2".into())]
        );
        assert_eq!(o.time_limit, Some(Duration::from_secs(3600)));
        assert_eq!(o.workdir, Path::new("/w/.baton/batch"));
        assert_eq!(o.poll, super::DEFAULT_POLL);
        // A slurm-only key on a batch executor names the types taking it.
        let e = load_str(
            &wf.replace("time_limit", "partition = \"p\"\ntime_limit"),
            Path::new("x.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`partition` of executor `grid` applies to slurm executors only"),
            "{e}"
        );
    }

    #[test]
    fn without_executors_every_step_is_local() {
        let plan = load_str(
            "name = \"x\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert!(plan.executors.is_empty());
        assert_eq!(plan.steps[0].executor, None);
    }
}
