//! Which pause state a serve takes for a schedule it has no record of (a new state
//! file: the first start after an upgrade, another `XDG_STATE_HOME`, the file removed).
//! Pure: the row, the audit chain's latest decision and the proof's verdict are passed
//! in.
//!
//! A pause or resume counts once its proof is checked, and a proof serves once: the
//! serve that checked it keeps the verdict in its own state file. A serve without that
//! record cannot check again a decision an earlier serve proved. It fails safe: a pause
//! may only be lifted by a resume it proves, never by a lost file. So a schedule is
//! taken as paused when its row says paused (proved now or not) or when the audit
//! chain's latest decision on it is a pause (the row rewritten since without a
//! decision), and as running only when neither says paused.
use crate::Timestamp;
use crate::actor::same_actor;

/// A pause or a resume as one source states it: a schedule's row, or the audit chain's
/// decision on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseSaid {
    pub paused: bool,
    /// The deciding account (empty: a row that names none, never paused or cleared).
    pub by: String,
    pub at: Timestamp,
}

impl PauseSaid {
    /// Whether both state the same decision.
    fn same(&self, other: &PauseSaid) -> bool {
        self.paused == other.paused && self.at == other.at && same_actor(&self.by, &other.by)
    }
}

/// Why a schedule with no record is taken as paused or not ([`seed_pause`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum SeedWhy {
    /// Neither the row nor the audit chain holds a decision: never paused.
    NeverPaused,
    /// The row's decision, proved now (its proof was still unused).
    Proved,
    /// The row's resume is the audit chain's latest decision; its proof was used by an
    /// earlier check. Nothing says paused.
    ResumeOnRecord,
    /// The row names a resume the audit chain does not hold as its latest decision, and
    /// the chain holds no pause after it. Nothing says paused.
    ResumeUnrecorded,
    /// The row's pause is the audit chain's latest decision, its proof used by an
    /// earlier check: honoured.
    PauseOnRecord,
    /// The row says paused without the audit chain holding it as its latest decision:
    /// honoured all the same (fail safe) until a proved resume.
    PauseUnrecorded,
    /// The audit chain's latest decision is a pause the row no longer says (rewritten
    /// without a decision): paused, as the chain says.
    PausedOnChain,
}

impl SeedWhy {
    /// The word for it in the serve's log.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the row states a decision that is neither proved now nor the audit
    /// chain's latest (a row whose proof does not hold then is refused on record; one
    /// on record had its proof used by an earlier serve's check).
    pub fn row_unrecorded(self) -> bool {
        matches!(
            self,
            SeedWhy::PauseUnrecorded | SeedWhy::ResumeUnrecorded | SeedWhy::PausedOnChain
        )
    }

    /// What the serve says of it (none for a schedule never paused or proved now).
    pub fn explain(self) -> Option<&'static str> {
        Some(match self {
            SeedWhy::NeverPaused | SeedWhy::Proved => return None,
            SeedWhy::ResumeOnRecord => {
                "its last resume is on the audit chain; its proof was used by an earlier serve's check"
            }
            SeedWhy::ResumeUnrecorded => {
                "its row names a resume the audit chain does not hold, and no pause says otherwise"
            }
            SeedWhy::PauseOnRecord => {
                "its pause is on the audit chain, but its proof was used by an earlier serve's check and this serve has no record of it (a new state file); a pause is lifted only by a proved `baton schedule resume`"
            }
            SeedWhy::PauseUnrecorded => {
                "its row says paused without a decision on the audit chain, and this serve has no record of the schedule (a new state file): honoured as paused (fail safe) until a proved `baton schedule resume`"
            }
            SeedWhy::PausedOnChain => {
                "the audit chain's latest decision is a pause that its row no longer says (rewritten without a decision); a pause is lifted only by a proved `baton schedule resume`"
            }
        })
    }
}

/// The pause state a serve keeps for a schedule it had no record of: the decision it
/// goes by (a later row is checked against it) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    pub kept: PauseSaid,
    pub why: SeedWhy,
}

/// The audit chain's `latest` decision on a schedule when it is a pause that `goes_by`
/// (its row, or the decision a serve goes by) does not say: that pause holds, for every
/// serve and in `baton schedules`, until a proved resume (the row was cleared or
/// rewritten without a decision, or the pause was recorded while the serve was down).
/// The one rule both [`seed_pause`] and a serve with a record of the schedule apply,
/// and `baton schedules` shows.
pub fn pause_on_chain<'a>(
    goes_by: &PauseSaid,
    latest: Option<&'a PauseSaid>,
) -> Option<&'a PauseSaid> {
    latest.filter(|l| l.paused && !goes_by.paused)
}

/// Which pause state wins for a schedule a serve has no record of, from its `row`, the
/// audit chain's `latest` decision on it, and whether the row's decision was `proved`
/// now (its proof checked: the chain holds it, by the account the row names).
pub fn seed_pause(row: &PauseSaid, latest: Option<&PauseSaid>, proved: bool) -> Seeded {
    let on_record = latest.is_some_and(|l| l.same(row));
    let kept = |why| Seeded {
        kept: row.clone(),
        why,
    };
    if row.paused {
        return kept(if proved {
            SeedWhy::Proved
        } else if on_record {
            SeedWhy::PauseOnRecord
        } else {
            SeedWhy::PauseUnrecorded
        });
    }
    // A resume row (even proved: an older decision handed in again) does not lift the
    // chain's later pause.
    if let Some(l) = pause_on_chain(row, latest) {
        return Seeded {
            kept: l.clone(),
            why: SeedWhy::PausedOnChain,
        };
    }
    match latest {
        _ if proved => kept(SeedWhy::Proved),
        _ if on_record => kept(SeedWhy::ResumeOnRecord),
        None if row.by.is_empty() => kept(SeedWhy::NeverPaused),
        _ => kept(SeedWhy::ResumeUnrecorded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(paused: bool, by: &str, at: i64) -> PauseSaid {
        PauseSaid {
            paused,
            by: by.into(),
            at: Timestamp(at),
        }
    }

    fn never() -> PauseSaid {
        said(false, "", 0)
    }

    #[test]
    fn a_schedule_never_decided_on_runs() {
        let s = seed_pause(&never(), None, false);
        assert_eq!((s.kept.paused, s.why), (false, SeedWhy::NeverPaused));
        assert_eq!(s.why.explain(), None);
    }

    #[test]
    fn a_pause_whose_proof_was_used_stays_paused() {
        let p = said(true, "alice", 5);
        let s = seed_pause(&p, Some(&p), false);
        assert_eq!(s.kept, p, "the row agrees with what is kept");
        assert_eq!(s.why, SeedWhy::PauseOnRecord);
        assert!(
            s.why
                .explain()
                .unwrap()
                .contains("proved `baton schedule resume`")
        );
        // Proved now: the same, said so.
        let s = seed_pause(&p, Some(&p), true);
        assert_eq!((s.kept, s.why), (p.clone(), SeedWhy::Proved));
        // Names compare as accounts do.
        let s = seed_pause(&p, Some(&said(true, "Alice", 5)), false);
        assert_eq!(s.why, SeedWhy::PauseOnRecord);
    }

    #[test]
    fn a_pause_off_the_chain_is_honoured_fail_safe() {
        let forged = said(true, "alice", 9);
        for latest in [
            None,
            Some(said(false, "bob", 3)),
            Some(said(true, "alice", 5)),
        ] {
            let s = seed_pause(&forged, latest.as_ref(), false);
            assert!(s.kept.paused, "{latest:?}");
            assert_eq!(s.kept, forged);
            assert_eq!(s.why, SeedWhy::PauseUnrecorded, "{latest:?}");
        }
    }

    #[test]
    fn a_row_cleared_without_a_decision_does_not_lift_the_chains_pause() {
        let pause = said(true, "alice", 5);
        for row in [never(), said(false, "bob", 7), said(false, "alice", 2)] {
            // Even an older resume proved now (handed in again) loses to the later pause.
            for proved in [false, true] {
                let s = seed_pause(&row, Some(&pause), proved);
                assert_eq!(s.kept, pause, "{row:?} {proved}");
                assert_eq!(s.why, SeedWhy::PausedOnChain);
            }
        }
    }

    #[test]
    fn a_resume_with_no_pause_after_it_runs() {
        let resume = said(false, "alice", 7);
        let s = seed_pause(&resume, Some(&resume), false);
        assert_eq!(
            (s.kept.clone(), s.why),
            (resume.clone(), SeedWhy::ResumeOnRecord)
        );
        let s = seed_pause(&resume, Some(&resume), true);
        assert_eq!(s.why, SeedWhy::Proved);
        // A resume the chain does not hold, and no pause on the chain: nothing says paused.
        for latest in [None, Some(said(false, "bob", 3))] {
            let s = seed_pause(&resume, latest.as_ref(), false);
            assert!(!s.kept.paused);
            assert_eq!(s.why, SeedWhy::ResumeUnrecorded);
        }
        // A row cleared by hand with resumes alone on the chain.
        let s = seed_pause(&never(), Some(&resume), false);
        assert!(!s.kept.paused);
        assert_eq!(s.why, SeedWhy::ResumeUnrecorded);
    }

    /// What a serve with a record of the schedule applies to what it goes by.
    #[test]
    fn a_pause_on_the_chain_holds_unless_what_one_goes_by_is_paused() {
        let pause = said(true, "a", 5);
        let resume = said(false, "a", 3);
        assert_eq!(pause_on_chain(&never(), Some(&pause)), Some(&pause));
        assert_eq!(pause_on_chain(&resume, Some(&pause)), Some(&pause));
        assert_eq!(pause_on_chain(&said(true, "b", 1), Some(&pause)), None);
        assert_eq!(pause_on_chain(&never(), Some(&resume)), None);
        assert_eq!(pause_on_chain(&resume, None), None);
    }

    #[test]
    fn paused_wins_whenever_the_row_or_the_chains_latest_says_so() {
        let rows = [
            never(),
            said(false, "a", 1),
            said(true, "a", 1),
            said(true, "b", 2),
        ];
        let latest = [None, Some(said(false, "a", 1)), Some(said(true, "a", 1))];
        for row in &rows {
            for l in &latest {
                for proved in [false, true] {
                    let s = seed_pause(row, l.as_ref(), proved);
                    let says_paused = row.paused || l.as_ref().is_some_and(|l| l.paused);
                    assert_eq!(s.kept.paused, says_paused, "{row:?} {l:?} {proved}");
                    // The chain's pause wins exactly when `pause_on_chain` says so.
                    assert_eq!(
                        s.why == SeedWhy::PausedOnChain,
                        pause_on_chain(row, l.as_ref()).is_some(),
                        "{row:?} {l:?}"
                    );
                }
            }
        }
    }
}
