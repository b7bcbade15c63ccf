//! `baton cache ls` and `baton cache clear [--older-than D]`: the entries cached steps
//! left (`store::cache`) and the product contents kept for them beside the database.
use super::db::{DbOpt, fail};
use super::exit;
use crate::engine::collect_cache_garbage;
use crate::model::Timestamp;
use clap::{Args, Subcommand};
use std::collections::HashSet;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton cache ls\n  baton cache ls --json\n  baton cache clear --older-than 30d\n  baton cache clear"
)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCmd,
}

#[derive(Debug, Subcommand)]
pub enum CacheCmd {
    /// List the cache entries, newest first: key, workflow, step, the run that made it, age
    Ls {
        /// One JSON array of entries
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbOpt,
    },
    /// Remove cache entries (all, or those made at least --older-than ago) and the
    /// product contents no remaining entry needs
    Clear {
        /// Remove only entries made at least this long ago (`12h`, `30d`)
        #[arg(long, value_name = "DURATION", value_parser = crate::workflow::parse_duration)]
        older_than: Option<std::time::Duration>,
        #[command(flatten)]
        db: DbOpt,
    },
}

pub fn run(args: CacheArgs) -> i32 {
    match args.command {
        CacheCmd::Ls { json, db } => ls(&db, json),
        CacheCmd::Clear { older_than, db } => clear(&db, older_than),
    }
}

fn ls(db: &DbOpt, json: bool) -> i32 {
    let store = match db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let entries = match store.cache_list() {
        Ok(e) => e,
        Err(e) => return fail(&e),
    };
    if json {
        let v: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "key": e.key, "workflow": e.workflow, "step": e.step, "run": e.run_id,
                    "created": e.created.to_rfc3339(), "outputs": e.outputs,
                    "products": e.products.iter().map(|(p, h)| serde_json::json!({
                        "path": p.to_string_lossy(), "sha256": h,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        crate::stdio::outln!("{}", serde_json::Value::from(v));
        return exit::OK;
    }
    if entries.is_empty() {
        crate::stdio::outln!("the cache is empty");
        return exit::OK;
    }
    let now = Timestamp::now();
    crate::stdio::outln!(
        "{:<12}  {:<16}  {:<16}  {:<26}  {:>8}  PRODUCTS",
        "KEY",
        "WORKFLOW",
        "STEP",
        "RUN",
        "AGE"
    );
    for e in &entries {
        let age = crate::model::time::human_duration(now.since(e.created));
        crate::stdio::outln!(
            "{:<12}  {:<16}  {:<16}  {:<26}  {:>8}  {}",
            e.key.get(..12).unwrap_or(&e.key),
            e.workflow,
            e.step,
            e.run_id,
            age,
            e.products.len()
        );
    }
    exit::OK
}

fn clear(db: &DbOpt, older_than: Option<std::time::Duration>) -> i32 {
    let store = match db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let before = older_than.map(|d| Timestamp(Timestamp::now().0 - d.as_millis() as i64));
    let removed = match store.cache_remove(before) {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };
    let keep: HashSet<String> = match store.cache_list() {
        Ok(l) => l
            .into_iter()
            .flat_map(|e| e.products.into_iter().map(|(_, h)| h))
            .collect(),
        Err(e) => return fail(&e),
    };
    let files = collect_cache_garbage(&store.cache_dir(), &keep);
    crate::stdio::outln!(
        "removed {removed} cache entr{} and {files} stored file{}",
        if removed == 1 { "y" } else { "ies" },
        if files == 1 { "" } else { "s" }
    );
    exit::OK
}
