//! The processes of a run's steps, found by the `BATON_RUN_ID` their environment holds
//! (the benches that watch a step's group stop and continue).

/// The pids whose environment names `run` (the step's shell and its subshells).
pub(crate) fn step_pids(run: &str) -> Vec<i32> {
    let needle = format!("BATON_RUN_ID={run}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()))
        })
        .collect()
}
