//! `--store NAME` (issue 59): a `[[store]]` of config.toml by its name. A local one is
//! its file, exactly as `--db PATH`; a store on another host runs the whole command
//! there (`session::remote`: the system's `ssh`, the operator's account on that host,
//! one shared connection), so the remote baton decides and records exactly as if the
//! operator had logged in there. Its output and exit code are the remote command's.
use super::{Cli, Cmd, exit};
use crate::config::{self, RemoteStore, StorePlace};
use crate::session::remote::{self, Prompts};
use clap::Parser;

/// Where `--store NAME` is in the arguments (after the program's name): the tokens it
/// takes (`--store NAME` two, `--store=NAME` one) and the name.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    pub at: usize,
    pub len: usize,
    pub name: String,
}

/// `--store` in `args`, before any `--` (after it every word is an operand). Clap has
/// parsed the same words already, and takes no option's value that starts with `--`,
/// so a word `--store` here is the option itself.
pub fn find(args: &[String]) -> Option<Found> {
    for (i, a) in args.iter().enumerate() {
        if a == "--" {
            return None;
        }
        if a == "--store" {
            return args.get(i + 1).map(|n| Found {
                at: i,
                len: 2,
                name: n.clone(),
            });
        }
        if let Some(n) = a.strip_prefix("--store=") {
            return Some(Found {
                at: i,
                len: 1,
                name: n.to_string(),
            });
        }
    }
    None
}

/// Whether `--db` is given on the command line (before any `--`).
fn names_db(args: &[String]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--db" || a.starts_with("--db="))
}

/// The arguments with `--store NAME` taken out, and `with` in its place.
pub fn replaced(args: &[String], found: &Found, with: &[String]) -> Vec<String> {
    let mut out = args[..found.at].to_vec();
    out.extend(with.iter().cloned());
    out.extend(args[found.at + found.len..].iter().cloned());
    out
}

/// Whether a command is the same on another host: one that reads a store or records a
/// decision on it (never one that drives a run here, serves, or opens a console).
fn runs_remotely(cmd: &Cmd) -> bool {
    matches!(
        cmd,
        Cmd::Runs(_)
            | Cmd::Inbox(_)
            | Cmd::Show(_)
            | Cmd::Diff(_)
            | Cmd::Logs(_)
            | Cmd::History(_)
            | Cmd::Events(_)
            | Cmd::Audit(_)
            | Cmd::Approve(_)
            | Cmd::Reject(_)
            | Cmd::PushBack(_)
            | Cmd::Hold(_)
            | Cmd::Release(_)
            | Cmd::Note(_)
            | Cmd::Retry(_)
            | Cmd::Cancel(_)
            | Cmd::Fork(_)
            | Cmd::Mark(_)
            | Cmd::Schedules(_)
            | Cmd::Schedule(_)
    )
}

/// Put `--store NAME` into effect: a local store becomes `--db PATH` (the arguments
/// parsed again); a remote one runs the command on its host, `Err` carrying its exit
/// code. Without `--store`, `cli` as it is.
pub fn route(cli: Cli) -> Result<Cli, i32> {
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let args: Vec<String> = raw
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(found) = find(&args) else {
        return Ok(cli);
    };
    // A console over several stores reaches each itself (`console_desk`).
    if let Cmd::Tui(t) = &cli.command
        && t.is_desk()
    {
        return Ok(cli);
    }
    // (Not clap's `conflicts_with`: that would count `$BATON_DB`, which `--store` wins over.)
    if names_db(&args) {
        crate::stdio::errln!("error: --store and --db both name the store; give one of them");
        return Err(exit::USAGE);
    }
    let entry = match config::get().store(&found.name) {
        Ok(e) => e,
        Err(e) => {
            crate::stdio::errln!("error: --store {}: {e}", found.name);
            return Err(exit::USAGE);
        }
    };
    match &entry.place {
        StorePlace::Local(path) => {
            let db = ["--db".to_string(), path.to_string_lossy().into_owned()];
            let program = raw.first().cloned().unwrap_or_else(|| "baton".into());
            let again = std::iter::once(program)
                .chain(replaced(&args, &found, &db).into_iter().map(Into::into));
            Cli::try_parse_from(again).map_err(|e| {
                let _ = e.print();
                exit::USAGE
            })
        }
        // The console reaches it through `baton link` there (`console_remote`).
        StorePlace::Ssh(_) if matches!(cli.command, Cmd::Tui(_)) => Ok(cli),
        StorePlace::Ssh(r) if runs_remotely(&cli.command) => {
            if raw.iter().any(|a| a.to_str().is_none()) {
                crate::stdio::errln!(
                    "error: an argument is not UTF-8 text, which a command on another host cannot be given; write it in UTF-8"
                );
                return Err(exit::USAGE);
            }
            Err(on_host(&entry.name, r, &replaced(&args, &found, &[])))
        }
        StorePlace::Ssh(r) => {
            crate::stdio::errln!(
                "error: store `{}` is on {}, and this command runs only on the store's own machine; run it there (ssh {} baton …), or use `baton tui --store {}` for the console",
                entry.name,
                r.host,
                r.host,
                entry.name
            );
            Err(exit::USAGE)
        }
    }
}

/// Run `baton ARGS…` on the store's host, the terminal its stdin, stdout and stderr:
/// the remote command's exit code, or storage's when `ssh` itself failed.
fn on_host(name: &str, r: &RemoteStore, args: &[String]) -> i32 {
    let status = remote::command(r, args, Prompts::Allowed).status();
    match status {
        Err(e) => {
            crate::stdio::errln!(
                "error: store `{name}`: cannot run ssh: {e}; install the OpenSSH client (apt-get install openssh-client)"
            );
            exit::STORAGE
        }
        Ok(s) if remote::ssh_failed(s.code()) => {
            crate::stdio::errln!(
                "error: store `{name}`: ssh could not reach {} (ssh's words above); check that `ssh {}` logs in, and the store's `ssh`/`ssh_config` in config.toml",
                r.host,
                r.host
            );
            exit::STORAGE
        }
        Ok(s) if s.code() == Some(127) => {
            crate::stdio::errln!(
                "error: store `{name}`: `{}` is not found on {}; install baton there, or give its path: baton = \"/path/to/baton\" in the [[store]]",
                r.program,
                r.host
            );
            exit::STORAGE
        }
        Ok(s) => s.code().unwrap_or(exit::FAILED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_option_is_found_in_either_spelling_and_not_after_a_double_dash() {
        let a = words("approve 01jd deploy --store gpu --reason ok");
        let f = find(&a).expect("found");
        assert_eq!((f.at, f.len, f.name.as_str()), (3, 2, "gpu"));
        assert_eq!(
            replaced(&a, &f, &[]),
            words("approve 01jd deploy --reason ok")
        );
        let a = words("runs --store=build --json");
        let f = find(&a).expect("found");
        assert_eq!(
            replaced(&a, &f, &["--db".into(), "/b.db".into()]),
            words("runs --db /b.db --json")
        );
        assert_eq!(find(&words("__complete -- --store x")), None);
        assert_eq!(find(&words("runs --reason=--store")), None);
        assert!(names_db(&words("runs --store a --db=x")));
        assert!(!names_db(&words("runs --store a -- --db")));
    }
}
