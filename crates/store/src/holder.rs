//! Who holds a lease: this process's holder name (`pid N on HOST`), whether a holder
//! is alive, and a run's liveness from its lease columns. Below the rooms: the ledger
//! (a rotation refuses while a holder under an old key lives), the read side (runs read
//! as interrupted when their holder died) and coordination (leases) all ask it.
use baton_model::Timestamp;
use baton_model::liveness::{self, Lease, parse_holder};

/// `pid <pid> on <host>` for this process: the lease holder format, which lets another
/// process on the same host tell that the holder died.
pub fn lease_holder_name() -> String {
    format!("pid {} on {}", std::process::id(), hostname())
}

/// Read once: every liveness check asks it, and a process's leases keep the name they
/// were taken under.
pub(crate) fn hostname() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into())
    })
    .clone()
}

/// Whether the holder's process is alive: `Some(false)` only for a process of this host
/// that is gone (or a zombie no one reaped), `None` for a holder on another host or in
/// another form (only its heartbeat can tell). The one place that looks at processes
/// for [`liveness`].
pub fn holder_alive(holder: &str) -> Option<bool> {
    let (pid, host) = parse_holder(holder)?;
    if host != hostname() || pid <= 0 {
        return None;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Err(nix::errno::Errno::ESRCH) => Some(false),
        // EPERM: it exists, owned by someone else.
        _ => Some(!is_zombie(pid)),
    }
}

/// A killed child whose parent has not reaped it yet still answers `kill(pid, 0)`.
fn is_zombie(pid: i32) -> bool {
    baton_procs::read_stat(pid).is_some_and(|(state, _, _)| state == 'Z')
}

/// A run's lease columns as a `LEFT JOIN leases` reads them: `holder`,
/// `heartbeat_at`, `taking_over` (all NULL without a lease).
pub(crate) type LeaseCols = (Option<String>, Option<i64>, Option<bool>);

/// The lease of a run's lease columns, if it has one.
pub(crate) fn lease_of((holder, heartbeat_at, taking_over): LeaseCols) -> Option<Lease> {
    holder.zip(heartbeat_at).map(|(holder, beat)| Lease {
        holder,
        heartbeat_at: Timestamp(beat),
        taking_over: taking_over.unwrap_or(false),
    })
}

/// A run's liveness now from its recorded state, its lease columns and whether a newer
/// run replaced it in its concurrency group's line (`max_pending`; the SQL of
/// [`crate::slots::REPLACED_SQL`]).
///
/// A replaced run that still reads `queued` with its engine live reads `cancelled`: the
/// store took it out of the line in the transaction that replaced it, so it can never
/// start, and its engine ends it `cancelled` as soon as it next looks (the replacing
/// run's cancel, or the store's word). Every reader shows that at once, not the
/// `queued` its engine has yet to overwrite. With its engine gone it reads
/// `interrupted`, as any run does, so `baton resume` can still end it on record.
pub(crate) fn live(
    recorded: &str,
    cols: LeaseCols,
    replaced: bool,
    now: Timestamp,
) -> baton_model::liveness::Liveness {
    use baton_model::RunState;
    let lease = lease_of(cols);
    let mut l = liveness::liveness(
        RunState::parse(recorded).unwrap_or(RunState::Interrupted),
        lease.as_ref(),
        now,
        holder_alive,
    );
    if replaced && l.state == RunState::Queued {
        l.state = RunState::Cancelled;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_names_parse_and_liveness_is_checked_on_this_host_only() {
        let me = lease_holder_name();
        assert_eq!(
            parse_holder(&me).map(|(p, _)| p),
            Some(std::process::id() as i32)
        );
        assert_eq!(holder_alive(&me), Some(true));
        assert_eq!(holder_alive("pid 999999999 on some-other-host"), None);
        assert_eq!(holder_alive("an engine somewhere"), None);
    }

    #[test]
    fn a_reaped_or_unreaped_dead_child_on_this_host_is_dead() {
        let host = hostname();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let holder = format!("pid {pid} on {host}");
        // Exited but not reaped: a zombie (wait for it to exit, bounded).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !is_zombie(pid as i32) {
            assert!(std::time::Instant::now() < deadline, "child never exited");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(holder_alive(&holder), Some(false));
        child.wait().unwrap();
        assert_eq!(holder_alive(&holder), Some(false));
    }
}
