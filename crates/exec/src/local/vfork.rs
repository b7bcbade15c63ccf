//! The start of a step's process as glibc's `posix_spawn` makes it (a clone that shares
//! baton's memory, the calling thread held until the child has exec'd or exited, the
//! child's signals, group, file actions and directory set before its exec), without
//! what glibc's costs the calling thread on every start: a fresh stack mapped and
//! unmapped for each child (an `mmap`, and a `munmap` that flushes the TLB of every
//! core running one of baton's threads), an `RLIMIT_NOFILE` look-up per file action,
//! and a `pidfd_open` after it (the clone gives the pidfd: `CLONE_PIDFD`).
//!
//! The child runs on a stack its calling thread keeps and reuses: that thread is held
//! (`CLONE_VFORK`) until the child has exec'd or exited, so no two children use it at
//! once. Until its exec the child shares baton's memory: it makes system calls only
//! (no allocation, no lock), with every signal blocked until each handler baton set
//! is back to its default.
use std::cell::RefCell;
use std::ffi::{CStr, c_int, c_void};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The child's stack: its few frames and the path it builds for a `PATH` search.
const STACK: usize = 64 * 1024;
/// The longest path a `PATH` search builds (as glibc's `execvp`).
const PATH_MAX: usize = 4096;
/// glibc's own signals (thread cancellation, set*id across threads): ignored in the
/// child as glibc's `posix_spawn` leaves them.
const INTERNAL: [c_int; 2] = [32, 33];
/// `PATH` when the environment has none (glibc's `confstr(_CS_PATH)`).
pub(super) const DEFAULT_PATH: &CStr = c"/bin:/usr/bin";

thread_local! {
    static CHILD_STACK: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What the child runs, every pointer valid (and NUL-terminated) for the call.
pub struct Exec<'a> {
    pub program: &'a CStr,
    /// Searched for along this `PATH` (as `execvp`) when `program` has no `/`.
    pub path: Option<&'a CStr>,
    /// NULL-terminated.
    pub argv: &'a [*const libc::c_char],
    /// NULL-terminated `KEY=value` strings.
    pub envp: &'a [*const libc::c_char],
    pub stdout: RawFd,
    pub stderr: RawFd,
    pub dir: &'a CStr,
}

/// The child's arguments, in memory the child shares: `err` is its answer.
struct Args {
    program: *const libc::c_char,
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    stdout: RawFd,
    stderr: RawFd,
    dir: *const libc::c_char,
    /// The errno of what failed in the child before or at its exec; 0 while none did.
    err: c_int,
}

/// Start `exec` in its own process group, stdin from `/dev/null`, stdout and stderr
/// the given fds, in its directory, with no signal blocked, every handled signal and
/// SIGPIPE at its default. Returns its pid and its pidfd (none on a kernel without
/// `CLONE_PIDFD`); `Err`: why it did not exec (the child is reaped).
pub fn start(exec: &Exec<'_>) -> io::Result<(libc::pid_t, Option<OwnedFd>)> {
    let mut args = Args {
        program: exec.program.as_ptr(),
        path: exec.path.map_or(std::ptr::null(), CStr::as_ptr),
        argv: exec.argv.as_ptr(),
        envp: exec.envp.as_ptr(),
        stdout: exec.stdout,
        stderr: exec.stderr,
        dir: exec.dir.as_ptr(),
        err: 0,
    };
    CHILD_STACK.with(|stack| {
        // Only this thread's own start holds it: it is free unless a start on this
        // thread is under way, which cannot be (this one would not run).
        let mut stack = stack
            .try_borrow_mut()
            .map_err(|_| io::ErrorKind::WouldBlock)?;
        if stack.len() < STACK {
            stack.resize(STACK, 0);
        }
        let top = (stack.as_mut_ptr() as usize + STACK) & !15;
        let mut pidfd: c_int = -1;
        let all: u64 = !0;
        let mut old: u64 = 0;
        // SAFETY: the child runs `child` on its own stack (`top`, 16-aligned, inside
        // the buffer held for the call) with `args`, which outlives it: the clone
        // returns only once it has exec'd or exited (`CLONE_VFORK`). Signal masks are
        // locals of the kernel's size (8 bytes).
        let (pid, clone_err) = unsafe {
            sigprocmask(libc::SIG_SETMASK, &all, &mut old);
            let pid = libc::clone(
                child,
                top as *mut c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD,
                (&raw mut args).cast(),
                &raw mut pidfd,
            );
            let clone_err = io::Error::last_os_error();
            sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            (pid, clone_err)
        };
        if pid < 0 {
            return Err(clone_err);
        }
        // SAFETY: a pidfd the clone just made, owned by nobody else.
        let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
        // SAFETY: the child is past its exec or gone: nothing writes `args` now.
        let err = unsafe { std::ptr::read_volatile(&raw const args.err) };
        if err != 0 {
            // Exited (status 127) before its exec: reaped here, it never was a step.
            reap(pid);
            return Err(io::Error::from_raw_os_error(err));
        }
        Ok((pid, pidfd))
    })
}

/// Reap a child that has exited (or is exiting).
fn reap(pid: libc::pid_t) {
    loop {
        // SAFETY: waitpid on our own child, no status asked for.
        let rc = unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        if rc >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// `rt_sigprocmask` with the kernel's 8-byte set: every signal, glibc's own too (its
/// `sigprocmask` leaves those out).
///
/// # Safety
/// `set` is null or readable, `old` null or writable.
unsafe fn sigprocmask(how: c_int, set: *const u64, old: *mut u64) -> libc::c_long {
    // SAFETY: as the caller promises; the size is the kernel's sigset's.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, how, set, old, 8usize) }
}

/// `rt_sigaction` with the kernel's struct (its first word the handler; room to spare
/// for every layout): glibc's `sigaction` refuses its own signals.
///
/// # Safety
/// `act` is null or readable, `old` null or writable, each 4 words.
unsafe fn sigaction(sig: c_int, act: *const [usize; 4], old: *mut [usize; 4]) -> libc::c_long {
    // SAFETY: as the caller promises; the size is the kernel's sigset's.
    unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, act, old, 8usize) }
}

fn errno() -> c_int {
    // SAFETY: the calling thread's errno (the child shares its parent thread's).
    unsafe { *libc::__errno_location() }
}

/// The child: what it does before its exec, then the exec. Never returns.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Args`, alive and not touched by the parent until
    // the child has exec'd or exited.
    unsafe {
        let args = arg.cast::<Args>();
        let err = prepare_and_exec(&*args);
        std::ptr::write_volatile(&raw mut (*args).err, err.max(1));
        libc::_exit(127)
    }
}

/// As glibc's `__spawni_child` with `POSIX_SPAWN_SETPGROUP` (0), `SETSIGMASK` (empty),
/// `SETSIGDEF` (SIGPIPE) and the file actions open `/dev/null` on 0, dup2 `stdout` and
/// `stderr` on 1 and 2, chdir `dir`. Returns the errno of what failed.
///
/// # Safety
/// In a vfork child only: every pointer in `args` valid.
unsafe fn prepare_and_exec(args: &Args) -> c_int {
    // SAFETY: system calls on the child's own signal state, fds and directory; every
    // pointer is the parent's, valid for the call.
    unsafe {
        // A handler of baton's must never run here (the child shares its memory):
        // each handled signal back to its default; ignored ones stay ignored, as an
        // exec leaves them, but SIGPIPE (which Rust's runtime ignores) is default.
        for sig in 1..=64 {
            let mut old = [0usize; 4];
            if sigaction(sig, std::ptr::null(), &raw mut old) != 0 {
                continue;
            }
            let mut act = [0usize; 4];
            if INTERNAL.contains(&sig) {
                act[0] = libc::SIG_IGN;
            } else if sig != libc::SIGPIPE && (old[0] == libc::SIG_IGN || old[0] == libc::SIG_DFL) {
                continue;
            }
            sigaction(sig, &raw const act, std::ptr::null_mut());
        }
        if libc::setpgid(0, 0) != 0 {
            return errno();
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0 {
            return errno();
        }
        if null != 0 {
            if libc::dup2(null, 0) != 0 {
                return errno();
            }
            libc::close(null);
        }
        for (fd, to) in [(args.stdout, 1), (args.stderr, 2)] {
            if !dup_onto(fd, to) {
                return errno();
            }
        }
        if libc::chdir(args.dir) != 0 {
            return errno();
        }
        let none: u64 = 0;
        sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        if args.path.is_null() {
            libc::execve(args.program, args.argv, args.envp);
            return errno();
        }
        search_and_exec(args)
    }
}

/// `fd` onto `to` (one already there loses its close-on-exec flag, as glibc's
/// `adddup2` of an fd onto itself does).
///
/// # Safety
/// In a vfork child only.
unsafe fn dup_onto(fd: RawFd, to: RawFd) -> bool {
    // SAFETY: fd system calls on the child's own table.
    unsafe {
        if fd != to {
            return libc::dup2(fd, to) == to;
        }
        let flags = libc::fcntl(fd, libc::F_GETFD);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) == 0
    }
}

/// `execvp`'s search (glibc's `__execvpex`: no shell for a file without `#!`, its
/// ENOEXEC is the answer) along `args.path`, in a buffer on the child's stack.
///
/// # Safety
/// In a vfork child only: every pointer in `args` valid, `path` not null.
unsafe fn search_and_exec(args: &Args) -> c_int {
    // SAFETY: the pointers are the parent's NUL-terminated strings; the buffer is
    // local and each built path NUL-terminated inside it.
    unsafe {
        let name = CStr::from_ptr(args.program).to_bytes();
        if name.is_empty() {
            return libc::ENOENT;
        }
        if name.len() >= PATH_MAX {
            return libc::ENAMETOOLONG;
        }
        let path = CStr::from_ptr(args.path).to_bytes();
        let mut buf = [0u8; PATH_MAX + 1];
        let mut eacces = false;
        for dir in path.split(|&b| b == b':') {
            // Too long together: skipped, as glibc skips it.
            if dir.len() + 1 + name.len() >= PATH_MAX {
                continue;
            }
            // An empty entry is the current directory: the name alone.
            let mut at = dir.len();
            buf[..at].copy_from_slice(dir);
            if !dir.is_empty() {
                buf[at] = b'/';
                at += 1;
            }
            buf[at..at + name.len()].copy_from_slice(name);
            buf[at + name.len()] = 0;
            libc::execve(buf.as_ptr().cast(), args.argv, args.envp);
            match errno() {
                libc::EACCES => eacces = true,
                libc::ENOENT | libc::ESTALE | libc::ENOTDIR | libc::ENODEV | libc::ETIMEDOUT => {}
                other => return other,
            }
        }
        if eacces { libc::EACCES } else { libc::ENOENT }
    }
}
