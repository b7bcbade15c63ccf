//! References between the run-wide `env` entries (`A = "${{ env.B }}/x"`): the order in
//! which to render them (an entry after the entries it reads) and the cycles that make
//! any order impossible (refused at load time).
use super::graph;
use super::template::{Template, TemplateRef};
use std::collections::BTreeMap;

/// For each entry (in name order), the indices of the entries it reads.
fn reads(env: &BTreeMap<String, Template>) -> Vec<Vec<usize>> {
    let index: BTreeMap<&str, usize> = env
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    env.values()
        .map(|t| {
            let mut out: Vec<usize> = t
                .refs()
                .filter_map(|r| match r {
                    TemplateRef::Env(name) => index.get(name.as_str()).copied(),
                    _ => None,
                })
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect()
}

/// Every cycle of entries reading each other, each as names in reading direction
/// starting at its first name, closed (`["A", "B", "A"]`: A reads B, B reads A).
pub fn env_cycles(env: &BTreeMap<String, Template>) -> Vec<Vec<String>> {
    let names: Vec<&String> = env.keys().collect();
    graph::analyse(&reads(env))
        .cycles
        .into_iter()
        .map(|c| {
            let mut out: Vec<String> = c.iter().map(|&i| names[i].clone()).collect();
            out.push(names[c[0]].clone());
            out
        })
        .collect()
}

/// The entries in an order where each comes after those it reads (by name within a
/// level). With a cycle (which the loader refuses) the plain name order.
pub fn env_order(env: &BTreeMap<String, Template>) -> Vec<(&String, &Template)> {
    let entries: Vec<(&String, &Template)> = env.iter().collect();
    let analysis = graph::analyse(&reads(env));
    if !analysis.cycles.is_empty() {
        return entries;
    }
    analysis
        .layers
        .iter()
        .flatten()
        .map(|&i| entries[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_template;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, Template> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), parse_template(v).unwrap()))
            .collect()
    }

    #[test]
    fn an_entry_comes_after_the_entries_it_reads() {
        let e = env(&[
            ("A", "${{ env.B }}/a"),
            ("B", "${{ env.C }}"),
            ("C", "c"),
            ("D", "d"),
        ]);
        let order: Vec<&str> = env_order(&e).iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(order, ["C", "D", "B", "A"]);
        assert!(env_cycles(&e).is_empty());
    }

    #[test]
    fn cycles_are_named_in_reading_direction() {
        let e = env(&[
            ("A", "${{ env.B }}"),
            ("B", "x${{ env.A }}"),
            ("S", "${{ env.S }}"),
        ]);
        assert_eq!(env_cycles(&e), vec![vec!["A", "B", "A"], vec!["S", "S"]]);
        assert_eq!(env_order(&e).len(), 3);
    }
}
