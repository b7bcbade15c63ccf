//! The names a step's outputs take: what `$BATON_OUTPUT` reads as a key, and what
//! `baton mark … --output` may give.

/// `[A-Za-z_][A-Za-z0-9_.-]*`.
pub fn is_output_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_starts_with_a_letter_or_underscore() {
        for ok in ["url", "_x", "a.b-c_1"] {
            assert!(is_output_name(ok), "{ok}");
        }
        for bad in ["", "1a", "no good", "a=b", "é"] {
            assert!(!is_output_name(bad), "{bad}");
        }
    }
}
