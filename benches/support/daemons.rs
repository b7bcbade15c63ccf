//! The test daemons a bench needs (`tests/ssh/hosts.sh`, `tests/sge/cell.sh`,
//! `tests/slurm/cluster.sh`), started with this process's pid: what a bench starts stops
//! once it has exited, also when it fails; daemons started by hand before it stay as
//! they were.
use std::path::Path;
use std::process::Command;

/// Start daemons with their script under `tests/` (`ssh/hosts.sh`): its last output
/// line (the ssh config, the cell's environment file…), or why not.
pub(crate) fn start(name: &str) -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let out = Command::new(script)
        .args(["start", &std::process::id().to_string()])
        .output()
        .map_err(|e| format!("cannot run tests/{name}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tests/{name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or("")
        .to_string())
}
