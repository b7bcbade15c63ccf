//! The campaign's processes as the kernel lists them: the batons on its store
//! (whoever started them: this test, a console's detach, a takeover), what each is,
//! and the sshd session processes that carry its remote steps. Signals go to a pid
//! only while it is still the process that was found (its start time checked).
use super::plan::{Sig, Target};
use std::path::Path;

/// A process found in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proc {
    pub pid: i32,
    /// Its start time (clock ticks since boot, `/proc/PID/stat` field 22): a pid reused
    /// by another process has another.
    pub started: u64,
    pub args: Vec<String>,
}

fn read_args(pid: i32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Field 22 of `/proc/PID/stat` (after the command's closing parenthesis), and the
/// process's state letter and parent; `None` for a process gone or a zombie.
fn stat(pid: i32) -> Option<(char, i32, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let state = f.first()?.chars().next()?;
    (state != 'Z').then_some(())?;
    Some((state, f.get(1)?.parse().ok()?, f.get(19)?.parse().ok()?))
}

/// The nearest ancestor of `pid` that is sshd (the session serving it on a host):
/// killing it cuts the connection and leaves `pid` to go on.
pub(crate) fn sshd_above(pid: i32) -> Option<Proc> {
    let mut at = pid;
    for _ in 0..16 {
        let (_, parent, _) = stat(at)?;
        let p = found(parent)?;
        if p.args.first().is_some_and(|a| a.starts_with("sshd")) {
            return Some(p);
        }
        at = parent;
    }
    None
}

fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn found(pid: i32) -> Option<Proc> {
    let (_, _, started) = stat(pid)?;
    Some(Proc {
        pid,
        started,
        args: read_args(pid)?,
    })
}

/// What a baton process on the store is to the campaign, from its arguments; `None`
/// for one it leaves alone (a reader, an anchor holding a handed-over step's group).
pub(crate) fn role(args: &[String]) -> Option<Target> {
    let sub = args.get(1).map(String::as_str)?;
    let headless = args.iter().any(|a| a == "--headless");
    match sub {
        "serve" => Some(Target::Serve),
        "run" if args.iter().any(|a| a == "--parent") => Some(Target::ChildEngine),
        "run" if headless => Some(Target::Engine),
        "run" | "tui" => Some(Target::Console),
        "resume" | "approve" | "reject" | "hold" | "release" | "push-back" | "fork" => {
            Some(Target::Engine)
        }
        _ => None,
    }
}

/// The batons whose environment names the store `db` (`BATON_DB`), each with its role.
pub(crate) fn batons(db: &Path) -> Vec<(Target, Proc)> {
    on_store(db)
        .into_iter()
        .filter_map(|p| role(&p.args).map(|r| (r, p)))
        .collect()
}

/// The `baton link` processes serving the store `db` (issue 59: a console elsewhere
/// reaches it through `ssh HOST baton link`).
pub(crate) fn links(db: &Path) -> Vec<Proc> {
    on_store(db)
        .into_iter()
        .filter(|p| p.args.get(1).is_some_and(|a| a == "link"))
        .collect()
}

/// Every baton whose environment names the store `db` (`BATON_DB`), by pid.
fn on_store(db: &Path) -> Vec<Proc> {
    let needle = format!("BATON_DB={}", db.display());
    let mut out = Vec::new();
    for pid in pids() {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !environ.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            continue;
        }
        let Some(p) = found(pid) else { continue };
        if p.args.first().is_some_and(|a| a.ends_with("/baton")) {
            out.push(p);
        }
    }
    out.sort_by_key(|p| p.pid);
    out
}

/// The sshd session processes (children of a listener in `listeners`) with a
/// descendant whose command line holds `mark` (the campaign's directory: the remote
/// steps' attempt directories are under it). A session of another test is never one.
pub(crate) fn ssh_sessions(listeners: &[i32], mark: &str) -> Vec<Proc> {
    let table: Vec<(i32, i32)> = pids()
        .into_iter()
        .filter_map(|p| stat(p).map(|(_, ppid, _)| (p, ppid)))
        .collect();
    let children = |of: i32| -> Vec<i32> {
        table
            .iter()
            .filter(|(_, pp)| *pp == of)
            .map(|(p, _)| *p)
            .collect()
    };
    let mut out = Vec::new();
    for l in listeners {
        for session in children(*l) {
            let mut stack = children(session);
            let mut ours = false;
            while let Some(p) = stack.pop() {
                if read_args(p).is_some_and(|a| a.iter().any(|w| w.contains(mark))) {
                    ours = true;
                    break;
                }
                stack.extend(children(p));
            }
            if ours && let Some(p) = found(session) {
                out.push(p);
            }
        }
    }
    out
}

/// Whether `p` is still that process (not gone, not a reused pid).
pub(crate) fn same(p: &Proc) -> bool {
    stat(p.pid).is_some_and(|(_, _, started)| started == p.started)
}

fn send(p: &Proc, s: nix::sys::signal::Signal) -> bool {
    same(p) && nix::sys::signal::kill(nix::unistd::Pid::from_raw(p.pid), s).is_ok()
}

/// `sig` to `p` (for a stop, SIGSTOP only: the caller continues it when due); whether
/// it was sent.
pub(crate) fn signal(p: &Proc, sig: Sig) -> bool {
    use nix::sys::signal::Signal;
    send(
        p,
        match sig {
            Sig::Kill => Signal::SIGKILL,
            Sig::Hup => Signal::SIGHUP,
            Sig::Stop(_) => Signal::SIGSTOP,
        },
    )
}

/// SIGCONT to `p`, if it is still that process.
pub(crate) fn cont(p: &Proc) -> bool {
    send(p, nix::sys::signal::Signal::SIGCONT)
}

/// SIGKILL to every process whose command line mentions `text` (the campaign's
/// directory: a step left behind, an SSH control master of the campaign's `TMPDIR`),
/// never this process.
pub(crate) fn kill_mentioning(text: &str) {
    let me = std::process::id() as i32;
    for pid in pids().into_iter().filter(|p| *p != me) {
        if read_args(pid).is_some_and(|a| a.iter().any(|w| w.contains(text)))
            && let Some(p) = found(pid)
        {
            signal(&p, Sig::Kill);
        }
    }
}

/// The processes (not this one) with a word of their command line holding each of
/// `texts`.
pub(crate) fn mentioning_all(texts: &[&str]) -> Vec<Proc> {
    let me = std::process::id() as i32;
    pids()
        .into_iter()
        .filter(|p| *p != me)
        .filter_map(found)
        .filter(|p| texts.iter().all(|t| p.args.iter().any(|w| w.contains(t))))
        .collect()
}

/// The children of `parent` (if it is still that process).
pub(crate) fn children(parent: &Proc) -> Vec<Proc> {
    if !same(parent) {
        return Vec::new();
    }
    pids()
        .into_iter()
        .filter(|p| stat(*p).is_some_and(|(_, ppid, _)| ppid == parent.pid))
        .filter_map(found)
        .collect()
}

/// The pid in a daemon's pid file.
pub(crate) fn pid_file(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn roles_follow_the_command_line() {
        let r = |a: &[&str]| role(&args(a));
        assert_eq!(
            r(&["/x/baton", "run", "w.toml", "--headless"]),
            Some(Target::Engine)
        );
        assert_eq!(r(&["/x/baton", "run", "w.toml"]), Some(Target::Console));
        assert_eq!(
            r(&[
                "/x/baton",
                "run",
                "--headless",
                "--parent",
                "R/s",
                "--",
                "c.toml"
            ]),
            Some(Target::ChildEngine)
        );
        assert_eq!(
            r(&["/x/baton", "resume", "R", "--headless"]),
            Some(Target::Engine)
        );
        assert_eq!(r(&["/x/baton", "approve", "R", "s"]), Some(Target::Engine));
        assert_eq!(
            r(&["/x/baton", "serve", "--workflows", "d"]),
            Some(Target::Serve)
        );
        // What may take a run over and drive it.
        for sub in ["hold", "release", "push-back", "fork"] {
            assert_eq!(r(&["/x/baton", sub, "R"]), Some(Target::Engine), "{sub}");
        }
        assert_eq!(r(&["/x/baton", "runs", "--json"]), None);
        assert_eq!(r(&["/x/baton", "__anchor"]), None);
    }
}
