//! A kill from another thread racing the reap of a leader started in place (a runtime
//! of one thread, no launching thread): its group is signalled only while the leader is
//! unreaped, also when a member outlives it (its group's id then names what is left,
//! and once that is gone, possibly another process's group).
use super::super::spawn::{ChildProcess, SpawnRequest, spawn};
use super::{KillShared, group_alive, signal_group};
use nix::sys::signal::Signal;
use std::os::unix::process::CommandExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A leader started as a step's is (`sleep SECS`, nothing watching it), the kill
/// state its attempt would hold, and a member of its group that outlives it (our own
/// child, so that it is reaped here, not left to init).
fn leader_and_member(secs: &str) -> (ChildProcess, Arc<KillShared>, std::process::Child) {
    let dir = std::env::temp_dir();
    let req = SpawnRequest {
        program: "sleep".as_ref(),
        argv: vec!["sleep".into(), secs.into()],
        env: vec![],
        withheld: &[],
        dir: &dir,
    };
    let launched = spawn(&req, &mut |_| None).expect("sleep starts");
    let child = launched.child;
    let member = std::process::Command::new("sleep")
        .arg("30")
        .process_group(child.id())
        .spawn()
        .expect("a member joins the leader's group");
    let shared = Arc::new(KillShared {
        pgid: child.id(),
        state: Default::default(),
        notify: Default::default(),
        reap: Some(child.reap_lock()),
    });
    (child, shared, member)
}

/// Another thread sending SIGCONT (harmless) to the group again and again until
/// `stop`; it returns how often a signal was sent although `reaped` was already set
/// when the call began (each one a signal to a group whose leader was reaped).
fn hammer(
    shared: Arc<KillShared>,
    reaped: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(usize, usize)> {
    std::thread::spawn(move || {
        let (mut calls, mut late) = (0, 0);
        while !stop.load(Ordering::SeqCst) {
            let after = reaped.load(Ordering::SeqCst);
            let sent = shared.signal_unreaped(Signal::SIGCONT);
            calls += 1;
            if after && matches!(sent, Ok(true)) {
                late += 1;
            }
        }
        (calls, late)
    })
}

fn end(member: &mut std::process::Child, pgid: i32) {
    let _ = signal_group(pgid, Signal::SIGKILL);
    let _ = member.kill();
    let _ = member.wait();
}

/// Once the leader of group `pgid` is reaped (say so before calling): no signal goes
/// through `shared` although the group, its member alive, still takes a plain one;
/// then the racer stops, the member goes, and none of the racer's signals came after
/// the reap.
fn none_after_the_reap(
    (shared, pgid, member): (&KillShared, i32, &mut std::process::Child),
    (reaped, stop): (&AtomicBool, &AtomicBool),
    racer: std::thread::JoinHandle<(usize, usize)>,
) {
    reaped.store(true, Ordering::SeqCst);
    assert!(group_alive(pgid));
    assert_eq!(shared.signal_unreaped(Signal::SIGCONT).ok(), Some(false));
    // Not for want of a group: a plain signal still reaches its member.
    assert_eq!(signal_group(pgid, Signal::SIGCONT).ok(), Some(true));
    stop.store(true, Ordering::SeqCst);
    let (calls, late) = racer.join().expect("the racer ends");
    end(member, pgid);
    assert!(calls > 0);
    assert_eq!(late, 0, "{late} of {calls} signals after the reap");
}

#[tokio::test]
async fn a_kill_racing_the_reap_never_signals_the_group_of_a_reaped_leader() {
    for _ in 0..5 {
        let (mut child, shared, mut member) = leader_and_member("0.2");
        let pgid = child.id();
        let (reaped, stop) = (Arc::<AtomicBool>::default(), Arc::<AtomicBool>::default());
        let racer = hammer(shared.clone(), Arc::clone(&reaped), stop.clone());
        let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
        reaped.store(true, Ordering::SeqCst);
        assert!(status.expect("reaped in time").expect("reaped").success());
        // The member lives on: a signal sent now would reach it.
        none_after_the_reap((&shared, pgid, &mut member), (&reaped, &stop), racer);
    }
}

#[test]
fn a_child_dropped_unwaited_is_reaped_under_its_lock_and_its_group_no_longer_signalled() {
    let (child, shared, mut member) = leader_and_member("0.2");
    let (pid, reap) = (child.id(), child.reap_lock());
    let (reaped, stop) = (Arc::default(), Arc::<AtomicBool>::default());
    let racer = hammer(shared.clone(), Arc::clone(&reaped), stop.clone());
    // An aborted wait: its `baton-reap` thread reaps it when it ends.
    drop(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while reap.hold().is_none() {
        assert!(Instant::now() < deadline, "{pid} never reaped");
        std::thread::sleep(Duration::from_millis(10));
    }
    reaped.store(true, Ordering::SeqCst);
    // SAFETY: waitpid on a pid with WNOHANG, the status into a local.
    let mut raw = 0;
    assert_eq!(
        unsafe { libc::waitpid(pid, &mut raw, libc::WNOHANG) },
        -1,
        "reaped"
    );
    none_after_the_reap((&shared, pid, &mut member), (&reaped, &stop), racer);
}
