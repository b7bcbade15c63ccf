//! An attempt's log: the file its output goes to (made on the first byte, masked as
//! one stream) and the pumps that read its pipes into it and into its tails, in fixed
//! chunks so memory stays bounded whatever the step prints.
use crate::stream::{MaskingSplitter, Stream, TailHandle};
use baton_model::mask::Masker;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::net::unix::pipe;

/// A pipe's first read goes to the stack (`PROBE` bytes); once one finds bytes, reads go
/// into a buffer of `FIRST_CHUNK` bytes, grown (up to `READ_CHUNK`) while reads fill
/// it: most steps write little or nothing, and a pipe that only ends costs no buffer.
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

/// One pipe read to its end in chunks into its sink: memory stays bounded whatever
/// the step prints. It has no task of its own: whoever waits for the attempt reads
/// its output ([`Pumps::beside`]), so an attempt costs the runtime one task, not three.
pub(super) struct Pump {
    reader: pipe::Receiver,
    sink: Sink,
    splitter: MaskingSplitter,
    /// Empty until a read finds bytes: a pipe that only ends (most steps print
    /// nothing) costs no buffer.
    buf: Vec<u8>,
    ended: bool,
}

/// Bytes the first read takes, on the stack.
const PROBE: usize = 512;
/// Reads a stopped pipe takes at most: what it holds (64 KiB unless its writer grew
/// it) takes one or two; a writer still going does not hold its reader forever.
const STOPPED_READS: usize = 16;

impl Pump {
    pub(super) fn new(reader: pipe::Receiver, sink: Sink, masker: Masker) -> Pump {
        Pump {
            reader,
            sink,
            splitter: MaskingSplitter::new(masker),
            buf: Vec::new(),
            ended: false,
        }
    }

    /// Read until the pipe's end (at once if it ended). Cancel-safe: each read's bytes
    /// are in the sink before the next await.
    async fn run(&mut self) {
        while !self.ended {
            if self.reader.readable().await.is_err() {
                self.end();
                return;
            }
            self.read_once();
        }
    }

    /// One read of what the pipe holds: whether it took bytes (a read that would
    /// block leaves the pipe to be waited on again; its end or an error ends it).
    fn read_once(&mut self) -> bool {
        let read = if self.buf.capacity() == 0 {
            let mut first = [0u8; PROBE];
            let read = self.reader.try_read(&mut first);
            if let Ok(n @ 1..) = read {
                self.take(&first[..n]);
                // Bytes came: a buffer for the next reads.
                self.buf.reserve_exact(FIRST_CHUNK);
            }
            read
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            // Read into its capacity, never zeroed (`try_read_buf`).
            let read = self.reader.try_read_buf(&mut buf);
            if let Ok(n @ 1..) = read {
                self.take(&buf[..n]);
                if n == buf.capacity() && buf.capacity() < READ_CHUNK {
                    let grown = (buf.capacity() * 4).min(READ_CHUNK);
                    buf.clear();
                    buf.reserve_exact(grown);
                }
            }
            self.buf = buf;
            read
        };
        match read {
            Ok(0) => self.end(),
            Ok(_) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => self.end(),
        }
        false
    }

    /// The stream's end: what the masking held back goes to the sink at once (the
    /// log's own masking then holds a secret's first half for the other stream's).
    fn end(&mut self) {
        self.ended = true;
        if let Some(out) = self.splitter.finish() {
            self.sink.emit(&out);
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        if let Some(out) = self.splitter.push(bytes) {
            self.sink.emit(&out);
        }
    }

    /// Stopped: what the pipe holds now is read (bounded), what the masking held
    /// back is released, and the first failure to write the log returned.
    fn finish(&mut self) -> Option<LogError> {
        let mut reads = 0;
        while !self.ended && reads < STOPPED_READS && self.read_once() {
            reads += 1;
        }
        if !self.ended {
            self.end();
        }
        self.sink.error.take()
    }
}

/// An attempt's two pipes (stdout, stderr), each read in its own order into the log
/// and the tails, as they become readable.
pub(super) struct Pumps([Pump; 2]);

impl std::fmt::Debug for Pumps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pumps").finish_non_exhaustive()
    }
}

impl Pumps {
    pub(super) fn new(stdout: Pump, stderr: Pump) -> Pumps {
        Pumps([stdout, stderr])
    }

    /// Both read to their ends.
    pub(super) async fn run(&mut self) {
        let [out, err] = &mut self.0;
        futures::future::join(out.run(), err.run()).await;
    }

    /// `work`, while both pipes are read (the step never blocks on a full pipe).
    pub(super) async fn beside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let reading = async {
            self.run().await;
            std::future::pending::<std::convert::Infallible>().await
        };
        tokio::select! {
            biased;
            done = work => done,
            never = reading => match never {},
        }
    }

    /// Stopped: each pipe's first failure to write the log (see [`Pump::finish`]).
    pub(super) fn finish(&mut self) -> Vec<LogError> {
        self.0.iter_mut().filter_map(Pump::finish).collect()
    }
}
