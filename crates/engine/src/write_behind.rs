//! Write-behind for the store's copy of an artifact (issue 60 point 3): the copy must
//! be on disk before a record names it (`fdatasync` before the rename), and a sync of a
//! whole 1 GiB file at its end took about five times the copy itself on the project's
//! machine. So the disk is set to work while the bytes still arrive: each finished
//! window (`WINDOW`) is handed to writeback at once (`sync_file_range(WRITE)`), the one
//! before it waited for and dropped from the page cache (`posix_fadvise(DONTNEED)`),
//! which also bounds the dirty pages one copy leaves to two windows. The final
//! `fdatasync` then has at most two windows left to write. The start of a window's
//! writeback is advice (its error ignored), but the wait is not: on Linux ≥ 4.14 a
//! waiting `sync_file_range` reports the file's writeback error and thereby consumes it,
//! so the final `fdatasync` would no longer see it. The first such error is kept, no
//! cache is dropped after it, and every later `write` and the `sync` return it: a copy
//! whose bytes did not reach the disk is never recorded.
use std::fs::File;
use std::io::{self, Write};

/// How much is written before it is handed to the disk.
const WINDOW: u64 = 16 << 20;

/// Pure: where writeback stands in a file written from its start.
#[derive(Debug, Default, PartialEq, Eq)]
struct Behind {
    /// Bytes handed to writeback, from 0.
    started: u64,
    /// Bytes written back (waited for) and dropped from the cache, from 0.
    settled: u64,
}

/// What to do once `written` bytes are in the file: start writing back
/// `start` (offset, length), then wait for and drop `settle`.
#[derive(Debug, PartialEq, Eq)]
struct Flush {
    start: (u64, u64),
    settle: Option<(u64, u64)>,
}

impl Behind {
    fn advance(&mut self, written: u64) -> Option<Flush> {
        if written < self.started + WINDOW {
            return None;
        }
        let start = (self.started, written - self.started);
        let settle =
            (self.started > self.settled).then(|| (self.settled, self.started - self.settled));
        self.settled = self.started;
        self.started = written;
        Some(Flush { start, settle })
    }
}

/// A new file written from its start, its bytes handed to the disk as they come.
pub(crate) struct WriteBehind {
    file: File,
    written: u64,
    behind: Behind,
    /// The first error a wait for writeback reported (its kind and text: an
    /// `io::Error` is not `Clone`).
    failed: Option<(io::ErrorKind, String)>,
}

impl WriteBehind {
    pub(crate) fn new(file: File) -> WriteBehind {
        WriteBehind {
            file,
            written: 0,
            behind: Behind::default(),
            failed: None,
        }
    }

    /// Every byte on disk (`fdatasync`): what the record may then name. An error an
    /// earlier wait for writeback reported is this one's too.
    pub(crate) fn sync(&self) -> io::Result<()> {
        self.check()?;
        self.file.sync_data()
    }

    fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some((kind, text)) => Err(io::Error::new(*kind, text.clone())),
            None => Ok(()),
        }
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if let Some(f) = self.behind.advance(self.written)
            && let Err(e) = flush_range(&self.file, f)
        {
            self.failed = Some((e.kind(), format!("writing back to disk: {e}")));
            return Err(e);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The start of writeback is advice, its error ignored; the wait's error is returned
/// (it is the file's writeback error, which the kernel then no longer reports to the
/// final `fdatasync`), and nothing is dropped from the cache after it.
#[cfg(target_os = "linux")]
fn flush_range(file: &File, f: Flush) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let range = |(off, len): (u64, u64)| {
        (
            i64::try_from(off).unwrap_or(i64::MAX),
            i64::try_from(len).unwrap_or(i64::MAX),
        )
    };
    let (off, len) = range(f.start);
    // SAFETY: `fd` is this open file's for the call's length; the call reads no memory.
    // libc: neither nix nor rustix wraps sync_file_range.
    unsafe { libc::sync_file_range(fd, off, len, libc::SYNC_FILE_RANGE_WRITE) };
    if let Some(s) = f.settle {
        let (off, len) = range(s);
        let wait = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        // SAFETY: as above.
        if unsafe { libc::sync_file_range(fd, off, len, wait) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if let (Ok(o), Some(l)) = (u64::try_from(off), std::num::NonZeroU64::new(s.1)) {
            let _ = rustix::fs::fadvise(file, o, Some(l), rustix::fs::Advice::DontNeed);
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn flush_range(_: &File, _: Flush) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_window_is_started_and_the_one_before_settled() {
        let mut b = Behind::default();
        assert_eq!(b.advance(WINDOW - 1), None);
        assert_eq!(
            b.advance(WINDOW + 5),
            Some(Flush {
                start: (0, WINDOW + 5),
                settle: None
            })
        );
        assert_eq!(b.advance(2 * WINDOW), None);
        assert_eq!(
            b.advance(2 * WINDOW + 5),
            Some(Flush {
                start: (WINDOW + 5, WINDOW),
                settle: Some((0, WINDOW + 5))
            })
        );
        assert_eq!(
            b.advance(3 * WINDOW + 5),
            Some(Flush {
                start: (2 * WINDOW + 5, WINDOW),
                settle: Some((WINDOW + 5, WINDOW))
            })
        );
    }

    #[test]
    fn what_is_written_is_what_the_file_holds() {
        let t = tempfile::tempdir().expect("tmp");
        let path = t.path().join("f");
        let mut w = WriteBehind::new(File::create(&path).expect("create"));
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..40 {
            w.write_all(&chunk).expect("write");
        }
        w.write_all(b"end").expect("write");
        w.sync().expect("sync");
        let got = std::fs::read(&path).expect("read");
        assert_eq!(got.len(), 40 * (1 << 20) + 3);
        assert!(got.ends_with(b"\x07end"));
    }

    /// A wait for writeback that fails (here: the file is a pipe, which
    /// `sync_file_range` refuses, as it would report a disk's write error) fails the
    /// write, every write after it and the final sync: never swallowed.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_wait_for_writeback_fails_the_copy() {
        let (mut reader, writer) = io::pipe().expect("pipe");
        let drain = std::thread::spawn(move || io::copy(&mut reader, &mut io::sink()));
        let file = File::from(std::os::fd::OwnedFd::from(writer));
        let mut w = WriteBehind::new(file);
        let chunk = vec![7u8; 1 << 20];
        let mut failed = None;
        for _ in 0..48 {
            if let Err(e) = w.write_all(&chunk) {
                failed = Some(e);
                break;
            }
        }
        let e = failed.expect("the wait's error is the write's");
        assert_eq!(e.raw_os_error(), Some(libc::ESPIPE), "{e}");
        let again = w.write(b"more").expect_err("and every write after it");
        assert!(again.to_string().contains("writing back"), "{again}");
        let sync = w.sync().expect_err("and the sync");
        assert!(sync.to_string().contains("writing back"), "{sync}");
        drop(w);
        drain.join().expect("drain").expect("read");
    }
}
