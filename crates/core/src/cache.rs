//! Cached steps, the pure part: the key over what determines a step's result, and the
//! decision whether a stored entry answers an attempt. The driver gathers the facts
//! (hashes input and product files, reads the entry) and acts on the decision
//! (`engine::cache_files`, `store::cache`).
use baton_model::CacheEntry;
use baton_model::mask::Masker;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Names baton sets per run or per attempt: they never enter a key.
pub(crate) const PER_RUN_ENV: &[&str] = &[
    "BATON_RUN_ID",
    "BATON_SLOT",
    "BATON_ATTEMPT",
    "BATON_OUTPUT",
    "BATON_USAGE",
];

/// Everything a cached step's result is taken to depend on, resolved.
#[derive(Debug, Clone, Copy)]
pub struct KeyFacts<'a> {
    pub workflow: &'a str,
    pub step: &'a str,
    /// The resolved command, tool command, or built-in with its `with` values.
    pub action: &'a str,
    /// The resolved environment (params, run and step `env`, a tool's `with` values;
    /// templates, and so the needs' outputs they read, already rendered).
    pub env: &'a [(String, String)],
    /// The run's id: where a value contains it, it enters the key as `${{ run.id }}`.
    pub run_id: &'a str,
    /// Each input file (path relative to the step's directory) and its SHA-256, sorted.
    pub inputs: &'a [(String, String)],
    /// The declared products (their paths, not their contents: they are results).
    pub produces: &'a [PathBuf],
    /// The run's secret values (secret params, `secrets = [...]`): each enters the key,
    /// whether or not the step's own environment names it (a `secrets` name reaches the
    /// step inherited from baton's environment), and only as HMAC-SHA256 under
    /// `salt`; a value holding one enters the same way.
    pub secrets: &'a [String],
    /// `Store::cache_secret_key`: in a group store a key no other member has.
    pub salt: &'a [u8],
}

/// The cache key: SHA-256 over the facts, each field tagged and delimited so that no
/// two different sets of facts hash the same bytes.
pub fn cache_key(f: &KeyFacts<'_>) -> String {
    let masker = Masker::new(f.secrets.iter().cloned());
    let mut h = Sha256::new();
    let mut field = |tag: &str, name: &str, value: &str| {
        h.update(tag.as_bytes());
        h.update([0]);
        h.update(name.as_bytes());
        h.update([0]);
        if masker.mask(value) != value {
            h.update(b"hmac:");
            h.update(salted(f.salt, value).as_bytes());
        } else if !f.run_id.is_empty() && value.contains(f.run_id) {
            h.update(value.replace(f.run_id, "${{ run.id }}").as_bytes());
        } else {
            h.update(value.as_bytes());
        }
        h.update([0xff]);
    };
    field("v", "", "baton-cache-1");
    field("workflow", "", f.workflow);
    field("step", "", f.step);
    field("action", "", f.action);
    let mut env: Vec<&(String, String)> = f
        .env
        .iter()
        .filter(|(k, _)| !PER_RUN_ENV.contains(&k.as_str()))
        .collect();
    env.sort();
    for (k, v) in env {
        field("env", k, v);
    }
    for (path, sha) in f.inputs {
        field("input", path, sha);
    }
    for p in f.produces {
        field("produces", &p.to_string_lossy(), "");
    }
    let mut secrets: Vec<&String> = f.secrets.iter().filter(|v| !v.is_empty()).collect();
    secrets.sort();
    secrets.dedup();
    for v in secrets {
        field("secret", "", v);
    }
    hex::encode(h.finalize())
}

/// HMAC-SHA256 of a secret value under the store's salt, so a key never holds the
/// value, nor a plain hash someone could test guesses against.
fn salted(salt: &[u8], value: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(salt) {
        Ok(mut mac) => {
            mac.update(value.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; kept total all the same.
        Err(_) => hex::encode(Sha256::digest([salt, value.as_bytes()].concat())),
    }
}

/// What the driver found of one product on disk and in the content-addressed store.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSeen {
    pub path: PathBuf,
    /// The SHA-256 of the file as it is now; `None` if it is missing.
    pub current: Option<String>,
    /// The stored content is in the content-addressed store.
    pub stored: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The entry answers the attempt; `restore` are the products to write back
    /// (path, content hash), missing or different on disk.
    Hit { restore: Vec<(PathBuf, String)> },
    /// The step runs; why, for its log.
    Miss { reason: String },
}

/// Whether `entry` answers an attempt whose products look like `seen` (one per entry
/// product, in its order). A product that differs is restored if its content is kept;
/// if not, the step must run to make it again.
pub fn decide(entry: Option<&CacheEntry>, seen: &[ProductSeen]) -> Decision {
    let Some(entry) = entry else {
        return Decision::Miss {
            reason: "no cache entry for this key".into(),
        };
    };
    let mut restore = Vec::new();
    for (path, sha) in &entry.products {
        let Some(s) = seen.iter().find(|s| &s.path == path) else {
            return Decision::Miss {
                reason: format!("product {} was not looked at", path.display()),
            };
        };
        if s.current.as_deref() == Some(sha.as_str()) {
            continue;
        }
        if !s.stored {
            return Decision::Miss {
                reason: format!(
                    "product {} differs and its cached content is gone",
                    path.display()
                ),
            };
        }
        restore.push((path.clone(), sha.clone()));
    }
    Decision::Hit { restore }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::Timestamp;
    use std::collections::BTreeMap;

    fn facts<'a>(
        env: &'a [(String, String)],
        inputs: &'a [(String, String)],
        secrets: &'a [String],
        run_id: &'a str,
    ) -> KeyFacts<'a> {
        KeyFacts {
            workflow: "w",
            step: "build",
            action: "make",
            env,
            run_id,
            inputs,
            produces: &[],
            secrets,
            salt: b"salt",
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn per_run_values_do_not_change_the_key() {
        let m: Vec<String> = Vec::new();
        let e1 = pairs(&[
            ("BATON_RUN_ID", "r1"),
            ("BATON_ATTEMPT", "1"),
            ("OUT", "/tmp/r1/x"),
            ("A", "1"),
        ]);
        let e2 = pairs(&[
            ("A", "1"),
            ("OUT", "/tmp/r2/x"),
            ("BATON_ATTEMPT", "3"),
            ("BATON_RUN_ID", "r2"),
        ]);
        let k1 = cache_key(&facts(&e1, &[], &m, "r1"));
        assert_eq!(k1.len(), 64);
        assert_eq!(k1, cache_key(&facts(&e2, &[], &m, "r2")));
    }

    #[test]
    fn env_inputs_action_and_products_change_the_key() {
        let m: Vec<String> = Vec::new();
        let env = pairs(&[("A", "1")]);
        let inputs = pairs(&[("src/a.c", "aa")]);
        let base = cache_key(&facts(&env, &inputs, &m, "r"));
        let env2 = pairs(&[("A", "2")]);
        assert_ne!(base, cache_key(&facts(&env2, &inputs, &m, "r")));
        let inputs2 = pairs(&[("src/a.c", "ab")]);
        assert_ne!(base, cache_key(&facts(&env, &inputs2, &m, "r")));
        let other = KeyFacts {
            action: "make all",
            ..facts(&env, &inputs, &m, "r")
        };
        assert_ne!(base, cache_key(&other));
        let products = [PathBuf::from("app")];
        let with_products = KeyFacts {
            produces: &products,
            ..facts(&env, &inputs, &m, "r")
        };
        assert_ne!(base, cache_key(&with_products));
    }

    #[test]
    fn secrets_enter_salted_and_still_bind() {
        let m = ["hunter2".to_string(), "other".to_string()];
        let e1 = pairs(&[("TOKEN", "hunter2")]);
        let e2 = pairs(&[("TOKEN", "other")]);
        let k1 = cache_key(&facts(&e1, &[], &m, "run-1"));
        assert_ne!(k1, cache_key(&facts(&e2, &[], &m, "run-1")));
        let other_salt = KeyFacts {
            salt: b"pepper",
            ..facts(&e1, &[], &m, "run-1")
        };
        assert_ne!(k1, cache_key(&other_salt));
        // The key of a secret is not the key of its plain hash entered as a value.
        let plain = pairs(&[("TOKEN", &hex::encode(Sha256::digest(b"hunter2")))]);
        assert_ne!(k1, cache_key(&facts(&plain, &[], &[], "run-1")));
    }

    #[test]
    fn a_secret_the_step_inherits_changes_the_key_without_entering_it() {
        // `secrets = ["TOKEN"]`: the step reads TOKEN from baton's environment, so its
        // own environment does not name it; the key must still change with its value.
        let env = pairs(&[("A", "1")]);
        let old = ["old-token".to_string()];
        let new = ["new-token".to_string()];
        let k_old = cache_key(&facts(&env, &[], &old, "r"));
        assert_ne!(k_old, cache_key(&facts(&env, &[], &new, "r")));
        assert_ne!(k_old, cache_key(&facts(&env, &[], &[], "r")));
        // The same secrets in another order are the same key.
        let two = ["b".to_string(), "a".to_string()];
        let owt = ["a".to_string(), "b".to_string()];
        assert_eq!(
            cache_key(&facts(&env, &[], &two, "r")),
            cache_key(&facts(&env, &[], &owt, "r"))
        );
    }

    fn entry(products: &[(&str, &str)]) -> CacheEntry {
        CacheEntry {
            key: "k".into(),
            workflow: "w".into(),
            step: "s".into(),
            run_id: "r0".into(),
            outputs: BTreeMap::new(),
            products: products
                .iter()
                .map(|(p, h)| (PathBuf::from(p), h.to_string()))
                .collect(),
            created: Timestamp(0),
        }
    }

    fn seen(path: &str, current: Option<&str>, stored: bool) -> ProductSeen {
        ProductSeen {
            path: path.into(),
            current: current.map(str::to_string),
            stored,
        }
    }

    #[test]
    fn a_hit_restores_what_is_missing_or_different() {
        assert!(matches!(decide(None, &[]), Decision::Miss { .. }));
        let e = entry(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let d = decide(
            Some(&e),
            &[
                seen("a", Some("1"), true),
                seen("b", None, true),
                seen("c", Some("x"), true),
            ],
        );
        assert_eq!(
            d,
            Decision::Hit {
                restore: vec![("b".into(), "2".into()), ("c".into(), "3".into())]
            }
        );
    }

    #[test]
    fn a_product_that_cannot_be_restored_is_a_miss() {
        let e = entry(&[("a", "1")]);
        assert!(matches!(
            decide(Some(&e), &[seen("a", None, false)]),
            Decision::Miss { .. }
        ));
        // Unchanged on disk: its stored copy is not needed.
        assert_eq!(
            decide(Some(&e), &[seen("a", Some("1"), false)]),
            Decision::Hit { restore: vec![] }
        );
    }
}
