//! Files an engine appends to (step logs, their `.times`, a background engine's output)
//! in a store's `logs` directory, which every member of a group store can write (issue
//! 24, finding 11): a member could replace a run's directory with their own, or plant a
//! symlink where the next log goes, and have the engine append, as its account, to a
//! file of the member's choosing. So such a file is only ever opened in a directory of
//! this account's own that nobody else can write, held open while it is checked, and
//! never through a symlink.
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;

/// Open `dir` (not through a symlink) and check that it is this account's own and
/// that neither its group nor others can write it.
pub(crate) fn open_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    let fd = nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        // O_NOFOLLOW on a symlink; O_DIRECTORY on anything else.
        nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR => not_own(dir, "not a directory"),
        e => std::io::Error::from(e),
    })?;
    let meta = File::from(fd.try_clone()?).metadata()?;
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(not_own(dir, "another account's"));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(not_own(dir, "writable by its group or others"));
    }
    Ok(fd)
}

fn not_own(dir: &Path, what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!(
            "{} is {what}: baton writes logs only in a directory of this account's own that nobody else can write (remove it; baton makes it again, 0700)",
            dir.display()
        ),
    )
}

/// [`open_dir`], making `dir` (0700) first when it is missing.
pub fn make_dir(dir: &Path) -> std::io::Result<OwnedFd> {
    match open_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            open_dir(dir)
        }
        other => other,
    }
}

/// Open `name` in `dir` (made if missing, see [`make_dir`]) to append, creating it
/// 0600; a symlink in its place is refused, never followed. Opened to read too, so a
/// writer can look at what is already there (the end of the run's time index).
pub fn append(dir: &Path, name: &str) -> std::io::Result<File> {
    let dirfd = make_dir(dir)?;
    let fd = openat(
        &dirfd,
        name,
        OFlag::O_RDWR | OFlag::O_APPEND | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )?;
    let file = File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} is not a plain file", dir.join(name).display()),
        ));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn appends_in_its_own_directory_and_never_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs").join("run");
        append(&dir, "a.1.log")
            .unwrap()
            .write_all(b"one\n")
            .unwrap();
        append(&dir, "a.1.log")
            .unwrap()
            .write_all(b"two\n")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("a.1.log")).unwrap(),
            "one\ntwo\n"
        );
        let meta = std::fs::metadata(dir.join("a.1.log")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        // A symlink planted where the next log goes.
        let victim = tmp.path().join("profile");
        std::fs::write(&victim, "mine\n").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("a.2.log")).unwrap();
        assert!(append(&dir, "a.2.log").is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine\n");
        // The run's directory replaced by a symlink to another directory.
        let other = tmp.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::rename(&dir, tmp.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&other, &dir).unwrap();
        let e = append(&dir, "a.3.log").unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
        assert!(!other.join("a.3.log").exists());
        // A directory its group can write.
        std::fs::remove_file(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
        let e = append(&dir, "a.4.log").unwrap_err();
        assert!(e.to_string().contains("writable by its group"), "{e}");
    }
}
