//! The tables of `[[trigger]]`s (issue 81), a migration of their own.

/// Issue 81 (`coord::trigger_events`): each `[[trigger]]` served, and one row per
/// trigger and event key, written in the transaction that makes the event's run.
pub(super) const TRIGGER_EVENTS: &str = "CREATE TABLE triggers (
    file          TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    workflow      TEXT NOT NULL,
    name          TEXT,
    kind          TEXT NOT NULL,
    what          TEXT NOT NULL,
    since         INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    paused_by     TEXT,
    paused_reason TEXT,
    paused_at     INTEGER,
    PRIMARY KEY (file, idx)
);
CREATE TABLE trigger_events (
    file        TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    event_key   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    fate        TEXT NOT NULL,
    run_id      TEXT,
    why         TEXT,
    source_run  TEXT,
    depth       INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (file, idx, event_key)
);
CREATE INDEX trigger_events_by_run ON trigger_events (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX trigger_events_by_source ON trigger_events (source_run)
    WHERE source_run IS NOT NULL;";

/// Issue 81 point 3 (`coord::trigger_pending`): an event held pending (`coalesce`,
/// `debounce`) keeps what its trigger's `map` took from it (a JSON object), for the run
/// it makes later, by this serve or the next.
pub(super) const TRIGGER_EVENTS_PICKED: &str = "ALTER TABLE trigger_events ADD COLUMN picked TEXT;";

/// Issue 81 point 5 (`coord::trigger_refusals`): refused webhook deliveries, counted,
/// the last of each kind's words kept; a row per kind, however many arrive.
pub(super) const TRIGGER_REFUSALS: &str = "CREATE TABLE trigger_refusals (
    workflow      TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    count         INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    last_why      TEXT NOT NULL,
    last_delivery TEXT,
    PRIMARY KEY (workflow, trigger, reason)
) WITHOUT ROWID;";
