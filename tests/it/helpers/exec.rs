//! Helpers for tests of executors against real processes: a shell job, its process group.
#![allow(dead_code)]
use baton::exec::ShellJob;
use baton::model::mask::Masker;
use std::path::Path;

pub(crate) fn job(dir: &Path, step: &str, command: &str) -> ShellJob {
    ShellJob {
        run_id: "run1".into(),
        step_id: step.into(),
        attempt: 1,
        command: command.into(),
        dir: dir.to_path_buf(),
        env: vec![
            ("BATON_RUN_ID".into(), "run1".into()),
            ("BATON_STEP_ID".into(), step.into()),
            ("BATON_ATTEMPT".into(), "1".into()),
        ],
        local_env: Vec::new(),
        withheld: Vec::new(),
        log_dir: dir.join("logs"),
        masker: Masker::default(),
        files_dir: None,
        start_here: true,
    }
}

/// Processes of the group that can still run (zombies excluded), from /proc.
pub(crate) fn live_members(pgid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .collect();
        if fields[2].parse::<i32>().unwrap() == pgid && fields[0] != "Z" {
            found.push(pid);
        }
    }
    found
}

pub(crate) fn log_text(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

/// The `baton __anchor PGID` processes of group `pgid` (`exec::anchor`).
pub(crate) fn anchors_of(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
                args.get(1) == Some(&b"__anchor".as_slice())
                    && args.get(2) == Some(&pgid.to_string().as_bytes())
            })
        })
        .collect()
}
