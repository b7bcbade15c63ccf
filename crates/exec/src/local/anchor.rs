//! What keeps a frozen local step frozen when its engine dies (issue 43 point 1).
//!
//! When a process exits, the kernel sends SIGHUP then SIGCONT to each process group
//! of its children that thereby becomes *orphaned* (no member has a parent in another
//! group of the same session) while holding a stopped process (POSIX; `kernel/exit.c`,
//! `kill_orphaned_pgrp`). A step's group is such a group once its engine, the parent
//! of its leader, is gone: frozen by a hold, it would be continued (and its shell hung
//! up) by the engine's death. A step in a session of its own is spared that (the rule
//! is within one session), but `setsid` per step also makes a scheduler autogroup per
//! step where those are on (most desktop and many server kernels): measured, it made
//! a run of 1,000 `true` steps 1.45× as long (docs/performance/latency.md).
//!
//! So only a frozen step pays: when the engine first freezes a step's group it starts
//! an *anchor*, `baton __anchor PGID` (its own group, the engine's session), which
//! forks one member into the step's group and waits for it. That member's parent (the
//! anchor) is in another group of the same session and outlives the engine, so the
//! step's group never becomes orphaned: the engine's death leaves it stopped for the
//! next engine to adopt (`adopt.rs`). The member waits in `pause`: it uses no CPU and
//! holds no descriptor of the step's; it goes with the step's group (the end of an
//! attempt stops what is left of its group; a cancel, a timeout and a stale-group kill
//! signal the whole group), and the anchor ends with it; should the step's processes be
//! killed one by one instead, the anchor sees its member alone in the group (it looks
//! every half second) and ends it and itself. A kill -9 of the engine in
//! the few milliseconds between a freeze and its anchor's member joining the group
//! finds the group unanchored: then it is continued, as before, and resume stops what
//! is left of it and holds the step again.
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

/// How often an anchor looks whether its group still has a process of the step's.
const ALONE_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The argument that makes `baton` an anchor.
pub const ANCHOR_ARG: &str = "__anchor";

/// The program that can be an anchor (the `baton` binary), set by it at its start; no
/// anchor is started without one (a library user's frozen steps are not anchored).
static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Called by `baton`'s `main`: when the arguments ask for an anchor, be one (returns
/// its exit code); otherwise note this binary as the anchors' program.
pub fn main_hook(args: &[OsString]) -> Option<i32> {
    if args.get(1).is_some_and(|a| a == ANCHOR_ARG) {
        let pgid = args.get(2)?.to_str()?.parse::<i32>().ok()?;
        return Some(be_anchor(pgid));
    }
    if let Ok(exe) = std::env::current_exe() {
        let _ = PROGRAM.set(exe);
    }
    None
}

/// Start the anchor of group `pgid` (see the module's comment); reaped by a thread of
/// its own when it ends. Returns its pid; does nothing without a program to run as one.
pub fn start(pgid: i32) -> std::io::Result<Option<u32>> {
    use std::os::unix::process::CommandExt;
    let Some(program) = PROGRAM.get() else {
        return Ok(None);
    };
    let mut anchor = std::process::Command::new(program)
        .arg(ANCHOR_ARG)
        .arg(pgid.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        // Holds no directory of the run's busy.
        .current_dir("/")
        // Not a step's process (an engine started by a step carries its ids).
        .env_remove("BATON_RUN_ID")
        .env_remove("BATON_STEP_ID")
        .spawn()?;
    let pid = anchor.id();
    std::thread::Builder::new()
        .name("baton-anchor".into())
        .spawn(move || {
            let _ = anchor.wait();
        })?;
    Ok(Some(pid))
}

/// The anchor's body: a member in group `pgid`, waited for.
fn be_anchor(pgid: i32) -> i32 {
    use nix::unistd::{ForkResult, Pid, fork, setpgid};
    if pgid <= 1 {
        return 2;
    }
    // SAFETY: this process has one thread (nothing else has run in it yet): after the
    // fork the child only calls `setpgid`, `pause` and `_exit`.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            if setpgid(Pid::from_raw(0), Pid::from_raw(pgid)).is_err() {
                // SAFETY: ends the forked child at once.
                unsafe { libc::_exit(1) };
            }
            loop {
                // SAFETY: waits for a signal; the member's end is a signal's default.
                unsafe { libc::pause() };
            }
        }
        Ok(ForkResult::Parent { child }) => {
            use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
            // Polled, not only waited for: once no process of the step is left (they
            // were killed one by one, not as a group), the member goes, and so does
            // the anchor: neither outlives the work it is there for (issue 55).
            loop {
                match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) => {}
                    _ => return 0,
                }
                let alone = baton_procs::group_members(pgid)
                    .into_iter()
                    .all(|p| p == child.as_raw());
                if alone {
                    let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                    let _ = waitpid(child, None);
                    return 0;
                }
                std::thread::sleep(ALONE_POLL);
            }
        }
        Err(_) => 1,
    }
}
