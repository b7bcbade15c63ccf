//! What of baton's own environment never reaches a child: the store's keys (which
//! sign audit rows: a step holding them could forge the record) and the secret params
//! a background engine is handed (`BATON_ENGINE_PARAM_*`). One list for every child:
//! steps, compensations, notifiers, cluster commands.
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Exact names of baton's store secrets.
const STORE_SECRETS: [&str; 3] = ["BATON_AUDIT_KEY", "BATON_AUDIT_KEYS", "BATON_AUDIT_KEY_ID"];
/// Prefixes of variables that carry secrets to a background engine.
const SECRET_PREFIXES: [&str; 1] = ["BATON_ENGINE_PARAM_"];

/// Whether baton's variable `name` must be removed from a child's environment.
pub fn is_baton_secret(name: &OsStr) -> bool {
    let n = name.as_bytes();
    STORE_SECRETS.iter().any(|s| n == s.as_bytes())
        || SECRET_PREFIXES.iter().any(|p| n.starts_with(p.as_bytes()))
}

/// The names, among baton's environment now, that a child must not get.
pub fn baton_secrets_in_env() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| is_baton_secret(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_and_engine_params_are_secrets_other_baton_vars_are_not() {
        for n in [
            "BATON_AUDIT_KEY",
            "BATON_AUDIT_KEYS",
            "BATON_AUDIT_KEY_ID",
            "BATON_ENGINE_PARAM_pw",
        ] {
            assert!(is_baton_secret(OsStr::new(n)), "{n}");
        }
        for n in ["BATON_DB", "BATON_AUDIT_KEYX", "PATH", "BATON_RUN_ID"] {
            assert!(!is_baton_secret(OsStr::new(n)), "{n}");
        }
    }
}
