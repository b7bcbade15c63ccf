//! Versioned migrations. `PRAGMA user_version` holds the schema version; the
//! `migrations` table records when each step was applied. A database whose version is
//! newer than `SCHEMA_VERSION` was written by a newer baton and is refused untouched.
mod asks_rev;
pub(crate) mod backfills;
pub(crate) mod fresh_schema;
mod summaries;
mod triggers;

use crate::error::StoreError;
use crate::ledger::audit::{AuditHead, AuditKeys};
use crate::ledger::event_chain;
use baton_model::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// (version, description, SQL). Append only: never edit a released migration.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial schema", V1),
    (2, "a run's last seq is its events' max seq", V2),
    (3, "commands have a deadline", V3),
    (4, "cache entries of cached steps", V4),
    (
        5,
        "each run's events in a hash chain with a keyed mark on the last",
        V5,
    ),
    (6, "command rows carry a proof of their submitter", V6),
    (
        7,
        "one run is read from its replayed events: the columns only that reader used go",
        V7,
    ),
    (8, "a claimed command names the lease that claimed it", V8),
    (
        9,
        "group stores: each run's record and events head sealed by its starter",
        V9,
    ),
    (
        10,
        "what waits on someone across runs: open gates, steps to mark, exhausted budgets",
        WAITING_ON_SOMEONE,
    ),
    (
        11,
        "concurrency groups: which runs of a group hold it and which wait",
        CONCURRENCY_GROUPS,
    ),
    (
        12,
        "a finished run's step counts and health on its row; a change cursor on runs",
        RUN_COUNTS,
    ),
    (
        13,
        "pools shared by every run in the store: their slots and rate buckets",
        STORE_POOLS,
    ),
    (
        14,
        "schedules: each schedule served, each slot decided, each workflow file's load",
        SCHEDULES,
    ),
    (
        15,
        "each run's golden signals on its row, kept as it goes on",
        RUN_SIGNALS,
    ),
    (
        16,
        "a schedule's last run is read from an index of the slots that made a run",
        SCHEDULE_LAST_RUN,
    ),
    (
        17,
        "the failures a run dealt with, kept on its row for the scores",
        RUN_DEALT_WITH,
    ),
    (
        18,
        "the sums of the metrics kept as runs end: each run's share and a total per workflow",
        METRIC_TOTALS,
    ),
    (
        19,
        "an ended run's log times on its attempts' rows, not in a file of their own",
        LOG_TIMES,
    ),
    (
        20,
        "fan-out instances' steps in an index of their own",
        FANNED_STEPS,
    ),
    (
        21,
        "the index of steps waiting on someone written without IN: a step's every write built a table for the list",
        WAITING_STEPS_WITHOUT_IN,
    ),
    (
        22,
        "a run's workflow text and params in a table of their own: each commit rewrote them with the run's row",
        RUN_SOURCES,
    ),
    (
        23,
        "each lease names the audit key its holder writes with",
        LEASE_KEYS,
    ),
    (
        24,
        "each run's summary saved with each commit: what runs, metrics and the inbox read across runs",
        summaries::RUN_SUMMARIES,
    ),
    (
        25,
        "asks: what `baton ask` puts to a person, and the votes on each",
        ASKS,
    ),
    (
        26,
        "asks may allow self-approval and be signed: the allowed signers kept, each vote's signature",
        ASK_RULES,
    ),
    (
        27,
        "forks: the run each fork was forked from, and the step",
        RUN_FORKS,
    ),
    (
        28,
        "a change counter of the asks, moved by every write of one",
        asks_rev::ASKS_REV,
    ),
    (
        29,
        "the audit chain indexed by subject and action: a schedule's pauses read without its other decisions",
        AUDIT_BY_ACTION,
    ),
    (
        30,
        "child runs: each names the parent run, step and attempt that made it",
        RUN_PARENTS,
    ),
    (
        31,
        "artifacts: the files each run's steps kept in the store, by sha256",
        ARTIFACTS,
    ),
    (
        32,
        "a console's decisions over `baton link` keep their request id, each settled once",
        LINK_REQUESTS,
    ),
    (
        33,
        "a link request a console's check has read takes no later hand-in",
        LINK_REQUESTS_CHECKED,
    ),
    (
        34,
        "an ask's answer over `baton link` keeps its request id with what became of it",
        LINK_REQUESTS_ANSWER,
    ),
    (
        35,
        "a lease says when its takeover has not settled: its run reads interrupted until then",
        LEASE_TAKING_OVER,
    ),
    (
        36,
        "a run's labels on its row, as its events left them",
        RUN_LABELS,
    ),
    (
        37,
        "webhook deliveries refused: a count per workflow, trigger and reason",
        triggers::TRIGGER_REFUSALS,
    ),
    (
        38,
        "triggers: each trigger served, and each event it decided with the run it made",
        triggers::TRIGGER_EVENTS,
    ),
    (
        39,
        "a trigger's pending event keeps the values its run will take",
        triggers::TRIGGER_EVENTS_PICKED,
    ),
    (
        40,
        "each passkey's last signature counter, kept with the audit row that holds it",
        crate::ledger::passkeys::PASSKEY_COUNTERS,
    ),
    (
        41,
        "a run's attempts that ended counted on its summary's row, which every commit writes",
        summaries::RUN_SUMMARY_COUNTS,
    ),
    (
        42,
        "a run whose steps' and attempts' rows lag its events keeps the last event they hold",
        crate::read::catch_up::STEPS_PROJECTED,
    ),
    (
        43,
        "a batch's attempts' logs ride on its first event's row until their rows are written",
        crate::read::catch_up::logs::EVENT_LOGS,
    ),
    (
        44,
        "while a run's rows lag its events, its last event carries its summary",
        crate::read::summaries::EVENT_SUMMARY,
    ),
];

/// A run's labels (`model::labels`) as JSON on its row, projected from its
/// `run_labelled` events: `runs` and the console's list read them with the row. Runs
/// before had none.
const RUN_LABELS: &str = "ALTER TABLE runs ADD COLUMN labels TEXT;";

/// Issue 61 point 6 (`--mix cli` seeds 18, 20, 56, 79): a takeover's lease is taken
/// marked (`taking_over` 1) and the mark goes in the transaction that holds the run's
/// group again, or, for a command that ends the run, in the commit that ends it; until
/// then every reader reads the run `interrupted` (`model::liveness`), never active
/// beside its group's holder.
const LEASE_TAKING_OVER: &str =
    "ALTER TABLE leases ADD COLUMN taking_over INTEGER NOT NULL DEFAULT 0;";

/// Issue 59 point 4: an answer to an ask sent over `baton link` has no command row; its
/// request keeps what it asked and what became of it (`answer`, JSON), written in the
/// transaction that records (or refuses) the answer (`coord::link_requests`).
const LINK_REQUESTS_ANSWER: &str = "ALTER TABLE link_requests ADD COLUMN answer TEXT;";

/// Issue 59 point 4: a request whose command a console's check has read (`checked`) is
/// closed, so a later hand-in of it (its submitter's second try after a withdrawal) is
/// refused, not recorded after the console was told the first command's verdict.
const LINK_REQUESTS_CHECKED: &str =
    "ALTER TABLE link_requests ADD COLUMN checked INTEGER NOT NULL DEFAULT 0;";

/// Issue 59 point 4 (`coord::link_requests`): a decision sent over `baton link` names
/// the command row it was handed in as (written in that row's transaction), or is
/// settled as not delivered (`command` NULL) by the console's check after a drop.
const LINK_REQUESTS: &str = r#"
CREATE TABLE link_requests (
    request TEXT PRIMARY KEY,
    run_id  TEXT NOT NULL,
    command INTEGER,
    at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX link_requests_by_run ON link_requests(run_id);
"#;

/// Issue 57: a step with `workflow = "…"` runs a child run; the child's row here,
/// written in its creation's transaction, names its parent, and the parent finds its
/// children by the index. One child per attempt of a step: a second creation for the
/// same attempt fails (resume finds the first, `session::child`).
const RUN_PARENTS: &str = r#"
CREATE TABLE run_parents (
    run_id         TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    parent_run     TEXT NOT NULL,
    parent_step    TEXT NOT NULL,
    parent_attempt INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX run_parents_by_parent ON run_parents(parent_run, parent_step, parent_attempt);
"#;

/// Each artifact a run's step kept (`artifacts_stored`, or in a fork `step_reused`):
/// which content it is, and the run and attempt that made it. `gc` and `runs rm`
/// keep the contents some row names (`store::artifacts`).
const ARTIFACTS: &str = r#"
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
"#;

/// The audit rows of one subject and action, in order: `Store::chain_pauses` (each
/// schedule's latest pause or resume, read by `baton schedules`, the console's
/// Schedules tab and the serve) reads the schedules' pauses and resumes only, not
/// every trigger, backfill and refusal of theirs.
const AUDIT_BY_ACTION: &str = "CREATE INDEX audit_by_action ON audit(run_id, action, id);";

/// Issue 44 point 5, the rest of the gates' rules for asks: `baton ask
/// --allow-self-approval` (`allow_self`), and `--signed`: the allowed signers the ask
/// was opened with (`signers`, NULL when unsigned), and each vote's SSH signature and
/// key, re-checked by `audit verify`.
const ASK_RULES: &str = r#"
ALTER TABLE asks ADD COLUMN allow_self INTEGER NOT NULL DEFAULT 0;
ALTER TABLE asks ADD COLUMN signers TEXT;
ALTER TABLE ask_votes ADD COLUMN signature TEXT;
ALTER TABLE ask_votes ADD COLUMN key TEXT;
"#;

/// Issue 43 point 4: each fork's link to the run it was forked from (its `run_forked`
/// event, projected), read both ways: `show` of a fork and of the run it came from.
const RUN_FORKS: &str = r#"
CREATE TABLE run_forks (
    run_id    TEXT PRIMARY KEY,
    from_run  TEXT NOT NULL,
    from_step TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX run_forks_by_origin ON run_forks(from_run);
"#;

/// Issue 44 point 5: `baton ask` records its question here and waits on its row, with
/// or without an engine; each answer is a row of `ask_votes` and of the audit chain
/// (`store::asks`). `run_id`/`step_id` name the step that asked, if one did.
const ASKS: &str = r#"
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
);
CREATE INDEX asks_open ON asks(state) WHERE state = 'open';
CREATE INDEX asks_of_step ON asks(run_id, step_id) WHERE run_id IS NOT NULL;
CREATE TABLE ask_votes (
    ask_id TEXT NOT NULL REFERENCES asks(id) ON DELETE CASCADE,
    actor  TEXT NOT NULL,
    reason TEXT,
    at     INTEGER NOT NULL,
    PRIMARY KEY (ask_id, actor)
);
"#;

/// Issue 41 point 7: `baton audit rotate` refuses while an engine (or the serve) holds
/// a lease under another key than the new one, naming the run and the holder's pid;
/// the lease says which key its holder writes with (`NULL`: none, or a lease taken
/// before this migration).
const LEASE_KEYS: &str = "ALTER TABLE leases ADD COLUMN key_id TEXT;";

/// Issue 47: SQLite writes a row whole on any UPDATE of it, its overflow pages
/// included, and the projection updates a run's row as its steps end (its attempts'
/// counts, its state): with the workflow's text (6.7 MB for a 100,000-step file) and
/// params on that row, every commit copied them, so a step's cost grew with the file's
/// size (100,000 steps 4.7-5.1x `make -j2`). They never change after the run is
/// created: they move to `run_sources`, which only the run's creation writes and only
/// `Store::run` reads; `runs` keeps what changes and what lists read.
const RUN_SOURCES: &str = r#"
CREATE TABLE run_sources (
    run_id      TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    source_text TEXT NOT NULL,
    params_json TEXT NOT NULL
);
INSERT INTO run_sources (run_id, source_text, params_json)
    SELECT id, source_text, params_json FROM runs ORDER BY rowid;
ALTER TABLE runs DROP COLUMN source_text;
ALTER TABLE runs DROP COLUMN params_json;
"#;

/// Migration 10's partial index said `state IN (four states)`: SQLite evaluates an IN
/// list of more than two values by building a temporary table (a B-tree opened and
/// closed), and a partial index's condition is evaluated on every write of a row, so
/// every projection of a step paid for one (2.6 % of the engine's thread on a DAG of
/// `true`). The same states as comparisons cost nothing; the query said it the same way
/// (`store::waiting`), as SQLite needs to use a partial index. Migration 24 dropped the
/// index: the inbox reads each run's saved summary (`run_summaries.waiting`).
const WAITING_STEPS_WITHOUT_IN: &str = concat!(
    "DROP INDEX IF EXISTS steps_waiting_on_someone;\n",
    "CREATE INDEX steps_waiting_on_someone ON steps(run_id) WHERE ",
    "state = 'waiting_approval' OR state = 'interrupted' ",
    "OR state = 'compensation_failed' OR state = 'running'",
    ";"
);

/// `runs` and `runs --json` count each run's fan-out instances by state
/// (`store::fan_counts`): that read every step of every run (at 50,000 runs, a fifth of
/// `runs --json`). Only instances (`PARENT[KEY]`) are in this index: a run without a
/// fan-out costs one probe of it.
macro_rules! fanned_where {
    () => {
        "instr(step_id, '[') > 0"
    };
}
const FANNED_STEPS: &str = concat!(
    "CREATE INDEX steps_fanned ON steps(run_id, step_id, state) WHERE ",
    fanned_where!(),
    ";"
);

/// A run kept one time index file beside its logs (`model::logtimes::INDEX`): a year of
/// runs is a file more per run. When a run ends its records are kept on its attempts'
/// rows (`store::log_times`) and the file goes; old runs keep theirs, read as before.
const LOG_TIMES: &str = "ALTER TABLE attempts ADD COLUMN log_times TEXT;";

/// `baton metrics` on a year of runs read every step, attempt and error of every run
/// (0.8 s at 50,000 runs): each ended run's share of the sums is kept on its row and
/// the total of those shares per workflow in `metric_totals` (`store::metric_totals`),
/// backfilled here. The runs that go on and the ended runs' states are read through
/// partial indexes (`runs_ended` holds `steps_total` so that the index alone answers),
/// and each workflow's latest run through `runs_by_workflow`.
const METRIC_TOTALS: &str = r#"
ALTER TABLE runs ADD COLUMN metrics_json TEXT;
CREATE TABLE metric_totals (
    workflow TEXT PRIMARY KEY,
    json     TEXT NOT NULL
);
CREATE INDEX runs_going_on ON runs(started_at) WHERE steps_total IS NULL;
CREATE INDEX runs_ended ON runs(workflow, state, steps_total) WHERE steps_total IS NOT NULL;
CREATE INDEX runs_by_workflow ON runs(workflow, started_at, id);
"#;

/// How many failed steps the run dealt with (`allow_failure`, a failure handler that
/// succeeded), from its `run_finished` event: `runs` and the metrics score such a step
/// as the console does. Runs finished before this version did not record it: 0.
const RUN_DEALT_WITH: &str = r#"
ALTER TABLE runs ADD COLUMN dealt_with INTEGER NOT NULL DEFAULT 0;
"#;

/// What `runs --json` reports of a run's golden signals, on its row (`store::run_counts`):
/// when it started and finished and its attempts that ended, kept by the projection as
/// the run goes on; its latency, queue and running steps once it has ended (NULL while
/// it goes on: readers count them from the run's own rows). Backfilled from each run's
/// events.
const RUN_SIGNALS: &str = r#"
ALTER TABLE runs ADD COLUMN began_at INTEGER;
ALTER TABLE runs ADD COLUMN ended_at INTEGER;
ALTER TABLE runs ADD COLUMN attempts_finished INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN attempts_failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN p50_ms INTEGER;
ALTER TABLE runs ADD COLUMN p95_ms INTEGER;
ALTER TABLE runs ADD COLUMN queue_depth INTEGER;
ALTER TABLE runs ADD COLUMN running INTEGER;
"#;

/// `baton inbox` and the console's Waiting tab ask which runs have something waiting
/// on a person (`store::waiting`; a running step too: its engine may be gone, and it
/// then waits for a person unless it is idempotent): partial indexes hold only those
/// rows, so the question reads a handful of entries, not every step of every run.
/// Migration 21 rewrote the steps' index (`WAITING_WHERE`, which the query uses too).
const WAITING_ON_SOMEONE: &str = r#"
CREATE INDEX IF NOT EXISTS steps_waiting_on_someone ON steps(run_id)
    WHERE state IN ('waiting_approval', 'interrupted', 'compensation_failed', 'running');
CREATE INDEX IF NOT EXISTS errors_budget_open ON errors(run_id)
    WHERE open = 1 AND kind = 'budget_exceeded';
"#;

/// `store::slots`: one row per run of a concurrency group; at most one active run per
/// group (the unique index), the others wait in `seq` order (`first` ones before).
const CONCURRENCY_GROUPS: &str = r#"
CREATE TABLE group_members (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    grp    TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    first  INTEGER NOT NULL DEFAULT 0,
    seq    INTEGER NOT NULL
);
CREATE UNIQUE INDEX group_holder ON group_members(grp) WHERE active = 1;
CREATE INDEX group_line ON group_members(grp, active, first DESC, seq);

"#;

/// `store::pool_slots`: the slots of pools shared by every run (`scope = "store"`) and
/// their store-wide rate buckets.
const STORE_POOLS: &str = r#"
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
"#;

/// `baton serve`: the schedules it serves (`paused` survives restarts), one row per
/// slot decided, unique per (workflow file, schedule, slot time) so no slot fires
/// twice, and each workflow file's last load (its error, if it no longer loads).
const SCHEDULES: &str = r#"
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
"#;

/// A schedule's last run (`baton schedules`, the console's Schedules tab, the metrics)
/// is its latest slot that made a run: paused, missed and failed slots make none, and
/// the partial index holds only the slots that did, so the question reads one entry
/// however long the schedule has been paused or served.
const SCHEDULE_LAST_RUN: &str = r#"
CREATE INDEX schedule_slots_with_run ON schedule_slots (file, idx, slot_at)
    WHERE run_id IS NOT NULL;
"#;

/// One run is read by replaying its events through the core (`session::inspect`); the
/// tables keep what queries across runs read (`runs`, metrics, `runs gc`, `audit
/// verify`). What only the per-run reader used goes: a step's exit, signal, times,
/// process group, reason and order; an attempt's times, outcome, exit, signal and
/// process group; outputs; an error record's JSON copy; a run's summary.
const V7: &str = r#"
DROP INDEX steps_by_order;
ALTER TABLE steps DROP COLUMN ord;
ALTER TABLE steps DROP COLUMN exit_code;
ALTER TABLE steps DROP COLUMN signal;
ALTER TABLE steps DROP COLUMN queued_at;
ALTER TABLE steps DROP COLUMN started_at;
ALTER TABLE steps DROP COLUMN finished_at;
ALTER TABLE steps DROP COLUMN duration_ms;
ALTER TABLE steps DROP COLUMN pgid;
ALTER TABLE steps DROP COLUMN reason;
ALTER TABLE attempts DROP COLUMN started_at;
ALTER TABLE attempts DROP COLUMN finished_at;
ALTER TABLE attempts DROP COLUMN outcome_json;
ALTER TABLE attempts DROP COLUMN exit_code;
ALTER TABLE attempts DROP COLUMN signal;
ALTER TABLE attempts DROP COLUMN pgid;
DROP TABLE outputs;
ALTER TABLE errors DROP COLUMN json;
ALTER TABLE runs DROP COLUMN summary;
"#;

/// A claim belongs to the engine that holds the run's lease (`claimed_by`, its holder):
/// a command claimed under a lease no longer held (its engine died before deciding)
/// is taken again by the next engine, never left `claimed` for good.
const V8: &str = "ALTER TABLE commands ADD COLUMN claimed_by TEXT;";

/// `store::starter_seal`: per run, the MACs of its record's fields and of its events'
/// head under its starter's own secret (group stores only; gone with the run).
const V9: &str = r#"
CREATE TABLE run_seals (
    run_id   TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    record   BLOB NOT NULL,
    head_seq INTEGER,
    head     BLOB
);
"#;

/// What `runs`, the console's run list, metrics and `gc` read of each run, kept on its
/// row so that listing runs reads one row per run (no scan of every run's steps):
/// - `steps_total`, `steps_done`, `health`: written by the projection when the run
///   ends (and again if a finished run's steps or errors change); NULL while it goes
///   on, when readers count its steps live;
/// - `rev`: the store's change counter when the row last changed (created, state,
///   counts): the console reads the rows above the last `rev` it saw (`runs_by_rev`).
///
/// Finished runs recorded before are counted once, here (`backfill_run_counts`).
const RUN_COUNTS: &str = r#"
ALTER TABLE runs ADD COLUMN steps_total INTEGER;
ALTER TABLE runs ADD COLUMN steps_done INTEGER;
ALTER TABLE runs ADD COLUMN health REAL;
ALTER TABLE runs ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET rev = key;
CREATE INDEX runs_by_rev ON runs(rev);
"#;

/// Nothing changes in the tables: command rows now name a proof file (`store::proof`)
/// that engines check. The version moves so that an older baton, which would apply a
/// row without a proof, refuses this store instead.
const V6: &str = "SELECT 1;";

pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

const V1: &str = r#"
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
    source_text TEXT NOT NULL,
    params_json TEXT NOT NULL,
    operator    TEXT NOT NULL,
    state       TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    summary     TEXT,
    last_seq    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_start ON runs(started_at DESC, id DESC);

-- Append-only: the triggers refuse UPDATE and DELETE.
CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq    INTEGER NOT NULL,
    at     INTEGER NOT NULL,
    type   TEXT NOT NULL,
    step   TEXT,
    json   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE steps (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    step_id     TEXT NOT NULL,
    ord         INTEGER NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    exit_code   INTEGER,
    signal      INTEGER,
    timed_out   INTEGER NOT NULL DEFAULT 0,
    queued_at   INTEGER,
    started_at  INTEGER,
    finished_at INTEGER,
    duration_ms INTEGER,
    pgid        INTEGER,
    reason      TEXT,
    PRIMARY KEY (run_id, step_id)
) WITHOUT ROWID;
CREATE INDEX steps_by_order ON steps(run_id, ord);

CREATE TABLE attempts (
    run_id       TEXT NOT NULL REFERENCES runs(id),
    step_id      TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    state        TEXT,
    started_at   INTEGER,
    finished_at  INTEGER,
    duration_ms  INTEGER,
    outcome_json TEXT,
    exit_code    INTEGER,
    signal       INTEGER,
    pgid         INTEGER,
    cost         REAL,
    tokens       INTEGER,
    log_path     TEXT,
    log_tail     TEXT,
    PRIMARY KEY (run_id, step_id, attempt)
) WITHOUT ROWID;

CREATE TABLE outputs (
    run_id  TEXT NOT NULL REFERENCES runs(id),
    step_id TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    PRIMARY KEY (run_id, step_id, key)
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
    json     TEXT NOT NULL,
    PRIMARY KEY (run_id, id)
) WITHOUT ROWID;
CREATE INDEX errors_by_step ON errors(run_id, step);

-- Every vote and decision on a gate, refused attempts included.
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
);
CREATE INDEX commands_pending ON commands(run_id, status, id);

-- One global hash chain; ids are assigned by the writer (last id + 1) so a gap is a
-- deleted row. meta('audit_head') holds the last id and hash to detect a cut tail.
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
);
"#;

/// The write path of a run, cheaper (see `benches/store.rs`):
/// - `runs.last_seq` was rewritten on every commit, and the run's row holds the workflow
///   file (often spilling to overflow pages). The event log knows the last seq; readers
///   ask it instead.
/// - `events` was a WITHOUT ROWID table keyed by (run id text, seq): every insert
///   searched and split an index b-tree of ~200-byte entries. It becomes a rowid table
///   keyed by `(runs.key << 32) + seq`, so a run's events are appended at the end of
///   its key range and read back by a rowid range scan. `runs.key` is a stable small
///   integer per run (`rowid` is not: VACUUM may renumber it); `seq < 2^32`.
const V2: &str = r#"
ALTER TABLE runs DROP COLUMN last_seq;
ALTER TABLE runs ADD COLUMN key INTEGER;
UPDATE runs SET key = rowid;
CREATE UNIQUE INDEX runs_by_key ON runs(key);

CREATE TABLE events_v2 (
    id     INTEGER PRIMARY KEY, -- (runs.key << 32) + seq
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq    INTEGER NOT NULL CHECK (seq >= 0 AND seq < 4294967296),
    at     INTEGER NOT NULL,
    type   TEXT NOT NULL,
    step   TEXT,
    json   TEXT NOT NULL
);
INSERT INTO events_v2 (id, run_id, seq, at, type, step, json)
    SELECT (r.key << 32) + e.seq, e.run_id, e.seq, e.at, e.type, e.step, e.json
    FROM events e JOIN runs r ON r.id = e.run_id
    ORDER BY r.key, e.seq;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
-- Append-only: the triggers refuse UPDATE and DELETE.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
"#;

/// A command no engine took by its deadline (its submitter's wait) is refused, never
/// applied later; NULL: no deadline (`--no-drive`, recorded for the next engine).
const V3: &str = r#"
ALTER TABLE commands ADD COLUMN deadline INTEGER;
"#;

/// One entry per cache key (`store::cache`): the run that made it, its outputs (JSON
/// object) and its products (JSON array of [path, sha256]); `created` in ms.
const V4: &str = r#"
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
"#;

/// Each run's events in a hash chain of their own (`store::event_chain`): every event's
/// hash, and on each run's last event the head mark (its key id and MAC),
/// the one thing an update may change (the trigger is replaced by [`EVENTS_NO_UPDATE`]
/// once [`link_existing_events`] has linked the events already stored).
const V5: &str = r#"
ALTER TABLE events ADD COLUMN hash BLOB;
ALTER TABLE events ADD COLUMN head_key_id TEXT;
ALTER TABLE events ADD COLUMN head_mac BLOB;
DROP TRIGGER events_no_update;
"#;

/// Events are append-only except for the head mark, which each commit moves to its
/// last event (`store::event_chain`).
const EVENTS_NO_UPDATE: &str = "CREATE TRIGGER events_no_update
    BEFORE UPDATE OF id, run_id, seq, at, type, step, json, hash ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END";

/// The trigger that keeps `events` append-only, as V2 creates it. A run's deletion
/// (`Store::delete_run`) is the one sanctioned exception: it drops the trigger, deletes
/// that run's events and creates it again from this text, all inside its own
/// `BEGIN IMMEDIATE` transaction, so no other writer ever sees the table unguarded.
pub(crate) const EVENTS_NO_DELETE: &str = "CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END";

/// Read the schema version (this is also the first read of the file, so a non-SQLite
/// file fails here, before anything is written).
pub(crate) fn version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Bring the schema up to `SCHEMA_VERSION`. A new, empty file gets the whole schema in
/// one transaction (`store::fresh_schema`, derived from the migrations). Otherwise
/// each migration runs in its own `BEGIN IMMEDIATE` transaction and re-checks the
/// version inside it, so two processes opening a fresh database at once do not both
/// apply it.
///
/// `keys`: migration 5 links the events already stored into chains keyed with the
/// signing key, if there is one (the upgrade adopts them, as `baton audit seal` would),
/// and keys the audit chain's head likewise.
pub(crate) fn migrate(conn: &mut Connection, keys: &AuditKeys) -> Result<(), StoreError> {
    if version(conn)? == 0 && fresh_schema::is_empty(conn)? {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Checked again inside: another process may have made it meanwhile.
        if version(&tx)? == 0 && fresh_schema::is_empty(&tx)? {
            let now = Timestamp::now().0;
            fresh_schema::create(&tx)
                .and_then(|()| {
                    MIGRATIONS
                        .iter()
                        .try_for_each(|&(v, description, _)| applied(&tx, v, description, now))
                })
                .map_err(|e| failed(SCHEMA_VERSION, "the whole schema of a new store", e))?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
    }
    for &(v, description, sql) in MIGRATIONS {
        if version(conn)? >= v {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current >= v {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(StoreError::from)
            .and_then(|()| match v {
                5 => link_existing_events(&tx, keys),
                12 => backfills::counts(&tx),
                15 => backfills::signals(&tx),
                18 => backfills::totals(&tx),
                24 => backfills::summaries(&tx),
                40 => crate::ledger::passkeys::backfill(&tx),
                _ => Ok(()),
            })
            .and_then(|()| applied(&tx, v, description, Timestamp::now().0))
            .map_err(|e| failed(v, description, e))?;
        tx.pragma_update(None, "user_version", v)?;
        tx.commit()?;
    }
    Ok(())
}

/// Migration 5's part in Rust: hash every stored event into its run's chain and mark
/// each run's last event (`store::event_chain`), keyed when there is a key, as the audit
/// chain's head; then guard `events` again.
fn link_existing_events(tx: &Connection, keys: &AuditKeys) -> Result<(), StoreError> {
    let runs: Vec<(String, i64)> = tx
        .prepare("SELECT id, key FROM runs ORDER BY key")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update =
        tx.prepare("UPDATE events SET hash = ?2, head_key_id = ?3, head_mac = ?4 WHERE id = ?1")?;
    for (run_id, key) in runs {
        let mut writer = event_chain::Writer::new(&run_id, None, keys)
            .map_err(|_| StoreError::NotFound(format!("run {run_id}")))?;
        // Hash while reading, write after: the scan does not see its own updates.
        let mut linked: Vec<(i64, u64, event_chain::Hash)> = Vec::new();
        {
            let mut st = tx.prepare(
                "SELECT id, seq, json FROM events
                 WHERE id BETWEEN ?1 << 32 AND (?1 << 32) + 4294967295 ORDER BY id",
            )?;
            let mut rows = st.query([key])?;
            while let Some(r) = rows.next()? {
                let seq = r.get::<_, i64>(1)? as u64;
                let json = r.get_ref(2)?.as_str()?;
                linked.push((r.get(0)?, seq, writer.link(seq, json)));
            }
        }
        let last = linked.len().saturating_sub(1);
        for (i, (id, seq, hash)) in linked.iter().enumerate() {
            let mark = (i == last).then(|| event_chain::Mark::seal(&run_id, *seq, hash, keys));
            update.execute(rusqlite::params![
                id,
                &hash[..],
                mark.as_ref().and_then(|m| m.key_id.as_deref()),
                mark.as_ref().map(|m| &m.mac[..])
            ])?;
        }
    }
    tx.execute_batch(EVENTS_NO_UPDATE)?;
    let head: Option<String> = tx
        .query_row("SELECT value FROM meta WHERE key = 'audit_head'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(head) = head.as_deref().and_then(AuditHead::parse)
        && head.keyed.is_none()
    {
        crate::ledger::append::set_chain_head(tx, head.id, &head.hash, keys)?;
    }
    Ok(())
}

/// Record migration `v` as applied at `at` (ms), in the caller's transaction.
fn applied(tx: &Connection, v: i64, description: &str, at: i64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(rusqlite::params![v, description, at])?;
    Ok(())
}

/// A migration's error as the user reads it: SQLite's own faults through
/// [`migration_failed`], any other as it is.
fn failed(v: i64, description: &str, e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(e) => migration_failed(v, description, e),
        e => e,
    }
}

/// A failed migration says which and why, in one line (never the SQL it ran). Faults
/// of the file itself (locked, read-only, full, corrupt) keep their own, actionable,
/// error.
fn migration_failed(version: i64, description: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    if let Some(
        C::DatabaseBusy | C::DatabaseLocked | C::ReadOnly | C::DiskFull | C::DatabaseCorrupt,
    ) = e.sqlite_error_code()
    {
        return StoreError::Sqlite(e);
    }
    let detail = match &e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => other.to_string(),
    };
    StoreError::Migration {
        version,
        description: description.to_string(),
        detail: detail.lines().next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests;
