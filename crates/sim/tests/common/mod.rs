//! What the simulator's test modules share.
use baton_sim::{Config, Mix, Outcome};
use std::sync::OnceLock;

/// `--mix hands` seeds 0–9 at the default actions, run once for every test that
/// reads them (the regression tests of each hand: a seed takes seconds).
pub(crate) fn hands_seeds() -> &'static [Outcome] {
    static SEEDS: OnceLock<Vec<Outcome>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        (0..10)
            .map(|seed| {
                baton_sim::run(Config {
                    seed,
                    actions: baton_sim::DEFAULT_ACTIONS,
                    bug: None,
                    mix: Mix::Hands,
                })
                .unwrap_or_else(|e| panic!("seed {seed} --mix hands: the simulation failed: {e}"))
            })
            .collect()
    })
}

/// How many lines of the scenarios' histories say `what`.
pub(crate) fn said(outcomes: &[Outcome], what: &str) -> usize {
    outcomes
        .iter()
        .flat_map(|o| o.history.iter())
        .filter(|l| l.contains(what))
        .count()
}

/// Whether `--mix accounts` can run here (root, and the accounts of
/// tests/accounts.sh); said `SKIPPED: {what}` when not. `.ci/run` made the accounts as
/// root (`BATON_SIM_REQUIRE_ACCOUNTS`): there they must be there.
pub(crate) fn accounts_here(what: &str) -> bool {
    let Some(why) = baton_sim::accounts_missing() else {
        return true;
    };
    assert!(
        std::env::var_os("BATON_SIM_REQUIRE_ACCOUNTS").is_none(),
        "BATON_SIM_REQUIRE_ACCOUNTS is set and --mix accounts cannot run: {why}"
    );
    eprintln!("SKIPPED: {what}: {why}");
    false
}
