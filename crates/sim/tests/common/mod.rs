//! What the simulator's test modules share.
use baton_sim::Outcome;

/// How many lines of the scenarios' histories say `what`.
pub(crate) fn said(outcomes: &[Outcome], what: &str) -> usize {
    outcomes
        .iter()
        .flat_map(|o| o.history.iter())
        .filter(|l| l.contains(what))
        .count()
}
