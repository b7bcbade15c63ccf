//! Two runs' differences as they recorded them (issue 58 point 8): read from the store
//! and worked out by `model::run_diff`, the one computation `baton diff` prints and the
//! console's Runs tab shows.
use baton_model::run_diff::{self, Line, Side};
use baton_store::{RunRecord, Store, StoreError};

/// The differences of runs `a` and `b` (whole ids), `a` the `---` side; none when they
/// recorded the same workflow text and params.
pub(crate) fn runs(store: &Store, a: &str, b: &str) -> Result<Vec<Line>, StoreError> {
    Ok(records(&store.run(a)?, &store.run(b)?))
}

/// The differences of two runs' records (pure).
pub fn records(a: &RunRecord, b: &RunRecord) -> Vec<Line> {
    let (ha, hb) = (
        baton_core::workflow_hash(&a.source_text),
        baton_core::workflow_hash(&b.source_text),
    );
    let (pa, pb) = (
        a.source_path.display().to_string(),
        b.source_path.display().to_string(),
    );
    let (sa, sb) = (secret_params(a), secret_params(b));
    run_diff::lines(
        &Side {
            run: &a.id,
            hash: &ha,
            path: &pa,
            text: &a.source_text,
            params_json: &a.params_json,
            secret: &sa,
        },
        &Side {
            run: &b.id,
            hash: &hb,
            path: &pb,
            text: &b.source_text,
            params_json: &b.params_json,
            secret: &sb,
        },
    )
}

/// The params the run's recorded workflow declares secret (none when the recorded text
/// no longer loads: its masked values still say which).
fn secret_params(r: &RunRecord) -> Vec<String> {
    let signers = baton_workflow::SignersFrom::Recorded(None);
    baton_workflow::load_str_with(&r.source_text, &r.source_path, signers)
        .map(|plan| {
            plan.params
                .iter()
                .filter(|p| p.secret)
                .map(|p| p.name.clone())
                .collect()
        })
        .unwrap_or_default()
}
