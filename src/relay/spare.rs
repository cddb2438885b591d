//! The small copy buffers of ended connections, kept for the next ones on
//! the same thread. Each relayed connection needs one or two (its first
//! write upstream, the answer's first read); at 4 KiB they are too big for
//! malloc's per-thread cache, and each cost a trip through its bins (with a
//! consolidation of its fast bins) to take and another to give back
//! (docs/performance.md, relay's seventh pass). An idle connection holds
//! none: a buffer is taken when bytes are there to read, as before.

use std::cell::RefCell;

/// The size of every buffer kept: a first read ([`super::conn`]'s 4 KiB
/// chunk) and room for the header and the bytes that came with it.
pub(super) const SIZE: usize = 4 * 1024 + 512;

/// Buffers kept per thread at most (about 300 KiB): enough for the
/// connections that end while others start at a busy relay's pace; past
/// it, a buffer given back is freed.
const KEPT: usize = 64;

thread_local! {
    static KEPT_BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer of [`SIZE`] bytes' capacity (or more, once grown) that
/// goes back to its thread's spares when dropped, if it has [`SIZE`] still.
pub(super) struct Spare(pub Vec<u8>);

impl Spare {
    /// A kept buffer, or a new one.
    pub(super) fn take() -> Spare {
        let kept = KEPT_BUFFERS
            .try_with(|k| k.borrow_mut().pop())
            .ok()
            .flatten();
        Spare(kept.unwrap_or_else(|| Vec::with_capacity(SIZE)))
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        // A grown buffer (a bulk transfer's) is freed: only small ones are
        // kept, so what is kept stays small.
        if self.0.capacity() != SIZE {
            return;
        }
        let mut buf = std::mem::take(&mut self.0);
        buf.clear();
        // Not after the thread's spares are gone (its end).
        let _ = KEPT_BUFFERS.try_with(|k| {
            let mut k = k.borrow_mut();
            if k.len() < KEPT {
                k.push(buf);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_and_a_grown_one_is_not() {
        let first = Spare::take();
        let at = first.0.as_ptr();
        assert_eq!(first.0.capacity(), SIZE);
        drop(first);
        let mut again = Spare::take();
        assert_eq!(again.0.as_ptr(), at);
        assert!(again.0.is_empty());
        again.0.reserve(SIZE + 1);
        drop(again);
        let fresh = Spare::take();
        assert_eq!(fresh.0.capacity(), SIZE);
        assert!(fresh.0.is_empty());
    }
}
