//! The run's time index (`model::logtimes`) as an attempt's writer keeps it: a record
//! each time a second starts in which the attempt writes. Local steps (`shell`) and the
//! copies of Slurm jobs' output (`slurm`) keep it alike.
use baton_model::Timestamp;
use baton_model::logtimes::{INDEX, TORN_END, index_record, needs_record};
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// One attempt's records in its run's index.
#[derive(Debug, Default)]
pub(crate) struct TimeIndex {
    /// When the last record was written (ms).
    last: Option<i64>,
    file: Option<File>,
}

impl TimeIndex {
    /// The log `log` in `dir` grows past `offset` at `now`: its record, if a second
    /// started. Best effort: without it the console shows no times, the log is whole.
    pub(crate) fn note(&mut self, dir: &Path, log: &str, offset: u64, now: Timestamp) {
        if !needs_record(self.last, now) {
            return;
        }
        self.last = Some(now.millis());
        if self.file.is_none() {
            self.file = open(dir);
        }
        if let Some(f) = self.file.as_mut() {
            // One write of one line (O_APPEND): the run's attempts never mix records.
            let _ = f.write_all(index_record(log, offset, now).as_bytes());
        }
    }
}

/// The run's index, opened to append (only in the run's own directory, never through a
/// symlink: `own_files`). A record torn by an engine killed mid-write is ended first
/// (`logtimes::TORN_END`), so readers skip it and the next one starts a line of its own.
fn open(dir: &Path) -> Option<File> {
    use std::os::unix::fs::FileExt;
    let mut f = crate::own_files::append(dir, INDEX).ok()?;
    let len = f.metadata().ok()?.len();
    let mut last = [0u8; 1];
    if len > 0 && f.read_at(&mut last, len - 1).is_ok() && last[0] != b'\n' {
        f.write_all(TORN_END.as_bytes()).ok()?;
    }
    Some(f)
}
