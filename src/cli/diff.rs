//! `baton diff RUN_A RUN_B` (issue 58 point 8, as Airflow 3's DAG versions): what
//! changed between two runs, as a unified diff of the workflow texts they recorded and
//! of their params. Exit 0 when they are the same, 1 when they differ, 2 for a run
//! that is not there (as `diff` exits).
use super::db::{DbOpt, fail};
use super::exit;
use crate::store::RunRecord;
use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  baton diff 01jd4 01jd9   # what changed since the last good run\n\nExit status: 0 the same text and params, 1 they differ, 2 a run not found."
)]
pub struct DiffArgs {
    /// The first run (a unique prefix is enough): the diff's `---` side.
    pub run_a: String,
    /// The second run: the diff's `+++` side.
    pub run_b: String,
    #[command(flatten)]
    pub db: DbOpt,
}

pub fn run(a: DiffArgs) -> i32 {
    let store = match a.db.open() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let mut records = Vec::with_capacity(2);
    for prefix in [&a.run_a, &a.run_b] {
        match store.resolve_run(prefix).and_then(|id| store.run(&id)) {
            Ok(r) => records.push(r),
            Err(e) => return fail(&e),
        }
    }
    let out = text(&records[0], &records[1]);
    crate::stdio::out!("{out}");
    if out.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// The two runs' differences as `diff -u` prints them, empty when there is none
/// (pure): `model::run_diff`, the one computation the console's Runs tab shows too.
pub fn text(a: &RunRecord, b: &RunRecord) -> String {
    let lines = crate::session::diff_records(a, b);
    crate::sanitize::for_terminal(&crate::model::run_diff::text(&lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::core::workflow_hash;

    fn record(id: &str, text: &str, params: &str) -> RunRecord {
        RunRecord {
            id: id.into(),
            workflow: "w".into(),
            source_path: "/w/w.toml".into(),
            source_text: text.into(),
            params_json: params.into(),
            operator: "o".into(),
            state: crate::model::RunState::Succeeded,
            driven_by: None,
            started_at: crate::model::Timestamp(0),
            finished_at: None,
            last_seq: 0,
        }
    }

    #[test]
    fn the_same_text_and_params_make_no_diff_and_a_change_is_a_unified_diff() {
        let a = record("A", "name = \"w\"\nx = 1\n", r#"{"v":"1"}"#);
        assert_eq!(text(&a, &record("B", &a.source_text, &a.params_json)), "");
        let b = record("B", "name = \"w\"\nx = 2\n", r#"{"v":"2"}"#);
        let d = text(&a, &b);
        let h = workflow_hash(&a.source_text);
        assert!(
            d.starts_with(&format!("--- run A workflow (text {h}, /w/w.toml)\n")),
            "{d}"
        );
        assert!(d.contains("-x = 1\n+x = 2\n"), "{d}");
        assert!(d.contains("--- run A params\n+++ run B params\n"), "{d}");
        assert!(d.contains("-v=1\n+v=2\n"), "{d}");
    }
}
