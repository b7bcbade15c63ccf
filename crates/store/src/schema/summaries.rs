//! The runs' summaries' table (`read::summaries`): made by migration 24, its attempts'
//! counts added by migration 41.

/// Issue 40 point 4: what `runs`, the metrics and the inbox read across runs is each
/// run's summary (`model::state_summary`), folded once from its events as they are
/// committed and saved with them (`store::summaries`), not a second fold of the steps',
/// attempts', errors' and approvals' rows in SQL. `waiting` and `fanned` are in partial
/// indexes of their own (the inbox's question, `runs`' fan-out counts), which replace
/// the steps' and errors' (every step's write paid for them). Backfilled from every
/// run's rows and events.
pub(super) const RUN_SUMMARIES: &str = r#"
CREATE TABLE run_summaries (
    run_id  TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    waiting INTEGER NOT NULL DEFAULT 0,
    fanned  INTEGER NOT NULL DEFAULT 0,
    json    TEXT NOT NULL
);
CREATE INDEX run_summaries_waiting ON run_summaries(run_id) WHERE waiting = 1;
CREATE INDEX run_summaries_fanned ON run_summaries(run_id) WHERE fanned = 1;
DROP INDEX IF EXISTS steps_waiting_on_someone;
DROP INDEX IF EXISTS errors_budget_open;
DROP INDEX IF EXISTS steps_fanned;
"#;

/// Migration 41: each commit adds the attempts its batch ended to these counts, on the
/// row written with the summary, instead of to the run's row (one page fewer in the WAL a
/// commit while a run's steps move); a run's count is the sum of its row's (what
/// earlier commits and migrations kept there) and its summary's
/// (`read::run_counts::SIGNALS_SELECT`). The table is made again with the counts
/// before the JSON, so that reading them never reads a long summary's overflow pages.
pub(super) const RUN_SUMMARY_COUNTS: &str = r#"
CREATE TABLE run_summaries_new (
    run_id            TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    waiting           INTEGER NOT NULL DEFAULT 0,
    fanned            INTEGER NOT NULL DEFAULT 0,
    attempts_finished INTEGER NOT NULL DEFAULT 0,
    attempts_failed   INTEGER NOT NULL DEFAULT 0,
    json              TEXT NOT NULL
);
INSERT INTO run_summaries_new (run_id, waiting, fanned, json)
    SELECT run_id, waiting, fanned, json FROM run_summaries;
DROP TABLE run_summaries;
ALTER TABLE run_summaries_new RENAME TO run_summaries;
CREATE INDEX run_summaries_waiting ON run_summaries(run_id) WHERE waiting = 1;
CREATE INDEX run_summaries_fanned ON run_summaries(run_id) WHERE fanned = 1;
"#;
