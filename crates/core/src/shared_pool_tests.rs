//! Steps of a pool shared by every run in the store (`scope = "store"`): nothing
//! starts before the store gave a slot, the view says who holds the pool meanwhile,
//! and a run-scoped pool never asks.
use super::testkit::*;
use super::*;

fn shared() -> Sim {
    let p = plan()
        .pool("deploy", 1, None, 1)
        .store_scoped()
        .step("ship")
        .in_pool("deploy")
        .build();
    Sim::new(p, cfg())
}

fn asks(fx: &[Effect]) -> Vec<SlotRequest> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::AskSlot(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_step_of_a_store_wide_pool_starts_only_with_a_slot() {
    let mut sim = shared();
    let first = sim.last.clone();
    assert!(spawned(&first).is_empty(), "started {:?}", spawned(&first));
    let ask = SlotRequest {
        step: 0,
        attempt: 1,
        pool: 0,
    };
    assert_eq!(asks(&first), vec![ask]);
    assert!(sim.core.wants_slot(0, 1));
    // Busy: held by another run's step; the view names it, and nothing is asked again.
    let fx = sim.input(Input::SlotBusy {
        step: 0,
        attempt: 1,
        holders: vec!["R9".into()],
    });
    assert!(spawned(&fx).is_empty() && asks(&fx).is_empty());
    let view = sim.core.view(Timestamp(sim.now));
    let why = view.steps[0].waiting_for.clone().unwrap_or_default();
    assert!(
        why.contains("pool `deploy`") && why.contains("held by run R9"),
        "{why}"
    );
    // An answer for another attempt is not this one's.
    sim.input(Input::SlotGranted {
        step: 0,
        attempt: 2,
    });
    assert_eq!(sim.state("ship"), StepState::Queued);
    let fx = sim.input(Input::SlotGranted {
        step: 0,
        attempt: 1,
    });
    assert_eq!(spawned(&fx), vec!["ship".to_string()]);
    assert!(!sim.core.wants_slot(0, 1));
    assert_eq!(sim.core.view(Timestamp(sim.now)).steps[0].waiting_for, None);
}

#[test]
fn a_retry_asks_again_for_its_own_attempt() {
    let p = plan()
        .pool("deploy", 1, None, 1)
        .store_scoped()
        .step("ship")
        .in_pool("deploy")
        .retry(2, 0)
        .build();
    let mut sim = Sim::new(p, cfg());
    sim.input(Input::SlotGranted {
        step: 0,
        attempt: 1,
    });
    let fx = sim.exit("ship", 1);
    let fx = if asks(&fx).is_empty() {
        sim.tick_at(10)
    } else {
        fx
    };
    assert_eq!(
        asks(&fx),
        vec![SlotRequest {
            step: 0,
            attempt: 2,
            pool: 0
        }]
    );
    assert_eq!(sim.state("ship"), StepState::Queued);
}

#[test]
fn a_run_scoped_pool_never_asks_the_store() {
    let p = plan()
        .pool("deploy", 1, None, 1)
        .step("ship")
        .in_pool("deploy")
        .build();
    let sim = Sim::new(p, cfg());
    assert!(asks(&sim.last).is_empty());
    assert_eq!(spawned(&sim.last), vec!["ship".to_string()]);
}

fn fanned(scope: &str, capacity: usize) -> Arc<Plan> {
    let src = format!(
        r#"
name = "f"
max_parallel = 8
[pools.deploy]
capacity = {capacity}
scope = "{scope}"
[[step]]
id = "ship"
run = "x"
pool = "deploy"
matrix = {{ region = ["eu", "us", "ap"] }}
"#
    );
    match baton_workflow::load_str(&src, std::path::Path::new("/w/wf.toml")) {
        Ok(p) => Arc::new(p),
        Err(d) => panic!("{d}"),
    }
}

/// Issue 42 point 2: a fanned-out step of a store-wide pool takes no slot itself: each
/// instance asks for its own, and capacity 1 runs them one at a time.
#[test]
fn a_fanned_out_step_takes_no_slot_of_a_store_wide_pool_its_instances_do() {
    let mut sim = Sim::new(fanned("store", 1), cfg());
    let first = asks(&sim.last);
    let ship = sim.idx("ship");
    assert!(
        first.iter().all(|r| r.step != ship),
        "the step itself asked: {first:?}"
    );
    assert_eq!(sim.state("ship"), StepState::Pending, "fanned out at once");
    let eu = sim.idx("ship[eu]");
    let asked: Vec<usize> = first.iter().map(|r| r.step).collect();
    assert_eq!(asked, [eu], "the first instance asks");
    let fx = sim.input(Input::SlotGranted {
        step: eu,
        attempt: 1,
    });
    assert_eq!(spawned(&fx), ["ship[eu]"]);
    // Its end lets the next one ask, and so on: one at a time, every one runs.
    for (k, id) in ["ship[eu]", "ship[us]"].into_iter().enumerate() {
        let fx = sim.exit(id, 0);
        let next = eu + k + 1;
        assert_eq!(asks(&fx).iter().map(|r| r.step).collect::<Vec<_>>(), [next]);
        let fx = sim.input(Input::SlotGranted {
            step: next,
            attempt: 1,
        });
        assert_eq!(spawned(&fx).len(), 1);
    }
    sim.exit("ship[ap]", 0);
    assert_eq!(sim.core.run_state(), RunState::Succeeded);
}

/// The same in a run-scoped pool: capacity N runs N instances at once, and the step
/// itself counts for nothing.
#[test]
fn a_fanned_out_step_takes_no_place_in_a_run_scoped_pool() {
    for capacity in [1, 2, 3] {
        let sim = Sim::new(fanned("run", capacity), cfg());
        assert!(asks(&sim.last).is_empty());
        assert_eq!(spawned(&sim.last).len(), capacity, "capacity {capacity}");
    }
}
