//! Who decides. A decision's actor is an operating-system account (or, for a signed
//! gate, a signing principal), never a typed name. Names are compared as people are:
//! trimmed and without regard to case, so `alice`, `Alice` and ` ALICE ` are one
//! person and cannot cast two votes or approve their own run.

/// Whether two recorded names are the same person.
pub fn same_person(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    !a.is_empty() && a.to_lowercase() == b.to_lowercase()
}

/// Why a name cannot make a decision, if it cannot.
pub fn unusable(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("an operator name may not be empty")
    } else if name.chars().any(char::is_control) {
        Some("an operator name may not hold control characters")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_trimmed_and_without_case() {
        assert!(same_person("alice", "ALICE"));
        assert!(same_person(" Alice ", "alice"));
        assert!(!same_person("alice", "bob"));
        assert!(!same_person("", ""), "nobody is not somebody");
        assert!(!same_person(" ", " "));
    }

    #[test]
    fn empty_and_control_names_are_unusable() {
        assert!(unusable("").is_some());
        assert!(unusable("   ").is_some());
        assert!(unusable("al\u{1b}[2Jice").is_some());
        assert!(unusable("alice").is_none());
    }
}
