//! A transfer's deadline (issue 60): an artifact's `ssh` that moves no byte for the
//! executor's `copy_stall` (60 s unless it says otherwise) is killed, so a host that stops answering mid-copy (its `cat`
//! stopped, a disk that hangs, a connection that keeps answering its keep-alives but
//! carries nothing) ends the copy within that time, as `ChannelError::Stalled`. ssh's
//! own keep-alive (`ServerAliveInterval=15`, 4 missed) ends only a dead connection.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long checking a handed copy's digest on the host may take in all: its answer
/// comes at its end, after the host hashed a file that may be large (about 15 GB a
/// minute with `openssl`), or the executor's `copy_stall` if that is longer. Listing a
/// step's files and releasing a copy have `copy_stall`.
pub(crate) const CALL_STALL: Duration = Duration::from_secs(600);

/// Pure: whether a transfer whose last byte moved at `last` (since its start) is
/// stalled at `now`.
fn stalled(last: Duration, now: Duration, limit: Duration) -> bool {
    now.saturating_sub(last) >= limit
}

struct Shared {
    start: Instant,
    /// Milliseconds since `start` at the last byte moved.
    last_ms: AtomicU64,
    fired: AtomicBool,
    done: Mutex<bool>,
    wake: Condvar,
}

/// A watch over one `ssh` child: [`Watch::moved`] on every byte that moves; once
/// nothing moved for the limit, the child is killed (SIGKILL) and [`Watch::stop`]
/// says so. The child is never waited for while the watch runs (its pid stays its own).
pub(crate) struct Watch {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    pub(crate) fn start(pid: u32, limit: Duration) -> Watch {
        let shared = Arc::new(Shared {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            fired: AtomicBool::new(false),
            done: Mutex::new(false),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::spawn(move || watch(&s, pid, limit));
        Watch {
            shared,
            thread: Some(thread),
        }
    }

    pub(crate) fn moved(&self) {
        let ms = u64::try_from(self.shared.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.shared.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Stop watching (before the child is waited for): whether it was killed as stalled.
    pub(crate) fn stop(&mut self) -> bool {
        if let Ok(mut d) = self.shared.done.lock() {
            *d = true;
        }
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.shared.fired.load(Ordering::Relaxed)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}

fn watch(s: &Shared, pid: u32, limit: Duration) {
    let tick = (limit / 4).min(Duration::from_secs(1));
    let Ok(mut done) = s.done.lock() else { return };
    loop {
        if *done {
            return;
        }
        let last = Duration::from_millis(s.last_ms.load(Ordering::Relaxed));
        if stalled(last, s.start.elapsed(), limit) {
            s.fired.store(true, Ordering::Relaxed);
            if let Ok(pid) = i32::try_from(pid) {
                let pid = nix::unistd::Pid::from_raw(pid);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
            return;
        }
        done = match s.wake.wait_timeout(done, tick) {
            Ok((d, _)) => d,
            Err(_) => return,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_is_stalled_once_nothing_moved_for_the_limit() {
        let s = Duration::from_secs;
        assert!(!stalled(s(10), s(69), s(60)));
        assert!(stalled(s(10), s(70), s(60)));
        assert!(!stalled(s(10), s(5), s(60)));
    }

    #[test]
    fn a_child_that_moves_nothing_is_killed_and_one_that_ends_is_not() {
        use std::os::unix::process::ExitStatusExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let mut w = Watch::start(child.id(), Duration::from_millis(200));
        let status = child.wait().expect("wait");
        assert!(w.stop(), "the watch said it killed");
        assert_eq!(status.signal(), Some(9));
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let mut w = Watch::start(child.id(), Duration::from_secs(30));
        assert!(!w.stop());
        assert!(child.wait().expect("wait").success());
    }
}
