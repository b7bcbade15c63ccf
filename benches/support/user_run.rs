//! Running a program as a user runs it (issue 62 point 1): no variable of cargo's or of
//! the bench's own environment, only `PATH` and `HOME`; and what it cost, read from the
//! kernel: the wall time, the CPU of the program and its children (`wait4`), and the
//! CPU of its main thread (baton's engine thread; make's and ninja's only one) and of
//! all its threads without its children, read from `/proc/PID/task/PID/schedstat` and
//! `/proc/PID/stat` while the process is a zombie (`waitid` with `WNOWAIT`), before it
//! is reaped.
use std::ffi::CString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a user's shell would hand a program: the system's directories.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What one run of a program cost.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cost {
    pub(crate) wall: Duration,
    /// User + system CPU of the program and every child it reaped.
    pub(crate) cpu: Duration,
    /// On-CPU time of its main thread (ns precision, from the scheduler).
    pub(crate) main_thread: Duration,
    /// User + system CPU of all its threads, its children's apart (clock ticks).
    pub(crate) own: Duration,
}

/// Run `program args…` in `dir` with `HOME=home` and `PATH` alone, to its end; panics
/// (the bench's failure) when it fails.
// The child is reaped by wait4, which also gives its rusage; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
pub(crate) fn run(program: &Path, args: &[&str], dir: &Path, home: &Path) -> Cost {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .env("HOME", home)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            // The references are the machine's own: a fresh one may lack them.
            panic!(
                "start {}: {e} (the bench compares against `make` and `ninja`: apt-get install make ninja-build)",
                program.display()
            )
        });
    let pid = child.id() as libc::pid_t;
    // SAFETY: waitid on our own child, writing into a local; WNOWAIT leaves it a zombie.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        );
    }
    let wall = start.elapsed();
    let main_thread = schedstat(pid);
    let own = own_cpu(pid);
    let mut status = 0;
    // SAFETY: wait4 on our own child, writing into locals.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::wait4(pid, &mut status, 0, &mut u);
        u
    };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{} {args:?} failed: status {status}",
        program.display()
    );
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Cost {
        wall,
        cpu: tv(u.ru_utime) + tv(u.ru_stime),
        main_thread,
        own,
    }
}

/// The user + system CPU of every thread `pid` had, its children's apart (`utime` and
/// `stime` of `/proc/PID/stat`: a thread that ended is counted in them).
fn own_cpu(pid: libc::pid_t) -> Duration {
    // SAFETY: sysconf reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command's closing parenthesis: state is the 3rd field,
            // utime the 14th and stime the 15th.
            let f: Vec<&str> = s.get(s.rfind(')')? + 2..)?.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(Duration::from_secs_f64(ticks as f64 / hz))
        })
        .unwrap_or_default()
}

/// The on-CPU time of `pid`'s main thread (the first field of its schedstat).
fn schedstat(pid: libc::pid_t) -> Duration {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// The file system holding `path`: its type, and the mount (device, mount point,
/// options) from /proc/self/mounts.
pub(crate) fn file_system(path: &Path) -> String {
    let kind = CString::new(path.as_os_str().as_encoded_bytes())
        .ok()
        .and_then(|c| {
            // SAFETY: statfs into a local, on a NUL-terminated path.
            unsafe {
                let mut s: libc::statfs = std::mem::zeroed();
                (libc::statfs(c.as_ptr(), &mut s) == 0).then_some(s.f_type)
            }
        });
    let name = match kind {
        Some(0xEF53) => "ext4".to_string(),
        Some(0x0102_1994) => "tmpfs".to_string(),
        Some(0x5846_5342) => "xfs".to_string(),
        Some(0x9123_683E) => "btrfs".to_string(),
        Some(0x794C_7630) => "overlayfs".to_string(),
        Some(other) => format!("type {other:#x}"),
        None => "?".to_string(),
    };
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mount = mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && path.starts_with(f[1])).then(|| (f[1].len(), f[0], f[1], f[3]))
        })
        .max_by_key(|m| m.0);
    match mount {
        Some((_, dev, at, opts)) => format!("{name} ({dev} on {at}, {opts})"),
        None => name,
    }
}
