//! The store's artifact directories (issue 75 point 2), checked before a file is kept
//! in them or handed from them. `artifacts/`, `artifacts/objects/` and
//! `artifacts/stage/` are shared: in a group store `store init --group` makes them 3770
//! (setgid, sticky: every member adds files, none moves another's), in a private one
//! they are the owner's 0700. A run's own `stage/RUN/` and each `stage/RUN/SHA/` under it
//! are its engine account's alone (0700): the copy a reader is handed lies in a
//! directory nobody else can write, so it cannot be swapped after its digest was
//! checked. A directory that breaks these rules is refused, saying which and how to fix
//! it; one that is missing is made with them.
use nix::unistd::{Uid, User};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The sticky bit: in a directory with it, only a file's owner (or the directory's)
/// may rename or remove it.
const STICKY: u32 = 0o1000;
/// What a shared artifact directory of a group store is made: setgid, sticky, the group's.
pub(crate) const SHARED_MODE: u32 = 0o3770;

/// Why an artifact directory is not used, and how to fix it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DirError {
    #[error(
        "{path} is not a directory (a symbolic link or a file): remove it, and baton makes it again"
    )]
    NotADirectory { path: String },
    #[error(
        "{path} (mode {mode:o}) can be written by others without the sticky bit, so another account could swap the files in it: {fix}"
    )]
    OthersWrite {
        path: String,
        mode: u32,
        fix: String,
    },
    #[error(
        "{path} belongs to {owner}, not to {me}: another account could swap the files in it; have {owner} (or root) remove it, and baton makes it again"
    )]
    NotOwner {
        path: String,
        owner: String,
        me: String,
    },
    #[error(
        "{path} belongs to {owner} (mode {mode:o}), but a shared artifact directory of this group store must be the store owner's ({store_owner}), the store's group's and sticky (3770): have {owner} (or root) remove it, and baton makes it again"
    )]
    NotShared {
        path: String,
        owner: String,
        mode: u32,
        store_owner: String,
    },
    #[error(
        "{path} (owner {owner}, mode {mode:o}) lies above {stage}, where this account's engine hands the local steps of a group store their artifacts, and another account could rename what is in it: make it root's or this account's and not writable by others (or sticky), or set XDG_STATE_HOME to a directory whose every parent is"
    )]
    Above {
        path: String,
        owner: String,
        mode: u32,
        stage: String,
    },
    #[error(
        "cannot give {path} to the store's group {group}: {err}; run the engine as a member of {group} (`id` lists this account's groups; a new member logs in again), and baton makes it again"
    )]
    NotGroup {
        path: String,
        group: String,
        err: nix::Error,
    },
    #[error("cannot make or read {path}: {err}")]
    Io { path: String, err: io::Error },
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

fn name(uid: u32) -> String {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name)
}

fn io_err(p: &Path) -> impl FnOnce(io::Error) -> DirError + '_ {
    move |err| DirError::Io {
        path: shown(p),
        err,
    }
}

/// The store's directory as the artifact directories are judged against: its owner,
/// its group, and whether it is a group store's (setgid and group-writable, as `store
/// init --group` makes it; the store's own check already refused any other).
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreDir {
    owner: u32,
    gid: u32,
    shared: bool,
}

impl StoreDir {
    /// The directory of the store whose artifacts lie in `artifacts`.
    pub(crate) fn of(artifacts: &Path) -> Result<StoreDir, DirError> {
        let dir = artifacts.parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let m = fs::metadata(dir).map_err(io_err(dir))?;
        Ok(StoreDir {
            owner: m.uid(),
            gid: m.gid(),
            shared: m.mode() & 0o2070 == 0o2070,
        })
    }

    /// A shared directory (`artifacts`, `objects`, `stage`): made if missing, else
    /// checked: ours and written by us alone (a sticky group directory of ours too), or
    /// in a group store the store owner's (or root's) sticky one of the store's group.
    pub(crate) fn ready_shared(&self, dir: &Path) -> Result<(), DirError> {
        if self.make(dir, self.shared)? {
            return Ok(());
        }
        let m = dir_meta(dir)?;
        let mode = m.mode() & 0o7777;
        let me = nix::unistd::geteuid().as_raw();
        let sticky = mode & STICKY != 0;
        let group_ok = self.shared && m.gid() == self.gid && sticky;
        if mode & 0o002 != 0 || (mode & 0o020 != 0 && !group_ok) {
            return Err(self.others_write(dir, mode));
        }
        if m.uid() == me {
            return Ok(());
        }
        if self.shared && (m.uid() == self.owner || m.uid() == 0) && group_ok {
            return Ok(());
        }
        Err(match self.shared {
            true => DirError::NotShared {
                path: shown(dir),
                owner: name(m.uid()),
                mode,
                store_owner: name(self.owner),
            },
            false => DirError::NotOwner {
                path: shown(dir),
                owner: name(m.uid()),
                me: name(me),
            },
        })
    }

    /// A fan-out directory of `objects/`: in a group store any member's (each object's
    /// content is checked against its record whenever it is read), made 3770; in a
    /// private store the owner's 0700. Never one others outside the group can write.
    pub(crate) fn ready_fan(&self, dir: &Path) -> Result<(), DirError> {
        if self.make(dir, self.shared)? || self.shared {
            let mode = dir_meta(dir)?.mode() & 0o7777;
            if mode & 0o002 != 0 {
                return Err(self.others_write(dir, mode));
            }
            return Ok(());
        }
        ready_private(dir)
    }

    fn others_write(&self, dir: &Path, mode: u32) -> DirError {
        let fix = match self.shared {
            true => format!(
                "as the store's owner ({}), `chmod 3770 {}`",
                name(self.owner),
                shown(dir)
            ),
            false => format!("`chmod 700 {}`", shown(dir)),
        };
        DirError::OthersWrite {
            path: shown(dir),
            mode,
            fix,
        }
    }

    /// Make `dir` if it is missing (`true`: made now): shared (3770, the store's group)
    /// or private (0700).
    fn make(&self, dir: &Path, shared: bool) -> Result<bool, DirError> {
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) if shared => {
                let gid = nix::unistd::Gid::from_raw(self.gid);
                if let Err(err) = nix::unistd::chown(dir, None, Some(gid)) {
                    // Not left behind as this account's private directory, which every
                    // later check would refuse with another fix.
                    let _ = fs::remove_dir(dir);
                    let group = nix::unistd::Group::from_gid(gid).ok().flatten();
                    return Err(DirError::NotGroup {
                        path: shown(dir),
                        group: group.map_or_else(|| format!("gid {}", self.gid), |g| g.name),
                        err,
                    });
                }
                // After chown (which may clear setgid), past the umask.
                fs::set_permissions(dir, fs::Permissions::from_mode(SHARED_MODE))
                    .map_err(io_err(dir))?;
                Ok(true)
            }
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_err(dir)(e)),
        }
    }
}

fn dir_meta(dir: &Path) -> Result<fs::Metadata, DirError> {
    // Never through a symbolic link: the link's target is not the store's.
    let m = fs::symlink_metadata(dir).map_err(io_err(dir))?;
    if !m.is_dir() {
        return Err(DirError::NotADirectory { path: shown(dir) });
    }
    Ok(m)
}

/// A directory of one account's (a run's `stage/RUN/`, `stage/RUN/SHA/`): made 0700 if
/// missing, else refused unless it is ours and nobody else can write it.
pub(crate) fn ready_private(dir: &Path) -> Result<(), DirError> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            // Past the umask.
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
            return Ok(());
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err(dir)(e)),
    }
    ours_alone(dir, &dir_meta(dir)?, nix::unistd::geteuid().as_raw())
}

/// `dir` (its metadata `m`) is account `me`'s, and nobody else can write it.
fn ours_alone(dir: &Path, m: &fs::Metadata, me: u32) -> Result<(), DirError> {
    if m.uid() != me {
        return Err(DirError::NotOwner {
            path: shown(dir),
            owner: name(m.uid()),
            me: name(me),
        });
    }
    let mode = m.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(DirError::OthersWrite {
            path: shown(dir),
            mode,
            fix: format!("`chmod 700 {}`", shown(dir)),
        });
    }
    Ok(())
}

/// Ready the directories of the copy at `dest` under `stage` (`artifacts/stage`): the
/// shared `artifacts/` and `stage/`, then each private one down to `dest`'s own.
pub(crate) fn ready_stage(artifacts: &Path, dest: &Path) -> Result<(), DirError> {
    let stage = artifacts.join("stage");
    let store = StoreDir::of(artifacts)?;
    store.ready_shared(artifacts)?;
    store.ready_shared(&stage)?;
    let parent = dest.parent().unwrap_or(Path::new("."));
    let Ok(below) = parent.strip_prefix(&stage) else {
        // Not under the store's stage (never, as paths are made): its own directory.
        return ready_private(parent);
    };
    ready_private_below(&stage, below)
}

/// Each directory of `below` under `top` (not `top` itself), in turn: [`ready_private`].
fn ready_private_below(top: &Path, below: &Path) -> Result<(), DirError> {
    let mut at = top.to_path_buf();
    for part in below.components() {
        at.push(part);
        ready_private(&at)?;
    }
    Ok(())
}

/// Ready the directories of the copy at `dest` under `own`, this account's stage for
/// a group store (`store::account_stage`, `STATE/stage/KEY`): the state directory is
/// ours and written by us alone, every directory above it (as named and as resolved)
/// is root's or ours and nobody else can rename what is in it (not writable by others,
/// or sticky), and `stage/`, `KEY/` and each one down to `dest`'s are ours alone
/// (0700). A member who can write the store's directory reaches none of them.
pub(crate) fn ready_own_stage(own: &Path, dest: &Path) -> Result<(), DirError> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let (Some(stage), Ok(below)) = (own.parent(), parent.strip_prefix(own)) else {
        // Not under it (never, as paths are made): its own directory.
        return ready_private(parent);
    };
    let state = stage.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state)
        .map_err(io_err(state))?;
    let me = nix::unistd::geteuid().as_raw();
    // Followed if it is a link: the state directory may be one, and holds more than this.
    ours_alone(state, &fs::metadata(state).map_err(io_err(state))?, me)?;
    let real = fs::canonicalize(state).map_err(io_err(state))?;
    for dir in state.ancestors().skip(1).chain(real.ancestors().skip(1)) {
        if !dir.as_os_str().is_empty() {
            no_rename_above(dir, own, me)?;
        }
    }
    ready_private(stage)?;
    ready_private(own)?;
    ready_private_below(own, below)
}

/// `dir`, above this account's stage `own`: root's or ours, and nobody else can
/// rename what is in it (not writable by others, or sticky).
fn no_rename_above(dir: &Path, own: &Path, me: u32) -> Result<(), DirError> {
    let m = fs::metadata(dir).map_err(io_err(dir))?;
    let mode = m.mode() & 0o7777;
    let others_rename = mode & 0o022 != 0 && mode & STICKY == 0;
    if (m.uid() == me || m.uid() == 0) && !others_rename {
        return Ok(());
    }
    Err(DirError::Above {
        path: shown(dir),
        owner: name(m.uid()),
        mode,
        stage: shown(own),
    })
}

/// Ready `artifacts/`, `artifacts/objects/` and the fan-out directory of `object` in
/// it, if given; `objects/`.
pub(crate) fn ready_objects(artifacts: &Path, object: Option<&Path>) -> Result<PathBuf, DirError> {
    let objects = artifacts.join("objects");
    let store = StoreDir::of(artifacts)?;
    store.ready_shared(artifacts)?;
    store.ready_shared(&objects)?;
    if let Some(fan) = object.and_then(Path::parent).filter(|p| *p != objects) {
        store.ready_fan(fan)?;
    }
    Ok(objects)
}

/// Why `baton mark --artifact NAME=PATH` could not keep the file it was given.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error("{path}: {source} (give the path of a file you can read)")]
    Unreadable { path: String, source: io::Error },
    #[error("{path} is not a file (give the path of a file)")]
    NotAFile { path: String },
    /// The collection's own error, said as it is said for a step's artifact.
    #[error("{0}")]
    Collect(String),
    #[error("artifact `{name}`: {path} was not kept (is it a regular file?)")]
    NotKept { name: String, path: String },
}

/// Keep the file at `path` in the store of `db` as artifact `name` of step `step_id`
/// (what `baton mark --artifact NAME=PATH` gives), as a step's file is kept: its
/// record, or why not.
pub fn keep_given(
    db: &Path,
    step_id: &str,
    (name, path): (&str, &Path),
) -> Result<baton_model::ArtifactRecord, KeepError> {
    let real = fs::canonicalize(path).map_err(|source| KeepError::Unreadable {
        path: shown(path),
        source,
    })?;
    let (Some(dir), Some(file)) = (real.parent(), real.file_name()) else {
        return Err(KeepError::NotAFile { path: shown(path) });
    };
    let req = baton_core::CollectRequest {
        step: 0,
        step_id: step_id.to_string(),
        attempt: 0,
        dir: dir.to_path_buf(),
        // The file's own name, as a literal path (a name with a glob's characters is
        // matched as a glob, and only by itself or nothing).
        artifacts: vec![(name.to_string(), file.to_string_lossy().into_owned())],
    };
    let aheads = crate::send_ahead::Aheads::default();
    let mut kept = crate::artifact_files::collect_retrying(db, &req, None, &aheads)
        .map_err(|e| KeepError::Collect(e.to_string()))?;
    kept.pop().ok_or_else(|| KeepError::NotKept {
        name: name.to_string(),
        path: shown(path),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_private_store_s_directories_are_made_0700_and_a_writable_one_refused() {
        let t = tempfile::tempdir().unwrap();
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let artifacts = t.path().join("artifacts");
        let dest = artifacts.join("stage/r1/ab/m.ckpt");
        ready_stage(&artifacts, &dest).unwrap();
        for d in ["", "stage", "stage/r1", "stage/r1/ab"] {
            assert_eq!(mode(&artifacts.join(d)), 0o700, "{d}");
        }
        fs::set_permissions(artifacts.join("stage"), fs::Permissions::from_mode(0o770)).unwrap();
        let e = ready_stage(&artifacts, &dest).unwrap_err().to_string();
        assert!(
            e.contains("stage (mode 770) can be written by others"),
            "{e}"
        );
        assert!(e.contains("chmod 700"), "{e}");
        fs::set_permissions(artifacts.join("stage"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(
            artifacts.join("stage/r1"),
            fs::Permissions::from_mode(0o777),
        )
        .unwrap();
        let e = ready_stage(&artifacts, &dest).unwrap_err().to_string();
        assert!(e.contains("r1 (mode 777)"), "{e}");
    }

    #[test]
    fn an_account_stage_is_made_0700_and_one_under_a_writable_directory_refused() {
        let t = tempfile::tempdir().unwrap();
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let own = t.path().join("state/baton/stage/k1");
        let dest = own.join("r1/ab/m.ckpt");
        ready_own_stage(&own, &dest).unwrap();
        for d in ["", "..", "../..", "r1", "r1/ab"] {
            assert_eq!(mode(&own.join(d)), 0o700, "{d}");
        }
        // Another account could rename `state/` (and all below it) away.
        fs::set_permissions(t.path().join("state"), fs::Permissions::from_mode(0o770)).unwrap();
        let e = ready_own_stage(&own, &dest).unwrap_err().to_string();
        assert!(e.contains("state (owner"), "{e}");
        assert!(e.contains("mode 770) lies above"), "{e}");
        // Sticky, it is safe again (as `/tmp` is).
        fs::set_permissions(t.path().join("state"), fs::Permissions::from_mode(0o1777)).unwrap();
        ready_own_stage(&own, &dest).unwrap();
        fs::set_permissions(
            t.path().join("state/baton"),
            fs::Permissions::from_mode(0o770),
        )
        .unwrap();
        let e = ready_own_stage(&own, &dest).unwrap_err().to_string();
        assert!(
            e.contains("baton (mode 770) can be written by others"),
            "{e}"
        );
    }

    #[test]
    fn a_link_in_place_of_a_directory_is_refused() {
        let t = tempfile::tempdir().unwrap();
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let artifacts = t.path().join("artifacts");
        let elsewhere = t.path().join("elsewhere");
        fs::create_dir_all(artifacts.join("stage")).unwrap();
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, artifacts.join("stage/r1")).unwrap();
        let e = ready_stage(&artifacts, &artifacts.join("stage/r1/ab/m"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a directory"), "{e}");
    }

    /// A shared directory the engine's account cannot give to the store's group (not a
    /// member of it) is refused with the group and the fix, and not left behind as a
    /// private one (which every later check would refuse with another fix). Run as an
    /// account outside group 0: this account when it is not root, else `nobody`,
    /// by this test binary again under `setpriv`.
    #[test]
    fn a_shared_directory_not_given_to_the_group_is_refused_naming_it_and_not_left() {
        const DIR: &str = "BATON_TEST_CHOWN_DIR";
        let inner = std::env::var(DIR).ok();
        if inner.is_some() || !nix::unistd::geteuid().is_root() {
            let t = tempfile::tempdir().unwrap();
            let base = inner.map_or_else(|| t.path().to_path_buf(), PathBuf::from);
            let artifacts = base.join("artifacts");
            let store = StoreDir {
                owner: 0,
                gid: 0,
                shared: true,
            };
            let e = store.ready_shared(&artifacts).unwrap_err();
            assert!(matches!(e, DirError::NotGroup { .. }), "{e}");
            let e = e.to_string();
            assert!(e.contains("cannot give"), "{e}");
            assert!(e.contains("run the engine as a member of"), "{e}");
            assert!(!artifacts.exists(), "left behind");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        fs::set_permissions(t.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "artifact_dirs::tests::a_shared_directory_not_given_to_the_group_is_refused_naming_it_and_not_left",
            ])
            .env(DIR, t.path())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.contains("1 passed"), "{said}");
    }
}
