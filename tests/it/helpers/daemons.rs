//! The real daemons some tests need (tests/slurm/cluster.sh, tests/ssh/hosts.sh,
//! tests/sge/cell.sh), started by their script: `None`, with the reason printed, only
//! where they cannot run here (not installed, not root); a script that fails where
//! they are installed fails the test.
use super::env::text;
use std::path::Path;
use std::process::Command;

/// Whether this process runs as root (the daemons' scripts need it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

/// `tests/SCRIPT start [this process's pid]` once `needs` (files) exist: its output's
/// last line, or `None` (and why, printed). With `owned`, the daemons stop once this
/// test process has exited.
pub fn start_daemons(script: &str, needs: &[&str], install: &str, owned: bool) -> Option<String> {
    if let Some(missing) = needs.iter().find(|p| !Path::new(p).exists()) {
        eprintln!("SKIPPED: {missing} is not installed (apt-get install {install})");
        return None;
    }
    if !is_root() {
        eprintln!("SKIPPED: tests/{script} needs root");
        return None;
    }
    let mut cmd = Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(script),
    );
    cmd.arg("start");
    if owned {
        cmd.arg(std::process::id().to_string());
    }
    let out = cmd.output().expect("run the daemons' script");
    assert!(
        out.status.success(),
        "{install} is installed but tests/{script} did not start:\n{}",
        text(&out.stderr)
    );
    Some(
        text(&out.stdout)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_string(),
    )
}

/// `baton run WF --headless` (with `vars` in its environment) and the `started`
/// failpoint on `step`: the engine kills itself (SIGKILL) right after the step's attempt
/// started, before it is recorded.
pub fn died_at_started(
    env: &super::Env,
    vars: &[(String, String)],
    wf: &Path,
    step: &str,
) -> std::process::Output {
    use std::os::unix::process::ExitStatusExt;
    let child = env
        .cmd()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env("BATON_FAILPOINT", format!("started:{step}"))
        .args(["run", wf.to_str().unwrap(), "--headless"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn baton");
    let out = super::wait_child(child, 60);
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the engine died at the failpoint: {:?}\n{}",
        out.status,
        text(&out.stderr)
    );
    out
}
