//! `type = "batch"`: any batch scheduler through its own commands, as Snakemake's
//! `cluster-generic` drives one: `submit` (prints the job id), `status` (says whether the
//! scheduler still has the job) and `cancel`. Each command is an array of arguments,
//! never a shell string; `{name}` in an argument is replaced by a value (the job script,
//! the step's resources, the job id), which stays inside that one argument: no value
//! ever becomes shell code. An argument may be a group (an inner array) that is left
//! out whole when one of its values is missing (`["-l", "h_rt={timeout_s}"]` for a step
//! without a timeout). Pure: parsing, checking and rendering.
use std::time::Duration;

/// What `submit` may use: the attempt's files and name, and the step's resources.
pub const SUBMIT_VALUES: &[&str] = &[
    "script",
    "dir",
    "log",
    "name",
    "step",
    "attempt",
    "timeout_s",
    "timeout_min",
];
/// What `status` and `cancel` may use besides those: the job id `submit` printed.
pub const JOB_ID: &str = "job_id";
/// Prefix of a resource value: `{resources.mem}`.
pub const RESOURCES: &str = "resources.";

/// One argument of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchArg {
    /// Always given; a missing value in it is an error when the step starts.
    One(String),
    /// Given only when every value in it is there; else left out whole.
    Group(Vec<String>),
}

/// The options of a `type = "batch"` executor.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOptions {
    pub submit: Vec<BatchArg>,
    pub status: Vec<BatchArg>,
    pub cancel: Vec<BatchArg>,
    /// A directory on a filesystem the nodes share (job scripts, outputs, exit codes).
    pub workdir: std::path::PathBuf,
    /// Slowest `status` interval (it starts at 0.5 s and backs off to this).
    pub poll: Duration,
    /// Upper bound of `{timeout_s}`/`{timeout_min}`; a step's shorter `timeout` wins.
    pub time_limit: Option<Duration>,
    /// `{resources.NAME}` values, in file order.
    pub resources: Vec<(String, String)>,
}

/// A piece of an argument: text as written, or a value's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Value(String),
}

/// Split an argument into text and `{value}`s (`{{` and `}}` are literal braces).
pub fn parse_arg(arg: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = arg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err(format!("`{{{name}` is not closed with `}}`")),
                    }
                }
                let ok = !name.is_empty()
                    && name.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.'
                    });
                if !ok {
                    return Err(format!("`{{{name}}}` is not a value's name"));
                }
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Value(name));
            }
            '}' => return Err("a lone `}` (write `}}` for a brace)".into()),
            c => text.push(c),
        }
    }
    if !text.is_empty() || out.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// The names of the values an argument uses.
pub fn values_of(arg: &str) -> Vec<String> {
    parse_arg(arg)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| match p {
            Piece::Value(v) => Some(v),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Why a value is not one `command` may use, or `None` when it is.
pub fn check_value(command: &str, name: &str) -> Option<String> {
    if SUBMIT_VALUES.contains(&name) {
        return None;
    }
    if name == JOB_ID {
        return (command == "submit").then(|| {
            "`{job_id}` is what `submit` prints: only `status` and `cancel` can use it".into()
        });
    }
    if let Some(r) = name.strip_prefix(RESOURCES)
        && !r.is_empty()
        && !r.contains('.')
    {
        return None;
    }
    let mut known: Vec<String> = SUBMIT_VALUES.iter().map(|v| format!("{{{v}}}")).collect();
    if command != "submit" {
        known.push("{job_id}".into());
    }
    known.push("{resources.NAME}".into());
    Some(format!(
        "`{{{name}}}` is not a value baton gives; use {}",
        known.join(", ")
    ))
}

/// A command's arguments with their values: `value` gives each by name (`None`: none).
/// A group with a missing value is left out; a missing value elsewhere is an error
/// naming it.
pub fn render(
    args: &[BatchArg],
    value: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, String> {
    let one = |arg: &str| -> Result<String, String> {
        let mut s = String::new();
        for p in parse_arg(arg)? {
            match p {
                Piece::Text(t) => s.push_str(&t),
                Piece::Value(v) => s.push_str(&value(&v).ok_or(v)?),
            }
        }
        Ok(s)
    };
    let mut out = Vec::new();
    for a in args {
        match a {
            BatchArg::One(arg) => out.push(one(arg).map_err(|v| {
                format!("`{{{v}}}` has no value for this step (put the argument in a group, [\"…\"], to leave it out then)")
            })?),
            BatchArg::Group(group) => {
                if let Ok(all) = group.iter().map(|a| one(a)).collect::<Result<Vec<_>, _>>() {
                    out.extend(all);
                }
            }
        }
    }
    Ok(out)
}

/// The job id in `submit`'s output: the first word of its first non-empty line, up to a
/// `;` (`sbatch --parsable` adds `;CLUSTER`), if it looks like an id (letters, digits,
/// `.`, `_`, `-`, `[`, `]`; at most 128 bytes).
pub fn parse_job_id(stdout: &str) -> Option<String> {
    let line = stdout.lines().find(|l| !l.trim().is_empty())?;
    let word = line.split_whitespace().next()?.split(';').next()?;
    let ok = !word.is_empty()
        && word.len() <= 128
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-[]".contains(&b));
    ok.then(|| word.to_string())
}

/// `{timeout_s}`: the step's timeout, bounded by the executor's `time_limit`, in whole
/// seconds rounded up (at least 1).
pub fn limit(timeout: Option<Duration>, time_limit: Option<Duration>) -> Option<Duration> {
    match (timeout, time_limit) {
        (Some(t), Some(l)) => Some(t.min(l)),
        (t, l) => t.or(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_into_text_and_values() {
        assert_eq!(
            parse_arg("h_rt={timeout_s}").unwrap(),
            vec![
                Piece::Text("h_rt=".into()),
                Piece::Value("timeout_s".into())
            ]
        );
        assert_eq!(
            parse_arg("{{literal}}").unwrap(),
            vec![Piece::Text("{literal}".into())]
        );
        assert!(parse_arg("{open").is_err());
        assert!(parse_arg("{Bad Name}").is_err());
        assert!(parse_arg("a}b").is_err());
        assert_eq!(values_of("--mem={resources.mem}"), vec!["resources.mem"]);
    }

    #[test]
    fn only_known_values_and_no_job_id_before_there_is_one() {
        assert_eq!(check_value("submit", "script"), None);
        assert_eq!(check_value("submit", "resources.mem"), None);
        assert!(
            check_value("submit", "job_id")
                .unwrap()
                .contains("only `status`")
        );
        assert_eq!(check_value("cancel", "job_id"), None);
        let e = check_value("status", "jobid").unwrap();
        assert!(
            e.contains("{job_id}") && e.contains("{resources.NAME}"),
            "{e}"
        );
    }

    #[test]
    fn values_stay_inside_their_argument_and_groups_drop_whole() {
        let args = vec![
            BatchArg::One("qsub".into()),
            BatchArg::Group(vec!["-l".into(), "h_rt={timeout_s}".into()]),
            BatchArg::One("-N".into()),
            BatchArg::One("{name}".into()),
            BatchArg::One("{script}".into()),
        ];
        let with = |t: Option<&str>| {
            let t = t.map(str::to_string);
            move |v: &str| match v {
                "timeout_s" => t.clone(),
                "name" => Some("it's; $(reboot)".to_string()),
                "script" => Some("/w/job sh".to_string()),
                _ => None,
            }
        };
        assert_eq!(
            render(&args, &with(Some("90"))).unwrap(),
            [
                "qsub",
                "-l",
                "h_rt=90",
                "-N",
                "it's; $(reboot)",
                "/w/job sh"
            ]
        );
        assert_eq!(
            render(&args, &with(None)).unwrap(),
            ["qsub", "-N", "it's; $(reboot)", "/w/job sh"]
        );
        let e = render(&[BatchArg::One("{resources.mem}".into())], &|_| None).unwrap_err();
        assert!(e.contains("`{resources.mem}` has no value"), "{e}");
    }

    #[test]
    fn the_job_id_is_the_first_word_up_to_a_semicolon() {
        assert_eq!(parse_job_id("4242\n").as_deref(), Some("4242"));
        assert_eq!(parse_job_id("\n17;cluster\n").as_deref(), Some("17"));
        assert_eq!(parse_job_id("Your job 3 (\"x\")"), Some("Your".into()));
        assert_eq!(parse_job_id(""), None);
        assert_eq!(parse_job_id("$(x)"), None);
    }

    #[test]
    fn the_limit_is_the_shorter() {
        let s = Duration::from_secs;
        assert_eq!(limit(Some(s(90)), Some(s(60))), Some(s(60)));
        assert_eq!(limit(None, Some(s(60))), Some(s(60)));
        assert_eq!(limit(Some(s(5)), None), Some(s(5)));
        assert_eq!(limit(None, None), None);
    }
}
