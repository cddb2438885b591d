//! What real receivers would do with some bytes, where they differ from the
//! spec: nginx, HAProxy and go-proxyproto (protocol.md §4-5).

use serde::Serialize;

use crate::codec::Decoded;

/// One receiver's predicted reaction.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Prediction {
    pub receiver: &'static str,
    pub config: &'static str,
    pub accepts: bool,
    /// What it would log or do, in its own words where it has them.
    pub message: String,
}

pub fn predict(_decoded: &Decoded<'_>, _input: &[u8]) -> Vec<Prediction> {
    Vec::new()
}
