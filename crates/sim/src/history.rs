//! The scenario's history: one line per thing that happened (an action, a verdict, an
//! event the store recorded), with the scenario's temporary directory written `$DIR`
//! and a gate's digest (a hash over what would run, its directory included) written
//! `"digest":"…"`, so that the same seed gives the same lines, byte for byte.
use sha2::{Digest, Sha256};

#[derive(Default)]
pub(crate) struct History {
    dir: String,
    lines: Vec<String>,
}

impl History {
    pub(crate) fn new(dir: &std::path::Path) -> History {
        History {
            dir: dir.display().to_string(),
            lines: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, line: String) {
        let line = if self.dir.is_empty() {
            line
        } else {
            line.replace(&self.dir, "$DIR")
        };
        self.lines.push(without_digests(&line));
    }

    pub(crate) fn digest(&self) -> String {
        let mut h = Sha256::new();
        for l in &self.lines {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    }

    pub(crate) fn lines(&self) -> &[String] {
        &self.lines
    }
}

/// `line` with every `"digest":"<64 hex digits>"` written `"digest":"…"`.
fn without_digests(line: &str) -> String {
    const KEY: &str = "\"digest\":\"";
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(KEY) {
        let (head, tail) = rest.split_at(at + KEY.len());
        out.push_str(head);
        let hex = tail.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 64 {
            out.push('…');
            rest = &tail[hex..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_gates_digest_is_left_out() {
        let d = "ab".repeat(32);
        let line = format!("{{\"digest\":\"{d}\",\"digest\":\"short\"}}");
        assert_eq!(
            super::without_digests(&line),
            "{\"digest\":\"…\",\"digest\":\"short\"}"
        );
    }
}
