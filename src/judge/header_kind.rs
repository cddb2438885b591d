//! Which header a connection carried, as four kinds: what probe's attempts
//! send and what the servers' metrics count, one vocabulary for both (the
//! `header` label of `ppctl_probe_attempt_*` and `ppctl_server_*`).

/// No header, v1, v2 PROXY, or v2 LOCAL (the health-check form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderKind {
    None,
    V1,
    V2,
    /// A v2 LOCAL header (a health check).
    V2Local,
}

impl HeaderKind {
    pub(crate) const ALL: [HeaderKind; 4] = [
        HeaderKind::None,
        HeaderKind::V1,
        HeaderKind::V2,
        HeaderKind::V2Local,
    ];

    /// As the `header` label and the JSON say it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            HeaderKind::None => "none",
            HeaderKind::V1 => "v1",
            HeaderKind::V2 => "v2",
            HeaderKind::V2Local => "v2-local",
        }
    }
}
