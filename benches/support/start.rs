//! The minimal executors' start of a step's `true`: baton's own
//! (`baton_exec::vfork`), so that the floor baton is measured against takes any faster
//! start baton makes (issue 79: "the minimal executor takes it too"). In a process
//! group of its own, stdin from `/dev/null`, as baton starts a step.
use std::ffi::{CStr, CString};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::LazyLock;

/// This process's environment as `KEY=value` C strings, made once.
static ENV: LazyLock<Vec<CString>> = LazyLock::new(|| {
    std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect()
});

/// `PATH`, searched for `true` as `execvp` searches.
static PATH: LazyLock<CString> = LazyLock::new(|| {
    std::env::var_os("PATH")
        .and_then(|p| CString::new(p.as_bytes()).ok())
        .unwrap_or_else(|| c"/bin:/usr/bin".to_owned())
});

/// Start `true` with its stdout and stderr on `stdout` and `stderr`: its pid, and its
/// pidfd when the kernel gives one.
pub(crate) fn start_true(stdout: RawFd, stderr: RawFd) -> (libc::pid_t, Option<OwnedFd>) {
    const TRUE: &CStr = c"true";
    let argv = [TRUE.as_ptr(), std::ptr::null()];
    let mut envp: Vec<*const libc::c_char> = ENV.iter().map(|kv| kv.as_ptr()).collect();
    envp.push(std::ptr::null());
    let exec = baton_exec::vfork::Exec {
        program: TRUE,
        path: Some(PATH.as_c_str()),
        argv: &argv,
        envp: &envp,
        stdout,
        stderr,
        dir: c".",
    };
    baton_exec::vfork::start(&exec).expect("start true")
}
