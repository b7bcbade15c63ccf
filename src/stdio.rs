//! What a closed pipe does to baton (`baton show RUN | head -c 10`).
//!
//! Commands that only print (`validate`, `plan`, `tools`, `runs`, `show`, `logs`,
//! `audit`) take the default SIGPIPE: when the reader goes away they stop at once and
//! silently, killed by the signal as `cat` is, so a shell sees 141 (`set -o pipefail`)
//! and nothing pretends the whole output was delivered.
//!
//! Commands that may drive a run (`run`, `resume`, `tui`, `approve` and the other
//! commands on a run) keep SIGPIPE ignored: a closed stdout must never stop a run in the
//! middle of a step. Their prints go through `outln!`/`errln!`, which drop the text when
//! the pipe is closed instead of panicking, so the exit code stays the run's.

/// Restore the default action of SIGPIPE (Rust ignores it at start-up).
pub fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL installs no handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Write a line to stdout; a write error (a closed pipe) is not the command's failure.
pub fn out_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{args}");
}

/// Write to stderr; a write error is ignored (there is nowhere left to report it).
pub fn err_text(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = write!(std::io::stderr().lock(), "{args}");
}

/// `println!` that does not panic on a closed stdout.
macro_rules! outln {
    ($($t:tt)*) => { $crate::stdio::out_line(format_args!($($t)*)) };
}

/// `eprintln!` that does not panic on a closed stderr.
macro_rules! errln {
    ($($t:tt)*) => { $crate::stdio::err_text(format_args!("{}\n", format_args!($($t)*))) };
}

pub(crate) use {errln, outln};
