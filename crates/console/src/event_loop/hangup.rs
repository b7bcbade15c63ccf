//! The terminal gone with nobody told. When the console's terminal goes away without a
//! SIGHUP reaching it (its ssh session dropped while it ran under a shell that kept the
//! signal, a pane killed under `setpriv` or `nohup`), crossterm's reader finds the tty
//! readable forever and every read empty, and spins a core (crossterm-rs/crossterm#793,
//! unfixed in the release we use). So the console looks at its terminal itself, once a
//! second, without reading it (a read would take the operator's keys): a hung-up tty
//! ends the console as a SIGHUP would.
use std::io::IsTerminal;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// How often the terminal is looked at: an orphaned console burns at most this long.
const EVERY: Duration = Duration::from_secs(1);

/// The console's terminal, looked at with `poll(2)` and no events asked for: the kernel
/// reports a hang-up, an error and a closed descriptor whatever is asked.
pub(super) struct TtyWatch {
    fd: Watched,
    tick: tokio::time::Interval,
}

enum Watched {
    /// Standard input, the terminal crossterm reads when it is one.
    Stdin,
    /// The controlling terminal, opened here, which crossterm reads otherwise.
    Own(OwnedFd),
}

impl TtyWatch {
    /// The terminal the console reads keys from, or `None` when it has none to lose.
    pub(super) fn of_this_process() -> Option<TtyWatch> {
        let fd = if std::io::stdin().is_terminal() {
            Watched::Stdin
        } else {
            let tty = std::fs::OpenOptions::new()
                .read(true)
                .open("/dev/tty")
                .ok()?;
            Watched::Own(OwnedFd::from(tty))
        };
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Some(TtyWatch { fd, tick })
    }

    fn raw(&self) -> RawFd {
        match &self.fd {
            Watched::Stdin => std::io::stdin().as_raw_fd(),
            Watched::Own(fd) => fd.as_raw_fd(),
        }
    }

    /// Returns once the terminal has hung up.
    pub(super) async fn gone(&mut self) {
        loop {
            self.tick.tick().await;
            if hung_up(revents(self.raw())) {
                return;
            }
        }
    }
}

/// What `poll(2)` says of `fd` right now (0 when it cannot say).
fn revents(fd: RawFd) -> libc::c_short {
    let mut p = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    // SAFETY: one initialised `pollfd`, a count of one, no wait. libc because the
    // workspace's nix and rustix are built without their poll features.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    if n < 0 { 0 } else { p.revents }
}

/// Whether what `poll(2)` reported means the terminal is gone.
fn hung_up(revents: libc::c_short) -> bool {
    revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// Waits for `watch`'s terminal to hang up; forever without one.
pub(super) async fn tty_gone(watch: &mut Option<TtyWatch>) {
    match watch {
        Some(w) => w.gone().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hang_up_an_error_or_a_closed_descriptor_is_a_terminal_gone() {
        assert!(hung_up(libc::POLLHUP));
        assert!(hung_up(libc::POLLIN | libc::POLLHUP));
        assert!(hung_up(libc::POLLERR));
        assert!(hung_up(libc::POLLNVAL));
        assert!(!hung_up(0));
        assert!(!hung_up(libc::POLLIN));
        assert!(!hung_up(libc::POLLOUT));
    }
}
