//! Workflow loading: examples, the invalid corpus (snapshots), property tests.
mod cron_dates;
mod examples;
mod github_matrices;
mod import;
mod import_act;
mod import_dagu_real;
mod import_hostile;
mod import_rules;
mod invalid_corpus;
mod loader_props;
mod mark_success;
mod needs_results;
mod on_cancel;
mod ports;
mod repeat;
mod retry_rules;
