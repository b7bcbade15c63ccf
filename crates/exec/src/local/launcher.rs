//! A thread of baton's own that starts the local steps' processes and watches them end
//! (issue 62 point 3), so that neither queues behind the engine's runtime.
//!
//! `posix_spawn` holds its caller until the child has exec'd (about 0.2 ms here), and a
//! process's end came through the runtime's own poll. Here one thread per baton process
//! runs each start it is given (a closure: the engine's decisions stay where they are,
//! and what to start is decided, and committed, before the order is sent) and watches
//! each started process through its pidfd in an epoll set of its own. When a process
//! ends, its watcher is told; the process is not reaped here but by its owner
//! ([`super::spawn::ChildProcess`]), on the engine's thread: until then its id (and its
//! group's) cannot be reused, so a signal to the group never reaches another one.
//!
//! Without the thread (an epoll or eventfd the system refuses), starts run on the
//! caller's thread and ends come through the runtime, as before.
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, LazyLock, Mutex};
use tokio::sync::oneshot;

/// Told once when the watched process has ended (it is not reaped).
pub(crate) type Ended = oneshot::Receiver<()>;

/// Watch a started process: `Some` says when it ends; `None` when it cannot be
/// watched here (no pidfd), and its owner polls.
pub(crate) type Watch<'a> = &'a mut dyn FnMut(libc::pid_t) -> Option<Ended>;

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

/// Run `work` on the launching thread (or, without one, here and now). It is given
/// the function that watches a process it started.
pub(crate) fn run(work: impl FnOnce(Watch<'_>) + Send + 'static) {
    let Some(shared) = LAUNCHER.as_ref() else {
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

/// The thread: take orders, start them, and tell each watcher when its process ends.
fn serve(shared: &Shared, poll: &OwnedFd) {
    let mut watched: HashMap<u64, (OwnedFd, oneshot::Sender<()>)> = HashMap::new();
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
            } else if let Some((fd, told)) = watched.remove(&key) {
                // Out of the set before it is closed: closing alone leaves it there
                // while any other process holds a copy of it (measured: a reaped
                // process's pidfd kept waking this thread, a core's worth of polls).
                delete(poll, &fd);
                if told.send(()).is_err() {
                    // Its owner is gone without reaping it: reaped here, by its pidfd
                    // (never a pid that may have been reused since).
                    reap(&fd);
                }
            }
        }
    }
}

/// Reap the ended process `pidfd` refers to (nothing if it was reaped already).
fn reap(pidfd: &OwnedFd) {
    /// `P_PIDFD` (Linux 5.4), which the libc crate does not name.
    const P_PIDFD: libc::idtype_t = 3;
    // SAFETY: waitid on an open pidfd, writing into a local.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            P_PIDFD,
            pidfd.as_raw_fd() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG,
        );
    }
}

fn watch(
    poll: &OwnedFd,
    watched: &mut HashMap<u64, (OwnedFd, oneshot::Sender<()>)>,
    next: &mut u64,
    pid: libc::pid_t,
) -> Option<Ended> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = owned(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int).ok()?;
    let key = *next;
    *next = (*next + 1) % ORDERS;
    add(poll, &fd, key).ok()?;
    let (told, ended) = oneshot::channel();
    watched.insert(key, (fd, told));
    Some(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The child is reaped by `waitpid` at the end, after its zombie is seen.
    #[allow(clippy::zombie_processes)]
    #[tokio::test]
    async fn orders_run_on_the_launching_thread_and_are_told_of_ends() {
        let (tx, rx) = oneshot::channel();
        run(move |watch| {
            let name = std::thread::current().name().map(str::to_string);
            let child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id() as libc::pid_t;
            let _ = tx.send((name, pid, watch(pid)));
        });
        let (name, pid, ended) = rx.await.unwrap();
        assert_eq!(name.as_deref(), Some("baton-launch"));
        // Told once it has ended, and not reaped: it is a zombie until its owner reaps.
        ended.expect("watched through its pidfd").await.unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        assert!(stat.contains(") Z "), "a zombie, not reaped: {stat}");
        let mut status = 0;
        // SAFETY: our own child, writing into a local.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    }
}
