//! What to do about an error: the one place that decides the suggestion every error
//! record carries, from its kind and what the run accepts when it is recorded. A
//! suggestion is a command the run accepts in that state (in backticks, starting with
//! `baton`), or advice that says what to change and how; never a command the run would
//! refuse (`tests/it/cli/suggestions.rs` runs every one against the real binary).
use super::error::ErrorKind;

/// Why `retry` and `mark` will not reopen the run once the step has settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Its compensations ran, or will run when it ends: its work is undone.
    Undone,
    /// The run's timeout passed.
    TimedOut,
}

/// What is known about the error beyond its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The step's attempt itself (its process, or its built-in tool).
    Attempt,
    /// The engine stopped (or died) while the step ran.
    EngineStopped,
    /// The run's timeout passed (the step was killed by it, or the run stopped).
    RunTimeout,
    /// A template's value came from `--param NAME` and does not fit where it is used.
    Param(String),
    /// The step was skipped because `need` failed.
    Need(String),
    /// The budget gate stopped the run at this ceiling (`cost`, `calls`, `tokens`);
    /// `by` is what the suggested raise adds (`inbox::raise_by` of the ceiling).
    Budget { dimension: String, by: String },
    /// The step waits for a rate token of `pool`.
    Rate { pool: String, rate: String },
    /// An output or usage line the step wrote is malformed (the step is not failed).
    BadLine,
    /// An output held a secret and was withheld.
    SecretOutput,
    /// `$BATON_OUTPUT`'s bound fell inside an output's value: it was not kept.
    CutOutput,
    /// The step's log could not be written.
    LogLost,
    /// A `[[notify]]` command failed.
    Notifier,
    /// The step did not start: this `[secrets]` entry it uses could not be read.
    Secret(String),
    /// A step marked succeeded: an artifact it declares could not be collected from
    /// its attempt's directory (`mark --state succeeded`).
    MarkedArtifact,
}

/// The state of the run and step the record is made in.
#[derive(Debug, Clone, PartialEq)]
pub struct Situation<'a> {
    pub run: &'a str,
    pub step: Option<&'a str>,
    /// The workflow file, for a new run.
    pub workflow: &'a str,
    /// The run's params as `--param` takes them (a secret's value is `…`).
    pub params: &'a [(String, String)],
    pub cause: Cause,
    pub closed: Option<Closed>,
    /// baton starts the step again by itself (its `retry` allows another attempt).
    pub will_retry: bool,
    /// The attempt ran a process, whose output `baton logs` shows.
    pub log: bool,
    /// The step is a built-in tool (`builtin.*`): no process, no log.
    pub builtin: Option<&'a str>,
    pub idempotent: bool,
    /// The step's and the run's `timeout`, as written (`10m`).
    pub step_timeout: Option<String>,
    pub run_timeout: Option<String>,
}

/// The suggestion of a record of `kind` made in `s`.
pub fn suggest(kind: ErrorKind, s: &Situation<'_>) -> String {
    let fix = cause_fix(s).unwrap_or_else(|| kind_fix(kind, s));
    if s.will_retry {
        format!("baton retries it automatically; if it keeps failing: {fix}")
    } else {
        fix
    }
}

/// What to do when the cause alone decides it, whatever the kind of record.
fn cause_fix(s: &Situation<'_>) -> Option<String> {
    let r = s.run;
    Some(match &s.cause {
        Cause::Notifier => "fix the [[notify]] command; a notifier never stops the run".into(),
        Cause::MarkedArtifact if s.closed.is_some() => format!(
            "the run ended without the artifact: start a new run: `{}`",
            rerun(s, None)
        ),
        Cause::MarkedArtifact => format!(
            "give the artifact by hand: `baton mark {r} {} --state succeeded --artifact NAME=PATH --reason …`; the steps that read it are held until then",
            s.step.unwrap_or("STEP")
        ),
        Cause::LogLost => "make the log directory writable (and check the disk); the step's output after this point was not kept".into(),
        Cause::BadLine => "write `key=value` lines to $BATON_OUTPUT and `cost=`/`tokens=`/`calls=` lines to $BATON_USAGE; the line was ignored".into(),
        Cause::CutOutput => "write a large value to a file and output its path: $BATON_OUTPUT is read to its first MiB, and a value cut there is never handed on".into(),
        Cause::SecretOutput => "do not write secrets to $BATON_OUTPUT; let the consuming step read the secret itself".into(),
        Cause::Secret(name) => format!(
            "make secret `{name}` readable where [secrets] says it is kept (the file there, $CREDENTIALS_DIRECTORY set for baton, the command working when run by hand as baton's user), {}",
            then_again(s)
        ),
        Cause::RunTimeout => format!(
            "the run's `timeout` ({}) passed: raise it in the workflow or make the slow steps faster, then start a new run: `{}`",
            s.run_timeout.as_deref().unwrap_or("none"),
            rerun(s, None)
        ),
        Cause::Param(name) => format!(
            "the value of `--param {name}` does not fit where the workflow uses it (a retry fails the same way): start a new run with another value: `{}`",
            rerun(s, Some(name))
        ),
        Cause::Rate { pool, rate } => format!(
            "nothing to do: the step starts when pool `{pool}` has a token again ({rate}); raise the pool's `rate` or `burst` in the workflow for faster runs"
        ),
        Cause::Budget { dimension, by } => format!(
            "`baton approve {r} --raise {dimension}={by} --reason …` adds {by} to the ceiling (as much again; change the number) and the run goes on, or `baton cancel {r}` stops it"
        ),
        Cause::Need(need) => match s.closed {
            None => format!(
                "fix `{need}`, then `baton retry {r} {need}`: this step re-arms with it"
            ),
            Some(_) => format!("fix `{need}`, then {}", new_run(s)),
        },
        _ => return None,
    })
}

/// What to do about a record of `kind` whose cause does not decide it alone.
fn kind_fix(kind: ErrorKind, s: &Situation<'_>) -> String {
    let r = s.run;
    let st = s.step.unwrap_or("STEP");
    let again = || then_again(s);
    match (kind, &s.cause) {
        (ErrorKind::Interrupted, Cause::EngineStopped) if s.idempotent => {
            format!("`baton resume {r}` runs the step again")
        }
        (ErrorKind::Interrupted, Cause::EngineStopped) if s.closed.is_none() => format!(
            "the step is not idempotent: check what it did, then `baton retry {r} {st}` (run it again) or `baton mark {r} {st} --state succeeded --reason …` (it did its work; the outputs it wrote are kept, `--output NAME=VALUE` gives the rest)"
        ),
        (ErrorKind::Interrupted, _) => format!(
            "the attempt was lost (baton could no longer follow its process or job): check what it did, {}",
            again()
        ),
        (ErrorKind::CompensationFailed, _) => format!(
            "undo what `{st}` did by hand (its `compensate` command failed; the record's `stderr_tail` says how), then record it: `baton mark {r} {st} --state failed --reason …`; fix `compensate` in the workflow for later runs"
        ),
        (ErrorKind::ExitNonzero, _) => match s.builtin {
            Some(tool) => format!(
                "`{tool}` failed as the record's message says (it runs no process and has no log): change the step's `uses`/`with` in the workflow, {}",
                again()
            ),
            None => format!("{}fix the command, {}", read_log(s), again()),
        },
        (ErrorKind::KilledBySignal, _) => format!(
            "find what killed the process (the OOM killer, an operator){}, {}",
            if s.log {
                format!("; its output: `baton logs {r} {st}`")
            } else {
                String::new()
            },
            again()
        ),
        (ErrorKind::Timeout, _) => format!(
            "raise the step's `timeout` (now {}) or make the command faster, {}",
            s.step_timeout.as_deref().unwrap_or("none"),
            again()
        ),
        (ErrorKind::SpawnFailed, _) => match s.builtin {
            Some(tool) => format!(
                "`{tool}` could not start as the record's message says: fix the step's `with` in the workflow, {}",
                again()
            ),
            None => format!(
                "check that the command exists and the step's `dir` is right, {}",
                again()
            ),
        },
        (ErrorKind::OutputInvalid, _) => format!(
            "make the step append the declared outputs as key=value lines to $BATON_OUTPUT, {}",
            again()
        ),
        (ErrorKind::TemplateError, _) => format!(
            "fix the `${{{{ … }}}}` reference in the workflow (the step and output it names must exist), {}",
            again()
        ),
        (ErrorKind::GateRejected, _) => match s.closed {
            None => format!("address the rejection, then `baton retry {r} {st}` to ask again"),
            Some(_) => format!("address the rejection, then {}", new_run(s)),
        },
        (ErrorKind::GateTimeout, _) => {
            format!("approve sooner or raise the gate's `timeout`, {}", again())
        }
        (ErrorKind::Cancelled, _) => match s.closed {
            None => format!(
                "the run was cancelled: once it has stopped, `baton retry {r} {st}` runs the step again"
            ),
            Some(_) => format!("the run was cancelled: {}", new_run(s)),
        },
        (ErrorKind::ProbeFailed, _) => format!(
            "{}check what its probe asks (the address, the command), or give it longer (`ready.timeout`, `live.failures`), {}",
            read_log(s),
            again()
        ),
        (ErrorKind::ServiceExited, _) => format!(
            "a service keeps running while its dependants run: {}fix it, {}",
            read_log(s),
            again()
        ),
        (ErrorKind::Reported, _) => format!(
            "the step reported it (a `::error::` or `::warning::` line): {}fix what it names, {}",
            read_log(s),
            again()
        ),
        (ErrorKind::DependencyFailed, _) => {
            format!("fix the step it needs, then {}", new_run(s))
        }
        (ErrorKind::BudgetExceeded, _) => {
            format!("raise the workflow's `budget`, then {}", new_run(s))
        }
        (ErrorKind::RateLimited, _) => {
            "lower the pool's rate or wait: the step starts when a token is free".into()
        }
        (ErrorKind::Storage, _) => {
            format!("check disk space and permissions of the database, then `baton resume {r}`")
        }
    }
}

/// How the step runs again once fixed: a retry, or a new run when the run cannot reopen.
fn then_again(s: &Situation<'_>) -> String {
    match (s.closed, s.step) {
        (None, Some(step)) => format!("then `baton retry {} {step}`", s.run),
        _ => new_run(s),
    }
}

fn new_run(s: &Situation<'_>) -> String {
    let why = match s.closed {
        Some(Closed::Undone) => {
            " (this run's compensations undo its work, so it cannot be retried)"
        }
        Some(Closed::TimedOut) => " (this run's timeout passed, so it cannot be retried)",
        None => "",
    };
    format!("then start a new run: `{}`{why}", rerun(s, None))
}

fn read_log(s: &Situation<'_>) -> String {
    match (s.log, s.step) {
        (true, Some(step)) => format!("read the log (`baton logs {} {step}`), ", s.run),
        _ => String::new(),
    }
}

/// `baton run FILE --param …` with the run's params, `blank`'s value left to fill in.
fn rerun(s: &Situation<'_>, blank: Option<&str>) -> String {
    let mut words = vec!["baton".to_string(), "run".into(), quote(s.workflow)];
    for (k, v) in s.params {
        let v = if blank == Some(k.as_str()) { "…" } else { v };
        words.push("--param".into());
        words.push(if v == "…" {
            format!("{k}=…")
        } else {
            quote(&format!("{k}={v}"))
        });
    }
    words.join(" ")
}

fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| "…".into(), |q| q.into_owned())
}

/// The commands a suggestion names: each backticked text that starts with `baton `.
pub fn commands(suggestion: &str) -> Vec<String> {
    suggestion
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("baton "))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn causes() -> Vec<Cause> {
        vec![
            Cause::Attempt,
            Cause::EngineStopped,
            Cause::RunTimeout,
            Cause::Param("version".into()),
            Cause::Need("build".into()),
            Cause::Budget {
                dimension: "cost".into(),
                by: "5".into(),
            },
            Cause::Rate {
                pool: "p".into(),
                rate: "1/min".into(),
            },
            Cause::BadLine,
            Cause::SecretOutput,
            Cause::CutOutput,
            Cause::LogLost,
            Cause::Notifier,
            Cause::MarkedArtifact,
        ]
    }

    /// Every kind in every situation: each command named is one the run accepts then
    /// (as `engine::core`'s `allowed` decides: retry and mark only while the run can
    /// reopen, logs only of an attempt that ran a process, resume only of an
    /// interruption), and nothing is a bare placeholder run or step.
    #[test]
    fn every_command_suggested_is_one_the_state_accepts() {
        let params = vec![("version".to_string(), "1.2.3".to_string())];
        let mut seen = 0;
        for &kind in ErrorKind::ALL {
            for cause in causes() {
                for closed in [None, Some(Closed::Undone), Some(Closed::TimedOut)] {
                    for (log, builtin) in [(true, None), (false, Some("builtin.fail"))] {
                        for (will_retry, idempotent) in [(false, true), (true, false)] {
                            let s = Situation {
                                run: "01jrun",
                                step: Some("deploy"),
                                workflow: "/w/release.toml",
                                params: &params,
                                cause: cause.clone(),
                                closed,
                                will_retry,
                                log,
                                builtin,
                                idempotent,
                                step_timeout: Some("10m".into()),
                                run_timeout: Some("2h".into()),
                            };
                            let text = suggest(kind, &s);
                            assert!(!text.is_empty());
                            for c in commands(&text) {
                                seen += 1;
                                let verb = c.split_whitespace().nth(1).unwrap_or_default();
                                assert!(!c.contains(" RUN") && !c.contains(" STEP"), "{c}");
                                match verb {
                                    // A failed compensation is recorded as failed
                                    // by `mark --state failed` whatever the run's
                                    // state (`allowed`): that closes its record.
                                    "mark"
                                        if kind == ErrorKind::CompensationFailed
                                            && c.contains("--state failed") => {}
                                    "retry" | "mark" => assert!(
                                        closed.is_none() && cause != Cause::RunTimeout,
                                        "{kind:?} {cause:?} {closed:?}: {text}"
                                    ),
                                    "logs" => assert!(log, "{kind:?}: {text}"),
                                    "resume" => assert!(
                                        matches!(kind, ErrorKind::Interrupted | ErrorKind::Storage),
                                        "{kind:?}: {text}"
                                    ),
                                    "approve" | "cancel" => {
                                        assert!(matches!(cause, Cause::Budget { .. }), "{text}")
                                    }
                                    "run" => assert!(c.starts_with("baton run /w/release.toml")),
                                    other => panic!("unexpected command {other}: {text}"),
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(seen > 100);
    }

    #[test]
    fn the_cases_the_issue_found() {
        let params = vec![
            ("version".to_string(), "1.2.3".to_string()),
            ("token".to_string(), "…".to_string()),
        ];
        let base = Situation {
            run: "r1",
            step: Some("deploy"),
            workflow: "dir with space/w.toml",
            params: &params,
            cause: Cause::Attempt,
            closed: None,
            will_retry: false,
            log: true,
            builtin: None,
            idempotent: true,
            step_timeout: None,
            run_timeout: Some("1s".into()),
        };
        // After a saga compensated: a new run, never a retry.
        let undone = Situation {
            closed: Some(Closed::Undone),
            ..base.clone()
        };
        assert_eq!(
            commands(&suggest(ErrorKind::ExitNonzero, &undone)),
            [
                "baton logs r1 deploy",
                "baton run 'dir with space/w.toml' --param 'version=1.2.3' --param token=…"
            ]
        );
        // Killed by the run's timeout: the workflow's timeout, and a new run.
        let killed = Situation {
            cause: Cause::RunTimeout,
            ..base.clone()
        };
        let t = suggest(ErrorKind::Timeout, &killed);
        assert!(
            t.contains("run's `timeout` (1s)") && !t.contains("retry"),
            "{t}"
        );
        // A param that does not fit: a new run with another value.
        let param = Situation {
            cause: Cause::Param("version".into()),
            ..base.clone()
        };
        assert_eq!(
            commands(&suggest(ErrorKind::TemplateError, &param)),
            ["baton run 'dir with space/w.toml' --param version=… --param token=…"]
        );
        // builtin.fail has no log to read.
        let builtin = Situation {
            log: false,
            builtin: Some("builtin.fail"),
            ..base
        };
        assert_eq!(
            commands(&suggest(ErrorKind::ExitNonzero, &builtin)),
            ["baton retry r1 deploy"]
        );
    }
}
