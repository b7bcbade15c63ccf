//! The one way a test waits: poll a condition until it holds, with a deadline, never a
//! fixed sleep.
use std::time::{Duration, Instant};

/// How often a condition is tried again: often enough not to slow a test, rarely enough
/// that a condition which runs `baton` or `tmux` does not load the machine.
const POLL: Duration = Duration::from_millis(50);

/// What a probe says: done (with a value), or not yet (with what it saw, for the failure
/// message).
pub(crate) trait Probe {
    type Value;
    fn done(self) -> Result<Self::Value, String>;
}

impl Probe for bool {
    type Value = ();
    fn done(self) -> Result<(), String> {
        if self { Ok(()) } else { Err(String::new()) }
    }
}

impl<T> Probe for Option<T> {
    type Value = T;
    fn done(self) -> Result<T, String> {
        self.ok_or_else(String::new)
    }
}

/// `Err(seen)`: not yet, and `seen` is what the failure message shows if time runs out.
impl<T> Probe for Result<T, String> {
    type Value = T;
    fn done(self) -> Result<T, String> {
        self
    }
}

/// Poll `probe` until it is done and return its value; past `deadline` the test fails,
/// naming `what` and the last thing the probe saw.
pub(crate) fn wait_until<P: Probe>(
    what: &str,
    deadline: Duration,
    probe: impl FnMut() -> P,
) -> P::Value {
    match poll(deadline, probe) {
        Ok(v) => v,
        Err(seen) if seen.is_empty() => panic!("timed out after {deadline:?} waiting for {what}"),
        Err(seen) => panic!("timed out after {deadline:?} waiting for {what}; last seen:\n{seen}"),
    }
}

/// [`wait_until`] for a caller that acts on a timeout itself: `Err` holds the last thing
/// the probe saw.
pub(crate) fn poll<P: Probe>(
    deadline: Duration,
    mut probe: impl FnMut() -> P,
) -> Result<P::Value, String> {
    let end = Instant::now() + deadline;
    loop {
        let seen = match probe().done() {
            Ok(v) => return Ok(v),
            Err(seen) => seen,
        };
        if Instant::now() >= end {
            return Err(seen);
        }
        std::thread::sleep(POLL);
    }
}

/// `n` seconds, for deadlines.
pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
