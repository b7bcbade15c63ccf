//! Asks (`baton ask`): an asker opens a question through `session::ask::open`, the
//! CLI's own path; operators answer it through `session::ask::answer` (what `baton
//! approve|reject ASK` calls: the vote proved by its account and put on the audit
//! chain), and some answers are forged (the ask's row and a vote written with SQL,
//! with no proof). The asker looks at its ask as `session::ask::wait` does, one look
//! per action (`Store::settle_ask`: only proven votes decide; the deadline recorded
//! `expired` by `Store::expire_ask`).
use crate::world::World;
use crate::{Bug, SimError};
use baton_model::ask::{Ask, AskState};
use baton_model::{Command, Timestamp};
use rand::Rng;
use std::time::Duration;

/// One ask the scenario opened.
pub(crate) struct Asked {
    /// The ask as its asker opened it (its own copy of the question).
    pub opened: Ask,
    /// Its name in the history (`a1`…): the store's ids are random.
    pub name: String,
    /// The answer an operator gave through the CLI's path and the store accepted.
    pub answered: Option<AskState>,
    /// What the asker took as the ask's end, once it ended.
    pub ended: Option<AskState>,
}

impl World {
    /// An ask opened, answered (some answers forged), or looked at by its asker.
    pub(crate) fn ask_action(&mut self) -> Result<(), SimError> {
        self.steps += 1;
        let open: Vec<usize> = (0..self.asks.len())
            .filter(|&i| self.asks[i].ended.is_none())
            .collect();
        if open.is_empty() {
            return self.open_ask();
        }
        let i = open[self.extra.random_range(0..open.len())];
        match self.extra.random_range(0..6) {
            0 if open.len() < 3 => self.open_ask(),
            0 | 1 => self.answer_ask(i),
            2 => self.forge_answer(i),
            _ => self.look_at_ask(i),
        }
    }

    fn open_ask(&mut self) -> Result<(), SimError> {
        let name = format!("a{}", self.asks.len() + 1);
        let q = baton_session::ask::Question {
            prompt: format!("go on with {name}?"),
            inputs: Vec::new(),
            approvers: self.ask_approvers(),
            quorum: 1,
            timeout: Some(Duration::from_secs(self.extra.random_range(60..300))),
            allow_self_approval: true,
            signers: None,
        };
        let opened = baton_session::ask::open(&mut self.ops, &q)?;
        self.history.push(format!("  ask {name} opened"));
        self.asks.push(Asked {
            opened,
            name,
            answered: None,
            ended: None,
        });
        Ok(())
    }

    /// `baton approve|reject ASK` by the operator.
    fn answer_ask(&mut self, i: usize) -> Result<(), SimError> {
        self.tags += 1;
        let who = self.draw_operator();
        let operator = who
            .as_ref()
            .map_or_else(|| self.user.clone(), |a| a.name.clone());
        let reason = format!("op-{}", self.tags);
        self.made_by.insert(reason.clone(), operator.clone());
        let approve = self.extra.random_bool(0.7);
        let command = match approve {
            true => Command::Approve {
                step: String::new(),
                operator: operator.clone(),
                reason: Some(reason),
                signature: None,
                inputs: Default::default(),
            },
            false => Command::Reject {
                step: String::new(),
                operator: operator.clone(),
                reason,
                signature: None,
            },
        };
        let id = self.asks[i].opened.id.clone();
        let answered = self.acting(who.as_ref(), |w| {
            Ok(baton_session::ask::answer(&mut w.ops, &id, &command))
        })?;
        let said = match answered {
            Ok(_)
                if !self
                    .ask_approvers()
                    .iter()
                    .any(|a| baton_model::same_actor(a, &operator)) =>
            {
                self.answer_broke = Some(format!(
                    "ask {id}: `{operator}`'s answer was taken, but its approvers are {:?}",
                    self.ask_approvers()
                ));
                "recorded (not an approver)".to_string()
            }
            Ok(_) => {
                self.asks[i].answered = Some(match approve {
                    true => AskState::Approved,
                    false => AskState::Rejected,
                });
                "recorded".to_string()
            }
            Err(refusal) => format!("refused ({})", refusal.code()),
        };
        let verb = if approve { "approve" } else { "reject" };
        let name = &self.asks[i].name;
        self.history.push(format!("  {verb} ask {name}: {said}"));
        Ok(())
    }

    /// An answer written with SQL in the approver's name: the ask's row decided and a
    /// vote beside it, with no audit row and no proof.
    fn forge_answer(&mut self, i: usize) -> Result<(), SimError> {
        self.tags += 1;
        let reason = format!("forged-{}", self.tags);
        let id = self.asks[i].opened.id.clone();
        let state = match self.extra.random_bool(0.7) {
            true => AskState::Approved,
            false => AskState::Rejected,
        };
        self.raw.execute(
            "INSERT OR REPLACE INTO ask_votes (ask_id, actor, reason, at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, self.user, reason, self.now],
        )?;
        self.raw.execute(
            "UPDATE asks SET state = ?2, vals = '{}', decided_by = ?3, decided_at = ?4, reason = ?5
             WHERE id = ?1",
            rusqlite::params![id, state.as_str(), self.user, self.now, reason],
        )?;
        self.history.push(format!(
            "  forged answer {} of ask {}",
            state.as_str(),
            self.asks[i].name
        ));
        Ok(())
    }

    /// The asker's look at its ask, as `session::ask::wait` makes it.
    fn look_at_ask(&mut self, i: usize) -> Result<(), SimError> {
        let a = &self.asks[i];
        let id = a.opened.id.clone();
        let seen = match self.config.bug {
            Some(Bug::ObeyForgedAnswer) => self.ops.ask(&id)?,
            _ => {
                let user = self.user.clone();
                self.ops.settle_ask(&id, &a.opened, &user)?
            }
        };
        let name = a.name.clone();
        let Some(seen) = seen else {
            self.history.push(format!("  ask {name} is gone"));
            self.asks[i].ended = Some(AskState::Abandoned);
            return Ok(());
        };
        if seen.state == AskState::Open {
            let now = Timestamp(self.now);
            if seen.deadline.is_some_and(|d| now >= d) && self.ops.expire_ask(&id, now)? {
                self.history.push(format!("  ask {name} expired"));
                self.asks[i].ended = Some(AskState::Expired);
            }
            return Ok(());
        }
        self.history
            .push(format!("  asker of {name} got {}", seen.state.as_str()));
        self.asks[i].ended = Some(seen.state);
        Ok(())
    }
}

impl World {
    /// Who may answer an ask: this process's account, and with `--mix accounts` one
    /// member (`gmalice`), so that the other member's answers are refused.
    fn ask_approvers(&self) -> Vec<String> {
        let mut approvers = vec![self.user.clone()];
        if let Some(a) = self.accounts.first() {
            approvers.push(a.name.clone());
        }
        approvers
    }
}
