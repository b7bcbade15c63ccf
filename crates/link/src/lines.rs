//! The link's lines read with a cap: bytes from another host (a remote `baton link`, the
//! `ssh` before it) are outside bytes, and one line that never ends must not grow the
//! reader's memory without bound.
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The longest line the link reads (64 MiB): far above the largest frame a store sends
/// (a run list page, a run's view), far below what takes a console's memory.
pub const MAX_LINE: usize = 64 << 20;

/// Lines of `R`, each at most `cap` bytes (without its `\n` or `\r\n`). Cancel-safe as
/// tokio's `Lines` is: a line's start read before a cancelled call is kept for the next.
#[derive(Debug)]
pub struct CappedLines<R> {
    inner: BufReader<R>,
    cap: usize,
    line: Vec<u8>,
    /// The rest of an over-long line is being skipped, up to its `\n`.
    skipping: bool,
}

impl<R: AsyncRead + Unpin> CappedLines<R> {
    pub fn new(inner: R, cap: usize) -> CappedLines<R> {
        CappedLines {
            inner: BufReader::new(inner),
            cap,
            line: Vec::new(),
            skipping: false,
        }
    }

    /// The next line (invalid UTF-8 replaced), `None` at the end, or an error of kind
    /// `InvalidData` for a line longer than the cap: what was read of it is dropped,
    /// and the next call goes on after its end.
    pub async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            let avail = self.inner.fill_buf().await?;
            if avail.is_empty() {
                if std::mem::take(&mut self.skipping) || self.line.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.take()));
            }
            let (chunk, end) = match avail.iter().position(|&c| c == b'\n') {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            let used = chunk + usize::from(end);
            if self.skipping {
                self.inner.consume(used);
                self.skipping = !end;
                continue;
            }
            if self.line.len().saturating_add(chunk) > self.cap {
                // Said once; the rest of the line is skipped, never kept.
                self.line = Vec::new();
                self.inner.consume(used);
                self.skipping = !end;
                return Err(too_long(self.cap));
            }
            self.line.extend_from_slice(&avail[..chunk]);
            self.inner.consume(used);
            if end {
                return Ok(Some(self.take()));
            }
        }
    }

    fn take(&mut self) -> String {
        let mut l = std::mem::take(&mut self.line);
        if l.last() == Some(&b'\r') {
            l.pop();
        }
        match String::from_utf8(l) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}

fn too_long(cap: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "it sent a line longer than {} MiB, more than any frame",
            cap >> 20
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::task::{Context, Poll};

    /// A reader of `n` bytes of `b'x'` (endless with `u64::MAX`), then `tail`, counting
    /// what was read.
    struct Endless {
        left: u64,
        tail: Vec<u8>,
        read: u64,
    }

    impl AsyncRead for Endless {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let room = buf.remaining();
            if self.left > 0 {
                let n = room.min(usize::try_from(self.left).unwrap_or(usize::MAX));
                buf.put_slice(&vec![b'x'; n]);
                self.left -= n as u64;
                self.read += n as u64;
            } else {
                let n = room.min(self.tail.len());
                let rest = self.tail.split_off(n);
                buf.put_slice(&self.tail);
                self.tail = rest;
            }
            Poll::Ready(Ok(()))
        }
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn an_endless_line_is_refused_having_read_little_past_the_cap() {
        let cap = 1 << 20;
        let src = Endless {
            left: u64::MAX,
            tail: Vec::new(),
            read: 0,
        };
        let mut l = CappedLines::new(src, cap);
        let e = block(l.next_line()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("longer than 1 MiB"), "{e}");
        // Memory: the line kept never passed the cap, nor the bytes read one buffer.
        assert!(l.line.capacity() <= 2 * cap, "{}", l.line.capacity());
        assert!(l.inner.get_ref().read <= (cap + 8192) as u64);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any mix of lines: those within the cap read back exactly, each longer one
        /// refused once, and reading goes on at the next line.
        #[test]
        fn lines_within_the_cap_are_read_and_longer_ones_refused_once(
            lens in proptest::collection::vec(0usize..300, 0..12),
            cap in 1usize..200,
        ) {
            let mut bytes = Vec::new();
            for (i, n) in lens.iter().enumerate() {
                bytes.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, *n));
                bytes.push(b'\n');
            }
            let src = Endless { left: 0, tail: bytes, read: 0 };
            let mut l = CappedLines::new(src, cap);
            for (i, n) in lens.iter().enumerate() {
                let got = block(l.next_line());
                if *n > cap {
                    prop_assert!(got.is_err());
                } else {
                    let want: String = std::iter::repeat_n((b'a' + (i % 26) as u8) as char, *n).collect();
                    prop_assert_eq!(got.unwrap(), Some(want));
                }
                prop_assert!(l.line.capacity() <= 2 * cap.max(8192));
            }
            prop_assert_eq!(block(l.next_line()).unwrap(), None);
        }
    }
}
