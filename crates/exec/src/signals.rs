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
    int: Option<Signal>,
    term: Option<Signal>,
    hup: Option<Signal>,
}

impl ShutdownSignals {
    /// A signal ignored when baton started stays ignored, as a program started so is
    /// asked to (`nohup` ignores SIGHUP; a shell, its background jobs' SIGINT): it
    /// does not stop the run, and the steps start with it ignored too.
    pub fn install() -> std::io::Result<ShutdownSignals> {
        Ok(ShutdownSignals {
            int: unless_ignored(SignalKind::interrupt())?,
            term: unless_ignored(SignalKind::terminate())?,
            hup: unless_ignored(SignalKind::hangup())?,
        })
    }

    /// The next shutdown signal (call again for a second one, e.g. to force quit).
    pub async fn recv(&mut self) -> ShutdownSignal {
        tokio::select! {
            Some(()) = next(&mut self.int) => ShutdownSignal::Interrupt,
            Some(()) = next(&mut self.term) => ShutdownSignal::Terminate,
            Some(()) = next(&mut self.hup) => ShutdownSignal::Hangup,
            else => std::future::pending().await,
        }
    }
}

/// The handler for `kind`, or none while its signal is ignored.
fn unless_ignored(kind: SignalKind) -> std::io::Result<Option<Signal>> {
    // SAFETY: reads the signal's disposition into a local; changes nothing.
    let ignored = unsafe {
        let mut now: libc::sigaction = std::mem::zeroed();
        libc::sigaction(kind.as_raw_value(), std::ptr::null(), &mut now) == 0
            && now.sa_sigaction == libc::SIG_IGN
    };
    if ignored {
        return Ok(None);
    }
    signal(kind).map(Some)
}

/// The next delivery of `signal`; none from a signal left ignored.
async fn next(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => None,
    }
}
