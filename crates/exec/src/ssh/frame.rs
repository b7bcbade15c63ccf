//! Pure: splits one `ssh` stream (`script::RUN`) into the step's output and the results
//! that follow it. The host prints BOUNDARY `\n` right after the output (on the output's
//! last line if that has no newline), BOUNDARY being a random token the engine sent on
//! stdin for this attempt alone: output the step writes cannot contain it (the step
//! never sees it), so it cannot end its own stream early or forge an exit code or
//! outputs. Only what may be the start of the token is held back, never a newline: a
//! line is passed on whole as soon as it is.

/// A fresh boundary: 128 random bits, as text.
pub(crate) fn new_boundary() -> String {
    format!("baton-results-{:032x}", rand::random::<u128>())
}

#[derive(Debug)]
pub(crate) struct Frame {
    /// BOUNDARY `\n`.
    mark: Vec<u8>,
    /// Output held back: it may be the start of the mark.
    pending: Vec<u8>,
    found: bool,
}

impl Frame {
    pub(crate) fn new(boundary: &str) -> Frame {
        Frame {
            mark: format!("{boundary}\n").into_bytes(),
            pending: Vec::new(),
            found: false,
        }
    }

    /// Whether the mark has been seen (what follows it is the results).
    pub(crate) fn found(&self) -> bool {
        self.found
    }

    /// The next bytes of the stream: the output they complete (to pass on now), and,
    /// once the mark is in them, the bytes after it. After the mark, every byte is
    /// results.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
        if self.found {
            return (Vec::new(), Some(bytes.to_vec()));
        }
        self.pending.extend_from_slice(bytes);
        if let Some(at) = find(&self.pending, &self.mark) {
            self.found = true;
            let after = self.pending.split_off(at + self.mark.len());
            self.pending.truncate(at);
            return (std::mem::take(&mut self.pending), Some(after));
        }
        // Hold back the longest end that could still become the mark.
        let keep = (1..self.mark.len().min(self.pending.len() + 1))
            .rev()
            .find(|&k| self.pending.ends_with(&self.mark[..k]))
            .unwrap_or(0);
        let rest = self.pending.split_off(self.pending.len() - keep);
        (std::mem::replace(&mut self.pending, rest), None)
    }

    /// The stream ended without the mark: what was held back is output after all.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `stream` in chunks of `n`: (output, results).
    fn split(stream: &[u8], n: usize) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut f = Frame::new("B0");
        let (mut out, mut res): (Vec<u8>, Option<Vec<u8>>) = (Vec::new(), None);
        for c in stream.chunks(n) {
            let (o, r) = f.push(c);
            out.extend(o);
            if let Some(r) = r {
                res.get_or_insert_with(Vec::new).extend(r);
            }
        }
        if res.is_none() {
            out.extend(f.finish());
        }
        (out, res)
    }

    #[test]
    fn output_and_results_split_at_the_mark_in_any_chunks() {
        let stream = b"line one\nno newline at endB0\nexitcode 1 1\n0end 0\n";
        for n in 1..stream.len() {
            let (out, res) = split(stream, n);
            assert_eq!(out, b"line one\nno newline at end", "chunks of {n}");
            assert_eq!(res.as_deref(), Some(&b"exitcode 1 1\n0end 0\n"[..]));
        }
        let (out, res) = split(b"last line\nB0\nend 0\n", 3);
        assert_eq!(out, b"last line\n");
        assert_eq!(res.as_deref(), Some(&b"end 0\n"[..]));
    }

    #[test]
    fn what_only_looks_like_the_mark_is_output() {
        // A prefix of the mark, another token, the token without its newline.
        let stream = b"\nB\nB1\nxB0x\nend B";
        for n in 1..stream.len() {
            let (out, res) = split(stream, n);
            assert_eq!(out, stream, "chunks of {n}");
            assert_eq!(res, None);
        }
    }

    #[test]
    fn output_is_held_back_only_while_it_may_be_the_mark() {
        let mut f = Frame::new("B0");
        // A whole line goes on at once (a step that prints one line and goes quiet).
        assert_eq!(f.push(b"abc\n").0, b"abc\n");
        assert_eq!(f.push(b"B").0, b"");
        assert_eq!(f.push(b"x").0, b"Bx");
        assert!(!f.found());
        let (o, r) = f.push(b"B0\n");
        assert_eq!((o.as_slice(), r.as_deref()), (&b""[..], Some(&b""[..])));
        assert!(f.found());
        assert_eq!(f.push(b"more").1.as_deref(), Some(&b"more"[..]));
    }

    #[test]
    fn boundaries_differ() {
        assert_ne!(new_boundary(), new_boundary());
    }
}
