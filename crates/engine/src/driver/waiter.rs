//! A thread of the driver's own whose runtime follows its local attempts (`follow` in
//! `spawn.rs`: the end of the start, the reads of the pipes, the wait for the end, the
//! files read at the end), so that the engine's thread hears of each attempt only
//! its two messages (`Msg::Started`, `Msg::Exited`) on its inbox (issue 79 point 2).
//!
//! Only a driver on a runtime of one thread has one (`baton run`, a console's
//! engine): on `baton serve`'s runtime the attempts' tasks already run beside the
//! loop, on its workers. The thread's runtime lives as long as the driver: dropped
//! with it, on the thread, it drops the tasks still there (an attempt not ended
//! then is killed, `exec::local::shell::Running`'s drop), as the engine's own
//! runtime dropped them when they ran there.
use std::future::Future;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::oneshot;

/// The thread and what stops it.
pub(super) struct Waiter {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Waiter {
    /// A waiter for a driver on the current runtime: `None` when that runtime has
    /// threads of its own for tasks, or the thread cannot be made (its attempts are
    /// then followed on the driver's runtime, as without it).
    pub(super) fn start() -> Option<Waiter> {
        let on_one_thread = Handle::try_current()
            .is_ok_and(|h| matches!(h.runtime_flavor(), RuntimeFlavor::CurrentThread));
        if !on_one_thread {
            return None;
        }
        let (tell, told) = std::sync::mpsc::sync_channel(1);
        let (stop, stopped) = oneshot::channel::<()>();
        // The runtime is made, and dropped, on the thread: never inside the driver's.
        let thread = std::thread::Builder::new()
            .name("baton-wait".into())
            .spawn(move || {
                let built = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let Ok(rt) = built else {
                    let _ = tell.send(None);
                    return;
                };
                let _ = tell.send(Some(rt.handle().clone()));
                rt.block_on(async {
                    let _ = stopped.await;
                });
                // Out of any runtime: its tasks are dropped here, on this thread.
                drop(rt);
            })
            .ok()?;
        let Ok(Some(handle)) = told.recv() else {
            let _ = thread.join();
            return None;
        };
        Some(Waiter {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Run `task` on the waiter's thread.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        drop(self.handle.spawn(task));
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Its tasks are gone when the driver is: nothing it followed outlives it.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Waiter;

    /// Says when it is dropped.
    struct Dropped(std::sync::mpsc::Sender<()>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    #[tokio::test]
    async fn its_tasks_run_on_its_thread_and_go_with_it() {
        let waiter = Waiter::start().expect("a waiter beside a runtime of one thread");
        let (tx, rx) = tokio::sync::oneshot::channel();
        waiter.spawn(async move {
            let _ = tx.send(std::thread::current().name().map(str::to_string));
        });
        assert_eq!(rx.await.unwrap().as_deref(), Some("baton-wait"));
        // A task still pending when the waiter goes is dropped before it is gone.
        let (dropped_tx, dropped) = std::sync::mpsc::channel();
        let guard = Dropped(dropped_tx);
        waiter.spawn(async move {
            let _held = guard;
            std::future::pending::<()>().await;
        });
        drop(waiter);
        assert_eq!(dropped.try_recv(), Ok(()));
    }

    #[test]
    fn a_runtime_with_workers_has_no_waiter() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert!(rt.block_on(async { Waiter::start() }).is_none());
    }
}
