//! When each relayed connection must end, in one table for the whole relay,
//! watched by one sweeper task: in place of a timer and a wait on the stop
//! flag per connection, each of which is a registration of its own under a
//! lock, made and undone for every connection (about 1,900 user
//! instructions a connection together, docs/performance.md, relay's
//! seventh pass). A connection's [`Slot`] says when its bound falls due;
//! the sweeper wakes it then (or at once when the server stops), and the
//! connection looks again: bytes that moved in the meantime push its bound
//! further, as the timer it replaces was moved on.

use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tokio::sync::{watch, Notify};

use crate::server::signalled;

/// The table of every connection's due time, and the sweeper's signal.
#[derive(Default)]
pub(crate) struct Cutoffs {
    table: Mutex<Table>,
    /// Told when a connection falls due before the sweeper's next look.
    earlier: Notify,
}

#[derive(Default)]
struct Table {
    /// Connections waiting for their bound, by slot.
    entries: Vec<Option<Entry>>,
    /// Slots free for the next connection.
    free: Vec<usize>,
    /// When the sweeper looks next (`None`: only when told).
    next: Option<Instant>,
    /// The server stopped: every connection ends now.
    stopped: bool,
}

struct Entry {
    /// `None` once woken for it, until the connection says its next.
    due: Option<Instant>,
    waker: Waker,
}

/// Why a connection's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The time it gave came.
    Due,
    /// The server stopped (the drain is over).
    Stopped,
}

impl Cutoffs {
    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic elsewhere leaves the table as it was: use it.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection's place in the table (taken at its first wait, given
    /// back when dropped).
    pub(crate) fn slot(&self) -> Slot<'_> {
        Slot {
            cutoffs: self,
            at: None,
        }
    }

    /// Wake each connection whose time has come, and every one once the
    /// server stops (`stop` set, or its sender gone). Runs for as long as
    /// the relay serves.
    pub(crate) async fn sweep(&self, mut stop: watch::Receiver<bool>) {
        loop {
            let next = self.wake_due(Instant::now());
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = signalled(&mut stop) => break,
                _ = self.earlier.notified() => {}
                _ = sleep => {}
            }
        }
        let mut table = self.lock();
        table.stopped = true;
        for e in table.entries.iter().flatten() {
            e.waker.wake_by_ref();
        }
    }

    /// Wake the connections due by `now`; the earliest due time left.
    fn wake_due(&self, now: Instant) -> Option<Instant> {
        let mut table = self.lock();
        let mut next: Option<Instant> = None;
        for e in table.entries.iter_mut().flatten() {
            match e.due {
                Some(due) if due <= now => {
                    e.due = None;
                    e.waker.wake_by_ref();
                }
                Some(due) => next = Some(next.map_or(due, |n| n.min(due))),
                None => {}
            }
        }
        table.next = next;
        next
    }
}

/// One connection's entry in [`Cutoffs`].
pub(crate) struct Slot<'a> {
    cutoffs: &'a Cutoffs,
    at: Option<usize>,
}

impl Slot<'_> {
    /// Ready once `due` has come or the server stopped; until then the
    /// sweeper wakes this task at `due` (poll again with the next due time:
    /// it may have moved on).
    pub(crate) fn poll_due(&mut self, cx: &mut Context<'_>, due: Instant) -> Poll<Cut> {
        if Instant::now() >= due {
            return Poll::Ready(Cut::Due);
        }
        let mut table = self.cutoffs.lock();
        if table.stopped {
            return Poll::Ready(Cut::Stopped);
        }
        match self
            .at
            .and_then(|i| table.entries.get_mut(i))
            .and_then(Option::as_mut)
        {
            Some(e) => {
                e.due = Some(due);
                if !e.waker.will_wake(cx.waker()) {
                    e.waker = cx.waker().clone();
                }
            }
            None => {
                let entry = Entry {
                    due: Some(due),
                    waker: cx.waker().clone(),
                };
                let i = match table.free.pop() {
                    Some(i) => {
                        table.entries[i] = Some(entry);
                        i
                    }
                    None => {
                        table.entries.push(Some(entry));
                        table.entries.len() - 1
                    }
                };
                self.at = Some(i);
            }
        }
        let earlier = table.next.is_none_or(|next| due < next);
        if earlier {
            table.next = Some(due);
        }
        drop(table);
        if earlier {
            self.cutoffs.earlier.notify_one();
        }
        Poll::Pending
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(i) = self.at {
            let mut table = self.cutoffs.lock();
            if let Some(e) = table.entries.get_mut(i) {
                *e = None;
                table.free.push(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_connection_is_woken_when_due_and_when_the_server_stops() {
        runtime().block_on(async {
            let cutoffs = std::sync::Arc::new(Cutoffs::default());
            let (stop_tx, stop) = watch::channel(false);
            let sweeper = {
                let c = cutoffs.clone();
                tokio::spawn(async move { c.sweep(stop).await })
            };
            let started = Instant::now();
            let due = started + Duration::from_millis(50);
            let mut slot = cutoffs.slot();
            let cut = std::future::poll_fn(|cx| slot.poll_due(cx, due)).await;
            assert_eq!(cut, Cut::Due);
            assert!(started.elapsed() >= Duration::from_millis(50));
            drop(slot);
            // A later bound, cut short by the stop.
            let mut slot = cutoffs.slot();
            let far = Instant::now() + Duration::from_secs(60);
            let waiting = std::future::poll_fn(|cx| slot.poll_due(cx, far));
            let stopping = async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                stop_tx.send_replace(true);
            };
            let (cut, ()) = tokio::join!(waiting, stopping);
            assert_eq!(cut, Cut::Stopped);
            assert!(started.elapsed() < Duration::from_secs(30));
            drop(slot);
            sweeper.await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(cutoffs.lock().free.len(), 1);
        });
    }
}
