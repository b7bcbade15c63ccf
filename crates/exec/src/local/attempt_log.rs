//! An attempt's log: the file its output goes to (made on the first byte, masked as
//! one stream) and the pumps that read its pipes into it and into its tails, in fixed
//! chunks so memory stays bounded whatever the step prints.
use crate::stream::{MaskingSplitter, Stream, TailHandle};
use baton_model::mask::Masker;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

/// A pipe is read into a buffer of `FIRST_CHUNK` bytes, grown (up to `READ_CHUNK`)
/// while reads fill it: most steps write little or nothing, and two zeroed 64 KiB
/// buffers per attempt were the engine thread's largest allocations.
const FIRST_CHUNK: usize = 4 * 1024;
const READ_CHUNK: usize = 64 * 1024;

pub(super) type LogError = Arc<std::io::Error>;

/// An attempt's log file, created on the first byte written: most steps of a large
/// DAG print nothing, and a create per attempt is measurable. Readers treat a missing
/// file as an empty log.
#[derive(Debug)]
pub(super) struct LazyLog {
    dir: PathBuf,
    pub(super) path: PathBuf,
    /// The file's name in `dir`, which names it in the run's time index.
    name: String,
    /// The log interleaves stdout and stderr: what each stream released (masked alone)
    /// is masked again as the one stream the file holds, so a secret written half to
    /// each is still masked.
    masking: Mutex<MaskingSplitter>,
    file: std::sync::OnceLock<Result<File, LogError>>,
    /// Bytes in the file so far (None before the first write) and this attempt's
    /// records in the run's time index; one lock, so stdout's and stderr's writes are
    /// recorded in order.
    times: Mutex<(Option<u64>, crate::log_index::TimeIndex)>,
}

impl LazyLog {
    pub(super) fn new(dir: &Path, path: &Path, masker: Masker) -> LazyLog {
        LazyLog {
            dir: dir.to_path_buf(),
            path: path.to_path_buf(),
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            masking: Mutex::new(MaskingSplitter::new(masker)),
            file: std::sync::OnceLock::new(),
            times: Mutex::new((None, crate::log_index::TimeIndex::default())),
        }
    }

    fn open(&self) -> Result<File, LogError> {
        // Only in the run's own directory, never through a symlink (`own_files`).
        crate::own_files::append(&self.dir, &self.name).map_err(Arc::new)
    }

    /// Append a stream's masked bytes, once they are safe in the file's order.
    pub(super) fn write(&self, bytes: &[u8]) -> Result<(), LogError> {
        let mut masking = self.masking.lock().unwrap_or_else(|p| p.into_inner());
        match masking.push(bytes) {
            Some(out) => self.write_all(&out),
            None => Ok(()),
        }
    }

    /// Append what is still held back: both streams have ended.
    pub(super) fn finish(&self) -> Result<(), LogError> {
        let mut masking = self.masking.lock().unwrap_or_else(|p| p.into_inner());
        match masking.finish() {
            Some(out) => self.write_all(&out),
            None => Ok(()),
        }
    }

    pub(super) fn write_all(&self, bytes: &[u8]) -> Result<(), LogError> {
        match self.file.get_or_init(|| self.open()) {
            Ok(f) => {
                let mut times = self.times.lock().unwrap_or_else(|p| p.into_inner());
                let (written, index) = &mut *times;
                // Appending to an existing file: offsets count from its end.
                let offset = *written.get_or_insert_with(|| f.metadata().map_or(0, |m| m.len()));
                index.note(&self.dir, &self.name, offset, baton_model::Timestamp::now());
                let mut f: &File = f;
                f.write_all(bytes).map_err(Arc::new)?;
                *written = Some(offset + bytes.len() as u64);
                Ok(())
            }
            Err(e) => Err(e.clone()),
        }
    }
}

/// Where one stream's masked bytes go.
pub(super) struct Sink {
    pub(super) stream: Stream,
    pub(super) log: Arc<LazyLog>,
    pub(super) tail: TailHandle,
    pub(super) stderr_tail: Option<TailHandle>,
    /// The first log write failure; output keeps being read so the step never blocks.
    pub(super) error: Option<LogError>,
}

impl Sink {
    fn emit(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.log.write(bytes)
        {
            self.error = Some(e);
        }
        self.tail.feed(self.stream, bytes);
        if let Some(t) = &self.stderr_tail {
            t.feed(self.stream, bytes);
        }
    }
}

/// Reads one pipe to its end (or until told to stop) in fixed chunks: memory stays
/// bounded whatever the step prints.
pub(super) async fn pump(
    mut reader: impl AsyncRead + Unpin,
    mut sink: Sink,
    masker: Masker,
    mut stop: watch::Receiver<bool>,
) -> Option<LogError> {
    let mut splitter = MaskingSplitter::new(masker);
    // Read into its capacity, never zeroed (`read_buf`): zeroing two buffers an
    // attempt was a measurable share of a quiet step's cost.
    let mut buf: Vec<u8> = Vec::with_capacity(FIRST_CHUNK);
    loop {
        buf.clear();
        let n = tokio::select! {
            biased;
            read = reader.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = stop.changed() => break,
        };
        if let Some(out) = splitter.push(&buf[..n]) {
            sink.emit(&out);
        }
        if n == buf.capacity() && buf.capacity() < READ_CHUNK {
            let grown = (buf.capacity() * 4).min(READ_CHUNK);
            buf.clear();
            buf.reserve_exact(grown);
        }
    }
    if let Some(out) = splitter.finish() {
        sink.emit(&out);
    }
    sink.error
}
