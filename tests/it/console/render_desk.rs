//! The console over several stores (issue 59 points 3 and 4): the Runs and Waiting
//! tabs naming each row's store, a `store:` filter, and `:stores` listing each store
//! with where it is and its state (registered in `render::scenarios`).
use super::render::{Setup, act, typed, ui};
use baton::console::{Action, Tab, UiState, fixtures};
use baton::link::{Desk, LinkState, StoreStatus};
use baton::model::Timestamp;
use std::sync::Arc;

/// Three stores: `build` here, `gpu` on another host, `old` refusing this baton; the
/// fixtures' runs spread over the first two.
fn desk(u: &mut UiState) {
    u.waiting = Arc::new(fixtures::waiting());
    let status = |name: &str, host: &str, state| StoreStatus {
        name: name.into(),
        host: host.into(),
        state,
    };
    let now = fixtures::release().now;
    let mut of_run = std::collections::BTreeMap::new();
    for (i, r) in u.runs.iter().enumerate() {
        of_run.insert(r.id.clone(), i % 2);
    }
    for (i, w) in u.waiting.iter().enumerate() {
        of_run.entry(w.run_id.clone()).or_insert((i + 1) % 2);
    }
    u.desk = Arc::new(Desk {
        stores: vec![
            status("build", "/srv/baton/build.db", LinkState::Connected),
            status(
                "gpu",
                "gpu-box",
                LinkState::Down {
                    why: "the link to gpu-box dropped: Connection reset".into(),
                    retry_at: Some(Timestamp(now.0 + 4_000)),
                },
            ),
            status(
                "old",
                "login-node",
                LinkState::Refused {
                    why: "version mismatch: this side is baton 0.9.0 (link protocol 1), the other baton 0.8.0 (link protocol 1); install the same baton on both".into(),
                    retry_at: Some(Timestamp(now.0 + 15_000)),
                },
            ),
        ],
        of_run,
    });
    u.store = Some(Arc::new(u.desk.stores[0].clone()));
}

pub(super) fn scenarios() -> Vec<(&'static str, Setup)> {
    vec![
        ("desk_runs", || {
            let v = fixtures::release();
            let mut u = ui();
            desk(&mut u);
            act(&v, &mut u, &[Action::GoTab(Tab::Runs)]);
            (v, u)
        }),
        ("desk_waiting", || {
            let v = fixtures::release();
            let mut u = ui();
            desk(&mut u);
            act(&v, &mut u, &[Action::GoTab(Tab::Waiting)]);
            (v, u)
        }),
        ("desk_runs_store_filter", || {
            let v = fixtures::release();
            let mut u = ui();
            desk(&mut u);
            act(&v, &mut u, &[Action::GoTab(Tab::Runs), Action::Filter]);
            typed(&v, &mut u, "store:gpu");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
        // The shown run's header names its store and the others not connected.
        ("desk_run_header", || {
            let v = fixtures::release();
            let mut u = ui();
            desk(&mut u);
            (v, u)
        }),
        ("desk_stores", || {
            let v = fixtures::release();
            let mut u = ui();
            desk(&mut u);
            act(&v, &mut u, &[Action::Jump]);
            typed(&v, &mut u, "stores");
            act(&v, &mut u, &[Action::Confirm]);
            (v, u)
        }),
    ]
}
