//! Each run's events in a hash chain of their own, closed by a keyed mark on the last
//! event (issue 11): what replay obeys is what was committed.
//!
//! # Event hash
//! An event's hash (`events.hash`, 32 bytes) is
//! `SHA-256("baton.event\0" ‖ prev ‖ run_id ‖ 0x00 ‖ seq as 8 big-endian bytes ‖ json)`:
//! `json` is the stored `events.json` text (what replay reads) and `prev` the hash of
//! the run's previous event (32 zero bytes before seq 1). The run id is hashed, so events
//! cannot move between runs. The hashes need no key: the mark below authenticates the
//! last one, and through it every event before (changing any event changes every hash
//! after it).
//!
//! # Head mark
//! The run's last event carries the mark (`events.head_key_id`, `events.head_mac`):
//! `MAC("baton.events_head\0" ‖ run_id ‖ 0x00 ‖ seq ‖ hash)`, HMAC-SHA-256 under the key
//! of the writer of the last batch (`head_key_id`), or plain SHA-256 without one. Every
//! commit marks its last event and clears the mark of the one before, in the same
//! transaction (the only update `events` allows), so a run whose last events were cut
//! off shows: its new last event is not marked, and nobody without the key can mark it.
//! The mark lives in the row beside which the next events are appended: keeping it
//! costs no page of its own, and one HMAC per commit, none per event. (A copy of the
//! whole file taken earlier is not told apart from the file at that time.)
//!
//! # Rules
//! Seqs run from 1 without a gap; each event links to its predecessor and carries the
//! hash its content gives; the last event, and only it, is marked, and the mark holds.
//! A keyed mark stays keyed (a writer without the key is refused on a keyed run). With a
//! key configured the mark must be keyed, so a history rewritten entirely without the
//! key fails too; a run recorded before the key was set is adopted by `baton audit seal`.
//!
//! # Deleted runs
//! `baton runs rm` and `gc` delete a run's events, its mark with them: nothing is left
//! to check, and the run's audit rows are redacted and accounted for by its
//! `run_deleted` row (see [`super::audit`]). Deleting a run's events any other way
//! leaves its audit rows naming events that are gone, which `audit verify` reports.
//!
//! Pure: the store reads rows and feeds them here (`audit verify` in `store/verify.rs`,
//! replay in `Store::events_after`) and writes what [`Writer`] computes.
use super::audit::{AuditKeys, Heads, Mac, NOT_KEYED, Refusal, may_extend};

pub type Hash = [u8; 32];

const EVENT_TAG: &[u8] = b"baton.event\0";
const HEAD_TAG: &[u8] = b"baton.events_head\0";
const ZERO: Hash = [0; 32];

fn event_hash(prev: &Hash, run_id: &str, seq: u64, json: &str) -> Hash {
    Mac::Plain.digest(&[
        EVENT_TAG,
        prev,
        run_id.as_bytes(),
        &[0],
        &seq.to_be_bytes(),
        json.as_bytes(),
    ])
}

fn head_mac(mac: &Mac, run_id: &str, seq: u64, hash: &[u8]) -> Hash {
    mac.digest(&[HEAD_TAG, run_id.as_bytes(), &[0], &seq.to_be_bytes(), hash])
}

/// The head mark of a run's last event: the key id it is made with and the MAC.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub key_id: Option<String>,
    pub mac: Vec<u8>,
}

impl Mark {
    /// The mark of event (`seq`, `hash`), keyed with the signing key if there is one.
    pub fn seal(run_id: &str, seq: u64, hash: &[u8], keys: &AuditKeys) -> Mark {
        let (key_id, mac) = keys.signing_mac();
        Mark {
            key_id: key_id.map(str::to_string),
            mac: head_mac(&mac, run_id, seq, hash).to_vec(),
        }
    }
}

/// Whether `mac`, keyed `key_id`, is the mark of event (`seq`, `hash`) of run
/// `run_id`: `None` when that key is not available (the witness checks its lines so).
pub(crate) fn mark_holds(
    run_id: &str,
    seq: u64,
    hash: &[u8],
    key_id: &str,
    mac: &[u8],
    keys: &AuditKeys,
) -> Option<bool> {
    let m = keys.mac_for(Some(key_id))?;
    Some(head_mac(&m, run_id, seq, hash)[..] == *mac)
}

/// One stored event's chain columns (`hash`, `head_key_id`, `head_mac`).
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub seq: u64,
    /// `events.json`, what replay reads.
    pub json: &'a str,
    pub hash: Option<&'a [u8]>,
    pub head_key_id: Option<&'a str>,
    pub head_mac: Option<&'a [u8]>,
}

/// Where a run's history breaks: its first broken event (or the one after the last
/// event, for a cut tail) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    pub seq: u64,
    pub reason: String,
}

/// Checks a run's events in seq order, one at a time, without keeping them.
pub struct Check<'k> {
    run_id: String,
    keys: &'k AuditKeys,
    prev: Hash,
    next_seq: u64,
    /// The mark of the last event pushed, if it has one.
    mark: Option<(u64, Mark)>,
}

impl<'k> Check<'k> {
    /// From the run's first event.
    pub fn new(run_id: &str, keys: &'k AuditKeys) -> Self {
        Check {
            run_id: run_id.to_string(),
            keys,
            prev: ZERO,
            next_seq: 1,
            mark: None,
        }
    }

    /// From an event already checked (a follower's last one): the next events link to
    /// its stored hash (the mark they end with authenticates it with them), and it must
    /// be the last one, marked, if none follows.
    pub fn after(run_id: &str, keys: &'k AuditKeys, ev: Stored<'_>) -> Result<Self, Break> {
        let mut c = Self::new(run_id, keys);
        c.prev = to_hash(ev.hash).ok_or_else(|| no_hash(ev.seq))?;
        c.next_seq = ev.seq + 1;
        c.mark = mark_of(&ev);
        Ok(c)
    }

    /// The next stored event.
    pub fn push(&mut self, ev: Stored<'_>) -> Result<(), Break> {
        let seq = ev.seq;
        let expected = self.next_seq;
        let brk = |seq, reason: String| Err(Break { seq, reason });
        if seq != expected {
            return if seq > expected {
                brk(
                    expected,
                    format!("event {expected} is missing (the history jumps to event {seq})"),
                )
            } else {
                brk(
                    seq,
                    format!("event {seq} is out of place (after event {})", expected - 1),
                )
            };
        }
        if let Some((marked, _)) = &self.mark {
            return brk(
                *marked,
                format!(
                    "event {marked} is marked as the run's last, yet event {seq} follows it (added around the chain)"
                ),
            );
        }
        let Some(stored) = to_hash(ev.hash) else {
            return Err(no_hash(seq));
        };
        if event_hash(&self.prev, &self.run_id, seq, ev.json) != stored {
            return brk(
                seq,
                format!("event {seq} was altered: its hash does not match its content and place"),
            );
        }
        self.prev = stored;
        self.next_seq = seq + 1;
        self.mark = mark_of(&ev);
        Ok(())
    }

    /// The end of the history: the last event must carry a mark that holds. Returns
    /// the last seq.
    pub fn finish(self, heads: Heads) -> Result<u64, Break> {
        let last = self.next_seq - 1;
        let brk = |seq, reason: String| Err(Break { seq, reason });
        let Some((_, mark)) = self.mark else {
            return if last == 0 {
                Ok(0)
            } else {
                brk(
                    last,
                    format!(
                        "event {last} is not marked as the run's last: the events after it were cut off"
                    ),
                )
            };
        };
        if mark.key_id.is_none() && heads == Heads::Keyed {
            return brk(last, format!("its history is {NOT_KEYED}"));
        }
        let Some(mac) = self.keys.mac_for(mark.key_id.as_deref()) else {
            let id = mark.key_id.unwrap_or_default();
            return brk(
                last,
                format!(
                    "its mark is keyed with `{id}`, which is not available; set BATON_AUDIT_KEYS=\"{id}=…\""
                ),
            );
        };
        if head_mac(&mac, &self.run_id, last, &self.prev)[..] != mark.mac[..] {
            return brk(
                last,
                "its mark does not match it: events were altered, or cut off the end and the mark rewritten"
                    .to_string(),
            );
        }
        Ok(last)
    }
}

fn mark_of(ev: &Stored<'_>) -> Option<(u64, Mark)> {
    ev.head_mac.map(|mac| {
        (
            ev.seq,
            Mark {
                key_id: ev.head_key_id.map(str::to_string),
                mac: mac.to_vec(),
            },
        )
    })
}

fn no_hash(seq: u64) -> Break {
    Break {
        seq,
        reason: format!("event {seq} has no hash (it was written around the chain)"),
    }
}

fn to_hash(b: Option<&[u8]>) -> Option<Hash> {
    b.and_then(|b| Hash::try_from(b).ok())
}

/// The run's last stored event, as a writer continues after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tail {
    /// Its row id (the mark moves off it).
    pub id: i64,
    pub seq: u64,
    pub hash: Vec<u8>,
    /// The key id of its mark, if it is marked with a key.
    pub head_key_id: Option<String>,
}

/// Links a batch of a run's events onto its chain, as the commit writes them.
pub struct Writer {
    run_id: String,
    prev: Hash,
}

impl Writer {
    /// Continue after `tail` (`None`: a run without events yet).
    pub fn new(run_id: &str, tail: Option<&Tail>, keys: &AuditKeys) -> Result<Writer, Refusal> {
        if let Some(t) = tail {
            let k = t.head_key_id.as_deref();
            may_extend(keys.signing.is_some(), k, k)?;
        }
        Ok(Writer {
            run_id: run_id.to_string(),
            prev: tail.and_then(|t| to_hash(Some(&t.hash))).unwrap_or(ZERO),
        })
    }

    /// The hash of the next event, whose stored text is `json`.
    pub fn link(&mut self, seq: u64, json: &str) -> Hash {
        self.prev = event_hash(&self.prev, &self.run_id, seq, json);
        self.prev
    }

    /// The mark of the event just linked, for the last event of a batch.
    pub fn mark(&self, seq: u64, keys: &AuditKeys) -> Mark {
        Mark::seal(&self.run_id, seq, &self.prev, keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(key: Option<(&str, &str)>, more: &str) -> AuditKeys {
        let key = key.map(|(i, k)| (i.to_string(), k.to_string()));
        let more = more.to_string();
        AuditKeys::from_vars(move |n| match n {
            "BATON_AUDIT_KEY" => key.as_ref().map(|k| k.1.clone()),
            "BATON_AUDIT_KEY_ID" => key.as_ref().map(|k| k.0.clone()),
            "BATON_AUDIT_KEYS" => Some(more.clone()),
            _ => None,
        })
    }

    /// An event row as the store holds it.
    #[derive(Clone)]
    struct Row {
        seq: u64,
        json: String,
        hash: Vec<u8>,
        mark: Option<Mark>,
    }

    impl Row {
        fn stored(&self) -> Stored<'_> {
            Stored {
                seq: self.seq,
                json: &self.json,
                hash: Some(&self.hash),
                head_key_id: self.mark.as_ref().and_then(|m| m.key_id.as_deref()),
                head_mac: self.mark.as_ref().map(|m| &m.mac[..]),
            }
        }

        fn tail(&self) -> Tail {
            Tail {
                id: 0,
                seq: self.seq,
                hash: self.hash.clone(),
                head_key_id: self.mark.as_ref().and_then(|m| m.key_id.clone()),
            }
        }
    }

    /// Events up to `to` appended to `rows` in one batch by a writer with `k`, as the
    /// store commits them (the mark moves to the batch's last event).
    fn append(run: &str, rows: &mut Vec<Row>, to: u64, k: &AuditKeys) {
        let tail = rows.last().map(Row::tail);
        let mut w = Writer::new(run, tail.as_ref(), k).unwrap();
        if let Some(last) = rows.last_mut() {
            last.mark = None;
        }
        let from = rows.last().map_or(1, |r| r.seq + 1);
        for seq in from..=to {
            let json = format!("{{\"seq\":{seq}}}");
            let hash = w.link(seq, &json).to_vec();
            let mark = (seq == to).then(|| w.mark(seq, k));
            rows.push(Row {
                seq,
                json,
                hash,
                mark,
            });
        }
    }

    fn write(run: &str, n: u64, k: &AuditKeys) -> Vec<Row> {
        let mut rows = Vec::new();
        append(run, &mut rows, n, k);
        rows
    }

    fn check_with(run: &str, rows: &[Row], k: &AuditKeys, heads: Heads) -> Result<u64, Break> {
        let mut c = Check::new(run, k);
        for r in rows {
            c.push(r.stored())?;
        }
        c.finish(heads)
    }

    fn check(run: &str, rows: &[Row], k: &AuditKeys) -> Result<u64, Break> {
        check_with(run, rows, k, Heads::for_keys(k))
    }

    #[test]
    fn an_intact_history_checks_out_keyed_or_not_and_in_batches() {
        for k in [AuditKeys::default(), keys(Some(("k1", "s")), "")] {
            let mut rows = write("R", 2, &k);
            append("R", &mut rows, 5, &k);
            assert_eq!(rows.iter().filter(|r| r.mark.is_some()).count(), 1);
            assert_eq!(check("R", &rows, &k), Ok(5));
            // The same events under another run id do not.
            assert_eq!(check("S", &rows, &k).unwrap_err().seq, 1);
        }
    }

    #[test]
    fn edits_gaps_and_a_cut_tail_are_named() {
        let k = keys(Some(("k1", "s")), "");
        let rows = write("R", 5, &k);
        let mut edited = rows.clone();
        edited[2].json = "{\"seq\":3,\"forged\":1}".into();
        assert_eq!(check("R", &edited, &k).unwrap_err().seq, 3);
        let mut gap = rows.clone();
        gap.remove(1);
        assert_eq!(check("R", &gap, &k).unwrap_err().seq, 2);
        // The tail cut: the new last event is not marked …
        let mut cut = rows[..3].to_vec();
        assert_eq!(check("R", &cut, &k).unwrap_err().seq, 3);
        // … and marking it without the key, or with a guessed key, fails.
        cut[2].mark = Some(Mark::seal("R", 3, &cut[2].hash, &AuditKeys::default()));
        assert!(
            check("R", &cut, &k)
                .unwrap_err()
                .reason
                .contains("not keyed")
        );
        cut[2].mark = Some(Mark::seal(
            "R",
            3,
            &cut[2].hash,
            &keys(Some(("k1", "guess")), ""),
        ));
        let e = check("R", &cut, &k).unwrap_err();
        assert!(e.seq == 3 && e.reason.contains("does not match"), "{e:?}");
        // A mark left on an event that others follow.
        let mut twice = rows.clone();
        twice[1].mark = twice[4].mark.clone();
        assert_eq!(check("R", &twice, &k).unwrap_err().seq, 2);
    }

    #[test]
    fn an_event_rewritten_with_every_hash_after_it_recomputed_fails_on_the_mark() {
        let k = keys(Some(("k1", "s")), "");
        let rows = write("R", 4, &k);
        // Event 2 edited, the chain after it recomputed (no key needed), the key's mark kept.
        let mut w = Writer::new("R", None, &AuditKeys::default()).unwrap();
        let mut forged = rows.clone();
        for r in forged.iter_mut() {
            if r.seq == 2 {
                r.json = "{\"seq\":2,\"forged\":1}".into();
            }
            r.hash = w.link(r.seq, &r.json).to_vec();
        }
        let e = check("R", &forged, &k).unwrap_err();
        assert!(e.seq == 4 && e.reason.contains("does not match"), "{e:?}");
        // With the mark rewritten without the key: not keyed (a key is configured).
        forged[3].mark = Some(w.mark(4, &AuditKeys::default()));
        assert!(
            check("R", &forged, &k)
                .unwrap_err()
                .reason
                .contains("not keyed")
        );
        // Without a key configured that cannot be told from a true history (accidents
        // only), and `audit seal` may adopt it.
        assert_eq!(check("R", &forged, &AuditKeys::default()), Ok(4));
        assert_eq!(check_with("R", &forged, &k, Heads::Adopting), Ok(4));
    }

    #[test]
    fn rotated_keys_verify_and_a_missing_key_is_named() {
        let k1 = keys(Some(("k1", "one")), "");
        let mut rows = write("R", 2, &k1);
        let k2 = keys(Some(("k2", "two")), "k1=one");
        append("R", &mut rows, 4, &k2);
        assert_eq!(check("R", &rows, &k2), Ok(4));
        let only1 = keys(Some(("k1", "one")), "");
        let e = check("R", &rows, &only1).unwrap_err();
        assert!(e.seq == 4 && e.reason.contains("`k2`"), "{e:?}");
    }

    #[test]
    fn writers_keep_a_history_keyed_or_adopted() {
        let k = keys(Some(("k1", "s")), "");
        let keyed = write("R", 2, &k)[1].tail();
        let plain = write("R", 2, &AuditKeys::default())[1].tail();
        assert_eq!(
            Writer::new("R", Some(&keyed), &AuditKeys::default()).err(),
            Some(Refusal::NeedsKey {
                key_id: "k1".into()
            })
        );
        assert_eq!(
            Writer::new("R", Some(&plain), &k).err(),
            Some(Refusal::NotAdopted)
        );
        assert!(Writer::new("R", None, &k).is_ok());
    }

    #[test]
    fn a_follower_continues_from_its_last_event() {
        let k = keys(Some(("k1", "s")), "");
        let mut rows = write("R", 3, &k);
        append("R", &mut rows, 5, &k);
        // The follower had event 3 (marked then; not any more).
        let mut c = Check::after("R", &k, rows[2].stored()).unwrap();
        for r in &rows[3..] {
            c.push(r.stored()).unwrap();
        }
        assert_eq!(c.finish(Heads::Keyed), Ok(5));
        // Nothing new: the event it has is still the last, marked.
        let c = Check::after("R", &k, rows[4].stored()).unwrap();
        assert_eq!(c.finish(Heads::Keyed), Ok(5));
        // An event appended after it without moving the mark, or with a forged mark.
        let mut forged = Row {
            seq: 6,
            json: "{}".into(),
            hash: event_hash(&to_hash(Some(&rows[4].hash)).unwrap(), "R", 6, "{}").to_vec(),
            mark: None,
        };
        let mut c = Check::after("R", &k, rows[4].stored()).unwrap();
        assert_eq!(c.push(forged.stored()).unwrap_err().seq, 5);
        let mut moved = rows[4].clone();
        moved.mark = None;
        forged.mark = Some(Mark::seal("R", 6, &forged.hash, &AuditKeys::default()));
        let mut c = Check::after("R", &k, moved.stored()).unwrap();
        c.push(forged.stored()).unwrap();
        assert_eq!(c.finish(Heads::Keyed).unwrap_err().seq, 6);
    }
}
