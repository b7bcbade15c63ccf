//! The one wake-up's order through its doors, recorded by a world that keeps a tape:
//! write-ahead (the commit before any act), the fault points where the crash tests and
//! the simulator put them, no-ops inline, and the group-commit rule.
use super::*;
use baton_core::RunConfig;
use baton_model::faults::{Faults, Point};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The fault door of the tape's world: each point it is asked, written on the tape;
/// it has the engine die at the first whose `point step` starts with `die_at`.
struct TapeDoor {
    tape: Rc<RefCell<Vec<String>>>,
    die_at: Cell<Option<&'static str>>,
}

impl Faults for TapeDoor {
    fn now(&self) -> Timestamp {
        Timestamp(1_900_000_000_000)
    }
    fn dies_at(&self, at: Point<'_>) -> bool {
        let Point::Named { point, step } = at else {
            return false;
        };
        let said = format!("{point} {step}");
        self.tape.borrow_mut().push(said.clone());
        self.die_at.get().is_some_and(|d| said.starts_with(d))
    }
}

/// A world that records each door the wake-up goes through.
struct Tape {
    store: Store,
    core: Core,
    tape: Rc<RefCell<Vec<String>>>,
    door: Rc<TapeDoor>,
    verdicts: usize,
    may_defer: bool,
}

impl Tape {
    fn said(&self) -> Vec<String> {
        self.tape.borrow().clone()
    }
    fn push(&self, said: String) {
        self.tape.borrow_mut().push(said);
    }
}

impl Engine for Tape {
    type Error = StoreError;

    fn run(&mut self) -> Result<Run<'_>, StoreError> {
        Ok(Run {
            store: &mut self.store,
            run_id: "r1",
            core: &mut self.core,
        })
    }

    fn now(&mut self) -> Timestamp {
        Timestamp(1_900_000_000_000)
    }

    fn verdict(&mut self, id: i64, _outcome: CommandOutcome) {
        self.push(format!("verdict {id}"));
        self.verdicts += 1;
    }

    fn has_verdicts(&self) -> bool {
        self.verdicts > 0
    }

    fn commit(&mut self, events: &mut Vec<Event>) -> Result<(), StoreError> {
        self.push(format!("commit {}", events.len()));
        events.clear();
        self.verdicts = 0;
        Ok(())
    }

    fn defer(&mut self, events: &mut Vec<Event>) -> bool {
        if self.may_defer {
            self.push(format!("defer {}", events.len()));
            events.clear();
        }
        self.may_defer
    }

    fn die(&mut self, _moment: Moment<'_>) -> StoreError {
        StoreError::Cut { at: "here" }
    }

    fn kill_stale(&mut self, pgids: &[i32]) {
        self.push(format!("kill stale {pgids:?}"));
    }

    fn act(&mut self, action: Effect) -> Result<(), StoreError> {
        let said = match action {
            Effect::Spawn(spec) => format!("act spawn {}", spec.step_id),
            other => format!("act {other:?}").chars().take(20).collect(),
        };
        self.push(said);
        Ok(())
    }
}

/// The tape's gathering: each door written as it is asked; the store looked at.
impl Gather for Tape {
    fn looks(&self) -> bool {
        true
    }
    fn claim(&mut self) -> Result<Vec<Input>, StoreError> {
        self.push("gather commands".into());
        Ok(Vec::new())
    }
    fn waiting_slots(&mut self) -> Option<&mut Vec<SlotRequest>> {
        self.push("gather slots".into());
        None
    }
    fn brought(&mut self) -> Vec<Input> {
        self.push("gather world".into());
        vec![Input::Tick]
    }
    fn turn(&mut self, turn: Option<Input>) -> Option<Input> {
        self.push("gather turn".into());
        turn
    }
}

fn tape(dir: &std::path::Path, toml: &str) -> (Tape, Vec<Effect>) {
    let plan = baton_workflow::load_str(toml, &dir.join("workflow.toml"))
        .expect("the test's workflow loads");
    let cfg = RunConfig {
        run_id: "r1".into(),
        operator: "tester".into(),
        ..RunConfig::default()
    };
    let mut core = Core::new(std::sync::Arc::new(plan), cfg);
    let initial = core.start(Timestamp(1_900_000_000_000));
    let store = Store::open(&dir.join("baton.db")).expect("the test's store opens");
    let tape = Rc::new(RefCell::new(Vec::new()));
    let door = Rc::new(TapeDoor {
        tape: tape.clone(),
        die_at: Cell::new(None),
    });
    baton_model::faults::install(Some(door.clone()));
    let world = Tape {
        store,
        core,
        tape,
        door,
        verdicts: 0,
        may_defer: false,
    };
    (world, initial)
}

const NOOP_THEN_SHELL: &str = r#"
name = "t"
[[step]]
id = "a"
uses = "builtin.noop"
[[step]]
id = "b"
run = "true"
needs = ["a"]
"#;

#[test]
fn a_wake_up_commits_its_group_before_any_of_it_acts_and_a_noop_ends_inline() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    execute(&mut w, initial).unwrap();
    let said = w.said();
    let t: Vec<&str> = said.iter().map(String::as_str).collect();
    // The no-op's start and end and b's start: one commit, then the faults' moments,
    // then b's spawn; the no-op itself never reaches the executors' hands.
    let commit = t.iter().position(|s| s.starts_with("commit ")).unwrap();
    assert_eq!(
        t.iter().filter(|s| s.starts_with("commit ")).count(),
        1,
        "{t:?}"
    );
    assert_eq!(t[commit - 1], "uncommitted wake-up", "{t:?}");
    assert_eq!(
        &t[commit + 1..],
        ["unacted wake-up", "committed b", "act spawn b"],
        "{t:?}"
    );
    assert!(!t.contains(&"act spawn a"), "{t:?}");
}

#[test]
fn an_engine_that_dies_at_a_moment_does_nothing_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    w.door.die_at.set(Some("uncommitted"));
    assert!(execute(&mut w, initial).is_err());
    assert!(
        !w.said()
            .iter()
            .any(|s| s.starts_with("commit ") || s.starts_with("act"))
    );

    let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    w.door.die_at.set(Some("committed b"));
    assert!(execute(&mut w, initial).is_err());
    let t = w.said();
    assert!(t.iter().any(|s| s.starts_with("commit ")), "{t:?}");
    assert!(!t.iter().any(|s| s.starts_with("act")), "{t:?}");
}

#[test]
fn only_a_commit_nothing_waits_for_is_offered_to_wait() {
    let dir = tempfile::tempdir().unwrap();
    // A start is an action: its commit never waits, whatever the world would allow.
    let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    w.may_defer = true;
    execute(&mut w, initial).unwrap();
    let t = w.said();
    assert!(!t.iter().any(|s| s.starts_with("defer")), "{t:?}");
    // Nothing to act on, the run not ended: the world may keep the events.
    let (mut w, _) = tape(dir.path(), NOOP_THEN_SHELL);
    w.may_defer = true;
    let events = vec![Effect::Persist(Event {
        seq: w.core.last_seq(),
        at: Timestamp(1_900_000_000_000),
        kind: baton_model::EventKind::StepUsage {
            step: "b".into(),
            attempt: 1,
            usage: Usage::default(),
        },
    })];
    execute(&mut w, events).unwrap();
    assert_eq!(w.said(), ["defer 1"]);
}

/// Hands that write what they are asked on a tape, their last fence check `since`
/// milliseconds ago.
struct TapeHands {
    store: Store,
    since: u64,
    asks: Vec<SlotRequest>,
    said: Vec<String>,
}

impl Hands for TapeHands {
    type Error = StoreError;

    fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    fn since_fenced(&mut self) -> u64 {
        self.since
    }

    fn check_fence(&mut self) -> Result<(), StoreError> {
        self.since = 0;
        self.said.push("fence".into());
        Ok(())
    }

    fn spawn(&mut self, spec: SpawnSpec, compensation: bool) -> Result<(), StoreError> {
        let said = format!("spawn {} {compensation}", spec.step_id);
        self.said.push(said);
        Ok(())
    }

    fn reattach(&mut self, spec: SpawnSpec, job: Reattach) -> Result<(), StoreError> {
        let said = format!("reattach {} {}", spec.step_id, job.job_id);
        self.said.push(said);
        Ok(())
    }

    fn kill(&mut self, step: usize, attempt: u32) -> Result<(), StoreError> {
        self.said.push(format!("kill {step}.{attempt}"));
        Ok(())
    }

    fn cancel_job(&mut self, executor: String, job_id: String) {
        self.said.push(format!("cancel {executor} {job_id}"));
    }

    fn hold(&mut self, step: usize, attempt: u32, frozen: bool) {
        self.said.push(format!("hold {step}.{attempt} {frozen}"));
    }

    fn probe(&mut self, req: ProbeRequest) {
        self.said.push(format!("probe {}", req.step));
    }

    fn collect(&mut self, req: CollectRequest) {
        self.said.push(format!("collect {}", req.step));
    }

    fn slot_asks(&mut self) -> Option<&mut Vec<SlotRequest>> {
        Some(&mut self.asks)
    }

    fn reply(&mut self, id: i64, _outcome: CommandOutcome) {
        self.said.push(format!("reply {id}"));
    }
}

/// One acting in every world (`act`): the fence is checked again before a start only
/// once the last check is older than `FENCE_FRESH_MS`, never before a stop; a slot is
/// asked for once however often the core asks; an in-process command is answered.
#[test]
fn acting_checks_a_stale_fence_before_a_start_and_keeps_one_ask_a_slot() {
    let dir = tempfile::tempdir().unwrap();
    let (world, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    let mut hands = TapeHands {
        store: world.store,
        since: FENCE_FRESH_MS + 1,
        asks: Vec::new(),
        said: Vec::new(),
    };
    let base = initial
        .iter()
        .find_map(|e| match e {
            Effect::Spawn(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    let named = |id: &str| SpawnSpec {
        step_id: id.into(),
        ..base.clone()
    };
    let (a, b) = (named("a"), named("b"));
    let slot = SlotRequest {
        pool: 0,
        step: 0,
        attempt: 1,
    };
    for effect in [
        Effect::Kill {
            step: 0,
            attempt: 1,
        },
        Effect::Spawn(a),
        Effect::Compensate(b),
        Effect::AskSlot(slot.clone()),
        Effect::AskSlot(slot.clone()),
        Effect::CommandDone {
            id: Some(-1),
            outcome: CommandOutcome::Accepted {
                message: "done".into(),
            },
        },
    ] {
        act(&mut hands, effect).unwrap();
    }
    assert_eq!(
        hands.said,
        [
            "kill 0.1",
            "fence",
            "spawn a false",
            "spawn b true",
            "reply -1"
        ]
    );
    assert_eq!(hands.asks, [slot]);
}

/// The one order of a wake-up in every world (the driver's poll, the simulator's
/// engines, plain or one store call at a time): the store's turn, commands and slots,
/// then what the world brought; then decided, committed and acted on.
#[test]
fn a_whole_wake_up_gathers_in_the_one_order_then_decides_commits_and_acts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, _) = tape(dir.path(), NOOP_THEN_SHELL);
    assert_eq!(
        GATHERED,
        [
            Source::Admission,
            Source::Commands,
            Source::Slots,
            Source::World
        ]
    );
    let before = woken_up_here();
    assert!(wake_up(&mut w).unwrap(), "a tick came in");
    assert_eq!(woken_up_here(), before + 1);
    let t = w.said();
    let gathered: Vec<&str> = t
        .iter()
        .map(String::as_str)
        .filter(|s| s.starts_with("gather "))
        .collect();
    assert_eq!(
        gathered,
        [
            "gather turn",
            "gather commands",
            "gather slots",
            "gather world"
        ]
    );
    // Gathered before any decision reaches the fault door or the commit.
    let last_gather = t.iter().rposition(|s| s.starts_with("gather ")).unwrap();
    assert!(
        t.iter().take(last_gather).all(|s| s.starts_with("gather ")),
        "{t:?}"
    );
}

/// The one order a world's path through the wake-up is checked against (the driver's
/// and the simulator's tests ask it): a world that decides what it never gathered,
/// gathers out of order or leaves decisions uncommitted took a path of its own.
#[test]
fn a_path_of_its_own_through_the_wake_up_is_told() {
    use super::path::{Piece::*, check};
    use Source::*;
    let wake_up = [
        Gather(Admission),
        Gather(Commands),
        Gather(Slots),
        Gather(World),
    ];
    let mut whole = wake_up.to_vec();
    whole.extend([Decide, Decide, Execute, Start, Execute, Gather(Commands)]);
    whole.extend([Start, Gather(Commands), Decide, Execute, Execute]);
    whole.extend(wake_up);
    assert_eq!(
        check(&whole),
        Ok(()),
        "wake-ups, starts, a commit of what waited"
    );
    for other in [
        vec![Decide, Execute],
        vec![
            Gather(Commands),
            Gather(Admission),
            Gather(World),
            Decide,
            Execute,
        ],
        vec![Gather(Admission), Gather(Commands), Gather(World), Decide],
        vec![Start, Gather(Commands), Decide],
        vec![Gather(Admission), Gather(Commands), Decide, Execute],
    ] {
        assert!(check(&other).is_err(), "{other:?} passed for the one order");
    }
}

/// An interleaved engine's path may end inside a piece (it died, or lost its run,
/// between two store calls), never leave the order before its end.
#[test]
fn a_path_cut_short_only_at_its_end_is_a_dead_engine_s() {
    use super::path::{Piece::*, check, check_cut};
    use Source::*;
    let gathered = [
        Gather(Admission),
        Gather(Commands),
        Gather(Slots),
        Gather(World),
    ];
    // Gathered whole with nothing in, a wake-up is over; short of that, cut.
    for n in 1..gathered.len() {
        let mut cut = gathered.to_vec();
        cut.extend([Decide, Execute]);
        cut.extend(&gathered[..n]);
        assert_eq!(check_cut(&cut), Ok(()), "{cut:?}");
        assert!(check(&cut).is_err(), "{cut:?} passed whole");
    }
    let mut decided = gathered.to_vec();
    decided.extend([Decide, Decide]);
    assert_eq!(check_cut(&decided), Ok(()));
    assert_eq!(check_cut(&[Start]), Ok(()));
    // Cut short, then on: a path of its own.
    let mut on = decided.clone();
    on.extend(gathered);
    assert!(check_cut(&on).is_err(), "{on:?}");
    assert!(check_cut(&[Gather(Admission), Decide, Execute]).is_err());
}

/// `wake_up` is a [`Stepper`] stepped to its end: stepped one store call at a time (as
/// the simulator's interleaved engines step it) the same wake-up goes through the same
/// doors in the same order, each step through at most one.
#[test]
fn a_wake_up_stepped_one_store_call_at_a_time_is_the_whole_one() {
    let doors = |said: &[String]| {
        let calls = ["gather ", "commit ", "act "];
        (said.iter())
            .filter(|s| calls.iter().any(|c| s.starts_with(c)))
            .count()
    };
    let whole = {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
        execute(&mut w, initial).unwrap();
        let from = w.said().len();
        assert!(wake_up(&mut w).unwrap());
        w.said().split_off(from)
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    execute(&mut w, initial).unwrap();
    let from = w.said().len();
    let mut s = Stepper::new();
    let mut nexts = Vec::new();
    loop {
        nexts.push(s.next());
        let before = w.said().len();
        let on = s.step(&mut w).unwrap();
        let said = w.said().split_off(before);
        assert!(doors(&said) <= 1, "one step, {said:?}");
        if !on {
            break;
        }
    }
    assert_eq!(s.next(), Next::Done);
    assert_eq!(w.said().split_off(from), whole);
    assert!(doors(&whole) >= 5, "{whole:?}");
    for next in [
        Next::Gather(Source::Admission),
        Next::Gather(Source::World),
        Next::Decide,
        Next::Commit,
        Next::Act,
    ] {
        assert!(nexts.contains(&next), "{next:?} never stepped: {nexts:?}");
    }
}
