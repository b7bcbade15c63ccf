//! What of baton's own environment never reaches a child: the store's keys (which
//! sign audit rows: a step holding them could forge the record), and the plumbing
//! between baton processes: what a background engine is handed (`BATON_ENGINE_SERVE`,
//! its secret params `BATON_ENGINE_PARAM_*`) and the engine's tuning knobs. One list for
//! every child: steps, compensations, probes, notifiers, cluster commands. A step's own
//! `BATON_*` variables (`BATON_RUN_ID`, `BATON_OUTPUT`, …) are set for it on top.
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Exact names of baton's own variables: the store's keys, where its witness is, and
/// the engine's knobs (`store::wake::NO_WAKE_ENV`, the driver's command poll, the
/// serve's load budget).
const OWN: [&str; 7] = [
    "BATON_AUDIT_KEY",
    "BATON_AUDIT_KEYS",
    "BATON_AUDIT_KEY_ID",
    "BATON_AUDIT_WITNESS",
    "BATON_NO_WAKE",
    "BATON_COMMAND_POLL_MS",
    "BATON_SERVE_LOAD_BUDGET_MS",
];
/// Prefixes of what one baton process hands another (`session::command::SERVE_ENV`,
/// the params of a background engine).
const OWN_PREFIXES: [&str; 1] = ["BATON_ENGINE_"];

/// Whether baton's variable `name` must be removed from a child's environment.
pub(crate) fn is_baton_own(name: &OsStr) -> bool {
    let n = name.as_bytes();
    OWN.iter().any(|s| n == s.as_bytes())
        || OWN_PREFIXES.iter().any(|p| n.starts_with(p.as_bytes()))
}

/// The names, among baton's environment now, that a child must not get.
pub fn baton_own_in_env() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| is_baton_own(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_and_engine_plumbing_are_baton_s_own_other_baton_vars_are_not() {
        for n in [
            "BATON_AUDIT_KEY",
            "BATON_AUDIT_KEYS",
            "BATON_AUDIT_KEY_ID",
            "BATON_AUDIT_WITNESS",
            "BATON_ENGINE_PARAM_pw",
            "BATON_ENGINE_SERVE",
            "BATON_NO_WAKE",
            "BATON_COMMAND_POLL_MS",
            "BATON_SERVE_LOAD_BUDGET_MS",
        ] {
            assert!(is_baton_own(OsStr::new(n)), "{n}");
        }
        for n in ["BATON_DB", "BATON_AUDIT_KEYX", "PATH", "BATON_RUN_ID"] {
            assert!(!is_baton_own(OsStr::new(n)), "{n}");
        }
    }
}
