//! `baton audit [RUN] [--json]`, `baton audit verify [RUN]`, `baton audit seal` and
//! `baton audit rotate`.
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::{AuditAction, Refusal, Timestamp};
use crate::store::{AuditRow, AuditVerdict, Rotated, Sealed, SignaturesVerdict, Store, StoreError};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  baton audit                   # decisions about the store: schedules, key rotations, deletions\n  baton audit schedules         # the schedules' decisions alone, and the serve's refusals\n  baton audit 01J9Z3\n  baton audit 01J9Z3 --json\n  baton audit verify            # the whole store: chain, run histories, approvals\n  baton audit verify 01J9Z3\n  baton audit seal              # adopt a store recorded before BATON_AUDIT_KEY was set\n  baton audit rotate            # re-key the store with BATON_AUDIT_KEY; old keys can go\n\nWith BATON_AUDIT_KEY (and BATON_AUDIT_KEY_ID) set, new records are HMAC-SHA-256 keyed,\nand `verify`, resume and every replay refuse a history rewritten without the key;\nBATON_AUDIT_KEYS=\"old=secret,…\" lets records keyed with earlier keys verify until\n`baton audit rotate` re-keys them. Keyed heads also go to a witness file\n(BATON_AUDIT_WITNESS, default DB.witness) that shows a rollback.\nWithout a key, `verify` proves integrity against accidents only."
)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub verify: Option<AuditCmd>,
    /// The run id, or a unique prefix of it (none: the decisions about the store itself,
    /// the schedules' pause, resume, trigger and backfill, key rotations, runs deleted;
    /// `schedules`, `store` or `asks`: those under that subject alone)
    pub run: Option<String>,
    /// Print a JSON array of audit rows
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the audit chain, every run's event history, the approvals and every signed
    /// decision (against the allowed signers its run recorded); exit 0 when all hold, 1
    /// naming the first altered or missing row or event or the first bad signature
    Verify {
        /// Count only this run's rows (the store is checked whole)
        run: Option<String>,
        #[command(flatten)]
        db: DbOpt,
        #[command(flatten)]
        witness: WitnessOpt,
    },
    /// Adopt a store recorded (in part) without a key: check it, then key its heads with
    /// BATON_AUDIT_KEY. It vouches for the past against accidents only: seal a store you trust
    Seal {
        #[command(flatten)]
        db: DbOpt,
        #[command(flatten)]
        witness: WitnessOpt,
    },
    /// Re-key the store with BATON_AUDIT_KEY after checking it with the old keys (kept in
    /// BATON_AUDIT_KEYS meanwhile): its audit rows, chain head and run marks; the old keys
    /// can then be deleted. Exit 0 re-keyed, 1 the store did not check out (unchanged)
    Rotate {
        #[command(flatten)]
        db: DbOpt,
        #[command(flatten)]
        witness: WitnessOpt,
    },
}

/// The witness the audit commands compare with (and write to).
#[derive(Debug, Clone, Args)]
pub struct WitnessOpt {
    /// The witness file of keyed heads [default: the database's path + `.witness`]
    #[arg(long, value_name = "PATH", env = "BATON_AUDIT_WITNESS")]
    pub witness: Option<std::path::PathBuf>,
}

impl WitnessOpt {
    /// The store at `db`, compared with this witness.
    fn open(&self, db: &DbOpt) -> Result<Store, StoreError> {
        let mut s = db.open()?;
        if let Some(w) = &self.witness {
            s.set_witness(w.clone());
        }
        Ok(s)
    }
}

pub fn run(args: AuditArgs) -> i32 {
    match args.verify {
        Some(AuditCmd::Verify { run, db, witness }) => {
            let db = if db.db.is_some() { db } else { args.db };
            verify(witness.open(&db), run.as_deref())
        }
        Some(AuditCmd::Seal { db, witness }) => {
            let db = if db.db.is_some() { db } else { args.db };
            seal(witness.open(&db))
        }
        Some(AuditCmd::Rotate { db, witness }) => {
            let db = if db.db.is_some() { db } else { args.db };
            rotate(witness.open(&db))
        }
        None => match args.run {
            // A subject of the store's decisions (no run id is a word of lower case).
            Some(run) if subject_word(&run) => show_store(&args.db, args.json, Some(&run)),
            Some(run) => show(&args.db, &run, args.json),
            None => show_store(&args.db, args.json, None),
        },
    }
}

fn show(db: &DbOpt, run: &str, json: bool) -> i32 {
    let rows = db
        .open()
        .and_then(|s| s.resolve_run(run).and_then(|id| s.audit(&id)));
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if json {
        let v: Vec<_> = rows.iter().map(row_json).collect();
        if let Err(e) = crate::stdio::out_json_line(&v) {
            crate::stdio::errln!("error: {e}");
            return exit::FAILED;
        }
    } else {
        crate::stdio::out!("{}", table(&rows));
    }
    exit::OK
}

/// Whether `baton audit WORD` names a subject of the store's decisions (`schedules`,
/// `store`, `asks`) rather than a run.
fn subject_word(word: &str) -> bool {
    [
        crate::store::schedules::AUDIT_SUBJECT,
        crate::store::STORE_SUBJECT,
        crate::model::ask::AUDIT_SUBJECT,
    ]
    .contains(&word)
}

/// `baton audit` without a run: the decisions about the store (schedules' pause,
/// resume, trigger and backfill, the serve's refusals, key rotations, runs deleted, the
/// store's making), oldest first; `subject`: those under it alone (`baton audit
/// schedules`).
fn show_store(db: &DbOpt, json: bool, subject: Option<&str>) -> i32 {
    let rows = match db.open().and_then(|s| s.store_audit()) {
        Ok(r) => r
            .into_iter()
            .filter(|r| subject.is_none_or(|s| r.run_id == s))
            .collect::<Vec<_>>(),
        Err(e) => return fail(&e),
    };
    if json {
        let v: Vec<_> = rows.iter().map(row_json).collect();
        if let Err(e) = crate::stdio::out_json_line(&v) {
            crate::stdio::errln!("error: {e}");
            return exit::FAILED;
        }
        return exit::OK;
    }
    if rows.is_empty() {
        crate::stdio::outln!(
            "no decisions about the store recorded (`baton audit RUN` shows a run's)"
        );
        return exit::OK;
    }
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                clock(r.at),
                r.actor.clone(),
                action_cell(r),
                crate::sanitize::one_line(&subject_of(r)),
                r.reason
                    .as_deref()
                    .map(crate::sanitize::one_line)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    crate::stdio::out!(
        "{}",
        super::table::render(
            &["ID", "AT", "ACTOR", "ACTION", "SUBJECT", "REASON"],
            &cells
        )
    );
    exit::OK
}

/// What a row decided, or refused to: the schedule it named (`nightly#1`), the
/// workflow triggered, the ask answered, the key a rotation went to, the run deleted;
/// a run's row its run and step (issue 56 point 4: a refusal reads with its subject).
fn subject_of(r: &AuditRow) -> String {
    let d: serde_json::Value = serde_json::from_str(&r.details).unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    if let Some(names) = d["schedules"].as_array() {
        return names.iter().filter_map(text).collect::<Vec<_>>().join(", ");
    }
    text(&d["schedule"])
        .or_else(|| text(&d["workflow"]))
        .or_else(|| text(&d["ask"]).map(|a| format!("ask {a}")))
        .or_else(|| text(&d["key_id"]).map(|k| format!("key {k}")))
        .unwrap_or_else(|| match &r.step {
            _ if subject_word(&r.run_id) => r.run_id.clone(),
            Some(step) => format!("run {} step {step}", r.run_id),
            None => format!("run {}", r.run_id),
        })
}

/// A refused decision as its audit row records it: the refusal's code (the core's
/// `details.code`, or `recorded` for a row written before refusals had codes), the
/// decision refused (a command's `cmd`, a schedule's `trigger`, `pause`, …; `None` if
/// the row does not say) and its subject. `None` for every other row.
struct Refused {
    code: String,
    decision: Option<String>,
    subject: String,
}

fn refused(r: &AuditRow) -> Option<Refused> {
    if r.action != AuditAction::CommandRefused.as_str() {
        return None;
    }
    let d = serde_json::from_str::<serde_json::Value>(&r.details).unwrap_or_default();
    let recorded = Refusal::Recorded {
        reason: String::new(),
    };
    let code = d["code"].as_str().unwrap_or(recorded.code()).to_string();
    let decision = d["decision"]
        .as_str()
        .or_else(|| d["command"]["cmd"].as_str())
        .map(str::to_string);
    Some(Refused {
        code,
        decision,
        subject: subject_of(r),
    })
}

/// `command_refused approve (unproven)`: the action, with what a refusal refused.
fn action_cell(r: &AuditRow) -> String {
    match (refused(r), round_of(r)) {
        (Some(f), _) => {
            let code = crate::sanitize::one_line(&f.code);
            match f.decision {
                Some(d) => format!("{} {} ({code})", r.action, crate::sanitize::one_line(&d)),
                None => format!("{} ({code})", r.action),
            }
        }
        (None, Some(round)) => format!("{} ({round})", r.action),
        (None, None) => r.action.clone(),
    }
}

fn row_json(r: &AuditRow) -> serde_json::Value {
    let refused = refused(r).map(|f| {
        serde_json::json!({
            "code": f.code,
            "message": r.reason,
            "decision": f.decision,
            "subject": f.subject,
        })
    });
    serde_json::json!({
        "refused": refused,
        "id": r.id,
        "run_id": r.run_id,
        "seq": r.seq,
        "at": r.at.to_rfc3339(),
        "actor": r.actor,
        "action": r.action,
        "step": r.step,
        "reason": r.reason,
        "details": serde_json::from_str::<serde_json::Value>(&r.details).unwrap_or(serde_json::Value::String(r.details.clone())),
        "key_id": r.key_id,
        "prev_hash": r.prev_hash,
        "hash": r.hash,
    })
}

pub fn table(rows: &[AuditRow]) -> String {
    if rows.is_empty() {
        return "no decisions recorded for this run\n".into();
    }
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                clock(r.at),
                r.actor.clone(),
                action_cell(r),
                r.step.clone().unwrap_or_else(|| "-".into()),
                r.reason
                    .as_deref()
                    .map(crate::sanitize::one_line)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    super::table::render(&["ID", "AT", "ACTOR", "ACTION", "STEP", "REASON"], &cells)
}

/// `round 2 of 3`: the round a gate's opening or push-back is on (issue 44 point 3).
fn round_of(r: &AuditRow) -> Option<crate::model::GateRound> {
    let d: serde_json::Value = serde_json::from_str(&r.details).ok()?;
    serde_json::from_value(d.get("round")?.clone()).ok()
}

fn clock(t: Timestamp) -> String {
    t.to_rfc3339()
}

fn verify(store: Result<Store, StoreError>, run: Option<&str>) -> i32 {
    let verdicts = store.and_then(|s| {
        let id = run.map(|r| s.resolve_run(r)).transpose()?;
        let witness = match s.witnessed() {
            true => format!("no rollback: the store holds the newest heads its witness {} saw", s.witness_path().display()),
            false => format!("note: no witness at {}: a rollback (the newest records cut off with an earlier head put back, or an earlier copy of the database) cannot be told from a shorter history", s.witness_path().display()),
        };
        Ok((
            s.verify_audit(id.as_deref())?,
            s.verify_signatures(id.as_deref())?,
            s.audit_keys().configured().then_some(witness),
            s.verify_ask_votes(id.as_deref())?,
        ))
    });
    let (chain, signatures, keyed, asks) = match verdicts {
        Ok(v) => v,
        Err(e) => return fail(&e),
    };
    let chain = match chain {
        AuditVerdict::Intact { rows } => {
            crate::stdio::outln!(
                "audit chain intact: {rows} rows verified; run histories and approvals intact"
            );
            match keyed {
                Some(witness) => crate::stdio::outln!("{witness}"),
                None => crate::stdio::outln!("{NO_KEY}"),
            }
            exit::OK
        }
        v => {
            crate::stdio::outln!("{v}");
            exit::FAILED
        }
    };
    let signatures = match signatures {
        SignaturesVerdict::Verified { signatures } => {
            if signatures > 0 {
                crate::stdio::outln!(
                    "signatures valid: {signatures} signed decision(s) verified against the allowed signers their runs recorded"
                );
            }
            exit::OK
        }
        SignaturesVerdict::Broken {
            row_id,
            run_id,
            reason,
        } => {
            crate::stdio::outln!("signature INVALID at row {row_id} (run {run_id}): {reason}");
            exit::FAILED
        }
    };
    // Every vote on an ask proven by its account's proof, every ask's rows as its
    // proven votes make them (issue 56).
    let asks = match asks {
        None => exit::OK,
        Some((ask, why)) => {
            crate::stdio::outln!("ask vote UNPROVEN on ask {ask}: {why}");
            exit::FAILED
        }
    };
    chain.max(signatures).max(asks)
}

/// What `verify` says when no key is configured.
const NO_KEY: &str = "note: no audit key is configured (BATON_AUDIT_KEY, BATON_AUDIT_KEYS): this proves the records were not damaged by accident, not that nobody who can write the database rewrote them or rolled them back";

fn seal(store: Result<Store, StoreError>) -> i32 {
    match store.and_then(|mut s| s.seal()) {
        Err(e) => fail(&e),
        Ok(Sealed::Done { runs, audit }) => {
            crate::stdio::outln!(
                "sealed: {}{} keyed with BATON_AUDIT_KEY; what they held before was checked against accidents only",
                crate::console::count(runs, "run history", "run histories"),
                if audit {
                    " and the audit chain's head"
                } else {
                    ""
                }
            );
            exit::OK
        }
        Ok(Sealed::Refused(v)) => {
            crate::stdio::outln!("not sealed, nothing changed: {v}");
            exit::FAILED
        }
    }
}

fn rotate(store: Result<Store, StoreError>) -> i32 {
    let actor = match crate::session::os_account() {
        Ok(a) => a,
        Err(e) => return crate::session::report(&e),
    };
    match store.and_then(|mut s| s.rotate(&actor)) {
        Err(e) => fail(&e),
        Ok(Rotated::Done {
            key_id,
            rows,
            runs,
            retired,
        }) => {
            crate::stdio::outln!(
                "rotated: {} and {} re-keyed with `{key_id}` (with the audit chain's head), checked with it alone",
                crate::console::count(rows, "audit row", "audit rows"),
                crate::console::count(runs, "run mark", "run marks"),
            );
            if !retired.is_empty() {
                let ids: Vec<String> = retired.iter().map(|k| format!("`{k}`")).collect();
                crate::stdio::outln!(
                    "no record names {} any more: remove it from BATON_AUDIT_KEYS and delete it",
                    ids.join(", ")
                );
            }
            exit::OK
        }
        Ok(Rotated::Refused(v)) => {
            crate::stdio::outln!("not rotated, nothing changed: {v}");
            exit::FAILED
        }
        Ok(Rotated::Busy(why)) => {
            crate::stdio::outln!(
                "not rotated, nothing changed: {}",
                crate::sanitize::for_terminal(&why)
            );
            exit::FAILED
        }
    }
}
