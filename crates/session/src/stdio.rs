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
    // nix's `signal` is unsafe as well (it can install a handler): libc's, directly.
    // SAFETY: setting a signal's disposition to SIG_DFL installs no handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Whether stdout (`1`) or stderr (`2`) is a terminal, asked once.
fn is_terminal(fd: i32) -> bool {
    use std::io::IsTerminal;
    use std::sync::OnceLock;
    static OUT: OnceLock<bool> = OnceLock::new();
    static ERR: OnceLock<bool> = OnceLock::new();
    if fd == 1 {
        *OUT.get_or_init(|| std::io::stdout().is_terminal())
    } else {
        *ERR.get_or_init(|| std::io::stderr().is_terminal())
    }
}

/// What baton prints goes through the console's sanitiser (only SGR colours pass),
/// to a terminal, a pipe or a file alike: names, reasons, outputs and ids may come
/// from anyone, and a file is read on a terminal later (`cat`, `less -R`, a CI log).
fn for_stream(args: std::fmt::Arguments<'_>) -> String {
    baton_model::sanitize::for_terminal(&args.to_string())
}

/// Write a line to stdout; a write error (a closed pipe) is not the command's failure.
pub fn out_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{}", for_stream(args));
}

/// Write to stdout without a newline.
pub fn out_text(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = write!(std::io::stdout().lock(), "{}", for_stream(args));
}

/// Write `value` to stdout as one line of JSON, with no character a terminal acts on
/// (`sanitize::json`). To a pipe or a file it goes out as it is serialised: a
/// 100,000-step run's document (tens of MB) is never held whole, nor copied. To a
/// terminal it is the line `out_line` writes. A write error (a closed pipe) is not the
/// command's failure; a value serde cannot write is.
pub fn out_json_line<T: serde::Serialize>(value: &T) -> Result<(), serde_json::Error> {
    use std::io::Write;
    if is_terminal(1) {
        let doc = baton_model::sanitize::json(value)?;
        out_line(format_args!("{doc}"));
        return Ok(());
    }
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    match baton_model::sanitize::write_json(&mut out, value) {
        Err(e) if e.is_io() => return Ok(()),
        r => r?,
    }
    let _ = writeln!(out);
    let _ = out.flush();
    Ok(())
}

/// Write to stderr; a write error is ignored (there is nowhere left to report it).
pub fn err_text(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = write!(std::io::stderr().lock(), "{}", for_stream(args));
}

/// A writer for the headless lines, sanitised wherever they go: they are read by people,
/// on a terminal now or later from a file or a CI log (`cat`, `less -R`), and they carry
/// gate prompts, reasons and outputs that may come from anyone. (Data for programs,
/// `--events` JSON, escapes control characters itself.)
pub struct Sanitised<W: std::io::Write> {
    inner: W,
}

impl<W: std::io::Write> Sanitised<W> {
    pub fn new(inner: W) -> Self {
        Sanitised { inner }
    }
}

impl<W: std::io::Write> std::io::Write for Sanitised<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = baton_model::sanitize::for_terminal(&String::from_utf8_lossy(buf));
        self.inner.write_all(text.as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `println!` that does not panic on a closed stdout.
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => { $crate::stdio::out_line(format_args!($($t)*)) };
}

/// `print!` that does not panic on a closed stdout.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::stdio::out_text(format_args!($($t)*)) };
}

/// `eprint!` that does not panic on a closed stderr.
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => { $crate::stdio::err_text(format_args!($($t)*)) };
}

/// `eprintln!` that does not panic on a closed stderr.
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => { $crate::stdio::err_text(format_args!("{}\n", format_args!($($t)*))) };
}

// Exported at the crate's root (`#[macro_export]`) so the front end's crate can use
// them; named here too, where they always were.
pub use crate::{err, errln, out, outln};
