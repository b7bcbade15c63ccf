//! Each run's events in a hash chain of their own, closed by a keyed head (issue 11):
//! what replay obeys is what was committed.
//!
//! # Event hash
//! An event's hash (`events.hash`, 32 bytes) is
//! `MAC("baton.event\0" ‖ prev ‖ run_id ‖ 0x00 ‖ seq as 8 big-endian bytes ‖ json)`:
//! `json` is the stored `events.json` text (what replay reads), `prev` the hash of the
//! run's previous event (32 zero bytes before seq 1), and MAC is HMAC-SHA-256 under the
//! key named by the event's `key_id`, or plain SHA-256 when it has none (the writer had
//! no `BATON_AUDIT_KEY`). The run id is hashed, so events cannot move between runs.
//!
//! # Head
//! `event_heads` holds, per run, the last event's seq and hash and
//! `mac = MAC("baton.events_head\0" ‖ run_id ‖ 0x00 ‖ seq ‖ hash)` under the key of the
//! writer of the last batch. Every commit rewrites it in the same transaction, so a run
//! whose last events were cut off (and the head set back to the new last event) shows,
//! when the head is keyed: nobody without the key can make a head for an earlier seq.
//! (A copy of the whole file taken earlier is not told apart from the file at that
//! time.)
//!
//! # Rules
//! Seqs run from 1 without a gap; each event links to its predecessor and carries the
//! hash its content gives; no unkeyed event follows a keyed one (a writer without the
//! key is refused on a keyed run); the head names the last event. With a key configured
//! the head must be keyed, so a history rewritten entirely without the key fails too; a
//! run recorded before the key was set is adopted by `baton audit seal`.
//!
//! # Deleted runs
//! `baton runs rm` and `gc` delete a run's events and its head together: nothing is left
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

fn event_hash(mac: &Mac, prev: &Hash, run_id: &str, seq: u64, json: &str) -> Hash {
    mac.digest(&[
        EVENT_TAG,
        prev,
        run_id.as_bytes(),
        &[0],
        &seq.to_be_bytes(),
        json.as_bytes(),
    ])
}

fn head_mac(mac: &Mac, run_id: &str, seq: u64, hash: &Hash) -> Hash {
    mac.digest(&[HEAD_TAG, run_id.as_bytes(), &[0], &seq.to_be_bytes(), hash])
}

/// A run's `event_heads` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub seq: u64,
    pub hash: Vec<u8>,
    pub key_id: Option<String>,
    pub mac: Vec<u8>,
}

impl Head {
    /// The head after event (`seq`, `hash`), keyed with the signing key if there is one.
    pub fn seal(run_id: &str, seq: u64, hash: &Hash, keys: &AuditKeys) -> Head {
        let (key_id, mac) = keys.signing_mac();
        Head {
            seq,
            hash: hash.to_vec(),
            key_id: key_id.map(str::to_string),
            mac: head_mac(&mac, run_id, seq, hash).to_vec(),
        }
    }
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
    /// MACs by key id (`None`: not available), made once per key; a run has one or two.
    macs: Vec<(Option<String>, Option<Mac>)>,
    prev: Hash,
    next_seq: u64,
    first_keyed: Option<u64>,
}

impl<'k> Check<'k> {
    /// From the run's first event.
    pub fn new(run_id: &str, keys: &'k AuditKeys) -> Self {
        Self::after(run_id, keys, 0, ZERO)
    }

    /// From the event after (`seq`, `hash`), an event already checked (a follower's
    /// last one). Keyed events cannot be forged onto it, so its stored hash is taken.
    pub fn after(run_id: &str, keys: &'k AuditKeys, seq: u64, hash: Hash) -> Self {
        Check {
            run_id: run_id.to_string(),
            keys,
            macs: Vec::new(),
            prev: hash,
            next_seq: seq + 1,
            first_keyed: None,
        }
    }

    /// A checker that continues after `seq`, whose stored hash and key id are given.
    pub fn after_stored(
        run_id: &str,
        keys: &'k AuditKeys,
        seq: u64,
        hash: Option<&[u8]>,
        key_id: Option<&str>,
    ) -> Result<Self, Break> {
        let hash = to_hash(hash).ok_or_else(|| Break {
            seq,
            reason: format!("event {seq} has no hash (it was written around the chain)"),
        })?;
        let mut c = Self::after(run_id, keys, seq, hash);
        if key_id.is_some() {
            c.first_keyed = Some(seq);
        }
        Ok(c)
    }

    /// The next stored event: its seq, `json` text, hash and key id.
    pub fn push(
        &mut self,
        seq: u64,
        json: &str,
        hash: Option<&[u8]>,
        key_id: Option<&str>,
    ) -> Result<(), Break> {
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
        match (key_id, self.first_keyed) {
            (Some(_), None) => self.first_keyed = Some(seq),
            (None, Some(k)) => {
                return brk(
                    seq,
                    format!(
                        "event {seq} is not keyed, but event {k} before it is (written without the key)"
                    ),
                );
            }
            _ => {}
        }
        let Some(stored) = to_hash(hash) else {
            return brk(
                seq,
                format!("event {seq} has no hash (it was written around the chain)"),
            );
        };
        let i = match self.macs.iter().position(|(k, _)| k.as_deref() == key_id) {
            Some(i) => i,
            None => {
                let mac = self.keys.mac_for(key_id);
                self.macs.push((key_id.map(str::to_string), mac));
                self.macs.len() - 1
            }
        };
        let Some(mac) = &self.macs[i].1 else {
            return brk(seq, key_missing(key_id));
        };
        if event_hash(mac, &self.prev, &self.run_id, seq, json) != stored {
            return brk(
                seq,
                format!("event {seq} was altered: its hash does not match its content and place"),
            );
        }
        self.prev = stored;
        self.next_seq = seq + 1;
        Ok(())
    }

    /// The end of the history: `head` must name the last event and hold. Returns the
    /// last seq.
    pub fn finish(self, head: Option<&Head>, heads: Heads) -> Result<u64, Break> {
        let last = self.next_seq - 1;
        let brk = |seq, reason: String| Err(Break { seq, reason });
        let Some(head) = head else {
            return if last == 0 {
                Ok(0)
            } else {
                brk(last, "its recorded head is missing".to_string())
            };
        };
        if head.seq > last {
            return brk(
                last + 1,
                format!(
                    "events {}..={} are missing (its head says {})",
                    last + 1,
                    head.seq,
                    head.seq
                ),
            );
        }
        if head.seq < last || head.hash != self.prev {
            return brk(
                last,
                format!(
                    "event {last} does not match its recorded head (event {})",
                    head.seq
                ),
            );
        }
        match (&head.key_id, self.first_keyed) {
            (None, _) if heads == Heads::Adopting => {}
            (None, Some(k)) => {
                return brk(
                    last,
                    format!(
                        "its head is not keyed, but event {k} is: the head was rewritten without the key (events cut off the end?)"
                    ),
                );
            }
            (None, None) if heads == Heads::Keyed => {
                return brk(last, format!("its history is {NOT_KEYED}"));
            }
            _ => {}
        }
        let Some(mac) = self.keys.mac_for(head.key_id.as_deref()) else {
            return brk(last, key_missing(head.key_id.as_deref()));
        };
        if head_mac(&mac, &self.run_id, head.seq, &self.prev)[..] != head.mac[..] {
            return brk(
                last,
                "its recorded head's MAC does not match it: the head was rewritten (events cut off the end?)"
                    .to_string(),
            );
        }
        Ok(last)
    }
}

fn key_missing(key_id: Option<&str>) -> String {
    let id = key_id.unwrap_or_default();
    format!("it is keyed with `{id}`, which is not available; set BATON_AUDIT_KEYS=\"{id}=…\"")
}

fn to_hash(b: Option<&[u8]>) -> Option<Hash> {
    b.and_then(|b| Hash::try_from(b).ok())
}

/// Links a batch of a run's events onto its chain, as the commit writes them.
pub struct Writer {
    run_id: String,
    mac: Mac,
    key_id: Option<String>,
    prev: Hash,
    last: Option<u64>,
}

impl Writer {
    /// Continue after `head` (`None`: a run without events yet).
    pub fn new(run_id: &str, head: Option<&Head>, keys: &AuditKeys) -> Result<Writer, Refusal> {
        let (key_id, mac) = keys.signing_mac();
        if let Some(h) = head {
            let k = h.key_id.as_deref();
            may_extend(key_id.is_some(), k, k)?;
        }
        Ok(Writer {
            run_id: run_id.to_string(),
            mac,
            key_id: key_id.map(str::to_string),
            prev: head.and_then(|h| to_hash(Some(&h.hash))).unwrap_or(ZERO),
            last: None,
        })
    }

    /// The key id the batch's events carry.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The hash of the next event, whose stored text is `json`.
    pub fn link(&mut self, seq: u64, json: &str) -> Hash {
        self.prev = event_hash(&self.mac, &self.prev, &self.run_id, seq, json);
        self.last = Some(seq);
        self.prev
    }

    /// The run's new head, once the batch is linked (`None` for an empty batch).
    pub fn head(&self, keys: &AuditKeys) -> Option<Head> {
        self.last
            .map(|seq| Head::seal(&self.run_id, seq, &self.prev, keys))
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

    /// (seq, json, hash, key id) rows as the store holds them, and the head.
    type Row = (u64, String, Vec<u8>, Option<String>);

    fn write(run: &str, n: u64, k: &AuditKeys) -> (Vec<Row>, Head) {
        let mut w = Writer::new(run, None, k).unwrap();
        let rows: Vec<Row> = (1..=n)
            .map(|seq| {
                let json = format!("{{\"seq\":{seq}}}");
                let h = w.link(seq, &json);
                (seq, json, h.to_vec(), w.key_id().map(str::to_string))
            })
            .collect();
        (rows, w.head(k).unwrap())
    }

    fn check(run: &str, rows: &[Row], head: Option<&Head>, k: &AuditKeys) -> Result<u64, Break> {
        let mut c = Check::new(run, k);
        for (seq, json, hash, key) in rows {
            c.push(*seq, json, Some(hash), key.as_deref())?;
        }
        c.finish(head, Heads::for_keys(k))
    }

    #[test]
    fn an_intact_history_checks_out_keyed_or_not() {
        for k in [AuditKeys::default(), keys(Some(("k1", "s")), "")] {
            let (rows, head) = write("R", 5, &k);
            assert_eq!(check("R", &rows, Some(&head), &k), Ok(5));
            // The same events under another run id do not.
            assert_eq!(check("S", &rows, Some(&head), &k).unwrap_err().seq, 1);
        }
    }

    #[test]
    fn edits_gaps_and_a_cut_tail_are_named() {
        let k = keys(Some(("k1", "s")), "");
        let (rows, head) = write("R", 5, &k);
        let mut edited = rows.clone();
        edited[2].1 = "{\"seq\":3,\"forged\":1}".into();
        assert_eq!(check("R", &edited, Some(&head), &k).unwrap_err().seq, 3);
        let mut gap = rows.clone();
        gap.remove(1);
        assert_eq!(check("R", &gap, Some(&head), &k).unwrap_err().seq, 2);
        // The tail cut and the head rewritten to the new last event, without the key.
        let cut = &rows[..3];
        let forged = Head::seal(
            "R",
            3,
            &to_hash(Some(&cut[2].2)).unwrap(),
            &AuditKeys::default(),
        );
        let e = check("R", cut, Some(&forged), &k).unwrap_err();
        assert_eq!(e.seq, 3, "{e:?}");
        // … or with a head of another key id that is not available.
        let other = Head::seal(
            "R",
            3,
            &to_hash(Some(&cut[2].2)).unwrap(),
            &keys(Some(("k1", "guess")), ""),
        );
        assert!(
            check("R", cut, Some(&other), &k)
                .unwrap_err()
                .reason
                .contains("MAC")
        );
        // The head left as it was: events are missing.
        assert_eq!(check("R", cut, Some(&head), &k).unwrap_err().seq, 4);
    }

    #[test]
    fn downgrades_and_unkeyed_rewrites_fail() {
        let k = keys(Some(("k1", "s")), "");
        let plain = AuditKeys::default();
        let (rows, _) = write("R", 4, &k);
        // Events 3.. rewritten without the key, the head too.
        let mut w = Writer::new("R", None, &plain).unwrap();
        let mut down: Vec<Row> = Vec::new();
        for (i, (seq, json, hash, key)) in rows.iter().enumerate() {
            if i < 2 {
                w.prev = to_hash(Some(hash)).unwrap();
                down.push((*seq, json.clone(), hash.clone(), key.clone()));
            } else {
                let h = w.link(*seq, json);
                down.push((*seq, json.clone(), h.to_vec(), None));
            }
        }
        w.last = Some(4);
        let head = w.head(&plain).unwrap();
        assert_eq!(check("R", &down, Some(&head), &k).unwrap_err().seq, 3);
        // Caught without a key too, since an earlier event is keyed.
        assert_eq!(check("R", &down, Some(&head), &plain).unwrap_err().seq, 1);
        // All of it rewritten without the key: fails when a key is configured.
        let (all_plain, head) = write("R", 4, &plain);
        let e = check("R", &all_plain, Some(&head), &k).unwrap_err();
        assert!(
            e.reason.contains("not keyed") || e.reason.contains("no record"),
            "{e:?}"
        );
        assert_eq!(check("R", &all_plain, Some(&head), &plain), Ok(4));
    }

    #[test]
    fn rotated_keys_verify_and_a_missing_key_is_named() {
        let k1 = keys(Some(("k1", "one")), "");
        let (mut rows, head1) = write("R", 2, &k1);
        let k2 = keys(Some(("k2", "two")), "k1=one");
        let mut w = Writer::new("R", Some(&head1), &k2).unwrap();
        for seq in 3..=4 {
            let json = format!("{{\"seq\":{seq}}}");
            let h = w.link(seq, &json);
            rows.push((seq, json, h.to_vec(), Some("k2".into())));
        }
        let head = w.head(&k2).unwrap();
        assert_eq!(check("R", &rows, Some(&head), &k2), Ok(4));
        let only2 = keys(Some(("k2", "two")), "");
        let e = check("R", &rows, Some(&head), &only2).unwrap_err();
        assert!(e.seq == 1 && e.reason.contains("`k1`"), "{e:?}");
    }

    #[test]
    fn writers_keep_a_history_keyed_or_adopted() {
        let k = keys(Some(("k1", "s")), "");
        let (_, keyed) = write("R", 2, &k);
        let (_, plain) = write("R", 2, &AuditKeys::default());
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
        let (rows, head) = write("R", 5, &k);
        let mut c = Check::after_stored("R", &k, 3, Some(&rows[2].2), Some("k1")).unwrap();
        for (seq, json, hash, key) in &rows[3..] {
            c.push(*seq, json, Some(hash), key.as_deref()).unwrap();
        }
        assert_eq!(c.finish(Some(&head), Heads::Keyed), Ok(5));
        // An unkeyed event appended after it is refused.
        let mut c = Check::after_stored("R", &k, 5, Some(&rows[4].2), Some("k1")).unwrap();
        assert_eq!(c.push(6, "{}", Some(&[0; 32]), None).unwrap_err().seq, 6);
    }
}
