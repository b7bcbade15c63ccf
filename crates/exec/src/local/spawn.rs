//! Starting a step's process (a vfork-style clone, `vfork.rs`), and waiting for it
//! through its pidfd: both on the caller's thread when it runs a runtime of one thread
//! and the job lets it start there (the pidfd polled by its runtime if the child still
//! runs when its follower first looks), else on the launching thread (`launcher.rs`),
//! which watches the pidfd and reaps the child.
//!
//! `std::process::Command` rebuilds the whole environment (a map of every variable,
//! then a C string each) on every spawn once any variable is set, and tokio adds its
//! own bookkeeping; on a DAG of short steps that was a tenth of the engine's time. Here
//! baton's own environment is turned into C strings once per process, and a spawn only
//! adds the step's variables.
use nix::unistd::Pid;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::LazyLock;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::launcher::{Ended, Reap, Watch};
use std::sync::Arc;

/// Baton's environment as `KEY=value` C strings, with each key's length.
/// Without baton's own variables (see [`crate::scrub`]).
static BASE_ENV: LazyLock<Vec<(usize, CString)>> = LazyLock::new(|| {
    std::env::vars_os()
        .filter(|(k, _)| !crate::scrub::is_baton_own(k))
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            // A variable with a NUL cannot be passed on (std drops it too).
            CString::new(kv).ok().map(|c| (k.len(), c))
        })
        .collect()
});

/// Baton's own `PATH`, read once as its environment is ([`BASE_ENV`]): what a step that
/// sets none is looked up along, and what its process gets.
static OWN_PATH: LazyLock<Option<OsString>> = LazyLock::new(|| std::env::var_os("PATH"));

pub(super) fn own_path() -> Option<&'static OsStr> {
    OWN_PATH.as_deref()
}

/// What to start: all strings already resolved by the caller.
pub struct SpawnRequest<'a> {
    /// The file to execute (an absolute path, or a name `execvp` would search for).
    pub program: &'a OsStr,
    /// argv, argv[0] included.
    pub argv: Vec<OsString>,
    /// Set on top of baton's environment (later entries win).
    pub env: Vec<(&'a OsStr, &'a OsStr)>,
    /// Baton's variables left out (`ShellJob::withheld`).
    pub withheld: &'a [String],
    pub dir: &'a Path,
}

/// A started process and the read ends (non-blocking) of its stdout and stderr pipes,
/// on any thread: whoever follows it registers them with its runtime when a read would
/// wait (`attempt_log::Pump`).
pub struct Launched {
    pub child: ChildProcess,
    pub(crate) stdout: OwnedFd,
    pub(crate) stderr: OwnedFd,
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a NUL byte in a program, argument or variable",
        )
    })
}

/// `KEY=value` as a C string, made in one allocation.
fn env_entry(k: &OsStr, v: &OsStr) -> io::Result<CString> {
    let (k, v) = (k.as_bytes(), v.as_bytes());
    // Room for the `=` and the NUL `CString::new` adds.
    let mut kv = Vec::with_capacity(k.len() + v.len() + 2);
    kv.extend_from_slice(k);
    kv.push(b'=');
    kv.extend_from_slice(v);
    CString::new(kv).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a NUL byte in a program, argument or variable",
        )
    })
}

fn pipe_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    // Only our end is non-blocking: the child writes to a blocking pipe.
    fcntl(&r, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    Ok((r, w))
}

/// Start `req` in its own process group, stdin from /dev/null, stdout and stderr into
/// pipes, signals as a fresh process has them; `watch` is told its pid (the launching
/// thread's, or none). Any thread: the runtime is not needed until its follower waits
/// (`attempt_log::Pump`, [`ChildProcess::wait`]).
pub(crate) fn spawn(req: &SpawnRequest<'_>, watch: Watch<'_>) -> io::Result<Launched> {
    let program = cstring(req.program)?;
    let argv: Vec<CString> = req
        .argv
        .iter()
        .map(|a| cstring(a))
        .collect::<io::Result<_>>()?;
    let dir = cstring(req.dir.as_os_str())?;
    let mut own: Vec<CString> = Vec::with_capacity(req.env.len());
    for (k, v) in &req.env {
        own.push(env_entry(k, v)?);
    }
    // The step's keys, sorted (by key, then place): a look-up for each of baton's
    // variables, and the last of each key found, without hashing every key twice.
    let mut keys: Vec<(&[u8], usize)> = (req.env.iter().enumerate())
        .map(|(i, (k, _))| (k.as_bytes(), i))
        .collect();
    keys.sort_unstable();
    let overridden = |key: &[u8]| keys.binary_search_by(|(k, _)| k.cmp(&key)).is_ok();
    let mut envp: Vec<*const libc::c_char> = Vec::with_capacity(BASE_ENV.len() + own.len() + 1);
    envp.extend(
        BASE_ENV
            .iter()
            .filter(|(klen, kv)| {
                let key = &kv.as_bytes()[..*klen];
                !overridden(key) && !req.withheld.iter().any(|w| w.as_bytes() == key)
            })
            .map(|(_, kv)| kv.as_ptr()),
    );
    // Later duplicates win, as with `Command::env`: keep the last of each key, in place.
    let mut last = vec![false; own.len()];
    for same in keys.chunk_by(|a, b| a.0 == b.0) {
        if let Some((_, i)) = same.last() {
            last[*i] = true;
        }
    }
    envp.extend(
        (own.iter().zip(&last))
            .filter(|(_, l)| **l)
            .map(|(kv, _)| kv.as_ptr()),
    );
    envp.push(std::ptr::null());
    let mut argvp: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argvp.push(std::ptr::null());

    let (out_r, out_w) = pipe_pair()?;
    let (err_r, err_w) = pipe_pair()?;
    // A name without `/` is searched for along baton's own `PATH`, as `execvp` does.
    let path = (!req.program.as_bytes().contains(&b'/')).then(|| {
        own_path()
            .and_then(|p| CString::new(p.as_bytes()).ok())
            .unwrap_or_else(|| super::vfork::DEFAULT_PATH.to_owned())
    });
    let (pid, pidfd) = super::vfork::start(&super::vfork::Exec {
        program: &program,
        path: path.as_deref(),
        argv: &argvp,
        envp: &envp,
        stdout: out_w.as_raw_fd(),
        stderr: err_w.as_raw_fd(),
        dir: &dir,
    })?;
    // The child has its copies; ours must go or the reads never see end of file.
    drop(out_w);
    drop(err_w);
    let child = ChildProcess::new(pid, pidfd, watch(pid));
    Ok(Launched {
        child,
        stdout: out_r,
        stderr: err_r,
    })
}

/// A child process baton started, reaped once: `wait` returns its status; dropping it
/// unreaped reaps it in the background.
#[derive(Debug)]
pub struct ChildProcess {
    pid: libc::pid_t,
    ended: Ending,
    status: Option<ExitStatus>,
    /// Reaped under this lock, by the launching thread when it watches it, else here.
    reap: Arc<Reap>,
}

/// How the end of a child is learnt.
#[derive(Debug)]
enum Ending {
    /// The launching thread reaps it when it ends and says its status (its pidfd is
    /// that thread's).
    Told(Ended),
    /// A pidfd not yet registered with the runtime (started without the launching
    /// thread), registered if the child still runs at the first look: readable when it
    /// exits.
    Fd(Option<OwnedFd>),
    Registered(AsyncFd<OwnedFd>),
    /// No pidfd (Linux < 5.3): `wait` polls.
    Poll,
}

impl ChildProcess {
    /// `pidfd`: the one its clone gave (none on a kernel without `CLONE_PIDFD`).
    fn new(
        pid: libc::pid_t,
        pidfd: Option<OwnedFd>,
        watched: Option<(Ended, Arc<Reap>)>,
    ) -> ChildProcess {
        let (told, reap) = watched.unzip();
        // Reaped here (`try_reap`), it is reaped under a lock of its own all the same:
        // a kill from another thread (a console's, a timer's) signals its group only
        // while it is unreaped (`shell.rs`, `signal_unreaped`).
        let reap = reap.unwrap_or_default();
        // Watched, the launching thread has a pidfd of its own: this one closes.
        let ended = match told {
            Some(told) => Ending::Told(told),
            None => pidfd.map_or(Ending::Poll, |fd| Ending::Fd(Some(fd))),
        };
        ChildProcess {
            pid,
            ended,
            status: None,
            reap,
        }
    }

    pub fn id(&self) -> i32 {
        self.pid
    }

    /// The lock it is reaped under.
    pub(crate) fn reap_lock(&self) -> Arc<Reap> {
        self.reap.clone()
    }

    fn try_reap(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = reap_under(self.pid, &self.reap)?;
        }
        Ok(self.status)
    }

    /// Waits for the child to exit and to be reaped: by the launching thread when it
    /// watches it, else here, on the caller's thread, when its pidfd says it ended.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            // Told, or the pidfd readable, once the child has exited (also when it
            // exited before it was watched): only then is a waitpid worth a system call.
            match &mut self.ended {
                Ending::Told(told) => {
                    if let Ok(status) = told.await {
                        self.status = Some(status);
                        return Ok(status);
                    }
                    // The launching thread gone without reaping it: poll from now on.
                    self.ended = Ending::Poll;
                }
                Ending::Fd(fd) => {
                    // Ended already (a short step, by the time its follower first
                    // looks): reaped without its pidfd registered with the runtime.
                    if let Some(s) = reap_under(self.pid, &self.reap)? {
                        self.status = Some(s);
                        return Ok(s);
                    }
                    let Some(fd) = fd.take() else {
                        self.ended = Ending::Poll;
                        continue;
                    };
                    // SAFETY: an OwnedFd keeps the same open fd until the AsyncFd drops it.
                    let registered =
                        unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
                    self.ended = match registered {
                        Ok(fd) => Ending::Registered(fd),
                        Err(_) => Ending::Poll,
                    };
                    continue;
                }
                Ending::Registered(fd) => {
                    let mut ready = fd.readable().await?;
                    ready.clear_ready();
                }
                Ending::Poll => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
            if let Some(s) = self.try_reap()? {
                return Ok(s);
            }
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Ending::Told(told) = &mut self.ended {
            // The launching thread reaps it when it ends (its word is no longer heard).
            told.close();
            return;
        }
        if matches!(self.try_reap(), Ok(Some(_)) | Err(_)) {
            return;
        }
        // Not reaped yet (an aborted wait): reap it when it ends, without blocking.
        let (pid, reap) = (self.pid, self.reap.clone());
        let _ = std::thread::Builder::new()
            .name("baton-reap".into())
            .spawn(move || {
                // Waited for without reaping it, then reaped under its lock: a kill
                // still held by its attempt signals its group only while it is not.
                // SAFETY: waitid writing into a local.
                let ended = unsafe {
                    let mut info: libc::siginfo_t = std::mem::zeroed();
                    libc::waitid(
                        libc::P_PID,
                        pid as libc::id_t,
                        &mut info,
                        libc::WEXITED | libc::WNOWAIT,
                    )
                };
                if ended == 0 {
                    let _ = reap_under(pid, &reap);
                }
            });
    }
}

/// Reap child `pid` if it has ended, under `reap`'s lock (once: a status already
/// recorded there is the one), and record its status there.
fn reap_under(pid: libc::pid_t, reap: &Reap) -> io::Result<Option<ExitStatus>> {
    let mut held = reap.hold();
    if let Some(s) = *held {
        return Ok(Some(s));
    }
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let status = match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG))? {
        WaitStatus::Exited(_, code) => ExitStatus::from_raw((code & 0xff) << 8),
        // The raw wait status of a signalled child: the signal, 0x80 for a core.
        WaitStatus::Signaled(_, signal, core) => {
            ExitStatus::from_raw(signal as i32 | if core { 0x80 } else { 0 })
        }
        // Still running (stopped or continued is not asked for).
        _ => return Ok(None),
    };
    *held = Some(status);
    Ok(Some(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    use tokio::net::unix::pipe;

    /// A started process and its pipes, registered with the runtime.
    struct Spawned {
        child: ChildProcess,
        stdout: pipe::Receiver,
        stderr: pipe::Receiver,
    }

    /// Started on the launching thread, as a step's process is.
    async fn launched(req: &SpawnRequest<'_>) -> io::Result<Spawned> {
        let program = req.program.to_os_string();
        let (argv, dir) = (req.argv.clone(), req.dir.to_path_buf());
        let env: Vec<(OsString, OsString)> = (req.env.iter())
            .map(|(k, v)| (k.to_os_string(), v.to_os_string()))
            .collect();
        let withheld = req.withheld.to_vec();
        let (tx, rx) = tokio::sync::oneshot::channel();
        super::super::launcher::run(true, move |watch| {
            let req = SpawnRequest {
                program: &program,
                argv,
                env: env
                    .iter()
                    .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
                    .collect(),
                withheld: &withheld,
                dir: &dir,
            };
            let _ = tx.send(spawn(&req, watch));
        });
        let Launched {
            child,
            stdout,
            stderr,
        } = rx.await.unwrap()?;
        Ok(Spawned {
            child,
            stdout: pipe::Receiver::from_owned_fd_unchecked(stdout)?,
            stderr: pipe::Receiver::from_owned_fd_unchecked(stderr)?,
        })
    }

    async fn run(argv: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String, i32) {
        run_without(argv, env, &[]).await
    }

    async fn run_without(
        argv: &[&str],
        env: &[(&str, &str)],
        withheld: &[String],
    ) -> (ExitStatus, String, String, i32) {
        let dir = std::env::temp_dir();
        let req = SpawnRequest {
            program: OsStr::new(argv[0]),
            argv: argv.iter().map(OsString::from).collect(),
            env: env
                .iter()
                .map(|(k, v)| (OsStr::new(k), OsStr::new(v)))
                .collect(),
            withheld,
            dir: &dir,
        };
        let Spawned {
            mut child,
            mut stdout,
            mut stderr,
        } = launched(&req).await.unwrap();
        let pid = child.id();
        let (mut out, mut err) = (String::new(), String::new());
        stdout.read_to_string(&mut out).await.unwrap();
        stderr.read_to_string(&mut err).await.unwrap();
        (child.wait().await.unwrap(), out, err, pid)
    }

    #[tokio::test]
    async fn a_fresh_group_default_sigpipe_null_stdin_and_the_last_of_each_variable() {
        let script = r#"ps -o pgid= -p $$ | tr -d ' '; grep SigIgn /proc/self/status; wc -c; echo "$A $HOME" >&2"#;
        let (status, out, err, pid) = run(
            &["sh", "-c", script],
            &[("A", "1"), ("A", "2"), ("HOME", "/nowhere")],
        )
        .await;
        assert!(status.success());
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some(pid.to_string().as_str()), "own group");
        // Bit 13 is SIGPIPE (signal 13 → mask bit 12): not ignored in the step.
        let ign = u64::from_str_radix(lines.next().unwrap().split_whitespace().last().unwrap(), 16)
            .unwrap();
        assert_eq!(ign & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE not ignored");
        assert_eq!(lines.next(), Some("0"), "stdin is empty");
        assert_eq!(err, "2 /nowhere\n", "later entries and step values win");
    }

    #[tokio::test]
    async fn a_withheld_variable_of_baton_s_is_not_inherited_a_step_value_still_set() {
        // One of baton's variables that `sh` does not set itself (as it does PATH).
        let (name, _) = std::env::vars()
            .find(|(k, v)| {
                !v.is_empty()
                    && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !["PATH", "PWD", "OLDPWD", "SHLVL", "_"].contains(&k.as_str())
            })
            .expect("a variable in the test's environment");
        let script = format!(r#"echo "${{{name}-unset}} ${{A-unset}}""#);
        let withheld = [name.clone(), "A".to_string()];
        let (status, out, ..) =
            run_without(&["/bin/sh", "-c", &script], &[("A", "1")], &withheld).await;
        assert!(status.success());
        assert_eq!(out, "unset 1\n", "{name} withheld, the step's A set");
        let (_, out, ..) = run(&["/bin/sh", "-c", &script], &[]).await;
        assert_ne!(out, "unset unset\n", "{name} inherited otherwise");
    }

    #[tokio::test]
    async fn exit_codes_and_signals_come_back() {
        let (status, ..) = run(&["sh", "-c", "exit 3"], &[]).await;
        assert_eq!(status.code(), Some(3));
        let (status, ..) = run(&["sh", "-c", "kill -TERM $$"], &[]).await;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[tokio::test]
    async fn a_missing_program_or_a_nul_is_an_error_not_a_child() {
        let dir = std::env::temp_dir();
        let missing = SpawnRequest {
            program: OsStr::new("/nonexistent/baton-nothing"),
            argv: vec!["x".into()],
            env: vec![],
            withheld: &[],
            dir: &dir,
        };
        let e = launched(&missing).await.err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let nul = SpawnRequest {
            program: OsStr::new("true"),
            argv: vec!["a\0b".into()],
            env: vec![],
            withheld: &[],
            dir: &dir,
        };
        assert_eq!(
            launched(&nul).await.err().unwrap().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    extern "C" fn ignore_usr2(_: libc::c_int) {}

    /// A `/proc/self/status` line's mask, as bits.
    fn mask(status: &str, name: &str) -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().last().unwrap(), 16).unwrap()
    }

    // The step starts as `posix_spawn` started it: nothing blocked (its start blocks
    // every signal), a signal baton handles at its default, glibc's own two ignored.
    // Found along baton's `PATH` (a name without `/`).
    #[tokio::test]
    async fn a_handler_of_baton_s_is_default_in_the_child_and_nothing_blocked() {
        // SAFETY: a handler that does nothing, for a signal nobody sends here.
        let before = unsafe {
            libc::signal(
                libc::SIGUSR2,
                ignore_usr2 as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
        let (status, out, ..) = run(&["cat", "/proc/self/status"], &[]).await;
        // SAFETY: the disposition it had.
        unsafe { libc::signal(libc::SIGUSR2, before) };
        assert!(status.success());
        assert_eq!(mask(&out, "SigCgt:"), 0, "no handler survives the exec");
        assert_eq!(mask(&out, "SigBlk:"), 0, "no signal blocked");
        let ignored = mask(&out, "SigIgn:");
        assert_eq!(
            ignored & (1 << (libc::SIGUSR2 - 1)),
            0,
            "SIGUSR2 is default"
        );
        assert_eq!(ignored & (3 << 31), 3 << 31, "glibc's 32 and 33 ignored");
    }

    // What fails before or at the exec comes back as its errno: a file without `#!` (ENOEXEC: the caller runs it through `sh`), a working
    // directory that is not there (ENOENT).
    #[tokio::test]
    async fn a_file_without_a_shebang_or_a_missing_directory_is_an_errno() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("script");
        std::fs::write(&script, "echo hi\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let req = |program: &Path, dir: &Path| {
            let (program, dir) = (program.as_os_str().to_owned(), dir.to_path_buf());
            async move {
                let req = SpawnRequest {
                    program: &program,
                    argv: vec![program.clone()],
                    env: vec![],
                    withheld: &[],
                    dir: &dir,
                };
                launched(&req).await.err().and_then(|e| e.raw_os_error())
            }
        };
        assert_eq!(req(&script, dir.path()).await, Some(libc::ENOEXEC));
        let gone = dir.path().join("gone");
        assert_eq!(req(Path::new("/bin/true"), &gone).await, Some(libc::ENOENT));
    }

    // Started in place, its end is heard through the pidfd its clone gave.
    #[test]
    fn a_child_started_in_place_has_its_clone_s_pidfd() {
        let dir = std::env::temp_dir();
        let req = SpawnRequest {
            program: OsStr::new("/bin/true"),
            argv: vec!["true".into()],
            env: vec![],
            withheld: &[],
            dir: &dir,
        };
        let mut launched = spawn(&req, &mut |_| None).unwrap();
        assert!(matches!(launched.child.ended, Ending::Fd(Some(_))));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = rt.block_on(launched.child.wait()).unwrap();
        assert!(status.success());
    }

    #[tokio::test]
    async fn a_child_dropped_unwaited_is_reaped_when_it_ends() {
        let dir = std::env::temp_dir();
        let req = SpawnRequest {
            program: OsStr::new("sleep"),
            argv: vec!["sleep".into(), "0.2".into()],
            env: vec![],
            withheld: &[],
            dir: &dir,
        };
        let Spawned { child, .. } = launched(&req).await.unwrap();
        let pid = child.id();
        drop(child);
        // Reaped once it ends (started in place, by a thread of its own, under its
        // lock): no longer our child, zombie or not.
        let ours = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                let after = &s[s.rfind(')').map_or(0, |i| i + 2)..];
                after.split_whitespace().nth(1) == Some(&std::process::id().to_string())
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while ours() {
            assert!(std::time::Instant::now() < deadline, "{pid} never reaped");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
