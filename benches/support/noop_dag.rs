//! The benches' no-op workflow: `layers` layers of `width` `builtin.noop` steps, each
//! step `s{l}_{i}` needing steps `i` and `i + 1` (mod `width`) of the layer before.
use std::fmt::Write as _;

pub(crate) fn noop_dag(layers: usize, width: usize) -> String {
    let mut toml = format!("name = \"noop-{layers}x{width}\"\nmax_parallel = 2\n");
    for l in 0..layers {
        for i in 0..width {
            let _ = write!(
                toml,
                "\n[[step]]\nid = \"s{l}_{i}\"\nuses = \"builtin.noop\"\n"
            );
            if l > 0 {
                let (p, next) = (l - 1, (i + 1) % width);
                let _ = writeln!(toml, "needs = [\"s{p}_{i}\", \"s{p}_{next}\"]");
            }
        }
    }
    toml
}
