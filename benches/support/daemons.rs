//! The test daemons a bench needs (`tests/ssh/hosts.sh`, `tests/sge/cell.sh`,
//! `tests/slurm/cluster.sh`), started with this process's pid: what a bench starts stops
//! once it has exited, also when it fails; daemons started by hand before it stay as
//! they were.
use super::error::BenchError;
use std::path::Path;
use std::process::Command;

/// Start daemons with their script under `tests/` (`ssh/hosts.sh`): its last output
/// line (the ssh config, the cell's environment file…), or why not.
pub(crate) fn start(name: &str) -> Result<String, BenchError> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name);
    let out = Command::new(script)
        .args(["start", &std::process::id().to_string()])
        .output()
        .map_err(BenchError::io(format!("run tests/{name}")))?;
    let said = BenchError::checked(&format!("tests/{name} start"), out)?;
    Ok(said.trim().lines().last().unwrap_or("").to_string())
}
