//! Tests that need a process of their own, each run alone in a fresh process of this
//! binary (`helpers::alone`): a peak of memory (VmHWM is the whole process's) and
//! process-wide signal handlers (a raised signal reaches every test of the process).
use crate::helpers::{alone, job};
use baton::exec::{ShutdownSignal, ShutdownSignals, TailHandle, spawn};
use baton::model::StepOutcome;
use baton::model::mask::Masker;
use nix::sys::signal::{Signal, raise};

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A step that prints 50 MB, or one 10 MB line, does not grow baton's memory: output is
/// streamed in fixed chunks and the tail caps line length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_output_and_huge_lines_stay_in_bounded_memory() {
    if !alone("exec::own_process::huge_output_and_huge_lines_stay_in_bounded_memory") {
        return;
    }
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

/// Shutdown signals are delivered to the driver instead of killing baton.
#[tokio::test]
async fn int_term_and_hup_map_to_their_exit_codes() {
    if !alone("exec::own_process::int_term_and_hup_map_to_their_exit_codes") {
        return;
    }
    let mut signals = ShutdownSignals::install().unwrap();
    for (sig, want, code) in [
        (Signal::SIGINT, ShutdownSignal::Interrupt, 130),
        (Signal::SIGTERM, ShutdownSignal::Terminate, 143),
        (Signal::SIGHUP, ShutdownSignal::Hangup, 129),
    ] {
        raise(sig).unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(20), signals.recv())
            .await
            .unwrap_or_else(|_| panic!("{sig} raised, no shutdown signal within 20 s"));
        assert_eq!(got, want);
        assert_eq!(got.exit_code(), code);
    }
}
