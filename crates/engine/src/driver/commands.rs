//! Commands from other processes (the store's `commands` table) and from the console
//! in this process, handed to the core; the store's copy of a command masked, and the
//! write-ahead log emptied of the text as it was written.
use super::*;

impl Driver {
    pub(super) fn poll_commands(&mut self, inputs: &mut Vec<Input>) -> Result<(), DriverError> {
        let v = self.store.data_version()?;
        if self.data_version == Some(v) {
            return Ok(());
        }
        self.data_version = Some(v);
        self.claim_commands(inputs)?;
        self.notice_asks()
    }

    /// Claiming hands each command to one engine, once (`crate::wake::claim`).
    pub(super) fn claim_commands(&mut self, inputs: &mut Vec<Input>) -> Result<(), DriverError> {
        let run = crate::wake::Run {
            store: &mut self.store,
            run_id: &self.run_id,
            core: &mut self.core,
        };
        let live = &self.live;
        let mut trace = |step, attempt| trace_live(live, step, attempt);
        inputs.extend(crate::wake::claim(
            run,
            &mut self.wal_unscrubbed,
            &mut trace,
        )?);
        Ok(())
    }

    /// Empty the write-ahead log of a command's unmasked text, once a command was
    /// masked; a reader in the way only delays it to the next poll.
    pub(super) fn scrub_wal(&mut self) {
        crate::wake::scrub_wal(&mut self.store, &mut self.wal_unscrubbed);
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
    /// (`exec::adopt`) is traced now (`crate::wake::trace_ahead`).
    fn trace_ahead(&mut self, command: &baton_model::Command) {
        let live = &self.live;
        let mut trace = |step, attempt| trace_live(live, step, attempt);
        crate::wake::trace_ahead(&mut self.core, command, &mut trace);
    }
}

/// The executors' hand that traces an adopted frozen attempt ahead of its release:
/// `None` when it is not re-attached (its group was gone: its end is on its way to the
/// core), else whether tracing it was refused and why.
fn trace_live(
    live: &FastMap<(usize, u32), Live>,
    step: usize,
    attempt: u32,
) -> Option<Result<(), exec::ExecError>> {
    let kill = live.get(&(step, attempt)).and_then(|l| l.kill.as_ref())?;
    Some(kill.trace_ahead())
}
