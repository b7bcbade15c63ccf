//! Copies sent ahead over SSH (issue 60 point 3): while a maker's file comes back into
//! the store, the same bytes go to the working directory of a reader on a host, which
//! keeps them under a temporary name, hashes them once they all arrived, and puts them
//! at `.baton-artifacts/SHA/NAME` only when their digest is the one the engine computed
//! (sent after the last byte). The reader's start then holds that copy (`ADOPT`)
//! instead of writing it again, provided it is the copy checked, unchanged. The scripts
//! run as `files.rs`' do (`CD`, positional arguments, the directory's lock).
use super::SshExecutor;
use super::files::SshUpload;
use crate::artifact_channel::{Ahead, ChannelError};
use std::io::Write;
use std::path::Path;

/// The length of a digest as it follows the bytes: SHA-256 in lowercase hex.
const DIGEST_LEN: usize = 64;

/// `AHEAD DIR NAME HOLDER`: stdin into `.baton-artifacts/.ahead-PID`: the file's bytes
/// then their SHA-256 (64 hex digits, the engine's). Once it ended (`got`), the digest is
/// cut off the end and the rest hashed whole; only if the two agree is the file renamed
/// to `.baton-artifacts/SHA/NAME` (read-only) and held for HOLDER, and its fingerprint
/// printed (inode, size, modification time to the nanosecond: `ADOPT` compares it).
/// Anything else removes it: a stream cut short (the engine died, the connection
/// failed) ends in no digest (exit 86) or a wrong one (exit 84), never a file in place;
/// a copy already at that name (another reader's, maybe held) is left as it is (exit
/// 87), and the reader's start checks it by its digest as any copy found there. A
/// reader's directory that is not there fails it at once (exit 88): a copy sent ahead
/// goes where it was sent or nowhere, never into the home (`CD`'s fallback). The
/// bytes are appended (`>>`), as `PUT`'s are (`files.rs` says why).
const AHEAD: &str = r#"[ -z "$nodir" ] || { echo "no directory $1 here: nothing sent ahead" >&2; exit 88; }
a=./.baton-artifacts
t=$a/.ahead-$$
lock
mkdir -p -- "$a" && : > "$t" || exit 85
unlock
no() { lock; rm -f -- "$t"; rmdir -- "$a" 2>/dev/null; }
cat >> "$t" || { no; exit 85; }
trap '' PIPE
echo got
n=$(stat -c %s -- "$t") && [ "$n" -ge 64 ] || { no; exit 86; }
w=$(tail -c 64 -- "$t") || { no; exit 85; }
case $w in *[!0-9a-f]*) no; exit 86 ;; esac
[ ${#w} -eq 64 ] && truncate -s -64 -- "$t" || { no; exit 86; }
s=$(sum < "$t") || { no; exit 85; }
if [ "${s%% *}" != "$w" ]; then no; echo "${s%% *}"; exit 84; fi
d=$a/$w
f=$d/$2
lock
# A copy of these bytes already in place may be another reader's, held while it runs:
# replaced, its hold would keep the old file and the last hold of this one remove the
# name it reads. It is left to this reader's start to check and hold (exit 87).
if [ -e "$f" ] || [ -L "$f" ]; then
  rm -f -- "$t"; echo "a copy of these bytes is in place already: its reader's start checks it" >&2; exit 87
fi
mkdir -p -- "$d" && chmod 0444 "$t" && mv -f -- "$t" "$f" || { no; exit 85; }
ln -f -- "$f" "$d/.held-$3" || exit 85
stat -c '%i %s %y' -- "$f"
"#;

/// `ADOPT DIR FILE AHEAD PRINT HOLDER LAST`: FILE held for HOLDER (`yes`) if it is the
/// copy held for AHEAD with fingerprint PRINT (any write changes its modification
/// time); with LAST = `last`, AHEAD's hold dropped. Else `no`, nothing changed.
const ADOPT: &str = r#"f=./$2
d=${f%/*}
lock
[ -f "$f" ] && [ ! -L "$f" ] && [ "$f" -ef "$d/.held-$3" ] || { echo no; exit 0; }
[ "$(stat -c '%i %s %y' -- "$f")" = "$4" ] || { echo no; exit 0; }
ln -f -- "$f" "$d/.held-$5" || { echo no; exit 0; }
[ "$6" != last ] || rm -f -- "$d/.held-$3"
echo yes
"#;

/// [`crate::artifact_channel::FileChannel::send_ahead`] on a host.
pub(super) fn send(
    exec: &SshExecutor,
    dir: &Path,
    name: &str,
    holder: &str,
) -> Result<Box<dyn Ahead>, ChannelError> {
    let up = exec.start_upload(AHEAD, dir, &[name, holder], (name, ""))?;
    Ok(Box::new(SshAhead { up, ended: false }))
}

/// [`crate::artifact_channel::FileChannel::adopt`] on a host.
pub(super) fn adopt(
    exec: &SshExecutor,
    dir: &Path,
    rel: &Path,
    (ahead, print): (&str, &str),
    (holder, last): (&str, bool),
) -> Result<bool, ChannelError> {
    let rel = rel.to_string_lossy();
    let last = if last { "last" } else { "" };
    let out = exec.file_call(ADOPT, dir, &[&rel, ahead, print, holder, last], &rel)?;
    Ok(out.trim_ascii() == b"yes")
}

/// A copy on its way ahead (`AHEAD`).
struct SshAhead {
    up: SshUpload,
    ended: bool,
}

impl Write for SshAhead {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.up.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.up.flush()
    }
}

impl Ahead for SshAhead {
    fn end(&mut self, sha256: &str) -> std::io::Result<()> {
        if sha256.len() != DIGEST_LEN || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::other("not a SHA-256 in hex"));
        }
        self.up.write_all(sha256.to_ascii_lowercase().as_bytes())?;
        self.up.want = sha256.to_string();
        self.ended = true;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<String, ChannelError> {
        let ended = self.ended;
        let print = self.up.answer()?;
        // Without its digest the host kept nothing (it says so with exit 86).
        if !ended {
            return Err(ChannelError::Failed("the copy sent ahead was cut".into()));
        }
        Ok(print.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::super::files::CD;
    use super::*;
    use std::process::{Command, Stdio};

    fn run(script: &str, dir: &Path, args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{CD}{script}"))
            .arg("sh")
            .arg(dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write");
        let out = child.wait_with_output().expect("sh");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// A content's SHA-256, as the host's `sha256sum` says it.
    fn sha(b: &[u8]) -> String {
        let t = tempfile::NamedTempFile::new().expect("tmp");
        std::fs::write(t.path(), b).expect("write");
        let out = Command::new("sha256sum")
            .arg(t.path())
            .output()
            .expect("sha256sum");
        String::from_utf8_lossy(&out.stdout)[..64].to_string()
    }

    /// Every path under `dir`, relative to it, sorted.
    fn files(dir: &Path) -> Vec<String> {
        fn walk(base: &Path, d: &Path, all: &mut Vec<String>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let p = e.path();
                if let Ok(rel) = p.strip_prefix(base) {
                    all.push(rel.display().to_string());
                }
                if p.is_dir() {
                    walk(base, &p, all);
                }
            }
        }
        let mut all = Vec::new();
        walk(dir, dir, &mut all);
        all.sort();
        all
    }

    /// Only bytes followed by their own digest are kept, at `SHA/NAME`, held; a stream
    /// cut anywhere (no digest, or part of one) or followed by another digest leaves
    /// nothing.
    #[test]
    fn a_copy_sent_ahead_is_kept_only_whole_and_checked() {
        let t = tempfile::tempdir().expect("tmp");
        let w = t.path().join("w");
        std::fs::create_dir_all(&w).expect("dir");
        let data = vec![7u8; 100_000];
        let s = sha(&data);
        let args = ["m.ckpt", "r.train.1.ahead.model"];
        // Cut: without its digest, with half of it, with another's.
        for cut in [
            data[..50_000].to_vec(),
            [&data[..], &s.as_bytes()[..30]].concat(),
            [&data[..], sha(b"other").as_bytes()].concat(),
        ] {
            let (code, _) = run(AHEAD, &w, &args, &cut);
            assert!(matches!(code, Some(84 | 86)), "{code:?}");
            assert_eq!(files(&w), Vec::<String>::new(), "nothing left");
        }
        let (code, print) = run(AHEAD, &w, &args, &[&data[..], s.as_bytes()].concat());
        assert_eq!(code, Some(0), "{print}");
        let rel = format!(".baton-artifacts/{s}/m.ckpt");
        assert_eq!(std::fs::read(w.join(&rel)).expect("kept"), data);
        let print = print.trim_start_matches("got\n").trim().to_string();
        // Adopted by a reader: its hold taken; the last one drops the ahead's.
        let adopt = |print: &str, holder: &str, last: &str| {
            run(ADOPT, &w, &[&rel, args[1], print, holder, last], b"").1
        };
        assert_eq!(
            adopt("1 2 3", "r.eval.1", ""),
            "no\n",
            "another fingerprint"
        );
        assert_eq!(adopt(&print, "r.eval.1", ""), "yes\n");
        assert_eq!(adopt(&print, "r.test.1", "last"), "yes\n");
        assert_eq!(
            files(&w),
            [
                ".baton-artifacts".to_string(),
                format!(".baton-artifacts/{s}"),
                format!(".baton-artifacts/{s}/.held-r.eval.1"),
                format!(".baton-artifacts/{s}/.held-r.test.1"),
                rel.clone(),
            ]
        );
        // Its ahead hold gone: no further reader adopts it.
        assert_eq!(adopt(&print, "r.late.1", ""), "no\n");
        // The same bytes sent ahead again while readers hold that file: left as it is
        // (the same inode, no new hold, nothing else left), exit 87.
        let inode =
            |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).expect("kept"));
        let before = (inode(&w.join(&rel)), files(&w));
        let again = ["m.ckpt", "r2.train.1.ahead.model"];
        let (code, _) = run(AHEAD, &w, &again, &[&data[..], s.as_bytes()].concat());
        assert_eq!(code, Some(87));
        assert_eq!((inode(&w.join(&rel)), files(&w)), before);
    }

    /// A reader's directory that is not there: nothing is written anywhere (not into
    /// the home, where `CD` falls back to), and the script says so with exit 88.
    #[test]
    fn a_copy_sent_ahead_to_no_directory_is_refused_not_written_home() {
        let t = tempfile::tempdir().expect("tmp");
        let home = t.path().join("home");
        std::fs::create_dir_all(&home).expect("dir");
        let data = b"weights".to_vec();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("{CD}{AHEAD}"))
            .arg("sh")
            .arg(t.path().join("gone"))
            .args(["m.ckpt", "pre"])
            .env("HOME", &home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh");
        // The script may have ended before its input is written: a broken pipe is fine.
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&[&data[..], sha(&data).as_bytes()].concat());
        let out = child.wait_with_output().expect("sh");
        assert_eq!(out.status.code(), Some(88));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no directory"),
            "{out:?}"
        );
        assert_eq!(files(&home), Vec::<String>::new(), "nothing written home");
        assert!(!t.path().join("gone").exists());
    }

    /// A copy changed after it was checked (written through, its mode changed back) is
    /// not adopted: the reader's start checks or writes it as any other.
    #[test]
    fn a_copy_changed_since_its_check_is_not_adopted() {
        let t = tempfile::tempdir().expect("tmp");
        let w = t.path().join("w");
        std::fs::create_dir_all(&w).expect("dir");
        let data = b"weights".to_vec();
        let s = sha(&data);
        let args = ["m.ckpt", "pre"];
        let (code, print) = run(AHEAD, &w, &args, &[&data[..], s.as_bytes()].concat());
        assert_eq!(code, Some(0));
        let print = print.trim_start_matches("got\n").trim().to_string();
        let rel = format!(".baton-artifacts/{s}/m.ckpt");
        let f = w.join(&rel);
        Command::new("chmod")
            .arg("u+w")
            .arg(&f)
            .status()
            .expect("chmod");
        std::fs::write(&f, b"weightz").expect("tamper");
        let (_, out) = run(ADOPT, &w, &[&rel, "pre", &print, "r.eval.1", ""], b"");
        assert_eq!(out, "no\n");
        assert!(!f.with_file_name(".held-r.eval.1").exists());
    }
}
