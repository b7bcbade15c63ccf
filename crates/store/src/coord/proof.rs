//! Who submitted a command, from the kernel rather than from the command's text.
//!
//! A command row names its operator, but anyone who can write the database (every
//! member of a group store) could write any name there, and the engine that applies
//! the row would sign the forged vote with its own audit key. So each row comes with
//! a proof: a small file beside the database (`<db>.proofs/<nonce>`) made by the
//! submitting process. The kernel records who made it (the file's owner), which no
//! unprivileged account can forge. Its text is the SHA-256 of the run id and the row's
//! exact JSON (which carries the nonce), so a proof fits one row only. The engine
//! accepts the row only when the proof's owner is the account the row names. A
//! command's proof serves once: the engine that claims the row checks it in place
//! ([`holds`]) and it is removed with the verdict's commit (`commands::Spent`), so an
//! engine killed in between leaves the row for the next to check and decide; a copy of
//! a row made meanwhile is refused as a copy. Other proofs (a trigger's) are removed
//! as they are checked ([`check`]).
//!
//! What this does not stop (docs/approvals.md, "Who decides"): a member of a group store who can
//! write the database can hold back another member's row before any engine claims it
//! and hand it in later, or drive the run with a program of their own. Only signed
//! gates resist a member; the schema version moved with this (migration 6) so that an
//! older baton, which applied rows without proofs, refuses the store.
use super::StoreError;
use baton_model::same_actor;
use sha2::{Digest, Sha256};
use std::fs::{DirBuilder, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The JSON field of a command row that names its proof.
const FIELD: &str = "proof";
/// A proof's text: a SHA-256 in hex.
const PROOF_LEN: usize = 64;

/// Where the proofs of the store at `db` are kept: beside the database file itself, so
/// that a submitter reaching it through a symlink or another relative path puts its
/// proof where the engine looks.
fn dir(db: &Path) -> PathBuf {
    let real = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "baton.db".into());
    real.with_file_name(format!("{name}.proofs"))
}

/// A command row the engine refuses: nothing proves that the account it names
/// submitted it (`Refusal::Unproven` carries this text).
#[derive(Debug, thiserror::Error)]
#[error("no proof that `{operator}` submitted it: {why}")]
pub struct Unproven {
    pub operator: String,
    pub why: ProofGap,
}

/// What is missing from a row's proof, or wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum ProofGap {
    #[error("the command is not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("the row's proof is not a proof's name")]
    BadName,
    #[error(
        "the row names no proof (written into the database by hand, or by an older baton); submit the command again with baton"
    )]
    NoProof,
    #[error("{} is not a directory", .dir.display())]
    NotADir { dir: PathBuf },
    #[error("{}: {error}", .dir.display())]
    Dir { dir: PathBuf, error: std::io::Error },
    #[error("its proof {}: {error}", .path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("its proof {} is not a single plain file of {len} bytes", .path.display(), len = PROOF_LEN)]
    NotPlain { path: PathBuf },
    #[error("its proof is for another command")]
    OtherCommand,
    #[error("its proof was made by `{0}`")]
    MadeBy(String),
    #[error("its proof was made by uid {0}")]
    MadeByUid(u32),
}

/// The proofs directory, if it is one (not a symlink to somewhere else).
fn real_dir(db: &Path) -> Result<PathBuf, ProofGap> {
    let dir = dir(db);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(dir),
        Ok(_) => Err(ProofGap::NotADir { dir }),
        Err(error) => Err(ProofGap::Dir { dir, error }),
    }
}

/// What a row's proof must say: the run and the row's exact text.
pub fn digest(run_id: &str, json: &str) -> String {
    let mut h = Sha256::new();
    h.update(run_id.as_bytes());
    h.update(b"\n");
    h.update(json.as_bytes());
    hex::encode(h.finalize())
}

/// A proof's name, as the row gives it: 32 hex digits, nothing that could name a
/// path elsewhere.
fn nonce_of(json: &str) -> Result<String, ProofGap> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(ProofGap::NotJson)?;
    match value.get(FIELD).and_then(|v| v.as_str()) {
        Some(n) if n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(n.into()),
        Some(_) => Err(ProofGap::BadName),
        None => Err(ProofGap::NoProof),
    }
}

/// The submitter's side: the row's text for `command` (with a fresh nonce) and its
/// proof, written beside the database at `db`. `shared`: a group store, whose members'
/// engines must read the proof (and remove it).
pub(crate) fn seal(
    db: &Path,
    shared: bool,
    run_id: &str,
    command: &baton_model::Command,
) -> Result<(String, PathBuf), StoreError> {
    seal_value(db, shared, run_id, serde_json::to_value(command)?)
}

/// Whether the store at `db` is a group store's (its directory setgid, 2770): its
/// members' processes must read (and remove) each other's proofs.
pub(crate) fn shared(db: &Path) -> bool {
    let real = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    std::fs::metadata(crate::paths::parent_dir(&real)).is_ok_and(|m| m.mode() & 0o2000 != 0)
}

/// [`seal`] of a row that is not a run's command (a schedule's trigger: `subject` is
/// what it is about): `value` with a fresh nonce as its proof's name, its text, and
/// its proof beside the database.
pub(crate) fn seal_value(
    db: &Path,
    shared: bool,
    run_id: &str,
    mut value: serde_json::Value,
) -> Result<(String, PathBuf), StoreError> {
    let nonce = format!("{:032x}", rand::random::<u128>());
    if let Some(map) = value.as_object_mut() {
        map.insert(FIELD.into(), nonce.clone().into());
    }
    let json = value.to_string();
    let dir = prepare_dir(db, shared)?;
    let path = dir.join(&nonce);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    let written = (|| {
        if shared {
            f.set_permissions(std::fs::Permissions::from_mode(0o640))?;
        }
        // Not synced: the engine reads it from the page cache, and a proof lost with a
        // power cut only gets its row refused (it is handed in again), never applied.
        f.write_all(digest(run_id, &json).as_bytes())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(StoreError::io(&path, e));
    }
    Ok((json, path))
}

/// The proofs directory of the store at `db`, made if missing: 0700, or 2770 when the
/// store is `shared` by a group (set, not masked by the umask). One that is not a
/// directory (a symlink to somewhere else) is refused.
pub(crate) fn prepare_dir(db: &Path, shared: bool) -> Result<PathBuf, StoreError> {
    let dir = dir(db);
    let io = |e: std::io::Error| StoreError::io(&dir, e);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(io(std::io::Error::other("not a directory"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    let mode = if shared { 0o2770 } else { 0o700 };
                    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))
                        .map_err(io)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        Err(e) => return Err(io(e)),
    }
    Ok(dir)
}

/// The account that owns `uid`, as the password database names it.
fn account_of(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// Whether the row `json` of `run_id` was submitted by `operator`, the account it
/// names. The proof is removed first, whatever the verdict: it proves one row, once,
/// and a row refused now cannot be handed in again with it.
pub fn check(db: &Path, run_id: &str, json: &str, operator: &str) -> Result<(), Unproven> {
    examine(db, run_id, json, operator, Use::Once)
}

/// Whether the row `json` about `subject` was made by `operator`, its proof kept: a
/// vote on an ask, which its asker, `approve` and `audit verify` each check; a
/// command, until its verdict commits. The proof
/// must be the file's only name (a member cannot link another's proof elsewhere, and
/// one moved away no longer proves anything).
pub fn holds(db: &Path, subject: &str, json: &str, operator: &str) -> Result<(), Unproven> {
    examine(db, subject, json, operator, Use::Kept)
}

/// A proof used up as it is checked ([`check`]), or kept ([`holds`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Once,
    Kept,
}

fn examine(
    db: &Path,
    run_id: &str,
    json: &str,
    operator: &str,
    using: Use,
) -> Result<(), Unproven> {
    let refused = |why: ProofGap| {
        Err(Unproven {
            operator: operator.to_string(),
            why,
        })
    };
    let nonce = match nonce_of(json) {
        Ok(n) => n,
        Err(why) => return refused(why),
    };
    let path = match real_dir(db) {
        Ok(d) => d.join(&nonce),
        Err(why) => return refused(why),
    };
    let mut f = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
    {
        Ok(f) => f,
        Err(error) => return refused(ProofGap::Unreadable { path, error }),
    };
    // Used once: unlinked, then examined through the descriptor: no other name can be
    // left for it (a second link shows as a link count above zero) and nothing can
    // swap it now. Kept: its one name is this one.
    let links = match using {
        Use::Once => {
            let _ = std::fs::remove_file(&path);
            0
        }
        Use::Kept => 1,
    };
    let meta = match f.metadata() {
        Ok(m) => m,
        Err(error) => return refused(ProofGap::Unreadable { path, error }),
    };
    if !meta.is_file() || meta.nlink() != links || meta.len() != PROOF_LEN as u64 {
        return refused(ProofGap::NotPlain { path });
    }
    let mut text = String::new();
    if let Err(error) = (&mut f).take(PROOF_LEN as u64).read_to_string(&mut text) {
        return refused(ProofGap::Unreadable { path, error });
    }
    if text != digest(run_id, json) {
        return refused(ProofGap::OtherCommand);
    }
    match account_of(meta.uid()) {
        Some(owner) if same_actor(&owner, operator) => Ok(()),
        Some(owner) => refused(ProofGap::MadeBy(owner)),
        None => refused(ProofGap::MadeByUid(meta.uid())),
    }
}

/// Remove the proof of a row no engine will apply (withdrawn, expired). Best effort.
pub(crate) fn discard(db: &Path, json: &str) {
    if let (Ok(nonce), Ok(dir)) = (nonce_of(json), real_dir(db)) {
        let _ = std::fs::remove_file(dir.join(nonce));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_model::Command;

    fn approve(operator: &str) -> Command {
        Command::Approve {
            step: "deploy".into(),
            operator: operator.into(),
            reason: Some("ok".into()),
            signature: None,
            inputs: Default::default(),
        }
    }

    fn me() -> String {
        account_of(nix::unistd::getuid().as_raw()).expect("this test's account has a name")
    }

    #[test]
    fn a_sealed_row_is_proved_once_and_only_for_its_account_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let sealed = || seal(&db, false, "R1", &approve(&me())).unwrap();
        // Another run, another text, another name: refused.
        let (json, proof) = sealed();
        assert!(proof.exists());
        assert!(check(&db, "R2", &json, &me()).is_err());
        let (json, _) = sealed();
        let edited = json.replace("\"ok\"", "\"changed\"");
        assert!(check(&db, "R1", &edited, &me()).is_err());
        let (json, proof) = sealed();
        let e = check(&db, "R1", &json, "someone-else")
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("made by `{}`", me())), "{e}");
        // Whatever the verdict, the proof is gone: the row cannot come back with it.
        assert!(!proof.exists());
        let e = check(&db, "R1", &json, &me()).unwrap_err().to_string();
        assert!(e.contains("no proof that"), "{e}");
        let (json, proof) = sealed();
        check(&db, "R1", &json, &me()).unwrap();
        assert!(!proof.exists(), "one use");
        assert!(check(&db, "R1", &json, &me()).is_err());
        // Reached through a symlink to the database, the proof lands beside the file.
        let link = dir.path().join("link.db");
        std::fs::write(&db, b"").unwrap();
        std::os::unix::fs::symlink(&db, &link).unwrap();
        let (json, proof) = seal(&link, false, "R1", &approve(&me())).unwrap();
        assert!(
            proof.starts_with(dir.path().join("b.db.proofs")),
            "{}",
            proof.display()
        );
        check(&db, "R1", &json, &me()).unwrap();
    }

    #[test]
    fn a_row_without_a_proof_or_with_a_path_for_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let bare = serde_json::to_string(&approve(&me())).unwrap();
        let e = check(&db, "R1", &bare, &me()).unwrap_err().to_string();
        assert!(e.contains("the row names no proof"), "{e}");
        let sneaky = bare.replacen('{', "{\"proof\":\"../../etc/passwd\",", 1);
        let e = check(&db, "R1", &sneaky, &me()).unwrap_err().to_string();
        assert!(e.contains("not a proof's name"), "{e}");
    }

    #[test]
    fn a_proof_with_a_second_link_or_through_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("b.db");
        let (json, proof) = seal(&db, false, "R1", &approve(&me())).unwrap();
        let copy = dir.path().join("copy");
        std::fs::hard_link(&proof, &copy).unwrap();
        let e = check(&db, "R1", &json, &me()).unwrap_err().to_string();
        assert!(e.contains("single plain file"), "{e}");
        std::os::unix::fs::symlink(&copy, &proof).unwrap();
        assert!(check(&db, "R1", &json, &me()).is_err());
        // Nor through a proofs directory that is a symlink to somewhere else.
        let (json, _) = seal(&db, false, "R1", &approve(&me())).unwrap();
        let proofs = dir.path().join("b.db.proofs");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::rename(&proofs, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &proofs).unwrap();
        let e = check(&db, "R1", &json, &me()).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
    }
}
