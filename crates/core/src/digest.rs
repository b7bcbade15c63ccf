//! The digest an approval binds to: SHA-256 over the resolved action, environment,
//! where it runs (directory, executor and its options) and params. Secret values enter only as their own SHA-256, so the digest input never
//! holds them, and the attempt number is left out (it changes between attempts).
use baton_model::mask::Masker;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub(crate) fn approval_digest(
    action: &str,
    env: &[(String, String)],
    place: &[(String, String)],
    params: &BTreeMap<String, String>,
    masker: &Masker,
) -> String {
    let mut h = Sha256::new();
    let mut field = |tag: &str, k: &str, v: &str| {
        let is_secret = masker.mask(v) != v;
        h.update(tag.as_bytes());
        h.update([0]);
        h.update(k.as_bytes());
        h.update([0]);
        if is_secret {
            h.update(b"sha256:");
            h.update(hex::encode(Sha256::digest(v.as_bytes())).as_bytes());
        } else {
            h.update(v.as_bytes());
        }
        h.update([0xff]);
    };
    field("action", "", action);
    let mut env: Vec<&(String, String)> =
        env.iter().filter(|(k, _)| k != "BATON_ATTEMPT").collect();
    env.sort();
    for (k, v) in env {
        field("env", k, v);
    }
    for (k, v) in place {
        field("place", k, v);
    }
    for (k, v) in params {
        field("param", k, v);
    }
    hex::encode(h.finalize())
}

/// The digest of a step with a `fallback`: its own digest (`first`) and each
/// alternative's, in order, so that a change to any of them changes it. Without
/// alternatives it is `first` itself.
pub(crate) fn with_alternatives(first: String, rest: &[String]) -> String {
    if rest.is_empty() {
        return first;
    }
    let mut h = Sha256::new();
    h.update(b"alternatives");
    h.update([0]);
    h.update(first.as_bytes());
    for d in rest {
        h.update([0xff]);
        h.update(d.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Which workflow text a run used, as `show`, `diff` and the console's header name it:
/// the first 12 hex digits of the SHA-256 of its recorded text (as git shortens a
/// commit's), so two runs of one text have one hash.
pub fn workflow_hash(text: &str) -> String {
    let mut hex = hex::encode(Sha256::digest(text.as_bytes()));
    hex.truncate(12);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn changes_with_command_env_and_params_but_not_attempt() {
        let m = Masker::default();
        let p = BTreeMap::from([("v".to_string(), "1".to_string())]);
        let base = approval_digest(
            "deploy",
            &env(&[("A", "1"), ("BATON_ATTEMPT", "1")]),
            &[],
            &p,
            &m,
        );
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            approval_digest(
                "deploy",
                &env(&[("BATON_ATTEMPT", "2"), ("A", "1")]),
                &[],
                &p,
                &m
            )
        );
        assert_ne!(
            base,
            approval_digest("deploy2", &env(&[("A", "1")]), &[], &p, &m)
        );
        assert_ne!(
            base,
            approval_digest("deploy", &env(&[("A", "2")]), &[], &p, &m)
        );
        let p2 = BTreeMap::from([("v".to_string(), "2".to_string())]);
        assert_ne!(
            base,
            approval_digest("deploy", &env(&[("A", "1")]), &[], &p2, &m)
        );
    }

    #[test]
    fn changes_with_the_directory_and_the_executor() {
        let m = Masker::default();
        let p = BTreeMap::new();
        let at = |dir: &str, ex: &str| {
            let place = env(&[("dir", dir), ("executor", ex)]);
            approval_digest("./deploy.sh", &[], &place, &p, &m)
        };
        let base = at("/w/safe", "local");
        assert_eq!(base, at("/w/safe", "local"));
        assert_ne!(base, at("/w/evil", "local"));
        assert_ne!(base, at("/w/safe", "hpc Slurm(partition: Some(\"big\"))"));
    }

    #[test]
    fn alternatives_bind_each_and_in_order() {
        let (a, b, c) = ("a".to_string(), "b".to_string(), "c".to_string());
        assert_eq!(
            with_alternatives(a.clone(), &[]),
            a,
            "no fallback: as before"
        );
        let both = with_alternatives(a.clone(), &[b.clone(), c.clone()]);
        assert_eq!(both.len(), 64);
        assert_ne!(both, with_alternatives(a.clone(), &[c.clone(), b.clone()]));
        assert_ne!(both, with_alternatives(a.clone(), std::slice::from_ref(&b)));
        assert_ne!(both, with_alternatives(b, &[a, c]));
    }

    #[test]
    fn secret_values_still_bind() {
        let m = Masker::new(["s3cret".to_string(), "other".to_string()]);
        let p = BTreeMap::new();
        let a = approval_digest("x", &env(&[("TOKEN", "s3cret")]), &[], &p, &m);
        let b = approval_digest("x", &env(&[("TOKEN", "other")]), &[], &p, &m);
        assert_ne!(a, b);
    }
}
