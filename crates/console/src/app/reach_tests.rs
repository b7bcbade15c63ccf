//! Issue 76 point 1: every step of the graph is reachable by keys (↑↓ within a layer,
//! ←→ to the nearest step of the next layer), whatever the graph's shape.
use super::*;
use crate::fixtures;
use baton_model::{RunView, StepState};
use std::collections::BTreeSet;

/// A run whose steps need as `needs` says (step `i` needs the steps listed at `i`).
fn shaped(needs: &[&[usize]]) -> RunView {
    let mut v = fixtures::release();
    let template = v.steps[0].clone();
    v.steps = needs
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut s = template.clone();
            s.id = format!("s{i}");
            s.needs = n.to_vec();
            s.state = StepState::Pending;
            s.has_gate = false;
            s.parent = None;
            s.fan = None;
            s
        })
        .collect();
    v.gates.clear();
    v.errors.clear();
    v
}

/// Every step reached from the first one by the graph's keys, as the DAG tab moves.
fn reached(v: &RunView) -> BTreeSet<usize> {
    let mut ui = UiState::new("alice");
    ui.list_mode = Some(false);
    ui.follow = false;
    let keys = [Action::Up, Action::Down, Action::Left, Action::Right];
    let mut seen = BTreeSet::from([0]);
    let mut todo = vec![0];
    while let Some(from) = todo.pop() {
        for k in &keys {
            ui.selected = from;
            update(&mut ui, v, k.clone());
            assert!(!ui.follow, "a key moves the selection");
            let to = ui.focus(v).expect("a step is selected");
            if seen.insert(to) {
                todo.push(to);
            }
        }
    }
    seen
}

#[test]
fn every_step_of_every_shape_is_reached_by_keys() {
    let shapes: &[(&str, &[&[usize]])] = &[
        // The issue's: three roots → reindex → publish.
        ("many roots", &[&[], &[], &[], &[0, 1, 2], &[3]]),
        ("diamond", &[&[], &[0], &[0], &[1, 2]]),
        (
            "wide layer",
            &[&[], &[0], &[0], &[0], &[0], &[0], &[0], &[0], &[1]],
        ),
        (
            "fan-out and in",
            &[&[], &[0], &[0], &[0], &[0], &[0], &[1, 2, 3, 4, 5], &[6]],
        ),
        // Layers of 1, 5, 1, 4, 1: a step past a narrow layer's width.
        (
            "narrow after wide",
            &[
                &[],
                &[0],
                &[0],
                &[0],
                &[0],
                &[0],
                &[5],
                &[6],
                &[6],
                &[6],
                &[6],
                &[10],
            ],
        ),
        // Skipped layers: edges with dummy slots between.
        ("long edges", &[&[], &[], &[0], &[2], &[1, 3], &[0]]),
        // Three roots → reindex → publish, which needs a root too: a dummy slot beside
        // reindex carries that edge.
        ("join past a dummy", &[&[], &[], &[], &[0, 1, 2], &[3, 0]]),
    ];
    for (name, needs) in shapes {
        let v = shaped(needs);
        let all: BTreeSet<usize> = (0..v.steps.len()).collect();
        assert_eq!(reached(&v), all, "{name}: every step selected by keys");
        next_layer_from_every_step(name, &v);
    }
}

/// From every step, → selects a step of the next layer and ← one of the layer before,
/// wherever the step sits in its own layer.
fn next_layer_from_every_step(name: &str, v: &RunView) {
    let mut ui = UiState::new("alice");
    ui.list_mode = Some(false);
    ui.follow = false;
    let l = ui.layout(v);
    let depth = l.layers.len();
    for from in 0..v.steps.len() {
        let layer = l.place[from].0;
        for (key, to_layer) in [
            (Action::Right, layer + 1),
            (Action::Left, layer.wrapping_sub(1)),
        ] {
            if to_layer >= depth {
                continue;
            }
            ui.selected = from;
            update(&mut ui, v, key.clone());
            let to = ui.focus(v).expect("a step is selected");
            assert_eq!(
                l.place[to].0, to_layer,
                "{name}: {key:?} from {} selects a step of layer {to_layer}",
                v.steps[from].id
            );
        }
    }
}

/// The walk: three roots → `reindex` → `publish` (which needs a root too), and
/// → from `reindex` selects `publish`.
#[test]
fn right_from_the_join_of_many_roots_selects_the_next_step() {
    let v = shaped(&[&[], &[], &[], &[0, 1, 2], &[3, 0]]);
    let mut ui = UiState::new("alice");
    ui.list_mode = Some(false);
    ui.follow = false;
    ui.selected = 3;
    update(&mut ui, &v, Action::Right);
    assert_eq!(ui.focus(&v), Some(4), "→ from the join selects publish");
    update(&mut ui, &v, Action::Left);
    assert_eq!(ui.focus(&v), Some(3), "← comes back");
}
