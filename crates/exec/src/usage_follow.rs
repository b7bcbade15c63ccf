//! Following a running attempt's `$BATON_USAGE` as it is appended, as a log is
//! followed (issue 43 point 2): every [`POLL`], what was added since the last read is
//! read and its complete lines summed, so the run's totals, the console's header and
//! a budget's ceiling see usage while the step spends it, not only when it ends.
//!
//! Usage lines are input: at most [`MAX_FILE_BYTES`] are read (as at the end), a line
//! longer than [`MAX_LINE`] is dropped, and a malformed line adds nothing here. It is
//! reported once, by the end's read of the whole file (`outputs::parse_usage`), whose
//! sum also replaces what was followed: a line without its newline yet counts then.
use super::outputs::{MAX_FILE_BYTES, add_usage_line};
use baton_model::Usage;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

/// How often the file is looked at. With the view's own pace (40 ms), a line reaches
/// the console's header in well under 200 ms (docs/performance/latency.md).
pub const POLL: Duration = Duration::from_millis(20);
/// A line longer than this is no usage line: it is skipped up to its newline.
pub(crate) const MAX_LINE: usize = 4096;
/// At most this much is read per poll: a step that writes fast is caught up over a few.
const READ_CHUNK: usize = 64 * 1024;

/// The sum of the complete lines fed so far: pure over the bytes, bounded.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct UsageLines {
    /// The unfinished last line (at most [`MAX_LINE`] bytes).
    partial: Vec<u8>,
    /// Inside a line too long to be one: skipped up to its newline.
    skipping: bool,
    /// Bytes taken so far (at most [`MAX_FILE_BYTES`]).
    taken: u64,
    total: Usage,
}

impl UsageLines {
    /// Takes bytes appended to the file; whether the sum changed.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> bool {
        let room = MAX_FILE_BYTES.saturating_sub(self.taken) as usize;
        let bytes = &bytes[..bytes.len().min(room)];
        self.taken += bytes.len() as u64;
        let before = self.total;
        let mut rest = bytes;
        while let Some(n) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(n);
            if !std::mem::take(&mut self.skipping) && self.partial.len() + line.len() <= MAX_LINE {
                self.partial.extend_from_slice(line);
                let text = String::from_utf8_lossy(&self.partial);
                let text = text.strip_suffix('\r').unwrap_or(&text);
                if !text.trim().is_empty() {
                    add_usage_line(&mut self.total, text);
                }
            }
            self.partial.clear();
            rest = &tail[1..];
        }
        if !self.skipping {
            if self.partial.len() + rest.len() > MAX_LINE {
                self.partial.clear();
                self.skipping = true;
            } else {
                self.partial.extend_from_slice(rest);
            }
        }
        self.total != before
    }

    pub(crate) fn total(&self) -> Usage {
        self.total
    }

    /// Whether the bound is reached: nothing more is read.
    pub(crate) fn full(&self) -> bool {
        self.taken >= MAX_FILE_BYTES
    }
}

/// Follows one attempt's file: call [`UsageFollower::poll`] every [`POLL`].
#[derive(Debug)]
pub struct UsageFollower {
    path: PathBuf,
    file: Option<File>,
    lines: UsageLines,
}

impl UsageFollower {
    pub fn new(path: PathBuf) -> Self {
        UsageFollower {
            path,
            file: None,
            lines: UsageLines::default(),
        }
    }

    /// Reads what was appended since the last poll; the new sum if it changed. The
    /// file is opened once it exists (a step that writes none costs a failed open
    /// per poll), non-blocking (a FIFO there must not hang the engine). Errors are
    /// not reported here: the end's read reports what it cannot read.
    pub fn poll(&mut self) -> Option<Usage> {
        if self.lines.full() {
            return None;
        }
        if self.file.is_none() {
            self.file = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.path)
                .ok();
        }
        let file = self.file.as_mut()?;
        let mut buf = vec![0u8; READ_CHUNK];
        let mut changed = false;
        loop {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    changed |= self.lines.feed(&buf[..n]);
                    if n < buf.len() || self.lines.full() {
                        break;
                    }
                }
            }
        }
        // A file cut short (the step rewrote it): read it again from its start.
        if let (Ok(pos), Ok(meta)) = (file.stream_position(), file.metadata())
            && meta.len() < pos
            && file.seek(SeekFrom::Start(0)).is_ok()
        {
            self.lines = UsageLines::default();
        }
        changed.then(|| self.lines.total())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn complete_lines_are_summed_as_they_come_in_any_pieces() {
        let text = b"tokens=600\ncost=0.5\r\ncalls=2\n\nbogus\ntokens=1.5\ntokens=600\n";
        for chunk in 1..text.len() {
            let mut l = UsageLines::default();
            for c in text.chunks(chunk) {
                l.feed(c);
            }
            assert_eq!(
                l.total(),
                Usage {
                    cost: 0.5,
                    tokens: 1200,
                    calls: 2
                },
                "chunk {chunk}"
            );
        }
        let mut l = UsageLines::default();
        assert!(!l.feed(b"tokens=5"), "no newline yet: not counted");
        assert!(l.feed(b"0\n"));
        assert_eq!(l.total().tokens, 50);
    }

    #[test]
    fn a_long_line_is_skipped_and_the_file_is_bounded() {
        let mut l = UsageLines::default();
        l.feed(b"tokens=1\n");
        l.feed(&vec![b'9'; MAX_LINE * 3]);
        l.feed(b"\ntokens=2\n");
        assert_eq!(l.total().tokens, 3, "the long line added nothing");
        // Past the bound nothing is read, whatever comes (a step writing forever).
        let line = b"tokens=1\n";
        let mut l = UsageLines::default();
        for _ in 0..(MAX_FILE_BYTES as usize / line.len() + 1000) {
            l.feed(line);
        }
        assert!(l.full());
        assert_eq!(l.total().tokens, MAX_FILE_BYTES / line.len() as u64);
        // Garbage never panics.
        let mut l = UsageLines::default();
        l.feed(&[0xff, 0xfe, b'=', b'\n', 0, b'\n', b'=', b'\r', b'\n']);
        assert_eq!(l.total(), Usage::default());
    }

    #[test]
    fn the_follower_reads_what_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage");
        let mut f = UsageFollower::new(path.clone());
        assert_eq!(f.poll(), None, "no file yet");
        let mut w = std::fs::File::create(&path).unwrap();
        w.write_all(b"tokens=600\n").unwrap();
        assert_eq!(f.poll().map(|u| u.tokens), Some(600));
        assert_eq!(f.poll(), None, "nothing new");
        w.write_all(b"tokens=600\ncost=").unwrap();
        assert_eq!(f.poll().map(|u| u.tokens), Some(1200));
        w.write_all(b"0.25\n").unwrap();
        assert_eq!(f.poll().map(|u| u.cost), Some(0.25));
        // Rewritten shorter: read again from its start.
        std::fs::write(&path, b"tokens=7\n").unwrap();
        f.poll();
        assert_eq!(f.poll().map(|u| u.tokens), Some(7));
    }
}
