//! Who decided, as a name: one rule for comparing the names of approvers, the run's
//! starter and voters, so that `ALICE`, ` alice ` and `alice` are one person.

/// The name as it is kept: trimmed; `None` when nothing is left.
pub fn clean_name(name: &str) -> Option<&str> {
    let t = name.trim();
    (!t.is_empty()).then_some(t)
}

/// Whether two names are the same person: compared trimmed and case-insensitively.
/// An empty name is nobody and matches nothing.
pub fn same_actor(a: &str, b: &str) -> bool {
    match (clean_name(a), clean_name(b)) {
        (Some(a), Some(b)) => a.to_lowercase() == b.to_lowercase(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_trimmed_and_case_insensitively() {
        assert!(same_actor("alice", "ALICE"));
        assert!(same_actor(" Alice\t", "alice"));
        assert!(!same_actor("alice", "bob"));
        assert!(!same_actor("alice", "alice2"));
    }

    #[test]
    fn empty_names_are_nobody() {
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name(""), None);
        assert_eq!(clean_name(" a "), Some("a"));
        assert!(!same_actor("", ""));
        assert!(!same_actor(" ", " "));
    }
}
