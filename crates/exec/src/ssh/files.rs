//! Artifacts over SSH (issue 60): a step's files read back from its host, and the files
//! a step is handed written there before it starts, over the host's shared connection
//! (`ControlMaster`, as its steps), one `ssh` per file. Each remote command is a fixed
//! script run by `sh -c`, its values passed as positional arguments (quoted words,
//! never code). A file is streamed through `cat` on the host, never held whole here.
//! Paths are relative to the step's working directory as its job takes it (`cd DIR ||
//! cd`: the home when DIR is not there), and a file read must lie inside it (resolved,
//! symbolic links followed); one written goes to `.tmp-PID` beside its destination and
//! is renamed once the host's SHA-256 of it is the record's.
use super::SshExecutor;
use super::script::{HostProblem, remote};
use super::stall::{CALL_STALL, Watch};
use crate::artifact_channel::{ChannelError, Download, FileChannel, Upload};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

/// The step's working directory, as its job's `cd` takes it (`nodir` set when it is not
/// there and the home was taken instead); `sum`: its stdin's SHA-256
/// first on the line, by `openssl` where the host has it (it uses the CPU's SHA
/// instructions: 4× `sha256sum` of coreutils 9 on this project's machines), else by
/// `sha256sum`. `lock`/`unlock`: the working directory's lock (util-linux `flock` on
/// the directory, fd 9), which `HAVE`, `PUT` and `DROP` take around what they look at
/// and change, as the engine does in a shared directory (`engine::artifact_shared`): a
/// check and its hold, a rename and its hold, a release, are never interleaved. A host
/// without `flock`, or a filesystem that refuses it, works without the lock.
// `>/dev/null`: with `CDPATH` set, `cd` prints the directory, which would go before
// the file's bytes.
pub(super) const CD: &str = r#"if cd -- "$1" >/dev/null 2>&1; then nodir=; else nodir=1; cd >/dev/null || exit 127; fi
sum() {
  if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r; else sha256sum; fi
}
lock() {
  command exec 9<. || return 0
  if command -v flock >/dev/null 2>&1; then flock 9 2>/dev/null; fi
  return 0
}
unlock() { exec 9<&-; }
"#;

/// Exit codes of the scripts, each a reason a file did not move.
const MISSING: i32 = 80;
const NOT_A_FILE: i32 = 81;
const ESCAPES: i32 = 82;
const CHANGED: i32 = 83;
const MISMATCH: i32 = 84;

/// `LIST DIR PREFIX`: the regular files under PREFIX, NUL-separated, `./`-prefixed.
const LIST: &str = r#"[ -d "./$2" ] || exit 0
exec find "./$2" -type f -print0
"#;

/// `FETCH DIR FILE`: the file's bytes, refused when it is missing, not a regular file,
/// outside the directory, or changed (size or modification time) while it was read.
const FETCH: &str = r#"f=./$2
[ -e "$f" ] || exit 80
[ -f "$f" ] || exit 81
r=$(readlink -f -- "$f") && h=$(pwd -P) || exit 82
case $r in "$h"/*) ;; *) exit 82 ;; esac
s=$(stat -L -c '%s %y' -- "$f") || exit 80
cat -- "$f" || exit 80
[ "$(stat -L -c '%s %y' -- "$f")" = "$s" ] || exit 83
"#;

/// `HAVE DIR FILE SHA HOLDER`: `yes` when FILE is there, a regular file, with that
/// digest, held for HOLDER (a hard link `.held-HOLDER` beside it, see `DROP`). The
/// hold is taken first and the digest checked through it: a `DROP` in between cannot
/// remove the file this then says is there (no hold, or a wrong digest: `no`, and no
/// hold left).
const HAVE: &str = r#"f=./$2
h=${f%/*}/.held-$4
lock
[ -f "$f" ] && [ ! -L "$f" ] || { echo no; exit 0; }
ln -f -- "$f" "$h" 2>/dev/null || { echo no; exit 0; }
unlock
s=$(sum < "$h") || { rm -f -- "$h"; echo no; exit 0; }
[ "${s%% *}" = "$3" ] || { rm -f -- "$h"; echo no; exit 0; }
echo yes
"#;

/// `PUT DIR FILE SHA HOLDER`: stdin into `.tmp-PID` beside FILE, then hashed whole
/// (`cat` then `sum`: one pass through `tee` into the digest moved 8 KiB at a time
/// through a second pipe, and took 5.8 s for 1 GiB on the test hosts against 4.5 s for
/// writing then hashing the file from the page cache), renamed to FILE once its digest
/// is SHA (else removed, its digest printed, exit 84; its directories too once empty),
/// then held for HOLDER. `got` is printed once every byte is written, before the hash:
/// the engine's stall watch covers the bytes until then, and the hash after it has a
/// limit of its own (and a connection gone by then fails that line, never the
/// script: SIGPIPE is ignored from there, so a copy cut off is still removed). A write
/// that failed (a full disk) fails `cat`, and the script
/// with exit 85; so does a hold that cannot be taken. The bytes are appended to the
/// empty file made under the lock (`>>`), never written through `>`: on ext4 a file
/// opened with `O_TRUNC` and then written is flushed whole to disk as it is closed
/// (`auto_da_alloc`), which held `cat`'s end by 0.85 s for 1 GiB on the test hosts, and
/// made the file's later removal wait on that writeback.
const PUT: &str = r#"f=./$2
d=${f%/*}
t=$d/.tmp-$$
lock
mkdir -p -- "$d" && : > "$t" || exit 85
unlock
no() { lock; rm -f -- "$t"; rmdir -p -- "${d#./}" 2>/dev/null; }
cat >> "$t" || { no; exit 85; }
trap '' PIPE
echo got
s=$(sum < "$t") || { no; exit 85; }
if [ "${s%% *}" != "$3" ]; then no; echo "${s%% *}"; exit 84; fi
lock
chmod 0444 "$t" && mv -f -- "$t" "$f" || { no; exit 85; }
ln -f -- "$f" "$d/.held-$4" || exit 85
exit 0
"#;

/// `DROP DIR FILE HOLDER`: HOLDER's hold on FILE dropped, and FILE removed unless
/// another holder's link remains. The check is made on FILE moved aside (an atomic
/// rename), and FILE put back when it is still held; the directories go once empty.
/// All of it under the directory's lock: no `HAVE` or `PUT` sees FILE aside.
const DROP: &str = r#"f=./$2
d=${f%/*}
lock
rm -f -- "$d/.held-$3"
g=$d/.gone-$$
if mv -- "$f" "$g" 2>/dev/null; then
  if [ "$(stat -c %h -- "$g")" -gt 1 ]; then ln -- "$g" "$f" 2>/dev/null; fi
  rm -f -- "$g"
fi
rmdir -p -- "${d#./}" 2>/dev/null
exit 0
"#;

impl SshExecutor {
    /// `ssh … sh -c CD+SCRIPT sh DIR ARGS…` over the shared connection, blocking.
    pub(super) fn file_command(&self, script: &str, dir: &Path, args: &[&str]) -> Command {
        let dir = dir.to_string_lossy();
        let mut all = vec![dir.as_ref()];
        all.extend_from_slice(args);
        let mut cmd = Command::new("ssh");
        cmd.args(self.ssh_args())
            .arg(remote(&format!("{CD}{script}"), &all))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// A script's end, as a [`ChannelError`] naming `path`.
    pub(super) fn file_error(
        &self,
        code: Option<i32>,
        stderr: &str,
        path: &str,
        out: &str,
    ) -> ChannelError {
        let (path, place) = (path.to_string(), self.place());
        match code {
            Some(MISSING) => ChannelError::Missing { path, place },
            Some(NOT_A_FILE) => ChannelError::NotAFile { path, place },
            Some(ESCAPES) => ChannelError::Escapes { path, place },
            Some(CHANGED) => ChannelError::Changed { path, place },
            Some(MISMATCH) => ChannelError::Mismatch {
                path,
                place,
                want: String::new(),
                got: out.trim().to_string(),
            },
            _ => ChannelError::Failed(self.problem(&HostProblem::classify(code, stderr))),
        }
    }

    pub(super) fn stalled(&self, path: &str, way: &'static str, limit: Duration) -> ChannelError {
        ChannelError::Stalled {
            path: path.to_string(),
            place: self.place(),
            way,
            secs: u64::try_from(limit.as_millis().div_ceil(1000)).unwrap_or(u64::MAX),
        }
    }

    /// Run a short script to its end: its stdout.
    pub(super) fn file_call(
        &self,
        script: &str,
        dir: &Path,
        args: &[&str],
        path: &str,
    ) -> Result<Vec<u8>, ChannelError> {
        let (mut child, errors) = self.spawn_file(self.file_command(script, dir, args))?;
        // Only a check hashes a file on the host before it answers.
        let limit = if script == HAVE {
            CALL_STALL.max(self.opts.copy_stall)
        } else {
            self.opts.copy_stall
        };
        let mut watch = Watch::start(child.id(), limit);
        let mut stdout = Vec::new();
        if let Some(o) = child.stdout.as_mut() {
            let _ = o.read_to_end(&mut stdout);
        }
        if watch.stop() {
            let _ = child.wait();
            return Err(self.stalled(path, "asking about it on", limit));
        }
        let status = child
            .wait()
            .map_err(|e| ChannelError::Failed(format!("ssh: {e}")))?;
        let stderr = errors.join().unwrap_or_default();
        if status.success() {
            Ok(stdout)
        } else {
            let out = String::from_utf8_lossy(&stdout);
            Err(self.file_error(status.code(), &stderr, path, &out))
        }
    }

    pub(super) fn spawn_file(
        &self,
        mut cmd: Command,
    ) -> Result<(Child, JoinHandle<String>), ChannelError> {
        let mut child = cmd
            .spawn()
            .map_err(|e| ChannelError::Failed(format!("cannot run ssh: {e}")))?;
        // Drained as it comes: a talkative host never stalls the transfer.
        let mut err = child.stderr.take();
        let errors = std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(e) = err.as_mut() {
                let _ = e.take(64 * 1024).read_to_end(&mut s);
                let _ = std::io::copy(e, &mut std::io::sink());
            }
            String::from_utf8_lossy(&s).into_owned()
        });
        Ok((child, errors))
    }
}

impl FileChannel for SshExecutor {
    fn place(&self) -> String {
        format!("host {}", self.opts.host)
    }

    fn list(&self, dir: &Path, prefix: &str) -> Result<Vec<String>, ChannelError> {
        let out = self.file_call(LIST, dir, &[prefix], prefix)?;
        Ok(out
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let p = String::from_utf8_lossy(p);
                p.strip_prefix("./").unwrap_or(&p).to_string()
            })
            .collect())
    }

    fn fetch(&self, dir: &Path, rel: &str) -> Result<Box<dyn Download>, ChannelError> {
        let (mut child, errors) = self.spawn_file(self.file_command(FETCH, dir, &[rel]))?;
        let out = child
            .stdout
            .take()
            .ok_or_else(|| ChannelError::Failed("ssh gave no output pipe".into()))?;
        wide_pipe(&out);
        let watch = Watch::start(child.id(), self.opts.copy_stall);
        Ok(Box::new(SshDownload {
            exec: self.twin(),
            path: rel.to_string(),
            child,
            out,
            errors,
            watch,
        }))
    }

    fn has(
        &self,
        dir: &Path,
        rel: &Path,
        sha256: &str,
        holder: &str,
    ) -> Result<bool, ChannelError> {
        let rel = rel.to_string_lossy();
        let out = self.file_call(HAVE, dir, &[&rel, sha256, holder], &rel)?;
        Ok(out.trim_ascii() == b"yes")
    }

    fn upload(
        &self,
        dir: &Path,
        rel: &Path,
        (sha256, holder): (&str, &str),
    ) -> Result<Box<dyn Upload>, ChannelError> {
        let rel = rel.to_string_lossy().into_owned();
        let up = self.start_upload(PUT, dir, &[&rel, sha256, holder], (&rel, sha256))?;
        Ok(Box::new(up))
    }

    fn release(&self, dir: &Path, rel: &Path, holder: &str) -> Result<(), ChannelError> {
        let rel = rel.to_string_lossy();
        self.file_call(DROP, dir, &[&rel, holder], &rel).map(drop)
    }

    fn sends_ahead(&self) -> bool {
        self.opts.send_ahead
    }

    fn send_ahead(
        &self,
        dir: &Path,
        name: &str,
        holder: &str,
    ) -> Result<Box<dyn crate::artifact_channel::Ahead>, ChannelError> {
        super::ahead::send(self, dir, name, holder)
    }

    fn adopt(
        &self,
        dir: &Path,
        rel: &Path,
        ahead: (&str, &str),
        reader: (&str, bool),
    ) -> Result<bool, ChannelError> {
        super::ahead::adopt(self, dir, rel, ahead, reader)
    }
}

impl SshExecutor {
    /// `script` run with stdin from the engine (`path`, `want`: for its messages).
    pub(super) fn start_upload(
        &self,
        script: &str,
        dir: &Path,
        args: &[&str],
        (path, want): (&str, &str),
    ) -> Result<SshUpload, ChannelError> {
        let mut cmd = self.file_command(script, dir, args);
        cmd.stdin(Stdio::piped());
        let (mut child, errors) = self.spawn_file(cmd)?;
        let input = child
            .stdin
            .take()
            .ok_or_else(|| ChannelError::Failed("ssh gave no input pipe".into()))?;
        wide_pipe(&input);
        let watch = Watch::start(child.id(), self.opts.copy_stall);
        Ok(SshUpload {
            exec: self.twin(),
            path: path.to_string(),
            want: want.to_string(),
            child,
            input: Some(input),
            errors,
            watch,
            sent: 0,
        })
    }
}

/// A transfer's pipe to or from `ssh` widened to 1 MiB (Linux's default most a user
/// may ask, `/proc/sys/fs/pipe-max-size`), from 64 KiB: `ssh` goes on while the engine
/// waits for the disk, and the engine reads in whole chunks. Refused: the default stays.
fn wide_pipe(pipe: &impl std::os::fd::AsFd) {
    let _ = nix::fcntl::fcntl(pipe, nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
}

/// A file streamed from a host (`FETCH`).
struct SshDownload {
    exec: SshExecutor,
    path: String,
    child: Child,
    out: ChildStdout,
    errors: JoinHandle<String>,
    watch: Watch,
}

impl Read for SshDownload {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.out.read(buf)?;
        self.watch.moved();
        Ok(n)
    }
}

impl Download for SshDownload {
    fn finish(mut self: Box<Self>) -> Result<(), ChannelError> {
        // Whatever is left unread (a reader that stopped early) does not hold `ssh`.
        let _ = std::io::copy(&mut self.out, &mut std::io::sink());
        if self.watch.stop() {
            let _ = self.child.wait();
            let limit = self.exec.opts.copy_stall;
            return Err(self.exec.stalled(&self.path, "copying it from", limit));
        }
        let status = self
            .child
            .wait()
            .map_err(|e| ChannelError::Failed(format!("ssh: {e}")))?;
        let stderr = self.errors.join().unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(self.exec.file_error(status.code(), &stderr, &self.path, ""))
        }
    }
}

/// A file streamed to a host (`PUT`, and `AHEAD`: `ahead.rs`).
pub(super) struct SshUpload {
    pub(super) exec: SshExecutor,
    pub(super) path: String,
    pub(super) want: String,
    pub(super) child: Child,
    pub(super) input: Option<ChildStdin>,
    pub(super) errors: JoinHandle<String>,
    pub(super) watch: Watch,
    /// Bytes handed to `ssh`: the host's hash after them is given time by their size.
    pub(super) sent: u64,
}

/// The slowest hash a host is given time for after the last byte (`sha256sum` without
/// SHA instructions, from a disk: about 4 times slower than `openssl`).
const SLOWEST_HASH: u64 = 25_000_000;

/// How long the host may take to hash `sent` bytes and answer: as long as a check of a
/// copy already there (`CALL_STALL`, or `copy_stall` if longer), or the time the
/// slowest hash takes over them if that is longer.
fn answer_limit(sent: u64, copy_stall: Duration) -> Duration {
    CALL_STALL
        .max(copy_stall)
        .max(Duration::from_secs(sent / SLOWEST_HASH))
}

impl Write for SshUpload {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match self.input.as_mut() {
            Some(w) => w.write(buf)?,
            None => return Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        self.watch.moved();
        self.sent += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.input.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Upload for SshUpload {
    fn finish(self: Box<Self>) -> Result<(), ChannelError> {
        self.answer().map(drop)
    }
}

impl SshUpload {
    /// The script's end once every byte is sent: what it printed after `got`.
    pub(super) fn answer(mut self) -> Result<String, ChannelError> {
        // Its end of input: the host's `cat` ends and says `got`, still under the
        // copy's stall watch (bytes held in the pipes are not written yet).
        drop(self.input.take());
        let mut out = Vec::new();
        let mut got = false;
        if let Some(o) = self.child.stdout.as_mut() {
            let mut line = Vec::new();
            let _ = std::io::BufRead::read_until(
                &mut std::io::BufReader::new(o.take(64)),
                b'\n',
                &mut line,
            );
            got = line == b"got\n";
            if !got {
                out = line;
            }
        }
        if self.watch.stop() {
            let _ = self.child.wait();
            let limit = self.exec.opts.copy_stall;
            return Err(self.exec.stalled(&self.path, "copying it to", limit));
        }
        // Every byte written: the host hashes its copy whole and answers at the end,
        // within the time a check of a copy already there has, or longer for a large
        // file (`answer_limit`).
        let limit = answer_limit(self.sent, self.exec.opts.copy_stall);
        let mut answer = Watch::start(self.child.id(), limit);
        if let (true, Some(o)) = (got, self.child.stdout.as_mut()) {
            let _ = o.take(4096).read_to_end(&mut out);
        }
        if answer.stop() {
            let _ = self.child.wait();
            return Err(self.exec.stalled(&self.path, "checking it on", limit));
        }
        let status = self
            .child
            .wait()
            .map_err(|e| ChannelError::Failed(format!("ssh: {e}")))?;
        let stderr = self.errors.join().unwrap_or_default();
        let out = String::from_utf8_lossy(&out);
        if status.success() {
            return Ok(out.into_owned());
        }
        match self
            .exec
            .file_error(status.code(), &stderr, &self.path, &out)
        {
            ChannelError::Mismatch {
                path, place, got, ..
            } => Err(ChannelError::Mismatch {
                path,
                place,
                want: self.want.clone(),
                got,
            }),
            e => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A script run here as the host runs it (`sh -c CD+SCRIPT sh DIR ARGS…`): its exit
    /// code and stdout.
    fn run(script: &str, dir: &Path, args: &[&str], stdin: &[u8]) -> (Option<i32>, Vec<u8>) {
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
        (out.status.code(), out.stdout)
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

    #[test]
    fn the_host_scripts_read_list_and_write_inside_the_directory_only() {
        let t = tempfile::tempdir().expect("tmp");
        let w = t.path().join("w");
        std::fs::create_dir_all(w.join("out/deep")).expect("dirs");
        std::fs::write(w.join("out/deep/m.ckpt"), b"weights").expect("file");
        std::fs::write(t.path().join("secret"), b"outside").expect("file");
        std::os::unix::fs::symlink(t.path().join("secret"), w.join("out/link")).expect("ln");
        // Listed: regular files only, links not followed.
        let (code, out) = run(LIST, &w, &["out"], b"");
        assert_eq!(
            (code, out.as_slice()),
            (Some(0), &b"./out/deep/m.ckpt\0"[..])
        );
        assert_eq!(run(LIST, &w, &["none"], b""), (Some(0), Vec::new()));
        // Read: the file; missing, a directory, a link out: refused, each said.
        assert_eq!(
            run(FETCH, &w, &["out/deep/m.ckpt"], b""),
            (Some(0), b"weights".to_vec())
        );
        assert_eq!(run(FETCH, &w, &["nope"], b"").0, Some(MISSING));
        assert_eq!(run(FETCH, &w, &["out"], b"").0, Some(NOT_A_FILE));
        assert_eq!(run(FETCH, &w, &["out/link"], b"").0, Some(ESCAPES));
        // A value is never code.
        assert_eq!(run(FETCH, &w, &["$(touch pwned)"], b"").0, Some(MISSING));
        assert!(!w.join("pwned").exists());
        // Written: renamed into place once its digest is the one asked for.
        let dest = ".baton-artifacts/ab/m.ckpt";
        let (code, out) = run(PUT, &w, &[dest, &sha(b"other")], b"weights");
        assert_eq!(code, Some(MISMATCH));
        // `got` once every byte is written, then the digest it found.
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("got\n{}\n", sha(b"weights"))
        );
        assert!(!w.join(dest).exists());
        let s = sha(b"weights");
        assert_eq!(run(HAVE, &w, &[dest, &s, "r.a.1"], b"").1, b"no\n");
        assert_eq!(run(PUT, &w, &[dest, &s, "r.a.1"], b"weights").0, Some(0));
        assert_eq!(std::fs::read(w.join(dest)).expect("put"), b"weights");
        assert_eq!(run(HAVE, &w, &[dest, &s, "r.b.1"], b"").1, b"yes\n");
        let mut left: Vec<_> = std::fs::read_dir(w.join(".baton-artifacts/ab"))
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [".held-r.a.1", ".held-r.b.1", "m.ckpt"],
            "no temporary file"
        );
        // Released by one holder: still there for the other; by the last: gone.
        assert_eq!(run(DROP, &w, &[dest, "r.a.1"], b"").0, Some(0));
        assert_eq!(std::fs::read(w.join(dest)).expect("held"), b"weights");
        assert_eq!(run(DROP, &w, &[dest, "r.b.1"], b"").0, Some(0));
        assert!(!w.join(".baton-artifacts").exists());
        // Released when it is not there: nothing to do, no error.
        assert_eq!(run(DROP, &w, &[dest, "r.b.1"], b"").0, Some(0));
    }

    /// A working directory `w` with `weights` put at `dest`, held by `r.a.1`: its
    /// temporary directory (kept while the test runs), `w`, and the content's digest.
    fn put_weights(dest: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
        let t = tempfile::tempdir().expect("tmp");
        let w = t.path().join("w");
        std::fs::create_dir_all(&w).expect("dir");
        let s = sha(b"weights");
        assert_eq!(run(PUT, &w, &[dest, &s, "r.a.1"], b"weights").0, Some(0));
        (t, w, s)
    }

    /// A release waits for the directory's lock (`flock`, as the engine takes it in a
    /// shared directory): while another holds it, nothing of the copy changes.
    #[test]
    fn a_release_waits_for_the_directory_lock() {
        let dest = ".baton-artifacts/ab/m.ckpt";
        let (_t, w, _) = put_weights(dest);
        // The lock held by a `flock` of our own until its stdin closes.
        let mut holder = Command::new("flock")
            .arg(&w)
            .args(["-c", "echo locked; read _"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("flock");
        let mut line = [0u8; 7];
        holder
            .stdout
            .as_mut()
            .expect("stdout")
            .read_exact(&mut line)
            .expect("locked");
        let mut drop_ = Command::new("sh")
            .arg("-c")
            .arg(format!("{CD}{DROP}"))
            .arg("sh")
            .arg(&w)
            .args([dest, "r.a.1"])
            .spawn()
            .expect("sh");
        // Its `flock` waits: the script is at the lock, the hold still there.
        let children = format!("/proc/{0}/task/{0}/children", drop_.id());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let waiting = loop {
            let kids = std::fs::read_to_string(&children).unwrap_or_default();
            let flock = kids.split_whitespace().any(|k| {
                std::fs::read_to_string(format!("/proc/{k}/comm"))
                    .is_ok_and(|c| c.trim() == "flock")
            });
            if flock || std::time::Instant::now() > deadline {
                break flock;
            }
            std::thread::yield_now();
        };
        assert!(waiting, "DROP waits for the lock");
        assert!(w.join(".baton-artifacts/ab/.held-r.a.1").exists());
        assert_eq!(drop_.try_wait().expect("wait"), None);
        drop(holder.stdin.take());
        holder.wait().expect("flock");
        assert_eq!(drop_.wait().expect("sh").code(), Some(0));
        assert!(!w.join(".baton-artifacts").exists());
    }

    /// A nested artifact name: its release removes every directory it made, up to and
    /// with `.baton-artifacts`, and nothing above it; so does a refused write.
    #[test]
    fn a_nested_copy_leaves_no_directory_behind() {
        let dest = ".baton-artifacts/ab/out/deep/m.ckpt";
        let (_t, w, _) = put_weights(dest);
        assert_eq!(run(DROP, &w, &[dest, "r.a.1"], b"").0, Some(0));
        assert!(!w.join(".baton-artifacts").exists());
        let other = sha(b"other");
        assert_eq!(
            run(PUT, &w, &[dest, &other, "r.a.1"], b"x").0,
            Some(MISMATCH)
        );
        assert!(!w.join(".baton-artifacts").exists());
        assert!(w.is_dir(), "the working directory stays");
    }

    /// A check takes its hold before it hashes the file: a hold it cannot take (here a
    /// holder whose link would go into a missing directory) is a `no`, and a wrong
    /// digest leaves no hold behind; a write whose hold cannot be taken fails.
    #[test]
    fn a_copy_is_held_before_it_is_checked_and_never_said_there_unheld() {
        let dest = ".baton-artifacts/ab/m.ckpt";
        let (_t, w, s) = put_weights(dest);
        assert_eq!(run(HAVE, &w, &[dest, &s, "no/such"], b"").1, b"no\n");
        assert_eq!(
            run(HAVE, &w, &[dest, &sha(b"other"), "r.b.1"], b"").1,
            b"no\n"
        );
        assert!(!w.join(".baton-artifacts/ab/.held-r.b.1").exists());
        assert_eq!(run(HAVE, &w, &[dest, &s, "r.b.1"], b"").1, b"yes\n");
        assert!(w.join(".baton-artifacts/ab/.held-r.b.1").exists());
        let put = run(
            PUT,
            &w,
            &[".baton-artifacts/cd/m.ckpt", &s, "no/such"],
            b"weights",
        );
        assert_eq!(put.0, Some(85));
    }

    #[test]
    fn a_hash_after_the_last_byte_is_given_time_by_the_size_sent() {
        let stall = Duration::from_secs(60);
        assert_eq!(answer_limit(1 << 20, stall), CALL_STALL);
        assert_eq!(
            answer_limit(0, Duration::from_secs(900)),
            Duration::from_secs(900)
        );
        // 100 GB at the slowest hash: 4,000 s.
        assert_eq!(
            answer_limit(100_000_000_000, stall),
            Duration::from_secs(4_000)
        );
    }
}
