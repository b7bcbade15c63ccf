//! A finished run reopened by a command its engine claimed (`retry`, `mark`): it holds
//! its concurrency group again before anything of it runs, as a takeover does
//! (`session::concurrency::hold_again`), and through the same store call
//! (`Store::settle_takeover`): an engine started to serve the commands waiting on a
//! finished run took its lease as a takeover, and the run reads as recorded (and holds
//! the group by that lease) from the transaction that gives it the group, not from
//! its first commit after. While another run holds the group, the command is refused
//! on record (`Refusal::GroupHeld`). Without this, a cancel and a
//! `retry` claimed in one wake-up finished the run and reopened it beside the group's
//! holder (found by the simulator: docs/simulator.md, seeds 19, 21 and 99).
use super::{Core, Input};
use baton_model::{Refusal, Timestamp};
use baton_store::{Store, StoreError};

/// `input` as the core should get it: a command that would reopen the finished run
/// `core`, once the store gave the run its group again (or it is in none); refused
/// when another run holds the group. Anything else is unchanged.
pub fn hold_group_to_reopen(
    store: &mut Store,
    run_id: &str,
    core: &Core,
    input: Input,
    now: Timestamp,
) -> Result<Input, StoreError> {
    let Input::Command {
        id: Some(id),
        command,
    } = input
    else {
        return Ok(input);
    };
    let command_input = |command| Input::Command {
        id: Some(id),
        command,
    };
    if !core.is_finished() {
        return Ok(command_input(command));
    }
    // Whether it reopens is the core's to say: asked of a copy, nothing recorded.
    let mut copy = core.clone();
    let _ = copy.handle(command_input(command.clone()), now);
    if copy.is_finished() {
        return Ok(command_input(command));
    }
    // The engine that drives it here settles its takeover (`Store::fence`); a run no
    // engine of this connection fences has no takeover of its to settle.
    let holder = store.fenced_by(run_id).unwrap_or_default().to_string();
    Ok(match store.settle_takeover(run_id, &holder, true)? {
        Ok(()) => command_input(command),
        Err((group, holder)) => Input::UnprovenCommand {
            id,
            command,
            reason: Box::new(Refusal::GroupHeld { group, holder }),
        },
    })
}
