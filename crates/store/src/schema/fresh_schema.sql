-- The schema baton's migrations make, written from them by the test in
-- crates/store/src/schema/fresh_schema.rs: never edit by hand.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE migrations (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  INTEGER NOT NULL
);
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    workflow    TEXT NOT NULL,
    source_path TEXT NOT NULL,
    operator    TEXT NOT NULL,
    state       TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    key INTEGER, steps_total INTEGER, steps_done INTEGER, health REAL, rev INTEGER NOT NULL DEFAULT 0, began_at INTEGER, ended_at INTEGER, attempts_finished INTEGER NOT NULL DEFAULT 0, attempts_failed INTEGER NOT NULL DEFAULT 0, p50_ms INTEGER, p95_ms INTEGER, queue_depth INTEGER, running INTEGER, dealt_with INTEGER NOT NULL DEFAULT 0, metrics_json TEXT, labels TEXT);
CREATE INDEX runs_by_start ON runs(started_at DESC, id DESC);
CREATE TABLE steps (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    step_id     TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    timed_out   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, step_id)
) WITHOUT ROWID;
CREATE TABLE attempts (
    run_id       TEXT NOT NULL REFERENCES runs(id),
    step_id      TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    state        TEXT,
    duration_ms  INTEGER,
    cost         REAL,
    tokens       INTEGER,
    log_path     TEXT,
    log_tail     TEXT, log_times TEXT,
    PRIMARY KEY (run_id, step_id, attempt)
) WITHOUT ROWID;
CREATE TABLE errors (
    run_id   TEXT NOT NULL REFERENCES runs(id),
    id       TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    step     TEXT,
    attempt  INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    severity TEXT NOT NULL,
    message  TEXT NOT NULL,
    open     INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;
CREATE INDEX errors_by_step ON errors(run_id, step);
CREATE TABLE approvals (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL REFERENCES runs(id),
    seq     INTEGER NOT NULL,
    step    TEXT NOT NULL,
    kind    TEXT NOT NULL, -- opened | vote | approved | rejected | timed_out | voided | refused
    actor   TEXT NOT NULL,
    reason  TEXT,
    digest  TEXT,
    at      INTEGER NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX approvals_by_run ON approvals(run_id, step);
CREATE TABLE commands (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT NOT NULL REFERENCES runs(id),
    json         TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending', -- pending | accepted | refused
    outcome      TEXT,
    done_at      INTEGER
, deadline INTEGER, claimed_by TEXT);
CREATE INDEX commands_pending ON commands(run_id, status, id);
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    run_id    TEXT NOT NULL,
    seq       INTEGER,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    step      TEXT,
    reason    TEXT,
    details   TEXT NOT NULL,
    key_id    TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_by_run ON audit(run_id, id);
CREATE TABLE leases (
    run_id       TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    acquired_at  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
, key_id TEXT, taking_over INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX runs_by_key ON runs(key);
CREATE TABLE "events" (
    id     INTEGER PRIMARY KEY, -- (runs.key << 32) + seq
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq    INTEGER NOT NULL CHECK (seq >= 0 AND seq < 4294967296),
    at     INTEGER NOT NULL,
    type   TEXT NOT NULL,
    step   TEXT,
    json   TEXT NOT NULL
, hash BLOB, head_key_id TEXT, head_mac BLOB, logs TEXT, summary TEXT);
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE cache_entries (
    key      TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    step     TEXT NOT NULL,
    run_id   TEXT NOT NULL,
    outputs  TEXT NOT NULL,
    products TEXT NOT NULL,
    created  INTEGER NOT NULL
);
CREATE INDEX cache_entries_created ON cache_entries(created);
CREATE TRIGGER events_no_update
    BEFORE UPDATE OF id, run_id, seq, at, type, step, json, hash ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE run_seals (
    run_id   TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    record   BLOB NOT NULL,
    head_seq INTEGER,
    head     BLOB
);
CREATE TABLE group_members (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    grp    TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    first  INTEGER NOT NULL DEFAULT 0,
    seq    INTEGER NOT NULL
);
CREATE UNIQUE INDEX group_holder ON group_members(grp) WHERE active = 1;
CREATE INDEX group_line ON group_members(grp, active, first DESC, seq);
CREATE INDEX runs_by_rev ON runs(rev);
CREATE TABLE pool_slots (
    pool    TEXT NOT NULL,
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    PRIMARY KEY (pool, run_id, step_id)
);
CREATE TABLE pool_buckets (
    pool   TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    at     INTEGER NOT NULL
);
CREATE TABLE schedules (
    file          TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    workflow      TEXT NOT NULL,
    cron          TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    catch_up      TEXT NOT NULL,
    overlap       TEXT NOT NULL,
    since         INTEGER NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    paused        INTEGER NOT NULL DEFAULT 0,
    paused_by     TEXT,
    paused_reason TEXT,
    paused_at     INTEGER,
    PRIMARY KEY (file, idx)
);
CREATE TABLE schedule_slots (
    file        TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    slot_at     INTEGER NOT NULL,
    fate        TEXT NOT NULL,
    run_id      TEXT,
    params      TEXT,
    requested_by TEXT,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (file, idx, slot_at)
);
CREATE TABLE serve_files (
    file       TEXT PRIMARY KEY,
    workflow   TEXT,
    error      TEXT,
    checked_at INTEGER NOT NULL
);
CREATE INDEX schedule_slots_with_run ON schedule_slots (file, idx, slot_at)
    WHERE run_id IS NOT NULL;
CREATE TABLE metric_totals (
    workflow TEXT PRIMARY KEY,
    json     TEXT NOT NULL
);
CREATE INDEX runs_going_on ON runs(started_at) WHERE steps_total IS NULL;
CREATE INDEX runs_ended ON runs(workflow, state, steps_total) WHERE steps_total IS NOT NULL;
CREATE INDEX runs_by_workflow ON runs(workflow, started_at, id);
CREATE TABLE run_sources (
    run_id      TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    source_text TEXT NOT NULL,
    params_json TEXT NOT NULL
);
CREATE TABLE asks (
    id         TEXT PRIMARY KEY,
    run_id     TEXT,
    step_id    TEXT,
    attempt    INTEGER,
    prompt     TEXT NOT NULL,
    inputs     TEXT NOT NULL,
    approvers  TEXT NOT NULL,
    quorum     INTEGER NOT NULL,
    account    TEXT NOT NULL,
    holder     TEXT NOT NULL,
    command    TEXT NOT NULL,
    opened_at  INTEGER NOT NULL,
    deadline   INTEGER,
    state      TEXT NOT NULL DEFAULT 'open',
    vals       TEXT,
    decided_by TEXT,
    decided_at INTEGER,
    reason     TEXT
, allow_self INTEGER NOT NULL DEFAULT 0, signers TEXT);
CREATE INDEX asks_open ON asks(state) WHERE state = 'open';
CREATE INDEX asks_of_step ON asks(run_id, step_id) WHERE run_id IS NOT NULL;
CREATE TABLE ask_votes (
    ask_id TEXT NOT NULL REFERENCES asks(id) ON DELETE CASCADE,
    actor  TEXT NOT NULL,
    reason TEXT,
    at     INTEGER NOT NULL, signature TEXT, key TEXT,
    PRIMARY KEY (ask_id, actor)
);
CREATE TABLE run_forks (
    run_id    TEXT PRIMARY KEY,
    from_run  TEXT NOT NULL,
    from_step TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX run_forks_by_origin ON run_forks(from_run);
CREATE TABLE asks_rev (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
CREATE TRIGGER asks_rev_on_insert AFTER INSERT ON asks BEGIN
    INSERT OR REPLACE INTO asks_rev (id, rev)
    VALUES (1, coalesce((SELECT rev FROM asks_rev WHERE id = 1), 0) + 1);
END;
CREATE TRIGGER asks_rev_on_update AFTER UPDATE ON asks BEGIN
    INSERT OR REPLACE INTO asks_rev (id, rev)
    VALUES (1, coalesce((SELECT rev FROM asks_rev WHERE id = 1), 0) + 1);
END;
CREATE TRIGGER asks_rev_on_delete AFTER DELETE ON asks BEGIN
    INSERT OR REPLACE INTO asks_rev (id, rev)
    VALUES (1, coalesce((SELECT rev FROM asks_rev WHERE id = 1), 0) + 1);
END;
CREATE INDEX audit_by_action ON audit(run_id, action, id);
CREATE TABLE run_parents (
    run_id         TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    parent_run     TEXT NOT NULL,
    parent_step    TEXT NOT NULL,
    parent_attempt INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX run_parents_by_parent ON run_parents(parent_run, parent_step, parent_attempt);
CREATE TABLE artifacts (
    run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step     TEXT NOT NULL,
    name     TEXT NOT NULL,
    path     TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    size     INTEGER NOT NULL,
    from_run TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    PRIMARY KEY (run_id, step, name)
) WITHOUT ROWID;
CREATE INDEX artifacts_by_sha ON artifacts(sha256);
CREATE TABLE link_requests (
    request TEXT PRIMARY KEY,
    run_id  TEXT NOT NULL,
    command INTEGER,
    at      INTEGER NOT NULL
, checked INTEGER NOT NULL DEFAULT 0, answer TEXT) WITHOUT ROWID;
CREATE INDEX link_requests_by_run ON link_requests(run_id);
CREATE TABLE trigger_refusals (
    workflow      TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    count         INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    last_why      TEXT NOT NULL,
    last_delivery TEXT,
    PRIMARY KEY (workflow, trigger, reason)
) WITHOUT ROWID;
CREATE TABLE triggers (
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
    recorded_at INTEGER NOT NULL, picked TEXT,
    PRIMARY KEY (file, idx, event_key)
);
CREATE INDEX trigger_events_by_run ON trigger_events (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX trigger_events_by_source ON trigger_events (source_run)
    WHERE source_run IS NOT NULL;
CREATE TABLE passkey_counters (
    key     TEXT PRIMARY KEY,
    counter INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE "run_summaries" (
    run_id            TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    waiting           INTEGER NOT NULL DEFAULT 0,
    fanned            INTEGER NOT NULL DEFAULT 0,
    attempts_finished INTEGER NOT NULL DEFAULT 0,
    attempts_failed   INTEGER NOT NULL DEFAULT 0,
    json              TEXT NOT NULL
);
CREATE INDEX run_summaries_waiting ON run_summaries(run_id) WHERE waiting = 1;
CREATE INDEX run_summaries_fanned ON run_summaries(run_id) WHERE fanned = 1;
CREATE TABLE steps_projected (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    seq    INTEGER NOT NULL
) WITHOUT ROWID;
