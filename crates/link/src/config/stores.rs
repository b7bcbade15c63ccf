//! `[[store]]`: the stores an operator reaches by name (issue 59). A local one is a
//! database file; a remote one is a store on another host, reached through the
//! system's `ssh` as the operator's own account there, where the host's `baton`
//! reads it and makes every decision on it.
//!
//! ```toml
//! [[store]]
//! name = "build"
//! db = "~/ops/build.db"            # a local store: its file
//!
//! [[store]]
//! name = "gpu"
//! ssh = "gpu-box"                  # a host as `ssh` knows it (~/.ssh/config, user@host)
//! db = "/srv/baton/baton.db"       # the store's file there (else that account's default)
//! baton = "/opt/baton/bin/baton"   # the program there (else `baton` on its PATH)
//! ssh_config = "~/ops/ssh_config"  # `ssh -F` (else ssh's own ~/.ssh/config)
//! ```
use super::{At, at, expand_home, string, unknown};
use baton_workflow::diag::Reporter;
use baton_workflow::tree::{Entry, Node, Val};
use std::path::PathBuf;

/// Where a named store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A database file on this machine.
    Local(PathBuf),
    /// A store on another host.
    Ssh(Remote),
}

/// A store on another host: `ssh HOST PROGRAM … --db DB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The host as `ssh` knows it.
    pub host: String,
    /// The store's file there; `None`: that account's default store.
    pub db: Option<String>,
    /// The program there (`baton` on its PATH unless `baton = …`).
    pub program: String,
    /// An ssh config file to use instead of `~/.ssh/config` (`ssh -F`).
    pub ssh_config: Option<PathBuf>,
}

/// One `[[store]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreEntry {
    pub name: String,
    pub place: Place,
    /// Where its table starts in the file.
    pub at: At,
}

/// `--store NAME` naming no `[[store]]`: what is wrong and what would be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStore {
    pub name: String,
    /// The nearest name configured, if one is near.
    pub near: Option<String>,
    /// Every name configured, in file order.
    pub known: Vec<String>,
}

impl std::fmt::Display for UnknownStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no [[store]] is named `{}`", self.name)?;
        match (&self.near, self.known.is_empty()) {
            (Some(n), _) => write!(f, "; did you mean `{n}`?"),
            (None, true) => f.write_str(
                "; config.toml has no [[store]]: add one (name = \"…\", db = \"PATH\" or ssh = \"host\"), see docs/configuration.md",
            ),
            (None, false) => write!(f, "; the stores are: {}", self.known.join(", ")),
        }
    }
}

impl std::error::Error for UnknownStore {}

impl super::Config {
    /// The `[[store]]` named `name`.
    pub fn store(&self, name: &str) -> Result<&StoreEntry, UnknownStore> {
        self.stores.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<String> = self.stores.iter().map(|s| s.name.clone()).collect();
            UnknownStore {
                name: name.to_string(),
                near: baton_workflow::suggest(name, known.iter().map(String::as_str))
                    .map(str::to_string),
                known,
            }
        })
    }
}

const KEYS: [&str; 5] = ["name", "db", "ssh", "baton", "ssh_config"];

/// Whether `name` can name a store: letters, digits, `-`, `_`, `.`, not starting with `-`.
pub fn valid_name(name: &str) -> bool {
    !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whether `host` can be given to `ssh` as a destination: never an option (`-o…`),
/// never blank or with spaces or control characters.
pub fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && !host.starts_with('-')
        && !host.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `[[store]]` tables, in file order; a name given twice is reported at the second.
pub(super) fn parse(r: &mut Reporter, e: &Entry, into: &mut Vec<StoreEntry>) {
    let Val::Array(items) = &e.node.val else {
        r.error(
            &e.node.span,
            format!("`store` must be tables, not {}", e.node.kind()),
            "write each store as a [[store]] table",
        );
        return;
    };
    for item in items {
        let Some(entries) = item.entries() else {
            r.error(
                &item.span,
                format!("a store is a table, not {}", item.kind()),
                "write each store as a [[store]] table",
            );
            continue;
        };
        let Some(s) = one(r, item, entries) else {
            continue;
        };
        if into.iter().any(|o| o.name == s.name) {
            r.error(
                &item.span,
                format!("a second [[store]] named `{}`", s.name),
                "give each store a name of its own",
            );
            continue;
        }
        into.push(s);
    }
}

/// One `[[store]]` table; `None` when it is not whole (each problem reported).
fn one(r: &mut Reporter, table: &Node, entries: &[Entry]) -> Option<StoreEntry> {
    let (mut name, mut db, mut ssh, mut program) = (None, None, None, None);
    let mut ssh_config = None;
    let mut whole = true;
    for e in entries {
        match e.key.as_str() {
            "name" => match string(r, e) {
                Some(n) if valid_name(&n) => name = Some(n),
                Some(n) => {
                    r.error(
                        &e.node.span,
                        format!("`{n}` cannot name a store"),
                        "use letters, digits, `-`, `_` and `.` (not a leading `-`), e.g. name = \"gpu-box\"",
                    );
                    whole = false;
                }
                None => whole = false,
            },
            "db" => db = Some(string(r, e).ok_or(())),
            "ssh" => match string(r, e) {
                Some(h) if valid_host(&h) => ssh = Some(h),
                Some(h) => {
                    r.error(
                        &e.node.span,
                        format!("`{h}` is not a host for ssh"),
                        "write the host as ssh knows it, e.g. ssh = \"gpu-box\" or \"me@gpu.example\" (no spaces, not starting with `-`)",
                    );
                    whole = false;
                }
                None => whole = false,
            },
            "baton" => match string(r, e) {
                Some(p) => program = Some(p),
                None => whole = false,
            },
            "ssh_config" => match string(r, e) {
                Some(p) => ssh_config = Some(expand_home(&p)),
                None => whole = false,
            },
            _ => {
                unknown(r, e, &KEYS, "[[store]]");
                whole = false;
            }
        }
    }
    if !entries.iter().any(|e| e.key == "name") {
        r.error(
            &table.span,
            "this [[store]] has no `name`",
            "add name = \"…\": `--store NAME` and the console call it by it",
        );
        return None;
    }
    let db = match db {
        Some(Ok(d)) => Some(d),
        Some(Err(())) => return None,
        None => None,
    };
    let place = match (ssh, db) {
        (Some(host), db) => Place::Ssh(Remote {
            host,
            db,
            program: program.unwrap_or_else(|| "baton".into()),
            ssh_config,
        }),
        (None, _) if program.is_some() || ssh_config.is_some() => {
            r.error(
                &table.span,
                "`baton` and `ssh_config` are for a store on another host, and this [[store]] has no `ssh`",
                "add ssh = \"host\", or leave them out for a local store",
            );
            return None;
        }
        (None, Some(db)) => Place::Local(expand_home(&db)),
        (None, None) => {
            if whole {
                r.error(
                    &table.span,
                    "this [[store]] says neither where its file is nor its host",
                    "add db = \"PATH\" for a store on this machine, or ssh = \"host\" for one on another",
                );
            }
            return None;
        }
    };
    Some(StoreEntry {
        name: name?,
        place,
        at: at(r, &table.span),
    })
    .filter(|_| whole)
}

#[cfg(test)]
mod tests {
    use super::super::parse as parse_config;
    use super::*;
    use std::path::Path;

    fn stores(text: &str) -> Vec<StoreEntry> {
        parse_config(Path::new("config.toml"), text)
            .unwrap_or_else(|d| panic!("{d}"))
            .stores
    }

    fn errors(text: &str) -> String {
        parse_config(Path::new("config.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn local_and_remote_stores_are_read_in_file_order() {
        let s = stores(
            "[[store]]\nname = \"here\"\ndb = \"/srv/a.db\"\n\n[[store]]\nname = \"gpu\"\nssh = \"me@gpu-box\"\ndb = \"/srv/b.db\"\n\n[[store]]\nname = \"c\"\nssh = \"c\"\nbaton = \"/opt/baton\"\nssh_config = \"/etc/ssh_c\"\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].name, "here");
        assert_eq!(s[0].place, Place::Local(PathBuf::from("/srv/a.db")));
        assert_eq!(s[0].at, At { line: 1, col: 1 });
        assert_eq!(
            s[1].place,
            Place::Ssh(Remote {
                host: "me@gpu-box".into(),
                db: Some("/srv/b.db".into()),
                program: "baton".into(),
                ssh_config: None,
            })
        );
        assert_eq!(
            s[2].place,
            Place::Ssh(Remote {
                host: "c".into(),
                db: None,
                program: "/opt/baton".into(),
                ssh_config: Some(PathBuf::from("/etc/ssh_c")),
            })
        );
    }

    #[test]
    fn an_unknown_key_is_named_with_the_nearest() {
        let e = errors("[[store]]\nname = \"a\"\nhots = \"x\"\n");
        assert!(
            e.contains("config.toml:3:1: error: unknown key `hots` in [[store]]"),
            "{e}"
        );
        let e = errors("[[store]]\nname = \"a\"\nsh = \"x\"\n");
        assert!(e.contains("did you mean `ssh`?"), "{e}");
    }

    #[test]
    fn a_store_needs_a_name_and_a_place_and_a_name_is_given_once() {
        let e = errors("[[store]]\ndb = \"/a.db\"\n");
        assert!(
            e.contains("config.toml:1:1: error: this [[store]] has no `name`"),
            "{e}"
        );
        let e = errors("[[store]]\nname = \"a\"\n");
        assert!(e.contains("neither where its file is nor its host"), "{e}");
        let e =
            errors("[[store]]\nname = \"a\"\ndb = \"/a\"\n[[store]]\nname = \"a\"\ndb = \"/b\"\n");
        assert!(
            e.contains("config.toml:4:1: error: a second [[store]] named `a`"),
            "{e}"
        );
        let e = errors("[[store]]\nname = \"a\"\ndb = \"/a\"\nbaton = \"/b\"\n");
        assert!(e.contains("has no `ssh`"), "{e}");
    }

    #[test]
    fn a_host_that_would_be_an_option_and_a_bad_name_are_refused_where_written() {
        let e = errors("[[store]]\nname = \"a\"\nssh = \"-oProxyCommand=x\"\n");
        assert!(
            e.contains("config.toml:3:7: error: `-oProxyCommand=x` is not a host for ssh"),
            "{e}"
        );
        let e = errors("[[store]]\nname = \"a b\"\ndb = \"/a\"\n");
        assert!(
            e.contains("config.toml:2:8: error: `a b` cannot name a store"),
            "{e}"
        );
        assert!(valid_name("gpu-box_2.eu") && !valid_name("-x") && !valid_name("a/b"));
    }

    #[test]
    fn a_name_not_configured_is_told_with_the_nearest_or_the_list() {
        let c = parse_config(
            Path::new("config.toml"),
            "[[store]]\nname = \"gpu\"\nssh = \"g\"\n[[store]]\nname = \"build\"\ndb = \"/b\"\n",
        )
        .unwrap_or_else(|d| panic!("{d}"));
        assert_eq!(c.store("build").map(|s| &s.name), Ok(&"build".to_string()));
        let e = c.store("gpv").unwrap_err().to_string();
        assert_eq!(e, "no [[store]] is named `gpv`; did you mean `gpu`?");
        let e = c.store("zzzzzz").unwrap_err().to_string();
        assert_eq!(
            e,
            "no [[store]] is named `zzzzzz`; the stores are: gpu, build"
        );
    }
}
