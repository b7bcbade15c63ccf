//! Peak memory of the real binary (max RSS from `wait4`), and a bench's figures written
//! between its markers in docs/performance.md.
use std::path::Path;
use std::process::{Command, Stdio};

/// Where the figures go.
pub(crate) const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/performance.md");

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

/// Replace what is between `begin` and `end` in docs/performance.md with `table`.
pub(crate) fn record(begin: &str, end: &str, table: &str) {
    let doc = std::fs::read_to_string(DOC).expect("read docs/performance.md");
    let (Some(a), Some(b)) = (doc.find(begin), doc.find(end)) else {
        panic!("docs/performance.md has lost a bench's markers ({begin} … {end})");
    };
    let new = format!(
        "{}{begin}\n{table}\n{end}{}",
        &doc[..a],
        &doc[b + end.len()..]
    );
    std::fs::write(DOC, new).expect("write docs/performance.md");
    println!("written to {DOC}");
}
