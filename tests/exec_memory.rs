//! A step that prints 50 MB, or one 10 MB line, does not grow baton's memory: output is
//! streamed in fixed chunks and the tail caps line length. One test in this binary so
//! that VmHWM (peak RSS of the process) measures only it.
//!
//! A binary of its own, not a module of tests/it: VmHWM is the peak of the whole process,
//! so any other test running beside it would count.
#[path = "it/helpers/exec.rs"]
mod helpers;

use baton::exec::{TailHandle, spawn};
use baton::model::StepOutcome;
use baton::model::mask::Masker;
use helpers::job;

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_output_and_huge_lines_stay_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let before = vm_hwm_kib();
    let cases = [
        (
            "many",
            "head -c 50000000 /dev/zero | tr '\\0' 'a' | fold -w 100",
            50_499_999,
        ),
        (
            "oneline",
            "head -c 10000000 /dev/zero | tr '\\0' 'b'; echo",
            10_000_001,
        ),
        (
            "nolines",
            "head -c 20000000 /dev/zero | tr '\\0' 'c'",
            20_000_000,
        ),
    ];
    for (step, cmd, size) in cases {
        let mut j = job(tmp.path(), step, cmd);
        // A secret forces the masking path (the one that holds bytes back).
        j.masker = Masker::new(["zz-secret-zz".to_string()]);
        let running = spawn(j).await.unwrap();
        let tail = running.tail();
        let f = running.wait().await;
        assert_eq!(f.outcome, StepOutcome::Exited { exit_code: 0 }, "{step}");
        let log = f.log_path.unwrap();
        assert_eq!(std::fs::metadata(&log).unwrap().len(), size, "{step}");
        std::fs::remove_file(log).unwrap();
        let lines = tail.lines();
        assert!(lines.len() <= TailHandle::LINES);
        assert!(lines.iter().all(|l| l.len() <= TailHandle::LINE_BYTES + 8));
    }
    let after = vm_hwm_kib();
    eprintln!("VmHWM before {before} KiB, after {after} KiB");
    assert!(
        after - before < 32 * 1024,
        "peak RSS grew by {} KiB",
        after - before
    );
}
