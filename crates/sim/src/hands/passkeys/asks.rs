//! A signed ask answered from the approval page: `baton ask --signed` with the passkey
//! hand's allowed signers, answered through the page's own code
//! (`session::approval_page::decide` with the ask's id: the ask's message, the
//! assertion verified at the page's origin with the user verified, its counter, then
//! `session::ask::answer`). Good and bad: the user not verified, another origin, the
//! other verdict signed, no assertion. A refused answer leaves the ask open with no
//! vote, its refusal on the chain where the ask's votes are (`asks`).
use super::{Handed, Made, ORIGIN, PRINCIPAL, SERVE, page_message};
use crate::SimError;
use crate::hands::Hands;
use baton_model::ask::AskState;
use baton_session::approval_page::{self, Asked};
use rand::Rng;
use std::collections::BTreeMap;
use std::time::Duration;

impl Hands {
    /// A signed ask opened, then answered from the page (approved three times in four)
    /// with an assertion good (one in two) or bad.
    pub(super) fn passkey_ask(&mut self) -> Result<(), SimError> {
        let q = baton_session::ask::Question {
            prompt: "roll the release back?".into(),
            inputs: Vec::new(),
            approvers: vec![PRINCIPAL.into()],
            quorum: 1,
            timeout: Some(Duration::from_secs(3600)),
            allow_self_approval: false,
            signers: Some(self.passkeys.signers.clone()),
        };
        let id = baton_session::ask::open(&mut self.store, &q)?.id;
        let approve = self.passkeys.rng.random_range(0..4) != 0;
        let made = match self.passkeys.rng.random_range(0..8) {
            0..4 => Made::Good,
            4 => Made::Unverified,
            5 => Made::OtherOrigin,
            6 => Made::Flipped,
            _ => Made::Unsigned,
        };
        let (verdict, other) = match approve {
            true => ("approve", "reject"),
            false => ("reject", "approve"),
        };
        let mut asked = Asked {
            run: String::new(),
            step: String::new(),
            decision: verdict.into(),
            reason: format!("from the phone {}", self.steps),
            inputs: BTreeMap::new(),
            assertion: None,
            ask: Some(id.clone()),
        };
        let over = match made {
            Made::Flipped => page_message(
                self,
                &Asked {
                    decision: other.into(),
                    ..asked.clone()
                },
            )?,
            _ => page_message(self, &asked)?,
        };
        asked.assertion = match made {
            Made::Unsigned => None,
            _ => Some(self.passkeys.assertion(&over, made)),
        };
        let got = approval_page::decide(&mut self.store, ORIGIN, &asked, SERVE, |_, _, _| ());
        let after = self.store.ask(&id)?;
        let counted = after.as_ref().is_some_and(|a| a.state != AskState::Open);
        let changed = !counted && after.as_ref().is_some_and(|a| !a.votes.is_empty());
        if counted {
            self.passkey_counted(&asked);
        }
        let on_record = match (&got, approval_page::subject_of(&self.store, &asked)?) {
            (Err(r), Some((subject, step))) => {
                approval_page::recorded(&self.store, &subject, &step, r)?
            }
            (Err(_), None) => false,
            (Ok(_), _) => true,
        };
        let why = got
            .as_ref()
            .err()
            .map_or(String::new(), |r| format!(" ({})", r.refusal.code()));
        let said = made.said();
        self.history.push(format!(
            "  ask {id}: {verdict} from the page with a passkey ({said}): {}{why}",
            if counted { "counted" } else { "refused" },
        ));
        self.passkeys.handed.push(Handed {
            what: format!("ask {id}"),
            made: said,
            good: made == Made::Good,
            counted,
            changed,
            on_record,
        });
        Ok(())
    }
}
