//! Secret masking: every known secret value is replaced by `***` before anything is
//! stored, logged or shown.
use std::borrow::Cow;

pub const MASK: &str = "***";

#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
}

impl Masker {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        secrets.dedup();
        Masker { secrets }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The longest secret, in bytes (a streaming writer keeps this much back).
    pub fn longest(&self) -> usize {
        self.secrets.first().map_or(0, |s| s.len())
    }

    /// The secret values, longest first (a streaming writer needs them to avoid cutting
    /// its output inside one).
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.secrets.iter().any(|s| text.contains(s.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        Cow::Owned(out)
    }

    pub fn mask_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Cow<'a, [u8]> = Cow::Borrowed(bytes);
        for s in &self.secrets {
            let needle = s.as_bytes();
            if find(&out, needle).is_none() {
                continue;
            }
            let mut buf = Vec::with_capacity(out.len());
            let mut rest: &[u8] = &out;
            while let Some(i) = find(rest, needle) {
                buf.extend_from_slice(&rest[..i]);
                buf.extend_from_slice(MASK.as_bytes());
                rest = &rest[i + needle.len()..];
            }
            buf.extend_from_slice(rest);
            out = Cow::Owned(buf);
        }
        out
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let m = Masker::new(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(m.mask("x abcdef y abc"), "x *** y ***");
        assert_eq!(&*m.mask_bytes(b"\xffabcdef\xfe"), b"\xff***\xfe");
        assert!(matches!(m.mask("nothing"), Cow::Borrowed(_)));
    }
}
