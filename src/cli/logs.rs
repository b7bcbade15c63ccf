//! `baton logs RUN [STEP] [-f] [--attempt N] [--raw]`: a step's log files, or every
//! step's interleaved (`logs_all`). On a terminal
//! the output goes through the console's sanitiser (colours pass, every other control
//! sequence is neutralised: a step cannot retitle, clear or write to the clipboard of
//! the terminal reading its log); to a pipe or with `--raw`, the bytes as they are.
use super::db::{DbOpt, fail};
use super::exit;
use crate::store::{Store, StoreError};
use clap::Args;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton logs 01J9Z3 build\n  baton logs 01J9Z3 -f            (every step's log, each line after its step)\n  baton logs 01J9Z3 test --attempt 2\n  baton logs 01J9Z3 deploy -f"
)]
pub struct LogsArgs {
    /// The run id, or a unique prefix of it
    pub run: String,
    /// The step id; without it, every step's log, interleaved in the order it was
    /// written, each line after its step's id
    pub step: Option<String>,
    /// Keep printing new output until the step (or, without a step, the run) reaches a
    /// final state
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only this attempt (default: every attempt, in order)
    #[arg(long, value_name = "N")]
    pub attempt: Option<u32>,
    /// The bytes as the step wrote them, escape sequences included (the default when
    /// stdout is not a terminal)
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(args: LogsArgs) -> i32 {
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match print_logs(&store, &args) {
        Ok(code) => code,
        Err(LogError::Store(e)) => fail(&e),
        Err(LogError::Session(e)) => crate::session::report(&e),
        Err(LogError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(LogError::Io(e)) => {
            crate::stdio::errln!("error: {e}");
            exit::FAILED
        }
    }
}

pub(super) enum LogError {
    Store(StoreError),
    Session(crate::session::SessionError),
    Io(std::io::Error),
}
impl From<StoreError> for LogError {
    fn from(e: StoreError) -> Self {
        LogError::Store(e)
    }
}
impl From<crate::session::SessionError> for LogError {
    fn from(e: crate::session::SessionError) -> Self {
        LogError::Session(e)
    }
}
impl From<std::io::Error> for LogError {
    fn from(e: std::io::Error) -> Self {
        LogError::Io(e)
    }
}

/// Standard output as `--raw` and the terminal ask.
fn output(raw: bool) -> Output<std::io::StdoutLock<'static>> {
    use std::io::IsTerminal;
    let stdout = std::io::stdout();
    if !raw && stdout.is_terminal() {
        Output::Terminal(crate::sanitize::TerminalWriter::new(stdout.lock()))
    } else {
        Output::Raw(stdout.lock())
    }
}

fn print_logs(store: &Store, args: &LogsArgs) -> Result<i32, LogError> {
    let run_id = store.resolve_run(&args.run)?;
    let view = crate::session::inspect(store, &run_id, crate::model::Timestamp::now())?;
    let Some(step_id) = args.step.as_deref() else {
        if args.attempt.is_some() {
            crate::stdio::errln!(
                "error: --attempt needs a step: baton logs {} STEP --attempt N",
                args.run
            );
            return Ok(exit::USAGE);
        }
        let mut out = output(args.raw);
        let any = super::logs_all::print_all(store, &run_id, &view, args.follow, &mut out)?;
        out.finish()?;
        if !any && !args.follow {
            crate::stdio::errln!("no output recorded for run {run_id}");
        }
        return Ok(exit::OK);
    };
    let Some(step) = view.steps.iter().find(|s| s.id == step_id) else {
        // Name the steps there are, not the runs: the run was right.
        let ids: Vec<&str> = view.steps.iter().map(|s| s.id.as_str()).collect();
        crate::stdio::errln!(
            "error: run {run_id} has no step `{step_id}`; its steps: {}",
            ids.join(", ")
        );
        return Ok(exit::USAGE);
    };
    if let Some(a) = args.attempt {
        // An attempt that is not there is a mistake, not an empty log (a later one may
        // still come while following). Every attempt counts, with a log file or not (a
        // built-in writes none).
        let attempts = step.attempts;
        if a == 0 || (a > attempts && !args.follow) {
            let has = match attempts {
                0 => "has not run yet".to_string(),
                1 => "has 1 attempt: --attempt takes 1".to_string(),
                n => format!("has {n} attempts: --attempt takes 1 to {n}"),
            };
            crate::stdio::errln!("error: step `{step_id}` of run {run_id} {has}");
            return Ok(exit::USAGE);
        }
    }
    let wanted = |n: u32| args.attempt.is_none_or(|a| a == n);
    let mut out = output(args.raw);
    // (attempt, bytes already printed) of the file being followed.
    let mut printed: Vec<(u32, u64)> = Vec::new();
    loop {
        let logs = store.attempt_log_files(&run_id, step_id)?;
        let many = logs.iter().filter(|(n, _)| wanted(*n)).count() > 1;
        for (n, path) in logs.iter().filter(|(n, _)| wanted(*n)) {
            let pos = printed.iter().position(|(a, _)| a == n);
            let from = pos.map_or(0, |i| printed[i].1);
            if pos.is_none() && many {
                out.flush()?;
                crate::stdio::errln!("== {step_id} attempt {n} ({}) ==", path.display());
            }
            let copied = copy_from(path, from, &mut out)?;
            match pos {
                Some(i) => printed[i].1 += copied,
                None => printed.push((*n, copied)),
            }
        }
        out.flush()?;
        if !args.follow {
            break;
        }
        let step_final = store
            .step_state(&run_id, step_id)?
            .is_some_and(|s| s.is_final());
        let run_final = store.run(&run_id)?.state.is_final();
        if step_final || run_final {
            // One last pass picks up bytes written just before the final transition.
            for (n, path) in store.attempt_log_files(&run_id, step_id)? {
                if let Some(i) = printed.iter().position(|(a, _)| *a == n) {
                    printed[i].1 += copy_from(&path, printed[i].1, &mut out)?;
                }
            }
            out.flush()?;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    out.finish()?;
    if printed.is_empty() && !args.follow {
        crate::stdio::errln!(
            "no output recorded for step `{step_id}`{}",
            args.attempt
                .map(|a| format!(" attempt {a}"))
                .unwrap_or_default()
        );
    }
    Ok(exit::OK)
}

/// Copy the file's bytes from `from` to the end; a missing file copies nothing (yet).
fn copy_from(path: &Path, from: u64, out: &mut impl Write) -> std::io::Result<u64> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    f.seek(SeekFrom::Start(from))?;
    std::io::copy(&mut f, out)
}

/// Standard output: sanitised line by line when it is a terminal, else the bytes as
/// they are.
pub(super) enum Output<W: Write> {
    Terminal(crate::sanitize::TerminalWriter<W>),
    Raw(W),
}

impl<W: Write> Output<W> {
    /// Write a last line without its newline.
    pub(super) fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Output::Terminal(t) => t.finish(),
            Output::Raw(w) => w.flush(),
        }
    }
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Terminal(t) => t.write(buf),
            Output::Raw(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Terminal(t) => t.flush(),
            Output::Raw(w) => w.flush(),
        }
    }
}
