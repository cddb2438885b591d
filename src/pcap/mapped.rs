//! A legacy pcap file's records read where the file's pages are: mapped a
//! window at a time, so the bytes are not copied through read(2) (the
//! kernel's copy was a tenth of the CPU time of `pcap --summary`) and the
//! resident memory stays that of one window (each is unmapped once read).
//!
//! A file can be cut shorter while it is mapped (a rotation, `truncate`):
//! touching a page past its new end raises SIGBUS, which would kill the
//! process. Each window's size is taken from the file as it is when the
//! window is mapped, and while a window is read a SIGBUS handler maps a
//! page of zeros over a page of it that went away and notes the cut; the
//! read fails at the next record, loudly. (The bytes past the new end in
//! its last page, and the frame being decoded when the cut lands, read as
//! zeros before that.)

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use super::reader::{Frame, Next, Parsed, ReadStats, Records, Step};

/// Bytes mapped at a time: the read(2) path's chunk, so the resident
/// memory is the same.
const WINDOW: u64 = 4 << 20;

thread_local! {
    /// The window this thread reads (start and end addresses; 0, 0 when
    /// none), and whether a page of it went away. Read by the SIGBUS
    /// handler: const-initialised `Cell`s of integers, which a signal
    /// handler can use.
    static WINDOW_AT: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    static CUT: Cell<bool> = const { Cell::new(false) };
}

/// Read `file`'s records from `offset` in mapped windows. `None` when the
/// file can't be mapped (not a regular file, or the map fails): the
/// caller reads it.
pub(super) fn read(
    file: &File,
    mut offset: u64,
    records: &Records,
    stats: &mut ReadStats,
    on_frame: &mut impl FnMut(Frame<'_>, &ReadStats) -> Next,
) -> Option<io::Result<Step>> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || !guard_installed() {
        return None;
    }
    let mut first = true;
    loop {
        // The file as it is now: a file cut shorter is not mapped past its
        // end, and one that grew is read on.
        let size = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => return Some(Err(e)),
        };
        if offset >= size {
            return Some(Ok(Step::Stop(offset)));
        }
        let len = (size - offset).min(WINDOW);
        // SAFETY: the map is only read, and only inside `guarded`, where a
        // page that goes away (the file cut shorter meanwhile) reads as
        // zeros and is noted, instead of raising SIGBUS; no reference into
        // it outlives this loop's turn (frames are lent to `on_frame`).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len as usize)
                .map(file)
        };
        let map = match map {
            Ok(map) => map,
            // Not mappable (a file system without mmap): read it instead,
            // if nothing was read yet.
            Err(_) if first => return None,
            Err(e) => return Some(Err(e)),
        };
        first = false;
        let _ = map.advise(memmap2::Advice::Sequential);
        let mut at = 0;
        let parsed = guarded(&map, || {
            records.parse_from(&map, offset, &mut at, stats, on_frame, intact)
        });
        offset += at as u64;
        if CUT.with(Cell::get) {
            return Some(Ok(Step::Cut(offset)));
        }
        match parsed {
            Parsed::Stopped => return Some(Ok(Step::Stopped)),
            Parsed::HandOff => return Some(Ok(Step::Stop(offset))),
            // A record longer than a window, or one cut by the file's end:
            // the streaming reader's. Otherwise the next window starts
            // with the record this one cut.
            Parsed::More if at == 0 => return Some(Ok(Step::Stop(offset))),
            Parsed::More => {}
        }
    }
}

/// Whether no page of the window went away so far. A record's header
/// was read to parse it; its data is read when its frame is decoded, so a
/// cut that lands there is seen at the next record.
fn intact() -> bool {
    !CUT.with(Cell::get)
}

/// Run `read` with `map` as this thread's guarded window.
fn guarded<T>(map: &[u8], read: impl FnOnce() -> T) -> T {
    let start = map.as_ptr() as usize;
    CUT.with(|c| c.set(false));
    WINDOW_AT.with(|w| w.set((start, start + map.len())));
    let result = read();
    WINDOW_AT.with(|w| w.set((0, 0)));
    result
}

static INSTALL: Once = Once::new();
/// The page size, once the handler is installed (0 before, or when it
/// could not be).
static PAGE: AtomicUsize = AtomicUsize::new(0);

/// Install the SIGBUS handler, once; false if it could not be.
fn guard_installed() -> bool {
    INSTALL.call_once(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page <= 0 {
            return;
        }
        // SAFETY: a zeroed sigaction is valid; the handler only makes
        // async-signal-safe calls (mmap, sigaction) and reads and writes
        // const-initialised thread-locals.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) == 0 {
                PAGE.store(page as usize, Ordering::Relaxed);
            }
        }
    });
    PAGE.load(Ordering::Relaxed) > 0
}

/// SIGBUS: a page of the window being read went away (the file was cut
/// shorter). Put a page of zeros in its place, note the cut, and return:
/// the read goes on and sees the note. A SIGBUS anywhere else gets the
/// default action back and, when the access is retried, kills the process
/// as before.
extern "C" fn on_sigbus(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO; the
    // page mapped over is inside this thread's window, whose map is only
    // read (and unmapped whole once read).
    unsafe {
        let addr = (*info).si_addr() as usize;
        let (start, end) = WINDOW_AT.with(Cell::get);
        let size = PAGE.load(Ordering::Relaxed);
        if size > 0 && (start..end).contains(&addr) {
            let page = addr & !(size - 1);
            let zeros = libc::mmap(
                page as *mut libc::c_void,
                size,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            );
            if zeros != libc::MAP_FAILED {
                CUT.with(|c| c.set(true));
                return;
            }
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}
