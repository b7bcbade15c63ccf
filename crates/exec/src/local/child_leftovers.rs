//! A child-run step's process is its child's engine (`baton run --parent`,
//! docs/workflow/child-workflows.md). Killed on its own (`kill -9`, the OOM killer),
//! it leaves the child's step processes running in groups of their own, which the
//! step's group clearing does not reach. They are found by the child run's id and
//! stopped before the step's end is recorded: until then the parent's run holds its
//! concurrency group, its pool slots and its lease, as it does while a step process
//! of its own lives, so a run waiting in the group never overlaps them.
use super::group::{kill_stale_group, stop_run_groups};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// How long a child's leftover step gets to end on SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// The most of `$BATON_OUTPUT` read for the child's id (the child's engine writes
/// `child_run=ID` first; the rest is the step's business).
const READ_MAX: u64 = 64 * 1024;

/// The variable only a child-run step's environment has (`core::child::WORKFLOW_ENV`).
pub(crate) const CHILD_WORKFLOW_ENV: &str = "BATON_CHILD_WORKFLOW";

/// The child run a child-run step's `$BATON_OUTPUT` at `output` names, if any: the
/// last `child_run=ID` line with an id of a run's characters.
fn child_run_in(output: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(output)
        .ok()?
        .take(READ_MAX)
        .read_to_string(&mut text)
        .ok()?;
    text.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("child_run="))
        .map(str::trim)
        .find(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
}

/// Stop what the child run named in `output` left running (blocking: SIGTERM, its
/// grace, SIGKILL, until each group is gone). The child's id and how many groups were
/// stopped, when there were any.
pub(crate) fn stop(output: &Path) -> Option<(String, usize)> {
    let kid = child_run_in(output)?;
    let stopped = stop_run_groups(&kid, &[], |groups| {
        std::thread::scope(|scope| {
            for &pgid in groups {
                scope.spawn(move || kill_stale_group(pgid, GRACE));
            }
        });
    });
    (stopped > 0).then_some((kid, stopped))
}

#[cfg(test)]
mod tests {
    use super::super::group::run_process_groups;
    use super::*;

    #[test]
    fn the_child_is_the_last_well_formed_child_run_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out");
        std::fs::write(&p, "a=1\nchild_run=01abc\nchild_run=$(rm -rf /)\n").unwrap();
        assert_eq!(child_run_in(&p).as_deref(), Some("01abc"));
        std::fs::write(&p, "a=1\n").unwrap();
        assert_eq!(child_run_in(&p), None);
        assert_eq!(child_run_in(&dir.path().join("none")), None);
    }

    /// What a look does not find (here: a group the first one's stop starts, as a
    /// process in the middle of an exec reads as no one's) the next look stops.
    #[test]
    fn what_one_look_misses_the_next_stops() {
        let dir = tempfile::tempdir().unwrap();
        let kid = format!("kid-{}", std::process::id());
        let out = dir.path().join("out");
        std::fs::write(&out, format!("child_run={kid}\n")).unwrap();
        let late = dir.path().join("late.pid");
        let ready = dir.path().join("ready");
        // On SIGTERM the first group starts a second in a session of its own, and ends
        // once that one has written its pid (it is out of the first group by then).
        let script = format!(
            "trap 'setsid sh -c \"echo \\$\\$ > {late}.tmp && mv {late}.tmp {late} && exec sleep 60\" & while [ ! -e {late} ]; do sleep 0.05; done; exit 0' TERM; : > {ready}; sleep 60 & wait",
            late = late.display(),
            ready = ready.display()
        );
        let mut first = std::process::Command::new("setsid")
            .args(["sh", "-c", &script])
            .env("BATON_RUN_ID", &kid)
            .env("BATON_STEP_ID", "ship")
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        // Its trap is set before it is stopped.
        while !ready.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let (_, n) = stop(&out).expect("its leftovers stopped");
        let _ = first.wait();
        let pgid: i32 = std::fs::read_to_string(&late)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(n >= 2, "{n} group(s) stopped");
        assert!(
            !crate::local::group::group_alive(pgid),
            "the late group runs on"
        );
        assert!(run_process_groups(&kid).is_empty());
    }
}
