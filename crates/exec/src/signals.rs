//! Shutdown signals for the driver: SIGINT, SIGTERM and SIGHUP stop the run, which
//! exits with 128 + the signal's number (docs/commands.md, "Exit codes", issue 6).
use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSignal {
    Interrupt,
    Terminate,
    Hangup,
}

impl ShutdownSignal {
    pub fn number(self) -> i32 {
        match self {
            ShutdownSignal::Interrupt => libc::SIGINT,
            ShutdownSignal::Terminate => libc::SIGTERM,
            ShutdownSignal::Hangup => libc::SIGHUP,
        }
    }

    /// 130, 143 or 129.
    pub fn exit_code(self) -> i32 {
        128 + self.number()
    }

    pub fn name(self) -> &'static str {
        match self {
            ShutdownSignal::Interrupt => "SIGINT",
            ShutdownSignal::Terminate => "SIGTERM",
            ShutdownSignal::Hangup => "SIGHUP",
        }
    }
}

/// SIGCHLD at its default. A parent may leave it ignored (an exec keeps an ignored
/// signal): the kernel then reaps baton's children itself, no wait sees a step's exit
/// status, and every step would start with it ignored too.
pub fn reap_own_children() {
    // SAFETY: one signal's disposition set to its default; no handler is involved.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
}

/// The three handlers, installed at once: from `install` on, these signals no longer
/// kill baton but are delivered to `recv`.
#[derive(Debug)]
pub struct ShutdownSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl ShutdownSignals {
    pub fn install() -> std::io::Result<ShutdownSignals> {
        Ok(ShutdownSignals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next shutdown signal (call again for a second one, e.g. to force quit).
    pub async fn recv(&mut self) -> ShutdownSignal {
        tokio::select! {
            Some(()) = self.int.recv() => ShutdownSignal::Interrupt,
            Some(()) = self.term.recv() => ShutdownSignal::Terminate,
            Some(()) = self.hup.recv() => ShutdownSignal::Hangup,
            else => std::future::pending().await,
        }
    }
}
