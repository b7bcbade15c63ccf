//! Commands from other processes (the store's `commands` table) and from the console
//! in this process, handed to the core; the store's copy of a command masked, and the
//! write-ahead log emptied of the text as it was written.
use super::*;

impl Driver {
    pub(super) fn poll_commands(&mut self, inputs: &mut Vec<Input>) -> Result<(), DriverError> {
        let v = self.store.data_version()?;
        if v == self.data_version {
            return Ok(());
        }
        self.data_version = v;
        self.claim_commands(inputs)?;
        self.notice_asks()
    }

    /// Claiming hands each command to one engine, once.
    pub(super) fn claim_commands(&mut self, inputs: &mut Vec<Input>) -> Result<(), DriverError> {
        for claimed in self.store.claim_commands(&self.run_id)? {
            let baton_store::Claimed {
                id,
                command,
                unproven,
            } = claimed;
            // The submitter does not know the run's secrets; the engine does: no
            // secret typed into a reason stays in the `commands` table.
            let masked = self.core.mask_command(&command);
            if masked != command {
                self.store.rewrite_command(id, &masked)?;
                self.wal_unscrubbed = true;
            }
            inputs.push(match unproven {
                Some(reason) => Input::UnprovenCommand {
                    id,
                    command,
                    reason: Box::new(reason),
                },
                None => {
                    self.trace_ahead(&command);
                    Input::Command {
                        id: Some(id),
                        command,
                    }
                }
            });
        }
        // Before the verdict: the submitter, once answered, finds no copy of its text.
        self.scrub_wal();
        Ok(())
    }

    /// Empty the write-ahead log of a command's unmasked text, once a command was
    /// masked; a reader in the way only delays it to the next poll.
    pub(super) fn scrub_wal(&mut self) {
        if self.wal_unscrubbed && self.store.scrub_wal().unwrap_or(false) {
            self.wal_unscrubbed = false;
        }
    }

    pub(super) fn command_request(&mut self, req: CommandRequest, inputs: &mut Vec<Input>) {
        // In-process commands get negative ids: they never collide with the store's.
        let id = self.next_console_id;
        self.next_console_id -= 1;
        self.console_replies.insert(id, req.reply);
        self.trace_ahead(&req.command);
        inputs.push(Input::Command {
            id: Some(id),
            command: req.command,
        });
    }

    /// Before the core decides a release: each adopted frozen attempt it would let run
    /// (`exec::adopt`) is traced now, and the core told which could not be, so that it
    /// refuses that release (`trace_refused`: the step stays frozen, nothing is sent
    /// to it) instead of recording one that lets the step run with nobody to see its
    /// exit.
    fn trace_ahead(&mut self, command: &baton_model::Command) {
        for (step, attempt) in self.core.adopted_to_release(command) {
            let kill = self
                .live
                .get(&(step, attempt))
                .and_then(|l| l.kill.as_ref());
            // Not re-attached (its group was gone): its end is on its way to the core.
            let Some(kill) = kill else {
                continue;
            };
            let why = kill.trace_ahead().err().map(|e| e.to_string());
            self.core.trace_refused(step, attempt, why);
        }
    }
}
