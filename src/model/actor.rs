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
    match (actor_key(a), actor_key(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The form names are compared in (see [`same_actor`]); `None` for an empty name.
pub fn actor_key(name: &str) -> Option<String> {
    clean_name(name).map(str::to_lowercase)
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
