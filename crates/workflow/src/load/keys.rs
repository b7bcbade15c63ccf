//! Every table of a workflow file and the keys the loader takes in it: the same lists
//! it reports an unknown key against, so a key added to the format is added here.
use super::{TOP_FIELDS, concurrency, deadline, defaults, events, fallback, gates, limits};
use super::{params, repeat, rules, schedule, steps};

/// One table of the format: where it sits and the keys it takes. A key is one per
/// place: `timeout` at the top level and a step's `timeout` are two keys, as are a
/// step's `retry.attempts` and the defaults' ([`KeyTable::named`]).
#[derive(Debug, Clone, Copy)]
pub struct KeyTable {
    /// Its places in the file, as the dotted path of tables leading to it (empty: the
    /// top level), `*` for a name the writer chooses (a pool's, an executor's); an
    /// array of tables (`[[step]]`, `fallback`, `auto`) sits at its key's path.
    pub at: &'static [&'static str],
    pub keys: &'static [&'static str],
}

impl KeyTable {
    /// `key` of this table at its place `at`, by its path: `timeout` at the top level,
    /// `step.timeout` in a step, `pools.*.capacity`, `step.gate.auto.if`.
    pub fn named(at: &str, key: &str) -> String {
        match at {
            "" => key.to_string(),
            at => format!("{at}.{key}"),
        }
    }
}

/// Every table the loader reads keys from.
pub const KEY_TABLES: &[KeyTable] = &[
    table(&[""], TOP_FIELDS),
    table(&["step"], steps::STEP_FIELDS),
    table(&["step.outputs.*"], steps::OUTPUT_FIELDS),
    table(&["step.allow_failure"], rules::ALLOW_FAILURE_FIELDS),
    table(&["step.gate"], gates::GATE_FIELDS),
    table(&["step.gate.auto"], gates::AUTO_FIELDS),
    table(&["step.gate.inputs.*"], gates::INPUT_FIELDS),
    table(&["approvals"], gates::APPROVALS_FIELDS),
    table(&["trigger"], events::TRIGGER_FIELDS),
    table(&["step.fallback"], fallback::ALTERNATIVE_FIELDS),
    table(&["budget"], limits::BUDGET_FIELDS),
    table(&["pools.*"], limits::POOL_FIELDS),
    table(&["schedule"], schedule::SCHEDULE_FIELDS),
    table(&["step.repeat"], repeat::REPEAT_FIELDS),
    table(&["params.*"], params::PARAM_FIELDS),
    table(&["tools.*"], params::TOOL_FIELDS),
    table(&["tools.*.params.*"], params::TOOL_PARAM_FIELDS),
    table(&["concurrency"], concurrency::CONCURRENCY_FIELDS),
    table(&["deadline", "step.deadline"], deadline::DEADLINE_FIELDS),
    table(&["defaults"], defaults::DEFAULTS_FIELDS),
    table(
        &["step.retry", "defaults.retry", "step.fallback.retry"],
        defaults::RETRY_FIELDS,
    ),
    table(&["executors.*"], crate::executors::EXECUTOR_FIELDS),
    table(&["secrets.*"], crate::secrets::FIELDS),
    table(&["notify"], crate::notify::NOTIFY_FIELDS),
    table(&["notify.slack_api"], crate::notify::SLACK_API_FIELDS),
    table(&["notify.escalate"], crate::notify::ESCALATE_FIELDS),
    table(&["step.ready"], crate::services::READY_FIELDS),
    table(&["step.live"], crate::services::LIVE_FIELDS),
    table(&["step.restart"], crate::services::RESTART_FIELDS),
];

const fn table(at: &'static [&'static str], keys: &'static [&'static str]) -> KeyTable {
    KeyTable { at, keys }
}

#[cfg(test)]
mod tests {
    use super::KEY_TABLES;

    /// Each place a table sits is opened by a key of the table it is in (`step.gate` by
    /// `step`'s `gate`, `tools.*.params.*` by a tool's `params`), so no list names a
    /// place the loader never reads.
    #[test]
    fn every_table_sits_under_a_key_of_its_parent_table() {
        for t in KEY_TABLES {
            for at in t.at.iter().filter(|a| !a.is_empty()) {
                let parts: Vec<&str> = at.split('.').collect();
                // The key that opens it: the last name that is not `*`.
                let k = parts
                    .iter()
                    .rposition(|p| *p != "*")
                    .expect("a named place");
                let parent = parts[..k].join(".");
                let opened = KEY_TABLES
                    .iter()
                    .any(|p| p.at.iter().any(|pa| *pa == parent) && p.keys.contains(&parts[k]));
                assert!(opened, "{at} is under no key of {parent:?}");
            }
        }
    }
}
