//! Who decided, as a name: one rule for comparing the names of approvers, the run's
//! starter and voters, so that `ALICE`, ` alice ` and `alice` are one person.
use crate::refusal::Refusal;

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

/// Whether `me` is among a gate's `approvers` (none listed: anyone), as the core
/// refuses a decision by it.
pub fn check_approver(approvers: &[String], me: &str) -> Result<(), Refusal> {
    if clean_name(me).is_none() {
        return Err(Refusal::NoOperator);
    }
    if !approvers.is_empty() && !approvers.iter().any(|a| same_actor(a, me)) {
        return Err(Refusal::NotAnApprover {
            actor: me.to_string(),
            approvers: approvers.to_vec(),
        });
    }
    Ok(())
}

/// A gate's rules on who approves it, and the votes it has.
pub struct GateRules<'a> {
    pub approvers: &'a [String],
    /// Who started the run.
    pub starter: &'a str,
    pub allow_self_approval: bool,
    /// (voter, reason) of the votes counted so far.
    pub votes: &'a [(String, Option<String>)],
}

/// Whether `me` may approve an unsigned gate now: an approver, not its run's starter
/// unless self-approval is allowed, one vote each. The core refuses an approval by
/// this, and the inbox says it before anyone tries.
pub fn may_approve(rules: &GateRules<'_>, me: &str) -> Result<(), Refusal> {
    check_approver(rules.approvers, me)?;
    if same_actor(me, rules.starter) && !rules.allow_self_approval {
        return Err(Refusal::SelfApproval {
            actor: me.to_string(),
            asked: false,
        });
    }
    if rules.votes.iter().any(|(a, _)| same_actor(a, me)) {
        return Err(Refusal::AlreadyApproved {
            actor: me.to_string(),
            asked: false,
        });
    }
    Ok(())
}

/// With a quorum every approval carries the same inputs: those of the first vote
/// (`first`, by `by`); `given` differing from them is refused, saying where.
pub fn check_same_inputs(
    step: &str,
    first: &std::collections::BTreeMap<String, String>,
    by: &str,
    given: &std::collections::BTreeMap<String, String>,
) -> Result<(), Refusal> {
    let differ: Vec<String> = first
        .iter()
        .filter(|(k, v)| given.get(*k) != Some(*v))
        .map(|(k, v)| {
            let g = given.get(k).map_or("nothing", String::as_str);
            format!("`{k}` is \"{g}\" where {by}'s approval gave \"{v}\"")
        })
        .collect();
    if differ.is_empty() {
        return Ok(());
    }
    Err(Refusal::InputsDiffer {
        step: step.to_string(),
        differ,
        first: first.iter().map(|(k, v)| format!("{k}={v}")).collect(),
    })
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
