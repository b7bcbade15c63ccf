//! Streaming a step's output with bounded memory: [`MaskingSplitter`] masks secrets in
//! a byte stream read in chunks (a secret cut by a chunk boundary is still masked) and
//! [`TailHandle`] keeps the last lines, each capped, for the console and error records.
use baton_model::mask::Masker;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Without a newline, output is released once this much is pending.
pub(crate) const MAX_PENDING: usize = 64 * 1024;

/// Masks a chunked byte stream. Masked bytes are released at line ends; a long line is
/// released in pieces, never cutting through a secret.
#[derive(Debug)]
pub(crate) struct MaskingSplitter {
    masker: Masker,
    pending: Vec<u8>,
    /// Set by `finish`: nothing more comes, so a secret's beginning is just text.
    ending: bool,
}

impl MaskingSplitter {
    pub(crate) fn new(masker: Masker) -> Self {
        MaskingSplitter {
            masker,
            pending: Vec::new(),
            ending: false,
        }
    }

    /// Feeds a chunk; returns the masked bytes that are safe to release now.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        if self.masker.is_empty() {
            return (!chunk.is_empty()).then(|| chunk.to_vec());
        }
        self.pending.extend_from_slice(chunk);
        let n = self.pending.len();
        let cut = match self.pending.iter().rposition(|&b| b == b'\n') {
            Some(i) => i + 1,
            // Keep back what could be the start of a secret that the next chunk completes.
            None if n > MAX_PENDING => (n + 1).saturating_sub(self.masker.longest()),
            None => return None,
        };
        self.release(cut)
    }

    /// The end of the stream: everything still pending, masked.
    pub(crate) fn finish(&mut self) -> Option<Vec<u8>> {
        self.ending = true;
        let n = self.pending.len();
        self.release(n)
    }

    fn release(&mut self, cut: usize) -> Option<Vec<u8>> {
        let cut = self.safe_cut(cut);
        if cut == 0 {
            return None;
        }
        let out = self.masker.mask_bytes(&self.pending[..cut]).into_owned();
        self.pending.drain(..cut);
        Some(out)
    }

    /// Moves `cut` past any complete secret occurrence that straddles it; then, unless
    /// the stream is ending, back before the start of a secret that may go on past it
    /// (a secret with a newline in it begins before a line end).
    fn safe_cut(&self, cut: usize) -> usize {
        let mut cut = self.forward(cut);
        if cut == self.pending.len() && self.ending {
            return cut;
        }
        loop {
            let back = self
                .straddling(cut)
                .map(|(start, _)| start)
                .or_else(|| self.partial_before(cut));
            match back {
                Some(start) if start < cut => cut = start,
                _ => return cut,
            }
        }
    }

    fn forward(&self, mut cut: usize) -> usize {
        while let Some((_, end)) = self.straddling(cut) {
            cut = end;
        }
        cut
    }

    /// A complete secret occurrence that starts before `cut` and ends after it.
    fn straddling(&self, cut: usize) -> Option<(usize, usize)> {
        let buf = &self.pending;
        self.masker.secrets().iter().find_map(|s| {
            let s = s.as_bytes();
            let from = cut.saturating_sub(s.len() - 1);
            let to = (cut + s.len() - 1).min(buf.len());
            buf.get(from..to)?
                .windows(s.len())
                .position(|w| w == s)
                .map(|i| (from + i, from + i + s.len()))
                .filter(|&(_, end)| end > cut)
        })
    }

    /// Where the longest beginning of a secret that ends exactly at `cut` starts (the
    /// rest of that secret may still arrive).
    fn partial_before(&self, cut: usize) -> Option<usize> {
        let released = &self.pending[..cut];
        let &last = released.last()?;
        self.masker
            .secrets()
            .iter()
            .filter_map(|s| {
                let s = s.as_bytes();
                // Only a beginning that ends in the released last byte can match (at
                // a line end, only up to a newline inside the secret): cheap to test.
                (1..s.len())
                    .rev()
                    .filter(|&k| s[k - 1] == last)
                    .find(|&k| released.ends_with(&s[..k]))
                    .map(|k| cut - k)
            })
            .min()
    }
}

/// Which pipe bytes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

#[derive(Debug)]
struct TailBuf {
    max_lines: usize,
    max_line_bytes: usize,
    lines: VecDeque<String>,
    /// The unfinished line of each stream (stdout, stderr), capped.
    partial: [Vec<u8>; 2],
    truncated: [bool; 2],
}

impl TailBuf {
    fn feed(&mut self, stream: Stream, bytes: &[u8]) {
        let s = stream as usize;
        let mut rest = bytes;
        loop {
            let (piece, newline) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            let room = self.max_line_bytes.saturating_sub(self.partial[s].len());
            self.partial[s].extend_from_slice(&piece[..piece.len().min(room)]);
            self.truncated[s] |= piece.len() > room;
            if !newline {
                return;
            }
            let line = self.render(s);
            self.partial[s].clear();
            self.truncated[s] = false;
            if self.lines.len() == self.max_lines {
                self.lines.pop_front();
            }
            self.lines.push_back(line);
            rest = &rest[piece.len() + 1..];
        }
    }

    fn render(&self, s: usize) -> String {
        let mut line = String::from_utf8_lossy(&self.partial[s]).into_owned();
        if self.truncated[s] {
            line.push_str(" […]");
        }
        line
    }
}

/// The bounded tail of an attempt's output: cheap to clone, readable while it runs.
/// Lines are masked (only masked bytes reach it), lossily decoded, and keep their
/// escape sequences: the console sanitises them for display (`baton_model::sanitize`).
#[derive(Debug, Clone)]
pub struct TailHandle {
    inner: Arc<Mutex<TailBuf>>,
}

impl TailHandle {
    pub const LINES: usize = 200;
    pub const LINE_BYTES: usize = 4096;

    pub fn new(max_lines: usize, max_line_bytes: usize) -> Self {
        TailHandle {
            inner: Arc::new(Mutex::new(TailBuf {
                max_lines: max_lines.max(1),
                max_line_bytes,
                lines: VecDeque::new(),
                partial: [Vec::new(), Vec::new()],
                truncated: [false; 2],
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TailBuf> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn feed(&self, stream: Stream, bytes: &[u8]) {
        self.lock().feed(stream, bytes);
    }

    /// The last `n` lines, joined.
    pub fn last_lines(&self, n: usize) -> String {
        let lines = self.lines();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// An ended remote attempt's `stderr_tail`: a lost one's is why it was lost (its
    /// output says nothing of it), any other's its last 20 lines.
    pub fn stderr_tail(&self, outcome: &baton_model::StepOutcome) -> String {
        match outcome {
            baton_model::StepOutcome::Lost { reason } => reason.clone(),
            _ => self.last_lines(20),
        }
    }

    /// The last lines, oldest first, then any unfinished lines (stdout, then stderr).
    pub fn lines(&self) -> Vec<String> {
        let buf = self.lock();
        let mut lines: Vec<String> = buf.lines.iter().cloned().collect();
        for s in 0..2 {
            if !buf.partial[s].is_empty() {
                lines.push(buf.render(s));
            }
        }
        let excess = lines.len().saturating_sub(buf.max_lines);
        lines.drain(..excess);
        lines
    }
}

impl Default for TailHandle {
    fn default() -> Self {
        TailHandle::new(Self::LINES, Self::LINE_BYTES)
    }
}

/// An attempt's `duration_ms` for the time it took (saturating).
pub(crate) fn duration_ms(took: std::time::Duration) -> u64 {
    u64::try_from(took.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(masker: &Masker, input: &[u8], chunk: usize) -> Vec<u8> {
        let mut s = MaskingSplitter::new(masker.clone());
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            out.extend(s.push(c).unwrap_or_default());
            assert!(
                s.pending.len() <= MAX_PENDING + chunk,
                "pending stays bounded"
            );
        }
        out.extend(s.finish().unwrap_or_default());
        out
    }

    #[test]
    fn secrets_cut_by_any_chunk_boundary_are_masked() {
        let m = Masker::new(["s3cr3t-value".to_string(), "ab".to_string()]);
        let input = b"x s3cr3t-value y\nab ab s3cr3t-value".repeat(3);
        let want = m.mask_bytes(&input).into_owned();
        for chunk in 1..=input.len() {
            assert_eq!(run(&m, &input, chunk), want, "chunk {chunk}");
        }
    }

    #[test]
    fn a_secret_spanning_lines_is_masked_whatever_the_chunks() {
        let pem = "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----".to_string();
        let m = Masker::new([pem.clone(), "a\nb".to_string()]);
        let input = format!("key: {pem}\nthen a\nb and a\nc\n{pem}").into_bytes();
        let want = m.mask_bytes(&input).into_owned();
        assert!(!String::from_utf8_lossy(&want).contains("MIIEvQ"));
        for chunk in 1..=input.len() {
            assert_eq!(
                String::from_utf8_lossy(&run(&m, &input, chunk)),
                String::from_utf8_lossy(&want),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_long_line_is_released_in_pieces_and_still_masked() {
        let m = Masker::new(["TOPSECRET".to_string()]);
        let mut input = Vec::new();
        for i in 0..40_000 {
            input.extend_from_slice(if i % 7 == 0 {
                b"TOPSECRET"
            } else {
                b"abcdefgh"
            });
        }
        let want = m.mask_bytes(&input).into_owned();
        for chunk in [4096, 65536, 1000] {
            assert_eq!(run(&m, &input, chunk), want);
        }
    }

    #[test]
    fn tail_keeps_the_last_lines_capped() {
        let t = TailHandle::new(3, 10);
        t.feed(Stream::Stdout, b"one\ntwo\nthree\n");
        t.feed(Stream::Stderr, b"err-part");
        t.feed(Stream::Stdout, b"four-is-longer-than-ten\nfi");
        t.feed(Stream::Stdout, b"ve");
        assert_eq!(
            t.lines(),
            vec!["four-is-lo […]", "five", "err-part"],
            "partial lines of both streams are shown, never mixed"
        );
        t.feed(Stream::Stdout, &b"x".repeat(1 << 20));
        assert!(t.lines().iter().all(|l| l.len() <= 16));
    }
}
