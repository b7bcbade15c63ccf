//! Copies sent ahead (issue 60 point 3): while a step's artifact comes back into the
//! store, the same bytes go, at the same time, to the working directory of each reader
//! that will be handed it on another host (known from the plan: its executor and its
//! directory), over that executor's channel (`FileChannel::send_ahead`). The host keeps
//! them under a temporary name and, once the engine sends their digest after the last
//! byte, hashes them and puts them in place (`.baton-artifacts/SHA/FILE`, held for the
//! copy sent ahead) only if the digests agree. The reader's start then holds that very
//! copy (`FileChannel::adopt`: the copy checked, unchanged since) instead of writing
//! it again; anything else (no copy sent, one changed, a new engine that did not send
//! it) is checked or written as before. A copy sent ahead that no reader took is
//! released at the run's end. Each target is fed by a thread of its own through a
//! short queue of chunks: memory does not grow with the file, and a target that falls
//! behind for `WAIT` is dropped (its host removes what it got) rather than slowing the
//! copy into the store. A copy that could not be sent ahead, or that its host did not
//! keep (cut, too slow, a copy of the same bytes already there, no such directory), is
//! noted ([`Aheads::notes`]): the driver records each as a low error on the maker's
//! attempt (as a cache that could not be used is), never failing it.
use baton_exec::artifact_channel::{Ahead, ChannelError, FileChannel};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Chunks queued for one target.
const DEPTH: usize = 8;
/// A chunk's size: what is read is gathered into chunks of this size.
const FILL: usize = 1 << 20;
/// How long a target may hold the copy into the store back before it is dropped.
const WAIT: Duration = Duration::from_secs(5);

/// A reader's place an artifact may be sent ahead to.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) channel: Arc<dyn FileChannel>,
    /// Its executor's name: with `dir`, what a reader's start looks the copy up by.
    pub(crate) executor: String,
    pub(crate) dir: PathBuf,
    /// How many readers of the run will be handed it there.
    pub(crate) readers: usize,
}

/// The hold a copy of artifact `label` (`STEP.NAME`) sent ahead in run `run_id` takes
/// (`RUN.STEP.NAME.ahead`, only `[A-Za-z0-9._-]`): known to any engine of the run, so
/// a reader's start after a crash still drops it.
pub(crate) fn holder(run_id: &str, label: &str) -> String {
    baton_model::artifact_paths::hold_name(&format!("{run_id}.{label}.ahead"))
}

/// Where a step's artifacts go ahead: the targets of each artifact (by name), the
/// run and the step, and where what was sent is noted.
#[derive(Clone, Default)]
pub(crate) struct Aheads {
    pub(crate) targets: Vec<(String, Vec<Target>)>,
    pub(crate) run_id: String,
    pub(crate) step_id: String,
    pub(crate) sent: Sent,
    /// What went wrong sending ahead, one line each, for the operator.
    pub(crate) notes: Notes,
}

/// Lines saying why a copy was not sent ahead or not kept there (shared by the tees of
/// one collection).
#[derive(Clone, Default)]
pub(crate) struct Notes(Arc<Mutex<Vec<String>>>);

impl Notes {
    fn say(&self, line: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    /// The lines said so far, taken.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Aheads {
    /// The targets of artifact `name`, and the hold its copies sent ahead take.
    fn of(&self, name: &str) -> (&[Target], String) {
        let targets = self
            .targets
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[][..], |(_, t)| t.as_slice());
        let label = format!("{}.{name}", self.step_id);
        (targets, holder(&self.run_id, &label))
    }

    /// Start sending artifact `name` (its file called `file`) ahead to its targets.
    pub(crate) fn start(&self, name: &str, file: &str) -> Tee {
        let (targets, holder) = self.of(name);
        let label = format!("{}.{name}", self.step_id);
        let mut lanes = Vec::new();
        for t in targets {
            // A target that cannot start is only a copy not sent ahead.
            match t.channel.send_ahead(&t.dir, file, &holder) {
                Ok(ahead) => {
                    let queue = Arc::new(Queue::default());
                    let q = Arc::clone(&queue);
                    let spawned = std::thread::Builder::new()
                        .name("baton-ahead".into())
                        .spawn(move || pump(ahead, &q));
                    match spawned {
                        Ok(thread) => lanes.push(Lane {
                            target: t.clone(),
                            queue,
                            thread: Some(thread),
                            cut: None,
                        }),
                        Err(e) => self
                            .notes
                            .say(not_kept(&label, t, &NotSent::NoThreadMade(e))),
                    }
                }
                Err(e) => self.notes.say(not_kept(&label, t, &NotSent::Channel(e))),
            }
        }
        Tee {
            lanes,
            cut: Vec::new(),
            label,
            notes: self.notes.clone(),
            pool: Vec::new(),
            fill: None,
            holder,
            sent: self.sent.clone(),
            file: file.to_string(),
            sha: None,
        }
    }
}

/// What one chunk queue carries.
enum Msg {
    Chunk(Arc<Vec<u8>>),
    End(String),
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Msg>,
    /// No more will come.
    closed: bool,
    /// The target failed: nothing more is taken.
    dead: bool,
}

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    wake: Condvar,
}

impl Queue {
    /// Queue `m` unless the target failed or stayed full for `WAIT`: `false` then.
    fn push(&self, m: Msg) -> bool {
        let deadline = Instant::now() + WAIT;
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while st.items.len() >= DEPTH && !st.dead {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            st = self
                .wake
                .wait_timeout(st, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if st.dead {
            return false;
        }
        st.items.push_back(m);
        self.wake.notify_all();
        true
    }

    fn pop(&self) -> Option<Msg> {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(m) = st.items.pop_front() {
                self.wake.notify_all();
                return Some(m);
            }
            if st.closed || st.dead {
                return None;
            }
            st = self.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn close(&self) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.closed = true;
        self.wake.notify_all();
    }

    fn is_dead(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dead
    }

    fn kill(&self) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.dead = true;
        st.items.clear();
        self.wake.notify_all();
    }
}

/// One target's thread: its chunks written to the channel, then the digest, then the
/// far side's answer. A queue closed without the digest ends the copy unkept.
fn pump(mut ahead: Box<dyn Ahead>, q: &Queue) -> Result<String, ChannelError> {
    loop {
        match q.pop() {
            Some(Msg::Chunk(c)) => {
                if let Err(e) = ahead.write_all(&c) {
                    q.kill();
                    let _ = ahead.finish();
                    return Err(ChannelError::Failed(format!("sending ahead: {e}")));
                }
            }
            Some(Msg::End(sha)) => {
                let ended = ahead.end(&sha).and_then(|()| ahead.flush());
                q.kill();
                return match ended {
                    Ok(()) => ahead.finish(),
                    Err(e) => {
                        let _ = ahead.finish();
                        Err(ChannelError::Failed(format!("sending ahead: {e}")))
                    }
                };
            }
            None => {
                q.kill();
                return ahead.finish();
            }
        }
    }
}

struct Lane {
    target: Target,
    queue: Arc<Queue>,
    thread: Option<JoinHandle<Result<String, ChannelError>>>,
    /// Why it was dropped before its end, if it was.
    cut: Option<NotSent>,
}

/// Why a copy sent ahead was not kept: said in the attempt's log, where its readers
/// are then handed it from the store.
#[derive(Debug, thiserror::Error)]
enum NotSent {
    #[error("it fell behind the copy into the store for {} s", WAIT.as_secs())]
    FellBehind,
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("its thread panicked")]
    Panicked,
    #[error("no thread")]
    NoThread,
    #[error("no thread: {0}")]
    NoThreadMade(std::io::Error),
}

impl Lane {
    /// Its thread's end: the host's answer (the copy's fingerprint), or why not. Each
    /// `Ahead`'s own limits bound the wait (over SSH: `copy_stall` for the bytes, the
    /// answer's limit for the host's hash), so the host's rename, if it made one, is
    /// done by the time this returns.
    fn end(&mut self) -> Result<String, NotSent> {
        let answer = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(Ok(print))) => Ok(print),
            Some(Ok(Err(e))) => Err(NotSent::Channel(e)),
            Some(Err(_)) => Err(NotSent::Panicked),
            None => Err(NotSent::NoThread),
        };
        match self.cut.take() {
            Some(why) => Err(why),
            None => answer,
        }
    }
}

/// The line said of `label`'s copy to `t` that was not sent ahead or not kept.
fn not_kept(label: &str, t: &Target, why: &NotSent) -> String {
    format!(
        "artifact `{label}` was not sent ahead to executor `{}` ({}): {why}; its readers there are handed it from the store",
        t.executor,
        t.dir.display()
    )
}

/// One artifact on its way to its targets ([`Aheads::start`]). Dropped before
/// [`Tee::finish`]: every target's copy ends unkept.
pub(crate) struct Tee {
    lanes: Vec<Lane>,
    /// Lanes dropped on the way (too slow, failed), their ends still to be said.
    cut: Vec<Lane>,
    /// `STEP.NAME`, and where what went wrong is said.
    label: String,
    notes: Notes,
    /// Chunk buffers, each reused once no queue holds it.
    pool: Vec<Arc<Vec<u8>>>,
    /// The chunk being gathered (held by no queue yet).
    fill: Option<Arc<Vec<u8>>>,
    holder: String,
    sent: Sent,
    /// The file's name, and its digest once sent ([`Tee::end`]).
    file: String,
    sha: Option<String>,
}

impl Tee {
    /// Bytes of the file, to every target still taking them, in chunks of `FILL`.
    pub(crate) fn send(&mut self, mut bytes: &[u8]) {
        while !self.lanes.is_empty() && !bytes.is_empty() {
            if self.fill.is_none() {
                let reused = self.pool.iter().position(|b| Arc::strong_count(b) == 1);
                let mut buf = match reused {
                    Some(i) => self.pool.swap_remove(i),
                    None => Arc::new(Vec::with_capacity(FILL)),
                };
                if let Some(b) = Arc::get_mut(&mut buf) {
                    b.clear();
                }
                self.fill = Some(buf);
            }
            let Some(buf) = self.fill.as_mut().and_then(Arc::get_mut) else {
                self.fill = None;
                continue;
            };
            let n = (FILL - buf.len()).min(bytes.len());
            buf.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if buf.len() >= FILL {
                self.flush();
            }
        }
    }

    /// The chunk gathered so far, to every target still taking them.
    fn flush(&mut self) {
        let Some(buf) = self.fill.take() else { return };
        if buf.is_empty() {
            return;
        }
        for mut l in std::mem::take(&mut self.lanes) {
            if l.queue.push(Msg::Chunk(Arc::clone(&buf))) {
                self.lanes.push(l);
            } else {
                // Too slow or failed: its host removes what it got.
                if !l.queue.is_dead() {
                    l.cut = Some(NotSent::FellBehind);
                }
                l.queue.kill();
                self.cut.push(l);
            }
        }
        if self.pool.len() < DEPTH + 2 {
            self.pool.push(buf);
        }
    }

    /// Every byte sent, their digest `sha256`: the targets check them now.
    pub(crate) fn end(&mut self, sha256: &str) {
        self.flush();
        self.pool.clear();
        self.sha = Some(sha256.to_string());
        for l in &self.lanes {
            l.queue.push(Msg::End(sha256.to_string()));
            l.queue.close();
        }
    }

    /// Where a reader finds the copy: `.baton-artifacts/SHA/FILE`.
    fn rel(&self, sha: &str) -> PathBuf {
        Path::new(baton_model::artifact_paths::REMOTE_DIR)
            .join(sha)
            .join(&self.file)
    }

    /// Each target's answer, noted in [`Sent`] as the copy sent ahead: one that failed
    /// is noted too (its host may have put it in place before the answer was lost), so
    /// that its hold is released all the same.
    pub(crate) fn finish(mut self) {
        let Some(sha) = self.sha.clone() else { return };
        let rel = self.rel(&sha);
        for mut l in std::mem::take(&mut self.lanes) {
            let print = match l.end() {
                Ok(print) => Some(print),
                Err(why) => {
                    self.notes.say(not_kept(&self.label, &l.target, &why));
                    None
                }
            };
            self.sent.note(&l.target, &rel, &self.holder, print);
        }
        self.say_cut();
    }

    /// The lanes dropped on the way, each said (once its thread ended).
    fn say_cut(&mut self) {
        for mut l in std::mem::take(&mut self.cut) {
            if let Err(why) = l.end() {
                self.notes.say(not_kept(&self.label, &l.target, &why));
            }
        }
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // Unfinished (the copy into the store failed: that failure is the one said).
        // Without a digest each host removes what it got; with one, a copy a host kept
        // is released with the copies no reader took: its end is waited for, so that
        // the release finds it in place.
        let sha = self.sha.clone();
        for l in &mut self.lanes {
            if sha.is_some() {
                l.queue.close();
            } else {
                l.queue.kill();
            }
            let _ = l.end();
        }
        for l in &mut self.cut {
            let _ = l.end();
        }
        if let Some(sha) = sha {
            let rel = self.rel(&sha);
            for l in &self.lanes {
                self.sent.note(&l.target, &rel, &self.holder, None);
            }
        }
    }
}

/// What a reader's start is told of a copy sent ahead ([`Sent::claim`]).
pub(crate) struct Claim {
    /// The hold the copy sent ahead has, and its fingerprint once checked (`None`: its
    /// answer was lost, or another engine sent it: it is not adopted).
    pub(crate) holder: String,
    pub(crate) print: Option<String>,
    /// The last reader there: the copy's own hold goes with this one's.
    pub(crate) last: bool,
}

struct Noted {
    channel: Arc<dyn FileChannel>,
    holder: String,
    print: Option<String>,
    readers: usize,
}

/// A copy's place: its executor's name, the reader's directory, its path there.
type Place = (String, PathBuf, PathBuf);

/// The copies sent ahead this run, by place, until their readers took them (shared by
/// the driver's tasks).
#[derive(Clone, Default)]
pub(crate) struct Sent(Arc<Mutex<HashMap<Place, Noted>>>);

impl Sent {
    fn note(&self, t: &Target, rel: &Path, holder: &str, print: Option<String>) {
        let key = (t.executor.clone(), t.dir.clone(), rel.to_path_buf());
        let noted = Noted {
            channel: Arc::clone(&t.channel),
            holder: holder.to_string(),
            print,
            readers: t.readers.max(1),
        };
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, noted);
    }

    /// For a reader of run `run_id` about to be handed `h` in `dir` on `executor`: the
    /// copy sent ahead there (counted as taken). Not noted here, on a channel that takes
    /// copies ahead (`ahead`): one an engine killed since may have sent, not adopted,
    /// whose hold goes once this reader holds its own copy.
    pub(crate) fn claim(
        &self,
        (executor, ahead): (&str, bool),
        dir: &Path,
        (run_id, h): (&str, &baton_core::Handed),
    ) -> Option<Claim> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (executor.to_string(), dir.to_path_buf(), h.dest.clone());
        let Some(n) = all.get_mut(&key) else {
            return ahead.then(|| Claim {
                holder: holder(run_id, &h.label),
                print: None,
                last: true,
            });
        };
        n.readers = n.readers.saturating_sub(1);
        let claim = Claim {
            holder: n.holder.clone(),
            print: n.print.clone(),
            last: n.readers == 0,
        };
        if claim.last {
            all.remove(&key);
        }
        Some(claim)
    }

    /// The copies sent ahead that no reader took, each released (off the driver's
    /// thread: it waits for the hosts); a host that does not answer keeps its copy.
    pub(crate) fn release_untaken(&self) {
        let left: Vec<_> = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect();
        for ((_, dir, rel), n) in left {
            let _ = n.channel.release(&dir, &rel, &n.holder);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact_files::{Target as To, collect_retrying, stage_claimed};
    use baton_core::{CollectRequest, Handed};
    use baton_exec::artifact_channel::{Download, Upload};
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::DirBuilderExt;

    /// A reader's host, in memory: what was sent ahead, and every call made.
    #[derive(Debug, Default)]
    struct Far {
        got: Arc<Mutex<Vec<u8>>>,
        calls: Arc<Mutex<Vec<String>>>,
        adopts: bool,
        /// Its answer comes late (the host's hash of a large file), by this long.
        late: Duration,
    }

    impl Far {
        fn said(&self, call: String) {
            self.calls.lock().expect("calls").push(call);
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().expect("calls").clone()
        }
    }

    struct FarAhead {
        got: Arc<Mutex<Vec<u8>>>,
        calls: Arc<Mutex<Vec<String>>>,
        sha: Option<String>,
        late: Duration,
    }

    impl Write for FarAhead {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.got.lock().expect("got").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Ahead for FarAhead {
        fn end(&mut self, sha256: &str) -> std::io::Result<()> {
            self.sha = Some(sha256.to_string());
            Ok(())
        }
        /// Kept only whole and checked, as the host's `AHEAD` keeps it.
        fn finish(self: Box<Self>) -> Result<String, ChannelError> {
            // The host's work, not a wait for a condition.
            std::thread::sleep(self.late);
            let got = hex::encode(Sha256::digest(&*self.got.lock().expect("got")));
            let kept = self.sha.as_deref() == Some(got.as_str());
            self.calls
                .lock()
                .expect("calls")
                .push(format!("kept {kept}"));
            if kept {
                Ok("print".into())
            } else {
                Err(ChannelError::Failed("cut".into()))
            }
        }
    }

    struct Sink;

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Upload for Sink {
        fn finish(self: Box<Self>) -> Result<(), ChannelError> {
            Ok(())
        }
    }

    impl FileChannel for Far {
        fn place(&self) -> String {
            "host far".into()
        }
        fn list(&self, _: &Path, _: &str) -> Result<Vec<String>, ChannelError> {
            Ok(Vec::new())
        }
        fn fetch(&self, _: &Path, _: &str) -> Result<Box<dyn Download>, ChannelError> {
            Err(ChannelError::Failed("not here".into()))
        }
        fn has(&self, _: &Path, _: &Path, _: &str, _: &str) -> Result<bool, ChannelError> {
            Ok(false)
        }
        fn upload(
            &self,
            _: &Path,
            _: &Path,
            (_, holder): (&str, &str),
        ) -> Result<Box<dyn Upload>, ChannelError> {
            self.said(format!("upload {holder}"));
            Ok(Box::new(Sink))
        }
        fn release(&self, _: &Path, _: &Path, holder: &str) -> Result<(), ChannelError> {
            self.said(format!("release {holder}"));
            Ok(())
        }
        fn sends_ahead(&self) -> bool {
            true
        }
        fn send_ahead(
            &self,
            _: &Path,
            name: &str,
            holder: &str,
        ) -> Result<Box<dyn Ahead>, ChannelError> {
            self.said(format!("ahead {name} {holder}"));
            Ok(Box::new(FarAhead {
                got: Arc::clone(&self.got),
                calls: Arc::clone(&self.calls),
                sha: None,
                late: self.late,
            }))
        }
        fn adopt(
            &self,
            _: &Path,
            _: &Path,
            (ahead, print): (&str, &str),
            (holder, last): (&str, bool),
        ) -> Result<bool, ChannelError> {
            self.said(format!("adopt {ahead} {print} {holder} {last}"));
            Ok(self.adopts)
        }
    }

    /// A step's 3 MiB file (three chunks and more), kept with `far` as the target of
    /// its two readers: the store's database path, the record's digest.
    fn kept(far: &Arc<Far>, sent: &Sent) -> (tempfile::TempDir, PathBuf, String) {
        let t = tempfile::tempdir().expect("tmp");
        let (work, db) = (t.path().join("w"), t.path().join("s/baton.db"));
        std::fs::create_dir_all(&work).expect("dir");
        // The store's directory, as the store makes it: its artifacts are judged by it.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(t.path().join("s"))
            .expect("store dir");
        let data: Vec<u8> = (0..3 * (1 << 20) + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(work.join("m.ckpt"), &data).expect("file");
        let channel: Arc<dyn FileChannel> = Arc::clone(far) as Arc<dyn FileChannel>;
        let aheads = Aheads {
            targets: vec![(
                "model".into(),
                vec![Target {
                    channel,
                    executor: "h3".into(),
                    dir: PathBuf::from("/w3"),
                    readers: 2,
                }],
            )],
            run_id: "r1".into(),
            step_id: "train".into(),
            sent: sent.clone(),
            notes: Notes::default(),
        };
        let req = CollectRequest {
            step: 0,
            step_id: "train".into(),
            attempt: 1,
            dir: work,
            artifacts: vec![("model".into(), "m.ckpt".into())],
        };
        let recs = collect_retrying(&db, &req, None, &aheads).expect("kept");
        assert_eq!(*far.got.lock().expect("got"), data, "the bytes went ahead");
        (t, db, recs[0].sha256.clone())
    }

    fn handed(sha: &str) -> Handed {
        Handed {
            label: "train.model".into(),
            sha256: sha.into(),
            size: 3 * (1 << 20) + 17,
            dest: PathBuf::from(format!(".baton-artifacts/{sha}/m.ckpt")),
        }
    }

    #[test]
    fn a_kept_file_goes_ahead_checked_and_its_readers_hold_that_copy() {
        let far = Arc::new(Far {
            adopts: true,
            ..Far::default()
        });
        let sent = Sent::default();
        let (_t, db, sha) = kept(&far, &sent);
        assert_eq!(
            far.calls(),
            ["ahead m.ckpt r1.train.model.ahead", "kept true"],
            "sent with its digest, and checked"
        );
        let h = handed(&sha);
        let to = To::Channel(far.as_ref(), Path::new("/w3"));
        for (reader, last) in [("r1.eval.1", false), ("r1.test.1", true)] {
            let claim = sent.claim(("h3", true), Path::new("/w3"), ("r1", &h));
            let claim = claim.expect("sent ahead there");
            assert_eq!((claim.print.as_deref(), claim.last), (Some("print"), last));
            stage_claimed(&db, &h, ("eval", reader), &to, Some(&claim)).expect("handed");
        }
        let calls = far.calls();
        assert_eq!(
            calls[2..],
            [
                "adopt r1.train.model.ahead print r1.eval.1 false",
                "adopt r1.train.model.ahead print r1.test.1 true"
            ],
            "held as it is, never written again"
        );
        // Every reader took it: a later one (a retry) finds none noted, and drops the
        // hold of one another engine may have sent once it holds its own copy.
        let later = sent.claim(("h3", true), Path::new("/w3"), ("r1", &h));
        let later = later.expect("a hold to drop");
        assert_eq!((later.print.as_deref(), later.last), (None, true));
        stage_claimed(&db, &h, ("eval", "r1.eval.2"), &to, Some(&later)).expect("handed");
        assert_eq!(
            far.calls()[4..],
            ["upload r1.eval.2", "release r1.train.model.ahead"]
        );
        assert!(
            sent.claim(("h3", false), Path::new("/w3"), ("r1", &h))
                .is_none()
        );
    }

    /// A copy sent ahead that is no longer the one checked (its host says so) is
    /// written again for its reader, and its own hold dropped with the last reader's.
    #[test]
    fn a_copy_sent_ahead_that_changed_is_written_again() {
        let far = Arc::new(Far::default());
        let sent = Sent::default();
        let (_t, db, sha) = kept(&far, &sent);
        let h = handed(&sha);
        let to = To::Channel(far.as_ref(), Path::new("/w3"));
        for reader in ["r1.eval.1", "r1.test.1"] {
            let claim = sent.claim(("h3", true), Path::new("/w3"), ("r1", &h));
            stage_claimed(&db, &h, ("eval", reader), &to, claim.as_ref()).expect("handed");
        }
        assert_eq!(
            far.calls()[2..],
            [
                "adopt r1.train.model.ahead print r1.eval.1 false",
                "upload r1.eval.1",
                "adopt r1.train.model.ahead print r1.test.1 true",
                "upload r1.test.1",
                "release r1.train.model.ahead"
            ]
        );
    }

    /// A copy whose collection stopped half-way gets no digest (its host keeps
    /// nothing); one never taken is released when the run ends.
    #[test]
    fn a_copy_cut_short_is_never_kept_and_one_not_taken_is_released() {
        let far = Arc::new(Far::default());
        let sent = Sent::default();
        let channel: Arc<dyn FileChannel> = Arc::clone(&far) as Arc<dyn FileChannel>;
        let target = Target {
            channel,
            executor: "h3".into(),
            dir: PathBuf::from("/w3"),
            readers: 1,
        };
        let aheads = Aheads {
            targets: vec![("model".into(), vec![target])],
            run_id: "r1".into(),
            step_id: "train".into(),
            sent: sent.clone(),
            notes: Notes::default(),
        };
        let mut tee = aheads.start("model", "m.ckpt");
        tee.send(b"half of it");
        drop(tee);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !far.calls().contains(&"kept false".to_string()) {
            assert!(Instant::now() < deadline, "{:?}", far.calls());
            std::thread::yield_now();
        }
        far.got.lock().expect("got").clear();
        let (_t, _db, _sha) = kept(&far, &sent);
        sent.release_untaken();
        assert_eq!(
            far.calls().last().map(String::as_str),
            Some("release r1.train.model.ahead")
        );
    }

    fn one_target(far: &Arc<Far>, sent: &Sent, notes: &Notes) -> Aheads {
        let channel: Arc<dyn FileChannel> = Arc::clone(far) as Arc<dyn FileChannel>;
        Aheads {
            targets: vec![(
                "model".into(),
                vec![Target {
                    channel,
                    executor: "h3".into(),
                    dir: PathBuf::from("/w3"),
                    readers: 1,
                }],
            )],
            run_id: "r1".into(),
            step_id: "train".into(),
            sent: sent.clone(),
            notes: notes.clone(),
        }
    }

    /// The store's copy failed after the digest went ahead: the host's answer (its
    /// rename) is waited for before the tee is gone, so the release at the run's end
    /// finds the copy and drops its hold, never leaving it held.
    #[test]
    fn a_copy_left_unfinished_after_its_digest_is_released_after_its_host_kept_it() {
        let far = Arc::new(Far {
            late: Duration::from_millis(300),
            ..Far::default()
        });
        let (sent, notes) = (Sent::default(), Notes::default());
        let mut tee = one_target(&far, &sent, &notes).start("model", "m.ckpt");
        tee.send(b"all of it");
        tee.end(&hex::encode(Sha256::digest(b"all of it")));
        drop(tee);
        sent.release_untaken();
        assert_eq!(
            far.calls(),
            [
                "ahead m.ckpt r1.train.model.ahead",
                "kept true",
                "release r1.train.model.ahead"
            ]
        );
        assert!(
            notes.take().is_empty(),
            "the store's failure is the one said"
        );
    }

    /// A copy its host did not keep is said, naming the artifact, the executor and
    /// why; the copy into the store goes on.
    #[test]
    fn a_copy_its_host_did_not_keep_is_said() {
        let far = Arc::new(Far::default());
        let (sent, notes) = (Sent::default(), Notes::default());
        let mut tee = one_target(&far, &sent, &notes).start("model", "m.ckpt");
        tee.send(b"all of it");
        tee.end(&hex::encode(Sha256::digest(b"something else")));
        tee.finish();
        let said = notes.take();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with(
                "artifact `train.model` was not sent ahead to executor `h3` (/w3): cut;"
            ),
            "{said:?}"
        );
    }
}
