//! A new, empty store gets the schema the migrations end at in one transaction
//! (`fresh_schema.sql`) instead of twenty migrations one by one: each of their forty
//! `ALTER TABLE`s makes SQLite parse the whole schema again. A one-step run took 34 ms
//! on a new store against 9 ms on an existing one; 15 ms with this.
//!
//! The file is derived from the migrations, never written by hand: a test makes a
//! store by the migrations and by the file and requires the same schema and rows;
//! `BATON_BLESS_SCHEMA=1 cargo test -p baton-store fresh_schema` writes it anew after a
//! migration is added.
use crate::error::StoreError;
use rusqlite::Connection;

/// Every table, index and trigger as the migrations leave them, in their order.
const FRESH: &str = include_str!("fresh_schema.sql");

/// True when the file holds nothing yet (no table, index or trigger): only then is the
/// schema made whole. A SQLite file with anything in it takes the migrations, which
/// fail where its objects clash with baton's.
pub(crate) fn is_empty(conn: &Connection) -> Result<bool, StoreError> {
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    Ok(objects == 0)
}

/// Make the whole schema in `tx` (the caller records the migrations as applied, sets
/// `user_version` and commits).
pub(crate) fn create(tx: &Connection) -> Result<(), StoreError> {
    tx.execute_batch(FRESH)?;
    Ok(())
}

/// The schema of `conn` as `FRESH` holds it: each object's SQL in the order SQLite
/// keeps them, without SQLite's own (`sqlite_sequence`, automatic indexes).
#[cfg(test)]
fn schema_text(conn: &Connection) -> String {
    let sql: Vec<String> = conn
        .prepare(
            "SELECT sql FROM sqlite_master
             WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
             ORDER BY rowid",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let header = "-- The schema baton's migrations make, written from them by the test in\n\
                  -- crates/store/src/schema/fresh_schema.rs: never edit by hand.\n";
    std::iter::once(header.to_string())
        .chain(sql.iter().map(|s| format!("{s};\n")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;

    /// An object of the schema: type, name, table and SQL.
    type Object = (String, String, String, String);

    /// Each object sorted by name, each table's rows (counted, and `migrations` without
    /// its times), and the version.
    fn everything(c: &Connection) -> (Vec<Object>, Vec<String>, i64) {
        let objects: Vec<Object> = c
            .prepare(
                "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut rows = Vec::new();
        for (kind, name, _, _) in &objects {
            if kind == "table" && name != "migrations" {
                let n: i64 = c
                    .query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                        r.get(0)
                    })
                    .unwrap();
                rows.push(format!("{name}: {n} rows"));
            }
        }
        let applied: Vec<String> = c
            .prepare("SELECT version, description FROM migrations ORDER BY version")
            .unwrap()
            .query_map([], |r| {
                Ok(format!(
                    "{}: {}",
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.extend(applied);
        (objects, rows, schema::version(c).unwrap())
    }

    #[test]
    fn a_fresh_store_has_what_the_migrations_make_and_the_file_is_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let keys = crate::ledger::audit::AuditKeys::default();
        // By the migrations, one by one, on a file that already holds something (so
        // `migrate` cannot take the whole schema); the something is dropped after.
        let mut migrated = Connection::open(dir.path().join("migrated.db")).unwrap();
        migrated
            .execute_batch("CREATE TABLE placeholder (x)")
            .unwrap();
        schema::migrate(&mut migrated, &keys).unwrap();
        migrated.execute_batch("DROP TABLE placeholder").unwrap();
        let text = schema_text(&migrated);
        if std::env::var_os("BATON_BLESS_SCHEMA").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/schema/fresh_schema.sql");
            std::fs::write(path, &text).unwrap();
        }
        assert!(
            text == FRESH,
            "crates/store/src/schema/fresh_schema.sql is not the schema the migrations make: \
             write it anew with BATON_BLESS_SCHEMA=1 cargo test -p baton-store fresh_schema"
        );
        // By the whole schema, as `migrate` makes a new store.
        let mut fresh = Connection::open(dir.path().join("fresh.db")).unwrap();
        assert!(is_empty(&fresh).unwrap());
        schema::migrate(&mut fresh, &keys).unwrap();
        assert!(!is_empty(&fresh).unwrap());
        assert_eq!(everything(&fresh), everything(&migrated));
        // It is a store like any other: a second `migrate` finds nothing to do.
        schema::migrate(&mut fresh, &keys).unwrap();
        assert_eq!(everything(&fresh), everything(&migrated));
    }
}
