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
