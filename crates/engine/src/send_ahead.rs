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
//! copy into the store.
use baton_exec::artifact_channel::{Ahead, ChannelError, FileChannel};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Chunks queued for one target.
const DEPTH: usize = 4;
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

/// Where a step's artifacts go ahead: the targets of each artifact (by name), the
/// hold's name's stem (`RUN.STEP`), and where what was sent is noted.
#[derive(Clone, Default)]
pub(crate) struct Aheads {
    pub(crate) targets: Vec<(String, Vec<Target>)>,
    pub(crate) stem: String,
    pub(crate) sent: Sent,
}

impl Aheads {
    /// The targets of artifact `name`, and the hold its copies sent ahead take.
    fn of(&self, name: &str) -> (&[Target], String) {
        let targets = self
            .targets
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&[][..], |(_, t)| t.as_slice());
        let holder = format!("{}.ahead.{name}", self.stem)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        (targets, holder)
    }

    /// Start sending artifact `name` (its file called `file`) ahead to its targets.
    pub(crate) fn start(&self, name: &str, file: &str) -> Tee {
        let (targets, holder) = self.of(name);
        let mut lanes = Vec::new();
        for t in targets {
            // A target that cannot start is only a copy not sent ahead.
            if let Ok(ahead) = t.channel.send_ahead(&t.dir, file, &holder) {
                let queue = Arc::new(Queue::default());
                let q = Arc::clone(&queue);
                let thread = std::thread::spawn(move || pump(ahead, &q));
                lanes.push(Lane {
                    target: t.clone(),
                    queue,
                    thread: Some(thread),
                });
            }
        }
        Tee {
            lanes,
            pool: Vec::new(),
            holder,
            sent: self.sent.clone(),
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
}

/// One artifact on its way to its targets ([`Aheads::start`]). Dropped before
/// [`Tee::finish`]: every target's copy ends unkept.
pub(crate) struct Tee {
    lanes: Vec<Lane>,
    /// Chunk buffers, each reused once no queue holds it.
    pool: Vec<Arc<Vec<u8>>>,
    holder: String,
    sent: Sent,
}

impl Tee {
    /// A chunk of the file, to every target still taking them.
    pub(crate) fn send(&mut self, chunk: &[u8]) {
        if self.lanes.is_empty() {
            return;
        }
        let mut buf = match self.pool.iter().position(|b| Arc::strong_count(b) == 1) {
            Some(i) => self.pool.swap_remove(i),
            None => Arc::new(Vec::with_capacity(chunk.len())),
        };
        if let Some(b) = Arc::get_mut(&mut buf) {
            b.clear();
            b.extend_from_slice(chunk);
        } else {
            buf = Arc::new(chunk.to_vec());
        }
        self.lanes.retain_mut(|l| {
            let kept = l.queue.push(Msg::Chunk(Arc::clone(&buf)));
            if !kept {
                // Too slow or failed: its host removes what it got.
                l.queue.kill();
            }
            kept
        });
        if self.pool.len() < DEPTH + 2 {
            self.pool.push(buf);
        }
    }

    /// Every byte sent, their digest `sha256`: the targets check them now.
    pub(crate) fn end(&mut self, sha256: &str) {
        self.pool.clear();
        for l in &self.lanes {
            l.queue.push(Msg::End(sha256.to_string()));
            l.queue.close();
        }
    }

    /// Each target's answer, noted in [`Sent`] as the copy of `rel` (`.baton-artifacts/
    /// SHA/FILE`) sent ahead: one that failed is noted too (its host may have put it in
    /// place before the answer was lost), so that its hold is released all the same.
    pub(crate) fn finish(mut self, rel: &Path) {
        for mut l in std::mem::take(&mut self.lanes) {
            let answer = l.thread.take().map(|t| t.join());
            let print = match answer {
                Some(Ok(Ok(print))) => Some(print),
                _ => None,
            };
            self.sent.note(&l.target, rel, &self.holder, print);
        }
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // Unfinished: no digest follows, and each host removes what it got (the
        // threads end by themselves).
        for l in &self.lanes {
            l.queue.close();
        }
    }
}

/// What a reader's start is told of a copy sent ahead ([`Sent::claim`]).
pub(crate) struct Claim {
    /// The hold the copy sent ahead has, and its fingerprint once checked (`None`: its
    /// answer was lost, it is not adopted).
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

/// The copies sent ahead this run, by executor, directory and path, until their
/// readers took them (shared by the driver's tasks).
#[derive(Clone, Default)]
pub(crate) struct Sent(Arc<Mutex<HashMap<(String, PathBuf, PathBuf), Noted>>>);

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

    /// For a reader about to be handed `rel` in `dir` on `executor`: the copy sent
    /// ahead there, if any (counted as taken).
    pub(crate) fn claim(&self, executor: &str, dir: &Path, rel: &Path) -> Option<Claim> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (executor.to_string(), dir.to_path_buf(), rel.to_path_buf());
        let n = all.get_mut(&key)?;
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
