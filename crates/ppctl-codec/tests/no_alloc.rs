//! Decoding allocates nothing: a counting global allocator checks v1 and v2
//! headers (with and without TLVs, valid and invalid).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only the measuring thread counts: the test harness's own threads
    /// allocate whenever they like (a report, a "running for over 60 s"
    /// timer), which made the count flaky under load.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.try_with(Cell::get).unwrap_or(false) {
            ALLOCS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn decoding_does_not_allocate() {
    let inputs: Vec<Vec<u8>> = vec![
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".to_vec(),
        b"PROXY TCP6 2001:DB8::1 2001:db8::2 51234 443\r\n".to_vec(),
        b"PROXY UNKNOWN\r\n".to_vec(),
        b"PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        hex::decode("0d0a0d0a000d0a515549540a2111000cc0a80001c0a8000bdc0401bb").unwrap(),
        hex::decode("0d0a0d0a000d0a515549540a21110032c0a80001c0a8000bdc0401bb010002683202000b6578616d706c652e636f6d05001000112233445566778899aabbccddeeff").unwrap(),
        hex::decode("0d0a0d0a000d0a515549540a21110013c0a80001c0a8000bdc0401bb0300041c1ae9c7").unwrap(),
    ];
    // Warm up anything lazily initialised (CPU feature detection in crc32c).
    for i in &inputs {
        let _ = ppctl_codec::decode(i);
    }
    let before = ALLOCS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    for i in &inputs {
        let d = ppctl_codec::decode(i);
        std::hint::black_box(&d);
        if let ppctl_codec::Decoded::Complete(h) = d {
            std::hint::black_box(h.tlvs().count());
        }
    }
    COUNTING.with(|c| c.set(false));
    let after = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(
        after - before,
        0,
        "decoding allocated {} time(s)",
        after - before
    );
}
