//! The simulated world's fault door (`baton_model::faults`), the one the engine's code
//! asks in every world: the seed's clock, a new run's id and seed, a new record's id,
//! and the fault the seed drew for the next call that meets it (a store commit cut, a
//! wake-up's engine dying at a moment), armed just before that call and answered once.
use baton_model::Timestamp;
use baton_model::faults::{self, CommitCut, Faults, Point};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The seed's clock and the fault armed.
#[derive(Default)]
struct Seeded {
    now: Cell<i64>,
    cut: Cell<Option<CommitCut>>,
    /// A named moment (`point`, `step`) the engine dies at.
    dies: Cell<Option<(&'static str, &'static str)>>,
    /// The next new run's id and seed, the scenario's.
    new_run: RefCell<Option<(String, u64)>>,
    /// The random part of the last record id drawn (a count: replays give the same).
    ids: Cell<u128>,
}

impl Faults for Seeded {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.get())
    }

    fn dies_at(&self, at: Point<'_>) -> bool {
        let hit = match at {
            Point::Commit(c) => self.cut.get() == Some(c),
            Point::Named { point, step } => self.dies.get() == Some((point, step)),
        };
        if hit {
            self.disarm();
        }
        hit
    }

    fn new_run(&self) -> Option<(String, u64)> {
        self.new_run.take()
    }

    fn id_bits(&self) -> Option<u128> {
        self.ids.set(self.ids.get() + 1);
        Some(self.ids.get())
    }
}

impl Seeded {
    fn disarm(&self) {
        self.cut.set(None);
        self.dies.set(None);
    }
}

std::thread_local! {
    /// This thread's simulated world's door, as installed in `baton_model::faults`.
    static DOOR: RefCell<Option<Rc<Seeded>>> = const { RefCell::new(None) };
}

/// The simulated clock reads `at` on this thread (the door installed at first);
/// `None`: the door is taken away, production's again.
pub(crate) fn clock(at: Option<Timestamp>) {
    let Some(at) = at else {
        DOOR.with_borrow_mut(|d| *d = None);
        faults::install(None);
        return;
    };
    DOOR.with_borrow_mut(|d| {
        let door = d.get_or_insert_with(|| {
            let door = Rc::new(Seeded::default());
            faults::install(Some(door.clone()));
            door
        });
        door.now.set(at.0);
    });
}

fn armed(arm: impl FnOnce(&Seeded)) {
    DOOR.with_borrow(|d| {
        if let Some(door) = d {
            arm(door);
        }
    });
}

/// The next new run the session makes (`session::unwritten`) is `id`, its core's
/// seed `seed`: the scenario's, not the host's.
pub(crate) fn next_run(id: &str, seed: u64) {
    armed(|d| *d.new_run.borrow_mut() = Some((id.to_string(), seed)));
}

/// The next store commit that writes something dies at `at`.
pub(crate) fn cut_next_commit(at: CommitCut) {
    armed(|d| d.cut.set(Some(at)));
}

/// The next wake-up's engine dies at its moment `point` (`uncommitted`, `unacted`:
/// `wake::Moment::points`).
pub(crate) fn die_at_wake(point: &'static str) {
    armed(|d| d.dies.set(Some((point, "wake-up"))));
}

/// Nothing armed stays for a later call (the call it was armed for was not made).
pub(crate) fn disarm() {
    armed(Seeded::disarm);
}

/// No cut stays for a later commit; a wake-up's death armed stays for its moment.
pub(crate) fn disarm_cut() {
    armed(|d| d.cut.set(None));
}
