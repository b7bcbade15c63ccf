//! An attempt's log: the file its output goes to (made on the first byte, masked as
//! one stream) and the pumps that read its pipes into it and into its tails, in fixed
//! chunks so memory stays bounded whatever the step prints.
use crate::stream::{MaskingSplitter, Stream, TailHandle};
use baton_model::mask::Masker;
use std::fs::File;
use std::io::Write;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

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

/// A pipe's read end (non-blocking), read as it is and registered with the runtime only
/// once a read would wait: a pipe that has ended by its first read (a short step's,
/// most of a DAG of them) costs no registration, no `epoll_ctl` and no wake-up.
enum Reader {
    Plain(File),
    Registered(AsyncFd<File>),
    /// The runtime refused it (not expected): looked at again every `group::POLL`.
    Polled(File),
    /// Only while it moves from `Plain` to what registering it gives.
    Moving,
}

impl Reader {
    /// One read into `buf`'s spare capacity (never zeroed); its length grows by what
    /// was read.
    fn read(&self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        let n = self.read_into(buf.spare_capacity_mut())?;
        // SAFETY: the read wrote these `n` bytes just past the vector's length.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// One read into `buf`.
    fn read_slice(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        // SAFETY: the same memory, as bytes that may be uninitialized: a read writes
        // only initialized ones.
        let to = unsafe { &mut *(std::ptr::from_mut(buf) as *mut [MaybeUninit<u8>]) };
        self.read_into(to)
    }

    /// One `read` into `to`. A registered pipe is read only while the runtime says it
    /// may be (no system call otherwise), and a read that would block clears that, as
    /// tokio's own reads do.
    fn read_into(&self, to: &mut [MaybeUninit<u8>]) -> std::io::Result<usize> {
        match self {
            Reader::Plain(f) | Reader::Polled(f) => read_fd(f, to),
            Reader::Registered(fd) => fd.try_io(Interest::READABLE, |f| read_fd(f, to)),
            Reader::Moving => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    /// Until the pipe may be read again (its first wait registers it). Cancel-safe.
    async fn wait(&mut self) -> std::io::Result<()> {
        if let Reader::Plain(_) = self
            && let Reader::Plain(file) = std::mem::replace(self, Reader::Moving)
        {
            // SAFETY: the File keeps the same open fd until the AsyncFd drops it.
            *self = match unsafe { AsyncFd::register_with_interest(file, Interest::READABLE) } {
                Ok(fd) => Reader::Registered(fd),
                Err(refused) => Reader::Polled(refused.into_parts().0),
            };
        }
        match self {
            // Its readiness kept until a read would block (`read_into`).
            Reader::Registered(fd) => fd.readable().await.map(drop),
            Reader::Polled(_) => {
                tokio::time::sleep(super::group::POLL).await;
                Ok(())
            }
            Reader::Plain(_) | Reader::Moving => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

/// One `read` from `file` into `to`: how many bytes it wrote there.
fn read_fd(file: &File, to: &mut [MaybeUninit<u8>]) -> std::io::Result<usize> {
    loop {
        // SAFETY: a read of at most `to.len()` bytes into `to`, from an open fd.
        let n = unsafe { libc::read(file.as_raw_fd(), to.as_mut_ptr().cast(), to.len()) };
        match usize::try_from(n) {
            Ok(n) => return Ok(n),
            Err(_) => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// One pipe read to its end in chunks into its sink: memory stays bounded whatever
/// the step prints. It has no task of its own: whoever waits for the attempt reads
/// its output ([`Pumps::beside`]), so an attempt costs the runtime one task, not three.
pub(super) struct Pump {
    reader: Reader,
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
    /// `reader`: the pipe's read end, non-blocking.
    pub(super) fn new(reader: File, sink: Sink, masker: Masker) -> Pump {
        Pump {
            reader: Reader::Plain(reader),
            sink,
            splitter: MaskingSplitter::new(masker),
            buf: Vec::new(),
            ended: false,
        }
    }

    /// Read until the pipe's end (at once if it ended). `wait_first`: its writer most
    /// likely still runs (the pipe empty): waited on, so registered, before a read that
    /// would find nothing; else read first, and a pipe that ended already (a short
    /// step's) is never registered. Cancel-safe: each read's bytes are in the sink
    /// before the next await.
    async fn run(&mut self, wait_first: bool) {
        let mut wait = wait_first;
        while !self.ended {
            if wait && self.reader.wait().await.is_err() {
                self.end();
                return;
            }
            wait = !self.read_once();
            if !wait {
                // Bytes came: one unit of the runtime's budget, as a wait for readiness
                // spends, so a step that prints without pause does not hold its thread.
                tokio::task::consume_budget().await;
            }
        }
    }

    /// One read of what the pipe holds: whether it took bytes (a read that would
    /// block leaves the pipe to be waited on again; its end or an error ends it).
    fn read_once(&mut self) -> bool {
        let read = if self.buf.capacity() == 0 {
            let mut first = [0u8; PROBE];
            let read = self.reader.read_slice(&mut first);
            if let Ok(n @ 1..) = read {
                self.take(&first[..n]);
                // Bytes came: a buffer for the next reads.
                self.buf.reserve_exact(FIRST_CHUNK);
            }
            read
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            // Read into its capacity, never zeroed.
            let read = self.reader.read(&mut buf);
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

    /// Both read to their ends (`wait_first`: see [`Pump::run`]).
    pub(super) async fn run(&mut self, wait_first: bool) {
        let [out, err] = &mut self.0;
        futures::future::join(out.run(wait_first), err.run(wait_first)).await;
    }

    /// `work`, while both pipes are read (the step never blocks on a full pipe). They
    /// are looked at only once `work` waits (the process it waits for still runs).
    pub(super) async fn beside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let reading = async {
            self.run(true).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::OwnedFd;

    /// A pipe: its read end non-blocking (as a step's), its write end.
    fn pipe() -> (File, File) {
        let (r, w): (OwnedFd, OwnedFd) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .expect("a pipe");
        (r.into(), w.into())
    }

    // What a pipe held before it was first looked at and what comes after it was
    // found empty are read to its end, whether it is waited on first or read first,
    // registered with the runtime or (refused) polled.
    #[tokio::test]
    async fn a_pipe_is_read_to_its_end_registered_or_polled() {
        let dir = tempfile::tempdir().expect("a directory");
        for (polled, wait_first) in [(false, false), (false, true), (true, false), (true, true)] {
            let (r, mut w) = pipe();
            let name = format!("{polled}-{wait_first}.log");
            let log = Arc::new(LazyLog::new(
                dir.path(),
                &dir.path().join(&name),
                Masker::default(),
            ));
            let tail = TailHandle::default();
            let sink = Sink {
                stream: Stream::Stdout,
                log: log.clone(),
                tail: tail.clone(),
                stderr_tail: None,
                error: None,
            };
            let mut pump = Pump::new(r, sink, Masker::default());
            if polled {
                let Reader::Plain(file) = std::mem::replace(&mut pump.reader, Reader::Moving)
                else {
                    panic!("a new pump reads its pipe as it is");
                };
                pump.reader = Reader::Polled(file);
            }
            w.write_all(b"before\n").expect("written");
            let writer = async move {
                // After the pump's first wait: the pipe is empty by then.
                tokio::task::yield_now().await;
                w.write_all(b"after\n").expect("written");
            };
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(20),
                futures::future::join(pump.run(wait_first), writer),
            );
            read.await.expect("read to its end");
            assert!(pump.finish().is_none(), "the log written");
            assert!(log.finish().is_ok());
            assert_eq!(
                matches!(pump.reader, Reader::Registered(_)),
                !polled,
                "registered only on its first wait, unless refused"
            );
            assert_eq!(tail.lines(), ["before", "after"]);
            let text = std::fs::read_to_string(dir.path().join(&name)).expect("its log");
            assert_eq!(text, "before\nafter\n");
        }
    }

    // A pipe that ended before its first read (a short step's) is read to its end
    // without ever being registered with the runtime.
    #[tokio::test]
    async fn a_pipe_that_ended_before_its_first_read_is_never_registered() {
        let dir = tempfile::tempdir().expect("a directory");
        let (r, mut w) = pipe();
        w.write_all(b"all of it\n").expect("written");
        drop(w);
        let log = Arc::new(LazyLog::new(
            dir.path(),
            &dir.path().join("x.log"),
            Masker::default(),
        ));
        let tail = TailHandle::default();
        let sink = Sink {
            stream: Stream::Stderr,
            log,
            tail: tail.clone(),
            stderr_tail: None,
            error: None,
        };
        let mut pump = Pump::new(r, sink, Masker::default());
        pump.run(false).await;
        assert!(pump.ended);
        assert!(matches!(pump.reader, Reader::Plain(_)), "never registered");
        assert_eq!(tail.lines(), ["all of it"]);
    }
}
