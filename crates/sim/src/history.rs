//! The scenario's history: one line per thing that happened (an action, a verdict, an
//! event the store recorded), with the scenario's temporary directory written `$DIR`,
//! so that the same seed gives the same lines, byte for byte.
use sha2::{Digest, Sha256};

#[derive(Default)]
pub struct History {
    dir: String,
    lines: Vec<String>,
}

impl History {
    pub fn new(dir: &std::path::Path) -> History {
        History {
            dir: dir.display().to_string(),
            lines: Vec::new(),
        }
    }

    pub fn push(&mut self, line: String) {
        let line = if self.dir.is_empty() {
            line
        } else {
            line.replace(&self.dir, "$DIR")
        };
        self.lines.push(line);
    }

    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for l in &self.lines {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
        hex::encode(h.finalize())
    }

    pub fn lines(&self) -> &[String] {
        &self.lines
    }
}
