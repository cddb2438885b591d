//! Known receivers' results, as data: the tests each one does not pass
//! (fail or warn) in docs/conformance.md. A run is "like" the receiver
//! whose misses it shares most, which tells which parser family an
//! unknown receiver behaves like (a go-proxyproto server looks like
//! Caddy). The unit test below holds these lists to the committed table.

use super::{Outcome, Status};

/// A known receiver and the tests it misses.
#[derive(Debug)]
pub(crate) struct Profile {
    pub name: &'static str,
    pub misses: &'static [&'static str],
}

const SPLITS: [&str; 4] = [
    "v1/split-every-offset",
    "v2/split-every-offset",
    "v1/split-bytewise",
    "v2/split-bytewise",
];

pub(crate) static PROFILES: &[Profile] = &[
    Profile {
        name: "nginx",
        misses: &[
            SPLITS[0],
            SPLITS[1],
            SPLITS[2],
            SPLITS[3],
            "v1/line-108",
            "v2/crc32c-wrong",
            "v1/port-leading-zero",
            "v1/ipv4-leading-zero",
            "v1/ipv4-octet-256",
            "v1/tcp4-ipv6",
            "v1/tcp6-ipv4",
            "v2/command-2",
            "v2/command-f",
            "v2/family-4",
            "v2/transport-3",
            "v2/tlv-overrun",
        ],
    },
    Profile {
        name: "HAProxy",
        misses: &[
            SPLITS[0],
            SPLITS[1],
            SPLITS[2],
            SPLITS[3],
            "v1/unknown-107",
            "v1/unknown-fields",
            "v1/port-65536",
            "v1/port-leading-zero",
            "v1/ipv4-leading-zero",
            "v1/ipv4-octet-256",
            "trust/untrusted-source",
        ],
    },
    Profile {
        name: "Caddy",
        misses: &[
            SPLITS[0],
            SPLITS[2],
            "v2/crc32c-wrong",
            "v2/tlv-overrun",
            "trust/no-header",
            "deadline/trickle",
            "deadline/silent",
        ],
    },
    Profile {
        name: "Postfix",
        misses: &[
            SPLITS[0],
            SPLITS[1],
            SPLITS[2],
            SPLITS[3],
            "v1/unknown-107",
            "v1/unknown",
            "v1/unknown-fields",
            "v2/crc32c-wrong",
            "v1/bare-lf",
            "v1/ipv4-leading-zero",
            "v1/double-space",
            "v2/tlv-overrun",
        ],
    },
    Profile {
        name: "Dovecot",
        misses: &[
            SPLITS[0],
            SPLITS[1],
            SPLITS[2],
            SPLITS[3],
            "v1/line-108",
            "v2/crc32c-wrong",
            "v1/port-leading-zero",
            "v1/ipv4-leading-zero",
        ],
    },
    Profile {
        name: "MariaDB",
        misses: &[
            SPLITS[1],
            SPLITS[3],
            "v2/crc32c-wrong",
            "v2/tlv-largest",
            "v1/bare-lf",
            "v1/port-leading-zero",
            "v1/port-plus-sign",
            "v1/double-space",
            "v2/tlv-overrun",
            "v1/stacked",
            "v2/stacked",
            "trust/no-header",
            "deadline/trickle",
        ],
    },
];

/// Least share of misses in common for a run to be called like one.
const LIKE: f64 = 0.6;

/// The known receiver a run behaves like, if one is close enough: the
/// most misses in common (Jaccard), over the tests this run graded. A run
/// that misses nothing is like none of them.
pub(crate) fn like(outcomes: &[Outcome]) -> Option<&'static str> {
    let graded = |id: &str| {
        outcomes
            .iter()
            .any(|o| o.test.id == id && o.status != Status::Skip)
    };
    let missed: Vec<&str> = outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Fail | Status::Warn))
        .map(|o| o.test.id)
        .collect();
    if missed.is_empty() {
        return None;
    }
    let score = |p: &Profile| {
        let theirs: Vec<&str> = p.misses.iter().copied().filter(|id| graded(id)).collect();
        let both = missed.iter().filter(|id| theirs.contains(id)).count();
        let either = missed.len() + theirs.len() - both;
        both as f64 / either.max(1) as f64
    };
    PROFILES
        .iter()
        .map(|p| (p.name, score(p)))
        .filter(|(_, s)| *s >= LIKE)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each profile is the committed table's column: its warn and fail
    /// cells, no more, no less.
    #[test]
    fn profiles_are_docs_conformance_md() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/conformance.md");
        let doc = std::fs::read_to_string(path).expect("docs/conformance.md");
        let mut lines = doc.lines().filter(|l| l.starts_with("| "));
        let header: Vec<&str> = lines
            .next()
            .expect("a header row")
            .split('|')
            .map(str::trim)
            .collect();
        for p in PROFILES {
            let col = header
                .iter()
                .position(|h| h.starts_with(p.name))
                .unwrap_or_else(|| panic!("no column for {}", p.name));
            let mut misses: Vec<&str> = doc
                .lines()
                .filter(|l| l.starts_with("| `"))
                .filter_map(|l| {
                    let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                    let cell = cells.get(col)?;
                    (cell.contains("fail") || cell.contains("warn"))
                        .then(|| cells[1].trim_matches('`'))
                })
                .collect();
            let mut want: Vec<&str> = p.misses.to_vec();
            misses.sort_unstable();
            want.sort_unstable();
            assert_eq!(
                misses, want,
                "{}: update PROFILES from docs/conformance.md",
                p.name
            );
        }
    }
}
