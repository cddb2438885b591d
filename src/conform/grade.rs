//! From what the receiver did to pass, fail, warn or skip. A test's level
//! decides how much a miss weighs: a MUST missed fails, a SHOULD or a
//! common practice missed warns. Taking an address the header had no
//! right to set weighs the same way.

use std::net::IpAddr;

use super::suite::{Expect, Otherwise, Reflect, Test, V1_BASELINE, V2_BASELINE};
use super::{Did, Mode, Outcome, Took};
use crate::codec::{Version, SAFE_SEGMENT};

pub(crate) use crate::judge::conformance::Status;

/// Why a test got its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// It did what the test requires.
    AsRequired,
    /// It refused, which the spec allows here.
    RejectAllowed,
    // Skips.
    /// The test is for another `--mode`.
    NotForMode,
    /// A timing test: needs `--slow`.
    NeedsSlow,
    /// Needs `--reflect` (over HTTP).
    NeedsReflect,
    /// Needs `--from`.
    NeedsFrom,
    /// Data before the header can't go in front of a TLS handshake.
    NotUnderTls,
    /// An HTTP request header (X-Forwarded-For): for `--protocol http`.
    HttpOnly,
    /// The receiver takes no header of this version.
    VersionNotTaken(Version),
    /// Served; which address it took needs `--reflect`.
    TookUnknown,
    /// Not run, or not finished: the run was interrupted (Ctrl-C).
    Interrupted,
    // Misses.
    /// Not served.
    NotServed,
    /// Served, but not with the header's address.
    TookOther,
    /// Served with the X-Forwarded-For address instead of the header's.
    TookForwarded,
    /// Served with an address the header had no right to set.
    TookForged,
    /// Served what must be refused.
    Served,
    /// Served a client without a header in optional mode: it guesses.
    Guessing,
    /// Not refused: still open when the wait ran out.
    NotRejectedEarly,
    /// Serves only the other version.
    OtherVersionOnly,
    /// Served a wrong CRC32C: it does not check it.
    CrcNotChecked,
    /// Some cuts of the header were not served.
    SplitRefused,
    /// The largest header served is under 536 bytes.
    Small,
    /// Still open at the end of the bound.
    NoDeadline,
    /// The valid client was not served while the others stalled.
    Starved,
    /// No connection could be made.
    Unreachable,
}

use crate::judge::conformance::miss;

/// The address a test's header claims (to recognise in a reflector's
/// answer).
pub(super) fn claims(expect: Expect) -> Option<IpAddr> {
    match expect {
        Expect::Take(ip) => Some(ip),
        Expect::Socket { forged, .. } | Expect::Reject { forged } => forged,
        _ => None,
    }
}

/// Grade what the receiver did on a test.
pub(super) fn grade(t: &Test, did: &Did, mode: Mode, reflecting: bool) -> (Status, Why) {
    use Status::*;
    let level = t.level;
    if let Did::NotConnected { .. } = did {
        return (Fail, Why::Unreachable);
    }
    match t.expect {
        Expect::Take(_) => match did {
            Did::Served { took, .. } => match took {
                Took::Claimed(_) | Took::Unchecked => (Pass, Why::AsRequired),
                Took::Forwarded(_) => (miss(level), Why::TookForwarded),
                Took::Socket(_) | Took::Other(_) | Took::Unnamed => (miss(level), Why::TookOther),
            },
            Did::Split { refused, .. } if refused.is_empty() => (Pass, Why::AsRequired),
            Did::Split { .. } => (miss(level), Why::SplitRefused),
            _ => (miss(level), Why::NotServed),
        },
        Expect::Socket { rejected, .. } => match did {
            Did::Served { took, .. } => match took {
                Took::Claimed(_) => (miss(level), Why::TookForged),
                Took::Socket(_) | Took::Unnamed => (Pass, Why::AsRequired),
                Took::Other(_) | Took::Forwarded(_) => (Warn, Why::TookOther),
                Took::Unchecked if t.reflect == Reflect::IfServed && !reflecting => {
                    (Skip, Why::TookUnknown)
                }
                Took::Unchecked => (Pass, Why::AsRequired),
            },
            _ => match rejected {
                Otherwise::Pass => (Pass, Why::RejectAllowed),
                Otherwise::Warn => (Warn, Why::NotServed),
                Otherwise::ByLevel => (miss(level), Why::NotServed),
            },
        },
        Expect::Reject { forged } => match did {
            Did::Served {
                took: Took::Claimed(_),
                ..
            } => (miss(level), Why::TookForged),
            Did::Served { .. } if forged.is_none() && mode == Mode::Optional => {
                (miss(level), Why::Guessing)
            }
            Did::Served { .. } => (miss(level), Why::Served),
            Did::Silent { .. } => (Warn, Why::NotRejectedEarly),
            _ => (Pass, Why::AsRequired),
        },
        Expect::RejectIfChecked => match did {
            Did::Served { .. } => (Warn, Why::CrcNotChecked),
            Did::Silent { .. } => (Warn, Why::NotRejectedEarly),
            _ => (Pass, Why::AsRequired),
        },
        Expect::Either => match did {
            Did::Silent { .. } => (miss(level), Why::NotRejectedEarly),
            Did::Served { .. } => (Pass, Why::AsRequired),
            _ => (Pass, Why::RejectAllowed),
        },
        Expect::Plain => match did {
            Did::Served { .. } => (Pass, Why::AsRequired),
            _ => (miss(level), Why::NotServed),
        },
        Expect::Large => match did {
            Did::Largest { taken: Some(n), .. } if *n >= SAFE_SEGMENT => (Pass, Why::AsRequired),
            _ => (miss(level), Why::Small),
        },
        Expect::Deadline => match did {
            Did::Closed { .. } | Did::Reset { .. } | Did::Refused { .. } => (Pass, Why::AsRequired),
            _ => (miss(level), Why::NoDeadline),
        },
        Expect::Serve => match did {
            Did::Stalled { client, .. } if client.served() => (Pass, Why::AsRequired),
            _ => (miss(level), Why::Starved),
        },
    }
}

/// A receiver that serves one version only: its baseline of the other
/// version is a warn (the spec asks v2 receivers to take v1 as well, and a
/// v1-only receiver turns every v2 sender away), not a failed MUST.
pub(super) fn baselines(outcomes: &mut [Outcome]) {
    let served = |id: &str, outcomes: &[Outcome]| {
        outcomes
            .iter()
            .find(|o| o.test.id == id)
            .map(|o| o.status == Status::Pass)
    };
    let (v1, v2) = (served(V1_BASELINE, outcomes), served(V2_BASELINE, outcomes));
    for o in outcomes.iter_mut() {
        let other = match o.test.id {
            V1_BASELINE => v2,
            V2_BASELINE => v1,
            _ => continue,
        };
        if o.status == Status::Fail && o.why == Why::NotServed && other == Some(true) {
            o.status = Status::Warn;
            o.why = Why::OtherVersionOnly;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::conform::suite::SUITE;

    fn test(id: &str) -> &'static Test {
        SUITE.iter().find(|t| t.id == id).expect(id)
    }

    fn served(took: Took) -> Did {
        Did::Served {
            status: Some(200),
            words: None,
            took,
        }
    }

    const CLAIMED: IpAddr = crate::conform::suite::CLAIMED;
    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_valid_header_must_be_served_with_its_address() {
        let g = |did: &Did| grade(test("v1/tcp4"), did, Mode::Require, true);
        assert_eq!(
            g(&served(Took::Claimed(CLAIMED))),
            (Status::Pass, Why::AsRequired)
        );
        assert_eq!(g(&served(Took::Unchecked)), (Status::Pass, Why::AsRequired));
        assert_eq!(
            g(&served(Took::Socket(LOCAL))),
            (Status::Fail, Why::TookOther)
        );
        assert_eq!(
            g(&Did::Closed {
                after: Duration::ZERO
            }),
            (Status::Fail, Why::NotServed)
        );
        // A SHOULD missed is a warn.
        let split = Did::Split {
            refused: vec![3],
            tried: 40,
            first: Box::new(Did::Nothing),
        };
        assert_eq!(
            grade(test("v1/split-every-offset"), &split, Mode::Require, false),
            (Status::Warn, Why::SplitRefused)
        );
    }

    #[test]
    fn a_forged_address_is_never_taken() {
        let local = test("trust/forged-local");
        assert_eq!(
            grade(local, &served(Took::Claimed(CLAIMED)), Mode::Require, true),
            (Status::Fail, Why::TookForged)
        );
        assert_eq!(
            grade(local, &served(Took::Socket(LOCAL)), Mode::Require, true),
            (Status::Pass, Why::AsRequired)
        );
        assert_eq!(
            grade(local, &served(Took::Unchecked), Mode::Require, false),
            (Status::Skip, Why::TookUnknown)
        );
        let unspec = test("v2/proxy-unspec");
        assert_eq!(
            grade(
                unspec,
                &Did::Reset {
                    after: Duration::ZERO
                },
                Mode::Require,
                false
            ),
            (Status::Pass, Why::RejectAllowed)
        );
    }

    #[test]
    fn what_must_be_refused_is_refused_early() {
        let lf = test("v1/bare-lf");
        assert_eq!(
            grade(
                lf,
                &Did::Refused {
                    status: Some(400),
                    words: None
                },
                Mode::Require,
                false
            )
            .0,
            Status::Pass
        );
        assert_eq!(
            grade(
                lf,
                &Did::Silent {
                    after: Duration::ZERO
                },
                Mode::Require,
                false
            ),
            (Status::Warn, Why::NotRejectedEarly)
        );
        assert_eq!(
            grade(lf, &served(Took::Unchecked), Mode::Require, false),
            (Status::Fail, Why::Served)
        );
        let none = test("trust/no-header");
        assert_eq!(
            grade(none, &served(Took::Unchecked), Mode::Optional, false),
            (Status::Fail, Why::Guessing)
        );
        let crc = test("v2/crc32c-wrong");
        assert_eq!(
            grade(crc, &served(Took::Unchecked), Mode::Require, false),
            (Status::Warn, Why::CrcNotChecked)
        );
    }
}
