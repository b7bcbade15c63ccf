//! The asks' change counter (`Store::asks_rev`): one row (none before the first ask),
//! moved by a trigger on every write of an ask (opened, voted on, decided, expired,
//! adopted, deleted), whoever writes it. A reader that keeps the asks it read (the
//! console's session, an engine telling its `[[notify]]`) reads them again only when
//! the counter moved: one row read per look instead of every open ask with its votes.

/// Migration 28.
pub(super) const ASKS_REV: &str = r#"
CREATE TABLE asks_rev (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
CREATE TRIGGER asks_rev_on_insert AFTER INSERT ON asks BEGIN
    INSERT OR REPLACE INTO asks_rev (id, rev)
    VALUES (1, coalesce((SELECT rev FROM asks_rev WHERE id = 1), 0) + 1);
END;
CREATE TRIGGER asks_rev_on_update AFTER UPDATE ON asks BEGIN
    INSERT OR REPLACE INTO asks_rev (id, rev)
    VALUES (1, coalesce((SELECT rev FROM asks_rev WHERE id = 1), 0) + 1);
END;
CREATE TRIGGER asks_rev_on_delete AFTER DELETE ON asks BEGIN
    INSERT OR REPLACE INTO asks_rev (id, rev)
    VALUES (1, coalesce((SELECT rev FROM asks_rev WHERE id = 1), 0) + 1);
END;
"#;
