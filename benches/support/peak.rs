//! Peak memory of the real binary (max RSS from `wait4`), and a bench's figures written
//! between its markers in a page of docs/performance/.
use std::path::Path;
use std::process::{Command, Stdio};

/// Run baton with `args` in `dir` to its end: its exit status and max RSS in MiB.
// The child is reaped by wait4, which also gives its rusage; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
pub(crate) fn peak_mib(dir: &Path, args: &[&str]) -> (i32, f64) {
    let child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .current_dir(dir)
        .env("BATON_DB", dir.join("bench.db"))
        .stdout(Stdio::null())
        .spawn()
        .expect("run baton");
    reap(&child)
}

/// Wait for `child` to end: its exit status (-1 if a signal ended it) and max RSS in
/// MiB.
pub(crate) fn reap(child: &std::process::Child) -> (i32, f64) {
    let mut status = 0;
    // SAFETY: wait4 on our own child, writing into locals.
    let kib = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as i32, &mut status, 0, &mut u);
        u.ru_maxrss
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, kib as f64 / 1024.0)
}

/// Replace what is between `begin` and `end` in `docs/<page>` (`performance.md`, or a
/// page of `performance/`) with `table`.
pub(crate) fn record(page: &str, begin: &str, end: &str, table: &str) {
    let path = format!("{}/docs/{page}", env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let (Some(a), Some(b)) = (doc.find(begin), doc.find(end)) else {
        panic!("{path} has lost a bench's markers ({begin} … {end})");
    };
    let new = format!(
        "{}{begin}\n{table}\n{end}{}",
        &doc[..a],
        &doc[b + end.len()..]
    );
    std::fs::write(&path, new).unwrap_or_else(|e| panic!("write {path}: {e}"));
    println!("written to {path}");
}
