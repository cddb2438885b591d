//! The process's file-descriptor budget: every connection is one
//! descriptor, so a load run must fit under `RLIMIT_NOFILE`.

use std::io;

/// Raise the soft limit on open files to the hard limit (what `ulimit -n`
/// may be raised to without privileges) and return the soft limit now in
/// force.
pub(crate) fn raise_descriptor_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    // rlim_t is u64 on Linux, narrower elsewhere.
    #[allow(clippy::useless_conversion)]
    Ok(u64::from(lim.rlim_cur))
}

/// How many descriptors the process has open now (from /proc/self/fd;
/// a guess of 16 where that can't be read).
pub(crate) fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(16)
}
