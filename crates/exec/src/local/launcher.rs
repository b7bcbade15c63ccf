//! A thread of baton's own that starts the local steps' processes and watches them end,
//! for callers on a runtime with worker threads (`baton serve`), so that neither queues
//! behind those workers' tasks, and for the starts a caller on a runtime of one thread
//! may not make itself (`ShellJob::start_here`: an engine's past the first few of a
//! wake-up, which would hold its runtime). Such a caller (`baton run`, a console's
//! engine) starts its other processes itself and hears of their ends through its
//! runtime's poll ([`run`]).
//!
//! A start (`vfork.rs`) holds its caller until the child has exec'd (about 0.2 ms
//! here). Here one thread per baton process runs each start it is given (a closure:
//! the engine's decisions stay where they are, and what to start is decided, and
//! committed, before the order is sent) and watches each started process through its
//! pidfd in an epoll set of its own. When a process ends, it is reaped here, by its
//! pidfd (`waitid(P_PIDFD)`, never a pid that may have been reused), and its watcher
//! is told its status.
//!
//! Reaped, a process's id, and its group's once the group is empty, can be reused by
//! another process. So the reap is made under the process's [`Reap`] lock, and whoever
//! signals its group (`shell.rs`: a kill, a freeze, the SIGKILL after a grace) does so
//! holding that lock and only while it says unreaped: the leader is then a live
//! process or a zombie, which keeps its pid, and with it the group's id (an id is never
//! given to a new process while any process's group bears it). What is signalled after
//! the reap (what is left of the group, `clear_group`) is signalled as it was when the
//! engine reaped: while a member lives, the id is still its group's.
//!
//! Started on the caller's thread (a runtime of one thread, or an epoll or eventfd
//! the system refuses), a process is reaped by its owner through its pidfd on the
//! runtime, under the same kind of lock (`spawn.rs`, `ChildProcess::try_reap`).
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::panic::AssertUnwindSafe;
use std::process::ExitStatus;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Told once the watched process has ended and been reaped here: its status.
pub(crate) type Ended = oneshot::Receiver<ExitStatus>;

/// Watch a started process: `Some` says when it ends, and holds the lock its reap is
/// made under; `None` when it cannot be watched here (no pidfd), and its owner polls
/// and reaps.
pub(crate) type Watch<'a> = &'a mut dyn FnMut(libc::pid_t) -> Option<(Ended, Arc<Reap>)>;

/// A watched process's reap: its status once reaped, under the lock its group is
/// signalled under (see the module's comment).
#[derive(Debug, Default)]
pub(crate) struct Reap(Mutex<Option<ExitStatus>>);

impl Reap {
    /// Hold the lock: `None` inside while the process is not reaped (its pid, and its
    /// group's id, are still its own for as long as this is held).
    pub(crate) fn hold(&self) -> MutexGuard<'_, Option<ExitStatus>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the thread keeps of a watched process.
struct Watched {
    pidfd: OwnedFd,
    told: oneshot::Sender<ExitStatus>,
    reap: Arc<Reap>,
}

type Work = Box<dyn FnOnce(Watch<'_>) + Send>;

/// The epoll key of the thread's own eventfd (orders waiting).
const ORDERS: u64 = u64::MAX;

struct Shared {
    /// The orders not taken yet, and whether the thread has stopped (its orders then
    /// run on their callers' threads).
    orders: Mutex<(Vec<Work>, bool)>,
    wake: OwnedFd,
}

static LAUNCHER: LazyLock<Option<Arc<Shared>>> = LazyLock::new(|| start_thread().ok());

/// A new fd from a system call's return value.
fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd the call just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `fd` into the epoll set `poll`, readable, under `key`.
fn add(poll: &OwnedFd, fd: &OwnedFd, key: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: key,
    };
    // SAFETY: both fds are open (borrowed for the call); `event` is a local.
    let rc = unsafe {
        libc::epoll_ctl(
            poll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &mut event,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `fd` out of the epoll set `poll`.
fn delete(poll: &OwnedFd, fd: &OwnedFd) {
    // SAFETY: both fds are open (borrowed for the call); a null event is allowed for
    // EPOLL_CTL_DEL since Linux 2.6.9.
    unsafe {
        libc::epoll_ctl(
            poll.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd.as_raw_fd(),
            std::ptr::null_mut(),
        );
    }
}

fn start_thread() -> io::Result<Arc<Shared>> {
    // SAFETY: plain system calls returning new fds (or -1), owned at once.
    let poll = owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // SAFETY: as above.
    let wake = owned(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    add(&poll, &wake, ORDERS)?;
    let shared = Arc::new(Shared {
        orders: Mutex::new((Vec::new(), false)),
        wake,
    });
    let theirs = shared.clone();
    std::thread::Builder::new()
        .name("baton-launch".into())
        .spawn(move || serve(&theirs, &poll))?;
    Ok(shared)
}

/// Run `work` on the launching thread, or here and now when `here` allows it and the
/// caller is on a runtime of one thread (`baton run`'s, a console's engine: the start
/// and its end are the engine's own, with no thread woken between), or without the
/// thread. It is given the function that watches a process it started.
pub(crate) fn run(here: bool, work: impl FnOnce(Watch<'_>) + Send + 'static) {
    // Asked first: the thread is not started for a process that never hands it one.
    let elsewhere = !(here && on_one_thread());
    let Some(shared) = elsewhere.then(|| LAUNCHER.as_ref()).flatten() else {
        work(&mut |_| None);
        return;
    };
    let first = {
        let mut orders = shared.orders.lock().unwrap_or_else(|p| p.into_inner());
        if orders.1 {
            drop(orders);
            work(&mut |_| None);
            return;
        }
        orders.0.push(Box::new(work));
        orders.0.len() == 1
    };
    // One wake-up for the orders given before the thread takes them.
    if first {
        let one = 1u64.to_ne_bytes();
        // SAFETY: an 8-byte write from a local into the open eventfd.
        let _ = unsafe { libc::write(shared.wake.as_raw_fd(), one.as_ptr().cast(), 8) };
    }
}

/// Whether the caller runs on a tokio runtime of one thread. Measured on a 10,000-step
/// DAG of `true` at max_parallel 2: its starts and ends there took 0.79 x the wall
/// and 0.79 x the CPU of handing them to this thread and a waiter (each hand-over a
/// thread woken, with the steps' processes on both cores).
fn on_one_thread() -> bool {
    tokio::runtime::Handle::try_current().is_ok_and(|h| {
        matches!(
            h.runtime_flavor(),
            tokio::runtime::RuntimeFlavor::CurrentThread
        )
    })
}

/// The thread: take orders, start them, and tell each watcher when its process ends.
fn serve(shared: &Shared, poll: &OwnedFd) {
    let mut watched: HashMap<u64, Watched> = HashMap::new();
    let mut next: u64 = 0;
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
    loop {
        // SAFETY: the epoll fd is open; `events` is a local array of the length given.
        let n = unsafe { libc::epoll_wait(poll.as_raw_fd(), events.as_mut_ptr(), 64, -1) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // Not expected of a valid epoll set: the thread stops, and every start
            // from now on runs on its caller's thread, as without it.
            let left = {
                let mut orders = shared.orders.lock().unwrap_or_else(|p| p.into_inner());
                orders.1 = true;
                std::mem::take(&mut orders.0)
            };
            for work in left {
                work(&mut |_| None);
            }
            return;
        }
        for event in &events[..n as usize] {
            let key = event.u64;
            if key == ORDERS {
                let mut count = [0u8; 8];
                // SAFETY: an 8-byte read into a local from the open eventfd.
                let _ =
                    unsafe { libc::read(shared.wake.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
                let orders =
                    std::mem::take(&mut shared.orders.lock().unwrap_or_else(|p| p.into_inner()).0);
                for work in orders {
                    // A start that panics drops its reply: its caller is told it failed,
                    // and the thread goes on serving the others.
                    let watch = &mut |pid| watch(poll, &mut watched, &mut next, pid);
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| work(watch)));
                }
            } else if let Some(w) = watched.remove(&key) {
                // Out of the set before it is closed: closing alone leaves it there
                // while any other process holds a copy of it (measured: a reaped
                // process's pidfd kept waking this thread, a core's worth of polls).
                delete(poll, &w.pidfd);
                let status = {
                    let mut held = w.reap.hold();
                    // A status its owner already took is kept: overwritten with `None`,
                    // a reaped leader's group would read as still its own.
                    if held.is_none() {
                        *held = reap(&w.pidfd);
                    }
                    *held
                };
                // Not reaped (not expected of an ended child of ours): its sender
                // dropped, its owner reaps it.
                if let Some(status) = status {
                    let _ = w.told.send(status);
                }
            }
        }
    }
}

/// Reap the ended process `pidfd` refers to: its status, as `waitpid` gives it;
/// `None` if it has not ended or was reaped already.
fn reap(pidfd: &OwnedFd) -> Option<ExitStatus> {
    /// `P_PIDFD` (Linux 5.4), which the libc crate does not name.
    const P_PIDFD: libc::idtype_t = 3;
    // SAFETY: waitid on an open pidfd, writing into a local; the siginfo's fields are
    // read only once waitid filled them (a pid in it: a child was reaped).
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG,
        );
        if rc != 0 || info.si_pid() == 0 {
            return None;
        }
        Some(status_of(info.si_code, info.si_status()))
    }
}

/// The raw wait status `waitpid` would have given, from `waitid`'s code and status:
/// the exit code in the second byte, or the signal (0x80 for a core).
fn status_of(code: libc::c_int, status: libc::c_int) -> ExitStatus {
    match code {
        libc::CLD_EXITED => ExitStatus::from_raw((status & 0xff) << 8),
        libc::CLD_DUMPED => ExitStatus::from_raw((status & 0x7f) | 0x80),
        _ => ExitStatus::from_raw(status & 0x7f),
    }
}

fn watch(
    poll: &OwnedFd,
    watched: &mut HashMap<u64, Watched>,
    next: &mut u64,
    pid: libc::pid_t,
) -> Option<(Ended, Arc<Reap>)> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let pidfd =
        owned(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int).ok()?;
    let key = *next;
    *next = (*next + 1) % ORDERS;
    add(poll, &pidfd, key).ok()?;
    let (told, ended) = oneshot::channel();
    let reap = Arc::new(Reap::default());
    watched.insert(
        key,
        Watched {
            pidfd,
            told,
            reap: reap.clone(),
        },
    );
    Some((ended, reap))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Given on a runtime with workers, the child is reaped by the launching thread,
    // through its pidfd.
    #[allow(clippy::zombie_processes)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn orders_run_on_the_launching_thread_which_reaps_what_ended() {
        let (tx, rx) = oneshot::channel();
        run(true, move |watch| {
            let name = std::thread::current().name().map(str::to_string);
            let child = std::process::Command::new("sh")
                .args(["-c", "exit 3"])
                .spawn()
                .unwrap();
            let pid = child.id() as libc::pid_t;
            let _ = tx.send((name, pid, watch(pid)));
        });
        let (name, pid, watched) = rx.await.unwrap();
        assert_eq!(name.as_deref(), Some("baton-launch"));
        let (ended, reap) = watched.expect("watched through its pidfd");
        // Told its status once it has ended and was reaped (nothing is left to reap),
        // and the status is under its lock.
        let status = ended.await.unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(*reap.hold(), Some(status));
        let mut raw = 0;
        // SAFETY: our own (former) child, writing into a local: nothing left to reap.
        assert_eq!(unsafe { libc::waitpid(pid, &mut raw, libc::WNOHANG) }, -1);
    }

    // Given on a runtime of one thread, the order runs there and then, and nothing
    // watches its process: its owner does, on that runtime.
    #[tokio::test]
    async fn orders_on_a_runtime_of_one_thread_run_in_place_unwatched() {
        let (tx, rx) = std::sync::mpsc::channel();
        let here = std::thread::current().id();
        run(true, move |watch| {
            let _ = tx.send((std::thread::current().id(), watch(1).is_none()));
        });
        assert_eq!(rx.try_recv(), Ok((here, true)));
    }

    // Not allowed here (an engine's starts past the first of a wake-up), an order given
    // on a runtime of one thread goes to the launching thread all the same.
    #[tokio::test]
    async fn an_order_not_allowed_here_goes_to_the_launching_thread() {
        let (tx, rx) = std::sync::mpsc::channel();
        run(false, move |_| {
            let _ = tx.send(std::thread::current().name().map(str::to_string));
        });
        let name = rx.recv_timeout(std::time::Duration::from_secs(20));
        assert_eq!(name, Ok(Some("baton-launch".to_string())));
    }

    #[test]
    fn a_status_reads_as_waitpid_gives_it() {
        assert_eq!(status_of(libc::CLD_EXITED, 0).code(), Some(0));
        assert_eq!(status_of(libc::CLD_EXITED, 255).code(), Some(255));
        let killed = status_of(libc::CLD_KILLED, libc::SIGTERM);
        assert_eq!(
            (killed.code(), killed.signal()),
            (None, Some(libc::SIGTERM))
        );
        let dumped = status_of(libc::CLD_DUMPED, libc::SIGSEGV);
        assert_eq!(dumped.signal(), Some(libc::SIGSEGV));
        assert!(dumped.core_dumped());
    }
}
