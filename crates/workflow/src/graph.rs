//! Graph analysis over `needs` (indices): longest-path layers, cycles, dependants, and a
//! batched ancestor check that stays linear-ish for 10,000+ steps.

pub(crate) struct Analysis {
    /// Longest-path layers (empty when there are cycles).
    pub layers: Vec<Vec<usize>>,
    /// Each cycle as step indices, starting at its lowest index, in `needs` direction.
    pub cycles: Vec<Vec<usize>>,
}

/// `needs[i]`: the steps step `i` needs (deduplicated, valid indices); slices of the
/// plan's own lists will do, so the loader need not copy 100,000 of them.
pub(crate) fn analyse<N: AsRef<[usize]>>(needs: &[N]) -> Analysis {
    let n = needs.len();
    let mut pending: Vec<usize> = needs.iter().map(|ns| ns.as_ref().len()).collect();
    let mut dependants = vec![Vec::new(); n];
    for (i, ns) in needs.iter().enumerate() {
        for &d in ns.as_ref() {
            dependants[d].push(i);
        }
    }
    let mut layer = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut done = vec![false; n];
    let mut head = 0;
    while head < queue.len() {
        let s = queue[head];
        head += 1;
        done[s] = true;
        for &d in &dependants[s] {
            layer[d] = layer[d].max(layer[s] + 1);
            pending[d] -= 1;
            if pending[d] == 0 {
                queue.push(d);
            }
        }
    }
    if queue.len() < n {
        return Analysis {
            layers: Vec::new(),
            cycles: find_cycles(needs, &done),
        };
    }
    let depth = layer.iter().max().map_or(0, |m| m + 1);
    let mut layers = vec![Vec::new(); depth];
    for (i, &l) in layer.iter().enumerate() {
        layers[l].push(i);
    }
    Analysis {
        layers,
        cycles: Vec::new(),
    }
}

/// Every step left after Kahn's algorithm has an unfinished need, so following unfinished
/// needs from any of them must come back to a step already on the path: a cycle.
fn find_cycles<N: AsRef<[usize]>>(needs: &[N], done: &[bool]) -> Vec<Vec<usize>> {
    let n = needs.len();
    let mut visited = vec![false; n];
    let mut on_path = vec![usize::MAX; n];
    let mut cycles = Vec::new();
    for start in 0..n {
        if done[start] || visited[start] {
            continue;
        }
        let mut path = Vec::new();
        let mut cur = start;
        loop {
            if on_path[cur] != usize::MAX {
                let mut cycle = path[on_path[cur]..].to_vec();
                let min_pos = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| **s)
                    .map_or(0, |(p, _)| p);
                cycle.rotate_left(min_pos);
                cycles.push(cycle);
                break;
            }
            if visited[cur] {
                break;
            }
            visited[cur] = true;
            on_path[cur] = path.len();
            path.push(cur);
            match needs[cur].as_ref().iter().find(|&&d| !done[d]) {
                Some(&next) => cur = next,
                None => break,
            }
        }
        for &p in &path {
            on_path[p] = usize::MAX;
        }
    }
    cycles
}

pub(crate) fn dependants(steps: &[super::plan::Step]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); steps.len()];
    for s in steps {
        for &d in &s.needs {
            out[d].push(s.index);
        }
    }
    out
}

/// For each `(from, target)`: is `target` an ancestor of `from`? Processes targets 64
/// at a time with one bit mask per step, in topological (layer) order, so the cost is
/// O((steps + edges) × targets / 64) with O(steps) memory.
pub(crate) fn ancestors_hold(
    steps: &[super::plan::Step],
    layers: &[Vec<usize>],
    pairs: &[(usize, usize)],
) -> Vec<bool> {
    // Most references name a direct need: no graph walk for those.
    let mut result: Vec<bool> = pairs
        .iter()
        .map(|&(from, target)| steps[from].needs.contains(&target))
        .collect();
    let mut targets: Vec<usize> = pairs
        .iter()
        .zip(&result)
        .filter(|(_, direct)| !**direct)
        .map(|(&(_, t), _)| t)
        .collect();
    targets.sort_unstable();
    targets.dedup();
    let mut bit_of = vec![usize::MAX; steps.len()];
    let order: Vec<usize> = layers.iter().flatten().copied().collect();
    for (chunk_no, chunk) in targets.chunks(64).enumerate() {
        for (b, &t) in chunk.iter().enumerate() {
            bit_of[t] = chunk_no * 64 + b;
        }
        let base = chunk_no * 64;
        let mut mask = vec![0u64; steps.len()];
        for &s in &order {
            let mut m = 0u64;
            for &d in &steps[s].needs {
                m |= mask[d];
                let b = bit_of[d];
                if b != usize::MAX && b >= base && b < base + 64 {
                    m |= 1 << (b - base);
                }
            }
            mask[s] = m;
        }
        for (k, &(from, target)) in pairs.iter().enumerate() {
            let b = bit_of[target];
            if !result[k] && b >= base && b < base + 64 {
                result[k] = mask[from] & (1 << (b - base)) != 0;
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_longest_path() {
        // 0 → 1 → 3, 0 → 3, 2 alone.
        let needs = vec![vec![], vec![0], vec![], vec![0, 1]];
        let a = analyse(&needs);
        assert!(a.cycles.is_empty());
        assert_eq!(a.layers, vec![vec![0, 2], vec![1], vec![3]]);
    }

    #[test]
    fn cycles_are_found_and_rotated() {
        // 0 needs 2, 1 needs 0, 2 needs 1: 0 -> 2 -> 1 -> 0; 3 needs 3.
        let needs = vec![vec![2], vec![0], vec![1], vec![3], vec![]];
        let a = analyse(&needs);
        assert!(a.layers.is_empty());
        assert_eq!(a.cycles, vec![vec![0, 2, 1], vec![3]]);
    }

    #[test]
    fn ancestor_check_matches_plan_semantics() {
        use crate::load_str;
        let src = "name = \"x\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n[[step]]\nid = \"b\"\nneeds = [\"a\"]\nrun = \"true\"\n[[step]]\nid = \"c\"\nneeds = [\"b\"]\nrun = \"true\"\n[[step]]\nid = \"d\"\nrun = \"true\"\n";
        let plan = load_str(src, std::path::Path::new("x.toml")).unwrap();
        let pairs: Vec<(usize, usize)> = (0..4).flat_map(|f| (0..4).map(move |t| (f, t))).collect();
        let got = ancestors_hold(&plan.steps, &plan.layers, &pairs);
        for (k, &(f, t)) in pairs.iter().enumerate() {
            assert_eq!(got[k], plan.is_ancestor(t, f), "{t} ancestor of {f}");
        }
    }

    #[test]
    fn a_step_downstream_of_a_cycle_is_not_reported_as_one() {
        let needs = vec![vec![1], vec![0], vec![0]];
        let a = analyse(&needs);
        assert_eq!(a.cycles, vec![vec![0, 1]]);
    }
}
