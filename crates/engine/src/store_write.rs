//! The store's copy of an artifact written on a thread of its own (issue 60 point 3).
//! While a file comes back from a host, the engine's thread reads it, hashes it and
//! feeds the copies sent ahead (`send_ahead`); the writes into the store, their
//! write-behind (`write_behind`: each window's wait for the disk) and the final
//! `fdatasync` are this thread's, fed through a bounded queue of reused buffers of
//! `CHUNK`. So reading from the host never stops for the disk, until the queue is full
//! (the disk slower than the host for `DEPTH` buffers in a row).
//!
//! Every promise of the copy is kept: [`StoreWrite::finish`] returns only once every
//! byte was written and synced (its record may then name it); the first write error
//! (the writeback error a window's wait reports too) ends the thread, and the next
//! [`StoreWrite::send`] or the finish returns it; a copy dropped unfinished stops the
//! thread (nothing more written, no sync) and waits for it. Memory: at most `BUFFERS`
//! buffers of `CHUNK` per copy, whatever the file's size.
use crate::write_behind::WriteBehind;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// A buffer's size: the reader fills one whole before it is queued.
pub(crate) const CHUNK: usize = 1 << 20;
/// Buffers queued for the writer.
const DEPTH: usize = 8;
/// Buffers in all: those queued, the one being written and the one being filled.
const BUFFERS: usize = DEPTH + 2;

/// The writer's thread of one copy, and its buffers.
pub(crate) struct StoreWrite {
    /// Buffers to write, in order; `None` once finished.
    full: Option<SyncSender<Vec<u8>>>,
    /// Buffers written, back for reuse.
    empty: Receiver<Vec<u8>>,
    /// Buffers made so far (at most `BUFFERS`).
    made: usize,
    /// Set when the copy is dropped unfinished: the thread writes nothing more.
    abandoned: Arc<AtomicBool>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl StoreWrite {
    /// Start writing `file` (new, empty) from its start; `failpoint`: where a crash test
    /// may kill the engine, once the first buffer is written (`exec::failpoint`).
    pub(crate) fn start(file: File, failpoint: (&str, &str)) -> io::Result<StoreWrite> {
        let (full, queued) = sync_channel::<Vec<u8>>(DEPTH);
        let (back, empty) = sync_channel::<Vec<u8>>(BUFFERS);
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&abandoned);
        let point = (failpoint.0.to_string(), failpoint.1.to_string());
        let thread = std::thread::Builder::new()
            .name("baton-store-write".into())
            .spawn(move || write(WriteBehind::new(file), &queued, &back, (&stop, &point)))?;
        Ok(StoreWrite {
            full: Some(full),
            empty,
            made: 0,
            abandoned,
            thread: Some(thread),
        })
    }

    /// An empty buffer of `CHUNK` bytes (its content stale) to fill: a new one while
    /// fewer than `BUFFERS` were made, else one written, waited for. `Err`: the writer
    /// failed (its error).
    pub(crate) fn buffer(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = match self.empty.try_recv() {
            Ok(b) => b,
            Err(_) if self.made < BUFFERS => {
                self.made += 1;
                Vec::with_capacity(CHUNK)
            }
            Err(_) => match self.empty.recv() {
                Ok(b) => b,
                Err(_) => return Err(self.failed()),
            },
        };
        buf.resize(CHUNK, 0);
        Ok(buf)
    }

    /// `buf`'s bytes, next in the file. `Err`: the writer failed (its error).
    pub(crate) fn send(&mut self, buf: Vec<u8>) -> io::Result<()> {
        let sent = self.full.as_ref().map(|f| f.send(buf));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(self.failed()),
        }
    }

    /// Every byte sent written and synced (`fdatasync`): what the record may name.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.full = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(done)) => done,
            Some(Err(_)) => Err(io::Error::other("the store's writer panicked")),
            None => Err(io::Error::other("the store's writer is gone")),
        }
    }

    /// The writer's error, once it ended early.
    fn failed(&mut self) -> io::Error {
        self.full = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => io::Error::other("the store's writer panicked"),
            _ => io::Error::other("the store's writer stopped"),
        }
    }
}

impl Drop for StoreWrite {
    fn drop(&mut self) {
        // Unfinished: nothing more is written, nor synced; the thread ends once its
        // write or wait at hand returns.
        self.abandoned.store(true, Ordering::Relaxed);
        self.full = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer's thread: each buffer written, then given back; at the queue's end
/// every byte synced. Its first error ends it (the queue then refuses the reader).
fn write(
    mut out: WriteBehind,
    queued: &Receiver<Vec<u8>>,
    back: &SyncSender<Vec<u8>>,
    (stop, point): (&AtomicBool, &(String, String)),
) -> io::Result<()> {
    let mut first = true;
    for buf in queued {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::other("the copy was abandoned"));
        }
        out.write_all(&buf)?;
        if first {
            baton_exec::failpoint::die_at(&point.0, &point.1);
            first = false;
        }
        // Never blocks: it holds as many as are made.
        let _ = back.try_send(buf);
    }
    if stop.load(Ordering::Relaxed) {
        return Err(io::Error::other("the copy was abandoned"));
    }
    out.sync()
}

/// Copy `src` through `out`'s buffers, each filled whole before it is queued, `seen`
/// given the bytes as they are read (the hash, the copies sent ahead): they never wait
/// for the disk. The bytes read. A read error, or the writer's, is `Err`.
pub(crate) fn copy_into(
    src: &mut dyn Read,
    out: &mut StoreWrite,
    mut seen: impl FnMut(&[u8]),
) -> io::Result<u64> {
    let mut buf = out.buffer()?;
    let (mut filled, mut size) = (0usize, 0u64);
    loop {
        let n = match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        seen(&buf[filled..filled + n]);
        filled += n;
        size += n as u64;
        if filled == CHUNK {
            out.send(std::mem::take(&mut buf))?;
            buf = out.buffer()?;
            filled = 0;
        }
    }
    if filled > 0 {
        buf.truncate(filled);
        out.send(buf)?;
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source of `len` bytes (`i % 251`) read in pieces of at most `piece`.
    struct Pieces {
        at: usize,
        len: usize,
        piece: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.piece).min(self.len - self.at);
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = ((self.at + i) % 251) as u8;
            }
            self.at += n;
            Ok(n)
        }
    }

    fn expected(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    /// Whatever the pieces the source gives, the file holds its bytes in order, and
    /// `seen` saw each once, in order; buffers are reused, never more than `BUFFERS`.
    #[test]
    fn the_file_holds_what_was_read_in_order() {
        let t = tempfile::tempdir().expect("tmp");
        let len = 37 * CHUNK + 12_345;
        for piece in [CHUNK, 65_536, 7_777] {
            let path = t.path().join(format!("f{piece}"));
            let file = File::create(&path).expect("create");
            let mut out = StoreWrite::start(file, ("none", "none")).expect("start");
            let mut seen = Vec::new();
            let mut src = Pieces { at: 0, len, piece };
            let size = copy_into(&mut src, &mut out, |b| seen.extend_from_slice(b));
            assert_eq!(size.expect("copied"), len as u64);
            assert!(out.made <= BUFFERS, "{} buffers", out.made);
            out.finish().expect("synced");
            assert_eq!(seen, expected(len));
            assert_eq!(std::fs::read(&path).expect("read"), expected(len));
        }
    }

    /// A writer that fails (here a wait for writeback refused: the file is a pipe, as
    /// a disk's write error would be reported) fails the copy with its error, at a send
    /// or at the finish: never swallowed, never a hang.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_writer_s_error_fails_the_copy() {
        let (mut reader, writer) = io::pipe().expect("pipe");
        let drain = std::thread::spawn(move || io::copy(&mut reader, &mut io::sink()));
        let file = File::from(std::os::fd::OwnedFd::from(writer));
        let mut out = StoreWrite::start(file, ("none", "none")).expect("start");
        let mut src = Pieces {
            at: 0,
            len: 64 * CHUNK,
            piece: CHUNK,
        };
        let e = match copy_into(&mut src, &mut out, |_| {}) {
            Err(e) => e,
            Ok(_) => out.finish().expect_err("the finish says it"),
        };
        assert_eq!(e.raw_os_error(), Some(libc::ESPIPE), "{e}");
        drain.join().expect("drain").expect("read");
    }

    /// A read error is the copy's; the copy dropped stops its writer (no hang).
    #[test]
    fn a_read_error_fails_the_copy_and_the_writer_stops() {
        struct Broken(usize);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("cut"));
                }
                self.0 -= 1;
                Ok(buf.len())
            }
        }
        let t = tempfile::tempdir().expect("tmp");
        let file = File::create(t.path().join("f")).expect("create");
        let mut out = StoreWrite::start(file, ("none", "none")).expect("start");
        let e = copy_into(&mut Broken(3), &mut out, |_| {}).expect_err("cut");
        assert_eq!(e.to_string(), "cut");
        drop(out);
    }
}
