//! `type = "batch"` executors as written: the three commands (arrays of arguments and
//! groups, checked value by value: `workflow::batch`), `resources`, and the keys batch
//! shares with slurm.
use super::super::batch::{self, BatchArg, BatchOptions};
use super::super::tree::{Entry, Node, Span, Val};
use super::{DEFAULT_BATCH_WORKDIR, DEFAULT_POLL, ExecutorReader, get};
use std::path::Path;

impl ExecutorReader<'_, '_> {
    /// `type = "batch"`: its three commands (checked: known values only, `{job_id}` in
    /// `status` and `cancel`), workdir, poll, time limit and resources.
    pub(super) fn batch(
        &mut self,
        f: &[Entry],
        what: &str,
        span: &Span,
        base_dir: &Path,
    ) -> Option<BatchOptions> {
        let resources = get(f, "resources")
            .map(|n| self.resources(n, what))
            .unwrap_or_default();
        let mut command = |key: &str, example: &str| -> Option<Vec<BatchArg>> {
            let Some(n) = get(f, key) else {
                self.err(
                    span,
                    format!("{what} has no `{key}` command"),
                    format!("write {key} = {example}"),
                );
                return None;
            };
            self.command(n, key, what, example, &resources)
        };
        let submit = command("submit", r#"["qsub", "-terse", "{script}"]"#);
        let status = command(
            "status",
            r#"["sh", "-c", "out=$(qstat) || exit 1; printf '%s\\n' \"$out\" | awk -v id=\"$1\" '$1 == id {{ print $5 }}'", "sh", "{job_id}"]"#,
        );
        let cancel = command("cancel", r#"["qdel", "{job_id}"]"#);
        let workdir = get(f, "workdir")
            .and_then(|n| {
                self.string(
                    n,
                    &format!("`workdir` of {what}"),
                    "workdir = \"/shared/baton\"",
                )
            })
            .unwrap_or(DEFAULT_BATCH_WORKDIR)
            .to_string();
        let poll = get(f, "poll")
            .and_then(|n| self.duration(n, &format!("`poll` of {what}")))
            .unwrap_or(DEFAULT_POLL);
        let time_limit =
            get(f, "time_limit").and_then(|n| self.duration(n, &format!("`time_limit` of {what}")));
        Some(BatchOptions {
            submit: submit?,
            status: status?,
            cancel: cancel?,
            workdir: base_dir.join(workdir),
            poll,
            time_limit,
            resources,
        })
    }

    /// `resources = { mem = "4G", slots = 2 }`: names and values (strings or numbers).
    fn resources(&mut self, n: &Node, what: &str) -> Vec<(String, String)> {
        let Val::Table(entries) = &n.val else {
            self.err(
                &n.span,
                format!("`resources` of {what} must be a table"),
                "write resources = { mem = \"4G\", slots = 2 }",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            let name_ok = !e.key.is_empty()
                && e.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !name_ok {
                self.err(
                    &e.key_span,
                    format!("resource name `{}` of {what} is invalid", e.key),
                    "use lowercase letters, digits and '_'",
                );
                continue;
            }
            let value = match &e.node.val {
                Val::Str(s) => s.to_string(),
                Val::Int(i) => i.to_string(),
                _ => {
                    self.err(
                        &e.node.span,
                        format!(
                            "resource `{}` of {what} must be a string or a whole number",
                            e.key
                        ),
                        "write e.g. mem = \"4G\" or slots = 2",
                    );
                    continue;
                }
            };
            out.push((e.key.to_string(), value));
        }
        out
    }

    /// One argument of a command (`grouped`: inside a group, which may leave out a
    /// resource): its values parsed and each checked; `uses_job_id` notes `{job_id}`.
    fn check_arg(
        &mut self,
        arg: &str,
        span: &Span,
        grouped: bool,
        of: &ArgOf<'_>,
        uses_job_id: &mut bool,
    ) -> bool {
        let ArgOf {
            label,
            key,
            resources,
        } = *of;
        if let Err(e) = batch::parse_arg(arg) {
            self.err(
                span,
                format!("{label}: {e}"),
                "write values as {script}, {job_id}, …",
            );
            return false;
        }
        let mut fine = true;
        for v in batch::values_of(arg) {
            *uses_job_id |= v == batch::JOB_ID;
            if let Some(why) = batch::check_value(key, &v) {
                self.err(
                    span,
                    format!("{label}: {why}"),
                    "see docs/workflow-format.md, Executors",
                );
                fine = false;
            } else if let Some(r) = v.strip_prefix(batch::RESOURCES)
                && !grouped
                && !resources.iter().any(|(k, _)| k == r)
            {
                self.err(
                    span,
                    format!("{label} uses `{{{v}}}`, which `resources` does not give"),
                    format!("add resources = {{ {r} = \"…\" }}, or put the argument in a group ([\"…\"]) to leave it out without one"),
                );
                fine = false;
            }
        }
        fine
    }

    /// One command: an array of arguments (strings, or groups of them), the first a
    /// program without values.
    fn command(
        &mut self,
        n: &Node,
        key: &str,
        what: &str,
        example: &str,
        resources: &[(String, String)],
    ) -> Option<Vec<BatchArg>> {
        let label = format!("`{key}` of {what}");
        let Val::Array(items) = &n.val else {
            self.err(
                &n.span,
                format!("{label} must be an array of arguments (no shell string)"),
                format!("write {key} = {example}"),
            );
            return None;
        };
        let mut args = Vec::new();
        let mut ok = true;
        let mut uses_job_id = false;
        let of = ArgOf {
            label: &label,
            key,
            resources,
        };
        let mut check = |me: &mut Self, arg: &str, span: &Span, grouped: bool| {
            me.check_arg(arg, span, grouped, &of, &mut uses_job_id)
        };
        for (i, item) in items.iter().enumerate() {
            match &item.val {
                Val::Str(s) => {
                    if i == 0 && (s.is_empty() || !batch::values_of(s.as_str()).is_empty()) {
                        self.err(
                            &item.span,
                            format!("{label} starts with {s:?}, not a program"),
                            format!("start it with the program, e.g. {example}"),
                        );
                        ok = false;
                        continue;
                    }
                    ok &= check(self, s.as_str(), &item.span, false);
                    args.push(BatchArg::One(s.to_string()));
                }
                Val::Array(group) if i > 0 => {
                    let mut g = Vec::new();
                    for a in group {
                        match &a.val {
                            Val::Str(s) => {
                                ok &= check(self, s.as_str(), &a.span, true);
                                g.push(s.to_string());
                            }
                            _ => {
                                self.err(
                                    &a.span,
                                    format!("each argument in a group of {label} must be a string"),
                                    r#"write e.g. ["-l", "h_rt={timeout_s}"]"#,
                                );
                                ok = false;
                            }
                        }
                    }
                    args.push(BatchArg::Group(g));
                }
                _ => {
                    self.err(
                        &item.span,
                        format!("each argument of {label} must be a string (or, after the program, a group of strings)"),
                        format!("write {key} = {example}"),
                    );
                    ok = false;
                }
            }
        }
        if items.is_empty() {
            self.err(
                &n.span,
                format!("{label} is empty"),
                format!("write {key} = {example}"),
            );
            ok = false;
        }
        if ok && key != "submit" && !uses_job_id {
            self.err(
                &n.span,
                format!("{label} does not pass the job (`{{job_id}}`)"),
                format!("write e.g. {key} = {example}"),
            );
            ok = false;
        }
        ok.then_some(args)
    }
}

/// What an argument of a command is checked against: the command's label, its key
/// (`submit`, `status`, …) and the executor's `resources`.
struct ArgOf<'a> {
    label: &'a str,
    key: &'a str,
    resources: &'a [(String, String)],
}
