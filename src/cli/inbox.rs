//! `baton inbox`: everything across the store's runs that waits on a person (open
//! gates, exhausted budgets, steps waiting for a `mark`), soonest deadline first, with
//! who may decide, whether you may, and the command that decides it.
use super::db::{DbOpt, fail};
use super::exit;
use crate::model::Timestamp;
use crate::model::inbox::Waiting;
use crate::model::time::human_duration;
use crate::session;
use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton inbox\n  baton inbox --mine\n  baton inbox --json | jq '.[] | select(.kind == \"gate\") | .run_id'"
)]
pub struct InboxArgs {
    /// Print a JSON array (run_id, workflow, run_state, kind, step, prompt, approvers, quorum, votes, since, deadline, left_ms, mine, why_not and refused: {code, message} when not, commands; parent: {run, step, attempt} for a child run's)
    #[arg(long)]
    pub json: bool,
    /// Only what you (this OS account) may decide now
    #[arg(long)]
    pub mine: bool,
    /// Every `[[store]]` of config.toml, local and remote, each row naming its store
    #[arg(long, conflicts_with = "store")]
    pub all_stores: bool,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(args: InboxArgs) -> i32 {
    if args.all_stores {
        return super::inbox_all::run(&args);
    }
    let store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let me = match session::os_account() {
        Ok(me) => me,
        Err(e) => return session::report(&e),
    };
    let now = Timestamp::now();
    let mut items = match session::read_inbox(&store, &me, now) {
        Ok(items) => items,
        Err(e) => return fail(&e),
    };
    if args.mine {
        items.retain(|w| w.mine);
    }
    // The runs someone wrote a note on (`baton note`): `✎` before the workflow, as the
    // console marks them, and `notes` in `--json`.
    let ids: Vec<&str> = items.iter().map(|w| w.run_id.as_str()).collect();
    let noted = store.note_counts(&ids).unwrap_or_default();
    if args.json {
        let mut v = json_rows(&items, now);
        with_notes(&mut v, &items, &noted);
        if let Err(e) = crate::stdio::out_json_line(&v) {
            crate::stdio::errln!("error: {e}");
            return exit::FAILED;
        }
    } else {
        // Each run (and ask) as the shortest prefix the store tells apart (`approve`
        // takes it).
        let short = |id: &str| {
            let prefix = if crate::model::ask::is_ask_id(id) {
                store.ask_prefix(id)
            } else {
                store.run_prefix(id)
            };
            prefix.unwrap_or_else(|_| id.to_string())
        };
        for w in items.iter_mut().filter(|w| noted.contains_key(&w.run_id)) {
            w.workflow = format!("✎ {}", w.workflow);
        }
        crate::stdio::out!("{}", text(&items, short, &me, args.mine, now));
    }
    exit::OK
}

/// The `--json` rows: each item, its time left, and why not as a line and as the
/// refusal the core would give (its code).
pub fn json_rows(items: &[Waiting], now: Timestamp) -> Vec<serde_json::Value> {
    items
        .iter()
        .map(|w| {
            let mut v = serde_json::to_value(w).unwrap_or_default();
            v["left_ms"] = serde_json::json!(w.left(now).map(|d| d.as_millis() as u64));
            v["why_not"] = serde_json::json!(w.why_not.as_ref().map(|r| r.to_string()));
            v["refused"] = serde_json::json!(w.why_not.as_ref().map(|r| r.json()));
            v
        })
        .collect()
}

/// `notes` on the `--json` row (`rows`, one per item of `items`) of each run someone
/// wrote a note on (`noted`: `Store::note_counts`), in one store's inbox and in every
/// store's (`--all-stores`).
pub(super) fn with_notes(
    rows: &mut [serde_json::Value],
    items: &[Waiting],
    noted: &std::collections::HashMap<String, usize>,
) {
    for (row, w) in rows.iter_mut().zip(items) {
        if let Some(n) = noted.get(&w.run_id) {
            row["notes"] = serde_json::json!(n);
        }
    }
}

/// Time left before the deadline (`overdue` once past), or `-` without one.
pub fn left(w: &Waiting, now: Timestamp) -> String {
    match w.left(now) {
        Some(d) if d.is_zero() => "overdue".into(),
        Some(d) => format!("in {}", human_duration(d)),
        None => "-".into(),
    }
}

/// The human listing (pure but for `short`, a run's id as printed): a table, then how
/// to decide each.
pub fn text(
    items: &[Waiting],
    short: impl Fn(&str) -> String,
    me: &str,
    mine: bool,
    now: Timestamp,
) -> String {
    if items.is_empty() {
        return if mine {
            format!("nothing waits on you ({me})\n")
        } else {
            "nothing waits on anyone\n".into()
        };
    }
    let rows: Vec<[String; 8]> = items
        .iter()
        .map(|w| {
            [
                left(w, now),
                short(&w.run_id),
                // A child run's gate is its parent's too: named here.
                match &w.parent {
                    Some(p) => format!("{} (child of {}/{})", w.workflow, short(&p.run), p.step),
                    None => w.workflow.clone(),
                },
                w.step.clone(),
                w.kind.as_str().to_string(),
                w.who(),
                if w.mine { "yes" } else { "no" }.to_string(),
                w.prompt.replace('\n', " "),
            ]
        })
        .collect();
    let mut out = super::table::render(
        &[
            "DEADLINE", "RUN", "WORKFLOW", "STEP", "WAITS", "WHO", "YOU", "PROMPT",
        ],
        &rows,
    );
    out.push_str("\nto decide:\n");
    for w in items {
        let parent = w.parent.as_ref().map_or(String::new(), |p| {
            format!(", child run of run {} step {}", p.run, p.step)
        });
        out.push_str(&format!(
            "  {} {} ({}{parent}):\n",
            &w.workflow, w.step, w.run_state
        ));
        if let Some(why) = &w.why_not {
            out.push_str(&format!("    not you: {why}\n"));
        }
        for c in &w.commands {
            out.push_str(&format!("    {c}\n"));
        }
    }
    out
}
