//! Copies a remote attempt's masked output into the step's log and its live tail (a
//! Slurm job's output file, an SSH step's stream), with the copies' times in the run's
//! time index. The masked copy is a function of the output alone (the splitter masks the
//! same whatever the chunks), so a log an earlier engine wrote is a prefix of it: its
//! first `copied` bytes are not written again (the live tail still gets them).
use super::stream::{Stream, TailHandle};
use std::io::Write;
use std::path::PathBuf;

pub(crate) struct LogCopy {
    log_dir: PathBuf,
    log_path: PathBuf,
    /// Bytes of the log an earlier engine wrote: not written again.
    copied: u64,
    /// Bytes this copy already passed on (tail and log): skipped when the output is read
    /// again from its start (a reconnected stream).
    seen: u64,
    skip_seen: u64,
    tail: TailHandle,
    log: Option<std::fs::File>,
    times: crate::log_index::TimeIndex,
    pub error: Option<String>,
}

impl LogCopy {
    pub(crate) fn new(
        log_dir: PathBuf,
        log_path: PathBuf,
        copied: u64,
        tail: TailHandle,
    ) -> LogCopy {
        LogCopy {
            log_dir,
            log_path,
            copied,
            seen: 0,
            skip_seen: 0,
            tail,
            log: None,
            times: crate::log_index::TimeIndex::default(),
            error: None,
        }
    }

    /// The output is read again from its start: what was passed on is skipped.
    pub(crate) fn restart(&mut self) {
        self.skip_seen = self.seen;
        self.seen = 0;
    }

    /// Masked bytes, in order.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        let again = usize::try_from(self.skip_seen)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        self.skip_seen -= again as u64;
        self.seen += again as u64;
        let bytes = &bytes[again..];
        if bytes.is_empty() {
            return;
        }
        self.seen += bytes.len() as u64;
        self.tail.feed(Stream::Stdout, bytes);
        let skip = usize::try_from(self.copied)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        self.copied -= skip as u64;
        let bytes = &bytes[skip..];
        if bytes.is_empty() {
            return;
        }
        let name = self
            .log_path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if self.log.is_none() && self.error.is_none() {
            // Only in the run's own directory, never through a symlink (`own_files`).
            match crate::own_files::append(&self.log_dir, &name) {
                Ok(f) => self.log = Some(f),
                Err(e) => self.error = Some(crate::log_write_failed(&self.log_path, e)),
            }
        }
        if let Some(f) = self.log.as_mut() {
            // The time it was copied, in the run's time index (within a read of the write).
            let offset = f.metadata().map_or(0, |m| m.len());
            self.times
                .note(&self.log_dir, &name, offset, baton_model::Timestamp::now());
            if let Err(e) = f.write_all(bytes) {
                self.error = Some(crate::log_write_failed(&self.log_path, e));
                self.log = None;
            }
        }
    }
}
