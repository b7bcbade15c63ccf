//! The one wake-up's order through its doors, recorded by a world that keeps a tape:
//! write-ahead (the commit before any act), the fault points where the crash tests and
//! the simulator put them, no-ops inline, and the group-commit rule.
use super::*;
use baton_core::RunConfig;

/// A world that records each door the wake-up goes through.
struct Tape {
    store: Store,
    core: Core,
    tape: Vec<String>,
    verdicts: usize,
    die_at: Option<&'static str>,
    may_defer: bool,
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
        self.tape.push(format!("verdict {id}"));
        self.verdicts += 1;
    }

    fn has_verdicts(&self) -> bool {
        self.verdicts > 0
    }

    fn commit(&mut self, events: &mut Vec<Event>) -> Result<(), StoreError> {
        self.tape.push(format!("commit {}", events.len()));
        events.clear();
        self.verdicts = 0;
        Ok(())
    }

    fn defer(&mut self, events: &mut Vec<Event>) -> bool {
        if self.may_defer {
            self.tape.push(format!("defer {}", events.len()));
            events.clear();
        }
        self.may_defer
    }

    fn fault(&mut self, moment: Moment<'_>) -> Result<(), StoreError> {
        let said = match moment {
            Moment::Decided => "decided".to_string(),
            Moment::Committed { verdicts } => format!("committed verdicts={verdicts}"),
            Moment::Starting { step_id } => format!("starting {step_id}"),
        };
        self.tape.push(said.clone());
        if self.die_at.is_some_and(|d| said.starts_with(d)) {
            return Err(StoreError::Cut { at: "here" });
        }
        Ok(())
    }

    fn kill_stale(&mut self, pgids: &[i32]) {
        self.tape.push(format!("kill stale {pgids:?}"));
    }

    fn act(&mut self, actions: Vec<Effect>) -> Result<(), StoreError> {
        for a in actions {
            let said = match a {
                Effect::Spawn(spec) => format!("act spawn {}", spec.step_id),
                other => format!("act {other:?}").chars().take(20).collect(),
            };
            self.tape.push(said);
        }
        Ok(())
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
    let world = Tape {
        store,
        core,
        tape: Vec::new(),
        verdicts: 0,
        die_at: None,
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
    let t: Vec<&str> = w.tape.iter().map(String::as_str).collect();
    // The no-op's start and end and b's start: one commit, then the faults' moments,
    // then b's spawn; the no-op itself never reaches the executors' hands.
    let commit = t.iter().position(|s| s.starts_with("commit ")).unwrap();
    assert_eq!(
        t.iter().filter(|s| s.starts_with("commit ")).count(),
        1,
        "{t:?}"
    );
    assert_eq!(t[commit - 1], "decided", "{t:?}");
    assert_eq!(
        &t[commit + 1..],
        ["committed verdicts=false", "starting b", "act spawn b"],
        "{t:?}"
    );
    assert!(!t.contains(&"act spawn a"), "{t:?}");
}

#[test]
fn an_engine_that_dies_at_a_moment_does_nothing_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    w.die_at = Some("decided");
    assert!(execute(&mut w, initial).is_err());
    assert!(
        !w.tape
            .iter()
            .any(|s| s.starts_with("commit ") || s.starts_with("act"))
    );

    let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    w.die_at = Some("starting b");
    assert!(execute(&mut w, initial).is_err());
    assert!(
        w.tape.iter().any(|s| s.starts_with("commit ")),
        "{:?}",
        w.tape
    );
    assert!(!w.tape.iter().any(|s| s.starts_with("act")), "{:?}", w.tape);
}

#[test]
fn only_a_commit_nothing_waits_for_is_offered_to_wait() {
    let dir = tempfile::tempdir().unwrap();
    // A start is an action: its commit never waits, whatever the world would allow.
    let (mut w, initial) = tape(dir.path(), NOOP_THEN_SHELL);
    w.may_defer = true;
    execute(&mut w, initial).unwrap();
    assert!(
        !w.tape.iter().any(|s| s.starts_with("defer")),
        "{:?}",
        w.tape
    );
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
    assert_eq!(w.tape, ["defer 1"]);
}
