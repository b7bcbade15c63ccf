//! The DAGs of issue 62, written for baton, make and ninja alike: a layered DAG (N steps
//! in 10 layers, each node after the first layer needing 2 random nodes of the layer
//! before, seed 42) and a deep chain (each step needing the one before), every step the
//! same command.
use std::fmt::Write as _;

/// A small generator of our own (splitmix64), so that the DAG is the same on every
/// machine and build without a dependency's version deciding it.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Each step's needs, as indices of earlier steps.
pub(crate) type Needs = Vec<Vec<usize>>;

/// `steps` in `layers` layers; each node after the first layer needs two distinct random
/// nodes of the layer before (one when the layer has a single node).
pub(crate) fn layered(steps: usize, layers: usize, seed: u64) -> Needs {
    let width = steps / layers;
    let mut rng = Rng::new(seed);
    let mut needs = Vec::with_capacity(width * layers);
    for l in 0..layers {
        for _ in 0..width {
            if l == 0 {
                needs.push(Vec::new());
                continue;
            }
            let base = (l - 1) * width;
            let a = rng.below(width);
            let mut b = rng.below(width);
            while b == a && width > 1 {
                b = rng.below(width);
            }
            let mut n = vec![base + a];
            if b != a {
                n.push(base + b);
            }
            needs.push(n);
        }
    }
    needs
}

/// `steps` in a line, each needing the one before.
pub(crate) fn chain(steps: usize) -> Needs {
    (0..steps)
        .map(|i| if i == 0 { Vec::new() } else { vec![i - 1] })
        .collect()
}

fn id(i: usize) -> String {
    format!("s{i}")
}

/// The steps no other step needs: what make's `all` and ninja's `default` ask for.
fn sinks(needs: &Needs) -> Vec<usize> {
    let mut needed = vec![false; needs.len()];
    for n in needs.iter().flatten() {
        needed[*n] = true;
    }
    (0..needs.len()).filter(|&i| !needed[i]).collect()
}

/// The workflow file baton runs.
pub(crate) fn toml(name: &str, needs: &Needs, cmd: &str, max_parallel: usize) -> String {
    let mut t = format!("name = \"{name}\"\nmax_parallel = {max_parallel}\n");
    for (i, n) in needs.iter().enumerate() {
        let _ = write!(t, "\n[[step]]\nid = \"{}\"\nrun = \"{cmd}\"\n", id(i));
        if !n.is_empty() {
            let quoted: Vec<String> = n.iter().map(|&j| format!("\"{}\"", id(j))).collect();
            let _ = writeln!(t, "needs = [{}]", quoted.join(", "));
        }
    }
    t
}

/// The Makefile, as make users write it: every target phony on one line, the bare
/// command as the recipe.
pub(crate) fn makefile(needs: &Needs, cmd: &str) -> String {
    let all: Vec<String> = (0..needs.len()).map(id).collect();
    let mut m = format!(".PHONY: all {}\n", all.join(" "));
    let top: Vec<String> = sinks(needs).into_iter().map(id).collect();
    let _ = writeln!(m, "all: {}", top.join(" "));
    for (i, n) in needs.iter().enumerate() {
        let deps: Vec<String> = n.iter().map(|&j| id(j)).collect();
        let _ = write!(m, "{}: {}\n\t{cmd}\n", id(i), deps.join(" "));
    }
    m
}

/// The build.ninja: one edge per node whose output is never made, so every command runs
/// on every run, as make's phony targets do.
pub(crate) fn ninja(needs: &Needs, cmd: &str) -> String {
    let mut b = format!("rule run\n  command = {cmd}\n");
    for (i, n) in needs.iter().enumerate() {
        let deps: Vec<String> = n.iter().map(|&j| id(j)).collect();
        let _ = writeln!(b, "build {}: run {}", id(i), deps.join(" "));
    }
    let top: Vec<String> = sinks(needs).into_iter().map(id).collect();
    let _ = writeln!(b, "default {}", top.join(" "));
    b
}
