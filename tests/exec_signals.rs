//! Shutdown signals are delivered to the driver instead of killing baton.
//!
//! A binary of its own, not a module of tests/it: it installs process-wide handlers for
//! SIGINT, SIGTERM and SIGHUP and raises them, which other tests in the process would see.
use baton::exec::{ShutdownSignal, ShutdownSignals};
use nix::sys::signal::{Signal, raise};

#[tokio::test]
async fn int_term_and_hup_map_to_their_exit_codes() {
    let mut signals = ShutdownSignals::install().unwrap();
    for (sig, want, code) in [
        (Signal::SIGINT, ShutdownSignal::Interrupt, 130),
        (Signal::SIGTERM, ShutdownSignal::Terminate, 143),
        (Signal::SIGHUP, ShutdownSignal::Hangup, 129),
    ] {
        raise(sig).unwrap();
        let got = signals.recv().await;
        assert_eq!(got, want);
        assert_eq!(got.exit_code(), code);
    }
}
