//! A world's path through the one wake-up, as a test reads it: each piece of `wake`
//! a world calls (a start, a source gathered from, an input decided, a commit and its
//! acts) traced on this thread while a test asks, and checked against the one order
//! ([`check`]), which the driver's and the simulator's tests both ask: a world that
//! decided what it never gathered, gathered out of order or committed what it never
//! decided took a path of its own.
use super::Source;
use std::cell::RefCell;

/// A piece of a wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// An engine's start on a run it just took (`wake::start`).
    Start,
    /// A source gathered from (a pool slot: each one asked for).
    Gather(Source),
    /// One input decided.
    Decide,
    /// A commit, and then its acts (`wake::execute`).
    Execute,
}

thread_local! {
    /// The pieces traced on this thread, while a test traces them.
    static PATH: RefCell<Option<Vec<Piece>>> = const { RefCell::new(None) };
}

/// Trace this thread's pieces from now on (`true`), or stop: what was traced since.
pub fn trace(on: bool) -> Vec<Piece> {
    PATH.with_borrow_mut(|p| std::mem::replace(p, on.then(Vec::new)).unwrap_or_default())
}

/// `piece` traced, when a test traces.
pub(super) fn traced(piece: Piece) {
    PATH.with_borrow_mut(|p| {
        if let Some(p) = p {
            p.push(piece);
        }
    });
}

/// Where a traced path left the one wake-up's order (the index of the piece).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffPath {
    #[error("a start's commands decided, not committed, at {0}")]
    StartNotCommitted(usize),
    #[error("an ended run's start not committed at {0}")]
    EndedStartNotCommitted(usize),
    #[error("a wake-up gathered out of order at {0}")]
    GatheredOutOfOrder(usize),
    #[error("a wake-up's inputs decided, not committed, at {0}")]
    DecidedNotCommitted(usize),
    #[error("{0:?} begins no piece of a wake-up at {1}")]
    NoPiece(Piece, usize),
}

/// Whether `path` is made of whole pieces of the one wake-up, in order: a wake-up
/// (its admission, commands, each slot asked for, the world's news; then, if anything
/// came in, each input decided and one commit), a start (its commit, then the commands
/// claimed and decided; or, the run ended, the commands claimed and decided in the
/// commit that ends it), or a commit of what waited (nothing decided). The error says
/// where the path left the order.
pub fn check(path: &[Piece]) -> Result<(), OffPath> {
    use Piece::{Decide, Execute, Gather, Start};
    let mut i = 0;
    let at = |i: usize| path.get(i).copied();
    let decided = |mut i: usize| {
        while at(i) == Some(Decide) {
            i += 1;
        }
        i
    };
    while i < path.len() {
        let begun = i;
        i = match path[i] {
            Execute => i + 1,
            Start if at(i + 1) == Some(Execute) => match at(i + 2) {
                Some(Gather(Source::Commands)) => match decided(i + 3) {
                    n if n == i + 3 => n,
                    n if at(n) == Some(Execute) => n + 1,
                    n => return Err(OffPath::StartNotCommitted(n)),
                },
                _ => i + 2,
            },
            Start if at(i + 1) == Some(Gather(Source::Commands)) => match decided(i + 2) {
                n if at(n) == Some(Execute) => n + 1,
                n => return Err(OffPath::EndedStartNotCommitted(n)),
            },
            Gather(Source::Admission) if at(i + 1) == Some(Gather(Source::Commands)) => {
                let mut n = i + 2;
                while at(n) == Some(Gather(Source::Slots)) {
                    n += 1;
                }
                if at(n) != Some(Gather(Source::World)) {
                    return Err(OffPath::GatheredOutOfOrder(n));
                }
                match decided(n + 1) {
                    d if d == n + 1 => d,
                    d if at(d) == Some(Execute) => d + 1,
                    d => return Err(OffPath::DecidedNotCommitted(d)),
                }
            }
            other => return Err(OffPath::NoPiece(other, begun)),
        };
    }
    Ok(())
}
