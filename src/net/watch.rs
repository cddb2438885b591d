//! What an engine that can run for long (send's load mode, conform, repro
//! --target, check --probe) tells as it goes, and the request to stop early
//! (the user's Ctrl-C). The engine calls [`Watch::tell`] with each step's
//! typed result (the command draws a progress bar from it), checks
//! [`Interrupt::requested`] between steps and races [`Interrupt::wait`]
//! against its waits, then returns what it measured so far, marked as
//! interrupted; the command prints it and exits 130. Only the command layer
//! raises the interrupt (on SIGINT).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

/// Shared by every task of a run; cloning is cheap.
#[derive(Debug, Clone)]
pub(crate) struct Interrupt {
    shared: Arc<Raised>,
}

/// The request, twice: a flag for the loops that look between steps (pcap
/// looks once per frame: one atomic load, not the channel's lock), and a
/// channel for the tasks that wait on it.
#[derive(Debug)]
struct Raised {
    flag: AtomicBool,
    channel: watch::Sender<bool>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt::new()
    }
}

impl Interrupt {
    /// Not raised (and never, unless [`Interrupt::raise`] is called).
    pub(crate) fn new() -> Self {
        Interrupt {
            shared: Arc::new(Raised {
                flag: AtomicBool::new(false),
                channel: watch::channel(false).0,
            }),
        }
    }

    /// Ask every holder to stop.
    pub(crate) fn raise(&self) {
        self.shared.flag.store(true, Ordering::Release);
        self.shared.channel.send_replace(true);
    }

    /// Whether a stop was asked for.
    pub(crate) fn requested(&self) -> bool {
        self.shared.flag.load(Ordering::Acquire)
    }

    /// Resolves once a stop is asked for (never, if it is not).
    pub(crate) async fn wait(&self) {
        let mut rx = self.shared.channel.subscribe();
        if rx.wait_for(|raised| *raised).await.is_err() {
            // The sender lives as long as `self`: unreachable, but never
            // resolve on it.
            std::future::pending::<()>().await;
        }
    }
}

/// Who hears of each step (a `T`), from whichever task made it.
pub(crate) type OnStep<T> = Arc<dyn Fn(&T) + Send + Sync>;

/// A run's watcher: who hears of each step, and the interrupt.
pub(crate) struct Watch<T: ?Sized> {
    pub on_step: Option<OnStep<T>>,
    pub interrupt: Interrupt,
}

impl<T: ?Sized> Watch<T> {
    /// Tell of one step.
    pub(crate) fn tell(&self, step: &T) {
        if let Some(on_step) = &self.on_step {
            on_step(step);
        }
    }
}

impl<T: ?Sized> Default for Watch<T> {
    /// Nobody hears, nothing interrupts.
    fn default() -> Self {
        Watch {
            on_step: None,
            interrupt: Interrupt::new(),
        }
    }
}

impl<T: ?Sized> Clone for Watch<T> {
    fn clone(&self) -> Self {
        Watch {
            on_step: self.on_step.clone(),
            interrupt: self.interrupt.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_once_seen_by_every_clone_and_every_waiter() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        let i = Interrupt::new();
        let other = i.clone();
        assert!(!other.requested());
        rt.block_on(async {
            let waiter = tokio::spawn({
                let i = i.clone();
                async move { i.wait().await }
            });
            tokio::task::yield_now().await;
            other.raise();
            tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
                .await
                .expect("the waiter wakes")
                .expect("joined");
            // A waiter that comes after the raise returns at once.
            i.wait().await;
        });
        assert!(i.requested());
    }
}
