//! Opening a file that baton writes in a directory others may write too (a metrics
//! collector's, a group's, `/tmp`): whoever can write the directory can plant a symlink
//! or a hard link where baton's file goes, to make baton write into a file of theirs
//! choosing that baton's account owns. The one way baton opens such a file.
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// How [`open_no_follow`] opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// A new file: `O_EXCL`, so a name already taken (by a file or a planted link) fails
    /// with `AlreadyExists`.
    New,
    /// Appended to, created if missing: an existing file must be a regular file of this
    /// account with no other name, a pipe of this account or a device.
    Append,
}

/// Open `path` for writing without following a symlink at its last component
/// (`O_NOFOLLOW`), created with `mode`. [`Open::Append`] refuses, after opening, a regular
/// file not owned by this process's account or that has another name (a hard link
/// planted to a file elsewhere), and anything else but a pipe of its own or a device.
pub fn open_no_follow(path: &Path, how: Open, mode: u32) -> io::Result<File> {
    let mut o = OpenOptions::new();
    match how {
        Open::New => o.write(true).create_new(true),
        Open::Append => o.append(true).create(true),
    };
    let f = o
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(mode)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link; give the path of a regular file (baton never writes through a link)",
            ),
            _ => e,
        })?;
    if how == Open::Append {
        use std::os::unix::fs::FileTypeExt;
        let meta = f.metadata()?;
        let kind = meta.file_type();
        let mine = meta.uid() == nix::unistd::geteuid().as_raw();
        // A pipe of one's own (`mkfifo`) or a device (`/dev/null`) keeps nothing; a
        // regular file must have no other name.
        let fits = match () {
            _ if kind.is_char_device() => true,
            _ if kind.is_fifo() => mine,
            _ => kind.is_file() && mine && meta.nlink() == 1,
        };
        if !fits {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is not a regular file of this account with one name (nor a pipe of its own); remove it or give another path",
            ));
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_planted_symlink_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("profile");
        std::fs::write(&target, "mine\n").unwrap();
        let link = dir.path().join("events.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for how in [Open::New, Open::Append] {
            assert!(open_no_follow(&link, how, 0o600).is_err(), "{how:?}");
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
    }

    #[test]
    fn a_hard_link_is_refused_and_a_file_of_ones_own_is_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("profile");
        std::fs::write(&target, "mine\n").unwrap();
        let link = dir.path().join("linked");
        std::fs::hard_link(&target, &link).unwrap();
        assert!(open_no_follow(&link, Open::Append, 0o600).is_err());
        let own = dir.path().join("own");
        for line in ["a\n", "b\n"] {
            let mut f = open_no_follow(&own, Open::Append, 0o600).unwrap();
            f.write_all(line.as_bytes()).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&own).unwrap(), "a\nb\n");
        let e = open_no_follow(&own, Open::New, 0o600).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(open_no_follow(Path::new("/dev/null"), Open::Append, 0o600).is_ok());
        assert!(open_no_follow(dir.path(), Open::Append, 0o600).is_err());
    }
}
