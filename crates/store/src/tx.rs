//! Transactions on a connection, and the one bound every stored tail is cut to.
use crate::error::StoreError;
use rusqlite::Connection;

/// `BEGIN IMMEDIATE` … `COMMIT` through cached statements: a `Transaction` parses
/// both on every commit, which shows at one commit per step. Rolled back on error.
pub(crate) fn in_transaction<T>(
    conn: &Connection,
    body: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let r = body(conn).and_then(|v| {
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(v)
    });
    if r.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r
}

/// `body` in one read transaction (one snapshot: a run's events and its head agree),
/// unless a transaction is already open.
pub(crate) fn in_read_snapshot<T>(
    conn: &Connection,
    body: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !conn.is_autocommit() {
        return body(conn);
    }
    conn.prepare_cached("BEGIN")?.execute([])?;
    let r = body(conn);
    let end = if r.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn.prepare_cached(end).and_then(|mut s| s.execute([]));
    if ended.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    r
}

/// The last `max` bytes of `s`, cut at a character boundary.
pub(crate) fn bounded_tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_is_bounded_at_a_char_boundary() {
        assert_eq!(bounded_tail("abc", 10), "abc");
        assert_eq!(bounded_tail("abcdef", 3), "def");
        assert_eq!(bounded_tail("aé", 1), "");
        assert_eq!(bounded_tail("aéb", 2), "b");
    }
}
