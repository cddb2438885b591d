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

/// How many connections can be open at once here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fit {
    /// The connections to allow at once: the number asked for, or what fits.
    pub concurrency: usize,
    /// The soft limit on open files (after raising it to the hard limit).
    pub limit: u64,
    /// Descriptors already open (stdio, the runtime's own).
    pub open: u64,
}

/// Descriptors kept free for the runtime, resolution, stdio and a
/// listener's sockets.
const SPARE_DESCRIPTORS: u64 = 16;

/// The descriptors left under the limit once `held` more are open beside
/// those open now and the spare: what a server may use past its
/// connections' own (relay's pipes).
pub(crate) fn spare_descriptors(held: u64) -> u64 {
    let limit = raise_descriptor_limit().unwrap_or(u64::MAX);
    limit.saturating_sub(open_descriptors() + SPARE_DESCRIPTORS + held)
}

/// Raise the soft file-descriptor limit to the hard one and cap `wanted`
/// connections of `per` descriptors each (a relayed connection holds two)
/// to what fits under it, with `reserved` more kept free (what the caller
/// opens later, beside the spare). `Err` (the limit) when not even one fits.
pub(crate) fn fit(wanted: usize, per: u64, reserved: u64) -> Result<Fit, u64> {
    let limit = raise_descriptor_limit().unwrap_or(u64::MAX);
    let open = open_descriptors() + reserved;
    let room = limit.saturating_sub(open + SPARE_DESCRIPTORS) / per.max(1);
    if room == 0 {
        return Err(limit);
    }
    Ok(Fit {
        concurrency: wanted.min(usize::try_from(room).unwrap_or(usize::MAX)),
        limit,
        open,
    })
}
