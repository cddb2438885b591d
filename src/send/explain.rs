//! Transitional: the two calls `repro` still makes into send's old
//! explainer, answered by the judge. `send` itself no longer uses this
//! module; delete it once `repro` reports through [`crate::judge`].

#![allow(dead_code)]

use crate::judge::{self, Finding, Fix};
use crate::net::Reply;

/// The only verdict `repro` names (a header to a receiver without PROXY
/// support): `unexpected-header (PP-UNEXPECTED)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    NotExpectingProxy,
}

/// The fixes for a verdict: the finding's, from the shared table.
pub(crate) fn fixes(verdict: Verdict, _sent_header: bool) -> Vec<&'static Fix> {
    match verdict {
        Verdict::NotExpectingProxy => Finding::UnexpectedHeader.fixes(),
    }
}

/// What was sent, as `repro` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Sent {
    pub header: bool,
    pub udp: bool,
}

/// The judge's finding on a reply, and one sentence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Explanation {
    pub finding: Finding,
    pub summary: String,
}

/// Judge `reply` to what was `sent`.
pub(crate) fn explain(reply: &Reply, sent: Sent) -> Explanation {
    let what = if sent.header {
        judge::Sent::Header { payload: true }
    } else {
        judge::Sent::NoHeader
    };
    let finding = judge::exchange(&reply.exchange(what, sent.udp));
    Explanation {
        finding,
        summary: format!(
            "{} ({}): {}",
            finding.name(),
            finding.code(),
            finding.meaning()
        ),
    }
}
