//! The one fault-injection door: where production code asks its world the time, and
//! whether it dies at a moment that only a crash test or the simulator reaches (a
//! named moment of a step's attempt or a command, a store commit cut inside its
//! transaction or before its witness, a wake-up's commit). Production asks
//! [`Wall`]: the wall clock, and no fault but the one `BATON_FAILPOINT` names (the
//! crash tests'). The deterministic simulator (`crates/sim`) installs its own door on
//! its thread ([`install`]): the seed's clock and the faults the seed draws. What a
//! death is stays the caller's: a process kills itself (`exec::failpoint::die_at`), a
//! store commit fails with `StoreError::Cut`, a wake-up stops (`wake::Engine::die`).
use crate::Timestamp;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

/// Where a store commit may die (`Point::Commit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitCut {
    /// Every statement of the batch made, the transaction not committed: what a
    /// process killed in its transaction leaves (SQLite keeps none of it).
    InTransaction,
    /// Committed, the keyed heads not yet appended to the witness: the witness is
    /// left behind the store (`witness`: never ahead of it).
    BeforeWitness,
}

/// A moment at which a process may die.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point<'a> {
    /// A named moment of a step's attempt (`step`: its id), of a command or of a
    /// wake-up (`step`: `command`, `wake-up`): `BATON_FAILPOINT=POINT:STEP`'s
    /// (`exec::failpoint` lists them).
    Named { point: &'a str, step: &'a str },
    /// A store commit that writes something, asked once for each cut as it begins.
    Commit(CommitCut),
}

/// A world's clock and faults.
pub trait Faults {
    /// The time now.
    fn now(&self) -> Timestamp;
    /// Whether the process dies at `at`.
    fn dies_at(&self, at: Point<'_>) -> bool;
    /// A new run's id and its core's seed, as this world draws them (`None`: the
    /// host's, a fresh ULID and a random seed).
    fn new_run(&self) -> Option<(String, u64)> {
        None
    }
    /// The random part of a new record's ULID (an ask's), as this world draws it
    /// (`None`: the host's randomness).
    fn id_bits(&self) -> Option<u128> {
        None
    }
}

/// Production's door: the wall clock, and only the fault `BATON_FAILPOINT` names.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wall;

impl Faults for Wall {
    fn now(&self) -> Timestamp {
        Timestamp(chrono::Utc::now().timestamp_millis())
    }

    fn dies_at(&self, at: Point<'_>) -> bool {
        match at {
            Point::Named { point, step } => named(point, step),
            Point::Commit(_) => false,
        }
    }
}

/// Whether `BATON_FAILPOINT` (read once) names this point and step.
pub fn named(point: &str, step: &str) -> bool {
    static SET: OnceLock<Option<String>> = OnceLock::new();
    SET.get_or_init(|| std::env::var("BATON_FAILPOINT").ok())
        .as_deref()
        .and_then(|s| s.split_once(':'))
        == Some((point, step))
}

std::thread_local! {
    /// This thread's door, when its world is not production's ([`install`]).
    static DOOR: RefCell<Option<Rc<dyn Faults>>> = const { RefCell::new(None) };
}

/// Give this thread's code `door` as its world (`None`: production's, [`Wall`]).
/// Only the deterministic simulator installs one.
pub fn install(door: Option<Rc<dyn Faults>>) {
    DOOR.with_borrow_mut(|d| *d = door);
}

/// The time now, as this thread's door says it.
pub fn now() -> Timestamp {
    DOOR.with_borrow(|d| match d {
        Some(door) => door.now(),
        None => Wall.now(),
    })
}

/// Whether this thread's door has the process die at `at`.
pub fn dies_at(at: Point<'_>) -> bool {
    DOOR.with_borrow(|d| match d {
        Some(door) => door.dies_at(at),
        None => Wall.dies_at(at),
    })
}

/// A new run's id and seed, as this thread's door draws them (`None`: the host's).
pub fn new_run() -> Option<(String, u64)> {
    DOOR.with_borrow(|d| d.as_ref().and_then(|door| door.new_run()))
}

/// The random part of a new record's ULID, as this thread's door draws it (`None`:
/// the host's).
pub fn id_bits() -> Option<u128> {
    DOOR.with_borrow(|d| d.as_ref().and_then(|door| door.id_bits()))
}

/// Where this thread's door has a commit that begins now die, if it does: each cut
/// asked once, before anything of the commit is done, so that a commit that fails
/// early leaves no cut armed for a later one.
pub fn commit_cut() -> Option<CommitCut> {
    [CommitCut::InTransaction, CommitCut::BeforeWitness]
        .into_iter()
        .find(|&at| dies_at(Point::Commit(at)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    struct Seeded {
        at: i64,
        cut: Cell<Option<CommitCut>>,
    }

    impl Faults for Seeded {
        fn now(&self) -> Timestamp {
            Timestamp(self.at)
        }
        fn dies_at(&self, at: Point<'_>) -> bool {
            match at {
                Point::Commit(c) if self.cut.get() == Some(c) => {
                    self.cut.set(None);
                    true
                }
                _ => false,
            }
        }
    }

    #[test]
    fn a_thread_s_door_gives_its_clock_and_its_cut_once_and_production_s_is_the_wall() {
        let door = Rc::new(Seeded {
            at: 42,
            cut: Cell::new(Some(CommitCut::BeforeWitness)),
        });
        install(Some(door));
        assert_eq!(Timestamp::now(), Timestamp(42));
        assert_eq!(commit_cut(), Some(CommitCut::BeforeWitness));
        assert_eq!(commit_cut(), None, "a cut dies once");
        install(None);
        assert!(Timestamp::now().0 > 1_700_000_000_000);
        assert_eq!(commit_cut(), None);
        assert!(!dies_at(Point::Named {
            point: "committed",
            step: "no-such-step"
        }));
    }
}
