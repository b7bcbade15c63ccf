//! For crash tests only: `BATON_FAILPOINT=POINT:STEP` (production's fault door,
//! `baton_model::faults`) makes the engine kill itself with
//! SIGKILL (as `kill -9` would, nothing cleaned up) at a named moment of that step's
//! attempt, a moment too short for a test to hit from outside. The points:
//! - `committed`: the wake-up's group of transitions that starts the step is committed
//!   (the step recorded running), and none of the group's processes started yet: resume
//!   must start each of them once.
//! - `started`: the attempt was started (a process spawned, a job submitted, a step
//!   launched on a host) and the engine has not yet heard of it, so its placement (pid,
//!   job id) is not recorded: resume must find it by itself.
//! - `collecting`: the step's first artifact is half copied into the store (its first
//!   mebibyte written to the temporary file): resume must copy it again, not run the
//!   step again.
//! - `handing`: an artifact the step reads is half copied to where the step finds it,
//!   before the step started: the step must never start on the partial file.
//! - `decided` (its "step" is `command`): a command from the store decided, its
//!   decision committed with its verdict (`Store::commit_decided`), nothing after it
//!   done: the next engine must neither refuse it nor apply it again.
//! - `claimed` (its "step" is `command`): a takeover whose command ended the run (a
//!   cancel, a reject) claimed the commands waiting, before the commit that ends the
//!   run and decides them: the run has not ended on record, and its next engine must
//!   take them again and decide them (docs/simulator.md, `--mix cli` seed 79).
//! - `ending` (its "step" is `command`): a takeover whose command ends the run (a
//!   cancel, a reject of its last gate) took the run's lease and applied the command in
//!   memory, nothing committed: the run reads `interrupted` (never active beside its
//!   group's holder), and the next takeover ends it (docs/simulator.md, `--mix cli`
//!   seeds 18, 20, 56, 79). `ending-held` (see [`hold_at`]) holds there instead, for a
//!   test to read the run meanwhile.
//! - `reopen-held` (not a kill, see [`hold_at`]; its "step" is `command`): an engine
//!   started to serve the commands waiting on a finished run (`--detach`) fed it one
//!   that reopens it (`retry`, `mark`): the run holds its group again and its takeover
//!   has settled (`engine::driver::reopen`), nothing of it committed.
//! - `uncommitted`, `unacted` (their "step" is `wake-up`): a wake-up decided, nothing
//!   of it committed; committed, nothing of it acted on (`wake::Moment`).
//! - `link-received` (`baton link`, issue 59; its "step" is the request's kind,
//!   `command`): a console's request read from the link, nothing of it done.
//! - `link-answered`: the request done (a decision committed), its answer not yet
//!   written back: the console must not say it was made nor lose it.
//! - `hook-recorded` (its "step" is `webhook`; `baton serve`, issue 81): a webhook
//!   delivery's run on record, its sender not yet answered: the sender gets no 2xx, and
//!   its retry must be answered with that run, not make a second.
//! - `escalation-recorded` (its "step" is `notify`; `baton serve`): a waiting gate's
//!   escalation recorded due (`escalation_due`), not yet sent: the next serve sends it
//!   once. `escalation-posted`: the target took it, `escalation_sent` not yet recorded:
//!   the next serve reads the target back (ntfy, Slack's Web API) and sends nothing.
//! - `link-held` (not a kill, see [`hold_at`]): a decision read, held before it reaches
//!   the store until the file `BATON_FAILPOINT_HOLD` names exists: a link whose
//!   connection was cut but whose process goes on, late.
use baton_model::faults::{self, Point};

/// Die here (SIGKILL, nothing cleaned up) if the fault door (`baton_model::faults`:
/// in production, `BATON_FAILPOINT`) names this point and step.
pub fn die_at(point: &str, step: &str) {
    if faults::dies_at(Point::Named { point, step }) {
        kill_self();
    }
}

/// SIGKILL to this process, as `kill -9` would: nothing cleaned up.
pub fn kill_self() -> ! {
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    // SIGKILL cannot be caught; should the raise itself fail, still nothing is cleaned up.
    std::process::abort()
}

/// Wait here, if `BATON_FAILPOINT` names this point and step, until the file
/// `BATON_FAILPOINT_HOLD` names exists (at most ten minutes); `FILE.waiting` is made
/// first, for the test to see the moment reached. Blocking.
pub fn hold_at(point: &str, step: &str) {
    if !faults::named(point, step) {
        return;
    }
    let Some(file) = std::env::var_os("BATON_FAILPOINT_HOLD") else {
        return;
    };
    let mut waiting = file.clone();
    waiting.push(".waiting");
    let _ = std::fs::write(&waiting, b"");
    let until = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while !std::path::Path::new(&file).exists() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
