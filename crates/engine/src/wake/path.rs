//! A world's path through the one wake-up, as a test reads it: each piece of `wake`
//! a world calls (a start, a source gathered from, an input decided, a commit and its
//! acts) traced on this thread while a test asks, and checked against the one order
//! ([`check`]), which the driver's and the simulator's tests both ask: a world that
//! decided what it never gathered, gathered out of order or committed what it never
//! decided took a path of its own. A world whose engines' wake-ups interleave on one
//! thread (the simulator's `--mix interleave`, one store call at a time) names whose
//! pieces are traced ([`by`]), and each one's path is checked apart ([`trace_each`]).
use super::Source;
use std::cell::RefCell;
use std::collections::BTreeMap;

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

/// The pieces traced on this thread, each with whose it is.
#[derive(Default)]
struct Traced {
    who: String,
    pieces: Vec<(String, Piece)>,
}

thread_local! {
    /// The pieces traced on this thread, while a test traces them.
    static PATH: RefCell<Option<Traced>> = const { RefCell::new(None) };
}

fn traced_until(on: bool) -> Vec<(String, Piece)> {
    let was = PATH.with_borrow_mut(|p| std::mem::replace(p, on.then(Traced::default)));
    was.map(|t| t.pieces).unwrap_or_default()
}

/// Trace this thread's pieces from now on (`true`), or stop: what was traced since,
/// in order, whoever's.
pub fn trace(on: bool) -> Vec<Piece> {
    traced_until(on).into_iter().map(|(_, p)| p).collect()
}

/// As [`trace`], what was traced since set apart by whose it is ([`by`]).
pub fn trace_each(on: bool) -> BTreeMap<String, Vec<Piece>> {
    let mut each: BTreeMap<String, Vec<Piece>> = BTreeMap::new();
    for (who, piece) in traced_until(on) {
        each.entry(who).or_default().push(piece);
    }
    each
}

/// The pieces traced from now on are `who`'s (asked only while a test traces): an
/// engine's hold on a run, in a world where several interleave on one thread.
pub fn by(who: impl FnOnce() -> String) {
    PATH.with_borrow_mut(|p| {
        if let Some(p) = p {
            p.who = who();
        }
    });
}

/// `piece` traced, when a test traces.
pub(super) fn traced(piece: Piece) {
    PATH.with_borrow_mut(|p| {
        if let Some(p) = p {
            p.pieces.push((p.who.clone(), piece));
        }
    });
}

/// Where a traced path left the one wake-up's order (the index of the piece; the
/// path's length: it ends inside a piece, [`OffPath::at`]).
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

impl OffPath {
    /// The index of the piece where the path left the order.
    pub fn at(&self) -> usize {
        match *self {
            OffPath::StartNotCommitted(i)
            | OffPath::EndedStartNotCommitted(i)
            | OffPath::GatheredOutOfOrder(i)
            | OffPath::DecidedNotCommitted(i)
            | OffPath::NoPiece(_, i) => i,
        }
    }
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

/// As [`check`], but the path may end inside a piece: the wake-up of an engine that
/// died (or lost its run) between two of its store calls, as the simulator's
/// interleaved engines do. Only the end may be cut short.
pub fn check_cut(path: &[Piece]) -> Result<(), OffPath> {
    match check(path) {
        Err(OffPath::NoPiece(Piece::Start | Piece::Gather(Source::Admission), i))
            if i + 1 == path.len() =>
        {
            Ok(())
        }
        Err(off) if off.at() == path.len() => Ok(()),
        checked => checked,
    }
}
