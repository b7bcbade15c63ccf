//! What the driver's loop waits on, each a future that never ends when there is
//! nothing to wait for, and the instant a wall-clock time arrives.
use super::*;

pub(super) async fn recv_command(
    rx: &mut Option<mpsc::Receiver<CommandRequest>>,
) -> Option<CommandRequest> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

pub(super) async fn woken(wake: &Option<baton_store::wake::WakeListener>) {
    match wake {
        Some(w) => w.woken().await,
        None => std::future::pending().await,
    }
}

pub(super) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The monotonic instant at which wall-clock `t` arrives.
pub(super) fn instant_at(t: Timestamp) -> Instant {
    let wait = t.since(Timestamp::now());
    Instant::now() + wait
}

/// A future polled only once its waker has fired since it was last polled (and on
/// its first poll). `tokio::select!` polls every branch each time it is polled
/// (about four times a step), and the shutdown future polls three signal streams
/// each time: 4 k instructions a step for a signal that almost never comes.
pub(super) struct OnWake<F> {
    inner: std::pin::Pin<Box<F>>,
    flag: Arc<Woken>,
    /// The waker the inner future is given: it sets the flag, then wakes the loop.
    waker: std::task::Waker,
}

/// Whether the inner future's waker fired, and the loop's waker to pass it on to.
#[derive(Default)]
struct Woken {
    fired: std::sync::atomic::AtomicBool,
    outer: std::sync::Mutex<Option<std::task::Waker>>,
}

impl std::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, std::sync::atomic::Ordering::Release);
        let outer = self.outer.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = outer.as_ref() {
            w.wake_by_ref();
        }
    }
}

impl<F: Future> OnWake<F> {
    pub(super) fn new(inner: F) -> OnWake<F> {
        let flag = Arc::new(Woken::default());
        // Polled the first time: that is when it registers what wakes it.
        flag.fired.store(true, std::sync::atomic::Ordering::Release);
        OnWake {
            inner: Box::pin(inner),
            waker: std::task::Waker::from(Arc::clone(&flag)),
            flag,
        }
    }
}

impl<F: Future> Future for OnWake<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.get_mut();
        {
            let mut outer = this.flag.outer.lock().unwrap_or_else(|p| p.into_inner());
            if !outer.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *outer = Some(cx.waker().clone());
            }
        }
        // Taken before the poll: a wake during it polls again next time.
        if !this
            .flag
            .fired
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return std::task::Poll::Pending;
        }
        let mut inner_cx = std::task::Context::from_waker(&this.waker);
        this.inner.as_mut().poll(&mut inner_cx)
    }
}

#[cfg(test)]
mod tests {
    use super::OnWake;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Wake, Waker};

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_inner_future_is_polled_first_and_then_only_after_its_waker_fired() {
        let polls = Arc::new(AtomicUsize::new(0));
        let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (p, k) = (Arc::clone(&polls), Arc::clone(&kept));
        let mut ready = false;
        let inner = std::future::poll_fn(move |cx| {
            p.fetch_add(1, Ordering::SeqCst);
            *k.lock().unwrap() = Some(cx.waker().clone());
            if ready {
                Poll::Ready(7)
            } else {
                ready = true;
                Poll::Pending
            }
        });
        let mut on_wake = OnWake::new(inner);
        let outer = Arc::new(Count::default());
        let waker = Waker::from(Arc::clone(&outer));
        let mut cx = Context::from_waker(&waker);
        let mut poll = || std::pin::Pin::new(&mut on_wake).poll(&mut cx);
        assert!(poll().is_pending());
        assert!(poll().is_pending());
        assert!(poll().is_pending());
        assert_eq!(polls.load(Ordering::SeqCst), 1, "not polled again unwoken");
        let inner_waker = kept.lock().unwrap().take().unwrap();
        inner_waker.wake();
        assert_eq!(outer.0.load(Ordering::SeqCst), 1, "the loop is woken");
        assert_eq!(poll(), Poll::Ready(7));
        assert_eq!(polls.load(Ordering::SeqCst), 2);
    }
}
