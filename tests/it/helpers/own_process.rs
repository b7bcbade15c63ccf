//! A test that needs a process of its own (its peak memory, its signal handlers) inside
//! the one integration binary: run normally, it runs itself again as the only test of a
//! fresh process of this binary and passes when that process passed.
use std::process::Command;

/// `true` in the process where `test` (its path in this binary, e.g.
/// `exec::own_process::name`) is the only test: the caller then runs its body. Otherwise
/// runs that process, asserts that it passed, and returns `false`.
pub(crate) fn alone(test: &str) -> bool {
    // Alone: this process was asked for this one test by name (`--exact`), as the run
    // below asks it. Read from the arguments, which nothing in the suite rewrites (the
    // suite clears `BATON_*` variables at start), so the run below never runs again.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--exact") && args.iter().any(|a| a == test) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(exe)
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .output()
        .expect("the test binary runs again");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{test} alone: {said}");
    // Ran, not filtered away: libtest says how many passed.
    assert!(
        said.contains("1 passed"),
        "{test} did not run alone: {said}"
    );
    false
}
