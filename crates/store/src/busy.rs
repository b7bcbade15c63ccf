//! How the store's connections wait for another writer's transaction.
use rusqlite::Connection;
use std::time::Duration;

/// How long a writer waits for another writer's transaction before giving up (Busy).
/// Write transactions are short (bounded batches), so a long wait means many writers
/// queued, not a stuck one: 20 engines on one store must all get their turn.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The store's busy handler: try again after 1–3 ms (at random) until about
/// `BUSY_TIMEOUT` has gone by. SQLite's own (`busy_timeout`) tries again after ever
/// longer sleeps, every 100 ms from the twelfth on: with 20 engines committing back to
/// back the lock is free only in short gaps between their commits, and a writer that
/// looks ten times a second can miss every gap for the whole timeout while the others
/// keep taking turns. Looking every 2 ms gives each waiting writer its turn.
pub(super) fn wait_for_writer(tries: i32) -> bool {
    wait_turn(tries, BUSY_TIMEOUT)
}

/// How long an engine's store waits for other writers: an engine that gave up would
/// leave its run undriven, so under heavy contention (20 engines committing back to
/// back on a loaded machine) it waits its turn rather than fail.
pub(crate) const ENGINE_BUSY_TIMEOUT: Duration = Duration::from_secs(600);

pub(super) fn wait_for_writer_as_engine(tries: i32) -> bool {
    wait_turn(tries, ENGINE_BUSY_TIMEOUT)
}

fn wait_turn(tries: i32, limit: Duration) -> bool {
    const MEAN_SLEEP_MS: u128 = 2;
    if u128::try_from(tries).unwrap_or(0) >= limit.as_millis() / MEAN_SLEEP_MS {
        return false;
    }
    std::thread::sleep(Duration::from_micros(1000 + rand::random::<u64>() % 2000));
    true
}

/// Install [`wait_for_writer`] (what every connection of the store waits with).
pub(super) fn wait_for_writers(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(wait_for_writer))
}
