//! The open asks (`baton ask`) as the console's session last read them: read again
//! from the store only when the asks moved there (`Store::asks_rev`, a counter every
//! write of an ask moves, by whichever process), not for every frame it publishes. A
//! frame takes the shown run's asks from here, as of its own time: an ask past its
//! deadline, or whose asker died, stops being open without a write.
use baton_model::Timestamp;
use baton_model::ask::{Ask, AskState};
use baton_model::view::AskNote;
use baton_store::Store;
use std::collections::BTreeMap;

/// The asks recorded open, and the store's asks counter they were read at.
#[derive(Debug, Default)]
pub struct AskBook {
    /// `None`: to read (never read, a read failed, or a store without the counter).
    rev: Option<i64>,
    open: Vec<Ask>,
}

impl AskBook {
    /// Read the open asks again if they moved since the last read
    /// (`Store::asks_moved`).
    pub fn refresh(&mut self, store: &Store) {
        if !store.asks_moved(&mut self.rev) {
            return;
        }
        match store.open_asks() {
            Ok(open) => self.open = open,
            // Kept as they were; read again at the next look.
            Err(_) => self.rev = None,
        }
    }

    /// The open asks of run `run`'s steps at `now`, by step.
    pub fn of_run(&self, run: &str, now: Timestamp) -> BTreeMap<String, AskNote> {
        self.open
            .iter()
            .filter(|a| a.run_id.as_deref() == Some(run))
            .filter(|a| {
                a.state_at(now, baton_store::holder_alive(&a.asker.holder)) == AskState::Open
            })
            .filter_map(|a| {
                let step = a.step_id.clone()?;
                Some((
                    step,
                    AskNote {
                        id: a.id.clone(),
                        prompt: a.prompt.clone(),
                    },
                ))
            })
            .collect()
    }
}
