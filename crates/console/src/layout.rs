//! Pure DAG layout (Sugiyama style): longest-path layers, a dummy node on every layer an
//! edge skips (so edges only join adjacent layers), then barycenter sweeps that reorder
//! each layer to reduce edge crossings. Layers become columns on screen.

/// One slot in a layer: a step, or a dummy that carries a long edge through the layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub step: Option<usize>,
    /// Rows (indices into the next layer) this slot has edges to.
    pub next: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DagLayout {
    pub layers: Vec<Vec<Slot>>,
    /// For each step: (layer, row).
    pub place: Vec<(usize, usize)>,
    /// Widest label per layer, filled in by whoever knows the labels (the console caches it).
    pub label_width: Vec<usize>,
    /// Per layer: the edges to the next layer, and whether they are too tangled to draw
    /// one by one (counted once here: a frame of a 10,000-step graph must not count
    /// every layer's crossings again).
    gaps: Vec<(usize, bool)>,
}

impl DagLayout {
    pub fn height(&self) -> usize {
        self.layers.iter().map(|l| l.len()).max().unwrap_or(0)
    }

    /// Total edge crossings between adjacent layers.
    pub fn crossings(&self) -> usize {
        self.layers.iter().map(|l| layer_crossings(l)).sum()
    }

    /// Edges from layer `l` to the next.
    pub fn gap_edges(&self, l: usize) -> usize {
        self.gaps.get(l).map_or(0, |g| g.0)
    }

    /// Whether the edges from layer `l` to the next are too tangled to draw one by one
    /// (more crossings than edges, and enough edges to matter): the console draws them
    /// as one labelled bundle instead of a `┼` grid.
    pub fn dense_gap(&self, l: usize) -> bool {
        self.gaps.get(l).is_some_and(|g| g.1)
    }

    /// How far the layers' steps are from plan order: pairs of steps of one layer shown
    /// in the opposite order to the workflow's (dummies left out).
    pub fn disorder(&self) -> usize {
        self.layers
            .iter()
            .map(|l| inversions(l.iter().filter_map(|s| s.step).collect()))
            .sum()
    }
}

/// Fewer edges than this between two layers are always drawn one by one.
const DENSE_EDGES: usize = 12;

/// What a reordering pays for every pair of steps it shows out of plan order, in
/// crossings it must remove: a layer is reordered only for a real gain, so an ordered
/// layer (`l0-n0 … l0-n49`) is not scrambled to save a crossing or two.
const DISORDER_COST: f64 = 0.5;

/// Longest-path layer of each step: 0 for steps without needs, else 1 + the deepest need.
/// Needs out of range, and steps on a cycle (a validated plan has none), are ignored.
pub(crate) fn longest_path_layers(needs: &[Vec<usize>]) -> Vec<usize> {
    let n = needs.len();
    let mut indeg = vec![0usize; n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (v, ns) in needs.iter().enumerate() {
        for &u in ns {
            if u < n && u != v {
                indeg[v] += 1;
                children[u].push(v);
            }
        }
    }
    let mut layer = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let mut head = 0;
    while head < queue.len() {
        let u = queue[head];
        head += 1;
        for &v in &children[u] {
            layer[v] = layer[v].max(layer[u] + 1);
            indeg[v] -= 1;
            if indeg[v] == 0 {
                queue.push(v);
            }
        }
    }
    layer
}

/// Layers in plan order, without crossing reduction (the baseline the sweeps improve on).
#[cfg(test)]
pub(crate) fn naive(needs: &[Vec<usize>]) -> DagLayout {
    build(needs, 0)
}

/// Layers with `sweeps` rounds of barycenter ordering (down then up); the best order seen wins.
pub fn layout(needs: &[Vec<usize>]) -> DagLayout {
    build(needs, 4)
}

fn build(needs: &[Vec<usize>], sweeps: usize) -> DagLayout {
    let n = needs.len();
    let layer = longest_path_layers(needs);
    let depth = layer.iter().max().map_or(0, |m| m + 1);
    // Nodes: steps first, dummies appended. `succ[x]` = nodes in the next layer.
    let mut node_layer = layer.clone();
    let mut node_step: Vec<Option<usize>> = (0..n).map(Some).collect();
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (v, ns) in needs.iter().enumerate() {
        for &u in ns {
            if u >= n || layer[u] >= layer[v] {
                continue;
            }
            let mut prev = u;
            for l in layer[u] + 1..layer[v] {
                let d = node_layer.len();
                node_layer.push(l);
                node_step.push(None);
                succ.push(Vec::new());
                succ[prev].push(d);
                prev = d;
            }
            succ[prev].push(v);
        }
    }
    let total = node_layer.len();
    let mut pred: Vec<Vec<usize>> = vec![Vec::new(); total];
    for (u, ss) in succ.iter().enumerate() {
        for &v in ss {
            pred[v].push(u);
        }
    }
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for x in 0..total {
        order[node_layer[x]].push(x);
    }
    let mut pos = vec![0usize; total];
    let index = |order: &Vec<Vec<usize>>, pos: &mut Vec<usize>| {
        for l in order {
            for (i, &x) in l.iter().enumerate() {
                pos[x] = i;
            }
        }
    };
    index(&order, &mut pos);
    let count = |order: &Vec<Vec<usize>>, pos: &Vec<usize>| score(order, pos, &succ, n);
    let mut best = order.clone();
    let mut best_count = count(&order, &pos);
    for sweep in 0..sweeps {
        if best_count == 0.0 {
            break;
        }
        let down = sweep % 2 == 0;
        let layers: Vec<usize> = if down {
            (1..depth).collect()
        } else {
            (0..depth.saturating_sub(1)).rev().collect()
        };
        for l in layers {
            let neighbours = if down { &pred } else { &succ };
            reorder(&mut order[l], neighbours, &mut pos);
        }
        let c = count(&order, &pos);
        if c < best_count {
            best_count = c;
            best = order.clone();
        }
    }
    index(&best, &mut pos);
    let layers: Vec<Vec<Slot>> = best
        .iter()
        .map(|l| {
            l.iter()
                .map(|&x| {
                    let mut next: Vec<usize> = succ[x].iter().map(|&v| pos[v]).collect();
                    next.sort_unstable();
                    Slot {
                        step: node_step[x],
                        next,
                    }
                })
                .collect()
        })
        .collect();
    let place = (0..n).map(|v| (layer[v], pos[v])).collect();
    let gaps = layers.iter().map(|l| gap(l)).collect();
    DagLayout {
        layers,
        place,
        label_width: Vec::new(),
        gaps,
    }
}

/// Crossings, plus the readability lost to steps shown out of plan order (the first
/// `n` nodes are steps, the rest dummies).
fn score(order: &[Vec<usize>], pos: &[usize], succ: &[Vec<usize>], n: usize) -> f64 {
    let crossings: usize = (0..order.len().saturating_sub(1))
        .map(|l| {
            let mut edges: Vec<(usize, usize)> = order[l]
                .iter()
                .flat_map(|&u| succ[u].iter().map(move |&v| (pos[u], pos[v])))
                .collect();
            edges.sort_unstable();
            inversions(edges.into_iter().map(|e| e.1).collect())
        })
        .sum();
    let disorder: usize = order
        .iter()
        .map(|l| inversions(l.iter().filter(|&&x| x < n).copied().collect()))
        .sum();
    crossings as f64 + DISORDER_COST * disorder as f64
}

/// One layer sorted by its nodes' barycenters over `neighbours` (ties keep their
/// order), and `pos` updated to match.
fn reorder(layer: &mut Vec<usize>, neighbours: &[Vec<usize>], pos: &mut [usize]) {
    let mut keyed: Vec<(f64, usize, usize)> = layer
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let ns = &neighbours[x];
            let bc = if ns.is_empty() {
                i as f64
            } else {
                ns.iter().map(|&y| pos[y] as f64).sum::<f64>() / ns.len() as f64
            };
            (bc, i, x)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    *layer = keyed.into_iter().map(|k| k.2).collect();
    for (i, &x) in layer.iter().enumerate() {
        pos[x] = i;
    }
}

/// The edges from `layer` to the next, and whether they are dense (see `dense_gap`).
fn gap(layer: &[Slot]) -> (usize, bool) {
    let edges = layer.iter().map(|s| s.next.len()).sum();
    (
        edges,
        edges >= DENSE_EDGES && layer_crossings(layer) > edges,
    )
}

fn layer_crossings(layer: &[Slot]) -> usize {
    let lower: Vec<usize> = layer.iter().flat_map(|s| s.next.iter().copied()).collect();
    inversions(lower)
}

/// Number of pairs i < j with v[i] > v[j] (merge sort, O(n log n)).
fn inversions(mut v: Vec<usize>) -> usize {
    fn sort(v: &mut [usize], buf: &mut Vec<usize>) -> usize {
        let n = v.len();
        if n < 2 {
            return 0;
        }
        let mid = n / 2;
        let mut c = sort(&mut v[..mid], buf) + sort(&mut v[mid..], buf);
        buf.clear();
        let (mut i, mut j) = (0, mid);
        while i < mid && j < n {
            if v[i] <= v[j] {
                buf.push(v[i]);
                i += 1;
            } else {
                buf.push(v[j]);
                c += mid - i;
                j += 1;
            }
        }
        buf.extend_from_slice(&v[i..mid]);
        buf.extend_from_slice(&v[j..n]);
        v.copy_from_slice(buf);
        c
    }
    let mut buf = Vec::with_capacity(v.len());
    sort(&mut v, &mut buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_longest_paths() {
        // a; b<-a; c<-a,b; d (alone); e<-c
        let needs = vec![vec![], vec![0], vec![0, 1], vec![], vec![2]];
        assert_eq!(longest_path_layers(&needs), vec![0, 1, 2, 0, 3]);
        let l = layout(&needs);
        assert_eq!(l.layers.len(), 4);
        // a -> c skips layer 1: a dummy carries it.
        assert_eq!(l.layers[1].iter().filter(|s| s.step.is_none()).count(), 1);
        for (v, &(layer, row)) in l.place.iter().enumerate() {
            assert_eq!(l.layers[layer][row].step, Some(v));
        }
    }

    #[test]
    fn crossing_reduction_beats_plan_order() {
        // Two chains declared interleaved so plan order crosses: a1 a2 | b2 b1 etc.
        // layer 0: p, q, r ; layer 1: x<-r, y<-q, z<-p  (a full reversal: 3 crossings)
        let needs = vec![
            vec![],
            vec![],
            vec![],
            vec![2],
            vec![1],
            vec![0],
            vec![3],
            vec![5],
        ];
        let before = naive(&needs).crossings();
        let after = layout(&needs).crossings();
        assert!(before >= 3, "fixture should cross in plan order: {before}");
        assert_eq!(after, 0);
    }

    /// A wide layered DAG whose plan order is readable (each node needs the same and the
    /// next node of the layer before): the layers keep that order.
    #[test]
    fn an_ordered_layer_is_not_scrambled() {
        let (layers, width) = (20usize, 50usize);
        let needs: Vec<Vec<usize>> = (0..layers * width)
            .map(|v| {
                let (l, i) = (v / width, v % width);
                if l == 0 {
                    vec![]
                } else {
                    vec![(l - 1) * width + i, (l - 1) * width + (i + 1) % width]
                }
            })
            .collect();
        let l = layout(&needs);
        let natural = naive(&needs);
        eprintln!(
            "crossings {} (plan order {}), disorder {}",
            l.crossings(),
            natural.crossings(),
            l.disorder()
        );
        assert!(
            l.disorder() <= layers,
            "scrambled: {} pairs out of order",
            l.disorder()
        );
        let first: Vec<usize> = l.layers[0].iter().filter_map(|s| s.step).take(5).collect();
        assert_eq!(first, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn inversions_counts_pairs() {
        assert_eq!(inversions(vec![3, 2, 1]), 3);
        assert_eq!(inversions(vec![1, 2, 3]), 0);
        assert_eq!(inversions(vec![2, 1, 3, 1]), 3);
    }

    #[test]
    fn cycles_and_bad_indices_do_not_hang_or_panic() {
        let needs = vec![vec![1], vec![0], vec![99], vec![2, 2]];
        let l = layout(&needs);
        assert_eq!(l.place.len(), 4);
    }
}
