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

/// Why an output path is not written.
fn refused(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.to_string())
}

/// Where an output written whole (`baton import -o`, `--metrics-file`) goes, when it is
/// not replaced by a rename: `None` for a missing name or a regular file (replaced
/// whole: a reader sees the old text or the new). A character device (`/dev/null`)
/// or a pipe of this account is opened for writing in place, without `O_CREAT` or
/// `O_TRUNC`, so a rename never puts a file where a device was. A directory, a socket,
/// a block device, another account's pipe or a pipe nobody reads is refused, saying
/// so. A symbolic link of this account's or root's (`/dev/stdout`) is its target's;
/// another account's (planted in a directory others write) is only a name, replaced.
pub fn in_place(path: &Path) -> io::Result<Option<File>> {
    use std::os::unix::fs::FileTypeExt;
    let missing = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Ok(None),
        _ => Err(e),
    };
    let me = nix::unistd::geteuid().as_raw();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return missing(e),
    };
    let follow = meta.file_type().is_symlink();
    let meta = match follow {
        false => meta,
        true if meta.uid() != me && meta.uid() != 0 => return Ok(None),
        true => match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return missing(e),
        },
    };
    let kind = meta.file_type();
    let pipe = kind.is_fifo();
    match () {
        _ if kind.is_file() => return Ok(None),
        _ if kind.is_char_device() => {}
        _ if pipe && meta.uid() == me => {}
        _ if pipe => return Err(refused("is another account's pipe; give a file's path")),
        _ if kind.is_dir() => return Err(refused("is a directory; give a file's path")),
        _ if kind.is_block_device() => {
            return Err(refused("is a block device; give a file's path"));
        }
        _ => return Err(refused("is a socket; give a file's path")),
    }
    // Non-blocking: a pipe nobody reads fails at once (ENXIO) instead of waiting.
    let flags = libc::O_NONBLOCK | libc::O_CLOEXEC | if follow { 0 } else { libc::O_NOFOLLOW };
    let f = OpenOptions::new()
        .write(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENXIO) if pipe => {
                refused("is a pipe nobody reads; start its reader first, or give a file's path")
            }
            _ => e,
        })?;
    // What was opened is what was looked at, not a file swapped in since.
    let opened = f.metadata()?;
    if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
        return Err(refused("changed while it was opened; try again"));
    }
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let mut fl = OFlag::from_bits_truncate(fcntl(&f, FcntlArg::F_GETFL)?);
    fl.remove(OFlag::O_NONBLOCK);
    fcntl(&f, FcntlArg::F_SETFL(fl))?;
    Ok(Some(f))
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

    #[test]
    fn a_device_or_a_pipe_of_one_s_own_is_opened_in_place_the_rest_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        assert!(in_place(&file).unwrap().is_none(), "missing: replaced");
        std::fs::write(&file, "x").unwrap();
        assert!(
            in_place(&file).unwrap().is_none(),
            "a regular file: replaced"
        );
        // /dev/null is only opened for writing, and through a link of one's own.
        assert!(in_place(Path::new("/dev/null")).unwrap().is_some());
        let link = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(in_place(&link).unwrap().is_some());
        let e = in_place(dir.path()).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let sock = dir.path().join("sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = in_place(&sock).unwrap_err();
        assert!(e.to_string().contains("is a socket"), "{e}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = in_place(&fifo).unwrap_err();
        assert!(e.to_string().contains("nobody reads"), "{e}");
    }

    #[test]
    fn a_read_pipe_gets_the_bytes_and_stays_a_pipe() {
        use std::io::Read;
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Opened for reading without waiting for a writer, so no thread is needed.
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let mut w = in_place(&fifo).unwrap().expect("written in place");
        w.write_all(b"name = \"x\"\n").unwrap();
        drop(w);
        let mut got = String::new();
        reader.read_to_string(&mut got).unwrap();
        assert_eq!(got, "name = \"x\"\n");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }
}
